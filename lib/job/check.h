/* check.h - ado-backup --check (and --dry-run): would a run of this job work
 * now? Each item is checked and reported through a callback, one bad item
 * does not stop the others (pgBackRest `check`, Barman `check`):
 *   the key opens; each database answers, its listed tables are there and
 *   readable, and a pg_dump that fits the server is found; each folder can be
 *   read; each destination takes a small object (written, then removed) and,
 *   where that can be known (local), has room for the last backup's size.
 * Nothing here takes the job's lock or writes a backup. */
#ifndef ADO_CHECK_H
#define ADO_CHECK_H

#include <stddef.h>

#include "config/config.h"
#include "format/crypt.h"
#include "base/error.h"

struct ado_check_item {
	const char *job;	/* NULL for an item of the whole config (the key) */
	const char *what;	/* "database 'ado_primary'", "destination '/backup/'" ... */
	const char *detail;	/* ok: what was found ("PostgreSQL 15.18, 2 tables, pg_dump 15.18"); may be "" */
	const struct ado_err *err;	/* NULL: ok; else why not (message, errno, hint) */
};

typedef void (*ado_check_fn)(void *arg, const struct ado_check_item *it);

/* The key the jobs need (when any of them encrypts): loaded and opened as a
 * run would. *k gets it (NULL when none is needed or it failed; caller frees).
 * Returns 0 (ok or not needed) or -1 (reported through fn, kind in *e). */
int ado_check_key(const struct ado_config *cfg, const struct ado_job *const *jobs, size_t njobs,
		  struct ado_keyring **k, ado_check_fn fn, void *arg, struct ado_err *e);

/* Check every database, folder and destination of job; each result goes to
 * fn. Returns the number of items that failed. */
size_t ado_check_job(const struct ado_config *cfg, const struct ado_job *job, ado_check_fn fn, void *arg);

/* "12.0 MiB" into buf; returns buf. */
const char *ado_check_size(unsigned long long bytes, char *buf, size_t len);

#endif
