/* recover.h - the recovery runner, its timeline, drills, KPIs and read-only mode.
 *
 * This folder turns the plan's recovery procedure into something that runs and
 * is measured. A recovery plan (the config's `recovery:` section, or a file of
 * its own) is a list of phases, each a list of steps: restore a database or
 * files, verify, an HTTP health check, notify, read-only / read-write, or run a
 * command. The runner takes a lock, asks before destructive steps, appends each
 * step's start and end to a timeline (JSON lines, fsynced, so a kill -9 leaves
 * a true record that --resume continues from), sends notifications and
 * progress updates through lib/notify, and reports the total time against the
 * RTO and the data's age against the RPO. Drills run the plan's
 * dr-test-plan.yml in a sandbox (scratch databases and folders, removed on
 * every path). Every recovery and drill appends one record to
 * STATE_DIR/history.jsonl, from which the KPIs are computed. It builds on
 * every folder below it (base, config, io, format, source, store, net, notify,
 * job); like the rest of lib/ it never prints to stdout and never exits: what
 * the user sees goes through the `say` callback, and reports are rendered into
 * buffers the tool writes out. */
#ifndef ADO_RECOVER_H
#define ADO_RECOVER_H

#include <stddef.h>
#include <time.h>

#include "base/error.h"
#include "base/json.h"
#include "config/config.h"

/* ---- the plan ---- */

enum ado_step_kind {
	ADO_STEP_RUN,			/* run: [argv...] or "shell string" */
	ADO_STEP_RESTORE_DATABASE,	/* restore_database: { job | jobs, database, to, force } */
	ADO_STEP_RESTORE_FILES,		/* restore_files: { job, target, to } */
	ADO_STEP_VERIFY,		/* verify: { job, level } */
	ADO_STEP_HEALTH,		/* health_check: { url, expect, tries, interval, timeout } */
	ADO_STEP_NOTIFY,		/* notify: "message" or { message, severity, status } */
	ADO_STEP_READ_ONLY,		/* read_only: DATABASE or { database, force } */
	ADO_STEP_READ_WRITE,		/* read_write: DATABASE */
	ADO_STEP_DRILL,			/* a drill's prose step ("Create test database corruption") */
};

struct ado_step {
	enum ado_step_kind kind;
	char *name;		/* unique in its phase; default "KIND" or "KIND DATABASE" */
	int destructive;	/* asks first on a TTY, needs --yes without one */
	/* run */
	char **argv;		/* NULL-terminated; argv[0] "/bin/sh", "-c", STRING for a string */
	size_t argc;
	char **env;		/* "NAME=value", built from env: and pass_env: */
	size_t nenv;
	long long timeout;	/* seconds, 0 = none (run, health_check per try) */
	int retries;		/* extra tries after a failure */
	long long retry_delay;	/* seconds between tries (default 5) */
	/* restore / verify / read-only */
	char *job, *target, *to, *level;
	int force;
	char **jobs;		/* restore_database jobs: [A, B]: one database from several jobs' parts */
	size_t njobs;		/* 0, or 2 to ADO_DB_PARTS_MAX; exactly one of job and jobs is set */
	/* health check */
	char *url;
	long expect;		/* default 200 */
	int tries;		/* default 30 */
	long long interval;	/* default 10 s */
	/* notify */
	char *message, *status;
	int severity;
	int line, col;
};

struct ado_phase {
	char *name;
	long long budget;	/* seconds, 0 = none */
	struct ado_step *steps;
	size_t nsteps;
};

struct ado_plan {
	char *path;
	long long rto, rpo;	/* seconds; 0 = take the job's from the config */
	long long update_every;	/* seconds between progress updates; default 30 min */
	char *status_page;	/* status set at the start: major_outage (default) or partial_outage */
	struct ado_phase *phases;
	size_t nphases;
};

/* Load a plan: from path (--plan FILE: a file whose top level is the plan or
 * holds it under `recovery:`), else from cfg->path's `recovery:` section.
 * ADO_E_CONFIG "FILE:LINE:COL: expected X, found Y" for anything malformed,
 * unknown keys included; ADO_E_NOTFOUND when the config has no `recovery:`. */
int ado_plan_load(const struct ado_config *cfg, const char *path, struct ado_plan **out, struct ado_err *e);
void ado_plan_free(struct ado_plan *p);

/* ---- the runner ---- */

typedef void (*ado_recover_say_fn)(void *arg, const char *line);
/* Ask before a destructive step; returns 1 to go on, 0 to stop. */
typedef int (*ado_recover_confirm_fn)(void *arg, const char *question);

struct ado_recover_opts {
	const char *backup;	/* "latest" (NULL) or an id */
	time_t before;		/* 0 = no limit */
	int dry_run, resume, yes, interactive, json;
	const char *from_phase, *only_phase;
	ado_recover_say_fn say;		/* progress lines (stdout of the tool) */
	void *say_arg;
	ado_recover_confirm_fn confirm;	/* used when interactive and not yes */
	void *confirm_arg;
};

/* Run the plan. Returns the exit status (ADO_EXIT_*; 128+N after signal N)
 * and fills e for 1, 2 and 4; the report (text, or JSON with o->json) is
 * appended to report. */
int ado_recover_run(const struct ado_config *cfg, const struct ado_plan *p, const struct ado_recover_opts *o,
		    struct ado_buf *report, struct ado_err *e);

/* ---- read-only mode ---- */

/* ALTER DATABASE db SET default_transaction_read_only = on (or off), on the
 * server of cfg's databases: entry. Lists the sessions that may still write
 * (opened before the change) through say; ends them only with force.
 * Idempotent: says "already read-only" and changes nothing. */
int ado_recover_read_only(const struct ado_config *cfg, const char *db, int on, int force, ado_recover_say_fn say,
			  void *arg, struct ado_err *e);

/* ---- drills ---- */

struct ado_drill_opts {
	const char *test;	/* only this test (by name), or NULL for all */
	const char *job;	/* only this job's backups, or NULL for every job */
	int yes, interactive, json, dry_run;
	ado_recover_say_fn say;
	void *say_arg;
	ado_recover_confirm_fn confirm;
	void *confirm_arg;
};

/* Run the tests of a dr-test-plan.yml (disaster_recovery_tests:) in a sandbox.
 * Returns the exit status: 0 every test passed and met its targets, 1 a test
 * failed, 2 usage/config, 5 all passed but a target was missed. */
int ado_recover_drill(const struct ado_config *cfg, const char *file, const struct ado_drill_opts *o,
		      struct ado_buf *report, struct ado_err *e);

/* ---- history and KPIs ---- */

/* The KPIs from STATE_DIR/history.jsonl over the last `since` seconds (0: all):
 * RTO and RPO achievement, test success rate, mean time to recovery. A line
 * that cannot be read is warned about and skipped. Renders into report. */
int ado_recover_report(const struct ado_config *cfg, long long since, int json, struct ado_buf *report,
		       struct ado_err *e);

/* ---- metrics ---- */

/* With cfg's metrics: { dir: }, write DIR/ado_recover.prom (job/metrics.h)
 * from the history: per drill test and for the last recovery its success,
 * time, duration and data age, and the RTO and RPO targets they were measured
 * against. No metrics dir: 0, nothing written. */
int ado_recover_metrics(const struct ado_config *cfg, struct ado_err *e);

#endif
