#!/bin/bash
# make demo (examples/demo.sh): no colour codes when its output is not a
# terminal (and bold headings when it is), commands shown quoted as a shell
# would need them typed.
. "$(dirname "$0")/../lib/test-lib.sh"

# demo_dir: the scratch folder the last demo named, removed at exit
demo_dir() { sed -n 's/^== a sample service tree in \(.*\)\/etc-ado .*/\1/p' "$1" | tr -d '\033' | sed 's/\[[0-9]*m//g'; }

run 0 sh "$TOP/examples/demo.sh"
printf '%s\n%s\n' "$out" "$err" > "$T/pipe.out"
D=$(demo_dir "$T/pipe.out")
at_exit "rm -rf '$D'"
check "the demo ran in a scratch folder" test -d "$D"
check_not "a pipe: no escape codes" grep -q $'\033' "$T/pipe.out"
check "headings still there" grep -qx '== the config ('"$D"'/backup-strategy.yml)' "$T/pipe.out"
check "a command with spaces is shown single-quoted" \
	grep -qxF "\$ sh -c 'head -c 32 /dev/urandom > '\\''$D/backup.key'\\'''" "$T/pipe.out"
check "plain words are shown bare" grep -qxF "\$ diff -r $D/etc-ado $D/restored" "$T/pipe.out"
# the shown line, run by sh, is the same command: it prints its words back
line=$(grep -F '$ sh -c ' "$T/pipe.out" | head -n 1)
check "the quoting round-trips through sh" test "$(sh -c "set -- ${line#\$ }; printf '%s|' \"\$@\"")" = \
	"sh|-c|head -c 32 /dev/urandom > '$D/backup.key'|"

if command -v script >/dev/null; then
	script -qec "sh '$TOP/examples/demo.sh'" /dev/null > "$T/tty.out" 2>&1
	at_exit "rm -rf '$(demo_dir "$T/tty.out")'"
	check "a terminal: bold headings" grep -q $'\033\\[1m== ' "$T/tty.out"
else
	skip "script(1) not installed"
fi
done_testing
