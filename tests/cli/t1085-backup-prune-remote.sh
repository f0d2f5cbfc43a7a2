#!/bin/bash
# ado-backup --prune on the remote stores, through the store ops: S3 (the
# pinned emulator) and Azure Blob (azurite). Two real backups, retention
# { last: 1 }: the preview names the older one and keeps it, the prune removes
# it (manifest first, then every object), the newer one stays.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/s3-server.sh"
. "$TOP/tests/lib/azurite.sh"
s3_start bkt
azurite_test_setup bkup

S=$T/src
mkdir -p "$S"; echo data > "$S/a"
cat > "$T/cfg.yml" <<EOF
state_dir: $T/state
backup_jobs:
  j:
    targets: [ { files: "$S/" } ]
    destinations: [ { s3: "s3://bkt/pre/" }, { azure: "azblob://bkup/r/" } ]
    retention: { last: 1 }
    compression: none
EOF
run 0 ado-backup -c "$T/cfg.yml" j
old=$(printf '%s\n' "$out" | sed -n 1p); old=${old##*/}
run 0 ado-backup -c "$T/cfg.yml" j
expect_err "retention: removed backup 's3://bkt/pre/j/$old'"
expect_err "retention: removed backup 'azblob://bkup/r/j/$old'"
# one more old one on each: retention ran already, so put it back by a run at --prune time
run 0 ado-restore -c "$T/cfg.yml" --list --job j
check "after a run: one backup per destination" test "$(printf '%s\n' "$out" | grep -c '/j/')" = 2
new=$(printf '%s\n' "$out" | grep -o 's3://bkt/pre/j/[0-9TZ]*' | head -n 1); new=${new##*/}

# a job without retention rules stores a second backup; then --prune with { last: 1 }
sed 's/retention: { last: 1 }/retention: forever/' "$T/cfg.yml" > "$T/keep.yml"
run 0 ado-backup -c "$T/keep.yml" j
run 0 ado-backup -c "$T/cfg.yml" --prune --dry-run j
expect_err "retention: would remove backup 's3://bkt/pre/j/$new'"
expect_err "retention: would remove backup 'azblob://bkup/r/j/$new'"
run 0 ado-restore -c "$T/cfg.yml" --list --job j
check "the preview removed nothing: two backups per destination" test "$(printf '%s\n' "$out" | grep -c '/j/')" = 4
run 0 ado-backup -c "$T/cfg.yml" --prune j
expect_err "retention: removed backup 's3://bkt/pre/j/$new'"
expect_err "retention: removed backup 'azblob://bkup/r/j/$new'"
run 0 ado-restore -c "$T/cfg.yml" --list --job j
check "after the prune: one backup per destination" test "$(printf '%s\n' "$out" | grep -c '/j/')" = 2
expect_no_out "$new"
done_testing
