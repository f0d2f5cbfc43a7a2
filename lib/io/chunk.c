/* chunk.c - the shared chunks a tee hands its part-buffering sinks (io.h).
 *
 * A pool of equal-sized anonymous mappings. A chunk is taken with one
 * reference (the taker's); every holder drops its own; the last drop puts it
 * on the pool's free list, still mapped, so the next chunk costs no page
 * faults. The pool lives while its owner (the tee) or any chunk holds it:
 * sinks on other threads may drop their last chunk after the tee is gone.
 * References are counted under the pool's mutex: a drop happens once per
 * part sent, not per byte. */
#include "io/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

struct ado_chunk {
	struct ado_chunk_pool *pool;
	unsigned char *data;
	unsigned refs;
	struct ado_chunk *next_free;
};

struct ado_chunk_pool {
	pthread_mutex_t mu;
	size_t size;
	unsigned refs;		/* the owner's, and one per chunk taken out */
	struct ado_chunk *free_list;
	size_t mapped;		/* chunks mapped so far (for the tests) */
};

struct ado_chunk_pool *ado_chunk_pool_new(size_t size)
{
	struct ado_chunk_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	p->size = size;
	p->refs = 1;
	return p;
}

static void pool_destroy(struct ado_chunk_pool *p)
{
	while (p->free_list) {
		struct ado_chunk *c = p->free_list;
		p->free_list = c->next_free;
		munmap(c->data, p->size);
		free(c);
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* drop one of the pool's references (held by p->mu); 1 when it was the last */
static int pool_drop_locked(struct ado_chunk_pool *p)
{
	return --p->refs == 0;
}

void ado_chunk_pool_free(struct ado_chunk_pool *p)
{
	int last;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	last = pool_drop_locked(p);
	pthread_mutex_unlock(&p->mu);
	if (last)
		pool_destroy(p);
}

size_t ado_chunk_pool_mapped(struct ado_chunk_pool *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->mapped;
	pthread_mutex_unlock(&p->mu);
	return n;
}

struct ado_chunk *ado_chunk_get(struct ado_chunk_pool *p)
{
	struct ado_chunk *c;
	int fresh = 0;

	pthread_mutex_lock(&p->mu);
	if ((c = p->free_list))
		p->free_list = c->next_free;
	pthread_mutex_unlock(&p->mu);
	if (!c) {
		void *m = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		if (!(c = calloc(1, sizeof(*c)))) {
			munmap(m, p->size);
			return NULL;
		}
		c->pool = p;
		c->data = m;
		fresh = 1;
	}
	pthread_mutex_lock(&p->mu);
	p->mapped += fresh;
	c->refs = 1;
	c->next_free = NULL;
	p->refs++;
	pthread_mutex_unlock(&p->mu);
	return c;
}

unsigned char *ado_chunk_data(struct ado_chunk *c)
{
	return c->data;
}

void ado_chunk_ref(struct ado_chunk *c)
{
	pthread_mutex_lock(&c->pool->mu);
	c->refs++;
	pthread_mutex_unlock(&c->pool->mu);
}

void ado_chunk_unref(struct ado_chunk *c)
{
	struct ado_chunk_pool *p;
	int last = 0;

	if (!c)
		return;
	p = c->pool;
	pthread_mutex_lock(&p->mu);
	if (--c->refs == 0) {
		c->next_free = p->free_list;
		p->free_list = c;
		last = pool_drop_locked(p);
	}
	pthread_mutex_unlock(&p->mu);
	if (last)
		pool_destroy(p);
}
