#!/bin/sh
# recover_config.sh - the plan's "restore configuration files only", on ado-restore:
#
#   recover_config.sh [-c CONFIG] [--job JOB] [--path PATH] [--to DIR] [--from DEST]
#                     [--backup latest|ID] [--force] [--dry-run]
#
# The plan copied the newest tarball down from S3 and untarred it over
# /etc/ado/. Here ado-restore picks the newest complete backup of JOB
# (default critical_data) on the first destination that holds one, local or
# S3 or Azure, and falls back to the next one if a copy cannot be read (--from
# DEST: that destination only). Only the files target PATH (default
# /etc/ado/config/) is restored, into DIR (default PATH itself): extracted
# beside it, checked against the backup's index, then swapped in; a non-empty
# DIR is refused unless --force, which keeps it as DIR.before-ID.
# Exit: ado-restore's (0 done, 1 failed and DIR untouched, 2 usage or config
# error, 6 the copy is archived: ado-restore --thaw first).
set -eu
usage() {
	echo "usage: recover_config.sh [-c CONFIG] [--job JOB] [--path PATH] [--to DIR] [--from DEST]"
	echo "                         [--backup latest|ID] [--force] [--dry-run]"
}
CONFIG= JOB=critical_data TARGET=/etc/ado/config/ TO= FROM= BACKUP=latest FORCE= DRY=
while [ $# -gt 0 ]; do
	case $1 in
	-c|--config) CONFIG=$2; shift ;;
	--job) JOB=$2; shift ;;
	--path) TARGET=$2; shift ;;
	--to) TO=$2; shift ;;
	--from) FROM=$2; shift ;;
	--backup) BACKUP=$2; shift ;;
	--force) FORCE=--force ;;
	--dry-run) DRY=--dry-run ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
set -- --job "$JOB" --backup "$BACKUP" --target "$TARGET" --to-dir "${TO:-$TARGET}" $FORCE $DRY
[ -z "$FROM" ] || set -- "$@" --from "$FROM"
[ -z "$CONFIG" ] || set -- -c "$CONFIG" "$@"
echo "recover_config.sh: restoring '$TARGET' of job '$JOB' into '${TO:-$TARGET}'" >&2
exec ado-restore "$@"
