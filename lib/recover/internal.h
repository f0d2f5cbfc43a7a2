/* internal.h - what the files of lib/recover share: the YAML reader of plans
 * and drill files, the timeline and history files, the step executor and the
 * notice sender. Not for use outside lib/recover. */
#ifndef ADO_RECOVER_INTERNAL_H
#define ADO_RECOVER_INTERNAL_H

#include <stdint.h>
#include <yaml.h>

#include "format/crypt.h"
#include "job/dbrestore.h"
#include "recover/recover.h"

/* ---- YAML (plan.c): error style of the config, file:line:col ---- */
struct rc_yaml {
	const char *file;
	yaml_document_t doc;
	struct ado_err *e;
};
int rc_yaml_load(struct rc_yaml *y, const char *path, struct ado_err *e);
void rc_yaml_free(struct rc_yaml *y);
yaml_node_t *rc_yaml_root(struct rc_yaml *y);
yaml_node_t *rc_yaml_node(struct rc_yaml *y, int idx);
int rc_yaml_err(struct rc_yaml *y, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Fill vals[i] for keys[i] (NULL-terminated) from map; unknown or repeated keys are errors. */
int rc_yaml_map(struct rc_yaml *y, const yaml_node_t *map, const char *what, const char *const *keys, yaml_node_t **vals);
int rc_yaml_str(struct rc_yaml *y, const yaml_node_t *n, const char *what, char **out);
int rc_yaml_duration(struct rc_yaml *y, const yaml_node_t *n, const char *what, long long *out);
int rc_yaml_int(struct rc_yaml *y, const yaml_node_t *n, const char *what, long min, long max, long *out);
int rc_yaml_bool(struct rc_yaml *y, const yaml_node_t *n, const char *what, int *out);
/* Parse one step (a map with one kind key) into s. */
int rc_parse_step(struct rc_yaml *y, const yaml_node_t *n, const char *phase, struct ado_step *s);
void rc_step_free(struct ado_step *s);

/* ---- timeline and history (timeline.c) ---- */
struct rc_timeline {
	int fd;
	char id[48];
	char path[4096];
};
/* A new run: STATE_DIR/recover/ID.jsonl with ID the UTC time (and -N when taken). */
int rc_timeline_create(const char *state_dir, struct rc_timeline *t, struct ado_err *e);
/* The newest run's file, for --resume; 0 found, 1 none. */
int rc_timeline_last(const char *state_dir, struct rc_timeline *t, struct ado_err *e);
int rc_timeline_reopen(struct rc_timeline *t, struct ado_err *e);
/* Append one JSON object (no newline in it) and fsync. */
int rc_timeline_append(struct rc_timeline *t, const char *json, struct ado_err *e);
void rc_timeline_close(struct rc_timeline *t);
/* Append a record to STATE_DIR/history.jsonl, fsynced. */
int rc_history_append(const char *state_dir, const char *json, struct ado_err *e);

/* A flat JSON object read back (strings, numbers, booleans as text). */
struct rc_kv {
	char **k, **v;
	size_t n;
};
int rc_kv_parse(const char *line, struct rc_kv *kv);	/* -1: not a flat JSON object */
const char *rc_kv_get(const struct rc_kv *kv, const char *key);
long long rc_kv_num(const struct rc_kv *kv, const char *key, long long dflt);
void rc_kv_free(struct rc_kv *kv);
/* Call fn for each line of path ("" lines skipped); a missing file is no line. */
int rc_lines(const char *path, void (*fn)(void *arg, const char *line, size_t lineno), void *arg,
	     struct ado_err *e);

/* ---- steps (steps.c) ---- */
struct rc_exec {
	const struct ado_config *cfg;
	struct ado_keyring *keyring;
	const char *backup;	/* "latest" or an id */
	time_t before;
	ado_recover_say_fn say;
	void *say_arg;
	char **extra_env;	/* added to every run: step (ADO_RECOVER_RUN=..., drill variables) */
	size_t nextra;
	/* filled by each step */
	char tail[1024];	/* last output of a run: step, one line */
	time_t backup_time;	/* restore steps: the snapshot time of the backup used (of several: the oldest) */
	char backup_ref[512];	/* and its "DEST/JOB/ID" */
	char part_refs[ADO_DB_PARTS_MAX][512];	/* restore_database with jobs: each part's, in their order */
	size_t nparts;
	/* set by the runner for a read_only step: the name of a later step of
	 * the plan that restores this database (NULL: none). The database may
	 * then be missing (a new server): nothing to keep from writes. */
	const char *restored_by;
};
/* The jobs whose backups a restore step reads: its jobs: list, or its one
 * job (rc_step_njobs is 0 for any other step). */
static inline size_t rc_step_njobs(const struct ado_step *s)
{
	if (s->kind != ADO_STEP_RESTORE_DATABASE && s->kind != ADO_STEP_RESTORE_FILES)
		return 0;
	return s->njobs ? s->njobs : s->job ? 1 : 0;
}
static inline const char *rc_step_job(const struct ado_step *s, size_t i)
{
	return s->njobs ? s->jobs[i] : s->job;
}
/* What a step needs of the config and the run's options, checked before
 * anything runs: a restore_database with jobs: can make its database
 * (ado_db_parts_check) and the run chooses no --backup ID. 0, or -1 with
 * ADO_E_USAGE (the caller names the step). */
int rc_step_check(const struct rc_exec *x, const struct ado_step *s, struct ado_err *e);
/* Run one step for real; 0 done, -1 failed (e says why). */
int rc_step_exec(struct rc_exec *x, const struct ado_step *s, struct ado_err *e);
/* What --dry-run prints for a step (with the backup and its age). */
void rc_step_describe(struct rc_exec *x, const struct ado_step *s, char *buf, size_t len);
const char *rc_step_kind_name(enum ado_step_kind k);
/* Choose the backup a restore step would use: *t its time, ref "DEST/JOB/ID". */
int rc_pick_backup(struct rc_exec *x, const char *job, const char *target, time_t *t, char *ref, size_t reflen,
		   struct ado_err *e);

/* Send a notice through lib/notify (the channels of ado-notify). with_status
 * selects status-page channels too. No channel configured: 0, nothing sent.
 * Failures are warned about, never fatal. */
void rc_notice(const struct ado_config *cfg, int severity, const char *status, const char *msg);

/* "Database Recovery Test" -> "database_recovery_test" (at most max-1 bytes). */
void rc_slug(const char *s, char *out, size_t max);
/* "1h30m" for seconds. */
const char *rc_dur(long long secs, char *buf, size_t len);
/* A JSON object line for the timeline/history from a filled buffer. */
void rc_json_begin(struct ado_json *j, struct ado_buf *b, const char *event, const char *run);
#endif
