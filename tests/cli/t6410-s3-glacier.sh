#!/bin/bash
# s3_glacier: artifacts in the archive class, metadata STANDARD (listing and --level checksum
# need no thaw); reading an archived backup is refused with one line and the command to
# request it (exit 6); --thaw requests it, --wait polls until readable and restores.
# One run to local + S3 + Glacier; the same with the S3 server stopped (exit 3, local complete);
# --from picks a destination.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/s3-server.sh"

s3_start bkt arch
S=$T/src
mkdir -p "$S"
echo cold >"$S/a"
head -c 100000 /dev/urandom >"$S/b"
CFG=$T/cfg.yml
cat >"$CFG" <<EOF
state_dir: $T/state
backup_jobs:
  g: { targets: [ { files: "$S/" } ], destinations: [ { s3_glacier: "s3://arch/g/" } ] }
  m:
    targets: [ { files: "$S/" } ]
    destinations: [ { local: "$T/dest/" }, { s3: "s3://bkt/m/" }, { s3_glacier: "s3://arch/m/" } ]
EOF

run 0 ado-backup -c "$CFG" g
ref=$out
id=${ref##*/}
tar=$(ls "$S3_DATA/arch/g/g/$id/" | grep '\.tar' | grep -v index | head -1)
tar=${tar%%._S3rver*}
run 0 aws_cli s3api head-object --bucket arch --key "g/g/$id/$tar" --query StorageClass --output text
expect_out GLACIER
run 0 aws_cli s3api head-object --bucket arch --key "g/g/$id/manifest.json" --query StorageClass --output text
expect_no_out GLACIER

# metadata stays online: listing and the checksum level need no thaw
run 0 ado-restore -c "$CFG" --list --job g
expect_out "$ref"
run 0 ado-verify -c "$CFG" --level checksum "$ref"

# reading it is refused: one line, which backup, that it is archived, the command; exit 6
run 6 ado-verify -c "$CFG" --level read "$ref"
expect_out "backup '$ref' is archived"
expect_err "ado-restore -c $CFG --job g --backup $id --from s3://arch/g/ --thaw"
run 6 ado-restore -c "$CFG" --job g --to-dir "$T/out"
expect_err "backup '$ref' is archived: 1 of its 1 artifacts must be restored"
expect_err "hint: request it"
check "nothing restored" test ! -e "$T/out"
run 2 ado-restore -c "$CFG" --job g --from s3://arch/g/ --thaw --tier Slow
expect_err "--tier: expected Standard, Bulk or Expedited"
run 2 ado-restore -c "$CFG" --job g --from s3://nowhere/ --thaw
expect_err "job 'g' has no destination 's3://nowhere/'"

# --thaw requests it (the archive then takes five polls to finish)
s3_fault "polls=5"
run 0 ado-restore -c "$CFG" --job g --from s3://arch/g/ --thaw --days 2 --tier Bulk
expect_out "$ref: requested 1 artifact from the archive for 2 days (tier Bulk)"
check "RestoreObject was sent" grep -q '"POST", "path": "/arch/g/g/'"$id"'/.*?restore' "$T/proxy.log"
run 6 ado-restore -c "$CFG" --job g --to-dir "$T/out"
expect_err "is being restored from the archive tier"
expect_err "--wait"
# --wait, bounded: too short a bound gives up with exit 6
ADO_THAW_POLL_INTERVAL=1 ADO_THAW_WAIT_MAX=1 run 6 ado-restore -c "$CFG" --job g --wait --to-dir "$T/out"
expect_err "still not readable after"
ADO_THAW_POLL_INTERVAL=1 run 0 ado-restore -c "$CFG" --job g --wait --to-dir "$T/out"
check "restored after the thaw" diff -r "$S" "$T/out"
run 0 ado-verify -c "$CFG" --level read "$ref"

# --- local + S3 + Glacier in one run ---
run 0 ado-backup -c "$CFG" m
expect_out "$T/dest/m/"
expect_out "s3://bkt/m/m/"
expect_out "s3://arch/m/m/"
mid=$(printf '%s\n' "$out" | head -1); mid=${mid##*/}
run 0 ado-restore -c "$CFG" --job m --to-dir "$T/o1"
expect_out "using the copy at '$T/dest'"
run 0 ado-restore -c "$CFG" --job m --from s3://bkt/m/ --to-dir "$T/o2"
check "restored from S3 with --from" diff -r "$S" "$T/o2"
run 6 ado-restore -c "$CFG" --job m --from s3://arch/m/ --to-dir "$T/o3"
expect_err "is archived"
# without --from, an archived copy falls back to the next destination
rm -rf "$T/dest/m"
run 0 ado-restore -c "$CFG" --job m --to-dir "$T/o4"
expect_out "using the copy at 's3://bkt/m/'"

# --- the same with the S3 server stopped: exit 3, the local copy complete ---
s3_stop_emulator
ADO_STORE_ATTEMPTS=2 run 3 ado-backup -c "$CFG" m
expect_err "destination 's3://bkt/m/' failed for job 'm'"
expect_err "destination 's3://arch/m/' failed for job 'm'"
expect_out "$T/dest/m/"
run 0 ado-verify -c "$CFG" --level read "$out"

done_testing
