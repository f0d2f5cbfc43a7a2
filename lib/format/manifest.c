/* manifest.c - serialize and parse manifest.json (see man/ado-format.5).
 * Written with the json writer; read with libyaml (JSON is YAML). The HMAC
 * covers the bytes before the final `  "hmac": ` line, so the check does not
 * depend on re-serializing what was parsed; what follows that line must be
 * exactly the line and the closing brace, so the HMAC answers for every byte. */
#include "format/manifest.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>
#include <openssl/crypto.h>

#include "ado.h"
#include "io/io.h"
#include "base/json.h"
#include "config/yamlcheck.h"

static const char HMAC_LINE[] = "\n  \"hmac\": ";

struct ado_manifest *ado_manifest_new(void)
{
	struct ado_manifest *m = calloc(1, sizeof(*m));

	if (m)
		m->format = 1;
	return m;
}

static void artifact_free(struct ado_artifact *a)
{
	free(a->name);
	free(a->target);
	free(a->kind);
	free(a->source);
	free(a->format);
	free(a->index);
	free(a->server_version);
	free(a->pg_dump_version);
	for (size_t i = 0; i < a->ntables; i++)
		free(a->tables[i].name);
	free(a->tables);
}

void ado_manifest_free(struct ado_manifest *m)
{
	if (!m)
		return;
	free(m->job);
	free(m->id);
	free(m->tool_version);
	free(m->host);
	for (size_t i = 0; i < m->nartifacts; i++)
		artifact_free(&m->artifacts[i]);
	free(m->artifacts);
	for (size_t i = 0; i < m->nwarnings; i++)
		free(m->warnings[i]);
	free(m->warnings);
	for (size_t i = 0; i < m->nfailed_targets; i++)
		free(m->failed_targets[i]);
	free(m->failed_targets);
	free(m);
}

struct ado_artifact *ado_manifest_add_artifact(struct ado_manifest *m)
{
	struct ado_artifact *n = realloc(m->artifacts, (m->nartifacts + 1) * sizeof(*n));

	if (!n)
		return NULL;
	m->artifacts = n;
	memset(&n[m->nartifacts], 0, sizeof(*n));
	return &n[m->nartifacts++];
}

int ado_manifest_add_warning(struct ado_manifest *m, const char *fmt, ...)
{
	char buf[2048], **n;
	va_list ap;

	if (m->nwarnings >= 1000)	/* keep the manifest bounded; the log has them all */
		return 0;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = realloc(m->warnings, (m->nwarnings + 1) * sizeof(*n));
	if (!n)
		return -1;
	m->warnings = n;
	n[m->nwarnings] = strdup(buf);
	if (!n[m->nwarnings])
		return -1;
	m->nwarnings++;
	return 0;
}

int ado_manifest_add_failed_target(struct ado_manifest *m, const char *name)
{
	char **n = realloc(m->failed_targets, (m->nfailed_targets + 1) * sizeof(*n));

	if (!n)
		return -1;
	m->failed_targets = n;
	if (!(n[m->nfailed_targets] = strdup(name)))
		return -1;
	m->nfailed_targets++;
	return 0;
}

const struct ado_artifact *ado_manifest_find(const struct ado_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->nartifacts; i++)
		if (strcmp(m->artifacts[i].name, name) == 0)
			return &m->artifacts[i];
	return NULL;
}

const struct ado_artifact *ado_manifest_index_of(const struct ado_manifest *m, const struct ado_artifact *a)
{
	const struct ado_artifact *ia = a->index ? ado_manifest_find(m, a->index) : NULL;

	return ia && strcmp(ia->kind, "files-index") == 0 ? ia : NULL;
}

static void fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	if (!s || strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

int ado_manifest_serialize(const struct ado_manifest *m, const unsigned char *master, char **out, size_t *len,
			   struct ado_err *e)
{
	struct ado_buf b;
	struct ado_json j;
	char t[32], salt[33];

	ado_buf_init(&b);
	ado_json_init(&j, &b, 1);
	ado_json_obj_begin(&j, NULL);
	ado_json_kint(&j, "format", m->format);
	ado_json_kstr(&j, "tool", m->tool_version);
	ado_json_kstr(&j, "job", m->job);
	ado_json_kstr(&j, "id", m->id);
	ado_json_kstr(&j, "host", m->host);
	fmt_time(m->started, t, sizeof(t));
	ado_json_kstr(&j, "started", t);
	fmt_time(m->finished, t, sizeof(t));
	ado_json_kstr(&j, "finished", t);
	ado_json_kint(&j, "rpo_seconds", m->rpo);
	ado_json_kint(&j, "rto_seconds", m->rto);
	if (m->encrypted) {
		ado_json_obj_begin(&j, "encryption");
		ado_json_kstr(&j, "cipher", "AES-256-GCM");
		ado_json_kstr(&j, "kdf", m->kdf.kind == 1 ? "scrypt" : "none");
		if (m->kdf.kind == 1) {
			ado_json_kint(&j, "scrypt_log2n", m->kdf.log2n);
			ado_json_kint(&j, "scrypt_r", m->kdf.r);
			ado_json_kint(&j, "scrypt_p", m->kdf.p);
			ado_hex(m->kdf.salt, sizeof(m->kdf.salt), salt);
			ado_json_kstr(&j, "scrypt_salt", salt);
		}
		ado_json_kstr(&j, "key_id", m->key_id);
		ado_json_obj_end(&j);
	} else {
		ado_json_knull(&j, "encryption");
	}
	ado_json_arr_begin(&j, "artifacts");
	for (size_t i = 0; i < m->nartifacts; i++) {
		const struct ado_artifact *a = &m->artifacts[i];
		ado_json_obj_begin(&j, NULL);
		ado_json_kstr(&j, "name", a->name);
		ado_json_kstr(&j, "target", a->target);
		ado_json_kstr(&j, "kind", a->kind);
		ado_json_kstr(&j, "source", a->source);
		ado_json_kstr(&j, "format", a->format);
		ado_json_kstr(&j, "compression", ado_compression_name(a->compression));
		ado_json_kbool(&j, "encrypted", a->encrypted);
		ado_json_kuint(&j, "stored_size", a->stored_size);
		ado_json_kstr(&j, "stored_sha256", a->stored_sha256);
		ado_json_kuint(&j, "plain_size", a->plain_size);
		if (a->plain_sha256[0])	/* not recorded for a files tar: its index holds each file's hash */
			ado_json_kstr(&j, "plain_sha256", a->plain_sha256);
		if (a->index || a->file_count)
			ado_json_kuint(&j, "file_count", a->file_count);
		if (a->index)
			ado_json_kstr(&j, "index", a->index);
		if (a->server_version || a->ntables || a->whole_database) {
			ado_json_obj_begin(&j, "database");
			ado_json_kstr(&j, "server_version", a->server_version);
			ado_json_kstr(&j, "pg_dump_version", a->pg_dump_version);
			ado_json_kbool(&j, "whole_database", a->whole_database);
			ado_json_arr_begin(&j, "tables");
			for (size_t k = 0; k < a->ntables; k++) {
				ado_json_obj_begin(&j, NULL);
				ado_json_kstr(&j, "name", a->tables[k].name);
				ado_json_kint(&j, "rows", a->tables[k].rows);
				ado_json_obj_end(&j);
			}
			ado_json_arr_end(&j);
			ado_json_obj_end(&j);
		}
		ado_json_obj_end(&j);
	}
	ado_json_arr_end(&j);
	ado_json_arr_begin(&j, "warnings");
	for (size_t i = 0; i < m->nwarnings; i++)
		ado_json_kstr(&j, NULL, m->warnings[i]);
	ado_json_arr_end(&j);
	ado_json_arr_begin(&j, "failed_targets");
	for (size_t i = 0; i < m->nfailed_targets; i++)
		ado_json_kstr(&j, NULL, m->failed_targets[i]);
	ado_json_arr_end(&j);
	ado_json_knull(&j, "hmac");
	ado_json_obj_end(&j);
	ado_buf_puts(&b, "\n");
	if (b.oom) {
		ado_buf_free(&b);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	if (master) {
		/* replace the trailing null by the MAC of everything before the hmac line */
		char *p = memmem(b.data, b.len, HMAC_LINE, sizeof(HMAC_LINE) - 1);
		char mac[65];
		struct ado_buf nb;
		size_t body;
		if (!p) {
			ado_buf_free(&b);
			return ado_err_set(e, ADO_E_INTERNAL, 0, "manifest writer lost its hmac line");
		}
		body = (size_t)(p - b.data) + 1;
		if (ado_manifest_mac(master, b.data, body, mac, e) < 0) {
			ado_buf_free(&b);
			return -1;
		}
		ado_buf_init(&nb);
		ado_buf_add(&nb, b.data, body);
		ado_buf_printf(&nb, "  \"hmac\": \"%s\"\n}\n", mac);
		ado_buf_free(&b);
		b = nb;
		if (b.oom) {
			ado_buf_free(&b);
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		}
	}
	*out = b.data;
	*len = b.len;
	return 0;
}

/* --- parsing ---
 * Every field is checked here, once, for its JSON type and range: the tools
 * never meet a NULL or a value the format does not allow. JSON is read as
 * YAML, so a JSON string is a double-quoted scalar and a number, true,
 * false or null a plain one. */
struct pctx {
	yaml_document_t *d;
	struct ado_err *e;
	char where[300];	/* "manifest" or "manifest: artifact 'NAME'" */
};

static yaml_node_t *get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static int is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	return is_plain(n) && (!*v || strcmp(v, "null") == 0 || strcmp(v, "~") == 0);
}

static const char *type_name(const yaml_node_t *n)
{
	const char *v;

	if (!n)
		return "nothing";
	if (n->type == YAML_MAPPING_NODE)
		return "an object";
	if (n->type == YAML_SEQUENCE_NODE)
		return "an array";
	if (n->type != YAML_SCALAR_NODE)
		return "something else";
	if (!is_plain(n))
		return "a string";
	if (is_null(n))
		return "null";
	v = (const char *)n->data.scalar.value;
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
		return "a boolean";
	return "a number";
}

static int bad_type(struct pctx *c, const char *key, const char *want, const yaml_node_t *n)
{
	return ado_err_set(c->e, ADO_E_FORMAT, 0, "%s: '%s' must be %s, found %s", c->where, key, want, type_name(n));
}

/* A string member: required, or optional (absent or null gives NULL). */
static int f_str(struct pctx *c, yaml_node_t *map, const char *key, int required, char **out)
{
	yaml_node_t *n = get(c->d, map, key);

	*out = NULL;
	if (!required && (!n || (n->type == YAML_SCALAR_NODE && is_null(n))))
		return 0;
	if (!n || n->type != YAML_SCALAR_NODE || is_plain(n) || strlen((char *)n->data.scalar.value) != n->data.scalar.length)
		return bad_type(c, key, "a string", n);
	if (required && !n->data.scalar.length)
		return ado_err_set(c->e, ADO_E_FORMAT, 0, "%s: '%s' is empty", c->where, key);
	if (!(*out = strdup((char *)n->data.scalar.value)))
		return ado_err_set(c->e, ADO_E_NOMEM, 0, "out of memory");
	return 0;
}

/* The digits of a number member: 1 and *v NULL when it is optional and
 * absent, 0 with *v set, -1 when it is not a whole number. */
static int f_digits(struct pctx *c, yaml_node_t *map, const char *key, int required, const char *sign,
		    const char **v)
{
	yaml_node_t *n = get(c->d, map, key);
	char accept[16];

	*v = NULL;
	if (!required && !n)
		return 1;
	if (!n || !is_plain(n) || is_null(n))
		return bad_type(c, key, "a number", n);
	*v = (const char *)n->data.scalar.value;
	snprintf(accept, sizeof(accept), "%s0123456789", sign);
	if (!**v || strspn(*v, accept) != strlen(*v))
		return bad_type(c, key, *sign ? "a whole number" : "a whole number from 0", n);
	return 0;
}

/* A whole number in [min, max]; absent and optional: 0. */
static int f_int(struct pctx *c, yaml_node_t *map, const char *key, int required, long long min, long long max,
		 long long *out)
{
	const char *v;
	char *end;
	int r = f_digits(c, map, key, required, "-", &v);

	*out = 0;
	if (r)
		return r < 0 ? -1 : 0;
	errno = 0;
	*out = strtoll(v, &end, 10);
	if (end == v || *end || errno || *out < min || *out > max)
		return ado_err_set(c->e, ADO_E_FORMAT, 0, "%s: '%s' is %.30s, outside %lld..%lld", c->where, key, v, min,
				   max);
	return 0;
}

/* A size or count: a whole number from 0 to 2^64-1; absent and optional: 0. */
static int f_uint(struct pctx *c, yaml_node_t *map, const char *key, int required, uint64_t *out)
{
	const char *v;
	char *end;
	int r = f_digits(c, map, key, required, "", &v);

	*out = 0;
	if (r)
		return r < 0 ? -1 : 0;
	errno = 0;
	*out = strtoull(v, &end, 10);
	if (end == v || *end || errno)
		return ado_err_set(c->e, ADO_E_FORMAT, 0, "%s: '%s' is %.30s, outside 0..%llu", c->where, key, v,
				   (unsigned long long)UINT64_MAX);
	return 0;
}

static int f_bool(struct pctx *c, yaml_node_t *map, const char *key, int *out)
{
	yaml_node_t *n = get(c->d, map, key);
	const char *v = n && is_plain(n) ? (const char *)n->data.scalar.value : "";

	*out = strcmp(v, "true") == 0;
	if (!*out && strcmp(v, "false") != 0)
		return bad_type(c, key, "true or false", n);
	return 0;
}

/* An object, an array, or (optional) absent/null: *out NULL. */
static int f_node(struct pctx *c, yaml_node_t *map, const char *key, yaml_node_type_t type, int required,
		  yaml_node_t **out)
{
	yaml_node_t *n = get(c->d, map, key);

	*out = NULL;
	if (!required && (!n || (n->type == YAML_SCALAR_NODE && is_null(n))))
		return 0;
	if (!n || n->type != type)
		return bad_type(c, key, type == YAML_MAPPING_NODE ? "an object" : "an array", n);
	*out = n;
	return 0;
}

/* 64 lower-case hex digits; optional and absent: "" (null is not absent:
 * a writer that records no hash leaves the member out) */
static int f_sha(struct pctx *c, yaml_node_t *map, const char *key, int required, char out[65])
{
	char *s;

	out[0] = '\0';
	if (!required && !get(c->d, map, key))
		return 0;
	if (f_str(c, map, key, 1, &s) < 0)
		return -1;
	if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64) {
		free(s);
		return ado_err_set(c->e, ADO_E_FORMAT, 0, "%s: '%s' must be 64 lower-case hex digits", c->where, key);
	}
	memcpy(out, s, 65);
	free(s);
	return 0;
}

static int f_time(struct pctx *c, yaml_node_t *map, const char *key, time_t *out)
{
	struct tm tm = { 0 };
	const char *end;
	char *s;
	int ok;

	if (f_str(c, map, key, 1, &s) < 0)
		return -1;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	ok = end && !*end;
	free(s);
	if (!ok)
		return ado_err_set(c->e, ADO_E_FORMAT, 0, "%s: '%s' must be a UTC time like 2026-11-25T22:15:00Z", c->where,
				   key);
	*out = timegm(&tm);
	return 0;
}

/* The artifact kinds and the format each has. */
static const struct {
	const char *kind, *format;
} KINDS[] = { { "files", "tar" }, { "files-index", "tsv" }, { "database", "pg_dump-custom" } };

static int parse_tables(struct pctx *c, yaml_node_t *tabs, struct ado_artifact *a)
{
	size_t cnt = (size_t)(tabs->data.sequence.items.top - tabs->data.sequence.items.start);

	if (!(a->tables = calloc(cnt ? cnt : 1, sizeof(*a->tables))))
		return ado_err_set(c->e, ADO_E_NOMEM, 0, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *t = yaml_document_get_node(c->d, tabs->data.sequence.items.start[i]);
		long long rows;
		if (!t || t->type != YAML_MAPPING_NODE)
			return ado_err_set(c->e, ADO_E_FORMAT, 0, "%s: table %zu must be an object, found %s", c->where, i,
					   type_name(t));
		a->ntables++;
		if (f_str(c, t, "name", 1, &a->tables[i].name) < 0 || f_int(c, t, "rows", 1, 0, INT64_MAX, &rows) < 0)
			return -1;
		a->tables[i].rows = rows;
	}
	return 0;
}

static int parse_artifact(yaml_document_t *d, yaml_node_t *n, struct ado_artifact *a, size_t idx, int encrypted,
			  struct ado_err *e)
{
	struct pctx c = { d, e, "" };
	yaml_node_t *db, *tabs;
	char *comp = NULL;
	size_t k;

	snprintf(c.where, sizeof(c.where), "manifest: artifact %zu", idx);
	if (!n || n->type != YAML_MAPPING_NODE)
		return ado_err_set(e, ADO_E_FORMAT, 0, "%s must be an object, found %s", c.where, type_name(n));
	if (f_str(&c, n, "name", 1, &a->name) < 0)
		return -1;
	if (strchr(a->name, '/') || a->name[0] == '.' || strcmp(a->name, ADO_MANIFEST_NAME) == 0 ||
	    strcmp(a->name, ADO_SUMS_NAME) == 0)
		return ado_err_set(e, ADO_E_FORMAT, 0, "%s: bad name '%.200s'", c.where, a->name);
	snprintf(c.where, sizeof(c.where), "manifest: artifact '%.200s'", a->name);
	if (f_str(&c, n, "target", 1, &a->target) < 0 || f_str(&c, n, "kind", 1, &a->kind) < 0 ||
	    f_str(&c, n, "source", 1, &a->source) < 0 || f_str(&c, n, "format", 1, &a->format) < 0 ||
	    f_str(&c, n, "index", 0, &a->index) < 0 || f_str(&c, n, "compression", 1, &comp) < 0)
		goto fail;
	for (k = 0; k < sizeof(KINDS) / sizeof(KINDS[0]); k++)
		if (strcmp(a->kind, KINDS[k].kind) == 0)
			break;
	if (k == sizeof(KINDS) / sizeof(KINDS[0])) {
		ado_err_set(e, ADO_E_FORMAT, 0, "%s has unknown kind '%.40s'", c.where, a->kind);
		ado_err_hint(e, "this version knows the kinds files, files-index and database; a newer ado-dr may have written it");
		goto fail;
	}
	if (strcmp(a->format, KINDS[k].format) != 0) {
		ado_err_set(e, ADO_E_FORMAT, 0, "%s: kind '%s' has format '%s', not '%.40s'", c.where, a->kind,
			    KINDS[k].format, a->format);
		goto fail;
	}
	if (ado_compression_parse(comp, &a->compression) < 0) {
		ado_err_set(e, ADO_E_FORMAT, 0, "%s has unknown compression '%.40s'", c.where, comp);
		goto fail;
	}
	free(comp);
	comp = NULL;
	if (f_bool(&c, n, "encrypted", &a->encrypted) < 0 || f_uint(&c, n, "stored_size", 1, &a->stored_size) < 0 ||
	    f_uint(&c, n, "plain_size", 1, &a->plain_size) < 0 || f_sha(&c, n, "stored_sha256", 1, a->stored_sha256) < 0 ||
	    f_sha(&c, n, "plain_sha256", strcmp(a->kind, "files") != 0, a->plain_sha256) < 0 ||
	    f_uint(&c, n, "file_count", strcmp(a->kind, "files") == 0, &a->file_count) < 0 ||
	    f_node(&c, n, "database", YAML_MAPPING_NODE, 0, &db) < 0)
		goto fail;
	if (a->encrypted != encrypted)
		return ado_err_set(e, ADO_E_FORMAT, 0, "%s says it is %sencrypted, the manifest says the backup is %s", c.where,
				   a->encrypted ? "" : "not ", encrypted ? "encrypted" : "not");
	/* a files tar may leave plain_sha256 out only because its index lists
	 * every file's hash, checked as each file is restored */
	if (strcmp(a->kind, "files") == 0 && !a->index && !a->plain_sha256[0])
		return ado_err_set(e, ADO_E_FORMAT, 0, "%s: no plain_sha256 and no index to check its files against",
				   c.where);
	if (strcmp(a->kind, "files") == 0 && !a->index)
		return ado_err_set(e, ADO_E_FORMAT, 0, "%s has no index", c.where);
	if (db) {
		if (strcmp(a->kind, "database") != 0)
			return ado_err_set(e, ADO_E_FORMAT, 0, "%s: kind '%s' has no 'database' member", c.where, a->kind);
		if (f_str(&c, db, "server_version", 0, &a->server_version) < 0 ||
		    f_str(&c, db, "pg_dump_version", 0, &a->pg_dump_version) < 0 ||
		    f_bool(&c, db, "whole_database", &a->whole_database) < 0 ||
		    f_node(&c, db, "tables", YAML_SEQUENCE_NODE, 1, &tabs) < 0 || parse_tables(&c, tabs, a) < 0)
			return -1;
	} else if (strcmp(a->kind, "database") == 0) {
		return ado_err_set(e, ADO_E_FORMAT, 0, "%s has no 'database' object", c.where);
	}
	return 0;
fail:
	free(comp);
	return -1;
}

/* What one artifact says about the others: unique names, an index that is there. */
static int check_artifacts(const struct ado_manifest *m, struct ado_err *e)
{
	for (size_t i = 0; i < m->nartifacts; i++) {
		const struct ado_artifact *a = &m->artifacts[i];
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->artifacts[j].name, a->name) == 0)
				return ado_err_set(e, ADO_E_FORMAT, 0, "manifest: artifact '%.200s' is listed twice", a->name);
		if (!a->index || ado_manifest_index_of(m, a))
			continue;
		if (!a->plain_sha256[0])
			return ado_err_set(e, ADO_E_FORMAT, 0, "manifest: artifact '%.200s': no plain_sha256 and no index to check its files against ('%.200s' is not a files-index artifact of the backup)",
					   a->name, a->index);
		return ado_err_set(e, ADO_E_FORMAT, 0, "manifest: artifact '%.200s' names index '%.200s', which is not a files-index artifact of the backup",
				   a->name, a->index);
	}
	return 0;
}

static int parse_encryption(struct pctx *c, yaml_node_t *enc, struct ado_manifest *m)
{
	char *cipher = NULL, *kdf = NULL, *kid = NULL, *salt = NULL;
	long long v[3];
	int rc = -1;

	snprintf(c->where, sizeof(c->where), "manifest: encryption");
	m->encrypted = 1;
	if (f_str(c, enc, "cipher", 1, &cipher) < 0 || f_str(c, enc, "kdf", 1, &kdf) < 0 ||
	    f_str(c, enc, "key_id", 1, &kid) < 0)
		goto out;
	if (strcmp(cipher, "AES-256-GCM") != 0) {
		ado_err_set(c->e, ADO_E_FORMAT, 0, "manifest: unknown cipher '%.40s'", cipher);
		goto out;
	}
	if (strlen(kid) != ADO_KEYID_LEN || strspn(kid, "0123456789abcdef") != ADO_KEYID_LEN) {
		ado_err_set(c->e, ADO_E_FORMAT, 0, "manifest: encryption: 'key_id' must be %d lower-case hex digits",
			    ADO_KEYID_LEN);
		goto out;
	}
	memcpy(m->key_id, kid, ADO_KEYID_LEN + 1);
	if (strcmp(kdf, "scrypt") == 0) {
		m->kdf.kind = 1;
		if (f_int(c, enc, "scrypt_log2n", 1, 1, 30, &v[0]) < 0 || f_int(c, enc, "scrypt_r", 1, 1, 255, &v[1]) < 0 ||
		    f_int(c, enc, "scrypt_p", 1, 1, 255, &v[2]) < 0 || f_str(c, enc, "scrypt_salt", 1, &salt) < 0)
			goto out;
		m->kdf.log2n = (uint8_t)v[0];
		m->kdf.r = (uint8_t)v[1];
		m->kdf.p = (uint8_t)v[2];
		if (unhex(salt, m->kdf.salt, sizeof(m->kdf.salt)) < 0) {
			ado_err_set(c->e, ADO_E_FORMAT, 0, "manifest: bad scrypt_salt");
			goto out;
		}
	} else if (strcmp(kdf, "none") != 0) {
		ado_err_set(c->e, ADO_E_FORMAT, 0, "manifest: unknown kdf '%.40s'", kdf);
		goto out;
	}
	rc = 0;
out:
	free(cipher);
	free(kdf);
	free(kid);
	free(salt);
	return rc;
}

int ado_manifest_parse(const char *buf, size_t len, struct ado_keyring *k, int require_auth,
		       struct ado_manifest **out, int *authenticated, struct ado_err *e)
{
	yaml_parser_t p;
	yaml_document_t d;
	yaml_node_t *root, *enc, *arts, *warns, *failed, *macn;
	struct ado_manifest *m = NULL;
	struct pctx c = { &d, e, "manifest" };
	int rc = -1, have_doc = 0;
	long long fmt, rpo, rto;
	char *mac = NULL;

	*out = NULL;
	if (authenticated)
		*authenticated = 0;
	if (len == 0)
		return ado_err_set(e, ADO_E_FORMAT, 0, "manifest is empty");
	if (ado_yaml_check("manifest", buf, len, ADO_MANIFEST_MAX, ADO_YAML_MAX_DEPTH, ADO_E_FORMAT, e) < 0)
		return -1;
	if (!yaml_parser_initialize(&p))
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &d)) {
		ado_err_set(e, ADO_E_FORMAT, 0, "manifest is not valid JSON: %s at line %zu", p.problem ? p.problem : "?",
			    p.problem_mark.line + 1);
		goto out;
	}
	have_doc = 1;
	root = yaml_document_get_root_node(&d);
	if (!root || root->type != YAML_MAPPING_NODE) {
		ado_err_set(e, ADO_E_FORMAT, 0, "manifest is not a JSON object");
		goto out;
	}
	if (f_int(&c, root, "format", 1, LLONG_MIN, LLONG_MAX, &fmt) < 0)
		goto out;
	if (fmt != 1) {
		ado_err_set(e, ADO_E_FORMAT, 0, "unsupported manifest format %lld", fmt);
		ado_err_hint(e, "this version reads format 1; a newer ado-dr may have written it");
		goto out;
	}
	if (!(m = ado_manifest_new())) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	if (f_str(&c, root, "job", 1, &m->job) < 0 || f_str(&c, root, "id", 1, &m->id) < 0 ||
	    f_str(&c, root, "host", 1, &m->host) < 0 || f_str(&c, root, "tool", 1, &m->tool_version) < 0 ||
	    f_time(&c, root, "started", &m->started) < 0 || f_time(&c, root, "finished", &m->finished) < 0 ||
	    f_int(&c, root, "rpo_seconds", 1, 0, LLONG_MAX, &rpo) < 0 ||
	    f_int(&c, root, "rto_seconds", 1, 0, LLONG_MAX, &rto) < 0 ||
	    f_node(&c, root, "encryption", YAML_MAPPING_NODE, 0, &enc) < 0 ||
	    f_node(&c, root, "artifacts", YAML_SEQUENCE_NODE, 1, &arts) < 0 ||
	    f_node(&c, root, "warnings", YAML_SEQUENCE_NODE, 1, &warns) < 0)
		goto out;
	m->rpo = rpo;
	m->rto = rto;
	if (ado_backup_id_time(m->id) == (time_t)-1 || strchr(m->job, '/') || m->job[0] == '.') {
		ado_err_set(e, ADO_E_FORMAT, 0, "manifest lacks a valid job or id");
		goto out;
	}
	if (enc && parse_encryption(&c, enc, m) < 0)
		goto out;
	if (require_auth && !m->encrypted) {
		/* never trust the manifest's own word that it needs no key: an
		 * attacker without the key writes exactly that */
		ado_err_set(e, ADO_E_AUTH, 0, "manifest of '%s/%s' is not authenticated: it claims no encryption, but the job is encrypted or a key is loaded",
			    m->job, m->id);
		ado_err_hint(e, "a backup of an encrypted job without an hmac was not written by ado-backup with the key: do not trust it");
		goto out;
	}
	for (yaml_node_item_t *it = arts->data.sequence.items.start; it < arts->data.sequence.items.top; it++) {
		struct ado_artifact *a = ado_manifest_add_artifact(m);
		if (!a) {
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			goto out;
		}
		if (parse_artifact(&d, yaml_document_get_node(&d, *it), a, m->nartifacts - 1, m->encrypted, e) < 0)
			goto out;
	}
	if (check_artifacts(m, e) < 0)
		goto out;
	for (yaml_node_item_t *it = warns->data.sequence.items.start; it < warns->data.sequence.items.top; it++) {
		yaml_node_t *w = yaml_document_get_node(&d, *it);
		if (!w || w->type != YAML_SCALAR_NODE || is_plain(w)) {
			ado_err_set(e, ADO_E_FORMAT, 0, "manifest: each of 'warnings' must be a string, found %s", type_name(w));
			goto out;
		}
		if (ado_manifest_add_warning(m, "%s", (const char *)w->data.scalar.value) < 0) {
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			goto out;
		}
	}
	/* absent in manifests written before partial backups were recorded */
	if (f_node(&c, root, "failed_targets", YAML_SEQUENCE_NODE, 0, &failed) < 0)
		goto out;
	for (yaml_node_item_t *it = failed ? failed->data.sequence.items.start : NULL;
	     failed && it < failed->data.sequence.items.top; it++) {
		yaml_node_t *w = yaml_document_get_node(&d, *it);
		if (!w || w->type != YAML_SCALAR_NODE || is_plain(w) || !w->data.scalar.length) {
			ado_err_set(e, ADO_E_FORMAT, 0, "manifest: each of 'failed_targets' must be a target name, found %s",
				    type_name(w));
			goto out;
		}
		if (ado_manifest_add_failed_target(m, (const char *)w->data.scalar.value) < 0) {
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			goto out;
		}
	}
	snprintf(c.where, sizeof(c.where), "manifest");
	if (f_str(&c, root, "hmac", 0, &mac) < 0)
		goto out;
	macn = get(&d, root, "hmac");
	if (!macn) {
		ado_err_set(e, ADO_E_FORMAT, 0, "manifest: 'hmac' is missing (null when not encrypted)");
		goto out;
	}
	if (m->encrypted && k) {
		unsigned char master[ADO_KEY_LEN];
		char want[65], kid[ADO_KEYID_LEN + 1], tail[96];
		const char *line = NULL;
		size_t tlen;
		/* the last hmac line: the body is everything before it */
		for (const char *s = buf; (s = memmem(s, len - (size_t)(s - buf), HMAC_LINE, sizeof(HMAC_LINE) - 1));
		     s++)
			line = s;
		if (!mac || !line) {
			ado_err_set(e, ADO_E_AUTH, 0, "manifest of '%s/%s' is not authenticated (no hmac)", m->job, m->id);
			goto out;
		}
		if (ado_keyring_master(k, &m->kdf, master, e) < 0)
			goto out;
		ado_key_id(master, kid);
		if (strcmp(kid, m->key_id) != 0) {
			OPENSSL_cleanse(master, sizeof(master));
			ado_err_set(e, ADO_E_WRONGKEY, 0, "wrong key: backup '%s/%s' was made with key id %s, this key's id is %s",
				    m->job, m->id, m->key_id, kid);
			ado_err_hint(e, "point key_file / ADO_KEY_FILE (or ADO_PASSPHRASE) at the key with id %s", m->key_id);
			goto out;
		}
		rc = ado_manifest_mac(master, buf, (size_t)(line - buf) + 1, want, e);
		OPENSSL_cleanse(master, sizeof(master));
		if (rc < 0)
			goto out;
		rc = -1;
		/* the tail after the body is fixed, so the MAC answers for every byte */
		snprintf(tail, sizeof(tail), "  \"hmac\": \"%s\"\n}\n", want);
		tlen = strlen(tail);
		if (len - (size_t)(line + 1 - buf) != tlen || CRYPTO_memcmp(line + 1, tail, tlen) != 0 ||
		    strlen(mac) != 64) {
			ado_err_set(e, ADO_E_AUTH, 0, "manifest of '%s/%s' failed authentication: it was altered", m->job,
				    m->id);
			goto out;
		}
		if (authenticated)
			*authenticated = 1;
	}
	*out = m;
	m = NULL;
	rc = 0;
out:
	free(mac);
	ado_manifest_free(m);
	if (have_doc)
		yaml_document_delete(&d);
	yaml_parser_delete(&p);
	return rc;
}

int ado_manifest_sums(const struct ado_manifest *m, char **out, size_t *len, struct ado_err *e)
{
	struct ado_buf b;

	ado_buf_init(&b);
	for (size_t i = 0; i < m->nartifacts; i++)
		ado_buf_printf(&b, "%s  %s\n", m->artifacts[i].stored_sha256, m->artifacts[i].name);
	if (b.oom) {
		ado_buf_free(&b);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	if (!b.data) {
		b.data = strdup("");
		if (!b.data)
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	*out = b.data;
	*len = b.len;
	return 0;
}

void ado_backup_id(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y%m%dT%H%M%SZ", &tm);
}

time_t ado_backup_id_time(const char *id)
{
	struct tm tm = { 0 };
	const char *end;

	if (!id || strlen(id) != 16)
		return (time_t)-1;
	end = strptime(id, "%Y%m%dT%H%M%SZ", &tm);
	if (!end || *end)
		return (time_t)-1;
	return timegm(&tm);
}
