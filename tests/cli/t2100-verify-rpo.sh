#!/bin/bash
# ado-verify --job checks RPO freshness: exit 5 when the newest complete backup is older than the job's rpo.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p "$T/src" && echo data > "$T/src/f"
cat > "$T/cfg.yml" <<EOF
state_dir: $T/state
backup_jobs:
  fresh:
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/dest/" } ]
    compression: none
    rpo: "15 minutes"
EOF

run 0 ado-backup -c "$T/cfg.yml" fresh
ref=$out
run 0 ado-verify -c "$T/cfg.yml" --job fresh
expect_out "ok $ref"
expect_no_out "RPO"

# age the only backup by two hours: rename its folder and its manifest's id (unencrypted: no hmac)
old=$(date -u -d '2 hours ago' +%Y%m%dT%H%M%SZ)
id=$(basename "$ref")
mv "$T/dest/fresh/$id" "$T/dest/fresh/$old"
sed -i "s/\"id\": \"$id\"/\"id\": \"$old\"/" "$T/dest/fresh/$old/manifest.json"
run 5 ado-verify -c "$T/cfg.yml" --job fresh
expect_out "ok $T/dest/fresh/$old"
expect_out "RPO fresh: newest complete copy of target 'files-"
# (the age is to the second: a loaded machine may add one)
expect_out "' is 2h"
expect_out "old, rpo is 15m"
expect_err "job 'fresh' missed its RPO"
expect_err "hint: check that its cron entry runs"

run 5 ado-verify -c "$T/cfg.yml" --job fresh --json
check "json line says rpo_missed" grep -q '"status":"rpo_missed"' <<<"$out"

# a failed verification outranks a missed RPO: exit 1
printf 'x' | dd of="$(ls "$T/dest/fresh/$old"/*.tar)" bs=1 seek=10 conv=notrunc 2>/dev/null
run 1 ado-verify -c "$T/cfg.yml" --job fresh --level checksum
expect_out "FAIL $T/dest/fresh/$old"

# a fresh backup clears it
run 0 ado-backup -c "$T/cfg.yml" fresh
run 0 ado-verify -c "$T/cfg.yml" --job fresh --since 1h
expect_no_out "RPO"
done_testing
