/* files.c - the files: target's tar side (see files.h). */
#include "source/files/files.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <locale.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_LINE_MAX (64 * 1024)
#define INDEX_BUF (64 * 1024)
#define MAX_REPORTED 20
#define HASH_BUF (256 * 1024)
#define LINK_BUCKETS 4096

static const unsigned char zeros[64 * 1024];

static void (*test_hook)(void *, const char *, const char *);
static void *test_hook_arg;

void ado_files_set_test_hook(void (*fn)(void *arg, const char *rel, const char *full), void *arg)
{
	test_hook = fn;
	test_hook_arg = arg;
}

/* --- small helpers --- */

static int needs_escape(unsigned char c)
{
	return c == '%' || c < 0x20 || c == 0x7f;
}

/* Percent-escape a path for the index (and for messages, which then stay on
 * one line whatever the file is called). Returns malloc'd text or NULL. */
static char *pct_escape(const char *s)
{
	size_t n = 0;
	char *out, *o;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += needs_escape(*p) ? 3 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (needs_escape(*p)) {
			sprintf(o, "%%%02X", *p);
			o += 3;
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return out;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* In place; -1 on a malformed escape or one that decodes to NUL. */
static int pct_unescape(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return -1;
		*o++ = (char)(hi * 16 + lo);
		p += 2;
	}
	*o = '\0';
	return 0;
}

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

static const char *strip_dot_slash(const char *p)
{
	while (p[0] == '.' && p[1] == '/') {
		p += 2;
		while (*p == '/')
			p++;
	}
	return p;
}

static void warnv(ado_files_warn_fn warn, void *arg, struct ado_files_stats *st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void warnv(ado_files_warn_fn warn, void *arg, struct ado_files_stats *st, const char *fmt, ...)
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
	esc = pct_escape(path);
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
		if (fnmatch(strip_dot_slash(p), rel, FNM_LEADING_DIR) == 0)
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
	char *esc = pct_escape(relative(c, path));

	if (esc && err == ENOENT)
		warnv(c->warn, c->arg, c->st, "file vanished before it was read: '%s'", esc);
	else if (esc)
		warnv(c->warn, c->arg, c->st, "cannot read '%s': %s", esc, strerror(err));
	else
		warnv(c->warn, c->arg, c->st, "cannot read a file in '%s': %s", c->t->path, strerror(err));
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
		warnv(c->warn, c->arg, c->st, "skipped an entry in '%s': %s", c->t->path, msg);
	else
		warnv(c->warn, c->arg, c->st, "reading '%s': %s", c->t->path, msg);
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
			warnv(c->warn, c->arg, c->st, "cannot read '%s' in '%s': %s", esc, c->t->path,
			      archive_error_string(disk));
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
	char *esc = pct_escape(rel);
	uint64_t size = 0;
	unsigned mode = archive_entry_mode(ent) & 07777;
	mode_t type = archive_entry_filetype(ent);
	char kind;
	int r, rc = -1;

	if (!esc)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
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
		warnv(c->warn, c->arg, c->st, "cannot store '%s' from '%s': %s", esc, c->t->path,
		      archive_error_string(aw));
		rc = 0;
		goto out;
	}
	/* a name that is not UTF-8 is stored as raw bytes (hdrcharset=BINARY): expected, not news */
	if (r == ARCHIVE_WARN && strncmp(archive_error_string(aw) ? archive_error_string(aw) : "", "Can't translate", 15) != 0)
		warnv(c->warn, c->arg, c->st, "storing '%s' from '%s': %s", esc, c->t->path, archive_error_string(aw));
	if (test_hook)
		test_hook(test_hook_arg, rel, full);

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
			warnv(c->warn, c->arg, c->st, "file changed as we read it: '%s'", esc);
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
	if (!hl && kind != 'd' && archive_entry_nlink(ent) > 1 && link_add(c, rel, kind, size, sha) < 0) {
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

/* --- extract --- */

struct xstate {
	char *dir;		/* realpath: no symlinks or ".." for libarchive's checks to trip on */
	int flags;
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

/* Does dir/rel pass through a symlink (any component but the last, and the
 * last too if check_last)? Missing components are fine: libarchive creates
 * them as folders. */
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
	char *en = pct_escape(name), *el = link ? pct_escape(link) : NULL;

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

static int x_entry(struct xstate *x, struct archive *ar, struct archive *dw, struct archive_entry *ent,
		   struct ado_err *e)
{
	const char *name = archive_entry_pathname(ent), *hl = archive_entry_hardlink(ent);
	char *full = NULL, *lfull = NULL, *esc = NULL;
	int r, rc = -1;

	if (!name || !*name)
		return ado_err_set(e, ADO_E_FORMAT, 0, "cannot extract into '%s': an archive entry has no name", x->dir);
	name = strip_dot_slash(name);
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
	if (unsafe_name(name) || through_symlink(x, name, 0))
		return refuse(name, NULL, e);
	/* an existing symlink replaced by a folder could be chmod'ed through */
	if (archive_entry_filetype(ent) == AE_IFDIR && through_symlink(x, name, 1))
		return refuse(name, NULL, e);
	if (hl) {
		hl = strip_dot_slash(hl);
		/* a link to a symlink with data would be written through it */
		if (!*hl || unsafe_name(hl) || through_symlink(x, hl, archive_entry_size(ent) > 0))
			return refuse(name, hl, e);
	}
	if (!(esc = pct_escape(name)) || !(full = join_path(x->dir, name)) || (hl && !(lfull = join_path(x->dir, hl)))) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	archive_entry_copy_pathname(ent, full);
	if (hl)
		archive_entry_copy_hardlink(ent, lfull);
	/* by hand rather than archive_read_extract2(), which turns a failed
	 * header (a file that could not be created) into a mere warning */
	r = archive_write_header(dw, ent);
	if (r < ARCHIVE_WARN)
		goto disk_fail;
	if (r == ARCHIVE_WARN)
		warnv(x->warn, x->warn_arg, x->st, "extracting '%s': %s", esc, archive_error_string(dw));
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
			warnv(x->warn, x->warn_arg, x->st, "reading '%s': %s", esc, archive_error_string(ar));
		k = archive_write_data_block(dw, buf, len, off);
		if (k < ARCHIVE_WARN)
			goto disk_fail;
		if (k == ARCHIVE_WARN)
			warnv(x->warn, x->warn_arg, x->st, "extracting '%s': %s", esc, archive_error_string(dw));
	}
	r = archive_write_finish_entry(dw);
	if (r < ARCHIVE_WARN)
		goto disk_fail;
	if (r == ARCHIVE_WARN)
		warnv(x->warn, x->warn_arg, x->st, "extracting '%s': %s", esc, archive_error_string(dw));
	x->st->entries++;
	if (archive_entry_filetype(ent) == AE_IFREG || hl) {
		x->st->files++;
		if (!hl)
			x->st->bytes += (uint64_t)archive_entry_size(ent);
	}
	rc = 0;
	goto out;
disk_fail:
	ado_err_set(e, ADO_E_IO, archive_errno(dw) > 0 ? archive_errno(dw) : 0, "cannot extract '%s' into '%s': %s", esc,
		    x->dir, archive_error_string(dw) ? archive_error_string(dw) : "write error");
out:
	free(esc);
	free(full);
	free(lfull);
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
			warnv(x->warn, x->warn_arg, x->st, "reading the archive: %s", archive_error_string(ar));
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
		warnv(x->warn, x->warn_arg, x->st, "finishing '%s': %s", x->dir, archive_error_string(dw));
	} else if (r != ARCHIVE_OK) {
		ado_err_set(e, ADO_E_IO, archive_errno(dw), "cannot finish extracting into '%s': %s", x->dir,
			    archive_error_string(dw));
		goto out;
	}
	if (x->root_set) {
		struct timespec ts[2] = { x->root_mtime, x->root_mtime };
		/* chown first: it clears set-id bits that chmod then restores */
		if ((x->flags & ARCHIVE_EXTRACT_OWNER) && chown(x->dir, x->root_uid, x->root_gid) < 0)
			warnv(x->warn, x->warn_arg, x->st, "cannot set the owner of '%s': %s", x->dir, strerror(errno));
		if (chmod(x->dir, x->root_mode) < 0 || utimensat(AT_FDCWD, x->dir, ts, 0) < 0)
			warnv(x->warn, x->warn_arg, x->st, "cannot set the mode or times of '%s': %s", x->dir,
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
	free(x->dir);
	free(x);
}

static const struct ado_writer_ops extract_ops = { "extract", x_write, x_close, x_free };

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
	}
	if (!(x->dir = realpath(dir, NULL)) || stat(x->dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		int err = x->dir ? ENOTDIR : errno;
		ado_err_set(e, err == ENOENT || err == ENOTDIR ? ADO_E_NOTFOUND : ADO_E_IO, err,
			    "cannot extract into '%s'", dir);
		goto fail;
	}
	/* NOABSOLUTEPATHS is left out on purpose: we refuse absolute names
	 * ourselves and then hand libarchive dir/NAME, which is absolute */
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
	free(x->dir);
	free(x);
	return NULL;
}

/* --- index lines --- */

struct line_in {
	char type;
	unsigned mode;
	uint64_t size;
	char *sha;
	char *path;		/* still escaped */
};

/* Split one index line (NUL-terminated, no newline) in place. */
static int parse_line(char *line, uint64_t lineno, struct line_in *li, struct ado_err *e)
{
	char *f[5], *p = line, *end;
	int i;

	for (i = 0; i < 5; i++) {
		f[i] = p;
		if (i < 4) {
			p = strchr(p, '\t');
			if (!p)
				return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": expected 5 fields", lineno);
			*p++ = '\0';
		}
	}
	if (strchr(f[4], '\t'))
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": expected 5 fields", lineno);
	if (strlen(f[0]) != 1 || !strchr("fdlho", f[0][0]))
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": unknown type '%.8s'", lineno, f[0]);
	li->type = f[0][0];
	errno = 0;
	li->mode = (unsigned)strtoul(f[1], &end, 8);
	if (!*f[1] || *end || errno)
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": bad mode '%.16s'", lineno, f[1]);
	li->size = strtoull(f[2], &end, 10);
	if (!*f[2] || *end || errno || f[2][0] == '-')
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": bad size '%.24s'", lineno, f[2]);
	li->sha = f[3];
	if (strcmp(li->sha, "-") != 0 && (strlen(li->sha) != 64 || strspn(li->sha, "0123456789abcdef") != 64))
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": bad sha256 '%.70s'", lineno, li->sha);
	/* only a hard link may lack a hash: its original could not be read */
	if ((li->type == 'f' || li->type == 'l') && strcmp(li->sha, "-") == 0)
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": missing sha256", lineno);
	li->path = f[4];
	if (!*li->path)
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": empty path", lineno);
	return 0;
}

/* Collects lines across writes and hands each complete one to fn. */
struct lines {
	char *buf;
	size_t len;
	uint64_t lineno;
	int (*fn)(void *state, char *line, uint64_t lineno, struct ado_err *e);
	void *state;
};

static int lines_push(struct lines *l, const void *data, size_t n, struct ado_err *e)
{
	const char *p = data;

	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;

		if (l->len + take > INDEX_LINE_MAX)
			return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": longer than 64 KiB",
					   l->lineno + 1);
		memcpy(l->buf + l->len, p, take);
		l->len += take;
		p += take;
		n -= take;
		if (nl) {
			p++;
			n--;
			size_t len = l->len;
			l->len = 0;
			l->lineno++;
			if (memchr(l->buf, '\0', len))
				return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": holds a NUL byte",
						   l->lineno);
			l->buf[len] = '\0';
			if (l->fn(l->state, l->buf, l->lineno, e) < 0)
				return -1;
		}
	}
	return 0;
}

static int lines_finish(struct lines *l, struct ado_err *e)
{
	if (l->len)
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": the index ends in the middle of it",
				   l->lineno + 1);
	return 0;
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

static int check_line(void *state, char *line, uint64_t lineno, struct ado_err *e)
{
	struct cstate *c = state;
	struct line_in li;
	struct stat sb;
	char *full = NULL, *name;
	char got[65];
	int rc = -1;

	if (parse_line(line, lineno, &li, e) < 0)
		return -1;
	name = li.path;		/* messages keep the escaped form */
	{
		char *raw = strdup(li.path);
		if (!raw)
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		if (pct_unescape(raw) < 0 || unsafe_name(raw)) {
			free(raw);
			return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": bad path '%.200s'", lineno, name);
		}
		full = join_path(c->dir, raw);
		free(raw);
		if (!full)
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	c->st->entries++;
	if (li.type == 'f' || li.type == 'h') {
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
		if (hash_file(c, full, got, e) < 0) {
			mismatch(c, "'%s': cannot read: %s", name, strerror(errno));
			break;
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
	free(full);
	return rc;
}

static int c_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct cstate *c = w->state;

	return lines_push(&c->lines, buf, n, e);
}

static int c_close(struct ado_writer *w, struct ado_err *e)
{
	struct cstate *c = w->state;

	if (lines_finish(&c->lines, e) < 0)
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

static const struct ado_writer_ops check_ops = { "index-check", c_write, c_close, c_free };

struct ado_writer *ado_index_check_writer_new(const char *dir, ado_files_warn_fn warn, void *arg,
					      struct ado_files_stats *st, struct ado_err *e)
{
	struct cstate *c = calloc(1, sizeof(*c));
	struct ado_writer *w;

	if (!c || !(c->lines.buf = malloc(INDEX_LINE_MAX + 1)) || !(c->dir = strdup(dir)) ||
	    !(c->hbuf = malloc(HASH_BUF)) || !(c->md = EVP_MD_CTX_new()))
		goto nomem;
	c->lines.fn = check_line;
	c->lines.state = c;
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

/* --- index list --- */

struct lstate {
	struct lines lines;
	int fd;
};

static int list_line(void *state, char *line, uint64_t lineno, struct ado_err *e)
{
	struct lstate *l = state;
	struct line_in li;
	size_t n;

	if (parse_line(line, lineno, &li, e) < 0)
		return -1;
	n = strlen(li.path);
	/* reuse the line buffer: the path is its tail, there is room for "/\n" */
	if (li.type == 'd')
		li.path[n++] = '/';
	li.path[n++] = '\n';
	for (const char *p = li.path; n > 0;) {
		ssize_t k = write(l->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return ado_err_set(e, ADO_E_IO, errno, "cannot write the file list");
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int l_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct lstate *l = w->state;

	return lines_push(&l->lines, buf, n, e);
}

static int l_close(struct ado_writer *w, struct ado_err *e)
{
	struct lstate *l = w->state;

	return lines_finish(&l->lines, e);
}

static void l_free(struct ado_writer *w)
{
	struct lstate *l = w->state;

	if (!l)
		return;
	free(l->lines.buf);
	free(l);
}

static const struct ado_writer_ops list_ops = { "index-list", l_write, l_close, l_free };

struct ado_writer *ado_index_list_writer_new(int fd, struct ado_err *e)
{
	struct lstate *l = calloc(1, sizeof(*l));
	struct ado_writer *w;

	/* +3: the NUL, and room for the '/' and '\n' list_line appends */
	if (!l || !(l->lines.buf = malloc(INDEX_LINE_MAX + 3))) {
		free(l);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	l->fd = fd;
	l->lines.fn = list_line;
	l->lines.state = l;
	if (!(w = ado_writer_new(&list_ops, l, NULL))) {
		free(l->lines.buf);
		free(l);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	return w;
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
