/* internal.h - what the files of lib/source/pg share, private to the folder:
 * nothing outside lib/source/pg includes it (pg.h is the public face).
 * struct ado_pg itself, the query helpers (connect.c), the table lookup
 * (tables.c), and finding and spawning pg_dump / pg_restore (tools.c). A
 * helper only one file uses stays static in that file. */
#ifndef ADO_PG_INTERNAL_H
#define ADO_PG_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include "source/pg/pg.h"

struct ado_pg {
	PGconn *conn;
	char *dbname;
	char version[32];	/* "15.18" */
	int vnum;		/* PQserverVersion: 150018 */
	/* Row counts sent by ado_pg_count_send and not yet collected: while
	 * they run the connection is busy, and results arrive in table order. */
	struct ado_pg_snapshot *counting;
	size_t counted;		/* results taken so far */
	int count_state;	/* COUNT_IDLE, COUNT_RUNNING, COUNT_DONE, COUNT_FAILED */
	int busy;		/* results (or the end of them) still to read */
	struct ado_err count_err;	/* the first failure, for COUNT_FAILED */
};

enum { COUNT_IDLE, COUNT_RUNNING, COUNT_DONE, COUNT_FAILED };

/* --- connect.c: queries --- */

/* A PQserverVersion number as text: "15.18" (10 and later), "9.6.24". */
void ado_pg_i_version_text(int vnum, char *buf, size_t len);
/* Fill e from a failed result (res NULL: from the connection's error):
 * "cannot WHAT in database 'X': <the server's first line>", ADO_E_DB, or
 * ADO_E_EXISTS / ADO_E_NOTFOUND for a duplicate / missing database, with a
 * hint for a missing privilege or a lost connection. Returns -1. */
int ado_pg_i_set_db_error(struct ado_pg *pg, const PGresult *res, const char *what, struct ado_err *e);
/* Run a statement; returns the result (caller PQclear) or NULL with e set. */
PGresult *ado_pg_i_query(struct ado_pg *pg, const char *what, struct ado_err *e, const char *sql, int nparams,
			 const char *const *params);
/* Run a statement whose result is not wanted: 0, or -1 with e set. */
int ado_pg_i_command(struct ado_pg *pg, const char *what, struct ado_err *e, const char *sql);

/* --- tables.c: table names --- */

/* Ordinary tables pg_dump dumps with a whole database: every non-system
 * schema, no extension members (pg_dump leaves their data to the extension). */
#define USER_TABLES_WHERE \
	"c.relkind = 'r' AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema'" \
	" AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'" \
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass" \
	" AND d.objid = c.oid AND d.deptype = 'e')"

/* Look up one relation: $1 the quoted qualified name, or NULL and then $2
 * the schema (NULL: through the search_path) and $3 the table. No row when
 * it does not exist; else nspname, relname, relkind, SELECT privilege. */
extern const char ado_pg_i_resolve_sql[];
/* Fill t->name ("s"."t") and t->display (s.t) from catalog names. */
int ado_pg_i_table_names(struct ado_pg *pg, const char *nsp, const char *rel, struct ado_pg_table *t,
			 struct ado_err *e);
/* Resolve the n configured names into t[0..n-1] (the caller's zeroed array,
 * which the caller frees, on failure too), or every table of the whole
 * database into a new array *out of *nout. Errors as ado_pg_snapshot_begin's. */
int ado_pg_i_resolve_listed(struct ado_pg *pg, char *const *names, size_t n, struct ado_pg_table *t,
			    struct ado_err *e);
int ado_pg_i_resolve_all(struct ado_pg *pg, struct ado_pg_table **out, size_t *nout, struct ado_err *e);

/* --- tools.c: pg_dump and pg_restore --- */

/* posix_spawn with stdin from in_fd (or /dev/null), stdout to out_fd (or
 * inherited), stderr inherited, every other descriptor closed, and the
 * signals a tool may ignore or block back to their defaults. envp NULL:
 * ours. ADO_E_CHILD when it cannot start. */
int ado_pg_i_spawn(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd, pid_t *pid,
		   struct ado_err *e);
/* ado_pg_dump_find / ado_pg_restore_find for `tool`, overridden by $envname. */
int ado_pg_i_find_tool(struct ado_pg *pg, const char *tool, const char *envname, char **path, char **version,
		       struct ado_err *e);

/* The child's environment: ours without any libpq variable, plus one
 * variable per connection option pg actually used (PGHOST, PGPORT, PGUSER,
 * PGPASSWORD, PGSSLMODE, ...) and PGDATABASE=dbname. The password thus
 * reaches the child without ever being in an argv. NULL with e when out of
 * memory. Free with ado_pg_i_env_free, which wipes the password. */
char **ado_pg_i_child_env(struct ado_pg *pg, const char *dbname, struct ado_err *e);
void ado_pg_i_env_free(char **env);
/* -d "dbname='x'": a plain name containing '=' would be read as a conninfo.
 * A new string, NULL when out of memory. */
char *ado_pg_i_dbname_arg(const char *dbname);

/* A growing NULL-terminated argv of copies; after a failed add, `failed` is
 * set and further adds do nothing. Start from { 0 }; free with ado_pg_i_arg_free. */
struct argv_buf {
	char **v;
	size_t n, cap;
	int failed;
};
void ado_pg_i_arg_add(struct argv_buf *a, const char *s);
void ado_pg_i_arg_free(struct argv_buf *a);

#endif
