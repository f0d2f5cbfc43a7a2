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
# database. ado-restore instead checks before it replaces: a whole-database
# backup goes into a NEW database, is checked (row counts) and swapped in (the
# old one kept as DB_before_TIME); a backup of listed tables replaces only
# those tables, in one transaction. Replacing needs --force (no terminal here).
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

# Which backup: the newest (or the given) complete backup of JOB that HOLDS
# database DB: a partial run (PostgreSQL was down) lacks it and is skipped.
# A backup of listed tables (the plan's critical_data) replaces only those
# tables of DB, in one transaction; the old rows stay in schema ado_before_TIME.
echo "recovering database '$DB' from job '$JOB' (backup $BACKUP)"
if [ "$VALIDATION" = full ]; then
	REF=$(ado-restore --json --job "$JOB" --backup "$BACKUP" --target "$DB" --force --dry-run 2>/dev/null |
		sed -n 's/.*"job":"\([^"]*\)","id":"\([^"]*\)".*"destination":"\([^"]*\)".*/\3\/\1\/\2/p' | tail -n 1)
	if [ -z "$REF" ]; then
		echo "recover_database.sh: no complete backup '$BACKUP' of job '$JOB' holds '$DB'" >&2
		exit 1
	fi
	ado-verify --level restore "$REF"
fi
ado-restore --job "$JOB" --backup "$BACKUP" --target "$DB" $FORCE $DRY
