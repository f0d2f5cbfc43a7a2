/* freshness.c - see freshness.h. */
#include "job/freshness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/repo.h"
#include "store/store.h"

long long ado_job_rpo_target(const struct ado_job *jb, time_t now, const char **from)
{
	long long gap;

	if (from)
		*from = NULL;
	if (jb->rpo > 0) {
		if (from)
			*from = "rpo";
		return jb->rpo;
	}
	if (!jb->schedule)
		return 0;
	gap = ado_cron_max_gap(&jb->cron, now);
	if (gap <= 0)
		return 0;
	if (from)
		*from = "schedule";
	return gap;
}

int ado_fresh_check(const struct ado_config *cfg, const struct ado_job *job, time_t now, long long grace,
		    ado_fresh_fn fn, void *arg, struct ado_err *e)
{
	const char *from = NULL;
	long long target = ado_job_rpo_target(job, now, &from);

	for (size_t d = 0; d < job->ndests; d++) {
		struct ado_fresh_row row;
		struct ado_backup_info b;
		struct ado_store *s = NULL;
		int found = 0;

		memset(&row, 0, sizeof(row));
		row.job = job->name;
		row.dest = job->dests[d].url;
		row.age = -1;
		row.target = target;
		row.target_from = from;
		ado_err_clear(&row.err);
		if (ado_store_open(&job->dests[d], cfg, &s, &row.err) < 0 ||
		    (found = ado_repo_newest(s, job->name, &b, NULL, &row.err)) < 0) {
			if (row.err.kind == ADO_E_NOMEM) {
				ado_store_free(s);
				return ado_err_set(e, ADO_E_NOMEM, 0, "%s", row.err.msg);
			}
			row.state = ADO_FRESH_UNCHECKED;
		} else if (!found) {
			row.state = target ? ADO_FRESH_NONE : ADO_FRESH_UNWATCHED;
		} else {
			row.newest = b.time;
			snprintf(row.id, sizeof(row.id), "%s", b.id);
			row.age = (long long)(now - row.newest);
			if (row.age < 0)
				row.age = 0;	/* a clock behind the backup's: not stale */
			if (!target)
				row.state = ADO_FRESH_UNWATCHED;
			else
				row.state = row.age > target + grace ? ADO_FRESH_STALE : ADO_FRESH_OK;
		}
		ado_store_free(s);
		fn(&row, arg);
	}
	return 0;
}
