#!/bin/bash
# kill -9 in the middle of a backup: the new folder has no manifest, so verify
# calls it incomplete and restore passes it over for the previous complete
# backup; the lock dies with the process, the next backup works and removes
# the leftover (it holds .tmp files of a process that is gone); an incomplete
# folder without such files is removed by retention once older than a day.
. "$(dirname "$0")/../lib/test-lib.sh"

S=$T/src
mkdir -p "$S"
echo "first version" > "$S/a"
make_key "$T/key"
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
encryption: { key_file: $T/key }
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], retention: "30 days", encryption: "AES-256", compression: gzip }
EOF

run 0 ado-backup -c "$CFG" j
good=$out
cp -a "$S" "$T/src-good"

# --- the killed run: gzip of random data on one thread is slow enough ---
head -c 150M /dev/urandom > "$S/big.bin"
ado-backup -c "$CFG" --threads 1 j > "$T/killed.out" 2>&1 &
pid=$!
leftover=
for _ in $(seq 200); do
	for d in "$T"/dest/j/*/; do
		d=${d%/}
		[ "$d" = "$good" ] && continue
		# wait until some data has been written
		if [ -n "$(find "$d" -type f -size +1M 2>/dev/null)" ]; then leftover=$d; break 2; fi
	done
	sleep 0.05
done
check "the backup was running and writing when killed" test -n "$leftover"
{ kill -9 "$pid"; wait "$pid"; rc=$?; } 2>/dev/null
check "the backup died of SIGKILL (exit 137)" test "$rc" = 137
check "the killed run printed no reference" test ! -s "$T/killed.out"
check "the killed run left its folder" test -d "$leftover"
check_not "the leftover has no manifest" test -e "$leftover/manifest.json"
check_not "the leftover has no SHA256SUMS" test -e "$leftover/SHA256SUMS"
rm -f "$S/big.bin"

# --- verify: the leftover is incomplete, the good backup ok ---
run 1 ado-verify -c "$CFG" "$leftover"
check "verify: FAIL ... incomplete" test "$out" = "FAIL $leftover: backup '$leftover' is incomplete: it has no manifest"
expect_err "hint: it was interrupted or is still being written"
run 1 ado-verify -c "$CFG" --level checksum "$leftover"
expect_out "is incomplete"
run 0 ado-verify -c "$CFG" "$good"
expect_out "ok $good"
# --job checks complete backups only: the leftover is not a backup
run 0 ado-verify -c "$CFG" --job j
check "verify --job: only the complete backup" test "$out" = "ok $good"

# --- restore: --list says incomplete; latest is the previous complete backup ---
run 0 ado-restore -c "$CFG" --list --job j
check "--list: the good backup is complete" grep -q "^$good	.*	complete	" <<<"$out"
check "--list: the leftover is incomplete" grep -q "^$leftover	.*	incomplete	" <<<"$out"
run 0 ado-restore -c "$CFG" --job j --backup latest --to-dir "$T/out"
expect_out "from backup j/$(basename "$good")"
check "latest restores the previous complete backup" diff -r "$T/src-good" "$T/out"
run 1 ado-restore -c "$CFG" --job j --backup "$(basename "$leftover")" --to-dir "$T/out2"
expect_err "no complete backup '$(basename "$leftover")' of job 'j'"
check_not "nothing restored from the leftover" test -e "$T/out2"
run 1 ado-restore -c "$CFG" "$leftover" --to-dir "$T/out3"
expect_err "is incomplete: it has no manifest"
check_not "nothing restored from the leftover by reference" test -e "$T/out3"

# --- the lock died with the process: the next backup works ---
echo "second version" > "$S/a"
# an incomplete folder without a dead run's .tmp files, for retention below
cp -a "$leftover" "$T/stale"
find "$T/stale" -name '*.tmp.*' -delete
run 0 ado-backup -c "$CFG" j
next=$out
check "the next backup is complete" test -f "$next/manifest.json"
run 0 ado-verify -c "$CFG" "$next"
# (its id is free again once the leftover is gone: the next run may take it)
check "the killed run's leftover is removed by the next run" \
	sh -c '[ ! -e "$2" ] || { [ "$1" = "$2" ] && [ -f "$1/manifest.json" ]; }' _ "$next" "$leftover"
check "no .tmp file is left" test -z "$(find "$T/dest" -name '*.tmp.*')"

# --- a day later: retention removes an incomplete folder, keeps the complete ones ---
old_id=$(date -u -d '2 days ago' +%Y%m%dT%H%M%SZ)
mv "$T/stale" "$T/dest/j/$old_id"
run 0 ado-backup -c "$CFG" j
last=$out
check_not "the leftover older than a day is removed" test -e "$T/dest/j/$old_id"
check "the first complete backup stays (within 30 days)" test -f "$good/manifest.json"
check "the second complete backup stays" test -f "$next/manifest.json"
check "three complete backups, nothing else" test "$(ls "$T/dest/j" | wc -l)" = 3
run 0 ado-restore -c "$CFG" --list --job j
check "--list: no incomplete backup any more" bash -c '! grep -q incomplete <<<"$1"' _ "$out"

done_testing
