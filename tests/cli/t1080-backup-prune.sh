#!/bin/bash
# Retention as thinning rules (retention: { keep_within, last, hourly, daily,
# weekly, monthly, yearly }) and ado-backup --prune [--dry-run]: retention
# alone, previewed with "would remove", every removal one line on stderr
# without -v. The newest complete backup of each target is never removed.
# A bad retention mapping is refused with file:line:col.
. "$(dirname "$0")/../lib/test-lib.sh"

S=$T/src
mkdir -p "$S"; echo data > "$S/a"
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
backup_jobs:
  j:
    targets: [ { files: "$S/" } ]
    destinations: [ { local: "$T/dest/" } ]
    retention: { keep_within: 1h, daily: 3 }
    compression: none
EOF
J=$T/dest/j
ago() { date -u -d "$1 ago" +%Y%m%dT%H%M%SZ; }
day() { date -u -d "$1" +%Y%m%dT%H%M%SZ; }
fabricate() {
	cp -a "$real" "$J/$1"
	sed -i "s/\"id\": \"$(basename "$real")\"/\"id\": \"$1\"/" "$J/$1/manifest.json"
}
run 0 ado-backup -c "$CFG" j
real=$out
# yesterday 01:00 and 02:00 (same day: only 02:00 is daily's), 2 days ago at noon, 5 and 6 days ago
y1=$(day "yesterday 01:00"); y2=$(day "yesterday 02:00"); d2=$(day "2 days ago 12:00")
d5=$(day "5 days ago 12:00"); d6=$(day "6 days ago 12:00")
for id in "$y1" "$y2" "$d2" "$d5" "$d6"; do fabricate "$id"; done
count() { ls "$J" | grep -c '^[0-9]'; }

# --- the preview: what would go, nothing removed ---
run 0 ado-backup -c "$CFG" --prune --dry-run j
expect_err "ado-backup: retention: would remove backup '$J/$y1'"
expect_err "retention: would remove backup '$J/$d5'"
expect_err "retention: would remove backup '$J/$d6'"
expect_no_err "'$J/$y2'"
expect_no_err "'$J/$d2'"
check "a preview removes nothing (6 backups)" test "$(count)" = 6
check "the preview prints nothing on stdout" test -z "$out"

# --- the prune: exactly those, one line each without -v ---
run 0 ado-backup -c "$CFG" --prune j
expect_err "ado-backup: retention: removed backup '$J/$y1'"
check "three lines, one per removal" test "$(printf '%s\n' "$err" | grep -c 'retention: removed backup')" = 3
check "kept: today's (keep_within and daily), yesterday 02:00, 2 days ago" \
	test "$(ls "$J" | grep '^[0-9]' | tr '\n' ' ')" = "$d2 $y2 $(basename "$real") "
run 0 ado-backup -c "$CFG" --prune j
check "a second prune removes nothing and says nothing" test -z "$err"
run 0 ado-backup -c "$CFG" -q --prune j

# --- the newest complete backup is never removed, whatever the rules say ---
sed -i 's/retention: { keep_within: 1h, daily: 3 }/retention: { keep_within: 1s }/' "$CFG"
sleep 2
run 0 ado-backup -c "$CFG" --prune j
check "only the newest is left" test "$(ls "$J" | grep '^[0-9]')" = "$(basename "$real")"

# --- another run holds the job: nothing done, exit 4; a preview still runs ---
exec 9>>"$T/state/locks/j.lock"
flock 9
run 4 ado-backup -c "$CFG" --prune j
expect_err "job 'j' is already running"
run 0 ado-backup -c "$CFG" --prune -n j
exec 9>&-

# --- a destination that cannot be listed: exit 1, named ---
cat > "$T/bad.yml" <<EOF
state_dir: $T/state
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { s3: "s3://nobucket/p/" } ], retention: { daily: 3 } }
EOF
AWS_ENDPOINT_URL=http://127.0.0.1:9 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y ADO_S3_RETRIES=0 \
	run 1 ado-backup -c "$T/bad.yml" --prune j
expect_err "retention on 's3://nobucket/p/' failed for job 'j'"

# --- bad retention mappings: file:line:col ---
bad() { # bad LINE-5-VALUE MESSAGE
	printf 'backup_jobs:\n  j:\n    targets: [ { files: "/x" } ]\n    destinations: [ { local: "/y/" } ]\n    retention: %s\n' "$1" > "$T/r.yml"
	run 2 ado-backup -c "$T/r.yml" --prune j
	expect_err "$2"
}
bad '{ daily: 30, hourly: -1 }' "$T/r.yml:5:37: expected a whole number 1-1000000 for 'hourly' in the retention of job 'j', found '-1'"
bad '{ dayly: 30 }' "$T/r.yml:5:18: expected one of keep_within, last, hourly, daily, weekly, monthly, yearly"
bad '{ keep_within: soon }' "$T/r.yml:5:31: expected a duration like '30 days' or '24h' for 'keep_within' in the retention of job 'j', found 'soon'"
bad '{ }' "$T/r.yml:5:16: expected at least one rule in 'retention' of job 'j', found an empty mapping"
run 2 ado-backup -c "$CFG" --prune --check j
expect_err "give either --check or --prune, not both"
done_testing
