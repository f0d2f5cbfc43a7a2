/* status.h - where every job stands, per destination (ado-verify --status):
 * the newest complete backup and its age against the RPO (freshness.h), the
 * last backup run and the last verify there (from the run records,
 * runlog.h), and the count and size of the backups kept. Reads listings,
 * manifests and STATE_DIR/runs.jsonl; no backup data. */
#ifndef ADO_STATUS_H
#define ADO_STATUS_H

#include <stdint.h>
#include <time.h>

#include "base/error.h"
#include "base/json.h"
#include "config/config.h"
#include "job/freshness.h"

struct ado_status_row {
	struct ado_fresh_row fresh;	/* job, destination, newest, age, target, state */
	char dest[1024];		/* the destination as the run records write it */
	/* the last backup run that reached this destination (a run locked out is not one) */
	int has_run;
	char run_result[16];	/* "ok", "partial" (stored here, some target failed), "failed" */
	time_t run_time;
	long long run_ms;
	char run_reason[512];
	/* the last verify that checked a backup here */
	int has_verify;
	char verify_level[16], verify_result[16];	/* result: ok, partial, unchecked, fail */
	time_t verify_time;
	/* what is kept */
	size_t complete, incomplete, damaged;
	uint64_t bytes;		/* stored bytes of the complete backups */
	/* the verdict */
	int status;		/* the exit status this row gives (see ado_status_worse) */
	const char *word;	/* ok, failed, stale, none, unchecked, partial, unwatched */
};

/* 1 when status a is worse than b: 1 (a run or a verify failed) > 5 (stale
 * or no backup) > 6 (could not list) > 3 (partial) > 0. */
int ado_status_worse(int a, int b);

/* The rows of jobs (NULL-terminated names; NULL or empty: every job), one per
 * job and destination, in config order; *rows malloc'd. An unknown job name:
 * ADO_E_USAGE with a did-you-mean hint. */
int ado_status_collect(const struct ado_config *cfg, char *const *jobs, int njobs, time_t now, long long grace,
		       struct ado_status_row **rows, size_t *n, struct ado_err *e);

/* A text table of the rows (a header line first) / one JSON record ("type":
 * "status") per row, each line ending in a newline. */
void ado_status_text(const struct ado_status_row *rows, size_t n, time_t now, struct ado_buf *out);
void ado_status_json(const struct ado_status_row *r, struct ado_buf *out);

#endif
