/* compress.c - transform filters: gzip (zlib), lz4 (frame format) and zstd,
 * in both directions, producing and reading what gzip -d, lz4 -d and zstd -d
 * read and write.
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

#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

/* input handed to lz4 per call: bounds what LZ4F_compressBound() asks of
 * the output buffer */
#define LZ4_CHUNK (64 * 1024)

struct comp_state {
	enum ado_compression c;
	const char *name;
	unsigned char *out;
	size_t outpos;
	int ended;		/* decompression: the last frame/member was complete */
	int failed;		/* a codec error happened: the stream is unusable */
	z_stream z;
	int z_init;
	LZ4F_cctx *lc;
	LZ4F_dctx *ld;
	LZ4F_preferences_t prefs;
	size_t lz4_bound;
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

static int gzip_deflate(struct ado_writer *w, struct comp_state *st, const unsigned char *in, size_t n,
			int flush, struct ado_err *e)
{
	for (;;) {
		uInt chunk = n > UINT_MAX / 2 ? UINT_MAX / 2 : (uInt)n;
		int rc;

		st->z.next_in = (Bytef *)in;
		st->z.avail_in = chunk;
		st->z.next_out = st->out + st->outpos;
		st->z.avail_out = (uInt)(ADO_IO_BUFSIZE - st->outpos);
		rc = deflate(&st->z, flush && chunk == n ? Z_FINISH : Z_NO_FLUSH);
		st->outpos = ADO_IO_BUFSIZE - st->z.avail_out;
		if (chunk != st->z.avail_in)	/* in may be NULL (a flush): no arithmetic on it then */
			in += chunk - st->z.avail_in;
		n -= chunk - st->z.avail_in;
		if (rc == Z_STREAM_ERROR) {
			st->failed = 1;
			return ado_err_set(e, ADO_E_INTERNAL, 0, "cannot compress 'gzip' stream: %s",
					   st->z.msg ? st->z.msg : zError(rc));
		}
		if (st->outpos == ADO_IO_BUFSIZE && push(w, st, e) < 0)
			return -1;
		if (flush ? rc == Z_STREAM_END : n == 0)
			return 0;
	}
}

static int lz4_check(struct comp_state *st, size_t r, struct ado_err *e)
{
	if (!LZ4F_isError(r))
		return 0;
	st->failed = 1;
	return ado_err_set(e, ADO_E_INTERNAL, 0, "cannot compress 'lz4' stream: %s", LZ4F_getErrorName(r));
}

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

static int comp_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct comp_state *st = w->state;
	const unsigned char *p = buf;

	if (st->failed)
		return failed_before(st, e);
	switch (st->c) {
	case ADO_COMP_NONE:
		return ado_writer_write(w->next, buf, n, e);
	case ADO_COMP_GZIP:
		return gzip_deflate(w, st, p, n, 0, e);
	case ADO_COMP_LZ4:
		while (n > 0) {
			size_t chunk = n < LZ4_CHUNK ? n : LZ4_CHUNK, r;

			if (ADO_IO_BUFSIZE - st->outpos < st->lz4_bound && push(w, st, e) < 0)
				return -1;
			r = LZ4F_compressUpdate(st->lc, st->out + st->outpos, ADO_IO_BUFSIZE - st->outpos,
						p, chunk, NULL);
			if (lz4_check(st, r, e) < 0)
				return -1;
			st->outpos += r;
			p += chunk;
			n -= chunk;
		}
		return 0;
	case ADO_COMP_ZSTD:
		return zstd_compress(w, st, buf, n, ZSTD_e_continue, e);
	}
	return ado_err_set(e, ADO_E_INTERNAL, 0, "unknown compression %d", (int)st->c);
}

static int comp_close(struct ado_writer *w, struct ado_err *e)
{
	struct comp_state *st = w->state;
	size_t r;

	if (st->failed)
		return failed_before(st, e);
	switch (st->c) {
	case ADO_COMP_NONE:
		break;
	case ADO_COMP_GZIP:
		if (gzip_deflate(w, st, NULL, 0, 1, e) < 0)
			return -1;
		break;
	case ADO_COMP_LZ4:
		if (ADO_IO_BUFSIZE - st->outpos < st->lz4_bound && push(w, st, e) < 0)
			return -1;
		r = LZ4F_compressEnd(st->lc, st->out + st->outpos, ADO_IO_BUFSIZE - st->outpos, NULL);
		if (lz4_check(st, r, e) < 0)
			return -1;
		st->outpos += r;
		break;
	case ADO_COMP_ZSTD:
		if (zstd_compress(w, st, NULL, 0, ZSTD_e_end, e) < 0)
			return -1;
		break;
	}
	if (push(w, st, e) < 0)
		return -1;
	return ado_writer_close(w->next, e);
}

static void state_free(struct comp_state *st, int decompress)
{
	if (!st)
		return;
	if (st->z_init)
		(decompress ? inflateEnd : deflateEnd)(&st->z);
	LZ4F_freeCompressionContext(st->lc);
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

static int level_range(struct comp_state *st, int level, int lo, int hi, struct ado_err *e)
{
	if (level == 0 || (level >= lo && level <= hi))
		return 0;
	ado_err_set(e, ADO_E_CONFIG, 0, "compression level %d out of range for '%s'", level, st->name);
	return ado_err_hint(e, "use a level from %d to %d, or 0 for the default", lo, hi);
}

static int comp_init(struct comp_state *st, int level, int threads, struct ado_err *e)
{
	size_t r;
	int rc;

	switch (st->c) {
	case ADO_COMP_NONE:
		return 0;
	case ADO_COMP_GZIP:
		if (level_range(st, level, 1, 9, e) < 0)
			return -1;
		/* windowBits 15 + 16: a gzip header and trailer, not raw zlib */
		rc = deflateInit2(&st->z, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
				  Z_DEFAULT_STRATEGY);
		if (rc != Z_OK)
			return ado_err_set(e, rc == Z_MEM_ERROR ? ADO_E_NOMEM : ADO_E_INTERNAL, 0,
					   "cannot start 'gzip' compression: %s", zError(rc));
		st->z_init = 1;
		return 0;
	case ADO_COMP_LZ4:
		if (level_range(st, level, 1, LZ4F_compressionLevel_max(), e) < 0)
			return -1;
		r = LZ4F_createCompressionContext(&st->lc, LZ4F_VERSION);
		if (LZ4F_isError(r))
			return ado_err_set(e, ADO_E_NOMEM, 0, "cannot start 'lz4' compression: %s",
					   LZ4F_getErrorName(r));
		st->prefs.compressionLevel = level;
		st->prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
		st->lz4_bound = LZ4F_compressBound(LZ4_CHUNK, &st->prefs);
		r = LZ4F_compressBegin(st->lc, st->out, ADO_IO_BUFSIZE, &st->prefs);
		if (LZ4F_isError(r))
			return ado_err_set(e, ADO_E_INTERNAL, 0, "cannot start 'lz4' compression: %s",
					   LZ4F_getErrorName(r));
		st->outpos = r;
		return 0;
	case ADO_COMP_ZSTD:
		if (level_range(st, level, ZSTD_minCLevel(), ZSTD_maxCLevel(), e) < 0)
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

/* -------------------------------------------------------------- decompress */

static int gzip_inflate(struct ado_writer *w, struct comp_state *st, const unsigned char *in, size_t n,
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
	return filter_new(next, c, 0, level, threads, e);
}

struct ado_writer *ado_decompress_writer_new(struct ado_writer *next, enum ado_compression c,
					     struct ado_err *e)
{
	return filter_new(next, c, 1, 0, 0, e);
}
