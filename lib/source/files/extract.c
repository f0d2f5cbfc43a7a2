/* extract.c - the files: target's restore side (see files.h): extract a tar
 * stream safely into a folder, and compare a tree with the index. */
#include "source/files/internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <openssl/evp.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_REPORTED 20
#define HASH_BUF (256 * 1024)

/* --- extract --- */

/* Names that could leave the target folder: absolute, or with a ".." component. */
static int unsafe_name(const char *p)
{
	if (p[0] == '/')
		return 1;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

struct xstate {
	char *dir;		/* realpath: no symlinks or ".." for libarchive's checks to trip on */
	int flags;
	int rel;		/* the thread's own cwd is dir: libarchive gets names relative to it */
	int nolinks;		/* dir was empty and no entry that can make a symlink came yet */
	struct ado_files_written *written;	/* may be NULL */
	EVP_MD_CTX *md;		/* hashes each regular file's data as it is written */
	int rfd, wfd;		/* socketpair: the thread reads rfd, writes go to wfd */
	pthread_t th;
	int started;
	atomic_int failed;	/* set by the thread when it stops with an error */
	int rc;
	struct ado_err err;
	struct ado_files_stats *st, local;
	ado_files_warn_fn warn;
	void *warn_arg;
	/* the archive's "." entry: applied to dir once everything below is written */
	int root_set;
	mode_t root_mode;
	uid_t root_uid;
	gid_t root_gid;
	struct timespec root_mtime;
};

static char *join_path(const char *dir, const char *rel)
{
	size_t dl = strlen(dir), rl = strlen(rel);
	char *p = malloc(dl + rl + 2);

	if (p) {
		memcpy(p, dir, dl);
		p[dl] = '/';
		memcpy(p + dl + 1, rel, rl + 1);
	}
	return p;
}

/* Does dir/rel pass through a symlink (any component but the last, and the
 * last too if check_last)? Missing components are fine: libarchive creates
 * them as folders. */
static int through_symlink(const struct xstate *x, const char *rel, int check_last)
{
	char *p = join_path(x->dir, rel);
	struct stat sb;
	int found = 0;

	if (!p)
		return 1;	/* cannot prove it safe */
	for (char *s = p + strlen(x->dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (lstat(p, &sb) < 0) {
			*s = '/';
			goto out;
		}
		*s = '/';
		if (S_ISLNK(sb.st_mode)) {
			found = 1;
			goto out;
		}
	}
	if (check_last && lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode))
		found = 1;
out:
	free(p);
	return found;
}

static int refuse(const char *name, const char *link, struct ado_err *e)
{
	char *en = files_pct_escape(name), *el = link ? files_pct_escape(link) : NULL;

	if (link)
		ado_err_set(e, ADO_E_UNSAFE, 0, "refusing to extract '%s': its hard link target '%s' leaves the target folder",
			    en ? en : "?", el ? el : "?");
	else
		ado_err_set(e, ADO_E_UNSAFE, 0, "refusing to extract '%s': it leaves the target folder", en ? en : "?");
	free(en);
	free(el);
	return ado_err_hint(e, "the archive holds paths outside its folder; it was not made by ado-backup "
			    "or has been tampered with: do not restore it");
}

/* The disk is full (or the quota spent): no later write will do better. */
static int disk_full(struct archive *dw)
{
	return archive_errno(dw) == ENOSPC || archive_errno(dw) == EDQUOT;
}

/* archive_write_data_block() took the whole block: libarchive 3 says
 * ARCHIVE_OK, libarchive 4 the byte count. */
#if ARCHIVE_VERSION_NUMBER < 3999000
#define WROTE_ALL(k, len) ((k) == ARCHIVE_OK)
#else
#define WROTE_ALL(k, len) ((k) == (la_ssize_t)(len))
#endif

/* A sparse file's holes are zeros on disk: hash them as such. */
static void hash_zeros(EVP_MD_CTX *md, int64_t n)
{
	static const unsigned char zeros[64 * 1024];

	while (n > 0) {
		size_t k = n < (int64_t)sizeof(zeros) ? (size_t)n : sizeof(zeros);
		EVP_DigestUpdate(md, zeros, k);
		n -= (int64_t)k;
	}
}

/* Tell the written-files table what the path now holds: a regular file hashed
 * whole (libarchive extends it to its size with a hole), a hard link (its
 * target's record), or anything else, including a file whose write was not
 * clean (no record: the check reads it back). */
static void record(struct xstate *x, struct archive_entry *ent, const char *key, const char *lkey, int hashed,
		   int64_t pos)
{
	int64_t size = archive_entry_size_is_set(ent) ? archive_entry_size(ent) : pos;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (lkey) {
		files_written_link(x->written, key, lkey);
		return;
	}
	if (!hashed || size < pos) {
		files_written_forget(x->written, key);
		return;
	}
	hash_zeros(x->md, size - pos);
	EVP_DigestFinal_ex(x->md, md, &mdlen);
	files_written_put(x->written, key, (uint64_t)size, md);
}

static int x_entry(struct xstate *x, struct archive *ar, struct archive *dw, struct archive_entry *ent,
		   struct ado_err *e)
{
	const char *name = archive_entry_pathname(ent), *hl = archive_entry_hardlink(ent);
	char *full = NULL, *lfull = NULL, *esc = NULL, *key = NULL, *lkey = NULL;
	int r, rc = -1, type = (int)archive_entry_filetype(ent);
	int hashing, clean = 1;	/* clean: libarchive reported no warning for this entry */
	int64_t pos = 0;

	if (!name || !*name)
		return ado_err_set(e, ADO_E_FORMAT, 0, "cannot extract into '%s': an archive entry has no name", x->dir);
	name = files_strip_dot_slash(name);
	if (!*name || strcmp(name, ".") == 0) {
		if (archive_entry_filetype(ent) == AE_IFDIR) {
			x->root_set = 1;
			x->root_mode = archive_entry_perm(ent);
			x->root_uid = (uid_t)archive_entry_uid(ent);
			x->root_gid = (gid_t)archive_entry_gid(ent);
			x->root_mtime.tv_sec = archive_entry_mtime(ent);
			x->root_mtime.tv_nsec = archive_entry_mtime_nsec(ent);
		}
		return 0;	/* the archive's root folder: dir itself */
	}
	/* In a folder that was empty, only an entry of ours can have made a
	 * symlink: until one that can (a symlink, or a hard link to one) comes,
	 * no path passes through one and the walks below would find nothing.
	 * libarchive's own check (SECURE_SYMLINKS) runs on every entry anyway. */
	if (unsafe_name(name) || (!x->nolinks && through_symlink(x, name, 0)))
		return refuse(name, NULL, e);
	/* an existing symlink replaced by a folder could be chmod'ed through */
	if (type == AE_IFDIR && !x->nolinks && through_symlink(x, name, 1))
		return refuse(name, NULL, e);
	if (hl) {
		hl = files_strip_dot_slash(hl);
		/* a link to a symlink with data would be written through it */
		if (!*hl || unsafe_name(hl) || (!x->nolinks && through_symlink(x, hl, archive_entry_size(ent) > 0)))
			return refuse(name, hl, e);
	}
	if (hl || type == AE_IFLNK)
		x->nolinks = 0;
	if (!(esc = files_pct_escape(name)) || !(full = x->rel ? strdup(name) : join_path(x->dir, name)) ||
	    (hl && !(lfull = x->rel ? strdup(hl) : join_path(x->dir, hl)))) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	if (x->written) {
		if (!(key = malloc(strlen(name) + 1)) || (hl && !(lkey = malloc(strlen(hl) + 1)))) {
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			goto out;
		}
		files_canon_path(key, name);
		if (hl)
			files_canon_path(lkey, hl);
		/* its data goes into an inode that other names may share */
		if (hl && archive_entry_size(ent) > 0)
			files_written_off(x->written);
	}
	hashing = key && type == AE_IFREG && !hl;
	if (hashing)
		EVP_DigestInit_ex(x->md, EVP_sha256(), NULL);
	archive_entry_copy_pathname(ent, full);
	if (hl)
		archive_entry_copy_hardlink(ent, lfull);
	/* by hand rather than archive_read_extract2(), which turns a failed
	 * header (a file that could not be created) into a mere warning */
	r = archive_write_header(dw, ent);
	if (r < ARCHIVE_WARN || (r == ARCHIVE_WARN && disk_full(dw)))
		goto disk_fail;
	if (r == ARCHIVE_WARN) {
		clean = 0;
		files_warnv(x->warn, x->warn_arg, x->st, "extracting '%s': %s", esc, archive_error_string(dw));
	}
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		la_ssize_t k;

		r = archive_read_data_block(ar, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			ado_err_set(e, ADO_E_FORMAT, 0, "cannot extract '%s' into '%s': the archive is damaged: %s", esc,
				    x->dir, archive_error_string(ar) ? archive_error_string(ar) : "read error");
			goto out;
		}
		if (r == ARCHIVE_WARN)
			files_warnv(x->warn, x->warn_arg, x->st, "reading '%s': %s", esc, archive_error_string(ar));
		k = archive_write_data_block(dw, buf, len, off);
		/* libarchive calls a failed write a warning and goes on: a full
		 * disk would then cost a warning a block. Stop at the first. */
		if (k < ARCHIVE_WARN || (k == ARCHIVE_WARN && disk_full(dw)))
			goto disk_fail;
		if (k == ARCHIVE_WARN)
			files_warnv(x->warn, x->warn_arg, x->st, "extracting '%s': %s", esc, archive_error_string(dw));
		/* only bytes the disk took whole, in order, are vouched for */
		if (!WROTE_ALL(k, len) || off < pos)
			clean = 0;
		if (hashing && clean) {
			hash_zeros(x->md, off - pos);
			EVP_DigestUpdate(x->md, buf, len);
			pos = off + (int64_t)len;
		}
	}
	r = archive_write_finish_entry(dw);
	if (r < ARCHIVE_WARN || (r == ARCHIVE_WARN && disk_full(dw)))
		goto disk_fail;
	if (r == ARCHIVE_WARN) {
		clean = 0;
		files_warnv(x->warn, x->warn_arg, x->st, "extracting '%s': %s", esc, archive_error_string(dw));
	}
	if (key)
		record(x, ent, key, lkey, hashing && clean, pos);
	x->st->entries++;
	if (archive_entry_filetype(ent) == AE_IFREG || hl) {
		x->st->files++;
		if (!hl)
			x->st->bytes += (uint64_t)archive_entry_size(ent);
	}
	rc = 0;
	goto out;
disk_fail:
	if (disk_full(dw)) {
		ado_err_set(e, ADO_E_IO, 0, "no space left on '%s' (extracting '%s')", x->dir, esc);
		ado_err_hint(e, "free space there, or restore into a folder on another filesystem");
		goto out;
	}
	ado_err_set(e, ADO_E_IO, archive_errno(dw) > 0 ? archive_errno(dw) : 0, "cannot extract '%s' into '%s': %s", esc,
		    x->dir, archive_error_string(dw) ? archive_error_string(dw) : "write error");
out:
	free(esc);
	free(full);
	free(lfull);
	free(key);
	free(lkey);
	return rc;
}

static int x_run(struct xstate *x, struct ado_err *e)
{
	struct archive *ar = archive_read_new(), *dw = archive_write_disk_new();
	struct archive_entry *ent;
	int r, rc = -1;

	if (!ar || !dw) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	archive_read_support_format_tar(ar);
	archive_write_disk_set_options(dw, x->flags);
	archive_write_disk_set_standard_lookup(dw);
	if (archive_read_open_fd(ar, x->rfd, 64 * 1024) != ARCHIVE_OK) {
		ado_err_set(e, ADO_E_FORMAT, 0, "cannot read the archive to extract into '%s': %s", x->dir,
			    archive_error_string(ar));
		goto out;
	}
	for (;;) {
		r = archive_read_next_header(ar, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN) {
			files_warnv(x->warn, x->warn_arg, x->st, "reading the archive: %s", archive_error_string(ar));
		} else if (r != ARCHIVE_OK) {
			ado_err_set(e, ADO_E_FORMAT, 0, "cannot read the archive to extract into '%s': %s", x->dir,
				    archive_error_string(ar));
			goto out;
		}
		if (x_entry(x, ar, dw, ent, e) < 0)
			goto out;
	}
	/* folders' modes and times are set last, here */
	r = archive_write_close(dw);
	if (r == ARCHIVE_WARN) {
		files_warnv(x->warn, x->warn_arg, x->st, "finishing '%s': %s", x->dir, archive_error_string(dw));
	} else if (r != ARCHIVE_OK) {
		ado_err_set(e, ADO_E_IO, archive_errno(dw), "cannot finish extracting into '%s': %s", x->dir,
			    archive_error_string(dw));
		goto out;
	}
	if (x->root_set) {
		struct timespec ts[2] = { x->root_mtime, x->root_mtime };
		/* chown first: it clears set-id bits that chmod then restores */
		if ((x->flags & ARCHIVE_EXTRACT_OWNER) && chown(x->dir, x->root_uid, x->root_gid) < 0)
			files_warnv(x->warn, x->warn_arg, x->st, "cannot set the owner of '%s': %s", x->dir,
				    strerror(errno));
		if (chmod(x->dir, x->root_mode) < 0 || utimensat(AT_FDCWD, x->dir, ts, 0) < 0)
			files_warnv(x->warn, x->warn_arg, x->st, "cannot set the mode or times of '%s': %s", x->dir,
				    strerror(errno));
	}
	rc = 0;
out:
	archive_read_free(ar);
	archive_write_free(dw);
	return rc;
}

static void *x_main(void *arg)
{
	struct xstate *x = arg;
	char buf[4096];
	/* names come back as the bytes they were stored as (see ado_files_backup) */
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);

	if (utf8)
		uselocale(utf8);
	/* A cwd of our own (threads share one unless CLONE_FS is undone): inside
	 * dir, libarchive's SECURE_SYMLINKS walk covers the entry's components,
	 * not every component of dir's absolute path as well, and absolute
	 * names can be refused by libarchive too. Otherwise: absolute names. */
	if (unshare(CLONE_FS) == 0 && chdir(x->dir) == 0) {
		x->rel = 1;
		x->flags |= ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
	}
	ado_err_clear(&x->err);
	x->rc = x_run(x, &x->err);
	if (utf8) {
		uselocale(LC_GLOBAL_LOCALE);
		freelocale(utf8);
	}
	if (x->rc < 0) {
		atomic_store(&x->failed, 1);
	} else {
		/* past the end-of-archive marker: block padding; take it so the writer never blocks */
		for (;;) {
			ssize_t k = read(x->rfd, buf, sizeof(buf));
			if (k == 0 || (k < 0 && errno != EINTR))
				break;
		}
	}
	/* a writer blocked in send() now gets EPIPE and picks up our error */
	close(x->rfd);
	x->rfd = -1;
	return NULL;
}

static int x_join(struct xstate *x, struct ado_err *e)
{
	if (x->wfd >= 0) {
		close(x->wfd);
		x->wfd = -1;
	}
	if (x->started) {
		pthread_join(x->th, NULL);
		x->started = 0;
	}
	if (x->rc < 0) {
		if (e)
			*e = x->err;
		return -1;
	}
	return 0;
}

static int x_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct xstate *x = w->state;
	const char *p = buf;

	while (n > 0) {
		ssize_t k;

		if (atomic_load(&x->failed))
			return x_join(x, e);
		k = send(x->wfd, p, n, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET) {
				if (x_join(x, e) < 0)
					return -1;
				return ado_err_set(e, ADO_E_FORMAT, 0,
						   "cannot extract into '%s': data after the end of the archive", x->dir);
			}
			return ado_err_set(e, ADO_E_IO, errno, "cannot pass data to the extraction into '%s'", x->dir);
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int x_close(struct ado_writer *w, struct ado_err *e)
{
	return x_join(w->state, e);
}

static void x_free(struct ado_writer *w)
{
	struct xstate *x = w->state;

	if (!x)
		return;
	x_join(x, NULL);	/* closing our end gives the thread EOF: it ends and we join */
	if (x->rfd >= 0)
		close(x->rfd);
	EVP_MD_CTX_free(x->md);
	free(x->dir);
	free(x);
}

static const struct ado_writer_ops extract_ops = {
	.name = "extract",
	.write = x_write,
	.close = x_close,
	.free = x_free,
};

/* Holds nothing at all (and so no symlink)? An unreadable folder: no. */
static int dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int empty = d != NULL;

	while (d && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	if (d)
		closedir(d);
	return empty;
}

struct ado_writer *ado_extract_writer_new(const char *dir, const struct ado_extract_opts *o,
					  struct ado_files_stats *st, struct ado_err *e)
{
	struct xstate *x = calloc(1, sizeof(*x));
	struct ado_writer *w = NULL;
	struct stat sb;
	sigset_t all, old;
	int sv[2], rc, owner = o ? o->preserve_owner : geteuid() == 0;

	if (!x) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	x->rfd = x->wfd = -1;
	x->st = st ? st : &x->local;
	memset(x->st, 0, sizeof(*x->st));
	if (o) {
		x->warn = o->warn;
		x->warn_arg = o->warn_arg;
		x->written = o->written;
	}
	if (x->written && !(x->md = EVP_MD_CTX_new())) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto fail;
	}
	if (!(x->dir = realpath(dir, NULL)) || stat(x->dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		int err = x->dir ? ENOTDIR : errno;
		ado_err_set(e, err == ENOENT || err == ENOTDIR ? ADO_E_NOTFOUND : ADO_E_IO, err,
			    "cannot extract into '%s'", dir);
		goto fail;
	}
	x->nolinks = dir_empty(x->dir);
	/* NOABSOLUTEPATHS is added by the thread once it works inside dir; in
	 * the fallback we refuse absolute names ourselves and then hand
	 * libarchive dir/NAME, which is absolute */
	x->flags = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_PERM |
		   ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_FFLAGS;
	if (owner)
		x->flags |= ARCHIVE_EXTRACT_OWNER;
	/* a socket, not a pipe: send(MSG_NOSIGNAL) gives EPIPE instead of SIGPIPE */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot start extracting into '%s'", dir);
		goto fail;
	}
	x->rfd = sv[0];
	x->wfd = sv[1];
	shutdown(x->rfd, SHUT_WR);
	if (!(w = ado_writer_new(&extract_ops, x, NULL))) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto fail;
	}
	/* signals stay with the tool's main thread, which checks ado_interrupted() */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&x->th, NULL, x_main, x);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		ado_err_set(e, ADO_E_IO, rc, "cannot start extracting into '%s'", dir);
		w->state = NULL;
		free(w);
		goto fail;
	}
	x->started = 1;
	return w;
fail:
	if (x->rfd >= 0)
		close(x->rfd);
	if (x->wfd >= 0)
		close(x->wfd);
	EVP_MD_CTX_free(x->md);
	free(x->dir);
	free(x);
	return NULL;
}

/* --- index check --- */

struct cstate {
	struct lines lines;
	char *dir;
	ado_files_warn_fn warn;
	void *arg;
	struct ado_files_stats *st, local;
	uint64_t bad;
	unsigned char *hbuf;
	EVP_MD_CTX *md;
	const struct ado_files_written *written;	/* may be NULL */
};

static void mismatch(struct cstate *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mismatch(struct cstate *c, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	c->bad++;
	c->st->warnings++;
	if (c->bad > MAX_REPORTED || !c->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->warn(c->arg, msg);
}

/* Something the backup itself recorded about a file: said, but not a mismatch. */
static void note(struct cstate *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct cstate *c, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!c->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->warn(c->arg, msg);
}

static int hash_file(struct cstate *c, const char *path, char out[65], struct ado_err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t k;

	if (fd < 0)
		return -1;
	EVP_DigestInit_ex(c->md, EVP_sha256(), NULL);
	while ((k = read(fd, c->hbuf, HASH_BUF)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		EVP_DigestUpdate(c->md, c->hbuf, (size_t)k);
	}
	close(fd);
	EVP_DigestFinal_ex(c->md, md, &mdlen);
	ado_hex(md, mdlen, out);
	return 0;
}

/* What the extraction recorded for raw (an unescaped index path), as hex, if
 * it wrote exactly `size` bytes there. raw is put in canonical form in place. */
static int written_sha(struct cstate *c, char *raw, uint64_t size, char out[65])
{
	unsigned char md[32];
	uint64_t got;

	if (!c->written)
		return 0;
	files_canon_path(raw, raw);
	if (!files_written_get(c->written, raw, &got, md) || got != size)
		return 0;
	ado_hex(md, sizeof(md), out);
	return 1;
}

static int check_line(void *state, char *line, uint64_t lineno, struct ado_err *e)
{
	struct cstate *c = state;
	struct line_in li;
	struct stat sb;
	char *full = NULL, *name, *raw;
	char got[65];
	int rc = -1;

	if (files_parse_line(line, lineno, &li, e) < 0)
		return -1;
	name = li.path;		/* messages keep the escaped form */
	if (!(raw = strdup(li.path)))
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	if (files_pct_unescape(raw) < 0 || unsafe_name(raw)) {
		free(raw);
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": bad path '%.200s'", lineno, name);
	}
	if (!(full = join_path(c->dir, raw))) {
		free(raw);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	if (li.type == 'u') {
		/* not in the tar: said, not a mismatch, not an entry */
		note(c, "'%s': not in the backup: it could not be read when the backup was made", name);
		goto done;
	}
	if (li.type == 'c')
		note(c, "'%s': changed while it was backed up: this copy of it may be torn", name);
	c->st->entries++;
	if (li.type == 'f' || li.type == 'c' || li.type == 'h') {
		c->st->files++;
		c->st->bytes += li.size;
	}
	if (lstat(full, &sb) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			mismatch(c, "'%s': missing", name);
		else
			mismatch(c, "'%s': cannot stat: %s", name, strerror(errno));
		goto done;
	}
	switch (li.type) {
	case 'f':
	case 'c':
	case 'h':
		if (!S_ISREG(sb.st_mode)) {
			mismatch(c, "'%s': not a regular file", name);
			break;
		}
		if ((uint64_t)sb.st_size != li.size) {
			mismatch(c, "'%s': size %lld, expected %" PRIu64, name, (long long)sb.st_size, li.size);
			break;
		}
		if (strcmp(li.sha, "-") == 0)
			break;	/* a hard link whose original could not be read */
		/* the bytes the extraction wrote, hashed as they went; else read back */
		if (!written_sha(c, raw, li.size, got)) {
			c->st->reread++;
			if (hash_file(c, full, got, e) < 0) {
				mismatch(c, "'%s': cannot read: %s", name, strerror(errno));
				break;
			}
		}
		if (strcmp(got, li.sha) != 0)
			mismatch(c, "'%s': content differs (sha256 %s, expected %s)", name, got, li.sha);
		break;
	case 'd':
		if (!S_ISDIR(sb.st_mode))
			mismatch(c, "'%s': not a folder", name);
		break;
	case 'l': {
		char *target;
		ssize_t n;
		if (!S_ISLNK(sb.st_mode)) {
			mismatch(c, "'%s': not a symlink", name);
			break;
		}
		target = malloc((size_t)sb.st_size + 2);
		if (!target) {
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			goto out;
		}
		n = readlink(full, target, (size_t)sb.st_size + 1);
		if (n < 0) {
			mismatch(c, "'%s': cannot read the symlink: %s", name, strerror(errno));
		} else {
			ado_sha256_hex(target, (size_t)n, got);
			if (strcmp(got, li.sha) != 0)
				mismatch(c, "'%s': symlink target differs", name);
		}
		free(target);
		break;
	}
	default:
		break;	/* 'o': existing is all we check */
	}
done:
	rc = 0;
out:
	free(raw);
	free(full);
	return rc;
}

static int c_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct cstate *c = w->state;

	return files_lines_push(&c->lines, buf, n, e);
}

static int c_close(struct ado_writer *w, struct ado_err *e)
{
	struct cstate *c = w->state;

	if (files_lines_finish(&c->lines, e) < 0)
		return -1;
	if (c->bad > MAX_REPORTED && c->warn) {
		char msg[128];
		snprintf(msg, sizeof(msg), "... and %" PRIu64 " more", c->bad - MAX_REPORTED);
		c->warn(c->arg, msg);
	}
	if (c->bad) {
		ado_err_set(e, ADO_E_INTEGRITY, 0, "%" PRIu64 " of %" PRIu64 " entries differ from the backup", c->bad,
			    c->st->entries);
		return ado_err_hint(e, "the files in '%s' do not match the backup's index; the archive or the disk "
				    "is damaged: try another copy of the backup", c->dir);
	}
	return 0;
}

static void c_free(struct ado_writer *w)
{
	struct cstate *c = w->state;

	if (!c)
		return;
	free(c->lines.buf);
	free(c->dir);
	free(c->hbuf);
	EVP_MD_CTX_free(c->md);
	free(c);
}

static const struct ado_writer_ops check_ops = {
	.name = "index-check",
	.write = c_write,
	.close = c_close,
	.free = c_free,
};

struct ado_writer *ado_index_check_writer_new(const char *dir, ado_files_warn_fn warn, void *arg,
					      struct ado_files_stats *st, struct ado_err *e)
{
	return ado_index_check_writer_new2(dir, NULL, warn, arg, st, e);
}

struct ado_writer *ado_index_check_writer_new2(const char *dir, const struct ado_files_written *written,
					       ado_files_warn_fn warn, void *arg, struct ado_files_stats *st,
					       struct ado_err *e)
{
	struct cstate *c = calloc(1, sizeof(*c));
	struct ado_writer *w;

	if (!c || !(c->lines.buf = malloc(INDEX_LINE_MAX + 1)) || !(c->dir = strdup(dir)) ||
	    !(c->hbuf = malloc(HASH_BUF)) || !(c->md = EVP_MD_CTX_new()))
		goto nomem;
	c->lines.fn = check_line;
	c->lines.state = c;
	c->written = written;
	c->warn = warn;
	c->arg = arg;
	c->st = st ? st : &c->local;
	memset(c->st, 0, sizeof(*c->st));
	if (!(w = ado_writer_new(&check_ops, c, NULL)))
		goto nomem;
	return w;
nomem:
	if (c) {
		struct ado_writer tmp = { .state = c };
		c_free(&tmp);
	}
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	return NULL;
}
