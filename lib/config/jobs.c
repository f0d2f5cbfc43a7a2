/* jobs.c - the backup_jobs: section: each job's schedule, targets,
 * destinations, retention, encryption, compression and rpo/rto. */
#include "config/config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "config/internal.h"

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
	if (cfg_want_map(p, item, what) < 0)
		return -1;
	for (yaml_node_pair_t *pr = item->data.mapping.pairs.start; pr < item->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = cfg_node_at(p, pr->key);

		if (k->type != YAML_SCALAR_NODE)
			continue;
		is_db |= !strcmp(cfg_sval(k), "database");
		is_files |= !strcmp(cfg_sval(k), "files");
	}
	if (is_db == is_files) {
		/* report misspelt keys first: "databse:" is the likely cause */
		if (cfg_map_fields(p, item, what, any_keys, v, NULL) < 0)
			return -1;
		if (is_db)
			return cfg_perr(p, item, "expected either 'database' or 'files' in %s, found both", what);
		return cfg_perr(p, item, "expected 'database: NAME' or 'files: PATH' in %s, found neither", what);
	}
	if (!(t = cfg_grow(p, (void **)&j->targets, &j->ntargets, sizeof(*t))))
		return -1;
	t->line = (int)item->start_mark.line + 1;
	t->col = (int)item->start_mark.column + 1;
	if (is_db) {
		t->kind = ADO_TARGET_DATABASE;
		if (cfg_map_fields(p, item, what, db_keys, v, NULL) < 0 ||
		    cfg_get_str(p, v[0], what, "a database name", &t->database) < 0 ||
		    (v[1] && cfg_get_str_list(p, v[1], "'tables'", "a table name", 0, &t->tables, &t->ntables) < 0) ||
		    (v[2] && cfg_get_name(p, v[2], "target name", &t->name) < 0))
			return -1;
	} else {
		t->kind = ADO_TARGET_FILES;
		if (cfg_map_fields(p, item, what, files_keys, v, NULL) < 0)
			return -1;
		snprintf(what, sizeof(what), "'files' in target %zu of job '%s'", idx + 1, j->name);
		if (cfg_get_path(p, v[0], what, &t->path) < 0 ||
		    (v[1] && cfg_get_str_list(p, v[1], "'exclude'", "a glob pattern", 0, &t->exclude, &t->nexclude) < 0) ||
		    (v[2] && cfg_get_name(p, v[2], "target name", &t->name) < 0))
			return -1;
	}
	if (t->name && target_name_taken(j, j->ntargets - 1, t->name))
		return cfg_perr(p, v[2], "expected a target name unique in job '%s', found '%s' twice", j->name, t->name);
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
			return cfg_nomem(p);
		len = strlen(base) + 24;
		if (!(name = malloc(len))) {
			free(base);
			return cfg_nomem(p);
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
	if (cfg_map_fields(p, item, what, kinds, v, kn) < 0)
		return -1;
	if (item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1) {
		if (item->data.mapping.pairs.start == item->data.mapping.pairs.top)
			return cfg_perr(p, item, "expected one of local, s3, s3_glacier, azure in %s, found none", what);
		return cfg_perr(p, cfg_node_at(p, item->data.mapping.pairs.start[1].key),
			    "expected one destination per list item in job '%s', found %zu", j->name,
			    (size_t)(item->data.mapping.pairs.top - item->data.mapping.pairs.start));
	}
	for (i = 0; !v[i]; i++)
		;
	if (!(d = cfg_grow(p, (void **)&j->dests, &j->ndests, sizeof(*d))))
		return -1;
	d->line = (int)kn[i]->start_mark.line + 1;
	d->col = (int)kn[i]->start_mark.column + 1;
	d->kind = i == 0 ? ADO_DEST_LOCAL : i == 1 ? ADO_DEST_S3 : i == 2 ? ADO_DEST_S3_GLACIER : ADO_DEST_AZURE;
	snprintf(what, sizeof(what), "'%s' in destination %zu of job '%s'", kinds[i], idx + 1, j->name);
	if (d->kind == ADO_DEST_LOCAL) {
		if (cfg_get_path(p, v[i], what, &d->url) < 0)
			return -1;
		s = d->url;
		if (!(d->prefix = malloc(strlen(s) + 2)))
			return cfg_nomem(p);
		strcpy(d->prefix, s);
		if (s[strlen(s) - 1] != '/')
			strcat(d->prefix, "/");
	} else {
		const char *b, *slash;
		size_t bl;

		scheme = d->kind == ADO_DEST_AZURE ? "azblob://" : "s3://";
		example = d->kind == ADO_DEST_AZURE ? "'azblob://container/prefix/'" : "'s3://bucket/prefix/'";
		if (cfg_get_scalar(p, v[i], what, "a URL", &s) < 0)
			return -1;
		if (strncmp(s, scheme, strlen(scheme)) != 0)
			return cfg_perr(p, v[i], "expected a URL like %s for %s, found %s", example, what, FOUND(v[i]));
		b = s + strlen(scheme);
		slash = strchr(b, '/');
		bl = slash ? (size_t)(slash - b) : strlen(b);
		if (!bucket_ok(b, bl, d->kind == ADO_DEST_AZURE)) {
			cfg_perr(p, v[i], "expected a valid %s name in %s, found '%.*s'",
			     d->kind == ADO_DEST_AZURE ? "container" : "bucket", what, (int)(bl < 70 ? bl : 70), b);
			return ado_err_hint(p->e, "%s", d->kind == ADO_DEST_AZURE
				? "container names are 3-63 lowercase letters, digits and single hyphens"
				: "bucket names are 3-63 lowercase letters, digits, '.' and '-'");
		}
		if (slash && slash[1] && !prefix_ok(slash + 1))
			return cfg_perr(p, v[i], "expected a prefix of letters, digits and !-_.*'() separated by single "
				    "'/' in %s, found '%s'", what, slash + 1);
		if (!(d->url = cfg_xdup(p, s)))
			return -1;
		if (!(d->bucket = malloc(bl + 1)) || !(d->prefix = malloc((slash ? strlen(slash) : 0) + 2)))
			return cfg_nomem(p);
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
			return cfg_perr(p, v[i], "expected distinct destinations in job '%s', found '%s' twice", j->name,
				    d->url);
	}
	return 0;
}

/* ---- retention --------------------------------------------------------- */

/* retention: "30 days" | forever | { keep_within: 24h, last: N, hourly: N, daily: N, weekly: N,
 * monthly: N, yearly: N } */
static int parse_retention(struct pctx *p, struct ado_job *j, const yaml_node_t *n)
{
	static const char *const keys[] = { "keep_within", "last",    "hourly", "daily",
					    "weekly",	   "monthly", "yearly", NULL };
	yaml_node_t *v[MAX_KEYS];
	int *counts[] = { NULL, &j->keep.last, &j->keep.hourly, &j->keep.daily,
			  &j->keep.weekly, &j->keep.monthly, &j->keep.yearly };
	char what[200];
	int any = 0;

	snprintf(what, sizeof(what), "'retention' of job '%s'", j->name);
	if (n->type != YAML_MAPPING_NODE)
		return cfg_get_duration(p, n, what, 1, &j->retention);
	if (cfg_map_fields(p, n, what, keys, v, NULL) < 0)
		return -1;
	j->keep.set = 1;
	if (v[0]) {
		snprintf(what, sizeof(what), "'keep_within' in the retention of job '%s'", j->name);
		if (cfg_get_duration(p, v[0], what, 0, &j->keep.within) < 0)
			return -1;
		any = 1;
	}
	for (size_t i = 1; keys[i]; i++) {
		if (!v[i])
			continue;
		snprintf(what, sizeof(what), "'%s' in the retention of job '%s'", keys[i], j->name);
		if (cfg_get_int(p, v[i], what, 1, 1000000, counts[i]) < 0)
			return -1;
		any = 1;
	}
	if (!any) {
		cfg_perr(p, n, "expected at least one rule in %s, found an empty mapping", what);
		return ado_err_hint(p->e, "keep_within: 24h, last: N, hourly: N, daily: N, weekly: N, monthly: N "
				    "or yearly: N; or a duration such as \"30 days\"");
	}
	return 0;
}

/* ---- jobs ------------------------------------------------------------- */

int cfg_parse_job(struct pctx *p, const yaml_node_t *key, const yaml_node_t *map)
{
	static const char *const keys[] = { "schedule",	   "targets",	       "destinations", "retention", "encryption",
					    "compression", "compression_level", "rpo",	       "rto",	    NULL };
	enum { K_SCHEDULE, K_TARGETS, K_DESTS, K_RETENTION, K_ENCRYPTION, K_COMP, K_LEVEL, K_RPO, K_RTO };
	yaml_node_t *v[MAX_KEYS];
	struct ado_job *j;
	char what[200], fbuf[96];
	const char *s;

	if (!(j = cfg_grow(p, (void **)&p->c->jobs, &p->c->njobs, sizeof(*j))))
		return -1;
	j->line = (int)key->start_mark.line + 1;
	j->col = (int)key->start_mark.column + 1;
	j->compression = ADO_COMP_ZSTD;
	if (cfg_get_name(p, key, "job name", &j->name) < 0)
		return -1;
	snprintf(what, sizeof(what), "job '%s'", j->name);
	if (cfg_map_fields(p, map, what, keys, v, NULL) < 0)
		return -1;

	if (v[K_SCHEDULE]) {
		struct ado_err ce;	/* p->e may be NULL: the cron error is read here */

		snprintf(what, sizeof(what), "'schedule' of job '%s'", j->name);
		if (cfg_get_scalar(p, v[K_SCHEDULE], what, "a cron schedule", &s) < 0)
			return -1;
		ado_err_clear(&ce);
		if (ado_cron_parse(s, &j->cron, &ce) < 0) {
			char why[sizeof(ce.msg)];

			memcpy(why, ce.msg, sizeof(why));
			cfg_perr(p, v[K_SCHEDULE], "expected a cron schedule for %s, found %s (%s)", what,
			     FOUND(v[K_SCHEDULE]), why);
			return ado_err_hint(p->e, "five fields: minute hour day-of-month month day-of-week, "
					    "as in '*/15 * * * *' or '0 2 * * *'");
		}
		if (cfg_set_str(p, &j->schedule, s) < 0)
			return -1;
	}

	snprintf(what, sizeof(what), "'targets' of job '%s'", j->name);
	if (!v[K_TARGETS])
		return cfg_perr(p, key, "expected 'targets' in job '%s', found none", j->name);
	if (cfg_want_seq(p, v[K_TARGETS], what) < 0)
		return -1;
	for (yaml_node_item_t *it = v[K_TARGETS]->data.sequence.items.start;
	     it < v[K_TARGETS]->data.sequence.items.top; it++)
		if (parse_target(p, j, cfg_node_at(p, *it), (size_t)(it - v[K_TARGETS]->data.sequence.items.start)) < 0)
			return -1;
	if (!j->ntargets)
		return cfg_perr(p, v[K_TARGETS], "expected at least one target in job '%s', found an empty list", j->name);
	if (name_targets(p, j) < 0)
		return -1;

	snprintf(what, sizeof(what), "'destinations' of job '%s'", j->name);
	if (!v[K_DESTS])
		return cfg_perr(p, key, "expected 'destinations' in job '%s', found none", j->name);
	if (cfg_want_seq(p, v[K_DESTS], what) < 0)
		return -1;
	for (yaml_node_item_t *it = v[K_DESTS]->data.sequence.items.start; it < v[K_DESTS]->data.sequence.items.top;
	     it++)
		if (parse_dest(p, j, cfg_node_at(p, *it), (size_t)(it - v[K_DESTS]->data.sequence.items.start)) < 0)
			return -1;
	if (!j->ndests)
		return cfg_perr(p, v[K_DESTS], "expected at least one destination in job '%s', found an empty list",
			    j->name);

	if (v[K_RETENTION] && parse_retention(p, j, v[K_RETENTION]) < 0)
		return -1;
	if (v[K_ENCRYPTION]) {
		snprintf(what, sizeof(what), "'encryption' of job '%s'", j->name);
		if (cfg_get_scalar(p, v[K_ENCRYPTION], what, "AES-256 or none", &s) < 0)
			return -1;
		if (!strcasecmp(s, "AES-256") || !strcasecmp(s, "aes-256-gcm"))
			j->encrypt = 1;
		else if (!strcasecmp(s, "none"))
			j->encrypt = 0;
		else
			return cfg_perr(p, v[K_ENCRYPTION], "expected AES-256, aes-256-gcm or none for %s, found %s", what,
				    FOUND(v[K_ENCRYPTION]));
	}
	if (v[K_COMP]) {
		snprintf(what, sizeof(what), "'compression' of job '%s'", j->name);
		if (cfg_get_scalar(p, v[K_COMP], what, "gzip, lz4, zstd or none", &s) < 0)
			return -1;
		if (ado_compression_parse(s, &j->compression) < 0)
			return cfg_perr(p, v[K_COMP], "expected gzip, lz4, zstd or none for %s, found %s", what,
				    FOUND(v[K_COMP]));
	}
	if (v[K_LEVEL]) {
		/* each codec's own range: gzip 1-9, lz4 1-12, zstd 1-19 (22 with --ultra) */
		int max = j->compression == ADO_COMP_GZIP ? 9 : j->compression == ADO_COMP_LZ4 ? 12
			  : j->compression == ADO_COMP_ZSTD ? 22 : 0;

		snprintf(what, sizeof(what), "'compression_level' of job '%s' (%s)", j->name,
			 ado_compression_name(j->compression));
		if (cfg_get_int(p, v[K_LEVEL], what, 0, max, &j->compression_level) < 0)
			return -1;
	}
	if (v[K_RPO]) {
		snprintf(what, sizeof(what), "'rpo' of job '%s'", j->name);
		if (cfg_get_duration(p, v[K_RPO], what, 0, &j->rpo) < 0)
			return -1;
	}
	if (v[K_RTO]) {
		snprintf(what, sizeof(what), "'rto' of job '%s'", j->name);
		if (cfg_get_duration(p, v[K_RTO], what, 0, &j->rto) < 0)
			return -1;
	}
	return 0;
}
