#!/bin/bash
# ado-notify: retries on 5xx, 429 (Retry-After) and connection errors, none on
# other 4xx, the time bound holds, and one channel down gives exit 3.
. "$(dirname "$0")/../lib/test-lib.sh"

elapsed_below() { [ $(( $(date +%s) - START )) -lt "$1" ]; }

TOKEN=tok-0a1b2c3d4e5f
SECRET=T0AAA/B0BBB/rEtRySeCrEt

# 500 twice, then 200: accepted on the third attempt
start_receiver flaky fail-first 2
export ALERT_WEBHOOK_URL="http://127.0.0.1:$RPORT/hook/$SECRET"
run 0 ado-notify -v --timeout 20s "retry me"
expect_err "channel 'webhook' accepted the notice (HTTP 200, 3 attempts)"
check "receiver saw 3 requests" test "$(nreq "$RLOG")" = 3
check "the same payload each time" /usr/bin/python3 -c '
import json, sys
bodies = {json.loads(l)["body"] for l in open(sys.argv[1])}
assert len(bodies) == 1, bodies' "$RLOG"

# 500 forever: exit 1 within the time bound, the channel and status named
start_receiver down fail-always
export ALERT_WEBHOOK_URL="http://127.0.0.1:$RPORT/hook/$SECRET"
START=$(date +%s)
run 1 ado-notify --timeout 3s --severity critical "nobody listens"
check "gave up within the bound" elapsed_below 5
expect_err "ado-notify: channel 'webhook' failed: HTTP 500 after "
expect_err "(time bound reached): internal error upstream"
expect_no_err "$SECRET"
check "more than one attempt" test "$(nreq "$RLOG")" -ge 2
# the config's notifications.timeout is the bound when --timeout is not given
cat >"$T/ado.yml" <<Y
notifications:
  timeout: 2s
Y
START=$(date +%s)
run 1 ado-notify -c "$T/ado.yml" "config bound"
check "config timeout bounds the run" elapsed_below 4

# a hanging server: the timeout fires
start_receiver hang hang 30
export ALERT_WEBHOOK_URL="http://127.0.0.1:$RPORT/hook/$SECRET"
START=$(date +%s)
run 1 ado-notify --timeout 2s "hello?"
check "timeout fired within the bound" elapsed_below 4
expect_err "channel 'webhook' failed: no answer from 'http://127.0.0.1:$RPORT' within"
expect_no_err "$SECRET"

# nothing listening: connection errors are retried, then reported
DEAD=$(free_port)
export ALERT_WEBHOOK_URL="http://127.0.0.1:$DEAD/hook/$SECRET"
START=$(date +%s)
run 1 ado-notify --timeout 2s "refused"
check "refused within the bound" elapsed_below 4
expect_err "channel 'webhook' failed: cannot reach 'http://127.0.0.1:$DEAD'"
expect_err "attempts, time bound reached)"

# 404: not retried
start_receiver gone 404
export ALERT_WEBHOOK_URL="http://127.0.0.1:$RPORT/hook/$SECRET"
run 1 ado-notify --timeout 10s "gone"
expect_err "channel 'webhook' failed: HTTP 404 after 1 attempt: no such hook"
expect_err "hint: the server refused the notice: check the channel's URL"
check "exactly one request" test "$(nreq "$RLOG")" = 1

# 429 with Retry-After: 1 is honoured
start_receiver busy 429
export ALERT_WEBHOOK_URL="http://127.0.0.1:$RPORT/hook/$SECRET"
run 0 ado-notify --timeout 10s "busy"
check "two requests" test "$(nreq "$RLOG")" = 2
check "waited Retry-After before the retry" /usr/bin/python3 -c '
import json, sys
t = [json.loads(l)["time"] for l in open(sys.argv[1])]
assert t[1] - t[0] >= 0.95, t' "$RLOG"
# ... but not past the time bound
start_receiver busy2 429
export ALERT_WEBHOOK_URL="http://127.0.0.1:$RPORT/hook/$SECRET"
run 1 ado-notify --timeout 1s "busy, short bound"
expect_err "HTTP 429 after 1 attempt (asked to retry after 1s, past the time bound): slow down"
check "no retry past the bound" test "$(nreq "$RLOG")" = 1

# two channels, one down: exit 3, the failed one named, the good one sent
start_receiver up ok
UPLOG=$RLOG
export SLACK_WEBHOOK_URL="http://127.0.0.1:$RPORT/services/$SECRET"
export ALERT_WEBHOOK_URL="http://127.0.0.1:$DEAD/hook/$SECRET"
export STATUS_PAGE_API="http://127.0.0.1:$DEAD/api/status" STATUS_PAGE_TOKEN=$TOKEN
START=$(date +%s)
run 3 ado-notify --timeout 2s --severity critical "half the world is down"
check "partial within the bound" elapsed_below 4
expect_err "channel 'webhook' failed"
expect_no_err "channel 'slack'"
check "slack got it" test "$(nreq "$UPLOG")" = 1
# all three, two down (status page too): still 3, token never shown
run 3 ado-notify --timeout 2s --severity critical --status major_outage "two down"
expect_err "channel 'statuspage' failed: cannot reach 'http://127.0.0.1:$DEAD'"
expect_no_err "$TOKEN"
expect_no_err "$SECRET"
expect_no_out "$TOKEN"

done_testing
