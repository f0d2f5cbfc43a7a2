/* dbrestore.h - database artifacts in verify and restore (built on pg.h):
 * pg_restore from the read chain into a new database, then row counts. */
#ifndef ADO_DBRESTORE_H
#define ADO_DBRESTORE_H

#include <stdint.h>

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

#endif
