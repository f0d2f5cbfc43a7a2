/* restore.c - pg_restore as a sink or on a file, and checking what it restored (see pg.h). */
#include "source/pg/pg.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "source/pg/internal.h"

/* SELECT count(*) FROM ONLY name: COPY, and so pg_dump, copies a parent's own
 * rows without its inheritance children. */
static int count_rows(struct ado_pg *pg, const char *quoted, const char *display, int64_t *rows, struct ado_err *e)
{
	char *sql = NULL, what[400];
	PGresult *res;

	if (asprintf(&sql, "SELECT count(*) FROM ONLY %s", quoted) < 0)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	snprintf(what, sizeof(what), "count the rows of table '%s'", display);
	res = ado_pg_i_query(pg, what, e, sql, 0, NULL);
	free(sql);
	if (!res)
		return -1;
	*rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static int restore_argv(struct argv_buf *a, const char *pg_restore, const char *dbname,
			const struct ado_pg_restore_opts *o)
{
	char *dbarg = ado_pg_i_dbname_arg(dbname), jobs[16];

	if (!dbarg)
		return -1;
	ado_pg_i_arg_add(a, pg_restore);
	ado_pg_i_arg_add(a, "--no-password");
	ado_pg_i_arg_add(a, "--exit-on-error");
	if (o && o->no_owner) {
		ado_pg_i_arg_add(a, "--no-owner");
		ado_pg_i_arg_add(a, "--no-privileges");
	}
	if (o && o->file && o->jobs > 1) {
		snprintf(jobs, sizeof(jobs), "%d", o->jobs);
		ado_pg_i_arg_add(a, "-j");
		ado_pg_i_arg_add(a, jobs);
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
				ado_pg_i_arg_add(a, "-n");
				ado_pg_i_arg_add(a, schema);
			}
			free(schema);
		}
	}
	for (size_t i = 0; o && i < o->ntables; i++) {
		const char *dot = strchr(o->tables[i], '.');
		ado_pg_i_arg_add(a, "-t");
		ado_pg_i_arg_add(a, dot ? dot + 1 : o->tables[i]);
	}
	if (o && o->toc)
		ado_pg_i_arg_add(a, "-l");
	if (o && o->list) {
		ado_pg_i_arg_add(a, "-L");
		ado_pg_i_arg_add(a, o->list);
	}
	if (o && o->script) {
		ado_pg_i_arg_add(a, "-f");
		ado_pg_i_arg_add(a, o->script);
	} else {
		ado_pg_i_arg_add(a, "-d");
		ado_pg_i_arg_add(a, dbarg);
	}
	if (o && o->file)
		ado_pg_i_arg_add(a, o->file);
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
	if (ado_pg_i_find_tool(pg, "pg_restore", "ADO_PG_RESTORE", &tool, &version, e) < 0)
		return NULL;
	if (!(env = ado_pg_i_child_env(pg, dbname, e)))
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
	if (ado_pg_i_spawn(tool, a.v, env, fds[0], -1, &st->pid, e) < 0)
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
	ado_pg_i_arg_free(&a);
	ado_pg_i_env_free(env);
	free(tool);
	free(version);
	return w;
}

/* Run tool (argv a, for database dbname) with the connection's built
 * environment and wait for it; name says which tool in messages. */
static int run_tool(struct ado_pg *pg, const char *dbname, const char *tool, const char *name, struct argv_buf *a,
		    struct ado_err *e)
{
	char **env = NULL, *what = NULL;
	pid_t pid;
	int rc = -1;

	if (a->failed)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	if (!(env = ado_pg_i_child_env(pg, dbname, e)))
		return -1;
	if (asprintf(&what, "%s for database '%s'", name, dbname) < 0) {
		what = NULL;
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	} else if (ado_pg_i_spawn(tool, a->v, env, -1, -1, &pid, e) == 0) {
		rc = ado_pg_child_wait(pid, what, e);
	}
	ado_pg_i_env_free(env);
	free(what);
	return rc;
}

int ado_pg_restore_file(struct ado_pg *pg, const char *dbname, const struct ado_pg_restore_opts *o, struct ado_err *e)
{
	struct argv_buf a = { 0 };
	char *tool = NULL, *version = NULL;
	int rc = -1;

	if (!o || !o->file)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "pg_restore of a file without a file");
	if (ado_pg_i_find_tool(pg, "pg_restore", "ADO_PG_RESTORE", &tool, &version, e) < 0)
		return -1;
	if (restore_argv(&a, tool, dbname, o) < 0) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	ado_debug("running %s -j %d into database '%s'", tool, o->jobs, dbname);
	rc = run_tool(pg, dbname, tool, "pg_restore", &a, e);
out:
	ado_pg_i_arg_free(&a);
	free(tool);
	free(version);
	return rc;
}

int ado_pg_psql_files(struct ado_pg *pg, const char *dbname, const char *const *files, size_t n, struct ado_err *e)
{
	struct argv_buf a = { 0 };
	char *tool = NULL, *version = NULL, *dbarg = NULL;
	int rc = -1;

	if (ado_pg_i_find_tool(pg, "psql", "ADO_PSQL", &tool, &version, e) < 0)
		return -1;
	if (!(dbarg = ado_pg_i_dbname_arg(dbname))) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	ado_pg_i_arg_add(&a, tool);
	ado_pg_i_arg_add(&a, "--no-psqlrc");
	ado_pg_i_arg_add(&a, "--no-password");
	ado_pg_i_arg_add(&a, "--quiet");
	ado_pg_i_arg_add(&a, "--single-transaction");
	ado_pg_i_arg_add(&a, "--set=ON_ERROR_STOP=1");
	ado_pg_i_arg_add(&a, "--output=/dev/null");
	ado_pg_i_arg_add(&a, "-d");
	ado_pg_i_arg_add(&a, dbarg);
	for (size_t i = 0; i < n; i++) {
		ado_pg_i_arg_add(&a, "-f");
		ado_pg_i_arg_add(&a, files[i]);
	}
	ado_debug("running %s in one transaction in database '%s'", tool, dbname);
	rc = run_tool(pg, dbname, tool, "psql", &a, e);
out:
	ado_pg_i_arg_free(&a);
	free(tool);
	free(version);
	free(dbarg);
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
		res = ado_pg_i_query(pg, "look up tables", e, ado_pg_i_resolve_sql, 3, params);
		free(schema);
		free(table);
		if (!res)
			return -1;
		if (PQntuples(res) == 0) {
			snprintf(item, sizeof(item), "table '%s' missing", shown);
		} else {
			struct ado_pg_table tmp = { 0 };
			int rc = ado_pg_i_table_names(pg, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), &tmp, e);
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
	PGresult *res = ado_pg_i_query(pg, "count tables", e,
				       "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
				       " ON n.oid = c.relnamespace WHERE " USER_TABLES_WHERE, 0, NULL);

	if (!res)
		return -1;
	*n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}
