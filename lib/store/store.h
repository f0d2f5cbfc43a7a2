/* lib/store/ - storage drivers behind one table of function pointers (local,
 * and the remote ones beside it). A driver moves bytes and lists names; it
 * knows nothing of jobs or manifests. May include: base/, config/, io/, net/
 * (the shared HTTP layer). */

/* store.h - storage drivers behind one table of function pointers.
 *
 * A store is rooted at a destination (a local folder, an S3 bucket+prefix, an
 * Azure container+prefix). Paths given to it are relative, '/'-separated
 * ("critical_data/20261125T221500Z/manifest.json").
 *
 * open_write returns a writer whose data becomes visible under `path` only
 * when ado_writer_close() succeeds (local: temp name, fsync, rename, fsync the
 * folder; S3/Azure: the upload is committed at close). Freeing a writer that
 * was not closed aborts it and leaves nothing at `path`. */
#ifndef ADO_STORE_H
#define ADO_STORE_H

#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "base/error.h"
#include "io/io.h"

struct ado_store;

struct ado_store_entry {
	const char *name;	/* one path component below the listed folder */
	int is_dir;
	uint64_t size;
	time_t mtime;
};

/* Flags of open_write. */
#define ADO_STORE_WRITE_META 1u	/* a small object read without a thaw (manifest, sums, index):
				 * archive tiers keep it in the online class */

/* Whether an object can be read now (archive tiers: S3 Glacier, Azure Archive). */
enum ado_readable {
	ADO_READABLE_ONLINE,	/* readable */
	ADO_READABLE_ARCHIVED,	/* archived; no restore requested (or it expired) */
	ADO_READABLE_RESTORING,	/* a restore was requested and is not done yet */
};

/* Called per entry; return non-zero to stop listing. */
typedef int (*ado_store_list_cb)(const struct ado_store_entry *ent, void *arg);

struct ado_store_ops {
	const char *scheme;	/* "local", "s3", "azure" */
	int (*open_write)(struct ado_store *s, const char *path, unsigned flags, struct ado_writer **out,
			  struct ado_err *e);
	int (*open_read)(struct ado_store *s, const char *path, struct ado_reader **out, struct ado_err *e);
	/* entries directly below folder `dir` ("" = the root); missing dir: 0 entries */
	int (*list)(struct ado_store *s, const char *dir, ado_store_list_cb cb, void *arg, struct ado_err *e);
	/* remove one object; a missing one is not an error */
	int (*remove)(struct ado_store *s, const char *path, struct ado_err *e);
	/* remove a folder and all below it (local); S3/Azure: every object with that prefix */
	int (*remove_tree)(struct ado_store *s, const char *dir, struct ado_err *e);
	/* 1 exists, 0 not, -1 error; size may be NULL */
	int (*exists)(struct ado_store *s, const char *path, uint64_t *size, struct ado_err *e);
	/* Optional (NULL: the caller lists folder by folder): every object below
	 * folder dir, at any depth, its name the path below dir ("ID/manifest.json");
	 * one paged listing where the folder-by-folder way costs a request per folder */
	int (*list_tree)(struct ado_store *s, const char *dir, ado_store_list_cb cb, void *arg, struct ado_err *e);
	/* Optional (NULL: every object is online): can path be read now? */
	int (*readable)(struct ado_store *s, const char *path, enum ado_readable *state, struct ado_err *e);
	/* Optional (NULL: nothing to do): ask for an archived object to be readable
	 * for `days` days; tier "Standard", "Bulk" or "Expedited" (drivers map it).
	 * Asking again while a restore runs is not an error. */
	int (*thaw)(struct ado_store *s, const char *path, int days, const char *tier, struct ado_err *e);
	/* Optional (NULL: nothing to do): abandon uploads an earlier run left
	 * unfinished below folder dir (S3 multipart uploads, Azure blobs with
	 * uncommitted blocks only); returns how many. */
	int (*clean_uploads)(struct ado_store *s, const char *dir, struct ado_err *e);
	void (*free)(struct ado_store *s);
};

struct ado_store {
	const struct ado_store_ops *ops;
	char *url;		/* display form of the root, used in references */
	void *state;
};

/* Open the driver for a destination. S3/Azure settings come from cfg. A
 * destination kind whose driver is not built: ADO_E_UNSUPPORTED. */
int ado_store_open(const struct ado_dest *d, const struct ado_config *cfg, struct ado_store **out,
		   struct ado_err *e);
/* An Azure Blob store (azblob://CONTAINER/PREFIX/; store/azure.c): credentials
 * from cfg's storage.azure and the AZURE_STORAGE_* variables (store/azure.h). */
int ado_store_azure_open(const struct ado_dest *d, const struct ado_config *cfg, struct ado_store **out,
			 struct ado_err *e);
/* A local store rooted at dir (creating nothing). */
int ado_store_local_open(const char *dir, struct ado_store **out, struct ado_err *e);
void ado_store_free(struct ado_store *s);

/* Convenience wrappers. */
int ado_store_open_write(struct ado_store *s, const char *path, unsigned flags, struct ado_writer **out,
			 struct ado_err *e);
int ado_store_open_read(struct ado_store *s, const char *path, struct ado_reader **out, struct ado_err *e);
/* The pid in a local writer's temporary name ("NAME.tmp.PID.XXXXXXXX"), or 0
 * when name is not one: a run that died leaves these behind. */
long ado_store_tmp_pid(const char *name);

int ado_store_list(struct ado_store *s, const char *dir, ado_store_list_cb cb, void *arg, struct ado_err *e);
/* The optional list_tree: 1 (nothing listed) when the driver has none. */
int ado_store_list_tree(struct ado_store *s, const char *dir, ado_store_list_cb cb, void *arg, struct ado_err *e);
int ado_store_remove(struct ado_store *s, const char *path, struct ado_err *e);
int ado_store_remove_tree(struct ado_store *s, const char *dir, struct ado_err *e);
int ado_store_exists(struct ado_store *s, const char *path, uint64_t *size, struct ado_err *e);
/* The optional ops, with their defaults when a driver has none. */
int ado_store_readable(struct ado_store *s, const char *path, enum ado_readable *state, struct ado_err *e);
int ado_store_thaw(struct ado_store *s, const char *path, int days, const char *tier, struct ado_err *e);
int ado_store_clean_uploads(struct ado_store *s, const char *dir, struct ado_err *e);
/* Read a whole small object (at most max bytes) into a new NUL-terminated buffer. */
int ado_store_read_all(struct ado_store *s, const char *path, size_t max, char **out, size_t *len,
		       struct ado_err *e);
/* Write a whole small object atomically (with ADO_STORE_WRITE_META: it is metadata). */
int ado_store_write_all(struct ado_store *s, const char *path, const void *buf, size_t len, struct ado_err *e);

#endif
