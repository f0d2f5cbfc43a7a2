/* freshness.h - the RPO watch: how old is the newest complete backup of each
 * job on each of its destinations, against the job's target. It lists folders
 * and looks for manifests, newest first, and reads no backup data: cheap
 * enough for cron every five minutes, also on remote stores. */
#ifndef ADO_FRESHNESS_H
#define ADO_FRESHNESS_H

#include <time.h>

#include "config/config.h"
#include "base/error.h"

enum ado_fresh_state {
	ADO_FRESH_OK,		/* newest complete backup within target + grace */
	ADO_FRESH_STALE,	/* older than target + grace */
	ADO_FRESH_NONE,		/* no complete backup on this destination at all */
	ADO_FRESH_UNCHECKED,	/* the destination could not be listed (err says why) */
	ADO_FRESH_UNWATCHED,	/* the job has neither rpo: nor schedule: nothing to compare */
};

struct ado_fresh_row {
	const char *job;
	const char *dest;	/* the destination as written in the config */
	enum ado_fresh_state state;
	time_t newest;		/* time of the newest complete backup; 0 if none */
	char id[20];		/* its id; "" if none */
	long long age;		/* now - newest; -1 if none */
	long long target;	/* seconds; 0 when unwatched */
	const char *target_from;	/* "rpo" (the job's rpo:) or "schedule" (longest gap of its cron) */
	struct ado_err err;	/* ADO_FRESH_UNCHECKED: why */
};

typedef void (*ado_fresh_fn)(const struct ado_fresh_row *row, void *arg);

/* The job's RPO target in seconds: its rpo: when set, else the longest gap
 * between two runs of its schedule (*\/15 -> 15 minutes, hourly -> 1 hour,
 * daily -> 24 hours: the plan's tiers), else 0. *from says which ("rpo",
 * "schedule") or NULL. */
long long ado_job_rpo_target(const struct ado_job *jb, time_t now, const char **from);

/* Call fn once per destination of job: a row as above. A row is stale when
 * its age exceeds target + grace (grace absorbs the run's own duration and a
 * watch that fires at the same minute as the backup). Returns 0 (the rows
 * carry the results), or -1 on out of memory. */
int ado_fresh_check(const struct ado_config *cfg, const struct ado_job *job, time_t now, long long grace,
		    ado_fresh_fn fn, void *arg, struct ado_err *e);

#endif
