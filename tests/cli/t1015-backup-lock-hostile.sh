#!/bin/bash
# A hostile neighbour in a shared state folder: a lock file planted as a
# symlink to a file of root's is not followed (the file stays intact, exit 2);
# a state or locks folder writable by others, or owned by another user, is
# refused with a clear error (exit 2), as ssh refuses a loose key. A state
# folder of ours, mode 0700, works.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p "$T/src"
echo data > "$T/src/a"
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
backup_jobs:
  j: { targets: [ { files: "$T/src/" } ], destinations: [ { local: "$T/dest/" } ] }
EOF

# --- passing case: our own 0700 state folder ---
run 0 ado-backup -c "$CFG" j
check "the lock file is a regular file" test -f "$T/state/locks/j.lock" -a ! -L "$T/state/locks/j.lock"

# --- the planted symlink ---
echo "precious root data" > "$T/rootfile"
rm -f "$T/state/locks/j.lock"
ln -s "$T/rootfile" "$T/state/locks/j.lock"
run 2 ado-backup -c "$CFG" j
expect_err "ado-backup: lock file '$T/state/locks/j.lock' is a symlink: refusing to follow it"
check "root's file is intact" test "$(cat "$T/rootfile")" = "precious root data"
check "nothing stored" test "$(ls "$T/dest/j" | wc -l)" = 1
rm -f "$T/state/locks/j.lock"

# --- a state folder writable by others ---
chmod 0777 "$T/state"
run 2 ado-backup -c "$CFG" j
expect_err "ado-backup: state folder '$T/state' is writable by others (mode 0777): refusing to use it"
expect_err "hint: chmod go-w '$T/state'"
chmod 0700 "$T/state"
chmod 0770 "$T/state/locks"
run 2 ado-backup -c "$CFG" j
expect_err "ado-backup: locks folder '$T/state/locks' is writable by others (mode 0770): refusing to use it"
chmod 0700 "$T/state/locks"

# --- a state folder owned by another user ---
if id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	chown nobody "$T/state"
	run 2 ado-backup -c "$CFG" j
	expect_err "ado-backup: state folder '$T/state' is owned by another user (uid $(id -u nobody)): refusing to use it"
	chown root "$T/state"
else
	skip "needs root and the user nobody"
fi

# --- passing case again ---
run 0 ado-backup -c "$CFG" j
check "two backups now" test "$(ls "$T/dest/j" | wc -l)" = 2
done_testing
