/* config.c - backup-strategy.yml -> struct ado_config.
 *
 * The whole file is loaded with libyaml's document API and then walked. Every
 * mapping is checked against the keys it may hold: a misspelt key is an error,
 * never ignored, because an ignored `retention:` or `encryption:` silently
 * changes what a backup keeps or protects. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <yaml.h>

#include "base/log.h"

#define MAX_CONFIG_BYTES (16u * 1024 * 1024)
#define MAX_KEYS 24

struct pctx {
	const char *file;
	yaml_document_t *doc;
	struct ado_err *e;
	struct ado_config *c;
};

/* ---- small helpers ---------------------------------------------------- */

static yaml_node_t *node_at(struct pctx *p, int idx)
{
	return yaml_document_get_node(p->doc, idx);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int perr(struct pctx *p, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(struct pctx *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ado_err_set(p->e, ADO_E_CONFIG, 0, "%s:%zu:%zu: %s", p->file, n->start_mark.line + 1,
			   n->start_mark.column + 1, msg);
}

static int nomem(struct pctx *p)
{
	return ado_err_set(p->e, ADO_E_NOMEM, ENOMEM, "cannot load config '%s'", p->file);
}

static char *xdup(struct pctx *p, const char *s)
{
	char *d = strdup(s);

	if (!d)
		nomem(p);
	return d;
}

/* Replace *slot (a default) with a copy of s. */
static int set_str(struct pctx *p, char **slot, const char *s)
{
	char *d = xdup(p, s);

	if (!d)
		return -1;
	free(*slot);
	*slot = d;
	return 0;
}

/* Grow an array by one zeroed element; returns it or NULL (error set). */
static void *grow(struct pctx *p, void **arr, size_t *n, size_t size)
{
	char *a = realloc(*arr, (*n + 1) * size);

	if (!a) {
		nomem(p);
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
	v = sval(n);
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* What was found, for "expected X, found Y". Scalars are quoted and cut short. */
static const char *found(const yaml_node_t *n, char *buf, size_t len)
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
		snprintf(buf, len, "'%.57s...'", sval(n));
	else
		snprintf(buf, len, "'%s'", sval(n));
	return buf;
}

#define FOUND(n) found((n), fbuf, sizeof(fbuf))

static int want_map(struct pctx *p, const yaml_node_t *n, const char *what)
{
	char fbuf[96];

	if (n->type == YAML_MAPPING_NODE)
		return 0;
	return perr(p, n, "expected a mapping for %s, found %s", what, FOUND(n));
}

static int want_seq(struct pctx *p, const yaml_node_t *n, const char *what)
{
	char fbuf[96];

	if (n->type == YAML_SEQUENCE_NODE)
		return 0;
	return perr(p, n, "expected a list for %s, found %s", what, FOUND(n));
}

/* A non-empty scalar; `want` describes it ("a path", "a cron schedule"). */
static int get_scalar(struct pctx *p, const yaml_node_t *n, const char *what, const char *want, const char **out)
{
	char fbuf[96];

	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return perr(p, n, "expected %s for %s, found %s", want, what, FOUND(n));
	if (strlen(sval(n)) != n->data.scalar.length)
		return perr(p, n, "expected %s for %s, found text holding a NUL byte", want, what);
	*out = sval(n);
	return 0;
}

static int get_str(struct pctx *p, const yaml_node_t *n, const char *what, const char *want, char **slot)
{
	const char *s;

	if (get_scalar(p, n, what, want, &s) < 0)
		return -1;
	return set_str(p, slot, s);
}

static int get_path(struct pctx *p, const yaml_node_t *n, const char *what, char **slot)
{
	const char *s;
	char fbuf[96];

	if (get_scalar(p, n, what, "an absolute path", &s) < 0)
		return -1;
	if (s[0] != '/') {
		perr(p, n, "expected an absolute path for %s, found %s", what, FOUND(n));
		return ado_err_hint(p->e, "write the full path starting with '/': tools run from cron and systemd, "
				    "whose working directory is not yours");
	}
	return set_str(p, slot, s);
}

static int get_bool(struct pctx *p, const yaml_node_t *n, const char *what, int *out)
{
	const char *s;
	char fbuf[96];

	if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
		s = sval(n);
		if (!strcasecmp(s, "true") || !strcasecmp(s, "yes")) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, "false") || !strcasecmp(s, "no")) {
			*out = 0;
			return 0;
		}
	}
	return perr(p, n, "expected true or false for %s, found %s", what, FOUND(n));
}

static int get_int(struct pctx *p, const yaml_node_t *n, const char *what, int min, int max, int *out)
{
	const char *s;
	char fbuf[96];
	long v = 0;

	if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
		s = sval(n);
		for (; *s && isdigit((unsigned char)*s) && v <= max; s++)
			v = v * 10 + (*s - '0');
		if (!*s && v >= min && v <= max) {
			*out = (int)v;
			return 0;
		}
	}
	return perr(p, n, "expected a whole number %d-%d for %s, found %s", min, max, what, FOUND(n));
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

static int get_name(struct pctx *p, const yaml_node_t *n, const char *what, char **slot)
{
	const char *s;
	char fbuf[96];

	if (get_scalar(p, n, what, "a name", &s) < 0)
		return -1;
	if (!name_ok(s))
		return perr(p, n, "expected a %s of letters, digits, '_', '.' or '-', found %s", what, FOUND(n));
	return set_str(p, slot, s);
}

/* Levenshtein distance, for "did you mean" on misspelt keys. */
static size_t edit_distance(const char *a, const char *b)
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
	const char *ks = sval(k);
	char list[512] = "", alt[160];
	size_t o = 0, best = 99;
	const char *guess = NULL;
	int has_env, has_file;

	for (size_t i = 0; keys[i]; i++) {
		size_t d = edit_distance(ks, keys[i]);

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
		perr(p, k, "expected a secret by reference in %s, found an inline '%s'", what, ks);
		if (has_env && has_file)
			return ado_err_hint(p->e, "write %s_env: VARIABLE or %s_file: /path/to/file (mode 0600); "
					    "secrets never go in the config file", ks, ks);
		if (has_env || has_file)
			return ado_err_hint(p->e, "write %s_%s: %s; secrets never go in the config file", ks,
					    has_env ? "env" : "file", has_env ? "VARIABLE" : "/path/to/file (mode 0600)");
		return ado_err_hint(p->e, "secrets are given by reference, as NAME_env: VARIABLE or NAME_file: PATH, "
				    "where a section has them; valid keys here: %s", list);
	}
	perr(p, k, "expected one of %s in %s, found unknown key '%s'", list, what, ks);
	if (guess && best <= 2 + strlen(ks) / 4)
		return ado_err_hint(p->e, "did you mean '%s'? unknown keys are refused so a typo cannot quietly "
				    "switch a setting off", guess);
	return ado_err_hint(p->e, "unknown keys are refused so a typo cannot quietly switch a setting off; "
			    "see ado.yml(5)");
}

/* Check map against keys (NULL-terminated) and fill vals[i] (and keyn[i] if
 * given) with the value (key) node of keys[i], or NULL. Unknown, inline-secret
 * and duplicate keys are errors. */
static int map_fields(struct pctx *p, const yaml_node_t *map, const char *what, const char *const *keys,
		      yaml_node_t **vals, yaml_node_t **keyn)
{
	yaml_node_t *kn[MAX_KEYS];
	size_t nk = 0;
	char fbuf[96];

	if (want_map(p, map, what) < 0)
		return -1;
	while (keys[nk])
		nk++;
	for (size_t i = 0; i < nk; i++)
		vals[i] = kn[i] = NULL;
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
		size_t i;

		if (k->type != YAML_SCALAR_NODE || is_null(k))
			return perr(p, k, "expected a key name in %s, found %s", what, FOUND(k));
		for (i = 0; i < nk && strcmp(keys[i], sval(k)); i++)
			;
		if (i == nk)
			return unknown_key(p, k, what, keys);
		if (vals[i])
			return perr(p, k, "expected each key once in %s, found '%s' again (first at line %zu)", what,
				    sval(k), kn[i]->start_mark.line + 1);
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
static int map_unique(struct pctx *p, const yaml_node_t *map, const char *what)
{
	char fbuf[96];

	if (want_map(p, map, what) < 0)
		return -1;
	for (yaml_node_pair_t *a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++) {
		yaml_node_t *ka = node_at(p, a->key);

		if (ka->type != YAML_SCALAR_NODE || is_null(ka))
			return perr(p, ka, "expected a name in %s, found %s", what, FOUND(ka));
		for (yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a; b++) {
			yaml_node_t *kb = node_at(p, b->key);

			if (!strcmp(sval(ka), sval(kb)))
				return perr(p, ka, "expected each name once in %s, found '%s' again (first at line %zu)",
					    what, sval(ka), kb->start_mark.line + 1);
		}
	}
	return 0;
}

static int get_str_list(struct pctx *p, const yaml_node_t *n, const char *what, const char *want, int allow_scalar,
			char ***out, size_t *nout)
{
	char fbuf[96];

	if (allow_scalar && n->type == YAML_SCALAR_NODE) {
		char **s = grow(p, (void **)out, nout, sizeof(char *));

		return s ? get_str(p, n, what, want, s) : -1;
	}
	if (want_seq(p, n, what) < 0)
		return -1;
	if (n->data.sequence.items.start == n->data.sequence.items.top)
		return perr(p, n, "expected at least one item in %s, found %s", what, "an empty list");
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = node_at(p, *it);
		char **s;

		if (v->type != YAML_SCALAR_NODE)
			return perr(p, v, "expected %s in %s, found %s", want, what, FOUND(v));
		if (!(s = grow(p, (void **)out, nout, sizeof(char *))) || get_str(p, v, what, want, s) < 0)
			return -1;
	}
	return 0;
}

/* ---- secrets ------------------------------------------------------------ */

static int env_name_ok(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* NAME_env / NAME_file value nodes (either may be NULL) into ref. If neither
 * is given, ref keeps its default. */
static int get_secret(struct pctx *p, const yaml_node_t *env, const yaml_node_t *file, const char *what,
		      const char *name, struct ado_secret_ref *ref)
{
	char *v = NULL;

	if (env && file)
		return perr(p, file, "expected one of %s_env or %s_file for %s, found both", name, name, what);
	if (env) {
		const char *s;

		if (get_scalar(p, env, what, "an environment variable name", &s) < 0)
			return -1;
		if (!env_name_ok(s)) {
			/* not echoed: someone may have pasted the secret itself here */
			perr(p, env, "expected an environment variable name for %s_env in %s, found something else",
			     name, what);
			return ado_err_hint(p->e, "%s_env names a variable (like ADO_DB_PASSWORD) that holds the "
					    "secret, not the secret itself; if a secret was pasted here, rotate it",
					    name);
		}
		if (!(v = xdup(p, s)))
			return -1;
		free(ref->env);
		free(ref->file);
		ref->env = v;
		ref->file = NULL;
	} else if (file) {
		char what2[160];

		snprintf(what2, sizeof(what2), "%s_file in %s", name, what);
		if (get_path(p, file, what2, &v) < 0) {
			free(v);
			return -1;
		}
		free(ref->env);
		free(ref->file);
		ref->file = v;
		ref->env = NULL;
	}
	return 0;
}

static int ref_set(const struct ado_secret_ref *r)
{
	return r->env || r->file;
}

static void ref_free(struct ado_secret_ref *r)
{
	free(r->env);
	free(r->file);
	r->env = r->file = NULL;
}

int ado_secret_resolve(const struct ado_secret_ref *ref, const char *what, int allow_open, char **out,
		       struct ado_err *e)
{
	char buf[8192], *val = NULL;
	size_t n = 0;
	struct stat st;
	int fd = -1, rc = -1;

	*out = NULL;
	if (ref && ref->env) {
		const char *v = getenv(ref->env);

		if (!v || !*v) {
			ado_err_set(e, ADO_E_CONFIG, 0, "%s: environment variable '%s' is not set", what, ref->env);
			return ado_err_hint(e, "export %s in the environment of the job (cron, systemd "
					    "EnvironmentFile=), or point the config at a file instead", ref->env);
		}
		if (!(val = strdup(v)))
			return ado_err_set(e, ADO_E_NOMEM, ENOMEM, "%s: cannot copy the secret", what);
		ado_log_redact(val);
		*out = val;
		return 0;
	}
	if (!ref || !ref->file) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s: no secret configured", what);
		return ado_err_hint(e, "give it by reference in the config, as NAME_env: VARIABLE or NAME_file: PATH");
	}
	fd = open(ref->file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ado_err_set(e, ADO_E_CONFIG, errno, "%s: cannot open secret file '%s'", what, ref->file);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "%s: cannot stat secret file '%s'", what, ref->file);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s: secret file '%s' is not a regular file", what, ref->file);
		goto out;
	}
	if ((st.st_mode & 077) && !allow_open) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s: secret file '%s' is accessible by group or others (mode %04o)",
			    what, ref->file, (unsigned)(st.st_mode & 07777));
		ado_err_hint(e, "chmod 600 %s", ref->file);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ado_err_set(e, ADO_E_IO, errno, "%s: cannot read secret file '%s'", what, ref->file);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == sizeof(buf) - 1) {
			ado_err_set(e, ADO_E_CONFIG, 0, "%s: secret file '%s' is larger than %zu bytes", what,
				    ref->file, sizeof(buf) - 2);
			goto out;
		}
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';	/* first line only */
	if (!buf[0]) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s: secret file '%s' is empty", what, ref->file);
		goto out;
	}
	if (!(val = strdup(buf))) {
		ado_err_set(e, ADO_E_NOMEM, ENOMEM, "%s: cannot copy the secret", what);
		goto out;
	}
	ado_log_redact(val);
	*out = val;
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	return rc;
}

void ado_secret_free(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

/* ---- durations and compression ----------------------------------------- */

static const struct {
	const char *name;
	long long secs;
} units[] = {
	{ "s", 1 },	      { "sec", 1 },	   { "secs", 1 },	{ "second", 1 },
	{ "seconds", 1 },     { "m", 60 },	   { "min", 60 },	{ "mins", 60 },
	{ "minute", 60 },     { "minutes", 60 },   { "h", 3600 },	{ "hr", 3600 },
	{ "hrs", 3600 },      { "hour", 3600 },	   { "hours", 3600 },	{ "d", 86400 },
	{ "day", 86400 },     { "days", 86400 },   { "w", 604800 },	{ "week", 604800 },
	{ "weeks", 604800 },  { "month", 2592000 }, { "months", 2592000 }, { "y", 31536000 },
	{ "year", 31536000 }, { "years", 31536000 },
};

/* Returns 0, or -1 with *why saying what is wrong with s. */
static int duration_parse(const char *s, long long *out, const char **why)
{
	long long total = 0;
	int terms = 0;

	for (;;) {
		long long v = 0;
		size_t ul = 0;
		size_t i;
		const char *u;

		while (isspace((unsigned char)*s) || (terms && *s == ','))
			s++;
		if (!*s)
			break;
		if (*s == '-') {
			*why = "a duration cannot be negative";
			return -1;
		}
		if (!isdigit((unsigned char)*s)) {
			*why = "a duration is a number followed by a unit";
			return -1;
		}
		for (; isdigit((unsigned char)*s); s++) {
			if (v > (LLONG_MAX - 9) / 10) {
				*why = "the number is too large";
				return -1;
			}
			v = v * 10 + (*s - '0');
		}
		if (*s == '.') {
			*why = "use whole numbers, as in '2h30m' rather than '2.5h'";
			return -1;
		}
		while (*s == ' ' || *s == '\t')
			s++;
		for (u = s; isalpha((unsigned char)u[ul]); ul++)
			;
		if (ul == 0) {
			*why = "a unit is required, as in '30 days' or '15m'";
			return -1;
		}
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == ul && !strncasecmp(u, units[i].name, ul))
				break;
		if (i == sizeof(units) / sizeof(units[0])) {
			*why = "units are s, m, h, d, w, month and y (or their long names)";
			return -1;
		}
		if (v > (LLONG_MAX - total) / units[i].secs) {
			*why = "the duration is too long";
			return -1;
		}
		total += v * units[i].secs;
		terms++;
		s = u + ul;
	}
	if (!terms) {
		*why = "a duration is a number followed by a unit";
		return -1;
	}
	*out = total;
	return 0;
}

int ado_duration_parse(const char *s, long long *out, struct ado_err *e)
{
	const char *why = "";

	if (duration_parse(s, out, &why) == 0)
		return 0;
	ado_err_set(e, ADO_E_CONFIG, 0, "expected a duration like '30 days' or '24h', found '%.60s'", s);
	return ado_err_hint(e, "%s", why);
}

void ado_duration_format(long long secs, char *buf, size_t len)
{
	static const struct {
		char u;
		long long s;
	} parts[] = { { 'y', 31536000 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
	size_t o = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (secs < 0) {
		snprintf(buf, len, "-");
		o = 1;
		secs = secs == LLONG_MIN ? LLONG_MAX : -secs;
	}
	if (secs == 0) {
		snprintf(buf + o, o < len ? len - o : 0, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && secs; i++) {
		long long q = secs / parts[i].s;

		if (!q)
			continue;
		secs -= q * parts[i].s;
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%lld%c", q, parts[i].u);
	}
}

const char *ado_compression_name(enum ado_compression c)
{
	switch (c) {
	case ADO_COMP_NONE:
		return "none";
	case ADO_COMP_GZIP:
		return "gzip";
	case ADO_COMP_LZ4:
		return "lz4";
	case ADO_COMP_ZSTD:
		return "zstd";
	}
	return "unknown";
}

const char *ado_compression_ext(enum ado_compression c)
{
	switch (c) {
	case ADO_COMP_NONE:
		return "";
	case ADO_COMP_GZIP:
		return ".gz";
	case ADO_COMP_LZ4:
		return ".lz4";
	case ADO_COMP_ZSTD:
		return ".zst";
	}
	return "";
}

int ado_compression_parse(const char *s, enum ado_compression *out)
{
	static const enum ado_compression all[] = { ADO_COMP_NONE, ADO_COMP_GZIP, ADO_COMP_LZ4, ADO_COMP_ZSTD };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcasecmp(s, ado_compression_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	return -1;
}

/* A positive duration (or, when allow_forever, "forever" = 0). */
static int get_duration(struct pctx *p, const yaml_node_t *n, const char *what, int allow_forever, long long *out)
{
	const char *s, *why = "";
	char fbuf[96];

	if (get_scalar(p, n, what, "a duration like '30 days' or '24h'", &s) < 0)
		return -1;
	if (allow_forever && !strcasecmp(s, "forever")) {
		*out = 0;
		return 0;
	}
	if (duration_parse(s, out, &why) < 0) {
		perr(p, n, "expected a duration like '30 days' or '24h' for %s, found %s", what, FOUND(n));
		return ado_err_hint(p->e, "%s", why);
	}
	if (*out == 0) {
		perr(p, n, "expected a duration longer than zero for %s, found %s", what, FOUND(n));
		return allow_forever ? ado_err_hint(p->e, "write 'forever' to keep every backup") : -1;
	}
	return 0;
}

/* ---- targets ------------------------------------------------------------ */

/* "/etc/ado/config/" -> "files-etc-ado-config"; "/" -> "files-root". */
static char *files_target_name(const char *path)
{
	size_t n = strlen(path);
	char *out = malloc(n + sizeof("files-root"));
	size_t o;

	if (!out)
		return NULL;
	strcpy(out, "files-");
	o = strlen(out);
	while (*path == '/')
		path++;
	while (*path) {
		if (*path == '/') {
			while (*path == '/')
				path++;
			if (*path)
				out[o++] = '-';
			continue;
		}
		out[o++] = (isalnum((unsigned char)*path) || *path == '.' || *path == '_' || *path == '-') ? *path : '_';
		path++;
	}
	out[o] = '\0';
	if (!strcmp(out, "files-"))
		strcpy(out, "files-root");
	return out;
}

static char *db_target_name(const char *db)
{
	char *out = malloc(strlen(db) + 4);

	if (!out)
		return NULL;
	strcpy(out, "db-");
	for (char *q = out + 3; *db; db++)
		*q++ = (isalnum((unsigned char)*db) || *db == '.' || *db == '_' || *db == '-') ? *db : '_', *q = '\0';
	return out;
}

static int target_name_taken(const struct ado_job *j, size_t upto, const char *name)
{
	for (size_t i = 0; i < j->ntargets; i++)
		if (i != upto && j->targets[i].name && !strcmp(j->targets[i].name, name))
			return 1;
	return 0;
}

static int parse_target(struct pctx *p, struct ado_job *j, const yaml_node_t *item, size_t idx)
{
	static const char *const any_keys[] = { "database", "files", "tables", "exclude", "name", NULL };
	static const char *const db_keys[] = { "database", "tables", "name", NULL };
	static const char *const files_keys[] = { "files", "exclude", "name", NULL };
	yaml_node_t *v[MAX_KEYS];
	struct ado_target *t;
	char what[200];
	int is_db = 0, is_files = 0;

	snprintf(what, sizeof(what), "target %zu of job '%s'", idx + 1, j->name);
	if (want_map(p, item, what) < 0)
		return -1;
	for (yaml_node_pair_t *pr = item->data.mapping.pairs.start; pr < item->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node_at(p, pr->key);

		if (k->type != YAML_SCALAR_NODE)
			continue;
		is_db |= !strcmp(sval(k), "database");
		is_files |= !strcmp(sval(k), "files");
	}
	if (is_db == is_files) {
		/* report misspelt keys first: "databse:" is the likely cause */
		if (map_fields(p, item, what, any_keys, v, NULL) < 0)
			return -1;
		if (is_db)
			return perr(p, item, "expected either 'database' or 'files' in %s, found both", what);
		return perr(p, item, "expected 'database: NAME' or 'files: PATH' in %s, found neither", what);
	}
	if (!(t = grow(p, (void **)&j->targets, &j->ntargets, sizeof(*t))))
		return -1;
	t->line = (int)item->start_mark.line + 1;
	t->col = (int)item->start_mark.column + 1;
	if (is_db) {
		t->kind = ADO_TARGET_DATABASE;
		if (map_fields(p, item, what, db_keys, v, NULL) < 0 ||
		    get_str(p, v[0], what, "a database name", &t->database) < 0 ||
		    (v[1] && get_str_list(p, v[1], "'tables'", "a table name", 0, &t->tables, &t->ntables) < 0) ||
		    (v[2] && get_name(p, v[2], "target name", &t->name) < 0))
			return -1;
	} else {
		t->kind = ADO_TARGET_FILES;
		if (map_fields(p, item, what, files_keys, v, NULL) < 0)
			return -1;
		snprintf(what, sizeof(what), "'files' in target %zu of job '%s'", idx + 1, j->name);
		if (get_path(p, v[0], what, &t->path) < 0 ||
		    (v[1] && get_str_list(p, v[1], "'exclude'", "a glob pattern", 0, &t->exclude, &t->nexclude) < 0) ||
		    (v[2] && get_name(p, v[2], "target name", &t->name) < 0))
			return -1;
	}
	if (t->name && target_name_taken(j, j->ntargets - 1, t->name))
		return perr(p, v[2], "expected a target name unique in job '%s', found '%s' twice", j->name, t->name);
	return 0;
}

/* Default names for targets without `name:`; collisions get "-2", "-3", ... */
static int name_targets(struct pctx *p, struct ado_job *j)
{
	for (size_t i = 0; i < j->ntargets; i++) {
		struct ado_target *t = &j->targets[i];
		char *base, *name;
		size_t len;

		if (t->name)
			continue;
		base = t->kind == ADO_TARGET_FILES ? files_target_name(t->path) : db_target_name(t->database);
		if (!base)
			return nomem(p);
		len = strlen(base) + 24;
		if (!(name = malloc(len))) {
			free(base);
			return nomem(p);
		}
		strcpy(name, base);
		for (int n = 2; target_name_taken(j, i, name); n++)
			snprintf(name, len, "%s-%d", base, n);
		free(base);
		t->name = name;
	}
	return 0;
}

/* ---- destinations -------------------------------------------------------- */

static int bucket_ok(const char *b, size_t n, int azure)
{
	if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)b[i];

		if (!(islower(ch) || isdigit(ch) || ch == '-' || (!azure && ch == '.')))
			return 0;
		if (azure && ch == '-' && b[i + 1] == '-')
			return 0;
	}
	return 1;
}

/* Key prefixes stay within the characters S3 and Azure call safe, and have
 * no empty, "." or ".." segments, so a prefix maps to one place only. */
static int prefix_ok(const char *s)
{
	const char *seg = s;

	for (const char *q = s;; q++) {
		if (*q == '/' || !*q) {
			size_t l = (size_t)(q - seg);

			if ((l == 0 && *q) || (l == 1 && seg[0] == '.') || (l == 2 && seg[0] == '.' && seg[1] == '.'))
				return 0;
			if (!*q)
				return 1;
			seg = q + 1;
		} else if (!isalnum((unsigned char)*q) && !strchr("!-_.*'()", *q)) {
			return 0;
		}
	}
}

static int parse_dest(struct pctx *p, struct ado_job *j, const yaml_node_t *item, size_t idx)
{
	static const char *const kinds[] = { "local", "s3", "s3_glacier", "azure", NULL };
	yaml_node_t *v[MAX_KEYS], *kn[MAX_KEYS];
	struct ado_dest *d;
	char what[200], fbuf[96];
	const char *s, *scheme, *example;
	size_t i;

	snprintf(what, sizeof(what), "destination %zu of job '%s'", idx + 1, j->name);
	if (map_fields(p, item, what, kinds, v, kn) < 0)
		return -1;
	if (item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1) {
		if (item->data.mapping.pairs.start == item->data.mapping.pairs.top)
			return perr(p, item, "expected one of local, s3, s3_glacier, azure in %s, found none", what);
		return perr(p, node_at(p, item->data.mapping.pairs.start[1].key),
			    "expected one destination per list item in job '%s', found %zu", j->name,
			    (size_t)(item->data.mapping.pairs.top - item->data.mapping.pairs.start));
	}
	for (i = 0; !v[i]; i++)
		;
	if (!(d = grow(p, (void **)&j->dests, &j->ndests, sizeof(*d))))
		return -1;
	d->line = (int)kn[i]->start_mark.line + 1;
	d->col = (int)kn[i]->start_mark.column + 1;
	d->kind = i == 0 ? ADO_DEST_LOCAL : i == 1 ? ADO_DEST_S3 : i == 2 ? ADO_DEST_S3_GLACIER : ADO_DEST_AZURE;
	snprintf(what, sizeof(what), "'%s' in destination %zu of job '%s'", kinds[i], idx + 1, j->name);
	if (d->kind == ADO_DEST_LOCAL) {
		if (get_path(p, v[i], what, &d->url) < 0)
			return -1;
		s = d->url;
		if (!(d->prefix = malloc(strlen(s) + 2)))
			return nomem(p);
		strcpy(d->prefix, s);
		if (s[strlen(s) - 1] != '/')
			strcat(d->prefix, "/");
	} else {
		const char *b, *slash;
		size_t bl;

		scheme = d->kind == ADO_DEST_AZURE ? "azblob://" : "s3://";
		example = d->kind == ADO_DEST_AZURE ? "'azblob://container/prefix/'" : "'s3://bucket/prefix/'";
		if (get_scalar(p, v[i], what, "a URL", &s) < 0)
			return -1;
		if (strncmp(s, scheme, strlen(scheme)) != 0)
			return perr(p, v[i], "expected a URL like %s for %s, found %s", example, what, FOUND(v[i]));
		b = s + strlen(scheme);
		slash = strchr(b, '/');
		bl = slash ? (size_t)(slash - b) : strlen(b);
		if (!bucket_ok(b, bl, d->kind == ADO_DEST_AZURE)) {
			perr(p, v[i], "expected a valid %s name in %s, found '%.*s'",
			     d->kind == ADO_DEST_AZURE ? "container" : "bucket", what, (int)(bl < 70 ? bl : 70), b);
			return ado_err_hint(p->e, "%s", d->kind == ADO_DEST_AZURE
				? "container names are 3-63 lowercase letters, digits and single hyphens"
				: "bucket names are 3-63 lowercase letters, digits, '.' and '-'");
		}
		if (slash && slash[1] && !prefix_ok(slash + 1))
			return perr(p, v[i], "expected a prefix of letters, digits and !-_.*'() separated by single "
				    "'/' in %s, found '%s'", what, slash + 1);
		if (!(d->url = xdup(p, s)))
			return -1;
		if (!(d->bucket = malloc(bl + 1)) || !(d->prefix = malloc((slash ? strlen(slash) : 0) + 2)))
			return nomem(p);
		memcpy(d->bucket, b, bl);
		d->bucket[bl] = '\0';
		d->prefix[0] = '\0';
		if (slash && slash[1]) {
			strcpy(d->prefix, slash + 1);
			if (d->prefix[strlen(d->prefix) - 1] != '/')
				strcat(d->prefix, "/");
		}
	}
	for (size_t k = 0; k + 1 < j->ndests; k++) {
		const struct ado_dest *o = &j->dests[k];

		if (o->kind == d->kind && !strcmp(o->prefix, d->prefix) &&
		    !strcmp(o->bucket ? o->bucket : "", d->bucket ? d->bucket : ""))
			return perr(p, v[i], "expected distinct destinations in job '%s', found '%s' twice", j->name,
				    d->url);
	}
	return 0;
}

/* ---- jobs ------------------------------------------------------------- */

static int parse_job(struct pctx *p, const yaml_node_t *key, const yaml_node_t *map)
{
	static const char *const keys[] = { "schedule",	   "targets",	       "destinations", "retention", "encryption",
					    "compression", "compression_level", "rpo",	       "rto",	    NULL };
	enum { K_SCHEDULE, K_TARGETS, K_DESTS, K_RETENTION, K_ENCRYPTION, K_COMP, K_LEVEL, K_RPO, K_RTO };
	yaml_node_t *v[MAX_KEYS];
	struct ado_job *j;
	char what[200], fbuf[96];
	const char *s;

	if (!(j = grow(p, (void **)&p->c->jobs, &p->c->njobs, sizeof(*j))))
		return -1;
	j->line = (int)key->start_mark.line + 1;
	j->col = (int)key->start_mark.column + 1;
	j->compression = ADO_COMP_ZSTD;
	if (get_name(p, key, "job name", &j->name) < 0)
		return -1;
	snprintf(what, sizeof(what), "job '%s'", j->name);
	if (map_fields(p, map, what, keys, v, NULL) < 0)
		return -1;

	if (v[K_SCHEDULE]) {
		snprintf(what, sizeof(what), "'schedule' of job '%s'", j->name);
		if (get_scalar(p, v[K_SCHEDULE], what, "a cron schedule", &s) < 0)
			return -1;
		if (ado_cron_parse(s, &j->cron, p->e) < 0) {
			char why[sizeof(p->e->msg)];

			memcpy(why, p->e->msg, sizeof(why));
			perr(p, v[K_SCHEDULE], "expected a cron schedule for %s, found %s (%s)", what,
			     FOUND(v[K_SCHEDULE]), why);
			return ado_err_hint(p->e, "five fields: minute hour day-of-month month day-of-week, "
					    "as in '*/15 * * * *' or '0 2 * * *'");
		}
		if (set_str(p, &j->schedule, s) < 0)
			return -1;
	}

	snprintf(what, sizeof(what), "'targets' of job '%s'", j->name);
	if (!v[K_TARGETS])
		return perr(p, key, "expected 'targets' in job '%s', found none", j->name);
	if (want_seq(p, v[K_TARGETS], what) < 0)
		return -1;
	for (yaml_node_item_t *it = v[K_TARGETS]->data.sequence.items.start;
	     it < v[K_TARGETS]->data.sequence.items.top; it++)
		if (parse_target(p, j, node_at(p, *it), (size_t)(it - v[K_TARGETS]->data.sequence.items.start)) < 0)
			return -1;
	if (!j->ntargets)
		return perr(p, v[K_TARGETS], "expected at least one target in job '%s', found an empty list", j->name);
	if (name_targets(p, j) < 0)
		return -1;

	snprintf(what, sizeof(what), "'destinations' of job '%s'", j->name);
	if (!v[K_DESTS])
		return perr(p, key, "expected 'destinations' in job '%s', found none", j->name);
	if (want_seq(p, v[K_DESTS], what) < 0)
		return -1;
	for (yaml_node_item_t *it = v[K_DESTS]->data.sequence.items.start; it < v[K_DESTS]->data.sequence.items.top;
	     it++)
		if (parse_dest(p, j, node_at(p, *it), (size_t)(it - v[K_DESTS]->data.sequence.items.start)) < 0)
			return -1;
	if (!j->ndests)
		return perr(p, v[K_DESTS], "expected at least one destination in job '%s', found an empty list",
			    j->name);

	if (v[K_RETENTION]) {
		snprintf(what, sizeof(what), "'retention' of job '%s'", j->name);
		if (get_duration(p, v[K_RETENTION], what, 1, &j->retention) < 0)
			return -1;
	}
	if (v[K_ENCRYPTION]) {
		snprintf(what, sizeof(what), "'encryption' of job '%s'", j->name);
		if (get_scalar(p, v[K_ENCRYPTION], what, "AES-256 or none", &s) < 0)
			return -1;
		if (!strcasecmp(s, "AES-256") || !strcasecmp(s, "aes-256-gcm"))
			j->encrypt = 1;
		else if (!strcasecmp(s, "none"))
			j->encrypt = 0;
		else
			return perr(p, v[K_ENCRYPTION], "expected AES-256, aes-256-gcm or none for %s, found %s", what,
				    FOUND(v[K_ENCRYPTION]));
	}
	if (v[K_COMP]) {
		snprintf(what, sizeof(what), "'compression' of job '%s'", j->name);
		if (get_scalar(p, v[K_COMP], what, "gzip, lz4, zstd or none", &s) < 0)
			return -1;
		if (ado_compression_parse(s, &j->compression) < 0)
			return perr(p, v[K_COMP], "expected gzip, lz4, zstd or none for %s, found %s", what,
				    FOUND(v[K_COMP]));
	}
	if (v[K_LEVEL]) {
		/* each codec's own range: gzip 1-9, lz4 1-12, zstd 1-19 (22 with --ultra) */
		int max = j->compression == ADO_COMP_GZIP ? 9 : j->compression == ADO_COMP_LZ4 ? 12
			  : j->compression == ADO_COMP_ZSTD ? 22 : 0;

		snprintf(what, sizeof(what), "'compression_level' of job '%s' (%s)", j->name,
			 ado_compression_name(j->compression));
		if (get_int(p, v[K_LEVEL], what, 0, max, &j->compression_level) < 0)
			return -1;
	}
	if (v[K_RPO]) {
		snprintf(what, sizeof(what), "'rpo' of job '%s'", j->name);
		if (get_duration(p, v[K_RPO], what, 0, &j->rpo) < 0)
			return -1;
	}
	if (v[K_RTO]) {
		snprintf(what, sizeof(what), "'rto' of job '%s'", j->name);
		if (get_duration(p, v[K_RTO], what, 0, &j->rto) < 0)
			return -1;
	}
	return 0;
}

/* ---- optional sections ---------------------------------------------- */

static int parse_encryption(struct pctx *p, const yaml_node_t *map)
{
	static const char *const keys[] = { "key_file", "passphrase_env", NULL };
	yaml_node_t *v[MAX_KEYS];
	const char *s;

	if (map_fields(p, map, "'encryption'", keys, v, NULL) < 0)
		return -1;
	if (v[0] && v[1])
		return perr(p, v[1], "expected one of key_file or passphrase_env in 'encryption', found both");
	if (v[0] && get_path(p, v[0], "'key_file' in 'encryption'", &p->c->key_file) < 0)
		return -1;
	if (v[1]) {
		if (get_scalar(p, v[1], "'passphrase_env' in 'encryption'", "an environment variable name", &s) < 0)
			return -1;
		if (!env_name_ok(s)) {
			perr(p, v[1], "expected an environment variable name for 'passphrase_env', found something else");
			return ado_err_hint(p->e, "passphrase_env names a variable (like ADO_PASSPHRASE) that holds the "
					    "passphrase, not the passphrase itself; if one was pasted here, change it");
		}
		if (set_str(p, &p->c->passphrase_env, s) < 0)
			return -1;
	}
	return 0;
}

static int conninfo_has_password(const char *s)
{
	const char *scheme = strstr(s, "://");

	for (const char *q = s; (q = strcasestr(q, "password")); q += 8) {
		const char *r = q + 8;

		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '=')
			return 1;
	}
	if (scheme) {
		/* postgresql://user:secret@host/db */
		const char *auth = scheme + 3, *end = auth + strcspn(auth, "/?"), *at = memchr(auth, '@', (size_t)(end - auth));

		if (at && memchr(auth, ':', (size_t)(at - auth)))
			return 1;
	}
	return 0;
}

static int parse_databases(struct pctx *p, const yaml_node_t *map)
{
	static const char *const keys[] = { "conninfo", "password_env", "password_file", NULL };

	if (map_unique(p, map, "'databases'") < 0)
		return -1;
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node_at(p, pr->key), *val = node_at(p, pr->value), *v[MAX_KEYS];
		struct ado_database *d;
		char what[200];

		if (!(d = grow(p, (void **)&p->c->databases, &p->c->ndatabases, sizeof(*d))) ||
		    set_str(p, &d->name, sval(k)) < 0)
			return -1;
		snprintf(what, sizeof(what), "database '%s'", d->name);
		if (map_fields(p, val, what, keys, v, NULL) < 0)
			return -1;
		if (v[0]) {
			if (get_str(p, v[0], what, "a libpq conninfo", &d->conninfo) < 0)
				return -1;
			if (conninfo_has_password(d->conninfo)) {
				perr(p, v[0], "expected a conninfo without a password for %s, found one in it", what);
				return ado_err_hint(p->e, "move the password to password_file: PATH (mode 0600) or "
						    "password_env: VARIABLE, and change it: it has been in the config");
			}
		}
		if (get_secret(p, v[1], v[2], what, "password", &d->password) < 0)
			return -1;
	}
	return 0;
}

static int parse_storage(struct pctx *p, const yaml_node_t *map)
{
	static const char *const keys[] = { "s3", "azure", NULL };
	static const char *const s3_keys[] = { "endpoint",
					       "region",
					       "path_style",
					       "access_key_id_env",
					       "access_key_id_file",
					       "secret_access_key_env",
					       "secret_access_key_file",
					       "ca_file",
					       "storage_class",
					       NULL };
	static const char *const az_keys[] = { "endpoint", "account", "key_env", "key_file", "ca_file", "access_tier",
					       NULL };
	yaml_node_t *v[MAX_KEYS], *s[MAX_KEYS];
	struct ado_config *c = p->c;

	if (map_fields(p, map, "'storage'", keys, v, NULL) < 0)
		return -1;
	if (v[0]) {
		if (map_fields(p, v[0], "'storage.s3'", s3_keys, s, NULL) < 0)
			return -1;
		c->s3.present = 1;
		if ((s[0] && get_str(p, s[0], "'endpoint' in 'storage.s3'", "a URL", &c->s3.endpoint) < 0) ||
		    (s[1] && get_str(p, s[1], "'region' in 'storage.s3'", "a region", &c->s3.region) < 0) ||
		    (s[2] && get_bool(p, s[2], "'path_style' in 'storage.s3'", &c->s3.path_style) < 0) ||
		    get_secret(p, s[3], s[4], "'storage.s3'", "access_key_id", &c->s3.access_key_id) < 0 ||
		    get_secret(p, s[5], s[6], "'storage.s3'", "secret_access_key", &c->s3.secret_access_key) < 0 ||
		    (s[7] && get_path(p, s[7], "'ca_file' in 'storage.s3'", &c->s3.ca_file) < 0) ||
		    (s[8] && get_str(p, s[8], "'storage_class' in 'storage.s3'", "a storage class",
				     &c->s3.storage_class) < 0))
			return -1;
		if (strncmp(c->s3.endpoint, "http://", 7) && strncmp(c->s3.endpoint, "https://", 8))
			return perr(p, s[0], "expected an http:// or https:// URL for 'endpoint' in 'storage.s3', "
				    "found '%s'", c->s3.endpoint);
	}
	if (v[1]) {
		if (map_fields(p, v[1], "'storage.azure'", az_keys, s, NULL) < 0)
			return -1;
		c->azure.present = 1;
		if ((s[0] && get_str(p, s[0], "'endpoint' in 'storage.azure'", "a URL", &c->azure.endpoint) < 0) ||
		    (s[1] && get_str(p, s[1], "'account' in 'storage.azure'", "an account name", &c->azure.account) < 0) ||
		    get_secret(p, s[2], s[3], "'storage.azure'", "key", &c->azure.key) < 0 ||
		    (s[4] && get_path(p, s[4], "'ca_file' in 'storage.azure'", &c->azure.ca_file) < 0) ||
		    (s[5] && get_str(p, s[5], "'access_tier' in 'storage.azure'", "Hot, Cool or Archive",
				     &c->azure.access_tier) < 0))
			return -1;
		if (c->azure.endpoint && strncmp(c->azure.endpoint, "http://", 7) &&
		    strncmp(c->azure.endpoint, "https://", 8))
			return perr(p, s[0], "expected an http:// or https:// URL for 'endpoint' in 'storage.azure', "
				    "found '%s'", c->azure.endpoint);
		if (c->azure.access_tier && strcasecmp(c->azure.access_tier, "Hot") &&
		    strcasecmp(c->azure.access_tier, "Cool") && strcasecmp(c->azure.access_tier, "Cold") &&
		    strcasecmp(c->azure.access_tier, "Archive"))
			return perr(p, s[5], "expected Hot, Cool, Cold or Archive for 'access_tier' in 'storage.azure', "
				    "found '%s'", c->azure.access_tier);
	}
	return 0;
}

static int parse_severities(struct pctx *p, const yaml_node_t *n, const char *what, int *out)
{
	static const struct {
		const char *name;
		int bit;
	} sev[] = { { "info", ADO_SEV_INFO }, { "warning", ADO_SEV_WARNING }, { "critical", ADO_SEV_CRITICAL },
		    { "all", ADO_SEV_ALL } };
	const yaml_node_item_t *it, *end;
	yaml_node_item_t one;
	char fbuf[96];

	*out = 0;
	if (n->type == YAML_SCALAR_NODE) {
		/* a single severity need not be written as a list */
		one = 0;
		it = &one;
		end = it + 1;
	} else {
		if (want_seq(p, n, what) < 0)
			return -1;
		it = n->data.sequence.items.start;
		end = n->data.sequence.items.top;
		if (it == end)
			return perr(p, n, "expected at least one of info, warning, critical for %s, found an empty list",
				    what);
	}
	for (; it < end; it++) {
		const yaml_node_t *v = n->type == YAML_SCALAR_NODE ? n : node_at(p, *it);
		size_t i;

		if (v->type == YAML_SCALAR_NODE)
			for (i = 0; i < sizeof(sev) / sizeof(sev[0]); i++)
				if (!strcasecmp(sval(v), sev[i].name)) {
					*out |= sev[i].bit;
					break;
				}
		if (v->type != YAML_SCALAR_NODE || i == sizeof(sev) / sizeof(sev[0]))
			return perr(p, v, "expected info, warning, critical or all in %s, found %s", what, FOUND(v));
	}
	return 0;
}

static int parse_headers(struct pctx *p, struct ado_channel *ch, const yaml_node_t *map, const char *what)
{
	char fbuf[96];

	if (map_unique(p, map, what) < 0)
		return -1;
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
		struct ado_header *h;
		const char *name = sval(k), *val;

		for (const char *q = name; *q; q++)
			if (!isalnum((unsigned char)*q) && !strchr("!#$%&'*+-.^_`|~", *q))
				return perr(p, k, "expected an HTTP header name in %s, found '%s'", what, name);
		if (!strcasecmp(name, "Authorization")) {
			perr(p, k, "expected a secret by reference in %s, found an inline 'Authorization' header", what);
			return ado_err_hint(p->e, "write token_env: VARIABLE or token_file: PATH; it is sent as "
					    "'Authorization: Bearer TOKEN'");
		}
		for (size_t i = 0; i < ch->nheaders; i++)
			if (!strcasecmp(ch->headers[i].name, name))
				return perr(p, k, "expected each header once in %s, found '%s' again", what, name);
		if (v->type != YAML_SCALAR_NODE)
			return perr(p, v, "expected a header value in %s, found %s", what, FOUND(v));
		val = sval(v);
		if (strpbrk(val, "\r\n") || strlen(val) != v->data.scalar.length)
			return perr(p, v, "expected a header value on one line in %s, found a line break", what);
		if (!(h = grow(p, (void **)&ch->headers, &ch->nheaders, sizeof(*h))) ||
		    set_str(p, &h->name, name) < 0 || set_str(p, &h->value, val) < 0)
			return -1;
	}
	return 0;
}

static int want_http(struct pctx *p, const yaml_node_t *n, const char *url, const char *what)
{
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return perr(p, n, "expected an http:// or https:// URL for %s, found '%.60s'", what, url);
	return 0;
}

static int parse_channel(struct pctx *p, const yaml_node_t *key, const yaml_node_t *map)
{
	static const char *const kinds[] = { "slack", "webhook", "statuspage", "email" };
	/* per type, so a setting that would be ignored (smtp_url on a slack
	 * channel) is refused instead */
	static const char *const keys[4][MAX_KEYS] = {
		{ "type", "severities", "ca_file", "url_env", "url_file", NULL },
		{ "type", "severities", "ca_file", "url", "url_env", "url_file", "headers", "token_env", "token_file",
		  NULL },
		{ "type", "severities", "ca_file", "url", "url_env", "url_file", "token_env", "token_file", NULL },
		{ "type", "severities", "ca_file", "smtp_url", "from", "to", "username", "password_env", "password_file",
		  "starttls", NULL },
	};
	enum { F_SEV, F_CA, F_URL, F_URL_ENV, F_URL_FILE, F_HEADERS, F_TOKEN_ENV, F_TOKEN_FILE,
	       F_SMTP, F_FROM, F_TO, F_USER, F_PW_ENV, F_PW_FILE, F_STARTTLS };
	yaml_node_t *v[MAX_KEYS], *typen = NULL;
	const yaml_node_t *f[16] = { 0 };
	struct ado_channel *ch;
	char what[200], fbuf[96];
	const char *const *kl;
	size_t kind;

	if (!(ch = grow(p, (void **)&p->c->channels, &p->c->nchannels, sizeof(*ch))))
		return -1;
	ch->line = (int)key->start_mark.line + 1;
	ch->col = (int)key->start_mark.column + 1;
	ch->severities = ADO_SEV_ALL;
	ch->starttls = 1;
	if (get_name(p, key, "channel name", &ch->name) < 0)
		return -1;
	snprintf(what, sizeof(what), "channel '%s'", ch->name);
	if (want_map(p, map, what) < 0)
		return -1;
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node_at(p, pr->key);

		if (k->type == YAML_SCALAR_NODE && !strcmp(sval(k), "type"))
			typen = node_at(p, pr->value);
	}
	if (!typen)
		return perr(p, key, "expected 'type: slack|webhook|statuspage|email' in %s, found no type", what);
	for (kind = 0; kind < 4; kind++)
		if (typen->type == YAML_SCALAR_NODE && !strcmp(sval(typen), kinds[kind]))
			break;
	if (kind == 4)
		return perr(p, typen, "expected slack, webhook, statuspage or email for 'type' of %s, found %s", what,
			    FOUND(typen));
	ch->kind = (enum ado_channel_kind)kind;
	kl = keys[kind];
	if (map_fields(p, map, what, kl, v, NULL) < 0)
		return -1;
	/* index the values by name: the per-type lists differ in order */
	for (size_t i = 0; kl[i]; i++) {
		static const char *const all[] = { "severities", "ca_file", "url", "url_env", "url_file",
						   "headers", "token_env", "token_file", "smtp_url", "from",
						   "to", "username", "password_env", "password_file", "starttls", NULL };
		for (size_t a = 0; all[a]; a++)
			if (!strcmp(all[a], kl[i]))
				f[a] = v[i];
	}

	if ((f[F_SEV] && parse_severities(p, f[F_SEV], what, &ch->severities) < 0) ||
	    (f[F_CA] && get_path(p, f[F_CA], what, &ch->ca_file) < 0) ||
	    (f[F_URL] && get_str(p, f[F_URL], what, "a URL", &ch->url) < 0) ||
	    (f[F_URL] && want_http(p, f[F_URL], ch->url, what) < 0) ||
	    get_secret(p, f[F_URL_ENV], f[F_URL_FILE], what, "url", &ch->url_ref) < 0 ||
	    (f[F_HEADERS] && parse_headers(p, ch, f[F_HEADERS], what) < 0) ||
	    get_secret(p, f[F_TOKEN_ENV], f[F_TOKEN_FILE], what, "token", &ch->token) < 0 ||
	    (f[F_SMTP] && get_str(p, f[F_SMTP], what, "an smtp:// or smtps:// URL", &ch->smtp_url) < 0) ||
	    (f[F_FROM] && get_str(p, f[F_FROM], what, "an email address", &ch->from) < 0) ||
	    (f[F_TO] && get_str_list(p, f[F_TO], what, "an email address", 1, &ch->to, &ch->nto) < 0) ||
	    (f[F_USER] && get_str(p, f[F_USER], what, "a user name", &ch->username) < 0) ||
	    get_secret(p, f[F_PW_ENV], f[F_PW_FILE], what, "password", &ch->password) < 0 ||
	    (f[F_STARTTLS] && get_bool(p, f[F_STARTTLS], what, &ch->starttls) < 0))
		return -1;
	if (f[F_URL] && ref_set(&ch->url_ref))
		return perr(p, f[F_URL], "expected one of url, url_env or url_file in %s, found more than one", what);
	switch (ch->kind) {
	case ADO_CH_SLACK:
		if (!ref_set(&ch->url_ref)) {
			perr(p, key, "expected url_env or url_file in %s, found neither", what);
			return ado_err_hint(p->e, "a Slack webhook URL is a secret: url_env: SLACK_WEBHOOK_URL");
		}
		break;
	case ADO_CH_WEBHOOK:
	case ADO_CH_STATUSPAGE:
		if (!ch->url && !ref_set(&ch->url_ref))
			return perr(p, key, "expected url, url_env or url_file in %s, found none", what);
		if (ch->kind == ADO_CH_STATUSPAGE && !ref_set(&ch->token)) {
			perr(p, key, "expected token_env or token_file in %s, found neither", what);
			return ado_err_hint(p->e, "the status page API needs a token: token_env: STATUS_PAGE_TOKEN");
		}
		break;
	case ADO_CH_EMAIL:
		if (!ch->smtp_url)
			return perr(p, key, "expected 'smtp_url' in %s, found none", what);
		if (strncmp(ch->smtp_url, "smtp://", 7) && strncmp(ch->smtp_url, "smtps://", 8))
			return perr(p, f[F_SMTP], "expected an smtp:// or smtps:// URL in %s, found %s", what,
				    FOUND(f[F_SMTP]));
		if (!ch->from)
			return perr(p, key, "expected 'from' in %s, found none", what);
		if (!ch->nto)
			return perr(p, key, "expected 'to' in %s, found none", what);
		break;
	}
	return 0;
}

static int parse_notifications(struct pctx *p, const yaml_node_t *map)
{
	static const char *const keys[] = { "timeout", "channels", NULL };
	yaml_node_t *v[MAX_KEYS];

	if (map_fields(p, map, "'notifications'", keys, v, NULL) < 0)
		return -1;
	if (v[0] && get_duration(p, v[0], "'timeout' in 'notifications'", 0, &p->c->notify_timeout) < 0)
		return -1;
	if (v[1]) {
		if (map_unique(p, v[1], "'channels'") < 0)
			return -1;
		for (yaml_node_pair_t *pr = v[1]->data.mapping.pairs.start; pr < v[1]->data.mapping.pairs.top; pr++)
			if (parse_channel(p, node_at(p, pr->key), node_at(p, pr->value)) < 0)
				return -1;
	}
	return 0;
}

/* `recovery:` is the recovery plan: lib/recover parses it (its own file format
 * too, with --plan FILE); here it is only allowed. */
static int parse_root(struct pctx *p, const yaml_node_t *root)
{
	static const char *const keys[] = { "state_dir", "encryption", "databases", "storage", "notifications",
					    "backup_jobs", "recovery", NULL };
	yaml_node_t *v[MAX_KEYS];

	if (map_fields(p, root, "the top level", keys, v, NULL) < 0)
		return -1;
	if ((v[0] && get_path(p, v[0], "'state_dir'", &p->c->state_dir) < 0) ||
	    (v[1] && parse_encryption(p, v[1]) < 0) || (v[2] && parse_databases(p, v[2]) < 0) ||
	    (v[3] && parse_storage(p, v[3]) < 0) || (v[4] && parse_notifications(p, v[4]) < 0))
		return -1;
	if (v[5]) {
		if (map_unique(p, v[5], "'backup_jobs'") < 0)
			return -1;
		for (yaml_node_pair_t *pr = v[5]->data.mapping.pairs.start; pr < v[5]->data.mapping.pairs.top; pr++)
			if (parse_job(p, node_at(p, pr->key), node_at(p, pr->value)) < 0)
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
	c->s3.path_style = 1;
	return set_default(&c->state_dir, ADO_DEFAULT_STATE_DIR) | set_default(&c->s3.endpoint, "https://s3.amazonaws.com") |
	       set_default(&c->s3.region, "us-east-1") | set_default(&c->s3.storage_class, "STANDARD") |
	       set_default(&c->s3.access_key_id.env, "AWS_ACCESS_KEY_ID") |
	       set_default(&c->s3.secret_access_key.env, "AWS_SECRET_ACCESS_KEY") |
	       set_default(&c->azure.key.env, "AZURE_STORAGE_KEY");
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
	if (!c->azure.account && (v = getenv("AZURE_STORAGE_ACCOUNT")) && *v && set_default(&c->azure.account, v) < 0)
		return -1;
	if (!c->azure.endpoint && c->azure.account) {
		size_t n = strlen(c->azure.account) + sizeof("https://.blob.core.windows.net");

		if (!(c->azure.endpoint = malloc(n)))
			return -1;
		snprintf(c->azure.endpoint, n, "https://%s.blob.core.windows.net", c->azure.account);
	}
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
	ref_free(&ch->url_ref);
	ref_free(&ch->token);
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
	ref_free(&ch->password);
}

void ado_config_free(struct ado_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->state_dir);
	free(c->key_file);
	free(c->passphrase_env);
	for (size_t i = 0; i < c->njobs; i++)
		job_free(&c->jobs[i]);
	free(c->jobs);
	for (size_t i = 0; i < c->ndatabases; i++) {
		free(c->databases[i].name);
		free(c->databases[i].conninfo);
		ref_free(&c->databases[i].password);
	}
	free(c->databases);
	free(c->s3.endpoint);
	free(c->s3.region);
	ref_free(&c->s3.access_key_id);
	ref_free(&c->s3.secret_access_key);
	free(c->s3.ca_file);
	free(c->s3.storage_class);
	free(c->azure.endpoint);
	free(c->azure.account);
	ref_free(&c->azure.key);
	free(c->azure.ca_file);
	free(c->azure.access_tier);
	for (size_t i = 0; i < c->nchannels; i++)
		channel_free(&c->channels[i]);
	free(c->channels);
	free(c);
}
