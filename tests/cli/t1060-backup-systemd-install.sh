#!/bin/bash
# ado-backup --systemd JOB: a service and a timer whose OnCalendar= is the
# job's cron schedule (systemd-analyze accepts it, when installed); the units
# in examples/systemd/ are what it prints for the plan's jobs; make install
# puts the tools, pages, examples, units and the bash completion under PREFIX.
. "$(dirname "$0")/../lib/test-lib.sh"

EX=$TOP/examples/backup-strategy.yml
BIN=$TOP/ado-backup/ado-backup
NOTIFY=$TOP/ado-notify/ado-notify

# --- --systemd: failures first ---
cat > "$T/cfg.yml" <<EOF
state_dir: $T/state
backup_jobs:
  adhoc: { targets: [ { files: "$T/" } ], destinations: [ { local: "$T/dest/" } ] }
  either: { schedule: "0 0 1 * 1", targets: [ { files: "$T/" } ], destinations: [ { local: "$T/dest/" } ] }
EOF
run 2 ado-backup -c "$T/cfg.yml" --systemd nosuch
expect_err "ado-backup: no job 'nosuch' in '$T/cfg.yml'"
run 2 ado-backup -c "$T/cfg.yml" --systemd adhoc
expect_err "ado-backup: job 'adhoc' has no schedule"
run 2 ado-backup -c "$T/cfg.yml" --systemd either
expect_err "ado-backup: job 'either': schedule '0 0 1 * 1' restricts both day-of-month and day-of-week"

# --- the units of the plan's jobs are the examples ---
for j in critical_data important_data archive_data; do
	run 0 ado-backup -c "$EX" --systemd "$j"
	mkdir -p "$T/units"
	(cd "$T/units" && awk '/^# FILE: /{f=$3; next} {print > f}') <<<"$out"
	for u in "ado-backup-$j.service" "ado-backup-$j.timer"; do
		sed -e "s|/usr/local/bin/ado-backup|$BIN|; s|/usr/local/bin/ado-notify|$NOTIFY|; s|/etc/ado/backup-strategy.yml|$EX|g" \
			"$TOP/examples/systemd/$u" > "$T/want"
		check "examples/systemd/$u is what --systemd $j prints" cmp "$T/want" "$T/units/$u"
	done
done
check "critical_data: every 15 minutes" grep -qx 'OnCalendar=\*-\*-\* \*:00/15:00 UTC' "$T/units/ado-backup-critical_data.timer"
check "archive_data: daily at 2" grep -qx 'OnCalendar=\*-\*-\* 02:00:00 UTC' "$T/units/ado-backup-archive_data.timer"
check "a run missed while off runs at boot" grep -qx 'Persistent=true' "$T/units/ado-backup-archive_data.timer"
check "the service discards the references" grep -qx 'StandardOutput=null' "$T/units/ado-backup-archive_data.service"
check "and alerts when the run fails" grep -q "ExecStopPost=.*$NOTIFY .*--severity critical --job archive_data" "$T/units/ado-backup-archive_data.service"
if command -v systemd-analyze >/dev/null; then
	for f in "$TOP"/examples/systemd/*.timer; do
		cal=$(sed -n 's/^OnCalendar=//p' "$f")
		check "systemd-analyze accepts $(basename "$f")'s '$cal'" systemd-analyze calendar "$cal"
	done
else
	skip "systemd-analyze not installed"
fi

# --- make install ---
R=$T/root
run 0 make -s -C "$TOP" install DESTDIR="$R" PREFIX=/usr/local
(cd "$R" && find . \( -type f -o -type l \) | sort) > "$T/files"
for f in bin/ado-backup bin/ado-verify bin/ado-restore bin/ado-recover bin/ado-notify \
	share/man/man1/ado-backup.1 share/man/man5/ado.yml.5 \
	share/ado-dr/examples/verify_backups.sh share/ado-dr/examples/crontab share/ado-dr/examples/backup-strategy.yml \
	share/ado-dr/systemd/ado-backup-critical_data.service share/ado-dr/systemd/ado-backup-critical_data.timer \
	share/ado-dr/systemd/ado-rpo-watch.service share/ado-dr/systemd/ado-rpo-watch.timer \
	share/ado-dr/systemd/ado-dr-drill.service share/ado-dr/systemd/ado-dr-drill.timer \
	share/bash-completion/completions/ado-backup share/bash-completion/completions/ado-notify; do
	check "installed: /usr/local/$f" grep -qx "./usr/local/$f" "$T/files"
done
check "examples/crontab's script is there and executable" test -x "$R/usr/local/share/ado-dr/examples/verify_backups.sh"
check "nothing outside PREFIX" test "$(grep -vc '^./usr/local/' "$T/files")" = 0

# --- the completion: options from --help, jobs from the config ---
complete_words() { # the completions of a command line (the last word is completed)
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ado_dr "$1"; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$R/usr/local/share/bash-completion/completions/ado-backup" "$@"
}
check "ado-backup --sys completes to --systemd" test "$(complete_words ado-backup --sys)" = "--systemd"
check "ado-backup -c EX imp completes to a job" test "$(complete_words ado-backup -c "$EX" imp)" = "important_data"
check "ado-verify --job completes job names" test "$(complete_words ado-verify -c "$EX" --job cr)" = "critical_data"
check "no job of that name: nothing" test -z "$(complete_words ado-backup -c "$EX" zzz)"
done_testing
