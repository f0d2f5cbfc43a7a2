/* dbmulti.c - one database rebuilt from the backups of several jobs (see
 * dbrestore.h, ado_pg_restore_parts): the plan's ado_primary, split across
 * critical_data and important_data, after "database corrupted".
 *
 * The parts' foreign keys point across parts (execution_logs -> tasks), so
 * no part can be restored whole before the others: each part's dump goes to
 * a 0600 file, is restored without its foreign keys, and the SQL of the keys
 * to keep is written aside (a second 0600 file) before the dump is removed.
 * When every part's rows are in and counted, all those keys are added in one
 * psql transaction, checked against every part's rows. Only then is the new
 * database swapped in, exactly as a whole-database restore.
 *
 * Which backup of each job makes a part (ado_db_parts_select) is chosen here
 * too, so that ado-restore --job A --job B and an ado-recover step with
 * `jobs:` choose and check alike. */
#include "job/dbint.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "job/repo.h"
#include "job/restore.h"

static time_t taken(const struct ado_manifest *m)
{
	return m->started ? m->started : ado_backup_id_time(m->id);
}

/* "42m", "1h05m", "2d3h", "0s" */
static void span_text(time_t d, char *out, size_t len)
{
	if (d < 60)
		snprintf(out, len, "%llds", (long long)d);
	else if (d < 3600)
		snprintf(out, len, "%lldm", (long long)(d / 60));
	else if (d < 86400)
		snprintf(out, len, "%lldh%02lldm", (long long)(d / 3600), (long long)(d % 3600 / 60));
	else
		snprintf(out, len, "%lldd%lldh", (long long)(d / 86400), (long long)(d % 86400 / 3600));
}

static void parts_span(const struct ado_db_part *p, size_t n, char *out, size_t len)
{
	time_t lo = 0, hi = 0;
	size_t used;
	char span[32];

	for (size_t i = 0; i < n; i++) {
		time_t t = taken(p[i].m);
		if (i == 0 || t < lo)
			lo = t;
		if (i == 0 || t > hi)
			hi = t;
	}
	span_text(hi - lo, span, sizeof(span));
	snprintf(out, len, "parts taken %s apart:", span);
	for (size_t i = 0; i < n && (used = strlen(out)) + 1 < len; i++)
		snprintf(out + used, len - used, "%s %s/%s", i ? "," : "", p[i].m->job, p[i].m->id);
}

/* The parts name one database, and no table is in two of them. */
static int check_parts(const struct ado_db_part *p, size_t n, struct ado_err *e)
{
	const char *db = p[0].a->source;

	for (size_t i = 0; i < n; i++) {
		const struct ado_artifact *a = p[i].a;
		if (!a->source || strcmp(a->source, db) != 0)
			return ado_err_set(e, ADO_E_USAGE, 0, "backup %s/%s holds database '%s', not '%s'", p[i].m->job,
					   p[i].m->id, a->source ? a->source : "?", db);
		if (a->whole_database || a->ntables == 0) {
			ado_err_set(e, ADO_E_USAGE, 0, "backup %s/%s holds all of database '%s': it is not one part of it",
				    p[i].m->job, p[i].m->id, db);
			return ado_err_hint(e, "restore it alone: ado-restore --job %s --target %s", p[i].m->job, db);
		}
		for (size_t j = 0; j < i; j++)
			for (size_t t = 0; t < a->ntables; t++)
				for (size_t u = 0; u < p[j].a->ntables; u++)
					if (strcmp(a->tables[t].name, p[j].a->tables[u].name) == 0) {
						ado_err_set(e, ADO_E_USAGE, 0, "table '%s' is in two parts: %s/%s and %s/%s",
							    a->tables[t].name, p[j].m->job, p[j].m->id, p[i].m->job,
							    p[i].m->id);
						return ado_err_hint(e, "give each table's job once");
					}
	}
	return 0;
}

/* One part into newdb without its foreign keys; the SQL of the keys to add
 * later (those to tables of some part) goes to fksql. */
static int restore_part(struct ado_pg *admin, const char *newdb, const struct ado_db_part *parts, size_t n, size_t i,
			struct ado_keyring *k, const struct ado_db_restore_opts *o, char *fksql, size_t fklen,
			size_t *nkeys, struct ado_err *e)
{
	const struct ado_db_part *p = &parts[i];
	const struct ado_artifact *arts[16];
	struct ado_pg_restore_opts ro = { 0 };
	struct ado_db_dump d = { 0 };
	char which[600];
	int rc = -1;

	for (size_t j = 0; j < n; j++)
		arts[j] = parts[j].a;
	ado_restore_describe(p->s, p->m, which, sizeof(which));
	ado_sayf(o->say, o->say_arg, "restoring part '%s' from %s, without foreign keys", p->a->name, which);
	if (ado_db_prepare_schemas(admin, newdb, p->a, e) < 0 ||
	    ado_db_dump_open(admin, p->s, p->m, p->a, k, o->tmp_dir, arts, n, &d, e) < 0 ||
	    ado_db_dump_list(&d, ADO_PG_TOC_NO_FKEYS, o->tmp_dir, e) < 0)
		goto out;
	ro.jobs = o->jobs;
	ro.no_owner = 0;	/* onto its own server: the roles exist, keep owners and grants */
	ro.file = d.file;
	ro.list = d.list;
	if (ado_pg_restore_file(admin, newdb, &ro, e) < 0)
		goto out;
	if (d.nskip)
		ado_sayf(o->say, o->say_arg, "skipped %zu foreign key%s of %s/%s to tables of no part: %s", d.nskip,
			 d.nskip == 1 ? "" : "s", p->m->job, p->m->id, d.names);
	*nkeys = d.toc->nfkeys - d.nskip;
	/* the keys' SQL, for after every part's rows */
	if (ado_db_dump_list(&d, ADO_PG_TOC_FKEYS, o->tmp_dir, e) < 0 ||
	    ado_pg_tmp_file(o->tmp_dir, "ado-fksql", fksql, fklen, e) < 0)
		goto out;
	ro.jobs = 0;
	ro.script = fksql;
	rc = ado_pg_restore_file(admin, newdb, &ro, e);
out:
	ado_db_dump_close(&d);
	return rc;
}

int ado_pg_restore_parts(const struct ado_config *cfg, const struct ado_db_part *parts, size_t n,
			 struct ado_keyring *k, const struct ado_db_restore_opts *o, struct ado_err *e)
{
	struct ado_pg *admin = NULL;
	const char *db, *files[16];
	char newdb[PG_NAME_MAX + 1], aside[PG_NAME_MAX + 8], span[1024], fksql[16][PATH_MAX];
	size_t checked = 0, keys = 0;
	int created = 0, exists = 0, rc = -1;

	if (o->failed_part)
		*o->failed_part = -1;
	if (n < 1 || n > ADO_DB_PARTS_MAX)
		return ado_err_set(e, ADO_E_USAGE, 0, "a database from %zu parts: 1 to %d jobs", n, ADO_DB_PARTS_MAX);
	for (size_t i = 0; i < n; i++)
		fksql[i][0] = '\0';
	if (check_parts(parts, n, e) < 0 || ado_db_check_name(o, e) < 0)
		return -1;
	db = parts[0].a->source;
	if (o->ntables) {
		ado_err_set(e, ADO_E_USAGE, 0, "--tables does not apply to a database rebuilt from several jobs");
		return ado_err_hint(e, "restore one job's backup with --tables and --to-database NAME");
	}
	if (o->to_database)
		snprintf(newdb, sizeof(newdb), "%s", o->to_database);
	else
		ado_db_derived_name(newdb, sizeof(newdb), db, "restore", parts[0].m->id);
	parts_span(parts, n, span, sizeof(span));
	ado_sayf(o->say, o->say_arg, "%s", span);
	if (ado_db_connect_admin(cfg, db, NULL, &admin, e) < 0)
		goto out;
	if (ado_db_target_prepare(admin, db, newdb, o, aside, sizeof(aside), &exists, e) < 0)
		goto out;
	if (o->dry_run) {
		for (size_t i = 0; i < n; i++) {
			char which[600];
			ado_restore_describe(parts[i].s, parts[i].m, which, sizeof(which));
			ado_sayf(o->say, o->say_arg, "would restore part '%s' (%zu tables) from %s into new database '%s', "
				 "without foreign keys", parts[i].a->name, parts[i].a->ntables, which, newdb);
		}
		ado_sayf(o->say, o->say_arg, "would check every table's row count against its backup");
		ado_sayf(o->say, o->say_arg, "would add every part's foreign keys in one transaction (those to tables of "
			 "no part are skipped and named)");
		rc = ado_db_target_plan(admin, db, newdb, aside, exists, o, e);
		goto out;
	}
	ado_sayf(o->say, o->say_arg, "restoring database '%s' from %zu parts into new database '%s'", db, n, newdb);
	if (ado_pg_create_database(admin, newdb, e) < 0) {
		ado_db_create_hint(e);
		goto out;
	}
	created = 1;
	for (size_t i = 0; i < n; i++) {
		size_t nk = 0, c = 0;
		if (restore_part(admin, newdb, parts, n, i, k, o, fksql[i], sizeof(fksql[i]), &nk, e) < 0 ||
		    ado_db_check_database(admin, newdb, parts[i].a, NULL, 0, 0, &c, e) < 0) {
			if (o->failed_part)
				*o->failed_part = (int)i;
			goto out;
		}
		keys += nk;
		checked += c;
		files[i] = fksql[i];
	}
	ado_sayf(o->say, o->say_arg, "checked %zu table%s: row counts match the backups", checked, checked == 1 ? "" : "s");
	if (ado_pg_psql_files(admin, newdb, files, n, e) < 0) {
		ado_err_prefix(e, "cannot add the foreign keys of the %zu parts", n);
		ado_err_hint(e, "the parts' rows do not fit together (psql's message above names the key): restore "
			     "with --before TIME for parts taken closer together");
		goto out;
	}
	ado_sayf(o->say, o->say_arg, "added %zu foreign key%s, checked against every part's rows", keys,
		 keys == 1 ? "" : "s");
	if (ado_db_target_finish(admin, db, newdb, aside, exists, o, e) < 0)
		goto out;
	created = 0;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		ado_db_unlink(fksql[i]);
	if (created && admin)
		ado_db_drop_unfinished(admin, db, newdb, o);
	ado_pg_free(admin);
	return rc;
}

/* ---- the parts: each job's backup ---- */

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

int ado_db_parts_check(const struct ado_config *cfg, char *const *jobs, size_t njobs, const char *target,
		       struct ado_err *e)
{
	if (njobs == 0)
		return ado_err_set(e, ADO_E_USAGE, 0, "a database from no job: name its jobs");
	if (njobs > ADO_DB_PARTS_MAX)
		return ado_err_set(e, ADO_E_USAGE, 0, "a database from %zu jobs: at most %d", njobs, ADO_DB_PARTS_MAX);
	for (size_t i = 0; i < njobs; i++) {
		const struct ado_job *jb = ado_config_job(cfg, jobs[i]);
		for (size_t j = 0; j < i; j++)
			if (strcmp(jobs[i], jobs[j]) == 0)
				return ado_err_set(e, ADO_E_USAGE, 0, "job '%s' is given twice", jobs[i]);
		if (!jb) {
			ado_err_set(e, ADO_E_USAGE, 0, "no job '%s' in '%s'", jobs[i], cfg->path ? cfg->path : "the config");
			return ado_err_hint(e, "ado-restore --list shows the jobs and their backups");
		}
		if (!job_has_database(jb, target)) {
			ado_err_set(e, ADO_E_USAGE, 0, "job '%s' backs up no database '%s'", jobs[i], target);
			return ado_err_hint(e, "give only the jobs whose targets hold tables of '%s'", target);
		}
	}
	return 0;
}

/* Part i of out: job's chosen backup, its manifest and artifact, checked. */
static int select_part(const struct ado_config *cfg, const char *job, time_t before, const char *target,
		       struct ado_keyring *k, struct ado_db_parts *out, size_t i, struct ado_err *e)
{
	struct ado_db_part *p = &out->part[i];
	char *id = NULL;
	int rc = -1;

	if (ado_restore_select(cfg, job, NULL, before, target, NULL, k, &p->s, &id, e) < 0 ||
	    ado_repo_manifest(p->s, job, id, k, ado_repo_auth_required(cfg, job, k), &out->m[i], NULL, e) < 0)
		goto out;
	p->m = out->m[i];
	if (p->m->encrypted && !k) {
		ado_err_set(e, ADO_E_USAGE, 0, "backup '%s/%s' is encrypted and no key is configured", job, id);
		ado_err_hint(e, "set key_file in the config, ADO_KEY_FILE or ADO_PASSPHRASE");
		goto out;
	}
	for (size_t a = 0; a < p->m->nartifacts; a++)
		if (strcmp(p->m->artifacts[a].kind, "database") == 0 && ado_artifact_matches(&p->m->artifacts[a], target))
			p->a = &p->m->artifacts[a];
	if (!p->a) {
		ado_err_set(e, ADO_E_NOTFOUND, 0, "backup '%s/%s' has no database target '%s'", job, p->m->id, target);
		goto out;
	}
	if (ado_repo_check_readable(cfg, p->s, p->m, target, e) < 0 || ado_repo_check_sums(p->s, p->m, e) < 0)
		goto out;
	rc = 0;
out:
	free(id);
	return rc;
}

int ado_db_parts_select(const struct ado_config *cfg, char *const *jobs, size_t njobs, time_t before,
			const char *target, struct ado_keyring *k, struct ado_db_parts *out, struct ado_err *e)
{
	memset(out, 0, sizeof(*out));
	/* every job first, from the config alone: a usage error touches nothing */
	if (ado_db_parts_check(cfg, jobs, njobs, target, e) < 0)
		return -1;
	for (size_t i = 0; i < njobs; i++) {
		out->n = i + 1;	/* what the part holds so far is freed with the rest */
		if (select_part(cfg, jobs[i], before, target, k, out, i, e) < 0) {
			ado_db_parts_free(out);
			return -1;
		}
	}
	return 0;
}

void ado_db_parts_free(struct ado_db_parts *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		ado_manifest_free(p->m[i]);
		ado_store_free(p->part[i].s);
	}
	memset(p, 0, sizeof(*p));
}
