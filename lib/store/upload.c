/* upload.c - the chunked upload writer every remote driver uses (remote.h).
 *
 * Two part buffers: the producer fills one while the uploader thread sends
 * the other. Handing over a full part waits until the uploader is idle, so a
 * slow destination slows the producer (and through the tee, the pass) and
 * memory stays at two parts. The buffers are mapped, not malloc'd: a page
 * costs memory only once it is written, so a small object (a manifest) costs
 * its own size, not a part, without growing (and copying) a buffer; and
 * unmapping gives the memory back at once, where freed heap chunks of a part's
 * size stay in the process (glibc raises its mmap threshold after the first
 * such free).
 *
 * Behind a tee with other remotes, the writer holds no buffers of its own: a
 * part is a range of one of the tee's shared chunks (write_chunk, io.h), held
 * by reference from its first byte until the uploader has sent it, and handed
 * over as soon as it is full. */
#include "store/remote.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

struct upload {
	const struct ado_upload_ops *ops;
	void *drv;
	size_t part_size;
	unsigned part_sums, whole_sums;	/* ADO_SUM_* */
	unsigned char *fill;	/* the producer's buffer (NULL until the first byte) */
	size_t fill_len;
	unsigned char *spare;	/* the other part buffer (NULL until needed) */
	/* shared mode (write_chunk): the part is fill_len bytes at part_off in part_chunk */
	int shared;
	struct ado_chunk *part_chunk;	/* with our reference; NULL between parts */
	size_t part_off;
	unsigned nparts;	/* parts handed over so far */
	int begun;		/* begin() succeeded: abort on failure */
	int done;		/* committed */
	/* uploader thread */
	pthread_t tid;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *job;	/* part being sent, NULL when idle */
	size_t job_len;
	struct ado_chunk *job_chunk;	/* the shared chunk job lies in (its reference), or NULL */
	unsigned job_index;
	int stop;
	int failed;
	struct ado_err err;
};

static int part_sum(const void *buf, size_t len, unsigned sums, struct ado_part_sum *sum)
{
	unsigned int n;

	memset(sum, 0, sizeof(*sum));
	if ((sums & ADO_SUM_SHA256) && EVP_Digest(buf, len, sum->sha256, &n, EVP_sha256(), NULL) != 1)
		return -1;
	if ((sums & ADO_SUM_MD5) && EVP_Digest(buf, len, sum->md5, &n, EVP_md5(), NULL) != 1)
		return -1;
	if (sums & ADO_SUM_CRC64)
		sum->crc64 = ado_crc64_nvme(0, buf, len);
	if (sums & ADO_SUM_CRC32)
		sum->crc32 = ado_crc32(0, buf, len);
	return 0;
}

static unsigned char *part_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void part_unmap(unsigned char *p, size_t size)
{
	if (p)
		munmap(p, size);
}

static int send_part(struct upload *u, const unsigned char *buf, size_t len, unsigned index, struct ado_err *e)
{
	struct ado_part_sum sum;

	if (part_sum(buf, len, u->part_sums, &sum) < 0)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "cannot checksum a part");
	if (!u->begun) {
		if (u->ops->begin(u->drv, e) < 0)
			return -1;
		u->begun = 1;
	}
	return u->ops->put_part(u->drv, index, buf, len, &sum, e);
}

static void *uploader(void *arg)
{
	struct upload *u = arg;

	pthread_mutex_lock(&u->mu);
	for (;;) {
		struct ado_err err;
		struct ado_chunk *chunk;
		int rc;
		while (!u->job && !u->stop)
			pthread_cond_wait(&u->cv, &u->mu);
		if (!u->job)
			break;
		chunk = u->job_chunk;
		pthread_mutex_unlock(&u->mu);
		ado_err_clear(&err);
		rc = send_part(u, u->job, u->job_len, u->job_index, &err);
		ado_chunk_unref(chunk);	/* sent (or given up): its bytes are not needed again */
		pthread_mutex_lock(&u->mu);
		u->job = NULL;
		u->job_chunk = NULL;
		if (rc < 0 && !u->failed) {
			u->failed = 1;
			u->err = err;
		}
		pthread_cond_broadcast(&u->cv);
		if (u->failed)
			break;
	}
	pthread_mutex_unlock(&u->mu);
	return NULL;
}

/* Wait until the uploader is idle; -1 with its error if it failed. */
static int wait_idle(struct upload *u, struct ado_err *e)
{
	int failed;

	if (!u->started)
		return 0;
	pthread_mutex_lock(&u->mu);
	while (u->job && !u->failed)
		pthread_cond_wait(&u->cv, &u->mu);
	failed = u->failed;
	if (failed && e)
		*e = u->err;
	pthread_mutex_unlock(&u->mu);
	return failed ? -1 : 0;
}

static void stop_thread(struct upload *u)
{
	if (!u->started)
		return;
	pthread_mutex_lock(&u->mu);
	u->stop = 1;
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->mu);
	pthread_join(u->tid, NULL);
	u->started = 0;
}

/* Give the idle uploader len bytes at buf as the next part (and chunk's
 * reference, if they lie in a shared chunk: the uploader drops it once sent). */
static int give(struct upload *u, unsigned char *buf, size_t len, struct ado_chunk *chunk, struct ado_err *e)
{
	if (!u->started) {
		int rc = pthread_create(&u->tid, NULL, uploader, u);
		if (rc != 0)
			return ado_err_set(e, ADO_E_INTERNAL, rc, "cannot start the upload thread");
		u->started = 1;
	}
	pthread_mutex_lock(&u->mu);
	u->job = buf;
	u->job_len = len;
	u->job_chunk = chunk;
	u->job_index = u->nparts++;
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->mu);
	return 0;
}

/* Shared mode: give the current part, with its chunk reference, once the
 * previous one is sent. */
static int hand_over_chunk(struct upload *u, struct ado_err *e)
{
	if (wait_idle(u, e) < 0 ||
	    give(u, ado_chunk_data(u->part_chunk) + u->part_off, u->fill_len, u->part_chunk, e) < 0)
		return -1;
	u->part_chunk = NULL;
	u->fill_len = 0;
	return 0;
}

/* Give the full fill buffer to the uploader and take the spare one. */
static int hand_over(struct upload *u, struct ado_err *e)
{
	unsigned char *b;

	if (wait_idle(u, e) < 0)
		return -1;
	if (!u->spare && !(u->spare = part_map(u->part_size)))
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory for an upload part");
	if (give(u, u->fill, u->fill_len, NULL, e) < 0)
		return -1;
	b = u->spare;
	u->spare = u->fill;	/* in flight: becomes the spare once the uploader is idle */
	u->fill = b;
	u->fill_len = 0;
	return 0;
}

static int up_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct upload *u = w->state;
	const unsigned char *p = buf;

	if (u->shared)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "upload: copied bytes after shared chunks");
	while (n > 0) {
		size_t k;
		if (u->fill_len == u->part_size && hand_over(u, e) < 0)
			return -1;
		if (!u->fill && !(u->fill = part_map(u->part_size)))
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory for an upload part");
		k = u->part_size - u->fill_len;
		if (k > n)
			k = n;
		memcpy(u->fill + u->fill_len, p, k);
		u->fill_len += k;
		p += k;
		n -= k;
	}
	return 0;
}

static size_t up_chunk_unit(struct ado_writer *w)
{
	return ((struct upload *)w->state)->part_size;
}

static int up_write_chunk(struct ado_writer *w, struct ado_chunk *c, size_t off, size_t n, struct ado_err *e)
{
	struct upload *u = w->state;

	if (u->fill)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "upload: shared chunks after copied bytes");
	u->shared = 1;
	while (n > 0) {
		size_t k;
		if (!u->part_chunk) {
			ado_chunk_ref(c);
			u->part_chunk = c;
			u->part_off = off;
			u->fill_len = 0;
		} else if (u->part_chunk != c || u->part_off + u->fill_len != off) {
			return ado_err_set(e, ADO_E_INTERNAL, 0, "upload: shared chunk bytes out of order");
		}
		k = u->part_size - u->fill_len < n ? u->part_size - u->fill_len : n;
		u->fill_len += k;
		off += k;
		n -= k;
		if (u->fill_len == u->part_size && hand_over_chunk(u, e) < 0)
			return -1;
	}
	return 0;
}

/* the bytes of the part being filled */
static const void *part_bytes(const struct upload *u)
{
	if (u->part_chunk)
		return ado_chunk_data(u->part_chunk) + u->part_off;
	return u->fill ? (const void *)u->fill : "";
}

static int up_close(struct ado_writer *w, struct ado_err *e)
{
	struct upload *u = w->state;

	if (u->nparts == 0) {
		struct ado_part_sum sum;
		if (part_sum(part_bytes(u), u->fill_len, u->whole_sums, &sum) < 0)
			return ado_err_set(e, ADO_E_INTERNAL, 0, "cannot checksum an object");
		if (u->ops->put_whole(u->drv, part_bytes(u), u->fill_len, &sum, e) < 0)
			return -1;
		u->done = 1;
		return 0;
	}
	if (u->fill_len > 0 && (u->shared ? hand_over_chunk(u, e) : hand_over(u, e)) < 0)
		return -1;
	if (wait_idle(u, e) < 0)
		return -1;
	stop_thread(u);
	if (u->ops->commit(u->drv, u->nparts, e) < 0)
		return -1;
	u->done = 1;
	return 0;
}

static void up_free(struct ado_writer *w)
{
	struct upload *u = w->state;

	if (!u)
		return;
	stop_thread(u);
	if (!u->done && u->begun)
		u->ops->abort(u->drv);
	u->ops->free(u->drv);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	part_unmap(u->fill, u->part_size);
	part_unmap(u->spare, u->part_size);
	ado_chunk_unref(u->part_chunk);
	free(u);
}

static const struct ado_writer_ops upload_ops = {
	.name = "upload",
	.write = up_write,
	.close = up_close,
	.free = up_free,
	.chunk_unit = up_chunk_unit,
	.write_chunk = up_write_chunk,
};

struct ado_writer *ado_upload_writer_new(const struct ado_upload_ops *ops, void *drv, size_t part_size,
					 unsigned part_sums, unsigned whole_sums, struct ado_err *e)
{
	struct upload *u = calloc(1, sizeof(*u));
	struct ado_writer *w;

	if (!u) {
		ops->free(drv);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	u->ops = ops;
	u->drv = drv;
	u->part_size = part_size ? part_size : ADO_PART_SIZE_DEFAULT;
	u->part_sums = part_sums;
	u->whole_sums = whole_sums;
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cv, NULL);
	if (!(w = ado_writer_new(&upload_ops, u, NULL))) {
		struct ado_writer tmp = { .state = u };
		up_free(&tmp);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	return w;
}
