/* hash.c - the observe filter: byte count and SHA-256 of what passes through,
 * or the byte count alone (no digest context) where a stream needs no hash. */
#include "io/io.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct hash_state {
	EVP_MD_CTX *ctx;	/* NULL: count only */
	struct ado_digest *out;
	uint64_t size;
};

static int hash_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct hash_state *st = w->state;

	if (st->ctx && !EVP_DigestUpdate(st->ctx, buf, n))
		return ado_err_set(e, ADO_E_INTERNAL, 0, "cannot update 'sha256' digest");
	st->size += n;
	/* without a next the hash writer is a sink of its own (checksum only) */
	return w->next ? ado_writer_write(w->next, buf, n, e) : 0;
}

static int hash_close(struct ado_writer *w, struct ado_err *e)
{
	struct hash_state *st = w->state;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (st->ctx) {
		if (!EVP_DigestFinal_ex(st->ctx, md, &len) || len != 32)
			return ado_err_set(e, ADO_E_INTERNAL, 0, "cannot finish 'sha256' digest");
		ado_hex(md, len, st->out->sha256);
	}
	st->out->size = st->size;
	return w->next ? ado_writer_close(w->next, e) : 0;
}

static void hash_free(struct ado_writer *w)
{
	struct hash_state *st = w->state;

	if (!st)
		return;
	EVP_MD_CTX_free(st->ctx);
	free(st);
}

static const struct ado_writer_ops hash_ops = {
	.name = "sha256",
	.write = hash_write,
	.close = hash_close,
	.free = hash_free,
};

static const struct ado_writer_ops size_ops = {
	.name = "size",
	.write = hash_write,
	.close = hash_close,
	.free = hash_free,
};

static struct ado_writer *observe_new(struct ado_writer *next, struct ado_digest *out, int hash, struct ado_err *e)
{
	struct hash_state *st = calloc(1, sizeof(*st));
	struct ado_writer *w = NULL;

	if (!st)
		goto oom;
	st->out = out;
	memset(out, 0, sizeof(*out));
	if (hash) {
		st->ctx = EVP_MD_CTX_new();
		if (!st->ctx)
			goto oom;
		if (!EVP_DigestInit_ex(st->ctx, EVP_sha256(), NULL)) {
			ado_err_set(e, ADO_E_INTERNAL, 0, "cannot start 'sha256' digest");
			goto fail;
		}
	}
	w = ado_writer_new(hash ? &hash_ops : &size_ops, st, next);
	if (!w)
		goto oom;
	return w;
oom:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
fail:
	if (st)
		EVP_MD_CTX_free(st->ctx);
	free(st);
	return NULL;
}

struct ado_writer *ado_hash_writer_new(struct ado_writer *next, struct ado_digest *out, struct ado_err *e)
{
	return observe_new(next, out, 1, e);
}

struct ado_writer *ado_size_writer_new(struct ado_writer *next, struct ado_digest *out, struct ado_err *e)
{
	return observe_new(next, out, 0, e);
}

void ado_sha256_hex(const void *buf, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	/* EVP_Digest only fails on out of memory or a broken provider; an
	 * empty string then never matches a real digest */
	if (!EVP_Digest(buf, n, md, &len, EVP_sha256(), NULL) || len != 32) {
		out[0] = '\0';
		return;
	}
	ado_hex(md, len, out);
}

void ado_hex(const void *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = in;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}
