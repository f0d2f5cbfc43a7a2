/* request.c - store requests over libcurl with one retry policy (request.h). */
#include "net/request.h"

#include <ctype.h>
#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ado.h"
#include "base/log.h"
#include "base/sig.h"
#include "net/http.h"

#define SMALL_TIMEOUT_MS 60000L		/* a request without a streamed body */
#define CONNECT_TIMEOUT_MS 10000L
#define UPLOAD_BUFFER (512L * 1024)	/* libcurl's send buffer for a large body */
#define STALL_SECONDS 60L		/* a streamed transfer slower than 1 KiB/s this long is dead */
#define BACKOFF_BASE_MS 200L
#define BACKOFF_CAP_MS 10000L

struct attempt {
	const struct ado_sreq *r;
	struct ado_sresp *resp;
	CURL *c;
	const char *mem;	/* in-memory body cursor */
	size_t mem_left;
	int write_failed;
};

/* One libcurl handle per thread, kept for the thread's life: libcurl keeps
 * the connection (and the TLS session) in it, so the parts of an upload, the
 * pages of a listing and the ranges of a download go over one connection
 * instead of a TCP and TLS handshake each. curl_easy_reset() before every
 * attempt clears the options, not the connections. Freed when the thread
 * ends (an uploader thread ends with its object). */
static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;
static int handle_key_ok;

static void handle_free(void *c)
{
	curl_easy_cleanup(c);
}

static void handle_key_init(void)
{
	handle_key_ok = pthread_key_create(&handle_key, handle_free) == 0;
}

/* the thread's handle, made on first use; NULL when out of memory */
static CURL *thread_handle(void)
{
	CURL *c;

	pthread_once(&handle_once, handle_key_init);
	if (handle_key_ok && (c = pthread_getspecific(handle_key)) != NULL)
		return c;
	if (!(c = curl_easy_init()))
		return NULL;
	if (!handle_key_ok || pthread_setspecific(handle_key, c) != 0) {
		curl_easy_cleanup(c);
		return NULL;
	}
	return c;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct attempt *a = arg;
	size_t want = size * n, take;

	if (a->r->read)
		return a->r->read(a->r->arg, buf, want);
	take = want < a->mem_left ? want : a->mem_left;
	memcpy(buf, a->mem, take);
	a->mem += take;
	a->mem_left -= take;
	return take;
}

/* libcurl rewinds the body when a kept connection turned out closed and it
 * sends the request again on a new one */
static int on_seek(void *arg, curl_off_t off, int origin)
{
	struct attempt *a = arg;
	const struct ado_sreq *r = a->r;

	if (origin != SEEK_SET || off < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (r->read)
		return off == 0 && r->rewind && r->rewind(r->arg) == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_CANTSEEK;
	if ((size_t)off > r->body_len)
		return CURL_SEEKFUNC_FAIL;
	a->mem = (const char *)r->body + off;
	a->mem_left = r->body_len - (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
	struct attempt *a = arg;
	struct ado_sresp *resp = a->resp;
	size_t len = size * n, room, take;
	long status = 0;

	curl_easy_getinfo(a->c, CURLINFO_RESPONSE_CODE, &status);
	resp->bytes_in += len;
	if (a->r->write && status >= 200 && status < 300) {
		if (a->r->write(a->r->arg, p, len) < 0) {
			a->write_failed = 1;
			return 0;	/* CURLE_WRITE_ERROR: the caller's sink failed */
		}
		return len;
	}
	room = ADO_SREQ_BODY_KEEP - resp->body_len;
	take = len < room ? len : room;
	memcpy(resp->body + resp->body_len, p, take);
	resp->body_len += take;
	resp->body[resp->body_len] = '\0';
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct ado_sresp *resp = arg;
	size_t len = size * n, room;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		resp->headers_len = 0;	/* a new answer (after 100 Continue) */
	room = ADO_SREQ_HEADERS_KEEP - resp->headers_len;
	if (len <= room) {
		memcpy(resp->headers + resp->headers_len, p, len);
		resp->headers_len += len;
	}
	resp->headers[resp->headers_len] = '\0';
	return len;
}

int ado_sresp_header(const struct ado_sresp *resp, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name);
	const char *p = resp->headers;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		if (ll > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			size_t vl = ll - nl - 1;
			while (vl && (*v == ' ' || *v == '\t'))
				v++, vl--;
			while (vl && isspace((unsigned char)v[vl - 1]))
				vl--;
			if (len) {
				if (vl >= len)
					vl = len - 1;
				memcpy(buf, v, vl);
				buf[vl] = '\0';
			}
			return 1;
		}
		p = eol ? eol + 1 : NULL;
	}
	return 0;
}

/* <Error><Code>..</Code><Message>..</Message></Error> (S3 and Azure alike) */
static void parse_error_body(struct ado_sresp *resp)
{
	xmlDocPtr doc;
	xmlNodePtr root;

	resp->code[0] = resp->message[0] = '\0';
	if (resp->body_len == 0 || !memchr(resp->body, '<', resp->body_len))
		return;
	doc = xmlReadMemory(resp->body, (int)resp->body_len, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return;
	root = xmlDocGetRootElement(doc);
	for (xmlNodePtr n = root ? root->children : NULL; n; n = n->next) {
		xmlChar *t;
		char *dst;
		size_t cap;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrcmp(n->name, BAD_CAST "Code") == 0)
			dst = resp->code, cap = sizeof(resp->code);
		else if (xmlStrcmp(n->name, BAD_CAST "Message") == 0)
			dst = resp->message, cap = sizeof(resp->message);
		else
			continue;
		t = xmlNodeGetContent(n);
		if (t) {
			/* one line: Azure's messages carry "\nRequestId:..." */
			snprintf(dst, cap, "%s", (const char *)t);
			dst[strcspn(dst, "\r\n")] = '\0';
			xmlFree(t);
		}
	}
	xmlFreeDoc(doc);
}

static int is_auth_code(const char *code)
{
	static const char *const codes[] = { "SignatureDoesNotMatch", "InvalidAccessKeyId", "AuthenticationFailed",
					     "AuthorizationFailure", "InvalidToken", "ExpiredToken", "AccessDenied",
					     "AuthorizationPermissionMismatch", "InvalidAuthenticationInfo", NULL };

	for (size_t i = 0; codes[i]; i++)
		if (strcmp(code, codes[i]) == 0)
			return 1;
	return 0;
}

static int retryable_status(const struct ado_sresp *resp)
{
	/* the codes of a body that arrived damaged (S3: its CRC-32, signed
	 * SHA-256 or Content-MD5; Azure: its CRC-64 or MD5): what we hold is
	 * intact, so a resend is the cure, as for a cut connection */
	static const char *const damaged[] = { "XAmzContentSHA256Mismatch", "BadDigest", "Crc64Mismatch",
					       "Md5Mismatch", NULL };

	for (size_t i = 0; damaged[i]; i++)
		if (strcmp(resp->code, damaged[i]) == 0)
			return 1;
	return resp->status >= 500 || resp->status == 429 || strcmp(resp->code, "SlowDown") == 0 ||
	       strcmp(resp->code, "ServerBusy") == 0 || strcmp(resp->code, "RequestTimeout") == 0;
}

/* The query for the trace, with the values of signing parameters removed. */
static void clean_query(const char *url, char *buf, size_t len)
{
	static const char *const secret[] = { "sig", "x-amz-signature", "x-amz-credential", "x-amz-security-token",
					      "token",
					      /* the rest of an Azure SAS: not secret alone, but a SAS is one credential */
					      "sv", "ss", "srt", "sp", "se", "st", "spr", "sip", "sr", "skoid", "sktid", "skt",
					      "ske", "sks", "skv", "ses", NULL };
	const char *q = strchr(url, '?');
	size_t o = 0;

	buf[0] = '\0';
	if (!q)
		return;
	for (const char *p = q; *p && o + 1 < len;) {
		const char *amp = strchr(p + 1, '&'), *eq = strchr(p + 1, '=');
		size_t seg = amp ? (size_t)(amp - p) : strlen(p);
		int hide = 0;
		if (eq && (!amp || eq < amp)) {
			size_t kl = (size_t)(eq - p - 1);
			for (size_t i = 0; secret[i]; i++)
				if (strlen(secret[i]) == kl && strncasecmp(p + 1, secret[i], kl) == 0)
					hide = 1;
		}
		if (hide) {
			o += (size_t)snprintf(buf + o, len - o, "%.*s<redacted>", (int)(eq - p + 1), p);
		} else {
			o += (size_t)snprintf(buf + o, len - o, "%.*s", (int)seg, p);
		}
		if (o >= len)
			o = len - 1;
		p += seg;
	}
}

static void jitter_sleep(long ms)
{
	unsigned r = 0;
	struct timespec ts;

	/* full jitter over the upper half: [ms/2, ms] */
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned)now_ms();
	ms = ms / 2 + (long)(r % (unsigned)(ms / 2 + 1));
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

static int max_attempts(void)
{
	const char *v = getenv("ADO_STORE_ATTEMPTS");
	int n = v && *v ? atoi(v) : ADO_SREQ_ATTEMPTS;

	return n < 1 ? 1 : n > 20 ? 20 : n;
}

/* One attempt. Returns the CURLcode. */
static CURLcode attempt_once(struct attempt *a, struct curl_slist *hl, char *errbuf)
{
	const struct ado_sreq *r = a->r;
	int streamed = r->read != NULL, has_body = streamed || r->body;
	long timeout = r->timeout_ms > 0 ? r->timeout_ms : (streamed || r->write ? 0 : SMALL_TIMEOUT_MS);
	CURLcode rc = CURLE_OK;
	CURL *c = a->c;

	curl_easy_reset(c);
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_URL, r->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	SET(CURLOPT_TIMEOUT_MS, timeout);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1024L);
	SET(CURLOPT_LOW_SPEED_TIME, STALL_SECONDS);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (r->ca_file)
		SET(CURLOPT_CAINFO, r->ca_file);
	SET(CURLOPT_USERAGENT, "ado-dr/" ADO_VERSION);
	SET(CURLOPT_HTTPHEADER, hl);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, a);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, a->resp);
	if (r->sigv4) {
		SET(CURLOPT_AWS_SIGV4, r->sigv4);
		SET(CURLOPT_USERNAME, r->user ? r->user : "");
		SET(CURLOPT_PASSWORD, r->secret ? r->secret : "");
	}
	if (strcmp(r->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "PUT") == 0) {
		SET(CURLOPT_UPLOAD, 1L);
		SET(CURLOPT_READFUNCTION, on_read);
		SET(CURLOPT_READDATA, a);
		SET(CURLOPT_SEEKFUNCTION, on_seek);
		SET(CURLOPT_SEEKDATA, a);
		SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)(streamed ? r->read_len : r->body_len));
		/* a part of megabytes in 512 KiB sends, not 64 KiB ones: an eighth
		 * of the calls (and wakeups) for the same bytes */
		if ((streamed ? r->read_len : r->body_len) > UPLOAD_BUFFER)
			SET(CURLOPT_UPLOAD_BUFFERSIZE, (long)UPLOAD_BUFFER);
	} else if (strcmp(r->method, "POST") == 0) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_READFUNCTION, on_read);
		SET(CURLOPT_READDATA, a);
		SET(CURLOPT_SEEKFUNCTION, on_seek);
		SET(CURLOPT_SEEKDATA, a);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(streamed ? r->read_len : r->body_len));
	} else {
		if (has_body)
			rc = CURLE_BAD_FUNCTION_ARGUMENT;
		if (strcmp(r->method, "GET") != 0)
			SET(CURLOPT_CUSTOMREQUEST, r->method);
	}
#undef SET
	if (rc != CURLE_OK)
		return rc;
	return curl_easy_perform(c);
}

static void fail_line(const struct ado_sreq *r, const struct ado_sresp *resp, struct ado_err *e,
		      enum ado_errkind kind)
{
	const char *op = r->op ? r->op : r->method;
	char tries[64] = "";

	if (resp->attempts > 1)
		snprintf(tries, sizeof(tries), " (after %d attempts)", resp->attempts);
	if (resp->code[0])
		ado_err_set(e, kind, 0, "%s: %s %s: %ld %s%s%s%s", r->dest, op, r->object, resp->status, resp->code,
			    resp->message[0] ? ": " : "", resp->message, tries);
	else
		ado_err_set(e, kind, 0, "%s: %s %s: HTTP status %ld%s", r->dest, op, r->object, resp->status, tries);
}

int ado_sreq_do(const struct ado_sreq *r, struct ado_sresp *resp, struct ado_err *e)
{
	struct curl_slist *hl = NULL, *tmp;
	struct attempt a = { 0 };
	char errbuf[CURL_ERROR_SIZE], query[512];
	const char *op = r->op ? r->op : r->method;
	long long start = now_ms();
	int attempts = max_attempts(), ret = -1;
	long delay = BACKOFF_BASE_MS;
	CURLcode rc = CURLE_OK;

	memset(resp, 0, sizeof(*resp));
	if (ado_http_global_init(e) < 0)
		return -1;
	for (size_t i = 0; i < r->nheaders; i++) {
		if (!(tmp = curl_slist_append(hl, r->headers[i])))
			goto oom;
		hl = tmp;
	}
	/* No 100-continue round trip for small bodies. Not with SigV4: libcurl
	 * 7.88 signs the emptied "Expect:" header that it then does not send. */
	if (!r->sigv4) {
		if (!(tmp = curl_slist_append(hl, "Expect:")))
			goto oom;
		hl = tmp;
	}
	if (!(a.c = thread_handle()))
		goto oom;
	a.r = r;
	a.resp = resp;
	clean_query(r->url, query, sizeof(query));
	for (int n = 1;; n++) {
		long long t0 = now_ms();
		int retry;
		long wait;

		if (n > 1 && r->rewind && r->rewind(r->arg) < 0)
			break;	/* the error of the previous attempt stands */
		resp->status = 0;
		resp->body_len = resp->headers_len = 0;
		resp->body[0] = resp->headers[0] = '\0';
		resp->code[0] = resp->message[0] = '\0';
		resp->bytes_in = 0;
		resp->attempts = n;
		a.mem = r->body;
		a.mem_left = r->body_len;
		a.write_failed = 0;
		errbuf[0] = '\0';
		rc = attempt_once(&a, hl, errbuf);
		if (rc == CURLE_OK) {
			curl_easy_getinfo(a.c, CURLINFO_RESPONSE_CODE, &resp->status);
			parse_error_body(resp);
		}
		ado_trace("%s %s %s%s -> %ld%s%s, %llu bytes out, %llu in, %lld ms%s", op, r->dest, r->object, query,
			  resp->status, resp->code[0] ? " " : "", resp->code,
			  (unsigned long long)(r->read ? r->read_len : r->body_len), (unsigned long long)resp->bytes_in,
			  now_ms() - t0, rc != CURLE_OK ? (errbuf[0] ? errbuf : curl_easy_strerror(rc)) : "");
		if (rc == CURLE_OK && resp->status >= 200 && resp->status < 300) {
			ret = 0;
			break;
		}
		if (rc != CURLE_OK)
			retry = !a.write_failed && ado_http_curl_transient((int)rc);
		else
			retry = retryable_status(resp);
		if (!retry || n >= attempts || ado_interrupted())
			break;
		wait = delay;
		if (rc == CURLE_OK) {
			char ra[64];
			if (ado_sresp_header(resp, "retry-after", ra, sizeof(ra)) && atol(ra) > 0)
				wait = atol(ra) * 1000L > BACKOFF_CAP_MS * 2 ? BACKOFF_CAP_MS * 2 : atol(ra) * 1000L;
		}
		if (now_ms() - start + wait > ADO_SREQ_BUDGET_MS)
			break;
		jitter_sleep(wait);
		delay = delay * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : delay * 2;
	}
	if (ret == 0)
		goto out;
	if (ado_interrupted()) {
		ado_err_set(e, ADO_E_INTERRUPTED, 0, "interrupted by signal %d", ado_interrupted());
		goto out;
	}
	if (rc != CURLE_OK) {
		char origin[512], clean[CURL_ERROR_SIZE + 64];
		if (a.write_failed) {
			/* the caller's sink filled e's message? it owns that error: say what we know */
			ado_err_set(e, ADO_E_IO, 0, "%s: %s %s: the download's reader stopped", r->dest, op, r->object);
			goto out;
		}
		ado_http_url_origin(r->url, origin, sizeof(origin));
		ado_log_redact_copy(clean, sizeof(clean), errbuf[0] ? errbuf : curl_easy_strerror(rc));
		ado_err_set(e, rc == CURLE_OUT_OF_MEMORY ? ADO_E_NOMEM : ADO_E_NET, 0, "%s: %s %s: cannot reach '%s': %s%s",
			    r->dest, op, r->object, origin, clean,
			    resp->attempts > 1 ? " (after several attempts)" : "");
		if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
			ado_err_hint(e, "if the store uses a private CA, set ca_file (or AWS_CA_BUNDLE) to its certificate");
		goto out;
	}
	if (resp->status == 404) {
		fail_line(r, resp, e, ADO_E_NOTFOUND);
	} else if (resp->status == 401 || (resp->status == 403 && is_auth_code(resp->code)) ||
		   (resp->status == 403 && !resp->code[0])) {
		fail_line(r, resp, e, ADO_E_AUTH);
		if (r->auth_hint)
			ado_err_hint(e, "%s", r->auth_hint);
	} else if ((resp->status == 403 && strcmp(resp->code, "InvalidObjectState") == 0) ||
		   (resp->status == 409 && strcmp(resp->code, "BlobArchived") == 0)) {
		fail_line(r, resp, e, ADO_E_ARCHIVED);
	} else {
		fail_line(r, resp, e, ADO_E_REMOTE);
	}
	goto out;
oom:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory building a request");
out:
	curl_slist_free_all(hl);
	if (a.c)
		curl_easy_reset(a.c);	/* drop our pointers (header list, callbacks); keep the connection */
	return ret;
}

char *ado_url_encode(const char *s, int keep_slash, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
			if (o + 1 >= len)
				return NULL;
			buf[o++] = (char)ch;
		} else {
			if (o + 3 >= len)
				return NULL;
			buf[o++] = '%';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		}
	}
	if (o >= len)
		return NULL;
	buf[o] = '\0';
	return buf;
}
