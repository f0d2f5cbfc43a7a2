/* http.c - one HTTP(S) request or SMTP submission through libcurl. */
#include "net/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ado.h"
#include "base/log.h"

#define DEFAULT_TIMEOUT_MS 30000L
#define MAX_CONNECT_TIMEOUT_MS 10000L

int ado_http_global_init(struct ado_err *e)
{
	static int done;

	if (done)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "cannot initialise libcurl");
	done = 1;
	return 0;
}

void ado_http_url_origin(const char *url, char *buf, size_t len)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;

	snprintf(buf, len, "<bad url>");
	if (!u || !url)
		goto out;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	snprintf(buf, len, "%s://%s:%s", scheme, host, port);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

void ado_http_redact_url(const char *url)
{
	CURLU *u = curl_url();
	char *path = NULL, *query = NULL;

	if (!url)
		return;
	ado_log_redact(url);
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		path = NULL;
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
		query = NULL;
	/* The longest form first: the redactor replaces the first secret that
	 * matches at a position, so "/path?query" must win over "/path". */
	if (path && query) {
		size_t n = strlen(path) + strlen(query) + 2;
		char *pq = malloc(n);
		if (pq) {
			snprintf(pq, n, "%s?%s", path, query);
			ado_log_redact(pq);
			free(pq);
		}
	}
	if (path && strcmp(path, "/") != 0)
		ado_log_redact(path);
	if (query)
		ado_log_redact(query);
out:
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
}


static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct ado_http_resp *r = arg;
	size_t len = size * n, room = ADO_HTTP_BODY_KEEP - r->body_len;
	size_t take = len < room ? len : room;

	/* Keep the start for messages, swallow the rest: a long answer is not an error. */
	memcpy(r->body + r->body_len, p, take);
	r->body_len += take;
	r->body[r->body_len] = '\0';
	return len;
}

/* Retry-After is either delta-seconds or an HTTP-date (RFC 9110 10.2.3). */
static long long parse_retry_after(const char *v, size_t n)
{
	char tmp[128];
	char *end;
	long long s;
	time_t t;

	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	while (n && isspace((unsigned char)*v))
		v++, n--;
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	if (isdigit((unsigned char)tmp[0])) {
		s = strtoll(tmp, &end, 10);
		return *end == '\0' && s >= 0 ? s : -1;
	}
	t = curl_getdate(tmp, NULL);
	if (t == (time_t)-1)
		return -1;
	s = (long long)(t - time(NULL));
	return s < 0 ? 0 : s;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct ado_http_resp *r = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	/* A new status line starts a new response (after a 100 Continue, say). */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		r->retry_after = -1;
	else if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0)
		r->retry_after = parse_retry_after(p + sizeof(name) - 1, len - (sizeof(name) - 1));
	return len;
}

static int is_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_AGAIN:
		return 1;
	default:
		return 0;
	}
}

int ado_http_curl_transient(int curl_code)
{
	return is_transient((CURLcode)curl_code);
}

static int is_tls_verify(CURLcode rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	       rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_ISSUER_ERROR;
}

static void resp_clear(struct ado_http_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
}

/* Fill e for a libcurl failure, naming only the URL's origin. */
static int transport_err(struct ado_err *e, struct ado_http_resp *r, CURLcode rc, const char *url,
			 const char *errbuf, long timeout_ms)
{
	char origin[512], why[CURL_ERROR_SIZE + 64], clean[sizeof(why)];

	r->curl_code = (int)rc;
	r->transient = is_transient(rc);
	r->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
	r->tls_verify = is_tls_verify(rc);
	ado_http_url_origin(url, origin, sizeof(origin));
	snprintf(why, sizeof(why), "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	ado_log_redact_copy(clean, sizeof(clean), why);
	if (rc == CURLE_OUT_OF_MEMORY)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory talking to '%s'", origin);
	if (r->timed_out)
		return ado_err_set(e, ADO_E_NET, 0, "no answer from '%s' within %.1f s", origin,
				   timeout_ms / 1000.0);
	if (r->tls_verify) {
		ado_err_set(e, ADO_E_NET, 0, "TLS certificate of '%s' not trusted: %s", origin, clean);
		return ado_err_hint(e, "if the server uses a private CA, set ca_file to its certificate (PEM)");
	}
	return ado_err_set(e, ADO_E_NET, 0, "cannot reach '%s': %s", origin, clean);
}

/* Options every handle gets: the safety rails listed in http.h. */
static CURLcode common_setopts(CURL *c, const char *url, const char *protocols, long timeout_ms,
			       long connect_ms, const char *ca_file, int verbose, char *errbuf)
{
	CURLcode rc = CURLE_OK;

#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, protocols);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, protocols);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file)
		SET(CURLOPT_CAINFO, ca_file);
	SET(CURLOPT_VERBOSE, verbose ? 1L : 0L);
#undef SET
	return rc;
}

int ado_http_do(const struct ado_http_req *req, struct ado_http_resp *resp, struct ado_err *e)
{
	CURL *c = NULL;
	struct curl_slist *hl = NULL, *tmp;
	char errbuf[CURL_ERROR_SIZE] = "";
	const char *method;
	long timeout = req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
	long connect = req->connect_timeout_ms > 0 ? req->connect_timeout_ms
		       : (timeout < MAX_CONNECT_TIMEOUT_MS ? timeout : MAX_CONNECT_TIMEOUT_MS);
	CURLcode rc;
	int ret = -1;

	resp_clear(resp);
	if (!req->url || (strncasecmp(req->url, "http://", 7) != 0 && strncasecmp(req->url, "https://", 8) != 0)) {
		char origin[512];
		ado_http_url_origin(req->url, origin, sizeof(origin));
		ado_err_set(e, ADO_E_USAGE, 0, "not an http(s) URL: '%s'", origin);
		return ado_err_hint(e, "URLs must start with https:// (or http://)");
	}
	method = req->method ? req->method : (req->body ? "POST" : "GET");
	c = curl_easy_init();
	if (!c)
		return ado_err_set(e, ADO_E_NOMEM, 0, "cannot start a libcurl handle");
	for (size_t i = 0; i < req->nheaders; i++) {
		if (!(tmp = curl_slist_append(hl, req->headers[i])))
			goto oom;
		hl = tmp;
	}
	/* No "Expect: 100-continue" round trip: our bodies are small. */
	if (!(tmp = curl_slist_append(hl, "Expect:")))
		goto oom;
	hl = tmp;

	rc = common_setopts(c, req->url, "http,https", timeout, connect, req->ca_file, req->verbose, errbuf);
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_USERAGENT, "ado-dr/" ADO_VERSION);
	SET(CURLOPT_HTTPHEADER, hl);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, resp);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, resp);
	if (strcmp(method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else {
		if (req->body || strcmp(method, "POST") == 0) {
			SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
			SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
		}
		if (strcmp(method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, method);
	}
#undef SET
	if (rc != CURLE_OK) {
		ado_err_set(e, ADO_E_INTERNAL, 0, "cannot set up the request: %s", curl_easy_strerror(rc));
		goto out;
	}
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		transport_err(e, resp, rc, req->url, errbuf, timeout);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	ret = 0;
	goto out;
oom:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory building a request");
out:
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return ret;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t take = size * n < u->left ? size * n : u->left;

	memcpy(buf, u->p, take);
	u->p += take;
	u->left -= take;
	return take;
}

/* libcurl wants "<addr>" in MAIL FROM / RCPT TO; accept bare addresses too. */
static char *angle(const char *addr)
{
	size_t n = strlen(addr) + 3;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, addr[0] == '<' ? "%s" : "<%s>", addr);
	return s;
}

int ado_mail_send(const struct ado_mail_req *req, struct ado_http_resp *resp, struct ado_err *e)
{
	CURL *c = NULL;
	struct curl_slist *rcpt = NULL, *tmp;
	char errbuf[CURL_ERROR_SIZE] = "";
	char *from = NULL;
	struct upload up = { req->message, req->message_len };
	long timeout = req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
	long connect = timeout < MAX_CONNECT_TIMEOUT_MS ? timeout : MAX_CONNECT_TIMEOUT_MS;
	char origin[512];
	CURLcode rc;
	int ret = -1;

	resp_clear(resp);
	ado_http_url_origin(req->url, origin, sizeof(origin));
	if (!req->url || (strncasecmp(req->url, "smtp://", 7) != 0 && strncasecmp(req->url, "smtps://", 8) != 0)) {
		ado_err_set(e, ADO_E_USAGE, 0, "not an smtp(s) URL: '%s'", origin);
		return ado_err_hint(e, "use smtp://HOST:587 (STARTTLS) or smtps://HOST:465");
	}
	if (!req->from || req->nto == 0)
		return ado_err_set(e, ADO_E_USAGE, 0, "mail to '%s' needs a sender and a recipient", origin);
	c = curl_easy_init();
	if (!c)
		return ado_err_set(e, ADO_E_NOMEM, 0, "cannot start a libcurl handle");
	if (!(from = angle(req->from)))
		goto oom;
	for (size_t i = 0; i < req->nto; i++) {
		char *a = angle(req->to[i]);
		if (!a)
			goto oom;
		tmp = curl_slist_append(rcpt, a);
		free(a);
		if (!tmp)
			goto oom;
		rcpt = tmp;
	}
	rc = common_setopts(c, req->url, "smtp,smtps", timeout, connect, req->ca_file, req->verbose, errbuf);
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_MAIL_FROM, from);
	SET(CURLOPT_MAIL_RCPT, rcpt);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_READFUNCTION, on_read);
	SET(CURLOPT_READDATA, &up);
	SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->message_len);
	if (req->username) {
		SET(CURLOPT_USERNAME, req->username);
		SET(CURLOPT_PASSWORD, req->password ? req->password : "");
	}
	if (req->starttls && strncasecmp(req->url, "smtp://", 7) == 0)
		SET(CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
#undef SET
	if (rc != CURLE_OK) {
		ado_err_set(e, ADO_E_INTERNAL, 0, "cannot set up the mail: %s", curl_easy_strerror(rc));
		goto out;
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (rc == CURLE_OK) {
		ret = 0;
		goto out;
	}
	if (rc == CURLE_LOGIN_DENIED) {
		resp->curl_code = (int)rc;
		ado_err_set(e, ADO_E_AUTH, 0, "mail server '%s' refused the login", origin);
		ado_err_hint(e, "check the channel's username and password reference");
		goto out;
	}
	if (resp->status >= 400) {
		char clean[CURL_ERROR_SIZE];
		/* The server answered but refused: 4xx is "try later", 5xx is final. */
		resp->curl_code = (int)rc;
		resp->transient = resp->status < 500;
		ado_log_redact_copy(clean, sizeof(clean), errbuf[0] ? errbuf : curl_easy_strerror(rc));
		ado_err_set(e, ADO_E_REMOTE, 0, "mail server '%s' refused the message: %s", origin, clean);
		goto out;
	}
	transport_err(e, resp, rc, req->url, errbuf, timeout);
	if (rc == CURLE_USE_SSL_FAILED)
		ado_err_hint(e, "the server offers no STARTTLS: use smtps://, or starttls: false for a relay on this host");
	goto out;
oom:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory building a mail");
out:
	free(from);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	return ret;
}
