/* parts.c - ado-restore --job A --job B --target DB: pick each job's part,
 * check everything that could stop the restore, then one lib call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ado.h"
#include "base/json.h"
#include "base/log.h"
#include "base/sig.h"
#include "job/dbrestore.h"
#include "job/repo.h"
#include "job/restore.h"
#include "restore.h"

#define MAX_PARTS 16

/* Does the job back up database `target` at all (its config, not its backups)? */
static int job_has_database(const struct ado_job *jb, const char *target)
{
	for (size_t i = 0; i < jb->ntargets; i++) {
		const struct ado_target *t = &jb->targets[i];
		if (t->kind == ADO_TARGET_DATABASE &&
		    (strcmp(t->database, target) == 0 || (t->name && strcmp(t->name, target) == 0)))
			return 1;
	}
	return 0;
}

static void time_text(const struct ado_manifest *m, char *ts, size_t len)
{
	time_t t = m->started ? m->started : ado_backup_id_time(m->id);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void report_json(const struct ado_db_part *p, size_t n, const char *dest, const char *aside, int dry)
{
	struct ado_buf buf;
	struct ado_json j;
	char ts[32];

	ado_buf_init(&buf);
	ado_json_init(&j, &buf, 0);
	ado_json_obj_begin(&j, NULL);
	ado_json_kstr(&j, "status", dry ? "dry_run" : "restored");
	ado_json_kstr(&j, "target", p[0].a->target);
	ado_json_kstr(&j, "restored_to", dest);
	if (aside && *aside)
		ado_json_kstr(&j, "moved_aside", aside);
	else
		ado_json_knull(&j, "moved_aside");
	ado_json_arr_begin(&j, "parts");
	for (size_t i = 0; i < n; i++) {
		time_text(p[i].m, ts, sizeof(ts));
		ado_json_obj_begin(&j, NULL);
		ado_json_kstr(&j, "job", p[i].m->job);
		ado_json_kstr(&j, "id", p[i].m->id);
		ado_json_kstr(&j, "time", ts);
		ado_json_kstr(&j, "destination", p[i].s->url);
		ado_json_obj_end(&j);
	}
	ado_json_arr_end(&j);
	ado_json_obj_end(&j);
	printf("%s\n", buf.data ? buf.data : "{}");
	ado_buf_free(&buf);
}

static int exit_for(const struct ado_err *e)
{
	if (e->kind == ADO_E_INTERRUPTED)
		return ado_sig_exit(ado_interrupted());
	if (e->kind == ADO_E_ARCHIVED)
		return ADO_EXIT_ARCHIVED;
	return ado_err_exit(e->kind) == ADO_EXIT_USAGE ? ADO_EXIT_USAGE : ADO_EXIT_FAIL;
}

int restore_parts(const struct ado_config *cfg, char *const *jobs, size_t njobs, time_t before, const char *target,
		  const char *to_db, int pjobs, int force, int dry, struct ado_keyring *k)
{
	struct ado_db_part parts[MAX_PARTS] = { 0 };
	struct ado_manifest *ms[MAX_PARTS] = { 0 };
	struct ado_db_restore_opts o = { 0 };
	struct ado_err e;
	char aside[4096] = "";
	int status = ADO_EXIT_FAIL;

	ado_err_clear(&e);
	if (njobs > MAX_PARTS) {
		ado_error("a database from %zu jobs: at most %d", njobs, MAX_PARTS);
		return ADO_EXIT_USAGE;
	}
	/* every job first, from the config alone: a usage error touches nothing */
	for (size_t i = 0; i < njobs; i++) {
		const struct ado_job *jb = ado_config_job(cfg, jobs[i]);
		for (size_t j = 0; j < i; j++)
			if (strcmp(jobs[i], jobs[j]) == 0) {
				ado_error("job '%s' is given twice", jobs[i]);
				return ADO_EXIT_USAGE;
			}
		if (!jb) {
			ado_error("no job '%s' in '%s'", jobs[i], cfg->path ? cfg->path : "the config");
			ado_hint("ado-restore --list shows the jobs and their backups");
			return ADO_EXIT_USAGE;
		}
		if (!job_has_database(jb, target)) {
			ado_error("job '%s' backs up no database '%s'", jobs[i], target);
			ado_hint("give only the jobs whose targets hold tables of '%s'", target);
			return ADO_EXIT_USAGE;
		}
	}
	/* then each job's part: the newest complete backup that holds the target */
	for (size_t i = 0; i < njobs; i++) {
		char *id = NULL;
		struct ado_store *s = NULL;
		const struct ado_artifact *pick = NULL;
		if (ado_restore_select(cfg, jobs[i], NULL, before, target, NULL, k, &s, &id, &e) < 0 ||
		    ado_repo_manifest(s, jobs[i], id, k, ado_repo_auth_required(cfg, jobs[i], k), &ms[i], NULL, &e) < 0) {
			free(id);
			ado_store_free(s);
			goto fail;
		}
		parts[i].s = s;
		parts[i].m = ms[i];
		if (ms[i]->encrypted && !k) {
			ado_error("backup '%s/%s' is encrypted and no key is configured", jobs[i], id);
			ado_hint("set key_file in the config, ADO_KEY_FILE or ADO_PASSPHRASE");
			free(id);
			status = ADO_EXIT_USAGE;
			goto out;
		}
		free(id);
		for (size_t a = 0; a < ms[i]->nartifacts; a++)
			if (strcmp(ms[i]->artifacts[a].kind, "database") == 0 && ado_artifact_matches(&ms[i]->artifacts[a], target))
				pick = &ms[i]->artifacts[a];
		if (!pick) {
			ado_err_set(&e, ADO_E_NOTFOUND, 0, "backup '%s/%s' has no database target '%s'", jobs[i], ms[i]->id,
				    target);
			goto fail;
		}
		parts[i].a = pick;
		if (ado_repo_check_readable(cfg, s, ms[i], target, &e) < 0 || ado_repo_check_sums(s, ms[i], &e) < 0)
			goto fail;
	}
	o = db_opts(to_db, pjobs, force, dry, aside, sizeof(aside));
	if (ado_pg_restore_parts(cfg, parts, njobs, k, &o, &e) < 0)
		goto fail;
	if (json_out)
		report_json(parts, njobs, to_db ? to_db : parts[0].a->source, aside, dry);
	status = ADO_EXIT_OK;
	goto out;
fail:
	ado_log_err(&e);
	status = exit_for(&e);
out:
	for (size_t i = 0; i < njobs && i < MAX_PARTS; i++) {
		ado_manifest_free(ms[i]);
		ado_store_free(parts[i].s);
	}
	return status;
}
