/* steps.c - one step of a recovery plan, for real or described for --dry-run:
 * run a command, restore a database or files, verify, an HTTP health check,
 * notify, read-only / read-write. Restores go through the same lib/job entry
 * points as ado-restore, notices through lib/notify like ado-notify. */
#include "recover/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/sig.h"
#include "job/dbrestore.h"
#include "job/repo.h"
#include "job/restore.h"
#include "job/verify.h"
#include "net/http.h"
#include "notify/notify.h"

extern char **environ;

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep up to secs, waking early when a signal arrives; -1 if interrupted. */
static int nap(double secs)
{
	double end = now_mono() + secs;

	while (!ado_interrupted()) {
		double left = end - now_mono();
		if (left <= 0)
			return 0;
		usleep((useconds_t)((left > 0.1 ? 0.1 : left) * 1e6));
	}
	return -1;
}

/* ---- run: a command with an explicit environment ---- */

/* PATH, LANG, LC_*, TZ and HOME from ours (not the rest: it may hold secrets),
 * then the extra (drill, run id) and the step's own env:. */
static char **build_env(const struct rc_exec *x, const struct ado_step *s)
{
	size_t n = 0, cap = 8 + x->nextra + s->nenv;
	char **env;

	for (char **v = environ; *v; v++)
		cap++;
	if (!(env = calloc(cap + 1, sizeof(*env))))
		return NULL;
	for (char **v = environ; *v; v++)
		if (strncmp(*v, "PATH=", 5) == 0 || strncmp(*v, "LANG=", 5) == 0 || strncmp(*v, "LC_", 3) == 0 ||
		    strncmp(*v, "TZ=", 3) == 0 || strncmp(*v, "HOME=", 5) == 0)
			env[n++] = *v;
	if (!getenv("PATH"))
		env[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
	for (size_t i = 0; i < x->nextra; i++)
		env[n++] = x->extra_env[i];
	for (size_t i = 0; i < s->nenv; i++)
		env[n++] = s->env[i];
	return env;
}

static void keep_tail(char *tail, size_t cap, const char *buf, size_t n)
{
	size_t have = strlen(tail);

	if (n >= cap - 1) {
		memcpy(tail, buf + n - (cap - 1), cap - 1);
		tail[cap - 1] = '\0';
		return;
	}
	if (have + n >= cap) {
		size_t drop = have + n - (cap - 1);
		memmove(tail, tail + drop, have - drop + 1);
		have -= drop;
	}
	memcpy(tail + have, buf, n);
	tail[have + n] = '\0';
}

/* Hand each complete output line to say, indented. */
static void say_lines(struct rc_exec *x, char *pend, size_t *plen, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || *plen >= 1000) {
			char line[1100];
			pend[*plen] = '\0';
			snprintf(line, sizeof(line), "  | %s", pend);
			if (x->say)
				x->say(x->say_arg, line);
			*plen = 0;
			if (buf[i] == '\n')
				continue;
		}
		pend[(*plen)++] = buf[i];
	}
}

static int run_once(struct rc_exec *x, const struct ado_step *s, char *tail, size_t tailcap, struct ado_err *e)
{
	char **env = build_env(x, s), buf[4096], pend[1024];
	size_t plen = 0;
	int pfd[2], status = 0, sig_sent = 0, timed_out = 0, stopped_by = 0;
	double start = now_mono(), kill_at = 0;
	pid_t pid, parent = getpid();

	if (!env)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		free(env);
		return ado_err_set(e, ADO_E_CHILD, errno, "cannot make a pipe");
	}
	if ((pid = fork()) < 0) {
		free(env);
		close(pfd[0]);
		close(pfd[1]);
		return ado_err_set(e, ADO_E_CHILD, errno, "cannot start '%s'", s->argv[0]);
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		setpgid(0, 0);	/* its own group: a timeout ends the command and its children */
		/* the runner's death (kill -9) ends the step too: an unrecorded end must not go on unseen */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		/* nothing else of ours: not a kept store connection, not a lock */
		closefrom(3);
		environ = env;
		execvp(s->argv[0], s->argv);
		dprintf(2, "cannot run '%s': %s\n", s->argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	free(env);
	close(pfd[1]);
	tail[0] = '\0';
	for (;;) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		int r = poll(&p, 1, 200);
		double t = now_mono();

		if (r > 0) {
			ssize_t n = read(pfd[0], buf, sizeof(buf));
			if (n <= 0)
				break;
			keep_tail(tail, tailcap, buf, (size_t)n);
			say_lines(x, pend, &plen, buf, (size_t)n);
		}
		if (!sig_sent && ((s->timeout && t - start >= (double)s->timeout) || ado_interrupted())) {
			timed_out = !ado_interrupted();
			stopped_by = ado_interrupted();
			kill(-pid, SIGTERM);
			sig_sent = 1;
			kill_at = t + 5;
		} else if (sig_sent && t >= kill_at) {
			kill(-pid, SIGKILL);
			kill_at = t + 3600;
		}
	}
	close(pfd[0]);
	if (plen)
		say_lines(x, pend, &plen, "\n", 1);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (stopped_by)
		return ado_err_set(e, ADO_E_INTERRUPTED, 0, "'%s' interrupted by signal %d", s->name, stopped_by);
	if (timed_out) {
		char d[32];
		return ado_err_set(e, ADO_E_CHILD, 0, "'%s' timed out after %s", s->name, rc_dur(s->timeout, d, sizeof(d)));
	}
	if (WIFSIGNALED(status))
		return ado_err_set(e, ADO_E_CHILD, 0, "'%s' killed by signal %d", s->name, WTERMSIG(status));
	if (WEXITSTATUS(status))
		return ado_err_set(e, ADO_E_CHILD, 0, "'%s' exited with status %d", s->name, WEXITSTATUS(status));
	return 0;
}

static int run_step(struct rc_exec *x, const struct ado_step *s, struct ado_err *e)
{
	for (int attempt = 0;; attempt++) {
		char tail[sizeof(x->tail)];
		int rc = run_once(x, s, tail, sizeof(tail), e);

		/* the tail as one line: the timeline keeps it, the report quotes it */
		for (char *c = tail; *c; c++)
			if (*c == '\n' || *c == '\r' || *c == '\t')
				*c = ' ';
		snprintf(x->tail, sizeof(x->tail), "%s", tail);
		if (rc == 0 || e->kind == ADO_E_INTERRUPTED || attempt >= s->retries)
			return rc;
		ado_warn("%s (try %d of %d); trying again in %llds", e->msg, attempt + 1, s->retries + 1, s->retry_delay);
		if (nap((double)s->retry_delay) < 0)
			return ado_err_set(e, ADO_E_INTERRUPTED, 0, "'%s' interrupted by signal %d", s->name,
					   ado_interrupted());
	}
}

/* ---- health check ---- */

static int health_step(struct rc_exec *x, const struct ado_step *s, struct ado_err *e)
{
	struct ado_http_resp resp;
	struct ado_http_req req = { 0 };
	struct ado_err last;
	char iv[32];

	if (ado_http_global_init(e) < 0)
		return -1;
	req.method = "GET";
	req.url = s->url;
	req.timeout_ms = s->timeout ? (long)s->timeout * 1000 : 10000;
	for (int i = 1; i <= s->tries; i++) {
		ado_err_clear(&last);
		if (ado_http_do(&req, &resp, &last) == 0 && resp.status == s->expect) {
			ado_sayf(x->say, x->say_arg, "  health check '%s' answered %ld (try %d of %d)", s->url, resp.status,
				 i, s->tries);
			return 0;
		}
		if (last.kind == ADO_E_NONE)
			ado_err_set(&last, ADO_E_REMOTE, 0, "answered %ld, expected %ld", resp.status, s->expect);
		ado_sayf(x->say, x->say_arg, "  health check '%s': %s (try %d of %d)", s->url, last.msg, i, s->tries);
		if (last.kind == ADO_E_USAGE)
			break;
		if (i < s->tries && nap((double)s->interval) < 0)
			return ado_err_set(e, ADO_E_INTERRUPTED, 0, "health check interrupted by signal %d", ado_interrupted());
	}
	ado_err_set(e, ADO_E_REMOTE, 0, "health check '%s' failed after %d tries every %s: %s", s->url, s->tries,
		    rc_dur(s->interval, iv, sizeof(iv)), last.msg);
	return -1;
}

/* ---- notices ---- */

void rc_notice(const struct ado_config *cfg, int severity, const char *status, const char *msg)
{
	struct ado_notify *n = NULL;
	struct ado_notice m = { 0 };
	struct ado_err e;

	if (ado_notify_new(cfg, &n, &e) < 0) {
		ado_debug("notice not sent: %s", e.msg);
		return;
	}
	if (ado_notify_select(n, NULL, 0, severity, status != NULL, &e) <= 0) {
		ado_notify_free(n);
		return;
	}
	m.severity = severity;
	m.title = "ado-dr recovery";
	m.message = msg;
	m.status = status;
	if (ado_notify_prepare(n, &m, &e) >= 0 && ado_notify_send(n, (cfg->notify_timeout ? cfg->notify_timeout : 60) * 1000, &e) < 0)
		ado_warn("cannot send notices: %s", e.msg);
	for (size_t i = 0; i < n->n; i++)
		if (n->chans[i].selected && !n->chans[i].ok) {
			char b[1200];
			ado_warn("notice to channel '%s' failed: %s", n->chans[i].ch->name,
				 ado_err_str(&n->chans[i].err, b, sizeof(b)));
		}
	ado_notify_free(n);
}

/* ---- restores and verify ---- */

int rc_pick_backup(struct rc_exec *x, const char *job, const char *target, time_t *t, char *ref, size_t reflen,
		   struct ado_err *e)
{
	struct ado_store *st = NULL;
	char *id = NULL, *r;

	if (!ado_config_job(x->cfg, job))
		return ado_err_set(e, ADO_E_CONFIG, 0, "no job '%s' in '%s'", job, x->cfg->path);
	if (ado_restore_select(x->cfg, job, x->backup, x->before, target, NULL, x->keyring, &st, &id, e) < 0)
		return -1;
	*t = ado_backup_id_time(id);
	r = ado_ref_make(st, job, id);
	snprintf(ref, reflen, "%s", r ? r : id);
	free(r);
	free(id);
	ado_store_free(st);
	return 0;
}

/* Open the chosen backup of job and find the artifact of kind for target. */
static int open_artifact(struct rc_exec *x, const char *job, const char *kind, const char *target,
			 struct ado_store **st, struct ado_manifest **m, const struct ado_artifact **a, struct ado_err *e)
{
	char *id = NULL, *r;

	*st = NULL;
	*m = NULL;
	if (!ado_config_job(x->cfg, job))
		return ado_err_set(e, ADO_E_CONFIG, 0, "no job '%s' in '%s'", job, x->cfg->path);
	if (ado_restore_select(x->cfg, job, x->backup, x->before, target, NULL, x->keyring, st, &id, e) < 0 ||
	    ado_repo_manifest(*st, job, id, x->keyring, ado_repo_auth_required(x->cfg, job, x->keyring), m, NULL, e) < 0)
		goto fail;
	*a = NULL;
	for (size_t i = 0; i < (*m)->nartifacts && !*a; i++)
		if (strcmp((*m)->artifacts[i].kind, kind) == 0 && ado_artifact_matches(&(*m)->artifacts[i], target))
			*a = &(*m)->artifacts[i];
	if (!*a) {
		ado_err_set(e, ADO_E_NOTFOUND, 0, "backup '%s/%s' holds no %s target '%s'", job, id, kind,
			    target ? target : "(any)");
		goto fail;
	}
	x->backup_time = ado_backup_id_time(id);
	r = ado_ref_make(*st, job, id);
	snprintf(x->backup_ref, sizeof(x->backup_ref), "%s", r ? r : id);
	free(r);
	free(id);
	return 0;
fail:
	free(id);
	ado_manifest_free(*m);
	ado_store_free(*st);
	*m = NULL;
	*st = NULL;
	return -1;
}

static int already_confirmed(void *arg, const char *question)
{
	return 1;
}

int rc_step_check(const struct rc_exec *x, const struct ado_step *s, struct ado_err *e)
{
	if (s->kind != ADO_STEP_RESTORE_DATABASE || !s->njobs)
		return 0;
	if (x->backup && strcmp(x->backup, "latest") != 0) {
		/* an id names one job's backup: the other jobs have their own */
		ado_err_set(e, ADO_E_USAGE, 0, "--backup ID does not apply to a database rebuilt from several jobs");
		return ado_err_hint(e, "each job's newest complete backup of the database is used (--before TIME for "
				    "older ones)");
	}
	return ado_db_parts_check(x->cfg, s->jobs, s->njobs, s->target, e);
}

/* restore_database with jobs: each job's part (its newest backup of the
 * database, at or before --before), checked, then one database rebuilt from
 * all of them, as ado-restore --job A --job B --target DB. */
static int restore_parts_step(struct rc_exec *x, const struct ado_step *s, struct ado_err *e)
{
	struct ado_db_parts p;
	struct ado_db_restore_opts o = { 0 };
	char list[4096] = "", span[32];
	time_t lo = 0, hi = 0;
	int rc, failed = -1;

	if (ado_db_parts_select(x->cfg, s->jobs, s->njobs, x->before, s->target, x->keyring, &p, e) < 0)
		return -1;
	for (size_t i = 0; i < p.n; i++) {
		const struct ado_manifest *m = p.part[i].m;
		time_t t = ado_backup_id_time(m->id);
		char *r = ado_ref_make(p.part[i].s, m->job, m->id);
		size_t used = strlen(list);

		snprintf(x->part_refs[i], sizeof(x->part_refs[i]), "%s", r ? r : m->id);
		free(r);
		snprintf(list + used, sizeof(list) - used, "%s'%s'", i ? ", " : "", x->part_refs[i]);
		/* the data is as old as its oldest part: that one stands for the step */
		if (i == 0 || t < lo) {
			lo = t;
			x->backup_time = t;
			snprintf(x->backup_ref, sizeof(x->backup_ref), "%s", x->part_refs[i]);
		}
		if (i == 0 || t > hi)
			hi = t;
	}
	x->nparts = p.n;
	ado_sayf(x->say, x->say_arg, "  using backups %s (taken %s apart)", list, rc_dur((long long)(hi - lo), span,
		 sizeof(span)));
	o.to_database = s->to;
	o.force = s->force;
	o.confirm = already_confirmed;	/* as for one job's backup: the runner asked */
	o.say = x->say;
	o.say_arg = x->say_arg;
	o.failed_part = &failed;
	rc = ado_pg_restore_parts(x->cfg, p.part, p.n, x->keyring, &o, e);
	/* the error names the part's artifact: say whose backup it is */
	if (rc < 0 && failed >= 0)
		ado_err_prefix(e, "backup '%s'", x->part_refs[failed]);
	ado_db_parts_free(&p);
	return rc;
}

static int restore_step(struct rc_exec *x, const struct ado_step *s, struct ado_err *e)
{
	const int db = s->kind == ADO_STEP_RESTORE_DATABASE;
	const struct ado_artifact *a = NULL;
	struct ado_store *st;
	struct ado_manifest *m;
	int rc;

	if (db && s->njobs)
		return restore_parts_step(x, s, e);
	if (open_artifact(x, s->job, db ? "database" : "files", s->target, &st, &m, &a, e) < 0)
		return -1;
	ado_sayf(x->say, x->say_arg, "  using backup '%s'", x->backup_ref);
	if (db) {
		struct ado_db_restore_opts o = { 0 };
		o.to_database = s->to;
		o.force = s->force;
		/* the runner asked before this destructive step (a yes on the
		 * terminal, or --yes): replacing the live database is agreed */
		o.confirm = already_confirmed;
		o.say = x->say;
		o.say_arg = x->say_arg;
		rc = ado_pg_restore_artifact(x->cfg, st, m, a, x->keyring, &o, e);
	} else {
		/* the folder in place is moved aside (DIR.before-ID), never deleted */
		struct ado_files_restore_opts o = { 1, 0, x->say, x->say_arg, NULL, 0, NULL };
		rc = ado_restore_files(st, m, a, x->keyring, s->to ? s->to : a->source, &o, e);
	}
	ado_manifest_free(m);
	ado_store_free(st);
	return rc;
}

static int verify_step(struct rc_exec *x, const struct ado_step *s, struct ado_err *e)
{
	struct ado_verify_opts o = { 0 };
	struct ado_verify_result res = { 0 };
	struct ado_store *st = NULL;
	char *id = NULL;
	int rc;

	if (!ado_config_job(x->cfg, s->job))
		return ado_err_set(e, ADO_E_CONFIG, 0, "no job '%s' in '%s'", s->job, x->cfg->path);
	if (ado_restore_select(x->cfg, s->job, x->backup, x->before, NULL, NULL, x->keyring, &st, &id, e) < 0)
		return -1;
	o.level = !s->level || strcmp(s->level, "checksum") == 0 ? ADO_VERIFY_CHECKSUM
		: strcmp(s->level, "read") == 0 ? ADO_VERIFY_READ : ADO_VERIFY_RESTORE;
	o.keyring = x->keyring;
	rc = ado_verify_backup(x->cfg, st, s->job, id, &o, &res, e);
	if (rc == 0)
		ado_sayf(x->say, x->say_arg, "  verified '%s/%s': %llu artifacts, %llu bytes", s->job, id,
			 (unsigned long long)res.artifacts, (unsigned long long)res.bytes);
	free(id);
	ado_store_free(st);
	return rc;
}

int rc_step_exec(struct rc_exec *x, const struct ado_step *s, struct ado_err *e)
{
	x->tail[0] = '\0';
	x->backup_time = 0;
	x->backup_ref[0] = '\0';
	x->nparts = 0;
	switch (s->kind) {
	case ADO_STEP_RUN:
		return run_step(x, s, e);
	case ADO_STEP_RESTORE_DATABASE:
	case ADO_STEP_RESTORE_FILES:
		return restore_step(x, s, e);
	case ADO_STEP_VERIFY:
		return verify_step(x, s, e);
	case ADO_STEP_HEALTH:
		return health_step(x, s, e);
	case ADO_STEP_NOTIFY:
		/* a notice that cannot be delivered is warned about; it never stops a recovery */
		rc_notice(x->cfg, s->severity, s->status, s->message);
		return 0;
	case ADO_STEP_READ_ONLY:
	case ADO_STEP_READ_WRITE:
		if (ado_recover_read_only(x->cfg, s->target, s->kind == ADO_STEP_READ_ONLY, s->force, x->say,
					  x->say_arg, e) == 0)
			return 0;
		if (s->kind == ADO_STEP_READ_ONLY && e->kind == ADO_E_NOTFOUND && x->restored_by) {
			/* a new server: no database to keep from writes until the restore makes it */
			ado_sayf(x->say, x->say_arg, "  database '%s' does not exist: nothing to set read-only (step '%s' restores it)",
				 s->target, x->restored_by);
			ado_err_clear(e);
			return 0;
		}
		return -1;
	case ADO_STEP_DRILL:
		break;
	}
	return ado_err_set(e, ADO_E_INTERNAL, 0, "step '%s' cannot run here", s->name);
}

/* "restore database 'DB' from jobs A, B: backups 'REF' (age 3m), 'REF' (age 1h)" */
static void describe_parts(struct rc_exec *x, const struct ado_step *s, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "restore database '%s'%s%s from jobs", s->target, s->to ? " to " : "",
				    s->to ? s->to : "");

	for (size_t i = 0; i < s->njobs && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s %s", i ? "," : "", s->jobs[i]);
	for (size_t i = 0; i < s->njobs && o < len; i++) {
		char ref[512], age[32];
		struct ado_err e;
		time_t t;

		if (rc_pick_backup(x, s->jobs[i], s->target, &t, ref, sizeof(ref), &e) < 0) {
			snprintf(buf + o, len - o, ": no backup of job '%s' to use: %s", s->jobs[i], e.msg);
			return;
		}
		rc_dur((long long)(time(NULL) - t), age, sizeof(age));
		o += (size_t)snprintf(buf + o, len - o, "%s '%s' (age %s)", i ? "," : ": backups", ref, age);
	}
}

void rc_step_describe(struct rc_exec *x, const struct ado_step *s, char *buf, size_t len)
{
	char ref[512], age[32], iv[32];
	struct ado_err e;
	time_t t;
	size_t o = 0;

	switch (s->kind) {
	case ADO_STEP_RUN:
		o += (size_t)snprintf(buf, len, "run:");
		for (size_t i = 0; i < s->argc && o < len; i++)
			o += (size_t)snprintf(buf + o, len - o, " %s", s->argv[i]);
		if (s->timeout && o < len)
			snprintf(buf + o, len - o, " (timeout %s, %d retries)", rc_dur(s->timeout, iv, sizeof(iv)), s->retries);
		return;
	case ADO_STEP_RESTORE_DATABASE:
	case ADO_STEP_RESTORE_FILES:
	case ADO_STEP_VERIFY:
		if (s->njobs) {
			describe_parts(x, s, buf, len);
			return;
		}
		if (rc_pick_backup(x, s->job, s->kind == ADO_STEP_VERIFY ? NULL : s->target, &t, ref, sizeof(ref), &e) < 0) {
			snprintf(buf, len, "%s of job '%s': no backup to use: %s", rc_step_kind_name(s->kind), s->job, e.msg);
			return;
		}
		rc_dur((long long)(time(NULL) - t), age, sizeof(age));
		if (s->kind == ADO_STEP_VERIFY)
			snprintf(buf, len, "verify (%s) backup '%s' (age %s)", s->level ? s->level : "checksum", ref, age);
		else
			snprintf(buf, len, "restore %s '%s'%s%s from backup '%s' (age %s)",
				 s->kind == ADO_STEP_RESTORE_DATABASE ? "database" : "files",
				 s->target ? s->target : "(the job's files)", s->to ? " to " : "", s->to ? s->to : "", ref, age);
		return;
	case ADO_STEP_HEALTH:
		snprintf(buf, len, "health check: GET %s, expect %ld, %d tries every %s", s->url, s->expect, s->tries,
			 rc_dur(s->interval, iv, sizeof(iv)));
		return;
	case ADO_STEP_NOTIFY:
		snprintf(buf, len, "notify (%s%s%s): %s", ado_severity_name(s->severity), s->status ? ", status " : "",
			 s->status ? s->status : "", s->message);
		return;
	case ADO_STEP_READ_ONLY:
	case ADO_STEP_READ_WRITE:
		snprintf(buf, len, "set database '%s' %s%s", s->target, s->kind == ADO_STEP_READ_ONLY ? "read-only" : "read-write",
			 s->force ? " and end its write sessions" : "");
		return;
	case ADO_STEP_DRILL:
		break;
	}
	snprintf(buf, len, "%s", s->name);
}
