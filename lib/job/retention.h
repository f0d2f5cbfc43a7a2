/* retention.h - which backups of a job to keep: the selection (a pure
 * function over backup times, testable without a store) and its application
 * to one store (ado_retention_apply, job/backup.h). */
#ifndef ADO_RETENTION_H
#define ADO_RETENTION_H

#include <stddef.h>
#include <time.h>

#include "config/config.h"
#include "base/error.h"
#include "store/store.h"

/* Why a backup is kept: a bit per rule (0: no rule keeps it). */
enum {
	ADO_KEEP_AGE = 1u << 0,		/* plain retention: not older than job->retention (or forever) */
	ADO_KEEP_WITHIN = 1u << 1,
	ADO_KEEP_LAST = 1u << 2,
	ADO_KEEP_HOURLY = 1u << 3,
	ADO_KEEP_DAILY = 1u << 4,
	ADO_KEEP_WEEKLY = 1u << 5,
	ADO_KEEP_MONTHLY = 1u << 6,
	ADO_KEEP_YEARLY = 1u << 7,
};

/* t[0..n-1]: the times of a job's complete backups, oldest first. Sets
 * why[i] to the rules that keep t[i] (0: remove it), at time now:
 *   keep->set == 0: ADO_KEEP_AGE when max_age is 0 (forever) or
 *     now - t[i] <= max_age;
 *   keep->set: keep_within keeps every t[i] with now - t[i] <= within (and
 *     any in the future); last N the N newest; hourly/daily/weekly/monthly/
 *     yearly N walk from the newest backup to the oldest and keep the newest
 *     backup of each UTC period (clock hour; day; ISO week, Monday to Sunday;
 *     calendar month; year) until N periods are kept: periods without a
 *     backup are not counted (restic's --keep-hourly ...). The rules are
 *     independent: a backup kept by one still counts for the others.
 * It knows nothing of targets or partial backups: the caller also keeps the
 * newest backup holding each target. */
void ado_retention_select(const time_t *t, size_t n, long long max_age, const struct ado_keep *keep, time_t now,
			  unsigned *why);

/* "keep_within, hourly" for why into buf; returns buf. */
const char *ado_retention_why(unsigned why, char *buf, size_t len);

/* Retention for one job on one store: remove the complete backups that
 * ado_retention_select keeps for no rule (never the newest complete one,
 * never the newest one that holds each target of the job, never keep_id),
 * the manifest first, and incomplete folders older than a day. Each removal
 * is one line on stderr at the default level ("retention: removed backup
 * 'REF'"); with dry_run nothing is removed and the lines say "would remove".
 * Returns the number removed (or that would be), or -1. */
int ado_retention_apply(struct ado_store *s, const struct ado_job *job, const char *keep_id, time_t now, int dry_run,
			struct ado_err *e);

struct ado_prune_report {
	size_t dests_ok, dests_failed;	/* destinations where retention ran / could not */
	size_t removed;			/* backups removed (with dry_run: that would be) */
};

/* ado-backup --prune: retention alone, on every destination of job, holding
 * the job's lock (not with dry_run, which changes nothing). A destination
 * that cannot be opened or listed is reported on stderr and counted; the
 * others go on. Returns 0 when every destination ran, -1 with e when one
 * failed (ADO_E_LOCKED: another run holds the job, nothing done). */
int ado_prune_job(const struct ado_config *cfg, const struct ado_job *job, time_t now, int dry_run,
		  struct ado_prune_report *rep, struct ado_err *e);

#endif
