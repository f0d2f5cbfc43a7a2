#include "base/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct ado_lock {
	int fd;
	char *path;
};

/* Refuse a folder another user could plant files in, as ssh refuses a
 * loose key: writable by group or others, or owned by someone other than
 * us or root. */
static int safe_dir(const char *dir, const char *what, struct ado_err *e)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return ado_err_set(e, ADO_E_CONFIG, errno, "cannot use %s '%s'", what, dir);
	if (!S_ISDIR(st.st_mode)) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s '%s' is not a folder: refusing to use it", what, dir);
		return ado_err_hint(e, "point state_dir (or ADO_STATE_DIR) at a folder of this user, mode 0700");
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s '%s' is owned by another user (uid %ld): refusing to use it", what, dir,
			    (long)st.st_uid);
		return ado_err_hint(e, "chown it to this user (uid %ld), or point state_dir (or ADO_STATE_DIR) elsewhere",
				    (long)geteuid());
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s '%s' is writable by others (mode %04o): refusing to use it", what, dir,
			    (unsigned)(st.st_mode & 07777));
		return ado_err_hint(e, "chmod go-w '%s' (0700 is best), or point state_dir (or ADO_STATE_DIR) elsewhere", dir);
	}
	return 0;
}

int ado_lock_job(const char *state_dir, const char *job, struct ado_lock **out, struct ado_err *e)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], pidbuf[32];
	struct ado_lock *l;
	int fd;

	snprintf(dir, sizeof(dir), "%s/locks", state_dir);
	if (ado_mkdirs(dir, 0700, e) < 0) {
		ado_err_set(e, ADO_E_CONFIG, e ? e->sys_errno : 0, "cannot use state folder '%s'", state_dir);
		return ado_err_hint(e, "set state_dir in the config or ADO_STATE_DIR to a folder this user can write");
	}
	if (safe_dir(state_dir, "state folder", e) < 0 || safe_dir(dir, "locks folder", e) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.lock", dir, job);
	/* never through a planted symlink, never into a child */
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ELOOP) {
		ado_err_set(e, ADO_E_CONFIG, 0, "lock file '%s' is a symlink: refusing to follow it", path);
		return ado_err_hint(e, "someone planted it: look at where it points, then remove it");
	}
	if (fd < 0)
		return ado_err_set(e, ADO_E_IO, errno, "cannot open lock file '%s'", path);
	{
		struct stat st;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			return ado_err_set(e, ADO_E_CONFIG, 0, "lock file '%s' is not a regular file: refusing it", path);
		}
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		ssize_t k = pread(fd, pidbuf, sizeof(pidbuf) - 1, 0);
		close(fd);
		if (err != EWOULDBLOCK)
			return ado_err_set(e, ADO_E_IO, err, "cannot lock '%s'", path);
		pidbuf[k > 0 ? k : 0] = '\0';
		pidbuf[strcspn(pidbuf, "\n")] = '\0';
		ado_err_set(e, ADO_E_LOCKED, 0, "job '%s' is already running (pid %s)", job, *pidbuf ? pidbuf : "unknown");
		return ado_err_hint(e, "wait for it to finish; the lock is '%s'", path);
	}
	snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pidbuf, strlen(pidbuf), 0) < 0) {
		/* the lock holds without the pid; only the message would lack it */
	}
	l = calloc(1, sizeof(*l));
	if (!l || !(l->path = strdup(path))) {
		free(l);
		close(fd);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	l->fd = fd;
	*out = l;
	return 0;
}

int ado_pid_gone(long pid)
{
	return pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

void ado_lock_release(struct ado_lock *l)
{
	if (!l)
		return;
	if (ftruncate(l->fd, 0) < 0) {
		/* harmless: the next holder rewrites it */
	}
	close(l->fd);
	free(l->path);
	free(l);
}
