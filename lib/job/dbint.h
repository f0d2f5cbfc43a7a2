/* dbint.h - what the database restore files of lib/job share, private to
 * them: nothing outside dbrestore.c, dbverify.c, dbtables.c and dbmulti.c
 * includes it (dbrestore.h is the public face). The steps every path takes:
 * the maintenance connection, a new database, the read chain into
 * pg_restore, the row counts; and the swap of a whole database. */
#ifndef ADO_DBINT_H
#define ADO_DBINT_H

#include <limits.h>
#include <stddef.h>

#include "job/dbrestore.h"
#include "source/pg/pg.h"

#define PG_NAME_MAX 63	/* NAMEDATALEN - 1: longer names are truncated by the server */

/* prefix + name, lowercased, every character outside [a-z0-9_] as '_', cut
 * to what PostgreSQL keeps; `keep` (the backup id) always survives whole. */
void ado_db_safe_name(char *out, size_t len, const char *prefix, const char *name, const char *keep);
/* "DB_SUFFIX_ID" for a user database name DB (kept as is), cut to
 * PostgreSQL's limit by shortening DB. */
void ado_db_derived_name(char *out, size_t len, const char *db, const char *suffix, const char *id);

/* The manifest's tables of a (only those in `only` when nonly > 0) as a new
 * array of ado_pg_table whose strings are borrowed from a: free() the array only. */
struct ado_pg_table *ado_db_expected_tables(const struct ado_artifact *a, char *const *only, size_t nonly, size_t *n,
					     struct ado_err *e);
/* Stream artifact a into database db through pg_restore with options ro:
 * straight into its stdin, or with ro->jobs > 1 through a 0600 temporary
 * file in tmp_dir (else $TMPDIR, /tmp), removed on every path. A failure is
 * explained by the stored bytes when they are damaged (ADO_E_INTEGRITY). */
int ado_db_restore_into(struct ado_pg *admin, const char *db, struct ado_store *s, const struct ado_manifest *m,
			const struct ado_artifact *a, struct ado_keyring *k, const struct ado_pg_restore_opts *ro,
			const char *tmp_dir, struct ado_err *e);
/* The plaintext of artifact a into a new 0600 temporary file in tmp_dir
 * (else $TMPDIR, /tmp), its name in path; removed again on failure. */
int ado_db_dump_file(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
		     struct ado_keyring *k, const char *tmp_dir, char *path, size_t len, struct ado_err *e);
/* Remove the temporary file path names (warn when that fails) and clear path. */
void ado_db_unlink(char *path);
/* Row counts of a's tables (those in `only` when nonly > 0) in db, and at
 * least min_tables user tables when min_tables > 0; *checked = tables checked. */
int ado_db_check_database(struct ado_pg *admin, const char *db, const struct ado_artifact *a, char *const *only,
			  size_t nonly, long min_tables, size_t *checked, struct ado_err *e);
/* A dump of listed tables taken apart: its plaintext in a 0600 file, its
 * table of contents, and its foreign keys that reference a table of none of
 * arts[0..narts-1] (their manifests' tables) marked. Start from a zeroed
 * struct; close it on every path (the files are removed). */
struct ado_db_dump {
	char file[PATH_MAX], list[PATH_MAX];	/* the dump; the pg_restore -L list of ado_db_dump_list */
	struct ado_pg_toc *toc;
	unsigned char *skip;	/* per toc->fkeys: its table is in no artifact of arts */
	char *names;		/* "a, b": the names of those keys */
	size_t nskip;
};
int ado_db_dump_open(struct ado_pg *admin, struct ado_store *s, const struct ado_manifest *m,
		     const struct ado_artifact *a, struct ado_keyring *k, const char *tmp_dir,
		     const struct ado_artifact *const *arts, size_t narts, struct ado_db_dump *d, struct ado_err *e);
/* (Re)write d->list: the entries of mode (ADO_PG_TOC_*), the marked keys left out. */
int ado_db_dump_list(struct ado_db_dump *d, int mode, const char *tmp_dir, struct ado_err *e);
void ado_db_dump_close(struct ado_db_dump *d);
/* CREATE SCHEMA for the schemas of a listed-tables dump (pg_dump -t carries none). */
int ado_db_prepare_schemas(struct ado_pg *admin, const char *db, const struct ado_artifact *a, struct ado_err *e);
/* The CREATEDB hint after a failed CREATE DATABASE. */
void ado_db_create_hint(struct ado_err *e);
/* The maintenance connection: the scratch server, or the server of the
 * configured database `source` on database "postgres". */
int ado_db_connect_admin(const struct ado_config *cfg, const char *source, const char *scratch, struct ado_pg **admin,
			 struct ado_err *e);

/* Before any work: may db be replaced (o->force, or o->confirm), is it free
 * of sessions (unless force), and which free name DB_before_<restore time>
 * will it move to (aside)? *exists: is there a db to move at all. */
int ado_db_swap_prepare(struct ado_pg *admin, const char *db, const struct ado_db_restore_opts *o, char *aside,
			size_t len, int *exists, struct ado_err *e);
/* Move db aside (to swap_prepare's name) and give newdb its name; on a
 * failed second rename the original gets its name back. */
int ado_db_swap_in(struct ado_pg *admin, const char *db, const char *newdb, const char *aside, int exists,
		   const struct ado_db_restore_opts *o, struct ado_err *e);

/* --to-database NAME is one PostgreSQL keeps whole (ADO_E_USAGE if not). */
int ado_db_check_name(const struct ado_db_restore_opts *o, struct ado_err *e);
/* Before any work on newdb, which replaces db (or, with o->to_database, is
 * kept beside it): --to-database's name is free; else db may be replaced
 * (swap_prepare: aside, *exists) and a newdb left by a killed restore is
 * dropped (or, dry run, named). */
int ado_db_target_prepare(struct ado_pg *admin, const char *db, const char *newdb, const struct ado_db_restore_opts *o,
			  char *aside, size_t alen, int *exists, struct ado_err *e);
/* Dry run: say what the swap would do, then "dry run: nothing changed". */
int ado_db_target_plan(struct ado_pg *admin, const char *db, const char *newdb, const char *aside, int exists,
		       const struct ado_db_restore_opts *o, struct ado_err *e);
/* After the checks: keep newdb (--to-database) or swap it in for db. */
int ado_db_target_finish(struct ado_pg *admin, const char *db, const char *newdb, const char *aside, int exists,
			 const struct ado_db_restore_opts *o, struct ado_err *e);
/* Drop newdb, which we created and did not finish (warn and hint when that fails). */
void ado_db_drop_unfinished(struct ado_pg *admin, const char *db, const char *newdb, const struct ado_db_restore_opts *o);

/* dbtables.c: a backup of listed tables into its live database db, in one
 * transaction (see ado-restore(1), "Tables of a live database"); `which`
 * names the backup for the messages. */
int ado_db_restore_tables_in_place(struct ado_pg *admin, const char *db, struct ado_store *s,
				   const struct ado_manifest *m, const struct ado_artifact *a, struct ado_keyring *k,
				   const struct ado_db_restore_opts *o, const char *which, struct ado_err *e);

#endif
