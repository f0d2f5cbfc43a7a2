#!/bin/bash
# The config: malformed YAML and bad values name file:line:column, what was
# expected and what was found; unknown keys and unknown jobs are refused with a
# hint; the plan's examples/backup-strategy.yml loads unchanged (--crontab);
# ADO_CONFIG; --dry-run says what it would write and writes nothing.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p "$T/src"
echo data > "$T/src/a"
make_key "$T/key"
cat > "$T/good.yml" <<EOF
state_dir: $T/state
encryption: { key_file: $T/key }
backup_jobs:
  j1:
    schedule: "*/15 * * * *"
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/dest/" } ]
    retention: "30 days"
    encryption: "AES-256"
    compression: zstd
  j2:
    schedule: "0 2 * * *"
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/dest/" }, { local: "$T/dest2" } ]
    retention: "7 years"
EOF

# --- the good config, through --dry-run: the checks, then what would be stored; nothing written ---
run 0 ado-backup -c "$T/good.yml" --dry-run j1 j2
check "dry run says what it would store, once per destination (3)" \
	test "$(printf '%s\n' "$out" | grep -c '^dry run: would store ')" = 3
check "dry run refs have the form DEST/JOB/ID" \
	bash -c 'printf "%s\n" "$1" | sed -n "s/^dry run: would store //p" | grep -Ev "^$2/(dest/j1|dest/j2|dest2/j2)/[0-9]{8}T[0-9]{6}Z\$" | { ! grep .; }' _ "$out" "$T"
check "no line of a dry run looks like a stored reference" bash -c '! printf "%s\n" "$1" | grep -q "^/"' _ "$out"
check_not "dry run wrote no backup (its writability test left no object)" bash -c 'find "$1/dest" "$1/dest2" -type f 2>/dev/null | grep -q .' _ "$T"
check_not "dry run took no lock (no state folder)" test -e "$T/state"
# the failure case beside it: a dry run still checks the key an encrypted job needs
chmod 644 "$T/key"
run 2 ado-backup -c "$T/good.yml" --dry-run j1
expect_out "FAIL key '$T/key': key file '$T/key' is readable by group or others (mode 0644)"
check_not "the failed dry run wrote no backup" bash -c 'find "$1/dest" -type f 2>/dev/null | grep -q .' _ "$T"
# the writability test may leave the (empty) folders a run would create
rm -rf "$T/dest" "$T/dest2"
chmod 600 "$T/key"

# --- ADO_CONFIG stands in for -c; -c wins over it ---
out=$(ADO_CONFIG="$T/good.yml" ado-backup --dry-run j1 2>"$T/.e"); rc=$?
check "ADO_CONFIG is read (exit 0)" test "$rc" = 0
check "ADO_CONFIG: the ref names j1" bash -c '[[ "$1" == *"dry run: would store $2/dest/j1/"* ]]' _ "$out" "$T"
out=$(ADO_CONFIG="$T/nope.yml" ado-backup -c "$T/good.yml" --dry-run j1 2>"$T/.e"); rc=$?
check "-c wins over ADO_CONFIG" test "$rc" = 0
rm -rf "$T/dest" "$T/dest2"	# the dry runs' writability tests leave empty folders

# --- missing config file ---
run 2 ado-backup -c "$T/nope.yml" j1
expect_err "ado-backup: cannot open config '$T/nope.yml': No such file or directory"
expect_err "hint: give the config with -c PATH or set ADO_CONFIG"
out=$(ADO_CONFIG="$T/nope.yml" ado-backup j1 2>"$T/.e"); rc=$?; err=$(cat "$T/.e")
check "ADO_CONFIG pointing nowhere: exit 2" test "$rc" = 2
expect_err "cannot open config '$T/nope.yml'"
if [ ! -e /etc/ado/backup-strategy.yml ]; then
	run 2 ado-backup j1
	expect_err "cannot open config '/etc/ado/backup-strategy.yml'"
fi
run 2 ado-restore -c "$T/nope.yml" --list
expect_err "ado-restore: cannot open config '$T/nope.yml'"
run 2 ado-verify -c "$T/nope.yml" --job j1
expect_err "ado-verify: cannot open config '$T/nope.yml'"

# --- malformed YAML: file:line:col ---
printf 'backup_jobs:\n  j1:\n    schedule: "*/5 * * * *"\n    targets: [ { files: "/x" }\n    retention: "1 day"\n' > "$T/bad1.yml"
run 2 ado-backup -c "$T/bad1.yml" j1
expect_err "ado-backup: $T/bad1.yml:5:5: expected valid YAML, found a syntax error"
expect_err "did not find expected ',' or ']'"
expect_err "hint: check indentation"
check "nothing on stdout" test -z "$out"
printf 'backup_jobs:\n  j1:\n\tschedule: "x"\n' > "$T/bad2.yml"
run 2 ado-backup -c "$T/bad2.yml" j1
expect_err "$T/bad2.yml:3:1: expected valid YAML"
printf 'backup_jobs:\n  j1: { schedule: "x\n' > "$T/bad3.yml"
run 2 ado-verify -c "$T/bad3.yml" --job j1
expect_err "ado-verify: $T/bad3.yml:3:1: expected valid YAML"
: > "$T/empty.yml"
run 2 ado-backup -c "$T/empty.yml" j1
expect_err "$T/empty.yml:1:1: expected a mapping with 'backup_jobs', found an empty document"

# --- unknown keys: named, with a did-you-mean hint ---
sed 's/^    retention: "30 days"/    retension: "30 days"/' "$T/good.yml" > "$T/typo.yml"
run 2 ado-backup -c "$T/typo.yml" j1
expect_err "$T/typo.yml:8:5: expected one of schedule, targets, destinations, retention"
expect_err "in job 'j1', found unknown key 'retension'"
expect_err "hint: did you mean 'retention'?"
sed 's/^backup_jobs:/backup_jobz:/' "$T/good.yml" > "$T/typo2.yml"
run 2 ado-backup -c "$T/typo2.yml" j1
expect_err "found unknown key 'backup_jobz'"
expect_err "did you mean 'backup_jobs'?"
# the typo is refused even for a job not asked for: the whole file must be right
sed 's/^    compression: zstd/    compresion: zstd/' "$T/good.yml" > "$T/typo3.yml"
run 2 ado-backup -c "$T/typo3.yml" j2
expect_err "found unknown key 'compresion'"

# --- bad values: cron, duration, encryption, a missing section ---
sed 's#"\*/15 \* \* \* \*"#"61 * * * *"#' "$T/good.yml" > "$T/cron.yml"
run 2 ado-backup -c "$T/cron.yml" --crontab
expect_err "$T/cron.yml:5:15: expected a cron schedule for 'schedule' of job 'j1', found '61 * * * *'"
expect_err "'61' is out of range 0-59"
sed 's/"30 days"/"30 dayz"/' "$T/good.yml" > "$T/dur.yml"
run 2 ado-backup -c "$T/dur.yml" j1
expect_err "$T/dur.yml:8:16: expected a duration like '30 days' or '24h' for 'retention' of job 'j1', found '30 dayz'"
sed 's/"AES-256"/"ROT13"/' "$T/good.yml" > "$T/enc.yml"
run 2 ado-backup -c "$T/enc.yml" j1
expect_err "found 'ROT13'"
printf 'backup_jobs:\n  j1:\n    targets: [ { files: "/x" } ]\n' > "$T/nodest.yml"
run 2 ado-backup -c "$T/nodest.yml" j1
expect_err "$T/nodest.yml:2:3: expected 'destinations' in job 'j1', found none"

# --- unknown job: a close name is suggested, else the jobs that exist are listed ---
run 2 ado-backup -c "$T/good.yml" j3
expect_err "ado-backup: no job 'j3' in '$T/good.yml'"
expect_err "hint: did you mean 'j1'?"
run 2 ado-backup -c "$T/good.yml" nightly_archive
expect_err "ado-backup: no job 'nightly_archive' in '$T/good.yml'"
expect_err "hint: the jobs there are: j1, j2"
check_not "unknown job: nothing stored" test -e "$T/dest"
run 2 ado-backup -c "$T/good.yml" j1 j3
expect_err "no job 'j3'"
check_not "one unknown job among several: nothing stored" test -e "$T/dest"
run 2 ado-restore -c "$T/good.yml" --list --job j3
expect_err "no job 'j3'"
run 2 ado-restore -c "$T/good.yml" --job j3 --to-dir "$T/out"
expect_err "no job 'j3'"
run 2 ado-verify -c "$T/good.yml" --job j3
expect_err "ado-verify: no job 'j3' in '$T/good.yml'"
expect_err "hint: did you mean 'j1'?"
expect_no_err "give the config with -c"

# --- the plan's config loads unchanged ---
EX=$TOP/examples/backup-strategy.yml
run 0 ado-backup -c "$EX" --crontab
cron=$(printf '%s\n' "$out" | grep '^[0-9*]')
check "--crontab: one line per job (3)" test "$(printf '%s\n' "$cron" | wc -l)" = 3
BIN=$TOP/ado-backup/ado-backup
check "critical_data every 15 minutes, absolute paths" \
	grep -qF "*/15 * * * * $BIN -q -c $EX critical_data >/dev/null || " <<<"$cron"
check "important_data hourly" grep -qF "0 * * * * $BIN -q -c $EX important_data >/dev/null || " <<<"$cron"
check "archive_data daily at 2" grep -qF "0 2 * * * $BIN -q -c $EX archive_data >/dev/null || " <<<"$cron"
# a relative -c still gives cron an absolute path
out=$(cd "$TOP" && ado-backup -c examples/backup-strategy.yml --crontab 2>"$T/.e"); rc=$?
check "--crontab with a relative -c: exit 0" test "$rc" = 0
check "--crontab with a relative -c prints the absolute path" grep -qF -- "-c $EX critical_data" <<<"$out"
# the example is the plan's text: no key is needed to read it, and it is not edited
check "the example holds the plan's three jobs" test "$(grep -c '^  [a-z_]*:$' "$EX")" = 3
# the failure case beside it: a broken copy of the example is refused
sed 's/schedule: "0 2 \* \* \*"/schedule: "0 25 * * *"/' "$EX" > "$T/ex-bad.yml"
run 2 ado-backup -c "$T/ex-bad.yml" --crontab
expect_err "'25' is out of range 0-23"

done_testing
