/* crypt.h - keys and the encrypted artifact format (see man/ado-format.5).
 *
 * An encrypted artifact is a 64-byte header followed by chunks of AES-256-GCM:
 * each chunk's nonce is its index, its AAD binds the header, the backup id,
 * the artifact name, the index and a final-chunk flag, so corruption,
 * truncation, reordering and swapping artifacts between backups are detected.
 * The data key is HKDF-SHA256(master, salt = artifact salt). The master key is
 * a 32-byte key file, or scrypt(passphrase) with the salt in the header.
 * Key material is wiped with OPENSSL_cleanse on every path. */
#ifndef ADO_CRYPT_H
#define ADO_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/random.h"
#include "io/io.h"

#define ADO_KEY_LEN 32
#define ADO_CRYPT_HEADER_LEN 64
#define ADO_CRYPT_CHUNK (1024 * 1024)
#define ADO_KEYID_LEN 16	/* hex characters */

/* How the master key of one backup run is obtained. */
struct ado_kdf {
	int kind;		/* 0 = raw key file, 1 = scrypt passphrase */
	uint8_t log2n, r, p;	/* scrypt parameters (default 2^17, 8, 1) */
	unsigned char salt[16];	/* scrypt salt, random per backup run */
};

/* A loaded key source: raw key or passphrase. Opaque; wiped on free. */
struct ado_keyring;

/* Key file: 32 raw bytes, or 64 hex digits (optionally followed by a newline).
 * Refused (ADO_E_CONFIG, with a chmod hint) when group or others may read it. */
int ado_keyring_from_file(const char *path, struct ado_keyring **out, struct ado_err *e);
/* Passphrase (copied; the caller wipes its own copy). Empty passphrase: ADO_E_CONFIG. */
int ado_keyring_from_passphrase(const char *pass, struct ado_keyring **out, struct ado_err *e);
/* From the config and environment: ADO_KEY_FILE / key_file, else the
 * passphrase variable (passphrase_env, default ADO_PASSPHRASE). Neither set:
 * ADO_E_CONFIG with a hint. */
int ado_keyring_from_config(const struct ado_config *c, struct ado_keyring **out, struct ado_err *e);
void ado_keyring_free(struct ado_keyring *k);

/* Choose the KDF parameters for a new backup run (fresh salt for passphrases). */
int ado_keyring_new_kdf(const struct ado_keyring *k, struct ado_kdf *kdf, struct ado_err *e);
/* Derive the master key for kdf (scrypt results are cached per salt). */
int ado_keyring_master(struct ado_keyring *k, const struct ado_kdf *kdf, unsigned char master[ADO_KEY_LEN],
		       struct ado_err *e);
/* Key id of a master key: 16 hex digits of SHA-256("ado-dr key id v1" || master). */
void ado_key_id(const unsigned char master[ADO_KEY_LEN], char out[ADO_KEYID_LEN + 1]);

/* HMAC-SHA256 of a manifest body under HKDF(master, info "ado-dr v1 manifest"); hex out. */
int ado_manifest_mac(const unsigned char master[ADO_KEY_LEN], const void *body, size_t n, char out[65],
		     struct ado_err *e);

/* Encrypting filter: writes the header then chunks into next. */
struct ado_writer *ado_encrypt_writer_new(struct ado_writer *next, const unsigned char master[ADO_KEY_LEN],
					  const struct ado_kdf *kdf, const char *backup_id,
					  const char *artifact, struct ado_err *e);
/* Decrypting filter: parses the header, derives the master key from k, checks
 * the key check value (mismatch: ADO_E_WRONGKEY, "wrong key: ..."), then
 * authenticates each chunk (failure: ADO_E_AUTH naming the chunk's offset);
 * a missing final chunk is ADO_E_AUTH "truncated". Nothing unauthenticated is
 * ever passed to next. */
struct ado_writer *ado_decrypt_writer_new(struct ado_writer *next, struct ado_keyring *k,
					  const char *backup_id, const char *artifact, struct ado_err *e);

/* Parse just the header of an encrypted artifact (for `ado-verify --level checksum`
 * and diagnostics). */
int ado_crypt_header_parse(const unsigned char *buf, size_t n, struct ado_kdf *kdf, struct ado_err *e);

#endif
