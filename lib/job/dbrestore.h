/* dbrestore.h - database artifacts in verify and restore (built on pg.h):
 * pg_restore from the read chain into a new database, then row counts. */
#ifndef ADO_DBRESTORE_H
#define ADO_DBRESTORE_H

#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "format/crypt.h"
#include "base/error.h"
#include "format/manifest.h"
#include "store/store.h"

/* verify --level restore: restore artifact a into a fresh temporary database
 * (ado_verify_<job>_<id>) on the configured server for a->source, or on
 * scratch_conninfo when given; check every table of the manifest exists with
 * its row count; at least min_tables user tables when min_tables > 0. The
 * temporary database is dropped on every path. *tables += tables checked.
 * A backup of listed tables goes through a 0600 file in tmp_dir (NULL:
 * $TMPDIR, /tmp) and is restored without its foreign keys to tables outside
 * the backup, named in one warning line; every other key is checked. */
int ado_pg_verify_artifact(const struct ado_config *cfg, struct ado_store *s, const struct ado_manifest *m,
			   const struct ado_artifact *a, struct ado_keyring *k, const char *scratch_conninfo,
			   const char *tmp_dir, long min_tables, uint64_t *tables, struct ado_err *e);

struct ado_db_restore_opts {
	const char *to_database;	/* restore under this name and swap nothing */
	char *const *tables;		/* subset, or NULL */
	size_t ntables;
	int jobs;			/* pg_restore -j (via a 0600 temporary file) */
	int force;			/* replace the live database; terminate sessions blocking the swap */
	/* without force: asked before a live database is replaced; NULL or 0 = no
	 * (then ADO_E_EXISTS, nothing touched). Gets say_arg. */
	int (*confirm)(void *arg, const char *question);
	char *aside_out;		/* when not NULL: the name the live database was moved to ("" if none) */
	size_t aside_len;
	int dry_run;
	const char *tmp_dir;
	void (*say)(void *arg, const char *msg);	/* steps, for --dry-run and progress */
	void *say_arg;
	/* ado_pg_restore_parts: when not NULL, the index of the part whose
	 * restore or row count failed, -1 when none did (or all: the keys) */
	int *failed_part;
};

/* ado-restore --target DB: restore into a NEW database, check it like verify,
 * then swap: the current database is renamed to DB_before_<restore time>
 * (never dropped) and the restored one takes its name. Replacing an existing
 * database needs o->force or o->confirm's yes, asked before any work; the
 * aside name is chosen then too. Sessions connected to the current database
 * block the swap (listed in the error) unless o->force. */
int ado_pg_restore_artifact(const struct ado_config *cfg, struct ado_store *s, const struct ado_manifest *m,
			    const struct ado_artifact *a, struct ado_keyring *k, const struct ado_db_restore_opts *o,
			    struct ado_err *e);

/* One part of a database split across jobs: a backup's artifact of listed
 * tables (the store, manifest and artifact stay the caller's). */
struct ado_db_part {
	struct ado_store *s;
	const struct ado_manifest *m;
	const struct ado_artifact *a;
};

/* ado-restore --job A --job B --target DB: the union of n parts (2 to 16;
 * the same database, no table in two parts, none a whole-database backup:
 * else ADO_E_USAGE, before anything is touched) into ONE new database. Says
 * first how far apart the parts were taken ("parts taken 42m apart: A/ID,
 * B/ID"). Each part is restored without foreign keys (its dump through a
 * 0600 file in o->tmp_dir) and its row counts checked; then every part's
 * foreign keys are added in one transaction (keys to tables of no part are
 * skipped and named). Then, as ado_pg_restore_artifact: kept under
 * o->to_database, or swapped in for DB (the live one renamed
 * DB_before_<restore time>, never dropped; o->force or o->confirm needed).
 * Any failure drops the new database and leaves DB as it was. o->tables
 * must be empty. */
int ado_pg_restore_parts(const struct ado_config *cfg, const struct ado_db_part *parts, size_t n,
			 struct ado_keyring *k, const struct ado_db_restore_opts *o, struct ado_err *e);

/* At most this many jobs make one database. */
#define ADO_DB_PARTS_MAX 16

/* The parts chosen for one database from several jobs (ado_db_parts_select),
 * in the order of the jobs given: each part's store and manifest are owned
 * here (m[i] is part[i].m), freed by ado_db_parts_free. */
struct ado_db_parts {
	struct ado_db_part part[ADO_DB_PARTS_MAX];
	struct ado_manifest *m[ADO_DB_PARTS_MAX];
	size_t n;
};

/* Can jobs[0..njobs) make database `target` together? From the config
 * alone, touching nothing: 1 to ADO_DB_PARTS_MAX jobs, none given twice,
 * each in the config and backing up `target` (a database: target, or its
 * name:). Else ADO_E_USAGE ("job 'J' backs up no database 'DB'", with a hint). */
int ado_db_parts_check(const struct ado_config *cfg, char *const *jobs, size_t njobs, const char *target,
		       struct ado_err *e);

/* ado_db_parts_check, then each job's part, in order: its newest complete
 * backup that holds `target` (the newest at or before `before` when not 0)
 * on the first of its destinations that has one, its manifest (authenticated
 * as ado_repo_auth_required says), the artifact of `target` in it, readable
 * now (else ADO_E_ARCHIVED with the thaw command as the hint) and listed
 * exactly in SHA256SUMS. An encrypted backup without k is ADO_E_USAGE. The
 * first failure stops the choice (e names the job and backup); nothing is
 * restored or changed. On success *out holds the parts for
 * ado_pg_restore_parts; free them with ado_db_parts_free on every path. */
int ado_db_parts_select(const struct ado_config *cfg, char *const *jobs, size_t njobs, time_t before,
			const char *target, struct ado_keyring *k, struct ado_db_parts *out, struct ado_err *e);
/* Free the stores and manifests of p and empty it; accepts NULL. */
void ado_db_parts_free(struct ado_db_parts *p);

#endif
