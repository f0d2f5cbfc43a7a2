/* pg.c - PostgreSQL through libpq, pg_dump and pg_restore (see pg.h). */
#include "source/pg/pg.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/sig.h"

extern char **environ;

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

/* --- small helpers --- */

static char *xstrdup(const char *s, struct ado_err *e)
{
	char *d = strdup(s ? s : "");

	if (!d)
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	return d;
}

/* First line of a libpq message, without libpq's "connection to server at
 * ..., port N failed: " and "FATAL:  " prefixes: the message already names
 * the database and host. */
static void first_line(const char *msg, char *buf, size_t len)
{
	const char *p = msg ? msg : "";
	const char *f;
	size_t n;

	if (strncmp(p, "connection to server", 20) == 0 && (f = strstr(p, " failed: ")) && !memchr(p, '\n', f - p))
		p = f + 9;
	if (strncmp(p, "FATAL:  ", 8) == 0)
		p += 8;
	else if (strncmp(p, "ERROR:  ", 8) == 0)
		p += 8;
	n = strcspn(p, "\n");
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\r'))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

/* Major version key comparable across the 9.x and 10+ schemes: 1500, 906. */
static int major_key(int vnum)
{
	return vnum >= 100000 ? vnum / 10000 * 100 : vnum / 100;
}

static void version_text(int vnum, char *buf, size_t len)
{
	if (vnum >= 100000)
		snprintf(buf, len, "%d.%d", vnum / 10000, vnum % 10000);
	else
		snprintf(buf, len, "%d.%d.%d", vnum / 10000, vnum / 100 % 100, vnum % 100);
}

static int set_db_error(struct ado_pg *pg, const PGresult *res, const char *what, struct ado_err *e)
{
	char line[700];
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	enum ado_errkind kind = ADO_E_DB;

	first_line(res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res) : PQerrorMessage(pg->conn),
		   line, sizeof(line));
	if (state && strcmp(state, "42P04") == 0)	/* duplicate_database */
		kind = ADO_E_EXISTS;
	else if (state && strcmp(state, "3D000") == 0)	/* invalid_catalog_name */
		kind = ADO_E_NOTFOUND;
	ado_err_set(e, kind, 0, "cannot %s in database '%s': %s", what, pg->dbname, line);
	if (state && strcmp(state, "42501") == 0)	/* insufficient_privilege */
		ado_err_hint(e, "the role '%s' lacks a privilege this step needs: ask the database owner to grant it",
			     PQuser(pg->conn));
	else if (PQstatus(pg->conn) == CONNECTION_BAD)
		ado_err_hint(e, "the connection to the server was lost: check the server's log");
	return -1;
}

/* Run a statement; returns the result (caller PQclear) or NULL with e set. */
static PGresult *query(struct ado_pg *pg, const char *what, struct ado_err *e, const char *sql, int nparams,
		       const char *const *params)
{
	PGresult *res = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	set_db_error(pg, res, what, e);
	PQclear(res);
	return NULL;
}

static int command(struct ado_pg *pg, const char *what, struct ado_err *e, const char *sql)
{
	PGresult *res = query(pg, what, e, sql, 0, NULL);

	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

/* "CREATE DATABASE %s" with name quoted as an identifier. */
static int command_ident(struct ado_pg *pg, const char *what, struct ado_err *e, const char *fmt, const char *a,
			 const char *b)
{
	char *qa = PQescapeIdentifier(pg->conn, a, strlen(a));
	char *qb = b ? PQescapeIdentifier(pg->conn, b, strlen(b)) : NULL;
	char *sql = NULL;
	int rc = -1;

	if (!qa || (b && !qb)) {
		ado_err_set(e, ADO_E_DB, 0, "cannot quote '%s': %s", a, PQerrorMessage(pg->conn));
		goto out;
	}
	if ((b ? asprintf(&sql, fmt, qa, qb) : asprintf(&sql, fmt, qa)) < 0) {
		sql = NULL;
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	rc = command(pg, what, e, sql);
out:
	free(sql);
	PQfreemem(qa);
	PQfreemem(qb);
	return rc;
}

/* --- connect --- */

static void connect_hint(PGconn *conn, const char *msg, const char *dbname, const char *hostport,
			 struct ado_err *e)
{
	const char *user = PQuser(conn) ? PQuser(conn) : "?";

	if (strstr(msg, "password authentication failed") || strstr(msg, "SCRAM authentication"))
		ado_err_hint(e, "password authentication failed for user '%s': check password_file / password_env in "
			     "databases: '%s', PGPASSWORD or ~/.pgpass", user, dbname);
	else if (strstr(msg, "no password supplied"))
		ado_err_hint(e, "the server wants a password for user '%s': set password_file in databases: '%s', "
			     "PGPASSWORD or ~/.pgpass", user, dbname);
	else if (strstr(msg, "database \"") && strstr(msg, "does not exist"))
		ado_err_hint(e, "the database '%s' does not exist on %s: check the name in the config, or create it",
			     dbname, hostport);
	else if (strstr(msg, "role \"") && strstr(msg, "does not exist"))
		ado_err_hint(e, "check user= in the conninfo in databases: or PGUSER (libpq defaults to the OS user)");
	else if (strstr(msg, "pg_hba.conf"))
		ado_err_hint(e, "the server refuses this host/user/database: add a pg_hba.conf entry on the server");
	else if (strstr(msg, "Connection refused") || strstr(msg, "could not connect") || strstr(msg, "timeout") ||
		 strstr(msg, "translate host name") || strstr(msg, "No such file") || strstr(msg, "No route") ||
		 strstr(msg, "Network is unreachable"))
		ado_err_hint(e, "is the server running on %s? check PGHOST/PGPORT or the conninfo in databases:",
			     hostport);
}

static void notice_to_debug(void *arg, const char *msg)
{
	char line[700];

	(void)arg;
	first_line(msg, line, sizeof(line));
	ado_debug("server: %s", line);
}

static int finish_connect(PGconn *conn, const char *dbname_hint, struct ado_pg **out, struct ado_err *e)
{
	struct ado_pg *pg;
	char line[700], hostport[300];
	const char *db;

	if (!conn)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	db = PQdb(conn) && *PQdb(conn) ? PQdb(conn) : (dbname_hint ? dbname_hint : "?");
	if (PQstatus(conn) != CONNECTION_OK) {
		const char *h = PQhost(conn), *p = PQport(conn);
		first_line(PQerrorMessage(conn), line, sizeof(line));
		if (h && h[0] == '/')
			snprintf(hostport, sizeof(hostport), "socket %s port %s", h, p && *p ? p : "5432");
		else
			snprintf(hostport, sizeof(hostport), "%s:%s", h && *h ? h : "localhost", p && *p ? p : "5432");
		ado_err_set(e, ADO_E_DB, 0, "cannot connect to database '%s' on %s: %s", db, hostport, line);
		connect_hint(conn, PQerrorMessage(conn), db, hostport, e);
		PQfinish(conn);
		return -1;
	}
	pg = calloc(1, sizeof(*pg));
	if (!pg || !(pg->dbname = strdup(db))) {
		free(pg);
		PQfinish(conn);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	pg->conn = conn;
	pg->vnum = PQserverVersion(conn);
	version_text(pg->vnum, pg->version, sizeof(pg->version));
	/* libpq prints NOTICEs ("does not exist, skipping") to stderr itself;
	 * they are not the operator's business unless asked for. */
	PQsetNoticeProcessor(conn, notice_to_debug, NULL);
	*out = pg;
	return 0;
}

static int connect_with(const char *conninfo, const char *dbname, const char *password, struct ado_pg **out,
			struct ado_err *e)
{
	const char *kw[8], *val[8];
	int n = 0;

	*out = NULL;
	if (!getenv("PGCONNECT_TIMEOUT")) {
		kw[n] = "connect_timeout";
		val[n++] = "10";
	}
	kw[n] = "fallback_application_name";
	val[n++] = "ado-dr";
	/* The first dbname is expanded when it is a connection string; "" keeps
	 * a database name containing '=' from being taken for one. */
	kw[n] = "dbname";
	val[n++] = conninfo ? conninfo : "";
	if (dbname) {
		kw[n] = "dbname";
		val[n++] = dbname;
	}
	if (password) {
		kw[n] = "password";
		val[n++] = password;
	}
	kw[n] = NULL;
	val[n] = NULL;
	return finish_connect(PQconnectdbParams(kw, val, 1), dbname, out, e);
}

int ado_pg_connect_conninfo(const char *conninfo, const char *dbname, struct ado_pg **out, struct ado_err *e)
{
	return connect_with(conninfo && *conninfo ? conninfo : NULL, dbname, NULL, out, e);
}

/* Connect with the databases: entry of `entry` (conninfo, password) to `dbname`. */
static int connect_cfg(const struct ado_config *cfg, const char *entry, const char *dbname, struct ado_pg **out,
		       struct ado_err *e)
{
	const struct ado_database *d = NULL;
	char *password = NULL;
	char what[300];
	int rc;

	*out = NULL;
	for (size_t i = 0; cfg && i < cfg->ndatabases; i++)
		if (cfg->databases[i].name && strcmp(cfg->databases[i].name, entry) == 0)
			d = &cfg->databases[i];
	if (d && (d->password.env || d->password.file)) {
		snprintf(what, sizeof(what), "password of database '%s'", entry);
		if (ado_secret_resolve(&d->password, what, 0, &password, e) < 0)
			return -1;
	}
	rc = connect_with(d && d->conninfo && *d->conninfo ? d->conninfo : NULL, dbname, password, out, e);
	ado_secret_free(password);
	return rc;
}

int ado_pg_connect(const struct ado_config *cfg, const char *dbname, struct ado_pg **out, struct ado_err *e)
{
	return connect_cfg(cfg, dbname, dbname, out, e);
}

int ado_pg_connect_server(const struct ado_config *cfg, const char *dbname, const char *maint, struct ado_pg **out,
			  struct ado_err *e)
{
	return connect_cfg(cfg, dbname, maint ? maint : "postgres", out, e);
}

int ado_pg_conninfo_has_dbname(const char *conninfo)
{
	PQconninfoOption *opts, *o;
	int has = 0;

	if (!conninfo || !*conninfo)
		return 0;
	if (!(opts = PQconninfoParse(conninfo, NULL)))
		return 0;
	for (o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "dbname") == 0 && o->val && *o->val)
			has = 1;
	PQconninfoFree(opts);
	return has;
}

/* Every option libpq used for pg's connection, as keyword/value pairs. */
int ado_pg_connect_like(struct ado_pg *pg, const char *dbname, struct ado_pg **out, struct ado_err *e)
{
	PQconninfoOption *opts = PQconninfo(pg->conn), *o;
	const char **kw = NULL, **val = NULL;
	size_t n = 0, cap = 2;
	int rc = -1;

	*out = NULL;
	if (!opts)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	for (o = opts; o->keyword; o++)
		cap++;
	kw = calloc(cap, sizeof(*kw));
	val = calloc(cap, sizeof(*val));
	if (!kw || !val) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	for (o = opts; o->keyword; o++) {
		if (!o->val || !*o->val || strcmp(o->keyword, "dbname") == 0)
			continue;
		kw[n] = o->keyword;
		val[n++] = o->val;
	}
	kw[n] = "dbname";
	val[n++] = dbname;
	rc = finish_connect(PQconnectdbParams(kw, val, 0), dbname, out, e);
out:
	free(kw);
	free(val);
	PQconninfoFree(opts);
	return rc;
}

void ado_pg_free(struct ado_pg *pg)
{
	if (!pg)
		return;
	PQfinish(pg->conn);
	free(pg->dbname);
	free(pg);
}

const char *ado_pg_dbname(struct ado_pg *pg) { return pg->dbname; }
const char *ado_pg_server_version(struct ado_pg *pg) { return pg->version; }
int ado_pg_server_major(struct ado_pg *pg) { return pg->vnum / 10000; }

/* --- table names --- */

int ado_pg_parse_table(const char *raw, char **schema, char **table, struct ado_err *e)
{
	char *parts[2] = { NULL, NULL };
	size_t np = 0, len = strlen(raw);
	const char *p = raw;

	*schema = *table = NULL;
	for (;;) {
		char *buf = malloc(len + 1), *w = buf;
		if (!buf)
			goto nomem;
		if (*p == '"') {
			for (p++;; p++) {
				if (!*p) {
					free(buf);
					ado_err_set(e, ADO_E_CONFIG, 0, "unterminated quote in table name '%s'", raw);
					goto fail;
				}
				if (*p == '"') {
					if (p[1] != '"')
						break;
					p++;
				}
				*w++ = *p;
			}
			p++;
		} else {
			while (*p && *p != '.')
				*w++ = *p++;
		}
		*w = '\0';
		if (!*buf || np == 2) {
			free(buf);
			ado_err_set(e, ADO_E_CONFIG, 0, "%s in table name '%s'",
				    np == 2 ? "more than schema.table" : "empty part", raw);
			goto fail;
		}
		parts[np++] = buf;
		if (!*p)
			break;
		if (*p != '.') {
			ado_err_set(e, ADO_E_CONFIG, 0, "expected '.' after the quoted part of table name '%s'", raw);
			goto fail;
		}
		p++;
	}
	if (np == 2) {
		*schema = parts[0];
		*table = parts[1];
	} else {
		*table = parts[0];
	}
	return 0;
nomem:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
fail:
	free(parts[0]);
	free(parts[1]);
	ado_err_hint(e, "write schema.table, or quote a name holding a dot or a quote: '\"my.table\"'");
	return -1;
}

/* Fill t->name ("s"."t") and t->display (s.t) from catalog names. */
static int table_names(struct ado_pg *pg, const char *nsp, const char *rel, struct ado_pg_table *t,
		       struct ado_err *e)
{
	char *qn = PQescapeIdentifier(pg->conn, nsp, strlen(nsp));
	char *qr = PQescapeIdentifier(pg->conn, rel, strlen(rel));
	int rc = -1;

	if (!qn || !qr) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	if (asprintf(&t->name, "%s.%s", qn, qr) < 0) {
		t->name = NULL;
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	if (asprintf(&t->display, "%s.%s", nsp, rel) < 0) {
		t->display = NULL;
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	rc = 0;
out:
	PQfreemem(qn);
	PQfreemem(qr);
	return rc;
}

void ado_pg_tables_free(struct ado_pg_table *t, size_t n)
{
	if (!t)
		return;
	for (size_t i = 0; i < n; i++) {
		free(t[i].name);
		free(t[i].display);
	}
	free(t);
}

/* Ordinary tables pg_dump dumps with a whole database: every non-system
 * schema, no extension members (pg_dump leaves their data to the extension). */
#define USER_TABLES_WHERE \
	"c.relkind = 'r' AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema'" \
	" AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'" \
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass" \
	" AND d.objid = c.oid AND d.deptype = 'e')"

static const char resolve_sql[] =
	"SELECT n.nspname, c.relname, c.relkind, pg_catalog.has_table_privilege(c.oid, 'SELECT')"
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" WHERE c.oid = pg_catalog.to_regclass(coalesce($1, coalesce(pg_catalog.quote_ident($2) || '.', '')"
	" || pg_catalog.quote_ident($3)))";

/* Append ", 'x'" (or "'x'") to a bounded message buffer. */
static void list_add(char *buf, size_t len, const char *item)
{
	size_t used = strlen(buf);

	if (used + 1 >= len)
		return;
	snprintf(buf + used, len - used, "%s'%s'", used ? ", " : "", item);
}

static int resolve_listed(struct ado_pg *pg, char *const *names, size_t n, struct ado_pg_table *t,
			  struct ado_err *e)
{
	char missing[600] = "", denied[600] = "", notable[600] = "";
	char grant[300] = "";
	size_t nmissing = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		char *schema = NULL, *table = NULL;
		const char *params[3];
		PGresult *res;

		if (ado_pg_parse_table(names[i], &schema, &table, e) < 0)
			return -1;
		params[0] = NULL;
		params[1] = schema;
		params[2] = table;
		res = query(pg, "look up tables", e, resolve_sql, 3, params);
		free(schema);
		free(table);
		if (!res)
			return -1;
		if (PQntuples(res) == 0) {
			list_add(missing, sizeof(missing), names[i]);
			nmissing++;
		} else if (strcmp(PQgetvalue(res, 0, 2), "r") != 0) {
			list_add(notable, sizeof(notable), names[i]);
		} else if (table_names(pg, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), &t[i], e) < 0) {
			PQclear(res);
			return -1;
		} else if (strcmp(PQgetvalue(res, 0, 3), "t") != 0) {
			list_add(denied, sizeof(denied), t[i].display);
			if (!grant[0])
				snprintf(grant, sizeof(grant), "%s", t[i].name);
		}
		PQclear(res);
	}
	if (nmissing) {
		ado_err_set(e, ADO_E_NOTFOUND, 0, "table%s %s not found in database '%s'", nmissing > 1 ? "s" : "",
			    missing, pg->dbname);
		ado_err_hint(e, "check tables: in the job: names are exact (case, spaces), schema.table or "
			     "'\"name.with.dot\"'; psql's \\dt lists the tables");
	} else if (notable[0]) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s in database '%s' is not a plain table", notable, pg->dbname);
		ado_err_hint(e, "list tables only: pg_dump -t dumps no data of views, and partitioned tables' data "
			     "lives in their partitions");
	} else if (denied[0]) {
		ado_err_set(e, ADO_E_DB, 0, "permission denied for table %s in database '%s'", denied, pg->dbname);
		ado_err_hint(e, "GRANT SELECT ON %s TO %s (and USAGE on its schema)", grant, PQuser(pg->conn));
	} else {
		rc = 0;
	}
	return rc;
}

static int resolve_all(struct ado_pg *pg, struct ado_pg_table **out, size_t *nout, struct ado_err *e)
{
	PGresult *res = query(pg, "list tables", e,
			      "SELECT n.nspname, c.relname, pg_catalog.has_table_privilege(c.oid, 'SELECT')"
			      " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			      " WHERE " USER_TABLES_WHERE " ORDER BY 1, 2", 0, NULL);
	struct ado_pg_table *t = NULL;
	char denied[600] = "", grant[300] = "";
	size_t n;
	int rc = -1;

	if (!res)
		return -1;
	n = PQntuples(res);
	t = calloc(n ? n : 1, sizeof(*t));
	if (!t) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (table_names(pg, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), &t[i], e) < 0)
			goto out;
		if (strcmp(PQgetvalue(res, i, 2), "t") != 0) {
			list_add(denied, sizeof(denied), t[i].display);
			if (!grant[0])
				snprintf(grant, sizeof(grant), "%s", t[i].name);
		}
	}
	if (denied[0]) {
		ado_err_set(e, ADO_E_DB, 0, "permission denied for table %s in database '%s'", denied, pg->dbname);
		ado_err_hint(e, "GRANT SELECT ON %s TO %s (and USAGE on its schema), or dump as the owner", grant,
			     PQuser(pg->conn));
		goto out;
	}
	*out = t;
	*nout = n;
	t = NULL;
	rc = 0;
out:
	ado_pg_tables_free(t, n);
	PQclear(res);
	return rc;
}

/* SELECT count(*) FROM ONLY name: COPY, and so pg_dump, copies a parent's own
 * rows without its inheritance children. */
static int count_rows(struct ado_pg *pg, const char *quoted, const char *display, int64_t *rows, struct ado_err *e)
{
	char *sql = NULL, what[400];
	PGresult *res;

	if (asprintf(&sql, "SELECT count(*) FROM ONLY %s", quoted) < 0)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	snprintf(what, sizeof(what), "count the rows of table '%s'", display);
	res = query(pg, what, e, sql, 0, NULL);
	free(sql);
	if (!res)
		return -1;
	*rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/* "LOCK TABLE ONLY a, ONLY b IN ACCESS SHARE MODE" (lock) or
 * "SELECT count(*) FROM ONLY a;SELECT count(*) FROM ONLY b;" for every table
 * of s: a new string, NULL when out of memory. One statement per table keeps
 * each count's failure attributable to its table. */
static char *tables_sql(const struct ado_pg_snapshot *s, int lock)
{
	char *sql = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);
	int bad;

	if (!f)
		return NULL;
	if (lock)
		fputs("LOCK TABLE ", f);
	for (size_t i = 0; i < s->ntables; i++) {
		if (lock)
			fprintf(f, "%sONLY %s", i ? ", " : "", s->tables[i].name);
		else
			fprintf(f, "SELECT count(*) FROM ONLY %s;", s->tables[i].name);
	}
	if (lock)
		fputs(" IN ACCESS SHARE MODE", f);
	bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(sql);
		return NULL;
	}
	return sql;
}

int ado_pg_snapshot_open(struct ado_pg *pg, char *const *tables, size_t ntables, struct ado_pg_snapshot **out,
			 struct ado_err *e)
{
	struct ado_pg_snapshot *s = calloc(1, sizeof(*s));
	PGresult *res = NULL;
	char *lock = NULL;

	*out = NULL;
	if (!s)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	if (pg->count_state != COUNT_IDLE) {
		ado_err_set(e, ADO_E_INTERNAL, 0, "row counts are still running in database '%s'", pg->dbname);
		free(s);
		return -1;
	}
	if (command(pg, "begin the snapshot transaction", e, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY") < 0)
		goto fail;
	/* The snapshot is taken by this first statement; everything after, the
	 * counts and pg_dump's --snapshot, sees exactly it. */
	if (!(res = query(pg, "export a snapshot", e, "SELECT pg_catalog.pg_export_snapshot()", 0, NULL)))
		goto fail;
	if (!(s->id = xstrdup(PQgetvalue(res, 0, 0), e)))
		goto fail;
	/* A long dump must not be cut by server-wide timeouts meant for
	 * interactive sessions: pg_dump needs this transaction while it starts. */
	if (command(pg, "set timeouts", e, "SET LOCAL statement_timeout = 0") < 0 ||
	    command(pg, "set timeouts", e, "SET LOCAL idle_in_transaction_session_timeout = 0") < 0)
		goto fail;
	/* The counts run beside pg_dump, whose COPY is what a backup waits for:
	 * what they cost in CPU matters, not how soon they finish. Parallel
	 * workers and JIT compiling make a count of a large table about half as
	 * expensive again, taken from the dump. */
	if (command(pg, "set the counts' plan", e, "SET LOCAL max_parallel_workers_per_gather = 0") < 0 ||
	    (pg->vnum >= 110000 && command(pg, "set the counts' plan", e, "SET LOCAL jit = off") < 0))
		goto fail;
	if (ntables) {
		s->tables = calloc(ntables, sizeof(*s->tables));
		if (!s->tables) {
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			goto fail;
		}
		s->ntables = ntables;
		if (resolve_listed(pg, tables, ntables, s->tables, e) < 0)
			goto fail;
	} else {
		s->whole_db = 1;
		if (resolve_all(pg, &s->tables, &s->ntables, e) < 0)
			goto fail;
	}
	for (size_t i = 0; i < s->ntables; i++)
		s->tables[i].rows = -1;
	/* The counts and pg_dump now run side by side and reach each table in
	 * their own order. Holding ACCESS SHARE on every table from here to
	 * COMMIT (pg_dump takes the same) keeps a TRUNCATE or a table rewrite,
	 * which old snapshots see as empty, from landing between the two: both
	 * see a table as it was or both see it empty. */
	if (s->ntables) {
		if (!(lock = tables_sql(s, 1))) {
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			goto fail;
		}
		if (command(pg, "lock the tables", e, lock) < 0)
			goto fail;
	}
	free(lock);
	PQclear(res);
	*out = s;
	return 0;
fail:
	free(lock);
	PQclear(res);
	ado_pg_snapshot_end(pg, s);
	return -1;
}

int ado_pg_snapshot_begin(struct ado_pg *pg, char *const *tables, size_t ntables, struct ado_pg_snapshot **out,
			  struct ado_err *e)
{
	struct ado_pg_snapshot *s = NULL;

	*out = NULL;
	if (ado_pg_snapshot_open(pg, tables, ntables, &s, e) < 0)
		return -1;
	if (ado_pg_count_send(pg, s, e) < 0 || ado_pg_count_finish(pg, e) < 0) {
		ado_pg_snapshot_end(pg, s);
		return -1;
	}
	*out = s;
	return 0;
}

/* --- row counts beside the dump --- */

static void count_take(struct ado_pg *pg, PGresult *res)
{
	struct ado_pg_snapshot *s = pg->counting;
	size_t i = pg->counted;
	char what[400];

	if (pg->count_state != COUNT_RUNNING)
		return;		/* after a failure: only draining */
	if (PQresultStatus(res) == PGRES_TUPLES_OK && i < s->ntables && PQntuples(res) == 1) {
		s->tables[i].rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		pg->counted++;
		return;
	}
	pg->count_state = COUNT_FAILED;
	if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK) {
		ado_err_set(&pg->count_err, ADO_E_INTERNAL, 0, "unexpected result %zu of %zu row counts in database '%s'",
			    i + 1, s->ntables, pg->dbname);
		return;
	}
	snprintf(what, sizeof(what), "count the rows of table '%s'", i < s->ntables ? s->tables[i].display : "?");
	set_db_error(pg, res, what, &pg->count_err);
}

/* Take every result that has arrived, without blocking. */
static void count_step(struct ado_pg *pg)
{
	PGresult *res;

	if (!pg->busy)
		return;
	if (!PQconsumeInput(pg->conn)) {
		if (pg->count_state == COUNT_RUNNING) {
			pg->count_state = COUNT_FAILED;
			set_db_error(pg, NULL, "count the rows of the tables", &pg->count_err);
		}
		if (PQstatus(pg->conn) == CONNECTION_BAD)
			pg->busy = 0;	/* nothing more will come */
		return;
	}
	while (!PQisBusy(pg->conn)) {
		if (!(res = PQgetResult(pg->conn))) {
			pg->busy = 0;
			if (pg->count_state != COUNT_RUNNING)
				return;
			if (pg->counted == pg->counting->ntables) {
				pg->count_state = COUNT_DONE;
				return;
			}
			pg->count_state = COUNT_FAILED;
			ado_err_set(&pg->count_err, ADO_E_DB, 0, "cannot count the rows in database '%s': %zu of %zu "
				    "counts came back", pg->dbname, pg->counted, pg->counting->ntables);
			return;
		}
		count_take(pg, res);
		PQclear(res);
	}
}

/* Wait until every result is in; the signal number if the run is
 * interrupted first (results are then still outstanding), else 0. */
static int count_wait(struct ado_pg *pg)
{
	for (;;) {
		struct pollfd p = { .fd = PQsocket(pg->conn), .events = POLLIN };
		int sig;

		count_step(pg);
		if (!pg->busy)
			return 0;
		if ((sig = ado_interrupted()))
			return sig;
		/* bounded, so that a signal is noticed even if poll() is not cut short */
		poll(&p, 1, 200);
	}
}

/* Stop counts still running (the server cancels the statement and skips the
 * rest) and forget them: the connection is free again. */
static void count_cancel(struct ado_pg *pg)
{
	if (pg->busy) {
		PGcancel *c = PQgetCancel(pg->conn);
		PGresult *res;
		char buf[256];

		if (c) {
			PQcancel(c, buf, sizeof(buf));
			PQfreeCancel(c);
		}
		while ((res = PQgetResult(pg->conn)))
			PQclear(res);
		pg->busy = 0;
	}
	pg->count_state = COUNT_IDLE;
	pg->counting = NULL;
	pg->counted = 0;
}

int ado_pg_count_send(struct ado_pg *pg, struct ado_pg_snapshot *s, struct ado_err *e)
{
	char *sql;

	if (pg->count_state != COUNT_IDLE)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "row counts are already running in database '%s'", pg->dbname);
	if (PQtransactionStatus(pg->conn) != PQTRANS_INTRANS)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "row counts outside a snapshot transaction in database '%s'",
				   pg->dbname);
	for (size_t i = 0; i < s->ntables; i++)
		s->tables[i].rows = -1;
	ado_err_clear(&pg->count_err);
	pg->counting = s;
	pg->counted = 0;
	if (s->ntables == 0) {
		pg->count_state = COUNT_DONE;
		return 0;
	}
	if (!(sql = tables_sql(s, 0))) {
		pg->counting = NULL;
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	/* One simple-protocol message: the statements run one after the other in
	 * the snapshot transaction, and a failing one skips the rest. */
	if (!PQsendQuery(pg->conn, sql)) {
		free(sql);
		pg->counting = NULL;
		return set_db_error(pg, NULL, "send the row counts", e);
	}
	free(sql);
	pg->busy = 1;
	pg->count_state = COUNT_RUNNING;
	return 0;
}

int ado_pg_count_poll(struct ado_pg *pg, struct ado_err *e)
{
	count_step(pg);
	switch (pg->count_state) {
	case COUNT_RUNNING:
		return 0;
	case COUNT_DONE:
		return 1;
	case COUNT_FAILED:
		if (e)
			*e = pg->count_err;
		return -1;
	default:
		return ado_err_set(e, ADO_E_INTERNAL, 0, "no row counts were sent in database '%s'", pg->dbname);
	}
}

int ado_pg_count_finish(struct ado_pg *pg, struct ado_err *e)
{
	int sig, rc;

	if (pg->count_state == COUNT_IDLE)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "no row counts were sent in database '%s'", pg->dbname);
	if ((sig = count_wait(pg))) {
		count_cancel(pg);
		return ado_err_set(e, ADO_E_INTERRUPTED, 0, "row counts in database '%s' interrupted by signal %d",
				   pg->dbname, sig);
	}
	rc = pg->count_state == COUNT_DONE ? 0 : -1;
	if (rc < 0 && e)
		*e = pg->count_err;
	pg->count_state = COUNT_IDLE;
	pg->counting = NULL;
	pg->counted = 0;
	return rc;
}

struct count_reader {
	struct ado_pg *pg;
	struct ado_reader *inner;
};

static int count_reader_read(struct ado_reader *r, void *buf, size_t n, size_t *got, struct ado_err *e)
{
	struct count_reader *st = r->state;

	if (ado_reader_read(st->inner, buf, n, got, e) < 0)
		return -1;
	/* a failed count ends the dump early: the backup cannot be trusted anyway */
	if (st->pg->count_state != COUNT_IDLE && ado_pg_count_poll(st->pg, e) < 0)
		return -1;
	return 0;
}

static void count_reader_free(struct ado_reader *r)
{
	struct count_reader *st = r->state;

	if (!st)
		return;
	ado_reader_free(st->inner);
	free(st);
}

static const struct ado_reader_ops count_reader_ops = {
	.name = "pg-count",
	.read = count_reader_read,
	.free = count_reader_free,
};

struct ado_reader *ado_pg_count_reader_new(struct ado_pg *pg, struct ado_reader *inner, struct ado_err *e)
{
	struct count_reader *st = calloc(1, sizeof(*st));
	struct ado_reader *r = st ? ado_reader_new(&count_reader_ops, st) : NULL;

	if (!r) {
		free(st);
		ado_reader_free(inner);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	st->pg = pg;
	st->inner = inner;
	return r;
}

void ado_pg_snapshot_end(struct ado_pg *pg, struct ado_pg_snapshot *s)
{
	if (pg && pg->conn) {
		PGTransactionStatusType ts;
		count_cancel(pg);
		ts = PQtransactionStatus(pg->conn);
		if (ts == PQTRANS_INTRANS)
			PQclear(PQexec(pg->conn, "COMMIT"));
		else if (ts == PQTRANS_INERROR)
			PQclear(PQexec(pg->conn, "ROLLBACK"));
	}
	if (!s)
		return;
	free(s->id);
	ado_pg_tables_free(s->tables, s->ntables);
	free(s);
}

/* --- children --- */

/* posix_spawn with stdin from in_fd (or /dev/null), stdout to out_fd (or
 * inherited), stderr inherited, every other descriptor closed, and the
 * signals a tool may ignore or block back to their defaults. */
static int spawn(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd, pid_t *pid,
		 struct ado_err *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, def;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGQUIT);
	sigaddset(&def, SIGHUP);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	err = posix_spawn(pid, path, &fa, &attr, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (err) {
		ado_err_set(e, ADO_E_CHILD, err, "cannot run '%s'", path);
		return -1;
	}
	return 0;
}

int ado_pg_child_wait(pid_t pid, const char *what, struct ado_err *e)
{
	const char *sp = strchr(what, ' ');
	int len = sp ? (int)(sp - what) : (int)strlen(what);
	int status, sig = ado_interrupted();

	/* Ctrl-C reaches the child through the terminal's process group, cron's
	 * SIGTERM only us: pass it on, so that a stopped run does not leave a
	 * pg_restore -j behind, and wait for the child to be gone. */
	if (sig)
		kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return ado_err_set(e, ADO_E_CHILD, errno, "cannot wait for %s", what);
		if (!sig && (sig = ado_interrupted()))
			kill(pid, SIGTERM);
	}
	if (sig && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		return ado_err_set(e, ADO_E_INTERRUPTED, 0, "%s interrupted by signal %d", what, sig);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		ado_err_set(e, ADO_E_CHILD, 0, "%.*s failed%s (exit %d)", len, what, sp ? sp : "", WEXITSTATUS(status));
	else
		ado_err_set(e, ADO_E_CHILD, 0, "%.*s failed%s (killed by signal %d)", len, what, sp ? sp : "",
			    WTERMSIG(status));
	ado_err_hint(e, "%.*s's own messages above say why", len, what);
	return -1;
}

/* Run `path --version` and parse "pg_dump (PostgreSQL) 15.18 (Debian ...)"
 * into a version number (150018). -1 if it does not run or answer. */
static int probe_version(const char *path, int *vnum)
{
	char *argv[] = { (char *)path, "--version", NULL };
	char buf[512];
	struct ado_err e;
	size_t got = 0;
	int fds[2], a = 0, b = 0, c = 0;
	pid_t pid;
	const char *p;

	if (access(path, X_OK) < 0 || pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	if (spawn(path, argv, NULL, -1, fds[1], &pid, &e) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	close(fds[1]);
	for (;;) {
		ssize_t r = read(fds[0], buf + got, sizeof(buf) - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
		if (got == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	close(fds[0]);
	if (ado_pg_child_wait(pid, "version", &e) < 0)
		return -1;
	p = strstr(buf, "(PostgreSQL) ");
	p = p ? p + 13 : buf + strcspn(buf, "0123456789");
	if (sscanf(p, "%d.%d.%d", &a, &b, &c) < 1 || a <= 0)
		return -1;
	*vnum = a >= 10 ? a * 10000 + b : a * 10000 + b * 100 + c;
	return 0;
}

static int is_pg_wrapper(const char *path)
{
	char real[PATH_MAX];
	const char *base;

	if (!realpath(path, real))
		return 0;
	base = strrchr(real, '/');
	return strcmp(base ? base + 1 : real, "pg_wrapper") == 0;
}

static char *search_path(const char *tool)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	if (!path || !(copy = strdup(path)))
		return NULL;
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *cand;
		if (asprintf(&cand, "%s/%s", *dir ? dir : ".", tool) < 0)
			break;
		if (access(cand, X_OK) == 0)
			found = cand;
		else
			free(cand);
	}
	free(copy);
	return found;
}

static int find_tool(struct ado_pg *pg, const char *tool, const char *envname, char **path, char **version,
		     struct ado_err *e)
{
	const char *env = getenv(envname);
	int want = major_key(pg->vnum), v = 0, best_old = 0, rc = -1;
	char *onpath = NULL, *chosen = NULL, vtext[32], server_major[16];
	glob_t g = { 0 };

	*path = *version = NULL;
	snprintf(server_major, sizeof(server_major), "%d", ado_pg_server_major(pg));
	if (env && *env) {
		if (probe_version(env, &v) < 0) {
			ado_err_set(e, ADO_E_CONFIG, 0, "cannot run %s '%s' (from %s)", tool, env, envname);
			ado_err_hint(e, "point %s at a working %s, or unset it to use the one on PATH", envname, tool);
			return -1;
		}
		if (major_key(v) < want) {
			version_text(v, vtext, sizeof(vtext));
			ado_err_set(e, ADO_E_CONFIG, 0, "%s %s is older than the server %s", tool, vtext, pg->version);
			ado_err_hint(e, "install postgresql-client-%s or point %s at a newer %s", server_major,
				     envname, tool);
			return -1;
		}
		chosen = strdup(env);
		goto found;
	}
	onpath = search_path(tool);
	if (onpath && !is_pg_wrapper(onpath) && probe_version(onpath, &v) == 0) {
		if (major_key(v) >= want) {
			chosen = onpath;
			onpath = NULL;
			goto found;
		}
		best_old = v;
	}
	/* Debian installs each major version side by side; the newest one that
	 * is at least the server's reads and writes every older format. */
	{
		char pat[128];
		int bestv = 0;
		snprintf(pat, sizeof(pat), "/usr/lib/postgresql/*/bin/%s", tool);
		if (glob(pat, 0, NULL, &g) == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++) {
				int cv;
				if (probe_version(g.gl_pathv[i], &cv) < 0)
					continue;
				if (major_key(cv) >= want && cv > bestv) {
					bestv = cv;
					free(chosen);
					chosen = strdup(g.gl_pathv[i]);
				} else if (major_key(cv) < want && cv > best_old) {
					best_old = cv;
				}
			}
		}
		if (chosen) {
			v = bestv;
			goto found;
		}
	}
	if (onpath && is_pg_wrapper(onpath) && probe_version(onpath, &v) == 0) {
		if (major_key(v) >= want) {
			chosen = onpath;
			onpath = NULL;
			goto found;
		}
		if (v > best_old)
			best_old = v;
	}
	if (best_old) {
		version_text(best_old, vtext, sizeof(vtext));
		ado_err_set(e, ADO_E_CONFIG, 0, "%s %s is older than the server %s", tool, vtext, pg->version);
	} else {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s not found (PATH, /usr/lib/postgresql/*/bin)", tool);
	}
	ado_err_hint(e, "install postgresql-client-%s or set %s", server_major, envname);
	goto out;
found:
	if (!chosen) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	version_text(v, vtext, sizeof(vtext));
	if (!(*version = strdup(vtext))) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	*path = chosen;
	chosen = NULL;
	rc = 0;
out:
	globfree(&g);
	free(onpath);
	free(chosen);
	return rc;
}

int ado_pg_dump_find(struct ado_pg *pg, char **path, char **version, struct ado_err *e)
{
	return find_tool(pg, "pg_dump", "ADO_PG_DUMP", path, version, e);
}

int ado_pg_restore_find(struct ado_pg *pg, char **path, char **version, struct ado_err *e)
{
	return find_tool(pg, "pg_restore", "ADO_PG_RESTORE", path, version, e);
}

/* The child's environment: ours without any libpq variable, plus one
 * variable per connection option pg actually used (PGHOST, PGPORT, PGUSER,
 * PGPASSWORD, PGSSLMODE, ...) and PGDATABASE=dbname. The password thus
 * reaches the child without ever being in an argv. Free with env_free. */
static void env_free(char **env)
{
	if (!env)
		return;
	for (char **p = env; *p; p++) {
		if (strncmp(*p, "PGPASSWORD=", 11) == 0)
			OPENSSL_cleanse(*p, strlen(*p));
		free(*p);
	}
	free(env);
}

static char **child_env(struct ado_pg *pg, const char *dbname, struct ado_err *e)
{
	PQconninfoOption *opts = PQconninfo(pg->conn), *o;
	size_t n = 0, cap = 2;
	char **env = NULL;

	if (!opts)
		goto nomem;
	for (char **p = environ; *p; p++)
		cap++;
	for (o = opts; o->keyword; o++)
		cap++;
	if (!(env = calloc(cap, sizeof(*env))))
		goto nomem;
	for (char **p = environ; *p; p++) {
		size_t klen = strcspn(*p, "=");
		int ours = 0;
		for (o = opts; o->keyword && !ours; o++)
			ours = o->envvar && strlen(o->envvar) == klen && strncmp(*p, o->envvar, klen) == 0;
		if (ours)
			continue;
		if (!(env[n++] = strdup(*p)))
			goto nomem;
	}
	for (o = opts; o->keyword; o++) {
		const char *v = o->val;
		if (!o->envvar)
			continue;
		if (strcmp(o->keyword, "dbname") == 0)
			v = dbname;
		if (!v || !*v)
			continue;
		if (asprintf(&env[n++], "%s=%s", o->envvar, v) < 0) {
			env[--n] = NULL;
			goto nomem;
		}
	}
	PQconninfoFree(opts);
	return env;
nomem:
	PQconninfoFree(opts);
	env_free(env);
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	return NULL;
}

/* -d "dbname='x'": a plain name containing '=' would be read as a conninfo. */
static char *dbname_arg(const char *dbname)
{
	size_t len = strlen(dbname);
	char *s = malloc(2 * len + 10), *w;

	if (!s)
		return NULL;
	w = s + sprintf(s, "dbname='");
	for (const char *p = dbname; *p; p++) {
		if (*p == '\'' || *p == '\\')
			*w++ = '\\';
		*w++ = *p;
	}
	strcpy(w, "'");
	return s;
}

struct argv_buf {
	char **v;
	size_t n, cap;
	int failed;
};

static void arg_add(struct argv_buf *a, const char *s)
{
	if (a->failed)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		char **v = realloc(a->v, cap * sizeof(*v));
		if (!v) {
			a->failed = 1;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	if (!(a->v[a->n] = strdup(s))) {
		a->failed = 1;
		return;
	}
	a->v[++a->n] = NULL;
}

static void arg_free(struct argv_buf *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

int ado_pg_dump_spawn(struct ado_pg *pg, const char *pg_dump, const struct ado_pg_snapshot *s, int whole_db,
		      pid_t *pid, int *fd, struct ado_err *e)
{
	struct argv_buf a = { 0 };
	char **env = NULL, *snap = NULL, *dbarg = NULL;
	int fds[2] = { -1, -1 }, rc = -1;

	*pid = -1;
	*fd = -1;
	if (!(env = child_env(pg, pg->dbname, e)))
		goto out;
	if (asprintf(&snap, "--snapshot=%s", s->id) < 0) {
		snap = NULL;
		goto nomem;
	}
	if (!(dbarg = dbname_arg(pg->dbname)))
		goto nomem;
	arg_add(&a, pg_dump);
	arg_add(&a, "-Fc");
	arg_add(&a, "-Z0");
	arg_add(&a, "--no-password");
	arg_add(&a, snap);
	if (!whole_db && !s->whole_db)
		for (size_t i = 0; i < s->ntables; i++) {
			arg_add(&a, "-t");
			arg_add(&a, s->tables[i].name);
		}
	arg_add(&a, "-d");
	arg_add(&a, dbarg);
	if (a.failed)
		goto nomem;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot create a pipe for pg_dump");
		goto out;
	}
	ado_debug("running %s for database '%s' (%zu tables)", pg_dump, pg->dbname, s->ntables);
	if (spawn(pg_dump, a.v, env, -1, fds[1], pid, e) < 0)
		goto out;
	*fd = fds[0];
	fds[0] = -1;
	rc = 0;
	goto out;
nomem:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	arg_free(&a);
	env_free(env);
	free(snap);
	free(dbarg);
	return rc;
}

/* --- restore side --- */

int ado_pg_create_database(struct ado_pg *pg, const char *name, struct ado_err *e)
{
	char what[400];

	snprintf(what, sizeof(what), "create database '%s'", name);
	if (command_ident(pg, what, e, "CREATE DATABASE %s TEMPLATE template0", name, NULL) < 0) {
		if (e && e->kind == ADO_E_EXISTS)
			ado_err_hint(e, "pick another name, or drop or rename the existing database first");
		return -1;
	}
	return 0;
}

int ado_pg_drop_database(struct ado_pg *pg, const char *name, struct ado_err *e)
{
	char what[400];

	snprintf(what, sizeof(what), "drop database '%s'", name);
	if (pg->vnum >= 130000)
		return command_ident(pg, what, e, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name, NULL);
	return command_ident(pg, what, e, "DROP DATABASE IF EXISTS %s", name, NULL);
}

int ado_pg_rename_database(struct ado_pg *pg, const char *from, const char *to, struct ado_err *e)
{
	char what[600];

	snprintf(what, sizeof(what), "rename database '%s' to '%s'", from, to);
	if (command_ident(pg, what, e, "ALTER DATABASE %s RENAME TO %s", from, to) == 0)
		return 0;
	if (e && e->kind == ADO_E_EXISTS)
		ado_err_hint(e, "a database '%s' already exists: rename or drop it first", to);
	else if (e && strstr(e->msg, "being accessed by other users"))
		ado_err_hint(e, "sessions are connected to '%s': stop them (pg_stat_activity lists them) or use --force",
			     from);
	return -1;
}

int ado_pg_database_exists(struct ado_pg *pg, const char *name, struct ado_err *e)
{
	const char *params[1] = { name };
	PGresult *res = query(pg, "look up databases", e, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
			      1, params);
	int found;

	if (!res)
		return -1;
	found = PQntuples(res) > 0;
	PQclear(res);
	return found;
}

int ado_pg_copy_database_owner(struct ado_pg *pg, const char *from, const char *to, struct ado_err *e)
{
	const char *params[1] = { from };
	PGresult *res = query(pg, "look up the owner of a database", e,
			      "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = $1",
			      1, params);
	char *owner, what[600];
	int rc;

	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return ado_err_set(e, ADO_E_NOTFOUND, 0, "database '%s' does not exist", from);
	}
	owner = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!owner)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	snprintf(what, sizeof(what), "give database '%s' the owner of '%s' ('%s')", to, from, owner);
	rc = command_ident(pg, what, e, "ALTER DATABASE %s OWNER TO %s", to, owner);
	free(owner);
	return rc;
}

int ado_pg_create_schemas(struct ado_pg *pg, const struct ado_pg_table *tables, size_t n, struct ado_err *e)
{
	for (size_t i = 0; i < n; i++) {
		const char *d = tables[i].display, *dot = d ? strchr(d, '.') : NULL;
		char *schema, what[400];
		int rc;

		if (!dot || (dot - d == 6 && strncmp(d, "public", 6) == 0))
			continue;
		if (!(schema = strndup(d, dot - d)))
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		snprintf(what, sizeof(what), "create schema '%s'", schema);
		rc = command_ident(pg, what, e, "CREATE SCHEMA IF NOT EXISTS %s", schema, NULL);
		free(schema);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static const char sessions_sql[] =
	"SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), coalesce(host(client_addr), '')"
	" FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()"
	" AND backend_type = 'client backend' ORDER BY pid";

int ado_pg_sessions(struct ado_pg *pg, const char *db, struct ado_pg_session **out, size_t *n, struct ado_err *e)
{
	const char *params[1] = { db };
	PGresult *res = query(pg, "list sessions", e, sessions_sql, 1, params);
	struct ado_pg_session *s;
	size_t rows;

	*out = NULL;
	*n = 0;
	if (!res)
		return -1;
	rows = PQntuples(res);
	s = calloc(rows ? rows : 1, sizeof(*s));
	if (!s)
		goto nomem;
	for (size_t i = 0; i < rows; i++) {
		s[i].pid = atoi(PQgetvalue(res, i, 0));
		s[i].user = strdup(PQgetvalue(res, i, 1));
		s[i].application = strdup(PQgetvalue(res, i, 2));
		s[i].client = strdup(PQgetvalue(res, i, 3));
		if (!s[i].user || !s[i].application || !s[i].client) {
			ado_pg_sessions_free(s, i + 1);
			goto nomem;
		}
	}
	PQclear(res);
	*out = s;
	*n = rows;
	return 0;
nomem:
	PQclear(res);
	return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
}

void ado_pg_sessions_free(struct ado_pg_session *s, size_t n)
{
	if (!s)
		return;
	for (size_t i = 0; i < n; i++) {
		free(s[i].user);
		free(s[i].application);
		free(s[i].client);
	}
	free(s);
}

int ado_pg_terminate_sessions(struct ado_pg *pg, const char *db, struct ado_err *e)
{
	const char *params[1] = { db };
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	PGresult *res = query(pg, "terminate sessions", e,
			      "SELECT pid, pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity"
			      " WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()"
			      " AND backend_type = 'client backend'", 1, params);
	int left = 0;

	if (!res)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 1), "t") != 0) {
			ado_err_set(e, ADO_E_DB, 0, "cannot terminate session %s on database '%s'",
				    PQgetvalue(res, i, 0), db);
			ado_err_hint(e, "terminating another role's session needs superuser or pg_signal_backend");
			PQclear(res);
			return -1;
		}
	PQclear(res);
	/* pg_terminate_backend only signals: wait until they are really gone. */
	for (int tries = 0; tries < 100; tries++) {
		if (ado_interrupted())
			return ado_err_set(e, ADO_E_INTERRUPTED, 0, "interrupted while terminating sessions on database '%s'",
					   db);
		if (!(res = query(pg, "list sessions", e, sessions_sql, 1, params)))
			return -1;
		left = PQntuples(res);
		if (left == 0) {
			PQclear(res);
			return 0;
		}
		PQclear(res);
		nanosleep(&tick, NULL);
	}
	ado_err_set(e, ADO_E_DB, 0, "%d session(s) on database '%s' still there 10 s after being terminated", left, db);
	return ado_err_hint(e, "look at pg_stat_activity on the server");
}

static int restore_argv(struct argv_buf *a, const char *pg_restore, const char *dbname,
			const struct ado_pg_restore_opts *o)
{
	char *dbarg = dbname_arg(dbname), jobs[16];

	if (!dbarg)
		return -1;
	arg_add(a, pg_restore);
	arg_add(a, "--no-password");
	arg_add(a, "--exit-on-error");
	if (o && o->no_owner) {
		arg_add(a, "--no-owner");
		arg_add(a, "--no-privileges");
	}
	if (o && o->file && o->jobs > 1) {
		snprintf(jobs, sizeof(jobs), "%d", o->jobs);
		arg_add(a, "-j");
		arg_add(a, jobs);
	}
	for (size_t i = 0; o && i < o->ntables; i++) {
		const char *dot = strchr(o->tables[i], '.');
		int dup = 0;
		if (!dot)
			continue;
		/* One -n per distinct schema. */
		for (size_t j = 0; j < i && !dup; j++) {
			const char *d2 = strchr(o->tables[j], '.');
			dup = d2 && d2 - o->tables[j] == dot - o->tables[i] &&
			      strncmp(o->tables[j], o->tables[i], dot - o->tables[i]) == 0;
		}
		if (!dup) {
			char *schema = strndup(o->tables[i], dot - o->tables[i]);
			if (!schema)
				a->failed = 1;
			else {
				arg_add(a, "-n");
				arg_add(a, schema);
			}
			free(schema);
		}
	}
	for (size_t i = 0; o && i < o->ntables; i++) {
		const char *dot = strchr(o->tables[i], '.');
		arg_add(a, "-t");
		arg_add(a, dot ? dot + 1 : o->tables[i]);
	}
	arg_add(a, "-d");
	arg_add(a, dbarg);
	if (o && o->file)
		arg_add(a, o->file);
	free(dbarg);
	return a->failed ? -1 : 0;
}

struct restore_state {
	pid_t pid;
	int fd;
	char *what;	/* "pg_restore for database 'X'" */
};

static int restore_reap(struct restore_state *st, struct ado_err *e)
{
	pid_t pid = st->pid;

	st->pid = -1;
	return ado_pg_child_wait(pid, st->what, e);
}

static int restore_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct restore_state *st = w->state;
	const char *p = buf;
	sigset_t pipe_set, old, pending;
	int was_pending, rc = 0, err = 0;

	if (st->fd < 0)
		return ado_err_set(e, ADO_E_CHILD, 0, "pg_restore has already stopped");
	/* A pg_restore that dies must give us EPIPE, not kill the tool: block
	 * SIGPIPE around the write and swallow the one it raises (libpq's way),
	 * leaving the process-wide disposition alone. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	while (n > 0) {
		ssize_t r = write(st->fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			rc = -1;
			break;
		}
		p += r;
		n -= r;
	}
	if (err == EPIPE && !was_pending) {
		struct timespec zero = { 0, 0 };
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		return 0;
	close(st->fd);
	st->fd = -1;
	if (err == EPIPE) {
		if (restore_reap(st, e) < 0)
			return -1;
		return ado_err_set(e, ADO_E_CHILD, 0, "%s stopped reading its input", st->what);
	}
	return ado_err_set(e, ADO_E_IO, err, "cannot write to %s", st->what);
}

static int restore_close(struct ado_writer *w, struct ado_err *e)
{
	struct restore_state *st = w->state;

	if (st->fd >= 0) {
		close(st->fd);
		st->fd = -1;
	}
	if (st->pid > 0)
		return restore_reap(st, e);
	return 0;
}

static void restore_free(struct ado_writer *w)
{
	struct restore_state *st = w->state;
	int status;

	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	if (st->pid > 0) {
		/* Aborted: a half-fed pg_restore must not go on committing. */
		kill(st->pid, SIGTERM);
		while (waitpid(st->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	free(st->what);
	free(st);
}

static const struct ado_writer_ops restore_ops = {
	.name = "pg_restore",
	.write = restore_write,
	.close = restore_close,
	.free = restore_free,
};

struct ado_writer *ado_pg_restore_writer_new(struct ado_pg *pg, const char *dbname,
					     const struct ado_pg_restore_opts *o, struct ado_err *e)
{
	struct restore_state *st = NULL;
	struct ado_writer *w = NULL;
	struct argv_buf a = { 0 };
	char **env = NULL, *tool = NULL, *version = NULL;
	int fds[2] = { -1, -1 };

	if (o && o->jobs > 1) {
		ado_err_set(e, ADO_E_USAGE, 0, "pg_restore -j %d needs a file, not a stream", o->jobs);
		ado_err_hint(e, "use ado_pg_restore_file with a temporary file");
		return NULL;
	}
	if (find_tool(pg, "pg_restore", "ADO_PG_RESTORE", &tool, &version, e) < 0)
		return NULL;
	if (!(env = child_env(pg, dbname, e)))
		goto fail;
	if (restore_argv(&a, tool, dbname, o) < 0)
		goto nomem;
	if (!(st = calloc(1, sizeof(*st))))
		goto nomem;
	st->pid = -1;
	st->fd = -1;
	if (asprintf(&st->what, "pg_restore for database '%s'", dbname) < 0) {
		st->what = NULL;
		goto nomem;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot create a pipe for pg_restore");
		goto fail;
	}
	ado_debug("running %s into database '%s'", tool, dbname);
	if (spawn(tool, a.v, env, fds[0], -1, &st->pid, e) < 0)
		goto fail;
	close(fds[0]);
	fds[0] = -1;
	st->fd = fds[1];
	fds[1] = -1;
	if (!(w = ado_writer_new(&restore_ops, st, NULL)))
		goto nomem;
	st = NULL;
	goto out;
nomem:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
fail:
	if (st) {
		struct ado_writer tmp = { .state = st };
		restore_free(&tmp);
	}
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	arg_free(&a);
	env_free(env);
	free(tool);
	free(version);
	return w;
}

int ado_pg_restore_file(struct ado_pg *pg, const char *dbname, const struct ado_pg_restore_opts *o, struct ado_err *e)
{
	struct argv_buf a = { 0 };
	char **env = NULL, *tool = NULL, *version = NULL, *what = NULL;
	pid_t pid;
	int rc = -1;

	if (!o || !o->file)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "pg_restore of a file without a file");
	if (find_tool(pg, "pg_restore", "ADO_PG_RESTORE", &tool, &version, e) < 0)
		return -1;
	if (!(env = child_env(pg, dbname, e)))
		goto out;
	if (restore_argv(&a, tool, dbname, o) < 0 || asprintf(&what, "pg_restore for database '%s'", dbname) < 0) {
		what = NULL;
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	ado_debug("running %s -j %d into database '%s'", tool, o->jobs, dbname);
	if (spawn(tool, a.v, env, -1, -1, &pid, e) < 0)
		goto out;
	rc = ado_pg_child_wait(pid, what, e);
out:
	arg_free(&a);
	env_free(env);
	free(tool);
	free(version);
	free(what);
	return rc;
}

int ado_pg_check_counts(struct ado_pg *pg, const struct ado_pg_table *expected, size_t n, struct ado_err *e)
{
	char report[900] = "", item[400];
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		const struct ado_pg_table *t = &expected[i];
		const char *shown = t->display ? t->display : t->name;
		char *schema = NULL, *table = NULL;
		const char *params[3];
		PGresult *res;
		int64_t rows = 0;

		if (!t->name && t->display) {
			const char *dot = strchr(t->display, '.');
			if (dot && !(schema = strndup(t->display, dot - t->display)))
				return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			if (!(table = strdup(dot ? dot + 1 : t->display))) {
				free(schema);
				return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			}
		}
		params[0] = t->name;
		params[1] = schema;
		params[2] = table;
		res = query(pg, "look up tables", e, resolve_sql, 3, params);
		free(schema);
		free(table);
		if (!res)
			return -1;
		if (PQntuples(res) == 0) {
			snprintf(item, sizeof(item), "table '%s' missing", shown);
		} else {
			struct ado_pg_table tmp = { 0 };
			int rc = table_names(pg, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), &tmp, e);
			if (rc == 0)
				rc = count_rows(pg, tmp.name, shown, &rows, e);
			free(tmp.name);
			free(tmp.display);
			if (rc < 0) {
				PQclear(res);
				return -1;
			}
			item[0] = '\0';
			if (rows != t->rows)
				snprintf(item, sizeof(item), "table '%s': %lld rows, backup recorded %lld", shown,
					 (long long)rows, (long long)t->rows);
		}
		PQclear(res);
		if (!item[0])
			continue;
		if (bad++ < 8) {
			size_t used = strlen(report);
			snprintf(report + used, sizeof(report) - used, "%s%s", used ? "; " : "", item);
		}
	}
	if (!bad)
		return 0;
	if (bad > 8) {
		size_t used = strlen(report);
		snprintf(report + used, sizeof(report) - used, "; and %zu more", bad - 8);
	}
	ado_err_set(e, ADO_E_INTEGRITY, 0, "database '%s': %s", pg->dbname, report);
	return ado_err_hint(e, "the restored data differs from what the backup recorded: do not trust this backup");
}

int ado_pg_count_tables(struct ado_pg *pg, long *n, struct ado_err *e)
{
	PGresult *res = query(pg, "count tables", e,
			      "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
			      " ON n.oid = c.relnamespace WHERE " USER_TABLES_WHERE, 0, NULL);

	if (!res)
		return -1;
	*n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}
