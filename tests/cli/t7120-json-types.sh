#!/bin/bash
# JSON everywhere: every record the tools print carries "type", and each
# documented shape parses with its fields.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p "$T/src" && echo data > "$T/src/f" && echo file > "$T/file"
cat > "$T/cfg.yml" <<EOF
state_dir: $T/state
backup_jobs:
  j:
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/d1/" } ]
    compression: none
    rpo: "15 minutes"
  bad:
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/file/sub/" } ]
    compression: none
EOF
C=$T/cfg.yml
# shape TYPE KEY...: every line of $out is JSON with "type" TYPE and the keys
shape() { /usr/bin/python3 -c '
import json, sys
lines = sys.argv[1].splitlines()
assert lines, "no output"
for l in lines:
    o = json.loads(l)
    assert o.get("type") == sys.argv[2], o
    for k in sys.argv[3:]:
        assert k in o, (k, o)' "$out" "$@"; }

run 0 ado-backup -c "$C" --json j
check "ado-backup --json: a run record" shape run tool job id status result reason targets stored_bytes duration_ms destinations
expect_no_out "$T/d1/j/2"$'\n'
id=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$out")
run 1 ado-backup -c "$C" --json bad
check "ado-backup --json, failed: still a record, status 1" shape run status reason
expect_out '"status":1,"result":"failed"'
expect_err "ado-backup: "

run 0 ado-verify -c "$C" --json --level checksum "$T/d1/j/$id"
check "ado-verify --json: type verify" shape verify ref status level job id bytes
run 1 ado-verify -c "$C" --json --level checksum "$T/nowhere/j/$id"
check "ado-verify --json, failed: type verify with error" shape verify ref status reason error
run 0 ado-verify -c "$C" --json --rpo j
check "ado-verify --rpo --json: type rpo" shape rpo job destination status
run 0 ado-verify -c "$C" --json --status j
check "ado-verify --status --json: type status" shape status job destination state status kept
# rpo_missed: age the backup by two hours
old=$(date -u -d '2 hours ago' +%Y%m%dT%H%M%SZ)
mv "$T/d1/j/$id" "$T/d1/j/$old"
sed -i "s/\"id\": \"$id\"/\"id\": \"$old\"/" "$T/d1/j/$old/manifest.json"
run 5 ado-verify -c "$C" --json --level checksum --job j
check "ado-verify --job --json: the rpo_missed line is typed" bash -c 'grep -q "\"type\":\"rpo_missed\"" <<<"$1"' _ "$out"
check "ado-verify --job --json: the backup line is typed" bash -c 'grep -q "^{\"type\":\"verify\"" <<<"$1"' _ "$out"

run 0 ado-restore -c "$C" --list --json --job j
check "ado-restore --list --json: type backup" shape backup ref destination job id time stored_bytes status
run 0 ado-restore -c "$C" --json --job j --to-dir "$T/out"
check "ado-restore --json: type restore" shape restore status job id time destination target restored_to moved_aside
expect_out '"status":"restored"'
run 1 ado-restore -c "$C" --json --job j --to-dir "$T/out"
expect_no_out '"type":"restore"'
expect_err "ado-restore: folder '$T/out' is not empty"
done_testing
