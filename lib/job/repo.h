/* lib/job/ - one job each, over the layers below: backup, verify, restore
 * (files and databases), the layout of backups in a store (repo), and what
 * every tool's main() does alike (cli). Nothing here prints to stdout or
 * exits: the tools report. May include every folder below it: base/,
 * config/, io/, format/, source/, store/, net/, notify/. */

/* repo.h - the layout of backups in a store, shared by backup, verify and restore:
 *   JOB/ID/ARTIFACT...   JOB/ID/SHA256SUMS   JOB/ID/manifest.json (last: the commit)
 * and the read chain: stored bytes -> sha256 -> decrypt -> decompress -> sha256 -> sink. */
#ifndef ADO_REPO_H
#define ADO_REPO_H

#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "format/crypt.h"
#include "base/error.h"
#include "format/manifest.h"
#include "store/store.h"

struct ado_backup_info {
	char id[20];
	time_t time;		/* from the id */
	int complete;		/* manifest.json exists */
};

/* Backups of job in s, sorted oldest first. *out is malloc'd (free it). */
int ado_repo_list(struct ado_store *s, const char *job, struct ado_backup_info **out, size_t *n, struct ado_err *e);

/* Open destination d of cfg and list job's backups there (ado_repo_list).
 * On failure *s is NULL and nothing needs freeing. */
int ado_repo_open_list(const struct ado_config *cfg, const struct ado_dest *d, const char *job, struct ado_store **s,
		       struct ado_backup_info **out, size_t *n, struct ado_err *e);

/* Reference "DEST/JOB/ID" -> a store for DEST plus job and id. DEST is a local
 * folder, or the URL of a configured destination. */
int ado_ref_parse(const char *ref, const struct ado_config *cfg, struct ado_store **store, char **job, char **id,
		  struct ado_err *e);
/* "DEST/JOB/ID" for printing (one '/' after DEST whether or not it ends in
 * one); caller frees; NULL on out of memory. ado_ref_make uses the store's root. */
char *ado_ref_join(const char *dest, const char *job, const char *id);
char *ado_ref_make(const struct ado_store *s, const char *job, const char *id);

/* Read and parse JOB/ID/manifest.json; missing: ADO_E_NOTFOUND "backup 'REF' is incomplete: no manifest". */
int ado_repo_manifest(struct ado_store *s, const char *job, const char *id, struct ado_keyring *k,
		      struct ado_manifest **out, int *authenticated, struct ado_err *e);

enum ado_read_depth {
	ADO_READ_STORED,	/* stored bytes only (checksum level) */
	ADO_READ_PLAIN,		/* decrypt and decompress, push plaintext into the sink */
};

/* Stream one artifact through the read chain into sink (which is closed;
 * may be NULL for ADO_READ_STORED), then compare sizes and hashes with the
 * manifest: ADO_E_INTEGRITY naming the artifact on any difference. The sink
 * is owned by the chain (freed here). */
int ado_repo_read_artifact(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
			   struct ado_keyring *k, enum ado_read_depth depth, struct ado_writer *sink,
			   struct ado_err *e);

/* 1 when backup JOB/ID in s holds target `target` (an artifact of that
 * target name: a partial backup lacks the targets that failed), 0 when not or
 * when its manifest cannot be read (read unauthenticated: for choosing only). */
int ado_repo_holds(struct ado_store *s, const char *job, const char *id, const char *target);

/* Check JOB/ID/SHA256SUMS lists exactly the manifest's artifacts and hashes. */
int ado_repo_check_sums(struct ado_store *s, const struct ado_manifest *m, struct ado_err *e);

#endif
