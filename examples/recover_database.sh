#!/bin/sh
# recover_database.sh - the plan's "Database-Only Recovery", on ado-restore:
#
#   recover_database.sh [--job JOB] [--database DB] [--backup latest|ID]
#                       [--validation full|basic] [--force] [--dry-run]
#
# (the plan: scripts/recover_database.sh --type partial --backup latest
# --validation full; --type is accepted and ignored: this script only ever
# recovers the database.)
#
# The plan downloaded the newest file from S3 and ran pg_restore over the live
# database. ado-restore instead restores into a NEW database, checks each
# table's row count against the backup's manifest, and only then swaps it in:
# the damaged database is kept as DB_before_TIME (never dropped), so the
# recovery can be undone with two ALTER DATABASE ... RENAME. Applications still
# connected block the swap (listed, exit 1) unless --force terminates them.
#
# --validation full first verifies the backup (ado-verify --level restore: a
# complete test restore, and the same row-count check) before anything is
# touched; basic skips that (the restore still checks row counts).
# Exit: ado-restore's / ado-verify's (0 done, 1 failed and the database is
# untouched, 2 usage or config error).
set -eu
JOB=critical_data DB=ado_primary BACKUP=latest VALIDATION=full FORCE= DRY=
while [ $# -gt 0 ]; do
	case $1 in
	--job) JOB=$2; shift ;;
	--database) DB=$2; shift ;;
	--backup) BACKUP=$2; shift ;;
	--validation) VALIDATION=$2; shift ;;
	--type) shift ;;
	--force) FORCE=--force ;;
	--dry-run) DRY=--dry-run ;;
	*) echo "usage: recover_database.sh [--job JOB] [--database DB] [--backup latest|ID] [--validation full|basic] [--force] [--dry-run]" >&2
	   exit 2 ;;
	esac
	shift
done
case $VALIDATION in full|basic) ;; *) echo "recover_database.sh: --validation: full or basic" >&2; exit 2 ;; esac

# Which backup: ado-restore --list prints "REF ID TIME BYTES STATUS" per backup, oldest first.
if [ "$BACKUP" = latest ]; then
	# ids sort by time; the newest complete one on any destination
	REF=$(ado-restore --list --job "$JOB" | awk -F '\t' '$5 == "complete" { print $2 "\t" $1 }' | sort | tail -n 1 | cut -f 2)
else
	REF=$(ado-restore --list --job "$JOB" | awk -F '\t' -v id="$BACKUP" '$2 == id && $5 == "complete" { print $1; exit }')
fi
if [ -z "$REF" ]; then
	echo "recover_database.sh: no complete backup '$BACKUP' of job '$JOB'" >&2
	exit 1
fi
echo "recovering database '$DB' from $REF"

if [ "$VALIDATION" = full ]; then
	ado-verify --level restore "$REF"
fi
ado-restore "$REF" --target "$DB" $FORCE $DRY
