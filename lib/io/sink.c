/* sink.c - the ends of a chain (fd, null, memory) and the fd source. */
#include "io/io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- fd writer --- */

struct fd_state {
	int fd;
	int own_fd;
};

static int fd_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct fd_state *st = w->state;
	const char *p = buf;

	while (n > 0) {
		ssize_t k = write(st->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return ado_err_set(e, ADO_E_IO, errno, "cannot write to file descriptor %d", st->fd);
		}
		if (k == 0)	/* not expected of write(2), but must not spin */
			return ado_err_set(e, ADO_E_IO, EIO, "cannot write to file descriptor %d", st->fd);
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int fd_close(struct ado_writer *w, struct ado_err *e)
{
	struct fd_state *st = w->state;
	int fd = st->fd;

	if (!st->own_fd)
		return 0;
	st->own_fd = 0;
	/* no retry on EINTR: on Linux the descriptor is gone either way */
	if (close(fd) < 0 && errno != EINTR)
		return ado_err_set(e, ADO_E_IO, errno, "cannot close file descriptor %d", fd);
	return 0;
}

static void fd_free(struct ado_writer *w)
{
	struct fd_state *st = w->state;

	if (st && st->own_fd)
		close(st->fd);
	free(st);
}

static const struct ado_writer_ops fd_ops = {
	.name = "fd",
	.write = fd_write,
	.close = fd_close,
	.free = fd_free,
};

struct ado_writer *ado_fd_writer_new(int fd, int own_fd, struct ado_err *e)
{
	struct fd_state *st = calloc(1, sizeof(*st));
	struct ado_writer *w;

	if (!st) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	st->fd = fd;
	st->own_fd = own_fd;
	w = ado_writer_new(&fd_ops, st, NULL);
	if (!w) {
		free(st);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	return w;
}

/* --- null writer --- */

static int null_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	return 0;
}

static int null_close(struct ado_writer *w, struct ado_err *e)
{
	return 0;
}

static const struct ado_writer_ops null_ops = {
	.name = "null",
	.write = null_write,
	.close = null_close,
	.free = NULL,
};

struct ado_writer *ado_null_writer_new(struct ado_err *e)
{
	struct ado_writer *w = ado_writer_new(&null_ops, NULL, NULL);

	if (!w)
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	return w;
}

/* --- memory writer --- */

struct mem_state {
	char *data;
	size_t len, cap, max;
};

static int mem_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct mem_state *st = w->state;

	if (n > st->max - st->len)
		return ado_err_set(e, ADO_E_FORMAT, 0, "data exceeds the %zu-byte limit", st->max);
	if (st->len + n + 1 > st->cap) {
		size_t cap = st->cap ? st->cap : 4096;
		char *p;

		while (cap < st->len + n + 1)
			cap = cap > SIZE_MAX / 2 ? st->len + n + 1 : cap * 2;
		if (cap > st->max + 1)
			cap = st->max + 1;
		p = realloc(st->data, cap);
		if (!p)
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		st->data = p;
		st->cap = cap;
	}
	memcpy(st->data + st->len, buf, n);
	st->len += n;
	st->data[st->len] = '\0';
	return 0;
}

static int mem_close(struct ado_writer *w, struct ado_err *e)
{
	return 0;
}

static void mem_free(struct ado_writer *w)
{
	struct mem_state *st = w->state;

	if (!st)
		return;
	free(st->data);
	free(st);
}

static const struct ado_writer_ops mem_ops = {
	.name = "memory",
	.write = mem_write,
	.close = mem_close,
	.free = mem_free,
};

struct ado_writer *ado_mem_writer_new(size_t max, struct ado_err *e)
{
	struct mem_state *st = calloc(1, sizeof(*st));
	struct ado_writer *w;

	if (!st) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	/* keep room for the terminating NUL without overflowing */
	st->max = max < SIZE_MAX ? max : SIZE_MAX - 1;
	w = ado_writer_new(&mem_ops, st, NULL);
	if (!w) {
		free(st);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	return w;
}

char *ado_mem_writer_take(struct ado_writer *w, size_t *len)
{
	struct mem_state *st;
	char *p;

	if (!w || w->ops != &mem_ops)
		return NULL;
	st = w->state;
	p = st->data;
	if (len)
		*len = st->len;
	if (!p)
		p = calloc(1, 1);	/* nothing written: still a string */
	st->data = NULL;
	st->len = st->cap = 0;
	return p;
}

/* --- fd reader --- */

struct fdr_state {
	int fd;
	int own_fd;
};

static int fdr_read(struct ado_reader *r, void *buf, size_t n, size_t *got, struct ado_err *e)
{
	struct fdr_state *st = r->state;
	ssize_t k;

	do
		k = read(st->fd, buf, n);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return ado_err_set(e, ADO_E_IO, errno, "cannot read from file descriptor %d", st->fd);
	*got = (size_t)k;
	return 0;
}

static void fdr_free(struct ado_reader *r)
{
	struct fdr_state *st = r->state;

	if (st && st->own_fd)
		close(st->fd);
	free(st);
}

static const struct ado_reader_ops fdr_ops = {
	.name = "fd",
	.read = fdr_read,
	.free = fdr_free,
};

struct ado_reader *ado_fd_reader_new(int fd, int own_fd, struct ado_err *e)
{
	struct fdr_state *st = calloc(1, sizeof(*st));
	struct ado_reader *r;

	if (!st) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	st->fd = fd;
	st->own_fd = own_fd;
	r = ado_reader_new(&fdr_ops, st);
	if (!r) {
		free(st);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	return r;
}
