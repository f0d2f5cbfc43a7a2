#!/bin/bash
# Every tool: --help (usage on stdout, exit 0), --version (the shared version
# text, exit 0), and an unknown option (a diagnostic and the usage on stderr, exit 2).
. "$(dirname "$0")/../lib/test-lib.sh"

VERSION=$(sed -n 's/^#define ADO_VERSION "\(.*\)"$/\1/p' "$TOP/lib/ado.h")
check "lib/ado.h states a version" test -n "$VERSION"

for tool in ado-backup ado-verify ado-restore ado-recover ado-notify; do
	run 0 "$tool" --help
	expect_out "usage: $tool"
	check "$tool --help writes nothing on stderr" test -z "$err"

	run 0 "$tool" --version
	check "$tool --version is exactly '$tool (ado-dr) $VERSION'" test "$out" = "$tool (ado-dr) $VERSION"

	# the failure case beside it: an option no tool has
	run 2 "$tool" --no-such-option
	expect_err "$tool: "
	check "$tool --no-such-option prints nothing on stdout" test -z "$out"
done

# the short forms, on the three tools of the files round trip
for tool in ado-backup ado-verify ado-restore; do
	run 0 "$tool" -h
	expect_out "usage: $tool"
	run 0 "$tool" -V
	check "$tool -V is the same text as --version" test "$out" = "$tool (ado-dr) $VERSION"
done

# the tools built on getopt_long name the bad option and show the usage
for tool in ado-backup ado-verify ado-restore ado-notify; do
	run 2 "$tool" --no-such-option
	expect_err "unrecognized option '--no-such-option'"
done
for tool in ado-backup ado-verify ado-restore; do
	run 2 "$tool" --no-such-option
	expect_err "usage: $tool"
	# exit statuses are part of the contract: --help states them
	run 0 "$tool" --help
	expect_out "Exit: 0 "
	expect_out "2 usage or config error"
done
run 0 ado-backup --help
expect_out "4 the job is already running"
expect_out "3 partial"

# ado-recover names its modes in --help; with no config and no plan it does nothing
run 0 ado-recover --help
expect_out "--drill FILE"
run 2 ado-recover -c "$T/none.yml"
expect_err "ado-recover: cannot open config '$T/none.yml'"

# a missing argument to an option is a usage error too
run 2 ado-backup --threads
expect_err "requires an argument"
run 2 ado-backup --threads 0 j1
expect_err "--threads: expected a number from 1 to 64, found '0'"
run 2 ado-verify --level fast x
expect_err "--level: expected checksum, read or restore, found 'fast'"

# nothing to do is a usage error, with a hint
run 2 ado-backup -c /dev/null
expect_err "ado-backup: no job given"
expect_err "hint: "
run 2 ado-verify
expect_err "ado-verify: nothing to verify"
run 2 ado-restore
expect_err "ado-restore: nothing to restore"

done_testing
