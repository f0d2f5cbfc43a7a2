/* lock.h - one lock per job (flock on STATE_DIR/locks/JOB.lock, holding the
 * holder's pid), so a cron run that overlaps a slow one exits at once. The
 * kernel drops the lock when the process dies: kill -9 leaves no stale lock. */
#ifndef ADO_LOCK_H
#define ADO_LOCK_H

#include "base/error.h"
#include "base/fsutil.h"

struct ado_lock;

/* Take the lock or fail with ADO_E_LOCKED "job 'X' is already running (pid N)".
 * Creates STATE_DIR/locks (0700) as needed; an unwritable state dir is
 * ADO_E_CONFIG with a hint naming state_dir / ADO_STATE_DIR. A state or
 * locks folder writable by group or others, or owned by a user other than
 * this one or root, is ADO_E_CONFIG ("... is writable by others", "... is
 * owned by another user"); so is a lock file that is a symlink (opened with
 * O_NOFOLLOW, never followed) or not a regular file. The lock fd is O_CLOEXEC. */
int ado_lock_job(const char *state_dir, const char *job, struct ado_lock **out, struct ado_err *e);
void ado_lock_release(struct ado_lock *l);

/* No process has this pid on this machine (so what it left is garbage). */
int ado_pid_gone(long pid);


#endif
