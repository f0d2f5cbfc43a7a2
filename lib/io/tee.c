/* tee.c - fan-out to several sinks (one per destination).
 *
 * One destination failing must not stop the others (pgBackRest's archive
 * push): the failing sink's error is kept, the sink is freed at once (which
 * aborts it, so it leaves nothing visible and releases its connection), and
 * the remaining sinks carry on. The tee itself fails only when none is left. */
#include "io/io.h"

#include <stdlib.h>
#include <string.h>

struct tee_state {
	struct ado_writer **sinks;	/* NULL once a sink failed and was freed */
	struct ado_err *errs;		/* errs[i] is kept for ado_tee_status() */
	size_t n, nfailed, last;	/* last: index of the latest failure */
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

static int tee_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct tee_state *st = w->state;

	for (size_t i = 0; i < st->n; i++) {
		if (!st->sinks[i])
			continue;
		if (ado_writer_write(st->sinks[i], buf, n, &st->errs[i]) < 0)
			sink_failed(st, i);
	}
	return all_failed(st, e);
}

static int tee_close(struct ado_writer *w, struct ado_err *e)
{
	struct tee_state *st = w->state;

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
	free(st->sinks);
	free(st->errs);
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
	if (!st->sinks || !st->errs)
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
