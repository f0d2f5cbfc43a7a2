/* local.c - the local-disk driver. Writes are atomic (pgBackRest storage/posix/write.c):
 * a temp name in the same folder, write, fsync, rename, fsync the folder. Files are
 * created 0600 and folders 0700: they hold backups. */
#include "store/store.h"
#include "base/random.h"
#include "base/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct local {
	char *root;
};

static int join(struct ado_store *s, const char *path, char *out, size_t len, struct ado_err *e)
{
	struct local *l = s->state;
	size_t rl = strlen(l->root);
	int n;

	if (strstr(path, "..") && (strcmp(path, "..") == 0 || strncmp(path, "../", 3) == 0 || strstr(path, "/../")))
		return ado_err_set(e, ADO_E_UNSAFE, 0, "refusing path '%s': it leaves '%s'", path, l->root);
	n = snprintf(out, len, "%s%s%s", l->root, (rl && l->root[rl - 1] == '/') || !*path ? "" : "/", path);
	if (n < 0 || (size_t)n >= len)
		return ado_err_set(e, ADO_E_IO, ENAMETOOLONG, "path too long: '%s/%s'", l->root, path);
	return 0;
}

/* mkdir -p for the parent folders of `file`, mode 0700. */
static int mkparents(const char *file, struct ado_err *e)
{
	char buf[PATH_MAX];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", file);
	slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return 0;
	*slash = '\0';
	return ado_mkdirs(buf, 0700, e);
}

static int fsync_dir(const char *file, struct ado_err *e)
{
	char buf[PATH_MAX];
	char *slash;
	int fd, rc = 0;

	snprintf(buf, sizeof(buf), "%s", file);
	slash = strrchr(buf, '/');
	if (!slash)
		return 0;
	if (slash == buf)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ado_err_set(e, ADO_E_IO, errno, "cannot open folder '%s'", buf);
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = ado_err_set(e, ADO_E_IO, errno, "cannot fsync folder '%s'", buf);
	close(fd);
	return rc;
}

/* --- atomic writer --- */

/* Writeback is started every FLUSH_AFTER bytes (sync_file_range, as
 * PostgreSQL's backend_flush_after does), so the fsync at the end finds little
 * left to write and the page cache does not fill with a backup's dirty pages. */
#define FLUSH_AFTER (8 * 1024 * 1024)

struct lwrite {
	int fd;
	char *final, *tmp;
	int done;
	off_t written, flushed;	/* bytes written; writeback started up to here */
};

static int lw_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct lwrite *lw = w->state;
	const char *p = buf;

	while (n) {
		ssize_t k = write(lw->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return ado_err_set(e, ADO_E_IO, errno, "cannot write '%s'", lw->final);
		}
		p += k;
		n -= (size_t)k;
		lw->written += k;
	}
	if (lw->written - lw->flushed >= FLUSH_AFTER) {
		/* a hint: where it is not supported, the fsync at close does it all */
		(void)sync_file_range(lw->fd, lw->flushed, lw->written - lw->flushed, SYNC_FILE_RANGE_WRITE);
		lw->flushed = lw->written;
	}
	return 0;
}

static int lw_close(struct ado_writer *w, struct ado_err *e)
{
	struct lwrite *lw = w->state;
	int fd = lw->fd;

	lw->fd = -1;
	if (fsync(fd) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot fsync '%s'", lw->final);
		close(fd);
		return -1;
	}
	if (close(fd) < 0)
		return ado_err_set(e, ADO_E_IO, errno, "cannot close '%s'", lw->final);
	if (rename(lw->tmp, lw->final) < 0)
		return ado_err_set(e, ADO_E_IO, errno, "cannot rename '%s' to '%s'", lw->tmp, lw->final);
	lw->done = 1;
	return fsync_dir(lw->final, e);
}

static void lw_free(struct ado_writer *w)
{
	struct lwrite *lw = w->state;

	if (!lw)
		return;
	if (lw->fd >= 0)
		close(lw->fd);
	if (!lw->done && lw->tmp)
		unlink(lw->tmp);
	free(lw->final);
	free(lw->tmp);
	free(lw);
}

static const struct ado_writer_ops lw_ops = {
	.name = "local-write",
	.write = lw_write,
	.close = lw_close,
	.free = lw_free,
};

static int l_open_write(struct ado_store *s, const char *path, unsigned flags, struct ado_writer **out,
			struct ado_err *e)
{
	char full[PATH_MAX], tmp[PATH_MAX + 64];
	struct lwrite *lw;
	unsigned r;

	if (join(s, path, full, sizeof(full), e) < 0 || mkparents(full, e) < 0)
		return -1;
	lw = calloc(1, sizeof(*lw));
	if (!lw)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	lw->fd = -1;
	for (int tries = 0; tries < 10; tries++) {
		if (ado_random(&r, sizeof(r), NULL) < 0)
			r = (unsigned)getpid() ^ (unsigned)tries;
		snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%08x", full, (long)getpid(), r);
		lw->fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (lw->fd >= 0 || errno != EEXIST)
			break;
	}
	if (lw->fd < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot create '%s'", tmp);
		free(lw);
		return -1;
	}
	lw->final = strdup(full);
	lw->tmp = strdup(tmp);
	*out = ado_writer_new(&lw_ops, lw, NULL);
	if (!lw->final || !lw->tmp || !*out) {
		struct ado_writer tmpw = { .state = lw };
		lw_free(&tmpw);
		free(*out);
		*out = NULL;
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	return 0;
}

/* --- reader --- */
static int l_open_read(struct ado_store *s, const char *path, struct ado_reader **out, struct ado_err *e)
{
	char full[PATH_MAX];
	int fd;

	if (join(s, path, full, sizeof(full), e) < 0)
		return -1;
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ado_err_set(e, errno == ENOENT ? ADO_E_NOTFOUND : ADO_E_IO, errno, "cannot open '%s'", full);
	*out = ado_fd_reader_new(fd, 1, e);
	if (!*out) {
		close(fd);
		return -1;
	}
	return 0;
}

static int l_list(struct ado_store *s, const char *dir, ado_store_list_cb cb, void *arg, struct ado_err *e)
{
	char full[PATH_MAX];
	DIR *d;
	struct dirent *de;

	if (join(s, dir, full, sizeof(full), e) < 0)
		return -1;
	d = opendir(full);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return ado_err_set(e, ADO_E_IO, errno, "cannot list '%s'", full);
	}
	while ((de = readdir(d))) {
		struct ado_store_entry ent = { 0 };
		struct stat st;
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		ent.name = de->d_name;
		ent.is_dir = S_ISDIR(st.st_mode);
		ent.size = (uint64_t)st.st_size;
		ent.mtime = st.st_mtime;
		if (cb(&ent, arg))
			break;
	}
	closedir(d);
	return 0;
}

static int l_remove(struct ado_store *s, const char *path, struct ado_err *e)
{
	char full[PATH_MAX];

	if (join(s, path, full, sizeof(full), e) < 0)
		return -1;
	if (unlink(full) < 0 && errno != ENOENT)
		return ado_err_set(e, ADO_E_IO, errno, "cannot remove '%s'", full);
	return 0;
}

static int l_remove_tree(struct ado_store *s, const char *dir, struct ado_err *e)
{
	char full[PATH_MAX];

	if (!*dir)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "refusing to remove the whole store");
	if (join(s, dir, full, sizeof(full), e) < 0)
		return -1;
	return ado_rm_rf(full, e);
}

static int l_exists(struct ado_store *s, const char *path, uint64_t *size, struct ado_err *e)
{
	char full[PATH_MAX];
	struct stat st;

	if (join(s, path, full, sizeof(full), e) < 0)
		return -1;
	if (stat(full, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return ado_err_set(e, ADO_E_IO, errno, "cannot stat '%s'", full);
	}
	if (size)
		*size = (uint64_t)st.st_size;
	return 1;
}

static void l_free(struct ado_store *s)
{
	struct local *l = s->state;

	if (l)
		free(l->root);
	free(l);
}

/* a local disk is always online: no readable, thaw or clean_uploads */
static const struct ado_store_ops local_ops = {
	.scheme = "local",
	.open_write = l_open_write,
	.open_read = l_open_read,
	.list = l_list,
	.remove = l_remove,
	.remove_tree = l_remove_tree,
	.exists = l_exists,
	.free = l_free,
};

int ado_store_local_open(const char *dir, struct ado_store **out, struct ado_err *e)
{
	struct ado_store *s = calloc(1, sizeof(*s));
	struct local *l = calloc(1, sizeof(*l));
	size_t n;

	if (!s || !l)
		goto oom;
	l->root = strdup(dir);
	if (!l->root)
		goto oom;
	/* keep "/" but drop other trailing slashes so references read DEST/JOB/ID */
	n = strlen(l->root);
	while (n > 1 && l->root[n - 1] == '/')
		l->root[--n] = '\0';
	s->ops = &local_ops;
	s->state = l;
	s->url = strdup(l->root);
	if (!s->url)
		goto oom;
	*out = s;
	return 0;
oom:
	if (l)
		free(l->root);
	free(l);
	free(s);
	return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
}
