/* check.c - ado-backup --check: every item a run needs, tried without a
 * backup. Each result is reported as it is known; a failure does not stop
 * the items after it. */
#include "job/check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "job/repo.h"
#include "source/pg/pg.h"
#include "store/store.h"

static void report(ado_check_fn fn, void *arg, const char *job, const char *what, const char *detail,
		   const struct ado_err *err)
{
	struct ado_check_item it = { job, what, detail ? detail : "", err };

	if (fn)
		fn(arg, &it);
}

const char *ado_check_size(unsigned long long bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu bytes", bytes);
		return buf;
	}
	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

int ado_check_key(const struct ado_config *cfg, const struct ado_job *const *jobs, size_t njobs,
		  struct ado_keyring **k, ado_check_fn fn, void *arg, struct ado_err *e)
{
	const char *kf = getenv("ADO_KEY_FILE");
	char what[600];
	int need = 0;

	*k = NULL;
	for (size_t i = 0; i < njobs; i++)
		need |= jobs[i]->encrypt;
	if (!need)
		return 0;
	if (kf && *kf)
		snprintf(what, sizeof(what), "key '%s' (ADO_KEY_FILE)", kf);
	else if (cfg->key_file)
		snprintf(what, sizeof(what), "key '%s'", cfg->key_file);
	else
		snprintf(what, sizeof(what), "key from $%s", cfg->passphrase_env ? cfg->passphrase_env : "ADO_PASSPHRASE");
	if (ado_keyring_from_config(cfg, k, e) < 0) {
		if (!e->hint[0])
			ado_err_hint(e, "an encrypted job needs key_file, ADO_KEY_FILE or the passphrase variable");
		report(fn, arg, NULL, what, NULL, e);
		return -1;
	}
	report(fn, arg, NULL, what, "opens", NULL);
	return 0;
}

static int check_database(const struct ado_config *cfg, const struct ado_job *job, const struct ado_target *t,
			  ado_check_fn fn, void *arg)
{
	struct ado_pg *pg = NULL;
	struct ado_pg_snapshot *snap = NULL;
	struct ado_err e;
	char what[600], detail[300], *dump = NULL, *dver = NULL;
	int rc = -1;

	ado_err_clear(&e);
	snprintf(what, sizeof(what), "database '%s'", t->database);
	/* the same calls a run makes before pg_dump starts, so the same refusals */
	if (ado_pg_connect(cfg, t->database, &pg, &e) < 0)
		goto out;
	if (ado_pg_snapshot_open(pg, t->tables, t->ntables, &snap, &e) < 0)
		goto out;
	if (ado_pg_dump_find(pg, &dump, &dver, &e) < 0) {
		if (!e.hint[0])
			ado_err_hint(&e, "install postgresql-client-%d or set ADO_PG_DUMP", ado_pg_server_major(pg));
		goto out;
	}
	snprintf(detail, sizeof(detail), "answers (PostgreSQL %s), %zu %s%s, pg_dump %s fits",
		 ado_pg_server_version(pg), snap->ntables, snap->ntables == 1 ? "table" : "tables",
		 t->ntables ? " listed and readable" : " readable", dver);
	rc = 0;
out:
	if (pg)
		ado_pg_snapshot_end(pg, snap);
	ado_pg_free(pg);
	report(fn, arg, job->name, what, detail, rc < 0 ? &e : NULL);
	free(dump);
	free(dver);
	return rc;
}

static int check_folder(const struct ado_job *job, const struct ado_target *t, ado_check_fn fn, void *arg)
{
	struct ado_err e;
	struct stat st;
	char what[600], detail[100];

	ado_err_clear(&e);
	snprintf(what, sizeof(what), "folder '%s'", t->path);
	if (stat(t->path, &st) < 0) {
		ado_err_set(&e, ADO_E_NOTFOUND, errno, "cannot read '%s'", t->path);
		ado_err_hint(&e, "check the path in the job's targets, or mount what it is on");
	} else if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(t->path);
		unsigned long n = 0;

		if (!d) {
			ado_err_set(&e, ADO_E_IO, errno, "cannot read folder '%s'", t->path);
			ado_err_hint(&e, "run ado-backup as a user that can read it");
		} else {
			struct dirent *de;

			errno = 0;
			while ((de = readdir(d)))
				n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
			if (errno)
				ado_err_set(&e, ADO_E_IO, errno, "cannot list folder '%s'", t->path);
			closedir(d);
			snprintf(detail, sizeof(detail), "is readable (%lu %s)", n, n == 1 ? "entry" : "entries");
		}
	} else {
		int fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

		if (fd < 0) {
			ado_err_set(&e, ADO_E_IO, errno, "cannot read '%s'", t->path);
			ado_err_hint(&e, "run ado-backup as a user that can read it");
		} else {
			close(fd);
			snprintf(detail, sizeof(detail), "is readable (a file)");
		}
	}
	report(fn, arg, job->name, what, detail, e.kind == ADO_E_NONE ? NULL : &e);
	return e.kind == ADO_E_NONE ? 0 : -1;
}

static int sum_cb(const struct ado_store_entry *ent, void *arg)
{
	if (!ent->is_dir)
		*(unsigned long long *)arg += ent->size;
	return 0;
}

/* The stored size of job's newest complete backup in s; 0 when there is none. */
static unsigned long long last_size(struct ado_store *s, const char *job, char *id, size_t idlen)
{
	struct ado_backup_info *v = NULL;
	unsigned long long size = 0;
	size_t n = 0;

	id[0] = '\0';
	if (ado_repo_list(s, job, &v, &n, NULL) < 0)
		return 0;
	for (size_t i = n; i-- > 0;) {
		char dir[512];

		if (!v[i].complete)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", job, v[i].id);
		if (ado_store_list(s, dir, sum_cb, &size, NULL) == 0)
			snprintf(id, idlen, "%s", v[i].id);
		else
			size = 0;
		break;
	}
	free(v);
	return size;
}

/* Free bytes on the file system that holds local folder dir (or its nearest
 * existing parent: a run creates the rest). */
static int local_free(const char *dir, unsigned long long *avail)
{
	char p[4096];
	struct statvfs vfs;

	snprintf(p, sizeof(p), "%s", dir);
	for (;;) {
		char *slash;

		if (statvfs(p[0] ? p : "/", &vfs) == 0) {
			*avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
			return 0;
		}
		if (errno != ENOENT || !(slash = strrchr(p, '/')))
			return -1;
		while (slash > p && slash[1] == '\0') {	/* "a/b/" -> "a/b" */
			*slash = '\0';
			if (!(slash = strrchr(p, '/')))
				return -1;
		}
		*slash = '\0';
	}
}

static int check_dest(const struct ado_config *cfg, const struct ado_job *job, const struct ado_dest *d,
		      ado_check_fn fn, void *arg)
{
	struct ado_store *s = NULL;
	struct ado_err e;
	char what[600], detail[400], path[300], host[128], id[20], a[32], b[32];
	static const char probe[] = "ado-dr check: this object is removed at once\n";
	unsigned long long size, avail;
	uint64_t got = 0;
	int rc = -1;

	ado_err_clear(&e);
	snprintf(what, sizeof(what), "destination '%s'", d->url);
	if (ado_store_open(d, cfg, &s, &e) < 0)
		goto out;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "host");
	host[sizeof(host) - 1] = '\0';
	/* a name no backup, listing or retention ever takes for its own */
	snprintf(path, sizeof(path), "%s/.ado-check.%s.%ld", job->name, host, (long)getpid());
	if (ado_store_write_all(s, path, probe, sizeof(probe) - 1, &e) < 0) {
		ado_err_prefix(&e, "cannot write a test object");
		if (!e.hint[0])
			ado_err_hint(&e, "check the destination's permissions (or credentials) and that it is mounted");
		goto out;
	}
	if (ado_store_exists(s, path, &got, &e) != 1 || got != sizeof(probe) - 1) {
		if (e.kind == ADO_E_NONE)
			ado_err_set(&e, ADO_E_IO, 0, "the test object '%s' does not read back as written", path);
		ado_store_remove(s, path, NULL);
		goto out;
	}
	if (ado_store_remove(s, path, &e) < 0) {
		ado_err_prefix(&e, "cannot remove the test object '%s'", path);
		ado_err_hint(&e, "retention needs to remove old backups there: grant delete");
		goto out;
	}
	size = last_size(s, job->name, id, sizeof(id));
	if (d->kind != ADO_DEST_LOCAL) {
		if (id[0])
			snprintf(detail, sizeof(detail), "is writable; room not known (remote), the last backup took %s",
				 ado_check_size(size, a, sizeof(a)));
		else
			snprintf(detail, sizeof(detail), "is writable; room not known (remote)");
	} else if (local_free(d->prefix, &avail) < 0) {
		snprintf(detail, sizeof(detail), "is writable; room not known (statvfs failed: %s)", strerror(errno));
	} else if (id[0] && avail < size) {
		ado_err_set(&e, ADO_E_IO, ENOSPC, "%s free, the last backup (%s) took %s", ado_check_size(avail, a, sizeof(a)),
			    id, ado_check_size(size, b, sizeof(b)));
		ado_err_hint(&e, "free space there, or shorten the job's retention");
		goto out;
	} else if (id[0]) {
		snprintf(detail, sizeof(detail), "is writable; %s free, the last backup took %s",
			 ado_check_size(avail, a, sizeof(a)), ado_check_size(size, b, sizeof(b)));
	} else {
		snprintf(detail, sizeof(detail), "is writable; %s free, no backup yet to size it by",
			 ado_check_size(avail, a, sizeof(a)));
	}
	rc = 0;
out:
	ado_store_free(s);
	report(fn, arg, job->name, what, detail, rc < 0 ? &e : NULL);
	return rc;
}

size_t ado_check_job(const struct ado_config *cfg, const struct ado_job *job, ado_check_fn fn, void *arg)
{
	size_t failed = 0;

	for (size_t i = 0; i < job->ntargets; i++) {
		const struct ado_target *t = &job->targets[i];

		if (t->kind == ADO_TARGET_DATABASE)
			failed += check_database(cfg, job, t, fn, arg) < 0;
		else
			failed += check_folder(job, t, fn, arg) < 0;
	}
	for (size_t i = 0; i < job->ndests; i++)
		failed += check_dest(cfg, job, &job->dests[i], fn, arg) < 0;
	return failed;
}
