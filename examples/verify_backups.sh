#!/bin/sh
# verify_backups.sh - the plan's scripts/verify_backups.sh, on the tools.
#
#   verify_backups.sh [JOB...]        (default: the plan's three jobs)
#
# The plan's script checked a .sha256 file, restored database dumps with
# createdb + pg_restore into a throwaway database, counted the tables, and
# extracted file archives into /tmp. `ado-verify` (default --level restore)
# does all of that for every backup of the last day, per job: the stored
# bytes against the manifest and SHA256SUMS, every byte decrypted and
# decompressed, database dumps restored into a temporary database that is
# dropped on every path (Ctrl-C and cron's SIGTERM included) with each
# table's row count compared to the one recorded at backup time, file
# archives extracted and compared with their index. One line per backup on
# stdout ("ok REF" / "FAIL REF: reason"); --log appends them with a time
# stamp to the plan's log file.
#
# A failing job is sent to the on-call channels (the config's
# notifications:, or SLACK_WEBHOOK_URL / ALERT_WEBHOOK_URL) as a critical
# alert carrying the failing lines. Exit 1 if any job failed, else 0.
#
# MIN_TABLES=5 adds the plan's "at least 5 tables" check to every database
# backup (leave it unset for jobs that back up only a few listed tables).
# SINCE (default 24h) is how far back to look; ADO_CONFIG names the config.
set -u
LOG_FILE=${LOG_FILE:-/var/log/backup_verification.log}
SINCE=${SINCE:-24h}
[ $# -gt 0 ] || set -- critical_data important_data archive_data

failed=0
for job in "$@"; do
	report=$(ado-verify --job "$job" --since "$SINCE" --log "$LOG_FILE" ${MIN_TABLES:+--min-tables "$MIN_TABLES"} 2>&1)
	rc=$?
	printf '%s\n' "$report"
	if [ "$rc" -ne 0 ]; then
		failed=1
		printf '%s\n' "$report" | grep -v '^ok ' |
			ado-notify --severity critical --job "$job" \
				--title "backup verification failed: $job on $(hostname)" ||
			echo "verify_backups.sh: could not send the alert for '$job'" >&2
	fi
done
exit "$failed"
