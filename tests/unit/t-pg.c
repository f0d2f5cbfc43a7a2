/* t-pg.c - lib/source/pg/ against a real PostgreSQL 15 cluster.
 *
 * Run by tests/cli/t5000-pg-lib.sh, which starts a scram cluster (TCP needs
 * the password, the Unix socket is trust), loads tests/lib/schema.sql into
 * ado_primary and exports ADO_TEST_PG_SOCKDIR, ADO_TEST_PG_PWFILE and
 * ADO_TEST_TMP. Run alone (prove tests/unit) it skips. */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "io/io.h"
#include "source/pg/pg.h"
#include "base/sig.h"
#include "tap.h"

static const char *sockdir, *pwfile, *tmp;
static char sockinfo[512];	/* "host=SOCKDIR": trust, as postgres */

/* Admin SQL through the socket with plain libpq (not the code under test). */
static int sql(const char *db, const char *stmt)
{
	char info[700];
	PGconn *c;
	PGresult *r;
	int ok;

	snprintf(info, sizeof(info), "%s dbname=%s", sockinfo, db);
	c = PQconnectdb(info);
	r = PQexec(c, stmt);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		printf("# sql failed: %s: %s", stmt, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

/* First value of a query, into buf. */
static const char *sql_value(const char *db, const char *stmt, char *buf, size_t len)
{
	char info[700];
	PGconn *c;
	PGresult *r;

	snprintf(info, sizeof(info), "%s dbname=%s", sockinfo, db);
	c = PQconnectdb(info);
	r = PQexec(c, stmt);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
	else
		snprintf(buf, len, "(error: %s)", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return buf;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[8192];
	size_t n;

	if (!f)
		return strcpy(buf, "(missing)");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Read fd to its end into path. */
static long long drain(int fd, const char *path)
{
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char buf[65536];
	long long total = 0;
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		if (write(out, buf, r) != r)
			return -1;
		total += r;
	}
	close(out);
	close(fd);
	return r < 0 ? -1 : total;
}

/* Push a file through a writer in odd-sized chunks. */
static int feed(struct ado_writer *w, const char *path, struct ado_err *e)
{
	int fd = open(path, O_RDONLY);
	char buf[70000];
	ssize_t r;
	int rc = 0;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if ((rc = ado_writer_write(w, buf, r, e)) < 0)
			break;
	close(fd);
	return rc;
}

static void test_parse(void)
{
	struct ado_err e = { 0 };
	char *s, *t;

	ok(ado_pg_parse_table("users", &s, &t, &e) == 0 && !s && strcmp(t, "users") == 0, "parse: plain name");
	free(s), free(t);
	ok(ado_pg_parse_table("reporting.daily", &s, &t, &e) == 0 && s && strcmp(s, "reporting") == 0 &&
	   strcmp(t, "daily") == 0, "parse: schema.table");
	free(s), free(t);
	ok(ado_pg_parse_table("Mixed Case Table", &s, &t, &e) == 0 && !s && strcmp(t, "Mixed Case Table") == 0,
	   "parse: raw name kept verbatim (case, spaces)");
	free(s), free(t);
	ok(ado_pg_parse_table("\"my.table\"", &s, &t, &e) == 0 && !s && strcmp(t, "my.table") == 0,
	   "parse: quoted name with a dot");
	free(s), free(t);
	ok(ado_pg_parse_table("public.\"a\"\"b\"", &s, &t, &e) == 0 && strcmp(s, "public") == 0 &&
	   strcmp(t, "a\"b") == 0, "parse: doubled quote inside quotes");
	free(s), free(t);
	ok(ado_pg_parse_table("\"unterminated", &s, &t, &e) < 0 && e.kind == ADO_E_CONFIG, "parse: unterminated quote refused");
	like(e.msg, "unterminated quote in table name '\"unterminated'", "parse: message names the table");
	ok(ado_pg_parse_table("a.b.c", &s, &t, &e) < 0 && e.kind == ADO_E_CONFIG, "parse: three parts refused");
	like(e.msg, "more than schema.table", "parse: three parts message");
	ok(ado_pg_parse_table("a.", &s, &t, &e) < 0 && e.kind == ADO_E_CONFIG, "parse: empty part refused");
	ok(ado_pg_parse_table("\"x\"y", &s, &t, &e) < 0 && e.kind == ADO_E_CONFIG, "parse: junk after quotes refused");
}

static void test_connect(struct ado_config *cfg, const char *port)
{
	struct ado_pg *pg = NULL;
	struct ado_err e = { 0 };
	char info[700], badpw[600];
	struct ado_database nopw = { .name = "ado_primary" };
	struct ado_config cfg_nopw = { .databases = &nopw, .ndatabases = 1 };
	struct ado_database wrong = { .name = "ado_primary" };
	struct ado_config cfg_wrong = { .databases = &wrong, .ndatabases = 1 };

	ok(ado_pg_connect(cfg, "ado_primary", &pg, &e) == 0, "connect with the password file: %s", e.msg);
	if (pg) {
		like(ado_pg_server_version(pg), "15.", "server version %s", ado_pg_server_version(pg));
		is_int(ado_pg_server_major(pg), 15, "server major");
		is_str(ado_pg_dbname(pg), "ado_primary", "dbname");
	}
	ado_pg_free(pg);
	pg = NULL;

	ok(ado_pg_connect(&cfg_nopw, "ado_primary", &pg, &e) < 0 && !pg, "connect without a password fails");
	is_int(e.kind, ADO_E_DB, "no password: ADO_E_DB");
	snprintf(info, sizeof(info), "cannot connect to database 'ado_primary' on 127.0.0.1:%s", port);
	like(e.msg, info, "no password: names database and host");
	like(e.hint, "the server wants a password for user 'postgres'", "no password: hint");

	snprintf(badpw, sizeof(badpw), "%s/badpw", tmp);
	write_file(badpw, "not-the-password\n", 0600);
	wrong.password.file = badpw;
	ok(ado_pg_connect(&cfg_wrong, "ado_primary", &pg, &e) < 0, "connect with a wrong password fails");
	is_int(e.kind, ADO_E_DB, "wrong password: ADO_E_DB");
	like(e.msg, "password authentication failed for user \"postgres\"", "wrong password: libpq's reason");
	like(e.hint, "password authentication failed for user 'postgres': check password_file", "wrong password: hint");
	ok(!strstr(e.msg, "not-the-password") && !strstr(e.hint, "not-the-password"), "wrong password: no secret in message");

	ok(ado_pg_connect_conninfo("host=127.0.0.1 port=1", "ado_primary", &pg, &e) < 0, "wrong port fails");
	like(e.msg, "cannot connect to database 'ado_primary' on 127.0.0.1:1: Connection refused", "wrong port: message");
	like(e.hint, "is the server running on 127.0.0.1:1? check PGHOST/PGPORT or the conninfo in databases:",
	     "wrong port: hint");

	ok(ado_pg_connect_conninfo(sockinfo, "no_such_db", &pg, &e) < 0, "missing database fails");
	like(e.msg, "database \"no_such_db\" does not exist", "missing database: libpq's reason");
	like(e.hint, "the database 'no_such_db' does not exist", "missing database: hint");

	/* dbname overrides the conninfo's own; a name with '=' stays a name. */
	snprintf(info, sizeof(info), "%s dbname=postgres", sockinfo);
	ok(ado_pg_connect_conninfo(info, "ado_primary", &pg, &e) == 0 && strcmp(ado_pg_dbname(pg), "ado_primary") == 0,
	   "dbname overrides the conninfo's dbname");
	ado_pg_free(pg);
	pg = NULL;
	ok(ado_pg_connect_conninfo(sockinfo, "a=b", &pg, &e) < 0 && strstr(e.msg, "database \"a=b\" does not exist"),
	   "a database name with '=' is not taken for a conninfo: %s", e.msg);
}

static void test_snapshot(struct ado_pg *pg, struct ado_pg_snapshot **keep)
{
	char *listed[] = { "users", "tasks", "configurations", "Mixed Case Table", "reporting.daily" };
	char *missing[] = { "users", "nope", "Nope Two" };
	char *view[] = { "users_view" };
	static const long long want[] = { 300, 500, 201, 120, 100 };
	struct ado_pg_snapshot *s = NULL;
	struct ado_pg *lim = NULL;
	struct ado_err e = { 0 };
	char info[600];
	long n = 0;

	ok(ado_pg_snapshot_begin(pg, listed, 5, &s, &e) == 0, "snapshot of listed tables: %s", e.msg);
	if (!s)
		return;
	ok(s->id && strlen(s->id) > 5, "snapshot id '%s'", s->id);
	is_int(s->ntables, 5, "five tables");
	for (size_t i = 0; i < s->ntables && i < 5; i++)
		is_int(s->tables[i].rows, want[i], "rows of %s", s->tables[i].display);
	is_str(s->tables[3].name, "\"public\".\"Mixed Case Table\"", "quoted name for pg_dump -t");
	is_str(s->tables[3].display, "public.Mixed Case Table", "display name");
	is_str(s->tables[4].display, "reporting.daily", "schema-qualified display");
	/* Rows added after the snapshot are neither counted nor dumped. */
	ok(sql("ado_primary", "INSERT INTO users (email) VALUES ('late@example.com')") == 0, "insert after the snapshot");
	*keep = s;

	/* A second connection for the failure cases (the first holds the snapshot). */
	ok(ado_pg_connect_like(pg, "ado_primary", &lim, &e) == 0, "connect_like: %s", e.msg);
	ok(ado_pg_snapshot_begin(lim, missing, 3, &s, &e) < 0 && !s, "missing tables refused");
	is_int(e.kind, ADO_E_NOTFOUND, "missing: ADO_E_NOTFOUND");
	is_str(e.msg, "tables 'nope', 'Nope Two' not found in database 'ado_primary'", "missing: every table named");
	is_int(PQtransactionStatus(NULL), PQTRANS_UNKNOWN, "(sanity)");

	sql("ado_primary", "CREATE VIEW users_view AS SELECT * FROM users");
	ok(ado_pg_snapshot_begin(lim, view, 1, &s, &e) < 0 && e.kind == ADO_E_CONFIG, "a view is refused");
	like(e.msg, "'users_view' in database 'ado_primary' is not a plain table", "view: message");

	ok(ado_pg_snapshot_begin(lim, NULL, 0, &s, &e) == 0 && s, "whole-database snapshot: %s", e.msg);
	if (s) {
		is_int(s->ntables, 8, "whole database: 8 tables (no view, no catalog)");
		is_str(s->tables[0].display, "public.Mixed Case Table", "whole database: sorted by schema, table");
		is_int(s->tables[0].rows, 120, "whole database: rows of the mixed-case table");
		is_str(s->tables[7].display, "reporting.daily", "whole database: other schema included");
		ado_pg_snapshot_end(lim, s);
		s = NULL;
	}
	ok(ado_pg_count_tables(lim, &n, &e) == 0, "count_tables");
	is_int(n, 8, "count_tables: 8 user tables");
	ado_pg_free(lim);
	lim = NULL;

	sql("ado_primary", "CREATE ROLE limited LOGIN; GRANT SELECT ON tasks TO limited");
	snprintf(info, sizeof(info), "%s user=limited", sockinfo);
	ok(ado_pg_connect_conninfo(info, "ado_primary", &lim, &e) == 0, "connect as limited: %s", e.msg);
	if (lim) {
		char *two[] = { "tasks", "users" };
		ok(ado_pg_snapshot_begin(lim, two, 2, &s, &e) < 0 && e.kind == ADO_E_DB, "no SELECT privilege refused");
		is_str(e.msg, "permission denied for table 'public.users' in database 'ado_primary'", "privilege: message");
		like(e.hint, "GRANT SELECT ON \"public\".\"users\" TO limited", "privilege: GRANT hint");
		is_int(PQTRANS_IDLE, PQTRANS_IDLE, "(sanity)");
	}
	ado_pg_free(lim);
}

/* Read r to its end into path; bytes read, or -1 with e. */
static long long read_all(struct ado_reader *r, const char *path, struct ado_err *e)
{
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char buf[65536];
	long long total = 0;
	size_t got;

	for (;;) {
		if (ado_reader_read(r, buf, sizeof(buf), &got, e) < 0) {
			total = -1;
			break;
		}
		if (got == 0)
			break;
		if (write(out, buf, got) != (ssize_t)got) {
			total = -1;
			break;
		}
		total += got;
	}
	close(out);
	return total;
}

/* The split snapshot: open (checks, no counts), pg_dump, counts sent beside
 * it and polled by the dump's reader, collected after. */
static void test_counts(struct ado_pg *pg0)
{
	char *listed[] = { "users", "tasks", "Mixed Case Table" };
	char *missing[] = { "users", "nope" };
	char *tool = NULL, *version = NULL, path[600], before[64], after[64], buf[100];
	struct ado_pg_snapshot *s = NULL;
	struct ado_reader *rd = NULL;
	struct ado_pg *pg = NULL;
	struct ado_err e = { 0 };
	long long size;
	pid_t pid = -1;
	int fd = -1, rc;

	if (ado_pg_connect_like(pg0, "ado_primary", &pg, &e) < 0) {
		ok(0, "counts: connect: %s", e.msg);
		return;
	}
	ok(ado_pg_snapshot_open(pg, missing, 2, &s, &e) < 0 && !s, "open: a missing table is refused before any dump");
	is_int(e.kind, ADO_E_NOTFOUND, "open: missing: ADO_E_NOTFOUND");
	is_str(e.msg, "table 'nope' not found in database 'ado_primary'", "open: missing: message");

	ok(ado_pg_count_poll(pg, &e) < 0 && e.kind == ADO_E_INTERNAL, "poll before any send: ADO_E_INTERNAL");
	is_str(e.msg, "no row counts were sent in database 'ado_primary'", "poll before send: message");
	ok(ado_pg_count_finish(pg, &e) < 0 && e.kind == ADO_E_INTERNAL, "finish before any send: ADO_E_INTERNAL");

	sql_value("ado_primary", "SELECT count(*) FROM users", before, sizeof(before));
	ok(ado_pg_snapshot_open(pg, listed, 3, &s, &e) == 0 && s, "open listed tables: %s", e.msg);
	if (!s)
		goto out;
	ok(s->tables[0].rows == -1 && s->tables[2].rows == -1, "open: nothing counted yet (-1)");
	is_str(s->tables[2].name, "\"public\".\"Mixed Case Table\"", "open: names resolved");
	/* ACCESS SHARE is held: a TRUNCATE or rewrite waits for the end of the backup. */
	ok(sql("ado_primary", "SET lock_timeout = '200ms'; BEGIN; LOCK TABLE \"Mixed Case Table\" IN ACCESS EXCLUSIVE "
	       "MODE; ROLLBACK") < 0, "open: the tables are locked against ACCESS EXCLUSIVE");
	ok(sql("ado_primary", "INSERT INTO users (email) SELECT 'conc' || g || '@example.com' FROM generate_series(1, 7) g")
	   == 0, "rows inserted after the snapshot");
	sql_value("ado_primary", "SELECT count(*) FROM users", after, sizeof(after));
	ok(atoll(after) == atoll(before) + 7, "live table grew to %s", after);

	ok(ado_pg_dump_find(pg, &tool, &version, &e) == 0 && ado_pg_dump_spawn(pg, tool, s, 0, &pid, &fd, &e) == 0,
	   "pg_dump spawned before the counts: %s", e.msg);
	ok(ado_pg_count_send(pg, s, &e) == 0, "counts sent: %s", e.msg);
	ok(ado_pg_count_send(pg, s, &e) < 0 && e.kind == ADO_E_INTERNAL, "a second send: ADO_E_INTERNAL");
	is_str(e.msg, "row counts are already running in database 'ado_primary'", "second send: message");
	rc = ado_pg_count_poll(pg, &e);
	ok(rc == 0 || rc == 1, "poll while the dump runs: 0 or 1 (%d)", rc);
	rd = fd >= 0 ? ado_fd_reader_new(fd, 1, &e) : NULL;
	fd = -1;
	if (rd)
		rd = ado_pg_count_reader_new(pg, rd, &e);
	snprintf(path, sizeof(path), "%s/counted.dump", tmp);
	size = rd ? read_all(rd, path, &e) : -1;
	ok(size > 0, "the dump reads through the counting reader (%lld bytes)", size);
	like(read_file(path), "PGDMP", "counting reader: bytes unchanged (custom-format header)");
	ado_reader_free(rd);
	rd = NULL;
	ok(pid > 0 && ado_pg_child_wait(pid, "pg_dump for database 'ado_primary'", &e) == 0, "pg_dump ends: %s", e.msg);
	pid = -1;
	ok(ado_pg_count_finish(pg, &e) == 0, "counts collected: %s", e.msg);
	snprintf(buf, sizeof(buf), "%lld", (long long)s->tables[0].rows);
	is_str(buf, before, "users counted in the snapshot, not the live table");
	is_int(s->tables[1].rows, 500, "tasks counted");
	is_int(s->tables[2].rows, 120, "mixed-case table counted");
	ok(ado_pg_count_poll(pg, &e) < 0 && e.kind == ADO_E_INTERNAL, "after finish nothing is pending");
	ado_pg_snapshot_end(pg, s);
	s = NULL;

	/* A count that fails: its table is named, the rest skipped, the reader fails too. */
	ok(ado_pg_snapshot_open(pg, listed, 3, &s, &e) == 0, "open again: %s", e.msg);
	if (!s)
		goto out;
	free(s->tables[1].name);
	s->tables[1].name = strdup("\"public\".\"gone_meanwhile\"");
	ok(ado_pg_count_send(pg, s, &e) == 0, "send counts with a table that fails");
	snprintf(path, sizeof(path), "%s/small", tmp);
	write_file(path, "some bytes\n", 0600);
	rd = ado_pg_count_reader_new(pg, ado_fd_reader_new(open(path, O_RDONLY), 1, &e), &e);
	rc = 0;
	for (int i = 0; i < 100 && rd && rc == 0; i++) {
		struct timespec tick = { 0, 20 * 1000 * 1000 };
		size_t got;
		rc = ado_reader_read(rd, buf, sizeof(buf), &got, &e);
		if (rc == 0)
			nanosleep(&tick, NULL);
	}
	ok(rc < 0 && e.kind == ADO_E_DB, "the reader fails with the count's error");
	is_str(e.msg, "cannot count the rows of table 'public.tasks' in database 'ado_primary': relation "
	       "\"public.gone_meanwhile\" does not exist", "failed count: the table and the server's reason");
	ado_reader_free(rd);
	rd = NULL;
	ok(ado_pg_count_finish(pg, &e) < 0 && e.kind == ADO_E_DB, "finish reports the failed count");
	like(e.msg, "cannot count the rows of table 'public.tasks'", "finish: same message");
	ado_pg_snapshot_end(pg, s);
	s = NULL;

	/* Counts still running when the snapshot ends are cancelled: the connection is free again. */
	ok(ado_pg_snapshot_open(pg, NULL, 0, &s, &e) == 0 && ado_pg_count_send(pg, s, &e) == 0,
	   "whole-database counts sent: %s", e.msg);
	ado_pg_snapshot_end(pg, s);
	s = NULL;
	ok(ado_pg_snapshot_begin(pg, listed, 3, &s, &e) == 0, "after an end with counts in flight, begin works: %s",
	   e.msg);
	ok(s && s->tables[1].rows == 500, "begin still counts (open + send + finish)");
out:
	if (fd >= 0)
		close(fd);
	ado_reader_free(rd);
	if (pid > 0)
		ado_pg_child_wait(pid, "pg_dump", NULL);
	ado_pg_snapshot_end(pg, s);
	ado_pg_free(pg);
	free(tool);
	free(version);
}

static void test_find(struct ado_pg *pg)
{
	char *path = NULL, *version = NULL, fake[600];
	struct ado_err e = { 0 };

	unsetenv("ADO_PG_DUMP");
	ok(ado_pg_dump_find(pg, &path, &version, &e) == 0, "pg_dump found: %s", e.msg);
	like(path, "pg_dump", "pg_dump path %s", path ? path : "-");
	like(version, "15.", "pg_dump version %s", version ? version : "-");
	free(path), free(version);
	ok(ado_pg_restore_find(pg, &path, &version, &e) == 0, "pg_restore found");
	like(path, "pg_restore", "pg_restore path %s", path ? path : "-");
	free(path), free(version);

	setenv("ADO_PG_DUMP", "/nonexistent/pg_dump", 1);
	ok(ado_pg_dump_find(pg, &path, &version, &e) < 0 && !path, "missing pg_dump refused");
	is_int(e.kind, ADO_E_CONFIG, "missing pg_dump: ADO_E_CONFIG");
	is_str(e.msg, "cannot run pg_dump '/nonexistent/pg_dump' (from ADO_PG_DUMP)", "missing pg_dump: message");

	snprintf(fake, sizeof(fake), "%s/old_pg_dump", tmp);
	write_file(fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.0'\n", 0755);
	setenv("ADO_PG_DUMP", fake, 1);
	ok(ado_pg_dump_find(pg, &path, &version, &e) < 0, "older pg_dump refused");
	is_int(e.kind, ADO_E_CONFIG, "older pg_dump: ADO_E_CONFIG");
	{
		char want[100];
		snprintf(want, sizeof(want), "pg_dump 14.0 is older than the server %s", ado_pg_server_version(pg));
		is_str(e.msg, want, "older pg_dump: message");
	}
	like(e.hint, "install postgresql-client-15", "older pg_dump: hint");

	write_file(fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 16.2 (Debian)'\n", 0755);
	ok(ado_pg_dump_find(pg, &path, &version, &e) == 0 && strcmp(version, "16.2") == 0, "newer pg_dump accepted");
	free(path), free(version);
	unsetenv("ADO_PG_DUMP");
}

static void test_dump_fail(struct ado_pg *pg, struct ado_pg_snapshot *s)
{
	char fake[600], rec[600], script[2000];
	struct ado_err e = { 0 };
	pid_t pid;
	int fd;

	snprintf(fake, sizeof(fake), "%s/failing_pg_dump", tmp);
	snprintf(rec, sizeof(rec), "%s/failing.rec", tmp);
	snprintf(script, sizeof(script),
		 "#!/bin/sh\n{ echo \"argv: $*\"; echo \"pw: ${PGPASSWORD:+set}\"; echo \"db: $PGDATABASE\";"
		 " echo \"host: $PGHOST:$PGPORT\"; } > '%s'\necho 'pg_dump: error: simulated' >&2\nexit 3\n", rec);
	write_file(fake, script, 0755);
	ok(ado_pg_dump_spawn(pg, fake, s, 0, &pid, &fd, &e) == 0, "spawn a failing pg_dump");
	drain(fd, "/dev/null");
	ok(ado_pg_child_wait(pid, "pg_dump for database 'ado_primary'", &e) < 0, "its failure is reported");
	is_int(e.kind, ADO_E_CHILD, "failing pg_dump: ADO_E_CHILD");
	is_str(e.msg, "pg_dump failed for database 'ado_primary' (exit 3)", "failing pg_dump: message");
	like(read_file(rec), "pw: set", "the child gets the password in its environment");
	ok(!strstr(read_file(rec), "uJ7-secret"), "the password is not in argv");
	like(read_file(rec), "-Fc -Z0 --no-password --snapshot=", "argv: custom format, no compression, snapshot");
	like(read_file(rec), "-t \"public\".\"Mixed Case Table\" -t \"reporting\".\"daily\"", "argv: quoted tables");
	like(read_file(rec), "db: ado_primary", "the child gets PGDATABASE");
	like(read_file(rec), "host: 127.0.0.1:", "the child gets PGHOST/PGPORT");

	write_file(fake, "#!/bin/sh\nkill -9 $$\n", 0755);
	ok(ado_pg_dump_spawn(pg, fake, s, 0, &pid, &fd, &e) == 0, "spawn a killed pg_dump");
	drain(fd, "/dev/null");
	ok(ado_pg_child_wait(pid, "pg_dump for database 'ado_primary'", &e) < 0, "a signal is reported");
	is_str(e.msg, "pg_dump failed for database 'ado_primary' (killed by signal 9)", "killed pg_dump: message");
}

static int dump_to(struct ado_pg *pg, struct ado_pg_snapshot *s, int whole, const char *path)
{
	char *tool = NULL, *version = NULL;
	struct ado_err e = { 0 };
	long long size;
	pid_t pid;
	int fd, rc;

	if (ado_pg_dump_find(pg, &tool, &version, &e) < 0 || ado_pg_dump_spawn(pg, tool, s, whole, &pid, &fd, &e) < 0) {
		printf("# %s\n", e.msg);
		free(tool), free(version);
		return -1;
	}
	size = drain(fd, path);
	rc = ado_pg_child_wait(pid, "pg_dump for database 'ado_primary'", &e);
	if (rc < 0)
		printf("# %s\n", e.msg);
	free(tool), free(version);
	return size > 0 && rc == 0 ? 0 : -1;
}

static int restore_stream(struct ado_pg *admin, const char *db, const char *file, int no_owner, struct ado_err *e)
{
	struct ado_pg_restore_opts o = { .no_owner = no_owner };
	struct ado_writer *w = ado_pg_restore_writer_new(admin, db, &o, e);
	int rc;

	if (!w)
		return -1;
	rc = feed(w, file, e);
	if (rc == 0)
		rc = ado_writer_close(w, e);
	ado_writer_free(w);
	return rc;
}

/* An ordered md5 of a table's rows, for an every-row comparison. */
static void table_md5(const char *db, const char *table, char *buf, size_t len)
{
	char q[300];

	snprintf(q, sizeof(q), "SELECT md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM %s t", table);
	sql_value(db, q, buf, len);
}

int main(void)
{
	struct ado_database db = { .name = "ado_primary" };
	struct ado_config cfg = { .databases = &db, .ndatabases = 1 };
	struct ado_pg *pg = NULL, *admin = NULL, *in = NULL;
	struct ado_pg_snapshot *s = NULL, *whole = NULL;
	struct ado_err e = { 0 };
	char dump1[600], dump2[600], a[100], b[100], info[700];
	const char *port = getenv("PGPORT");

	sockdir = getenv("ADO_TEST_PG_SOCKDIR");
	pwfile = getenv("ADO_TEST_PG_PWFILE");
	tmp = getenv("ADO_TEST_TMP");
	if (!sockdir || !pwfile || !tmp || !port) {
		printf("1..0 # SKIP run by tests/cli/t5000-pg-lib.sh (needs a cluster)\n");
		return 0;
	}
	snprintf(sockinfo, sizeof(sockinfo), "host=%s port=%s user=postgres", sockdir, port);
	db.password.file = (char *)pwfile;

	test_parse();
	test_connect(&cfg, port);

	if (ado_pg_connect(&cfg, "ado_primary", &pg, &e) < 0) {
		printf("# cannot go on: %s\n", e.msg);
		return done_testing() | 1;
	}
	test_find(pg);
	test_snapshot(pg, &s);
	if (!s)
		return done_testing() | 1;
	test_counts(pg);
	test_dump_fail(pg, s);

	snprintf(dump1, sizeof(dump1), "%s/listed.dump", tmp);
	ok(dump_to(pg, s, 0, dump1) == 0, "dump of the listed tables");
	like(read_file(dump1), "PGDMP", "custom-format header");
	ado_pg_snapshot_end(pg, NULL);	/* ends the transaction only: s is still ours */

	/* Restore into a fresh database, then compare with the snapshot's counts. */
	snprintf(info, sizeof(info), "%s dbname=postgres", sockinfo);
	ok(ado_pg_connect_conninfo(info, NULL, &admin, &e) == 0, "admin connection: %s", e.msg);
	ok(ado_pg_create_database(admin, "ado_verify_t1", &e) == 0, "create database: %s", e.msg);
	ok(ado_pg_create_database(admin, "ado_verify_t1", &e) < 0 && e.kind == ADO_E_EXISTS, "create again: ADO_E_EXISTS");
	like(e.msg, "cannot create database 'ado_verify_t1' in database 'postgres'", "create again: message");
	is_int(ado_pg_database_exists(admin, "ado_verify_t1", &e), 1, "exists: yes");
	is_int(ado_pg_database_exists(admin, "ado_verify_nope", &e), 0, "exists: no");
	/* Without its schema a listed-table dump does not restore. */
	ok(restore_stream(pg, "ado_verify_t1", dump1, 1, &e) < 0 && e.kind == ADO_E_CHILD,
	   "restore of a listed dump without its schemas fails");
	ado_pg_drop_database(admin, "ado_verify_t1", &e);
	ado_pg_create_database(admin, "ado_verify_t1", &e);
	ok(ado_pg_connect_like(pg, "ado_verify_t1", &in, &e) == 0, "connect to the fresh database");
	ok(in && ado_pg_create_schemas(in, s->tables, s->ntables, &e) == 0, "create schemas: %s", e.msg);
	is_str(sql_value("ado_verify_t1", "SELECT count(*) FROM pg_namespace WHERE nspname = 'reporting'", a, sizeof(a)),
	       "1", "schema reporting created");
	/* Stream the dump in through pg (TCP + password): the child gets them by environment. */
	ok(restore_stream(pg, "ado_verify_t1", dump1, 1, &e) == 0, "pg_restore writer: %s", e.msg);
	if (in) {
		struct ado_pg_table by_display[2] = { { NULL, "public.users", 300 }, { NULL, "public.Mixed Case Table", 120 } };
		ok(ado_pg_check_counts(in, s->tables, s->ntables, &e) == 0, "counts match the snapshot (late insert not in): %s",
		   e.msg);
		ok(ado_pg_check_counts(in, by_display, 2, &e) == 0, "counts by display name: %s", e.msg);
		sql("ado_verify_t1", "ALTER TABLE tasks DROP CONSTRAINT tasks_user_id_fkey; DELETE FROM users WHERE id = 300");
		ok(ado_pg_check_counts(in, s->tables, s->ntables, &e) < 0, "changed row count detected");
		is_int(e.kind, ADO_E_INTEGRITY, "changed count: ADO_E_INTEGRITY");
		is_str(e.msg, "database 'ado_verify_t1': table 'public.users': 299 rows, backup recorded 300",
		       "changed count: names the table and both counts");
		sql("ado_verify_t1", "DROP TABLE \"Mixed Case Table\"");
		ok(ado_pg_check_counts(in, s->tables, s->ntables, &e) < 0, "missing table detected");
		like(e.msg, "table 'public.Mixed Case Table' missing", "missing table: named");
		like(e.msg, "table 'public.users': 299 rows", "missing table: other problems still listed");
		ado_pg_free(in);
		in = NULL;
	}

	/* Whole database: every row, the sequence, the large row. */
	ok(ado_pg_snapshot_begin(pg, NULL, 0, &whole, &e) == 0, "whole snapshot: %s", e.msg);
	snprintf(dump2, sizeof(dump2), "%s/whole.dump", tmp);
	ok(whole && dump_to(pg, whole, 1, dump2) == 0, "whole-database dump");
	ado_pg_snapshot_end(pg, NULL);
	ok(ado_pg_create_database(admin, "ado_verify_t2", &e) == 0, "create second database");
	ok(restore_stream(admin, "ado_verify_t2", dump2, 0, &e) == 0, "restore keeping owners: %s", e.msg);
	ok(ado_pg_connect_like(admin, "ado_verify_t2", &in, &e) == 0, "connect to it");
	if (in && whole)
		ok(ado_pg_check_counts(in, whole->tables, whole->ntables, &e) == 0, "whole counts: %s", e.msg);
	ado_pg_free(in);
	in = NULL;
	is_str(sql_value("ado_verify_t2", "SELECT last_value FROM invoice_seq", a, sizeof(a)), "424242", "sequence value kept");
	is_str(sql_value("ado_verify_t2", "SELECT length(value) FROM configurations WHERE key = 'config.large'", a,
			 sizeof(a)), "2097152", "large row kept");
	{
		const char *tables[] = { "users", "tasks", "configurations", "execution_logs", "metrics", "user_settings",
					 "\"Mixed Case Table\"", "reporting.daily" };
		int same = 1;
		for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++) {
			table_md5("ado_primary", tables[i], a, sizeof(a));
			table_md5("ado_verify_t2", tables[i], b, sizeof(b));
			if (strcmp(a, b) != 0 || a[0] == '(') {
				printf("# %s: %s vs %s\n", tables[i], a, b);
				same = 0;
			}
		}
		ok(same, "every row of every table identical (ordered md5)");
	}

	/* Parallel restore from a file; -j on a stream refused. */
	{
		struct ado_pg_restore_opts o = { .jobs = 2, .no_owner = 1, .file = dump2 };
		ok(ado_pg_create_database(admin, "ado_verify_t4", &e) == 0, "create database for -j");
		ok(ado_pg_restore_file(admin, "ado_verify_t4", &o, &e) == 0, "pg_restore -j 2 from a file: %s", e.msg);
		ok(ado_pg_connect_like(admin, "ado_verify_t4", &in, &e) == 0 && whole &&
		   ado_pg_check_counts(in, whole->tables, whole->ntables, &e) == 0, "-j restore counts: %s", e.msg);
		ado_pg_free(in);
		in = NULL;
		ok(!ado_pg_restore_writer_new(admin, "ado_verify_t4", &o, &e) && e.kind == ADO_E_USAGE,
		   "-j on a stream refused");
	}

	/* A corrupt stream: pg_restore fails and says so. */
	{
		char junk[600];
		snprintf(junk, sizeof(junk), "%s/junk.dump", tmp);
		write_file(junk, "this is not a dump\n", 0600);
		ok(ado_pg_create_database(admin, "ado_verify_t3", &e) == 0, "create database for junk");
		ok(restore_stream(admin, "ado_verify_t3", junk, 1, &e) < 0, "junk restore fails");
		is_int(e.kind, ADO_E_CHILD, "junk: ADO_E_CHILD");
		like(e.msg, "pg_restore failed for database 'ado_verify_t3' (exit 1)", "junk: message");
	}

	/* pg_restore dying while we still stream megabytes: EPIPE, not SIGPIPE. */
	ok(restore_stream(admin, "ado_verify_no_such_db", dump2, 1, &e) < 0, "restore into a missing database fails");
	is_int(e.kind, ADO_E_CHILD, "dead pg_restore: ADO_E_CHILD (and we are still alive)");
	like(e.msg, "pg_restore failed for database 'ado_verify_no_such_db' (exit 1)", "dead pg_restore: message");

	/* Added in phase 2: the server of a configured database, conninfo dbname, owner copy. */
	{
		struct ado_pg *srv = NULL;
		ok(ado_pg_connect_server(&cfg, "ado_primary", NULL, &srv, &e) == 0 && strcmp(ado_pg_dbname(srv), "postgres") == 0,
		   "connect_server: the configured server's postgres database: %s", e.msg);
		ado_pg_free(srv);
		srv = NULL;
		db.password.file = "/nonexistent/pw";
		ok(ado_pg_connect_server(&cfg, "ado_primary", "postgres", &srv, &e) < 0 && e.kind == ADO_E_CONFIG,
		   "connect_server: the entry's password reference is used (missing file: ADO_E_CONFIG)");
		db.password.file = (char *)pwfile;
		ado_pg_free(srv);
		is_int(ado_pg_conninfo_has_dbname("host=x dbname=y"), 1, "conninfo names a database");
		is_int(ado_pg_conninfo_has_dbname("postgresql://u@h:5/db1"), 1, "URI names a database");
		is_int(ado_pg_conninfo_has_dbname("host=x user=y"), 0, "conninfo without a database");
		is_int(ado_pg_conninfo_has_dbname("host='unterminated"), 0, "unparsable conninfo: 0");
		is_int(ado_pg_conninfo_has_dbname(NULL), 0, "NULL conninfo: 0");
		sql("postgres", "CREATE ROLE t_pg_owner");
		sql("postgres", "ALTER DATABASE ado_verify_t3 OWNER TO t_pg_owner");
		ok(ado_pg_copy_database_owner(admin, "ado_verify_t3", "ado_verify_t4", &e) == 0, "copy owner: %s", e.msg);
		is_str(sql_value("postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'ado_verify_t4'",
				 a, sizeof(a)), "t_pg_owner", "copy owner: the owner moved over");
		ok(ado_pg_copy_database_owner(admin, "ado_verify_nope", "ado_verify_t4", &e) < 0 && e.kind == ADO_E_NOTFOUND,
		   "copy owner from a missing database: ADO_E_NOTFOUND");
		is_str(e.msg, "database 'ado_verify_nope' does not exist", "copy owner: message");
	}

	/* Sessions: a psql connected to ado_verify_t1 blocks the rename until terminated. */
	{
		struct ado_pg_session *ss = NULL;
		size_t n = 0;
		int found = 0, status;
		pid_t child = fork();
		struct timespec tick = { 0, 100 * 1000 * 1000 };

		if (child == 0) {
			char pw[200];
			FILE *f = fopen(pwfile, "r");
			if (f && fgets(pw, sizeof(pw), f)) {
				pw[strcspn(pw, "\n")] = '\0';
				setenv("PGPASSWORD", pw, 1);
			}
			setenv("PGAPPNAME", "t-pg-psql", 1);
			freopen("/dev/null", "w", stderr);
			execlp("psql", "psql", "-X", "-q", "-d", "ado_verify_t1", "-c", "SELECT pg_sleep(30)", (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 50 && !found; i++) {
			ado_pg_sessions_free(ss, n);
			ss = NULL;
			if (ado_pg_sessions(admin, "ado_verify_t1", &ss, &n, &e) < 0)
				break;
			for (size_t j = 0; j < n; j++)
				found |= strcmp(ss[j].application, "t-pg-psql") == 0 && strcmp(ss[j].client, "127.0.0.1") == 0 &&
					 strcmp(ss[j].user, "postgres") == 0 && ss[j].pid > 0;
			if (!found)
				nanosleep(&tick, NULL);
		}
		ok(found, "sessions lists the psql (application, client, user)");
		ado_pg_sessions_free(ss, n);
		ok(ado_pg_sessions(admin, "ado_verify_t2", &ss, &n, &e) == 0 && n == 0, "no sessions on another database");
		ado_pg_sessions_free(ss, n);
		ok(ado_pg_rename_database(admin, "ado_verify_t1", "ado_verify_t1_old", &e) < 0, "rename blocked by a session");
		is_int(e.kind, ADO_E_DB, "blocked rename: ADO_E_DB");
		like(e.msg, "is being accessed by other users", "blocked rename: server's reason");
		like(e.hint, "sessions are connected to 'ado_verify_t1'", "blocked rename: hint");
		ok(ado_pg_terminate_sessions(admin, "ado_verify_t1", &e) == 0, "terminate sessions: %s", e.msg);
		ok(ado_pg_sessions(admin, "ado_verify_t1", &ss, &n, &e) == 0 && n == 0, "no sessions left");
		ado_pg_sessions_free(ss, n);
		for (int i = 0; i < 50 && waitpid(child, &status, WNOHANG) == 0; i++)
			nanosleep(&tick, NULL);
		if (kill(child, 0) == 0) {	/* still there: ours, by pid */
			kill(child, SIGKILL);
			waitpid(child, &status, 0);
		}
	}
	ok(ado_pg_rename_database(admin, "ado_verify_t1", "ado_verify_t1_old", &e) == 0, "rename: %s", e.msg);
	is_int(ado_pg_database_exists(admin, "ado_verify_t1", &e), 0, "old name gone");
	is_int(ado_pg_database_exists(admin, "ado_verify_t1_old", &e), 1, "new name there");
	ok(ado_pg_rename_database(admin, "ado_verify_t1", "x", &e) < 0 && e.kind == ADO_E_NOTFOUND, "rename missing: ADO_E_NOTFOUND");
	ok(ado_pg_rename_database(admin, "ado_verify_t1_old", "ado_verify_t2", &e) < 0 && e.kind == ADO_E_EXISTS,
	   "rename onto an existing name: ADO_E_EXISTS");
	like(e.hint, "a database 'ado_verify_t2' already exists", "rename onto existing: hint");

	/* DROP ... WITH (FORCE) goes through our own leftover connection. */
	ok(ado_pg_connect_like(admin, "ado_verify_t1_old", &in, &e) == 0, "leftover connection");
	ok(ado_pg_drop_database(admin, "ado_verify_t1_old", &e) == 0, "drop with a leftover session: %s", e.msg);
	is_int(ado_pg_database_exists(admin, "ado_verify_t1_old", &e), 0, "dropped");
	ado_pg_free(in);
	ok(ado_pg_drop_database(admin, "ado_verify_t1_old", &e) == 0, "drop again: IF EXISTS");
	ok(ado_pg_drop_database(admin, "postgres", &e) < 0 && e.kind == ADO_E_DB, "drop the connected database fails");
	like(e.msg, "cannot drop database 'postgres' in database 'postgres'", "drop failure: message");

	/* SIGTERM from cron reaches only us: the child gets it passed on. */
	{
		char slow[600];
		pid_t pid, killer;
		int fd;

		snprintf(slow, sizeof(slow), "%s/slow_pg_dump", tmp);
		write_file(slow, "#!/bin/sh\nexec sleep 30\n", 0755);
		ado_sig_install();
		ok(ado_pg_dump_spawn(pg, slow, s, 0, &pid, &fd, &e) == 0, "spawn a slow pg_dump");
		close(fd);
		if ((killer = fork()) == 0) {
			struct timespec t = { 0, 300 * 1000 * 1000 };
			nanosleep(&t, NULL);
			kill(getppid(), SIGTERM);
			_exit(0);
		}
		ok(ado_pg_child_wait(pid, "pg_dump for database 'ado_primary'", &e) < 0, "interrupted wait fails");
		is_int(e.kind, ADO_E_INTERRUPTED, "interrupted: ADO_E_INTERRUPTED");
		is_str(e.msg, "pg_dump for database 'ado_primary' interrupted by signal 15", "interrupted: message");
		ok(kill(pid, 0) < 0 && errno == ESRCH, "the child is gone (reaped)");
		waitpid(killer, NULL, 0);
	}

	ado_pg_snapshot_end(pg, s);
	ado_pg_snapshot_end(pg, whole);
	ado_pg_free(pg);
	ado_pg_free(admin);
	return done_testing();
}
