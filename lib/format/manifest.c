/* manifest.c - serialize and parse manifest.json (see man/ado-format.5).
 * Written with the json writer; read with libyaml (JSON is YAML). The HMAC
 * covers the bytes before the final `  "hmac": ` line, so the check does not
 * depend on re-serializing what was parsed. */
#include "format/manifest.h"

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

static void fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static time_t parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *end;

	if (!s)
		return 0;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return 0;
	return timegm(&tm);
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

/* --- parsing --- */
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

static const char *sval(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp((char *)n->data.scalar.value, "null") == 0)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static char *sdup(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	const char *s = sval(get(d, map, key));

	return s ? strdup(s) : NULL;
}

static long long ival(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	const char *s = sval(get(d, map, key));

	return s ? strtoll(s, NULL, 10) : 0;
}

static uint64_t uval(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	const char *s = sval(get(d, map, key));

	return s ? strtoull(s, NULL, 10) : 0;
}

static int bval(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	const char *s = sval(get(d, map, key));

	return s && strcmp(s, "true") == 0;
}

static int hexfield(yaml_document_t *d, yaml_node_t *map, const char *key, char out[65])
{
	const char *s = sval(get(d, map, key));

	if (!s || strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64)
		return -1;
	memcpy(out, s, 65);
	return 0;
}

static int parse_artifact(yaml_document_t *d, yaml_node_t *n, struct ado_artifact *a, size_t idx, struct ado_err *e)
{
	yaml_node_t *db;
	const char *comp;

	if (!n || n->type != YAML_MAPPING_NODE)
		return ado_err_set(e, ADO_E_FORMAT, 0, "manifest: artifact %zu is not an object", idx);
	a->name = sdup(d, n, "name");
	a->target = sdup(d, n, "target");
	a->kind = sdup(d, n, "kind");
	a->source = sdup(d, n, "source");
	a->format = sdup(d, n, "format");
	a->index = sdup(d, n, "index");
	if (!a->name || !a->kind || !a->format || strchr(a->name, '/') || a->name[0] == '.')
		return ado_err_set(e, ADO_E_FORMAT, 0, "manifest: artifact %zu lacks a valid name, kind or format", idx);
	comp = sval(get(d, n, "compression"));
	if (!comp || ado_compression_parse(comp, &a->compression) < 0)
		return ado_err_set(e, ADO_E_FORMAT, 0, "manifest: artifact '%s' has unknown compression", a->name);
	a->encrypted = bval(d, n, "encrypted");
	a->stored_size = uval(d, n, "stored_size");
	a->plain_size = uval(d, n, "plain_size");
	a->file_count = uval(d, n, "file_count");
	if (hexfield(d, n, "stored_sha256", a->stored_sha256) < 0 || hexfield(d, n, "plain_sha256", a->plain_sha256) < 0)
		return ado_err_set(e, ADO_E_FORMAT, 0, "manifest: artifact '%s' lacks a valid sha256", a->name);
	db = get(d, n, "database");
	if (db && db->type == YAML_MAPPING_NODE) {
		yaml_node_t *tabs = get(d, db, "tables");
		a->server_version = sdup(d, db, "server_version");
		a->pg_dump_version = sdup(d, db, "pg_dump_version");
		a->whole_database = bval(d, db, "whole_database");
		if (tabs && tabs->type == YAML_SEQUENCE_NODE) {
			size_t cnt = (size_t)(tabs->data.sequence.items.top - tabs->data.sequence.items.start);
			a->tables = calloc(cnt ? cnt : 1, sizeof(*a->tables));
			if (!a->tables)
				return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			for (size_t i = 0; i < cnt; i++) {
				yaml_node_t *t = yaml_document_get_node(d, tabs->data.sequence.items.start[i]);
				a->tables[i].name = sdup(d, t, "name");
				a->tables[i].rows = ival(d, t, "rows");
				a->ntables++;
				if (!a->tables[i].name)
					return ado_err_set(e, ADO_E_FORMAT, 0, "manifest: artifact '%s' table %zu has no name",
							   a->name, i);
			}
		}
	}
	return 0;
}

int ado_manifest_parse(const char *buf, size_t len, struct ado_keyring *k, struct ado_manifest **out,
		       int *authenticated, struct ado_err *e)
{
	yaml_parser_t p;
	yaml_document_t d;
	yaml_node_t *root, *enc, *arts, *warns;
	struct ado_manifest *m = NULL;
	int rc = -1, have_doc = 0;
	const char *mac;

	*out = NULL;
	if (authenticated)
		*authenticated = 0;
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
	if (ival(&d, root, "format") != 1) {
		ado_err_set(e, ADO_E_FORMAT, 0, "unsupported manifest format '%s'",
			    sval(get(&d, root, "format")) ? sval(get(&d, root, "format")) : "(none)");
		goto out;
	}
	if (!(m = ado_manifest_new())) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	m->job = sdup(&d, root, "job");
	m->id = sdup(&d, root, "id");
	m->host = sdup(&d, root, "host");
	m->tool_version = sdup(&d, root, "tool");
	m->started = parse_time(sval(get(&d, root, "started")));
	m->finished = parse_time(sval(get(&d, root, "finished")));
	m->rpo = ival(&d, root, "rpo_seconds");
	m->rto = ival(&d, root, "rto_seconds");
	if (!m->job || !m->id || ado_backup_id_time(m->id) == (time_t)-1) {
		ado_err_set(e, ADO_E_FORMAT, 0, "manifest lacks a valid job or id");
		goto out;
	}
	enc = get(&d, root, "encryption");
	if (enc && enc->type == YAML_MAPPING_NODE) {
		const char *kdf = sval(get(&d, enc, "kdf")), *kid = sval(get(&d, enc, "key_id"));
		m->encrypted = 1;
		if (kdf && strcmp(kdf, "scrypt") == 0) {
			m->kdf.kind = 1;
			m->kdf.log2n = (uint8_t)ival(&d, enc, "scrypt_log2n");
			m->kdf.r = (uint8_t)ival(&d, enc, "scrypt_r");
			m->kdf.p = (uint8_t)ival(&d, enc, "scrypt_p");
			if (unhex(sval(get(&d, enc, "scrypt_salt")), m->kdf.salt, sizeof(m->kdf.salt)) < 0) {
				ado_err_set(e, ADO_E_FORMAT, 0, "manifest: bad scrypt_salt");
				goto out;
			}
		} else if (!kdf || strcmp(kdf, "none") != 0) {
			ado_err_set(e, ADO_E_FORMAT, 0, "manifest: unknown kdf '%s'", kdf ? kdf : "(none)");
			goto out;
		}
		if (kid)
			snprintf(m->key_id, sizeof(m->key_id), "%s", kid);
	}
	arts = get(&d, root, "artifacts");
	if (!arts || arts->type != YAML_SEQUENCE_NODE) {
		ado_err_set(e, ADO_E_FORMAT, 0, "manifest has no artifacts list");
		goto out;
	}
	for (yaml_node_item_t *it = arts->data.sequence.items.start; it < arts->data.sequence.items.top; it++) {
		struct ado_artifact *a = ado_manifest_add_artifact(m);
		if (!a) {
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			goto out;
		}
		if (parse_artifact(&d, yaml_document_get_node(&d, *it), a, m->nartifacts - 1, e) < 0)
			goto out;
	}
	warns = get(&d, root, "warnings");
	if (warns && warns->type == YAML_SEQUENCE_NODE)
		for (yaml_node_item_t *it = warns->data.sequence.items.start; it < warns->data.sequence.items.top; it++) {
			const char *w = sval(yaml_document_get_node(&d, *it));
			if (w)
				ado_manifest_add_warning(m, "%s", w);
		}
	/* absent in manifests written before partial backups were recorded */
	warns = get(&d, root, "failed_targets");
	if (warns && warns->type == YAML_SEQUENCE_NODE)
		for (yaml_node_item_t *it = warns->data.sequence.items.start; it < warns->data.sequence.items.top; it++) {
			const char *w = sval(yaml_document_get_node(&d, *it));
			if (w && ado_manifest_add_failed_target(m, w) < 0) {
				ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
				goto out;
			}
		}
	mac = sval(get(&d, root, "hmac"));
	if (m->encrypted && k) {
		unsigned char master[ADO_KEY_LEN];
		char want[65], kid[ADO_KEYID_LEN + 1];
		const char *line = NULL;
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
		if (m->key_id[0] && strcmp(kid, m->key_id) != 0) {
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
		if (CRYPTO_memcmp(want, mac, 64) != 0 || strlen(mac) != 64) {
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
