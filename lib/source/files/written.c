/* written.c - what an extraction wrote (see files.h): each regular file's
 * size and SHA-256 by path, hashed from the very bytes handed to the disk,
 * so the index check need not read the files back. A bounded table: past its
 * budget, new paths are not recorded and the check reads those files back. */
#include "source/files/internal.h"

#include <stdlib.h>
#include <string.h>

struct wrec {
	struct wrec *next;
	uint64_t size;
	unsigned char sha[32];
	char path[];
};

struct ado_files_written {
	struct wrec **bucket;
	size_t nbucket;		/* a power of two */
	size_t used, budget;	/* bytes of records, and the most they may take */
	int off;		/* set once the records can no longer be trusted */
	uint64_t dropped;	/* paths not recorded for want of room */
};

/* The record's cost against the budget: the allocation and its overhead. */
#define REC_COST(len) (sizeof(struct wrec) + (len) + 1 + 16)

struct ado_files_written *ado_files_written_new(size_t budget)
{
	struct ado_files_written *t = calloc(1, sizeof(*t));
	size_t n = 1024;

	if (!t)
		return NULL;
	/* about one bucket per expected record of a ~100-byte cost */
	while (n < budget / 128 && n < ((size_t)1 << 24))
		n <<= 1;
	if (!(t->bucket = calloc(n, sizeof(*t->bucket)))) {
		free(t);
		return NULL;
	}
	t->nbucket = n;
	t->budget = budget;
	return t;
}

void ado_files_written_free(struct ado_files_written *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nbucket; i++)
		for (struct wrec *r = t->bucket[i], *nx; r; r = nx) {
			nx = r->next;
			free(r);
		}
	free(t->bucket);
	free(t);
}

uint64_t ado_files_written_dropped(const struct ado_files_written *t)
{
	return t ? t->dropped : 0;
}

size_t files_canon_path(char *dst, const char *src)
{
	size_t n = 0;

	while (*src) {
		const char *slash = strchr(src, '/');
		size_t k = slash ? (size_t)(slash - src) : strlen(src);

		if (k && !(k == 1 && src[0] == '.')) {
			if (n)
				dst[n++] = '/';
			memcpy(dst + n, src, k);
			n += k;
		}
		src += k;
		while (*src == '/')
			src++;
	}
	dst[n] = '\0';
	return n;
}

static size_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

static struct wrec **slot(struct ado_files_written *t, const char *path)
{
	struct wrec **p = &t->bucket[hash_str(path) & (t->nbucket - 1)];

	while (*p && strcmp((*p)->path, path) != 0)
		p = &(*p)->next;
	return p;
}

void files_written_forget(struct ado_files_written *t, const char *path)
{
	struct wrec **p, *r;

	if (!t)
		return;
	p = slot(t, path);
	if ((r = *p) != NULL) {
		*p = r->next;
		t->used -= REC_COST(strlen(r->path));
		free(r);
	}
}

void files_written_put(struct ado_files_written *t, const char *path, uint64_t size, const unsigned char sha[32])
{
	struct wrec **p, *r;
	size_t len;

	if (!t || t->off)
		return;
	p = slot(t, path);
	if (!(r = *p)) {
		len = strlen(path);
		if (t->used + REC_COST(len) > t->budget || !(r = malloc(sizeof(*r) + len + 1))) {
			t->dropped++;
			return;	/* no stale record stands for this path: the check reads it back */
		}
		memcpy(r->path, path, len + 1);
		r->next = NULL;
		*p = r;
		t->used += REC_COST(len);
	}
	r->size = size;
	memcpy(r->sha, sha, 32);
}

int files_written_get(const struct ado_files_written *t, const char *path, uint64_t *size, unsigned char sha[32])
{
	struct wrec *r;

	if (!t || t->off)
		return 0;
	r = *slot((struct ado_files_written *)t, path);
	if (!r)
		return 0;
	*size = r->size;
	memcpy(sha, r->sha, 32);
	return 1;
}

void files_written_link(struct ado_files_written *t, const char *path, const char *target)
{
	uint64_t size;
	unsigned char sha[32];

	if (files_written_get(t, target, &size, sha))
		files_written_put(t, path, size, sha);
	else
		files_written_forget(t, path);
}

void files_written_off(struct ado_files_written *t)
{
	if (t)
		t->off = 1;
}
