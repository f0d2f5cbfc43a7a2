#!/bin/sh
# recovery-notify.sh - the plan's send_recovery_notification, on ado-notify.
#
#   recovery-notify.sh STATUS DURATION_SECONDS      (or source it and call the function)
#
# The plan posts {"text": MESSAGE} to $SLACK_WEBHOOK_URL and
# {"status": "operational", "message": MESSAGE} to $STATUS_PAGE_API with
# "Authorization: Bearer $STATUS_PAGE_TOKEN". ado-notify sends the same from
# the same variables (or from the config's notifications: channels), with
# valid JSON for any message, retries, a time bound, TLS verification, and
# the token kept out of argv and logs. --status is what includes the status
# page: a success sets it operational, anything else major_outage.
#
# Exit status: ado-notify's (0 all channels took it, 3 some, 1 none,
# 2 misconfigured). A recovery script running under `set -e` that must not
# stop on a failed notification calls it as `send_recovery_notification ... || true`.

send_recovery_notification() {
	status=$1
	duration=$2
	message="ADO Disaster Recovery $status. Duration: ${duration}s. Environment: ${DR_ENVIRONMENT:-unknown}"

	case $status in
	success) severity=info page=operational ;;
	*) severity=critical page=major_outage ;;
	esac
	ado-notify --severity "$severity" --status "$page" --title "ADO disaster recovery: $status" "$message"
}

# Run directly (not sourced): recovery-notify.sh STATUS DURATION
case ${0##*/} in
recovery-notify.sh)
	if [ $# -ne 2 ]; then
		echo "usage: recovery-notify.sh STATUS DURATION_SECONDS" >&2
		exit 2
	fi
	send_recovery_notification "$1" "$2"
	;;
esac
