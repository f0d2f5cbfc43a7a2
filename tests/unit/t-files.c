/* t-files.c - files: target backup (tar + index), safe extraction, index check. */
#include "tap.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "source/files/files.h"

static char S[64];	/* scratch folder */

/* --- our own small writers, so this test needs only lib/io/writer.c --- */

static int fdw_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	int fd = *(int *)w->state;
	const char *p = buf;

	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0)
			return ado_err_set(e, ADO_E_IO, errno, "test write");
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int fdw_close(struct ado_writer *w, struct ado_err *e)
{
	return close(*(int *)w->state) < 0 ? ado_err_set(e, ADO_E_IO, errno, "test close") : 0;
}

static void fdw_free(struct ado_writer *w)
{
	free(w->state);
}

static const struct ado_writer_ops fdw_ops = {
	.name = "test-fd",
	.write = fdw_write,
	.close = fdw_close,
	.free = fdw_free,
};

static struct ado_writer *fd_writer(const char *path)
{
	int *fd = malloc(sizeof(*fd));

	*fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	return ado_writer_new(&fdw_ops, fd, NULL);
}

struct mem {
	char *buf;
	size_t len, cap;
};

static int memw_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct mem *m = w->state;

	if (m->len + n + 1 > m->cap) {
		m->cap = (m->len + n + 1) * 2;
		m->buf = realloc(m->buf, m->cap);
	}
	memcpy(m->buf + m->len, buf, n);
	m->len += n;
	m->buf[m->len] = '\0';
	return 0;
}

static void memw_free(struct ado_writer *w)
{
	(void)w;	/* the struct mem belongs to the test */
}

static const struct ado_writer_ops memw_ops = {
	.name = "test-mem",
	.write = memw_write,
	.free = memw_free,
};

static int failw_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	return ado_err_set(e, ADO_E_IO, ENOSPC, "cannot write 'test-dest'");
}

static const struct ado_writer_ops failw_ops = {
	.name = "test-fail",
	.write = failw_write,
};

/* --- warnings --- */

struct warns {
	int n;
	char msg[64][512];
};

static void collect(void *arg, const char *msg)
{
	struct warns *w = arg;

	if (w->n < 64)
		snprintf(w->msg[w->n], sizeof(w->msg[0]), "%s", msg);
	w->n++;
}

static int warned(const struct warns *w, const char *sub)
{
	for (int i = 0; i < w->n && i < 64; i++)
		if (strstr(w->msg[i], sub))
			return 1;
	return 0;
}

/* --- helpers --- */

static char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *P(const char *fmt, ...)
{
	static char bufs[8][4096];
	static int i;
	char *b = bufs[i++ % 8];
	int n = snprintf(b, 4096, "%s/", S);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b + n, 4096 - n, fmt, ap);
	va_end(ap);
	return b;
}

static void put(const char *path, const void *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		printf("# cannot write %s: %s\n", path, strerror(errno));
	fchmod(fd, mode);
	close(fd);
}

static char *run(const char *cmd)
{
	static char out[65536];
	FILE *f = popen(cmd, "r");
	size_t n = f ? fread(out, 1, sizeof(out) - 1, f) : 0;

	out[n] = '\0';
	if (f)
		pclose(f);
	return out;
}

static int exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

static int backup(const char *path, char **excl, size_t nexcl, const char *tarpath, struct mem *idx,
		  struct warns *w, struct ado_files_stats *st, struct ado_err *e)
{
	struct ado_target t = { .kind = ADO_TARGET_FILES, .name = "files-test", .path = (char *)path,
				.exclude = excl, .nexclude = nexcl };
	struct ado_writer *tw = fd_writer(tarpath), *iw = ado_writer_new(&memw_ops, idx, NULL);
	int rc;

	idx->len = 0;
	if (idx->buf)
		idx->buf[0] = '\0';
	rc = ado_files_backup(&t, tw, iw, collect, w, st, e);
	if (ado_writer_close(tw, NULL) < 0)
		rc = -1;
	ado_writer_close(iw, NULL);
	ado_writer_free(tw);
	ado_writer_free(iw);
	return rc;
}

/* Feed a file into w in chunks of odd size (lines and headers split across writes). */
static int feed(const char *path, struct ado_writer *w, size_t chunk, struct ado_err *e)
{
	char buf[70000];
	int fd = open(path, O_RDONLY);
	ssize_t k;
	int rc = 0;

	if (chunk > sizeof(buf))
		chunk = sizeof(buf);
	while ((k = read(fd, buf, chunk)) > 0)
		if ((rc = ado_writer_write(w, buf, (size_t)k, e)) < 0)
			break;
	close(fd);
	return rc;
}

static int extract_with(const char *tarpath, const char *dir, const struct ado_extract_opts *o,
			struct ado_files_stats *st, struct ado_err *e)
{
	struct ado_writer *w;
	int rc;

	w = ado_extract_writer_new(dir, o, st, e);
	if (!w)
		return -1;
	rc = feed(tarpath, w, 7001, e);
	if (rc == 0)
		rc = ado_writer_close(w, e);
	ado_writer_free(w);
	return rc;
}

static int extract(const char *tarpath, const char *dir, struct ado_files_stats *st, struct ado_err *e)
{
	return extract_with(tarpath, dir, NULL, st, e);
}

static int check(const char *dir, const char *idx, size_t len, size_t chunk, struct warns *w,
		 struct ado_files_stats *st, struct ado_err *e)
{
	struct ado_writer *cw = ado_index_check_writer_new(dir, collect, w, st, e);
	int rc = 0;

	for (size_t off = 0; off < len && rc == 0; off += chunk)
		rc = ado_writer_write(cw, idx + off, len - off < chunk ? len - off : chunk, e);
	if (rc == 0)
		rc = ado_writer_close(cw, e);
	ado_writer_free(cw);
	return rc;
}

/* --- the main tree --- */

static const char weird[] = "we\tird\nname-\xc3\xbc.txt";
static int have_xattr;

static void build_tree(void)
{
	unsigned char *big = malloc(3 << 20);
	uint32_t x = 12345;

	for (size_t i = 0; i < (3u << 20); i++) {
		x = x * 1103515245 + 12345;
		big[i] = (unsigned char)(x >> 16);
	}
	mkdir(P("src"), 0755);
	mkdir(P("src/d1"), 0755);
	mkdir(P("src/d1/d2"), 0750);
	mkdir(P("src/d1/d2/d3"), 0755);
	put(P("src/d1/d2/d3/deep.txt"), "deep\n", 5, 0644);
	put(P("src/big.bin"), big, 3 << 20, 0644);
	put(P("src/empty"), "", 0, 0644);
	put(P("src/orig.txt"), "original\n", 9, 0644);
	link(P("src/orig.txt"), P("src/d1/hard.txt"));
	symlink("d1/d2", P("src/link"));
	put(P("src/%s", weird), "weird\n", 6, 0644);
	put(P("src/priv"), "secret\n", 7, 0600);
	put(P("src/exec.sh"), "#!/bin/sh\n", 10, 0755);
	put(P("src/xattr.txt"), "x\n", 2, 0644);
	have_xattr = setxattr(P("src/xattr.txt"), "user.ado", "v1", 2, 0) == 0;
	free(big);
}

static void test_roundtrip(void)
{
	struct ado_files_stats st, xst, cst;
	struct ado_err e;
	struct warns w = { 0 };
	struct mem idx = { 0 };
	struct stat a, b;
	char buf[256];
	char *out;
	ssize_t n;

	build_tree();
	is_int(backup(P("src"), NULL, 0, P("out.tar"), &idx, &w, &st, &e), 0, "backup of a folder succeeds");
	is_int(w.n, 0, "no warnings for a quiet tree");
	if (w.n)
		printf("# %s\n", w.msg[0]);
	/* . (the folder itself) d1 d2 d3 deep big empty orig hard link weird priv exec xattr */
	is_int(st.entries, 14, "14 entries");
	is_int(st.files, 9, "9 files (hard link included)");
	is_int(st.bytes, (3 << 20) + 5 + 9 + 6 + 7 + 10 + 2, "bytes counted once per hard-linked file");

	snprintf(buf, sizeof(buf), "tar -tvf '%s' 2>&1", P("out.tar"));
	out = run(buf);
	like(out, " big.bin\n", "tar lists big.bin without a ./ prefix");
	like(out, " d1/d2/d3/deep.txt\n", "tar lists the nested file");
	like(out, " link -> d1/d2\n", "tar lists the symlink");
	like(out, " d1/hard.txt link to orig.txt\n", "tar lists the hard link");
	like(out, "-rw------- ", "tar keeps mode 0600");
	like(out, "-rwxr-xr-x ", "tar keeps mode 0755");
	{
		const char *dot = strstr(out, " ./");
		ok(dot && dot[3] == '\n' && !strstr(dot + 3, " ./"), "no ./ prefix on any name but the folder's own");
	}
	like(out, " ./\n", "the folder itself is stored as '.', for its mode and times");
	ok(!strstr(out, " src/") && !strstr(out, "t-files-"), "paths are relative to the target");

	like(idx.buf, "f\t0600\t7\t", "index: priv is f 0600 size 7");
	like(idx.buf, "f\t0755\t10\t", "index: exec.sh is 0755");
	like(idx.buf, "d\t0750\t0\t-\td1/d2\n", "index: folder line");
	like(idx.buf, "f\t0644\t0\te3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\tempty\n",
	     "index: empty file has the empty sha256");
	like(idx.buf, "\twe%09ird%0Aname-\xc3\xbc.txt\n", "index: tab and newline escaped, utf-8 kept");
	like(idx.buf, "l\t0777\t5\t", "index: symlink size is its target's length");
	like(idx.buf, "f\t0644\t9\t", "index: orig size");
	{
		const char *f = strstr(idx.buf, "\torig.txt\n"), *h = strstr(idx.buf, "\td1/hard.txt\n");
		const char *fl = f, *hl = h;
		while (fl && fl > idx.buf && fl[-1] != '\n')
			fl--;
		while (hl && hl > idx.buf && hl[-1] != '\n')
			hl--;
		ok(f && h && hl[0] == 'h' && fl[0] == 'f', "index: hard link line is h, original is f");
		ok(f && h && strncmp(fl + 1, hl + 1, (size_t)(f - fl) - 1) == 0,
		   "index: hard link carries the original's mode, size and sha256");
	}

	/* extract */
	mkdir(P("dst"), 0700);
	is_int(extract(P("out.tar"), P("dst"), &xst, &e), 0, "extract succeeds");
	is_int(xst.entries, 13, "extract: 13 entries");
	stat(P("dst/priv"), &a);
	is_int(a.st_mode & 07777, 0600, "extract keeps 0600");
	stat(P("dst/exec.sh"), &a);
	is_int(a.st_mode & 07777, 0755, "extract keeps 0755");
	stat(P("dst/d1/d2"), &a);
	is_int(a.st_mode & 07777, 0750, "extract keeps a folder's mode");
	n = readlink(P("dst/link"), buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	is_str(buf, "d1/d2", "extract keeps the symlink");
	stat(P("dst/orig.txt"), &a);
	stat(P("dst/d1/hard.txt"), &b);
	ok(a.st_ino == b.st_ino && a.st_nlink == 2, "extract keeps the hard link");
	stat(P("src/big.bin"), &a);
	stat(P("dst/big.bin"), &b);
	ok(a.st_mtim.tv_sec == b.st_mtim.tv_sec && b.st_size == 3 << 20, "extract keeps mtime and size");
	ok(exists(P("dst/%s", weird)), "extract: weird name");
	if (have_xattr) {
		n = getxattr(P("dst/xattr.txt"), "user.ado", buf, sizeof(buf));
		ok(n == 2 && memcmp(buf, "v1", 2) == 0, "extract keeps the xattr");
	} else {
		ok(1, "# skip: no user xattrs on this filesystem");
	}

	/* check: clean */
	memset(&w, 0, sizeof(w));
	is_int(check(P("dst"), idx.buf, idx.len, 13, &w, &cst, &e), 0, "index check of a faithful restore passes");
	is_int(w.n, 0, "no mismatches reported");
	is_int(cst.entries, 14, "index check counted 14 entries");

	/* check: damaged */
	put(P("dst/exec.sh"), "#!/bin/XX\n", 10, 0755);	/* same size, other content */
	unlink(P("dst/d1/d2/d3/deep.txt"));
	put(P("dst/priv"), "secret!!\n", 9, 0600);
	memset(&w, 0, sizeof(w));
	is_int(check(P("dst"), idx.buf, idx.len, 4096, &w, &cst, &e), -1, "index check of a damaged tree fails");
	is_int(e.kind, ADO_E_INTEGRITY, "... with ADO_E_INTEGRITY");
	is_str(e.msg, "3 of 14 entries differ from the backup", "... counting the mismatches");
	is_int(w.n, 3, "exactly three mismatches reported");
	like(w.msg[0], "'", "mismatch names the path");
	ok(warned(&w, "'d1/d2/d3/deep.txt': missing"), "deleted file reported missing");
	ok(warned(&w, "'priv': size 9, expected 7"), "grown file reported by size");
	ok(warned(&w, "'exec.sh': content differs (sha256 "), "changed file reported by content");

	/* list */
	{
		int fds[2];
		struct ado_writer *lw;
		if (pipe(fds) == 0) {
			lw = ado_index_list_writer_new(fds[1], &e);
			is_int(ado_writer_write(lw, idx.buf, idx.len, &e), 0, "list writer takes the index");
			is_int(ado_writer_close(lw, &e), 0, "list writer closes");
			ado_writer_free(lw);
			close(fds[1]);
			n = read(fds[0], buf, sizeof(buf) - 1);
			buf[n < 0 ? 0 : n] = '\0';
			close(fds[0]);
			like(buf, "d1/\n", "list: folders end in /");
			like(buf, "\nbig.bin\n", "list: one path per line");
		}
	}
	free(idx.buf);
}

static void test_check_format(void)
{
	struct ado_err e;
	struct warns w = { 0 };
	static const char sha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	char line[256];
	char *longl;

	mkdir(P("chk"), 0700);
	put(P("chk/empty"), "", 0, 0644);
	snprintf(line, sizeof(line), "f\t0644\t0\t%s\tempty\n", sha);
	is_int(check(P("chk"), line, strlen(line), 1, &w, NULL, &e), 0, "a good line, one byte per write, passes");
	is_int(check(P("chk"), "f\t0644\t0\n", 9, 100, &w, NULL, &e), -1, "a short line fails");
	is_int(e.kind, ADO_E_FORMAT, "... ADO_E_FORMAT");
	is_str(e.msg, "index line 1: expected 5 fields", "... naming the line");
	snprintf(line, sizeof(line), "f\t0644\t0\t%s\tempty", sha);
	is_int(check(P("chk"), line, strlen(line), 100, &w, NULL, &e), -1, "an index ending mid-line fails");
	like(e.msg, "ends in the middle", "... saying so");
	snprintf(line, sizeof(line), "f\t0644\t0\t%s\t../empty\n", sha);
	is_int(check(P("chk"), line, strlen(line), 100, &w, NULL, &e), -1, "an index path with .. fails");
	is_int(e.kind, ADO_E_FORMAT, "... ADO_E_FORMAT");
	like(e.msg, "bad path '../empty'", "... naming it");
	snprintf(line, sizeof(line), "x\t0644\t0\t%s\tempty\n", sha);
	is_int(check(P("chk"), line, strlen(line), 100, &w, NULL, &e), -1, "an unknown type fails");
	longl = malloc(70000);
	memset(longl, 'a', 70000);
	is_int(check(P("chk"), longl, 70000, 5000, &w, NULL, &e), -1, "a line over 64 KiB fails");
	is_int(e.kind, ADO_E_FORMAT, "... ADO_E_FORMAT");
	like(e.msg, "longer than 64 KiB", "... saying so");
	free(longl);
	/* more than 20 mismatches: 20 reported, then a summary */
	{
		char *many = malloc(30 * 100), *p = many;
		memset(&w, 0, sizeof(w));
		for (int i = 0; i < 30; i++)
			p += sprintf(p, "d\t0755\t0\t-\tnope%d\n", i);
		is_int(check(P("chk"), many, (size_t)(p - many), 64, &w, NULL, &e), -1, "30 missing entries fail");
		is_str(e.msg, "30 of 30 entries differ from the backup", "... all counted");
		is_int(w.n, 21, "... 20 reported plus one summary line");
		is_str(w.msg[20], "... and 10 more", "... the summary");
		free(many);
	}
}

static void test_exclude_and_errors(void)
{
	struct ado_files_stats st;
	struct ado_err e;
	struct warns w = { 0 };
	struct mem idx = { 0 };
	char *ex[] = { "*.log", "cache", "./d1/d2", "nomatch" };
	char abs_ex[512];
	char *ex2[] = { abs_ex };
	struct ado_writer *fw;
	struct ado_target t = { .kind = ADO_TARGET_FILES, .name = "x" };

	mkdir(P("ex"), 0755);
	mkdir(P("ex/cache"), 0755);
	mkdir(P("ex/sub"), 0755);
	mkdir(P("ex/d1"), 0755);
	mkdir(P("ex/d1/d2"), 0755);
	put(P("ex/a.log"), "l", 1, 0644);
	put(P("ex/sub/b.log"), "l", 1, 0644);
	put(P("ex/sub/keep.txt"), "k", 1, 0644);
	put(P("ex/cache/x"), "c", 1, 0644);
	put(P("ex/cachet"), "c", 1, 0644);
	put(P("ex/d1/d2/y"), "y", 1, 0644);
	put(P("ex/d1/z"), "z", 1, 0644);
	is_int(backup(P("ex"), ex, 4, P("ex.tar"), &idx, &w, &st, &e), 0, "backup with excludes succeeds");
	ok(!strstr(idx.buf, ".log"), "*.log excluded at any depth");
	ok(!strstr(idx.buf, "\tcache\n") && !strstr(idx.buf, "cache/x"), "a folder pattern excludes the folder and below");
	ok(!strstr(idx.buf, "d1/d2"), "a ./-prefixed nested folder pattern works");
	like(idx.buf, "\tcachet\n", "a pattern does not match a longer name");
	like(idx.buf, "\tsub/keep.txt\n", "other files kept");
	like(idx.buf, "\td1/z\n", "the parent of an excluded folder kept");
	is_int(st.entries, 6, "6 entries left (. cachet sub sub/keep.txt d1 d1/z)");

	snprintf(abs_ex, sizeof(abs_ex), "%s/ex/sub", S);
	is_int(backup(P("ex"), ex2, 1, P("ex.tar"), &idx, &w, &st, &e), 0, "an absolute exclude pattern works");
	ok(!strstr(idx.buf, "sub"), "... excluding the folder");
	like(idx.buf, "\ta.log\n", "... and nothing else");

	/* a single file */
	is_int(backup(P("ex/d1/z"), NULL, 0, P("one.tar"), &idx, &w, &st, &e), 0, "backup of a single file");
	is_int(st.entries, 1, "... one entry");
	like(idx.buf, "f\t0644\t1\t594e519ae499312b29433b7dd8a97ff068defcba9755b6d5d00e84c524d67b06\tz\n",
	     "... under its base name, with its sha256");

	/* missing */
	is_int(backup(P("nope"), NULL, 0, P("nope.tar"), &idx, &w, &st, &e), -1, "a missing path fails");
	is_int(e.kind, ADO_E_NOTFOUND, "... ADO_E_NOTFOUND");
	like(e.msg, "cannot back up '", "... saying what failed");
	like(e.msg, "/nope'", "... naming the path");
	ok(e.hint[0] != '\0', "... with a hint");

	/* a failing destination */
	t.path = P("ex");
	fw = ado_writer_new(&failw_ops, NULL, NULL);
	is_int(ado_files_backup(&t, fw, NULL, NULL, NULL, &st, &e), -1, "a failing tar writer fails the backup");
	is_int(e.kind, ADO_E_IO, "... with the writer's kind");
	is_str(e.msg, "cannot write 'test-dest'", "... and the writer's message");
	is_int(e.sys_errno, ENOSPC, "... and errno");
	ado_writer_free(fw);
	free(idx.buf);
}

static void test_hardlinked_symlink(void)
{
	struct ado_files_stats st;
	struct ado_err e;
	struct warns w = { 0 };
	struct mem idx = { 0 };
	struct stat sb;

	mkdir(P("hls"), 0755);
	symlink("some/target", P("hls/sl"));
	if (link(P("hls/sl"), P("hls/sl2")) < 0) {
		ok(1, "# skip: cannot hard-link a symlink here");
		return;
	}
	is_int(backup(P("hls"), NULL, 0, P("hls.tar"), &idx, &w, &st, &e), 0, "backup of a hard-linked symlink");
	like(idx.buf, "l\t0777\t11\t", "the index has symlink lines");
	ok(!strstr(idx.buf, "h\t"), "... and no regular-file hard-link line for it");
	mkdir(P("hlsx"), 0700);
	is_int(extract(P("hls.tar"), P("hlsx"), &st, &e), 0, "it extracts");
	ok(lstat(P("hlsx/sl2"), &sb) == 0 && S_ISLNK(sb.st_mode), "... as a symlink");
	is_int(check(P("hlsx"), idx.buf, idx.len, 100, &w, NULL, &e), 0, "... and checks clean");
	free(idx.buf);
}

/* --- changes while reading --- */

static void truncate_hook(void *arg, const char *rel, const char *full)
{
	if (strcmp(rel, "big") == 0)
		truncate(full, 1000);
}

/* libarchive reports files that vanish between the listing and their lstat()
 * together, with the next entry that still exists: so delete all but the
 * first and the last in the folder's listing order. */
static char order[10][256];
static int norder;

static void vanish_hook(void *arg, const char *rel, const char *full)
{
	char path[4096];

	if (norder != 10 || strcmp(rel, order[0]) != 0)
		return;
	for (int i = 1; i < 9; i++) {
		snprintf(path, sizeof(path), "%s/van/%s", S, order[i]);
		unlink(path);
	}
}

static void test_changing_files(void)
{
	struct ado_files_stats st, xst;
	struct ado_err e;
	struct warns w = { 0 };
	struct mem idx = { 0 };
	char *big = calloc(1, 3 << 20), cmd[512];
	int vanished = 0;

	mkdir(P("chg"), 0755);
	memset(big, 'b', 3 << 20);
	put(P("chg/big"), big, 3 << 20, 0644);
	put(P("chg/small"), "s", 1, 0644);
	ado_files_set_test_hook(truncate_hook, NULL);
	is_int(backup(P("chg"), NULL, 0, P("chg.tar"), &idx, &w, &st, &e), 0, "a file shrinking while read is not fatal");
	ado_files_set_test_hook(NULL, NULL);
	is_int(w.n, 1, "... one warning");
	is_str(w.msg[0], "file changed as we read it: 'big'", "... naming the file");
	is_int(st.warnings, 1, "... counted");
	snprintf(cmd, sizeof(cmd), "tar -tf '%s' >/dev/null 2>&1 && echo valid", P("chg.tar"));
	is_str(run(cmd), "valid\n", "the tar stays valid");
	like(idx.buf, "c\t0644\t3145728\t", "the index marks it changed ('c'), keeping the header's size");
	mkdir(P("chgx"), 0700);
	is_int(extract(P("chg.tar"), P("chgx"), &xst, &e), 0, "it extracts");
	memset(&w, 0, sizeof(w));
	is_int(check(P("chgx"), idx.buf, idx.len, 100, &w, NULL, &e), 0, "and checks clean against its index");

	mkdir(P("van"), 0755);
	for (int i = 0; i < 10; i++) {
		char name[16];
		snprintf(name, sizeof(name), "van/f%d", i);
		put(P("%s", name), "v", 1, 0644);
	}
	{
		DIR *d = opendir(P("van"));
		struct dirent *de;
		while (d && (de = readdir(d)) != NULL)
			if (de->d_name[0] == 'f' && norder < 10)
				snprintf(order[norder++], sizeof(order[0]), "%s", de->d_name);
		if (d)
			closedir(d);
	}
	memset(&w, 0, sizeof(w));
	ado_files_set_test_hook(vanish_hook, NULL);
	is_int(backup(P("van"), NULL, 0, P("van.tar"), &idx, &w, &st, &e), 0, "files vanishing mid-walk are not fatal");
	ado_files_set_test_hook(NULL, NULL);
	is_int(w.n, 8, "one warning per vanished file");
	for (int i = 0; i < w.n && i < 64; i++)
		vanished += strncmp(w.msg[i], "file vanished before it was read: 'f", 36) == 0;
	is_int(vanished, 8, "... each naming it");
	if (w.n)
		printf("# %s\n", w.msg[0]);
	ok(w.n && strstr(w.msg[0], order[1]) != NULL, "... in listing order");
	is_int(st.entries, 3, "the two files that stayed are stored (and '.')");
	free(idx.buf);
	free(big);
}

/* --- malicious archives --- */

struct evil {
	const char *name;
	int type;		/* AE_IFREG, AE_IFLNK */
	const char *link;	/* symlink target */
	const char *hardlink;
};

static void make_tar(const char *path, const struct evil *ents, int n)
{
	struct archive *a = archive_write_new();
	struct archive_entry *en = archive_entry_new();

	archive_write_set_format_pax_restricted(a);
	archive_write_open_filename(a, path);
	for (int i = 0; i < n; i++) {
		archive_entry_clear(en);
		archive_entry_set_pathname(en, ents[i].name);
		archive_entry_set_filetype(en, (unsigned)ents[i].type);
		archive_entry_set_perm(en, 0644);
		if (ents[i].link)
			archive_entry_set_symlink(en, ents[i].link);
		if (ents[i].hardlink)
			archive_entry_set_hardlink(en, ents[i].hardlink);
		archive_entry_set_size(en, ents[i].type == AE_IFREG && !ents[i].hardlink ? 5 : 0);
		archive_write_header(a, en);
		if (ents[i].type == AE_IFREG && !ents[i].hardlink)
			archive_write_data(a, "evil\n", 5);
	}
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(en);
}

static void test_unsafe(void)
{
	struct ado_err e;
	struct ado_files_stats st;
	char outside[512], tar[512], dir[512];
	struct stat sb;
	struct ado_writer *w;
	const struct evil c1[] = { { "ok.txt", AE_IFREG, 0, 0 }, { "../evil", AE_IFREG, 0, 0 } };
	const struct evil c2[] = { { "/abs/evil", AE_IFREG, 0, 0 } };
	const struct evil c3[] = { { "a/../../evil", AE_IFREG, 0, 0 } };
	const struct evil c5[] = { { "hl", AE_IFREG, 0, "../x" } };
	const struct evil ok1[] = { { "out", AE_IFLNK, "/tmp/somewhere-outside", 0 }, { "./a/./b", AE_IFREG, 0, 0 },
				    { "hl", AE_IFREG, 0, "a/b" } };

	snprintf(outside, sizeof(outside), "%s/outside", S);
	mkdir(outside, 0755);
	put(P("x"), "x", 1, 0644);
	{
		const struct evil c4[] = { { "link", AE_IFLNK, outside, 0 }, { "link/file", AE_IFREG, 0, 0 } };
		const struct { const char *what, *entry; const struct evil *ents; int n; } cases[] = {
			{ "../evil", "'../evil'", c1, 2 },
			{ "/abs/evil", "'/abs/evil'", c2, 1 },
			{ "a/../../evil", "'a/../../evil'", c3, 1 },
			{ "link/file through a symlink", "'link/file'", c4, 2 },
			{ "a hard link to ../x", "'hl'", c5, 1 },
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			snprintf(tar, sizeof(tar), "%s/evil%zu.tar", S, i);
			snprintf(dir, sizeof(dir), "%s/evil%zu", S, i);
			mkdir(dir, 0700);
			make_tar(tar, cases[i].ents, cases[i].n);
			is_int(extract(tar, dir, &st, &e), -1, "%s: extraction refused", cases[i].what);
			is_int(e.kind, ADO_E_UNSAFE, "%s: ADO_E_UNSAFE", cases[i].what);
			like(e.msg, cases[i].entry, "%s: the message names the entry", cases[i].what);
			like(e.msg, "refusing to extract '", "%s: the message says what", cases[i].what);
		}
	}
	ok(!exists(P("evil")), "nothing written at ../evil");
	ok(!exists("/abs/evil") && !exists("/abs"), "nothing written at /abs/evil");
	ok(!exists(P("outside/file")), "nothing written through the symlink");
	stat(P("x"), &sb);
	is_int(sb.st_nlink, 1, "no hard link made to ../x");
	ok(exists(P("evil0/ok.txt")), "entries before the bad one stay (the caller throws the folder away)");

	/* the safe counterparts */
	snprintf(tar, sizeof(tar), "%s/fine.tar", S);
	mkdir(P("fine"), 0700);
	make_tar(tar, ok1, 3);
	is_int(extract(tar, P("fine"), &st, &e), 0, "a symlink pointing outside, ./ names and an inner hard link extract");
	ok(lstat(P("fine/out"), &sb) == 0 && S_ISLNK(sb.st_mode), "... the symlink is made, not followed");
	ok(stat(P("fine/hl"), &sb) == 0 && sb.st_nlink == 2, "... the hard link is made");

	/* other failures */
	is_int(extract(tar, P("no-such-dir"), &st, &e), -1, "extracting into a missing folder fails");
	is_int(e.kind, ADO_E_NOTFOUND, "... ADO_E_NOTFOUND");
	like(e.msg, "no-such-dir'", "... naming it");

	put(P("garbage"), "this is not a tar archive at all, not even close\n", 49, 0644);
	mkdir(P("garb"), 0700);
	is_int(extract(P("garbage"), P("garb"), &st, &e), -1, "garbage fails");
	is_int(e.kind, ADO_E_FORMAT, "... ADO_E_FORMAT");

	/* truncated: the stream ends inside big.bin */
	{
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "head -c 1000000 '%s/out.tar' > '%s/trunc.tar'", S, S);
		if (system(cmd) != 0)
			printf("# head failed\n");
		mkdir(P("trunc"), 0700);
		is_int(extract(P("trunc.tar"), P("trunc"), &st, &e), -1, "a truncated tar fails");
		is_int(e.kind, ADO_E_FORMAT, "... ADO_E_FORMAT");
		like(e.msg, "cannot extract 'big.bin' into '", "... naming the entry");
		like(e.msg, "the archive is damaged: ", "... and why");
	}

	/* the disk refuses a name: an error, not a warning */
	{
		char longname[300];
		struct evil c6[] = { { longname, AE_IFREG, 0, 0 } };
		memset(longname, 'n', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		snprintf(tar, sizeof(tar), "%s/long.tar", S);
		make_tar(tar, c6, 1);
		mkdir(P("long"), 0700);
		is_int(extract(tar, P("long"), &st, &e), -1, "a file the disk cannot create fails the extraction");
		is_int(e.kind, ADO_E_IO, "... ADO_E_IO");
		like(e.msg, "cannot extract 'nnnn", "... naming the entry");
	}

	/* free without close, after a failure, and with the thread blocked: no deadlock */
	mkdir(P("abandon"), 0700);
	w = ado_extract_writer_new(P("abandon"), NULL, &st, &e);
	feed(P("trunc.tar"), w, 4096, &e);
	ado_writer_free(w);
	ok(1, "freeing an unclosed extract writer returns");
	w = ado_extract_writer_new(P("abandon"), NULL, &st, &e);
	ado_writer_free(w);
	ok(1, "freeing an unused extract writer returns");
	mkdir(P("evilw"), 0700);
	w = ado_extract_writer_new(P("evilw"), NULL, &st, &e);
	is_int(feed(P("evil0.tar"), w, 100000, &e) < 0 || ado_writer_close(w, &e) < 0, 1,
	       "a failure reaches the writer");
	is_int(e.kind, ADO_E_UNSAFE, "... with the extraction's error");
	ado_writer_free(w);
}

/* --- the index check from what the extraction wrote --- */

static int extract_w(const char *tarpath, const char *dir, struct ado_files_written *wr, struct ado_err *e)
{
	struct ado_extract_opts o = { .preserve_owner = 0, .written = wr };
	struct ado_files_stats st;

	return extract_with(tarpath, dir, &o, &st, e);
}

/* Check dir against an index of lines "TYPE\tSIZE\tCONTENT\tPATH" where
 * CONTENT is hashed here (so a test writes the content it expects). */
static int check_w(const char *dir, const struct ado_files_written *wr, const char *const *lines, int n,
		   struct warns *w, struct ado_files_stats *st, struct ado_err *e)
{
	struct ado_writer *cw = ado_index_check_writer_new2(dir, wr, collect, w, st, e);
	char line[512], hex[65];
	int rc = 0;

	w->n = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		char type[4], size[32], content[128], path[128];
		if (sscanf(lines[i], "%3[^\t]\t%31[^\t]\t%127[^\t]\t%127s", type, size, content, path) != 4)
			printf("# bad test line %s\n", lines[i]);
		if (strcmp(content, "<empty>") == 0)
			content[0] = '\0';
		if (strcmp(content, "<sparse>") == 0)
			snprintf(hex, sizeof(hex), "%.64s", run("sha256sum < sparse-src/sp"));
		else
			ado_sha256_hex(content, strlen(content), hex);
		snprintf(line, sizeof(line), "%s\t0644\t%s\t%s\t%s\n", type, size, hex, path);
		rc = ado_writer_write(cw, line, strlen(line), e);
	}
	if (rc == 0)
		rc = ado_writer_close(cw, e);
	ado_writer_free(cw);
	return rc;
}

/* Make S/NAME.tar of ents, extract it into S/NAME (its path in dir) with a
 * table of that budget, and return the table. */
static struct ado_files_written *tar_extract_w(const char *name, const struct evil *ents, int n, char dir[512],
					       size_t budget)
{
	struct ado_files_written *wr = ado_files_written_new(budget);
	struct ado_err e;
	char tar[512];

	snprintf(tar, sizeof(tar), "%s/%s.tar", S, name);
	make_tar(tar, ents, n);
	snprintf(dir, 512, "%s/%s", S, name);
	mkdir(dir, 0700);
	is_int(extract_w(tar, dir, wr, &e), 0, "%s: extracts with a table", name);
	return wr;
}

static void test_written(void)
{
	struct ado_files_written *wr;
	struct ado_files_stats st;
	struct warns w = { 0 };
	struct ado_err e;
	char tar[512], dir[512];
	const struct evil two[] = { { "f", AE_IFREG, 0, 0 }, { "./d//g", AE_IFREG, 0, 0 } };
	const struct evil links[] = { { "a", AE_IFREG, 0, 0 }, { "b", AE_IFREG, 0, "a" } };
	const char *good[] = { "f\t5\tevil\n\tf", "f\t5\tevil\n\td/g" };
	const char *bad[] = { "f\t5\tevil\n\tf", "f\t5\tgood\n\td/g" };

	/* every file hashed as written: nothing read back */
	wr = tar_extract_w("w-two", two, 2, dir, ADO_FILES_WRITTEN_BUDGET);
	is_int(check_w(dir, wr, good, 2, &w, &st, &e), 0, "written: the index matches what was written");
	is_int(st.reread, 0, "... and no file was read back");
	is_int(check_w(dir, wr, bad, 2, &w, &st, &e), -1, "written: a file whose written bytes differ from the index fails");
	is_int(e.kind, ADO_E_INTEGRITY, "... ADO_E_INTEGRITY");
	ok(warned(&w, "'d/g': content differs"), "... naming the file");
	is_int(st.reread, 0, "... told by the written hash, not a read");
	ado_files_written_free(wr);

	/* a table with room for one record: the other file is read back, and a
	 * read-back catches what differs on disk */
	wr = tar_extract_w("w-full", two, 2, dir, sizeof(void *) * 2 + 8 + 32 + 2 + 16);
	is_int(ado_files_written_dropped(wr), 1, "... one path left out for want of room");
	is_int(check_w(dir, wr, good, 2, &w, &st, &e), 0, "full table: the index matches");
	is_int(st.reread, 1, "... the file left out is read back");
	put(P("w-full/d/g"), "good\n", 5, 0644);
	is_int(check_w(dir, wr, good, 2, &w, &st, &e), -1, "full table: the read-back sees the bytes on disk");
	ok(warned(&w, "'d/g': content differs"), "... naming the file");
	put(P("w-full/d/g"), "evil\n", 5, 0644);
	is_int(check_w(dir, wr, bad, 2, &w, &st, &e), -1, "full table: a read-back that differs from the index fails");
	ado_files_written_free(wr);

	/* an empty file */
	snprintf(tar, sizeof(tar), "%s/w-empty.tar", S);
	{
		struct archive *a = archive_write_new();
		struct archive_entry *en = archive_entry_new();
		archive_write_set_format_pax_restricted(a);
		archive_write_open_filename(a, tar);
		archive_entry_set_pathname(en, "z");
		archive_entry_set_filetype(en, AE_IFREG);
		archive_entry_set_perm(en, 0644);
		archive_entry_set_size(en, 0);
		archive_write_header(a, en);
		archive_write_close(a);
		archive_write_free(a);
		archive_entry_free(en);
	}
	snprintf(dir, sizeof(dir), "%s/w-empty", S);
	mkdir(dir, 0700);
	wr = ado_files_written_new(ADO_FILES_WRITTEN_BUDGET);
	is_int(extract_w(tar, dir, wr, &e), 0, "empty file: extracts");
	{
		const char *g[] = { "f\t0\t<empty>\tz" }, *b1[] = { "f\t0\tx\tz" }, *b2[] = { "f\t1\t<empty>\tz" };
		is_int(check_w(dir, wr, g, 1, &w, &st, &e), 0, "empty file: matches");
		is_int(st.reread, 0, "... not read back");
		is_int(check_w(dir, wr, b1, 1, &w, &st, &e), -1, "empty file: another hash fails");
		is_int(check_w(dir, wr, b2, 1, &w, &st, &e), -1, "empty file: another size fails");
		ok(warned(&w, "'z': size 0, expected 1"), "... saying so");
	}
	ado_files_written_free(wr);

	/* a hard link takes its target's record */
	wr = tar_extract_w("w-link", links, 2, dir, ADO_FILES_WRITTEN_BUDGET);
	{
		const char *g[] = { "f\t5\tevil\n\ta", "h\t5\tevil\n\tb" }, *b[] = { "f\t5\tevil\n\ta", "h\t5\tgood\n\tb" };
		is_int(check_w(dir, wr, g, 2, &w, &st, &e), 0, "hard link: matches");
		is_int(st.reread, 0, "... not read back");
		is_int(check_w(dir, wr, b, 2, &w, &st, &e), -1, "hard link: another hash fails");
		ok(warned(&w, "'b': content differs"), "... naming the link");
	}
	ado_files_written_free(wr);

	/* a sparse file: the holes come as gaps between blocks, zeros on disk */
	{
		char cmd[1024];
		const char *g[] = { "f\t3145728\t<sparse>\tsp" }, *b[] = { "f\t3145728\tother\tsp" };
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && mkdir -p sparse-src && truncate -s 3M sparse-src/sp && "
			 "printf middle | dd of=sparse-src/sp bs=1 seek=1048576 conv=notrunc 2>/dev/null && "
			 "tar --sparse --format=pax -cf w-sparse.tar -C sparse-src sp", S);
		if (system(cmd) != 0)
			printf("# cannot make the sparse tar\n");
		snprintf(dir, sizeof(dir), "%s/w-sparse", S);
		mkdir(dir, 0700);
		wr = ado_files_written_new(ADO_FILES_WRITTEN_BUDGET);
		is_int(extract_w(P("w-sparse.tar"), dir, wr, &e), 0, "sparse file: extracts");
		if (chdir(S) != 0)
			printf("# chdir %s\n", S);
		is_int(check_w(dir, wr, g, 1, &w, &st, &e), 0, "sparse file: matches, holes hashed as zeros");
		is_int(st.reread, 0, "... not read back");
		is_int(check_w(dir, wr, b, 1, &w, &st, &e), -1, "sparse file: another hash fails");
		ok(warned(&w, "'sp': content differs"), "... naming the file");
		ado_files_written_free(wr);
	}
}

int main(void)
{
	char tmpl[] = "/tmp/t-files-XXXXXX", cmd[128];

	umask(022);
	if (!mkdtemp(tmpl)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(S, sizeof(S), "%s", tmpl);
	test_roundtrip();
	test_check_format();
	test_exclude_and_errors();
	test_hardlinked_symlink();
	test_changing_files();
	test_unsafe();
	test_written();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", S);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", S);
	return done_testing();
}
