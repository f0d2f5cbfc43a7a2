/* status.c - see status.h. */
#include "job/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ado.h"
#include "job/repo.h"
#include "job/runlog.h"

static int severity(int status)
{
	switch (status) {
	case ADO_EXIT_FAIL: return 4;
	case ADO_EXIT_TARGET: return 3;
	case ADO_EXIT_UNCHECKED: return 2;
	case ADO_EXIT_PARTIAL: return 1;
	default: return 0;
	}
}

int ado_status_worse(int a, int b)
{
	return severity(a) > severity(b);
}

struct collect {
	struct ado_status_row *rows;
	size_t n;
};

static void fresh_row(const struct ado_fresh_row *r, void *arg)
{
	struct collect *c = arg;
	struct ado_status_row *more = realloc(c->rows, (c->n + 1) * sizeof(*more));

	if (!more)
		return;
	c->rows = more;
	memset(&c->rows[c->n], 0, sizeof(*more));
	c->rows[c->n].fresh = *r;
	ado_runlog_dest(r->dest, c->rows[c->n].dest, sizeof(c->rows[c->n].dest));
	c->n++;
}

static struct ado_status_row *find(struct collect *c, const char *job, const char *dest)
{
	for (size_t i = 0; job && dest && i < c->n; i++)
		if (strcmp(c->rows[i].fresh.job, job) == 0 && strcmp(c->rows[i].dest, dest) == 0)
			return &c->rows[i];
	return NULL;
}

/* Records come oldest first: each one that concerns a row replaces what it had. */
static void on_record(const struct ado_runrec *rec, void *arg)
{
	struct collect *c = arg;
	const char *tool = ado_runrec_str(rec, "tool"), *job = ado_runrec_str(rec, "job");
	size_t nd = ado_runrec_count(rec, "destinations");

	if (!tool || !job)
		return;
	for (size_t i = 0; i < nd; i++) {
		struct ado_status_row *r = find(c, job, ado_runrec_item(rec, "destinations", i, "destination"));
		const char *res = ado_runrec_item(rec, "destinations", i, "result");
		const char *reason = ado_runrec_str(rec, "reason");
		if (!r || !res)
			continue;
		if (strcmp(tool, "backup") == 0 && strcmp(res, "locked") != 0) {
			r->has_run = 1;
			/* stored here, but the run lacked a target or a file: partial */
			snprintf(r->run_result, sizeof(r->run_result), "%s",
				 strcmp(res, "ok") == 0 && ado_runrec_int(rec, "status", 0) == ADO_EXIT_PARTIAL &&
						 (ado_runrec_int(rec, "targets_failed", 0) || ado_runrec_int(rec, "targets_partial", 0))
					 ? "partial"
					 : res);
			r->run_time = ado_runrec_time(rec);
			r->run_ms = ado_runrec_int(rec, "duration_ms", 0);
			snprintf(r->run_reason, sizeof(r->run_reason), "%s", strcmp(res, "ok") && reason ? reason : "");
		} else if (strcmp(tool, "verify") == 0) {
			const char *level = ado_runrec_str(rec, "level");
			r->has_verify = 1;
			snprintf(r->verify_level, sizeof(r->verify_level), "%s", level ? level : "?");
			snprintf(r->verify_result, sizeof(r->verify_result), "%s", res);
			r->verify_time = ado_runrec_time(rec);
		}
	}
}

static void kept(const struct ado_config *cfg, const struct ado_job *jb, size_t d, struct ado_status_row *r)
{
	struct ado_store *s = NULL;
	struct ado_backup_info *v = NULL;
	size_t n = 0;

	if (r->fresh.state == ADO_FRESH_UNCHECKED || ado_repo_open_list(cfg, &jb->dests[d], jb->name, &s, &v, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct ado_manifest *m = NULL;
		if (!v[i].complete) {
			r->incomplete++;
			continue;
		}
		if (ado_repo_inspect(s, jb->name, &v[i], &m) < 0) {
			r->damaged++;
			continue;
		}
		r->complete++;
		for (size_t a = 0; a < m->nartifacts; a++)
			r->bytes += m->artifacts[a].stored_size;
		ado_manifest_free(m);
	}
	free(v);
	ado_store_free(s);
}

static void verdict(struct ado_status_row *r)
{
	int st = ADO_EXIT_OK;
	const char *w = r->fresh.state == ADO_FRESH_UNWATCHED ? "unwatched" : "ok";

#define RAISE(code, word) \
	do { \
		if (ado_status_worse(code, st)) { \
			st = code; \
			w = word; \
		} \
	} while (0)
	if (r->fresh.state == ADO_FRESH_UNCHECKED)
		RAISE(ADO_EXIT_UNCHECKED, "unchecked");
	if (r->fresh.state == ADO_FRESH_STALE)
		RAISE(ADO_EXIT_TARGET, "stale");
	if (r->fresh.state == ADO_FRESH_NONE)
		RAISE(ADO_EXIT_TARGET, "none");
	if (r->has_run && strcmp(r->run_result, "failed") == 0)
		RAISE(ADO_EXIT_FAIL, "failed");
	if (r->has_verify && strcmp(r->verify_result, "fail") == 0)
		RAISE(ADO_EXIT_FAIL, "failed");
	if ((r->has_run && strcmp(r->run_result, "partial") == 0) ||
	    (r->has_verify && strcmp(r->verify_result, "partial") == 0))
		RAISE(ADO_EXIT_PARTIAL, "partial");
#undef RAISE
	r->status = st;
	r->word = w;
}

int ado_status_collect(const struct ado_config *cfg, char *const *jobs, int njobs, time_t now, long long grace,
		       struct ado_status_row **rows, size_t *n, struct ado_err *e)
{
	struct collect c = { 0 };

	*rows = NULL;
	*n = 0;
	for (int i = 0; i < njobs; i++)
		if (!ado_config_job(cfg, jobs[i])) {
			char hint[1024];
			ado_config_job_hint(cfg, jobs[i], hint, sizeof(hint));
			ado_err_set(e, ADO_E_USAGE, 0, "no job '%s' in '%s'", jobs[i], cfg->path ? cfg->path : "the config");
			return ado_err_hint(e, "%s", hint);
		}
	if (cfg->njobs == 0)
		return ado_err_set(e, ADO_E_USAGE, 0, "no jobs in '%s'", cfg->path ? cfg->path : "the config");
	for (size_t i = 0; i < cfg->njobs; i++) {
		int wanted = njobs == 0;
		size_t first = c.n;
		for (int k = 0; k < njobs && !wanted; k++)
			wanted = strcmp(jobs[k], cfg->jobs[i].name) == 0;
		if (!wanted)
			continue;
		if (ado_fresh_check(cfg, &cfg->jobs[i], now, grace, fresh_row, &c, e) < 0)
			goto fail;
		if (c.n - first != cfg->jobs[i].ndests) {
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			goto fail;
		}
		for (size_t d = 0; d < cfg->jobs[i].ndests; d++)
			kept(cfg, &cfg->jobs[i], d, &c.rows[first + d]);
	}
	if (ado_runlog_read(cfg->state_dir, NULL, on_record, &c, e) < 0)
		goto fail;
	for (size_t i = 0; i < c.n; i++)
		verdict(&c.rows[i]);
	*rows = c.rows;
	*n = c.n;
	return 0;
fail:
	free(c.rows);
	return -1;
}

static void ago(time_t t, time_t now, char *buf, size_t len)
{
	char d[64];

	if (!t) {
		snprintf(buf, len, "-");
		return;
	}
	ado_duration_format(now > t ? now - t : 0, d, sizeof(d));
	snprintf(buf, len, "%s ago", d);
}

static void human(uint64_t b, char *buf, size_t len)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

void ado_status_text(const struct ado_status_row *rows, size_t n, time_t now, struct ado_buf *out)
{
	ado_buf_init(out);
	ado_buf_printf(out, "%-10s %-30s %-17s %-14s %-28s %-26s %s\n", "STATUS", "JOB DESTINATION", "NEWEST", "AGE/RPO",
		       "LAST RUN", "LAST VERIFY", "KEPT");
	for (size_t i = 0; i < n; i++) {
		const struct ado_status_row *r = &rows[i];
		char jd[1200], age[64] = "-", rpo[64] = "-", agerpo[140], run[200] = "-", ver[200] = "-", t[80], sz[32],
			keptb[120];

		snprintf(jd, sizeof(jd), "%s %s", r->fresh.job, r->dest);
		if (r->fresh.age >= 0)
			ado_duration_format(r->fresh.age, age, sizeof(age));
		if (r->fresh.target)
			ado_duration_format(r->fresh.target, rpo, sizeof(rpo));
		snprintf(agerpo, sizeof(agerpo), "%s/%s", age, rpo);
		if (r->has_run) {
			ago(r->run_time, now, t, sizeof(t));
			snprintf(run, sizeof(run), "%s %.1fs %s", r->run_result, (double)r->run_ms / 1000.0, t);
		}
		if (r->has_verify) {
			ago(r->verify_time, now, t, sizeof(t));
			snprintf(ver, sizeof(ver), "%s %s %s", r->verify_level, r->verify_result, t);
		}
		human(r->bytes, sz, sizeof(sz));
		snprintf(keptb, sizeof(keptb), "%zu, %s%s", r->complete, sz,
			 r->damaged ? " (damaged: " : "");
		if (r->damaged)
			snprintf(keptb + strlen(keptb), sizeof(keptb) - strlen(keptb), "%zu)", r->damaged);
		ado_buf_printf(out, "%-10s %-30s %-17s %-14s %-28s %-26s %s\n", r->word, jd,
			       r->fresh.id[0] ? r->fresh.id : "-", agerpo, run, ver, keptb);
		if (r->fresh.state == ADO_FRESH_UNCHECKED)
			ado_buf_printf(out, "           cannot list: %s\n", r->fresh.err.msg);
		else if (r->has_run && r->run_reason[0] && strcmp(r->run_result, "ok"))
			ado_buf_printf(out, "           last run: %s\n", r->run_reason);
	}
}

static void ktime(struct ado_json *j, const char *key, time_t t)
{
	char ts[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ado_json_kstr(j, key, ts);
}

void ado_status_json(const struct ado_status_row *r, struct ado_buf *out)
{
	struct ado_json j;

	ado_buf_init(out);
	ado_json_init(&j, out, 0);
	ado_json_obj_begin(&j, NULL);
	ado_json_kstr(&j, "type", "status");
	ado_json_kstr(&j, "job", r->fresh.job);
	ado_json_kstr(&j, "destination", r->dest);
	ado_json_kstr(&j, "state", r->word);
	ado_json_kint(&j, "status", r->status);
	ado_json_kstr(&j, "newest", r->fresh.id[0] ? r->fresh.id : NULL);
	if (r->fresh.age >= 0)
		ado_json_kint(&j, "age_seconds", r->fresh.age);
	else
		ado_json_knull(&j, "age_seconds");
	if (r->fresh.target)
		ado_json_kint(&j, "rpo_seconds", r->fresh.target);
	else
		ado_json_knull(&j, "rpo_seconds");
	ado_json_kstr(&j, "rpo_from", r->fresh.target_from);
	if (r->fresh.state == ADO_FRESH_UNCHECKED)
		ado_json_kstr(&j, "reason", r->fresh.err.msg);
	if (r->has_run) {
		ado_json_obj_begin(&j, "last_run");
		ktime(&j, "time", r->run_time);
		ado_json_kstr(&j, "result", r->run_result);
		ado_json_kint(&j, "duration_ms", r->run_ms);
		ado_json_kstr(&j, "reason", r->run_reason[0] ? r->run_reason : NULL);
		ado_json_obj_end(&j);
	} else {
		ado_json_knull(&j, "last_run");
	}
	if (r->has_verify) {
		ado_json_obj_begin(&j, "last_verify");
		ktime(&j, "time", r->verify_time);
		ado_json_kstr(&j, "level", r->verify_level);
		ado_json_kstr(&j, "result", r->verify_result);
		ado_json_obj_end(&j);
	} else {
		ado_json_knull(&j, "last_verify");
	}
	ado_json_obj_begin(&j, "kept");
	ado_json_kuint(&j, "complete", r->complete);
	ado_json_kuint(&j, "bytes", r->bytes);
	ado_json_kuint(&j, "incomplete", r->incomplete);
	ado_json_kuint(&j, "damaged", r->damaged);
	ado_json_obj_end(&j);
	ado_json_obj_end(&j);
	ado_buf_add(out, "\n", 1);
}
