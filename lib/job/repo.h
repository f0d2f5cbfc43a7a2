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
	int damaged;		/* set by ado_repo_inspect: the manifest exists but is empty or unreadable */
	char reason[512];	/* why it is damaged */
};

/* The backup folders of job in s, sorted oldest first, without looking into
 * them (complete is 0 in every entry): one listing, for cheap checks. */
int ado_repo_list_ids(struct ado_store *s, const char *job, struct ado_backup_info **out, size_t *n,
		      struct ado_err *e);

/* Read b's manifest, unauthenticated (to list or choose, not to trust), and
 * set b->damaged and b->reason when it cannot be read or parsed. Nothing for
 * an incomplete backup. *m (m may be NULL) gets the parsed manifest, or NULL.
 * Returns 0 when the manifest is good, -1 otherwise. */
int ado_repo_inspect(struct ado_store *s, const char *job, struct ado_backup_info *b, struct ado_manifest **m);

/* What a listing says of b: "incomplete", "damaged" (after ado_repo_inspect)
 * or "complete". */
const char *ado_backup_state(const struct ado_backup_info *b);

/* The newest backup of job in s whose manifest exists and parses (read
 * unauthenticated, as for a listing): one listing, then manifests newest first,
 * so a healthy job costs one listing and one small read however many backups
 * are kept. 1 and *out filled (and *m, when m is not NULL, the manifest: free
 * it), 0 when there is none, -1 with e when the store cannot be read. */
int ado_repo_newest(struct ado_store *s, const char *job, struct ado_backup_info *out, struct ado_manifest **m,
		    struct ado_err *e);

/* Backups of job in s, sorted oldest first. *out is malloc'd (free it). */
int ado_repo_list(struct ado_store *s, const char *job, struct ado_backup_info **out, size_t *n, struct ado_err *e);

/* Open destination d of cfg and list job's backups there (ado_repo_list).
 * On failure *s is NULL and nothing needs freeing. */
int ado_repo_open_list(const struct ado_config *cfg, const struct ado_dest *d, const char *job, struct ado_store **s,
		       struct ado_backup_info **out, size_t *n, struct ado_err *e);

/* A reference -> a store (caller frees) plus job and id (malloc'd). Forms:
 *   DEST/JOB/ID      that copy, whatever its state (DEST: a local folder or
 *                    a destination's URL);
 *   JOB/ID           JOB of cfg: the first of its destinations (config order,
 *                    at most ADO_REF_MAX_DESTS) holding a complete copy;
 *   JOB/PREFIX, DEST/JOB/PREFIX   the one complete backup whose id starts
 *                    with PREFIX ('T' and 'Z' optional: 2026113010).
 * A resolved form is told with ado_notice ("'REF' is 'DEST/JOB/ID'"), at the
 * tool's log level. Work: one listing per destination and a manifest check
 * (stat or HEAD) per matching id; no manifest is read.
 * Errors: ADO_E_USAGE for a malformed reference, an unknown job (did-you-mean
 * in the hint), an ambiguous prefix (the candidates in the hint) or one that
 * matches no complete backup (the nearest id in the hint); when nothing
 * matched and a destination could not be listed, that error (its kind). */
#define ADO_REF_MAX_DESTS 16
int ado_ref_parse(const char *ref, const struct ado_config *cfg, struct ado_store **store, char **job, char **id,
		  struct ado_err *e);
/* "DEST/JOB/ID" for printing (one '/' after DEST whether or not it ends in
 * one); caller frees; NULL on out of memory. ado_ref_make uses the store's root. */
char *ado_ref_join(const char *dest, const char *job, const char *id);
char *ado_ref_make(const struct ado_store *s, const char *job, const char *id);

/* Must job's manifests be authenticated? Yes when cfg (may be NULL) configures
 * job with encryption, or when a key is loaded (k) and cfg does not configure
 * job without encryption. What a manifest says about itself never counts. */
int ado_repo_auth_required(const struct ado_config *cfg, const char *job, const struct ado_keyring *k);

/* Read and parse JOB/ID/manifest.json; missing: ADO_E_NOTFOUND "backup 'REF'
 * is incomplete: no manifest". require_auth as for ado_manifest_parse (use
 * ado_repo_auth_required; 0 only to read for a listing or a choice). */
int ado_repo_manifest(struct ado_store *s, const char *job, const char *id, struct ado_keyring *k,
		      int require_auth, struct ado_manifest **out, int *authenticated, struct ado_err *e);

enum ado_read_depth {
	ADO_READ_STORED,	/* stored bytes only (checksum level) */
	ADO_READ_PLAIN,		/* decrypt and decompress, push plaintext into the sink */
};

/* Stream one artifact through the read chain into sink (which is closed;
 * may be NULL for ADO_READ_STORED), then compare sizes and hashes with the
 * manifest: ADO_E_INTEGRITY naming the artifact on any difference. A files
 * tar without plain_sha256 has its plaintext counted, not hashed (its index
 * checks each file: the caller's part); any other artifact without one is
 * ADO_E_INTEGRITY before anything is read. The sink is owned by the chain
 * (freed here, on every path). */
int ado_repo_read_artifact(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
			   struct ado_keyring *k, enum ado_read_depth depth, struct ado_writer *sink,
			   struct ado_err *e);
/* The same, counting the stored bytes read and the plaintext into meter (may be NULL). */
int ado_repo_read_artifact_metered(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
				   struct ado_keyring *k, enum ado_read_depth depth, struct ado_writer *sink,
				   struct ado_meter *meter, struct ado_err *e);

/* Which of job's targets (the first 64) backup ID in s holds: bit t set when
 * it has an artifact of target t's name (a partial backup lacks the targets
 * that failed). 0 when its manifest cannot be read. The manifest is read once,
 * unauthenticated: for choosing only. */
uint64_t ado_repo_held_targets(struct ado_store *s, const struct ado_job *job, const char *id);

/* Check JOB/ID/SHA256SUMS lists exactly the manifest's artifacts and hashes. */
int ado_repo_check_sums(struct ado_store *s, const struct ado_manifest *m, struct ado_err *e);

/* Archive tiers (S3 Glacier, Azure Archive). Artifacts that are metadata
 * (the files index) are never archived; the others may be.
 * ado_repo_check_readable: 0 when every artifact of m (those of `target`
 * only, when not NULL) can be read now; else -1 with ADO_E_ARCHIVED, one
 * message naming the backup and whether a restore request is still running,
 * and the exact command to request it as the hint. */
int ado_repo_check_readable(const struct ado_config *cfg, struct ado_store *s, const struct ado_manifest *m,
			    const char *target, struct ado_err *e);
/* Request every archived artifact of m (of target) for `days` days at
 * `tier`; returns how many were requested (0: all online), or -1. */
int ado_repo_thaw(struct ado_store *s, const struct ado_manifest *m, const char *target, int days, const char *tier,
		  struct ado_err *e);
/* Poll every `interval` seconds, at most max_wait seconds, until every
 * artifact is readable; progress(arg, ready, total) after each poll.
 * Timeout: ADO_E_ARCHIVED. */
/* Is artifact a archived in s (not readable now)? 0 no; 1 yes and present at
 * its manifest size; -1 with e (ADO_E_INTEGRITY when its size differs). */
int ado_repo_archived(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
		      struct ado_err *e);
typedef void (*ado_progress_fn)(void *arg, size_t ready, size_t total);
int ado_repo_wait_readable(struct ado_store *s, const struct ado_manifest *m, const char *target, long max_wait,
			   long interval, ado_progress_fn progress, void *arg, struct ado_err *e);

#endif
