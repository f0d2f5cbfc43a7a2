/* runlog.h - run records: every run of ado-backup, ado-verify and ado-restore
 * appends one JSON line to STATE_DIR/runs.jsonl (ado-recover keeps its drills
 * and recoveries apart, in STATE_DIR/history.jsonl: the KPIs read that file
 * and nothing else). Each line is an object with "type": "run" and "tool"
 * ("backup", "verify", "restore"); the shapes are in ado-backup(1),
 * ado-verify(1) and ado-restore(1).
 *
 * A line is written with one write(2) on an O_APPEND descriptor, so
 * concurrent runs never interleave; the file is 0600 in a 0700 folder.
 * Bounded growth: when runs.jsonl has reached ADO_RUNLOG_MAX bytes, the next
 * writer renames it to runs.jsonl.1 (replacing the older one) under an
 * exclusive flock, so at most about twice that is kept; readers read
 * runs.jsonl.1, then runs.jsonl. A line that cannot be read is reported on
 * stderr (file and line number) and skipped. */
#ifndef ADO_RUNLOG_H
#define ADO_RUNLOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/error.h"
#include "base/json.h"
#include "config/config.h"
#include "job/backup.h"

#define ADO_RUNLOG_NAME "runs.jsonl"
#define ADO_RUNLOG_MAX (8L << 20)	/* ADO_RUNLOG_MAX_BYTES in the environment overrides (tests) */

/* Append one line (json, without its newline) to STATE_DIR/runs.jsonl.
 * -1 with ADO_E_IO naming the file; callers warn and go on: a run's exit
 * status never depends on its record. */
int ado_runlog_append(const char *state_dir, const char *json, struct ado_err *e);

/* The word for an exit status: ok, failed, usage, partial, locked, stale,
 * unchecked, interrupted (128+N). */
const char *ado_run_word(int status);

/* ado-backup: the run record of one job, into out (initialised here; free
 * it). brc and err are ado_backup_run's return and error, status the exit
 * status this job alone gives. The same object is ado-backup --json's. */
void ado_run_backup_json(const struct ado_job *job, const struct ado_backup_report *rep, int brc,
			 const struct ado_err *err, int status, time_t now, struct ado_buf *out);

/* ado-backup's whole step per job: the job's exit status from brc, err and
 * rep; its record into out (initialised here; free it); the record appended
 * unless dry_run (a failure to append is a warning on stderr). Returns the
 * status. */
int ado_run_backup_record(const struct ado_config *cfg, const struct ado_job *job,
			  const struct ado_backup_report *rep, int brc, const struct ado_err *err, int dry_run,
			  struct ado_buf *out);

/* ado-restore: append r's record (a failure is a warning on stderr). */
struct ado_restore_run;
void ado_run_restore_record(const struct ado_config *cfg, const struct ado_restore_run *r);

/* ado-verify: results collected per job, one record per job at the end. */
struct ado_verify_log;
struct ado_verify_log *ado_verify_log_new(const char *level);
/* One checked backup: job may be NULL (a reference that did not parse), id
 * NULL (a destination that could not be listed), result "ok", "fail",
 * "unchecked" or "partial", reason NULL when ok. */
void ado_verify_log_add(struct ado_verify_log *l, const char *ref, const char *job, const char *id,
			const char *result, const char *reason, uint64_t bytes);
/* Append one record per job seen; warns (stderr) on a write failure. */
void ado_verify_log_commit(struct ado_verify_log *l, const char *state_dir, double seconds);
void ado_verify_log_free(struct ado_verify_log *l);

/* ado-restore: what one run did. */
struct ado_restore_run {
	const char *mode;	/* "files", "database", "cat", "thaw" */
	const char *job, *id, *destination, *target, *to;	/* any may be NULL */
	int dry_run;
	int status;		/* the exit status */
	const char *reason;	/* NULL or "" when ok */
	uint64_t bytes;		/* plaintext bytes of the artifact restored */
	double seconds;
};
void ado_run_restore_json(const struct ado_restore_run *r, time_t now, struct ado_buf *out);

/* ---- reading ---- */

/* One parsed record (a libyaml document underneath). */
struct ado_runrec;
const char *ado_runrec_str(const struct ado_runrec *r, const char *key);	/* NULL when absent or null */
long long ado_runrec_int(const struct ado_runrec *r, const char *key, long long dflt);
/* Arrays of objects ("destinations", "checked"): the count, and member key
 * of item i. */
size_t ado_runrec_count(const struct ado_runrec *r, const char *array);
const char *ado_runrec_item(const struct ado_runrec *r, const char *array, size_t i, const char *key);
time_t ado_runrec_time(const struct ado_runrec *r);	/* "time", 0 if none */

/* Call fn for each record of tool (NULL: every tool), oldest first. A
 * missing file is no record (0). Unreadable lines: a warning each, skipped. */
typedef void (*ado_runrec_fn)(const struct ado_runrec *r, void *arg);
int ado_runlog_read(const char *state_dir, const char *tool, ado_runrec_fn fn, void *arg, struct ado_err *e);

/* A destination URL as the records write it: without user:password@,
 * ?query and trailing slashes. */
void ado_runlog_dest(const char *url, char *out, size_t len);

#endif
