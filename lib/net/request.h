/* request.h - one request to a remote store (S3, Azure Blob) over libcurl,
 * with the one retry policy every store shares.
 *
 * Policy (pgBackRest storage/s3 and common/io/http are the model):
 *   - each attempt has a timeout; the connection has its own, shorter one;
 *   - connection errors, 5xx, 429, and the codes SlowDown and ServerBusy are
 *     tried again with exponential backoff and full jitter (Retry-After is
 *     honoured), at most ADO_SREQ_ATTEMPTS attempts and ADO_SREQ_BUDGET_MS in all;
 *   - every other answer is final; an authentication failure (403
 *     SignatureDoesNotMatch, InvalidAccessKeyId, AuthenticationFailed...) is
 *     one clear error, never a loop;
 *   - TLS peers are always verified (ca_file adds a private CA bundle).
 * Messages name the destination (no secrets), the operation, the object, the
 * status and the server's Code and Message (from its XML error body):
 *   s3://bucket/prefix/: PUT job/ID/manifest.json: 403 SignatureDoesNotMatch: The request signature ...
 * With ADO_TRACE=1 (or -vv) every attempt is logged on stderr: method, object,
 * status, bytes, time; never headers, and secret query values are removed. */
#ifndef ADO_REQUEST_H
#define ADO_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define ADO_SREQ_ATTEMPTS 6		/* attempts in all (ADO_STORE_ATTEMPTS overrides, for tests) */
#define ADO_SREQ_BUDGET_MS 120000L	/* no new attempt after this long */
#define ADO_SREQ_BODY_KEEP 8192		/* bytes of a non-2xx (or unstreamed) answer kept */
#define ADO_SREQ_HEADERS_KEEP 4096	/* bytes of the final answer's headers kept */

struct ado_sreq {
	const char *dest;	/* destination as shown to people: "s3://bucket/prefix/" */
	const char *object;	/* object path below dest ("" for the bucket itself) */
	const char *op;		/* shown instead of method when set: "ListObjectsV2", "RestoreObject" */
	const char *method;	/* GET, PUT, POST, DELETE, HEAD */
	const char *url;	/* full URL; only the object name is ever printed */
	const char *const *headers;	/* "Name: value" lines */
	size_t nheaders;
	/* request body: in memory (not copied) ... */
	const void *body;
	size_t body_len;
	/* ... or streamed: read() returns up to n bytes (0 at the end), read_len of them in all */
	size_t (*read)(void *arg, char *buf, size_t n);
	uint64_t read_len;
	/* response body of a 2xx answer: streamed to write() (0 ok, -1 stop); without
	 * write() the first ADO_SREQ_BODY_KEEP bytes are kept in the response */
	int (*write)(void *arg, const char *buf, size_t n);
	/* before every attempt but the first (both directions start over); -1: do not retry */
	int (*rewind)(void *arg);
	void *arg;
	/* signing: CURLOPT_AWS_SIGV4 ("aws:amz:REGION:s3") with user/secret, or NULL
	 * when the caller signs in a header itself (Azure SharedKey) or by SAS */
	const char *sigv4;
	const char *user, *secret;
	const char *ca_file;	/* PEM bundle to trust, or NULL for the system store */
	long timeout_ms;	/* per attempt; 0 -> 300 s */
	const char *auth_hint;	/* hint on an authentication failure */
};

struct ado_sresp {
	long status;		/* final HTTP status; 0 when no answer came */
	char body[ADO_SREQ_BODY_KEEP + 1];	/* kept answer (see write above), NUL-terminated */
	size_t body_len;
	char code[128];		/* <Code> of an XML error body, "" if none */
	char message[512];	/* <Message> of it */
	char headers[ADO_SREQ_HEADERS_KEEP + 1];	/* the final answer's header lines */
	size_t headers_len;
	uint64_t bytes_in;	/* response body bytes of the final attempt */
	int attempts;
};

/* Run r under the retry policy and fill resp. Returns 0 on a 2xx answer;
 * otherwise -1 with e filled as above and resp->status set: ADO_E_NOTFOUND
 * (404), ADO_E_AUTH (401, and 403 with an authentication code), ADO_E_ARCHIVED
 * (403 InvalidObjectState, 409 BlobArchived), ADO_E_NET (no answer), ADO_E_REMOTE
 * (other statuses). Callers that expect a status (404 on a delete, 405 on an
 * abort) look at resp->status. Thread-safe. */
int ado_sreq_do(const struct ado_sreq *r, struct ado_sresp *resp, struct ado_err *e);

/* Value of response header `name` (case-insensitive) into buf; 1 found, 0 not. */
int ado_sresp_header(const struct ado_sresp *resp, const char *name, char *buf, size_t len);

/* Percent-encode s into buf as RFC 3986 unreserved (keep_slash: leave '/'),
 * the form SigV4 and Azure both sign. Returns buf, or NULL when it does not fit. */
char *ado_url_encode(const char *s, int keep_slash, char *buf, size_t len);

#endif
