/* azure.c - the Azure Blob driver (azblob://CONTAINER/PREFIX/).
 *
 * Every request goes through the shared store request (net/request.h: one
 * retry policy, error lines, ADO_TRACE) and is signed here: SharedKey in an
 * Authorization header, or a SAS token appended to the query.
 *
 * Uploads use the shared chunked writer (remote.h): each part is a Put Block
 * (x-ms-content-crc64, which the service checks), close() is the Put Block
 * List that commits the blob. Until then the blocks are uncommitted: List Blobs does not
 * show them, GET answers 404, and the service drops them after a week. So an
 * upload cut in the middle leaves nothing that looks like a backup; the job's
 * next run discards those blocks (clean_uploads). An object smaller than one
 * block is one Put Blob.
 *
 * The access tier (Hot, Cool, Cold, Archive) is set on the artifacts when they
 * are committed; metadata (manifest, sums, index) stays in the account's
 * default online tier, so listing and checksum verification never need a
 * rehydration. An Archive blob answers GET with 409 BlobArchived; thaw is Set
 * Blob Tier to Hot with x-ms-rehydrate-priority. */
#include "store/store.h"

#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "base/json.h"
#include "net/request.h"
#include "store/azure.h"
#include "store/remote.h"

#define AZ_BLOCK_DEFAULT (8u * 1024 * 1024)
#define AZ_LIST_MAX 5000	/* the service's page limit; ADO_AZURE_LIST_MAX lowers it (tests) */
#define AZ_URL_MAX (PATH_MAX * 3 + 1024)
#define AZ_AUTH_HINT "check the account key or SAS token (AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or " \
	"AZURE_STORAGE_CONNECTION_STRING): the service refused its signature"

struct az {
	struct ado_az_cred cred;
	char *container;
	char *prefix;		/* "" or "a/b/" */
	char *ca_file;
	char *tier;		/* x-ms-access-tier for artifacts, or NULL */
	size_t block_size;
};

/* One request: the parts that differ between operations. */
struct az_call {
	const char *op;		/* shown in messages: "PUT", "GET", "ListBlobs", ... */
	const char *method;
	const char *path;	/* below the store root; NULL: the container itself */
	const char *object;	/* shown in messages instead of path (listings: the prefix) */
	const char *query;	/* without '?', or NULL */
	const char *extra[6];	/* more "Name: value" headers */
	const void *body;
	size_t body_len;
	int (*write)(void *arg, const char *buf, size_t n);
	void *arg;
};

static int az_call(struct ado_store *s, const struct az_call *c, struct ado_sresp *resp, struct ado_err *e)
{
	struct az *a = s->state;
	char url[AZ_URL_MAX], name[PATH_MAX], enc[PATH_MAX * 3], date[64], auth[256];
	const char *headers[12];
	size_t nh = 0;
	struct ado_sreq r = { 0 };
	int n;

	enc[0] = '\0';
	if (c->path) {
		snprintf(name, sizeof(name), "%s%s", a->prefix, c->path);
		if (!ado_url_encode(name, 1, enc, sizeof(enc)))
			return ado_err_set(e, ADO_E_USAGE, 0, "%s: object name too long: '%s'", s->url, c->path);
	}
	n = snprintf(url, sizeof(url), "%s/%s%s%s%s%s%s%s", a->cred.endpoint, a->container, c->path ? "/" : "", enc,
		     c->query || a->cred.sas ? "?" : "", c->query ? c->query : "",
		     c->query && a->cred.sas ? "&" : "", a->cred.sas ? a->cred.sas : "");
	if (n < 0 || (size_t)n >= sizeof(url))
		return ado_err_set(e, ADO_E_USAGE, 0, "%s: request URL too long for '%s'", s->url, c->path ? c->path : "");
	ado_az_date_header(date, sizeof(date));
	headers[nh++] = date;
	headers[nh++] = "x-ms-version: " ADO_AZ_VERSION;
	for (size_t i = 0; i < sizeof(c->extra) / sizeof(c->extra[0]) && c->extra[i]; i++)
		headers[nh++] = c->extra[i];
	if (!a->cred.sas) {
		/* the URL signed is the one sent, SAS-free */
		if (ado_az_authorization(&a->cred, c->method, url, headers, nh, c->body_len, auth, sizeof(auth), e) < 0)
			return -1;
		headers[nh++] = auth;
	}
	r.dest = s->url;
	r.object = c->object ? c->object : c->path ? c->path : "";
	r.op = c->op;
	r.method = c->method;
	r.url = url;
	r.headers = headers;
	r.nheaders = nh;
	r.body = c->body;
	r.body_len = c->body_len;
	r.write = c->write;
	r.arg = c->arg;
	r.ca_file = a->ca_file;
	r.auth_hint = AZ_AUTH_HINT;
	n = ado_sreq_do(&r, resp, e);
	OPENSSL_cleanse(auth, sizeof(auth));
	return n;
}

/* ---- upload: Put Block / Put Block List, or one Put Blob ---- */

struct az_up {
	struct ado_store *s;
	char *path;
	int meta;
};

static void block_id(unsigned index, char out[32])
{
	char raw[32];

	/* every id of a blob must have the same length: 16 bytes, base64 */
	snprintf(raw, sizeof(raw), "ado-%012u", index);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)raw, 16);
}

static void md5_header(const struct ado_part_sum *sum, char out[64])
{
	char b64[32];

	EVP_EncodeBlock((unsigned char *)b64, sum->md5, 16);
	snprintf(out, 64, "Content-MD5: %s", b64);
}

/* x-ms-content-crc64: the CRC's 8 bytes, least significant first, in base64 */
static void crc64_header(const struct ado_part_sum *sum, char out[64])
{
	unsigned char le[8];
	char b64[16];

	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)(sum->crc64 >> (8 * i));
	EVP_EncodeBlock((unsigned char *)b64, le, 8);
	snprintf(out, 64, "x-ms-content-crc64: %s", b64);
}

static const char *tier_header(struct az_up *u, char *buf, size_t len)
{
	struct az *a = u->s->state;

	if (u->meta || !a->tier)
		return NULL;
	snprintf(buf, len, "x-ms-access-tier: %s", a->tier);
	return buf;
}

static int up_begin(void *drv, struct ado_err *e)
{
	return 0;	/* blocks need no upload id: the block list is the commit */
}

static int up_put_part(void *drv, unsigned index, const void *buf, size_t len, const struct ado_part_sum *sum,
		       struct ado_err *e)
{
	struct az_up *u = drv;
	struct ado_sresp *resp = malloc(sizeof(*resp));
	char id[32], idq[64], query[128], crc[64];
	int rc;

	if (!resp)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	block_id(index, id);
	ado_url_encode(id, 0, idq, sizeof(idq));
	snprintf(query, sizeof(query), "comp=block&blockid=%s", idq);
	crc64_header(sum, crc);
	rc = az_call(u->s, &(struct az_call){ .op = "PutBlock", .method = "PUT", .path = u->path, .query = query,
					      .extra = { crc }, .body = buf, .body_len = len },
		     resp, e);
	free(resp);
	return rc;
}

static int up_commit(void *drv, unsigned nparts, struct ado_err *e)
{
	struct az_up *u = drv;
	struct ado_sresp *resp = malloc(sizeof(*resp));
	struct ado_buf b;
	char id[32], tier[64];
	int rc = -1;

	if (!resp)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	ado_buf_init(&b);
	ado_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	for (unsigned i = 0; i < nparts; i++) {
		block_id(i, id);
		ado_buf_printf(&b, "<Latest>%s</Latest>", id);
	}
	ado_buf_puts(&b, "</BlockList>");
	if (b.oom) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	rc = az_call(u->s, &(struct az_call){ .op = "PutBlockList", .method = "PUT", .path = u->path,
					      .query = "comp=blocklist",
					      .extra = { "Content-Type: application/xml", tier_header(u, tier, sizeof(tier)) },
					      .body = b.data, .body_len = b.len },
		     resp, e);
out:
	ado_buf_free(&b);
	free(resp);
	return rc;
}

static int up_put_whole(void *drv, const void *buf, size_t len, const struct ado_part_sum *sum, struct ado_err *e)
{
	struct az_up *u = drv;
	struct ado_sresp *resp = malloc(sizeof(*resp));
	char md5[64], tier[64];
	int rc;

	if (!resp)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	md5_header(sum, md5);
	rc = az_call(u->s, &(struct az_call){ .op = "PUT", .method = "PUT", .path = u->path,
					      .extra = { "x-ms-blob-type: BlockBlob", md5,
							 tier_header(u, tier, sizeof(tier)) },
					      .body = buf, .body_len = len },
		     resp, e);
	free(resp);
	return rc;
}

static void up_abort(void *drv)
{
	/* Uncommitted blocks cannot be deleted one by one, and the store may be
	 * what failed; they are invisible (no blob exists until the block list
	 * is put), and the job's next run discards them (az_clean_uploads). */
}

static void up_free(void *drv)
{
	struct az_up *u = drv;

	if (u) {
		free(u->path);
		free(u);
	}
}

static const struct ado_upload_ops up_ops = { up_begin, up_put_part, up_commit, up_put_whole, up_abort, up_free };

static int az_open_write(struct ado_store *s, const char *path, unsigned flags, struct ado_writer **out,
			 struct ado_err *e)
{
	struct az *a = s->state;
	struct az_up *u = calloc(1, sizeof(*u));

	*out = NULL;
	if (!u || !(u->path = strdup(path))) {
		free(u);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	u->s = s;
	u->meta = (flags & ADO_STORE_WRITE_META) != 0;
	*out = ado_upload_writer_new(&up_ops, u, a->block_size, ADO_SUM_CRC64, ADO_SUM_MD5, e);
	return *out ? 0 : -1;
}

/* ---- download: ranged GETs through the prefetching reader ---- */

struct az_down {
	struct ado_store *s;
	char *path;
};

struct range_sink {
	char *buf;
	size_t len, cap;
};

static int range_write(void *arg, const char *p, size_t n)
{
	struct range_sink *r = arg;

	if (n > r->cap - r->len)
		return -1;	/* more than asked for */
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	return 0;
}

static int down_get(void *drv, uint64_t off, size_t len, void *buf, size_t *got, uint64_t *total,
		    struct ado_err *e)
{
	struct az_down *d = drv;
	struct ado_sresp *resp = malloc(sizeof(*resp));
	struct range_sink rs = { buf, 0, len };
	char range[80], cr[128];
	const char *slash;
	int rc;

	if (!resp)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	snprintf(range, sizeof(range), "x-ms-range: bytes=%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + len - 1));
	rc = az_call(d->s, &(struct az_call){ .op = "GET", .method = "GET", .path = d->path, .extra = { range },
					      .write = range_write, .arg = &rs },
		     resp, e);
	if (rc < 0 && resp->status == 416) {
		/* past the end (or an empty blob): nothing more */
		ado_err_clear(e);
		*got = 0;
		*total = off;
		free(resp);
		return 0;
	}
	if (rc < 0 && e && e->kind == ADO_E_ARCHIVED && !e->hint[0])
		ado_err_hint(e, "the blob is in the Archive tier: ask for it with ado-restore --thaw REFERENCE "
			     "(then --wait), or ado-restore --thaw --wait REFERENCE --to-dir DIR");
	if (rc == 0) {
		*got = rs.len;
		if (ado_sresp_header(resp, "content-range", cr, sizeof(cr)) && (slash = strrchr(cr, '/')))
			*total = strtoull(slash + 1, NULL, 10);
		else
			*total = off + rs.len;	/* a 200 with the whole body */
	}
	free(resp);
	return rc;
}

static void down_free(void *drv)
{
	struct az_down *d = drv;

	if (d) {
		free(d->path);
		free(d);
	}
}

static const struct ado_download_ops down_ops = { down_get, down_free };

static int az_open_read(struct ado_store *s, const char *path, struct ado_reader **out, struct ado_err *e)
{
	struct az_down *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d || !(d->path = strdup(path))) {
		free(d);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	d->s = s;
	*out = ado_download_reader_new(&down_ops, d, ADO_DOWNLOAD_CHUNK, e);
	return *out ? 0 : -1;
}

/* ---- List Blobs ---- */

struct az_blob {
	char *name;		/* full blob name (prefix included) */
	int is_dir;		/* a BlobPrefix */
	uint64_t size;
	time_t mtime;
};

struct az_page {
	struct az_blob *v;
	size_t n;
	char *next_marker;
};

static void page_clear(struct az_page *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].name);
	free(p->v);
	free(p->next_marker);
	memset(p, 0, sizeof(*p));
}

static int buf_write(void *arg, const char *p, size_t n)
{
	struct ado_buf *b = arg;

	ado_buf_add(b, p, n);
	return b->oom ? -1 : 0;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, BAD_CAST name) == 0)
			return c;
	return NULL;
}

static char *text(xmlNodePtr n)
{
	xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
	char *s = t ? strdup((const char *)t) : NULL;

	xmlFree(t);
	return s;
}

static time_t parse_http_date(const char *s)
{
	struct tm tm = { 0 };

	if (!s || !strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm))
		return 0;
	return timegm(&tm);
}

/* <EnumerationResults><Blobs><Blob><Name/><Properties><Content-Length/>
 * <Last-Modified/></Properties></Blob><BlobPrefix><Name/></BlobPrefix></Blobs>
 * <NextMarker/></EnumerationResults> */
static int parse_page(struct ado_store *s, const char *xml, size_t len, struct az_page *p, struct ado_err *e)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
							       XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, blobs;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (!root || xmlStrcmp(root->name, BAD_CAST "EnumerationResults")) {
		ado_err_set(e, ADO_E_REMOTE, 0, "%s: ListBlobs: the answer is not a blob listing", s->url);
		goto out;
	}
	blobs = child(root, "Blobs");
	for (xmlNodePtr c = blobs ? blobs->children : NULL; c; c = c->next) {
		int dir;
		struct az_blob *nv, *b;
		char *v;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!xmlStrcmp(c->name, BAD_CAST "Blob"))
			dir = 0;
		else if (!xmlStrcmp(c->name, BAD_CAST "BlobPrefix"))
			dir = 1;
		else
			continue;
		if (!(nv = realloc(p->v, (p->n + 1) * sizeof(*nv))))
			goto oom;
		p->v = nv;
		b = &p->v[p->n];
		memset(b, 0, sizeof(*b));
		if (!(b->name = text(child(c, "Name"))))
			goto oom;
		p->n++;
		b->is_dir = dir;
		if (!dir) {
			xmlNodePtr props = child(c, "Properties");
			if ((v = text(child(props, "Content-Length")))) {
				b->size = strtoull(v, NULL, 10);
				free(v);
			}
			if ((v = text(child(props, "Last-Modified")))) {
				b->mtime = parse_http_date(v);
				free(v);
			}
		}
	}
	p->next_marker = text(child(root, "NextMarker"));
	if (p->next_marker && !*p->next_marker) {
		free(p->next_marker);
		p->next_marker = NULL;
	}
	rc = 0;
	goto out;
oom:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
out:
	if (rc < 0)
		page_clear(p);
	xmlFreeDoc(doc);
	return rc;
}

static int list_max(void)
{
	const char *v = getenv("ADO_AZURE_LIST_MAX");
	int n = v && *v ? atoi(v) : AZ_LIST_MAX;

	return n < 1 ? 1 : n > AZ_LIST_MAX ? AZ_LIST_MAX : n;
}

/* One page of blobs whose names start with prefix (below the store root),
 * grouped at '/' when delim. *marker is the page to fetch ("" the first). */
static int list_page(struct ado_store *s, const char *prefix, int delim, int uncommitted, const char *marker,
		     struct az_page *p, struct ado_err *e)
{
	struct az *a = s->state;
	struct ado_sresp *resp = malloc(sizeof(*resp));
	struct ado_buf body;
	char full[PATH_MAX], pq[PATH_MAX * 3], mq[2048], query[PATH_MAX * 3 + 2200];
	int rc = -1;

	if (!resp)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	ado_buf_init(&body);
	snprintf(full, sizeof(full), "%s%s", a->prefix, prefix);
	if (!ado_url_encode(full, 0, pq, sizeof(pq)) || !ado_url_encode(marker, 0, mq, sizeof(mq))) {
		ado_err_set(e, ADO_E_USAGE, 0, "%s: listing prefix too long: '%s'", s->url, prefix);
		goto out;
	}
	/* parameters in any order: SharedKey sorts them itself */
	snprintf(query, sizeof(query), "restype=container&comp=list&prefix=%s%s%s&maxresults=%d%s%s", pq,
		 delim ? "&delimiter=%2F" : "", uncommitted ? "&include=uncommittedblobs" : "", list_max(),
		 *marker ? "&marker=" : "", mq);
	if (az_call(s, &(struct az_call){ .op = "ListBlobs", .method = "GET", .object = *prefix ? prefix : "/",
					  .query = query, .write = buf_write, .arg = &body },
		    resp, e) < 0)
		goto out;
	if (body.oom) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	rc = parse_page(s, body.data, body.len, p, e);
out:
	ado_buf_free(&body);
	free(resp);
	return rc;
}

/* entries below dir: one level (delim) or every blob at any depth; with
 * uncommitted, also the names that have only uncommitted blocks */
static int list_mode(struct ado_store *s, const char *dir, int delim, int uncommitted, ado_store_list_cb cb, void *arg,
		     struct ado_err *e)
{
	struct az *a = s->state;
	char prefix[PATH_MAX];
	char *marker = strdup("");
	size_t skip;
	int rc = 0;

	if (!marker)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	snprintf(prefix, sizeof(prefix), "%s%s", dir, *dir && dir[strlen(dir) - 1] != '/' ? "/" : "");
	skip = strlen(a->prefix) + strlen(prefix);
	while (rc == 0) {
		struct az_page p;

		if (list_page(s, prefix, delim, uncommitted, marker, &p, e) < 0) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < p.n && rc == 0; i++) {
			struct ado_store_entry ent = { 0 };
			char name[PATH_MAX];
			size_t nl;

			if (strlen(p.v[i].name) <= skip)
				continue;
			snprintf(name, sizeof(name), "%s", p.v[i].name + skip);
			nl = strlen(name);
			if (p.v[i].is_dir && nl && name[nl - 1] == '/')
				name[nl - 1] = '\0';
			ent.name = name;
			ent.is_dir = p.v[i].is_dir;
			ent.size = p.v[i].size;
			ent.mtime = p.v[i].mtime;
			if (cb(&ent, arg))
				rc = 1;
		}
		free(marker);
		marker = p.next_marker;
		p.next_marker = NULL;
		page_clear(&p);
		if (!marker)
			break;
	}
	free(marker);
	return rc < 0 ? -1 : 0;
}

static int az_list(struct ado_store *s, const char *dir, ado_store_list_cb cb, void *arg, struct ado_err *e)
{
	return list_mode(s, dir, 1, 0, cb, arg, e);
}

static int az_list_tree(struct ado_store *s, const char *dir, ado_store_list_cb cb, void *arg, struct ado_err *e)
{
	return list_mode(s, dir, 0, 0, cb, arg, e);
}

/* ---- blocks a killed run left ---- */

static int az_remove(struct ado_store *s, const char *path, struct ado_err *e);

struct names {
	char **v;
	size_t n;
	int oom;
};

static int add_name(const struct ado_store_entry *ent, void *arg)
{
	struct names *ns = arg;
	char **nv = realloc(ns->v, (ns->n + 1) * sizeof(*nv));

	if (!nv || !(nv[ns->n] = strdup(ent->name))) {
		ns->oom = 1;
		if (nv)
			ns->v = nv;
		return 1;
	}
	ns->v = nv;
	ns->n++;
	return 0;
}

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Drop the uncommitted blocks of the blob at path, which has no committed
 * ones: commit an empty block list (the service discards every block not in
 * it), then delete the empty blob that made. */
static int discard_blocks(struct ado_store *s, const char *path, struct ado_err *e)
{
	static const char empty[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList></BlockList>";
	struct ado_sresp *resp = malloc(sizeof(*resp));
	int rc;

	if (!resp)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	rc = az_call(s, &(struct az_call){ .op = "PutBlockList", .method = "PUT", .path = path, .query = "comp=blocklist",
					   .extra = { "Content-Type: application/xml" }, .body = empty,
					   .body_len = sizeof(empty) - 1 },
		     resp, e);
	free(resp);
	return rc < 0 ? -1 : az_remove(s, path, e);
}

/* Blobs below dir that have only uncommitted blocks: the uploads of a run
 * that was killed (the job's lock is held, so no run of it is writing). List
 * Blobs shows them only with include=uncommittedblobs, without marking them,
 * so they are the names that listing has and the plain one has not. */
static int az_clean_uploads(struct ado_store *s, const char *dir, struct ado_err *e)
{
	struct names committed = { 0 }, all = { 0 };
	int cleaned = 0;

	if (list_mode(s, dir, 0, 0, add_name, &committed, e) < 0 || list_mode(s, dir, 0, 1, add_name, &all, e) < 0) {
		cleaned = -1;
		goto out;
	}
	if (committed.oom || all.oom) {
		cleaned = ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	/* a job keeping 30 days of 15-minute backups has some 15,000 blobs */
	if (committed.n)
		qsort(committed.v, committed.n, sizeof(*committed.v), by_name);
	for (size_t i = 0; i < all.n; i++) {
		char path[PATH_MAX];
		if (committed.n && bsearch(&all.v[i], committed.v, committed.n, sizeof(*committed.v), by_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, all.v[i]);
		if (discard_blocks(s, path, e) < 0) {
			cleaned = -1;
			break;
		}
		cleaned++;
	}
out:
	names_free(&committed);
	names_free(&all);
	return cleaned;
}

/* ---- delete ---- */

static int az_remove(struct ado_store *s, const char *path, struct ado_err *e)
{
	struct ado_sresp *resp = malloc(sizeof(*resp));
	int rc;

	if (!resp)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	rc = az_call(s, &(struct az_call){ .op = "DELETE", .method = "DELETE", .path = path,
					   .extra = { "x-ms-delete-snapshots: include" } },
		     resp, e);
	if (rc < 0 && resp->status == 404) {
		ado_err_clear(e);
		rc = 0;
	}
	free(resp);
	return rc;
}

static int az_remove_tree(struct ado_store *s, const char *dir, struct ado_err *e)
{
	struct az *a = s->state;
	char prefix[PATH_MAX];
	size_t skip = strlen(a->prefix);

	snprintf(prefix, sizeof(prefix), "%s%s", dir, *dir && dir[strlen(dir) - 1] != '/' ? "/" : "");
	/* delete page by page; each page is fetched from the start, as the
	 * blobs of the page before are gone */
	for (;;) {
		struct az_page p;
		size_t done = 0;

		if (list_page(s, prefix, 0, 0, "", &p, e) < 0)
			return -1;
		for (size_t i = 0; i < p.n; i++) {
			if (strlen(p.v[i].name) < skip)
				continue;
			if (az_remove(s, p.v[i].name + skip, e) < 0) {
				page_clear(&p);
				return -1;
			}
			done++;
		}
		page_clear(&p);
		if (done == 0)
			return 0;
	}
}

/* ---- properties: exists, readable, thaw ---- */

static int az_head(struct ado_store *s, const char *path, struct ado_sresp *resp, struct ado_err *e)
{
	return az_call(s, &(struct az_call){ .op = "HEAD", .method = "HEAD", .path = path }, resp, e);
}

static int az_exists(struct ado_store *s, const char *path, uint64_t *size, struct ado_err *e)
{
	struct ado_sresp *resp = malloc(sizeof(*resp));
	char v[32];
	int rc;

	if (!resp)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	rc = az_head(s, path, resp, e);
	if (rc == 0) {
		if (size)
			*size = ado_sresp_header(resp, "content-length", v, sizeof(v)) ? strtoull(v, NULL, 10) : 0;
		rc = 1;
	} else if (resp->status == 404) {
		/* no blob by that name: a "folder" exists when a blob is below it */
		struct az_page p;
		char prefix[PATH_MAX];

		ado_err_clear(e);
		snprintf(prefix, sizeof(prefix), "%s/", path);
		rc = list_page(s, prefix, 1, 0, "", &p, e);
		if (rc == 0) {
			rc = p.n > 0;
			if (size)
				*size = 0;
			page_clear(&p);
		}
	}
	free(resp);
	return rc;
}

static int az_readable(struct ado_store *s, const char *path, enum ado_readable *state, struct ado_err *e)
{
	struct ado_sresp *resp = malloc(sizeof(*resp));
	char tier[32], status[64];
	int rc;

	if (!resp)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	*state = ADO_READABLE_ONLINE;
	rc = az_head(s, path, resp, e);
	if (rc == 0 && ado_sresp_header(resp, "x-ms-access-tier", tier, sizeof(tier)) && !strcasecmp(tier, "Archive")) {
		/* x-ms-archive-status: rehydrate-pending-to-hot (or -cool, -cold) */
		if (ado_sresp_header(resp, "x-ms-archive-status", status, sizeof(status)) &&
		    !strncasecmp(status, "rehydrate-pending", 17))
			*state = ADO_READABLE_RESTORING;
		else
			*state = ADO_READABLE_ARCHIVED;
	}
	free(resp);
	return rc;
}

static int az_thaw(struct ado_store *s, const char *path, int days, const char *tier, struct ado_err *e)
{
	struct ado_sresp *resp = malloc(sizeof(*resp));
	enum ado_readable st;
	const char *prio = tier && !strcasecmp(tier, "Expedited") ? "x-ms-rehydrate-priority: High"
								  : "x-ms-rehydrate-priority: Standard";
	int rc;

	if (!resp)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	/* Only an archived blob is moved: Set Blob Tier on an online one would
	 * change its tier. Azure has no "for N days": a rehydrated blob stays Hot. */
	rc = az_readable(s, path, &st, e);
	if (rc == 0 && st == ADO_READABLE_ARCHIVED) {
		rc = az_call(s, &(struct az_call){ .op = "SetBlobTier", .method = "PUT", .path = path,
						   .query = "comp=tier",
						   .extra = { "x-ms-access-tier: Hot", prio } },
			     resp, e);
		if (rc < 0 && resp->status == 409 && !strcmp(resp->code, "BlobBeingRehydrated")) {
			ado_err_clear(e);
			rc = 0;
		}
	}
	free(resp);
	return rc;
}

/* ---- open ---- */

static void az_free(struct ado_store *s)
{
	struct az *a = s->state;

	if (!a)
		return;
	ado_az_cred_clear(&a->cred);
	free(a->container);
	free(a->prefix);
	free(a->ca_file);
	free(a->tier);
	free(a);
}

static const struct ado_store_ops az_ops = {
	.scheme = "azure",
	.open_write = az_open_write,
	.open_read = az_open_read,
	.list = az_list,
	.list_tree = az_list_tree,
	.remove = az_remove,
	.remove_tree = az_remove_tree,
	.exists = az_exists,
	.readable = az_readable,
	.thaw = az_thaw,
	.clean_uploads = az_clean_uploads,
	.free = az_free,
};

int ado_store_azure_open(const struct ado_dest *d, const struct ado_config *cfg, struct ado_store **out,
			 struct ado_err *e)
{
	const struct ado_azure_config *ac = cfg ? &cfg->azure : NULL;
	struct ado_store *s = calloc(1, sizeof(*s));
	struct az *a = calloc(1, sizeof(*a));
	const char *prefix = d->prefix ? d->prefix : "";
	size_t pl = strlen(prefix), ul;

	*out = NULL;
	if (!s || !a) {
		free(s);
		free(a);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	s->ops = &az_ops;
	s->state = a;
	ul = strlen(d->bucket) + pl + sizeof("azblob:///") + 1;
	if (!(s->url = malloc(ul)) || !(a->container = strdup(d->bucket)) || !(a->prefix = malloc(pl + 2)))
		goto oom;
	snprintf(a->prefix, pl + 2, "%s%s", prefix, pl && prefix[pl - 1] != '/' ? "/" : "");
	snprintf(s->url, ul, "azblob://%s/%s", d->bucket, a->prefix);
	if ((ac && ac->ca_file && !(a->ca_file = strdup(ac->ca_file))) ||
	    (ac && ac->access_tier && !(a->tier = strdup(ac->access_tier))))
		goto oom;
	if (a->tier) {
		/* the service spells the tiers capitalised */
		a->tier[0] = (char)toupper((unsigned char)a->tier[0]);
		for (char *p = a->tier + 1; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	a->block_size = ac && ac->block_size ? ac->block_size : AZ_BLOCK_DEFAULT;
	if (ado_az_cred_resolve(ac, &a->cred, e) < 0) {
		ado_err_prefix(e, "%s", s->url);
		ado_store_free(s);
		return -1;
	}
	if (!a->cred.account && !a->cred.sas) {
		ado_store_free(s);
		return ado_err_set(e, ADO_E_CONFIG, 0, "no Azure storage account is configured");
	}
	*out = s;
	return 0;
oom:
	ado_store_free(s);
	return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
}
