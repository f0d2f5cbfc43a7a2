#!/bin/sh
# disaster_recovery.sh - the plan's scripts/disaster_recovery.sh, now a short
# wrapper over ado-recover: the phases live in the recovery plan
# (examples/recovery-plan.yml or the config's recovery: section); ado-recover
# times them against the RTO/RPO, keeps a timeline, resumes after a crash
# and sends the notifications (start, failures, progress, end) itself.
#
#   disaster_recovery.sh [ENVIRONMENT] [BACKUP_DATE|latest]
#   disaster_recovery.sh --resume
set -eu

PLAN=${ADO_RECOVERY_PLAN:-/etc/ado/recovery-plan.yml}
if [ "${1:-}" = "--resume" ]; then
	exec ado-recover --plan "$PLAN" --resume --yes
fi
DR_ENVIRONMENT=${1:-production}
BACKUP_DATE=${2:-latest}

echo "Starting disaster recovery for $DR_ENVIRONMENT environment (backup: $BACKUP_DATE)"
# Exit 0 done, 1 a step failed (named), 4 another recovery runs, 5 a target was missed.
if [ "$BACKUP_DATE" = latest ]; then
	exec ado-recover --plan "$PLAN" --yes
else
	exec ado-recover --plan "$PLAN" --before "$BACKUP_DATE" --yes
fi
