#include "job/restore.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "source/files/files.h"
#include "base/log.h"
#include "base/lock.h"
#include "job/verify.h"

void ado_sayf(ado_say_fn fn, void *arg, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fn(arg, buf);
}

int ado_restore_list(const struct ado_config *cfg, const char *job, const char *from, ado_list_fn fn, void *arg,
		     struct ado_err *e)
{
	int rc = 0;

	for (size_t j = 0; j < cfg->njobs; j++) {
		const struct ado_job *jb = &cfg->jobs[j];
		if (job && strcmp(job, jb->name) != 0)
			continue;
		for (size_t d = 0; d < jb->ndests; d++) {
			struct ado_store *s = NULL;
			struct ado_backup_info *v = NULL;
			struct ado_err de;
			size_t n = 0;
			if (!ado_restore_dest_is(NULL, &jb->dests[d], from))
				continue;
			ado_err_clear(&de);
			if (ado_repo_open_list(cfg, &jb->dests[d], jb->name, &s, &v, &n, &de) < 0) {
				ado_warn("cannot list '%s': %s", jb->dests[d].url, de.msg);
				rc = -1;
				if (e)
					*e = de;
			}
			for (size_t i = 0; i < n; i++)
				fn(arg, s, jb->name, &v[i]);
			free(v);
			ado_store_free(s);
		}
	}
	return rc;
}

int ado_restore_next_copy(const struct ado_config *cfg, const char *job, const char *id, const char *after_url,
			  struct ado_store **store)
{
	const struct ado_job *jb = ado_config_job(cfg, job);
	int passed = 0;

	*store = NULL;
	for (size_t d = 0; jb && d < jb->ndests; d++) {
		struct ado_store *s = NULL;
		char path[512];
		if (ado_store_open(&jb->dests[d], cfg, &s, NULL) < 0)
			continue;
		if (!passed) {
			passed = strcmp(s->url, after_url) == 0;
			ado_store_free(s);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s/%s", job, id, ADO_MANIFEST_NAME);
		if (ado_store_exists(s, path, NULL, NULL) == 1) {
			*store = s;
			return 1;
		}
		ado_store_free(s);
	}
	return 0;
}

int ado_restore_copy_damaged(const struct ado_err *err)
{
	/* damaged, or unreachable or archived there: another copy may serve */
	return err->kind == ADO_E_INTEGRITY || err->kind == ADO_E_AUTH || err->kind == ADO_E_FORMAT ||
	       err->kind == ADO_E_NET || err->kind == ADO_E_REMOTE || err->kind == ADO_E_ARCHIVED;
}

/* The zone after a date-time: "" (local time), "Z", "+01:00", "-0530".
 * Returns 0 and *off (seconds east of UTC, *local when none), or -1. */
static int parse_zone(const char *z, long *off, int *local)
{
	int h, m;

	*off = 0;
	*local = 0;
	if (*z == '.')		/* fractions of a second are dropped */
		for (z++; *z >= '0' && *z <= '9'; z++)
			;
	if (!*z) {
		*local = 1;
		return 0;
	}
	if ((z[0] == 'Z' || z[0] == 'z') && !z[1])
		return 0;
	if ((z[0] != '+' && z[0] != '-') ||
	    (sscanf(z + 1, "%2d:%2d", &h, &m) != 2 && sscanf(z + 1, "%2d%2d", &h, &m) != 2) || h > 23 || m > 59 ||
	    strlen(z) != (z[3] == ':' ? 6u : 5u))
		return -1;
	*off = (z[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
	return 0;
}

int ado_parse_time(const char *s, time_t *out, struct ado_err *e)
{
	static const char *fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
				      "%Y-%m-%d" };
	size_t n = strlen(s);
	time_t t = ado_backup_id_time(s);

	if (t != (time_t)-1) {
		*out = t;
		return 0;
	}
	/* "N minutes|hours|days ago": a duration back from now */
	if (n > 4 && !strcmp(s + n - 4, " ago")) {
		char d[64];
		long long secs;

		if (n - 4 < sizeof(d)) {
			memcpy(d, s, n - 4);
			d[n - 4] = '\0';
			if (ado_duration_parse(d, &secs, NULL) == 0) {
				*out = time(NULL) - (time_t)secs;
				return 0;
			}
		}
	}
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct tm tm = { 0 };
		const char *end = strptime(s, fmts[i], &tm);
		long off;
		int local;

		/* a date alone is midnight, local time */
		if (!end || parse_zone(end, &off, &local) < 0 || (i == 4 && !local))
			continue;
		if (local) {
			tm.tm_isdst = -1;
			*out = mktime(&tm);
		} else
			*out = timegm(&tm) - off;
		return 0;
	}
	ado_err_set(e, ADO_E_USAGE, 0, "cannot read time '%s'", s);
	return ado_err_hint(e, "write '2026-11-25 22:15' (local time), '2026-11-25T22:15:00Z' or '...+01:00', "
			    "'2 hours ago', or a backup id");
}

int ado_artifact_matches(const struct ado_artifact *a, const char *t)
{
	size_t n;

	if (!t)
		return 1;
	if (strcmp(a->target, t) == 0 || (a->source && strcmp(a->source, t) == 0))
		return 1;
	n = strlen(t);
	return a->source && strncmp(a->source, t, n) == 0 && strcmp(a->source + n, "/") == 0;
}

static int has_target(struct ado_store *s, const char *job, const char *id, const char *target, struct ado_keyring *k)
{
	struct ado_manifest *m = NULL;
	int found = 0;

	if (ado_repo_manifest(s, job, id, NULL, 0, &m, NULL, NULL) < 0)
		return 0;
	for (size_t i = 0; i < m->nartifacts; i++)
		if (strcmp(m->artifacts[i].kind, "files-index") != 0 && ado_artifact_matches(&m->artifacts[i], target))
			found = 1;
	ado_manifest_free(m);
	return found;
}

static int same_url(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (lb > 1 && b[lb - 1] == '/')
		lb--;
	return la == lb && strncmp(a, b, la) == 0;
}

int ado_restore_dest_is(const struct ado_store *s, const struct ado_dest *d, const char *from)
{
	return !from || same_url(d->url, from) || (s && same_url(s->url, from));
}

int ado_restore_from_check(const struct ado_config *cfg, const char *job, const char *from, struct ado_err *e)
{
	if (!from)
		return 0;
	for (size_t j = 0; j < cfg->njobs; j++)
		for (size_t d = 0; (!job || strcmp(job, cfg->jobs[j].name) == 0) && d < cfg->jobs[j].ndests; d++)
			if (ado_restore_dest_is(NULL, &cfg->jobs[j].dests[d], from))
				return 0;
	if (job)
		ado_err_set(e, ADO_E_USAGE, 0, "job '%s' has no destination '%s'", job, from);
	else
		ado_err_set(e, ADO_E_USAGE, 0, "no job in '%s' has a destination '%s'", cfg->path, from);
	return ado_err_hint(e, "--from takes a destination as written in the config");
}

int ado_restore_select(const struct ado_config *cfg, const char *job, const char *backup_id, time_t before,
		       const char *target, const char *from, struct ado_keyring *k, struct ado_store **store,
		       char **id, struct ado_err *e)
{
	const struct ado_job *jb = ado_config_job(cfg, job);
	int latest = !backup_id || strcmp(backup_id, "latest") == 0;
	size_t seen = 0;

	*store = NULL;
	*id = NULL;
	if (!jb) {
		ado_err_set(e, ADO_E_USAGE, 0, "no job '%s' in '%s'", job, cfg->path ? cfg->path : "the config");
		return ado_err_hint(e, "ado-restore --list shows the jobs and their backups");
	}
	if (!latest && ado_backup_id_time(backup_id) == (time_t)-1)
		return ado_err_set(e, ADO_E_USAGE, 0, "bad backup id '%s': expected 'latest' or an id like 20261125T221500Z",
				   backup_id);
	for (size_t d = 0; d < jb->ndests; d++) {
		struct ado_store *s = NULL;
		struct ado_backup_info *v = NULL;
		struct ado_err de;
		size_t n = 0;
		ado_err_clear(&de);
		if (!ado_restore_dest_is(NULL, &jb->dests[d], from))
			continue;
		if (ado_repo_open_list(cfg, &jb->dests[d], jb->name, &s, &v, &n, &de) < 0) {
			ado_warn("skipping destination '%s': %s", jb->dests[d].url, de.msg);
			continue;
		}
		for (size_t i = n; i-- > 0;) {
			if (!v[i].complete)
				continue;
			seen++;
			if (!latest && strcmp(v[i].id, backup_id) != 0)
				continue;
			if (before && v[i].time > before)
				continue;
			if (latest && ado_repo_inspect(s, jb->name, &v[i], NULL) < 0) {
				/* an empty or unreadable manifest: the next older one will do */
				char *ref = ado_ref_make(s, jb->name, v[i].id);
				ado_warn("skipping backup '%s': it is damaged: %s", ref ? ref : v[i].id, v[i].reason);
				free(ref);
				continue;
			}
			if (target && !has_target(s, jb->name, v[i].id, target, k))
				continue;
			*id = strdup(v[i].id);
			*store = s;
			free(v);
			if (!*id) {
				ado_store_free(s);
				*store = NULL;
				return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			}
			return 0;
		}
		free(v);
		ado_store_free(s);
	}
	if (ado_restore_from_check(cfg, job, from, e) < 0)
		return -1;
	if (!latest)
		ado_err_set(e, ADO_E_NOTFOUND, 0, "no complete backup '%s' of job '%s'", backup_id, job);
	else if (seen && (before || target))
		ado_err_set(e, ADO_E_NOTFOUND, 0, "no complete backup of job '%s'%s%s%s matches", job,
			    target ? " with target '" : "", target ? target : "", target ? "'" : "");
	else
		ado_err_set(e, ADO_E_NOTFOUND, 0, "no complete backup of job '%s' on any destination", job);
	return ado_err_hint(e, "ado-restore --list --job %s shows what there is", job);
}

static int dir_state(const char *dir, int *exists, int *empty, struct ado_err *e)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	*exists = *empty = 0;
	if (lstat(dir, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return ado_err_set(e, ADO_E_IO, errno, "cannot stat '%s'", dir);
	}
	if (!S_ISDIR(st.st_mode))
		return ado_err_set(e, ADO_E_EXISTS, 0, "'%s' exists and is not a folder", dir);
	*exists = 1;
	if (!(d = opendir(dir)))
		return ado_err_set(e, ADO_E_IO, errno, "cannot list '%s'", dir);
	*empty = 1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			*empty = 0;
			break;
		}
	closedir(d);
	return 0;
}

static void on_warn(void *arg, const char *msg)
{
	ado_warn("%s", msg);
}

/* A restore into parent/base that was killed leaves its temporary folder
 * ".ado-restore.BASE.ID.PID.XXXXXX", as big as the data: the next restore of
 * that folder removes it once its pid is gone. */
static void remove_dead_restores(const char *parent, const char *base)
{
	char want[NAME_MAX + 32], path[PATH_MAX + NAME_MAX + 2];
	size_t wl;
	struct dirent *de;
	DIR *d;

	snprintf(want, sizeof(want), ".ado-restore.%s.", base);
	wl = strlen(want);
	if (!(d = opendir(parent)))
		return;
	while ((de = readdir(d))) {
		const char *rest = de->d_name + wl, *dot;
		long pid;
		if (strncmp(de->d_name, want, wl) != 0)
			continue;
		/* ID.PID.XXXXXX */
		if (strlen(rest) < 16 + 3 + 6 || rest[16] != '.')
			continue;
		pid = strtol(rest + 17, (char **)&dot, 10);
		if (*dot != '.' || strlen(dot + 1) != 6 || !ado_pid_gone(pid))
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		if (ado_rm_rf(path, NULL) == 0)
			ado_warn("removed '%s': left by a restore of backup %.16s that did not finish (pid %ld)", path, rest,
				 pid);
	}
	closedir(d);
}

void ado_restore_stamp(char *out, size_t len)
{
	ado_backup_id(time(NULL), out, len);
}

/* DIR.before-<now>, or DIR.before-<now>-2 ... when a restore in the same second took it. */
static int pick_aside(const char *dir, char *aside, size_t len, struct ado_err *e)
{
	char stamp[20];
	struct stat st;

	ado_restore_stamp(stamp, sizeof(stamp));
	snprintf(aside, len, "%s.before-%s", dir, stamp);
	for (int i = 2; lstat(aside, &st) == 0; i++) {
		if (i == 100)
			return ado_err_set(e, ADO_E_EXISTS, 0, "no free name to move '%s' aside to", dir);
		snprintf(aside, len, "%s.before-%s-%d", dir, stamp, i);
	}
	if (errno != ENOENT)
		return ado_err_set(e, ADO_E_IO, errno, "cannot check '%s'", aside);
	return 0;
}

void ado_restore_describe(const struct ado_store *s, const struct ado_manifest *m, char *out, size_t len)
{
	char ts[32];
	struct tm tm;
	time_t t = m->started ? m->started : ado_backup_id_time(m->id);

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(out, len, "backup %s/%s (taken %s, destination %s)", m->job, m->id, ts, s->url);
}

int ado_restore_files(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
		      struct ado_keyring *k, const char *dir_in, const struct ado_files_restore_opts *o,
		      struct ado_err *e)
{
	const struct ado_artifact *ia = a->index ? ado_manifest_find(m, a->index) : NULL;
	char dir[PATH_MAX], parent[PATH_MAX], aside[PATH_MAX + 64], prefix[NAME_MAX + 64], which[PATH_MAX + 128];
	char *tmp = NULL, *slash;
	const char *base;
	struct ado_files_stats cs = { 0 };
	int exists, empty, rc = -1;
	size_t n;

	snprintf(dir, sizeof(dir), "%s", dir_in);
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	if (dir_state(dir, &exists, &empty, e) < 0)
		return -1;
	/* the old copy is named by the time of this restore, not the backup's id:
	 * restoring one backup twice must not clash, and the name is chosen (and
	 * checked free) before any work, so nothing fails after the extraction */
	if (pick_aside(dir, aside, sizeof(aside), e) < 0)
		return -1;
	ado_restore_describe(s, m, which, sizeof(which));
	if (exists && !empty && !o->force) {
		ado_err_set(e, ADO_E_EXISTS, 0, "folder '%s' is not empty", dir);
		return ado_err_hint(e, "restore into a new folder, or add --force: the current contents are moved to '%s', not deleted",
				    aside);
	}
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	if (o->dry_run) {
		ado_sayf(o->say, o->say_arg, "would restore '%s' (%llu entries, %llu bytes) from %s", a->source,
		    (unsigned long long)a->file_count, (unsigned long long)a->plain_size, which);
		ado_sayf(o->say, o->say_arg, "would extract into a temporary folder in '%s' and check every file against the backup's index", parent);
		if (exists && !empty)
			ado_sayf(o->say, o->say_arg, "would move the current '%s' aside to '%s'", dir, aside);
		ado_sayf(o->say, o->say_arg, "would move the restored folder into place as '%s'", dir);
		return 0;
	}
	if (!ia)
		return ado_err_set(e, ADO_E_FORMAT, 0, "artifact '%s' has no index in the manifest", a->name);
	/* say which backup: --job picks one, and the operator must know which */
	ado_sayf(o->say, o->say_arg, "restoring '%s' from %s", a->source, which);
	if (ado_mkdirs(parent, 0700, e) < 0)
		return -1;
	/* a sibling, so the swap is a rename on one filesystem; its name says
	 * which folder, backup and restore it is for */
	base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	remove_dead_restores(parent, base);
	snprintf(prefix, sizeof(prefix), ".ado-restore.%s.%s.%ld", base, m->id, (long)getpid());
	if (!(tmp = ado_mkdtemp(parent, prefix, e)))
		return -1;
	if (o->meter) {
		char label[PATH_MAX + 64];
		snprintf(label, sizeof(label), "%s/%s", m->job, a->target);
		ado_meter_begin(o->meter, label, "read", "restored", a->stored_size + ia->stored_size);
	}
	rc = ado_files_extract_check(s, m, a, k, tmp, geteuid() == 0, on_warn, NULL, &cs, o->meter, e);
	ado_meter_end(o->meter, rc == 0);
	if (rc < 0)
		goto out;
	rc = -1;
	ado_sayf(o->say, o->say_arg, "restored %llu %s (%llu bytes) and checked them against the backup", (unsigned long long)cs.entries,
	    cs.entries == 1 ? "entry" : "entries", (unsigned long long)cs.bytes);
	if (exists && !empty) {
		if (access(aside, F_OK) == 0) {
			/* taken since the check above: say so rather than overwrite */
			ado_err_set(e, ADO_E_EXISTS, 0, "'%s' already exists: it holds an earlier copy", aside);
			ado_err_hint(e, "move it away and run the restore again");
			goto out;
		}
		if (rename(dir, aside) < 0) {
			ado_err_set(e, ADO_E_IO, errno, "cannot move '%s' aside to '%s'", dir, aside);
			goto out;
		}
		ado_sayf(o->say, o->say_arg, "moved the previous '%s' aside to '%s'", dir, aside);
		if (o->aside_out)
			snprintf(o->aside_out, o->aside_len, "%s", aside);
	} else if (exists && rmdir(dir) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot replace empty folder '%s'", dir);
		goto out;
	}
	if (rename(tmp, dir) < 0) {
		int err = errno;
		/* put the previous copy back: never leave the caller with neither */
		if (exists && !empty && rename(aside, dir) < 0)
			ado_warn("the previous copy stays at '%s'", aside);
		ado_err_set(e, ADO_E_IO, err, "cannot move the restored folder into place as '%s'", dir);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	ado_sayf(o->say, o->say_arg, "restored into '%s'", dir);
	rc = 0;
out:
	if (tmp) {
		ado_rm_rf(tmp, NULL);
		free(tmp);
	}
	return rc;
}

int ado_restore_cat(struct ado_store *s, const struct ado_manifest *m, const char *name, struct ado_keyring *k,
		    int fd, struct ado_err *e)
{
	const struct ado_artifact *a = ado_manifest_find(m, name);
	struct ado_writer *w;

	if (!a) {
		ado_err_set(e, ADO_E_NOTFOUND, 0, "backup '%s/%s' has no artifact '%s'", m->job, m->id, name);
		return ado_err_hint(e, "its artifacts are listed in its manifest.json");
	}
	if (!(w = ado_fd_writer_new(fd, 0, e)))
		return -1;
	return ado_repo_read_artifact(s, m, a, k, ADO_READ_PLAIN, w, e);
}
