#!/bin/bash
# examples/recover_config.sh: the plan's "restore configuration files only" on ado-restore: the newest complete
# copy, the next destination when one is damaged, ado-restore's exit status passed on.
. "$(dirname "$0")/../lib/test-lib.sh"
S=$TOP/examples/recover_config.sh

mkdir -p "$T/config/sub" && echo "a: 1" > "$T/config/app.yml" && echo x > "$T/config/sub/y"
echo data > "$T/other"
cat > "$T/cfg.yml" <<CFG
state_dir: $T/state
backup_jobs:
  critical_data:
    targets: [ { files: "$T/config/" }, { files: "$T/other" } ]
    destinations: [ { local: "$T/d1/" }, { local: "$T/d2/" } ]
    compression: none
CFG

run 0 sh "$S" -h
expect_out "usage: recover_config.sh"
run 2 sh "$S" --bogus
expect_err "usage: recover_config.sh"

run 0 ado-backup -c "$T/cfg.yml" critical_data
run 0 sh "$S" -c "$T/cfg.yml" --path "$T/config/" --to "$T/restored"
expect_out "using the copy at '$T/d1'"
check "config files restored" diff -r "$T/config" "$T/restored"
check "only the config target" test ! -e "$T/restored/other"

# a second run: the folder is not empty, refused (exit 1) and untouched; --force keeps the old one aside
echo changed > "$T/restored/app.yml"
run 1 sh "$S" -c "$T/cfg.yml" --path "$T/config/" --to "$T/restored"
expect_err "folder '$T/restored' is not empty"
check "left as it was" grep -qx changed "$T/restored/app.yml"
run 0 sh "$S" -c "$T/cfg.yml" --path "$T/config/" --to "$T/restored" --force
check "restored again" diff -r "$T/config" "$T/restored"
check "the old contents kept" test "$(cat "$T"/restored.before-*/app.yml)" = changed

# the first destination's copy damaged: the next destination's is used
printf 'X' | dd of="$(ls "$T"/d1/critical_data/*/files-*config*.tar)" bs=1 seek=600 conv=notrunc 2>/dev/null
run 0 sh "$S" -c "$T/cfg.yml" --path "$T/config/" --to "$T/restored2"
check "restored from d2" diff -r "$T/config" "$T/restored2"

# --from the damaged destination only: ado-restore's failure, exit 1, nothing left behind
run 1 sh "$S" -c "$T/cfg.yml" --path "$T/config/" --to "$T/restored3" --from "$T/d1/"
check "no folder" test ! -e "$T/restored3"

# a job that is not in the config: exit 2 from ado-restore
run 2 sh "$S" -c "$T/cfg.yml" --job nope --to "$T/restored4"
expect_err "no job 'nope'"
done_testing
