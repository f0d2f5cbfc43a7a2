/* listing.h - what ado-restore --list shows: every backup of the config's
 * jobs (or of one) on every destination, newest first, each with its stored
 * size, its targets, the targets that failed in its run, its duration (the
 * manifest's started/finished), its state and the newest verify run that
 * checked it (STATE_DIR/runs.jsonl, runlog.h). Reads listings, manifests
 * (unauthenticated: to show, not to trust) and run records; no backup data. */
#ifndef ADO_LISTING_H
#define ADO_LISTING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/error.h"
#include "base/json.h"
#include "config/config.h"
#include "job/repo.h"

struct ado_list_row {
	char *ref;			/* DEST/JOB/ID (malloc'd) */
	char *destination;		/* the store's URL (malloc'd) */
	const char *job;		/* the config's */
	struct ado_backup_info b;	/* id, time (from the id), damaged and why */
	const char *status;		/* "complete", "partial", "incomplete", "damaged" */
	uint64_t stored_bytes;		/* the artifacts' stored sizes; 0 without a manifest */
	time_t started, finished;	/* from the manifest; 0 when unknown */
	char **targets;			/* the targets it holds (files-index artifacts aside) */
	size_t ntargets;
	char **missing;			/* targets that failed in its run: status "partial" */
	size_t nmissing;
	int verified;			/* a verify run record checked it: the newest one's */
	char verify_level[16], verify_result[16];	/* result: ok, partial, unchecked, fail */
	time_t verify_time;
	size_t seq;			/* config order: job, destination, then oldest first */
};

struct ado_list_opts {
	const char *job;	/* NULL: every job */
	time_t since;		/* only backups taken at or after this time; 0: all */
	long last;		/* only the N newest per job and destination (after the other filters); 0: all */
	const char *target;	/* only backups holding this target (ado_artifact_matches); NULL: all */
	const char *from;	/* only this destination (as written in the config); NULL: all */
};

/* The rows that o selects, newest first (then by id, then config order);
 * *rows malloc'd (ado_list_free, then free). Returns 0; 1 when a destination
 * could not be listed (a warning on stderr, its error in e; the others are
 * listed); -1 with nothing listed for a job not in cfg, or a `from` that is
 * no destination of the job (or of any job) (ADO_E_USAGE, the message names
 * it), or out of memory. */
int ado_list_collect(const struct ado_config *cfg, const struct ado_list_opts *o, struct ado_list_row **rows,
		     size_t *n, struct ado_err *e);
void ado_list_free(struct ado_list_row *rows, size_t n);

/* The header line of the text listing, and one row as one tab-separated line
 * (each ending in a newline); one row as one JSON object ("type": "backup")
 * without a newline. The columns are in ado-restore(1). */
void ado_list_text_header(struct ado_buf *out);
void ado_list_text(const struct ado_list_row *r, struct ado_buf *out);
void ado_list_json(const struct ado_list_row *r, struct ado_buf *out);

#endif
