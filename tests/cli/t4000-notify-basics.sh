#!/bin/bash
# ado-notify: options, channels from the environment, payloads field by field,
# any message made into valid JSON, stdin and its cap, secrets never shown.
. "$(dirname "$0")/../lib/test-lib.sh"

# req_is DESC LOG WHICH EXPR WANT: python EXPR over a request of LOG (r: the record,
# h: its headers, b: its JSON body) must print as WANT. WHICH is the request's
# index, or the start of its path (channels are sent to in parallel).
req_is() {
	check "$1" env WANT="$5" /usr/bin/python3 -c '
import json, os, sys
rs = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
w = sys.argv[2]
r = rs[int(w)] if w.isdigit() else [x for x in rs if x["path"].startswith(w)][0]
h = r["headers"]; b = json.loads(r["body"])
got = eval(sys.argv[3])
if str(got) != os.environ["WANT"]:
    sys.exit("got %r, want %r" % (got, os.environ["WANT"]))' "$2" "$3" "$4"
}

TOKEN=tok-9f8e7d6c5b4a
SECRET=T0AAA/B0BBB/XyZsEcReTpAtH

# --- usage ---
run 0 ado-notify --help
expect_out "usage: ado-notify"
expect_out "--severity"
run 0 ado-notify --version
expect_out "ado-notify (ado-dr) "
run 2 ado-notify --severity urgent "x"
expect_err "expected info, warning or critical for --severity, found 'urgent'"
run 2 ado-notify --status broken "x"
expect_err "for --status, found 'broken'"
run 2 ado-notify --timeout soon "x"
expect_err "for --timeout, found 'soon'"
run 2 ado-notify --no-such-option
expect_err "hint: see ado-notify --help"

# no channel anywhere: a config error that says where channels come from
run 2 ado-notify "backup failed"
expect_err "ado-notify: no notification channel configured"
expect_err "SLACK_WEBHOOK_URL"
expect_err "notifications: section"
# an explicit config that is missing is an error; the default one is not
run 2 ado-notify -c "$T/nope.yml" "x"
expect_err "cannot open config '$T/nope.yml'"

start_receiver hooks ok
export SLACK_WEBHOOK_URL="http://127.0.0.1:$RPORT/services/$SECRET"
export ALERT_WEBHOOK_URL="http://127.0.0.1:$RPORT/alert/$SECRET-alert"
export STATUS_PAGE_API="http://127.0.0.1:$RPORT/api/v1/status"
export STATUS_PAGE_TOKEN=$TOKEN

run 2 ado-notify --channel nosuch "x"
expect_err "unknown channel 'nosuch'"
expect_err "hint: channels defined here: 'webhook', 'slack', 'statuspage'; or a type: webhook, slack, statuspage, email"
run 2 ado-notify --channel email "x"
expect_err "ado-notify: no channel of type 'email'"
run 2 ado-notify --channel slack </dev/null
expect_err "empty message"

# --- dry run: what would go, secrets redacted, nothing sent ---
run 0 ado-notify --dry-run --severity critical --status major_outage --job critical_data "disk full"
expect_out "# channel 'slack' (slack): POST http://127.0.0.1:$RPORT/<redacted>"
expect_out "# channel 'webhook' (webhook): POST http://127.0.0.1:$RPORT/<redacted>"
expect_out "# channel 'statuspage' (statuspage): POST $STATUS_PAGE_API"
expect_out "Authorization: Bearer <redacted>"
expect_out '"message":"disk full"'
expect_no_out "$TOKEN"
expect_no_out "$SECRET"
expect_no_err "$TOKEN"
check "dry run sent nothing" test "$(nreq "$RLOG")" = 0

# --- every channel, payloads field by field ---
run 0 ado-notify --severity critical --status partial_outage --title "Backup failed" --job critical_data \
	"critical backup failed on db1"
expect_no_out "$TOKEN"
expect_no_err "$TOKEN"
check "three requests" test "$(nreq "$RLOG")" = 3
SL=/services WH=/alert SP=/api
req_is "slack path" "$RLOG" "$SL" 'r["path"]' "/services/$SECRET"
req_is "slack content type" "$RLOG" "$SL" 'h["content-type"]' "application/json"
req_is "slack text" "$RLOG" "$SL" 'b["text"]' "[CRITICAL] Backup failed"
req_is "slack attachment message" "$RLOG" "$SL" 'b["attachments"][0]["text"]' "critical backup failed on db1"
req_is "slack colour" "$RLOG" "$SL" 'b["attachments"][0]["color"]' "#d32f2f"
req_is "slack fields" "$RLOG" "$SL" '[f["title"] for f in b["attachments"][0]["fields"]]' "['Severity', 'Host', 'Job', 'Time']"
req_is "slack job field" "$RLOG" "$SL" 'b["attachments"][0]["fields"][2]["value"]' "critical_data"
req_is "slack host field" "$RLOG" "$SL" 'b["attachments"][0]["fields"][1]["value"]' "$(hostname)"
req_is "webhook message" "$RLOG" "$WH" 'b["message"]' "critical backup failed on db1"
req_is "webhook severity" "$RLOG" "$WH" 'b["severity"]' "critical"
req_is "webhook title" "$RLOG" "$WH" 'b["title"]' "Backup failed"
req_is "webhook host" "$RLOG" "$WH" 'b["host"]' "$(hostname)"
req_is "webhook source" "$RLOG" "$WH" 'b["source"]' "ado-dr"
req_is "webhook job" "$RLOG" "$WH" 'b["job"]' "critical_data"
req_is "webhook timestamp is ISO 8601 UTC, now" "$RLOG" "$WH" \
	'abs(__import__("calendar").timegm(__import__("time").strptime(b["timestamp"], "%Y-%m-%dT%H:%M:%SZ")) - r["time"]) < 30' True
req_is "webhook has no bearer" "$RLOG" "$WH" '"authorization" in h' False
req_is "statuspage bearer" "$RLOG" "$SP" 'h["authorization"]' "Bearer $TOKEN"
req_is "statuspage body is the plan's" "$RLOG" "$SP" 'sorted(b)' "['message', 'status']"
req_is "statuspage status" "$RLOG" "$SP" 'b["status"]' "partial_outage"
req_is "statuspage message" "$RLOG" "$SP" 'b["message"]' "critical backup failed on db1"

# --- selection: severity and the status page rule ---
: >"$RLOG"
run 0 ado-notify -v "info without --status"
expect_err "channel 'slack' accepted the notice (HTTP 200, 1 attempt)"
expect_no_err "statuspage"
check "status page left alone without --status" test "$(nreq "$RLOG")" = 2
# the plan's names: --channel webhook / statuspage (named as their types)
: >"$RLOG"
run 0 ado-notify --channel webhook --channel statuspage --severity critical "by the plan's names"
check "webhook and statuspage: two requests" test "$(nreq "$RLOG")" = 2
req_is "statuspage by its new name" "$RLOG" /api 'b["status"]' "major_outage"
: >"$RLOG"
# the old names stay as aliases
run 0 ado-notify --channel status-page --severity critical "named"
req_is "named status page: status from severity" "$RLOG" 0 'b["status"]' "major_outage"
check "only the named channel" test "$(nreq "$RLOG")" = 1
: >"$RLOG"
run 0 ado-notify --channel status-page --severity warning "degraded by default"
req_is "warning -> degraded" "$RLOG" 0 'b["status"]' "degraded"

# --- any message is valid JSON ---
: >"$RLOG"
MSG=$'quote " backslash \\ newline\nsecond\tline cr\r ctrl\x01 bell\x07 esc\x1b[0m braces {"a": [1]} </b> & amp'
# through sh so that the TAP line naming the command stays one line
run 0 env M="$MSG" sh -c 'exec ado-notify --channel alert-webhook --channel slack "$M"'
req_is "webhook message survives quotes, controls, markup" "$RLOG" /alert 'b["message"]' "$MSG"
req_is "slack escapes & < > for Slack" "$RLOG" /services \
	'b["attachments"][0]["text"].replace("&lt;","<").replace("&gt;",">").replace("&amp;","&")' "$MSG"
: >"$RLOG"
run 0 ado-notify --channel alert-webhook $'bad utf-8: \xff\xfe end, good: caf\xc3\xa9'
req_is "invalid UTF-8 becomes U+FFFD" "$RLOG" 0 'b["message"] == "bad utf-8: \ufffd\ufffd end, good: caf\u00e9"' True
req_is "body sent as valid UTF-8" "$RLOG" 0 'r["body_utf8"]' True

# --- stdin ---
: >"$RLOG"
printf 'line one\nline "two"\n\n' >"$T/msg.txt"
run_in 0 "$T/msg.txt" ado-notify --channel alert-webhook
req_is "message from stdin, trailing newlines dropped" "$RLOG" 0 'b["message"]' $'line one\nline "two"'
: >"$RLOG"
head -c 70000 /dev/zero | tr '\0' 'a' >"$T/big.txt"
run_in 0 "$T/big.txt" ado-notify --channel alert-webhook
expect_err "ado-notify: warning: message cut to 64 KiB"
req_is "cut message is 64 KiB plus the mark" "$RLOG" 0 'len(b["message"])' $((65536 + 6))
req_is "cut message ends with the mark" "$RLOG" 0 'b["message"][-6:]' $'\n[...]'
: >"$RLOG"
# a NUL in the pipe cannot end the message early
printf 'before\0after' >"$T/nul.txt"
run_in 0 "$T/nul.txt" ado-notify --channel alert-webhook
req_is "NUL byte shown as U+FFFD" "$RLOG" 0 'b["message"] == "before\ufffdafter"' True

# ado-verify --json piped in stays readable: the lines arrive intact
: >"$RLOG"
cat >"$T/verify.json" <<'J'
{"ref":"critical_data/20240501T120000Z","status":"ok","reason":null}
{"ref":"important_data/20240501T110000Z","status":"FAIL","reason":"sha256 mismatch in 'db-ado_primary.dump.zst'"}
J
run_in 0 "$T/verify.json" ado-notify --severity critical --title "backup verification failed" --channel slack --channel alert-webhook
req_is "verify report: every line parses back" "$RLOG" /alert '[json.loads(l)["status"] for l in b["message"].splitlines()]' "['ok', 'FAIL']"
req_is "verify report in slack, readable" "$RLOG" /services 'b["attachments"][0]["text"].splitlines()[1]' \
	"{\"ref\":\"important_data/20240501T110000Z\",\"status\":\"FAIL\",\"reason\":\"sha256 mismatch in 'db-ado_primary.dump.zst'\"}"

# --- a config: channels by severity, secrets by reference, env channels only for missing kinds ---
cat >"$T/ado.yml" <<Y
notifications:
  timeout: 5s
  channels:
    oncall:
      type: webhook
      url: http://127.0.0.1:$RPORT/oncall
      headers: { X-Api-Key: key-0123456789, X-Source: ado-dr }
      severities: [critical]
    chat:
      type: slack
      url_env: MY_SLACK_URL
      severities: [info, warning, critical]
Y
export MY_SLACK_URL="http://127.0.0.1:$RPORT/chat/$SECRET"
: >"$RLOG"
run 0 ado-notify -c "$T/ado.yml" --severity warning "warning goes to chat only"
check "config slack wins over SLACK_WEBHOOK_URL, webhook over ALERT_WEBHOOK_URL" test "$(nreq "$RLOG")" = 1
req_is "config slack channel used" "$RLOG" 0 'r["path"]' "/chat/$SECRET"
: >"$RLOG"
run 0 ado-notify -c "$T/ado.yml" --severity critical "critical to both"
check "critical to both" test "$(nreq "$RLOG")" = 2
req_is "extra headers sent" "$RLOG" /oncall 'h["x-api-key"] + " " + h["x-source"]' "key-0123456789 ado-dr"
run 0 ado-notify -c "$T/ado.yml" --dry-run --severity critical "x"
expect_out "X-Api-Key: <redacted>"
expect_out "X-Source: ado-dr"
expect_no_out "key-0123456789"
# a type picks every channel of it: the config's webhook 'oncall', not the slack one
run 0 ado-notify -c "$T/ado.yml" --dry-run --channel webhook "x"
expect_out "# channel 'oncall' (webhook): POST http://127.0.0.1:$RPORT/"
expect_no_out "# channel 'chat'"
unset MY_SLACK_URL
: >"$RLOG"
run 3 ado-notify -c "$T/ado.yml" --severity critical "secret missing for one channel"
expect_err "ado-notify: channel 'chat' cannot be used: channel 'chat' url: environment variable 'MY_SLACK_URL' is not set"
check "the other channel still sent" test "$(nreq "$RLOG")" = 1

# examples/recovery-notify.sh: the plan's recovery notification, to Slack and the status page
if [ ! -e /etc/ado/backup-strategy.yml ]; then
	: >"$RLOG"
	run 0 env DR_ENVIRONMENT=dr-west sh "$TOP/examples/recovery-notify.sh" success 42
	PLAN_MSG="ADO Disaster Recovery success. Duration: 42s. Environment: dr-west"
	check "recovery: slack, alert webhook and status page" test "$(nreq "$RLOG")" = 3
	req_is "recovery: status page operational" "$RLOG" /api 'b["status"]' operational
	req_is "recovery: the plan's message" "$RLOG" /api 'b["message"]' "$PLAN_MSG"
	req_is "recovery: the plan's bearer" "$RLOG" /api 'h["authorization"]' "Bearer $TOKEN"
	req_is "recovery: slack text" "$RLOG" /services 'b["attachments"][0]["text"]' "$PLAN_MSG"
	run 2 sh "$TOP/examples/recovery-notify.sh" success
	expect_err "usage: recovery-notify.sh STATUS DURATION_SECONDS"
fi

done_testing
