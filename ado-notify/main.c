/* ado-notify - send one notice to Slack, webhooks, a status page or mail.
 *
 *   ado-backup -c /etc/ado/backup-strategy.yml critical_data || ado-notify --severity critical "backup failed"
 *   ado-verify --json ... | ado-notify --severity critical --title "verification failed"
 *
 * Thin: options -> config (a missing default config is fine: the plan's
 * environment variables define channels) -> lib/notify -> exit status. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ado.h"
#include "config/config.h"
#include "base/error.h"
#include "base/json.h"
#include "base/log.h"
#include "notify/notify.h"

#define MAX_CHANNELS 32

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ado-notify [-c FILE] [--severity info|warning|critical] [--title TEXT]\n"
		"                  [--channel NAME]... [--status STATUS] [--job NAME] [--timeout DURATION]\n"
		"                  [--dry-run] [-q|-v] [MESSAGE...]\n"
		"\n"
		"Send MESSAGE (or stdin, up to 64 KiB, when no MESSAGE is given) to the\n"
		"notification channels of the config and of the environment.\n"
		"\n"
		"  -c, --config FILE      config file (default $ADO_CONFIG or " ADO_DEFAULT_CONFIG ";\n"
		"                         a missing default is fine)\n"
		"  -s, --severity LEVEL   info (default), warning or critical; picks the channels\n"
		"  -t, --title TEXT       headline (default \"ado-dr SEVERITY on HOST\")\n"
		"      --channel NAME     send to this channel only (repeatable); a type (webhook,\n"
		"                         slack, statuspage, email) means every channel of it\n"
		"      --status STATUS    status page: operational, degraded, partial_outage,\n"
		"                         major_outage; also selects status page channels\n"
		"      --job NAME         the backup job the notice is about\n"
		"      --timeout DURATION time bound for the whole run (default: notifications.timeout, 60s)\n"
		"  -n, --dry-run          print what would be sent (secrets redacted), send nothing\n"
		"  -q, --quiet            errors only\n"
		"  -v, --verbose          say which channels accepted\n"
		"  -h, --help             this text\n"
		"      --version          print the version\n"
		"\n"
		"Environment: SLACK_WEBHOOK_URL, ALERT_WEBHOOK_URL, STATUS_PAGE_API + STATUS_PAGE_TOKEN.\n"
		"Exit: 0 all channels accepted, 3 some, 1 none, 2 usage or config error.\n");
}

static int usage_error(const char *what, const char *arg)
{
	if (arg)
		ado_error("%s '%s'", what, arg);
	else
		ado_error("%s", what);
	ado_hint("see ado-notify --help");
	return ADO_EXIT_USAGE;
}

/* Append n bytes, turning NUL bytes into U+FFFD so the message stays a C string. */
static void add_bytes(struct ado_buf *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\0')
			ado_buf_puts(b, "\xEF\xBF\xBD");
		else
			ado_buf_add(b, p + i, 1);
	}
}

/* Cut b to at most max bytes, between UTF-8 sequences, and mark the cut. */
static void cut(struct ado_buf *b, size_t max)
{
	size_t n = max;

	while (n > 0 && n > max - 4 && ((unsigned char)b->data[n] & 0xC0) == 0x80)
		n--;
	b->len = n;
	b->data[n] = '\0';
	ado_buf_puts(b, "\n[...]");
	ado_warn("message cut to %d KiB", ADO_NOTIFY_MSG_MAX / 1024);
}

/* The message: the arguments joined by spaces, else stdin; at most
 * ADO_NOTIFY_MSG_MAX bytes, trailing white space dropped. */
static int read_message(int argc, char **argv, struct ado_buf *b)
{
	if (argc > 0) {
		for (int i = 0; i < argc; i++) {
			if (i)
				ado_buf_add(b, " ", 1);
			ado_buf_puts(b, argv[i]);
		}
	} else {
		char chunk[8192];
		size_t r;

		/* Read one byte past the cap to know whether there was more;
		 * the rest is left unread: a notice must not wait on a long pipe. */
		while (b->len <= ADO_NOTIFY_MSG_MAX) {
			size_t want = ADO_NOTIFY_MSG_MAX + 1 - b->len;
			r = fread(chunk, 1, want < sizeof(chunk) ? want : sizeof(chunk), stdin);
			if (r == 0)
				break;
			add_bytes(b, chunk, r);
		}
		if (ferror(stdin)) {
			ado_error("cannot read the message from stdin");
			return -1;
		}
	}
	if (b->oom) {
		ado_error("out of memory reading the message");
		return -1;
	}
	if (b->len > ADO_NOTIFY_MSG_MAX)
		cut(b, ADO_NOTIFY_MSG_MAX);
	while (b->len && strchr(" \t\r\n", b->data[b->len - 1]))
		b->data[--b->len] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_CHANNEL = 256, OPT_STATUS, OPT_JOB, OPT_TIMEOUT, OPT_VERSION };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "severity", required_argument, NULL, 's' },
		{ "title", required_argument, NULL, 't' },
		{ "channel", required_argument, NULL, OPT_CHANNEL },
		{ "status", required_argument, NULL, OPT_STATUS },
		{ "job", required_argument, NULL, OPT_JOB },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfg_opt = NULL, *channels[MAX_CHANNELS];
	size_t nchannels = 0;
	struct ado_notice m = { .severity = ADO_SEV_INFO };
	long long timeout = 0;
	int dry_run = 0, opt, nsel, status = ADO_EXIT_FAIL;
	struct ado_config *cfg = NULL;
	struct ado_notify *n = NULL;
	struct ado_buf msg, text;
	struct ado_err e;
	size_t ok, failed;

	ado_log_init(argv[0]);
	ado_err_clear(&e);
	ado_buf_init(&msg);
	ado_buf_init(&text);
	while ((opt = getopt_long(argc, argv, "c:s:t:nqvhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cfg_opt = optarg;
			break;
		case 's':
			if (!(m.severity = ado_severity_parse(optarg))) {
				status = usage_error("expected info, warning or critical for --severity, found", optarg);
				goto out;
			}
			break;
		case 't':
			m.title = optarg;
			break;
		case OPT_CHANNEL:
			if (nchannels == MAX_CHANNELS) {
				status = usage_error("too many --channel options", NULL);
				goto out;
			}
			channels[nchannels++] = optarg;
			break;
		case OPT_STATUS:
			if (!ado_notify_status_valid(optarg)) {
				status = usage_error("expected operational, degraded, partial_outage or major_outage "
						     "for --status, found", optarg);
				goto out;
			}
			m.status = optarg;
			break;
		case OPT_JOB:
			m.job = optarg;
			break;
		case OPT_TIMEOUT:
			if (ado_duration_parse(optarg, &timeout, &e) < 0 || timeout <= 0) {
				status = usage_error("expected a duration such as 30s or 2m for --timeout, found", optarg);
				goto out;
			}
			break;
		case 'n':
			dry_run = 1;
			break;
		case 'q':
			ado_log_set_level(ADO_LOG_ERROR);
			break;
		case 'v':
			ado_log_set_level(ADO_LOG_INFO);
			break;
		case 'h':
			usage(stdout);
			status = ADO_EXIT_OK;
			goto out;
		case 'V':
			fputs(ADO_VERSION_TEXT("ado-notify"), stdout);
			status = ADO_EXIT_OK;
			goto out;
		default:
			status = usage_error("unknown option; usage: ado-notify [OPTIONS] [MESSAGE...]", NULL);
			goto out;
		}
	}

	/* An explicit config (-c or $ADO_CONFIG) must exist; the default may not. */
	if (ado_config_load(ado_config_path(cfg_opt), &cfg, &e) < 0) {
		const char *env = getenv("ADO_CONFIG");
		if (e.kind != ADO_E_NOTFOUND || cfg_opt || (env && *env)) {
			ado_log_err(&e);
			status = ADO_EXIT_USAGE;
			goto out;
		}
		ado_debug("no config at '%s': using the environment's channels", ado_config_path(NULL));
		if (!(cfg = ado_config_new_empty())) {
			ado_error("out of memory");
			goto out;
		}
	}
	if (ado_notify_new(cfg, &n, &e) < 0 ||
	    (nsel = ado_notify_select(n, channels, nchannels, m.severity, m.status != NULL, &e)) < 0) {
		ado_log_err(&e);
		status = ado_err_exit(e.kind);
		goto out;
	}
	if (nsel == 0) {
		ado_warn("no channel takes %s notices: nothing sent", ado_severity_name(m.severity));
		ado_hint("status page channels are updated only with --status or --channel; "
			 "see the channels' severities in the config");
		status = ADO_EXIT_OK;
		goto out;
	}

	if (read_message(argc - optind, argv + optind, &msg) < 0)
		goto out;
	if (msg.len == 0) {
		status = usage_error("empty message", NULL);
		goto out;
	}
	m.message = msg.data;

	if (ado_notify_prepare(n, &m, &e) < 0) {
		ado_log_err(&e);
		goto out;
	}
	if (dry_run) {
		ado_notify_render(n, &text);
		fwrite(text.data, 1, text.len, stdout);
		fflush(stdout);
	} else {
		long long budget = (timeout ? timeout : n->timeout) * 1000;
		if (ado_notify_send(n, budget, &e) < 0) {
			ado_log_err(&e);
			goto out;
		}
	}

	for (size_t i = 0; i < n->n; i++) {
		const struct ado_notify_chan *c = &n->chans[i];
		if (!c->selected)
			continue;
		if (dry_run && c->ready)
			continue;
		if (c->ok) {
			ado_info("channel '%s' accepted the notice (%s %ld, %d attempt%s)", c->ch->name,
				 c->ch->kind == ADO_CH_EMAIL ? "SMTP" : "HTTP", c->status, c->attempts,
				 c->attempts == 1 ? "" : "s");
			continue;
		}
		ado_error("channel '%s' %s: %s", c->ch->name, c->ready ? "failed" : "cannot be used", c->err.msg);
		if (c->err.hint[0])
			ado_hint("%s", c->err.hint);
	}
	if (dry_run) {
		ok = failed = 0;
		for (size_t i = 0; i < n->n; i++)
			if (n->chans[i].selected)
				n->chans[i].ready ? ok++ : failed++;
	} else {
		ado_notify_count(n, &ok, &failed);
	}
	status = failed == 0 ? ADO_EXIT_OK : ok == 0 ? ADO_EXIT_FAIL : ADO_EXIT_PARTIAL;
out:
	ado_notify_free(n);
	ado_config_free(cfg);
	ado_buf_free(&msg);
	ado_buf_free(&text);
	ado_log_redact_clear();
	return status;
}
