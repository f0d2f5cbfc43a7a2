#!/bin/bash
# Leftovers and messages: the .tmp files of a backup killed with -9 are
# removed by the next run of the job (which holds its lock), not a day later;
# a killed restore's hidden temporary folder says which folder, backup and
# restore it is for, and the next restore of that folder removes it; a
# restore into a full disk stops at the first ENOSPC with "no space left on";
# --dry-run checks the key as ado-backup(1) says.
. "$(dirname "$0")/../lib/test-lib.sh"

S=$T/src
mkdir -p "$S"
head -c 12000000 /dev/urandom > "$S/big"
echo small > "$S/small"
make_key "$T/key"
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
encryption: { key_file: $T/key }
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], compression: gzip, encryption: "AES-256" }
EOF
# wait_for GLOB: until something matches (at most 10 s)
wait_for() { local i; for i in $(seq 100); do compgen -G "$1" >/dev/null && return 0; sleep 0.1; done; return 1; }

# --- a backup killed with -9 leaves .tmp files ---
# (a 64 GiB hole to read keeps it busy until it is killed: without it the run
# could finish before the first look)
truncate -s 64G "$S/hole"
ado-backup -c "$CFG" j >/dev/null 2>&1 &
pid=$!
check "the killed run had begun writing" wait_for "$T/dest/j/*/*.tmp.$pid.*"
kill -9 "$pid"; wait "$pid" 2>/dev/null
rm -f "$S/hole"
check "failing case: its .tmp files are there" compgen -G "$T/dest/j/*/*.tmp.*"
dead=$(dirname "$(compgen -G "$T/dest/j/*/*.tmp.*" | head -1)")
run 0 ado-backup -c "$CFG" -v j
GOOD=$out
expect_err "removed '$dead': left by a run that died (pid $pid)"
check "the next run removed them (it may reuse the id)" test "$(ls "$T/dest/j" | wc -l)" = 1
check "no .tmp file is left anywhere" test -z "$(find "$T/dest" -name '*.tmp.*')"
check "passing case: the new backup is complete" test -f "$GOOD/manifest.json"

# --- a restore killed with -9 leaves its hidden folder ---
# (its tar is swapped for a FIFO, so that it waits there, folder made, to be killed)
mkdir -p "$T/out"
TAR=$(compgen -G "$GOOD/files-*.tar.gz.enc")
mv "$TAR" "$T/tar.real"
mkfifo "$TAR"
ado-restore -c "$CFG" --job j --to-dir "$T/out/r" >/dev/null 2>&1 &
pid=$!
check "the killed restore had begun" wait_for "$T/out/.ado-restore.r.*"
kill -9 "$pid"; wait "$pid" 2>/dev/null
rm -f "$TAR"; mv "$T/tar.real" "$TAR"
left=$(compgen -G "$T/out/.ado-restore.r.*" | head -1)
check "failing case: it is left behind" test -d "$left"
check "its name says the folder, the backup and the restore" \
	test "${left##*/}" != "${left##*/.ado-restore.r.$(basename "$GOOD").$pid.}"
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/out/r"
expect_err "removed '$left': left by a restore of backup $(basename "$GOOD") that did not finish (pid $pid)"
check "the next restore of that folder removed it" test ! -e "$left"
check "passing case: restored" cmp "$S/big" "$T/out/r/big"
check "nothing hidden left beside it" test -z "$(compgen -G "$T/out/.ado-restore*")"

# --- a restore into a full disk ---
if [ "$(id -u)" = 0 ] && mkdir -p "$T/small" && mount -t tmpfs -o size=2m tmpfs "$T/small" 2>/dev/null; then
	at_exit "umount '$T/small'"
	run 1 ado-restore -c "$CFG" --job j --to-dir "$T/small/r"
	expect_err "no space left on '$T/small/.ado-restore.r."
	expect_no_err "Write failed"
	expect_no_err "damaged"
	check "one error, not thousands of warnings" test "$(printf '%s\n' "$err" | wc -l)" -le 3
	check "the full disk is left as it was" test -z "$(ls -A "$T/small")"
else
	skip "needs root and tmpfs to fill a disk"
fi

# --- --dry-run checks the key, as the page says ---
mv "$T/key" "$T/key.away"
run 2 ado-backup -c "$CFG" --dry-run j
expect_out "FAIL key '$T/key': cannot open key file '$T/key': No such file or directory"
mv "$T/key.away" "$T/key"
run 0 ado-backup -c "$CFG" --dry-run j
check "a dry run writes nothing" test "$(ls "$T/dest/j" | wc -l)" = 1
done_testing
