/* connect.c - connections, and the query helpers every file of the folder uses (see pg.h). */
#include "source/pg/pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "source/pg/internal.h"

/* --- errors and queries (shared: internal.h) --- */

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

void ado_pg_i_version_text(int vnum, char *buf, size_t len)
{
	if (vnum >= 100000)
		snprintf(buf, len, "%d.%d", vnum / 10000, vnum % 10000);
	else
		snprintf(buf, len, "%d.%d.%d", vnum / 10000, vnum / 100 % 100, vnum % 100);
}

int ado_pg_i_set_db_error(struct ado_pg *pg, const PGresult *res, const char *what, struct ado_err *e)
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

PGresult *ado_pg_i_query(struct ado_pg *pg, const char *what, struct ado_err *e, const char *sql, int nparams,
			 const char *const *params)
{
	PGresult *res = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	ado_pg_i_set_db_error(pg, res, what, e);
	PQclear(res);
	return NULL;
}

int ado_pg_i_command(struct ado_pg *pg, const char *what, struct ado_err *e, const char *sql)
{
	PGresult *res = ado_pg_i_query(pg, what, e, sql, 0, NULL);

	if (!res)
		return -1;
	PQclear(res);
	return 0;
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
	ado_pg_i_version_text(pg->vnum, pg->version, sizeof(pg->version));
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
