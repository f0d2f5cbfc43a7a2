#!/bin/bash
# ado-verify --status: per job and destination, the newest backup against the
# RPO, the last run, the last verify and what is kept; exit the worst row's
# status (1 failed > 5 stale > 6 could not list > 3 partial > 0).
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p "$T/src" && echo data > "$T/src/f" && echo file > "$T/file"
cat > "$T/cfg.yml" <<EOF
state_dir: $T/state
backup_jobs:
  j:
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/d1/" }, { local: "$T/d2/" } ]
    compression: none
    rpo: "15 minutes"
  never:
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/d3/" } ]
    compression: none
    rpo: "1 hour"
  gone:
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/file/sub/" } ]
    compression: none
    rpo: "1 hour"
EOF
C=$T/cfg.yml
# jsonfield N PATH: member PATH of JSON line N of $out
jsonfield() { /usr/bin/python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.argv[1].splitlines()]
r = recs[int(sys.argv[2])]
for k in sys.argv[3].split("."):
    r = r[int(k)] if k.isdigit() else r[k]
print(json.dumps(r) if not isinstance(r, str) else r)' "$out" "$@"; }

run 0 ado-backup -c "$C" j
id=$(basename "$(head -1 <<<"$out")")
run 0 ado-verify -c "$C" --level checksum --job j
run 0 ado-verify -c "$C" --status j
expect_out "STATUS     JOB DESTINATION"
check "two rows, both ok" test "$(grep -c "^ok  .* $id " <<<"$out")" = 2
expect_out "checksum ok"
expect_out "1, "
run 0 ado-verify -c "$C" --status --json j
check "json: type status, one per destination" test "$(jsonfield 0 type)/$(jsonfield 1 destination)" = "status/$T/d2"
check "json: newest, rpo, state" test "$(jsonfield 0 newest)/$(jsonfield 0 rpo_seconds)/$(jsonfield 0 state)" = "$id/900/ok"
check "json: last run and verify" test "$(jsonfield 0 last_run.result)/$(jsonfield 0 last_verify.level)" = ok/checksum
check "json: kept" test "$(jsonfield 0 kept.complete)" = 1

# no backup at all: stale (5); a destination that cannot be listed: 6
run 5 ado-verify -c "$C" --status never
check "never: none" grep -q "^none .* never $T/d3 " <<<"$out"
run 6 ado-verify -c "$C" --status gone
check "gone: unchecked, and why" grep -q "^unchecked .* gone $T/file/sub" <<<"$out"
expect_out "cannot list:"
# the worst row decides: stale (5) before could-not-list (6)
run 5 ado-verify -c "$C" --status never gone j

# a failed verify on one destination: that row fails (1)
printf 'x' | dd of="$(ls "$T/d2/j/$id"/*.tar)" bs=1 seek=10 conv=notrunc 2>/dev/null
run 1 ado-verify -c "$C" --level checksum "$T/d2/j/$id"
run 1 ado-verify -c "$C" --status j
check "d1 still ok" grep -q "^ok .* j $T/d1 " <<<"$out"
check "d2 failed: its last verify" grep -q "^failed .* j $T/d2 .*checksum fail" <<<"$out"
# ... and outranks stale
run 1 ado-verify -c "$C" --status j never

# a failed run on one destination: the run is partial (3), that row failed (1)
rm -rf "$T/d2" && echo file > "$T/d2"
run 3 ado-backup -c "$C" j
run 1 ado-verify -c "$C" --status --json j
check "json: d1 partial-free ok, d2 failed" test "$(jsonfield 0 state)/$(jsonfield 1 state)/$(jsonfield 1 status)" = ok/failed/1
check "json: d2's last run failed, with the reason" bash -c '[ "$1" = failed ] && [ -n "$2" ] && [ "$2" != null ]' _ \
	"$(jsonfield 1 last_run.result)" "$(jsonfield 1 last_run.reason)"

# a line that cannot be read: reported, skipped
echo 'not json {' >> "$T/state/runs.jsonl"
run 1 ado-verify -c "$C" --status --json j
check "still two rows" test "$(wc -l <<<"$out")" = 2
expect_err "warning: '$T/state/runs.jsonl' line"
expect_err "not a run record: skipped"

# usage
run 2 ado-verify -c "$C" --status nosuchjob
expect_err "ado-verify: no job 'nosuchjob' in '$C'"
run 2 ado-verify -c "$C" --status --rpo
expect_err "give either --rpo or --status"
run 2 ado-verify -c "$C" --status --job j
expect_err "--status reads no backup data"
done_testing
