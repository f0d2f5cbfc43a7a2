/* restore.h - what ado-restore's two files share: main.c (options, one
 * backup) and parts.c (one database from several jobs' backups). */
#ifndef ADO_RESTORE_TOOL_H
#define ADO_RESTORE_TOOL_H

#include <time.h>

#include "config/config.h"
#include "format/crypt.h"
#include "job/dbrestore.h"

extern int json_out;
/* a step: to stdout, or to stderr when stdout carries --json */
void say(void *arg, const char *msg);
/* the yes on a terminal that replacing a live database needs without --force */
int confirm(void *arg, const char *question);

/* the database restore options every restore shares */
struct ado_db_restore_opts db_opts(const char *to_db, int pjobs, int force, int dry, char *aside, size_t len);

/* --job A --job B ... --target DB: the newest complete backup of each job
 * that holds DB (at or before `before` when not 0), rebuilt into one
 * database. Returns the exit status. */
int restore_parts(const struct ado_config *cfg, char *const *jobs, size_t njobs, time_t before, const char *target,
		  const char *to_db, int pjobs, int force, int dry, struct ado_keyring *k);

#endif
