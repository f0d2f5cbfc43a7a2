/* schedule.h - the jobs' schedules handed to cron or systemd: the crontab
 * block that ado-backup --crontab prints and --install-crontab installs, and
 * the systemd service and timer of a job (ado-backup --systemd). */
#ifndef ADO_SCHEDULE_H
#define ADO_SCHEDULE_H

#include "base/error.h"
#include "base/json.h"
#include "config/config.h"

/* The first and last lines of ado-dr's block in a crontab. */
#define ADO_CRONTAB_BEGIN "# BEGIN ado-dr backup schedule"
#define ADO_CRONTAB_END "# END ado-dr backup schedule"

/* Absolute paths written into the generated lines. */
struct ado_sched_paths {
	const char *backup;	/* ado-backup */
	const char *notify;	/* ado-notify */
	const char *config;	/* the configuration file */
};

/* Append the crontab block for every job of cfg to out: the begin marker,
 * CRON_TZ=UTC and SHELL=/bin/sh, one line per scheduled job (a comment for a
 * job without a schedule), the end marker. Each line discards the references
 * on stdout, so a successful run prints nothing and cron mails nothing; a run
 * that exits non-zero (failed, partial, locked) calls ado-notify, and its
 * diagnostics on stderr reach cron's mail. Paths are shell-quoted and '%' is
 * escaped for cron. */
void ado_crontab_block(const struct ado_config *cfg, const struct ado_sched_paths *p, struct ado_buf *out);

/* out = old (a crontab, len bytes) without any ado-dr block, then block at
 * the end: variables set inside the block (CRON_TZ) then affect no foreign
 * line. Every other line is kept as it was. */
void ado_crontab_merge(const char *old, size_t len, const char *block, struct ado_buf *out);

/* Replace ado-dr's block in the crontab of user (NULL: the caller's) with
 * block, through crontab(1): `crontab [-u USER] -l`, merge, `crontab [-u
 * USER] -`. No crontab yet: one is created. Errors: ADO_E_CHILD (crontab
 * missing, or it refused; its message is quoted), ADO_E_NOMEM. */
int ado_crontab_install(const char *user, const char *block, struct ado_err *e);

/* Append the service and timer units of job to out, each introduced by a
 * "# FILE: ado-backup-JOB.service" line (so the text can be split). */
int ado_systemd_units(const struct ado_job *job, const struct ado_sched_paths *p, struct ado_buf *out,
		      struct ado_err *e);

#endif
