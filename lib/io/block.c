/* block.c - the parallel block filter: compress fixed-size blocks of the
 * stream on worker threads and write them out in order.
 *
 * A ring of njobs = workers + 2 jobs, each an input and an output buffer.
 * The producer (the caller of write) fills the job at (head + count) and
 * queues it; workers take queued jobs in ring order and compress them
 * unlocked; the producer writes the oldest job out (in its own thread, so
 * next sees one writer) once it is done and its slot is needed again, or at
 * close. A job's buffers belong to one side at a time: the producer while
 * filling and writing it out, a worker from taking it until it is done.
 * Only the counters and flags are shared, under the mutex.
 *
 * Why workers + 2: every worker busy, one job filling, one done and waiting
 * to be written; more would only hold memory. */
#include "io/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct job {
	unsigned char *in, *out;
	size_t inlen, outlen;
	int done;		/* a worker finished it (outlen 0: it failed) */
};

struct block_state {
	const struct ado_block_codec *codec;
	struct job *jobs;
	int njobs, head, count;	/* jobs head .. head+count-1 are queued, busy or done */
	int todo, ntodo;	/* the next job a worker takes, and how many wait */
	size_t bound;
	void **ctx;		/* one per worker (one when workers == 0) */
	int nworkers, nstarted;
	pthread_t *tids;
	pthread_mutex_t mu;
	pthread_cond_t work;	/* workers wait: a job was queued, or stop */
	pthread_cond_t done;	/* the producer waits: a job is done */
	int sync_init, stop;
	int units;		/* units written (or queued): close writes one for an empty stream */
	int failed;
	struct ado_writer *next;
};

struct worker_arg {
	struct block_state *st;
	void *ctx;
};

static void compress_job(struct block_state *st, void *ctx, struct job *j)
{
	j->outlen = st->codec->compress(ctx, j->in, j->inlen, j->out, st->bound);
}

static void *worker(void *arg)
{
	struct block_state *st = ((struct worker_arg *)arg)->st;
	void *ctx = ((struct worker_arg *)arg)->ctx;

	free(arg);
	pthread_mutex_lock(&st->mu);
	for (;;) {
		struct job *j;

		while (st->ntodo == 0 && !st->stop)
			pthread_cond_wait(&st->work, &st->mu);
		if (st->stop)
			break;
		j = &st->jobs[st->todo];
		st->todo = (st->todo + 1) % st->njobs;
		st->ntodo--;
		pthread_mutex_unlock(&st->mu);
		compress_job(st, ctx, j);
		pthread_mutex_lock(&st->mu);
		j->done = 1;
		pthread_cond_signal(&st->done);
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* Write the oldest job out, waiting for it if it is still being compressed. */
static int write_head(struct block_state *st, struct ado_err *e)
{
	struct job *j = &st->jobs[st->head];

	pthread_mutex_lock(&st->mu);
	while (!j->done)
		pthread_cond_wait(&st->done, &st->mu);
	pthread_mutex_unlock(&st->mu);
	if (j->outlen == 0) {
		st->failed = 1;
		return ado_err_set(e, ADO_E_INTERNAL, 0, "cannot compress '%s' stream", st->codec->name);
	}
	if (ado_writer_write(st->next, j->out, j->outlen, e) < 0) {
		st->failed = 1;	/* those bytes are gone: the stream cannot go on */
		return -1;
	}
	j->inlen = j->outlen = 0;
	j->done = 0;
	st->head = (st->head + 1) % st->njobs;
	st->count--;
	return 0;
}

/* Queue the job being filled; make room for the next one. */
static int submit(struct block_state *st, struct ado_err *e)
{
	struct job *j = &st->jobs[(st->head + st->count) % st->njobs];

	st->units++;
	st->count++;
	if (st->nworkers == 0) {
		compress_job(st, st->ctx[0], j);
		j->done = 1;
		return write_head(st, e);
	}
	pthread_mutex_lock(&st->mu);
	st->ntodo++;
	pthread_cond_signal(&st->work);
	pthread_mutex_unlock(&st->mu);
	return st->count == st->njobs ? write_head(st, e) : 0;
}

static int failed_before(struct block_state *st, struct ado_err *e)
{
	return ado_err_set(e, ADO_E_INTERNAL, 0, "'%s' stream used after an earlier error", st->codec->name);
}

static int block_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct block_state *st = w->state;
	const unsigned char *p = buf;

	if (st->failed)
		return failed_before(st, e);
	while (n > 0) {
		struct job *j = &st->jobs[(st->head + st->count) % st->njobs];

		if (ado_fill(j->in, &j->inlen, st->codec->block, &p, &n) && submit(st, e) < 0)
			return -1;
	}
	return 0;
}

static int block_close(struct ado_writer *w, struct ado_err *e)
{
	struct block_state *st = w->state;

	if (st->failed)
		return failed_before(st, e);
	if ((st->jobs[(st->head + st->count) % st->njobs].inlen > 0 || st->units == 0) && submit(st, e) < 0)
		return -1;
	while (st->count > 0)
		if (write_head(st, e) < 0)
			return -1;
	return ado_writer_close(st->next, e);
}

static void state_free(struct block_state *st)
{
	if (!st)
		return;
	if (st->nstarted > 0) {
		pthread_mutex_lock(&st->mu);
		st->stop = 1;
		pthread_cond_broadcast(&st->work);
		pthread_mutex_unlock(&st->mu);
		for (int i = 0; i < st->nstarted; i++)
			pthread_join(st->tids[i], NULL);
	}
	if (st->sync_init)
		ado_sync_destroy(&st->mu, &st->work, &st->done);
	if (st->ctx)
		for (int i = 0; i < (st->nworkers ? st->nworkers : 1); i++)
			if (st->ctx[i])
				st->codec->ctx_free(st->ctx[i]);
	if (st->jobs)
		for (int i = 0; i < st->njobs; i++) {
			free(st->jobs[i].in);
			free(st->jobs[i].out);
		}
	free(st->jobs);
	free(st->ctx);
	free(st->tids);
	free(st);
}

static void block_free(struct ado_writer *w)
{
	state_free(w->state);
}

static const struct ado_writer_ops block_ops = {
	.name = "compress",
	.write = block_write,
	.close = block_close,
	.free = block_free,
};

struct ado_writer *ado_block_writer_new(struct ado_writer *next, const struct ado_block_codec *codec, int level,
					int workers, struct ado_err *e)
{
	struct block_state *st = calloc(1, sizeof(*st));
	struct ado_writer *w = NULL;
	int nctx = workers > 0 ? workers : 1, rc;

	if (!st)
		goto oom;
	st->codec = codec;
	st->next = next;
	st->nworkers = workers > 0 ? workers : 0;
	st->njobs = st->nworkers + 2;
	if (!(st->ctx = calloc((size_t)nctx, sizeof(*st->ctx))) ||
	    !(st->tids = calloc((size_t)nctx, sizeof(*st->tids))) ||
	    !(st->jobs = calloc((size_t)st->njobs, sizeof(*st->jobs))))
		goto oom;
	for (int i = 0; i < nctx; i++)
		if (!(st->ctx[i] = codec->ctx_new(level)))
			goto oom;
	st->bound = codec->bound(st->ctx[0], codec->block);
	for (int i = 0; i < st->njobs; i++)
		if (!(st->jobs[i].in = malloc(codec->block)) || !(st->jobs[i].out = malloc(st->bound)))
			goto oom;
	if (ado_sync_init(&st->mu, &st->work, &st->done) < 0)
		goto oom;
	st->sync_init = 1;
	for (int i = 0; i < st->nworkers; i++) {
		struct worker_arg *a = malloc(sizeof(*a));

		if (!a)
			goto oom;
		a->st = st;
		a->ctx = st->ctx[i];
		rc = pthread_create(&st->tids[i], NULL, worker, a);
		if (rc != 0) {
			free(a);
			ado_err_set(e, ADO_E_INTERNAL, rc, "cannot start a '%s' compression thread", codec->name);
			goto fail;
		}
		st->nstarted++;
	}
	if (!(w = ado_writer_new(&block_ops, st, next)))
		goto oom;
	return w;
oom:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
fail:
	/* on failure next stays the caller's */
	state_free(st);
	return NULL;
}
