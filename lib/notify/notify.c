/* notify.c - channels, preparing (payloads: payload.c), and sending with retries inside one time bound. */
#include "notify/notify.h"
#include "notify/internal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ado.h"
#include "net/http.h"
#include "base/log.h"

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 8000
#define ATTEMPTS_MAX 10
#define MIN_ATTEMPT_MS 500	/* a retry needs at least this long to be worth starting */
#define SNIPPET_MAX 200		/* characters of a server's answer quoted in a failure */

int ado_severity_parse(const char *s)
{
	if (!s)
		return 0;
	if (strcasecmp(s, "info") == 0)
		return ADO_SEV_INFO;
	if (strcasecmp(s, "warning") == 0)
		return ADO_SEV_WARNING;
	if (strcasecmp(s, "critical") == 0)
		return ADO_SEV_CRITICAL;
	return 0;
}

const char *ado_severity_name(int sev)
{
	return sev == ADO_SEV_CRITICAL ? "critical" : sev == ADO_SEV_WARNING ? "warning" : "info";
}

static const char *const statuses[] = { "operational", "degraded", "partial_outage", "major_outage" };

int ado_notify_status_valid(const char *s)
{
	for (size_t i = 0; s && i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strcmp(s, statuses[i]) == 0)
			return 1;
	return 0;
}

const char *ado_notify_default_status(int sev)
{
	return sev == ADO_SEV_CRITICAL ? "major_outage" : sev == ADO_SEV_WARNING ? "degraded" : "operational";
}

static const char *kind_name(enum ado_channel_kind k)
{
	switch (k) {
	case ADO_CH_SLACK: return "slack";
	case ADO_CH_WEBHOOK: return "webhook";
	case ADO_CH_STATUSPAGE: return "statuspage";
	case ADO_CH_EMAIL: return "email";
	}
	return "?";
}

static int has_ref(const struct ado_secret_ref *r)
{
	return r->env || r->file;
}

/* ---- channels ---- */

static int has_kind(const struct ado_config *cfg, enum ado_channel_kind k)
{
	for (size_t i = 0; cfg && i < cfg->nchannels; i++)
		if (cfg->channels[i].kind == k)
			return 1;
	return 0;
}

static int has_name(const struct ado_notify *n, const char *name)
{
	for (size_t i = 0; i < n->n; i++)
		if (strcmp(n->chans[i].ch->name, name) == 0)
			return 1;
	return 0;
}

void ado_notify_free(struct ado_notify *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		struct ado_notify_chan *c = &n->chans[i];
		ado_secret_free(c->url_secret);
		ado_secret_free(c->token);
		ado_secret_free(c->password);
		if (c->payload_init)
			ado_buf_free(&c->payload);
	}
	free(n->chans);
	/* env channels hold only string literals and getenv() names */
	free(n->env_chans);
	free(n);
}

int ado_notify_new(const struct ado_config *cfg, struct ado_notify **out, struct ado_err *e)
{
	struct ado_notify *n = calloc(1, sizeof(*n));
	size_t max = (cfg ? cfg->nchannels : 0) + 3;

	*out = NULL;
	if (!n)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	n->chans = calloc(max, sizeof(*n->chans));
	n->env_chans = calloc(3, sizeof(*n->env_chans));
	if (!n->chans || !n->env_chans) {
		ado_notify_free(n);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	n->timeout = cfg && cfg->notify_timeout > 0 ? cfg->notify_timeout : ADO_NOTIFY_TIMEOUT_DEFAULT;
	for (size_t i = 0; cfg && i < cfg->nchannels; i++)
		n->chans[n->n++].ch = &cfg->channels[i];

	/* The plan's variables, so its scripts work with no config file at all. A
	 * config channel of the same kind wins: the config is the deliberate choice. */
	static const struct {
		const char *var, *name, *token;
		enum ado_channel_kind kind;
	} envs[] = {
		{ "ALERT_WEBHOOK_URL", "alert-webhook", NULL, ADO_CH_WEBHOOK },
		{ "SLACK_WEBHOOK_URL", "slack", NULL, ADO_CH_SLACK },
		{ "STATUS_PAGE_API", "status-page", "STATUS_PAGE_TOKEN", ADO_CH_STATUSPAGE },
	};
	for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
		const char *v = getenv(envs[i].var);
		struct ado_channel *ch;

		if (!v || !*v || has_kind(cfg, envs[i].kind) || has_name(n, envs[i].name))
			continue;
		ch = &n->env_chans[n->nenv++];
		ch->name = (char *)envs[i].name;
		ch->kind = envs[i].kind;
		ch->severities = ADO_SEV_ALL;
		ch->starttls = 1;
		/* Read through the secret machinery: webhook URLs are secrets, and
		 * this registers them for redaction like any configured secret. */
		if (envs[i].kind == ADO_CH_STATUSPAGE)
			ch->url = (char *)v;	/* an API address, not a secret; the token is */
		else
			ch->url_ref.env = (char *)envs[i].var;
		if (envs[i].token)
			ch->token.env = (char *)envs[i].token;
		n->chans[n->n].ch = ch;
		n->chans[n->n++].env = envs[i].var;
	}
	if (n->n == 0) {
		ado_notify_free(n);
		ado_err_set(e, ADO_E_CONFIG, 0, "no notification channel configured");
		return ado_err_hint(e, "set SLACK_WEBHOOK_URL, ALERT_WEBHOOK_URL or STATUS_PAGE_API with "
				    "STATUS_PAGE_TOKEN, or add channels to the config's notifications: section");
	}
	*out = n;
	return 0;
}

int ado_notify_select(struct ado_notify *n, const char *const *names, size_t nnames, int severity,
		      int with_status, struct ado_err *e)
{
	int count = 0;

	for (size_t i = 0; i < n->n; i++)
		n->chans[i].selected = 0;
	for (size_t k = 0; k < nnames; k++) {
		size_t i;
		for (i = 0; i < n->n; i++)
			if (strcmp(n->chans[i].ch->name, names[k]) == 0)
				break;
		if (i == n->n) {
			char known[400] = "";
			size_t o = 0;
			for (size_t j = 0; j < n->n && o < sizeof(known); j++)
				o += snprintf(known + o, sizeof(known) - o, "%s'%s'", j ? ", " : "",
					      n->chans[j].ch->name);
			ado_err_set(e, ADO_E_USAGE, 0, "unknown channel '%s'", names[k]);
			return ado_err_hint(e, "channels defined here: %s", known);
		}
		if (!n->chans[i].selected)
			count++;
		n->chans[i].selected = 1;
	}
	if (nnames)
		return count;
	for (size_t i = 0; i < n->n; i++) {
		const struct ado_channel *ch = n->chans[i].ch;
		int sev = ch->severities ? ch->severities : ADO_SEV_ALL;
		if (!(sev & severity))
			continue;
		if (ch->kind == ADO_CH_STATUSPAGE && !with_status)
			continue;
		n->chans[i].selected = 1;
		count++;
	}
	return count;
}

/* ---- preparing ---- */

static int resolve(const struct ado_secret_ref *ref, const char *chan, const char *what, char **out,
		   struct ado_err *e)
{
	char label[256];

	snprintf(label, sizeof(label), "channel '%s' %s", chan, what);
	return ado_secret_resolve(ref, label, 0, out, e);
}

/* Extra headers that carry credentials, by name; the others ("X-Source:
 * ado-dr") stay readable, or redaction would blank them everywhere. */
static int secret_header(const char *name)
{
	static const char *const words[] = { "auth", "key", "token", "secret", "signature", "cookie",
					     "password", NULL };

	for (size_t i = 0; words[i]; i++)
		if (strcasestr(name, words[i]))
			return 1;
	return 0;
}

static const char *chan_url(const struct ado_notify_chan *c)
{
	return c->url_secret ? c->url_secret : c->ch->url;
}

static int prepare_one(struct ado_notify_chan *c, const struct notify_ctx *x)
{
	const struct ado_channel *ch = c->ch;
	struct ado_err *e = &c->err;

	if (has_ref(&ch->url_ref) && resolve(&ch->url_ref, ch->name, "url", &c->url_secret, e) < 0)
		return -1;
	if (c->url_secret)
		ado_http_redact_url(c->url_secret);
	else if (ch->url && ch->kind != ADO_CH_STATUSPAGE)
		ado_http_redact_url(ch->url);	/* a webhook URL written inline is still a key */
	if (has_ref(&ch->token) && resolve(&ch->token, ch->name, "token", &c->token, e) < 0)
		return -1;
	if (ch->kind == ADO_CH_EMAIL && has_ref(&ch->password) &&
	    resolve(&ch->password, ch->name, "password", &c->password, e) < 0)
		return -1;
	for (size_t i = 0; i < ch->nheaders; i++)
		if (secret_header(ch->headers[i].name))
			ado_log_redact(ch->headers[i].value);

	if (ch->kind == ADO_CH_EMAIL) {
		if (!ch->smtp_url || !ch->from || ch->nto == 0) {
			ado_err_set(e, ADO_E_CONFIG, 0, "channel '%s' needs smtp_url, from and to", ch->name);
			return ado_err_hint(e, "see ado.yml(5), section notifications");
		}
	} else if (!chan_url(c)) {
		ado_err_set(e, ADO_E_CONFIG, 0, "channel '%s' has no url", ch->name);
		return ado_err_hint(e, "give the channel url: (or url_env: / url_file: for a secret URL)");
	}

	ado_buf_init(&c->payload);
	c->payload_init = 1;
	switch (ch->kind) {
	case ADO_CH_SLACK:
		if (notify_build_slack(&c->payload, x) < 0)
			c->payload.oom = 1;
		break;
	case ADO_CH_WEBHOOK:
		notify_build_webhook(&c->payload, x);
		break;
	case ADO_CH_STATUSPAGE:
		notify_build_statuspage(&c->payload, x);
		break;
	case ADO_CH_EMAIL:
		if (notify_build_email(&c->payload, ch, x) < 0) {
			ado_err_set(e, ADO_E_CONFIG, 0, "channel '%s' has a malformed from or to address", ch->name);
			return -1;
		}
		break;
	}
	if (c->payload.oom)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory building the payload of channel '%s'",
				   ch->name);
	c->ready = 1;
	return 0;
}

int ado_notify_prepare(struct ado_notify *n, const struct ado_notice *m, struct ado_err *e)
{
	struct notify_ctx x = { .m = m };
	char hostbuf[256] = "", deftitle[300];
	struct tm tm;
	int ready = 0;

	x.when = m->when ? m->when : time(NULL);
	gmtime_r(&x.when, &tm);
	strftime(x.stamp, sizeof(x.stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	x.host = m->host;
	if (!x.host) {
		if (gethostname(hostbuf, sizeof(hostbuf) - 1) < 0 || !hostbuf[0])
			snprintf(hostbuf, sizeof(hostbuf), "localhost");
		x.host = hostbuf;
	}
	x.title = m->title;
	if (!x.title || !*x.title) {
		snprintf(deftitle, sizeof(deftitle), "ado-dr %s on %s", ado_severity_name(m->severity), x.host);
		x.title = deftitle;
	}
	for (size_t i = 0; i < n->n; i++) {
		struct ado_notify_chan *c = &n->chans[i];
		if (!c->selected || c->ready)
			continue;
		ado_err_clear(&c->err);
		if (prepare_one(c, &x) == 0)
			ready++;
		else if (c->err.kind == ADO_E_NOMEM)
			return ado_err_set(e, ADO_E_NOMEM, 0, "%s", c->err.msg);
	}
	return ready;
}

const char *ado_notify_payload(const struct ado_notify_chan *c, size_t *len)
{
	if (!c->ready)
		return NULL;
	if (len)
		*len = c->payload.len;
	return c->payload.data;
}

/* ---- dry run ---- */

static void add_redacted(struct ado_buf *out, const char *s, size_t n)
{
	/* Every secret is at least 4 bytes and "<redacted>" is 10: 3x is room enough. */
	size_t cap = n * 3 + 64;
	char *tmp = malloc(cap);

	if (!tmp) {
		out->oom = 1;
		return;
	}
	ado_log_redact_copy(tmp, cap, s);
	ado_buf_puts(out, tmp);
	free(tmp);
}

void ado_notify_render(const struct ado_notify *n, struct ado_buf *out)
{
	struct ado_buf t;

	for (size_t i = 0; i < n->n; i++) {
		const struct ado_notify_chan *c = &n->chans[i];
		const struct ado_channel *ch = c->ch;

		if (!c->selected)
			continue;
		ado_buf_init(&t);
		if (ch->kind == ADO_CH_EMAIL) {
			ado_buf_printf(&t, "# channel '%s' (email): %s from %s to", ch->name,
				       ch->smtp_url ? ch->smtp_url : "?", ch->from ? ch->from : "?");
			for (size_t k = 0; k < ch->nto; k++)
				ado_buf_printf(&t, " %s", ch->to[k]);
			ado_buf_puts(&t, "\n");
		} else {
			char origin[512];
			/* a secret URL shows only where it goes */
			ado_http_url_origin(chan_url(c), origin, sizeof(origin));
			if (c->url_secret || ch->kind != ADO_CH_STATUSPAGE)
				ado_buf_printf(&t, "# channel '%s' (%s): POST %s/<redacted>\n", ch->name,
					       kind_name(ch->kind), origin);
			else
				ado_buf_printf(&t, "# channel '%s' (%s): POST %s\n", ch->name, kind_name(ch->kind),
					       chan_url(c) ? chan_url(c) : "?");
		}
		if (!c->ready) {
			char why[1400];
			ado_buf_printf(&t, "# not sendable: %s\n\n", ado_err_str(&c->err, why, sizeof(why)));
			add_redacted(out, t.data, t.len);
			ado_buf_free(&t);
			continue;
		}
		if (ch->kind != ADO_CH_EMAIL) {
			ado_buf_puts(&t, "Content-Type: application/json\n");
			if (c->token)
				ado_buf_puts(&t, "Authorization: Bearer <redacted>\n");
			for (size_t k = 0; k < ch->nheaders; k++)
				ado_buf_printf(&t, "%s: %s\n", ch->headers[k].name, ch->headers[k].value);
			ado_buf_puts(&t, "\n");
		}
		ado_buf_add(&t, c->payload.data, c->payload.len);
		ado_buf_puts(&t, "\n\n");
		if (t.oom)
			out->oom = 1;
		else
			add_redacted(out, t.data, t.len);
		ado_buf_free(&t);
	}
}

/* ---- sending ---- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

struct job {
	struct ado_notify_chan *c;
	long long deadline;	/* monotonic ms */
	long long budget;
	uint32_t seed;
};

/* The first SNIPPET_MAX characters of an answer, one line, controls dropped, redacted. */
static void snippet(char *dst, size_t len, const char *body)
{
	char tmp[SNIPPET_MAX + 1];
	size_t o = 0;
	int space = 0;

	for (const char *p = body; *p && o < SNIPPET_MAX; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x20 || ch == 0x7f || ch == ' ') {
			space = o > 0;
			continue;
		}
		if (space && o + 1 < SNIPPET_MAX)
			tmp[o++] = ' ';
		space = 0;
		tmp[o++] = (char)ch;
	}
	tmp[o] = '\0';
	ado_log_redact_copy(dst, len, tmp);
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static int attempt(struct job *j, long timeout_ms, struct ado_http_resp *resp, struct ado_err *e)
{
	struct ado_notify_chan *c = j->c;
	const struct ado_channel *ch = c->ch;

	if (ch->kind == ADO_CH_EMAIL) {
		struct ado_mail_req mr = {
			.url = ch->smtp_url, .from = ch->from, .to = (const char *const *)ch->to, .nto = ch->nto,
			.username = ch->username, .password = c->password, .starttls = ch->starttls,
			.message = c->payload.data, .message_len = c->payload.len, .timeout_ms = timeout_ms,
			.ca_file = ch->ca_file,
		};
		return ado_mail_send(&mr, resp, e);
	}

	const char *hdr[2 + 32];
	char *auth = NULL, *extra[32];
	size_t nh = 0, nextra = 0;
	int rc;

	hdr[nh++] = "Content-Type: application/json";
	if (c->token) {
		size_t len = strlen(c->token) + 32;
		if (!(auth = malloc(len)))
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		snprintf(auth, len, "Authorization: Bearer %s", c->token);
		hdr[nh++] = auth;
	}
	for (size_t i = 0; i < ch->nheaders && nextra < 32; i++) {
		size_t len = strlen(ch->headers[i].name) + strlen(ch->headers[i].value) + 3;
		if (!(extra[nextra] = malloc(len)))
			break;
		snprintf(extra[nextra], len, "%s: %s", ch->headers[i].name, ch->headers[i].value);
		hdr[nh++] = extra[nextra++];
	}
	struct ado_http_req req = {
		.method = "POST", .url = chan_url(c), .headers = hdr, .nheaders = nh,
		.body = c->payload.data, .body_len = c->payload.len, .timeout_ms = timeout_ms,
		.ca_file = ch->ca_file,
	};
	rc = ado_http_do(&req, resp, e);
	if (auth) {
		OPENSSL_cleanse(auth, strlen(auth));
		free(auth);
	}
	for (size_t i = 0; i < nextra; i++) {
		OPENSSL_cleanse(extra[i], strlen(extra[i]));
		free(extra[i]);
	}
	return rc;
}

static void *send_one(void *arg)
{
	struct job *j = arg;
	struct ado_notify_chan *c = j->c;
	struct ado_http_resp *resp = malloc(sizeof(*resp));
	struct ado_err last;
	const char *stop = "";
	char why[64] = "";
	int final = 0;

	ado_err_clear(&last);
	if (!resp) {
		ado_err_set(&c->err, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	for (;;) {
		long long left = j->deadline - now_ms(), wait;
		long timeout = (long)(left < ADO_NOTIFY_ATTEMPT_MAX_MS ? left : ADO_NOTIFY_ATTEMPT_MAX_MS);
		int rc, retry;

		if (timeout < 1)
			timeout = 1;
		c->attempts++;
		ado_err_clear(&last);
		rc = attempt(j, timeout, resp, &last);
		c->status = resp->status;
		if (rc == 0 && (c->ch->kind == ADO_CH_EMAIL || (resp->status >= 200 && resp->status < 300))) {
			c->ok = 1;
			break;
		}
		if (rc < 0)
			retry = resp->transient;
		else
			retry = resp->status == 429 || resp->status >= 500;
		if (!retry)
			break;
		if (c->attempts >= ATTEMPTS_MAX) {
			stop = ", attempts exhausted";
			break;
		}
		/* exponential backoff, +-25% jitter so channels and hosts do not retry in step */
		wait = (long long)BACKOFF_FIRST_MS << (c->attempts - 1 < 5 ? c->attempts - 1 : 5);
		if (wait > BACKOFF_MAX_MS)
			wait = BACKOFF_MAX_MS;
		wait = wait * 3 / 4 + (long long)(xorshift(&j->seed) % (uint32_t)(wait / 2 + 1));
		left = j->deadline - now_ms();
		if (rc == 0 && resp->retry_after >= 0 && resp->retry_after * 1000 > wait) {
			wait = resp->retry_after * 1000;
			if (left - wait < MIN_ATTEMPT_MS) {
				snprintf(why, sizeof(why), ", asked to retry after %llds, past the time bound",
					 resp->retry_after);
				stop = why;
				break;
			}
		}
		if (final || left - MIN_ATTEMPT_MS < 0) {
			stop = ", time bound reached";
			break;
		}
		if (left - wait < MIN_ATTEMPT_MS) {
			wait = left - MIN_ATTEMPT_MS;	/* one last try in what is left */
			final = 1;
		}
		sleep_ms(wait);
	}
	if (!c->ok) {
		const char *plural = c->attempts == 1 ? "" : "s";
		if (last.kind != ADO_E_NONE) {
			/* transport failure, already redacted and naming only the origin */
			ado_err_set(&c->err, last.kind, 0, "%s (%d attempt%s%s)", last.msg, c->attempts,
				    plural, stop);
			if (last.hint[0])
				ado_err_hint(&c->err, "%s", last.hint);
			else if (resp->timed_out)
				ado_err_hint(&c->err, "the whole run may take %llds: raise notifications.timeout or --timeout",
					     j->budget / 1000);
		} else {
			char snip[SNIPPET_MAX * 3 + 16];
			snippet(snip, sizeof(snip), resp->body);
			ado_err_set(&c->err, ADO_E_REMOTE, 0, "HTTP %ld after %d attempt%s%s%s%s%s%s", resp->status,
				    c->attempts, plural, stop[0] ? " (" : "", stop[0] ? stop + 2 : "",
				    stop[0] ? ")" : "", snip[0] ? ": " : "", snip);
			if (resp->status >= 400 && resp->status < 500 && resp->status != 429)
				ado_err_hint(&c->err, "the server refused the notice: check the channel's URL%s",
					     c->token ? " and token" : "");
		}
	}
	free(resp);
	return NULL;
}

int ado_notify_send(struct ado_notify *n, long long timeout_ms, struct ado_err *e)
{
	struct job *jobs = calloc(n->n ? n->n : 1, sizeof(*jobs));
	pthread_t *tids = calloc(n->n ? n->n : 1, sizeof(*tids));
	char *started = calloc(n->n ? n->n : 1, 1);
	long long deadline = now_ms() + timeout_ms;
	uint32_t seed = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	int ret = -1;

	if (!jobs || !tids || !started) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	if (ado_http_global_init(e) < 0)
		goto out;
	/* One thread per channel: a hanging status page must not eat Slack's time. */
	for (size_t i = 0; i < n->n; i++) {
		struct ado_notify_chan *c = &n->chans[i];
		if (!c->selected || !c->ready)
			continue;
		jobs[i] = (struct job){ .c = c, .deadline = deadline, .budget = timeout_ms,
					.seed = (seed ^ (uint32_t)(i * 2654435761u)) | 1 };
		if (pthread_create(&tids[i], NULL, send_one, &jobs[i]) == 0) {
			started[i] = 1;
		} else {
			/* no thread to spare: send from here, still within the bound */
			send_one(&jobs[i]);
		}
	}
	for (size_t i = 0; i < n->n; i++)
		if (started[i])
			pthread_join(tids[i], NULL);
	ret = 0;
out:
	free(jobs);
	free(tids);
	free(started);
	return ret;
}

void ado_notify_count(const struct ado_notify *n, size_t *ok, size_t *failed)
{
	*ok = *failed = 0;
	for (size_t i = 0; i < n->n; i++) {
		if (!n->chans[i].selected)
			continue;
		if (n->chans[i].ok)
			(*ok)++;
		else
			(*failed)++;
	}
}
