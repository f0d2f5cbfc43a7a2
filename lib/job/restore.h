/* restore.h - pick a backup and bring it back: files into a folder (extract
 * into a temporary sibling, check against the index, then swap; the old
 * folder is moved aside, never deleted), one artifact's plaintext to a file
 * descriptor (the break-glass path), databases via dbrestore.h. */
#ifndef ADO_RESTORE_H
#define ADO_RESTORE_H

#include <time.h>

#include "config/config.h"
#include "format/crypt.h"
#include "base/error.h"
#include "format/manifest.h"
#include "job/repo.h"
#include "store/store.h"

typedef void (*ado_say_fn)(void *arg, const char *msg);

/* Format one step message and hand it to fn (nothing when fn is NULL). */
void ado_sayf(ado_say_fn fn, void *arg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Every backup of job (or of every job when job is NULL) on every destination
 * of the config (or only on destination `from`, as written in the config or
 * as the store names itself, when not NULL: the others are not contacted), in
 * config order, oldest first per destination. */
typedef void (*ado_list_fn)(void *arg, const struct ado_store *s, const char *job, const struct ado_backup_info *b);
int ado_restore_list(const struct ado_config *cfg, const char *job, const char *from, ado_list_fn fn, void *arg,
		     struct ado_err *e);

/* Choose a complete backup of job: backup_id ("latest" or NULL for the
 * newest, or an exact id), optionally the newest at or before `before`
 * (0 = no limit), holding target `target` when not NULL (needs the key to
 * read manifests of encrypted backups: k may be NULL, then the manifest is
 * read unauthenticated for this choice only). Destinations are tried in
 * config order (put the local one first). Opens *store. */
int ado_restore_select(const struct ado_config *cfg, const char *job, const char *backup_id, time_t before,
		       const char *target, const char *from, struct ado_keyring *k, struct ado_store **store,
		       char **id, struct ado_err *e);
/* from: NULL for every destination of the job, or one of their URLs (as
 * written, or as the store shows it; a trailing '/' does not matter). */
int ado_restore_dest_is(const struct ado_store *s, const struct ado_dest *d, const char *from);
/* 0 when from is NULL or a destination of job (of any job when job is NULL);
 * else -1 with ADO_E_USAGE naming it, and a hint. */
int ado_restore_from_check(const struct ado_config *cfg, const char *job, const char *from, struct ado_err *e);

/* Does artifact a belong to the target the user named: its target name
 * ("files-etc-ado-config", "db-ado_primary"), its source ("ado_primary",
 * "/etc/ado/config/"), or that source without its trailing '/'? NULL matches all. */
int ado_artifact_matches(const struct ado_artifact *a, const char *target);

/* The same backup (job/id) on the next destination of the job after the one
 * whose root is after_url, complete there: for when a copy fails its checks.
 * Returns 1 and opens *store, 0 when there is no further copy. */
int ado_restore_next_copy(const struct ado_config *cfg, const char *job, const char *id, const char *after_url,
			  struct ado_store **store);

/* Did err come from a damaged copy (worth trying another destination's)? */
int ado_restore_copy_damaged(const struct ado_err *err);

/* A time for --before: RFC 3339 with Z or an offset ("2026-11-30T11:55:30+01:00"),
 * a date and time without a zone or a date alone (local time: "2026-11-25 22:15",
 * "2026-11-25"), "N minutes|hours|days ago" (any ado_duration_parse duration),
 * or a backup id (UTC). Else -1 with ADO_E_USAGE and a hint. */
int ado_parse_time(const char *s, time_t *out, struct ado_err *e);

/* "backup JOB/ID (taken TIME, destination URL)": every restore names the one it used. */
void ado_restore_describe(const struct ado_store *s, const struct ado_manifest *m, char *out, size_t len);

/* The time of this restore as a backup-id-shaped stamp (20261126T101500Z):
 * what is moved aside is named by it, never by the backup's id. */
void ado_restore_stamp(char *out, size_t len);

struct ado_files_restore_opts {
	int force;		/* a non-empty folder is moved aside to DIR.before-<restore time> */
	int dry_run;
	ado_say_fn say;
	void *say_arg;
	char *aside_out;	/* when not NULL: the name the old copy was moved to ("" if none) */
	size_t aside_len;
	struct ado_meter *meter;	/* progress of the extraction (io.h); NULL: none */
};

/* Restore files artifact a into dir (see above). */
int ado_restore_files(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
		      struct ado_keyring *k, const char *dir, const struct ado_files_restore_opts *o,
		      struct ado_err *e);

/* Write the plaintext of artifact `name` to fd (not closed). */
int ado_restore_cat(struct ado_store *s, const struct ado_manifest *m, const char *name, struct ado_keyring *k,
		    int fd, struct ado_err *e);

#endif
