#!/bin/bash
# One run per job: a second run while the lock is held exits 4 at once, names
# the holder's pid and stores nothing; other jobs are not blocked; after the
# release the job runs again. The lock is flock(2) on STATE/locks/JOB.lock.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p "$T/src"
echo data > "$T/src/a"
make_key "$T/key"
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
encryption: { key_file: $T/key }
backup_jobs:
  j1: { targets: [ { files: "$T/src/" } ], destinations: [ { local: "$T/dest/" } ], retention: "30 days", encryption: "AES-256" }
  j2: { targets: [ { files: "$T/src/" } ], destinations: [ { local: "$T/dest/" } ], retention: "30 days" }
  slow: { targets: [ { files: "$T/big/" } ], destinations: [ { local: "$T/dest/" } ], retention: "30 days", compression: gzip }
EOF
LOCK=$T/state/locks/j1.lock
count() { ls "$T/dest/$1" 2>/dev/null | wc -l; }

# the success case first: the lock is taken and given back
run 0 ado-backup -c "$CFG" j1
check "the lock file exists" test -f "$LOCK"
check "the lock file is empty after the run (no stale pid)" test ! -s "$LOCK"
check "one backup of j1" test "$(count j1)" = 1

# --- hold the lock from here with flock(1), as a running ado-backup would ---
exec 9<>"$LOCK"
check "the test holds the lock" flock -n 9
echo "$$" > "$LOCK"
run 4 ado-backup -c "$CFG" j1
expect_err "ado-backup: job 'j1' is already running (pid $$)"
expect_err "hint: wait for it to finish; the lock is '$LOCK'"
check "locked: nothing on stdout" test -z "$out"
check "locked: no new backup folder" test "$(count j1)" = 1
# a lock without a pid in it still says who: 'unknown'
: > "$LOCK"
run 4 ado-backup -c "$CFG" j1
expect_err "job 'j1' is already running (pid unknown)"
# the lock is per job: j2 runs while j1 is held
run 0 ado-backup -c "$CFG" j2
expect_out "$T/dest/j2/"
# both asked for, one locked: partial
run 3 ado-backup -c "$CFG" j1 j2
expect_err "job 'j1' is already running"
check "the unlocked job still ran" test "$(count j2)" = 2
# a dry run takes no lock: it runs while the job is held
run 0 ado-backup -c "$CFG" --dry-run j1
# release: the job runs again
exec 9>&-
run 0 ado-backup -c "$CFG" j1
check "after the release: a second backup of j1" test "$(count j1)" = 2
check "the lock file is empty again" test ! -s "$LOCK"

# --- a real second run: the first is slow (gzip of random data, one thread) ---
mkdir -p "$T/big"
head -c 80M /dev/urandom > "$T/big/r.bin"
ado-backup -c "$CFG" --threads 1 slow > "$T/slow.out" 2> "$T/slow.err" &
slow=$!
n=0
until [ -s "$T/state/locks/slow.lock" ] || [ $n -ge 100 ]; do sleep 0.05; n=$((n + 1)); done
check "the first run wrote its pid into the lock" test "$(cat "$T/state/locks/slow.lock")" = "$slow"
run 4 ado-backup -c "$CFG" slow
expect_err "ado-backup: job 'slow' is already running (pid $slow)"
check "the second run stored nothing" test -z "$out"
wait "$slow"; rc=$?
check "the first run finished well (exit 0)" test "$rc" = 0
check "the first run printed its reference" grep -q "^$T/dest/slow/" "$T/slow.out"
check "exactly one backup of slow" test "$(count slow)" = 1
rm -f "$T/big/r.bin"
echo small > "$T/big/s"
run 0 ado-backup -c "$CFG" slow
check "after it: the next run works" test "$(count slow)" = 2

# --- a state folder that cannot be used: a configuration error ---
echo file > "$T/notadir"
sed "s#state_dir: $T/state#state_dir: $T/notadir/state#" "$CFG" > "$T/badstate.yml"
run 2 ado-backup -c "$T/badstate.yml" j2
expect_err "ado-backup: cannot use state folder '$T/notadir/state'"
expect_err "hint: set state_dir in the config or ADO_STATE_DIR"
# ADO_STATE_DIR overrides the config
out=$(ADO_STATE_DIR="$T/state2" ado-backup -c "$T/badstate.yml" j2 2>"$T/.e"); rc=$?
check "ADO_STATE_DIR overrides state_dir (exit 0)" test "$rc" = 0
check "the lock went to ADO_STATE_DIR" test -f "$T/state2/locks/j2.lock"

done_testing
