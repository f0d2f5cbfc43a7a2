/* crypt.c - keys and the encrypted artifact format (man/ado-format.5).
 *
 * Every primitive is OpenSSL's: scrypt (EVP_PBE_scrypt), HKDF-SHA256
 * (EVP_KDF "HKDF"), AES-256-GCM (EVP_CIPHER), HMAC-SHA256 (EVP_Q_mac),
 * SHA-256 (EVP_Digest) and RAND_bytes. What is written by hand here is only
 * the framing: header, chunking, nonces and the associated data.
 *
 * One piece on purpose (about 850 lines): the key derivation, the header and
 * the chunk framing of both directions are one format, and reading them side
 * by side is how a reviewer checks that the writer and the reader agree. */
#include "format/crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "base/log.h"

#define MAGIC "ADODRENC"
#define FORMAT_VERSION 1
#define TAG_LEN 16
#define NONCE_LEN 12
#define SALT_LEN 16
#define KCV_LEN 8
/* The decrypt writer holds one sealed chunk plus one byte: seeing that byte
 * proves the chunk before it is not the last one. */
#define SEALED_LEN ((size_t)ADO_CRYPT_CHUNK + TAG_LEN)
#define LOOKAHEAD_LEN (SEALED_LEN + 1)

/* scrypt needs about 128 * r * (N + p + 2) bytes. The cap is generous for the
 * defaults (128 MiB) and keeps a damaged or hostile header from asking for
 * more memory than a recovery host is likely to have. */
#define SCRYPT_MAXMEM ((uint64_t)1 << 30)
#define SCRYPT_DEFAULT_LOG2N 17
#define SCRYPT_DEFAULT_R 8
#define SCRYPT_DEFAULT_P 1

/* set -C: never clobber an existing key, which may be the only way to read old backups */
#define KEYGEN_HINT "make a key with: (umask 077; set -C; head -c 32 /dev/urandom > NEW.key) " \
	"&& chmod 600 NEW.key, then point key_file at it (never overwrite a key existing backups need)"

struct ado_keyring {
	int kind;			/* 0 raw key, 1 passphrase */
	unsigned char key[ADO_KEY_LEN];	/* kind 0 */
	char *pass;			/* kind 1 */
	size_t passlen;
	/* the last scrypt result, so a run derives it once */
	int cached;
	struct ado_kdf cache_kdf;
	unsigned char cache_master[ADO_KEY_LEN];
};

/* ---------- small helpers ---------- */

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int all_zero(const unsigned char *p, size_t n)
{
	unsigned char acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Repeat a writer's first failure to a later call. */
static int copy_err(struct ado_err *e, const struct ado_err *first)
{
	if (e)
		*e = *first;
	return -1;
}

static int ossl_fail(struct ado_err *e, const char *what)
{
	return ado_err_set(e, ADO_E_INTERNAL, 0, "%s failed in OpenSSL", what);
}

/* HKDF-SHA256(ikm = master, salt, info) -> out (32 bytes). salt may be NULL:
 * RFC 5869 then uses HashLen zero bytes, which is what OpenSSL does when no
 * salt is given. */
static int hkdf(const unsigned char master[ADO_KEY_LEN], const unsigned char *salt, size_t saltlen,
		const char *info, unsigned char out[ADO_KEY_LEN], struct ado_err *e)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[5], *p = params;
	int rc = -1;

	if (!kdf || !(ctx = EVP_KDF_CTX_new(kdf))) {
		ossl_fail(e, "HKDF setup");
		goto out;
	}
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)master, ADO_KEY_LEN);
	if (salt && saltlen)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, ADO_KEY_LEN, params) != 1) {
		ossl_fail(e, "HKDF derivation");
		goto out;
	}
	rc = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

void ado_key_id(const unsigned char master[ADO_KEY_LEN], char out[ADO_KEYID_LEN + 1])
{
	static const char label[] = "ado-dr key id v1";
	unsigned char buf[sizeof(label) - 1 + ADO_KEY_LEN], md[32];
	unsigned int mdlen = 0;

	memcpy(buf, label, sizeof(label) - 1);
	memcpy(buf + sizeof(label) - 1, master, ADO_KEY_LEN);
	if (EVP_Digest(buf, sizeof(buf), md, &mdlen, EVP_sha256(), NULL) != 1)
		memset(md, 0, sizeof(md));	/* cannot happen with the default provider */
	OPENSSL_cleanse(buf, sizeof(buf));
	ado_hex(md, ADO_KEYID_LEN / 2, out);
}

int ado_manifest_mac(const unsigned char master[ADO_KEY_LEN], const void *body, size_t n, char out[65],
		     struct ado_err *e)
{
	unsigned char key[ADO_KEY_LEN], mac[32];
	size_t maclen = 0;
	int rc = -1;

	out[0] = '\0';
	if (hkdf(master, NULL, 0, "ado-dr v1 manifest", key, e) < 0)
		goto out;
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, sizeof(key), body, n, mac, sizeof(mac),
		       &maclen) || maclen != sizeof(mac)) {
		ossl_fail(e, "HMAC-SHA256");
		goto out;
	}
	ado_hex(mac, sizeof(mac), out);
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

/* ---------- keyrings ---------- */

static struct ado_keyring *keyring_alloc(struct ado_err *e)
{
	struct ado_keyring *k = calloc(1, sizeof(*k));

	if (!k)
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	return k;
}

void ado_keyring_free(struct ado_keyring *k)
{
	if (!k)
		return;
	if (k->pass) {
		OPENSSL_cleanse(k->pass, k->passlen);
		free(k->pass);
	}
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

/* 64 hex digits -> 32 bytes; -1 and *bad = offset of the first non-hex character. */
static int parse_hex_key(const unsigned char *s, unsigned char out[ADO_KEY_LEN], size_t *bad)
{
	for (size_t i = 0; i < ADO_KEY_LEN; i++) {
		int hi = OPENSSL_hexchar2int(s[2 * i]), lo = OPENSSL_hexchar2int(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			*bad = 2 * i + (hi < 0 ? 0 : 1);
			return -1;
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int ado_keyring_from_file(const char *path, struct ado_keyring **out, struct ado_err *e)
{
	/* room for the longest valid file (64 hex + CR LF) and one byte more */
	unsigned char buf[80] = { 0 };
	struct ado_keyring *k = NULL;
	struct stat st;
	size_t n = 0, bad = 0;
	int fd = -1, rc = -1;

	*out = NULL;
	/* O_NONBLOCK: opening a FIFO by mistake must not hang the run; it is
	 * refused below as "not a regular file". The mode is checked on the
	 * open descriptor, before a single byte is read. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ado_err_set(e, ADO_E_CONFIG, errno, "cannot open key file '%s'", path);
		ado_err_hint(e, "set encryption: key_file (or ADO_KEY_FILE) to the key these backups use; "
			     "check the key_id in a manifest against ado-verify's output");
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		ado_err_set(e, ADO_E_CONFIG, errno, "cannot stat key file '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ado_err_set(e, ADO_E_CONFIG, 0, "key file '%s' is not a regular file", path);
		ado_err_hint(e, "%s", KEYGEN_HINT);
		goto out;
	}
	if (st.st_mode & 077) {
		ado_err_set(e, ADO_E_CONFIG, 0, "key file '%s' is readable by group or others (mode %04o)", path,
			    (unsigned)(st.st_mode & 07777));
		ado_err_hint(e, "chmod 600 '%s'", path);
		goto out;
	}
	if (st.st_size <= (off_t)sizeof(buf)) {
		for (;;) {
			ssize_t got = read(fd, buf + n, sizeof(buf) - n);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				ado_err_set(e, ADO_E_CONFIG, errno, "cannot read key file '%s'", path);
				goto out;
			}
			if (got == 0 || (n += (size_t)got) == sizeof(buf))
				break;
		}
	} else {
		n = (size_t)st.st_size;	/* too long either way: report its size unread */
	}
	if (!(k = keyring_alloc(e)))
		goto out;
	k->kind = 0;
	if (n == ADO_KEY_LEN) {
		memcpy(k->key, buf, ADO_KEY_LEN);
	} else if (n == 64 || (n == 65 && buf[64] == '\n') || (n == 66 && buf[64] == '\r' && buf[65] == '\n')) {
		if (parse_hex_key(buf, k->key, &bad) < 0) {
			/* the offending character is key material: name only its position */
			ado_err_set(e, ADO_E_CONFIG, 0,
				    "key file '%s' must hold 32 raw bytes or 64 hex digits, "
				    "found %zu bytes with a non-hex character at offset %zu", path, n, bad);
			ado_err_hint(e, "%s", KEYGEN_HINT);
			goto out;
		}
	} else {
		ado_err_set(e, ADO_E_CONFIG, 0, "key file '%s' must hold 32 raw bytes or 64 hex digits, found %zu bytes",
			    path, n);
		ado_err_hint(e, "%s", KEYGEN_HINT);
		goto out;
	}
	*out = k;
	k = NULL;
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	ado_keyring_free(k);
	if (fd >= 0)
		close(fd);
	return rc;
}

int ado_keyring_from_passphrase(const char *pass, struct ado_keyring **out, struct ado_err *e)
{
	struct ado_keyring *k;

	*out = NULL;
	if (!pass || !*pass) {
		ado_err_set(e, ADO_E_CONFIG, 0, "empty passphrase");
		return ado_err_hint(e, "set ADO_PASSPHRASE (or the variable named by passphrase_env) "
				    "to the backup passphrase, or use a key file");
	}
	if (!(k = keyring_alloc(e)))
		return -1;
	k->kind = 1;
	k->passlen = strlen(pass);
	if (!(k->pass = malloc(k->passlen + 1))) {
		ado_keyring_free(k);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	memcpy(k->pass, pass, k->passlen + 1);
	ado_log_redact(pass);
	*out = k;
	return 0;
}

int ado_keyring_from_config(const struct ado_config *c, struct ado_keyring **out, struct ado_err *e)
{
	const char *file = getenv("ADO_KEY_FILE");
	const char *var, *pass;

	*out = NULL;
	if (!file || !*file)
		file = c && c->key_file && *c->key_file ? c->key_file : NULL;
	if (file)
		return ado_keyring_from_file(file, out, e);
	var = c && c->passphrase_env && *c->passphrase_env ? c->passphrase_env : "ADO_PASSPHRASE";
	pass = getenv(var);
	if (pass && *pass)
		return ado_keyring_from_passphrase(pass, out, e);
	if (c && c->passphrase_env && *c->passphrase_env) {
		ado_err_set(e, ADO_E_CONFIG, 0, "passphrase variable '%s' is not set or empty", var);
		return ado_err_hint(e, "export %s with the backup passphrase, or set encryption: key_file", var);
	}
	ado_err_set(e, ADO_E_CONFIG, 0, "no encryption key configured");
	return ado_err_hint(e, "set encryption: { key_file: PATH } in the config, or ADO_KEY_FILE=PATH, "
			    "or ADO_PASSPHRASE in the environment");
}

/* The KDF fields of a header or a caller's struct: raw keys carry no scrypt
 * parameters; scrypt ones must fit the memory cap. */
static int kdf_check(const struct ado_kdf *kdf, struct ado_err *e)
{
	if (kdf->kind == 0) {
		if (kdf->log2n || kdf->r || kdf->p || !all_zero(kdf->salt, sizeof(kdf->salt)))
			return ado_err_set(e, ADO_E_FORMAT, 0, "malformed header: scrypt parameters on a raw-key artifact");
		return 0;
	}
	if (kdf->kind != 1)
		return ado_err_set(e, ADO_E_FORMAT, 0, "unknown key derivation kind %d", kdf->kind);
	if (kdf->log2n < 1 || kdf->log2n > 30 || kdf->r < 1 || kdf->p < 1)
		return ado_err_set(e, ADO_E_FORMAT, 0, "malformed header: invalid scrypt parameters "
				   "log2(N)=%u r=%u p=%u", kdf->log2n, kdf->r, kdf->p);
	if ((uint64_t)128 * kdf->r * (((uint64_t)1 << kdf->log2n) + kdf->p + 2) > SCRYPT_MAXMEM) {
		ado_err_set(e, ADO_E_UNSUPPORTED, 0, "scrypt parameters log2(N)=%u r=%u p=%u need more than "
			    "the %llu MiB memory limit", kdf->log2n, kdf->r, kdf->p,
			    (unsigned long long)(SCRYPT_MAXMEM >> 20));
		return ado_err_hint(e, "the header may be damaged: restore from another copy");
	}
	return 0;
}

int ado_keyring_new_kdf(const struct ado_keyring *k, struct ado_kdf *kdf, struct ado_err *e)
{
	memset(kdf, 0, sizeof(*kdf));
	if (k->kind == 0)
		return 0;
	kdf->kind = 1;
	kdf->log2n = SCRYPT_DEFAULT_LOG2N;
	kdf->r = SCRYPT_DEFAULT_R;
	kdf->p = SCRYPT_DEFAULT_P;
	return ado_random(kdf->salt, sizeof(kdf->salt), e);
}

/* subject names what is being decrypted in a wrong-key message ("'x.enc'"). */
static int keyring_master(struct ado_keyring *k, const struct ado_kdf *kdf, unsigned char master[ADO_KEY_LEN],
			  const char *subject, struct ado_err *e)
{
	if (kdf_check(kdf, e) < 0)
		return -1;
	if (kdf->kind == 0 && k->kind == 0) {
		memcpy(master, k->key, ADO_KEY_LEN);
		return 0;
	}
	if (kdf->kind == 0) {
		ado_err_set(e, ADO_E_WRONGKEY, 0, "wrong key: %s was encrypted with a key file, "
			    "but a passphrase is configured", subject);
		return ado_err_hint(e, "set encryption: key_file (or ADO_KEY_FILE) to the key whose id "
				    "is in the manifest (key_id)");
	}
	if (k->kind == 0) {
		ado_err_set(e, ADO_E_WRONGKEY, 0, "wrong key: %s was encrypted with a passphrase, "
			    "but a key file is configured", subject);
		return ado_err_hint(e, "unset key_file and ADO_KEY_FILE and set ADO_PASSPHRASE "
				    "to the passphrase of that backup");
	}
	if (k->cached && k->cache_kdf.log2n == kdf->log2n && k->cache_kdf.r == kdf->r &&
	    k->cache_kdf.p == kdf->p && memcmp(k->cache_kdf.salt, kdf->salt, sizeof(kdf->salt)) == 0) {
		memcpy(master, k->cache_master, ADO_KEY_LEN);
		return 0;
	}
	if (EVP_PBE_scrypt(k->pass, k->passlen, kdf->salt, sizeof(kdf->salt), (uint64_t)1 << kdf->log2n, kdf->r,
			   kdf->p, SCRYPT_MAXMEM, master, ADO_KEY_LEN) != 1) {
		OPENSSL_cleanse(master, ADO_KEY_LEN);
		return ado_err_set(e, ADO_E_NOMEM, 0, "scrypt key derivation failed "
				   "(log2(N)=%u r=%u p=%u)", kdf->log2n, kdf->r, kdf->p);
	}
	k->cache_kdf = *kdf;
	memcpy(k->cache_master, master, ADO_KEY_LEN);
	k->cached = 1;
	return 0;
}

int ado_keyring_master(struct ado_keyring *k, const struct ado_kdf *kdf, unsigned char master[ADO_KEY_LEN],
		       struct ado_err *e)
{
	return keyring_master(k, kdf, master, "this backup", e);
}

/* ---------- header ---------- */

int ado_crypt_header_parse(const unsigned char *buf, size_t n, struct ado_kdf *kdf, struct ado_err *e)
{
	uint32_t chunk;

	memset(kdf, 0, sizeof(*kdf));
	if (n < ADO_CRYPT_HEADER_LEN || memcmp(buf, MAGIC, 8) != 0) {
		if (n < ADO_CRYPT_HEADER_LEN && n > 0 && memcmp(buf, MAGIC, n < 8 ? n : 8) == 0)
			return ado_err_set(e, ADO_E_FORMAT, 0, "truncated header (%zu of %d bytes)", n,
					   ADO_CRYPT_HEADER_LEN);
		return ado_err_set(e, ADO_E_FORMAT, 0, "not an ado-dr encrypted artifact");
	}
	if (buf[8] != FORMAT_VERSION) {
		ado_err_set(e, ADO_E_FORMAT, 0, "unsupported format version %u", buf[8]);
		return ado_err_hint(e, "it was written by a newer ado-dr: read it with that version");
	}
	kdf->kind = buf[9];
	kdf->log2n = buf[10];
	kdf->r = buf[11];
	kdf->p = buf[12];
	memcpy(kdf->salt, buf + 20, SALT_LEN);
	if (!all_zero(buf + 13, 3) || !all_zero(buf + 60, 4))
		return ado_err_set(e, ADO_E_FORMAT, 0, "malformed header: reserved bytes are not zero");
	chunk = get_be32(buf + 16);
	if (chunk != ADO_CRYPT_CHUNK)
		return ado_err_set(e, ADO_E_FORMAT, 0, "unsupported chunk size %lu", (unsigned long)chunk);
	return kdf_check(kdf, e);
}

/* ---------- chunk framing shared by both directions ---------- */

struct chunker {
	EVP_CIPHER_CTX *ctx;
	unsigned char *aad;	/* header || len || backup id || len || artifact */
	size_t aadlen;
	uint64_t index;
};

static int chunker_init(struct chunker *c, const unsigned char header[ADO_CRYPT_HEADER_LEN],
			const unsigned char key[ADO_KEY_LEN], int enc, const char *backup_id,
			const char *artifact, struct ado_err *e)
{
	size_t bl = strlen(backup_id), al = strlen(artifact);
	unsigned char *p;

	if (bl > UINT32_MAX || al > UINT32_MAX)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "backup id or artifact name too long");
	c->aadlen = ADO_CRYPT_HEADER_LEN + 4 + bl + 4 + al;
	if (!(c->aad = malloc(c->aadlen)))
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	p = c->aad;
	memcpy(p, header, ADO_CRYPT_HEADER_LEN);
	p += ADO_CRYPT_HEADER_LEN;
	put_be32(p, (uint32_t)bl);
	memcpy(p + 4, backup_id, bl);
	p += 4 + bl;
	put_be32(p, (uint32_t)al);
	memcpy(p + 4, artifact, al);
	c->index = 0;
	if (!(c->ctx = EVP_CIPHER_CTX_new()) ||
	    EVP_CipherInit_ex(c->ctx, EVP_aes_256_gcm(), NULL, key, NULL, enc) != 1)
		return ossl_fail(e, "AES-256-GCM setup");
	return 0;
}

static void chunker_free(struct chunker *c)
{
	EVP_CIPHER_CTX_free(c->ctx);
	free(c->aad);
	c->ctx = NULL;
	c->aad = NULL;
}

/* Start chunk c->index: nonce = 4 zero bytes || index, then the AAD. */
static int chunk_begin(struct chunker *c, int final)
{
	unsigned char nonce[NONCE_LEN] = { 0 }, tail[9];
	int outl;

	put_be64(nonce + 4, c->index);
	put_be64(tail, c->index);
	tail[8] = final ? 1 : 0;
	return EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, nonce, -1) == 1 &&
	       EVP_CipherUpdate(c->ctx, NULL, &outl, c->aad, (int)c->aadlen) == 1 &&
	       EVP_CipherUpdate(c->ctx, NULL, &outl, tail, sizeof(tail)) == 1 ? 0 : -1;
}

/* ---------- encrypt writer ---------- */

struct enc {
	struct chunker ch;
	unsigned char header[ADO_CRYPT_HEADER_LEN];
	int header_written;
	unsigned char *buf;	/* one chunk of plaintext, encrypted in place */
	size_t len;
	int failed;
	struct ado_err err;	/* the first failure, repeated to later calls */
};

static int enc_fail(struct enc *s, struct ado_err *e)
{
	s->failed = 1;
	if (e)
		s->err = *e;
	return -1;
}

static int enc_header(struct ado_writer *w, struct enc *s, struct ado_err *e)
{
	if (s->header_written)
		return 0;
	if (ado_writer_write(w->next, s->header, sizeof(s->header), e) < 0)
		return -1;
	s->header_written = 1;
	return 0;
}

static int enc_chunk(struct ado_writer *w, struct enc *s, int final, struct ado_err *e)
{
	unsigned char tag[TAG_LEN];
	int outl = 0, fl = 0;

	if (enc_header(w, s, e) < 0)
		return -1;
	if (chunk_begin(&s->ch, final) < 0 ||
	    (s->len && EVP_EncryptUpdate(s->ch.ctx, s->buf, &outl, s->buf, (int)s->len) != 1) ||
	    EVP_EncryptFinal_ex(s->ch.ctx, s->buf + outl, &fl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->ch.ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		return ossl_fail(e, "AES-256-GCM encryption");
	if (ado_writer_write(w->next, s->buf, s->len, e) < 0 || ado_writer_write(w->next, tag, TAG_LEN, e) < 0)
		return -1;
	s->ch.index++;
	s->len = 0;
	return 0;
}

static int enc_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct enc *s = w->state;
	const unsigned char *p = buf;

	if (s->failed)
		return copy_err(e, &s->err);
	while (n > 0) {
		size_t take;
		/* a full chunk is sealed only once a further byte shows it is not the last */
		if (s->len == ADO_CRYPT_CHUNK && enc_chunk(w, s, 0, e) < 0)
			return enc_fail(s, e);
		take = ADO_CRYPT_CHUNK - s->len;
		if (take > n)
			take = n;
		memcpy(s->buf + s->len, p, take);
		s->len += take;
		p += take;
		n -= take;
	}
	return 0;
}

static int enc_close(struct ado_writer *w, struct ado_err *e)
{
	struct enc *s = w->state;

	if (s->failed)
		return copy_err(e, &s->err);
	/* the final chunk is always shorter than a chunk: an exact multiple
	 * ends with an empty one */
	if (s->len == ADO_CRYPT_CHUNK && enc_chunk(w, s, 0, e) < 0)
		return enc_fail(s, e);
	if (enc_chunk(w, s, 1, e) < 0)
		return enc_fail(s, e);
	OPENSSL_cleanse(s->buf, ADO_CRYPT_CHUNK);
	return ado_writer_close(w->next, e);
}

static void enc_free(struct ado_writer *w)
{
	struct enc *s = w->state;

	if (!s)
		return;
	chunker_free(&s->ch);
	if (s->buf) {
		OPENSSL_cleanse(s->buf, ADO_CRYPT_CHUNK);
		free(s->buf);
	}
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

static const struct ado_writer_ops enc_ops = {
	.name = "encrypt",
	.write = enc_write,
	.close = enc_close,
	.free = enc_free,
};

/* data key and key check value of one artifact */
static int artifact_keys(const unsigned char master[ADO_KEY_LEN], const unsigned char salt[SALT_LEN],
			 unsigned char key[ADO_KEY_LEN], unsigned char kcv[KCV_LEN], struct ado_err *e)
{
	unsigned char check[ADO_KEY_LEN];
	int rc = -1;

	if (hkdf(master, salt, SALT_LEN, "ado-dr v1 data", key, e) < 0 ||
	    hkdf(master, salt, SALT_LEN, "ado-dr v1 check", check, e) < 0)
		goto out;
	memcpy(kcv, check, KCV_LEN);
	rc = 0;
out:
	OPENSSL_cleanse(check, sizeof(check));
	return rc;
}

struct ado_writer *ado_encrypt_writer_new(struct ado_writer *next, const unsigned char master[ADO_KEY_LEN],
					  const struct ado_kdf *kdf, const char *backup_id,
					  const char *artifact, struct ado_err *e)
{
	struct enc *s = calloc(1, sizeof(*s));
	struct ado_writer *w = NULL;
	unsigned char key[ADO_KEY_LEN];
	unsigned char *h;

	if (!s || !(s->buf = malloc(ADO_CRYPT_CHUNK))) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto fail;
	}
	if (kdf_check(kdf, e) < 0) {
		ado_err_prefix(e, "cannot encrypt '%s'", artifact ? artifact : "");
		goto fail;
	}
	h = s->header;
	memcpy(h, MAGIC, 8);
	h[8] = FORMAT_VERSION;
	h[9] = (unsigned char)kdf->kind;
	h[10] = kdf->log2n;
	h[11] = kdf->r;
	h[12] = kdf->p;
	put_be32(h + 16, ADO_CRYPT_CHUNK);
	memcpy(h + 20, kdf->salt, SALT_LEN);
	if (ado_random(h + 36, SALT_LEN, e) < 0 || artifact_keys(master, h + 36, key, h + 52, e) < 0)
		goto fail;
	if (chunker_init(&s->ch, h, key, 1, backup_id ? backup_id : "", artifact ? artifact : "", e) < 0)
		goto fail;
	OPENSSL_cleanse(key, sizeof(key));
	if (!(w = ado_writer_new(&enc_ops, s, next))) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto fail;
	}
	return w;
fail:
	OPENSSL_cleanse(key, sizeof(key));
	if (s) {
		struct ado_writer tmp = { .state = s };
		enc_free(&tmp);
	}
	return NULL;
}

/* ---------- decrypt writer ---------- */

struct dec {
	struct ado_keyring *k;	/* borrowed: must outlive the writer */
	char *backup_id, *artifact;
	unsigned char header[ADO_CRYPT_HEADER_LEN];
	size_t hlen;
	int ready;		/* header checked, key derived */
	struct chunker ch;
	unsigned char *buf;	/* sealed chunk + 1 byte of lookahead; decrypted in place */
	size_t len;
	int failed;
	struct ado_err err;
};

static int dec_fail(struct dec *s, struct ado_err *e)
{
	s->failed = 1;
	if (e)
		s->err = *e;
	return -1;
}

static int dec_start(struct dec *s, struct ado_err *e)
{
	unsigned char master[ADO_KEY_LEN], key[ADO_KEY_LEN], kcv[KCV_LEN];
	char subject[300], id[ADO_KEYID_LEN + 1];
	struct ado_kdf kdf;
	int rc = -1;

	snprintf(subject, sizeof(subject), "'%s'", s->artifact);
	if (ado_crypt_header_parse(s->header, sizeof(s->header), &kdf, e) < 0) {
		ado_err_prefix(e, "cannot decrypt '%s'", s->artifact);
		goto out;
	}
	if (keyring_master(s->k, &kdf, master, subject, e) < 0)
		goto out;
	if (artifact_keys(master, s->header + 36, key, kcv, e) < 0)
		goto out;
	if (CRYPTO_memcmp(kcv, s->header + 52, KCV_LEN) != 0) {
		ado_key_id(master, id);
		ado_err_set(e, ADO_E_WRONGKEY, 0, "wrong key: '%s' was encrypted with another key", s->artifact);
		ado_err_hint(e, "use the key whose id is in the manifest (key_id); the configured key's id "
			     "is %s (if that is the manifest's, this artifact's header is damaged: "
			     "use another copy)", id);
		goto out;
	}
	if (chunker_init(&s->ch, s->header, key, 0, s->backup_id, s->artifact, e) < 0)
		goto out;
	s->ready = 1;
	rc = 0;
out:
	OPENSSL_cleanse(master, sizeof(master));
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

/* Open the sealed chunk of n bytes at the start of buf; pass its plaintext
 * on only once the tag has verified. */
static int dec_chunk(struct ado_writer *w, struct dec *s, size_t n, int final, struct ado_err *e)
{
	unsigned long long off = ADO_CRYPT_HEADER_LEN + (unsigned long long)s->ch.index * SEALED_LEN;
	size_t clen = n - TAG_LEN;
	int outl = 0, fl = 0, good;

	if (n < TAG_LEN) {
		return ado_err_set(e, ADO_E_AUTH, 0, "authentication failed for '%s': truncated at chunk %llu "
				   "(offset %llu)", s->artifact, (unsigned long long)s->ch.index, off);
	}
	good = chunk_begin(&s->ch, final) == 0 &&
	       (clen == 0 || EVP_DecryptUpdate(s->ch.ctx, s->buf, &outl, s->buf, (int)clen) == 1) &&
	       EVP_CIPHER_CTX_ctrl(s->ch.ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, s->buf + clen) == 1 &&
	       EVP_DecryptFinal_ex(s->ch.ctx, s->buf + outl, &fl) == 1;
	if (!good) {
		OPENSSL_cleanse(s->buf, clen);	/* unauthenticated plaintext goes nowhere */
		ado_err_set(e, ADO_E_AUTH, 0, "authentication failed for '%s' at chunk %llu (offset %llu): "
			    "data corrupted, truncated, reordered or from another backup",
			    s->artifact, (unsigned long long)s->ch.index, off);
		return ado_err_hint(e, "check the backup id and artifact name against the manifest; "
				    "if they match, this copy is damaged: use another destination's copy");
	}
	if (ado_writer_write(w->next, s->buf, clen, e) < 0)
		return -1;
	s->ch.index++;
	return 0;
}

static int dec_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct dec *s = w->state;
	const unsigned char *p = buf;

	if (s->failed)
		return copy_err(e, &s->err);
	while (n > 0) {
		size_t take;
		if (!s->ready) {
			take = ADO_CRYPT_HEADER_LEN - s->hlen;
			if (take > n)
				take = n;
			memcpy(s->header + s->hlen, p, take);
			s->hlen += take;
			p += take;
			n -= take;
			if (s->hlen == ADO_CRYPT_HEADER_LEN && dec_start(s, e) < 0)
				return dec_fail(s, e);
			continue;
		}
		take = LOOKAHEAD_LEN - s->len;
		if (take > n)
			take = n;
		memcpy(s->buf + s->len, p, take);
		s->len += take;
		p += take;
		n -= take;
		if (s->len == LOOKAHEAD_LEN) {
			if (dec_chunk(w, s, SEALED_LEN, 0, e) < 0)
				return dec_fail(s, e);
			s->buf[0] = s->buf[SEALED_LEN];
			s->len = 1;
		}
	}
	return 0;
}

static int dec_close(struct ado_writer *w, struct ado_err *e)
{
	struct dec *s = w->state;

	if (s->failed)
		return copy_err(e, &s->err);
	if (!s->ready) {
		ado_crypt_header_parse(s->header, s->hlen, &(struct ado_kdf){ 0 }, e);
		ado_err_prefix(e, "cannot decrypt '%s'", s->artifact);
		return dec_fail(s, e);
	}
	/* what is left is the final chunk; if the stream was cut at a chunk
	 * boundary, it is a non-final chunk and its tag fails here */
	if (dec_chunk(w, s, s->len, 1, e) < 0)
		return dec_fail(s, e);
	s->len = 0;
	OPENSSL_cleanse(s->buf, LOOKAHEAD_LEN);
	return ado_writer_close(w->next, e);
}

static void dec_free(struct ado_writer *w)
{
	struct dec *s = w->state;

	if (!s)
		return;
	chunker_free(&s->ch);
	if (s->buf) {
		OPENSSL_cleanse(s->buf, LOOKAHEAD_LEN);
		free(s->buf);
	}
	free(s->backup_id);
	free(s->artifact);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

static const struct ado_writer_ops dec_ops = {
	.name = "decrypt",
	.write = dec_write,
	.close = dec_close,
	.free = dec_free,
};

struct ado_writer *ado_decrypt_writer_new(struct ado_writer *next, struct ado_keyring *k,
					  const char *backup_id, const char *artifact, struct ado_err *e)
{
	struct dec *s = calloc(1, sizeof(*s));
	struct ado_writer *w;

	if (!s || !(s->buf = malloc(LOOKAHEAD_LEN)) || !(s->backup_id = strdup(backup_id ? backup_id : "")) ||
	    !(s->artifact = strdup(artifact ? artifact : "")) || !(w = ado_writer_new(&dec_ops, s, next))) {
		if (s) {
			struct ado_writer tmp = { .state = s };
			dec_free(&tmp);
		}
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	s->k = k;
	return w;
}
