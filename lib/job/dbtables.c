/* dbtables.c - a backup of listed tables restored into its live database:
 * exactly those tables replaced, in one transaction (see dbint.h and
 * ado-restore(1), "Tables of a live database"). */
#include "job/dbint.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job/restore.h"

/* Append s to f as a SQL identifier ("a""b") or literal ('a''b'). */
static void put_quoted(FILE *f, const char *s, size_t n, char q)
{
	fputc(q, f);
	for (size_t i = 0; i < n && s[i]; i++) {
		if (s[i] == q)
			fputc(q, f);
		fputc(s[i], f);
	}
	fputc(q, f);
}

/* display name schema.table (split at the first dot) as "schema"."table" */
static void put_table(FILE *f, const char *display)
{
	const char *dot = strchr(display, '.');

	if (!dot) {
		put_quoted(f, display, strlen(display), '"');
		return;
	}
	put_quoted(f, display, (size_t)(dot - display), '"');
	fputc('.', f);
	put_quoted(f, dot + 1, strlen(dot + 1), '"');
}

/* The same, as a SQL literal holding the quoted name: '"public"."users"' */
static void put_table_literal(FILE *f, const char *display)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	put_table(m, display);
	fclose(m);
	put_quoted(f, buf, len, '\'');
	free(buf);
}

static FILE *open_sql(const char *tmp_dir, char *path, size_t len, const char *tag, struct ado_err *e)
{
	int fd;
	FILE *f;

	snprintf(path, len, "%s/ado-restore-%s-XXXXXX", tmp_dir, tag);
	if ((fd = mkstemp(path)) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot create a temporary file in '%s'", tmp_dir);
		path[0] = '\0';
		return NULL;
	}
	if (!(f = fdopen(fd, "w"))) {
		ado_err_set(e, ADO_E_IO, errno, "cannot write '%s'", path);
		close(fd);
	}
	return f;
}

/* What runs before the backup's SQL, in the same transaction: qualified
 * names only; the foreign keys of OTHER tables that point at the restored
 * ones are kept (definition) and dropped; the live copies of the restored
 * tables move, with their indexes, constraints and owned sequences, into
 * schema `aside`. */
static void write_pre(FILE *f, const struct ado_artifact *a, const char *aside)
{
	fputs("SET lock_timeout = '60s';\nSELECT pg_catalog.set_config('search_path', '', false);\n", f);
	fputs("CREATE SCHEMA ", f);
	put_quoted(f, aside, strlen(aside), '"');
	fputs(";\nCREATE TEMP TABLE ado_restored ON COMMIT DROP AS SELECT pg_catalog.to_regclass(x) AS oid FROM pg_catalog.unnest(ARRAY[", f);
	for (size_t i = 0; i < a->ntables; i++) {
		if (i)
			fputc(',', f);
		put_table_literal(f, a->tables[i].name);
	}
	fputs("]::text[]) x;\n", f);
	fputs("CREATE TEMP TABLE ado_incoming ON COMMIT DROP AS SELECT c.conrelid::pg_catalog.regclass::text AS tbl,"
	      " pg_catalog.quote_ident(c.conname) AS con, pg_catalog.pg_get_constraintdef(c.oid) AS def"
	      " FROM pg_catalog.pg_constraint c WHERE c.contype = 'f'"
	      " AND c.confrelid IN (SELECT oid FROM pg_temp.ado_restored WHERE oid IS NOT NULL)"
	      " AND c.conrelid NOT IN (SELECT oid FROM pg_temp.ado_restored WHERE oid IS NOT NULL);\n", f);
	fputs("DO $ado$ DECLARE r record; BEGIN FOR r IN SELECT * FROM pg_temp.ado_incoming LOOP"
	      " EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %s', r.tbl, r.con); END LOOP; END $ado$;\n", f);
	for (size_t i = 0; i < a->ntables; i++) {
		fputs("DO $ado$ BEGIN IF pg_catalog.to_regclass(", f);
		put_table_literal(f, a->tables[i].name);
		fputs(") IS NOT NULL THEN ALTER TABLE ", f);
		put_table(f, a->tables[i].name);
		fputs(" SET SCHEMA ", f);
		put_quoted(f, aside, strlen(aside), '"');
		fputs("; END IF; END $ado$;\n", f);
	}
}

/* After the backup's SQL, still in the transaction: every row count as the
 * manifest recorded (else everything rolls back), then the kept foreign
 * keys of the other tables, now checked against the restored rows. */
static void write_post(FILE *f, const struct ado_artifact *a)
{
	fputs("SELECT pg_catalog.set_config('search_path', '', false);\n", f);
	fputs("DO $ado$ DECLARE n bigint; BEGIN\n", f);
	for (size_t i = 0; i < a->ntables; i++) {
		fputs("SELECT count(*) INTO n FROM ONLY ", f);
		put_table(f, a->tables[i].name);
		fprintf(f, "; IF n <> %lld THEN RAISE EXCEPTION 'table %%: %% rows, the backup recorded %lld', ",
			(long long)a->tables[i].rows, (long long)a->tables[i].rows);
		put_quoted(f, a->tables[i].name, strlen(a->tables[i].name), '\'');
		fputs(", n; END IF;\n", f);
	}
	fputs("END $ado$;\n", f);
	fputs("DO $ado$ DECLARE r record; BEGIN FOR r IN SELECT * FROM pg_temp.ado_incoming LOOP"
	      " EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %s %s', r.tbl, r.con, r.def); END LOOP; END $ado$;\n", f);
}

/* A backup of listed tables restored into its live database: exactly those
 * tables are replaced, in one transaction (see ado-restore(1), "Tables of a
 * live database"). The backup's SQL (pg_restore -f, a 0600 temporary file)
 * runs between write_pre and write_post in one psql --single-transaction:
 * any error, a row count that differs, or a foreign key the restored rows
 * break rolls everything back, and the database is as it was. */
int ado_db_restore_tables_in_place(struct ado_pg *admin, const char *db, struct ado_store *s,
				   const struct ado_manifest *m, const struct ado_artifact *a, struct ado_keyring *k,
				   const struct ado_db_restore_opts *o, const char *which, struct ado_err *e)
{
	struct ado_pg_restore_opts ro = { 0 };
	struct ado_pg *in = NULL;
	char stamp[20], aside[PG_NAME_MAX + 1], pre[PATH_MAX] = "", script[PATH_MAX] = "", post[PATH_MAX] = "";
	const char *tmp_dir = o->tmp_dir && *o->tmp_dir ? o->tmp_dir : getenv("TMPDIR");
	const char *files[3];
	FILE *f = NULL;
	int exists, rc = -1;

	if (!tmp_dir || !*tmp_dir)
		tmp_dir = "/tmp";
	ado_restore_stamp(stamp, sizeof(stamp));
	ado_db_safe_name(aside, sizeof(aside), "ado_before_", stamp, NULL);
	if ((exists = ado_pg_database_exists(admin, db, e)) < 0)
		return -1;
	if (!exists) {
		ado_err_set(e, ADO_E_NOTFOUND, 0, "database '%s' does not exist: backup %s/%s holds only %zu of its tables",
			    db, m->job, m->id, a->ntables);
		return ado_err_hint(e, "rebuild it from every job that backs it up: ado-restore --job %s --job OTHER "
				    "--target %s; or restore beside it with --to-database NAME", m->job, db);
	}
	if (ado_pg_connect_like(admin, db, &in, e) < 0)
		return -1;
	/* two restores in one second never clash: ado_before_TIME, then _2, _3 ... */
	for (int i = 2; (exists = ado_pg_schema_exists(in, aside, e)) != 0; i++) {
		char numbered[32];

		if (exists < 0)
			goto out;
		if (i == 100) {
			ado_err_set(e, ADO_E_EXISTS, 0, "no free schema name to move the tables of '%s' aside to", db);
			goto out;
		}
		snprintf(numbered, sizeof(numbered), "%s_%d", stamp, i);
		ado_db_safe_name(aside, sizeof(aside), "ado_before_", numbered, NULL);
	}
	if (o->dry_run) {
		ado_sayf(o->say, o->say_arg, "would restore %zu table%s of '%s' from %s, in one transaction", a->ntables,
			 a->ntables == 1 ? "" : "s", db, which);
		if (!o->force)
			ado_sayf(o->say, o->say_arg, "would stop here: replacing tables of '%s' needs --force", db);
		ado_sayf(o->say, o->say_arg, "would move the current tables to schema '%s' of '%s'", aside, db);
		ado_sayf(o->say, o->say_arg, "would leave every other table of '%s' as it is", db);
		ado_sayf(o->say, o->say_arg, "dry run: nothing changed");
		rc = 0;
		goto out;
	}
	if (!o->force) {
		char q[300];
		snprintf(q, sizeof(q), "replace %zu table%s of database '%s' (the current ones move to schema '%s')?",
			 a->ntables, a->ntables == 1 ? "" : "s", db, aside);
		if (!o->confirm || !o->confirm(o->say_arg, q)) {
			ado_err_set(e, ADO_E_EXISTS, 0, "database '%s' exists: replacing %zu of its tables needs --force", db,
				    a->ntables);
			ado_err_hint(e, "add --force (the current tables move to schema '%s', not dropped), or restore "
				     "beside it with --to-database NAME", aside);
			goto out;
		}
	}
	ado_sayf(o->say, o->say_arg, "restoring %zu table%s of '%s' from %s, in one transaction", a->ntables,
		 a->ntables == 1 ? "" : "s", db, which);
	if (!(f = open_sql(tmp_dir, pre, sizeof(pre), "pre", e)))
		goto out;
	write_pre(f, a, aside);
	if (fclose(f) != 0) {
		f = NULL;
		ado_err_set(e, ADO_E_IO, errno, "cannot write '%s'", pre);
		goto out;
	}
	if (!(f = open_sql(tmp_dir, post, sizeof(post), "post", e)))
		goto out;
	write_post(f, a);
	if (fclose(f) != 0) {
		f = NULL;
		ado_err_set(e, ADO_E_IO, errno, "cannot write '%s'", post);
		goto out;
	}
	f = NULL;
	/* the backup as SQL: pg_restore -f into a 0600 file */
	if (!(f = open_sql(tmp_dir, script, sizeof(script), "sql", e)))
		goto out;
	fclose(f);
	f = NULL;
	ro.script = script;
	ro.no_owner = 0;
	if (ado_db_restore_into(admin, db, s, m, a, k, &ro, NULL, e) < 0)
		goto out;
	files[0] = pre;
	files[1] = script;
	files[2] = post;
	if (ado_pg_psql_files(in, db, files, 3, e) < 0) {
		ado_err_prefix(e, "the restore of %zu table%s into '%s' was rolled back", a->ntables,
			       a->ntables == 1 ? "" : "s", db);
		ado_err_hint(e, "'%s' is as it was; psql's message above says which statement failed", db);
		goto out;
	}
	ado_sayf(o->say, o->say_arg, "checked %zu table%s: row counts match the backup", a->ntables,
		 a->ntables == 1 ? "" : "s");
	ado_sayf(o->say, o->say_arg, "replaced %zu table%s of '%s'; every other table is as it was", a->ntables,
		 a->ntables == 1 ? "" : "s", db);
	ado_sayf(o->say, o->say_arg, "the previous rows are in schema '%s' of '%s'; to put them back, in one transaction: "
		 "move the restored tables away, then ALTER TABLE %s.TABLE SET SCHEMA <its schema> for each, and "
		 "re-create the foreign keys of other tables that point at them", aside, db, aside);
	if (o->aside_out)
		snprintf(o->aside_out, o->aside_len, "%s.%s", db, aside);
	rc = 0;
out:
	if (f)
		fclose(f);
	/* plaintext rows: never left behind */
	if (pre[0])
		unlink(pre);
	if (script[0])
		unlink(script);
	if (post[0])
		unlink(post);
	ado_pg_free(in);
	return rc;
}
