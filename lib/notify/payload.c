/* payload.c - the body each kind of channel receives: Slack's blocks, the
 * webhook's JSON, the status page's component update, and an RFC 5322 mail. */
#include "notify/internal.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ado.h"

/* ---- payloads ---- */

/* Slack's text needs &, < and > escaped (api.slack.com "Escaping text"). */
static char *slack_escape(const char *s)
{
	struct ado_buf b;

	ado_buf_init(&b);
	for (; *s; s++) {
		if (*s == '&')
			ado_buf_puts(&b, "&amp;");
		else if (*s == '<')
			ado_buf_puts(&b, "&lt;");
		else if (*s == '>')
			ado_buf_puts(&b, "&gt;");
		else
			ado_buf_add(&b, s, 1);
	}
	if (b.oom) {
		ado_buf_free(&b);
		return NULL;
	}
	return b.data;
}

static void upper(char *dst, size_t len, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		dst[i] = (char)toupper((unsigned char)s[i]);
	dst[i] = '\0';
}

int notify_build_slack(struct ado_buf *b, const struct notify_ctx *x)
{
	const char *sev = ado_severity_name(x->m->severity);
	const char *color = x->m->severity == ADO_SEV_CRITICAL ? "#d32f2f"
			    : x->m->severity == ADO_SEV_WARNING ? "#f9a825" : "#2e7d32";
	char SEV[16], *title = slack_escape(x->title), *text = slack_escape(x->m->message);
	char *host = slack_escape(x->host), *job = x->m->job ? slack_escape(x->m->job) : NULL;
	struct ado_buf head, fallback;
	struct ado_json j;
	int ret = -1;

	ado_buf_init(&head);
	ado_buf_init(&fallback);
	if (!title || !text || !host || (x->m->job && !job))
		goto out;
	upper(SEV, sizeof(SEV), sev);
	ado_buf_printf(&head, "[%s] %s", SEV, title);
	ado_buf_printf(&fallback, "[%s] %s: %s", SEV, title, text);
	ado_json_init(&j, b, 0);
	ado_json_obj_begin(&j, NULL);
	/* text is what notifications and old clients show; the attachment
	 * carries the message, the colour and the facts. */
	ado_json_kstr(&j, "text", head.data);
	ado_json_arr_begin(&j, "attachments");
	ado_json_obj_begin(&j, NULL);
	ado_json_kstr(&j, "color", color);
	ado_json_kstr(&j, "fallback", fallback.data);
	ado_json_kstr(&j, "title", title);
	ado_json_kstr(&j, "text", text);
	ado_json_arr_begin(&j, "fields");
	const char *facts[][2] = { { "Severity", sev }, { "Host", host }, { "Job", job }, { "Time", x->stamp } };
	for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++) {
		if (!facts[i][1])
			continue;
		ado_json_obj_begin(&j, NULL);
		ado_json_kstr(&j, "title", facts[i][0]);
		ado_json_kstr(&j, "value", facts[i][1]);
		ado_json_kbool(&j, "short", 1);
		ado_json_obj_end(&j);
	}
	ado_json_arr_end(&j);
	ado_json_kstr(&j, "footer", "ado-notify");
	ado_json_kint(&j, "ts", (long long)x->when);
	ado_json_obj_end(&j);
	ado_json_arr_end(&j);
	ado_json_obj_end(&j);
	ret = head.oom || fallback.oom ? -1 : 0;
out:
	ado_buf_free(&head);
	ado_buf_free(&fallback);
	free(title);
	free(text);
	free(host);
	free(job);
	return ret;
}

void notify_build_webhook(struct ado_buf *b, const struct notify_ctx *x)
{
	struct ado_json j;

	ado_json_init(&j, b, 0);
	ado_json_obj_begin(&j, NULL);
	ado_json_kstr(&j, "message", x->m->message);
	ado_json_kstr(&j, "severity", ado_severity_name(x->m->severity));
	ado_json_kstr(&j, "title", x->title);
	ado_json_kstr(&j, "host", x->host);
	ado_json_kstr(&j, "source", "ado-dr");
	ado_json_kstr(&j, "timestamp", x->stamp);
	if (x->m->job)
		ado_json_kstr(&j, "job", x->m->job);
	ado_json_obj_end(&j);
}

void notify_build_statuspage(struct ado_buf *b, const struct notify_ctx *x)
{
	struct ado_json j;

	/* The plan's body, field for field. */
	ado_json_init(&j, b, 0);
	ado_json_obj_begin(&j, NULL);
	ado_json_kstr(&j, "status", x->m->status ? x->m->status : ado_notify_default_status(x->m->severity));
	ado_json_kstr(&j, "message", x->m->message);
	ado_json_obj_end(&j);
}

/* Header values must stay on one line: controls become spaces (no header injection). */
static void header_text(struct ado_buf *b, const char *s)
{
	for (; *s; s++) {
		char c = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
		ado_buf_add(b, &c, 1);
	}
}

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* Base64 in lines of 76 characters ending in CRLF (RFC 2045 6.8). */
static void base64_lines(struct ado_buf *b, const unsigned char *p, size_t n)
{
	unsigned char out[80];

	while (n) {
		size_t take = n < 57 ? n : 57;
		int len = EVP_EncodeBlock(out, p, (int)take);
		ado_buf_add(b, out, (size_t)len);
		ado_buf_puts(b, "\r\n");
		p += take;
		n -= take;
	}
}

/* A Subject that is not plain ASCII goes as RFC 2047 encoded-words, each
 * under 75 characters, cut between (not inside) UTF-8 sequences. */
static void subject_encode(struct ado_buf *b, const char *s)
{
	size_t n = strlen(s), i = 0;
	unsigned char out[64];

	if (is_ascii(s)) {
		header_text(b, s);
		return;
	}
	while (i < n) {
		size_t take = n - i < 39 ? n - i : 39;
		while (i + take < n && ((unsigned char)s[i + take] & 0xC0) == 0x80 && take > 1)
			take--;
		int len = EVP_EncodeBlock(out, (const unsigned char *)s + i, (int)take);
		ado_buf_printf(b, "%s=?UTF-8?B?%.*s?=", i ? "\r\n " : "", len, (const char *)out);
		i += take;
	}
}

int notify_build_email(struct ado_buf *b, const struct ado_channel *ch, const struct notify_ctx *x)
{
	char date[64], SEV[16], mid[17];
	unsigned char rnd[8];
	struct tm tm;
	struct ado_buf subj, body;
	const char *p;

	for (size_t i = 0; i < ch->nto; i++)
		if (strpbrk(ch->to[i], "\r\n<>,"))
			return -1;
	if (!ch->from || strpbrk(ch->from, "\r\n<>"))
		return -1;
	localtime_r(&x->when, &tm);
	/* RFC 5322 3.3 in the C locale's English names */
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	long off = tm.tm_gmtoff / 60;
	snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday],
		 tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(mid + 2 * i, 3, "%02x", rnd[i]);
	upper(SEV, sizeof(SEV), ado_severity_name(x->m->severity));

	ado_buf_init(&subj);
	ado_buf_printf(&subj, "[%s] %s", SEV, x->title);
	ado_buf_printf(b, "Date: %s\r\nFrom: <%s>\r\nTo: ", date, ch->from);
	for (size_t i = 0; i < ch->nto; i++)
		ado_buf_printf(b, "%s<%s>", i ? ", " : "", ch->to[i]);
	ado_buf_puts(b, "\r\nSubject: ");
	subject_encode(b, subj.data);
	ado_buf_printf(b, "\r\nMessage-ID: <%s.%lld@", mid, (long long)x->when);
	header_text(b, x->host);
	ado_buf_puts(b, ">\r\nMIME-Version: 1.0\r\n"
		     "Content-Type: text/plain; charset=UTF-8\r\n"
		     /* base64: any bytes, any line length, no dot-stuffing worries */
		     "Content-Transfer-Encoding: base64\r\n"
		     "X-Mailer: ado-notify " ADO_VERSION "\r\n\r\n");
	ado_buf_free(&subj);

	ado_buf_init(&body);
	for (p = x->m->message; *p; p++) {
		if (*p == '\n' && (p == x->m->message || p[-1] != '\r'))
			ado_buf_add(&body, "\r", 1);
		ado_buf_add(&body, p, 1);
	}
	ado_buf_printf(&body, "\r\n\r\n-- \r\nseverity: %s\r\nhost: %s\r\n", ado_severity_name(x->m->severity),
		       x->host);
	if (x->m->job)
		ado_buf_printf(&body, "job: %s\r\n", x->m->job);
	ado_buf_printf(&body, "time: %s\r\n", x->stamp);
	base64_lines(b, (const unsigned char *)body.data, body.len);
	ado_buf_free(&body);
	return 0;
}

