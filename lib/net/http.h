/* lib/net/ - HTTP(S) and SMTP over libcurl, shared by notify/ and the remote
 * stores: TLS always verified, bounded in time, secrets kept out of messages.
 * May include: base/. */

/* http.h - one HTTP(S) request, or one SMTP submission, through libcurl.
 *
 * Small on purpose: ado-notify posts JSON with it, and the S3/Azure drivers can
 * reuse it for their small requests (listings, deletes). Every request:
 *   - verifies TLS peers and host names (there is no switch to turn that off;
 *     ca_file names a PEM bundle to trust instead of the system store),
 *   - speaks http/https only (smtp/smtps for ado_mail_send), redirects refused,
 *   - runs with CURLOPT_NOSIGNAL (threads, no SIGALRM) and a hard timeout,
 *   - never puts a URL's path or query into an error message: messages name
 *     only scheme://host:port, and pass through ado_log_redact_copy. */
#ifndef ADO_HTTP_H
#define ADO_HTTP_H

#include <stddef.h>

#include "base/error.h"

#define ADO_HTTP_BODY_KEEP 4096	/* bytes of a response body kept for messages */

struct ado_http_req {
	const char *method;	/* "POST", "GET", "PUT", "DELETE", "HEAD"; NULL -> POST with a body, else GET */
	const char *url;	/* http:// or https:// */
	const char *const *headers;	/* "Name: value" lines, nheaders of them; may be NULL */
	size_t nheaders;
	const void *body;	/* request body (not copied); NULL with body_len 0 for none */
	size_t body_len;
	long timeout_ms;	/* whole request; 0 -> 30000 */
	long connect_timeout_ms;	/* 0 -> min(timeout_ms, 10000) */
	const char *ca_file;	/* CA bundle (PEM) trusted instead of the system store, or NULL */
	int verbose;		/* libcurl's trace on stderr, UNREDACTED: debugging only */
};

struct ado_http_resp {
	long status;		/* HTTP status (or SMTP reply code); 0 when no answer came */
	char body[ADO_HTTP_BODY_KEEP + 1];	/* first bytes of the answer, NUL-terminated */
	size_t body_len;	/* bytes kept in body */
	long long retry_after;	/* seconds from a Retry-After header (delta or date); -1 if absent */
	/* On transport failure (-1 returned): */
	int curl_code;		/* the CURLcode, 0 if the failure was not libcurl's */
	int transient;		/* 1 when trying again may help (connect refused, timeout, reset);
				 * 0 for certificate, protocol, URL or login problems */
	int timed_out;		/* 1 when the timeout fired */
	int tls_verify;		/* 1 when the peer's certificate or name was not trusted */
};

/* Initialise libcurl once before any thread sends (curl_global_init is not
 * safe to race on every build). Idempotent; 0, or -1 with ADO_E_INTERNAL. */
int ado_http_global_init(struct ado_err *e);

/* Run req and fill resp (always cleared first). Returns 0 when the server
 * answered at all, whatever the status: the caller judges resp->status. Returns
 * -1 with ADO_E_NET for transport failures ("cannot reach 'https://host:443':
 * libcurl's message"), ADO_E_USAGE for a URL that is not http(s), ADO_E_NOMEM.
 * Thread-safe: each call owns its CURL handle. */
int ado_http_do(const struct ado_http_req *req, struct ado_http_resp *resp, struct ado_err *e);

struct ado_mail_req {
	const char *url;	/* smtp://host:port or smtps://host:port */
	const char *from;	/* envelope sender: bare address */
	const char *const *to;	/* envelope recipients: bare addresses */
	size_t nto;
	const char *username;	/* NULL: no AUTH */
	const char *password;
	int starttls;		/* smtp:// only: 1 requires STARTTLS (CURLUSESSL_ALL) */
	const char *message;	/* the full RFC 5322 message, CRLF line ends */
	size_t message_len;
	long timeout_ms;	/* 0 -> 30000 */
	const char *ca_file;
	int verbose;
};

/* Submit one message. Returns 0 when the server accepted it (resp->status is
 * the last SMTP reply code), -1 with ADO_E_NET (transport, resp->transient set
 * as for HTTP), ADO_E_AUTH (login refused) or ADO_E_REMOTE (the server refused
 * the sender, a recipient or the data; resp->status holds its code and
 * resp->transient is 1 for 4xx replies). */
int ado_mail_send(const struct ado_mail_req *req, struct ado_http_resp *resp, struct ado_err *e);

/* 1 when a libcurl result code (a CURLcode) is worth trying again:
 * connection refused, reset, timeout, nothing received. */
int ado_http_curl_transient(int curl_code);

/* "scheme://host:port" of url into buf (no user info, path or query), or
 * "<bad url>" when it cannot be parsed. Safe to show for secret URLs. */
void ado_http_url_origin(const char *url, char *buf, size_t len);

/* Register url and its path+query for log redaction, so neither can appear in
 * any diagnostic (Slack webhooks and similar carry their secret in the path). */
void ado_http_redact_url(const char *url);

#endif
