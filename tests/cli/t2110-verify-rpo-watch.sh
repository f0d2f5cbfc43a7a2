#!/bin/bash
# ado-verify --rpo: freshness only, per job and per destination, against the
# job's rpo or (without one) the longest gap of its schedule; exit 5 when a
# job and destination is stale or has no backup, 6 when a destination cannot
# be listed; the clock is shifted with faketime.
. "$(dirname "$0")/../lib/test-lib.sh"
command -v faketime >/dev/null || skip_all "faketime is not installed (scripts/install-deps)"

mkdir -p "$T/src" && echo data > "$T/src/f"
cat > "$T/cfg.yml" <<EOF
state_dir: $T/state
backup_jobs:
  critical_data:
    schedule: "*/15 * * * *"
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/local/" }, { local: "$T/offsite/" } ]
    compression: none
  nightly:
    schedule: "0 2 * * *"
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/local/" } ]
    compression: none
  explicit:
    schedule: "0 2 * * *"
    rpo: "2 hours"
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/local/" } ]
    compression: none
EOF

# nothing yet: every destination of every job says NONE, exit 5
run 5 ado-verify -c "$T/cfg.yml" --rpo
expect_out "NONE critical_data $T/local/: no complete backup, target 15m (schedule)"
expect_out "NONE critical_data $T/offsite/: no complete backup, target 15m (schedule)"
expect_out "NONE nightly $T/local/: no complete backup, target 1d (schedule)"
expect_out "NONE explicit $T/local/: no complete backup, target 2h (rpo)"
expect_err "ado-verify: 4 destinations of the watched jobs have no fresh backup"

run 0 ado-backup -q -c "$T/cfg.yml" --all
id=$(ls "$T/local/critical_data")

# fresh: exit 0, one ok line per job and destination, nothing on stderr
run 0 ado-verify -c "$T/cfg.yml" --rpo
expect_out "ok critical_data $T/local/: newest complete backup $id is"
expect_out "ok critical_data $T/offsite/: newest complete backup $id is"
expect_out "ok explicit $T/local/"
check "fresh: nothing on stderr" test -z "$err"
run 0 ado-verify -c "$T/cfg.yml" --rpo -q
check "-q: no line when all is fresh" test -z "$out"

# the issue's case: a 15-minute job 40 minutes after its backup
run 5 faketime -f +40m ado-verify -c "$T/cfg.yml" --rpo critical_data
# (the age is to the second: the test itself takes a moment)
# (an id may be taken a second ahead of the clock when two runs share a second: 39m59s)
check "local: about 40m old" grep -Eq "^STALE critical_data $T/local/: newest complete backup $id is (40m|39m59s)" <<<"$out"
check "offsite: about 40m old" grep -Eq "^STALE critical_data $T/offsite/: newest complete backup $id is (40m|39m59s)" <<<"$out"
expect_out "old, target 15m (schedule)"
expect_no_out "nightly"
# within target + grace (5 minutes by default) it is still fresh; a smaller grace makes it stale
run 0 faketime -f +18m ado-verify -c "$T/cfg.yml" --rpo critical_data
run 5 faketime -f +18m ado-verify -c "$T/cfg.yml" --rpo --grace 1m critical_data
expect_out "STALE critical_data $T/local/"
# the daily job is fine 40 minutes later; the explicit rpo of 2h is missed 3 hours later
run 0 faketime -f +40m ado-verify -c "$T/cfg.yml" --rpo nightly explicit
run 5 faketime -f +3h ado-verify -c "$T/cfg.yml" --rpo explicit
check "explicit: about 3h old" grep -Eq "^STALE explicit $T/local/: newest complete backup $id is (3h|2h59m59s)" <<<"$out"
expect_out "old, target 2h (rpo)"

# each destination on its own: the off-site copy stops arriving while the local one is fresh
# (an old backup made under a clock two days back, on the off-site destination only)
sed -e "s|{ local: \"$T/local/\" }, ||" "$T/cfg.yml" >"$T/offsite-only.yml"
rm -rf "$T/offsite/critical_data/$id"
faketime -f -2d ado-backup -q -c "$T/offsite-only.yml" critical_data >/dev/null 2>&1
old=$(ls "$T/offsite/critical_data")
check "an old backup on the off-site destination only" test -n "$old" -a "$old" != "$id"
run 5 ado-verify -c "$T/cfg.yml" --rpo critical_data
expect_out "ok critical_data $T/local/"
expect_out "STALE critical_data $T/offsite/: newest complete backup $old"
expect_err "ado-verify: 1 destination of the watched jobs has no fresh backup"
# an incomplete newer backup (no manifest) does not count
mkdir -p "$T/offsite/critical_data/29990101T000000Z"
run 5 ado-verify -c "$T/cfg.yml" --rpo -q critical_data
expect_out "STALE critical_data $T/offsite/: newest complete backup $old"
check "-q: the fresh destination is not printed" test "$(printf '%s\n' "$out" | wc -l)" = 1
# nor does a newer one whose manifest is empty (damaged)
: > "$T/offsite/critical_data/29990101T000000Z/manifest.json"
run 5 ado-verify -c "$T/cfg.yml" --rpo -q critical_data
expect_out "STALE critical_data $T/offsite/: newest complete backup $old"
rm "$T/offsite/critical_data/29990101T000000Z/manifest.json"

# JSON: one typed object per job and destination
run 5 ado-verify -c "$T/cfg.yml" --rpo --json critical_data
check "two JSON rows" test "$(printf '%s\n' "$out" | wc -l)" = 2
check "JSON rows parse and carry type, status, age and target" /usr/bin/python3 -c '
import json,sys
rows=[json.loads(l) for l in sys.stdin]
assert all(r["type"]=="rpo" and r["job"]=="critical_data" for r in rows)
st={r["destination"].rstrip("/").split("/")[-1]: r for r in rows}
assert st["local"]["status"]=="ok" and st["offsite"]["status"]=="stale", st
assert st["offsite"]["target_seconds"]==900 and st["offsite"]["target_from"]=="schedule"
assert st["offsite"]["age_seconds"]>86400, st
' <<<"$out"

# a destination that cannot be listed: UNCHECKED and exit 6 (neither stale nor ok)
rm -rf "$T/offsite" && echo "not a folder" > "$T/offsite"
run 6 ado-verify -c "$T/cfg.yml" --rpo critical_data
expect_out "UNCHECKED critical_data $T/offsite/:"
expect_out "ok critical_data $T/local/"
expect_err "1 destination could not be listed: freshness unknown"

# usage errors: exit 2, nothing checked
run 2 ado-verify -c "$T/cfg.yml" --rpo no_such_job
expect_err "no job 'no_such_job'"
run 2 ado-verify -c "$T/cfg.yml" --rpo --job critical_data
expect_err "--rpo checks freshness only"
run 2 ado-verify -c "$T/cfg.yml" --grace 5m critical_data
expect_err "--grace needs --rpo"
run 2 ado-verify -c "$T/cfg.yml" --rpo --grace soon
expect_err "soon"
done_testing
