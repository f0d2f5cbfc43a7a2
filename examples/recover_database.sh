#!/bin/sh
# recover_database.sh - the plan's "Database-Only Recovery", on ado-restore:
#
#   recover_database.sh [--type full|partial] [--jobs A,B] [--job JOB]
#                       [--database DB] [--backup latest|ID] [--before TIME]
#                       [--validation full|basic] [--force] [--dry-run]
#
# (the plan: scripts/recover_database.sh --type partial --backup latest
# --validation full.)
#
# --type full (the plan's "database corrupted"): the whole database DB is
# rebuilt from every job that backs up part of it (--jobs, default the plan's
# critical_data,important_data): ado-restore --job A --job B --target DB
# restores each job's newest complete backup of DB (or the newest at or
# before --before TIME) into ONE new database, without foreign keys first,
# then adds every part's keys, checks every table's rows and swaps it in (the
# old database kept as DB_before_TIME). It says how far apart the parts were
# taken. --backup ID does not apply (each job has its own ids).
#
# --type partial (the default, as the plan calls it): one job's tables
# (--job, default critical_data) replace exactly those tables of DB, in one
# transaction; the old rows stay in schema ado_before_TIME of DB.
#
# The plan downloaded the newest file from S3 and ran pg_restore over the live
# database. ado-restore instead checks before it replaces. Replacing needs
# --force (no terminal here).
#
# --validation full first verifies every backup used (ado-verify --level
# restore: a complete test restore of each, its foreign keys to other jobs'
# tables skipped and named, and the same row-count check) before anything is
# touched; basic skips that (the restore still checks row counts).
# Exit: ado-restore's / ado-verify's (0 done, 1 failed and the database is
# untouched, 2 usage or config error).
set -eu
TYPE=partial JOB=critical_data JOBS=critical_data,important_data DB=ado_primary BACKUP=latest BEFORE=
VALIDATION=full FORCE= DRY=
usage() {
	echo "usage: recover_database.sh [--type full|partial] [--jobs A,B] [--job JOB] [--database DB]" >&2
	echo "       [--backup latest|ID] [--before TIME] [--validation full|basic] [--force] [--dry-run]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--type) TYPE=$2; shift ;;
	--job) JOB=$2; shift ;;
	--jobs) JOBS=$2; shift ;;
	--database) DB=$2; shift ;;
	--backup) BACKUP=$2; shift ;;
	--before) BEFORE=$2; shift ;;
	--validation) VALIDATION=$2; shift ;;
	--force) FORCE=--force ;;
	--dry-run) DRY=--dry-run ;;
	*) usage ;;
	esac
	shift
done
case $VALIDATION in full|basic) ;; *) echo "recover_database.sh: --validation: full or basic" >&2; exit 2 ;; esac
case $TYPE in full|partial) ;; *) echo "recover_database.sh: --type: full or partial" >&2; exit 2 ;; esac

# What ado-restore would use, as REF lines (DESTINATION/JOB/ID), from its --json plan.
refs() {
	ado-restore --json "$@" --force --dry-run 2>/dev/null |
		grep -o '"job":"[^"]*","id":"[^"]*","time":"[^"]*","destination":"[^"]*"' |
		sed 's/"job":"\([^"]*\)","id":"\([^"]*\)","time":"[^"]*","destination":"\([^"]*\)"/\3\/\1\/\2/'
}

if [ "$TYPE" = full ]; then
	[ "$BACKUP" = latest ] || { echo "recover_database.sh: --type full takes each job's newest backup: use --before TIME" >&2; exit 2; }
	set --
	for j in $(echo "$JOBS" | tr ',' ' '); do set -- "$@" --job "$j"; done
	set -- "$@" --target "$DB"
	echo "recovering database '$DB' in full from jobs $JOBS"
else
	set -- --job "$JOB" --backup "$BACKUP" --target "$DB"
	# A backup of listed tables (the plan's critical_data) replaces only those
	# tables of DB, in one transaction; the old rows stay in schema ado_before_TIME.
	echo "recovering the tables of job '$JOB' in database '$DB' (backup $BACKUP)"
fi
[ -z "$BEFORE" ] || set -- "$@" --before "$BEFORE"

if [ "$VALIDATION" = full ]; then
	# Which backups: the newest (or the given) complete backup of each job that
	# HOLDS database DB: a partial run (PostgreSQL was down) lacks it and is skipped.
	REFS=$(refs "$@")
	if [ -z "$REFS" ]; then
		echo "recover_database.sh: no complete backup of $([ "$TYPE" = full ] && echo "jobs $JOBS" || echo "job '$JOB'") holds '$DB'" >&2
		ado-restore "$@" --force --dry-run >/dev/null || exit $?
		exit 1
	fi
	for ref in $REFS; do
		ado-verify --level restore "$ref"
	done
fi
ado-restore "$@" $FORCE $DRY
