/* write.c - the files: target's backup side (see files.h): walk the tree with
 * libarchive's disk reader, write each entry into a pax tar, hash what is
 * stored and write the index line for it. */
#include "source/files/internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <locale.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_BUF (64 * 1024)
#define LINK_BUCKETS 4096

static const unsigned char zeros[64 * 1024];

static void (*test_hook)(void *, const char *, const char *);
static void *test_hook_arg;

/* The CLI tests' way in (tests/cli cannot call the hook above):
 * ADO_TEST_SHRINK=REL halves file REL after its header is written, so it
 * shrinks while it is read. */
static void env_test_hook(const char *rel, const char *full)
{
	const char *want = getenv("ADO_TEST_SHRINK");
	struct stat sb;

	if (want && strcmp(want, rel) == 0 && stat(full, &sb) == 0 && truncate(full, sb.st_size / 2) < 0) {
		/* the test then sees no change and fails: nothing to do here */
	}
}

void ado_files_set_test_hook(void (*fn)(void *arg, const char *rel, const char *full), void *arg)
{
	test_hook = fn;
	test_hook_arg = arg;
}

const char *files_strip_dot_slash(const char *p)
{
	while (p[0] == '.' && p[1] == '/') {
		p += 2;
		while (*p == '/')
			p++;
	}
	return p;
}

void files_warnv(ado_files_warn_fn warn, void *arg, struct ado_files_stats *st, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	st->warnings++;
	if (!warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn(arg, msg);
}

/* --- backup --- */

struct link_rec {
	struct link_rec *next;
	char kind;		/* the original's index type: f, l or o */
	uint64_t size;
	char sha[65];
	char path[];
};

struct bctx {
	const struct ado_target *t;
	struct ado_writer *tar, *idx;
	ado_files_warn_fn warn;
	void *arg;
	struct ado_files_stats *st;
	struct ado_err werr;	/* the tar writer's own error, kept for the caller */
	int werr_set;
	char *root;		/* t->path without trailing slashes */
	size_t rootlen;
	int single;		/* t->path is not a folder */
	const char *base;	/* its base name when single */
	char *ibuf;
	size_t ilen;
	struct link_rec **links;	/* originals of hard-linked files, by path */
	EVP_MD_CTX *md;
};

static unsigned long path_hash(const char *s)
{
	unsigned long h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % LINK_BUCKETS;
}

static int link_add(struct bctx *c, const char *path, char kind, uint64_t size, const char *sha)
{
	size_t n = strlen(path);
	struct link_rec *r;
	unsigned long h;

	if (!c->links && !(c->links = calloc(LINK_BUCKETS, sizeof(*c->links))))
		return -1;
	r = malloc(sizeof(*r) + n + 1);
	if (!r)
		return -1;
	r->kind = kind;
	r->size = size;
	memcpy(r->sha, sha, sizeof(r->sha));
	memcpy(r->path, path, n + 1);
	h = path_hash(path);
	r->next = c->links[h];
	c->links[h] = r;
	return 0;
}

static const struct link_rec *link_find(const struct bctx *c, const char *path)
{
	if (!c->links)
		return NULL;
	for (const struct link_rec *r = c->links[path_hash(path)]; r; r = r->next)
		if (strcmp(r->path, path) == 0)
			return r;
	return NULL;
}

static void links_free(struct bctx *c)
{
	if (!c->links)
		return;
	for (size_t i = 0; i < LINK_BUCKETS; i++) {
		struct link_rec *r = c->links[i];
		while (r) {
			struct link_rec *next = r->next;
			free(r);
			r = next;
		}
	}
	free(c->links);
}

static la_ssize_t tar_write_cb(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct bctx *c = arg;

	if (ado_writer_write(c->tar, buf, n, &c->werr) < 0) {
		c->werr_set = 1;
		archive_set_error(a, EIO, "the output stream failed");
		return -1;
	}
	return (la_ssize_t)n;
}

/* A libarchive write error: the chain's own error if it caused it. */
static int tar_fail(struct bctx *c, struct archive *aw, struct ado_err *e)
{
	if (c->werr_set) {
		if (e)
			*e = c->werr;
		return -1;
	}
	return ado_err_set(e, ADO_E_IO, archive_errno(aw), "cannot write the archive of '%s': %s", c->t->path,
			   archive_error_string(aw) ? archive_error_string(aw) : "unknown error");
}

static int idx_flush(struct bctx *c, struct ado_err *e)
{
	if (c->ilen && ado_writer_write(c->idx, c->ibuf, c->ilen, e) < 0)
		return -1;
	c->ilen = 0;
	return 0;
}

static int idx_line(struct bctx *c, char type, unsigned mode, uint64_t size, const char *sha, const char *path,
		    struct ado_err *e)
{
	char head[128];
	char *esc;
	size_t hn, pn;
	int rc = -1;

	if (!c->idx)
		return 0;
	esc = files_pct_escape(path);
	if (!esc)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	hn = (size_t)snprintf(head, sizeof(head), "%c\t%04o\t%" PRIu64 "\t%s\t", type, mode, size, sha);
	pn = strlen(esc);
	if (c->ilen + hn + pn + 1 > INDEX_BUF && idx_flush(c, e) < 0)
		goto out;
	if (hn + pn + 1 > INDEX_BUF) {
		/* longer than the buffer: write it through in pieces */
		if (ado_writer_write(c->idx, head, hn, e) < 0 || ado_writer_write(c->idx, esc, pn, e) < 0 ||
		    ado_writer_write(c->idx, "\n", 1, e) < 0)
			goto out;
	} else {
		memcpy(c->ibuf + c->ilen, head, hn);
		memcpy(c->ibuf + c->ilen + hn, esc, pn);
		c->ibuf[c->ilen + hn + pn] = '\n';
		c->ilen += hn + pn + 1;
	}
	rc = 0;
out:
	free(esc);
	return rc;
}

static int excluded(const struct bctx *c, const char *rel, const char *full)
{
	for (size_t i = 0; i < c->t->nexclude; i++) {
		const char *p = c->t->exclude[i];
		if (p[0] == '/') {
			if (fnmatch(p, full, FNM_LEADING_DIR) == 0)
				return 1;
			continue;
		}
		if (fnmatch(files_strip_dot_slash(p), rel, FNM_LEADING_DIR) == 0)
			return 1;
	}
	return 0;
}

/* The path relative to the root; "" for the root folder itself. */
static const char *relative(const struct bctx *c, const char *path)
{
	if (c->single)
		return c->base;
	if (strncmp(path, c->root, c->rootlen) == 0)
		path += c->rootlen;
	while (*path == '/')
		path++;
	return path;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n > k && strcmp(s + n - k, suffix) == 0;
}

static void warn_path(struct bctx *c, const char *path, int err)
{
	char *esc = files_pct_escape(relative(c, path));

	if (esc && err == ENOENT)
		files_warnv(c->warn, c->arg, c->st, "file vanished before it was read: '%s'", esc);
	else if (esc)
		files_warnv(c->warn, c->arg, c->st, "cannot read '%s': %s", esc, strerror(err));
	else
		files_warnv(c->warn, c->arg, c->st, "cannot read a file in '%s': %s", c->t->path, strerror(err));
	free(esc);
}

/* A warning from the disk walker. libarchive names the files in its text,
 * which we turn into one warning per file in our own wording:
 *   "PATH: Cannot stat"  (lstat failed; ARCHIVE_FAILED, entry skipped)
 *   "PATH PATH ...: File removed before we read it"  (listed, then gone;
 *   reported with the next entry that exists; at the end of the walk
 *   libarchive drops this report, so the last vanished files go unwarned) */
static void disk_warning(struct bctx *c, struct archive *disk, int skipped)
{
	static const char stat_suffix[] = ": Cannot stat", removed_suffix[] = ": File removed before we read it";
	const char *msg = archive_error_string(disk);
	int err = archive_errno(disk);
	size_t n = msg ? strlen(msg) : 0;
	char *list = NULL, *needle = NULL;

	if (!msg)
		msg = strerror(err);
	if (ends_with(msg, n, stat_suffix) && (list = strndup(msg, n - strlen(stat_suffix))) != NULL) {
		warn_path(c, list, err);
		free(list);
		return;
	}
	if (ends_with(msg, n, removed_suffix) && (list = strndup(msg, n - strlen(removed_suffix))) != NULL &&
	    asprintf(&needle, " %s%s", c->root, c->rootlen > 1 ? "/" : "") > 0) {
		/* space-separated full paths: split where the next one starts */
		for (char *p = list, *next; p && *p; p = next) {
			char *q = strstr(p + 1, needle);
			next = NULL;
			if (q) {
				*q = '\0';
				next = q + 1;
			}
			warn_path(c, p, ENOENT);
		}
		free(list);
		free(needle);
		return;
	}
	free(list);
	if (skipped)
		files_warnv(c->warn, c->arg, c->st, "skipped an entry in '%s': %s", c->t->path, msg);
	else
		files_warnv(c->warn, c->arg, c->st, "reading '%s': %s", c->t->path, msg);
}

/* Copy the current regular file's data into the tar, hashing what is
 * stored. Returns 0 (with *changed set if it did not match its header) or -1
 * on a fatal error. */
static int copy_data(struct bctx *c, struct archive *disk, struct archive *aw, const char *esc, int64_t want,
		     char sha[65], int *changed, struct ado_err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int64_t done = 0;

	*changed = 0;
	if (EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "cannot start a sha-256 digest");
	while (want > 0) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(disk, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_FATAL)
			return ado_err_set(e, ADO_E_IO, archive_errno(disk), "cannot read '%s' in '%s': %s", esc,
					   c->t->path, archive_error_string(disk));
		if (r < ARCHIVE_WARN) {
			/* a read error mid-file: the header is out, what follows is zeros */
			c->st->unreadable++;
			files_warnv(c->warn, c->arg, c->st, "cannot read '%s' in '%s': %s: its copy is padded with zeros",
				    esc, c->t->path, archive_error_string(disk));
			*changed = -1;
			break;
		}
		/* holes of a sparse file come as gaps between blocks: store zeros */
		while (off > done && done < want) {
			size_t n = (size_t)(off - done < (int64_t)sizeof(zeros) ? off - done : (int64_t)sizeof(zeros));
			if ((int64_t)n > want - done)
				n = (size_t)(want - done);
			if (archive_write_data(aw, zeros, n) != (la_ssize_t)n)
				return tar_fail(c, aw, e);
			EVP_DigestUpdate(c->md, zeros, n);
			done += (int64_t)n;
		}
		if (off < done) {	/* overlap: never seen, but do not store twice */
			if ((int64_t)len <= done - off)
				continue;
			buf = (const char *)buf + (done - off);
			len -= (size_t)(done - off);
		}
		if ((int64_t)len > want - done) {
			len = (size_t)(want - done);
			*changed = 1;	/* grew while read */
		}
		if (len && archive_write_data(aw, buf, len) != (la_ssize_t)len)
			return tar_fail(c, aw, e);
		EVP_DigestUpdate(c->md, buf, len);
		done += (int64_t)len;
	}
	/* shrank while read: pad so the tar stays valid and the index matches it */
	if (done < want && *changed == 0)
		*changed = 1;
	while (done < want) {
		size_t n = want - done < (int64_t)sizeof(zeros) ? (size_t)(want - done) : sizeof(zeros);
		if (archive_write_data(aw, zeros, n) != (la_ssize_t)n)
			return tar_fail(c, aw, e);
		EVP_DigestUpdate(c->md, zeros, n);
		done += (int64_t)n;
	}
	EVP_DigestFinal_ex(c->md, md, &mdlen);
	ado_hex(md, mdlen, sha);
	return 0;
}

static int write_entry(struct bctx *c, struct archive *disk, struct archive *aw,
		       struct archive_entry_linkresolver *lr, struct archive_entry *ent, const char *rel,
		       const char *full, struct ado_err *e)
{
	struct archive_entry *sparse = NULL;
	char sha[65] = "-";
	const char *hl;
	char *esc = files_pct_escape(rel);
	uint64_t size = 0;
	unsigned mode = archive_entry_mode(ent) & 07777;
	mode_t type = archive_entry_filetype(ent);
	char kind;
	int r, rc = -1;

	if (!esc)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	if (type == AE_IFREG) {
		/* a file we cannot open must not go in as a header and zeros: leave
		 * it out, say so, and list it in the index as not stored */
		int fd = open(full, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC), err = errno;
		if (fd >= 0) {
			close(fd);
		} else if (err == ENOENT) {
			files_warnv(c->warn, c->arg, c->st, "file vanished before it was read: '%s'", esc);
			rc = 0;
			goto out;
		} else {
			c->st->unreadable++;
			files_warnv(c->warn, c->arg, c->st, "cannot read '%s' in '%s': %s: it is not in the backup", esc,
				    c->t->path, strerror(err));
			rc = idx_line(c, 'u', mode, 0, "-", rel, e);
			goto out;
		}
	}
	archive_entry_copy_pathname(ent, rel);
	/* pax keeps the first of a set of hard links whole, later ones as links */
	archive_entry_linkify(lr, &ent, &sparse);
	if (!ent) {
		rc = 0;
		goto out;
	}
	hl = archive_entry_hardlink(ent);
	r = archive_write_header(aw, ent);
	if (r == ARCHIVE_FATAL || c->werr_set) {
		tar_fail(c, aw, e);
		goto out;
	}
	if (r == ARCHIVE_FAILED) {
		files_warnv(c->warn, c->arg, c->st, "cannot store '%s' from '%s': %s", esc, c->t->path,
			    archive_error_string(aw));
		rc = 0;
		goto out;
	}
	/* a name that is not UTF-8 is stored as raw bytes (hdrcharset=BINARY): expected, not news */
	if (r == ARCHIVE_WARN && strncmp(archive_error_string(aw) ? archive_error_string(aw) : "", "Can't translate", 15) != 0)
		files_warnv(c->warn, c->arg, c->st, "storing '%s' from '%s': %s", esc, c->t->path,
			    archive_error_string(aw));
	if (test_hook)
		test_hook(test_hook_arg, rel, full);
	else
		env_test_hook(rel, full);

	if (hl) {
		/* a hard link to a symlink or device is checked like its original */
		const struct link_rec *o = link_find(c, hl);
		kind = o && o->kind != 'f' ? o->kind : 'h';
		if (o) {
			size = o->size;
			memcpy(sha, o->sha, sizeof(sha));
		}
		if (kind == 'h')
			c->st->files++;
	} else if (type == AE_IFREG) {
		int changed;
		struct stat sb;
		kind = 'f';
		size = (uint64_t)archive_entry_size(ent);
		if (copy_data(c, disk, aw, esc, archive_entry_size(ent), sha, &changed, e) < 0)
			goto out;
		/* a change after the last read still means a torn copy: look again
		 * (stat for a single-file target: it may be a symlink we followed) */
		if (changed == 0 && ((c->single ? stat(full, &sb) : lstat(full, &sb)) < 0 ||
				     sb.st_size != archive_entry_size(ent) ||
				     sb.st_mtim.tv_sec != archive_entry_mtime(ent) ||
				     sb.st_mtim.tv_nsec != archive_entry_mtime_nsec(ent)))
			changed = 1;
		if (changed > 0)
			files_warnv(c->warn, c->arg, c->st, "file changed as we read it: '%s'", esc);
		if (changed)
			kind = 'c';	/* the index says this copy may be torn */
		c->st->files++;
		c->st->bytes += size;
	} else if (type == AE_IFDIR) {
		kind = 'd';
	} else if (type == AE_IFLNK) {
		const char *target = archive_entry_symlink(ent);
		kind = 'l';
		if (!target)
			target = "";
		size = strlen(target);
		ado_sha256_hex(target, size, sha);
	} else {
		kind = 'o';
	}
	if (archive_write_finish_entry(aw) == ARCHIVE_FATAL || c->werr_set) {
		tar_fail(c, aw, e);
		goto out;
	}
	c->st->entries++;
	if (!hl && kind != 'd' && archive_entry_nlink(ent) > 1 && link_add(c, rel, kind == 'c' ? 'f' : kind, size, sha) < 0) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	if (idx_line(c, kind, mode, size, sha, rel, e) < 0)
		goto out;
	rc = 0;
out:
	free(esc);
	return rc;
}

static int files_backup(const struct ado_target *t, struct ado_writer *tar, struct ado_writer *idx,
			ado_files_warn_fn warn, void *arg, struct ado_files_stats *st, struct ado_err *e)
{
	struct ado_files_stats local;
	struct bctx c;
	struct archive *disk = NULL, *aw = NULL;
	struct archive_entry *ent = NULL;
	struct archive_entry_linkresolver *lr = NULL;
	struct stat sb;
	char *full = NULL;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	c.t = t;
	c.tar = tar;
	c.idx = idx;
	c.warn = warn;
	c.arg = arg;
	c.st = st;
	if (!t->path || !*t->path)
		return ado_err_set(e, ADO_E_CONFIG, 0, "files target '%s' has no path", t->name ? t->name : "?");
	if (stat(t->path, &sb) < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			ado_err_set(e, ADO_E_NOTFOUND, errno, "cannot back up '%s'", t->path);
			return ado_err_hint(e, "check the files: target's path in the config, or create it");
		}
		return ado_err_set(e, ADO_E_IO, errno, "cannot back up '%s'", t->path);
	}
	c.single = !S_ISDIR(sb.st_mode);
	if (S_ISDIR(sb.st_mode) && access(t->path, R_OK | X_OK) < 0)
		return ado_err_set(e, ADO_E_IO, errno, "cannot back up '%s'", t->path);
	if (!(c.root = strdup(t->path)))
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	c.rootlen = strlen(c.root);
	while (c.rootlen > 1 && c.root[c.rootlen - 1] == '/')
		c.root[--c.rootlen] = '\0';
	c.base = strrchr(c.root, '/') ? strrchr(c.root, '/') + 1 : c.root;

	if (!(c.ibuf = malloc(INDEX_BUF)) || !(c.md = EVP_MD_CTX_new()) || !(ent = archive_entry_new()) ||
	    !(lr = archive_entry_linkresolver_new()) || !(disk = archive_read_disk_new()) ||
	    !(aw = archive_write_new())) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	archive_entry_linkresolver_set_strategy(lr, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	/* follow t->path itself if it is a symlink, never the links inside */
	archive_read_disk_set_symlink_hybrid(disk);
	archive_read_disk_set_standard_lookup(disk);
	/* holes arrive as gaps we fill with zeros; the index hashes the whole file */
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_SPARSE);

	/* full pax: sub-second mtimes survive (pax_restricted drops them) */
	archive_write_set_format_pax(aw);
	/* Names are bytes. Under a UTF-8 locale libarchive stores valid UTF-8
	 * names plainly (GNU tar reads them without complaint) and falls back to
	 * hdrcharset=BINARY only for names that are not UTF-8; the caller's
	 * locale may be C, so pick C.UTF-8 for this thread (see uselocale below). */
	archive_write_add_filter_none(aw);
	archive_write_set_bytes_per_block(aw, ADO_IO_BUFSIZE);
	archive_write_set_bytes_in_last_block(aw, 1);	/* no padding to a full block at the end */
	if (archive_write_open2(aw, &c, NULL, tar_write_cb, NULL, NULL) != ARCHIVE_OK) {
		tar_fail(&c, aw, e);
		goto out;
	}
	if (archive_read_disk_open(disk, c.root) != ARCHIVE_OK) {
		ado_err_set(e, ADO_E_IO, archive_errno(disk), "cannot back up '%s': %s", t->path,
			    archive_error_string(disk));
		goto out;
	}
	for (;;) {
		const char *rel;
		int r;

		archive_entry_clear(ent);
		r = archive_read_next_header2(disk, ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_FATAL) {
			ado_err_set(e, ADO_E_IO, archive_errno(disk), "cannot back up '%s': %s", t->path,
				    archive_error_string(disk));
			goto out;
		}
		if (r < ARCHIVE_WARN) {
			disk_warning(&c, disk, 1);
			continue;
		}
		if (r == ARCHIVE_WARN)
			disk_warning(&c, disk, 0);
		free(full);
		if (!(full = strdup(archive_entry_pathname(ent)))) {
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			goto out;
		}
		rel = relative(&c, full);
		if (*rel && excluded(&c, rel, full))
			continue;	/* not descending skips everything below it too */
		if (archive_entry_filetype(ent) == AE_IFDIR && archive_read_disk_can_descend(disk))
			archive_read_disk_descend(disk);
		/* the folder itself goes in as ".": its mode, owner and times come back too */
		if (write_entry(&c, disk, aw, lr, ent, *rel ? rel : ".", full, e) < 0)
			goto out;
	}
	if (archive_write_close(aw) != ARCHIVE_OK) {
		tar_fail(&c, aw, e);
		goto out;
	}
	if (c.idx && idx_flush(&c, e) < 0)
		goto out;
	rc = 0;
out:
	archive_read_free(disk);
	archive_write_free(aw);
	archive_entry_free(ent);
	archive_entry_linkresolver_free(lr);
	EVP_MD_CTX_free(c.md);
	links_free(&c);
	free(c.ibuf);
	free(c.root);
	free(full);
	return rc;
}

int ado_files_backup(const struct ado_target *t, struct ado_writer *tar, struct ado_writer *idx,
		     ado_files_warn_fn warn, void *arg, struct ado_files_stats *st, struct ado_err *e)
{
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old = (locale_t)0;
	int rc;

	if (utf8)
		old = uselocale(utf8);
	rc = files_backup(t, tar, idx, warn, arg, st, e);
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
	return rc;
}
