#!/bin/bash
# With --job, a copy that fails its checks is not the end: ado-restore tries the
# same backup on the job's next destination. A reference names one copy: no fallback.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p "$T/src/sub" && echo one > "$T/src/a" && head -c 200000 /dev/urandom > "$T/src/sub/b"
make_key "$T/key"
cat > "$T/cfg.yml" <<EOF
state_dir: $T/state
encryption: { key_file: $T/key }
backup_jobs:
  j:
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/primary/" }, { local: "$T/offsite/" } ]
    encryption: AES-256
EOF
run 0 ado-backup -c "$T/cfg.yml" j
p=$(sed -n 1p <<<"$out"); o=$(sed -n 2p <<<"$out")
id=$(basename "$p")
damage() { printf 'X' | dd of="$(ls "$1"/*.tar.zst.enc)" bs=1 seek=100 conv=notrunc 2>/dev/null; }

# the primary copy is damaged: restored from the offsite one
damage "$p"
run 0 ado-restore -c "$T/cfg.yml" --job j --to-dir "$T/out"
expect_err "authentication failed"
expect_err "warning: the copy at '$T/primary' failed its checks; trying the copy at '$T/offsite'"
expect_out "restored into '$T/out'"
check "restored tree equals the source" diff -r "$T/src" "$T/out"

# by reference: that copy only, and the folder stays as it was
mkdir -p "$T/keep" && echo mine > "$T/keep/x"
run 1 ado-restore -c "$T/cfg.yml" "$p" --to-dir "$T/keep" --force
expect_no_err "trying the copy"
check "the folder is untouched" test "$(cat "$T/keep/x")" = mine
check "no folder moved aside" test ! -e "$T/keep.before-$id"

# both copies damaged: exit 1, the folder untouched, no leftovers
damage "$o"
run 1 ado-restore -c "$T/cfg.yml" --job j --to-dir "$T/keep" --force
expect_err "trying the copy at '$T/offsite'"
check "the folder is untouched after two bad copies" test "$(cat "$T/keep/x")" = mine
check "no temporary folder left" sh -c "! ls -a '$T' | grep -q '^.ado-restore'"
done_testing
