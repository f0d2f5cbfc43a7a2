/* t-io.c - lib/io: hash and size, sinks, tee, compression both ways, thread writer.
 * ADO_TEST_QUICK=1 shrinks the data sizes (for valgrind). */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/internal.h"
#include "io/io.h"

static int quick;
static char tmpdir[] = "/tmp/t-io.XXXXXX";

/* --- test writers --- */

/* Accepts `limit` bytes, then fails every write with ENOSPC; counts calls. */
struct fail_state {
	const char *name;
	size_t limit, seen;
	int fail_close;
	int closes, *frees;
};

static int fail_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct fail_state *st = w->state;

	if (st->seen + n > st->limit)
		return ado_err_set(e, ADO_E_IO, ENOSPC, "cannot write to '%s'", st->name);
	st->seen += n;
	return 0;
}

static int fail_close(struct ado_writer *w, struct ado_err *e)
{
	struct fail_state *st = w->state;

	st->closes++;
	if (st->fail_close)
		return ado_err_set(e, ADO_E_REMOTE, 0, "cannot commit '%s'", st->name);
	return 0;
}

static void fail_free(struct ado_writer *w)
{
	struct fail_state *st = w->state;

	if (st->frees)
		(*st->frees)++;
	free(st);
}

static const struct ado_writer_ops fail_ops = {
	.name = "fail",
	.write = fail_write,
	.close = fail_close,
	.free = fail_free,
};

static struct ado_writer *fail_new(const char *name, size_t limit, int fail_at_close, int *frees)
{
	struct fail_state *st = calloc(1, sizeof(*st));

	st->name = name;
	st->limit = limit;
	st->fail_close = fail_at_close;
	st->frees = frees;
	return ado_writer_new(&fail_ops, st, NULL);
}

/* Counts bytes and remembers the largest single write. */
struct count_state {
	uint64_t total;
	size_t max_chunk;
};

static int count_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct count_state *st = w->state;

	st->total += n;
	if (n > st->max_chunk)
		st->max_chunk = n;
	return 0;
}

static const struct ado_writer_ops count_ops = {
	.name = "count",
	.write = count_write,
};

/* --- data --- */

static uint64_t rng = 88172645463325252ULL;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* half random bytes, half text: both paths of every codec get exercised */
static unsigned char *make_data(size_t n)
{
	unsigned char *d = malloc(n);
	size_t i = 0;

	while (i < n / 2)
		d[i++] = (unsigned char)xorshift();
	while (i < n) {
		char line[128];
		int k = snprintf(line, sizeof(line), "line %zu of the test data, value %llu\n", i,
				 (unsigned long long)(xorshift() % 1000));
		for (int j = 0; j < k && i < n; j++)
			d[i++] = (unsigned char)line[j];
	}
	return d;
}

static int write_file(const char *path, const void *buf, size_t n)
{
	FILE *f = fopen(path, "wb");
	int rc;

	if (!f)
		return -1;
	rc = fwrite(buf, 1, n, f) == n ? 0 : -1;
	return fclose(f) == 0 ? rc : -1;
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Compress buf into a fresh malloc'd buffer; NULL on error (e filled). */
static char *compress_buf(enum ado_compression c, int level, int threads, const void *buf, size_t n,
			  size_t *outlen, struct ado_err *e)
{
	struct ado_writer *mem = ado_mem_writer_new(2 * n + 4096, e), *w;
	char *out = NULL;

	w = ado_compress_writer_new(mem, c, level, threads, e);
	if (!w) {
		ado_writer_free(mem);
		return NULL;
	}
	if (ado_writer_write(w, buf, n, e) == 0 && ado_writer_close(w, e) == 0)
		out = ado_mem_writer_take(mem, outlen);
	ado_writer_free(w);
	return out;
}

/* Decompress buf in odd-sized pieces into a hash; 0 or -1 with e. */
static int decompress_buf(enum ado_compression c, const void *buf, size_t n, size_t piece,
			  struct ado_digest *d, struct ado_err *e)
{
	struct ado_writer *w = ado_null_writer_new(e);
	const char *p = buf;
	int rc = -1;

	w = ado_hash_writer_new(w, d, e);
	w = ado_decompress_writer_new(w, c, e);
	if (!w)
		return -1;
	while (n > 0) {
		size_t k = n < piece ? n : piece;
		if (ado_writer_write(w, p, k, e) < 0)
			goto out;
		p += k;
		n -= k;
	}
	rc = ado_writer_close(w, e);
out:
	ado_writer_free(w);
	return rc;
}

/* --- tests --- */

static void test_hash(void)
{
	char hex[65];
	struct ado_digest d;
	struct ado_err e;
	struct ado_writer *w;
	int frees = 0;

	ado_sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of \"\"");
	ado_sha256_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 of \"abc\"");

	w = ado_hash_writer_new(NULL, &d, &e);
	ok(w && ado_writer_write(w, "a", 1, &e) == 0 && ado_writer_write(w, "bc", 2, &e) == 0 &&
	   ado_writer_close(w, &e) == 0, "hash writer without next takes writes");
	is_str(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "hash writer over two writes gives sha256(\"abc\")");
	is_int(d.size, 3, "hash writer counts bytes");
	is_int(ado_writer_write(w, "x", 1, &e), -1, "write after close fails");
	is_int(e.kind, ADO_E_INTERNAL, "... as an internal error");
	ado_writer_free(w);

	w = ado_hash_writer_new(fail_new("down", 2, 0, &frees), &d, &e);
	is_int(ado_writer_write(w, "abc", 3, &e), -1, "hash writer passes a downstream error up");
	is_str(e.msg, "cannot write to 'down'", "... with the downstream message");
	is_int(e.sys_errno, ENOSPC, "... and its errno");
	ado_writer_free(w);
	is_int(frees, 1, "freeing the hash writer frees its next");

	/* the size writer: the same count, no digest */
	w = ado_size_writer_new(NULL, &d, &e);
	ok(w && ado_writer_write(w, "a", 1, &e) == 0 && ado_writer_write(w, "bc", 2, &e) == 0 &&
	   ado_writer_close(w, &e) == 0, "size writer without next takes writes");
	is_int(d.size, 3, "size writer counts bytes");
	is_str(d.sha256, "", "size writer leaves the digest empty");
	ado_writer_free(w);
	frees = 0;
	w = ado_size_writer_new(fail_new("down", 2, 0, &frees), &d, &e);
	is_int(ado_writer_write(w, "abc", 3, &e), -1, "size writer passes a downstream error up");
	is_str(e.msg, "cannot write to 'down'", "... with the downstream message");
	ado_writer_free(w);
	is_int(frees, 1, "freeing the size writer frees its next");
}

/* The CRCs, bit by bit: the definitions the fast paths must agree with
 * (reflected, init and xorout all ones; poly is the reflected polynomial). */
static uint64_t crc_bits(uint64_t poly, uint64_t mask, const unsigned char *p, size_t n)
{
	uint64_t c = mask;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (poly & (0 - (c & 1)));
	}
	return ~c & mask;
}

static uint64_t crc32_fast(uint64_t c, const void *p, size_t n)
{
	return ado_crc32((uint32_t)c, p, n);
}

static uint64_t crc32_tables(uint64_t c, const void *p, size_t n)
{
	return ado_crc32_by_tables((uint32_t)c, p, n);
}

static const struct crc_case {
	const char *name;
	uint64_t poly, mask, check;
	uint64_t (*fast)(uint64_t, const void *, size_t);
	uint64_t (*tables)(uint64_t, const void *, size_t);
} crc_cases[] = {
	{ "crc32", 0xedb88320u, 0xffffffffu, 0xcbf43926u, crc32_fast, crc32_tables },
	{ "crc64-nvme", 0x9a6c9329ac4bc9b5ULL, ~0ULL, 0xae8b14860a799888ULL, ado_crc64_nvme, ado_crc64_nvme_by_tables },
};

static void test_crc(const struct crc_case *t)
{
	static unsigned char d[4100];
	int fast_ok = 1, tables_ok = 1, split_ok = 1;

	ok(t->fast(0, "123456789", 9) == t->check, "%s check value", t->name);
	ok(t->tables(0, "123456789", 9) == t->check, "%s check value, tables", t->name);
	ok(t->fast(0, "", 0) == 0, "%s of nothing is 0", t->name);
	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (unsigned char)(i * 131 + (i >> 7));
	for (size_t n = 0; n <= sizeof(d); n += n < 300 ? 1 : 37) {
		uint64_t want = crc_bits(t->poly, t->mask, d, n);
		fast_ok &= t->fast(0, d, n) == want;
		tables_ok &= t->tables(0, d, n) == want;
		for (size_t s = 0; s <= n; s += n / 3 + 1)
			split_ok &= t->fast(t->fast(0, d, s), d + s, n - s) == want;
	}
	ok(fast_ok, "%s: the fast path agrees with the definition at every length to %zu", t->name, sizeof(d));
	ok(tables_ok, "%s: the tables agree with the definition", t->name);
	ok(split_ok, "%s: continuing from a previous crc gives the crc of the whole", t->name);
	{
		uint64_t a = t->fast(0, d, sizeof(d));
		d[2049] ^= 0x10;
		ok(t->fast(0, d, sizeof(d)) != a, "%s: one flipped bit changes it", t->name);
	}
}

static void test_sinks(void)
{
	struct ado_err e;
	struct ado_writer *w;
	struct ado_reader *r;
	struct ado_digest d;
	char path[64], hex[65], *s;
	size_t len;
	int fd;
	unsigned char *data = make_data(300000);

	w = ado_mem_writer_new(10, &e);
	ok(ado_writer_write(w, "hello", 5, &e) == 0, "mem writer takes bytes under its max");
	is_int(ado_writer_write(w, "world!", 6, &e), -1, "mem writer refuses to go past its max");
	is_int(e.kind, ADO_E_FORMAT, "... as ADO_E_FORMAT");
	is_str(e.msg, "data exceeds the 10-byte limit", "... saying the limit");
	ok(ado_writer_write(w, "12345", 5, &e) == 0, "exactly up to max is fine");
	s = ado_mem_writer_take(w, &len);
	is_str(s, "hello12345", "take gives the NUL-terminated bytes");
	is_int(len, 10, "... and their length");
	free(s);
	s = ado_mem_writer_take(w, &len);
	ok(s && len == 0 && s[0] == '\0', "a second take gives an empty string");
	free(s);
	ado_writer_free(w);
	w = ado_null_writer_new(&e);
	ok(ado_mem_writer_take(w, &len) == NULL, "take from a non-memory writer gives NULL");
	ok(ado_writer_write(w, "x", 1, &e) == 0 && ado_writer_close(w, &e) == 0, "null writer swallows");
	ado_writer_free(w);

	/* fd writer -> file -> fd reader -> pump */
	snprintf(path, sizeof(path), "%s/fd.bin", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	w = ado_fd_writer_new(fd, 1, &e);
	ok(ado_writer_write(w, data, 300000, &e) == 0 && ado_writer_close(w, &e) == 0, "fd writer writes a file");
	ado_writer_free(w);
	ok(fcntl(fd, F_GETFD) < 0 && errno == EBADF, "an owned fd is closed at close");

	r = ado_fd_reader_new(open(path, O_RDONLY), 1, &e);
	w = ado_hash_writer_new(NULL, &d, &e);
	ok(ado_pump(r, w, &e) == 0 && ado_writer_close(w, &e) == 0, "fd reader pumps the file into a hash");
	ado_sha256_hex(data, 300000, hex);
	is_str(d.sha256, hex, "... and the bytes read back are the bytes written");
	is_int(d.size, 300000, "... all of them");
	ado_writer_free(w);
	ado_reader_free(r);

	fd = open("/dev/null", O_RDONLY);
	w = ado_fd_writer_new(fd, 0, &e);
	is_int(ado_writer_write(w, "x", 1, &e), -1, "fd writer on a read-only fd fails");
	is_int(e.kind, ADO_E_IO, "... as ADO_E_IO");
	is_int(e.sys_errno, EBADF, "... with EBADF");
	like(e.msg, "cannot write to file descriptor", "... naming the descriptor");
	ado_writer_free(w);
	ok(fcntl(fd, F_GETFD) >= 0, "an fd not owned stays open after free");
	close(fd);

	fd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	r = ado_fd_reader_new(fd, 1, &e);
	w = ado_null_writer_new(&e);
	is_int(ado_pump(r, w, &e), -1, "fd reader on a directory fails");
	is_int(e.sys_errno, EISDIR, "... with EISDIR");
	is_int(e.kind, ADO_E_IO, "... as ADO_E_IO");
	ado_writer_free(w);
	ado_reader_free(r);
	free(data);
}

static const struct {
	enum ado_compression c;
	const char *name, *tool;
	int threads;
} codecs[] = {
	{ ADO_COMP_NONE, "none", "cat", 0 },
	{ ADO_COMP_GZIP, "gzip", "gzip -dc", 0 },
	{ ADO_COMP_LZ4, "lz4", "lz4 -dc", 0 },
	{ ADO_COMP_ZSTD, "zstd", "zstd -dc", 0 },
	{ ADO_COMP_ZSTD, "zstd", "zstd -dc", 2 },
};

static void test_codecs(void)
{
	size_t n = quick ? 300000 : 3 * 1024 * 1024, clen;
	unsigned char *data = make_data(n);
	char want[65], orig[64], comp[64], cmd[256];
	struct ado_digest d;
	struct ado_err e;

	ado_sha256_hex(data, n, want);
	snprintf(orig, sizeof(orig), "%s/orig", tmpdir);
	snprintf(comp, sizeof(comp), "%s/comp", tmpdir);
	write_file(orig, data, n);

	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		const char *name = codecs[i].name;
		enum ado_compression c = codecs[i].c;
		char *z = compress_buf(c, 0, codecs[i].threads, data, n, &clen, &e);

		if (!ok(z, "%s (%d threads): compress %zu bytes", name, codecs[i].threads, n)) {
			printf("# %s\n", e.msg);
			continue;
		}
		if (c != ADO_COMP_NONE)
			ok(clen < n, "%s: output (%zu) smaller than input", name, clen);
		ok(decompress_buf(c, z, clen, 7777, &d, &e) == 0, "%s: decompress in 7777-byte pieces", name);
		is_str(d.sha256, want, "%s: round trip gives the same sha256", name);
		is_int(d.size, n, "%s: and the same size", name);

		write_file(comp, z, clen);
		snprintf(cmd, sizeof(cmd), "%s %s | cmp -s - %s", codecs[i].tool, comp, orig);
		is_int(run(cmd), 0, "%s: `%s` reads our output", name, codecs[i].tool);

		if (c == ADO_COMP_NONE) {
			free(z);
			continue;
		}
		/* one flipped byte in the middle */
		z[clen / 2] ^= 0x20;
		is_int(decompress_buf(c, z, clen, 65536, &d, &e), -1, "%s: a flipped byte is an error", name);
		is_int(e.kind, ADO_E_FORMAT, "%s: ... ADO_E_FORMAT", name);
		snprintf(cmd, sizeof(cmd), "corrupt %s stream: ", name);
		like(e.msg, cmd, "%s: ... 'corrupt %s stream'", name, name);
		ok(e.hint[0] != '\0', "%s: ... with a hint", name);
		z[clen / 2] ^= 0x20;

		/* cut short */
		is_int(decompress_buf(c, z, clen - 3, 65536, &d, &e), -1, "%s: a truncated stream is an error", name);
		is_int(e.kind, ADO_E_FORMAT, "%s: ... ADO_E_FORMAT", name);
		snprintf(cmd, sizeof(cmd), "truncated %s stream", name);
		is_str(e.msg, cmd, "%s: ... '%s'", name, cmd);
		is_int(decompress_buf(c, z, 0, 65536, &d, &e), -1, "%s: an empty stream is an error", name);
		is_str(e.msg, cmd, "%s: ... also truncated", name);

		/* garbage after the end */
		{
			char *g = malloc(clen + 8);
			memcpy(g, z, clen);
			memcpy(g + clen, "garbage!", 8);
			is_int(decompress_buf(c, g, clen + 8, 65536, &d, &e), -1,
			       "%s: trailing garbage is an error", name);
			is_int(e.kind, ADO_E_FORMAT, "%s: ... ADO_E_FORMAT", name);
			free(g);
		}
		free(z);
	}
	unlink(comp);
	unlink(orig);
	free(data);
}

static void test_concat(void)
{
	enum ado_compression cs[] = { ADO_COMP_GZIP, ADO_COMP_LZ4, ADO_COMP_ZSTD };
	struct ado_err e;
	char hex[65];

	ado_sha256_hex("hello world", 11, hex);
	for (size_t i = 0; i < 3; i++) {
		size_t l1, l2;
		char *a = compress_buf(cs[i], 0, 0, "hello ", 6, &l1, &e);
		char *b = compress_buf(cs[i], 0, 0, "world", 5, &l2, &e);
		char *ab = malloc(l1 + l2);
		struct ado_digest d;

		memcpy(ab, a, l1);
		memcpy(ab + l1, b, l2);
		ok(decompress_buf(cs[i], ab, l1 + l2, 3, &d, &e) == 0 && strcmp(d.sha256, hex) == 0,
		   "codec %d: two concatenated streams decompress as one", (int)cs[i]);
		is_int(decompress_buf(cs[i], ab, l1 + l2 - 1, 3, &d, &e), -1,
		       "codec %d: a cut second member is still truncated", (int)cs[i]);
		free(a);
		free(b);
		free(ab);
	}
}

/* The block codecs (gzip, lz4) at the sizes around their block size, in the
 * caller's thread and on two workers: the round trip, the system tool, and
 * a damaged copy of the same output. */
static void test_blocks(void)
{
	const struct ado_block_codec *bc[] = { &ado_gzip_codec, &ado_lz4_codec };
	enum ado_compression cs[] = { ADO_COMP_GZIP, ADO_COMP_LZ4 };
	const char *tools[] = { "gzip -dc <", "lz4 -dc <" };
	char orig[64], comp[64], cmd[256], want[65];

	snprintf(orig, sizeof(orig), "%s/borig", tmpdir);
	snprintf(comp, sizeof(comp), "%s/bcomp", tmpdir);
	for (size_t i = 0; i < 2; i++) {
		size_t b = bc[i]->block;
		size_t sizes[] = { 0, 1, b - 1, b, b + 1, (quick ? 3 : 7) * b + 12345 };
		unsigned char *data = make_data(sizes[5]);

		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
			for (int threads = 0; threads <= 2; threads += 2) {
				size_t n = sizes[k], clen;
				struct ado_digest d;
				struct ado_err e;
				char *z = compress_buf(cs[i], 0, threads, data, n, &clen, &e);

				if (!ok(z, "%s, %d threads: compress %zu bytes", bc[i]->name, threads, n)) {
					printf("# %s\n", e.msg);
					continue;
				}
				ado_sha256_hex(data, n, want);
				ok(decompress_buf(cs[i], z, clen, 100003, &d, &e) == 0 && strcmp(d.sha256, want) == 0 &&
				   d.size == n, "%s, %d threads, %zu bytes: the round trip gives them back", bc[i]->name,
				   threads, n);
				write_file(orig, data, n);
				write_file(comp, z, clen);
				snprintf(cmd, sizeof(cmd), "%s %s | cmp -s - %s", tools[i], comp, orig);
				is_int(run(cmd), 0, "%s, %zu bytes: `%s` reads our output", bc[i]->name, n, tools[i]);
				/* damaged: a flipped byte in the last unit's payload, or cut short */
				z[clen - 12] ^= 0x41;
				write_file(comp, z, clen);
				is_int(decompress_buf(cs[i], z, clen, 100003, &d, &e), -1,
				       "%s, %zu bytes: a flipped byte fails", bc[i]->name, n);
				is_int(e.kind, ADO_E_FORMAT, "%s, %zu bytes: ... as a format error", bc[i]->name, n);
				snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", tools[i], comp);
				ok(run(cmd) != 0, "%s, %zu bytes: `%s` refuses it too", bc[i]->name, n, tools[i]);
				z[clen - 12] ^= 0x41;
				write_file(comp, z, clen);
				is_int(decompress_buf(cs[i], z, clen - 1, 100003, &d, &e), -1,
				       "%s, %zu bytes: one byte short fails", bc[i]->name, n);
				free(z);
			}
		free(data);
	}
	unlink(orig);
	unlink(comp);
}

/* A codec that copies its block and fails on a block that starts with 'X':
 * the filter keeps the order of blocks and reports a failed one. */
static void *copy_new(int level)
{
	return malloc(1);
}

static size_t copy_bound(void *ctx, size_t n)
{
	return n;
}

static size_t copy_compress(void *ctx, const void *in, size_t n, void *out, size_t cap)
{
	if (n > 0 && *(const char *)in == 'X')
		return 0;
	memcpy(out, in, n);
	return n ? n : 1;	/* an empty block still makes a (zero-byte) unit */
}

static const struct ado_block_codec copy_codec = { "copy", 1000, copy_new, free, copy_bound, copy_compress };

static void test_block_filter(void)
{
	size_t n = 50 * 1000 + 7, len;
	unsigned char *data = make_data(n);
	struct ado_err e;
	int frees = 0;

	for (int threads = 0; threads <= 3; threads++) {
		struct ado_writer *mem = ado_mem_writer_new(n + 1, &e);
		struct ado_writer *w = ado_block_writer_new(mem, &copy_codec, 0, threads, &e);
		char *out;

		/* odd-sized writes across the block edges */
		for (size_t off = 0; off < n; off += 777)
			ado_writer_write(w, data + off, n - off < 777 ? n - off : 777, &e);
		ok(ado_writer_close(w, &e) == 0, "block filter, %d workers: closes", threads);
		out = ado_mem_writer_take(mem, &len);
		ok(len == n && memcmp(out, data, n) == 0, "block filter, %d workers: 51 blocks come out in order",
		   threads);
		free(out);
		ado_writer_free(w);

		w = ado_block_writer_new(ado_mem_writer_new(n + 1, &e), &copy_codec, 0, threads, &e);
		data[20 * 1000] = 'X';
		is_int(ado_writer_write(w, data, n, &e) == 0 ? ado_writer_close(w, &e) : -1, -1,
		       "block filter, %d workers: a block that fails to compress fails the stream", threads);
		is_str(e.msg, "cannot compress 'copy' stream", "... saying so");
		data[20 * 1000] = 'a';
		ado_writer_free(w);

		w = ado_block_writer_new(fail_new("full", 5000, 0, &frees), &copy_codec, 0, threads, &e);
		is_int(ado_writer_write(w, data, n, &e) == 0 ? ado_writer_close(w, &e) : -1, -1,
		       "block filter, %d workers: a downstream error fails the stream", threads);
		is_str(e.msg, "cannot write to 'full'", "... with its message");
		ado_writer_free(w);	/* freed unclosed: the workers stop */
		is_int(frees, threads + 1, "... and the downstream is freed with the filter");
	}
	free(data);
}

/* Streams as the code before the block filters wrote them (and as old
 * backups hold them): one zlib gzip member; one lz4 frame of linked 64 KiB
 * blocks. Made here by the system tools, which write the same formats. */
static void test_old_streams(void)
{
	const char *make[] = { "gzip -6 -c", "lz4 -q -c -BD -B4" };
	enum ado_compression cs[] = { ADO_COMP_GZIP, ADO_COMP_LZ4 };
	size_t n = quick ? 300000 : 3 * 1024 * 1024;
	unsigned char *data = make_data(n);
	char orig[64], comp[64], cmd[256], want[65];

	ado_sha256_hex(data, n, want);
	snprintf(orig, sizeof(orig), "%s/oorig", tmpdir);
	snprintf(comp, sizeof(comp), "%s/ocomp", tmpdir);
	write_file(orig, data, n);
	for (size_t i = 0; i < 2; i++) {
		struct ado_digest d;
		struct ado_err e;
		size_t clen = 0;
		char *z = NULL;
		FILE *f;

		snprintf(cmd, sizeof(cmd), "%s < %s > %s", make[i], orig, comp);
		if (run(cmd) == 0 && (f = fopen(comp, "rb"))) {
			z = malloc(2 * n);
			clen = fread(z, 1, 2 * n, f);
			fclose(f);
		}
		ok(decompress_buf(cs[i], z, clen, 65536, &d, &e) == 0 && strcmp(d.sha256, want) == 0,
		   "an old-style stream from `%s` still decompresses", make[i]);
		{
			/* one of our units, then the old-style stream */
			size_t l1;
			char *a = compress_buf(cs[i], 0, 2, data, n, &l1, &e), *ab = malloc(l1 + clen);
			struct ado_digest d2;

			memcpy(ab, a, l1);
			memcpy(ab + l1, z, clen);
			ok(decompress_buf(cs[i], ab, l1 + clen, 4097, &d2, &e) == 0 && d2.size == 2 * n,
			   "... also after a stream of ours");
			free(a);
			free(ab);
		}
		z[clen / 3] ^= 0x10;
		is_int(decompress_buf(cs[i], z, clen, 65536, &d, &e), -1, "... and fails once damaged");
		free(z);
	}
	unlink(orig);
	unlink(comp);
	free(data);
}

static void test_bomb_and_levels(void)
{
	size_t n = quick ? 8u << 20 : 64u << 20, clen;
	unsigned char *zeros = calloc(1, n);
	struct count_state cnt = { 0, 0 };
	struct ado_writer *w;
	struct ado_err e;
	char *z = compress_buf(ADO_COMP_ZSTD, 0, 0, zeros, n, &clen, &e);

	free(zeros);
	ok(z && clen < n / 1000, "zstd squeezes %zu zero bytes to %zu", n, clen);
	w = ado_decompress_writer_new(ado_writer_new(&count_ops, &cnt, NULL), ADO_COMP_ZSTD, &e);
	ok(ado_writer_write(w, z, clen, &e) == 0 && ado_writer_close(w, &e) == 0, "the small input expands");
	is_int(cnt.total, n, "to every byte");
	ok(cnt.max_chunk <= ADO_IO_BUFSIZE, "in chunks of at most ADO_IO_BUFSIZE (largest %zu)", cnt.max_chunk);
	ado_writer_free(w);
	free(z);

	/* downstream failure while compressing: reported, then the stream is dead */
	{
		int frees = 0;
		unsigned char *d = make_data(3u << 20);

		w = ado_compress_writer_new(fail_new("full", 100000, 0, &frees), ADO_COMP_ZSTD, 0, 0, &e);
		is_int(ado_writer_write(w, d, 3u << 20, &e), -1, "compress passes a downstream error up");
		is_str(e.msg, "cannot write to 'full'", "... with its message");
		is_int(ado_writer_close(w, &e), -1, "close after that fails");
		is_str(e.msg, "'zstd' stream used after an earlier error", "... saying why");
		ado_writer_free(w);
		is_int(frees, 1, "the downstream is freed with the filter");
		free(d);
	}

	w = ado_compress_writer_new(NULL, ADO_COMP_GZIP, 10, 0, &e);
	ok(w == NULL, "gzip level 10 is refused");
	is_int(e.kind, ADO_E_CONFIG, "... as a configuration error");
	is_str(e.msg, "compression level 10 out of range for 'gzip'", "... naming level and codec");
	w = ado_compress_writer_new(NULL, ADO_COMP_ZSTD, 99, 0, &e);
	ok(w == NULL && e.kind == ADO_E_CONFIG, "zstd level 99 is refused");
	z = compress_buf(ADO_COMP_ZSTD, 19, 0, "abc", 3, &clen, &e);
	ok(z != NULL, "zstd level 19 is accepted");
	free(z);
	z = compress_buf(ADO_COMP_LZ4, 9, 0, "abc", 3, &clen, &e);
	ok(z != NULL, "lz4 level 9 (HC) is accepted");
	free(z);
}

static void test_tee(void)
{
	struct ado_writer *sinks[3], *tee;
	struct ado_err e;
	char *a, *b;
	size_t la, lb;
	int frees = 0;

	sinks[0] = ado_mem_writer_new(1 << 20, &e);
	sinks[1] = fail_new("dest2", 250, 0, &frees);
	sinks[2] = ado_mem_writer_new(1 << 20, &e);
	tee = ado_tee_new(sinks, 3, &e);
	ok(tee != NULL, "tee over three sinks");
	for (int i = 0; i < 10; i++)
		if (ado_writer_write(tee, "0123456789", 10, &e) < 0 || ado_writer_write(tee, "abcdefghijklmnopqrstuvwxyz", 26, &e) < 0)
			break;
	ok(ado_writer_close(tee, &e) == 0, "tee succeeds while one sink fails");
	is_int(ado_tee_status(tee, 0, &e), 0, "sink 0 succeeded");
	is_int(ado_tee_status(tee, 1, &e), -1, "sink 1 is reported failed");
	is_str(e.msg, "cannot write to 'dest2'", "... with its own error");
	is_int(e.sys_errno, ENOSPC, "... and errno");
	is_int(frees, 1, "the failed sink was freed once, at its failure");
	is_int(ado_tee_status(tee, 2, &e), 0, "sink 2 succeeded");
	is_int(ado_tee_status(tee, 3, &e), -1, "status of a sink that does not exist fails");
	is_int(e.kind, ADO_E_INTERNAL, "... as an internal error");
	a = ado_mem_writer_take(sinks[0], &la);
	b = ado_mem_writer_take(sinks[2], &lb);
	is_int(la, 360, "sink 0 got every byte");
	ok(lb == la && memcmp(a, b, la) == 0, "sink 2 got the same bytes");
	free(a);
	free(b);
	ado_writer_free(tee);
	is_int(frees, 1, "freeing the tee does not touch the failed sink again");

	/* every sink failing */
	frees = 0;
	sinks[0] = fail_new("one", 5, 0, &frees);
	sinks[1] = fail_new("two", 20, 0, &frees);
	tee = ado_tee_new(sinks, 2, &e);
	is_int(ado_writer_write(tee, "0123456789", 10, &e), 0, "tee write fine while one sink lives");
	is_int(ado_writer_write(tee, "0123456789abcdef", 16, &e), -1, "tee write fails once all sinks failed");
	is_str(e.msg, "cannot write to 'two'", "... with the last error");
	is_int(ado_writer_write(tee, "x", 1, &e), -1, "and keeps failing");
	is_int(ado_writer_close(tee, &e), -1, "tee close fails too");
	is_int(frees, 2, "both failed sinks freed");
	ado_writer_free(tee);
	is_int(frees, 2, "and not freed twice");

	/* a sink failing at close */
	frees = 0;
	sinks[0] = fail_new("ok", 100, 0, &frees);
	sinks[1] = fail_new("commit", 100, 1, &frees);
	tee = ado_tee_new(sinks, 2, &e);
	ok(ado_writer_write(tee, "abc", 3, &e) == 0 && ado_writer_close(tee, &e) == 0,
	   "tee close succeeds when one sink's close fails");
	is_int(ado_tee_status(tee, 1, &e), -1, "the sink failing at close is reported");
	is_str(e.msg, "cannot commit 'commit'", "... with its close error");
	is_int(e.kind, ADO_E_REMOTE, "... and kind");
	is_int(ado_tee_status(tee, 0, &e), 0, "the other one succeeded");
	ado_writer_free(tee);
	is_int(frees, 2, "every sink freed once");

	ok(ado_tee_new(sinks, 0, &e) == NULL && e.kind == ADO_E_INTERNAL, "a tee of zero sinks is refused");
	ok(ado_tee_status(NULL, 0, &e) == -1, "tee status of NULL fails");
}

static void test_thread(void)
{
	size_t total = quick ? (6u << 20) + 123 : (50u << 20) + 123, done = 0;
	size_t sizes[] = { 1, 17, 4096, 65536, 3u << 20, 1000 };
	unsigned char *src = make_data((3u << 20) + 65536);
	struct ado_digest want, got;
	struct ado_writer *direct, *th;
	struct ado_err e;
	int frees = 0, k = 0, rc;

	direct = ado_hash_writer_new(NULL, &want, &e);
	th = ado_thread_writer_new(ado_hash_writer_new(NULL, &got, &e), 3, &e);
	ok(th != NULL, "thread writer starts");
	while (done < total) {
		size_t n = sizes[k++ % 6];
		if (n > total - done)
			n = total - done;
		if (ado_writer_write(direct, src, n, &e) < 0 || ado_writer_write(th, src, n, &e) < 0)
			break;
		done += n;
	}
	is_int(done, total, "all %zu bytes written through the thread", total);
	ok(ado_writer_close(direct, &e) == 0, "direct hash closes");
	ok(ado_writer_close(th, &e) == 0, "thread writer drains and closes");
	is_str(got.sha256, want.sha256, "the thread passed the bytes in order");
	is_int(got.size, total, "... all of them");
	ado_writer_free(direct);
	ado_writer_free(th);

	/* downstream fails after 5 MiB: reported on a later write or close */
	th = ado_thread_writer_new(fail_new("slowdisk", 5u << 20, 0, &frees), 2, &e);
	/* the ring holds 2 MiB, so the producer blocks and sees the error
	 * long before 50 MiB whatever the scheduling */
	rc = 0;
	for (done = 0; done < (50u << 20) && rc == 0; done += 65536)
		rc = ado_writer_write(th, src, 65536, &e);
	is_int(rc, -1, "a downstream error reaches the producer's write");
	is_str(e.msg, "cannot write to 'slowdisk'", "... with its message");
	is_int(e.kind, ADO_E_IO, "... and kind");
	ok(done <= (8u << 20), "... within the ring's reach of the failure (%zu bytes in)", done);
	is_int(ado_writer_close(th, &e), -1, "close after the failed write reports it again");
	is_str(e.msg, "cannot write to 'slowdisk'", "... with the same message");
	is_int(ado_writer_close(th, &e), -1, "a second close does not turn the failure into success");
	is_int(e.kind, ADO_E_INTERNAL, "... (the base remembers the failed close)");
	ado_writer_free(th);
	is_int(frees, 1, "free after the failure joins and frees the downstream");

	/* close of next runs, and its failure is returned by close */
	frees = 0;
	th = ado_thread_writer_new(fail_new("commit", 1u << 30, 1, &frees), 0, &e);
	ok(ado_writer_write(th, "abc", 3, &e) == 0, "small write is buffered");
	is_int(ado_writer_close(th, &e), -1, "close returns next's close failure");
	is_str(e.msg, "cannot commit 'commit'", "... with its message");
	ado_writer_free(th);

	/* free without close: the consumer exits without closing next */
	frees = 0;
	{
		struct fail_state *fs;
		struct ado_writer *sink = fail_new("abandoned", 1u << 30, 0, &frees);

		fs = sink->state;
		th = ado_thread_writer_new(sink, 2, &e);
		for (int i = 0; i < 5; i++)
			ado_writer_write(th, src, 1u << 20, &e);
		is_int(fs->closes, 0, "next not closed before close");
		ado_writer_free(th);
		is_int(frees, 1, "free without close stops the thread and frees next");
	}
	free(src);
}

struct meter_seen {
	int redraws, erases, summaries;
	char last[1024];
};

static void meter_out(void *arg, const char *text)
{
	struct meter_seen *m = arg;

	if (strcmp(text, "\r\033[K") == 0)
		m->erases++;
	else if (text[0] == '\r')
		m->redraws++;
	else
		m->summaries++;
	snprintf(m->last, sizeof(m->last), "%s", text);
}

/* the progress meter: counts what passes, redraws at most every 250 ms, never wraps */
static void test_meter(void)
{
	struct meter_seen seen = { 0 };
	struct ado_err e;
	struct ado_meter *m = ado_meter_new(meter_out, &seen, 40, &e);
	struct ado_digest d;
	struct ado_writer *w = ado_hash_writer_new(NULL, &d, &e);
	char buf[4096] = { 0 };
	int ok_len = 1;

	ado_meter_begin(m, "job", "read", "stored", 4096 * 1000);
	ok(seen.redraws == 1, "the line is drawn once at the start");
	w = ado_meter_writer_new(w, m, ADO_METER_IN, &e);
	for (int i = 0; i < 1000; i++)
		ok_len &= ado_writer_write(w, buf, sizeof(buf), &e) == 0;
	ok(ok_len && seen.redraws <= 2, "1000 quick writes redraw at most once more (%d redraws)", seen.redraws);
	ok(strlen(seen.last) <= 40 + 3 && strstr(seen.last, "\033[K"), "the line fits the width and erases its tail");
	ado_meter_clear(m);
	ok(seen.erases == 1, "clear erases the line");
	ado_meter_clear(m);
	ok(seen.erases == 1, "a second clear prints nothing");
	ado_meter_end(m, 1);
	ok(seen.summaries == 1 && strstr(seen.last, "job: 3.9 MiB read, 0 B stored") && strchr(seen.last, '\n'),
	   "the summary: bytes and a newline (%s)", seen.last);
	ok(ado_writer_close(w, &e) == 0 && d.size == 4096 * 1000, "the meter passes every byte on");
	ado_writer_free(w);
	ado_meter_free(m);
	w = ado_null_writer_new(&e);
	ok(w && ado_meter_writer_new(w, NULL, ADO_METER_IN, &e) == w, "no meter: the next writer itself");
	ado_writer_free(w);
}

int main(void)
{
	const char *q = getenv("ADO_TEST_QUICK");

	quick = q && *q && strcmp(q, "0") != 0;
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_hash();
	for (size_t i = 0; i < sizeof(crc_cases) / sizeof(crc_cases[0]); i++)
		test_crc(&crc_cases[i]);
	test_meter();
	test_sinks();
	test_codecs();
	test_concat();
	test_blocks();
	test_block_filter();
	test_old_streams();
	test_bomb_and_levels();
	test_tee();
	test_thread();
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		run(cmd);
	}
	return done_testing();
}
