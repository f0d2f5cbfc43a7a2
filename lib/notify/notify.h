/* lib/notify/ - the channels (Slack, webhook, status page, email) and the
 * sending of one notice to several of them at once. May include: base/,
 * config/, net/. */

/* notify.h - send one notice to chat, webhooks, a status page and mail.
 *
 * The flow: ado_notify_new() gathers channels (the config's notifications:
 * section, then the plan's environment variables for kinds the config does
 * not define), ado_notify_select() picks the ones for this notice,
 * ado_notify_send() posts to all of them in parallel within one time bound,
 * retrying what may succeed later. Each channel keeps its own result; one
 * failing channel never stops the others. Nothing here prints: the tool reads
 * the results and reports them.
 *
 * Secrets (secret URLs, bearer tokens, SMTP passwords) are resolved only for
 * selected channels, and registered for log redaction as soon as they are
 * read: a URL and its path+query, the token, the password. */
#ifndef ADO_NOTIFY_H
#define ADO_NOTIFY_H

#include <stddef.h>
#include <time.h>

#include "config/config.h"
#include "base/error.h"
#include "base/json.h"

#define ADO_NOTIFY_MSG_MAX (64 * 1024)	/* bytes of message a tool should pass at most */
#define ADO_NOTIFY_TIMEOUT_DEFAULT 60	/* seconds per run when the config says nothing */
#define ADO_NOTIFY_ATTEMPT_MAX_MS 10000	/* one request never waits longer than this */

/* "info" / "warning" / "critical" (case-insensitive) -> one ADO_SEV_* bit, 0 if unknown. */
int ado_severity_parse(const char *s);
/* One ADO_SEV_* bit -> "info" / "warning" / "critical" ("info" for anything else). */
const char *ado_severity_name(int sev);

/* 1 if s is a status-page status: operational, degraded, partial_outage, major_outage. */
int ado_notify_status_valid(const char *s);
/* The status a notice of this severity sets when none is given:
 * info -> operational, warning -> degraded, critical -> major_outage. */
const char *ado_notify_default_status(int sev);

struct ado_notice {
	int severity;		/* one ADO_SEV_* bit */
	const char *title;	/* NULL -> "ado-dr SEVERITY on HOST" */
	const char *message;	/* NUL-terminated, any bytes (invalid UTF-8 is made safe) */
	const char *status;	/* statuspage status; NULL -> ado_notify_default_status() */
	const char *job;	/* backup job it is about, or NULL */
	const char *host;	/* NULL -> this machine's name */
	time_t when;		/* 0 -> now */
};

struct ado_notify_chan {
	const struct ado_channel *ch;	/* owned by the config or by the ado_notify */
	const char *env;	/* the variable that defined it ("SLACK_WEBHOOK_URL"), or NULL from the config */
	int selected;
	/* Results, filled by ado_notify_prepare() and ado_notify_send(): */
	int ready;		/* secrets resolved, payload built */
	int ok;			/* the server accepted the notice (HTTP 2xx / SMTP 250) */
	int attempts;
	long status;		/* last HTTP status or SMTP code, 0 when none came */
	struct ado_err err;	/* why it failed (ok == 0), redacted, ready to print */
	/* private */
	char *url_secret, *token, *password;
	struct ado_buf payload;
	int payload_init;
};

struct ado_notify {
	struct ado_notify_chan *chans;
	size_t n;
	struct ado_channel *env_chans;	/* channels defined by environment variables (owned) */
	size_t nenv;
	long long timeout;	/* seconds: the config's notifications.timeout */
};

/* Gather the channels of cfg (kept by pointer: cfg must outlive *out) plus the
 * environment's, each named as its type: ALERT_WEBHOOK_URL -> 'webhook',
 * SLACK_WEBHOOK_URL -> 'slack', STATUS_PAGE_API with STATUS_PAGE_TOKEN ->
 * 'statuspage', each only when cfg has no channel of that kind. No channel at
 * all: -1 with ADO_E_CONFIG and a hint naming the variables and the section. */
int ado_notify_new(const struct ado_config *cfg, struct ado_notify **out, struct ado_err *e);
void ado_notify_free(struct ado_notify *n);

/* Choose channels: the nnames named ones (whatever their severities; a name
 * that is no channel's but a type - webhook, slack, statuspage, email - means
 * every channel of that type; 'alert-webhook' and 'status-page', the old
 * names of the environment's channels, stand for 'webhook' and 'statuspage'), or when
 * nnames is 0 every channel whose severities include severity - except
 * statuspage channels, which are chosen by default only when with_status is
 * set (a backup alert must not flip a public status page by accident).
 * Returns how many were chosen (may be 0), or -1 with ADO_E_USAGE for an
 * unknown name or a type no channel has (the hint lists the known ones). */
int ado_notify_select(struct ado_notify *n, const char *const *names, size_t nnames, int severity,
		      int with_status, struct ado_err *e);

/* Resolve the secrets and build the payload of every chosen channel. A channel
 * that cannot be prepared (variable unset, file unreadable) is marked failed
 * with its reason in its err; the others go on. Returns how many are ready, or
 * -1 with ADO_E_NOMEM. */
int ado_notify_prepare(struct ado_notify *n, const struct ado_notice *m, struct ado_err *e);

/* The payload (JSON, or the RFC 5322 mail) ado_notify_prepare() built, or NULL. */
const char *ado_notify_payload(const struct ado_notify_chan *c, size_t *len);

/* What --dry-run shows: for each chosen channel a "# channel ..." line with the
 * method and redacted URL, the headers (secrets as <redacted>) and the payload,
 * all through log redaction. Appends to out. */
void ado_notify_render(const struct ado_notify *n, struct ado_buf *out);

/* Send to every ready channel in parallel, all within timeout_ms in total
 * (each request within min(ADO_NOTIFY_ATTEMPT_MAX_MS, time left)). Retries
 * transport errors, HTTP 5xx and 429 (and SMTP 4xx) with exponential backoff
 * and jitter from 0.5 s, waiting at least Retry-After; gives up at once on other
 * answers, or when the next wait would not leave time for another attempt.
 * Fills each channel's results. Returns 0, or -1 when the sending itself
 * could not start (ADO_E_NOMEM, ADO_E_INTERNAL). */
int ado_notify_send(struct ado_notify *n, long long timeout_ms, struct ado_err *e);

/* Count the chosen channels that accepted and that failed. */
void ado_notify_count(const struct ado_notify *n, size_t *ok, size_t *failed);

#endif
