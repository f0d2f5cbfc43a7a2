/* download.c - the prefetching ranged reader every remote driver uses (remote.h).
 *
 * Chunk k is consumed by the caller while chunk k+1 is fetched by a thread
 * started for it; the caller joins that thread only when it needs the bytes.
 * Each ranged GET is retried on its own by the request layer, so a dropped
 * connection costs one chunk, not the whole object. */
#include "store/remote.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct chunk {
	unsigned char *buf;
	size_t len, pos;
	uint64_t off;
	int rc;
	struct ado_err err;
};

struct download {
	const struct ado_download_ops *ops;
	void *drv;
	size_t chunk_size;
	uint64_t total;		/* object size, from the first answer */
	uint64_t next_off;	/* first byte not yet requested */
	struct chunk cur, ahead;
	pthread_t tid;
	int fetching;		/* a thread is filling `ahead` */
};

static int fetch(struct download *d, struct chunk *c, uint64_t off, struct ado_err *e)
{
	uint64_t total = d->total;

	c->off = off;
	c->len = c->pos = 0;
	if (d->ops->get(d->drv, off, d->chunk_size, c->buf, &c->len, &total, e) < 0)
		return -1;
	d->total = total;
	return 0;
}

static void *fetch_thread(void *arg)
{
	struct download *d = arg;

	ado_err_clear(&d->ahead.err);
	d->ahead.rc = fetch(d, &d->ahead, d->ahead.off, &d->ahead.err);
	return NULL;
}

static void prefetch(struct download *d)
{
	if (d->next_off >= d->total || d->fetching)
		return;
	d->ahead.off = d->next_off;
	d->next_off += d->chunk_size;
	if (pthread_create(&d->tid, NULL, fetch_thread, d) == 0) {
		d->fetching = 1;
	} else {
		/* no thread: fetch inline when needed */
		d->next_off = d->ahead.off;
	}
}

static int dl_read(struct ado_reader *r, void *buf, size_t n, size_t *got, struct ado_err *e)
{
	struct download *d = r->state;
	size_t k;

	while (d->cur.pos == d->cur.len) {
		struct chunk t;
		if (!d->fetching) {
			if (d->next_off >= d->total)
				return 0;	/* end of the object */
			if (fetch(d, &d->cur, d->next_off, e) < 0)
				return -1;
			d->next_off += d->chunk_size;
		} else {
			pthread_join(d->tid, NULL);
			d->fetching = 0;
			if (d->ahead.rc < 0) {
				if (e)
					*e = d->ahead.err;
				return -1;
			}
			t = d->cur;
			d->cur = d->ahead;
			d->ahead = t;
		}
		if (d->cur.len == 0)
			return 0;
		prefetch(d);
	}
	k = d->cur.len - d->cur.pos;
	if (k > n)
		k = n;
	memcpy(buf, d->cur.buf + d->cur.pos, k);
	d->cur.pos += k;
	*got = k;
	return 0;
}

static void dl_free(struct ado_reader *r)
{
	struct download *d = r->state;

	if (!d)
		return;
	if (d->fetching)
		pthread_join(d->tid, NULL);
	d->ops->free(d->drv);
	free(d->cur.buf);
	free(d->ahead.buf);
	free(d);
}

static const struct ado_reader_ops download_ops = { "download", dl_read, dl_free };

struct ado_reader *ado_download_reader_new(const struct ado_download_ops *ops, void *drv, size_t chunk,
					   struct ado_err *e)
{
	struct download *d = calloc(1, sizeof(*d));
	struct ado_reader *r = NULL;

	if (!d) {
		ops->free(drv);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	d->ops = ops;
	d->drv = drv;
	d->chunk_size = chunk ? chunk : ADO_DOWNLOAD_CHUNK;
	d->cur.buf = malloc(d->chunk_size);
	d->ahead.buf = malloc(d->chunk_size);
	if (!d->cur.buf || !d->ahead.buf || !(r = ado_reader_new(&download_ops, d))) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto fail;
	}
	if (fetch(d, &d->cur, 0, e) < 0)
		goto fail;
	d->next_off = d->chunk_size;
	prefetch(d);
	return r;
fail:
	free(r);
	{
		struct ado_reader tmp = { .state = d };
		dl_free(&tmp);
	}
	return NULL;
}
