#!/bin/bash
# Run records: every run of ado-backup, ado-verify and ado-restore appends one
# JSON line ("type": "run") to STATE_DIR/runs.jsonl, 0600; rotation at
# ADO_RUNLOG_MAX_BYTES; runs without a config file record nothing.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p "$T/src" && echo data > "$T/src/f"
cat > "$T/cfg.yml" <<EOF
state_dir: $T/state
backup_jobs:
  j:
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/d1/" }, { local: "$T/d2/" } ]
    compression: none
  broken:
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/ro/sub/" } ]
    compression: none
EOF
R=$T/state/runs.jsonl
# field LINE PATH: member PATH (a.0.b) of record LINE; every line must parse as JSON
field() { /usr/bin/python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = recs[int(sys.argv[2])]
for k in sys.argv[3].split("."):
    r = r[int(k)] if k.isdigit() else r[k]
print(json.dumps(r) if not isinstance(r, str) else r)' "$R" "$@"; }

run 0 ado-backup -c "$T/cfg.yml" j
id=$(basename "$(head -1 <<<"$out")")
check "the record file is 0600" test "$(stat -c %a "$R")" = 600
check "one line" test "$(wc -l <"$R")" = 1
check "backup record: type run, tool backup" test "$(field 0 type)/$(field 0 tool)" = run/backup
check "backup record: job, id, status 0, ok" test "$(field 0 job)/$(field 0 id)/$(field 0 status)/$(field 0 result)" = "j/$id/0/ok"
check "backup record: no reason" test "$(field 0 reason)" = null
check "backup record: the target" test "$(field 0 targets.0)" = "files${T//\//-}-src"
check "backup record: stored bytes > 0" test "$(field 0 stored_bytes)" -gt 0
check "backup record: destination 2 and its ref" test "$(field 0 destinations.1.destination) $(field 0 destinations.1.ref)" = "$T/d2 $T/d2/j/$id"

# failure: nothing stored, the reason recorded (the destination's parent is a file)
echo file > "$T/ro"
run 1 ado-backup -c "$T/cfg.yml" broken
check "failed backup: status 1, failed" test "$(field 1 status)/$(field 1 result)" = 1/failed
check "failed backup: id null" test "$(field 1 id)" = null
check "failed backup: a reason" bash -c '[ "$1" != null ] && [ -n "$1" ]' _ "$(field 1 reason)"
check "failed backup: the destination failed" test "$(field 1 destinations.0.result)" = failed

# a dry run records nothing
run 0 ado-backup -c "$T/cfg.yml" -n j
check "dry run: no record" test "$(wc -l <"$R")" = 2

# verify: one record per job, per destination and per backup checked
run 0 ado-verify -c "$T/cfg.yml" --level checksum --job j
check "verify record" test "$(field 2 tool)/$(field 2 level)/$(field 2 status)/$(field 2 result)" = verify/checksum/0/ok
check "verify record: both destinations" test "$(field 2 destinations.1.destination) $(field 2 destinations.1.result)" = "$T/d2 ok"
check "verify record: the backup checked" test "$(field 2 checked.0.id)/$(field 2 checked.0.result)" = "$id/ok"
printf 'x' | dd of="$(ls "$T/d2/j/$id"/*.tar)" bs=1 seek=10 conv=notrunc 2>/dev/null
run 1 ado-verify -c "$T/cfg.yml" --level checksum "$T/d2/j/$id"
check "failed verify: status 1, the backup failed" test "$(field 3 status)/$(field 3 checked.0.result)" = 1/fail
check "failed verify: the reason names the artifact" bash -c '[[ "$1" == *files-* ]]' _ "$(field 3 reason)"

# restore, then a refused one
run 0 ado-restore -c "$T/cfg.yml" --job j --to-dir "$T/out"
check "restore record" test "$(field 4 tool)/$(field 4 mode)/$(field 4 status)/$(field 4 id)" = "restore/files/0/$id"
check "restore record: where to, bytes" bash -c '[ "$1" = "$2" ] && [ "$3" -gt 0 ]' _ "$(field 4 to)" "$T/out" "$(field 4 bytes)"
run 1 ado-restore -c "$T/cfg.yml" --job j --to-dir "$T/out"
check "refused restore: status 1 and why" test "$(field 5 result)/$(field 5 reason)" = "failed/folder '$T/out' is not empty"

# by reference and without a config: no state folder chosen, nothing recorded
run 0 ado-verify --level checksum "$T/d1/j/$id"
check "no config: no record" test "$(wc -l <"$R")" = 6

# concurrent runs: every line whole
for i in 1 2 3 4; do ado-verify -c "$T/cfg.yml" --level checksum "$T/d1/j/$id" >/dev/null & done
wait
check "concurrent: 10 whole lines" /usr/bin/python3 -c '
import json, sys
l = open(sys.argv[1]).read().splitlines()
assert len(l) == 10, len(l)
[json.loads(x) for x in l]' "$R"

# rotation: past the limit the file moves to runs.jsonl.1
ADO_RUNLOG_MAX_BYTES=100 run 0 ado-verify -c "$T/cfg.yml" --level checksum "$T/d1/j/$id"
check "rotated: the old lines in runs.jsonl.1" test "$(wc -l <"$R.1")" = 10
check "rotated: one new line" test "$(wc -l <"$R")" = 1
check "rotated: 0600" test "$(stat -c %a "$R")" = 600

# a state folder that cannot be written: a warning, the run's status unchanged
cat > "$T/bad.yml" <<EOF
state_dir: $T/ro/state
backup_jobs: { j: { targets: [ { files: "$T/src/" } ], destinations: [ { local: "$T/d1/" } ], compression: none } }
EOF
run 0 ado-verify -c "$T/bad.yml" --level checksum "$T/d1/j/$id"
expect_err "ado-verify: warning: cannot record the run:"
done_testing
