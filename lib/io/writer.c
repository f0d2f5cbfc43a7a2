/* writer.c - the writer/reader base: dispatch, ownership, pump. */
#include "io/io.h"
#include "base/sig.h"

#include <stdlib.h>

struct ado_writer *ado_writer_new(const struct ado_writer_ops *ops, void *state, struct ado_writer *next)
{
	struct ado_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->ops = ops;
	w->state = state;
	w->next = next;
	return w;
}

/* 1 when n bytes may go to w now, 0 when there are none, -1 with e */
static int writable(struct ado_writer *w, size_t n, struct ado_err *e)
{
	if (w->closed)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "write to closed stream '%s'", w->ops->name);
	if (n == 0)
		return 0;
	if (ado_interrupted())
		return ado_err_set(e, ADO_E_INTERRUPTED, 0, "interrupted by signal %d", ado_interrupted());
	return 1;
}

int ado_writer_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	int rc = writable(w, n, e);

	return rc <= 0 ? rc : w->ops->write(w, buf, n, e);
}

int ado_writer_write_chunk(struct ado_writer *w, struct ado_chunk *c, size_t off, size_t n, struct ado_err *e)
{
	int rc = writable(w, n, e);

	return rc <= 0 ? rc : w->ops->write_chunk(w, c, off, n, e);
}

int ado_writer_close(struct ado_writer *w, struct ado_err *e)
{
	int rc;

	/* closed: 1 = closed fine, 2 = the close failed; a second close must
	 * not turn an earlier failure into success */
	if (w->closed == 2)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "stream '%s' failed to close earlier", w->ops->name);
	if (w->closed)
		return 0;
	w->closed = 1;
	if (w->ops->close)
		rc = w->ops->close(w, e);
	else
		rc = w->next ? ado_writer_close(w->next, e) : 0;
	if (rc < 0)
		w->closed = 2;
	return rc;
}

void ado_writer_free(struct ado_writer *w)
{
	while (w) {
		struct ado_writer *next = w->next;
		if (w->ops->free)
			w->ops->free(w);
		free(w);
		w = next;
	}
}

struct ado_reader *ado_reader_new(const struct ado_reader_ops *ops, void *state)
{
	struct ado_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->ops = ops;
	r->state = state;
	return r;
}

int ado_reader_read(struct ado_reader *r, void *buf, size_t n, size_t *got, struct ado_err *e)
{
	*got = 0;
	return r->ops->read(r, buf, n, got, e);
}

void ado_reader_free(struct ado_reader *r)
{
	if (!r)
		return;
	if (r->ops->free)
		r->ops->free(r);
	free(r);
}

int ado_pump(struct ado_reader *r, struct ado_writer *w, struct ado_err *e)
{
	unsigned char *buf = malloc(ADO_IO_BUFSIZE);
	int rc = -1;

	if (!buf)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	for (;;) {
		size_t got;
		if (ado_reader_read(r, buf, ADO_IO_BUFSIZE, &got, e) < 0)
			goto out;
		if (got == 0)
			break;
		if (ado_writer_write(w, buf, got, e) < 0)
			goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}
