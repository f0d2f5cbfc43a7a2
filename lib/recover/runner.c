/* runner.c - ado-recover: the plan's phases and steps, one after another,
 * under a lock, with a timeline, notices, progress updates and the report
 * against the RTO and RPO. */
#include "recover/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ado.h"
#include "base/lock.h"
#include "base/log.h"
#include "base/sig.h"
#include "job/cli.h"
#include "job/restore.h"
#include "net/http.h"

enum { ST_PENDING, ST_DONE_BEFORE, ST_OK, ST_FAILED, ST_SKIPPED, ST_INTERRUPTED };
static const char *const st_names[] = { "not run", "done before", "ok", "failed", "not selected", "interrupted" };

struct run {
	const struct ado_config *cfg;
	const struct ado_plan *p;
	const struct ado_recover_opts *o;
	struct rc_timeline tl;
	time_t start;		/* of the first segment when resumed */
	time_t oldest_backup;	/* snapshot time of the oldest backup restored, 0 = none */
	long long rto, rpo;
	int **st;		/* [phase][step] */
	long long **ms;
	char failed[512];
	char host[256];
};

static long long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- progress updates every update_every, from a thread ---- */

struct progress {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int stop, started;
	char phase[200], next[300];
	struct run *r;
};

static void *progress_main(void *arg)
{
	struct progress *pg = arg;
	struct timespec dl;

	pthread_mutex_lock(&pg->mu);
	clock_gettime(CLOCK_REALTIME, &dl);
	for (;;) {
		char msg[1200], el[32], rto[32];
		dl.tv_sec += pg->r->p->update_every;
		while (!pg->stop && pthread_cond_timedwait(&pg->cv, &pg->mu, &dl) == 0)
			;
		if (pg->stop)
			break;
		snprintf(msg, sizeof(msg), "disaster recovery in progress on %s: phase '%s', %s elapsed (RTO %s); next: %s",
			 pg->r->host, pg->phase, rc_dur((long long)(time(NULL) - pg->r->start), el, sizeof(el)),
			 pg->r->rto ? rc_dur(pg->r->rto, rto, sizeof(rto)) : "not set", pg->next);
		pthread_mutex_unlock(&pg->mu);
		rc_notice(pg->r->cfg, ADO_SEV_WARNING, pg->r->p->status_page, msg);
		pthread_mutex_lock(&pg->mu);
	}
	pthread_mutex_unlock(&pg->mu);
	return NULL;
}

static void progress_set(struct progress *pg, const char *phase, const char *next)
{
	pthread_mutex_lock(&pg->mu);
	snprintf(pg->phase, sizeof(pg->phase), "%s", phase);
	snprintf(pg->next, sizeof(pg->next), "%s", next);
	pthread_mutex_unlock(&pg->mu);
}

static void progress_stop(struct progress *pg)
{
	if (!pg->started)
		return;
	pthread_mutex_lock(&pg->mu);
	pg->stop = 1;
	pthread_cond_signal(&pg->cv);
	pthread_mutex_unlock(&pg->mu);
	pthread_join(pg->th, NULL);
	pg->started = 0;
}

/* ---- the timeline of a run being resumed ---- */

struct resume_ctx {
	struct run *r;
	int ended;
	char end_status[32];
};

static void resume_line(void *arg, const char *line, size_t no)
{
	struct resume_ctx *c = arg;
	struct run *r = c->r;
	struct rc_kv kv;
	const char *ev, *ph, *stp, *status;

	if (rc_kv_parse(line, &kv) < 0) {
		ado_warn("%s:%zu: unreadable timeline line skipped", r->tl.path, no);
		return;
	}
	ev = rc_kv_get(&kv, "event");
	ph = rc_kv_get(&kv, "phase");
	stp = rc_kv_get(&kv, "step");
	status = rc_kv_get(&kv, "status");
	if (ev && strcmp(ev, "run-start") == 0 && !r->start)
		r->start = (time_t)rc_kv_num(&kv, "time", 0);
	if (ev && strcmp(ev, "run-end") == 0) {
		c->ended = 1;
		snprintf(c->end_status, sizeof(c->end_status), "%s", status ? status : "?");
	}
	if (ev && strcmp(ev, "step-end") == 0 && ph && stp && status && strcmp(status, "ok") == 0) {
		time_t bt = (time_t)rc_kv_num(&kv, "backup_time", 0);
		for (size_t i = 0; i < r->p->nphases; i++)
			for (size_t j = 0; strcmp(r->p->phases[i].name, ph) == 0 && j < r->p->phases[i].nsteps; j++)
				if (strcmp(r->p->phases[i].steps[j].name, stp) == 0) {
					r->st[i][j] = ST_DONE_BEFORE;
					r->ms[i][j] = rc_kv_num(&kv, "duration_ms", 0);
				}
		if (bt && (!r->oldest_backup || bt < r->oldest_backup))
			r->oldest_backup = bt;
	}
	rc_kv_free(&kv);
}

/* ---- events ---- */

static int event(struct run *r, const char *ev, const char *phase, const struct ado_step *s, const char *status,
		 long long ms, const struct rc_exec *x, const struct ado_err *err, struct ado_err *e)
{
	struct ado_buf b;
	struct ado_json j;
	int rc;

	rc_json_begin(&j, &b, ev, r->tl.id);
	if (phase)
		ado_json_kstr(&j, "phase", phase);
	if (s) {
		ado_json_kstr(&j, "step", s->name);
		ado_json_kstr(&j, "kind", rc_step_kind_name(s->kind));
		ado_json_kbool(&j, "destructive", s->destructive);
	}
	if (status)
		ado_json_kstr(&j, "status", status);
	if (ms >= 0)
		ado_json_kint(&j, "duration_ms", ms);
	if (x && x->backup_ref[0]) {
		ado_json_kstr(&j, "backup", x->backup_ref);
		ado_json_kint(&j, "backup_time", (long long)x->backup_time);
	}
	if (x && x->nparts) {
		/* a database from several jobs: "backup" is its oldest part, here are all */
		ado_json_arr_begin(&j, "backups");
		for (size_t i = 0; i < x->nparts; i++)
			ado_json_kstr(&j, NULL, x->part_refs[i]);
		ado_json_arr_end(&j);
	}
	if (x && x->tail[0])
		ado_json_kstr(&j, "output_tail", x->tail);
	if (err && err->kind != ADO_E_NONE)
		ado_json_kstr(&j, "error", err->msg);
	if (strcmp(ev, "run-start") == 0) {
		ado_json_kstr(&j, "plan", r->p->path);
		ado_json_kstr(&j, "host", r->host);
		ado_json_kstr(&j, "backup_choice", r->o->backup ? r->o->backup : "latest");
		ado_json_kint(&j, "rto", r->rto);
		ado_json_kint(&j, "rpo", r->rpo);
	}
	if (strcmp(ev, "run-end") == 0 && r->failed[0])
		ado_json_kstr(&j, "failed_step", r->failed);
	ado_json_obj_end(&j);
	rc = b.oom ? ado_err_set(e, ADO_E_NOMEM, 0, "out of memory") : rc_timeline_append(&r->tl, b.data, e);
	ado_buf_free(&b);
	return rc;
}

/* ---- the report ---- */

static void report(struct run *r, const char *status, long long total, long long age, struct ado_buf *out)
{
	char a[32], b[32], c[32], t0[32];
	int rto_met = !r->rto || total <= r->rto, rpo_met = !r->rpo || age < 0 || age <= r->rpo;

	iso(r->start, t0, sizeof(t0));
	if (r->o->json) {
		struct ado_json j;
		ado_json_init(&j, out, 1);
		ado_json_obj_begin(&j, NULL);
		ado_json_kstr(&j, "run", r->tl.id);
		ado_json_kstr(&j, "status", status);
		ado_json_kstr(&j, "started", t0);
		if (r->failed[0])
			ado_json_kstr(&j, "failed_step", r->failed);
		ado_json_kint(&j, "duration_seconds", total);
		ado_json_obj_begin(&j, "rto");
		if (r->rto)
			ado_json_kint(&j, "target_seconds", r->rto);
		else
			ado_json_knull(&j, "target_seconds");
		ado_json_kbool(&j, "met", rto_met);
		ado_json_obj_end(&j);
		ado_json_obj_begin(&j, "rpo");
		if (r->rpo)
			ado_json_kint(&j, "target_seconds", r->rpo);
		else
			ado_json_knull(&j, "target_seconds");
		if (age >= 0)
			ado_json_kint(&j, "data_age_seconds", age);
		else
			ado_json_knull(&j, "data_age_seconds");
		ado_json_kbool(&j, "met", rpo_met);
		ado_json_obj_end(&j);
		ado_json_arr_begin(&j, "phases");
		for (size_t i = 0; i < r->p->nphases; i++) {
			const struct ado_phase *ph = &r->p->phases[i];
			long long sum = 0;
			ado_json_obj_begin(&j, NULL);
			ado_json_kstr(&j, "name", ph->name);
			for (size_t k = 0; k < ph->nsteps; k++)
				sum += r->ms[i][k];
			ado_json_kint(&j, "duration_ms", sum);
			ado_json_kint(&j, "budget_seconds", ph->budget);
			ado_json_kbool(&j, "over_budget", ph->budget && sum > ph->budget * 1000);
			ado_json_arr_begin(&j, "steps");
			for (size_t k = 0; k < ph->nsteps; k++) {
				ado_json_obj_begin(&j, NULL);
				ado_json_kstr(&j, "name", ph->steps[k].name);
				ado_json_kstr(&j, "status", st_names[r->st[i][k]]);
				ado_json_kint(&j, "duration_ms", r->ms[i][k]);
				ado_json_obj_end(&j);
			}
			ado_json_arr_end(&j);
			ado_json_obj_end(&j);
		}
		ado_json_arr_end(&j);
		ado_json_obj_end(&j);
		ado_buf_puts(out, "\n");
		return;
	}
	ado_buf_printf(out, "recovery %s: %s (started %s)\n", r->tl.id, status, t0);
	for (size_t i = 0; i < r->p->nphases; i++) {
		const struct ado_phase *ph = &r->p->phases[i];
		long long sum = 0;
		int any = 0;
		for (size_t k = 0; k < ph->nsteps; k++) {
			sum += r->ms[i][k];
			any |= r->st[i][k] != ST_PENDING && r->st[i][k] != ST_SKIPPED;
		}
		if (!any)
			ado_buf_printf(out, "  phase %-24s not run\n", ph->name);
		else if (ph->budget)
			ado_buf_printf(out, "  phase %-24s %s (budget %s)%s\n", ph->name, rc_dur(sum / 1000, a, sizeof(a)),
				       rc_dur(ph->budget, b, sizeof(b)), sum > ph->budget * 1000 ? ": over budget" : "");
		else
			ado_buf_printf(out, "  phase %-24s %s\n", ph->name, rc_dur(sum / 1000, a, sizeof(a)));
	}
	if (r->failed[0])
		ado_buf_printf(out, "  failed at %s\n", r->failed);
	if (r->rto)
		ado_buf_printf(out, "  RTO: %s against a target of %s: %s\n", rc_dur(total, a, sizeof(a)),
			       rc_dur(r->rto, b, sizeof(b)), rto_met ? "met" : "MISSED");
	else
		ado_buf_printf(out, "  RTO: %s, no target set\n", rc_dur(total, a, sizeof(a)));
	if (age < 0)
		ado_buf_printf(out, "  RPO: no backup restored, data age not measured\n");
	else if (r->rpo)
		ado_buf_printf(out, "  RPO: data age %s against a target of %s: %s\n", rc_dur(age, a, sizeof(a)),
			       rc_dur(r->rpo, c, sizeof(c)), rpo_met ? "met" : "MISSED");
	else
		ado_buf_printf(out, "  RPO: data age %s, no target set\n", rc_dur(age, a, sizeof(a)));
}

static void history(struct run *r, const char *status, long long total, long long age)
{
	struct ado_buf b;
	struct ado_json j;
	struct ado_err e;

	rc_json_begin(&j, &b, "recovery", r->tl.id);
	ado_json_kstr(&j, "kind", "recovery");
	ado_json_kint(&j, "start", (long long)r->start);
	ado_json_kint(&j, "duration", total);
	ado_json_kint(&j, "rto_target", r->rto);
	ado_json_kint(&j, "rpo_target", r->rpo);
	ado_json_kint(&j, "data_age", age);
	ado_json_kbool(&j, "success", strcmp(status, "succeeded") == 0 || strcmp(status, "missed a target") == 0);
	ado_json_obj_end(&j);
	if (!b.oom && rc_history_append(r->cfg->state_dir, b.data, &e) < 0)
		ado_log_err(&e);
	ado_buf_free(&b);
}

/* ---- the run ---- */

static int phase_index(const struct ado_plan *p, const char *name, struct ado_err *e)
{
	char list[600] = "";

	for (size_t i = 0; i < p->nphases; i++) {
		if (strcmp(p->phases[i].name, name) == 0)
			return (int)i;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", p->phases[i].name);
	}
	ado_err_set(e, ADO_E_USAGE, 0, "no phase '%s' in plan '%s'", name, p->path);
	ado_err_hint(e, "its phases: %s", list);
	return -1;
}

/* The strictest target of the jobs the plan restores, when the plan sets none. */
static void targets(struct run *r)
{
	r->rto = r->p->rto;
	r->rpo = r->p->rpo;
	for (size_t i = 0; i < r->p->nphases; i++)
		for (size_t k = 0; k < r->p->phases[i].nsteps; k++) {
			const struct ado_step *s = &r->p->phases[i].steps[k];
			for (size_t q = 0; q < rc_step_njobs(s); q++) {
				const struct ado_job *jb = ado_config_job(r->cfg, rc_step_job(s, q));
				if (!jb)
					continue;
				if (!r->p->rto && jb->rto && (!r->rto || jb->rto < r->rto))
					r->rto = jb->rto;
				if (!r->p->rpo && jb->rpo && (!r->rpo || jb->rpo < r->rpo))
					r->rpo = jb->rpo;
			}
		}
}

/* Every step to run that the config or the options cannot serve, before
 * anything is touched: a usage error naming the step where the plan has it. */
static int check_steps(const struct ado_plan *p, int first, int last, const struct rc_exec *x, struct ado_err *e)
{
	for (int i = first; i <= last; i++)
		for (size_t k = 0; k < p->phases[i].nsteps; k++) {
			const struct ado_step *s = &p->phases[i].steps[k];
			if (rc_step_check(x, s, e) < 0)
				return ado_err_prefix(e, "%s:%d:%d: step '%s' of phase '%s'", p->path, s->line, s->col,
						      s->name, p->phases[i].name);
		}
	return 0;
}

/* No key loaded: a restore step of a job that encrypts would fail only when
 * its turn comes, after the steps before it (a database set read-only, a
 * service stopped) have run. Refuse before anything runs. */
static int check_key_needed(const struct ado_config *cfg, const struct ado_plan *p, int first, int last,
			    struct ado_err *e)
{
	for (int i = first; i <= last; i++)
		for (size_t k = 0; k < p->phases[i].nsteps; k++) {
			const struct ado_step *s = &p->phases[i].steps[k];
			for (size_t j = 0; j < rc_step_njobs(s); j++) {
				const char *name = rc_step_job(s, j);
				const struct ado_job *jb = ado_config_job(cfg, name);
				if (jb && jb->encrypt) {
					ado_err_set(e, ADO_E_USAGE, 0,
						    "%s:%d:%d: step '%s' of phase '%s' restores job '%s', whose backups are "
						    "encrypted, and no key is configured",
						    p->path, s->line, s->col, s->name, p->phases[i].name, name);
					return ado_err_hint(e, "set key_file in the config, ADO_KEY_FILE or ADO_PASSPHRASE; "
							    "nothing was run");
				}
			}
		}
	return 0;
}

static void grid_free(struct run *r)
{
	for (size_t i = 0; r->st && i < r->p->nphases; i++) {
		free(r->st[i]);
		free(r->ms[i]);
	}
	free(r->st);
	free(r->ms);
}

/* The name of a step after (phase i, step k) that restores database db, or NULL. */
static const char *restored_later(const struct ado_plan *p, size_t i, size_t k, const char *db)
{
	for (size_t a = i; a < p->nphases; a++)
		for (size_t b = a == i ? k + 1 : 0; b < p->phases[a].nsteps; b++) {
			const struct ado_step *s = &p->phases[a].steps[b];
			if (s->kind == ADO_STEP_RESTORE_DATABASE && db && strcmp(s->to ? s->to : s->target, db) == 0)
				return s->name;
		}
	return NULL;
}

int ado_recover_run(const struct ado_config *cfg, const struct ado_plan *p, const struct ado_recover_opts *o,
		    struct ado_buf *out, struct ado_err *e)
{
	struct run r = { 0 };
	struct rc_exec x = { 0 };
	struct progress pg = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	struct ado_lock *lock = NULL;
	int first = 0, last = (int)p->nphases - 1, status = ADO_EXIT_FAIL, ndestr = 0, stop = 0;
	char env_run[80], msg[1500], a[32], b[32], destr[600] = "";
	char *extra[1] = { env_run };
	long long total, age;

	r.cfg = cfg;
	r.p = p;
	r.o = o;
	r.tl.fd = -1;
	gethostname(r.host, sizeof(r.host) - 1);
	targets(&r);
	if (o->from_phase && (first = phase_index(p, o->from_phase, e)) < 0)
		return ADO_EXIT_USAGE;
	if (o->only_phase) {
		if ((first = phase_index(p, o->only_phase, e)) < 0)
			return ADO_EXIT_USAGE;
		last = first;
	}
	if (!(r.st = calloc(p->nphases, sizeof(*r.st))) || !(r.ms = calloc(p->nphases, sizeof(*r.ms)))) {
		free(r.st);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return ADO_EXIT_FAIL;
	}
	for (size_t i = 0; i < p->nphases; i++) {
		r.st[i] = calloc(p->phases[i].nsteps, sizeof(int));
		r.ms[i] = calloc(p->phases[i].nsteps, sizeof(long long));
		if (!r.st[i] || !r.ms[i]) {
			grid_free(&r);
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			return ADO_EXIT_FAIL;
		}
		for (size_t k = 0; k < p->phases[i].nsteps; k++)
			if ((int)i < first || (int)i > last)
				r.st[i][k] = ST_SKIPPED;
	}
	x.cfg = cfg;
	x.backup = o->backup;
	x.before = o->before;
	x.say = o->say;
	x.say_arg = o->say_arg;
	if (check_steps(p, first, last, &x, e) < 0 || ado_cli_keyring(cfg, 0, &x.keyring, e) < 0 ||
	    (!x.keyring && check_key_needed(cfg, p, first, last, e) < 0) || ado_http_global_init(e) < 0) {
		status = ADO_EXIT_USAGE;
		goto out;
	}

	if (o->dry_run) {
		for (int i = first; i <= last; i++)
			for (size_t k = 0; k < p->phases[i].nsteps; k++) {
				char d[1200];
				rc_step_describe(&x, &p->phases[i].steps[k], d, sizeof(d));
				ado_sayf(o->say, o->say_arg, "phase '%s' step '%s'%s: %s", p->phases[i].name,
					 p->phases[i].steps[k].name, p->phases[i].steps[k].destructive ? " (destructive)" : "", d);
			}
		ado_sayf(o->say, o->say_arg, "RTO target %s, RPO target %s", r.rto ? rc_dur(r.rto, a, sizeof(a)) : "not set",
			 r.rpo ? rc_dur(r.rpo, b, sizeof(b)) : "not set");
		ado_sayf(o->say, o->say_arg, "dry run: nothing changed");
		status = ADO_EXIT_OK;
		goto out;
	}

	if (ado_lock_job(cfg->state_dir, "recover", &lock, e) < 0) {
		if (e->kind == ADO_E_LOCKED) {
			const char *pid = strstr(e->msg, "(pid ");
			char held[64];
			snprintf(held, sizeof(held), "%s", pid ? pid : "(pid unknown)");
			snprintf(e->msg, sizeof(e->msg), "another recovery is running %s", held);
		}
		status = ado_err_exit(e->kind);
		goto out;
	}
	if (o->resume) {
		struct resume_ctx rc = { &r, 0, "" };
		int found = rc_timeline_last(cfg->state_dir, &r.tl, e);
		if (found < 0)
			goto out;
		if (found == 1) {
			ado_err_set(e, ADO_E_USAGE, 0, "nothing to resume: no recovery has run here");
			status = ADO_EXIT_USAGE;
			goto out;
		}
		if (rc_lines(r.tl.path, resume_line, &rc, e) < 0)
			goto out;
		if (rc.ended) {
			ado_err_set(e, ADO_E_USAGE, 0, "nothing to resume: the last recovery '%s' has ended (%s)", r.tl.id,
				    rc.end_status);
			ado_err_hint(e, "run ado-recover without --resume to start a new one");
			status = ADO_EXIT_USAGE;
			goto out;
		}
		if (!r.start)
			r.start = time(NULL);
	}
	for (int i = first; i <= last; i++)
		for (size_t k = 0; k < p->phases[i].nsteps; k++)
			if (p->phases[i].steps[k].destructive && r.st[i][k] == ST_PENDING && ndestr++ < 6)
				snprintf(destr + strlen(destr), sizeof(destr) - strlen(destr), "%s'%s'", ndestr > 1 ? ", " : "",
					 p->phases[i].steps[k].name);
	if (ndestr && !o->yes && !o->interactive) {
		ado_err_set(e, ADO_E_USAGE, 0, "refusing to run %d destructive step%s without a terminal to confirm: %s%s",
			    ndestr, ndestr == 1 ? "" : "s", destr, ndestr > 6 ? ", ..." : "");
		ado_err_hint(e, "give --yes to run unattended (cron, pipes), or --dry-run to see the steps; nothing was done");
		status = ADO_EXIT_USAGE;
		goto out;
	}
	if (o->resume) {
		if (rc_timeline_reopen(&r.tl, e) < 0 || event(&r, "resume", NULL, NULL, NULL, -1, NULL, NULL, e) < 0)
			goto out;
		ado_sayf(o->say, o->say_arg, "resuming recovery %s", r.tl.id);
		snprintf(msg, sizeof(msg), "disaster recovery %s resumed on %s", r.tl.id, r.host);
	} else {
		r.start = time(NULL);
		if (rc_timeline_create(cfg->state_dir, &r.tl, e) < 0 ||
		    event(&r, "run-start", NULL, NULL, NULL, -1, NULL, NULL, e) < 0)
			goto out;
		ado_sayf(o->say, o->say_arg, "recovery %s started (timeline %s)", r.tl.id, r.tl.path);
		snprintf(msg, sizeof(msg), "disaster recovery %s started on %s: %zu phases, RTO %s", r.tl.id, r.host,
			 p->nphases, r.rto ? rc_dur(r.rto, a, sizeof(a)) : "not set");
	}
	rc_notice(cfg, ADO_SEV_CRITICAL, p->status_page, msg);
	snprintf(env_run, sizeof(env_run), "ADO_RECOVER_RUN=%s", r.tl.id);
	x.extra_env = extra;
	x.nextra = 1;
	pg.r = &r;
	snprintf(pg.phase, sizeof(pg.phase), "%s", p->phases[first].name);
	snprintf(pg.next, sizeof(pg.next), "%s", p->phases[first].steps[0].name);
	if (p->update_every > 0 && pthread_create(&pg.th, NULL, progress_main, &pg) == 0)
		pg.started = 1;

	for (int i = first; i <= last && !stop; i++) {
		const struct ado_phase *ph = &p->phases[i];
		for (size_t k = 0; k < ph->nsteps && !stop; k++) {
			const struct ado_step *s = &ph->steps[k];
			struct ado_err se;
			struct timespec t0;
			int rc;

			if (r.st[i][k] == ST_DONE_BEFORE) {
				ado_sayf(o->say, o->say_arg, "phase '%s' step '%s': finished before, not run again", ph->name,
					 s->name);
				continue;
			}
			progress_set(&pg, ph->name, s->name);
			if (s->destructive && !o->yes && o->interactive) {
				char q[700];
				snprintf(q, sizeof(q), "run destructive step '%s' of phase '%s'?", s->name, ph->name);
				if (!o->confirm || !o->confirm(o->confirm_arg, q)) {
					ado_err_set(e, ADO_E_USAGE, 0, "step '%s' of phase '%s' not confirmed: stopped", s->name,
						    ph->name);
					ado_err_hint(e, "ado-recover --resume continues from there");
					status = ADO_EXIT_USAGE;
					stop = 2;
					break;
				}
			}
			ado_sayf(o->say, o->say_arg, "phase '%s' step '%s': started", ph->name, s->name);
			if (event(&r, "step-start", ph->name, s, NULL, -1, NULL, NULL, e) < 0) {
				stop = 1;
				break;
			}
			ado_err_clear(&se);
			x.restored_by = s->kind == ADO_STEP_READ_ONLY ? restored_later(p, i, k, s->target) : NULL;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			rc = rc_step_exec(&x, s, &se);
			r.ms[i][k] = ms_since(&t0);
			if (rc == 0 && x.backup_time && (!r.oldest_backup || x.backup_time < r.oldest_backup))
				r.oldest_backup = x.backup_time;
			r.st[i][k] = rc == 0 ? ST_OK : se.kind == ADO_E_INTERRUPTED ? ST_INTERRUPTED : ST_FAILED;
			if (event(&r, "step-end", ph->name, s, st_names[r.st[i][k]], r.ms[i][k], &x, &se, e) < 0) {
				stop = 1;
				break;
			}
			if (rc == 0) {
				ado_sayf(o->say, o->say_arg, "phase '%s' step '%s': ok (%s)", ph->name, s->name,
					 rc_dur(r.ms[i][k] / 1000, a, sizeof(a)));
				continue;
			}
			snprintf(r.failed, sizeof(r.failed), "step '%s' of phase '%s'", s->name, ph->name);
			if (se.kind == ADO_E_INTERRUPTED) {
				*e = se;
				status = ado_sig_exit(ado_interrupted());
				stop = 3;
				break;
			}
			*e = se;
			ado_err_prefix(e, "%s failed", r.failed);
			snprintf(msg, sizeof(msg), "disaster recovery %s on %s FAILED at %s: %.600s", r.tl.id, r.host, r.failed,
				 se.msg);
			rc_notice(cfg, ADO_SEV_CRITICAL, NULL, msg);
			status = ADO_EXIT_FAIL;
			stop = 4;
		}
	}
	progress_stop(&pg);
	total = (long long)(time(NULL) - r.start);
	/* a backup stamped a second ahead of the start (ids taken ahead when two
	 * runs share a second) is fresh, not of unknown age */
	age = r.oldest_backup ? (r.start > r.oldest_backup ? (long long)(r.start - r.oldest_backup) : 0) : -1;
	if (stop == 1) {	/* the timeline could not be written: no true record, no report */
		status = ADO_EXIT_FAIL;
		goto out;
	}
	if (stop == 2 || stop == 3) {	/* unfinished: --resume continues */
		report(&r, stop == 2 ? "stopped" : "interrupted", total, age, out);
		goto out;
	}
	if (stop == 4) {
		event(&r, "run-end", NULL, NULL, "failed", total * 1000, NULL, e, e);
		report(&r, "failed", total, age, out);
		history(&r, "failed", total, age);
		goto out;
	}
	{
		int missed = (r.rto && total > r.rto) || (r.rpo && age > r.rpo);
		const char *res = missed ? "missed a target" : "succeeded";
		status = missed ? ADO_EXIT_TARGET : ADO_EXIT_OK;
		event(&r, "run-end", NULL, NULL, res, total * 1000, NULL, NULL, e);
		report(&r, res, total, age, out);
		history(&r, res, total, age);
		/* the status page goes back to operational once the last phase (validation) has passed */
		snprintf(msg, sizeof(msg), "disaster recovery %s on %s finished in %s%s%s", r.tl.id, r.host,
			 rc_dur(total, a, sizeof(a)), missed ? ": a target was missed (RTO " : "",
			 missed ? (r.rto && total > r.rto ? "missed)" : "met, RPO missed)") : "");
		rc_notice(cfg, missed ? ADO_SEV_WARNING : ADO_SEV_INFO, last == (int)p->nphases - 1 ? "operational" : NULL,
			  msg);
		if (missed)
			ado_err_set(e, ADO_E_NONE, 0, "recovery %s finished but missed its %s target", r.tl.id,
				    r.rto && total > r.rto ? "RTO" : "RPO");
	}
out:
	progress_stop(&pg);
	rc_timeline_close(&r.tl);
	ado_lock_release(lock);
	ado_keyring_free(x.keyring);
	grid_free(&r);
	return status;
}
