/* internal.h - private to lib/io: the mutex and conditions of a threaded
 * filter, the parallel block filter and the codecs that plug into it.
 *
 * A block codec compresses one whole block of input into one self-contained
 * unit of its format (a gzip member, an lz4 frame), so that the units,
 * written one after the other, form a stream the format's own tool reads
 * (gzip -d reads concatenated members, lz4 -d concatenated frames). Blocks
 * then compress independently, on as many worker threads as configured. */
#ifndef ADO_IO_INTERNAL_H
#define ADO_IO_INTERNAL_H

#include <pthread.h>
#include <string.h>

#include "io/io.h"

/* Copy into buf, which holds *len of its cap bytes, as much of the *n bytes
 * at *p as fits; advance *p, *n and *len. 1 when buf is then full. */
static inline int ado_fill(unsigned char *buf, size_t *len, size_t cap, const unsigned char **p, size_t *n)
{
	size_t k = cap - *len < *n ? cap - *len : *n;

	memcpy(buf + *len, *p, k);
	*len += k;
	*p += k;
	*n -= k;
	return *len == cap;
}

/* The pool behind shared chunks (chunk.c): chunks of one size, reused. The
 * pool lives until its owner freed it and every chunk was dropped. */
struct ado_chunk_pool;
struct ado_chunk_pool *ado_chunk_pool_new(size_t size);
void ado_chunk_pool_free(struct ado_chunk_pool *p);	/* the owner's reference; accepts NULL */
struct ado_chunk *ado_chunk_get(struct ado_chunk_pool *p);	/* with one reference, the caller's; NULL: no memory */
size_t ado_chunk_pool_mapped(struct ado_chunk_pool *p);	/* chunks mapped so far */

/* Initialise a mutex and two conditions: all three, or none (-1). */
int ado_sync_init(pthread_mutex_t *mu, pthread_cond_t *a, pthread_cond_t *b);
void ado_sync_destroy(pthread_mutex_t *mu, pthread_cond_t *a, pthread_cond_t *b);

struct ado_block_codec {
	const char *name;
	size_t block;		/* input bytes per block */
	/* one context per worker; NULL on out of memory */
	void *(*ctx_new)(int level);
	void (*ctx_free)(void *ctx);
	/* most bytes compress() may write for n bytes of input */
	size_t (*bound)(void *ctx, size_t n);
	/* compress in[0..n) into out (cap >= bound(n)); its size, 0 on failure */
	size_t (*compress)(void *ctx, const void *in, size_t n, void *out, size_t cap);
};

/* The filter: cuts the input into codec->block bytes, compresses the blocks
 * on `workers` threads (0: in the caller's thread) and writes their output
 * to next in input order. At most workers + 2 blocks are held (input and
 * output buffers each), so memory is bounded by the configuration. An
 * empty input still writes one (empty) unit: a valid stream. Owns next
 * once it returns non-NULL; NULL with e filled otherwise. */
struct ado_writer *ado_block_writer_new(struct ado_writer *next, const struct ado_block_codec *codec, int level,
					int workers, struct ado_err *e);

extern const struct ado_block_codec ado_gzip_codec, ado_lz4_codec;

#endif
