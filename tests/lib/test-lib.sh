# test-lib.sh - TAP helpers for the CLI tests (tests/cli/tNNNN-tool-behaviour.sh), run by prove.
#
#   . "$(dirname "$0")/../lib/test-lib.sh"
#   run 0 ado-backup -c "$CFG" critical_data      # runs, captures $out (stdout) and $err (stderr), asserts exit 0
#   expect_err "cannot open"                      # last stderr contains the text
#   expect_out "ok "                              # last stdout contains the text
#   check "manifest exists" test -f "$X"          # any command as an assertion
#   done_testing
#
# Each test gets its own scratch dir $T (removed at exit, kept with KEEP=1) and a
# PATH with the freshly built tools first.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH="$TOP/ado-backup:$TOP/ado-verify:$TOP/ado-restore:$TOP/ado-recover:$TOP/ado-notify:$PATH"
export LC_ALL=C.UTF-8 TZ=UTC
unset ADO_CONFIG ADO_KEY_FILE ADO_PASSPHRASE ADO_STATE_DIR ALERT_WEBHOOK_URL SLACK_WEBHOOK_URL STATUS_PAGE_API STATUS_PAGE_TOKEN
umask 077
T=$(mktemp -d /tmp/ado-test.XXXXXX)
TAP_N=0
TAP_FAILED=0
_cleanups=()
at_exit() { _cleanups+=("$*"); }
_finish() {
	local c
	for c in "${_cleanups[@]+"${_cleanups[@]}"}"; do eval "$c" || true; done
	if [ "${KEEP:-0}" = 1 ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
trap _finish EXIT
trap 'exit 130' INT TERM

_tap() { # _tap OK DESC [DIAG]
	TAP_N=$((TAP_N + 1))
	if [ "$1" = 0 ]; then
		echo "ok $TAP_N - $2"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		echo "not ok $TAP_N - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
	fi
	return "$1"
}

# run WANT CMD...: run CMD, keep stdout in $out and stderr in $err, assert exit status WANT.
run() {
	local want=$1; shift
	out=$("$@" 2>"$T/.stderr" </dev/null); rc=$?
	err=$(cat "$T/.stderr")
	_tap $([ "$rc" = "$want" ] && echo 0 || echo 1) "exit $want: $*" \
		"got exit $rc; stderr:
$err
stdout:
$out"
}
# run_in WANT INPUTFILE CMD...: same with stdin from a file ("-" for none).
run_in() {
	local want=$1 in=$2; shift 2
	out=$("$@" 2>"$T/.stderr" <"$in"); rc=$?
	err=$(cat "$T/.stderr")
	_tap $([ "$rc" = "$want" ] && echo 0 || echo 1) "exit $want: $* < $in" \
		"got exit $rc; stderr:
$err
stdout:
$out"
}
expect_err() { case "$err" in *"$1"*) _tap 0 "stderr has '$1'";; *) _tap 1 "stderr has '$1'" "stderr was:
$err";; esac; }
expect_out() { case "$out" in *"$1"*) _tap 0 "stdout has '$1'";; *) _tap 1 "stdout has '$1'" "stdout was:
$out";; esac; }
expect_no_err() { case "$err" in *"$1"*) _tap 1 "stderr lacks '$1'" "stderr was:
$err";; *) _tap 0 "stderr lacks '$1'";; esac; }
expect_no_out() { case "$out" in *"$1"*) _tap 1 "stdout lacks '$1'" "stdout was:
$out";; *) _tap 0 "stdout lacks '$1'";; esac; }
check() { local d=$1; shift; if "$@" >"$T/.check" 2>&1; then _tap 0 "$d"; else _tap 1 "$d" "$(cat "$T/.check")"; fi; }
check_not() { local d=$1; shift; if "$@" >"$T/.check" 2>&1; then _tap 1 "$d" "command succeeded: $*"; else _tap 0 "$d"; fi; }
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N # skip $*"; }
# skip_all REASON: the whole test is skipped; what it started (at_exit) is still stopped
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
done_testing() { echo "1..$TAP_N"; [ "$TAP_FAILED" = 0 ]; }

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# wait_port PORT [SECONDS]: wait until something listens on 127.0.0.1:PORT.
wait_port() {
	local p=$1 n=$(( ${2:-10} * 10 ))
	while [ $n -gt 0 ]; do
		/usr/bin/python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$p)))" 2>/dev/null && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

# start_server SCRIPT NAME [ARG...]: run tests/lib/SCRIPT PORT LOG PIDFILE ARG... on a
# free loopback port (a receiver that logs one JSON line per request), stopped at
# exit; sets SRV_PORT and SRV_LOG.
start_server() {
	local script=$1 name=$2; shift 2
	SRV_PORT=$(free_port); SRV_LOG=$T/$name.log; : >"$SRV_LOG"
	/usr/bin/python3 "$TOP/tests/lib/$script" "$SRV_PORT" "$SRV_LOG" "$T/$name.pid" "$@" >"$T/$name.out" 2>&1 &
	at_exit "kill \$(cat '$T/$name.pid' 2>/dev/null) 2>/dev/null"
	wait_port "$SRV_PORT" 5
}
# start_receiver NAME MODE [ARG]: the HTTP receiver (receiver.py); sets RPORT and RLOG.
start_receiver() { start_server receiver.py "$@"; local r=$?; RPORT=$SRV_PORT; RLOG=$SRV_LOG; return $r; }
# nreq LOG: how many requests a receiver logged.
nreq() { wc -l <"$1" | tr -d ' '; }

# A 32-byte key file, 0600.
make_key() { head -c 32 /dev/urandom > "$1"; chmod 600 "$1"; }
