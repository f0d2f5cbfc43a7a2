/* fsutil.h - the few folder operations several parts need. */
#ifndef ADO_FSUTIL_H
#define ADO_FSUTIL_H

#include "base/error.h"

/* mkdir -p with mode (existing folders are fine). */
int ado_mkdirs(const char *path, int mode, struct ado_err *e);

/* Make a private scratch folder (0700) PREFIX.XXXXXX under base (NULL or "":
 * $TMPDIR, else /tmp); the caller frees the path and removes the tree with
 * ado_rm_rf. NULL on error. */
char *ado_mkdtemp(const char *base, const char *prefix, struct ado_err *e);

/* rm -rf: a missing path is fine; read-only folders inside are opened up
 * first. Goes on after an error and reports the last one. */
int ado_rm_rf(const char *path, struct ado_err *e);

#endif
