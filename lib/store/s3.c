/* s3.c - the S3 driver (s3://BUCKET/PREFIX/ and s3_glacier:), over the shared
 * request layer (net/request.h) and the chunked upload / prefetching download
 * of remote.h. pgBackRest's src/storage/s3/ is the model.
 *
 * Signing is libcurl's CURLOPT_AWS_SIGV4. libcurl 7.88 neither sorts the query
 * nor adds x-amz-content-sha256: every query here is written in sorted order
 * ("?uploads=" with its '='), and the payload hash is sent by us.
 *
 * Uploads of unknown length are multipart (CreateMultipartUpload, UploadPart,
 * CompleteMultipartUpload); an object smaller than one part is a single PUT.
 * Every body carries a checksum S3 checks against it:
 *  - checksum: crc32 (the default, and what the AWS SDKs send since 2025): the
 *    body's CRC-32 in x-amz-checksum-crc32 (signed, as every header), the
 *    payload unsigned. The upload is created with x-amz-checksum-algorithm
 *    CRC32 and completed with each part's ChecksumCRC32, as S3 requires.
 *    CRC-32 runs at over 10 GB/s here; SHA-256 at 1.7.
 *  - checksum: sha256: the body's SHA-256 signed as x-amz-content-sha256
 *    (XAmzContentSHA256Mismatch), for a server without the checksum API.
 * The artifacts are also covered end to end by the manifest's SHA-256s and,
 * encrypted, by AES-GCM's tags: the transfer checksum guards the transfer.
 *
 * A failed upload is aborted; uploads a killed run left behind are aborted by
 * clean_uploads on the next run.
 * s3_glacier: artifacts get the archive class, metadata (ADO_STORE_WRITE_META)
 * stays STANDARD so listing and checksums never need a thaw. */
#include "store/store.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "io/io.h"
#include "net/request.h"
#include "store/remote.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define LIST_MAX_BODY (32u * 1024 * 1024)
#define S3_MAX_PARTS 10000

struct s3 {
	char *base;		/* "http://127.0.0.1:4569/bucket" or "https://bucket.s3.eu-west-1.amazonaws.com" */
	char *bucket, *prefix;	/* prefix "" or "a/b/" */
	char *region;
	char *key_id, *secret, *token;
	char *ca_file;
	char *data_class;	/* storage class for artifacts */
	size_t part_size;
	int glacier;
	int sum_sha256;		/* checksum: sha256 (signed payloads); else x-amz-checksum-crc32 */
	char sigv4[160];
};

/* --- one call ---------------------------------------------------------------- */

struct call {
	struct ado_sreq r;
	char url[6144];
	char h[8][600];
	const char *hv[8];
	char object[2048];
};

/* A request for `path` (below the prefix; NULL: the bucket) with query q
 * (sorted; NULL for none) and payload hash hex (NULL: the empty body's). */
static int call_init(struct ado_store *s, struct call *c, const char *method, const char *op, const char *path,
		     const char *q, const char *payload_hex, struct ado_err *e)
{
	struct s3 *s3 = s->state;
	char key[2048], enc[6144];
	int n;

	memset(&c->r, 0, sizeof(c->r));
	snprintf(c->object, sizeof(c->object), "%s", path ? path : "");
	snprintf(key, sizeof(key), "%s%s", s3->prefix, path ? path : "");
	if (!ado_url_encode(path ? key : "", 1, enc, sizeof(enc)))
		return ado_err_set(e, ADO_E_USAGE, 0, "%s: object name too long: '%s'", s->url, c->object);
	/* the bucket itself is "/bucket", not "/bucket/": emulators sign it so */
	n = snprintf(c->url, sizeof(c->url), "%s%s%s%s%s", s3->base, path ? "/" : "", enc, q ? "?" : "", q ? q : "");
	if (n < 0 || (size_t)n >= sizeof(c->url))
		return ado_err_set(e, ADO_E_USAGE, 0, "%s: request too long for '%s'", s->url, c->object);
	c->r.dest = s->url;
	c->r.object = c->object;
	c->r.op = op;
	c->r.method = method;
	c->r.url = c->url;
	c->r.sigv4 = s3->sigv4;
	c->r.user = s3->key_id;
	c->r.secret = s3->secret;
	c->r.ca_file = s3->ca_file;
	c->r.auth_hint = "check the access key and its secret (storage.s3 in the config, or AWS_ACCESS_KEY_ID and "
			 "AWS_SECRET_ACCESS_KEY), and the region";
	snprintf(c->h[0], sizeof(c->h[0]), "x-amz-content-sha256: %s", payload_hex ? payload_hex : EMPTY_SHA256);
	c->hv[0] = c->h[0];
	c->r.nheaders = 1;
	if (s3->token) {
		snprintf(c->h[1], sizeof(c->h[1]), "x-amz-security-token: %s", s3->token);
		c->hv[1] = c->h[1];
		c->r.nheaders = 2;
	}
	c->r.headers = c->hv;
	return 0;
}

static void call_header(struct call *c, const char *fmt, const char *v)
{
	if (c->r.nheaders >= sizeof(c->hv) / sizeof(c->hv[0]))
		return;
	snprintf(c->h[c->r.nheaders], sizeof(c->h[0]), fmt, v);
	c->hv[c->r.nheaders] = c->h[c->r.nheaders];
	c->r.nheaders++;
}

static void call_body(struct call *c, const void *body, size_t len)
{
	c->r.body = body ? body : "";
	c->r.body_len = len;
}

/* Growing in-memory response body (listings): at most LIST_MAX_BODY. */
struct membuf {
	char *p;
	size_t len, cap;
};

static int mem_write(void *arg, const char *buf, size_t n)
{
	struct membuf *m = arg;

	if (m->len + n + 1 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 65536;
		char *np;
		while (ncap < m->len + n + 1)
			ncap *= 2;
		if (ncap > LIST_MAX_BODY)
			return -1;
		if (!(np = realloc(m->p, ncap)))
			return -1;
		m->p = np;
		m->cap = ncap;
	}
	memcpy(m->p + m->len, buf, n);
	m->len += n;
	m->p[m->len] = '\0';
	return 0;
}

static int mem_rewind(void *arg)
{
	((struct membuf *)arg)->len = 0;
	return 0;
}

/* Run c collecting a 2xx body into m (freed by the caller). */
static int call_mem(struct call *c, struct membuf *m, struct ado_sresp *resp, struct ado_err *e)
{
	c->r.write = mem_write;
	c->r.rewind = mem_rewind;
	c->r.arg = m;
	if (ado_sreq_do(&c->r, resp, e) < 0)
		return -1;
	if (!m->p && mem_write(m, "", 0) < 0)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	return 0;
}

/* --- XML helpers ------------------------------------------------------------ */

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr k = n ? n->children : NULL; k; k = k->next)
		if (k->type == XML_ELEMENT_NODE && xmlStrcmp(k->name, BAD_CAST name) == 0)
			return k;
	return NULL;
}

/* Text of child `name` into buf; "" if absent. */
static const char *child_text(xmlNodePtr n, const char *name, char *buf, size_t len)
{
	xmlNodePtr k = child(n, name);
	xmlChar *t = k ? xmlNodeGetContent(k) : NULL;

	snprintf(buf, len, "%s", t ? (const char *)t : "");
	if (t)
		xmlFree(t);
	return buf;
}

static xmlDocPtr parse_xml(const struct ado_store *s, const char *what, const char *body, size_t len,
			   struct ado_err *e)
{
	xmlDocPtr d = xmlReadMemory(body, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);

	if (!d || !xmlDocGetRootElement(d)) {
		if (d)
			xmlFreeDoc(d);
		ado_err_set(e, ADO_E_REMOTE, 0, "%s: %s: the answer is not the XML S3 sends", s->url, what);
		return NULL;
	}
	return d;
}

/* --- upload ------------------------------------------------------------------ */

struct etag {
	char v[80];
	char crc32[16];		/* the part's x-amz-checksum-crc32, for CompleteMultipartUpload */
};

struct s3up {
	struct ado_store *s;
	char *path;
	const char *klass;	/* NULL: STANDARD (send no header) */
	char upload_id[512];
	struct etag *etags;
	size_t netags;
};

/* checksum: sha256 in the store's settings (else x-amz-checksum-crc32) */
static int signs_sha256(const struct s3up *u)
{
	return ((const struct s3 *)u->s->state)->sum_sha256;
}

static void b64(const unsigned char *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static int up_begin(void *drv, struct ado_err *e)
{
	struct s3up *u = drv;
	struct call c;
	struct ado_sresp resp;
	struct membuf m = { 0 };
	xmlDocPtr d = NULL;
	int rc = -1;

	if (call_init(u->s, &c, "POST", "CreateMultipartUpload", u->path, "uploads=", NULL, e) < 0)
		return -1;
	if (u->klass)
		call_header(&c, "x-amz-storage-class: %s", u->klass);
	if (!signs_sha256(u))
		call_header(&c, "x-amz-checksum-algorithm: %s", "CRC32");
	call_body(&c, "", 0);
	if (call_mem(&c, &m, &resp, e) < 0) {
		if (!signs_sha256(u) && (resp.status == 400 || resp.status == 501))
			ado_err_hint(e, "a server without S3's checksum API refuses x-amz-checksum-algorithm: "
				     "set 'checksum: sha256' in storage.s3");
		goto out;
	}
	if (!(d = parse_xml(u->s, "CreateMultipartUpload", m.p, m.len, e)))
		goto out;
	child_text(xmlDocGetRootElement(d), "UploadId", u->upload_id, sizeof(u->upload_id));
	if (!u->upload_id[0]) {
		ado_err_set(e, ADO_E_REMOTE, 0, "%s: CreateMultipartUpload %s: no UploadId in the answer", u->s->url, u->path);
		goto out;
	}
	rc = 0;
out:
	if (d)
		xmlFreeDoc(d);
	free(m.p);
	return rc;
}

static int up_query(struct s3up *u, char *q, size_t len, unsigned part)
{
	char id[1024];

	if (!ado_url_encode(u->upload_id, 0, id, sizeof(id)))
		return -1;
	if (part)
		snprintf(q, len, "partNumber=%u&uploadId=%s", part, id);
	else
		snprintf(q, len, "uploadId=%s", id);
	return 0;
}

static int put_body(struct s3up *u, const char *op, const char *q, const void *buf, size_t len,
		    const struct ado_part_sum *sum, int with_class, struct etag *tag, struct ado_err *e)
{
	struct call c;
	struct ado_sresp resp;
	char hex[65], crc[16];

	if (signs_sha256(u)) {
		/* the body's SHA-256, signed: S3 checks it (XAmzContentSHA256Mismatch),
		 * so a Content-MD5 would only cost a second digest pass */
		ado_hex(sum->sha256, 32, hex);
		if (call_init(u->s, &c, "PUT", op, u->path, q, hex, e) < 0)
			return -1;
	} else {
		/* the CRC-32, big-endian in base64: S3 checks it (BadDigest) */
		unsigned char be[4] = { (unsigned char)(sum->crc32 >> 24), (unsigned char)(sum->crc32 >> 16),
					(unsigned char)(sum->crc32 >> 8), (unsigned char)sum->crc32 };
		b64(be, sizeof(be), crc);
		if (call_init(u->s, &c, "PUT", op, u->path, q, "UNSIGNED-PAYLOAD", e) < 0)
			return -1;
		call_header(&c, "x-amz-checksum-crc32: %s", crc);
		if (tag)
			snprintf(tag->crc32, sizeof(tag->crc32), "%s", crc);
	}
	if (with_class && u->klass)
		call_header(&c, "x-amz-storage-class: %s", u->klass);
	call_body(&c, buf, len);
	if (ado_sreq_do(&c.r, &resp, e) < 0)
		return -1;
	if (tag && !ado_sresp_header(&resp, "etag", tag->v, sizeof(tag->v)))
		return ado_err_set(e, ADO_E_REMOTE, 0, "%s: %s %s: no ETag in the answer", u->s->url, op, u->path);
	return 0;
}

static int up_part(void *drv, unsigned index, const void *buf, size_t len, const struct ado_part_sum *sum,
		   struct ado_err *e)
{
	struct s3up *u = drv;
	char q[1200];

	if (index >= S3_MAX_PARTS)
		return ado_err_set(e, ADO_E_IO, 0, "%s: %s: more than %d parts: raise part_size in storage.s3", u->s->url,
				   u->path, S3_MAX_PARTS);
	if (index >= u->netags) {
		size_t n = u->netags ? u->netags * 2 : 64;
		struct etag *t = realloc(u->etags, n * sizeof(*t));
		if (!t)
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		u->etags = t;
		u->netags = n;
	}
	if (up_query(u, q, sizeof(q), index + 1) < 0)
		return ado_err_set(e, ADO_E_REMOTE, 0, "%s: upload id too long", u->s->url);
	return put_body(u, "UploadPart", q, buf, len, sum, 0, &u->etags[index], e);
}

static int up_commit(void *drv, unsigned nparts, struct ado_err *e)
{
	struct s3up *u = drv;
	struct call c;
	struct ado_sresp resp;
	struct membuf m = { 0 }, body = { 0 };
	char q[1200], line[256], hex[65];
	int rc = -1;

	if (up_query(u, q, sizeof(q), 0) < 0)
		return ado_err_set(e, ADO_E_REMOTE, 0, "%s: upload id too long", u->s->url);
	if (mem_write(&body, "<CompleteMultipartUpload>", 25) < 0)
		goto oom;
	for (unsigned i = 0; i < nparts; i++) {
		/* a part sent with a CRC-32 names it again (crc32 is "" otherwise) */
		const char *crc = u->etags[i].crc32;
		int n = snprintf(line, sizeof(line), "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag>%s%s%s</Part>", i + 1,
				 u->etags[i].v, *crc ? "<ChecksumCRC32>" : "", crc, *crc ? "</ChecksumCRC32>" : "");
		if (mem_write(&body, line, (size_t)n) < 0)
			goto oom;
	}
	if (mem_write(&body, "</CompleteMultipartUpload>", 26) < 0)
		goto oom;
	ado_sha256_hex(body.p, body.len, hex);
	if (call_init(u->s, &c, "POST", "CompleteMultipartUpload", u->path, q, hex, e) < 0)
		goto out;
	call_header(&c, "Content-Type: %s", "application/xml");
	call_body(&c, body.p, body.len);
	if (call_mem(&c, &m, &resp, e) < 0)
		goto out;
	/* a 200 may still carry an <Error> (S3 sends it after a long wait) */
	if (strstr(m.p, "<Error>")) {
		ado_err_set(e, ADO_E_REMOTE, 0, "%s: CompleteMultipartUpload %s: the server reported an error: %.200s",
			    u->s->url, u->path, m.p);
		goto out;
	}
	rc = 0;
	goto out;
oom:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
out:
	free(m.p);
	free(body.p);
	return rc;
}

static int up_whole(void *drv, const void *buf, size_t len, const struct ado_part_sum *sum, struct ado_err *e)
{
	return put_body(drv, "PUT", NULL, buf, len, sum, 1, NULL, e);
}

/* AbortMultipartUpload for key/id; quiet. Some emulators answer 405 (s3rver):
 * then the upload stays until the bucket's lifecycle rule removes it. */
static int abort_upload(struct ado_store *s, const char *path, const char *upload_id)
{
	struct call c;
	struct ado_sresp resp;
	char id[1024], q[1100];

	if (!ado_url_encode(upload_id, 0, id, sizeof(id)))
		return -1;
	snprintf(q, sizeof(q), "uploadId=%s", id);
	if (call_init(s, &c, "DELETE", "AbortMultipartUpload", path, q, NULL, NULL) < 0)
		return -1;
	if (ado_sreq_do(&c.r, &resp, NULL) == 0 || resp.status == 404)
		return 0;
	return -1;
}

static void up_abort(void *drv)
{
	struct s3up *u = drv;

	abort_upload(u->s, u->path, u->upload_id);
}

static void up_free(void *drv)
{
	struct s3up *u = drv;

	if (!u)
		return;
	free(u->path);
	free(u->etags);
	free(u);
}

static const struct ado_upload_ops s3_upload_ops = { up_begin, up_part, up_commit, up_whole, up_abort, up_free };

static int s3_open_write(struct ado_store *s, const char *path, unsigned flags, struct ado_writer **out,
			 struct ado_err *e)
{
	struct s3 *s3 = s->state;
	struct s3up *u = calloc(1, sizeof(*u));
	unsigned sums;

	if (!u || !(u->path = strdup(path))) {
		free(u);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	u->s = s;
	if (!(flags & ADO_STORE_WRITE_META) && strcmp(s3->data_class, "STANDARD") != 0)
		u->klass = s3->data_class;
	sums = s3->sum_sha256 ? ADO_SUM_SHA256 : ADO_SUM_CRC32;
	*out = ado_upload_writer_new(&s3_upload_ops, u, s3->part_size, sums, sums, e);
	return *out ? 0 : -1;
}

/* --- download ---------------------------------------------------------------- */

struct s3down {
	struct ado_store *s;
	char *path;
	unsigned char *buf;
	size_t cap, got;
};

static int down_write(void *arg, const char *p, size_t n)
{
	struct s3down *d = arg;

	if (n > d->cap - d->got)
		return -1;	/* more than asked for: the server ignored the range */
	memcpy(d->buf + d->got, p, n);
	d->got += n;
	return 0;
}

static int down_rewind(void *arg)
{
	((struct s3down *)arg)->got = 0;
	return 0;
}

static int down_get(void *drv, uint64_t off, size_t len, void *buf, size_t *got, uint64_t *total, struct ado_err *e)
{
	struct s3down *d = drv;
	struct call c;
	struct ado_sresp resp;
	char range[80], cr[128];

	if (call_init(d->s, &c, "GET", NULL, d->path, NULL, NULL, e) < 0)
		return -1;
	snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)off, (unsigned long long)(off + len - 1));
	call_header(&c, "Range: %s", range);
	d->buf = buf;
	d->cap = len;
	d->got = 0;
	c.r.write = down_write;
	c.r.rewind = down_rewind;
	c.r.arg = d;
	if (ado_sreq_do(&c.r, &resp, e) < 0) {
		if (resp.status == 416) {
			/* a range past the end: the object is shorter (or empty) */
			*got = 0;
			*total = off;
			return 0;
		}
		return -1;
	}
	*got = d->got;
	if (resp.status == 206 && ado_sresp_header(&resp, "content-range", cr, sizeof(cr)) && strchr(cr, '/'))
		*total = strtoull(strchr(cr, '/') + 1, NULL, 10);
	else
		*total = off + d->got;	/* 200: the whole object fit */
	return 0;
}

static void down_free(void *drv)
{
	struct s3down *d = drv;

	if (d)
		free(d->path);
	free(d);
}

static const struct ado_download_ops s3_download_ops = { down_get, down_free };

static int s3_open_read(struct ado_store *s, const char *path, struct ado_reader **out, struct ado_err *e)
{
	struct s3down *d = calloc(1, sizeof(*d));

	if (!d || !(d->path = strdup(path))) {
		free(d);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	d->s = s;
	*out = ado_download_reader_new(&s3_download_ops, d, ADO_DOWNLOAD_CHUNK, e);
	return *out ? 0 : -1;
}

/* --- listing ------------------------------------------------------------------ */

static int list_max_keys(void)
{
	const char *v = getenv("ADO_S3_LIST_MAX");	/* small pages, for tests */
	int n = v && *v ? atoi(v) : 1000;

	return n < 1 || n > 1000 ? 1000 : n;
}

/* Every key (recursive) or every entry below folder dir (delimited), page by page. */
typedef int (*key_cb)(void *arg, const char *rel, int is_dir, uint64_t size);

static int list_keys(struct ado_store *s, const char *dir, int delimited, key_cb cb, void *arg, struct ado_err *e)
{
	struct s3 *s3 = s->state;
	char pfx[2048], epfx[6144], token[2048] = "", etoken[6144], q[12800];
	size_t plen;
	int stop = 0;

	snprintf(pfx, sizeof(pfx), "%s%s%s", s3->prefix, dir, *dir && dir[strlen(dir) - 1] != '/' ? "/" : "");
	plen = strlen(pfx);
	if (!ado_url_encode(pfx, 0, epfx, sizeof(epfx)))
		return ado_err_set(e, ADO_E_USAGE, 0, "%s: folder name too long: '%s'", s->url, dir);
	do {
		struct call c;
		struct ado_sresp resp;
		struct membuf m = { 0 };
		xmlDocPtr d;
		xmlNodePtr root;
		char trunc[16];

		if (!ado_url_encode(token, 0, etoken, sizeof(etoken)))
			return ado_err_set(e, ADO_E_REMOTE, 0, "%s: continuation token too long", s->url);
		/* sorted: continuation-token, delimiter, list-type, max-keys, prefix */
		snprintf(q, sizeof(q), "%s%s%s%slist-type=2&max-keys=%d&prefix=%s", token[0] ? "continuation-token=" : "",
			 token[0] ? etoken : "", token[0] ? "&" : "", delimited ? "delimiter=%2F&" : "", list_max_keys(),
			 epfx);
		if (call_init(s, &c, "GET", "ListObjectsV2", NULL, q, NULL, e) < 0)
			return -1;
		snprintf(c.object, sizeof(c.object), "%s", pfx + strlen(s3->prefix));
		if (call_mem(&c, &m, &resp, e) < 0) {
			free(m.p);
			return -1;
		}
		d = parse_xml(s, "ListObjectsV2", m.p, m.len, e);
		free(m.p);
		if (!d)
			return -1;
		root = xmlDocGetRootElement(d);
		for (xmlNodePtr n = root->children; n && !stop; n = n->next) {
			char key[2048], size[32];
			int is_dir;
			if (n->type != XML_ELEMENT_NODE)
				continue;
			if (xmlStrcmp(n->name, BAD_CAST "Contents") == 0) {
				child_text(n, "Key", key, sizeof(key));
				is_dir = 0;
			} else if (xmlStrcmp(n->name, BAD_CAST "CommonPrefixes") == 0) {
				child_text(n, "Prefix", key, sizeof(key));
				is_dir = 1;
			} else {
				continue;
			}
			if (strncmp(key, pfx, plen) != 0 || !key[plen])
				continue;
			if (is_dir)
				key[strlen(key) - 1] = '\0';
			child_text(n, "Size", size, sizeof(size));
			stop = cb(arg, key + plen, is_dir, strtoull(size, NULL, 10));
		}
		child_text(root, "IsTruncated", trunc, sizeof(trunc));
		child_text(root, "NextContinuationToken", token, sizeof(token));
		xmlFreeDoc(d);
		if (strcmp(trunc, "true") != 0)
			token[0] = '\0';
	} while (token[0] && !stop);
	return 0;
}

struct list_arg {
	ado_store_list_cb cb;
	void *arg;
};

static int list_one(void *arg, const char *rel, int is_dir, uint64_t size)
{
	struct list_arg *la = arg;
	struct ado_store_entry ent = { 0 };

	ent.name = rel;
	ent.is_dir = is_dir;
	ent.size = size;
	return la->cb(&ent, la->arg);
}

static int s3_list(struct ado_store *s, const char *dir, ado_store_list_cb cb, void *arg, struct ado_err *e)
{
	struct list_arg la = { cb, arg };

	return list_keys(s, dir, 1, list_one, &la, e);
}

static int s3_list_tree(struct ado_store *s, const char *dir, ado_store_list_cb cb, void *arg, struct ado_err *e)
{
	struct list_arg la = { cb, arg };

	return list_keys(s, dir, 0, list_one, &la, e);
}

/* --- remove -------------------------------------------------------------------- */

static int s3_remove(struct ado_store *s, const char *path, struct ado_err *e)
{
	struct call c;
	struct ado_sresp resp;

	if (call_init(s, &c, "DELETE", NULL, path, NULL, NULL, e) < 0)
		return -1;
	if (ado_sreq_do(&c.r, &resp, e) < 0)
		return resp.status == 404 ? 0 : -1;
	return 0;
}

struct batch {
	struct ado_store *s;
	const char *dir;
	struct membuf xml;
	unsigned n;
	int failed;
	struct ado_err err;
};

static int xml_escape_append(struct membuf *m, const char *s)
{
	for (; *s; s++) {
		const char *r = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
		if (mem_write(m, r ? r : s, r ? strlen(r) : 1) < 0)
			return -1;
	}
	return 0;
}

/* DeleteObjects for the keys gathered so far (Content-MD5 is required). */
static int batch_flush(struct batch *b)
{
	struct s3 *s3 = b->s->state;
	struct call c;
	struct ado_sresp resp;
	struct membuf m = { 0 };
	unsigned char md[16];
	unsigned int ml;
	char hex[65], md5[32];
	int rc;

	if (b->n == 0)
		return 0;
	if (mem_write(&b->xml, "</Delete>", 9) < 0)
		return ado_err_set(&b->err, ADO_E_NOMEM, 0, "out of memory");
	ado_sha256_hex(b->xml.p, b->xml.len, hex);
	EVP_Digest(b->xml.p, b->xml.len, md, &ml, EVP_md5(), NULL);
	b64(md, 16, md5);
	(void)s3;
	if (call_init(b->s, &c, "POST", "DeleteObjects", NULL, "delete=", hex, &b->err) < 0)
		return -1;
	snprintf(c.object, sizeof(c.object), "%s/", b->dir);
	call_header(&c, "Content-MD5: %s", md5);
	call_header(&c, "Content-Type: %s", "application/xml");
	call_body(&c, b->xml.p, b->xml.len);
	rc = call_mem(&c, &m, &resp, &b->err);
	if (rc == 0 && strstr(m.p, "<Error>")) {
		ado_err_set(&b->err, ADO_E_REMOTE, 0, "%s: DeleteObjects %s/: some objects were not removed: %.200s",
			    b->s->url, b->dir, strstr(m.p, "<Error>"));
		rc = -1;
	}
	free(m.p);
	b->xml.len = 0;
	b->n = 0;
	return rc;
}

static int batch_add(void *arg, const char *rel, int is_dir, uint64_t size)
{
	struct batch *b = arg;
	struct s3 *s3 = b->s->state;
	char key[2048];

	if (b->n == 0 && mem_write(&b->xml, "<Delete><Quiet>true</Quiet>", 27) < 0)
		goto oom;
	snprintf(key, sizeof(key), "%s%s/%s", s3->prefix, b->dir, rel);
	if (mem_write(&b->xml, "<Object><Key>", 13) < 0 || xml_escape_append(&b->xml, key) < 0 ||
	    mem_write(&b->xml, "</Key></Object>", 15) < 0)
		goto oom;
	if (++b->n == 1000 && batch_flush(b) < 0) {
		b->failed = 1;
		return 1;
	}
	return 0;
oom:
	ado_err_set(&b->err, ADO_E_NOMEM, 0, "out of memory");
	b->failed = 1;
	return 1;
}

static int s3_remove_tree(struct ado_store *s, const char *dir, struct ado_err *e)
{
	struct batch b = { 0 };
	int rc = -1;

	if (!*dir)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "refusing to remove the whole store");
	b.s = s;
	b.dir = dir;
	ado_err_clear(&b.err);
	if (list_keys(s, dir, 0, batch_add, &b, e) < 0)
		goto out;
	if (b.failed || batch_flush(&b) < 0) {
		if (e)
			*e = b.err;
		goto out;
	}
	rc = 0;
out:
	free(b.xml.p);
	return rc;
}

/* --- exists, readable, thaw ------------------------------------------------------ */

static int head(struct ado_store *s, const char *path, struct ado_sresp *resp, struct ado_err *e)
{
	struct call c;

	if (call_init(s, &c, "HEAD", NULL, path, NULL, NULL, e) < 0)
		return -1;
	return ado_sreq_do(&c.r, resp, e);
}

static int any_key(void *arg, const char *rel, int is_dir, uint64_t size)
{
	*(int *)arg = 1;
	return 1;
}

static int s3_exists(struct ado_store *s, const char *path, uint64_t *size, struct ado_err *e)
{
	struct ado_sresp resp;
	char cl[32];
	int found = 0;

	if (head(s, path, &resp, e) == 0) {
		if (size && ado_sresp_header(&resp, "content-length", cl, sizeof(cl)))
			*size = strtoull(cl, NULL, 10);
		return 1;
	}
	if (resp.status != 404)
		return -1;
	/* a "folder" exists when a key lies below it */
	if (list_keys(s, path, 1, any_key, &found, e) < 0)
		return -1;
	if (found && size)
		*size = 0;
	return found;
}

static int s3_readable(struct ado_store *s, const char *path, enum ado_readable *state, struct ado_err *e)
{
	struct ado_sresp resp;
	char klass[64] = "", restore[256] = "";

	*state = ADO_READABLE_ONLINE;
	if (head(s, path, &resp, e) < 0)
		return -1;
	ado_sresp_header(&resp, "x-amz-storage-class", klass, sizeof(klass));
	if (strcmp(klass, "GLACIER") != 0 && strcmp(klass, "DEEP_ARCHIVE") != 0)
		return 0;	/* GLACIER_IR and the others read at once */
	if (!ado_sresp_header(&resp, "x-amz-restore", restore, sizeof(restore)))
		*state = ADO_READABLE_ARCHIVED;
	else if (strstr(restore, "ongoing-request=\"true\""))
		*state = ADO_READABLE_RESTORING;
	return 0;
}

static int s3_thaw(struct ado_store *s, const char *path, int days, const char *tier, struct ado_err *e)
{
	struct call c;
	struct ado_sresp resp;
	char body[512], hex[65];
	int n;

	n = snprintf(body, sizeof(body),
		     "<RestoreRequest><Days>%d</Days><GlacierJobParameters><Tier>%s</Tier></GlacierJobParameters>"
		     "</RestoreRequest>",
		     days, tier);
	ado_sha256_hex(body, (size_t)n, hex);
	if (call_init(s, &c, "POST", "RestoreObject", path, "restore=", hex, e) < 0)
		return -1;
	call_header(&c, "Content-Type: %s", "application/xml");
	call_body(&c, body, (size_t)n);
	if (ado_sreq_do(&c.r, &resp, e) < 0) {
		/* asked before and still running: fine */
		if (resp.status == 409 && strcmp(resp.code, "RestoreAlreadyInProgress") == 0)
			return 0;
		return -1;
	}
	return 0;
}

/* --- uploads an earlier run left ------------------------------------------------- */

static int s3_clean_uploads(struct ado_store *s, const char *dir, struct ado_err *e)
{
	struct s3 *s3 = s->state;
	struct call c;
	struct ado_sresp resp;
	struct membuf m = { 0 };
	char pfx[2048], epfx[6144], q[6300];
	xmlDocPtr d;
	int aborted = 0;

	snprintf(pfx, sizeof(pfx), "%s%s/", s3->prefix, dir);
	if (!ado_url_encode(pfx, 0, epfx, sizeof(epfx)))
		return ado_err_set(e, ADO_E_USAGE, 0, "%s: folder name too long: '%s'", s->url, dir);
	snprintf(q, sizeof(q), "prefix=%s&uploads=", epfx);
	if (call_init(s, &c, "GET", "ListMultipartUploads", NULL, q, NULL, e) < 0)
		return -1;
	snprintf(c.object, sizeof(c.object), "%s/", dir);
	if (call_mem(&c, &m, &resp, e) < 0) {
		free(m.p);
		/* an emulator without the call (s3rver): nothing we can see to clean */
		return resp.status == 501 ? 0 : -1;
	}
	d = parse_xml(s, "ListMultipartUploads", m.p, m.len, e);
	free(m.p);
	if (!d)
		return -1;
	for (xmlNodePtr n = xmlDocGetRootElement(d)->children; n; n = n->next) {
		char key[2048], id[1024];
		if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "Upload") != 0)
			continue;
		child_text(n, "Key", key, sizeof(key));
		child_text(n, "UploadId", id, sizeof(id));
		if (strncmp(key, s3->prefix, strlen(s3->prefix)) != 0 || !id[0])
			continue;
		if (abort_upload(s, key + strlen(s3->prefix), id) == 0)
			aborted++;
	}
	xmlFreeDoc(d);
	return aborted;
}

/* --- open ---------------------------------------------------------------------- */

static void s3_free(struct ado_store *s)
{
	struct s3 *s3 = s->state;

	if (!s3)
		return;
	if (s3->secret) {
		OPENSSL_cleanse(s3->secret, strlen(s3->secret));
		free(s3->secret);
	}
	if (s3->token) {
		OPENSSL_cleanse(s3->token, strlen(s3->token));
		free(s3->token);
	}
	free(s3->key_id);
	free(s3->base);
	free(s3->bucket);
	free(s3->prefix);
	free(s3->region);
	free(s3->ca_file);
	free(s3->data_class);
	free(s3);
}

static const struct ado_store_ops s3_ops = {
	.scheme = "s3",
	.open_write = s3_open_write,
	.open_read = s3_open_read,
	.list = s3_list,
	.list_tree = s3_list_tree,
	.remove = s3_remove,
	.remove_tree = s3_remove_tree,
	.exists = s3_exists,
	.readable = s3_readable,
	.thaw = s3_thaw,
	.clean_uploads = s3_clean_uploads,
	.free = s3_free,
};

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* Endpoint, region, path style, CA, each on its own: what storage.s3 sets,
 * else the aws CLI's variable, else AWS itself (us-east-1, virtual-hosted).
 * An endpoint from either place implies path style unless the file says. */
static int settings(struct s3 *s3, const struct ado_config *cfg, const char **endpoint, int *path_style)
{
	const struct ado_s3_config *c = &cfg->s3;
	const char *region = c->region, *ca = c->ca_file;

	*endpoint = c->endpoint ? c->endpoint : env("AWS_ENDPOINT_URL");
	*path_style = c->path_style >= 0 ? c->path_style : *endpoint != NULL;
	if (!region && !(region = env("AWS_REGION")) && !(region = env("AWS_DEFAULT_REGION")))
		region = "us-east-1";
	if (!ca)
		ca = env("AWS_CA_BUNDLE");
	s3->region = strdup(region);
	s3->ca_file = ca ? strdup(ca) : NULL;
	return s3->region && (!ca || s3->ca_file) ? 0 : -1;
}

int ado_store_s3_open(const struct ado_dest *d, const struct ado_config *cfg, struct ado_store **out, struct ado_err *e)
{
	struct ado_store *s = calloc(1, sizeof(*s));
	struct s3 *s3 = calloc(1, sizeof(*s3));
	const char *endpoint, *v;
	char *tmp = NULL;
	int path_style;
	size_t n;

	*out = NULL;
	if (!s || !s3)
		goto oom;
	s->ops = &s3_ops;
	s->state = s3;
	s3->glacier = d->kind == ADO_DEST_S3_GLACIER;
	s3->bucket = strdup(d->bucket ? d->bucket : "");
	s3->prefix = strdup(d->prefix ? d->prefix : "");
	s3->data_class = strdup(s3->glacier ? cfg->s3.glacier_storage_class ? cfg->s3.glacier_storage_class : "GLACIER"
					    : cfg->s3.storage_class ? cfg->s3.storage_class : "STANDARD");
	s3->part_size = cfg->s3.part_size ? (size_t)cfg->s3.part_size : ADO_PART_SIZE_DEFAULT;
	s3->sum_sha256 = cfg->s3.checksum_sha256;
	if ((v = env("ADO_S3_PART_SIZE")))	/* tests: small parts; never below S3's minimum */
		s3->part_size = strtoull(v, NULL, 10) < ADO_PART_SIZE_MIN ? ADO_PART_SIZE_MIN : strtoull(v, NULL, 10);
	if (!s3->bucket || !s3->prefix || !s3->data_class)
		goto oom;
	/* the display form: s3://bucket/prefix/ (a glacier destination is an s3 bucket too) */
	n = strlen(s3->bucket) + strlen(s3->prefix) + 8;
	if (!(s->url = malloc(n)))
		goto oom;
	snprintf(s->url, n, "s3://%s/%s", s3->bucket, s3->prefix);
	if (settings(s3, cfg, &endpoint, &path_style) < 0)
		goto oom;
	if (!endpoint) {
		n = strlen(s3->bucket) + strlen(s3->region) + 40;
		if (!(s3->base = malloc(n)))
			goto oom;
		if (path_style)
			snprintf(s3->base, n, "https://s3.%s.amazonaws.com/%s", s3->region, s3->bucket);
		else
			snprintf(s3->base, n, "https://%s.s3.%s.amazonaws.com", s3->bucket, s3->region);
	} else {
		const char *host = strstr(endpoint, "://");
		size_t el = strlen(endpoint);
		while (el && endpoint[el - 1] == '/')
			el--;
		n = el + strlen(s3->bucket) + 4;
		if (!host || !(s3->base = malloc(n)))
			goto oom;
		if (path_style)
			snprintf(s3->base, n, "%.*s/%s", (int)el, endpoint, s3->bucket);
		else
			snprintf(s3->base, n, "%.*s%s.%.*s", (int)(host + 3 - endpoint), endpoint, s3->bucket,
				 (int)(el - (size_t)(host + 3 - endpoint)), host + 3);
	}
	snprintf(s3->sigv4, sizeof(s3->sigv4), "aws:amz:%s:s3", s3->region);
	if (ado_secret_resolve(&cfg->s3.access_key_id, "the S3 access key id", 1, &tmp, e) < 0)
		goto fail;
	s3->key_id = tmp;
	if (ado_secret_resolve(&cfg->s3.secret_access_key, "the S3 secret access key", 0, &s3->secret, e) < 0)
		goto fail;
	if ((v = env("AWS_SESSION_TOKEN")) && !(s3->token = strdup(v)))
		goto oom;
	if (s3->token)
		ado_log_redact(s3->token);
	*out = s;
	return 0;
oom:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
fail:
	if (s) {
		s->state = s3;
		ado_store_free(s);
	} else {
		free(s3);
	}
	return -1;
}
