/* store.c - driver dispatch and the small helpers every tool uses. */
#include "store/store.h"
#include "store/remote.h"

#include <stdlib.h>
#include <string.h>

int ado_store_open(const struct ado_dest *d, const struct ado_config *cfg, struct ado_store **out,
		   struct ado_err *e)
{
	switch (d->kind) {
	case ADO_DEST_LOCAL:
		return ado_store_local_open(d->prefix ? d->prefix : d->url, out, e);
	case ADO_DEST_S3:
	case ADO_DEST_S3_GLACIER:
		return ado_store_s3_open(d, cfg, out, e);
	case ADO_DEST_AZURE:
		return ado_store_azure_open(d, cfg, out, e);
	}
	return ado_err_set(e, ADO_E_INTERNAL, 0, "unknown destination kind %d", (int)d->kind);
}

void ado_store_free(struct ado_store *s)
{
	if (!s)
		return;
	if (s->ops && s->ops->free)
		s->ops->free(s);
	free(s->url);
	free(s);
}

int ado_store_open_write(struct ado_store *s, const char *path, unsigned flags, struct ado_writer **out,
			 struct ado_err *e)
{
	return s->ops->open_write(s, path, flags, out, e);
}

int ado_store_readable(struct ado_store *s, const char *path, enum ado_readable *state, struct ado_err *e)
{
	*state = ADO_READABLE_ONLINE;
	return s->ops->readable ? s->ops->readable(s, path, state, e) : 0;
}

int ado_store_thaw(struct ado_store *s, const char *path, int days, const char *tier, struct ado_err *e)
{
	return s->ops->thaw ? s->ops->thaw(s, path, days, tier, e) : 0;
}

int ado_store_clean_uploads(struct ado_store *s, const char *dir, struct ado_err *e)
{
	return s->ops->clean_uploads ? s->ops->clean_uploads(s, dir, e) : 0;
}

int ado_store_open_read(struct ado_store *s, const char *path, struct ado_reader **out, struct ado_err *e)
{
	return s->ops->open_read(s, path, out, e);
}

int ado_store_list(struct ado_store *s, const char *dir, ado_store_list_cb cb, void *arg, struct ado_err *e)
{
	return s->ops->list(s, dir, cb, arg, e);
}

int ado_store_list_tree(struct ado_store *s, const char *dir, ado_store_list_cb cb, void *arg, struct ado_err *e)
{
	return s->ops->list_tree ? s->ops->list_tree(s, dir, cb, arg, e) : 1;
}

int ado_store_remove(struct ado_store *s, const char *path, struct ado_err *e)
{
	return s->ops->remove(s, path, e);
}

int ado_store_remove_tree(struct ado_store *s, const char *dir, struct ado_err *e)
{
	return s->ops->remove_tree(s, dir, e);
}

long ado_store_tmp_pid(const char *name)
{
	const char *t = NULL, *p;
	char *end;
	long pid;

	for (p = name; (p = strstr(p, ".tmp.")); p++)
		t = p;
	if (!t)
		return 0;
	pid = strtol(t + 5, &end, 10);
	if (end == t + 5 || pid <= 0 || *end != '.' || strlen(end + 1) != 8 || strspn(end + 1, "0123456789abcdef") != 8)
		return 0;
	return pid;
}

int ado_store_exists(struct ado_store *s, const char *path, uint64_t *size, struct ado_err *e)
{
	return s->ops->exists(s, path, size, e);
}

int ado_store_read_all(struct ado_store *s, const char *path, size_t max, char **out, size_t *len,
		       struct ado_err *e)
{
	struct ado_reader *r = NULL;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int rc = -1;

	*out = NULL;
	if (ado_store_open_read(s, path, &r, e) < 0)
		return -1;
	for (;;) {
		size_t got;
		if (cap - n < 65536) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb;
			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap <= n) {
				ado_err_set(e, ADO_E_FORMAT, 0, "'%s/%s' is larger than %zu bytes", s->url, path, max);
				goto out;
			}
			nb = realloc(buf, ncap + 1);
			if (!nb) {
				ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		if (ado_reader_read(r, buf + n, cap - n, &got, e) < 0)
			goto out;
		if (got == 0)
			break;
		n += got;
		if (n > max) {
			ado_err_set(e, ADO_E_FORMAT, 0, "'%s/%s' is larger than %zu bytes", s->url, path, max);
			goto out;
		}
	}
	if (!buf && !(buf = malloc(1))) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	ado_reader_free(r);
	return rc;
}

int ado_store_write_all(struct ado_store *s, const char *path, const void *buf, size_t len, struct ado_err *e)
{
	struct ado_writer *w = NULL;
	int rc = -1;

	if (ado_store_open_write(s, path, ADO_STORE_WRITE_META, &w, e) < 0)
		return -1;
	if (ado_writer_write(w, buf, len, e) < 0 || ado_writer_close(w, e) < 0)
		goto out;
	rc = 0;
out:
	ado_writer_free(w);
	return rc;
}
