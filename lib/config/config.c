/* config.c - backup-strategy.yml -> struct ado_config: loading and the walk.
 *
 * The whole file is loaded with libyaml's document API and then walked. Every
 * mapping is checked against the keys it may hold: a misspelt key is an error,
 * never ignored, because an ignored `retention:` or `encryption:` silently
 * changes what a backup keeps or protects.
 *
 * Here: the node helpers and error reporting every section parser shares
 * (declared in internal.h), the top level, loading, lookups and freeing.
 * The sections: jobs.c (backup_jobs), storage.c, notifications.c, secrets.c
 * (secret references, encryption, databases) and duration.c. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "config/internal.h"
#include "config/yamlcheck.h"

#define MAX_CONFIG_BYTES (16u * 1024 * 1024)

/* ---- small helpers ---------------------------------------------------- */

yaml_node_t *cfg_node_at(struct pctx *p, int idx)
{
	return yaml_document_get_node(p->doc, idx);
}

const char *cfg_sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

int cfg_perr(struct pctx *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ado_err_set(p->e, ADO_E_CONFIG, 0, "%s:%zu:%zu: %s", p->file, n->start_mark.line + 1,
			   n->start_mark.column + 1, msg);
}

int cfg_nomem(struct pctx *p)
{
	return ado_err_set(p->e, ADO_E_NOMEM, ENOMEM, "cannot load config '%s'", p->file);
}

char *cfg_xdup(struct pctx *p, const char *s)
{
	char *d = strdup(s);

	if (!d)
		cfg_nomem(p);
	return d;
}

/* Replace *slot (a default) with a copy of s. */
int cfg_set_str(struct pctx *p, char **slot, const char *s)
{
	char *d = cfg_xdup(p, s);

	if (!d)
		return -1;
	free(*slot);
	*slot = d;
	return 0;
}

/* Grow an array by one zeroed element; returns it or NULL (error set). */
void *cfg_grow(struct pctx *p, void **arr, size_t *n, size_t size)
{
	char *a = realloc(*arr, (*n + 1) * size);

	if (!a) {
		cfg_nomem(p);
		return NULL;
	}
	*arr = a;
	memset(a + *n * size, 0, size);
	return a + (*n)++ * size;
}

static int is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = cfg_sval(n);
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* What was found, for "expected X, found Y". Scalars are quoted and cut short. */
const char *cfg_found(const yaml_node_t *n, char *buf, size_t len)
{
	if (!n)
		snprintf(buf, len, "nothing");
	else if (n->type == YAML_MAPPING_NODE)
		snprintf(buf, len, "a mapping");
	else if (n->type == YAML_SEQUENCE_NODE)
		snprintf(buf, len, "a list");
	else if (is_null(n))
		snprintf(buf, len, "an empty value");
	else if (n->data.scalar.length > 60)
		snprintf(buf, len, "'%.57s...'", cfg_sval(n));
	else
		snprintf(buf, len, "'%s'", cfg_sval(n));
	return buf;
}

int cfg_want_map(struct pctx *p, const yaml_node_t *n, const char *what)
{
	char fbuf[96];

	if (n->type == YAML_MAPPING_NODE)
		return 0;
	return cfg_perr(p, n, "expected a mapping for %s, found %s", what, FOUND(n));
}

int cfg_want_seq(struct pctx *p, const yaml_node_t *n, const char *what)
{
	char fbuf[96];

	if (n->type == YAML_SEQUENCE_NODE)
		return 0;
	return cfg_perr(p, n, "expected a list for %s, found %s", what, FOUND(n));
}

/* A non-empty scalar; `want` describes it ("a path", "a cron schedule"). */
int cfg_get_scalar(struct pctx *p, const yaml_node_t *n, const char *what, const char *want, const char **out)
{
	char fbuf[96];

	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return cfg_perr(p, n, "expected %s for %s, found %s", want, what, FOUND(n));
	if (strlen(cfg_sval(n)) != n->data.scalar.length)
		return cfg_perr(p, n, "expected %s for %s, found text holding a NUL byte", want, what);
	*out = cfg_sval(n);
	return 0;
}

int cfg_get_str(struct pctx *p, const yaml_node_t *n, const char *what, const char *want, char **slot)
{
	const char *s;

	if (cfg_get_scalar(p, n, what, want, &s) < 0)
		return -1;
	return cfg_set_str(p, slot, s);
}

int cfg_get_path(struct pctx *p, const yaml_node_t *n, const char *what, char **slot)
{
	const char *s;
	char fbuf[96];

	if (cfg_get_scalar(p, n, what, "an absolute path", &s) < 0)
		return -1;
	if (s[0] != '/') {
		cfg_perr(p, n, "expected an absolute path for %s, found %s", what, FOUND(n));
		return ado_err_hint(p->e, "write the full path starting with '/': tools run from cron and systemd, "
				    "whose working directory is not yours");
	}
	return cfg_set_str(p, slot, s);
}

int cfg_get_bool(struct pctx *p, const yaml_node_t *n, const char *what, int *out)
{
	const char *s;
	char fbuf[96];

	if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
		s = cfg_sval(n);
		if (!strcasecmp(s, "true") || !strcasecmp(s, "yes")) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, "false") || !strcasecmp(s, "no")) {
			*out = 0;
			return 0;
		}
	}
	return cfg_perr(p, n, "expected true or false for %s, found %s", what, FOUND(n));
}

int cfg_get_int(struct pctx *p, const yaml_node_t *n, const char *what, int min, int max, int *out)
{
	const char *s;
	char fbuf[96];
	long v = 0;

	if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
		s = cfg_sval(n);
		for (; *s && isdigit((unsigned char)*s) && v <= max; s++)
			v = v * 10 + (*s - '0');
		if (!*s && v >= min && v <= max) {
			*out = (int)v;
			return 0;
		}
	}
	return cfg_perr(p, n, "expected a whole number %d-%d for %s, found %s", min, max, what, FOUND(n));
}

static int name_ok(const char *s)
{
	if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return 0;
	return 1;
}

int cfg_get_name(struct pctx *p, const yaml_node_t *n, const char *what, char **slot)
{
	const char *s;
	char fbuf[96];

	if (cfg_get_scalar(p, n, what, "a name", &s) < 0)
		return -1;
	if (!name_ok(s))
		return cfg_perr(p, n, "expected a %s of letters, digits, '_', '.' or '-', found %s", what, FOUND(n));
	return cfg_set_str(p, slot, s);
}

/* Levenshtein distance, for "did you mean" on misspelt keys. */
size_t ado_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static int key_listed(const char *const *keys, const char *k)
{
	for (size_t i = 0; keys[i]; i++)
		if (!strcmp(keys[i], k))
			return 1;
	return 0;
}

static const char *const secret_words[] = { "password", "passwd", "token", "secret", "secret_access_key",
					    "key", "passphrase", "api_key", "access_key", NULL };

static int unknown_key(struct pctx *p, const yaml_node_t *k, const char *what, const char *const *keys)
{
	const char *ks = cfg_sval(k);
	char list[512] = "", alt[160];
	size_t o = 0, best = 99;
	const char *guess = NULL;
	int has_env, has_file;

	for (size_t i = 0; keys[i]; i++) {
		size_t d = ado_edit_distance(ks, keys[i]);

		o += (size_t)snprintf(list + o, o < sizeof(list) ? sizeof(list) - o : 0, "%s%s", i ? ", " : "",
				      keys[i]);
		if (d < best) {
			best = d;
			guess = keys[i];
		}
	}
	snprintf(alt, sizeof(alt), "%s_env", ks);
	has_env = key_listed(keys, alt);
	snprintf(alt, sizeof(alt), "%s_file", ks);
	has_file = key_listed(keys, alt);
	if (has_env || has_file || key_listed(secret_words, ks)) {
		/* the value is never echoed: it may be the secret itself */
		cfg_perr(p, k, "expected a secret by reference in %s, found an inline '%s'", what, ks);
		if (has_env && has_file)
			return ado_err_hint(p->e, "write %s_env: VARIABLE or %s_file: /path/to/file (mode 0600); "
					    "secrets never go in the config file", ks, ks);
		if (has_env || has_file)
			return ado_err_hint(p->e, "write %s_%s: %s; secrets never go in the config file", ks,
					    has_env ? "env" : "file", has_env ? "VARIABLE" : "/path/to/file (mode 0600)");
		return ado_err_hint(p->e, "secrets are given by reference, as NAME_env: VARIABLE or NAME_file: PATH, "
				    "where a section has them; valid keys here: %s", list);
	}
	cfg_perr(p, k, "expected one of %s in %s, found unknown key '%s'", list, what, ks);
	if (guess && best <= 2 + strlen(ks) / 4)
		return ado_err_hint(p->e, "did you mean '%s'? unknown keys are refused so a typo cannot quietly "
				    "switch a setting off", guess);
	return ado_err_hint(p->e, "unknown keys are refused so a typo cannot quietly switch a setting off; "
			    "see ado.yml(5)");
}

/* Check map against keys (NULL-terminated) and fill vals[i] (and keyn[i] if
 * given) with the value (key) node of keys[i], or NULL. Unknown, inline-secret
 * and duplicate keys are errors. */
int cfg_map_fields(struct pctx *p, const yaml_node_t *map, const char *what, const char *const *keys,
		      yaml_node_t **vals, yaml_node_t **keyn)
{
	yaml_node_t *kn[MAX_KEYS];
	size_t nk = 0;
	char fbuf[96];

	if (cfg_want_map(p, map, what) < 0)
		return -1;
	while (keys[nk])
		nk++;
	for (size_t i = 0; i < nk; i++)
		vals[i] = kn[i] = NULL;
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = cfg_node_at(p, pr->key), *v = cfg_node_at(p, pr->value);
		size_t i;

		if (k->type != YAML_SCALAR_NODE || is_null(k))
			return cfg_perr(p, k, "expected a key name in %s, found %s", what, FOUND(k));
		for (i = 0; i < nk && strcmp(keys[i], cfg_sval(k)); i++)
			;
		if (i == nk)
			return unknown_key(p, k, what, keys);
		if (vals[i])
			return cfg_perr(p, k, "expected each key once in %s, found '%s' again (first at line %zu)", what,
				    cfg_sval(k), kn[i]->start_mark.line + 1);
		vals[i] = v;
		kn[i] = k;
	}
	if (keyn)
		for (size_t i = 0; i < nk; i++)
			keyn[i] = kn[i];
	return 0;
}

/* A mapping whose keys are names chosen by the user (jobs, channels, ...):
 * check every key is a scalar and appears once. */
int cfg_map_unique(struct pctx *p, const yaml_node_t *map, const char *what)
{
	char fbuf[96];

	if (cfg_want_map(p, map, what) < 0)
		return -1;
	for (yaml_node_pair_t *a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++) {
		yaml_node_t *ka = cfg_node_at(p, a->key);

		if (ka->type != YAML_SCALAR_NODE || is_null(ka))
			return cfg_perr(p, ka, "expected a name in %s, found %s", what, FOUND(ka));
		for (yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a; b++) {
			yaml_node_t *kb = cfg_node_at(p, b->key);

			if (!strcmp(cfg_sval(ka), cfg_sval(kb)))
				return cfg_perr(p, ka, "expected each name once in %s, found '%s' again (first at line %zu)",
					    what, cfg_sval(ka), kb->start_mark.line + 1);
		}
	}
	return 0;
}

int cfg_get_str_list(struct pctx *p, const yaml_node_t *n, const char *what, const char *want, int allow_scalar,
			char ***out, size_t *nout)
{
	char fbuf[96];

	if (allow_scalar && n->type == YAML_SCALAR_NODE) {
		char **s = cfg_grow(p, (void **)out, nout, sizeof(char *));

		return s ? cfg_get_str(p, n, what, want, s) : -1;
	}
	if (cfg_want_seq(p, n, what) < 0)
		return -1;
	if (n->data.sequence.items.start == n->data.sequence.items.top)
		return cfg_perr(p, n, "expected at least one item in %s, found %s", what, "an empty list");
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = cfg_node_at(p, *it);
		char **s;

		if (v->type != YAML_SCALAR_NODE)
			return cfg_perr(p, v, "expected %s in %s, found %s", want, what, FOUND(v));
		if (!(s = cfg_grow(p, (void **)out, nout, sizeof(char *))) || cfg_get_str(p, v, what, want, s) < 0)
			return -1;
	}
	return 0;
}

/* ---- the top level -------------------------------------------------------- */

/* metrics: { dir: PATH }: the node_exporter textfile folder (lib/job/metrics.h). */
static int parse_metrics(struct pctx *p, const yaml_node_t *map)
{
	static const char *const keys[] = { "dir", NULL };
	yaml_node_t *v[MAX_KEYS];

	if (cfg_map_fields(p, map, "'metrics'", keys, v, NULL) < 0)
		return -1;
	return v[0] ? cfg_get_path(p, v[0], "'dir' of 'metrics'", &p->c->metrics_dir) : 0;
}

/* `recovery:` is the recovery plan: lib/recover parses it (its own file format
 * too, with --plan FILE); here it is only allowed. */
static int parse_root(struct pctx *p, const yaml_node_t *root)
{
	static const char *const keys[] = { "state_dir", "encryption", "databases", "storage", "notifications",
					    "backup_jobs", "recovery", "metrics", NULL };
	yaml_node_t *v[MAX_KEYS];

	if (cfg_map_fields(p, root, "the top level", keys, v, NULL) < 0)
		return -1;
	if ((v[0] && cfg_get_path(p, v[0], "'state_dir'", &p->c->state_dir) < 0) ||
	    (v[1] && cfg_parse_encryption(p, v[1]) < 0) || (v[2] && cfg_parse_databases(p, v[2]) < 0) ||
	    (v[3] && cfg_parse_storage(p, v[3]) < 0) || (v[4] && cfg_parse_notifications(p, v[4]) < 0) ||
	    (v[7] && parse_metrics(p, v[7]) < 0))
		return -1;
	if (v[5]) {
		if (cfg_map_unique(p, v[5], "'backup_jobs'") < 0)
			return -1;
		for (yaml_node_pair_t *pr = v[5]->data.mapping.pairs.start; pr < v[5]->data.mapping.pairs.top; pr++)
			if (cfg_parse_job(p, cfg_node_at(p, pr->key), cfg_node_at(p, pr->value)) < 0)
				return -1;
	}
	return 0;
}

/* ---- loading -------------------------------------------------------------- */

static int set_default(char **slot, const char *s)
{
	if (*slot)
		return 0;
	*slot = strdup(s);
	return *slot ? 0 : -1;
}

/* Defaults that the file may replace. */
static int init_defaults(struct ado_config *c)
{
	c->notify_timeout = 60;
	/* storage.s3's endpoint, region, path_style and ca_file stay unset here: the
	 * driver tells "not in the file" from a value and falls back to the aws CLI's
	 * variables (store/s3.c) */
	c->s3.path_style = -1;
	return set_default(&c->state_dir, ADO_DEFAULT_STATE_DIR) | set_default(&c->s3.storage_class, "STANDARD") |
	       set_default(&c->s3.glacier_storage_class, "GLACIER") |
	       set_default(&c->s3.access_key_id.env, "AWS_ACCESS_KEY_ID") |
	       set_default(&c->s3.secret_access_key.env, "AWS_SECRET_ACCESS_KEY") |
	       set_default(&c->azure.key.env, "AZURE_STORAGE_KEY") |
	       set_default(&c->azure.sas.env, "AZURE_STORAGE_SAS_TOKEN");
}

/* The environment wins over the file; then what depends on both. */
static int finish(struct ado_config *c)
{
	const char *v;

	if ((v = getenv("ADO_STATE_DIR")) && *v) {
		free(c->state_dir);
		c->state_dir = NULL;
		if (set_default(&c->state_dir, v) < 0)
			return -1;
	}
	if ((v = getenv("ADO_KEY_FILE")) && *v) {
		free(c->key_file);
		c->key_file = NULL;
		if (set_default(&c->key_file, v) < 0)
			return -1;
	}
	if (!c->key_file && set_default(&c->passphrase_env, "ADO_PASSPHRASE") < 0)
		return -1;
	/* the Azure account and endpoint from the environment (AZURE_STORAGE_*) are
	 * the driver's to resolve (store/azure_auth.c), with the connection string */
	return 0;
}

struct ado_config *ado_config_new_empty(void)
{
	struct ado_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (init_defaults(c) < 0 || finish(c) < 0) {
		ado_config_free(c);
		return NULL;
	}
	return c;
}

/* 1-based line and column of a byte offset, for libyaml reader errors,
 * which carry an offset but no mark. */
static void offset_pos(const char *buf, size_t len, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static int syntax_error(const char *name, const yaml_parser_t *ps, const char *buf, size_t len, struct ado_err *e)
{
	size_t line, col;

	if (ps->error == YAML_MEMORY_ERROR)
		return ado_err_set(e, ADO_E_NOMEM, ENOMEM, "cannot load config '%s'", name);
	if (ps->error == YAML_READER_ERROR) {
		offset_pos(buf, len, ps->problem_offset, &line, &col);
		ado_err_set(e, ADO_E_CONFIG, 0, "%s:%zu:%zu: expected UTF-8 text, found %s", name, line, col,
			    ps->problem ? ps->problem : "invalid bytes");
		return ado_err_hint(e, "save the file as UTF-8");
	}
	line = ps->problem_mark.line + 1;
	col = ps->problem_mark.column + 1;
	if (ps->context)
		ado_err_set(e, ADO_E_CONFIG, 0, "%s:%zu:%zu: expected valid YAML, found a syntax error: %s (%s at line %zu)",
			    name, line, col, ps->problem ? ps->problem : "unknown", ps->context,
			    ps->context_mark.line + 1);
	else
		ado_err_set(e, ADO_E_CONFIG, 0, "%s:%zu:%zu: expected valid YAML, found a syntax error: %s", name,
			    line, col, ps->problem ? ps->problem : "unknown");
	return ado_err_hint(e, "check indentation (spaces, never tabs) and quoting near that line; "
			    "values containing ': ' or starting with '*', '&', '!', '{' or '[' need quotes");
}

static int load_buffer(const char *name, const char *buf, size_t len, struct ado_config **out, struct ado_err *e)
{
	yaml_parser_t parser;
	yaml_document_t doc, doc2;
	struct ado_config *c = NULL;
	struct pctx p = { name, &doc, e, NULL };
	int have_doc = 0, rc = -1;
	yaml_node_t *root;

	*out = NULL;
	if (ado_yaml_check(name, buf, len, MAX_CONFIG_BYTES, ADO_YAML_MAX_DEPTH, ADO_E_CONFIG, e) < 0) {
		if (e && strstr(e->msg, "levels of nesting"))
			ado_err_hint(e, "a configuration nests a few levels deep: look for runaway '[' or '{' near that line");
		return -1;
	}
	if (!yaml_parser_initialize(&parser))
		return ado_err_set(e, ADO_E_NOMEM, ENOMEM, "cannot load config '%s'", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!(c = calloc(1, sizeof(*c))) || init_defaults(c) < 0 || !(c->path = strdup(name))) {
		ado_err_set(e, ADO_E_NOMEM, ENOMEM, "cannot load config '%s'", name);
		goto out;
	}
	p.c = c;
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(name, &parser, buf, len, e);
		goto out;
	}
	have_doc = 1;
	if (!(root = yaml_document_get_root_node(&doc))) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s:1:1: expected a mapping with 'backup_jobs', found an empty document",
			    name);
		goto out;
	}
	if (!yaml_parser_load(&parser, &doc2)) {
		syntax_error(name, &parser, buf, len, e);
		goto out;
	}
	if (yaml_document_get_root_node(&doc2)) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s:%zu:%zu: expected one YAML document, found a second one", name,
			    doc2.start_mark.line + 1, doc2.start_mark.column + 1);
		yaml_document_delete(&doc2);
		goto out;
	}
	yaml_document_delete(&doc2);
	if (parse_root(&p, root) < 0)
		goto out;
	if (finish(c) < 0) {
		ado_err_set(e, ADO_E_NOMEM, ENOMEM, "cannot load config '%s'", name);
		goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	ado_config_free(c);
	return rc;
}

int ado_config_load_string(const char *name, const char *yaml, struct ado_config **out, struct ado_err *e)
{
	return load_buffer(name, yaml, strlen(yaml), out, e);
}

int ado_config_load(const char *path, struct ado_config **out, struct ado_err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd, rc = -1;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int err = errno;

		ado_err_set(e, err == ENOENT ? ADO_E_NOTFOUND : ADO_E_IO, err, "cannot open config '%s'", path);
		if (err == ENOENT)
			ado_err_hint(e, "give the config with -c PATH or set ADO_CONFIG (default %s)", ADO_DEFAULT_CONFIG);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot stat config '%s'", path);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ado_err_set(e, ADO_E_IO, EISDIR, "cannot read config '%s'", path);
		goto out;
	}
	if (!(buf = malloc(MAX_CONFIG_BYTES + 1))) {
		ado_err_set(e, ADO_E_NOMEM, ENOMEM, "cannot load config '%s'", path);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, MAX_CONFIG_BYTES + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ado_err_set(e, ADO_E_IO, errno, "cannot read config '%s'", path);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > MAX_CONFIG_BYTES) {
			ado_err_set(e, ADO_E_CONFIG, 0, "config '%s' is larger than %u MiB", path,
				    MAX_CONFIG_BYTES >> 20);
			goto out;
		}
	}
	rc = load_buffer(path, buf, n, out, e);
out:
	free(buf);
	close(fd);
	return rc;
}

/* ---- lookups and freeing -------------------------------------------------- */

const char *ado_config_path(const char *opt)
{
	const char *v;

	if (opt && *opt)
		return opt;
	if ((v = getenv("ADO_CONFIG")) && *v)
		return v;
	return ADO_DEFAULT_CONFIG;
}

struct ado_job *ado_config_job(const struct ado_config *c, const char *name)
{
	for (size_t i = 0; c && i < c->njobs; i++)
		if (!strcmp(c->jobs[i].name, name))
			return &c->jobs[i];
	return NULL;
}

void ado_config_job_hint(const struct ado_config *c, const char *name, char *buf, size_t len)
{
	const char *guess = NULL;
	size_t best = 99, o = 0;

	for (size_t i = 0; c && i < c->njobs; i++) {
		size_t d = ado_edit_distance(name, c->jobs[i].name);

		if (d < best) {
			best = d;
			guess = c->jobs[i].name;
		}
	}
	/* the same threshold as for misspelt keys */
	if (guess && best <= 2 + strlen(name) / 4) {
		snprintf(buf, len, "did you mean '%s'?", guess);
		return;
	}
	o = (size_t)snprintf(buf, len, "the jobs there are: ");
	for (size_t i = 0; c && i < c->njobs && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", c->jobs[i].name);
	if (!c || !c->njobs)
		snprintf(buf + o, len > o ? len - o : 0, "(none)");
}

const struct ado_database *ado_config_database(const struct ado_config *c, const char *name)
{
	for (size_t i = 0; c && i < c->ndatabases; i++)
		if (!strcmp(c->databases[i].name, name))
			return &c->databases[i];
	return NULL;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void job_free(struct ado_job *j)
{
	free(j->name);
	free(j->schedule);
	for (size_t i = 0; i < j->ntargets; i++) {
		struct ado_target *t = &j->targets[i];

		free(t->name);
		free(t->path);
		free_strv(t->exclude, t->nexclude);
		free(t->database);
		free_strv(t->tables, t->ntables);
	}
	free(j->targets);
	for (size_t i = 0; i < j->ndests; i++) {
		free(j->dests[i].url);
		free(j->dests[i].bucket);
		free(j->dests[i].prefix);
	}
	free(j->dests);
}

static void channel_free(struct ado_channel *ch)
{
	free(ch->name);
	free(ch->url);
	cfg_ref_free(&ch->url_ref);
	cfg_ref_free(&ch->token);
	for (size_t i = 0; i < ch->nheaders; i++) {
		free(ch->headers[i].name);
		free(ch->headers[i].value);
	}
	free(ch->headers);
	free(ch->ca_file);
	free(ch->smtp_url);
	free(ch->from);
	free_strv(ch->to, ch->nto);
	free(ch->username);
	cfg_ref_free(&ch->password);
}

void ado_config_free(struct ado_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->state_dir);
	free(c->metrics_dir);
	free(c->key_file);
	free(c->passphrase_env);
	for (size_t i = 0; i < c->njobs; i++)
		job_free(&c->jobs[i]);
	free(c->jobs);
	for (size_t i = 0; i < c->ndatabases; i++) {
		free(c->databases[i].name);
		free(c->databases[i].conninfo);
		cfg_ref_free(&c->databases[i].password);
	}
	free(c->databases);
	free(c->s3.endpoint);
	free(c->s3.region);
	cfg_ref_free(&c->s3.access_key_id);
	cfg_ref_free(&c->s3.secret_access_key);
	free(c->s3.ca_file);
	free(c->s3.storage_class);
	free(c->s3.glacier_storage_class);
	free(c->azure.endpoint);
	free(c->azure.account);
	cfg_ref_free(&c->azure.key);
	cfg_ref_free(&c->azure.sas);
	free(c->azure.ca_file);
	free(c->azure.access_tier);
	for (size_t i = 0; i < c->nchannels; i++)
		channel_free(&c->channels[i]);
	free(c->channels);
	free(c);
}
