#include "job/listing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "job/restore.h"
#include "job/runlog.h"

struct collect {
	const struct ado_list_opts *o;
	struct ado_list_row *rows;
	size_t n;
	int oom;
};

static int push_name(char ***v, size_t *n, const char *name)
{
	char **more;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], name) == 0)
			return 0;	/* a target with several artifacts is one target */
	if (!(more = realloc(*v, (*n + 1) * sizeof(*more))) || !(more[*n] = strdup(name))) {
		if (more)
			*v = more;
		return -1;
	}
	*v = more;
	(*n)++;
	return 0;
}

static void on_backup(void *arg, const struct ado_store *s, const char *job, const struct ado_backup_info *bi)
{
	struct collect *c = arg;
	struct ado_list_row *r, *more;
	struct ado_manifest *m = NULL;
	int held = 0;

	if (c->oom || (c->o->since && bi->time < c->o->since))
		return;
	if (!(more = realloc(c->rows, (c->n + 1) * sizeof(*more)))) {
		c->oom = 1;
		return;
	}
	c->rows = more;
	r = &c->rows[c->n];
	memset(r, 0, sizeof(*r));
	r->b = *bi;
	r->job = job;
	r->seq = c->n;
	if (ado_repo_inspect((struct ado_store *)s, job, &r->b, &m) == 0) {
		for (size_t i = 0; i < m->nartifacts; i++) {
			const struct ado_artifact *a = &m->artifacts[i];
			r->stored_bytes += a->stored_size;
			if (strcmp(a->kind, "files-index") != 0 && push_name(&r->targets, &r->ntargets, a->target) < 0)
				c->oom = 1;
			if (c->o->target && ado_artifact_matches(a, c->o->target))
				held = 1;
		}
		for (size_t i = 0; i < m->nfailed_targets; i++)
			if (push_name(&r->missing, &r->nmissing, m->failed_targets[i]) < 0)
				c->oom = 1;
		r->started = m->started;
		r->finished = m->finished;
	}
	ado_manifest_free(m);
	/* a backup without a readable manifest holds no target that can be shown */
	if (c->o->target && !held) {
		ado_list_free(r, 1);
		return;
	}
	r->status = r->nmissing ? "partial" : ado_backup_state(&r->b);	/* complete, incomplete or damaged */
	r->ref = ado_ref_make(s, job, r->b.id);
	r->destination = strdup(s->url);
	if (!r->ref || !r->destination)
		c->oom = 1;
	c->n++;
}

/* newest first; the same time: the greater id, then config order */
static int newest_first(const void *pa, const void *pb)
{
	const struct ado_list_row *a = pa, *b = pb;
	int d;

	if (a->b.time != b->b.time)
		return a->b.time > b->b.time ? -1 : 1;
	if ((d = strcmp(b->b.id, a->b.id)) != 0)
		return d;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

struct verified {
	struct ado_list_row *rows;
	size_t n;
	char (*dest)[1024];	/* each row's destination as the run records write it */
};

/* Records come oldest first: each one that checked a row replaces what it had. */
static void on_verify(const struct ado_runrec *rec, void *arg)
{
	struct verified *v = arg;
	const char *job = ado_runrec_str(rec, "job"), *level = ado_runrec_str(rec, "level");
	size_t nc = ado_runrec_count(rec, "checked");

	if (!job)
		return;
	for (size_t i = 0; i < nc; i++) {
		const char *id = ado_runrec_item(rec, "checked", i, "id");
		const char *dest = ado_runrec_item(rec, "checked", i, "destination");
		const char *res = ado_runrec_item(rec, "checked", i, "result");
		if (!id || !dest || !res)
			continue;
		for (size_t k = 0; k < v->n; k++) {
			struct ado_list_row *r = &v->rows[k];
			if (strcmp(r->b.id, id) || strcmp(r->job, job) || strcmp(v->dest[k], dest))
				continue;
			r->verified = 1;
			snprintf(r->verify_level, sizeof(r->verify_level), "%s", level ? level : "?");
			snprintf(r->verify_result, sizeof(r->verify_result), "%s", res);
			r->verify_time = ado_runrec_time(rec);
		}
	}
}

int ado_list_collect(const struct ado_config *cfg, const struct ado_list_opts *o, struct ado_list_row **rows,
		     size_t *n, struct ado_err *e)
{
	struct collect c = { o, NULL, 0, 0 };
	struct verified v;
	int rc;

	*rows = NULL;
	*n = 0;
	if (o->job && !ado_config_job(cfg, o->job)) {
		ado_err_set(e, ADO_E_USAGE, 0, "no job '%s' in '%s'", o->job, cfg->path);
		return -1;
	}
	if (ado_restore_from_check(cfg, o->job, o->from, e) < 0)
		return -1;
	rc = ado_restore_list(cfg, o->job, o->from, on_backup, &c, e);
	if (c.oom) {
		ado_list_free(c.rows, c.n);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory listing the backups");
		return -1;
	}
	if (c.n)
		qsort(c.rows, c.n, sizeof(*c.rows), newest_first);
	if (o->last > 0) {
		/* keep the N newest of each job and destination: rows are newest first */
		size_t kept = 0;
		for (size_t i = 0; i < c.n; i++) {
			long seen = 0;
			for (size_t k = 0; k < kept; k++)
				seen += strcmp(c.rows[k].job, c.rows[i].job) == 0 &&
					strcmp(c.rows[k].destination, c.rows[i].destination) == 0;
			if (seen < o->last) {
				struct ado_list_row keep = c.rows[i];
				c.rows[kept++] = keep;
			} else {
				ado_list_free(&c.rows[i], 1);
			}
		}
		c.n = kept;
	}
	v.rows = c.rows;
	v.n = c.n;
	v.dest = c.n ? calloc(c.n, sizeof(*v.dest)) : NULL;
	if (v.dest) {
		struct ado_err re;
		for (size_t i = 0; i < c.n; i++)
			ado_runlog_dest(c.rows[i].destination, v.dest[i], sizeof(v.dest[i]));
		ado_err_clear(&re);
		/* no record is no verify: the listing stands without them */
		if (ado_runlog_read(cfg->state_dir, "verify", on_verify, &v, &re) < 0)
			ado_warn("cannot read the run records: %s", re.msg);
		free(v.dest);
	}
	*rows = c.rows;
	*n = c.n;
	return rc < 0 ? 1 : 0;
}

void ado_list_free(struct ado_list_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		struct ado_list_row *r = &rows[i];
		for (size_t k = 0; k < r->ntargets; k++)
			free(r->targets[k]);
		for (size_t k = 0; k < r->nmissing; k++)
			free(r->missing[k]);
		free(r->targets);
		free(r->missing);
		free(r->ref);
		free(r->destination);
		r->targets = r->missing = NULL;
		r->ref = r->destination = NULL;
	}
}

static void stamp(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void names(struct ado_buf *out, char *const *v, size_t n)
{
	if (!n)
		ado_buf_puts(out, "-");
	for (size_t i = 0; i < n; i++)
		ado_buf_printf(out, "%s%s", i ? "," : "", v[i]);
}

void ado_list_text_header(struct ado_buf *out)
{
	ado_buf_puts(out, "# reference\tid\ttime\tstored_bytes\tstatus\tmissing\ttargets\tduration_s\tverified\n");
}

void ado_list_text(const struct ado_list_row *r, struct ado_buf *out)
{
	char ts[32];

	stamp(r->b.time, ts, sizeof(ts));
	ado_buf_printf(out, "%s\t%s\t%s\t%llu\t%s%s%s\t", r->ref ? r->ref : "?", r->b.id, ts,
		       (unsigned long long)r->stored_bytes, r->status, r->b.damaged ? ": " : "",
		       r->b.damaged ? r->b.reason : "");
	names(out, r->missing, r->nmissing);
	ado_buf_puts(out, "\t");
	names(out, r->targets, r->ntargets);
	if (r->started && r->finished >= r->started)
		ado_buf_printf(out, "\t%lld\t", (long long)(r->finished - r->started));
	else
		ado_buf_puts(out, "\t-\t");
	if (r->verified)
		ado_buf_printf(out, "%s %s\n", r->verify_level, r->verify_result);
	else
		ado_buf_puts(out, "-\n");
}

void ado_list_json(const struct ado_list_row *r, struct ado_buf *out)
{
	struct ado_json j;
	char ts[32];

	ado_json_init(&j, out, 0);
	ado_json_obj_begin(&j, NULL);
	ado_json_kstr(&j, "type", "backup");
	ado_json_kstr(&j, "ref", r->ref);
	ado_json_kstr(&j, "destination", r->destination);
	ado_json_kstr(&j, "job", r->job);
	ado_json_kstr(&j, "id", r->b.id);
	stamp(r->b.time, ts, sizeof(ts));
	ado_json_kstr(&j, "time", ts);
	ado_json_kuint(&j, "stored_bytes", r->stored_bytes);
	ado_json_kstr(&j, "status", r->status);
	if (r->b.damaged)
		ado_json_kstr(&j, "reason", r->b.reason);
	ado_json_arr_begin(&j, "missing_targets");
	for (size_t i = 0; i < r->nmissing; i++)
		ado_json_kstr(&j, NULL, r->missing[i]);
	ado_json_arr_end(&j);
	ado_json_arr_begin(&j, "targets");
	for (size_t i = 0; i < r->ntargets; i++)
		ado_json_kstr(&j, NULL, r->targets[i]);
	ado_json_arr_end(&j);
	if (r->started) {
		stamp(r->started, ts, sizeof(ts));
		ado_json_kstr(&j, "started", ts);
	} else {
		ado_json_knull(&j, "started");
	}
	if (r->finished) {
		stamp(r->finished, ts, sizeof(ts));
		ado_json_kstr(&j, "finished", ts);
	} else {
		ado_json_knull(&j, "finished");
	}
	if (r->started && r->finished >= r->started)
		ado_json_kint(&j, "duration_s", (long long)(r->finished - r->started));
	else
		ado_json_knull(&j, "duration_s");
	if (r->verified) {
		ado_json_obj_begin(&j, "verified");
		stamp(r->verify_time, ts, sizeof(ts));
		ado_json_kstr(&j, "time", ts);
		ado_json_kstr(&j, "level", r->verify_level);
		ado_json_kstr(&j, "result", r->verify_result);
		ado_json_obj_end(&j);
	} else {
		ado_json_knull(&j, "verified");
	}
	ado_json_obj_end(&j);
}
