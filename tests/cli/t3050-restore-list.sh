#!/bin/bash
# ado-restore --list: newest first over every job and destination; per backup
# its stored size, status and missing targets, the targets it holds, its
# duration and the newest verify that checked it; --since, --last (per job
# and destination), --target; --json with every field. The first five columns
# (reference, id, time, stored_bytes, status) stay where scripts read them.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p "$T/a" "$T/b" && echo 1 > "$T/a/f" && echo 2 > "$T/b/g"
cat > "$T/cfg.yml" <<EOF
state_dir: $T/state
backup_jobs:
  j:
    targets: [ { files: "$T/a/" }, { files: "$T/b/" } ]
    destinations: [ { local: "$T/d1/" }, { local: "$T/d2/" } ]
    compression: none
  k:
    targets: [ { files: "$T/a/" } ]
    destinations: [ { local: "$T/d3/" } ]
    compression: none
EOF
C=$T/cfg.yml
# col REF N: column N of REF's line in $out
col() { awk -F'\t' -v r="$1" -v n="$2" '$1 == r { print $n }' <<<"$out"; }

run 0 ado-backup -c "$C" k
K1=$(head -1 <<<"$out")
run 0 ado-backup -c "$C" j
B1=$(head -1 <<<"$out"); B1_2=$(sed -n 2p <<<"$out")
run 0 ado-backup -c "$C" j
B2=$(head -1 <<<"$out"); B2_2=$(sed -n 2p <<<"$out")
mv "$T/b" "$T/b.away"
run 3 ado-backup -c "$C" j
B3=$(head -1 <<<"$out"); B3_2=$(sed -n 2p <<<"$out")
mv "$T/b.away" "$T/b"
# an interrupted run long ago: no manifest
OLD=20200101T000000Z
mkdir -p "$T/d1/j/$OLD"
TA=files-${T//\//-}-a; TA=${TA/--/-}
TB=files-${T//\//-}-b; TB=${TB/--/-}

# --- order and columns ---
run 0 ado-restore -c "$C" --list
check "a header line names the nine columns" test "$(head -1 <<<"$out")" = "# reference	id	time	stored_bytes	status	missing	targets	duration_s	verified"
check "nine tab-separated columns on every line" test "$(awk -F'\t' 'NF != 9' <<<"$out" | wc -l)" = 0
check "newest first over jobs and destinations" /usr/bin/python3 -c '
import sys
rows = [l.split("\t") for l in sys.argv[1].splitlines()[1:]]
keys = [(r[2], r[1]) for r in rows]
assert keys == sorted(keys, reverse=True), keys
assert rows[0][0] == sys.argv[2] and rows[-1][1] == sys.argv[3], rows' "$out" "$B3" "$OLD"
check "the same id: config order of the destinations" test "$(grep -n "	$(basename "$B2")	" <<<"$out" | cut -d: -f1 | tr '\n' ' ')" = "4 5 "
check "the first five columns: reference, id, time, stored_bytes, status" grep -qE "^$B1	$(basename "$B1")	[0-9-]{10}T[0-9:]{8}Z	[1-9][0-9]*	complete	" <<<"$out"
check "complete: no missing target" test "$(col "$B1" 6)" = -
check "the targets it holds" test "$(col "$B1" 7)" = "$TA,$TB"
check "k holds one target" test "$(col "$K1" 7)" = "$TA"
check "the duration in seconds" grep -qE '^[0-9]+$' <<<"$(col "$B1" 8)"
check "not verified: -" test "$(col "$B1" 9)" = -
check "partial, with the missing target" test "$(col "$B3" 5),$(col "$B3" 6),$(col "$B3" 7)" = "partial,$TB,$TA"
check "the partial backup's stored size is its one target's" test "$(col "$B3" 4)" -lt "$(col "$B1" 4)"
check "incomplete: no size, no targets, no duration" test "$(col "$T/d1/j/$OLD" 4),$(col "$T/d1/j/$OLD" 5),$(col "$T/d1/j/$OLD" 6),$(col "$T/d1/j/$OLD" 7),$(col "$T/d1/j/$OLD" 8)" = "0,incomplete,-,-,-"

# --- verified: the newest verify run that checked that copy ---
run 0 ado-verify -c "$C" --level checksum "$B2"
run 0 ado-restore -c "$C" --list
check "verified after ado-verify: level and result" test "$(col "$B2" 9)" = "checksum ok"
check "the other copy of that backup is not verified" test "$(col "$B2_2" 9)" = -
run 0 ado-verify -c "$C" --level read "$B2"
run 0 ado-restore -c "$C" --list
check "the newest verify run counts" test "$(col "$B2" 9)" = "read ok"
run 3 ado-verify -c "$C" --level checksum "$B3"
run 0 ado-restore -c "$C" --list
check "a partial backup verified: its result" test "$(col "$B3" 9)" = "checksum partial"

# --- --since ---
run 0 ado-restore -c "$C" --list --since '1 day'
check "--since: the old leftover is left out" test "$(grep -c "$OLD" <<<"$out")" = 0
check "--since: the recent ones stay" test "$(grep -c '/j/\|/k/' <<<"$out")" = 7
run 2 ado-restore -c "$C" --list --since 'a while'
check "a bad --since: one line" test "$err" = "ado-restore: --since: expected a duration ('2 days', '6h'), found 'a while'"
check "a bad --since: nothing listed" test -z "$out"
run 2 ado-restore -c "$C" --since '1 day' --job j --to-dir "$T/out"
check "--since without --list" test "$err" = "ado-restore: --since applies to --list only"

# --- --last N: the N newest per job and destination ---
run 0 ado-restore -c "$C" --list --last 1
check "--last 1: one per job and destination" test "$(tail -n +2 <<<"$out" | cut -f1)" = "$B3
${B3%/d1/*}/d2/j/$(basename "$B3")
$K1"
run 0 ado-restore -c "$C" --list --last 2 --job j
check "--last 2 --job j: two per destination" test "$(tail -n +2 <<<"$out" | wc -l)" = 4
run 0 ado-restore -c "$C" --list --last 9 --job k
check "--last above the count: every backup" test "$(tail -n +2 <<<"$out" | cut -f1)" = "$K1"
for bad in 0 -1 x 2x ''; do
	run 2 ado-restore -c "$C" --list --last "$bad"
	check "--last '$bad': refused" test "$err" = "ado-restore: --last: expected a number >= 1, found '$bad'"
done

# --- --target: only the backups holding it ---
run 0 ado-restore -c "$C" --list --target "$TB"
check "--target: the backups holding it, on both destinations" test "$(tail -n +2 <<<"$out" | cut -f1 | sort)" = "$(printf '%s\n' "$B1" "$B1_2" "$B2" "$B2_2" | sort)"
run 0 ado-restore -c "$C" --list --target "$T/a"
check "--target by path: every backup of it (not the leftover)" test "$(tail -n +2 <<<"$out" | wc -l)" = 7
run 0 ado-restore -c "$C" --list --target "$TB" --last 1 --job j
check "--target then --last: the newest holding it, per destination" test "$(tail -n +2 <<<"$out" | cut -f1)" = "$B2
$B2_2"
run 0 ado-restore -c "$C" --list --target nothing-like-it
check "an unknown --target lists nothing (header only)" test "$out" = "$(head -1 <<<"$out")"
check "an unknown --target: nothing on stderr" test -z "$err"

# --- --from: one destination only, the others not contacted ---
run 0 ado-restore -c "$C" --list --job j --from "$T/d2/"
check "--from d2: j's three backups there, nothing else" test "$(tail -n +2 <<<"$out" | cut -f1)" = "$B3_2
$B2_2
$B1_2"
run 0 ado-restore -c "$C" --list --from "$T/d3"
check "--from without --job (and without the slash): every job writing there" test "$(tail -n +2 <<<"$out" | cut -f1)" = "$K1"
mv "$T/d1" "$T/d1.away" && touch "$T/d1"
run 3 ado-restore -c "$C" --list --job j
expect_err "cannot list '$T/d1/'"
run 0 ado-restore -c "$C" --list --job j --from "$T/d2/"
check "--from d2 with d1 broken: d1 not contacted, no warning" test -z "$err"
rm "$T/d1" && mv "$T/d1.away" "$T/d1"
run 2 ado-restore -c "$C" --list --job j --from "$T/d3/"
check "--from a destination of another job: one line" test "$(head -1 <<<"$err")" = "ado-restore: job 'j' has no destination '$T/d3/'"
expect_err "hint: --from takes a destination as written in the config"
check "... nothing listed" test -z "$out"
run 2 ado-restore -c "$C" --list --from "$T/nowhere/"
expect_err "no job in '$C' has a destination '$T/nowhere/'"

# --- --json ---
run 0 ado-restore -c "$C" --list --json
check "--json: one record per backup with every field" /usr/bin/python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.argv[1].splitlines()]
assert len(recs) == 8, len(recs)
keys = {"type", "ref", "destination", "job", "id", "time", "stored_bytes", "status", "missing_targets",
        "targets", "started", "finished", "duration_s", "verified"}
for r in recs:
    assert r["type"] == "backup" and keys <= set(r), r
assert [(r["time"], r["id"]) for r in recs] == sorted([(r["time"], r["id"]) for r in recs], reverse=True)
by = {r["ref"]: r for r in recs}
b2, b3, old, b1 = by[sys.argv[2]], by[sys.argv[3]], by[sys.argv[4]], by[sys.argv[7]]
assert b2["verified"]["level"] == "read" and b2["verified"]["result"] == "ok" and b2["verified"]["time"], b2
assert b1["verified"] is None, b1
assert b3["status"] == "partial" and b3["missing_targets"] == [sys.argv[6]] and b3["targets"] == [sys.argv[5]], b3
assert b1["targets"] == [sys.argv[5], sys.argv[6]] and b1["missing_targets"] == [], b1
assert isinstance(b1["duration_s"], int) and b1["started"] <= b1["finished"], b1
assert b1["stored_bytes"] > 0 and b1["destination"] + "/j/" + b1["id"] == b1["ref"], b1
assert old["status"] == "incomplete" and old["stored_bytes"] == 0 and old["duration_s"] is None, old
assert old["started"] is None and old["targets"] == [] and old["verified"] is None, old
' "$out" "$B2" "$B3" "$T/d1/j/$OLD" "$TA" "$TB" "$B1"
run 0 ado-restore -c "$C" --list --json --last 1 --job k
check "--json honours the filters" test "$(wc -l <<<"$out")" = 1
done_testing
