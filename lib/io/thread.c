/* thread.c - run the downstream of a chain in its own thread.
 *
 * The producer copies writes into a ring of nbufs buffers (small writes are
 * coalesced until a buffer is full); a consumer thread pushes each full
 * buffer into next. So compression on one side and encryption or upload on
 * the other use both cores, and at most nbufs buffers are ever held.
 *
 * The ring: slots head .. head+count-1 are published and owned by the
 * consumer; slot tail (= head+count) is the one the producer fills. Only the
 * counters are shared, under the mutex; the bytes of a slot belong to one
 * side at a time, so memcpy and the downstream write run unlocked.
 *
 * Errors cross back one way: the consumer stores the first downstream error,
 * stops, and the producer reports it on its next write or close. */
#include "io/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBUFS_DEFAULT 4
#define NBUFS_MAX 64

struct slot {
	unsigned char *data;
	size_t len;
};

struct thread_state {
	pthread_mutex_t mu;
	pthread_cond_t ready;	/* consumer waits: a slot was published, or closing/abort */
	pthread_cond_t room;	/* producer waits: a slot was freed, or the consumer failed */
	struct slot *slots;
	int nslots, head, tail, count;
	int closing;		/* producer: no more data; drain, then close next */
	int abort;		/* free before close: stop now, close nothing */
	int failed;		/* consumer: err holds the downstream error */
	struct ado_err err;
	struct ado_writer *next;
	pthread_t tid;
	int started, joined;
	int sync_init;		/* mutex and conds initialised */
};

int ado_sync_init(pthread_mutex_t *mu, pthread_cond_t *a, pthread_cond_t *b)
{
	if (pthread_mutex_init(mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(a, NULL) != 0) {
		pthread_mutex_destroy(mu);
		return -1;
	}
	if (pthread_cond_init(b, NULL) != 0) {
		pthread_cond_destroy(a);
		pthread_mutex_destroy(mu);
		return -1;
	}
	return 0;
}

void ado_sync_destroy(pthread_mutex_t *mu, pthread_cond_t *a, pthread_cond_t *b)
{
	pthread_mutex_destroy(mu);
	pthread_cond_destroy(a);
	pthread_cond_destroy(b);
}

static void *consumer(void *arg)
{
	struct thread_state *st = arg;
	struct ado_err err;
	int rc;

	ado_err_clear(&err);
	pthread_mutex_lock(&st->mu);
	for (;;) {
		struct slot *s;

		while (st->count == 0 && !st->closing && !st->abort)
			pthread_cond_wait(&st->ready, &st->mu);
		if (st->abort || st->count == 0)
			break;	/* aborted, or closing and drained */
		s = &st->slots[st->head];
		pthread_mutex_unlock(&st->mu);
		rc = ado_writer_write(st->next, s->data, s->len, &err);
		pthread_mutex_lock(&st->mu);
		s->len = 0;
		st->head = (st->head + 1) % st->nslots;
		st->count--;
		if (rc < 0) {
			st->err = err;
			st->failed = 1;
			pthread_cond_broadcast(&st->room);
			goto out;
		}
		pthread_cond_signal(&st->room);
	}
	if (st->closing && !st->abort) {
		/* close next here: a storage writer's commit then runs on the
		 * same thread as its writes */
		pthread_mutex_unlock(&st->mu);
		rc = ado_writer_close(st->next, &err);
		pthread_mutex_lock(&st->mu);
		if (rc < 0) {
			st->err = err;
			st->failed = 1;
		}
	}
out:
	pthread_cond_broadcast(&st->room);
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* Wait until the producer's slot (tail) is free; -1 with e if the consumer failed. */
static int wait_room(struct thread_state *st, struct ado_err *e)
{
	pthread_mutex_lock(&st->mu);
	while (st->count == st->nslots && !st->failed)
		pthread_cond_wait(&st->room, &st->mu);
	if (st->failed) {
		if (e)
			*e = st->err;
		pthread_mutex_unlock(&st->mu);
		return -1;
	}
	pthread_mutex_unlock(&st->mu);
	return 0;
}

static void publish(struct thread_state *st)
{
	pthread_mutex_lock(&st->mu);
	st->count++;
	st->tail = (st->tail + 1) % st->nslots;
	pthread_cond_signal(&st->ready);
	pthread_mutex_unlock(&st->mu);
}

static int thread_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct thread_state *st = w->state;
	const unsigned char *p = buf;

	while (n > 0) {
		struct slot *s;

		if (wait_room(st, e) < 0)
			return -1;
		s = &st->slots[st->tail];
		if (ado_fill(s->data, &s->len, ADO_IO_BUFSIZE, &p, &n))
			publish(st);
	}
	/* report a failure as soon as it is known, not only when blocked */
	pthread_mutex_lock(&st->mu);
	if (st->failed) {
		if (e)
			*e = st->err;
		pthread_mutex_unlock(&st->mu);
		return -1;
	}
	pthread_mutex_unlock(&st->mu);
	return 0;
}

static void stop(struct thread_state *st, int abort)
{
	if (!st->started || st->joined)
		return;
	pthread_mutex_lock(&st->mu);
	if (abort)
		st->abort = 1;
	else
		st->closing = 1;
	pthread_cond_signal(&st->ready);
	pthread_mutex_unlock(&st->mu);
	pthread_join(st->tid, NULL);
	st->joined = 1;
}

static int thread_close(struct ado_writer *w, struct ado_err *e)
{
	struct thread_state *st = w->state;
	int failed;

	/* a partly filled slot at tail is free by construction (count was
	 * below nslots when filling began): wait_room() returns at once
	 * unless the consumer failed */
	if (st->slots[st->tail].len > 0 && wait_room(st, e) == 0)
		publish(st);
	pthread_mutex_lock(&st->mu);
	failed = st->failed;
	pthread_mutex_unlock(&st->mu);
	/* after a failure the consumer has stopped: do not close next */
	stop(st, failed);
	if (st->failed) {
		if (e)
			*e = st->err;
		return -1;
	}
	return 0;
}

static void state_free(struct thread_state *st)
{
	if (!st)
		return;
	/* never closed (or close failed): make the consumer exit without
	 * touching next, which ado_writer_free() frees after us */
	stop(st, 1);
	if (st->sync_init)
		ado_sync_destroy(&st->mu, &st->ready, &st->room);
	if (st->slots)
		for (int i = 0; i < st->nslots; i++)
			free(st->slots[i].data);
	free(st->slots);
	free(st);
}

static void thread_free(struct ado_writer *w)
{
	state_free(w->state);
}

static const struct ado_writer_ops thread_ops = {
	.name = "thread",
	.write = thread_write,
	.close = thread_close,
	.free = thread_free,
};

struct ado_writer *ado_thread_writer_new(struct ado_writer *next, int nbufs, struct ado_err *e)
{
	struct thread_state *st = calloc(1, sizeof(*st));
	struct ado_writer *w = NULL;
	int rc;

	if (!st)
		goto oom;
	if (nbufs <= 0)
		nbufs = NBUFS_DEFAULT;
	if (nbufs > NBUFS_MAX)
		nbufs = NBUFS_MAX;
	st->next = next;
	st->nslots = nbufs;
	st->slots = calloc((size_t)nbufs, sizeof(*st->slots));
	if (!st->slots)
		goto oom;
	for (int i = 0; i < nbufs; i++) {
		st->slots[i].data = malloc(ADO_IO_BUFSIZE);
		if (!st->slots[i].data)
			goto oom;
	}
	if (ado_sync_init(&st->mu, &st->ready, &st->room) < 0)
		goto oom;
	st->sync_init = 1;
	w = ado_writer_new(&thread_ops, st, next);
	if (!w)
		goto oom;
	rc = pthread_create(&st->tid, NULL, consumer, st);
	if (rc != 0) {
		ado_err_set(e, ADO_E_INTERNAL, rc, "cannot start the writer thread");
		goto fail;
	}
	st->started = 1;
	return w;
oom:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
fail:
	/* on failure next stays the caller's */
	free(w);
	state_free(st);
	return NULL;
}
