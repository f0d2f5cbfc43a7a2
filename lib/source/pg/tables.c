/* tables.c - table names: parsing the configured ones, resolving them in the catalog (see pg.h). */
#include "source/pg/pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/pg/internal.h"

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

int ado_pg_i_table_names(struct ado_pg *pg, const char *nsp, const char *rel, struct ado_pg_table *t,
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

const char ado_pg_i_resolve_sql[] =
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

int ado_pg_i_resolve_listed(struct ado_pg *pg, char *const *names, size_t n, struct ado_pg_table *t,
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
		res = ado_pg_i_query(pg, "look up tables", e, ado_pg_i_resolve_sql, 3, params);
		free(schema);
		free(table);
		if (!res)
			return -1;
		if (PQntuples(res) == 0) {
			list_add(missing, sizeof(missing), names[i]);
			nmissing++;
		} else if (strcmp(PQgetvalue(res, 0, 2), "r") != 0) {
			list_add(notable, sizeof(notable), names[i]);
		} else if (ado_pg_i_table_names(pg, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), &t[i], e) < 0) {
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

int ado_pg_i_resolve_all(struct ado_pg *pg, struct ado_pg_table **out, size_t *nout, struct ado_err *e)
{
	PGresult *res = ado_pg_i_query(pg, "list tables", e,
				       "SELECT n.nspname, c.relname, pg_catalog.has_table_privilege(c.oid, 'SELECT')"
				       " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
				       " ON n.oid = c.relnamespace"
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
		if (ado_pg_i_table_names(pg, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), &t[i], e) < 0)
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
