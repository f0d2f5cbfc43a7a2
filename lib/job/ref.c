/* ref.c - backup references: DEST/JOB/ID, JOB/ID and id prefixes, resolved
 * with one listing per destination (no manifest is read). */
#include "job/repo.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

char *ado_ref_join(const char *dest, const char *job, const char *id)
{
	size_t dl = strlen(dest), n = dl + strlen(job) + strlen(id) + 3;
	char *r = malloc(n);

	if (r)
		snprintf(r, n, "%s%s%s/%s", dest, dl && dest[dl - 1] == '/' ? "" : "/", job, id);
	return r;
}

char *ado_ref_make(const struct ado_store *s, const char *job, const char *id)
{
	return ado_ref_join(s->url, job, id);
}

/* Open the store of DEST as a reference names it: a local folder, or the URL
 * of a remote destination with the configured driver settings. buf is
 * modified. */
static int open_dest(char *buf, const struct ado_config *cfg, struct ado_store **store, struct ado_err *e)
{
	if (strncmp(buf, "s3://", 5) == 0 || strncmp(buf, "azblob://", 9) == 0) {
		struct ado_dest d = { 0 };
		char *p = strstr(buf, "://") + 3, *sl = strchr(p, '/');
		char bucket[256], prefix[PATH_MAX];
		d.kind = buf[0] == 's' ? ADO_DEST_S3 : ADO_DEST_AZURE;
		d.url = buf;
		snprintf(bucket, sizeof(bucket), "%.*s", sl ? (int)(sl - p) : (int)strlen(p), p);
		snprintf(prefix, sizeof(prefix), "%s%s", sl ? sl + 1 : "", sl && sl[1] ? "/" : "");
		d.bucket = bucket;
		d.prefix = prefix;
		return ado_store_open(&d, cfg, store, e);
	}
	return ado_store_local_open(buf[0] ? buf : "/", store, e);
}

/* An id or the start of one: digits, 'T', 'Z', at most an id long. */
static int id_like(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > 16 || p[0] < '0' || p[0] > '9')
		return 0;
	return strspn(p, "0123456789TZ") == n;
}

/* Does id start with want, 'T' and 'Z' not counted on either side
 * ("2026113010" matches 20261130T105519Z)? */
static int id_prefix(const char *id, const char *want)
{
	for (;;) {
		while (*want == 'T' || *want == 'Z')
			want++;
		while (*id == 'T' || *id == 'Z')
			id++;
		if (!*want)
			return 1;
		if (*id != *want)
			return 0;
		id++;
		want++;
	}
}

#define MAX_CANDS 8
#define MAX_NEAREST_PROBES 4

struct resolve {
	char ids[MAX_CANDS][20];	/* distinct complete backups that match */
	int first[MAX_CANDS];		/* the first store holding each */
	size_t n;
	int more;			/* a further match past MAX_CANDS */
	char nearest[20];		/* the complete id closest to want */
	size_t best;
	struct ado_err err;		/* the first destination that could not be searched */
	size_t failed;
};

static int is_complete(struct ado_store *s, const char *job, const char *id, struct ado_err *e)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s", job, id, ADO_MANIFEST_NAME) >= sizeof(path))
		return 0;
	return ado_store_exists(s, path, NULL, e);
}

static void search_failed(struct resolve *r, const struct ado_err *e)
{
	if (r->failed++ == 0)
		r->err = *e;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

struct near {
	size_t d, i;
};

static int by_distance(const void *a, const void *b)
{
	const struct near *x = a, *y = b;

	return x->d < y->d ? -1 : x->d > y->d ? 1 : x->i < y->i ? -1 : x->i > y->i;
}

/* One listing of job in s; a manifest check (a stat or a HEAD) only for the
 * ids that match want, up to the candidates kept, and for a few nearest. */
static void resolve_in(struct ado_store *s, int si, const char *job, const char *want, struct resolve *r)
{
	struct ado_backup_info *v = NULL;
	struct near *nv = NULL;
	struct ado_err e;
	size_t n = 0;

	ado_err_clear(&e);
	if (ado_repo_list_ids(s, job, &v, &n, &e) < 0) {
		ado_err_prefix(&e, "cannot list '%s'", s->url);
		search_failed(r, &e);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t k;
		int c;
		if (!id_prefix(v[i].id, want))
			continue;
		for (k = 0; k < r->n; k++)
			if (strcmp(r->ids[k], v[i].id) == 0)
				break;
		if (k < r->n)
			continue;	/* a copy of one already found */
		if (r->n == MAX_CANDS) {
			r->more = 1;	/* enough to say it is ambiguous; check no more */
			break;
		}
		if ((c = is_complete(s, job, v[i].id, &e)) < 0) {
			search_failed(r, &e);
			goto out;
		}
		if (c) {
			snprintf(r->ids[r->n], sizeof(r->ids[0]), "%s", v[i].id);
			r->first[r->n++] = si;
		}
	}
	if (r->n || !n || !(nv = malloc(n * sizeof(*nv))))
		goto out;
	/* nothing matches: the nearest complete id, for did-you-mean */
	for (size_t i = 0; i < n; i++) {
		nv[i].d = ado_edit_distance(want, v[i].id);
		nv[i].i = i;
	}
	qsort(nv, n, sizeof(*nv), by_distance);
	for (size_t i = 0; i < n && i < MAX_NEAREST_PROBES && nv[i].d < r->best; i++) {
		if (is_complete(s, job, v[nv[i].i].id, NULL) == 1) {
			r->best = nv[i].d;
			snprintf(r->nearest, sizeof(r->nearest), "%s", v[nv[i].i].id);
			break;
		}
	}
out:
	free(nv);
	free(v);
}

/* The job of a JOB/ID reference, or a usage error naming the nearest. */
static const struct ado_job *ref_job(const char *ref, const struct ado_config *cfg, const char *name,
				     struct ado_err *e)
{
	const struct ado_job *jb = cfg ? ado_config_job(cfg, name) : NULL;
	char hint[1024];

	if (jb)
		return jb;
	if (!cfg || !cfg->path) {
		ado_err_set(e, ADO_E_USAGE, 0, "bad backup reference '%s': no job '%s': no config loaded", ref, name);
		ado_err_hint(e, "give the config with -c or ADO_CONFIG, or give DEST/JOB/ID");
		return NULL;
	}
	ado_config_job_hint(cfg, name, hint, sizeof(hint));
	ado_err_set(e, ADO_E_USAGE, 0, "bad backup reference '%s': no job '%s' in '%s'", ref, name, cfg->path);
	ado_err_hint(e, "%s", hint);
	return NULL;
}

int ado_ref_parse(const char *ref, const struct ado_config *cfg, struct ado_store **store, char **job, char **id,
		  struct ado_err *e)
{
	char buf[PATH_MAX], *slash1, *slash2, *jobname, *want;
	struct ado_store *stores[ADO_REF_MAX_DESTS] = { 0 };
	const struct ado_job *jb = NULL;
	struct resolve r;
	size_t n = strlen(ref), nstores = 0;
	int rc = -1;

	*store = NULL;
	*job = *id = NULL;
	if (n >= sizeof(buf))
		return ado_err_set(e, ADO_E_USAGE, 0, "backup reference too long");
	memcpy(buf, ref, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	slash2 = strrchr(buf, '/');
	if (!slash2 || slash2 == buf || !id_like(slash2 + 1)) {
		ado_err_set(e, ADO_E_USAGE, 0,
			    "bad backup reference '%s': expected DEST/JOB/ID or JOB/ID with an id like 20261125T221500Z",
			    ref);
		return ado_err_hint(e, "ado-backup prints references; ado-restore --list shows them");
	}
	*slash2 = '\0';
	want = slash2 + 1;
	slash1 = strrchr(buf, '/');
	if (slash1 && slash1[1] == '\0')
		return ado_err_set(e, ADO_E_USAGE, 0, "bad backup reference '%s': expected DEST/JOB/ID", ref);
	jobname = slash1 ? slash1 + 1 : buf;
	if (slash1 && ado_backup_id_time(want) != (time_t)-1) {
		/* DEST/JOB/ID in full: that copy, whatever state it is in */
		*slash1 = '\0';
		if (open_dest(buf, cfg, store, e) < 0)
			return -1;
		goto found;
	}
	memset(&r, 0, sizeof(r));
	r.best = 99;
	if (slash1) {
		/* DEST/JOB/PREFIX: the backups on that destination */
		*slash1 = '\0';
		if (open_dest(buf, cfg, &stores[0], e) < 0)
			return -1;
		nstores = 1;
	} else {
		/* JOB/ID or JOB/PREFIX: the job's destinations, in config order */
		if (!(jb = ref_job(ref, cfg, jobname, e)))
			return -1;
		for (size_t d = 0; d < jb->ndests && d < ADO_REF_MAX_DESTS; d++) {
			struct ado_err oe;
			ado_err_clear(&oe);
			if (ado_store_open(&jb->dests[d], cfg, &stores[nstores], &oe) == 0)
				nstores++;
			else
				search_failed(&r, &oe);
		}
	}
	for (size_t i = 0; i < nstores; i++)
		resolve_in(stores[i], (int)i, jobname, want, &r);
	if (r.n == 0 && r.failed) {
		/* not "no such backup": a destination could not be asked */
		*e = r.err;
		ado_err_prefix(e, "cannot resolve '%s'", ref);
		goto out;
	}
	if (r.n == 0) {
		ado_err_set(e, ADO_E_USAGE, 0, "bad backup reference '%s': no complete backup matches", ref);
		if (r.nearest[0]) {
			/* in the form given: JOB/ID, or DEST/JOB/ID */
			char *near = jb ? NULL : ado_ref_make(stores[0], jobname, r.nearest);
			if (jb)
				ado_err_hint(e, "did you mean '%s/%s'? ado-restore --list --job %s shows them", jobname,
					     r.nearest, jobname);
			else
				ado_err_hint(e, "did you mean '%s'? ado-restore --list --job %s shows them",
					     near ? near : r.nearest, jobname);
			free(near);
		} else {
			ado_err_hint(e, "job '%s' has no complete backup there; ado-restore --list --job %s shows them",
				     jobname, jobname);
		}
		goto out;
	}
	if (r.n > 1 || r.more) {
		char list[MAX_CANDS * 24] = "";
		qsort(r.ids, r.n, sizeof(r.ids[0]), by_str);	/* oldest first, whichever destination said it */
		for (size_t k = 0; k < r.n; k++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", k ? ", " : "", r.ids[k]);
		if (r.more)
			ado_err_set(e, ADO_E_USAGE, 0, "backup reference '%s' is ambiguous: more than %d backups match",
				    ref, MAX_CANDS);
		else
			ado_err_set(e, ADO_E_USAGE, 0, "backup reference '%s' is ambiguous: %zu backups match", ref, r.n);
		ado_err_hint(e, "say which: %s%s", list, r.more ? ", ..." : "");
		goto out;
	}
	*store = stores[r.first[0]];
	stores[r.first[0]] = NULL;
	want = r.ids[0];
	{
		char *full = ado_ref_make(*store, jobname, want);
		if (r.failed)
			ado_warn("%s; searched the other destinations", r.err.msg);
		ado_notice("'%s' is '%s'%s", ref, full ? full : want,
			   jb ? " (the first destination holding a complete copy)" : "");
		free(full);
	}
found:
	*job = strdup(jobname);
	*id = strdup(want);
	if (!*job || !*id) {
		free(*job);
		free(*id);
		*job = *id = NULL;
		ado_store_free(*store);
		*store = NULL;
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < nstores; i++)
		ado_store_free(stores[i]);
	return rc;
}
