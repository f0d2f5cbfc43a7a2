#!/bin/bash
# Retention after a successful run: complete backups older than `retention` go,
# the newest complete one and the one just written never do; incomplete
# leftovers go once older than a day and stay before that; a failed run removes
# nothing; folders that are not backups are left alone.
# Old backups are fabricated by copying a real one to a folder named with an
# older id (unencrypted job: hmac null, so editing the manifest's id is enough).
. "$(dirname "$0")/../lib/test-lib.sh"

S=$T/src
mkdir -p "$S"
echo data > "$S/a"
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], retention: "30 days", compression: none }
  short: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], retention: "1 day", compression: none }
EOF
J=$T/dest/j
ago() { date -u -d "$1 ago" +%Y%m%dT%H%M%SZ; }
# fabricate JOB ID: a complete copy of the real backup $real under ID
fabricate() {
	cp -a "$real" "$T/dest/$1/$2"
	sed -i "s/\"id\": \"$(basename "$real")\"/\"id\": \"$2\"/" "$T/dest/$1/$2/manifest.json"
}
# leftover JOB ID: an incomplete backup (no manifest, no SHA256SUMS)
leftover() {
	cp -a "$real" "$T/dest/$1/$2"
	rm -f "$T/dest/$1/$2/manifest.json" "$T/dest/$1/$2/SHA256SUMS"
}

run 0 ado-backup -c "$CFG" j
real=$out
d40=$(ago '40 days'); d35=$(ago '35 days'); d20=$(ago '20 days'); d1=$(ago '1 day')
l3d=$(ago '3 days'); l2h=$(ago '2 hours')
fabricate j "$d40"; fabricate j "$d35"; fabricate j "$d20"; fabricate j "$d1"
leftover j "$l3d"; leftover j "$l2h"
mkdir "$J/not-a-backup"
# the fabrication is sound: verify accepts a fabricated copy
run 0 ado-verify -c "$CFG" "$J/$d40"
expect_out "ok $J/$d40"
run 1 ado-verify -c "$CFG" "$J/$l2h"
expect_out "is incomplete"

# --- the failure case first: a run that fails removes nothing ---
mv "$S" "$T/src.away"
run 1 ado-backup -c "$CFG" j
expect_err "cannot back up '$S/'"
check "a failed run keeps the 40-day-old backup" test -d "$J/$d40"
check "a failed run keeps the 3-day-old leftover" test -d "$J/$l3d"
mv "$T/src.away" "$S"

# --- a successful run applies retention ---
run 0 ado-backup -c "$CFG" -v j
new=$out
expect_err "retention: removed backup '"
expect_err "retention: removed incomplete backup '"
check_not "40 days old (> 30 days): removed" test -e "$J/$d40"
check_not "35 days old (> 30 days): removed" test -e "$J/$d35"
check "20 days old: kept" test -f "$J/$d20/manifest.json"
check "1 day old: kept" test -f "$J/$d1/manifest.json"
check "the first real backup: kept" test -f "$real/manifest.json"
check "the backup just written: kept" test -f "$new/manifest.json"
check_not "incomplete leftover 3 days old: removed" test -e "$J/$l3d"
check "incomplete leftover 2 hours old: kept (it may still be written)" test -d "$J/$l2h"
check "a folder that is not a backup id: left alone" test -d "$J/not-a-backup"
check "what remains: 4 complete, 1 leftover, 1 other" test "$(ls "$J" | wc -l)" = 6
run 0 ado-verify -c "$CFG" --job j
check "verify --job: the 4 complete backups are ok" test "$(grep -c '^ok ' <<<"$out")" = 4
# the other job's folder is not this job's business
mkdir -p "$T/dest/short"
real_short=$real
fabricate short "$d40"
sed -i "s/\"job\": \"j\"/\"job\": \"short\"/" "$T/dest/short/$d40/manifest.json"
run 0 ado-backup -c "$CFG" j
check "retention of job j does not touch job short" test -d "$T/dest/short/$d40"

# --- never the newest complete one: retention 1 day, everything else older ---
run 0 ado-backup -c "$CFG" short
snew=$out
check_not "short: the 40-day-old backup is removed" test -e "$T/dest/short/$d40"
check "short: the backup just written is kept" test -f "$snew/manifest.json"
# a complete backup newer than this run (another host's clock, a copy) is kept too
future=$(date -u -d '1 hour' +%Y%m%dT%H%M%SZ)
fabricate short "$future"
sed -i "s/\"job\": \"j\"/\"job\": \"short\"/" "$T/dest/short/$future/manifest.json"
d2=$(ago '2 days')
fabricate short "$d2"
sed -i "s/\"job\": \"j\"/\"job\": \"short\"/" "$T/dest/short/$d2/manifest.json"
run 0 ado-backup -c "$CFG" short
check "short: the newest complete backup (from the future) is kept" test -f "$T/dest/short/$future/manifest.json"
check "short: the backup just written is kept" test -f "$out/manifest.json"
check_not "short: the 2-day-old backup is removed" test -e "$T/dest/short/$d2"
check "short: nothing older than a day is left" \
	bash -c 'for d in "$1"/*; do [[ "$(basename "$d")" < "$2" ]] && exit 1; done; exit 0' _ "$T/dest/short" "$(ago '1 day')"

# ids only grow: three runs in one (frozen) second with { last: 1 }. The second
# takes an id a second ahead and retention removes the first; the third must
# not take the freed, older id, or `latest` would be the older data.
if command -v faketime >/dev/null; then
	sed -e 's/^  short:.*/  mono: { targets: [ { files: "'"${S//\//\\/}"'\/" } ], destinations: [ { local: "'"${T//\//\\/}"'\/mono\/" } ], retention: { last: 1 }, compression: none }/' "$CFG" >"$T/mono.yml"
	ids=""
	for k in 1 2 3; do
		run 0 faketime -f '2026-11-30 12:00:00' ado-backup -q -c "$T/mono.yml" mono
		ids="$ids ${out##*/}"
	done
	check "three ids, each after the one before ($ids)" \
		bash -c 'set -- $1; [[ "$1" < "$2" && "$2" < "$3" ]]' _ "$ids"
	run 0 ado-restore -c "$T/mono.yml" --list --job mono
	check "the newest listed is the last run's" grep -q "/mono/${ids##* }" <<<"$(grep complete <<<"$out" | sort | tail -1)"
else
	skip "faketime is not installed"
fi

done_testing
