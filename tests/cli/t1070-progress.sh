#!/bin/bash
# Progress on a terminal, silence elsewhere: ado-backup, ado-verify and
# ado-restore draw one line on stderr redrawn in place ("\r...") and end with
# a summary line holding the duration, when stderr is a terminal (a
# pseudo-terminal here); nothing on a pipe, nothing with --no-progress or -q,
# and the line with --progress on a pipe. stdout carries only the results.
. "$(dirname "$0")/../lib/test-lib.sh"

# on_tty OUT TTY CMD...: CMD with stderr on a pseudo-terminal (its bytes into
# TTY), stdout into OUT, stdin from /dev/null; sets rc to CMD's status.
on_tty() {
	local o=$1 t=$2; shift 2
	/usr/bin/python3 - "$o" "$t" "$@" <<'EOF'
import os, pty, subprocess, sys
out, tty, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
m, s = pty.openpty()
with open(out, "wb") as fo, open(os.devnull, "rb") as fi:
    p = subprocess.Popen(cmd, stdin=fi, stdout=fo, stderr=s)
os.close(s)
data = b""
while True:
    try:
        b = os.read(m, 65536)
    except OSError:
        break
    if not b:
        break
    data += b
open(tty, "wb").write(data)
sys.exit(p.wait())
EOF
	rc=$?
}
# has FILE TEXT: FILE holds TEXT (bytes, as printf reads them)
has() { grep -qF -- "$(printf "$2")" "$1"; }

S=$T/src
mkdir -p "$S"
head -c 3000000 /dev/urandom > "$S/big.bin"
for i in 1 2 3; do echo $i > "$S/f$i"; done
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
backup_jobs:
  j1:
    targets: [ { files: "$S/" } ]
    destinations: [ { local: "$T/dest/" } ]
    retention: "30 days"
    encryption: none
EOF

on_tty "$T/out" "$T/tty" ado-backup -c "$CFG" j1
check "backup on a terminal: exit 0" test "$rc" = 0
ref=$(cat "$T/out")
check "backup on a terminal: stdout is exactly the reference" bash -c '[[ "$1" =~ ^$2/dest/j1/[0-9]{8}T[0-9]{6}Z$ ]]' _ "$ref" "$T"
check "backup on a terminal: the line is redrawn in place (\\r[0:00])" has "$T/tty" '\r[0:00]'
check "backup on a terminal: bytes read and stored, rate, the current target" \
	bash -c 'grep -qE "read, [0-9.]+ [KMG]?i?B stored, [0-9.]+ [KMG]?i?B/s, .*j1/files-" "$1"' _ "$T/tty"
check "backup on a terminal: the line is erased before the summary" has "$T/tty" '\r\033[Kado-backup: j1: '
check "backup on a terminal: the summary has bytes, files and the duration" \
	bash -c 'grep -qE "ado-backup: j1: 2\.9 MiB read, .* stored, .*B/s, 5 files in 0:0[0-9]" "$1"' _ "$T/tty"
check_not "backup on a terminal: no progress on stdout" grep -q read "$T/out"

run 0 ado-backup -c "$CFG" j1
check "backup on a pipe: nothing on stderr" test -z "$err"
on_tty "$T/out" "$T/tty" ado-backup -c "$CFG" --no-progress j1
check "backup --no-progress on a terminal: exit 0" test "$rc" = 0
check "backup --no-progress on a terminal: nothing on stderr" test ! -s "$T/tty"
on_tty "$T/out" "$T/tty" ado-backup -c "$CFG" -q j1
check "backup -q on a terminal: nothing on stderr" test ! -s "$T/tty"
run 0 ado-backup -c "$CFG" --progress j1
expect_err "$(printf '\r[0:00]')"
expect_err "ado-backup: j1: 2.9 MiB read"
expect_err "stored"
# the previous backup's size is the estimate: a percentage
expect_err "% "
on_tty "$T/out" "$T/tty" ado-backup -c "$CFG" --dry-run j1
check "backup --dry-run on a terminal: no progress line" test ! -s "$T/tty"

on_tty "$T/out" "$T/tty" ado-verify "$ref"
check "verify on a terminal: exit 0" test "$rc" = 0
check "verify on a terminal: stdout is 'ok REF' alone" test "$(cat "$T/out")" = "ok $ref"
check "verify on a terminal: the line, with a percentage (the size is known)" has "$T/tty" '\r[0:00]   0% 0 B read, 0 B checked'
check "verify on a terminal: the summary" \
	bash -c 'grep -qF "ado-verify: $2: 2.9 MiB read, 2.9 MiB checked" "$1" && grep -qE " in 0:0[0-9]" "$1"' _ "$T/tty" "$ref"
on_tty "$T/out" "$T/tty" ado-verify --level checksum "$ref"
check "verify --level checksum on a terminal: reads only, no 'checked'" \
	bash -c 'grep -qF "2.9 MiB read, " "$1" && ! grep -q checked "$1"' _ "$T/tty"
run 0 ado-verify "$ref"
check "verify on a pipe: nothing on stderr" test -z "$err"
on_tty "$T/out" "$T/tty" ado-verify --no-progress "$ref"
check "verify --no-progress on a terminal: nothing on stderr" test ! -s "$T/tty"
run 0 ado-verify --progress "$ref"
expect_err "ado-verify: $ref: 2.9 MiB read"

on_tty "$T/out" "$T/tty" ado-restore "$ref" --to-dir "$T/r1"
check "restore on a terminal: exit 0" test "$rc" = 0
check "restore on a terminal: the line" has "$T/tty" '\r[0:00]'
check "restore on a terminal: the summary" has "$T/tty" 'ado-restore: j1/files-'
check "restore on a terminal: 'restored' bytes" bash -c 'grep -qE "2\.9 MiB read, 2\.9 MiB restored, .* in 0:0" "$1"' _ "$T/tty"
check "restore on a terminal: the files came back" cmp "$S/big.bin" "$T/r1/big.bin"
run 0 ado-restore "$ref" --to-dir "$T/r2"
check_not "restore on a pipe: no progress line" bash -c 'printf %s "$1" | grep -q "MiB read"' _ "$err"
on_tty "$T/out" "$T/tty" ado-restore --no-progress "$ref" --to-dir "$T/r3"
check_not "restore --no-progress on a terminal: no progress line" grep -q "MiB read" "$T/tty"
run 0 ado-restore --progress "$ref" --to-dir "$T/r4"
expect_err "ado-restore: j1/files-"

done_testing
