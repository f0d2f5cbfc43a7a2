/* compress.c - transform filters: gzip, lz4 (frame format) and zstd, in
 * both directions, producing and reading what gzip -d, lz4 -d and zstd -d
 * read and write. gzip (libdeflate) and lz4 compress as independent blocks
 * on worker threads (block.c); zstd brings its own workers.
 *
 * Output goes through one fixed buffer of ADO_IO_BUFSIZE that is pushed to
 * next each time it fills, so memory does not grow with the data; in the
 * decompressing direction this also bounds what a decompression bomb can
 * make us allocate. Each format carries a checksum (gzip's CRC-32, the lz4
 * and zstd content checksums, which we turn on), so a damaged artifact fails
 * instead of restoring wrong bytes. */
#include "io/io.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

#include "io/internal.h"

struct comp_state {
	enum ado_compression c;
	const char *name;
	unsigned char *out;
	size_t outpos;
	int ended;		/* decompression: the last frame/member was complete */
	int failed;		/* a codec error happened: the stream is unusable */
	z_stream z;
	int z_init;
	/* gzip decompression: whole members of ours go to libdeflate; the first
	 * member that is not (an old backup's, or damage) sends the rest to zlib */
	struct libdeflate_decompressor *dd;
	unsigned char *member;
	size_t memberlen, memberwant;
	int zlib_only;
	LZ4F_dctx *ld;
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
};

static int push(struct ado_writer *w, struct comp_state *st, struct ado_err *e)
{
	size_t n = st->outpos;

	if (n == 0)
		return 0;
	st->outpos = 0;
	if (ado_writer_write(w->next, st->out, n, e) < 0) {
		st->failed = 1;	/* those bytes are gone: the stream cannot go on */
		return -1;
	}
	return 0;
}

static int corrupt(struct comp_state *st, struct ado_err *e, const char *msg)
{
	st->failed = 1;
	ado_err_set(e, ADO_E_FORMAT, 0, "corrupt %s stream: %s", st->name, msg);
	return ado_err_hint(e, "the artifact is damaged: restore from another destination or an older backup");
}

static int failed_before(struct comp_state *st, struct ado_err *e)
{
	return ado_err_set(e, ADO_E_INTERNAL, 0, "'%s' stream used after an earlier error", st->name);
}

/* ---------------------------------------------------------------- compress */

static int zstd_check(struct comp_state *st, size_t r, struct ado_err *e)
{
	if (!ZSTD_isError(r))
		return 0;
	st->failed = 1;
	return ado_err_set(e, ADO_E_INTERNAL, 0, "cannot compress 'zstd' stream: %s", ZSTD_getErrorName(r));
}

static int zstd_compress(struct ado_writer *w, struct comp_state *st, const void *buf, size_t n,
			 ZSTD_EndDirective mode, struct ado_err *e)
{
	ZSTD_inBuffer in = { buf, n, 0 };

	for (;;) {
		ZSTD_outBuffer o = { st->out, ADO_IO_BUFSIZE, st->outpos };
		size_t r = ZSTD_compressStream2(st->zc, &o, &in, mode);

		st->outpos = o.pos;
		if (zstd_check(st, r, e) < 0)
			return -1;
		if (st->outpos == ADO_IO_BUFSIZE && push(w, st, e) < 0)
			return -1;
		/* e_end is done when nothing is left to flush (r == 0) */
		if (mode == ZSTD_e_end ? r == 0 : in.pos == in.size)
			return 0;
	}
}

/* comp_ops serve none and zstd; gzip and lz4 are block filters (block.c) */
static int comp_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct comp_state *st = w->state;

	if (st->failed)
		return failed_before(st, e);
	if (st->c == ADO_COMP_NONE)
		return ado_writer_write(w->next, buf, n, e);
	return zstd_compress(w, st, buf, n, ZSTD_e_continue, e);
}

static int comp_close(struct ado_writer *w, struct ado_err *e)
{
	struct comp_state *st = w->state;

	if (st->failed)
		return failed_before(st, e);
	if (st->c == ADO_COMP_ZSTD && zstd_compress(w, st, NULL, 0, ZSTD_e_end, e) < 0)
		return -1;
	if (push(w, st, e) < 0)
		return -1;
	return ado_writer_close(w->next, e);
}

static void state_free(struct comp_state *st, int decompress)
{
	if (!st)
		return;
	if (st->z_init)
		inflateEnd(&st->z);
	libdeflate_free_decompressor(st->dd);
	free(st->member);
	LZ4F_freeDecompressionContext(st->ld);
	ZSTD_freeCCtx(st->zc);
	ZSTD_freeDCtx(st->zd);
	free(st->out);
	free(st);
}

static void comp_free(struct ado_writer *w)
{
	state_free(w->state, 0);
}

static const struct ado_writer_ops comp_ops = {
	.name = "compress",
	.write = comp_write,
	.close = comp_close,
	.free = comp_free,
};

static const char *codec_name(enum ado_compression c)
{
	switch (c) {
	case ADO_COMP_NONE: return "none";
	case ADO_COMP_GZIP: return "gzip";
	case ADO_COMP_LZ4: return "lz4";
	case ADO_COMP_ZSTD: return "zstd";
	}
	return "unknown";
}

static int level_range(const char *name, int level, int lo, int hi, struct ado_err *e)
{
	if (level == 0 || (level >= lo && level <= hi))
		return 0;
	ado_err_set(e, ADO_E_CONFIG, 0, "compression level %d out of range for '%s'", level, name);
	return ado_err_hint(e, "use a level from %d to %d, or 0 for the default", lo, hi);
}

static int comp_init(struct comp_state *st, int level, int threads, struct ado_err *e)
{
	size_t r;

	switch (st->c) {
	case ADO_COMP_NONE:
		return 0;
	case ADO_COMP_GZIP:
	case ADO_COMP_LZ4:
		break;	/* block filters: see ado_compress_writer_new() */
	case ADO_COMP_ZSTD:
		if (level_range(st->name, level, ZSTD_minCLevel(), ZSTD_maxCLevel(), e) < 0)
			return -1;
		st->zc = ZSTD_createCCtx();
		if (!st->zc)
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		r = ZSTD_CCtx_setParameter(st->zc, ZSTD_c_compressionLevel, level ? level : ZSTD_CLEVEL_DEFAULT);
		if (!ZSTD_isError(r))
			r = ZSTD_CCtx_setParameter(st->zc, ZSTD_c_checksumFlag, 1);
		if (ZSTD_isError(r))
			return ado_err_set(e, ADO_E_INTERNAL, 0, "cannot start 'zstd' compression: %s",
					   ZSTD_getErrorName(r));
		if (threads > 0) {
			r = ZSTD_CCtx_setParameter(st->zc, ZSTD_c_nbWorkers, threads);
			if (ZSTD_isError(r)) {
				ado_err_set(e, ADO_E_UNSUPPORTED, 0, "cannot use %d 'zstd' threads: %s", threads,
					    ZSTD_getErrorName(r));
				return ado_err_hint(e, "this libzstd may lack multithreading: use 0 threads");
			}
			/* 2 MiB jobs keep peak memory near 40 MiB at 2 threads (the default,
			 * 4 x window, holds ~100 MiB in flight) at no cost in speed here */
			ZSTD_CCtx_setParameter(st->zc, ZSTD_c_jobSize, 2 << 20);
		}
		return 0;
	}
	return ado_err_set(e, ADO_E_INTERNAL, 0, "unknown compression %d", (int)st->c);
}

/* ------------------------------------------------------ block codecs (gzip, lz4) */

/* gzip: one member per block, deflated by libdeflate (about 2.5x zlib's
 * speed here at a smaller output). The header carries an extra field (RFC
 * 1952 FEXTRA, subfield 'AD') with the member's total length: gzip -d skips
 * it, and a reader may use it to take whole members. */
#define GZ_BLOCK (1024 * 1024)
#define GZ_HEAD 20
#define GZ_TAIL 8
_Static_assert(GZ_BLOCK <= ADO_IO_BUFSIZE, "a member decodes into one output buffer");
/* the largest member a reader takes whole: a stored 1 MiB block and then some */
#define GZ_MEMBER_MAX (GZ_HEAD + GZ_BLOCK + GZ_BLOCK / 16 + GZ_TAIL)
/* The default level. On bench/gen.py's tree, against pigz -6 -p2 (158.2 MB,
 * 9.5 CPU-s): libdeflate 4 writes 160.7 MB (1.016x) in 3.9 CPU-s for the
 * whole backup, 2.4x less; 6 writes 156.3 MB (0.988x) but takes 5.5 CPU-s,
 * short of twice pigz's speed on two cores. A level set in the config is
 * used as it is. */
#define GZ_LEVEL_DEFAULT 4

static const unsigned char gz_head[GZ_HEAD - 4] = {
	0x1f, 0x8b, 8, 4 /* FEXTRA */, 0, 0, 0, 0 /* no mtime */, 0, 255 /* OS unknown */,
	8, 0 /* XLEN */, 'A', 'D', 4, 0 /* subfield length */
};

static void put32le(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void *gz_new(int level)
{
	return libdeflate_alloc_compressor(level ? level : GZ_LEVEL_DEFAULT);
}

static void gz_free(void *ctx)
{
	libdeflate_free_compressor(ctx);
}

static size_t gz_bound(void *ctx, size_t n)
{
	return GZ_HEAD + libdeflate_deflate_compress_bound(ctx, n) + GZ_TAIL;
}

static size_t gz_compress(void *ctx, const void *in, size_t n, void *out, size_t cap)
{
	unsigned char *o = out;
	size_t d = libdeflate_deflate_compress(ctx, in, n, o + GZ_HEAD, cap - GZ_HEAD - GZ_TAIL);

	if (d == 0)
		return 0;
	memcpy(o, gz_head, sizeof(gz_head));
	put32le(o + sizeof(gz_head), (uint32_t)(GZ_HEAD + d + GZ_TAIL));
	put32le(o + GZ_HEAD + d, libdeflate_crc32(0, in, n));
	put32le(o + GZ_HEAD + d + 4, (uint32_t)n);
	return GZ_HEAD + d + GZ_TAIL;
}

const struct ado_block_codec ado_gzip_codec = {
	.name = "gzip", .block = GZ_BLOCK,
	.ctx_new = gz_new, .ctx_free = gz_free, .bound = gz_bound, .compress = gz_compress,
};

/* lz4: one frame per block, of one independent 1 MiB block with the content
 * checksum on (lz4 -d reads concatenated frames) */
#define LZ4_BLOCK (1024 * 1024)

struct lz4_ctx {
	LZ4F_cctx *c;
	LZ4F_preferences_t prefs;
};

static void lz4_free(void *ctx)
{
	struct lz4_ctx *l = ctx;

	if (l)
		LZ4F_freeCompressionContext(l->c);
	free(l);
}

static void *lz4_new(int level)
{
	struct lz4_ctx *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	if (LZ4F_isError(LZ4F_createCompressionContext(&l->c, LZ4F_VERSION))) {
		lz4_free(l);
		return NULL;
	}
	l->prefs.compressionLevel = level;
	l->prefs.frameInfo.blockSizeID = LZ4F_max1MB;
	l->prefs.frameInfo.blockMode = LZ4F_blockIndependent;
	l->prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	return l;
}

static size_t lz4_bound(void *ctx, size_t n)
{
	return LZ4F_compressFrameBound(n, &((struct lz4_ctx *)ctx)->prefs);
}

static size_t lz4_compress(void *ctx, const void *in, size_t n, void *out, size_t cap)
{
	struct lz4_ctx *l = ctx;
	unsigned char *o = out;
	size_t pos = 0, r;

	r = LZ4F_compressBegin(l->c, o, cap, &l->prefs);
	if (LZ4F_isError(r))
		return 0;
	pos += r;
	r = LZ4F_compressUpdate(l->c, o + pos, cap - pos, in, n, NULL);
	if (LZ4F_isError(r))
		return 0;
	pos += r;
	r = LZ4F_compressEnd(l->c, o + pos, cap - pos, NULL);
	return LZ4F_isError(r) ? 0 : pos + r;
}

const struct ado_block_codec ado_lz4_codec = {
	.name = "lz4", .block = LZ4_BLOCK,
	.ctx_new = lz4_new, .ctx_free = lz4_free, .bound = lz4_bound, .compress = lz4_compress,
};

/* -------------------------------------------------------------- decompress */

static int gzip_inflate_z(struct ado_writer *w, struct comp_state *st, const unsigned char *in, size_t n,
			  struct ado_err *e)
{
	while (n > 0) {
		uInt chunk = n > UINT_MAX / 2 ? UINT_MAX / 2 : (uInt)n;
		int rc;

		/* gzip -d reads concatenated members as one stream: so do we */
		if (st->ended) {
			inflateReset(&st->z);
			st->ended = 0;
		}
		st->z.next_in = (Bytef *)in;
		st->z.avail_in = chunk;
		st->z.next_out = st->out + st->outpos;
		st->z.avail_out = (uInt)(ADO_IO_BUFSIZE - st->outpos);
		rc = inflate(&st->z, Z_NO_FLUSH);
		st->outpos = ADO_IO_BUFSIZE - st->z.avail_out;
		if (chunk != st->z.avail_in)	/* in may be NULL (a flush): no arithmetic on it then */
			in += chunk - st->z.avail_in;
		n -= chunk - st->z.avail_in;
		switch (rc) {
		case Z_STREAM_END:
			st->ended = 1;
			break;
		case Z_OK:
			break;
		case Z_BUF_ERROR:
			/* no progress with room on both sides: cannot happen, but
			 * never spin on it */
			if (st->outpos < ADO_IO_BUFSIZE && chunk == st->z.avail_in)
				return corrupt(st, e, "no progress");
			break;
		case Z_MEM_ERROR:
			st->failed = 1;
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		default:
			return corrupt(st, e, st->z.msg ? st->z.msg : zError(rc));
		}
		if (st->outpos == ADO_IO_BUFSIZE && push(w, st, e) < 0)
			return -1;
	}
	return 0;
}

static uint32_t get32le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Decode the whole member in st->member: libdeflate, about 5x zlib's inflate here. */
static int gzip_member(struct ado_writer *w, struct comp_state *st, struct ado_err *e)
{
	const unsigned char *m = st->member;
	size_t len = st->memberlen, isize = get32le(m + len - 4), used_in, used_out;
	enum libdeflate_result r;

	if (isize > GZ_BLOCK)
		return corrupt(st, e, "member larger than its block");
	if (push(w, st, e) < 0)
		return -1;
	r = libdeflate_deflate_decompress_ex(st->dd, m + GZ_HEAD, len - GZ_HEAD - GZ_TAIL, st->out, isize,
					     &used_in, &used_out);
	if (r != LIBDEFLATE_SUCCESS || used_in != len - GZ_HEAD - GZ_TAIL || used_out != isize)
		return corrupt(st, e, "invalid deflate data");
	if (libdeflate_crc32(0, st->out, isize) != get32le(m + len - 8))
		return corrupt(st, e, "incorrect data check");
	st->outpos = isize;
	st->memberlen = st->memberwant = 0;
	st->ended = 1;
	return push(w, st, e);
}

static int gzip_inflate(struct ado_writer *w, struct comp_state *st, const unsigned char *in, size_t n,
			struct ado_err *e)
{
	while (n > 0 && !st->zlib_only) {
		st->ended = 0;
		if (!ado_fill(st->member, &st->memberlen, st->memberwant ? st->memberwant : GZ_HEAD, &in, &n))
			break;
		if (st->memberwant == 0) {
			size_t len = get32le(st->member + GZ_HEAD - 4);

			if (memcmp(st->member, gz_head, sizeof(gz_head)) != 0 || len <= GZ_HEAD + GZ_TAIL ||
			    len > GZ_MEMBER_MAX) {
				/* not one of our members: zlib reads it and all that follows */
				st->zlib_only = 1;
				if (gzip_inflate_z(w, st, st->member, st->memberlen, e) < 0)
					return -1;
				break;
			}
			st->memberwant = len;
		} else if (gzip_member(w, st, e) < 0) {
			return -1;
		}
	}
	return n > 0 ? gzip_inflate_z(w, st, in, n, e) : 0;
}

static int lz4_decompress(struct ado_writer *w, struct comp_state *st, const unsigned char *in, size_t n,
			  struct ado_err *e)
{
	for (;;) {
		size_t dsz = ADO_IO_BUFSIZE - st->outpos, ssz = n;
		size_t r = LZ4F_decompress(st->ld, st->out + st->outpos, &dsz, in, &ssz, NULL);

		if (LZ4F_isError(r))
			return corrupt(st, e, LZ4F_getErrorName(r));
		if (ssz)
			in += ssz;
		n -= ssz;
		st->outpos += dsz;
		/* r == 0: a frame was fully decoded and flushed; the next byte
		 * starts a new frame (concatenated frames are valid, anything
		 * else fails as an unknown frame) */
		if (ssz || dsz)
			st->ended = r == 0;
		if (st->outpos == ADO_IO_BUFSIZE) {
			if (push(w, st, e) < 0)
				return -1;
			continue;	/* the decoder may hold more output */
		}
		if (n == 0 || (ssz == 0 && dsz == 0))
			return 0;
	}
}

static int zstd_decompress(struct ado_writer *w, struct comp_state *st, const void *buf, size_t n,
			   struct ado_err *e)
{
	ZSTD_inBuffer in = { buf, n, 0 };

	for (;;) {
		ZSTD_outBuffer o = { st->out, ADO_IO_BUFSIZE, st->outpos };
		size_t before = in.pos, r = ZSTD_decompressStream(st->zd, &o, &in);

		if (ZSTD_isError(r))
			return corrupt(st, e, ZSTD_getErrorName(r));
		if (in.pos != before || o.pos != st->outpos)
			st->ended = r == 0;
		st->outpos = o.pos;
		if (st->outpos == ADO_IO_BUFSIZE) {
			if (push(w, st, e) < 0)
				return -1;
			continue;	/* the decoder may hold more output */
		}
		if (in.pos == in.size)
			return 0;
	}
}

static int dec_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct comp_state *st = w->state;

	if (st->failed)
		return failed_before(st, e);
	switch (st->c) {
	case ADO_COMP_NONE:
		return ado_writer_write(w->next, buf, n, e);
	case ADO_COMP_GZIP:
		return gzip_inflate(w, st, buf, n, e);
	case ADO_COMP_LZ4:
		return lz4_decompress(w, st, buf, n, e);
	case ADO_COMP_ZSTD:
		return zstd_decompress(w, st, buf, n, e);
	}
	return ado_err_set(e, ADO_E_INTERNAL, 0, "unknown compression %d", (int)st->c);
}

static int dec_close(struct ado_writer *w, struct ado_err *e)
{
	struct comp_state *st = w->state;

	if (st->failed)
		return failed_before(st, e);
	if (st->c != ADO_COMP_NONE && !st->ended) {
		st->failed = 1;
		ado_err_set(e, ADO_E_FORMAT, 0, "truncated %s stream", st->name);
		return ado_err_hint(e, "the artifact was cut short: compare its size with the manifest, "
				    "or restore from another destination");
	}
	if (push(w, st, e) < 0)
		return -1;
	return ado_writer_close(w->next, e);
}

static void dec_free(struct ado_writer *w)
{
	state_free(w->state, 1);
}

static const struct ado_writer_ops dec_ops = {
	.name = "decompress",
	.write = dec_write,
	.close = dec_close,
	.free = dec_free,
};

static int dec_init(struct comp_state *st, struct ado_err *e)
{
	size_t r;
	int rc;

	switch (st->c) {
	case ADO_COMP_NONE:
		return 0;
	case ADO_COMP_GZIP:
		rc = inflateInit2(&st->z, 15 + 16);
		if (rc != Z_OK)
			return ado_err_set(e, rc == Z_MEM_ERROR ? ADO_E_NOMEM : ADO_E_INTERNAL, 0,
					   "cannot start 'gzip' decompression: %s", zError(rc));
		st->z_init = 1;
		if (!(st->dd = libdeflate_alloc_decompressor()) || !(st->member = malloc(GZ_MEMBER_MAX)))
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return 0;
	case ADO_COMP_LZ4:
		r = LZ4F_createDecompressionContext(&st->ld, LZ4F_VERSION);
		if (LZ4F_isError(r))
			return ado_err_set(e, ADO_E_NOMEM, 0, "cannot start 'lz4' decompression: %s",
					   LZ4F_getErrorName(r));
		return 0;
	case ADO_COMP_ZSTD:
		/* the default window limit (128 MiB, ZSTD_d_windowLogMax 27)
		 * bounds the memory a hostile header can ask for */
		st->zd = ZSTD_createDCtx();
		if (!st->zd)
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return 0;
	}
	return ado_err_set(e, ADO_E_INTERNAL, 0, "unknown compression %d", (int)st->c);
}

/* ------------------------------------------------------------------ common */

static struct ado_writer *filter_new(struct ado_writer *next, enum ado_compression c, int decompress, int level,
				     int threads, struct ado_err *e)
{
	struct comp_state *st = calloc(1, sizeof(*st));
	struct ado_writer *w = NULL;

	if (!st) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	st->c = c;
	st->name = codec_name(c);
	if (c != ADO_COMP_NONE) {
		st->out = malloc(ADO_IO_BUFSIZE);
		if (!st->out) {
			ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			goto fail;
		}
	}
	if ((decompress ? dec_init(st, e) : comp_init(st, level, threads, e)) < 0)
		goto fail;
	w = ado_writer_new(decompress ? &dec_ops : &comp_ops, st, next);
	if (!w) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto fail;
	}
	return w;
fail:
	/* on failure next stays the caller's: free only our own state */
	state_free(st, decompress);
	return NULL;
}

struct ado_writer *ado_compress_writer_new(struct ado_writer *next, enum ado_compression c, int level,
					   int threads, struct ado_err *e)
{
	if (c == ADO_COMP_GZIP)
		return level_range("gzip", level, 1, 9, e) < 0 ? NULL
			: ado_block_writer_new(next, &ado_gzip_codec, level, threads, e);
	if (c == ADO_COMP_LZ4)
		return level_range("lz4", level, 1, LZ4F_compressionLevel_max(), e) < 0 ? NULL
			: ado_block_writer_new(next, &ado_lz4_codec, level, threads, e);
	return filter_new(next, c, 0, level, threads, e);
}

struct ado_writer *ado_decompress_writer_new(struct ado_writer *next, enum ado_compression c,
					     struct ado_err *e)
{
	return filter_new(next, c, 1, 0, 0, e);
}
