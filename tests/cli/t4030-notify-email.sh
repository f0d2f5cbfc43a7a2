#!/bin/bash
# ado-notify email channel: an RFC 5322 message through libcurl's SMTP to a
# loopback sink; temporary refusals retried, STARTTLS required by default.
. "$(dirname "$0")/../lib/test-lib.sh"

# start_sink NAME [MODE [N]]: sets SPORT and SLOG
start_sink() { start_server smtp_sink.py "$@"; local r=$?; SPORT=$SRV_PORT; SLOG=$SRV_LOG; return $r; }
config() { # config FILE PORT [starttls]
	cat >"$1" <<Y
notifications:
  channels:
    oncall-mail:
      type: email
      smtp_url: smtp://127.0.0.1:$2
      from: ado@example.com
      to: [oncall@example.com, dba@example.com]
      starttls: ${3:-false}
Y
}
# mail_is DESC EXPR WANT: python EXPR over the last mail (env: envelope, m: the
# parsed message, body: its decoded text) must print as WANT.
mail_is() {
	check "$1" env WANT="$3" /usr/bin/python3 -c '
import email, email.policy, json, os, sys
env = json.loads(open(sys.argv[1]).read().splitlines()[-1])
m = email.message_from_string(env["data"], policy=email.policy.default)
body = m.get_content()
got = eval(sys.argv[2])
if str(got) != os.environ["WANT"]:
    sys.exit("got %r, want %r" % (got, os.environ["WANT"]))' "$SLOG" "$2"
}

start_sink mail
config "$T/ado.yml" "$SPORT"
printf 'critical backup failed on db1\n.\nline after a lone dot\n' >"$T/msg.txt"
run_in 0 "$T/msg.txt" ado-notify -c "$T/ado.yml" -v --severity critical \
	--title "Backup fehlgeschlagen – critical_data" --job critical_data
expect_err "channel 'oncall-mail' accepted the notice (SMTP 250, 1 attempt)"
check "one mail" test "$(nreq "$SLOG")" = 1
mail_is "envelope sender" 'env["from"]' "<ado@example.com>"
mail_is "envelope recipients" 'env["to"]' "['<oncall@example.com>', '<dba@example.com>']"
mail_is "Subject [SEVERITY] title, UTF-8 decoded" 'm["subject"]' "[CRITICAL] Backup fehlgeschlagen – critical_data"
mail_is "From header" 'm["from"]' "ado@example.com"
mail_is "To header" 'm["to"]' "oncall@example.com, dba@example.com"
mail_is "Date header parses" 'm["date"].datetime.year >= 2024' True
mail_is "Message-ID header" 'bool(__import__("re").fullmatch(r"<[0-9a-f]{16}\.[0-9]+@.+>", m["message-id"]))' True
mail_is "plain text UTF-8" 'm.get_content_type() + " " + m.get_content_charset()' "text/plain utf-8"
mail_is "body starts with the message, lone dot intact" 'body.splitlines()[:3]' \
	"['critical backup failed on db1', '.', 'line after a lone dot']"
mail_is "body names the job" '"job: critical_data" in body.splitlines()' True

# 451 to the first MAIL: tried again
start_sink flaky tempfail-first 1
config "$T/flaky.yml" "$SPORT"
run 0 ado-notify -c "$T/flaky.yml" -v --timeout 10s "second time lucky"
expect_err "(SMTP 250, 2 attempts)"
check "delivered once" test "$(nreq "$SLOG")" = 1

# 550 to the recipients: final, not retried
start_sink reject reject-rcpt
config "$T/reject.yml" "$SPORT"
run 1 ado-notify -c "$T/reject.yml" --timeout 10s "nobody home"
expect_err "channel 'oncall-mail' failed: mail server 'smtp://127.0.0.1:$SPORT' refused the message"
expect_err "(1 attempt)"

# STARTTLS is required unless the config says otherwise: this sink has none
config "$T/tls.yml" "$SPORT" true
run 1 ado-notify -c "$T/tls.yml" --timeout 5s "plain text refused"
expect_err "channel 'oncall-mail' failed: cannot reach 'smtp://127.0.0.1:$SPORT': STARTTLS not supported"
expect_err "hint: the server offers no STARTTLS"
check "nothing delivered without STARTTLS" test "$(nreq "$SLOG")" = 0

done_testing
