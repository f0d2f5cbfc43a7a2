/* readonly.c - the plan's "Read-Only Mode": ALTER DATABASE ... SET
 * default_transaction_read_only. The setting reaches new sessions only, so the
 * sessions already open are listed (they may still write) and ended only on
 * request. */
#include "recover/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/restore.h"
#include "source/pg/pg.h"

/* "name" with inner quotes doubled, for SQL. */
static char *quote_ident(const char *s)
{
	size_t n = strlen(s);
	char *q = malloc(2 * n + 3), *o = q;

	if (!q)
		return NULL;
	*o++ = '"';
	for (; *s; s++) {
		if (*s == '"')
			*o++ = '"';
		*o++ = *s;
	}
	*o++ = '"';
	*o = '\0';
	return q;
}

static const char state_sql[] =
	"SELECT count(*) FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase "
	"WHERE d.datname = $1 AND s.setrole = 0 AND 'default_transaction_read_only=on' = ANY (s.setconfig)";

int ado_recover_read_only(const struct ado_config *cfg, const char *db, int on, int force, ado_recover_say_fn say,
			  void *arg, struct ado_err *e)
{
	const char *params[1] = { db };
	const char *mode = on ? "read-only" : "read-write";
	struct ado_pg_session *ss = NULL;
	struct ado_pg *pg = NULL;
	char *val = NULL, *q = NULL, sql[600], what[400];
	size_t n = 0;
	int rc = -1, exists, was_on;

	if (ado_pg_connect_server(cfg, db, NULL, &pg, e) < 0)
		return -1;
	if ((exists = ado_pg_database_exists(pg, db, e)) < 0)
		goto out;
	if (!exists) {
		ado_err_set(e, ADO_E_NOTFOUND, 0, "database '%s' does not exist", db);
		goto out;
	}
	snprintf(what, sizeof(what), "read the settings of database '%s'", db);
	if (ado_pg_exec(pg, what, state_sql, params, 1, &val, e) < 0)
		goto out;
	was_on = val && strcmp(val, "0") != 0;
	if (was_on == on) {
		ado_sayf(say, arg, "database '%s' is already %s", db, mode);
	} else {
		if (!(q = quote_ident(db))) {
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			goto out;
		}
		snprintf(sql, sizeof(sql), on ? "ALTER DATABASE %s SET default_transaction_read_only = on"
					      : "ALTER DATABASE %s RESET default_transaction_read_only", q);
		snprintf(what, sizeof(what), "set database '%s' %s", db, mode);
		if (ado_pg_exec(pg, what, sql, NULL, 0, NULL, e) < 0)
			goto out;
		ado_sayf(say, arg, "database '%s' is now %s for new sessions", db, mode);
	}
	if (ado_pg_sessions(pg, db, &ss, &n, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		ado_sayf(say, arg, "  session pid %d (user '%s', application '%s', client '%s') %s", ss[i].pid, ss[i].user,
			 ss[i].application, *ss[i].client ? ss[i].client : "local",
			 on ? "opened before: it may still write" : "opened while read-only: read-only until it reconnects");
	if (n && on && force) {
		if (ado_pg_terminate_sessions(pg, db, e) < 0)
			goto out;
		ado_sayf(say, arg, "ended %zu session%s of '%s'", n, n == 1 ? "" : "s", db);
	} else if (n && on) {
		ado_sayf(say, arg, "%zu session%s of '%s' may still write; --force (force: true in a step) ends them", n,
			 n == 1 ? "" : "s", db);
	}
	rc = 0;
out:
	ado_pg_sessions_free(ss, n);
	free(val);
	free(q);
	ado_pg_free(pg);
	return rc;
}
