/* lib/format/ - the on-disk format of man/ado-format.5: the manifest and the
 * encrypted artifact (crypt: keys, AES-256-GCM chunks, HMAC). May include:
 * base/, config/, io/. */

/* manifest.h - the manifest of one backup (DEST/JOB/ID/manifest.json).
 *
 * Written last and atomically: a backup is complete only when its manifest
 * exists. JSON; when the job is encrypted its last member "hmac" authenticates
 * every byte before it (see man/ado-format.5). */
#ifndef ADO_MANIFEST_H
#define ADO_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "format/crypt.h"
#include "base/error.h"

#define ADO_MANIFEST_NAME "manifest.json"
#define ADO_SUMS_NAME "SHA256SUMS"
#define ADO_MANIFEST_MAX (64 * 1024 * 1024)

struct ado_table_count {
	char *name;		/* as listed (or schema.table for whole-database dumps) */
	int64_t rows;
};

struct ado_artifact {
	char *name;		/* file name in the backup folder, e.g. "files-etc-ado-config.tar.zst.enc" */
	char *target;		/* target base name ("files-etc-ado-config") */
	char *kind;		/* "files", "files-index" or "database" */
	char *source;		/* FILES: the path; DATABASE: the database name */
	char *format;		/* "tar" (pax), "tsv" (files index), "pg_dump-custom" */
	enum ado_compression compression;
	int encrypted;
	uint64_t stored_size;
	char stored_sha256[65];
	uint64_t plain_size;
	char plain_sha256[65];	/* "" when not recorded: only a files tar with an index (its files' hashes) */
	uint64_t file_count;	/* FILES: entries in the tar */
	char *index;		/* FILES: name of the index artifact listing each file's size and hash */
	/* DATABASE */
	char *server_version;
	char *pg_dump_version;
	struct ado_table_count *tables;
	size_t ntables;
	int whole_database;
};

struct ado_manifest {
	int format;		/* 1 */
	char *job;
	char *id;		/* YYYYMMDDTHHMMSSZ (UTC), sortable */
	time_t started, finished;
	char *tool_version;
	char *host;
	int encrypted;
	struct ado_kdf kdf;	/* when encrypted */
	char key_id[ADO_KEYID_LEN + 1];
	struct ado_artifact *artifacts;
	size_t nartifacts;
	char **warnings;	/* files that changed while read, etc. */
	size_t nwarnings;
	char **failed_targets;	/* targets of the job that failed in this run: the backup is partial */
	size_t nfailed_targets;
	long long rpo, rto;	/* copied from the job at backup time (seconds, 0 = none) */
};

struct ado_manifest *ado_manifest_new(void);
void ado_manifest_free(struct ado_manifest *m);
/* Append a zeroed artifact and return it (NULL on out of memory). */
struct ado_artifact *ado_manifest_add_artifact(struct ado_manifest *m);
int ado_manifest_add_warning(struct ado_manifest *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record that target `name` failed in this run ("failed_targets"). */
int ado_manifest_add_failed_target(struct ado_manifest *m, const char *name);
const struct ado_artifact *ado_manifest_find(const struct ado_manifest *m, const char *name);
/* The files-index artifact of m that a's index names, or NULL (no index, or
 * it names no files-index artifact). */
const struct ado_artifact *ado_manifest_index_of(const struct ado_manifest *m, const struct ado_artifact *a);

/* Serialize. master may be NULL for an unencrypted backup (then "hmac": null). */
int ado_manifest_serialize(const struct ado_manifest *m, const unsigned char *master, char **out, size_t *len,
			   struct ado_err *e);

/* Parse. If the manifest says it is encrypted and k is given, the HMAC is
 * checked over every byte of buf (ADO_E_AUTH on a mismatch or on any byte
 * after the hmac line, ADO_E_WRONGKEY if the key id differs); with k NULL
 * the HMAC is not checked and *authenticated is set to 0. require_auth: the
 * caller knows the backup must be authenticated (its job is encrypted, or a
 * key is loaded), so a manifest that claims no encryption is ADO_E_AUTH,
 * whatever else it says. Malformed: ADO_E_FORMAT naming what. */
int ado_manifest_parse(const char *buf, size_t len, struct ado_keyring *k, int require_auth,
		       struct ado_manifest **out, int *authenticated, struct ado_err *e);

/* The SHA256SUMS text for the artifacts ("HEX  NAME\n" each). */
int ado_manifest_sums(const struct ado_manifest *m, char **out, size_t *len, struct ado_err *e);

/* Backup id for a time: "20261125T221500Z". out >= 17 bytes. */
void ado_backup_id(time_t t, char *out, size_t len);
/* Parse a backup id back to a time; -1 if it is not one. */
time_t ado_backup_id_time(const char *id);

#endif
