/* verify.h - check one backup at a level:
 *   checksum: the stored bytes of every artifact against the manifest and SHA256SUMS;
 *   read:     also decrypt and decompress everything (every GCM tag, the plaintext hashes);
 *   restore:  also restore into a temporary folder / database and compare with what
 *             the backup recorded (each file's size and hash; each table's row count).
 * Temporary folders and databases are removed on every path, Ctrl-C included. */
#ifndef ADO_VERIFY_H
#define ADO_VERIFY_H

#include "config/config.h"
#include "format/crypt.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "store/store.h"

enum ado_verify_level { ADO_VERIFY_CHECKSUM, ADO_VERIFY_READ, ADO_VERIFY_RESTORE };

struct ado_verify_opts {
	enum ado_verify_level level;
	struct ado_keyring *keyring;	/* NULL: encrypted backups can only be checked at checksum level */
	const char *tmp_dir;		/* where scratch folders go (default $TMPDIR or /tmp) */
	const char *scratch_db;		/* conninfo of a scratch server for database restores; NULL: the configured one */
	long min_tables;		/* database restores: at least this many tables (0: no check) */
	struct ado_meter *meter;	/* progress (io.h); NULL: none */
};

struct ado_verify_result {
	uint64_t artifacts, bytes, files, tables;
	int authenticated;		/* the manifest's HMAC was checked */
	char missing[512];		/* targets that failed at backup time ("a,b"): a partial backup */
};

struct ado_manifest;
struct ado_artifact;
struct ado_files_stats;

/* Extract files artifact a into the existing folder dir and check the tree
 * against its index, then the index's entry count against the manifest's
 * file_count: what verify does in a scratch folder and restore beside the
 * target, so the two agree. warn (may be NULL) hears each mismatch and what
 * the backup recorded (files left out, files that changed while read);
 * cs gets the check's counts; meter (may be NULL) the bytes and files. */
int ado_files_extract_check(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
			    struct ado_keyring *k, const char *dir, int preserve_owner,
			    void (*warn)(void *arg, const char *msg), void *arg, struct ado_files_stats *cs,
			    struct ado_meter *meter, struct ado_err *e);

/* 0: the backup passed. -1: it failed (e says why: ADO_E_INTEGRITY, ADO_E_AUTH,
 * ADO_E_WRONGKEY, ADO_E_NOTFOUND for an incomplete backup, ...), or its test
 * could not run: ADO_E_UNCHECKED (the server is down or refuses the login, no
 * CREATEDB, no scratch folder) says nothing about the backup's bytes.
 * Warnings (files that differ, ...) are logged as they are found. */
int ado_verify_backup(const struct ado_config *cfg, struct ado_store *s, const char *job, const char *id,
		      const struct ado_verify_opts *o, struct ado_verify_result *res, struct ado_err *e);


#endif
