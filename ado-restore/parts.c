/* parts.c - ado-restore --job A --job B --target DB: lib picks and checks
 * each job's part (ado_db_parts_select) and rebuilds the database from them;
 * here the --json report and the exit status. */
#include <stdio.h>
#include <time.h>

#include "ado.h"
#include "base/json.h"
#include "base/log.h"
#include "base/sig.h"
#include "job/dbrestore.h"
#include "restore.h"

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
	struct ado_db_parts parts;
	struct ado_db_restore_opts o;
	struct ado_err e;
	char aside[4096] = "";
	int status = ADO_EXIT_OK;

	ado_err_clear(&e);
	o = db_opts(to_db, pjobs, force, dry, aside, sizeof(aside));
	if (ado_db_parts_select(cfg, jobs, njobs, before, target, k, &parts, &e) < 0 ||
	    ado_pg_restore_parts(cfg, parts.part, parts.n, k, &o, &e) < 0) {
		ado_log_err(&e);
		status = exit_for(&e);
	} else if (json_out) {
		report_json(parts.part, parts.n, to_db ? to_db : parts.part[0].a->source, aside, dry);
	}
	ado_db_parts_free(&parts);
	return status;
}
