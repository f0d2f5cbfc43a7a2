/* pg.h - PostgreSQL through libpq, pg_dump and pg_restore.
 *
 * lib/source/pg is the database source: it backs up one database (snapshot,
 * pg_dump, row counts) and restores one (pg_restore, database administration,
 * count checks). pg.h is all it shows the rest of lib/; its files (connect.c,
 * tables.c, snapshot.c, tools.c, admin.c, restore.c) share the rest through
 * internal.h, which nothing outside the folder includes. It includes from
 * lib/ only base/, config/ and io/: folders include only downward,
 * base <- config <- io <- format/source/store/net <- notify/job <- recover <- tools.
 *
 * One struct ado_pg owns one PGconn. Everything that needs the server (table
 * lookups, the exported snapshot, row counts, CREATE/DROP/RENAME DATABASE,
 * pg_stat_activity) goes through libpq; the dump itself is pg_dump's custom
 * format (-Fc -Z0: our chain compresses), read from pg_dump's stdout, and a
 * restore feeds pg_restore's stdin (or hands it a file for -j N).
 *
 * Connection parameters reach pg_dump / pg_restore through the CHILD's
 * environment only (PGHOST, PGPORT, PGUSER, PGPASSWORD, ... taken from the
 * live connection with PQconninfo), never through argv, which ps shows.
 * pg_dump's and pg_restore's stderr is inherited: their own messages reach
 * the operator unchanged.
 *
 * Table names. A table as written in the config (`tables:`) is parsed as
 * [SCHEMA.]TABLE where each part is either a double-quoted identifier
 * ("" inside means one ") or a raw run of characters taken verbatim: no case
 * folding, spaces and unicode allowed, so `Mixed Case` is the table named
 * exactly that. An unquoted dot separates schema and table; a table whose
 * name holds a dot must be quoted: `"my.table"` or `public."my.table"`.
 * Without a schema the table is looked up through the search_path, as psql
 * would. Each table then has two spellings (struct ado_pg_table): `name`,
 * the quoted qualified form pg_dump -t wants ("public"."Mixed Case"), and
 * `display`, schema.table unquoted, for manifests and messages
 * (public.Mixed Case). A display name is split back at its FIRST dot, so
 * schemas whose names contain a dot are not supported.
 *
 * Errors: connection and SQL failures are ADO_E_DB, a missing table or
 * database ADO_E_NOTFOUND, a missing or too old pg_dump ADO_E_CONFIG, a child
 * that exits non-zero ADO_E_CHILD, a row count that differs ADO_E_INTEGRITY.
 * Messages name the database (and host for connections) and never contain a
 * password. */
#ifndef ADO_PG_H
#define ADO_PG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "base/error.h"
#include "io/io.h"

struct ado_pg;

/* Connect to database `dbname`. The conninfo comes from cfg's databases:
 * entry for dbname if there is one (cfg may be NULL), with dbname forced to
 * `dbname`; with none, just dbname=NAME and libpq's own PG* environment and
 * ~/.pgpass. The entry's password reference, if any, is resolved with
 * ado_secret_resolve and given to libpq as the "password" keyword (never on a
 * command line, never in a message), and wiped afterwards.
 * fallback_application_name is "ado-dr"; connect_timeout is 10 s unless the
 * conninfo or PGCONNECT_TIMEOUT says otherwise.
 * Failure: -1 with ADO_E_DB "cannot connect to database 'X' on HOST:PORT:
 * <libpq's first line>" and a hint for an unreachable server, a failed or
 * missing password, and a missing database (an unresolvable password
 * reference is the ADO_E_CONFIG of ado_secret_resolve). */
int ado_pg_connect(const struct ado_config *cfg, const char *dbname, struct ado_pg **out, struct ado_err *e);

/* Same with an explicit conninfo (NULL or "" for none: PG* environment only;
 * a postgres:// URI works too) and no password reference. dbname, when not
 * NULL, overrides the conninfo's dbname; with dbname NULL the conninfo's (or
 * PGDATABASE's) is used. For --scratch-db CONNINFO and tests. */
int ado_pg_connect_conninfo(const char *conninfo, const char *dbname, struct ado_pg **out, struct ado_err *e);

/* Like ado_pg_connect_conninfo, but reusing the connection parameters of an
 * existing connection (host, port, user, password, sslmode, ...) for another
 * database: e.g. from the maintenance connection to "postgres" into the
 * freshly restored temporary database. */
int ado_pg_connect_like(struct ado_pg *pg, const char *dbname, struct ado_pg **out, struct ado_err *e);

/* Connect to the maintenance database `maint` (NULL: "postgres") of the
 * server that the databases: entry of `dbname` points at (its conninfo and
 * password, with the database replaced by maint; with no entry, PG*
 * environment and ~/.pgpass). For restores, where `dbname` itself may be
 * gone, and CREATE/DROP/RENAME DATABASE, which cannot run inside the
 * database they change. Errors as ado_pg_connect. (Added in issue 3, phase 2.) */
int ado_pg_connect_server(const struct ado_config *cfg, const char *dbname, const char *maint, struct ado_pg **out,
			  struct ado_err *e);

/* 1 if the conninfo (key=value or URI) names a database, else 0 (also for
 * NULL, "" or a conninfo that does not parse). (Added in issue 3, phase 2.) */
int ado_pg_conninfo_has_dbname(const char *conninfo);

/* Closes the connection (a still open snapshot transaction is rolled back by
 * the server). Accepts NULL. */
void ado_pg_free(struct ado_pg *pg);

/* The connected database's name (owned by pg). */
const char *ado_pg_dbname(struct ado_pg *pg);
/* "15.18" (owned by pg). */
const char *ado_pg_server_version(struct ado_pg *pg);
/* 15 for 15.18; 9 for 9.6 (not supported beyond the version string). */
int ado_pg_server_major(struct ado_pg *pg);

/* --- backup: a consistent snapshot ---
 * Opens BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY, exports its snapshot
 * (pg_export_snapshot()), resolves each listed table (see the naming rules
 * above; ntables == 0 means the whole database: every ordinary table in every
 * non-system schema that is not an extension's member), checks SELECT
 * privilege, and counts each table's rows in that same snapshot, so the
 * counts are exactly the rows pg_dump --snapshot will write. The transaction
 * stays open until ado_pg_snapshot_end(): pg_dump needs the exporting
 * transaction alive for as long as it starts up, so end it only after
 * ado_pg_child_wait() of the dump.
 * Errors: ADO_E_NOTFOUND "table 'a', 'b' not found in database 'X'" naming
 * every missing table; ADO_E_CONFIG for a name that does not parse or is not
 * a table (a view...); ADO_E_DB "permission denied for table 'public.t' in
 * database 'X'" with a GRANT SELECT hint; ADO_E_DB for anything else. On
 * failure the transaction is rolled back and *out is left NULL.
 * It is ado_pg_snapshot_open + ado_pg_count_send + ado_pg_count_finish
 * (below), so the tables stay locked IN ACCESS SHARE MODE until the end too;
 * a backup uses those three itself, to run the counts beside pg_dump. */
struct ado_pg_table {
	char *name;	/* qualified, quoted, as pg_dump -t wants it: "public"."Mixed Case" */
	char *display;	/* schema.table unquoted, for manifests and messages: public.Mixed Case */
	int64_t rows;
};

struct ado_pg_snapshot {
	char *id;	/* pg_export_snapshot()'s result, for pg_dump --snapshot */
	struct ado_pg_table *tables;	/* in the order listed; whole database: by schema, table */
	size_t ntables;
	int whole_db;
};

int ado_pg_snapshot_begin(struct ado_pg *pg, char *const *tables, size_t ntables, struct ado_pg_snapshot **out,
			  struct ado_err *e);
/* COMMIT the snapshot transaction (ROLLBACK if it is in an error state) and
 * free s. Accepts s == NULL (then only ends any open transaction). */
void ado_pg_snapshot_end(struct ado_pg *pg, struct ado_pg_snapshot *s);
/* Free a table array as returned in a snapshot (for callers that copy). */
void ado_pg_tables_free(struct ado_pg_table *t, size_t n);

/* --- pg_dump / pg_restore binaries ---
 * Which pg_dump: $ADO_PG_DUMP if set (and nothing else); else `pg_dump` on
 * PATH unless it is Debian's pg_wrapper or older than the server, in which
 * case the newest /usr/lib/postgresql/N/bin/pg_dump with N >= the server's
 * major wins (then pg_wrapper as the last resort). *path and *version
 * ("15.18") are new strings the caller frees.
 * Errors (ADO_E_CONFIG): "pg_dump not found" / "cannot run pg_dump
 * '/x'" (hint: install postgresql-client-N or set ADO_PG_DUMP), "pg_dump
 * 14.0 is older than the server 15.18" (same hint). */
int ado_pg_dump_find(struct ado_pg *pg, char **path, char **version, struct ado_err *e);
/* The same for pg_restore ($ADO_PG_RESTORE, PATH, /usr/lib/postgresql);
 * a pg_restore older than the server is refused too. */
int ado_pg_restore_find(struct ado_pg *pg, char **path, char **version, struct ado_err *e);

/* Spawn `PG_DUMP -Fc -Z0 --no-password --snapshot=ID [-t NAME ...]`
 * connected like pg (the connection travels in the child's environment).
 * With whole_db set, or a snapshot without tables, no -t is given.
 * Returns the child's pid and a readable fd (close-on-exec, owned by the
 * caller) carrying the dump; stdin is /dev/null, stderr is inherited. The
 * caller reads fd to its end, closes it, then calls ado_pg_child_wait(pid,
 * "pg_dump for database 'X'", e), then ado_pg_snapshot_end().
 * Errors: ADO_E_CHILD (spawn failed), ADO_E_NOMEM. */
int ado_pg_dump_spawn(struct ado_pg *pg, const char *pg_dump, const struct ado_pg_snapshot *s, int whole_db,
		      pid_t *pid, int *fd, struct ado_err *e);

/* Wait for a child (retrying on EINTR). `what` is "TOOL[ CONTEXT]", e.g.
 * "pg_dump for database 'ado_primary'"; a non-zero exit gives ADO_E_CHILD
 * "pg_dump failed for database 'ado_primary' (exit 1)", a signal
 * "... (killed by signal 9)", both with a hint to read the tool's own
 * messages above. 0 on a clean exit. When the run is interrupted
 * (ado_interrupted(), base/sig.h) before or while waiting, the child is sent
 * SIGTERM, reaped, and the result is ADO_E_INTERRUPTED "WHAT interrupted by
 * signal N" unless it had already finished cleanly. */
int ado_pg_child_wait(pid_t pid, const char *what, struct ado_err *e);

/* --- restore side (pg connected to a maintenance database, e.g. postgres) --- */

/* CREATE DATABASE "name" TEMPLATE template0 (template0: pg_dump's own advice,
 * nothing of template1 collides with the dump's objects). Exists: ADO_E_EXISTS. */
int ado_pg_create_database(struct ado_pg *pg, const char *name, struct ado_err *e);
/* DROP DATABASE IF EXISTS "name", WITH (FORCE) on 13+ so leftover sessions of
 * our own temporary database do not block it. Never call it on a database
 * the user owns: the restore path renames those aside instead. */
int ado_pg_drop_database(struct ado_pg *pg, const char *name, struct ado_err *e);
/* ALTER DATABASE "from" RENAME TO "to". Sessions connected to `from` make it
 * fail (ADO_E_DB with a hint naming ado_pg_sessions' view); a missing `from`
 * is ADO_E_NOTFOUND, an existing `to` ADO_E_EXISTS. */
int ado_pg_rename_database(struct ado_pg *pg, const char *from, const char *to, struct ado_err *e);
/* 1 if it exists, 0 if not, -1 with e on error. */
int ado_pg_database_exists(struct ado_pg *pg, const char *name, struct ado_err *e);
/* The same for a schema of pg's database. */
int ado_pg_schema_exists(struct ado_pg *pg, const char *name, struct ado_err *e);

/* ALTER DATABASE "to" OWNER TO the owner of "from": a restored database is
 * created by the restoring role, the one it replaces may belong to another.
 * Missing `from`: ADO_E_NOTFOUND; no privilege: ADO_E_DB. (Added in issue 3,
 * phase 2.) */
int ado_pg_copy_database_owner(struct ado_pg *pg, const char *from, const char *to, struct ado_err *e);

/* CREATE SCHEMA IF NOT EXISTS for the schema of each table (display names:
 * the part before the first dot; "public" is skipped). A listed-tables dump
 * (pg_dump -t) carries no CREATE SCHEMA, so restoring one into a fresh
 * database needs this first, with pg connected to that database. */
int ado_pg_create_schemas(struct ado_pg *pg_in_db, const struct ado_pg_table *tables, size_t n, struct ado_err *e);

/* Client sessions connected to db other than pg's own (pg_stat_activity,
 * backend_type 'client backend'). Strings are "" when not visible (another
 * role's session without pg_read_all_stats) or empty (client "" = a Unix
 * socket). *out is a new array freed with ado_pg_sessions_free. */
struct ado_pg_session {
	int pid;
	char *user, *application, *client;
};
int ado_pg_sessions(struct ado_pg *pg, const char *db, struct ado_pg_session **out, size_t *n, struct ado_err *e);
void ado_pg_sessions_free(struct ado_pg_session *s, size_t n);
/* pg_terminate_backend() every other session on db and wait (up to 10 s)
 * until they are gone. A session that cannot be terminated (privilege) or
 * outlives the wait: ADO_E_DB naming its pid. */
int ado_pg_terminate_sessions(struct ado_pg *pg, const char *db, struct ado_err *e);

/* pg_restore options.
 *   jobs      > 1: -j N; only with `file` (pg_restore cannot run parallel
 *             from a pipe): ado_pg_restore_writer_new refuses it (ADO_E_USAGE).
 *   no_owner  1: --no-owner --no-privileges (test restores, other servers
 *             whose roles differ); 0: keep owners and grants (a real restore
 *             onto the original server, where the roles exist).
 *   tables    display names (schema.table); each becomes -n SCHEMA -t TABLE.
 *             pg_restore's -t restores the table's definition and data only,
 *             without indexes or other dependent objects, and -n/-t combine
 *             as a cross product: a documented pg_restore limit.
 *   file      ado_pg_restore_file only: the dump's path.
 *   list      -L LIST: restore only the TOC entries LIST names (pg_restore -l's format).
 *   script    -f SCRIPT instead of -d: write the SQL pg_restore would run
 *             (COPY data included) to SCRIPT, touching no database.
 *   toc       -l: write the dump's table of contents (pg_restore -L's
 *             format) to `script` instead (ado_pg_restore_file only).
 */
struct ado_pg_restore_opts {
	int jobs;
	int no_owner;
	char *const *tables;
	size_t ntables;
	const char *file;
	const char *list;
	const char *script;
	int toc;
};
/* Run `psql --no-psqlrc --single-transaction -v ON_ERROR_STOP=1 -f F...`
 * on dbname, connected like pg (environment only, as pg_restore): the files
 * run as ONE transaction, and any error rolls all of it back. psql is found
 * like pg_restore ($ADO_PSQL, PATH, /usr/lib/postgresql). Its stderr is
 * inherited; a failure is ADO_E_CHILD "psql failed for database 'X'". */
int ado_pg_psql_files(struct ado_pg *pg, const char *dbname, const char *const *files, size_t n, struct ado_err *e);

/* A sink that spawns `PG_RESTORE --no-password --exit-on-error [--no-owner
 * --no-privileges] [-n S -t T ...] -d dbname='X'` connected like
 * pg_conn_params_from (its host, user, password... with the database
 * replaced by dbname) and writes the dump into its stdin. Close waits for it
 * and reports its failure (ADO_E_CHILD "pg_restore failed for database 'X'
 * (exit 1)"; its stderr is inherited). Freeing it unclosed kills the child
 * (SIGTERM) and reaps it. A pg_restore that dies while we write gives
 * ADO_E_CHILD too (SIGPIPE is blocked around the write, not ignored
 * process-wide). o may be NULL (defaults: no_owner 0). */
struct ado_writer *ado_pg_restore_writer_new(struct ado_pg *pg_conn_params_from, const char *dbname,
					     const struct ado_pg_restore_opts *o, struct ado_err *e);
/* The same from o->file (required) with -j o->jobs; waits for the end. */
int ado_pg_restore_file(struct ado_pg *pg, const char *dbname, const struct ado_pg_restore_opts *o, struct ado_err *e);

/* Count the rows of each expected table in pg's database and compare with
 * expected[i].rows. A table is found by expected[i].name (quoted) when set,
 * else by its display name (split at the first dot). Every difference is
 * collected into one ADO_E_INTEGRITY message, e.g. "database 'X': table
 * 'public.users': 99 rows, backup recorded 100; table 'public.t' missing".
 * ADO_E_DB for a query failure. */
int ado_pg_check_counts(struct ado_pg *pg_in_db, const struct ado_pg_table *expected, size_t n, struct ado_err *e);
/* Number of user tables (the whole-database rule above), for --min-tables. */
int ado_pg_count_tables(struct ado_pg *pg, long *n, struct ado_err *e);

/* Parse a configured table name by the rules above into schema (NULL when not
 * given) and table, both new strings. ADO_E_CONFIG on an unterminated quote,
 * an empty part or more than two parts. Exposed for tests and config checks. */
int ado_pg_parse_table(const char *raw, char **schema, char **table, struct ado_err *e);

/* --- backup: the row counts beside the dump (added in issue 3, performance) ---
 * ado_pg_snapshot_begin counts every table before returning, so a dump
 * spawned after it waits for the counts. These split it: open the snapshot
 * (every check that can refuse a backup happens here, before pg_dump
 * starts), spawn pg_dump on it, send the counts, pump the dump through
 * ado_pg_count_reader_new, then collect them with ado_pg_count_finish. The
 * counts run on the server in the snapshot transaction, so they still equal
 * the rows pg_dump --snapshot writes.
 *
 * ado_pg_snapshot_open: ado_pg_snapshot_begin without the counts (rows are
 * -1): BEGIN, export, resolve each table, check SELECT, and LOCK TABLE ONLY
 * every table IN ACCESS SHARE MODE until ado_pg_snapshot_end, so that no
 * TRUNCATE or rewrite lands between the counts and the dump. Errors as
 * ado_pg_snapshot_begin. */
int ado_pg_snapshot_open(struct ado_pg *pg, char *const *tables, size_t ntables, struct ado_pg_snapshot **out,
			 struct ado_err *e);
/* Send SELECT count(*) FROM ONLY t for every table of s, without waiting.
 * s must be pg's open snapshot and outlive the counts; its rows are set to
 * -1 and filled as results come. Until ado_pg_count_finish (or
 * ado_pg_snapshot_end, which cancels counts still running) pg's connection
 * is busy: call no other function that queries through pg.
 * Errors: ADO_E_INTERNAL (counts already running, no open transaction),
 * ADO_E_DB (the send failed), ADO_E_NOMEM. */
int ado_pg_count_send(struct ado_pg *pg, struct ado_pg_snapshot *s, struct ado_err *e);
/* Take whatever results have arrived, never blocking: 1 when every count is
 * in, 0 while some run, -1 with e when a count failed (ADO_E_DB "cannot
 * count the rows of table 'public.t' in database 'X': ...") or none was sent
 * (ADO_E_INTERNAL). */
int ado_pg_count_poll(struct ado_pg *pg, struct ado_err *e);
/* Wait for every count (rows then filled in s) and free the connection: 0,
 * or -1 with the count's error as ado_pg_count_poll. When the run is
 * interrupted (ado_interrupted()) while waiting, the counts are cancelled:
 * ADO_E_INTERRUPTED "row counts in database 'X' interrupted by signal N". */
int ado_pg_count_finish(struct ado_pg *pg, struct ado_err *e);
/* A reader passing `inner` (the dump's fd reader; owned, freed with it, even
 * when this fails) through unchanged while polling pg's counts after each
 * read: their results are taken as they come, and a failed count fails the
 * read with the count's error, ending the dump early. */
struct ado_reader *ado_pg_count_reader_new(struct ado_pg *pg, struct ado_reader *inner, struct ado_err *e);

/* --- a dump's table of contents and its foreign keys (added in issue 8) ---
 * ado_pg_toc_read runs pg_restore -l on the dump FILE (custom format) and
 * keeps every line; for each FK CONSTRAINT entry it also reads the key's
 * name, its table and the table it references (display names, schema.table)
 * from the SQL pg_restore -f writes for those entries alone. The entries'
 * order is the TOC's. Intermediate files are 0600 in tmp_dir (NULL:
 * $TMPDIR, else /tmp) and removed on every path. Errors: pg_restore's
 * (ADO_E_CHILD, ADO_E_CONFIG), ADO_E_IO, ADO_E_FORMAT when a key's SQL does
 * not read as ALTER TABLE T ADD CONSTRAINT N FOREIGN KEY (...) REFERENCES R.
 * Used to leave out the keys that point outside a partial dump (verify) or
 * to add every part's keys after all parts' data (a multi-job restore). */
struct ado_pg_fkey {
	size_t line;		/* index into lines */
	char *name, *table, *references;
};
struct ado_pg_toc {
	char **lines;
	size_t nlines;
	struct ado_pg_fkey *fkeys;
	size_t nfkeys;
};
int ado_pg_toc_read(struct ado_pg *pg, const char *file, const char *tmp_dir, struct ado_pg_toc **out,
		    struct ado_err *e);
/* Write a pg_restore -L list to path (created 0600, or truncated): every
 * entry (ADO_PG_TOC_ALL), all but the foreign keys (ADO_PG_TOC_NO_FKEYS), or
 * the foreign keys only (ADO_PG_TOC_FKEYS); a key whose skip[i] is set is
 * left out in every mode (skip may be NULL). ADO_E_IO on a write error. */
enum { ADO_PG_TOC_ALL, ADO_PG_TOC_NO_FKEYS, ADO_PG_TOC_FKEYS };
int ado_pg_toc_write(const struct ado_pg_toc *t, int mode, const unsigned char *skip, const char *path,
		     struct ado_err *e);
/* Accepts NULL. */
void ado_pg_toc_free(struct ado_pg_toc *t);
/* A new 0600 empty file TAG-XXXXXX in tmp_dir (NULL or "": $TMPDIR, else
 * /tmp); its name in path. ADO_E_IO when it cannot be made. */
int ado_pg_tmp_file(const char *tmp_dir, const char *tag, char *path, size_t len, struct ado_err *e);

/* --- one statement (added in issue 11: read-only mode, drills) ---
 * Run sql (parameters $1.. from params) on pg's connection. `what` names the
 * action for the message ("set database 'X' read-only"): ADO_E_DB "cannot
 * WHAT in database 'X': <server's first line>" (ADO_E_NOTFOUND / ADO_E_EXISTS
 * as above). With value not NULL, *value is a new string holding the first
 * column of the first row, or NULL when there is no row or it is NULL. */
int ado_pg_exec(struct ado_pg *pg, const char *what, const char *sql, const char *const *params, int nparams,
		char **value, struct ado_err *e);

#endif
