#!/bin/bash
# ado-notify over HTTPS: a self-signed certificate is refused by default (and
# not retried), and accepted when the channel's ca_file names it.
. "$(dirname "$0")/../lib/test-lib.sh"

command -v openssl >/dev/null || skip_all "openssl not installed"

SECRET=T0AAA/B0BBB/tLsSeCrEt
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
check "self-signed certificate made" test -s "$T/cert.pem"
start_receiver tls ok --tls "$T/cert.pem" "$T/key.pem"
export SLACK_WEBHOOK_URL="https://127.0.0.1:$RPORT/services/$SECRET"

run 1 ado-notify --timeout 5s "over tls"
expect_err "channel 'slack' failed: TLS certificate of 'https://127.0.0.1:$RPORT' not trusted: SSL certificate problem: self-signed certificate (1 attempt)"
expect_err "hint: if the server uses a private CA, set ca_file to its certificate (PEM)"
expect_no_err "$SECRET"
check "nothing reached the handler" test "$(nreq "$RLOG")" = 0

cat >"$T/ado.yml" <<Y
notifications:
  channels:
    chat:
      type: slack
      url_env: SLACK_WEBHOOK_URL
      ca_file: $T/cert.pem
Y
run 0 ado-notify -c "$T/ado.yml" -v --timeout 5s "over tls with ca_file"
expect_err "channel 'chat' accepted the notice (HTTP 200, 1 attempt)"
check "one request over TLS" test "$(nreq "$RLOG")" = 1

# the wrong CA file is still refused
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other -keyout "$T/k2.pem" -out "$T/other.pem" 2>/dev/null
sed "s|$T/cert.pem|$T/other.pem|" "$T/ado.yml" >"$T/other.yml"
run 1 ado-notify -c "$T/other.yml" --timeout 5s "wrong CA"
expect_err "not trusted"

done_testing
