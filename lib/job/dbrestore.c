/* dbrestore.c - database artifacts restored (see dbrestore.h): the steps
 * every path shares (dbint.h) and the whole-database restore with its swap.
 * The test restore of verify is in dbverify.c, a subset restored into its
 * live database in dbtables.c, one database from several jobs' parts in
 * dbmulti.c.
 *
 * Every path has one shape: a maintenance connection to the server, a NEW
 * database that we create and therefore may drop, the read chain streamed
 * into pg_restore (or into a 0600 temporary file for pg_restore -j), then
 * the row counts of the manifest checked in that database. Only then does a
 * restore touch the user's database, and only by renaming it aside: nothing
 * of the user's is ever dropped. Every failure and every interruption drops
 * the new database, so a half-restored copy never survives unnoticed. */
#include "job/dbint.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "job/repo.h"
#include "job/restore.h"
#include "base/sig.h"

/* prefix + name, lowercased, every character outside [a-z0-9_] as '_', cut
 * to what PostgreSQL keeps; `keep` (the backup id) always survives whole. */
void ado_db_safe_name(char *out, size_t len, const char *prefix, const char *name, const char *keep)
{
	size_t room = len - 1 < PG_NAME_MAX ? len - 1 : PG_NAME_MAX, n = 0, klen = keep ? strlen(keep) + 1 : 0;

	for (const char *p = prefix; *p && n < room; p++)
		out[n++] = *p;
	for (const char *p = name; *p && n + klen < room; p++) {
		unsigned char c = (unsigned char)*p;
		out[n++] = isalnum(c) && c < 128 ? (char)tolower(c) : '_';
	}
	if (keep) {
		if (n < room)
			out[n++] = '_';
		for (const char *p = keep; *p && n < room; p++) {
			unsigned char c = (unsigned char)*p;
			out[n++] = isalnum(c) && c < 128 ? (char)tolower(c) : '_';
		}
	}
	out[n] = '\0';
}

/* "DB_SUFFIX_ID" for a user database name DB (kept as is: it is the user's
 * spelling), cut to PostgreSQL's limit by shortening DB. */
void ado_db_derived_name(char *out, size_t len, const char *db, const char *suffix, const char *id)
{
	char tail[96];
	size_t tl, dl = strlen(db);

	snprintf(tail, sizeof(tail), "_%s_", suffix);
	for (char *p = tail + strlen(tail); *id && p < tail + sizeof(tail) - 1; id++, p++) {
		*p = (char)tolower((unsigned char)*id);
		p[1] = '\0';
	}
	tl = strlen(tail);
	if (dl + tl > PG_NAME_MAX)
		dl = tl < PG_NAME_MAX ? PG_NAME_MAX - tl : 0;
	/* never cut a UTF-8 sequence in half */
	while (dl > 0 && dl < strlen(db) && ((unsigned char)db[dl] & 0xC0) == 0x80)
		dl--;
	snprintf(out, len, "%.*s%s", (int)dl, db, tail);
}

/* The manifest's tables as ado_pg_table (display names only; not owned). */
struct ado_pg_table *ado_db_expected_tables(const struct ado_artifact *a, char *const *only, size_t nonly,
					    size_t *n, struct ado_err *e)
{
	struct ado_pg_table *t = calloc(a->ntables ? a->ntables : 1, sizeof(*t));

	*n = 0;
	if (!t) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < a->ntables; i++) {
		int keep = nonly == 0;
		for (size_t j = 0; j < nonly && !keep; j++)
			keep = strcmp(only[j], a->tables[i].name) == 0;
		if (!keep)
			continue;
		t[*n].display = a->tables[i].name;
		t[*n].rows = a->tables[i].rows;
		(*n)++;
	}
	return t;
}

/* After the read chain failed with pg_restore's or the decompressor's error,
 * find out whether the stored bytes are damaged: that is the real cause, and
 * "pg_restore failed" alone would send the operator looking at the server. */
static void explain_failure(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
			    struct ado_keyring *k, struct ado_err *e)
{
	struct ado_err se;

	if (!e || e->kind == ADO_E_INTERRUPTED || e->kind == ADO_E_INTEGRITY || ado_interrupted())
		return;
	ado_err_clear(&se);
	if (ado_repo_read_artifact(s, m, a, k, ADO_READ_STORED, NULL, &se) < 0 && se.kind == ADO_E_INTEGRITY) {
		*e = se;
		ado_err_hint(e, "the stored backup is damaged: use another backup or another destination's copy");
	}
}

/* Stream artifact a into database db: straight into pg_restore's stdin, or
 * with jobs > 1 through a 0600 temporary file (pg_restore -j needs to seek),
 * removed on every path. */
/* The read chain failed: an interruption, or explained by the stored bytes. */
static int read_failed(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
		       struct ado_keyring *k, struct ado_err *e)
{
	/* Ctrl-C reaches pg_restore too: its death is not the cause */
	if (ado_interrupted() && e && e->kind != ADO_E_INTERRUPTED)
		return ado_err_set(e, ADO_E_INTERRUPTED, 0, "restore of '%s' interrupted by signal %d", a->name,
				   ado_interrupted());
	explain_failure(s, m, a, k, e);
	return -1;
}

int ado_db_dump_file(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
		     struct ado_keyring *k, const char *tmp_dir, char *path, size_t len, struct ado_err *e)
{
	struct ado_writer *w;
	int fd;

	/* 0600: the plaintext dump is readable by us only */
	if (ado_pg_tmp_file(tmp_dir, "ado-restore", path, len, e) < 0) {
		return ado_err_hint(e, "the whole plaintext dump (%llu bytes) goes there: give --tmp-dir or TMPDIR "
				    "with room", (unsigned long long)a->plain_size);
	}
	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot open '%s'", path);
		goto fail;
	}
	if (!(w = ado_fd_writer_new(fd, 1, e))) {
		close(fd);
		goto fail;
	}
	if (ado_repo_read_artifact(s, m, a, k, ADO_READ_PLAIN, w, e) == 0)
		return 0;
	read_failed(s, m, a, k, e);
fail:
	ado_db_unlink(path);
	return -1;
}

void ado_db_unlink(char *path)
{
	if (path[0] && unlink(path) < 0 && errno != ENOENT)
		ado_warn("cannot remove temporary file '%s': %s", path, strerror(errno));
	path[0] = '\0';
}

int ado_db_restore_into(struct ado_pg *admin, const char *db, struct ado_store *s, const struct ado_manifest *m,
			const struct ado_artifact *a, struct ado_keyring *k, const struct ado_pg_restore_opts *ro,
			const char *tmp_dir, struct ado_err *e)
{
	struct ado_pg_restore_opts fo = *ro;
	struct ado_writer *w;
	char path[PATH_MAX] = "";
	int rc;

	if (ro->jobs <= 1) {
		fo.jobs = 0;
		if (!(w = ado_pg_restore_writer_new(admin, db, &fo, e)))
			return -1;
		if (ado_repo_read_artifact(s, m, a, k, ADO_READ_PLAIN, w, e) < 0)
			return read_failed(s, m, a, k, e);
		return 0;
	}
	/* pg_restore -j needs to seek: a file */
	if (ado_db_dump_file(s, m, a, k, tmp_dir, path, sizeof(path), e) < 0)
		return -1;
	fo.file = path;
	rc = ado_pg_restore_file(admin, db, &fo, e);
	ado_db_unlink(path);
	return rc;
}

/* The foreign keys of toc that reference a table of none of arts: *skip a
 * new array of toc->nfkeys flags, *names a new "a, b" of their names. */
static int outside_keys(const struct ado_pg_toc *toc, const struct ado_artifact *const *arts, size_t narts,
			unsigned char **skip, char **names, size_t *nskip, struct ado_err *e)
{
	size_t len = 0;
	FILE *f;

	*nskip = 0;
	*names = NULL;
	if (!(*skip = calloc(toc->nfkeys ? toc->nfkeys : 1, 1)) || !(f = open_memstream(names, &len))) {
		free(*skip);
		*skip = NULL;
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	for (size_t i = 0; i < toc->nfkeys; i++) {
		int inside = 0;
		for (size_t j = 0; j < narts && !inside; j++)
			for (size_t t = 0; t < arts[j]->ntables && !inside; t++)
				inside = strcmp(arts[j]->tables[t].name, toc->fkeys[i].references) == 0;
		if (inside)
			continue;
		(*skip)[i] = 1;
		fprintf(f, "%s%s", (*nskip)++ ? ", " : "", toc->fkeys[i].name);
	}
	if (fclose(f) != 0 || !*names) {
		free(*skip);
		*skip = NULL;
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	return 0;
}

int ado_db_dump_open(struct ado_pg *admin, struct ado_store *s, const struct ado_manifest *m,
		     const struct ado_artifact *a, struct ado_keyring *k, const char *tmp_dir,
		     const struct ado_artifact *const *arts, size_t narts, struct ado_db_dump *d, struct ado_err *e)
{
	if (ado_db_dump_file(s, m, a, k, tmp_dir, d->file, sizeof(d->file), e) < 0 ||
	    ado_pg_toc_read(admin, d->file, tmp_dir, &d->toc, e) < 0)
		return -1;
	return outside_keys(d->toc, arts, narts, &d->skip, &d->names, &d->nskip, e);
}

int ado_db_dump_list(struct ado_db_dump *d, int mode, const char *tmp_dir, struct ado_err *e)
{
	if (!d->list[0] && ado_pg_tmp_file(tmp_dir, "ado-list", d->list, sizeof(d->list), e) < 0)
		return -1;
	return ado_pg_toc_write(d->toc, mode, d->skip, d->list, e);
}

void ado_db_dump_close(struct ado_db_dump *d)
{
	ado_db_unlink(d->file);
	ado_db_unlink(d->list);
	ado_pg_toc_free(d->toc);
	free(d->skip);
	free(d->names);
	memset(d, 0, sizeof(*d));
}

/* Counts (and the table minimum) in database db. */
int ado_db_check_database(struct ado_pg *admin, const char *db, const struct ado_artifact *a, char *const *only,
			  size_t nonly, long min_tables, size_t *checked, struct ado_err *e)
{
	struct ado_pg *in = NULL;
	struct ado_pg_table *t = NULL;
	size_t n = 0;
	long have = 0;
	int rc = -1;

	if (!(t = ado_db_expected_tables(a, only, nonly, &n, e)))
		return -1;
	if (ado_pg_connect_like(admin, db, &in, e) < 0)
		goto out;
	if (ado_pg_check_counts(in, t, n, e) < 0)
		goto out;
	if (min_tables > 0) {
		if (ado_pg_count_tables(in, &have, e) < 0)
			goto out;
		if (have < min_tables) {
			ado_err_set(e, ADO_E_INTEGRITY, 0, "database '%s' holds %ld tables, at least %ld expected", db,
				    have, min_tables);
			ado_err_hint(e, "the backup of '%s' lacks tables: check the target's tables: list", a->source);
			goto out;
		}
	}
	*checked = n;
	rc = 0;
out:
	ado_pg_free(in);
	free(t);
	return rc;
}

/* A listed-tables dump (pg_dump -t) carries no CREATE SCHEMA. */
int ado_db_prepare_schemas(struct ado_pg *admin, const char *db, const struct ado_artifact *a, struct ado_err *e)
{
	struct ado_pg *in = NULL;
	struct ado_pg_table *t;
	size_t n;
	int rc;

	if (a->whole_database || a->ntables == 0)
		return 0;
	if (!(t = ado_db_expected_tables(a, NULL, 0, &n, e)))
		return -1;
	rc = ado_pg_connect_like(admin, db, &in, e);
	if (rc == 0)
		rc = ado_pg_create_schemas(in, t, n, e);
	ado_pg_free(in);
	free(t);
	return rc;
}

void ado_db_create_hint(struct ado_err *e)
{
	if (e && strstr(e->msg, "permission denied"))
		ado_err_hint(e, "the role needs CREATEDB (ALTER ROLE ... CREATEDB), or give a scratch server with --scratch-db");
}

/* The maintenance connection: the scratch server, or the server of the
 * configured database (its conninfo and password) on database "postgres". */
int ado_db_connect_admin(const struct ado_config *cfg, const char *source, const char *scratch, struct ado_pg **admin,
			 struct ado_err *e)
{
	if (scratch && *scratch)
		return ado_pg_connect_conninfo(scratch,
					       ado_pg_conninfo_has_dbname(scratch) || getenv("PGDATABASE") ? NULL
													  : "postgres",
					       admin, e);
	/* a database cannot be renamed or dropped from a session inside it */
	return ado_pg_connect_server(cfg, source, strcmp(source, "postgres") == 0 ? "template1" : "postgres", admin, e);
}

/* "pid 123 (user app, application 'api', client 10.0.0.5)" for each session. */
static void describe_sessions(const struct ado_pg_session *v, size_t n, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && used + 1 < len; i++) {
		if (i == 5) {
			snprintf(out + used, len - used, "; and %zu more", n - 5);
			break;
		}
		snprintf(out + used, len - used, "%spid %d (user %s, application '%s', client %s)", i ? "; " : "", v[i].pid,
			 *v[i].user ? v[i].user : "?", v[i].application, *v[i].client ? v[i].client : "local socket");
		used = strlen(out);
	}
}

/* Sessions on db: 0 none, 1 some (listed in e, ADO_E_DB), -1 query error. */
static int blocking_sessions(struct ado_pg *admin, const char *db, size_t *count, struct ado_err *e)
{
	struct ado_pg_session *v = NULL;
	size_t n = 0;
	char list[900];

	*count = 0;
	if (ado_pg_sessions(admin, db, &v, &n, e) < 0)
		return -1;
	*count = n;
	if (n == 0) {
		ado_pg_sessions_free(v, n);
		return 0;
	}
	describe_sessions(v, n, list, sizeof(list));
	ado_pg_sessions_free(v, n);
	ado_err_set(e, ADO_E_DB, 0, "database '%s' is in use by %zu session%s: %s", db, n, n == 1 ? "" : "s", list);
	ado_err_hint(e, "stop the applications using '%s' and run again, or add --force to terminate these sessions", db);
	return 1;
}

/* Resolve --tables against the manifest: "users" or "public.users" -> the
 * manifest's display name. *out is a new array of borrowed strings. */
static int resolve_subset(const struct ado_artifact *a, char *const *want, size_t n, char ***out, struct ado_err *e)
{
	char **v = calloc(n ? n : 1, sizeof(*v));

	*out = NULL;
	if (!v)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t hits = 0;
		for (size_t j = 0; j < a->ntables; j++) {
			const char *d = a->tables[j].name, *dot = strchr(d, '.');
			if (strcmp(d, want[i]) == 0 || (!strchr(want[i], '.') && dot && strcmp(dot + 1, want[i]) == 0)) {
				if (strcmp(d, want[i]) == 0)
					hits = 0;	/* an exact match wins */
				v[i] = a->tables[j].name;
				hits++;
				if (strcmp(d, want[i]) == 0)
					break;
			}
		}
		if (hits == 0) {
			ado_err_set(e, ADO_E_NOTFOUND, 0, "table '%s' is not in the backup of database '%s'", want[i],
				    a->source);
			ado_err_hint(e, "the manifest lists: %s%s", a->ntables ? a->tables[0].name : "(no tables)",
				     a->ntables > 1 ? ", ... (ado-restore --cat REF manifest.json shows all)" : "");
			free(v);
			return -1;
		}
		if (hits > 1) {
			ado_err_set(e, ADO_E_USAGE, 0, "table '%s' is in several schemas of the backup", want[i]);
			ado_err_hint(e, "name it with its schema, e.g. public.%s", want[i]);
			free(v);
			return -1;
		}
	}
	*out = v;
	return 0;
}

/* Before any work: may db be replaced (--force, or the caller's confirm),
 * is it free of sessions (unless --force), and which free name will it be
 * moved aside to (DB_before_<restore time>, _2 ... when taken)? *exists says
 * whether there is a db to move at all. */
int ado_db_swap_prepare(struct ado_pg *admin, const char *db, const struct ado_db_restore_opts *o, char *aside,
			size_t len, int *exists, struct ado_err *e)
{
	char stamp[20], base[PG_NAME_MAX + 1];
	size_t nsess = 0;
	int r;

	aside[0] = '\0';
	if ((*exists = ado_pg_database_exists(admin, db, e)) < 0)
		return -1;
	if (!*exists)
		return 0;
	ado_restore_stamp(stamp, sizeof(stamp));
	ado_db_derived_name(base, sizeof(base), db, "before", stamp);
	snprintf(aside, len, "%s", base);
	for (int i = 2; (r = ado_pg_database_exists(admin, aside, e)) == 1 && i < 100; i++)
		snprintf(aside, len, "%.*s_%d", PG_NAME_MAX - 4, base, i);
	if (r != 0) {
		if (r == 1)
			ado_err_set(e, ADO_E_EXISTS, 0, "no free name to move '%s' aside to", db);
		return -1;
	}
	if (o->dry_run)
		return 0;
	if (!o->force) {
		char q[300];
		snprintf(q, sizeof(q), "replace database '%s' (it is moved aside to '%s', not dropped)?", db, aside);
		if (!o->confirm || !o->confirm(o->say_arg, q)) {
			ado_err_set(e, ADO_E_EXISTS, 0, "database '%s' exists: replacing it needs --force", db);
			return ado_err_hint(e, "add --force (the current database is moved aside to '%s', not dropped), "
					    "or restore beside it with --to-database NAME", aside);
		}
		/* fail fast: a long restore that cannot be swapped in helps nobody */
		if (blocking_sessions(admin, db, &nsess, e) != 0)
			return -1;
	}
	return 0;
}

/* Move db aside (to the name swap_prepare chose) and give newdb its name;
 * on a failed second rename the original gets its name back. */
int ado_db_swap_in(struct ado_pg *admin, const char *db, const char *newdb, const char *aside, int exists,
		   const struct ado_db_restore_opts *o, struct ado_err *e)
{
	struct ado_err oe;
	size_t nsess = 0;

	if (!exists) {
		ado_sayf(o->say, o->say_arg, "database '%s' does not exist: nothing to move aside", db);
		return ado_pg_rename_database(admin, newdb, db, e);
	}
	ado_err_clear(&oe);
	if (ado_pg_copy_database_owner(admin, db, newdb, &oe) < 0)
		ado_warn("restored database '%s' keeps its owner: %s", newdb, oe.msg);
	if (!o->force && blocking_sessions(admin, db, &nsess, e) != 0)
		return -1;
	/* with --force, a connection pool may reconnect between the
	 * terminate and the rename: terminate again, a few times */
	for (int attempt = 0;; attempt++) {
		if (o->force) {
			if (blocking_sessions(admin, db, &nsess, e) < 0)
				return -1;
			if (nsess) {
				ado_sayf(o->say, o->say_arg, "terminating %zu session%s on '%s'", nsess, nsess == 1 ? "" : "s", db);
				if (ado_pg_terminate_sessions(admin, db, e) < 0)
					return -1;
			}
			if (e)
				ado_err_clear(e);
		}
		if (ado_pg_rename_database(admin, db, aside, e) == 0)
			break;
		if (!o->force || attempt == 4 || !e || !strstr(e->msg, "being accessed by other users") ||
		    ado_interrupted())
			return -1;
	}
	ado_sayf(o->say, o->say_arg, "moved '%s' aside to '%s'", db, aside);
	if (ado_pg_rename_database(admin, newdb, db, e) < 0) {
		struct ado_err be;
		ado_err_clear(&be);
		/* put the original back under its name before anything else */
		if (ado_pg_rename_database(admin, aside, db, &be) < 0) {
			ado_err_prefix(e, "'%s' is now named '%s' (renaming it back failed too: %s)", db, aside, be.msg);
			ado_err_hint(e, "ALTER DATABASE \"%s\" RENAME TO \"%s\" by hand", aside, db);
		} else {
			ado_sayf(o->say, o->say_arg, "moved '%s' back to '%s'", aside, db);
		}
		return -1;
	}
	if (o->aside_out)
		snprintf(o->aside_out, o->aside_len, "%s", aside);
	return 0;
}

int ado_db_target_prepare(struct ado_pg *admin, const char *db, const char *newdb, const struct ado_db_restore_opts *o,
			  char *aside, size_t alen, int *exists, struct ado_err *e)
{
	int leftover;

	*exists = 0;
	aside[0] = '\0';
	if (o->to_database) {
		int have = ado_pg_database_exists(admin, newdb, e);
		if (have < 0)
			return -1;
		if (have) {
			ado_err_set(e, ADO_E_EXISTS, 0, "database '%s' already exists", newdb);
			return ado_err_hint(e, "--to-database wants a new name: pick another, or drop '%s' if it is a "
					    "restore you no longer need", newdb);
		}
		return 0;
	}
	if (ado_db_swap_prepare(admin, db, o, aside, alen, exists, e) < 0)
		return -1;
	if ((leftover = ado_pg_database_exists(admin, newdb, e)) < 0)
		return -1;
	if (leftover && o->dry_run) {
		ado_sayf(o->say, o->say_arg, "would drop '%s', left by an interrupted restore", newdb);
	} else if (leftover) {
		/* our own name pattern: a restore killed earlier left it */
		ado_sayf(o->say, o->say_arg, "dropping '%s', left by an interrupted restore", newdb);
		if (ado_pg_drop_database(admin, newdb, e) < 0)
			return -1;
	}
	return 0;
}

int ado_db_target_plan(struct ado_pg *admin, const char *db, const char *newdb, const char *aside, int exists,
		       const struct ado_db_restore_opts *o, struct ado_err *e)
{
	size_t nsess = 0;

	if (o->to_database) {
		ado_sayf(o->say, o->say_arg, "would leave '%s' as it is", db);
	} else if (exists) {
		if (blocking_sessions(admin, db, &nsess, e) < 0)
			return -1;
		if (nsess)
			ado_sayf(o->say, o->say_arg, "%s", e->msg);
		if (nsess)
			ado_sayf(o->say, o->say_arg, o->force ? "would terminate %zu session%s on '%s'"
					: "would stop here: %zu session%s on '%s' (--force terminates them)",
			    nsess, nsess == 1 ? "" : "s", db);
		if (!o->force)
			ado_sayf(o->say, o->say_arg, "would stop here: replacing '%s' needs --force", db);
		ado_sayf(o->say, o->say_arg, "would move '%s' aside to '%s'", db, aside);
		ado_sayf(o->say, o->say_arg, "would rename '%s' to '%s'", newdb, db);
	} else {
		ado_sayf(o->say, o->say_arg, "'%s' does not exist: would rename '%s' to '%s'", db, newdb, db);
	}
	ado_sayf(o->say, o->say_arg, "dry run: nothing changed");
	if (e)
		ado_err_clear(e);
	return 0;
}

int ado_db_target_finish(struct ado_pg *admin, const char *db, const char *newdb, const char *aside, int exists,
			 const struct ado_db_restore_opts *o, struct ado_err *e)
{
	if (o->to_database) {
		ado_sayf(o->say, o->say_arg, "restored into '%s'; '%s' is unchanged", newdb, db);
		return 0;
	}
	if (ado_db_swap_in(admin, db, newdb, aside, exists, o, e) < 0)
		return -1;
	ado_sayf(o->say, o->say_arg, "'%s' is now the restored database%s%s%s", db, exists ? " (the previous one is '" : "",
	    exists ? aside : "", exists ? "')" : "");
	return 0;
}

void ado_db_drop_unfinished(struct ado_pg *admin, const char *db, const char *newdb, const struct ado_db_restore_opts *o)
{
	struct ado_err de;

	ado_err_clear(&de);
	if (ado_pg_drop_database(admin, newdb, &de) < 0) {
		ado_warn("cannot drop unfinished database '%s': %s", newdb, de.msg);
		ado_hint("drop it by hand: dropdb '%s'", newdb);
	} else {
		ado_sayf(o->say, o->say_arg, "dropped the unfinished database '%s'; '%s' is untouched", newdb, db);
	}
}

int ado_db_check_name(const struct ado_db_restore_opts *o, struct ado_err *e)
{
	if (o->to_database && (strlen(o->to_database) > PG_NAME_MAX || !*o->to_database))
		return ado_err_set(e, ADO_E_USAGE, 0, "--to-database: '%s' is not a database name PostgreSQL keeps "
				   "(1 to %d bytes)", o->to_database, PG_NAME_MAX);
	return 0;
}

int ado_pg_restore_artifact(const struct ado_config *cfg, struct ado_store *s, const struct ado_manifest *m,
			    const struct ado_artifact *a, struct ado_keyring *k, const struct ado_db_restore_opts *o,
			    struct ado_err *e)
{
	struct ado_pg_restore_opts ro = { 0 };
	struct ado_pg *admin = NULL;
	const char *db = a->source;
	char newdb[PG_NAME_MAX + 1], aside[PG_NAME_MAX + 8], which[600], **subset = NULL;
	size_t checked = 0;
	int created = 0, exists = 0, rc = -1;

	if (!db || !*db)
		return ado_err_set(e, ADO_E_FORMAT, 0, "artifact '%s' names no database", a->name);
	if (o->ntables && !o->to_database) {
		ado_err_set(e, ADO_E_USAGE, 0, "--tables restores a subset: it cannot replace database '%s'", db);
		return ado_err_hint(e, "add --to-database NAME and copy the rows you need from there");
	}
	if (ado_db_check_name(o, e) < 0)
		return -1;
	if (o->ntables && resolve_subset(a, o->tables, o->ntables, &subset, e) < 0)
		return -1;
	ado_restore_describe(s, m, which, sizeof(which));
	/* the work database is named by the backup's id: a restore killed
	 * earlier left it under that name, and this one may drop it */
	if (o->to_database)
		snprintf(newdb, sizeof(newdb), "%s", o->to_database);
	else
		ado_db_derived_name(newdb, sizeof(newdb), db, "restore", m->id);
	if (ado_db_connect_admin(cfg, db, NULL, &admin, e) < 0)
		goto out;
	/* a backup of some tables never stands for the whole database */
	if (!o->to_database && !a->whole_database && a->ntables > 0) {
		rc = ado_db_restore_tables_in_place(admin, db, s, m, a, k, o, which, e);
		goto out;
	}
	if (ado_db_target_prepare(admin, db, newdb, o, aside, sizeof(aside), &exists, e) < 0)
		goto out;
	if (o->dry_run) {
		ado_sayf(o->say, o->say_arg, "would restore '%s' (%llu bytes) from %s into new database '%s'%s", a->name,
		    (unsigned long long)a->plain_size, which, newdb, o->jobs > 1 ? " with a temporary file and pg_restore -j" : "");
		ado_sayf(o->say, o->say_arg, "would check %zu table%s: row counts against the backup", o->ntables ? o->ntables : a->ntables,
		    (o->ntables ? o->ntables : a->ntables) == 1 ? "" : "s");
		rc = ado_db_target_plan(admin, db, newdb, aside, exists, o, e);
		goto out;
	}

	ado_sayf(o->say, o->say_arg, "restoring '%s' from %s into new database '%s'", a->name, which, newdb);
	if (ado_pg_create_database(admin, newdb, e) < 0) {
		ado_db_create_hint(e);
		goto out;
	}
	created = 1;
	if (ado_db_prepare_schemas(admin, newdb, a, e) < 0)
		goto out;
	ro.jobs = o->jobs;
	ro.no_owner = 0;	/* onto its own server: the roles exist, keep owners and grants */
	ro.tables = subset;
	ro.ntables = o->ntables;
	if (ado_db_restore_into(admin, newdb, s, m, a, k, &ro, o->tmp_dir, e) < 0)
		goto out;
	if (ado_db_check_database(admin, newdb, a, subset, o->ntables, 0, &checked, e) < 0)
		goto out;
	ado_sayf(o->say, o->say_arg, "checked %zu table%s: row counts match the backup", checked, checked == 1 ? "" : "s");
	if (ado_db_target_finish(admin, db, newdb, aside, exists, o, e) < 0)
		goto out;
	created = 0;	/* swapped in, or kept under --to-database as asked */
	rc = 0;
out:
	if (created && admin)
		ado_db_drop_unfinished(admin, db, newdb, o);
	ado_pg_free(admin);
	free(subset);
	return rc;
}
