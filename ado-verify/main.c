/* ado-verify - check backups: checksums, a full read, or a test restore.
 * Thin: options -> references -> ado_verify_backup each -> one line each -> exit status. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ado.h"
#include "job/cli.h"
#include "config/config.h"
#include "base/json.h"
#include "base/log.h"
#include "job/repo.h"
#include "base/sig.h"
#include "job/verify.h"
#include "job/freshness.h"
#include "job/metrics.h"
#include "job/runlog.h"
#include "job/status.h"

struct ctx {
	const struct ado_config *cfg;
	struct ado_verify_opts vo;
	int json;
	FILE *log;
	size_t ok, failed, unchecked, partial;
	size_t bad_refs;	/* references that name no backup: a usage error, not damage */
	int rpo_missed;
	char last_unchecked[1400];	/* the cause already told: said once, not per backup */
	const char *level_name;
	size_t *job_ok, *job_failed;	/* per job of the config, for the metrics */
	struct ado_verify_log *runs;	/* the run records, one per job at the end */
};

static void show_progress(void *arg, const char *text)
{
	fputs(text, stderr);
	fflush(stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ado-verify [-c FILE] [options] REF...\n"
		"       ado-verify [-c FILE] [options] -            (references on stdin, one per line)\n"
		"       ado-verify [-c FILE] [options] --job JOB [--since DURATION]\n"
		"       ado-verify [-c FILE] --rpo [--grace DURATION] [--json] [JOB...]\n"
		"       ado-verify [-c FILE] --status [--grace DURATION] [--json] [JOB...]\n"
		"\n"
		"Check backups; print 'ok REF', 'FAIL REF: reason' (damaged) or 'UNCHECKED REF: cause'\n"
		"(the test could not run: server down, login refused, no scratch space) per backup.\n"
		"REF is DEST/JOB/ID as printed by ado-backup, or JOB/ID (the first of the job's\n"
		"destinations holding it); ID may be a unique prefix, 'T' and 'Z' optional.\n"
		"A REF that names no backup gets a FAIL line: exit 2 unless a backup failed.\n"
		"\n"
		"  -c, --config FILE     config (default $ADO_CONFIG, else " ADO_DEFAULT_CONFIG " if it exists)\n"
		"  -l, --level LEVEL     checksum | read | restore (default restore)\n"
		"  -j, --job JOB         every complete backup of JOB on its destinations\n"
		"  -s, --since DURATION  with --job: only backups younger than this (e.g. 24h, 7 days)\n"
		"      --rpo             freshness only (no data read): the newest complete backup of each\n"
		"                        JOB (default every job) on each destination against its rpo,\n"
		"                        or the longest gap of its schedule when it has none\n"
		"      --status          per job and destination: newest backup and its age against the\n"
		"                        rpo, last run, last verify, backups kept (from the run records)\n"
		"      --grace DURATION  with --rpo or --status: allowance for the run itself (default 5m)\n"
		"      --json            one JSON object per backup instead of the text lines\n"
		"      --log FILE        append timestamped result lines to FILE\n"
		"      --tmp-dir DIR     where test restores go (default $TMPDIR or /tmp)\n"
		"      --scratch-db CONNINFO  server for database test restores\n"
		"      --min-tables N    database test restores must hold at least N tables\n"
		"      --progress, --no-progress  a progress line on stderr (default: when a terminal)\n"
		"  -q, --quiet / -v, --verbose / -h, --help / -V, --version\n"
		"\n"
		"Exit: 0 every backup passed, 1 at least one failed, 2 usage or config error,\n"
		"5 all passed but the newest backup of --job is older than its rpo,\n"
		"6 none failed but some could not be checked (a server down, a login refused, an archived\n"
		"copy: ado-restore --thaw); --rpo: 0 all fresh, 5 a job and destination is stale or has\n"
		"no backup, 6 a destination could not be listed (nothing stale seen).\n"
		"See ado-verify(1).\n");
}

/* One JSON record per line on stdout: rec_begin, the members, rec_end. */
static void rec_begin(struct ado_buf *b, struct ado_json *j)
{
	ado_buf_init(b);
	ado_json_init(j, b, 0);
	ado_json_obj_begin(j, NULL);
}

static void rec_end(struct ado_buf *b, struct ado_json *j)
{
	ado_json_obj_end(j);
	printf("%s\n", b->data ? b->data : "{}");
	ado_buf_free(b);
	fflush(stdout);
}

static void log_line(struct ctx *c, const char *fmt, const char *ref, const char *reason)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!c->log)
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(c->log, "%s ado-verify[%ld] level=%s ", ts, (long)getpid(), c->level_name);
	fprintf(c->log, fmt, ref, reason);
	fputc('\n', c->log);
	fflush(c->log);
}

/* One result line: "ok REF" / "FAIL REF: reason" / "UNCHECKED REF: cause"
 * (or a JSON object), the same in --log, and the error's hint on stderr
 * after it. e NULL: passed. A check that could not run is not a failed one:
 * its cause is told once, later backups it stops too say "as above". */
static void report(struct ctx *c, const char *ref, const char *job, const char *id, const struct ado_err *e,
		   const struct ado_verify_result *res)
{
	char reason[1400] = "";
	const char *word = e ? "FAIL" : "ok", *jword = e ? "fail" : "ok";
	int repeat = 0;

	const struct ado_job *jb = job && c->job_ok ? ado_config_job(c->cfg, job) : NULL;

	if (jb)
		(e ? c->job_failed : c->job_ok)[jb - c->cfg->jobs]++;
	if (e) {
		char raw[1400];
		ado_log_redact_copy(reason, sizeof(reason), ado_err_str(e, raw, sizeof(raw)));
		if (e->kind == ADO_E_UNCHECKED || e->kind == ADO_E_ARCHIVED) {
			c->unchecked++;
			word = "UNCHECKED";
			jword = "unchecked";
			repeat = strcmp(c->last_unchecked, reason) == 0;
			snprintf(c->last_unchecked, sizeof(c->last_unchecked), "%s", reason);
		} else if (e->kind == ADO_E_USAGE && !job) {
			c->bad_refs++;	/* only verify_ref reports without a job: its reference names nothing */
		} else {
			c->failed++;
		}
	} else if (res && res->missing[0]) {
		/* what is stored is sound, but a target is missing: not "ok" */
		c->partial++;
		word = "PARTIAL";
		jword = "partial";
		snprintf(reason, sizeof(reason), "the backup lacks target %s (failed at backup time)", res->missing);
	} else {
		c->ok++;
	}
	ado_verify_log_add(c->runs, ref, job, id, jword, reason[0] ? reason : NULL, res ? res->bytes : 0);
	if (c->json) {
		struct ado_buf b;
		struct ado_json j;
		rec_begin(&b, &j);
		ado_json_kstr(&j, "type", "verify");
		ado_json_kstr(&j, "ref", ref);
		ado_json_kstr(&j, "status", jword);
		ado_json_kstr(&j, "level", c->level_name);
		ado_json_kstr(&j, "job", job);
		ado_json_kstr(&j, "id", id);
		if (!e && reason[0])
			ado_json_kstr(&j, "reason", reason);
		if (!e) {
			ado_json_kuint(&j, "artifacts", res->artifacts);
			ado_json_kuint(&j, "bytes", res->bytes);
			ado_json_kuint(&j, "files", res->files);
			ado_json_kuint(&j, "tables", res->tables);
			ado_json_kbool(&j, "authenticated", res->authenticated);
		} else {
			ado_json_kstr(&j, "reason", reason);
			ado_json_kstr(&j, "error", ado_err_name(e->kind));
		}
		rec_end(&b, &j);
	} else if (!e && !reason[0]) {
		printf("ok %s\n", ref);
	} else {
		printf("%s %s: %s\n", word, ref, repeat ? "could not check, as above" : reason);
	}
	fflush(stdout);
	if (e && e->hint[0] && !repeat)
		ado_hint("%s", e->hint);	/* after the result line it explains */
	if (e || reason[0]) {
		char fmt[32];
		snprintf(fmt, sizeof(fmt), "%s %%s: %%s", word);
		log_line(c, fmt, ref, reason);
	} else {
		log_line(c, "ok %s%s", ref, "");
	}
}

static void verify_one(struct ctx *c, struct ado_store *s, const char *job, const char *id)
{
	struct ado_verify_result res;
	struct ado_err e;
	char *ref = ado_ref_make(s, job, id);

	ado_err_clear(&e);
	if (ado_verify_backup(c->cfg, s, job, id, &c->vo, &res, &e) < 0)
		report(c, ref ? ref : id, job, id, &e, NULL);
	else
		report(c, ref ? ref : id, job, id, NULL, &res);
	free(ref);
}

static void verify_ref(struct ctx *c, const char *ref)
{
	struct ado_store *s = NULL;
	char *job = NULL, *id = NULL;
	struct ado_err e;

	ado_err_clear(&e);
	if (ado_ref_parse(ref, c->cfg, &s, &job, &id, &e) < 0) {
		report(c, ref, NULL, NULL, &e, NULL);
		return;
	}
	verify_one(c, s, job, id);
	free(job);
	free(id);
	ado_store_free(s);
}

static int verify_job(struct ctx *c, const char *jobname, long long since)
{
	const struct ado_job *jb = ado_config_job(c->cfg, jobname);
	time_t now = time(NULL), newest = 0, tnewest[64] = { 0 };
	const char *stale = NULL;
	size_t found = 0;

	if (!jb) {
		char hint[1024];

		if (!c->cfg->path) {
			/* no config file was loaded: that is the problem, not the name */
			ado_error("no job '%s': no config loaded", jobname);
			ado_hint("give the config with -c or ADO_CONFIG");
			return -1;
		}
		ado_config_job_hint(c->cfg, jobname, hint, sizeof(hint));
		ado_error("no job '%s' in '%s'", jobname, c->cfg->path);
		ado_hint("%s", hint);
		return -1;
	}
	for (size_t d = 0; d < jb->ndests; d++) {
		struct ado_store *s = NULL;
		struct ado_backup_info *v = NULL;
		struct ado_err e;
		size_t n = 0;
		ado_err_clear(&e);
		if (ado_repo_open_list(c->cfg, &jb->dests[d], jb->name, &s, &v, &n, &e) < 0) {
			ado_err_prefix(&e, "cannot list");
			report(c, jb->dests[d].url, jb->name, NULL, &e, NULL);
			continue;
		}
		for (size_t i = 0; i < n && !ado_interrupted(); i++) {
			/* RPO: each target's newest copy counts, not a newer backup that lacks it */
			uint64_t held = v[i].complete ? ado_repo_held_targets(s, jb, v[i].id) : 0;
			for (size_t t = 0; t < jb->ntargets && t < 64; t++)
				if ((held >> t & 1) && v[i].time > tnewest[t])
					tnewest[t] = v[i].time;
			if (!v[i].complete || (since > 0 && now - v[i].time > since))
				continue;
			found++;
			verify_one(c, s, jb->name, v[i].id);
		}
		free(v);
		ado_store_free(s);
	}
	if (found == 0) {
		char d[64] = "";
		struct ado_err e;
		if (since > 0)
			ado_duration_format(since, d, sizeof(d));
		ado_err_set(&e, ADO_E_NOTFOUND, 0, "no complete backup%s%s", since > 0 ? " in the last " : "", d);
		report(c, jb->name, jb->name, NULL, &e, NULL);
	}
	/* RPO freshness: per target, its newest copy on any destination; the
	 * stalest target decides (a target never stored has no age to measure) */
	for (size_t t = 0; t < jb->ntargets && t < 64; t++)
		if (tnewest[t] > 0 && (!newest || tnewest[t] < newest)) {
			newest = tnewest[t];
			stale = jb->targets[t].name;
		}
	if (jb->rpo > 0 && newest > 0 && now - newest > jb->rpo) {
		char age[64], rpo[64], why[300];
		ado_duration_format(now - newest, age, sizeof(age));
		ado_duration_format(jb->rpo, rpo, sizeof(rpo));
		snprintf(why, sizeof(why), "newest complete copy of target '%s' is %s old, rpo is %s", stale ? stale : "?",
			 age, rpo);
		c->rpo_missed = 1;
		if (c->json) {
			struct ado_buf b;
			struct ado_json j;
			rec_begin(&b, &j);
			ado_json_kstr(&j, "type", "rpo_missed");
			ado_json_kstr(&j, "job", jb->name);
			ado_json_kstr(&j, "status", "rpo_missed");
			ado_json_kint(&j, "age_seconds", (long long)(now - newest));
			ado_json_kint(&j, "rpo_seconds", jb->rpo);
			rec_end(&b, &j);
		} else {
			printf("RPO %s: %s\n", jb->name, why);
		}
		log_line(c, "RPO %s: %s", jb->name, why);
		ado_error("job '%s' missed its RPO: %s", jb->name, why);
		ado_hint("check that its cron entry runs (ado-backup --crontab) and that backups succeed");
	}
	return 0;
}

/* --rpo: one row per job and destination. */
struct rpo_ctx {
	int json, quiet;
	size_t stale, unchecked;
	struct ado_fresh_row *rows;	/* this job's, for the metrics */
	size_t nrows;
};

static void rpo_row(const struct ado_fresh_row *r, void *arg)
{
	static const char *const word[] = { "ok", "STALE", "NONE", "UNCHECKED", "UNWATCHED" };
	static const char *const jword[] = { "ok", "stale", "none", "unchecked", "unwatched" };
	struct rpo_ctx *c = arg;
	char age[64] = "", target[64] = "", why[1400] = "";
	struct ado_fresh_row *more = realloc(c->rows, (c->nrows + 1) * sizeof(*more));

	if (more) {
		c->rows = more;
		c->rows[c->nrows++] = *r;
	}

	if (r->state == ADO_FRESH_STALE || r->state == ADO_FRESH_NONE)
		c->stale++;
	else if (r->state == ADO_FRESH_UNCHECKED)
		c->unchecked++;
	if (r->age >= 0)
		ado_duration_format(r->age, age, sizeof(age));
	if (r->target)
		ado_duration_format(r->target, target, sizeof(target));
	if (r->state == ADO_FRESH_UNCHECKED) {
		char raw[1400];
		ado_log_redact_copy(why, sizeof(why), ado_err_str(&r->err, raw, sizeof(raw)));
	}
	if (c->json) {
		struct ado_buf b;
		struct ado_json j;
		rec_begin(&b, &j);
		ado_json_kstr(&j, "type", "rpo");
		ado_json_kstr(&j, "job", r->job);
		ado_json_kstr(&j, "destination", r->dest);
		ado_json_kstr(&j, "status", jword[r->state]);
		if (r->id[0]) {
			ado_json_kstr(&j, "newest", r->id);
			ado_json_kint(&j, "age_seconds", r->age);
		}
		if (r->target) {
			ado_json_kint(&j, "target_seconds", r->target);
			ado_json_kstr(&j, "target_from", r->target_from);
		}
		if (why[0])
			ado_json_kstr(&j, "reason", why);
		rec_end(&b, &j);
		return;
	}
	if (c->quiet && r->state == ADO_FRESH_OK)
		return;
	switch (r->state) {
	case ADO_FRESH_OK:
	case ADO_FRESH_STALE:
		printf("%s %s %s: newest complete backup %s is %s old, target %s (%s)\n", word[r->state], r->job,
		       r->dest, r->id, age, target, r->target_from);
		break;
	case ADO_FRESH_NONE:
		printf("NONE %s %s: no complete backup, target %s (%s)\n", r->job, r->dest, target, r->target_from);
		break;
	case ADO_FRESH_UNCHECKED:
		printf("UNCHECKED %s %s: %s\n", r->job, r->dest, why);
		break;
	case ADO_FRESH_UNWATCHED:
		printf("UNWATCHED %s %s: the job has no rpo and no schedule\n", r->job, r->dest);
		break;
	}
	fflush(stdout);
}

static int rpo_watch(const struct ado_config *cfg, char **jobs, int njobs, long long grace, int json, int quiet)
{
	struct rpo_ctx c = { .json = json, .quiet = quiet };
	time_t now = time(NULL);
	struct ado_err e;

	for (int i = 0; i < njobs; i++)
		if (!ado_config_job(cfg, jobs[i])) {
			ado_error("no job '%s' in '%s'", jobs[i], cfg->path ? cfg->path : "the config");
			return ADO_EXIT_USAGE;
		}
	if (cfg->njobs == 0) {
		ado_error("no jobs in '%s'", cfg->path ? cfg->path : "the config");
		return ADO_EXIT_USAGE;
	}
	ado_err_clear(&e);
	for (size_t i = 0; i < cfg->njobs && !ado_interrupted(); i++) {
		int wanted = njobs == 0;
		for (int k = 0; k < njobs && !wanted; k++)
			wanted = strcmp(jobs[k], cfg->jobs[i].name) == 0;
		c.nrows = 0;
		if (wanted && ado_fresh_check(cfg, &cfg->jobs[i], now, grace, rpo_row, &c, &e) < 0) {
			ado_log_err(&e);
			free(c.rows);
			return ADO_EXIT_FAIL;
		}
		if (wanted && !ado_interrupted() && ado_metrics_fresh(cfg, &cfg->jobs[i], c.rows, c.nrows, &e) < 0)
			ado_metrics_warn(&e);
	}
	free(c.rows);
	if (ado_interrupted())
		return ado_sig_exit(ado_interrupted());
	if (c.stale) {
		ado_error("%zu destination%s of the watched jobs %s no fresh backup", c.stale, c.stale == 1 ? "" : "s",
			  c.stale == 1 ? "has" : "have");
		ado_hint("check the job's cron entry (ado-backup --crontab) and its last run; ado-restore --list");
		return ADO_EXIT_TARGET;
	}
	if (c.unchecked) {
		ado_error("%zu destination%s could not be listed: freshness unknown", c.unchecked,
			  c.unchecked == 1 ? "" : "s");
		return ADO_EXIT_UNCHECKED;
	}
	return ADO_EXIT_OK;
}

/* --status: the table (or JSON records) and the worst row's status. */
static int status_view(const struct ado_config *cfg, char **jobs, int njobs, long long grace, int json)
{
	struct ado_status_row *rows = NULL;
	struct ado_buf b;
	struct ado_err e;
	size_t n = 0;
	int worst = ADO_EXIT_OK;
	time_t now = time(NULL);

	ado_err_clear(&e);
	if (ado_status_collect(cfg, jobs, njobs, now, grace, &rows, &n, &e) < 0) {
		ado_log_err(&e);
		return ado_err_exit(e.kind);
	}
	if (!json) {
		ado_status_text(rows, n, now, &b);
		fputs(b.data ? b.data : "", stdout);
		ado_buf_free(&b);
	}
	for (size_t i = 0; i < n; i++) {
		if (json) {
			ado_status_json(&rows[i], &b);
			fputs(b.data ? b.data : "", stdout);
			ado_buf_free(&b);
		}
		if (ado_status_worse(rows[i].status, worst))
			worst = rows[i].status;
	}
	free(rows);
	return worst;
}

/* One file per job that this run checked (a metrics failure is a warning only). */
static void write_metrics(const struct ctx *c, const struct timespec *t0)
{
	struct timespec t1;
	struct ado_err e;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (size_t i = 0; i < c->cfg->njobs; i++) {
		if (c->job_ok[i] + c->job_failed[i] == 0)
			continue;
		ado_err_clear(&e);
		if (ado_metrics_verify(c->cfg, c->cfg->jobs[i].name, c->level_name, c->job_ok[i], c->job_failed[i],
				       (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9,
				       &e) < 0)
			ado_metrics_warn(&e);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "level", required_argument, NULL, 'l' },
		{ "job", required_argument, NULL, 'j' },    { "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'J' },	    { "log", required_argument, NULL, 'L' },
		{ "tmp-dir", required_argument, NULL, 't' }, { "scratch-db", required_argument, NULL, 'S' },
		{ "min-tables", required_argument, NULL, 'm' }, { "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },	    { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },	    { "rpo", no_argument, NULL, 'R' },
		{ "grace", required_argument, NULL, 'G' },  { "progress", no_argument, NULL, 'P' },
		{ "no-progress", no_argument, NULL, 'N' },  { "status", no_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx c;
	struct ado_config *cfg = NULL;
	struct ado_keyring *k = NULL;
	struct ado_err e;
	const char *cfgopt = NULL, *job = NULL, *since_s = NULL, *logpath = NULL, *grace_s = NULL;
	long long since = 0, grace = 300;
	struct timespec t0 = { 0 };
	int ch, status = ADO_EXIT_USAGE, rpo = 0, quiet = 0, progress = -1, view = 0;

	ado_log_init("ado-verify");
	ado_err_clear(&e);
	memset(&c, 0, sizeof(c));
	c.vo.level = ADO_VERIFY_RESTORE;
	c.level_name = "restore";
	while ((ch = getopt_long(argc, argv, "c:l:j:s:qvhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgopt = optarg; break;
		case 'l':
			if (strcmp(optarg, "checksum") == 0)
				c.vo.level = ADO_VERIFY_CHECKSUM;
			else if (strcmp(optarg, "read") == 0)
				c.vo.level = ADO_VERIFY_READ;
			else if (strcmp(optarg, "restore") == 0)
				c.vo.level = ADO_VERIFY_RESTORE;
			else {
				ado_error("--level: expected checksum, read or restore, found '%s'", optarg);
				return ADO_EXIT_USAGE;
			}
			c.level_name = optarg;
			break;
		case 'j': job = optarg; break;
		case 's': since_s = optarg; break;
		case 'J': c.json = 1; break;
		case 'L': logpath = optarg; break;
		case 't': c.vo.tmp_dir = optarg; break;
		case 'S': c.vo.scratch_db = optarg; break;
		case 'm': {
			char *end;
			c.vo.min_tables = strtol(optarg, &end, 10);
			if (*end || c.vo.min_tables < 0) {
				ado_error("--min-tables: expected a number, found '%s'", optarg);
				return ADO_EXIT_USAGE;
			}
			break;
		}
		case 'R': rpo = 1; break;
		case 'X': view = 1; break;
		case 'G': grace_s = optarg; break;
		case 'P': progress = 1; break;
		case 'N': progress = 0; break;
		case 'q': ado_log_set_level(ADO_LOG_ERROR); quiet = 1; break;
		case 'v': ado_log_set_level(ADO_LOG_INFO); break;
		case 'h': usage(stdout); return ADO_EXIT_OK;
		case 'V': fputs(ADO_VERSION_TEXT("ado-verify"), stdout); return ADO_EXIT_OK;
		default: usage(stderr); return ADO_EXIT_USAGE;
		}
	}
	if (grace_s && !rpo && !view) {
		ado_error("--grace needs --rpo or --status");
		return ADO_EXIT_USAGE;
	}
	if (rpo && view) {
		ado_error("give either --rpo or --status");
		return ADO_EXIT_USAGE;
	}
	if (rpo || view) {
		if (job || since_s || logpath) {
			ado_error("--%s: give job names, not --job, --since or --log",
				  rpo ? "rpo checks freshness only" : "status reads no backup data");
			return ADO_EXIT_USAGE;
		}
		if (grace_s && ado_duration_parse(grace_s, &grace, &e) < 0) {
			ado_log_err(&e);
			return ADO_EXIT_USAGE;
		}
		if (ado_cli_config(cfgopt, 1, &cfg, &e) < 0) {
			ado_log_err(&e);
			return ado_err_exit(e.kind);
		}
		ado_sig_install();
		status = view ? status_view(cfg, argv + optind, argc - optind, grace, c.json)
			      : rpo_watch(cfg, argv + optind, argc - optind, grace, c.json, quiet);
		ado_config_free(cfg);
		ado_log_redact_clear();
		return status;
	}
	if (!job && optind == argc) {
		ado_error("nothing to verify");
		ado_hint("give references (DEST/JOB/ID or JOB/ID), '-' to read them from stdin, or --job JOB");
		return ADO_EXIT_USAGE;
	}
	if (job && optind < argc) {
		ado_error("give either --job or references, not both");
		return ADO_EXIT_USAGE;
	}
	if (since_s && !job) {
		ado_error("--since needs --job");
		return ADO_EXIT_USAGE;
	}
	if (since_s && ado_duration_parse(since_s, &since, &e) < 0) {
		ado_log_err(&e);
		return ADO_EXIT_USAGE;
	}
	umask(077);
	if (ado_cli_config(cfgopt, job != NULL, &cfg, &e) < 0 || ado_cli_keyring(cfg, 0, &k, &e) < 0) {
		ado_log_err(&e);
		goto out;
	}
	if (logpath && !(c.log = fopen(logpath, "a"))) {
		ado_error("cannot open log '%s': %s", logpath, strerror(errno));
		goto out;
	}
	c.cfg = cfg;
	c.vo.keyring = k;
	if (!(c.job_ok = calloc(cfg->njobs + 1, sizeof(size_t))) || !(c.job_failed = calloc(cfg->njobs + 1, sizeof(size_t)))) {
		ado_error("out of memory");
		goto out;
	}
	c.runs = ado_verify_log_new(c.level_name);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c.vo.meter = ado_cli_meter(progress, show_progress, NULL);
	ado_sig_install();
	if (job) {
		if (verify_job(&c, job, since) < 0)
			goto out;
	} else {
		for (int i = optind; i < argc && !ado_interrupted(); i++) {
			if (strcmp(argv[i], "-") == 0) {
				char *line = NULL;
				size_t cap = 0;
				ssize_t n;
				while (!ado_interrupted() && (n = getline(&line, &cap, stdin)) > 0) {
					while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
						line[--n] = '\0';
					if (n == 0 || line[0] == '#')
						continue;
					verify_ref(&c, line);
				}
				free(line);
			} else {
				verify_ref(&c, argv[i]);
			}
		}
	}
	if (ado_interrupted())
		status = ado_sig_exit(ado_interrupted());
	else if (c.ok + c.failed + c.unchecked + c.partial + c.bad_refs == 0) {
		ado_error("no backup references were given on stdin");
		status = ADO_EXIT_USAGE;
	} else
		status = c.failed ? ADO_EXIT_FAIL : c.bad_refs ? ADO_EXIT_USAGE : c.unchecked ? ADO_EXIT_UNCHECKED : c.partial ? ADO_EXIT_PARTIAL : c.rpo_missed ? ADO_EXIT_TARGET : ADO_EXIT_OK;
	if (!ado_interrupted()) {
		struct timespec t1;
		write_metrics(&c, &t0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ado_verify_log_commit(c.runs, cfg->path ? cfg->state_dir : NULL,
				      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
out:
	ado_meter_free(c.vo.meter);
	ado_verify_log_free(c.runs);
	free(c.job_ok);
	free(c.job_failed);
	if (c.log)
		fclose(c.log);
	ado_keyring_free(k);
	ado_config_free(cfg);
	ado_log_redact_clear();
	return status;
}
