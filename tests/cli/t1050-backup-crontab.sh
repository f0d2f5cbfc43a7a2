#!/bin/bash
# ado-backup --crontab / --install-crontab: ado-dr's own block (begin and end
# markers, CRON_TZ=UTC, SHELL=/bin/sh); each line is silent when the run
# succeeds and alerts through ado-notify when it does not; --install-crontab
# replaces only that block in a scratch user's crontab (never root's), keeps
# every foreign line, and creates the crontab when there is none.
. "$(dirname "$0")/../lib/test-lib.sh"

command -v crontab >/dev/null || skip_all "crontab not installed (scripts/install-deps installs cron)"
[ "$(id -u)" = 0 ] && command -v useradd >/dev/null || skip_all "needs root and useradd for a scratch user"

S=$T/src
mkdir -p "$S"
echo data > "$S/a"
start_receiver hooks ok
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
notifications:
  channels:
    hook: { type: webhook, url: "http://127.0.0.1:$RPORT/hook" }
backup_jobs:
  often: { schedule: "*/15 * * * *", targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], compression: none }
  nightly: { schedule: "0 2 * * *", targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], compression: none }
  adhoc: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], compression: none }
EOF
BEGIN="# BEGIN ado-dr backup schedule (from $CFG; ado-backup --install-crontab replaces this block)"
END="# END ado-dr backup schedule"

# --- usage ---
run 2 ado-backup -c "$CFG" --crontab often
expect_err "ado-backup: --crontab, --install-crontab and --systemd take no job names and no --all"
run 2 ado-backup -c "$CFG" --user nobody often
expect_err "ado-backup: --user goes with --install-crontab"

# --- the block ---
run 0 ado-backup -c "$CFG" --crontab
block=$out
check "first line: the begin marker" test "$(sed -n 1p <<<"$block")" = "$BEGIN"
check "then CRON_TZ=UTC" test "$(sed -n 2p <<<"$block")" = "CRON_TZ=UTC"
check "then SHELL=/bin/sh" test "$(sed -n 3p <<<"$block")" = "SHELL=/bin/sh"
check "last line: the end marker" test "$(tail -n 1 <<<"$block")" = "$END"
expect_out "# adhoc: no schedule"
often=$(grep '^\*/15 \* \* \* \* ' <<<"$block")
check "one line for job often" test "$(grep -c '^\*/15 ' <<<"$block")" = 1
check "it discards the references and alerts on a non-zero status" test \
	"$often" = "*/15 * * * * $TOP/ado-backup/ado-backup -q -c $CFG often >/dev/null || $TOP/ado-notify/ado-notify -q -c $CFG --severity critical --job often \"backup job often failed on \$(hostname) (exit \$?)\""

# The line as cron runs it (the command after the five fields, by /bin/sh):
# success prints nothing and sends nothing ...
cmd=${often#\*/15 \* \* \* \* }
run 0 sh -c "$cmd"
check "success: nothing on stdout" test -z "$out"
check "success: nothing on stderr" test -z "$err"
check "success: no alert" test "$(nreq "$RLOG")" = 0
check "success: the backup was made" test "$(ls "$T/dest/often" | wc -l)" = 1
# ... failure says why on stderr (cron mails it) and alerts with the status
mv "$S" "$T/src.away"
run 0 sh -c "$cmd"
expect_err "ado-backup: job 'often': nothing was stored: its target failed"
check "failure: one alert" test "$(nreq "$RLOG")" = 1
check "failure: the alert names the job and the exit status" grep -q "backup job often failed on $(hostname) (exit 1)" "$RLOG"
mv "$T/src.away" "$S"

# --- --install-crontab, in a scratch user's crontab ---
U=adot$$
useradd -M -d /nonexistent -s /usr/sbin/nologin "$U" || skip_all "useradd failed"
at_exit "crontab -u '$U' -r 2>/dev/null; userdel '$U'"
# no crontab yet: one is created, holding the block
run 0 ado-backup -c "$CFG" --install-crontab --user "$U"
check "no crontab before: created with the block" test "$(crontab -u "$U" -l)" = "$block"
# a foreign crontab: every line kept, the block added once at the end
printf 'MAILTO=ops@example.org\n# keep me\n5 4 * * * /usr/bin/true foreign\n' | crontab -u "$U" -
run 0 ado-backup -c "$CFG" --install-crontab --user "$U"
crontab -u "$U" -l > "$T/ct1"
check "foreign lines survive, the block follows" test "$(cat "$T/ct1")" = "MAILTO=ops@example.org
# keep me
5 4 * * * /usr/bin/true foreign
$block"
# a second run replaces the block (the job nightly is gone from the config)
sed -i '/^  nightly:/d' "$CFG"
run 0 ado-backup -c "$CFG" -v --install-crontab --user "$U"
expect_err "ado-backup: installed the ado-dr block in the crontab of $U"
crontab -u "$U" -l > "$T/ct2"
check "one block after two installs" test "$(grep -c '^# BEGIN ado-dr' "$T/ct2")" = 1
check "the foreign line is still there" grep -qx '5 4 \* \* \* /usr/bin/true foreign' "$T/ct2"
check_not "the removed job's line is gone" grep -q ' nightly ' "$T/ct2"
check "the kept job's line is there" grep -q ' often >/dev/null' "$T/ct2"
# a block in the middle (edited by hand) moves to the end; lines after it stay
{ sed -n 1p "$T/ct2"; sed -n '/^# BEGIN/,/^# END/p' "$T/ct2"; echo '7 7 * * * /usr/bin/true after'; } | crontab -u "$U" -
run 0 ado-backup -c "$CFG" --install-crontab --user "$U"
crontab -u "$U" -l > "$T/ct3"
check "the line after the old block: kept" grep -qx '7 7 \* \* \* /usr/bin/true after' "$T/ct3"
check "the block ends the crontab" test "$(tail -n 1 "$T/ct3")" = "$END"
check "still one block" test "$(grep -c '^# BEGIN ado-dr' "$T/ct3")" = 1

# a user crontab(1) does not know: status 1, crontab's own words
run 1 ado-backup -c "$CFG" --install-crontab --user "no-such-user-$$"
expect_err "ado-backup: cannot read the crontab of no-such-user-$$: "
done_testing
