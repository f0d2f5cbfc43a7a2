/* tools.c - finding, probing and spawning pg_dump and pg_restore (see pg.h). */
#include "source/pg/pg.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/sig.h"
#include "source/pg/internal.h"

extern char **environ;

/* Major version key comparable across the 9.x and 10+ schemes: 1500, 906. */
static int major_key(int vnum)
{
	return vnum >= 100000 ? vnum / 10000 * 100 : vnum / 100;
}

/* What of our environment a child may see: where programs are, the home
 * folder (~/.pgpass, ~/.pg_service.conf), the temporary folder, the locale
 * and the time zone. Nothing else: ours holds secrets (ADO_PASSPHRASE,
 * AWS_*, webhook URLs), and a child's environment is readable in
 * /proc/PID/environ. The PG* variables come from the connection instead. */
static int inherited(const char *kv)
{
	static const char *const keep[] = { "PATH", "HOME", "TMPDIR", "TZ", "LANG", "LANGUAGE", "LC_ALL" };
	size_t klen = strcspn(kv, "=");

	if (klen > 3 && strncmp(kv, "LC_", 3) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (strlen(keep[i]) == klen && strncmp(kv, keep[i], klen) == 0)
			return 1;
	return 0;
}

/* The inherited part of a child's environment, with room for `extra` more
 * entries; NULL-terminated, entries malloc'd; NULL on out of memory. */
static char **inherited_env(size_t extra, size_t *n)
{
	size_t cap = extra + 1;
	char **env;

	*n = 0;
	for (char **p = environ; *p; p++)
		cap++;
	if (!(env = calloc(cap, sizeof(*env))))
		return NULL;
	for (char **p = environ; *p; p++)
		if (inherited(*p) && !(env[(*n)++] = strdup(*p))) {
			ado_pg_i_env_free(env);
			return NULL;
		}
	return env;
}

int ado_pg_i_spawn(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd, pid_t *pid,
		   struct ado_err *e)
{
	char **own = NULL;
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
	if (!envp) {
		size_t n;
		if (!(own = inherited_env(0, &n))) {
			posix_spawn_file_actions_destroy(&fa);
			posix_spawnattr_destroy(&attr);
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		}
		envp = own;
	}
	err = posix_spawn(pid, path, &fa, &attr, argv, envp);
	ado_pg_i_env_free(own);
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
	if (ado_pg_i_spawn(path, argv, NULL, -1, fds[1], &pid, &e) < 0) {
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

int ado_pg_i_find_tool(struct ado_pg *pg, const char *tool, const char *envname, char **path, char **version,
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
			ado_pg_i_version_text(v, vtext, sizeof(vtext));
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
		ado_pg_i_version_text(best_old, vtext, sizeof(vtext));
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
	ado_pg_i_version_text(v, vtext, sizeof(vtext));
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
	return ado_pg_i_find_tool(pg, "pg_dump", "ADO_PG_DUMP", path, version, e);
}

int ado_pg_restore_find(struct ado_pg *pg, char **path, char **version, struct ado_err *e)
{
	return ado_pg_i_find_tool(pg, "pg_restore", "ADO_PG_RESTORE", path, version, e);
}

void ado_pg_i_env_free(char **env)
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

char **ado_pg_i_child_env(struct ado_pg *pg, const char *dbname, struct ado_err *e)
{
	PQconninfoOption *opts = PQconninfo(pg->conn), *o;
	size_t n = 0, cap = 1;
	char **env = NULL;

	if (!opts)
		goto nomem;
	for (o = opts; o->keyword; o++)
		cap++;
	/* built, not inherited: see inherited() */
	if (!(env = inherited_env(cap, &n)))
		goto nomem;
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
	ado_pg_i_env_free(env);
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	return NULL;
}

char *ado_pg_i_dbname_arg(const char *dbname)
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

void ado_pg_i_arg_add(struct argv_buf *a, const char *s)
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

void ado_pg_i_arg_free(struct argv_buf *a)
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
	if (!(env = ado_pg_i_child_env(pg, pg->dbname, e)))
		goto out;
	if (asprintf(&snap, "--snapshot=%s", s->id) < 0) {
		snap = NULL;
		goto nomem;
	}
	if (!(dbarg = ado_pg_i_dbname_arg(pg->dbname)))
		goto nomem;
	ado_pg_i_arg_add(&a, pg_dump);
	ado_pg_i_arg_add(&a, "-Fc");
	ado_pg_i_arg_add(&a, "-Z0");
	ado_pg_i_arg_add(&a, "--no-password");
	ado_pg_i_arg_add(&a, snap);
	if (!whole_db && !s->whole_db)
		for (size_t i = 0; i < s->ntables; i++) {
			ado_pg_i_arg_add(&a, "-t");
			ado_pg_i_arg_add(&a, s->tables[i].name);
		}
	ado_pg_i_arg_add(&a, "-d");
	ado_pg_i_arg_add(&a, dbarg);
	if (a.failed)
		goto nomem;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot create a pipe for pg_dump");
		goto out;
	}
	ado_debug("running %s for database '%s' (%zu tables)", pg_dump, pg->dbname, s->ntables);
	if (ado_pg_i_spawn(pg_dump, a.v, env, -1, fds[1], pid, e) < 0)
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
	ado_pg_i_arg_free(&a);
	ado_pg_i_env_free(env);
	free(snap);
	free(dbarg);
	return rc;
}
