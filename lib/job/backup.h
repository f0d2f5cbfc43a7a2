/* backup.h - run one backup job: every target through the chain into every
 * destination at once, then per destination SHA256SUMS and the manifest (the
 * commit), then retention. */
#ifndef ADO_BACKUP_H
#define ADO_BACKUP_H

#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "format/crypt.h"
#include "base/error.h"
#include "io/io.h"
#include "store/store.h"
#include "job/retention.h"

#define ADO_BACKUP_MAX_DESTS 16	/* destinations per job */

struct ado_backup_opts {
	int dry_run;		/* say what would be done, touch nothing */
	int threads;		/* compressor threads (0: as many as cores, capped at 4) */
	struct ado_keyring *keyring;	/* required when the job encrypts */
	time_t now;		/* 0: time(NULL); tests pin it */
	struct ado_meter *meter;	/* progress (io.h); NULL: none */
};

struct ado_backup_report {
	char id[20];
	size_t dests_ok, dests_failed;
	size_t targets_ok, targets_failed;
	size_t targets_partial;	/* stored, but some files could not be read (exit 3) */
	size_t warnings;
	size_t pruned;		/* backups removed by retention */
	/* for metrics (job/metrics.h) */
	time_t finished;	/* wall-clock end of the run */
	double seconds;		/* the run's duration (monotonic clock) */
	uint64_t stored_bytes;	/* bytes written to each destination that committed (artifacts,
				 * SHA256SUMS, manifest): the same on every one */
	unsigned char dest_ok[ADO_BACKUP_MAX_DESTS];	/* [i]: job->dests[i] committed this backup */
};

/* Called with each stored backup's reference (DEST/JOB/ID) once its manifest
 * is committed, and in dry-run mode with what would be written. */
typedef void (*ado_backup_ref_fn)(void *arg, const char *ref);

/* Returns 0 when at least one destination committed a backup (check the report
 * for partial failures: exit 3), -1 when nothing was stored (ADO_E_LOCKED when
 * another run holds the job's lock). Per-item failures are logged on stderr as
 * they happen and counted in the report. */
int ado_backup_run(const struct ado_config *cfg, const struct ado_job *job, const struct ado_backup_opts *o,
		   ado_backup_ref_fn on_ref, void *arg, struct ado_backup_report *rep, struct ado_err *e);

#endif
