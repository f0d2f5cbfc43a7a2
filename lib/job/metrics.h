/* metrics.h - Prometheus metrics for node_exporter's textfile collector.
 *
 * When the config has `metrics: { dir: DIR }`, each tool writes one file per
 * tool and job, DIR/ado_TOOL_JOB.prom (ado-recover: DIR/ado_recover.prom),
 * mode 0644, atomically: a hidden temp name in DIR (never *.prom, so the
 * collector never reads half a file), write, fsync, rename, fsync DIR. DIR is
 * not created: it belongs to node_exporter, and a missing one is an error.
 *
 * A file is rewritten from the previous one: the families a run declares
 * replace theirs (or, declared with merge, only the series the run sets), and
 * families the run does not declare are kept as they were, so `ado-verify
 * --level checksum`, `--level restore` and `--rpo` share ado_verify_JOB.prom.
 * Delete a file to forget a removed job or destination.
 *
 * Label values never carry a secret: a destination is written without any
 * user:password@ and ?query part, and registered secrets are redacted. */
#ifndef ADO_METRICS_H
#define ADO_METRICS_H

#include <stddef.h>

#include "base/error.h"
#include "config/config.h"
#include "job/backup.h"
#include "job/freshness.h"

/* ---- the file writer, for the tool-specific functions below and lib/recover ---- */

struct ado_metrics;

/* A new file for tool ("backup") and job (NULL: ado_TOOL.prom), with the
 * previous file's families read in (a missing or unreadable one is no
 * family). NULL when job is not a plain name or on out of memory (e set). */
struct ado_metrics *ado_metrics_new(const char *dir, const char *tool, const char *job, struct ado_err *e);
void ado_metrics_free(struct ado_metrics *m);

/* Declare a family: name, help text and type ("gauge" or "counter"). With
 * merge, the previous file's series of this family that the run does not set
 * are kept. Declaring a family again is a no-op. */
void ado_metrics_family(struct ado_metrics *m, const char *name, const char *help, const char *type, int merge);

/* Set a series of a declared family. labels is NULL-terminated pairs of name
 * and raw value ("job", "db", "destination", url, NULL); values are escaped
 * here. A later set of the same series replaces the earlier one. */
void ado_metrics_set(struct ado_metrics *m, const char *name, double value, const char *const *labels);

/* The previous file's value of a series (same arguments as set), or dflt. */
double ado_metrics_prev(const struct ado_metrics *m, const char *name, double dflt, const char *const *labels);

/* Write the file atomically. -1 with ADO_E_IO naming the folder or file, or
 * ADO_E_NOMEM. */
int ado_metrics_commit(struct ado_metrics *m, struct ado_err *e);

/* A destination as a label value: without user:password@ and ?query. */
void ado_metrics_dest_label(const char *url, char *out, size_t len);

/* ---- one call per tool at the end of a run (cfg->metrics_dir NULL: nothing, 0) ---- */

/* ado-backup: per destination the last run's result (1 committed, 0 not),
 * duration, stored bytes and time, and the last success time (carried over
 * from the previous file when this run failed there; 0 when never known). */
int ado_metrics_backup(const struct ado_config *cfg, const struct ado_job *job, const struct ado_backup_report *rep,
		       struct ado_err *e);

/* ado-verify: at level ("checksum", "read", "restore"), ok and failed backups
 * of job checked in this run, which took seconds. */
int ado_metrics_verify(const struct ado_config *cfg, const char *job, const char *level, size_t ok, size_t failed,
		       double seconds, struct ado_err *e);

/* ado-verify --rpo: the rows of one job (one per destination). */
int ado_metrics_fresh(const struct ado_config *cfg, const struct ado_job *job, const struct ado_fresh_row *rows,
		      size_t n, struct ado_err *e);

/* Warn once per process "cannot write metrics: ..." with e's text: a metrics
 * failure never changes a run's exit status. */
void ado_metrics_warn(const struct ado_err *e);

#endif
