/* t-notify.c - lib/notify and lib/http without a network: parsing, channel
 * gathering and selection, payloads, redaction, and a refused connection. */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "net/http.h"
#include "base/log.h"
#include "notify/notify.h"
#include "tap.h"

static void test_names(void)
{
	is_int(ado_severity_parse("critical"), ADO_SEV_CRITICAL, "critical parses");
	is_int(ado_severity_parse("WARNING"), ADO_SEV_WARNING, "severity is case-insensitive");
	is_int(ado_severity_parse("urgent"), 0, "unknown severity is 0");
	is_int(ado_severity_parse(NULL), 0, "NULL severity is 0");
	is_str(ado_severity_name(ADO_SEV_INFO), "info", "info name");
	ok(ado_notify_status_valid("partial_outage"), "partial_outage is a status");
	ok(!ado_notify_status_valid("broken"), "broken is not a status");
	is_str(ado_notify_default_status(ADO_SEV_WARNING), "degraded", "warning -> degraded");
	is_str(ado_notify_default_status(ADO_SEV_CRITICAL), "major_outage", "critical -> major_outage");
}

static void test_url(void)
{
	char buf[256];

	ado_http_url_origin("https://hooks.example.com/services/T0/B0/secretpath?x=1", buf, sizeof(buf));
	is_str(buf, "https://hooks.example.com:443", "origin drops path and query, adds the port");
	ado_http_url_origin("not a url", buf, sizeof(buf));
	is_str(buf, "<bad url>", "a bad URL has no origin");
	ado_http_redact_url("https://hooks.example.com/services/T0/B0/secretpath");
	ado_log_redact_copy(buf, sizeof(buf), "posting to /services/T0/B0/secretpath failed");
	is_str(buf, "posting to <redacted> failed", "the path of a secret URL is redacted");
	ado_log_redact_copy(buf, sizeof(buf), "https://hooks.example.com/services/T0/B0/secretpath");
	is_str(buf, "<redacted>", "the whole secret URL is redacted");
}

static void test_channels(void)
{
	struct ado_config *cfg = ado_config_new_empty();
	struct ado_notify *n = NULL;
	struct ado_err e;
	const char *names[] = { "slack" }, *bad[] = { "nosuch" };
	struct ado_notice m = { .severity = ADO_SEV_CRITICAL, .message = "a \"quoted\"\nline \x01 \xff",
				.host = "db1", .job = "critical_data", .when = 1714564800 };
	const char *p;
	size_t len;

	unsetenv("ALERT_WEBHOOK_URL");
	unsetenv("SLACK_WEBHOOK_URL");
	unsetenv("STATUS_PAGE_API");
	is_int(ado_notify_new(cfg, &n, &e), -1, "no channels at all fails");
	is_int(e.kind, ADO_E_CONFIG, "... as a config error");
	like(e.hint, "SLACK_WEBHOOK_URL", "... the hint names the variables");

	setenv("ALERT_WEBHOOK_URL", "http://127.0.0.1:1/hook/AbCdEfSecret", 1);
	setenv("STATUS_PAGE_API", "http://127.0.0.1:1/api/status", 1);
	unsetenv("STATUS_PAGE_TOKEN");
	is_int(ado_notify_new(cfg, &n, &e), 0, "environment channels");
	is_int((long long)n->n, 2, "two of them");
	is_str(n->chans[0].ch->name, "webhook", "ALERT_WEBHOOK_URL -> webhook");
	is_str(n->chans[1].ch->name, "statuspage", "STATUS_PAGE_API -> statuspage");
	is_int(ado_notify_select(n, NULL, 0, ADO_SEV_CRITICAL, 0, &e), 1, "status page not chosen without --status");
	is_int(ado_notify_select(n, NULL, 0, ADO_SEV_CRITICAL, 1, &e), 2, "... and chosen with it");
	is_int(ado_notify_select(n, bad, 1, ADO_SEV_INFO, 0, &e), -1, "unknown channel name");
	is_int(e.kind, ADO_E_USAGE, "... is a usage error");
	like(e.hint, "'webhook', 'statuspage'; or a type", "... listing the known ones");
	{
		const char *alias[] = { "alert-webhook", "status-page" }, *email[] = { "email" };

		is_int(ado_notify_select(n, alias, 2, ADO_SEV_INFO, 0, &e), 2, "the old names still work");
		is_int(ado_notify_select(n, email, 1, ADO_SEV_INFO, 0, &e), -1, "a type no channel has");
		is_str(e.msg, "no channel of type 'email'", "... says so");
	}
	is_int(ado_notify_select(n, names, 1, ADO_SEV_INFO, 0, &e), -1, "slack is not defined here");

	is_int(ado_notify_select(n, NULL, 0, ADO_SEV_CRITICAL, 1, &e), 2, "both chosen");
	is_int(ado_notify_prepare(n, &m, &e), 1, "one ready: the status page has no token");
	ok(!n->chans[1].ready, "status page not ready");
	like(n->chans[1].err.msg, "'STATUS_PAGE_TOKEN' is not set", "... because its token is missing");
	p = ado_notify_payload(&n->chans[0], &len);
	is_str(p, "{\"message\":\"a \\\"quoted\\\"\\nline \\u0001 \\ufffd\",\"severity\":\"critical\","
		  "\"title\":\"ado-dr critical on db1\",\"host\":\"db1\",\"source\":\"ado-dr\","
		  "\"timestamp\":\"2024-05-01T12:00:00Z\",\"job\":\"critical_data\"}",
	       "webhook payload, escaped, field by field");
	ok(ado_notify_payload(&n->chans[1], NULL) == NULL, "no payload for a channel not ready");

	/* nothing listens on port 1: one refused attempt per 0.5 s, all within the bound */
	is_int(ado_notify_send(n, 1200, &e), 0, "send runs");
	ok(!n->chans[0].ok, "refused connection is a failure");
	like(n->chans[0].err.msg, "cannot reach 'http://127.0.0.1:1'", "... naming the origin");
	ok(!strstr(n->chans[0].err.msg, "AbCdEfSecret"), "... and not the secret path");
	ok(n->chans[0].attempts >= 2, "... after retrying");
	size_t okc, failc;
	ado_notify_count(n, &okc, &failc);
	is_int((long long)okc, 0, "none accepted");
	is_int((long long)failc, 2, "two failed");
	ado_notify_free(n);
	ado_config_free(cfg);
}

int main(void)
{
	ado_log_init("t-notify");
	test_names();
	test_url();
	test_channels();
	ado_notify_free(NULL);
	return done_testing();
}
