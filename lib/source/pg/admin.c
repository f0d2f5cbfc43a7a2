/* admin.c - database administration on a maintenance connection (see pg.h). */
#include "source/pg/pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/sig.h"
#include "source/pg/internal.h"

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
	rc = ado_pg_i_command(pg, what, e, sql);
out:
	free(sql);
	PQfreemem(qa);
	PQfreemem(qb);
	return rc;
}

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
	PGresult *res = ado_pg_i_query(pg, "look up databases", e,
				       "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", 1, params);
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
	PGresult *res = ado_pg_i_query(pg, "look up the owner of a database", e,
				       "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database"
				       " WHERE datname = $1", 1, params);
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
	PGresult *res = ado_pg_i_query(pg, "list sessions", e, sessions_sql, 1, params);
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
	PGresult *res = ado_pg_i_query(pg, "terminate sessions", e,
				       "SELECT pid, pg_catalog.pg_terminate_backend(pid)"
				       " FROM pg_catalog.pg_stat_activity"
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
		if (!(res = ado_pg_i_query(pg, "list sessions", e, sessions_sql, 1, params)))
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

/* ---- one statement, for callers above the pg layer (read-only mode, drills) ---- */

int ado_pg_exec(struct ado_pg *pg, const char *what, const char *sql, const char *const *params, int nparams,
		char **value, struct ado_err *e)
{
	PGresult *res = ado_pg_i_query(pg, what, e, sql, nparams, params);

	if (value)
		*value = NULL;
	if (!res)
		return -1;
	if (value && PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0) &&
	    !(*value = strdup(PQgetvalue(res, 0, 0)))) {
		PQclear(res);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	PQclear(res);
	return 0;
}
