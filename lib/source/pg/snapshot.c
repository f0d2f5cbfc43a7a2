/* snapshot.c - the exported snapshot a dump runs in, and the row counts beside the dump (see pg.h). */
#include "source/pg/pg.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sig.h"
#include "source/pg/internal.h"

/* --- snapshot --- */

static char *xstrdup(const char *s, struct ado_err *e)
{
	char *d = strdup(s ? s : "");

	if (!d)
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	return d;
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
	if (ado_pg_i_command(pg, "begin the snapshot transaction", e,
			     "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY") < 0)
		goto fail;
	/* The snapshot is taken by this first statement; everything after, the
	 * counts and pg_dump's --snapshot, sees exactly it. */
	if (!(res = ado_pg_i_query(pg, "export a snapshot", e, "SELECT pg_catalog.pg_export_snapshot()", 0, NULL)))
		goto fail;
	if (!(s->id = xstrdup(PQgetvalue(res, 0, 0), e)))
		goto fail;
	/* A long dump must not be cut by server-wide timeouts meant for
	 * interactive sessions: pg_dump needs this transaction while it starts. */
	if (ado_pg_i_command(pg, "set timeouts", e, "SET LOCAL statement_timeout = 0") < 0 ||
	    ado_pg_i_command(pg, "set timeouts", e, "SET LOCAL idle_in_transaction_session_timeout = 0") < 0)
		goto fail;
	/* The counts run beside pg_dump, whose COPY is what a backup waits for:
	 * what they cost in CPU matters, not how soon they finish. Parallel
	 * workers and JIT compiling make a count of a large table about half as
	 * expensive again, taken from the dump. */
	if (ado_pg_i_command(pg, "set the counts' plan", e, "SET LOCAL max_parallel_workers_per_gather = 0") < 0 ||
	    (pg->vnum >= 110000 && ado_pg_i_command(pg, "set the counts' plan", e, "SET LOCAL jit = off") < 0))
		goto fail;
	if (ntables) {
		s->tables = calloc(ntables, sizeof(*s->tables));
		if (!s->tables) {
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			goto fail;
		}
		s->ntables = ntables;
		if (ado_pg_i_resolve_listed(pg, tables, ntables, s->tables, e) < 0)
			goto fail;
	} else {
		s->whole_db = 1;
		if (ado_pg_i_resolve_all(pg, &s->tables, &s->ntables, e) < 0)
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
		if (ado_pg_i_command(pg, "lock the tables", e, lock) < 0)
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
	ado_pg_i_set_db_error(pg, res, what, &pg->count_err);
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
			ado_pg_i_set_db_error(pg, NULL, "count the rows of the tables", &pg->count_err);
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
		return ado_pg_i_set_db_error(pg, NULL, "send the row counts", e);
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
