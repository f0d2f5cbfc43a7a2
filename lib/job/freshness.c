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

/* The newest backup of job in s that has its manifest: list once, then look
 * for manifests newest first, so a healthy job costs one listing and one
 * lookup whatever the number of backups kept. */
static int newest_complete(struct ado_store *s, const char *job, struct ado_fresh_row *row, struct ado_err *e)
{
	struct ado_backup_info *v = NULL;
	size_t n = 0;
	int rc = 0;

	if (ado_repo_list_ids(s, job, &v, &n, e) < 0)
		return -1;
	for (size_t i = n; i-- > 0;) {
		char path[512];
		int r;

		snprintf(path, sizeof(path), "%s/%s/%s", job, v[i].id, ADO_MANIFEST_NAME);
		r = ado_store_exists(s, path, NULL, e);
		if (r < 0) {
			rc = -1;
			break;
		}
		if (r == 1) {
			row->newest = v[i].time;
			snprintf(row->id, sizeof(row->id), "%s", v[i].id);
			break;
		}
	}
	free(v);
	return rc;
}

int ado_fresh_check(const struct ado_config *cfg, const struct ado_job *job, time_t now, long long grace,
		    ado_fresh_fn fn, void *arg, struct ado_err *e)
{
	const char *from = NULL;
	long long target = ado_job_rpo_target(job, now, &from);

	for (size_t d = 0; d < job->ndests; d++) {
		struct ado_fresh_row row;
		struct ado_store *s = NULL;

		memset(&row, 0, sizeof(row));
		row.job = job->name;
		row.dest = job->dests[d].url;
		row.age = -1;
		row.target = target;
		row.target_from = from;
		ado_err_clear(&row.err);
		if (ado_store_open(&job->dests[d], cfg, &s, &row.err) < 0 ||
		    newest_complete(s, job->name, &row, &row.err) < 0) {
			if (row.err.kind == ADO_E_NOMEM) {
				ado_store_free(s);
				return ado_err_set(e, ADO_E_NOMEM, 0, "%s", row.err.msg);
			}
			row.state = ADO_FRESH_UNCHECKED;
		} else if (!row.newest) {
			row.state = target ? ADO_FRESH_NONE : ADO_FRESH_UNWATCHED;
		} else {
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
