/* retention.c - the thinning rules of restic and borg over a list of backup
 * times; the store side is ado_retention_apply (backup.c). */
#include "job/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "base/lock.h"
#include "base/log.h"
#include "format/manifest.h"
#include "job/repo.h"

enum period { P_HOUR, P_DAY, P_WEEK, P_MONTH, P_YEAR };

static long long floordiv(long long a, long long b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The UTC period of t as one number: equal numbers, same period. */
static long long period_of(time_t t, enum period p)
{
	struct tm tm;

	switch (p) {
	case P_HOUR: return floordiv(t, 3600);
	case P_DAY: return floordiv(t, 86400);
	/* 1970-01-01 was a Thursday: +3 days puts each week's start on a Monday */
	case P_WEEK: return floordiv(floordiv(t, 86400) + 3, 7);
	case P_MONTH:
		gmtime_r(&t, &tm);
		return (long long)tm.tm_year * 12 + tm.tm_mon;
	case P_YEAR:
		gmtime_r(&t, &tm);
		return tm.tm_year;
	}
	return 0;
}

static void keep_periods(const time_t *t, size_t n, enum period p, int count, unsigned bit, unsigned *why)
{
	long long last = 0;
	int have = 0;

	for (size_t i = n; i-- > 0 && count > 0;) {
		long long k = period_of(t[i], p);

		if (have && k == last)
			continue;
		why[i] |= bit;
		last = k;
		have = 1;
		count--;
	}
}

void ado_retention_select(const time_t *t, size_t n, long long max_age, const struct ado_keep *keep, time_t now,
			  unsigned *why)
{
	memset(why, 0, n * sizeof(*why));
	if (!keep || !keep->set) {
		for (size_t i = 0; i < n; i++)
			if (max_age <= 0 || (long long)(now - t[i]) <= max_age)
				why[i] |= ADO_KEEP_AGE;
		return;
	}
	if (keep->within > 0)
		for (size_t i = 0; i < n; i++)
			if ((long long)(now - t[i]) <= keep->within)
				why[i] |= ADO_KEEP_WITHIN;
	for (size_t i = n, k = 0; i-- > 0 && k < (size_t)(keep->last > 0 ? keep->last : 0); k++)
		why[i] |= ADO_KEEP_LAST;
	keep_periods(t, n, P_HOUR, keep->hourly, ADO_KEEP_HOURLY, why);
	keep_periods(t, n, P_DAY, keep->daily, ADO_KEEP_DAILY, why);
	keep_periods(t, n, P_WEEK, keep->weekly, ADO_KEEP_WEEKLY, why);
	keep_periods(t, n, P_MONTH, keep->monthly, ADO_KEEP_MONTHLY, why);
	keep_periods(t, n, P_YEAR, keep->yearly, ADO_KEEP_YEARLY, why);
}

const char *ado_retention_why(unsigned why, char *buf, size_t len)
{
	static const char *const names[] = { "age", "keep_within", "last", "hourly", "daily", "weekly", "monthly",
					     "yearly" };
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (why & (1u << i)) {
			int w = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", names[i]);
			if (w < 0 || (size_t)w >= len - o)
				break;
			o += (size_t)w;
		}
	return buf;
}

int ado_retention_apply(struct ado_store *s, const struct ado_job *job, const char *keep_id, time_t now, int dry_run,
			struct ado_err *e)
{
	struct ado_backup_info *v = NULL;
	size_t n = 0, nc = 0;
	int removed = 0, rc = -1;
	ssize_t newest = -1;
	uint64_t want;
	char *held = NULL;
	time_t *times = NULL;
	unsigned *why = NULL;

	if (ado_repo_list(s, job->name, &v, &n, e) < 0)
		return -1;
	held = calloc(n ? n : 1, 1);
	times = calloc(n ? n : 1, sizeof(*times));
	why = calloc(n ? n : 1, sizeof(*why));
	if (!held || !times || !why) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].complete) {
			newest = (ssize_t)i;
			times[nc++] = v[i].time;
		}
	ado_retention_select(times, nc, job->retention, &job->keep, now, why);
	/* the newest backup holding each target is kept, however many newer
	 * partial ones (where that target failed) there are: newest first, each
	 * manifest read once, until every target has its backup */
	want = job->ntargets >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << job->ntargets) - 1;
	for (size_t i = n; i-- > 0 && want;) {
		uint64_t h = v[i].complete ? ado_repo_held_targets(s, job, v[i].id) & want : 0;
		if (h) {
			held[i] = 1;
			want &= ~h;
		}
	}
	for (size_t i = 0, c = 0; i < n; i++) {
		char dir[512], *ref;
		int old;

		if (v[i].complete)
			old = !why[c++];
		else
			old = now - v[i].time > 86400;
		if (!old || (ssize_t)i == newest || held[i] || (keep_id && strcmp(v[i].id, keep_id) == 0))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", job->name, v[i].id);
		if (!dry_run) {
			/* the manifest goes first: a half-removed backup must never look complete */
			if (v[i].complete) {
				char mpath[600];

				snprintf(mpath, sizeof(mpath), "%s/%s", dir, ADO_MANIFEST_NAME);
				if (ado_store_remove(s, mpath, e) < 0)
					goto out;
			}
			if (ado_store_remove_tree(s, dir, e) < 0)
				goto out;
		}
		ref = ado_ref_join(s->url, job->name, v[i].id);
		ado_notice("retention: %s %s '%s'", dry_run ? "would remove" : "removed",
			   v[i].complete ? "backup" : "incomplete backup", ref ? ref : dir);
		free(ref);
		removed++;
	}
	rc = removed;
out:
	free(v);
	free(held);
	free(times);
	free(why);
	return rc;
}

int ado_prune_job(const struct ado_config *cfg, const struct ado_job *job, time_t now, int dry_run,
		  struct ado_prune_report *rep, struct ado_err *e)
{
	struct ado_lock *lock = NULL;
	struct ado_err last;

	memset(rep, 0, sizeof(*rep));
	ado_err_clear(&last);
	/* a backup of this job adds a folder that retention must not race */
	if (!dry_run && ado_lock_job(cfg->state_dir, job->name, &lock, e) < 0)
		return -1;
	for (size_t i = 0; i < job->ndests; i++) {
		struct ado_store *s = NULL;
		struct ado_err de;
		int k;

		ado_err_clear(&de);
		if (ado_store_open(&job->dests[i], cfg, &s, &de) < 0 ||
		    (k = ado_retention_apply(s, job, NULL, now, dry_run, &de)) < 0) {
			char why[1400];

			ado_error("retention on '%s' failed for job '%s': %s", job->dests[i].url, job->name,
				  ado_err_str(&de, why, sizeof(why)));
			if (de.hint[0])
				ado_hint("%s", de.hint);
			last = de;
			rep->dests_failed++;
		} else {
			rep->removed += (size_t)k;
			rep->dests_ok++;
		}
		ado_store_free(s);
	}
	ado_lock_release(lock);
	if (rep->dests_failed) {
		if (e)
			*e = last;
		return -1;
	}
	return 0;
}
