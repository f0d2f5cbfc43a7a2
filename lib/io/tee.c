/* tee.c - fan-out to several sinks (one per destination).
 *
 * One destination failing must not stop the others (pgBackRest's archive
 * push): the failing sink's error is kept, the sink is freed at once (which
 * aborts it, so it leaves nothing visible and releases its connection), and
 * the remaining sinks carry on. The tee itself fails only when none is left.
 *
 * Two or more sinks that buffer whole parts (chunk_unit: the remote
 * uploaders) share their buffers: the tee copies the bytes once, into a chunk
 * the size of the largest part, and hands each of them a reference instead of
 * the bytes. A sink shares when its part size divides the chunk's (S3's 16
 * MiB and Azure's 8 MiB by default), so no part straddles two chunks. Each
 * sink hands a part to its uploader as soon as it is full, after the previous
 * part was sent, so about two chunks are alive however many remotes there
 * are, where each remote held two parts of its own. */
#include "io/internal.h"

#include <stdlib.h>
#include <string.h>

struct tee_state {
	struct ado_writer **sinks;	/* NULL once a sink failed and was freed */
	struct ado_err *errs;		/* errs[i] is kept for ado_tee_status() */
	size_t n, nfailed, last;	/* last: index of the latest failure */
	/* shared chunks, decided at the first write */
	int decided;
	unsigned char *shares;		/* shares[i]: sink i takes chunk references */
	size_t unit;			/* chunk size; 0: no sharing */
	struct ado_chunk_pool *pool;
	struct ado_chunk *cur;		/* the chunk being filled, with the tee's reference */
	size_t cur_len;
};

static void sink_failed(struct tee_state *st, size_t i)
{
	ado_writer_free(st->sinks[i]);
	st->sinks[i] = NULL;
	st->nfailed++;
	st->last = i;
}

/* -1 with the latest failure copied into e once every sink has failed. */
static int all_failed(struct tee_state *st, struct ado_err *e)
{
	if (st->nfailed < st->n)
		return 0;
	if (e)
		*e = st->errs[st->last];
	return -1;
}

static size_t unit_of(struct ado_writer *s)
{
	return s && s->ops->chunk_unit && s->ops->write_chunk ? s->ops->chunk_unit(s) : 0;
}

/* Which sinks share chunks, and their size: the largest part size among the
 * sinks that can, kept by those whose part size divides it, if two or more. */
static int decide(struct tee_state *st, struct ado_err *e)
{
	size_t unit = 0, nshare = 0;

	st->decided = 1;
	for (size_t i = 0; i < st->n; i++)
		if (unit_of(st->sinks[i]) > unit)
			unit = unit_of(st->sinks[i]);
	for (size_t i = 0; i < st->n; i++) {
		size_t u = unit_of(st->sinks[i]);
		st->shares[i] = u && unit % u == 0;
		nshare += st->shares[i];
	}
	if (nshare < 2) {
		memset(st->shares, 0, st->n);
		return 0;
	}
	if (!(st->pool = ado_chunk_pool_new(unit)))
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	st->unit = unit;
	return 0;
}

static void write_plain(struct tee_state *st, const void *buf, size_t n)
{
	for (size_t i = 0; i < st->n; i++) {
		if (!st->sinks[i] || st->shares[i])
			continue;
		if (ado_writer_write(st->sinks[i], buf, n, &st->errs[i]) < 0)
			sink_failed(st, i);
	}
}

/* Copy into the current chunk, then hand the sharing sinks its new bytes and
 * the others the same bytes, a chunk's worth at most at a time. */
static int write_shared(struct tee_state *st, const unsigned char *p, size_t n, struct ado_err *e)
{
	while (n > 0) {
		size_t k;
		if (st->cur && st->cur_len == st->unit) {
			ado_chunk_unref(st->cur);
			st->cur = NULL;
		}
		if (!st->cur) {
			if (!(st->cur = ado_chunk_get(st->pool)))
				return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory for an upload part");
			st->cur_len = 0;
		}
		k = st->unit - st->cur_len < n ? st->unit - st->cur_len : n;
		memcpy(ado_chunk_data(st->cur) + st->cur_len, p, k);
		for (size_t i = 0; i < st->n; i++) {
			if (!st->sinks[i] || !st->shares[i])
				continue;
			if (ado_writer_write_chunk(st->sinks[i], st->cur, st->cur_len, k, &st->errs[i]) < 0)
				sink_failed(st, i);
		}
		write_plain(st, p, k);
		st->cur_len += k;
		p += k;
		n -= k;
	}
	return 0;
}

static int tee_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct tee_state *st = w->state;

	if (!st->decided && decide(st, e) < 0)
		return -1;
	if (st->unit) {
		if (write_shared(st, buf, n, e) < 0)
			return -1;
	} else {
		write_plain(st, buf, n);
	}
	return all_failed(st, e);
}

static int tee_close(struct ado_writer *w, struct ado_err *e)
{
	struct tee_state *st = w->state;

	ado_chunk_unref(st->cur);	/* the sinks hold what they still need */
	st->cur = NULL;
	for (size_t i = 0; i < st->n; i++) {
		if (!st->sinks[i])
			continue;
		if (ado_writer_close(st->sinks[i], &st->errs[i]) < 0)
			sink_failed(st, i);
	}
	return all_failed(st, e);
}

static void tee_free(struct ado_writer *w)
{
	struct tee_state *st = w->state;

	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		ado_writer_free(st->sinks[i]);
	ado_chunk_unref(st->cur);
	ado_chunk_pool_free(st->pool);
	free(st->sinks);
	free(st->errs);
	free(st->shares);
	free(st);
}

static const struct ado_writer_ops tee_ops = {
	.name = "tee",
	.write = tee_write,
	.close = tee_close,
	.free = tee_free,
};

struct ado_writer *ado_tee_new(struct ado_writer **sinks, size_t n, struct ado_err *e)
{
	struct tee_state *st = NULL;
	struct ado_writer *w;

	if (n == 0) {
		ado_err_set(e, ADO_E_INTERNAL, 0, "cannot fan out to zero destinations");
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		goto oom;
	st->sinks = calloc(n, sizeof(*st->sinks));
	st->errs = calloc(n, sizeof(*st->errs));
	st->shares = calloc(n, 1);
	if (!st->sinks || !st->errs || !st->shares)
		goto oom;
	/* the caller's array may be on its stack: keep a copy */
	memcpy(st->sinks, sinks, n * sizeof(*sinks));
	st->n = n;
	w = ado_writer_new(&tee_ops, st, NULL);
	if (!w)
		goto oom;
	return w;
oom:
	/* on failure the sinks stay the caller's */
	if (st) {
		free(st->sinks);
		free(st->errs);
		free(st->shares);
	}
	free(st);
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	return NULL;
}

int ado_tee_status(struct ado_writer *tee, size_t i, struct ado_err *e)
{
	struct tee_state *st;

	if (!tee || tee->ops != &tee_ops)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "status asked of a writer that is not a tee");
	st = tee->state;
	if (i >= st->n)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "no destination %zu in a tee of %zu", i, st->n);
	if (st->sinks[i])
		return 0;
	if (e)
		*e = st->errs[i];
	return -1;
}

size_t ado_tee_chunks(struct ado_writer *tee)
{
	struct tee_state *st = tee && tee->ops == &tee_ops ? tee->state : NULL;

	return st && st->pool ? ado_chunk_pool_mapped(st->pool) : 0;
}
