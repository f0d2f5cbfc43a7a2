/* drill.c - the plan's dr-test-plan.yml, run in a sandbox that never touches
 * production. Each test's prose steps are matched to what a sandbox can do:
 *   "...corruption"          restore the latest backups into scratch databases
 *                            (ado_drill_<test>_<id>) and folders, then damage them;
 *   "simulate ... failure"   remove the scratch copies;
 *   "execute ... recovery"   restore the backups into the scratch names again (timed);
 *   "validate ... integrity" row counts and per-file hashes against the manifest;
 *   "measure ..."            the recovery time against rto_target;
 * anything else ("perform user acceptance testing") is named as not automated.
 * A step may also be a plan step (run:, health_check:, ...) run on the sandbox,
 * with ADO_DRILL_DATABASES and ADO_DRILL_DIR in its environment. Scratch
 * databases and folders are removed on every path, a signal included. */
#include "recover/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ado.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/sig.h"
#include "job/cli.h"
#include "job/dbrestore.h"
#include "job/repo.h"
#include "job/restore.h"
#include "source/files/files.h"
#include "source/pg/pg.h"

enum act { A_CORRUPT, A_FAIL, A_RECOVER, A_VALIDATE, A_SERVICES, A_MEASURE, A_MANUAL, A_STEP };

struct dtest {
	char *name;
	long long rto, rpo;
	struct ado_step *steps;
	size_t nsteps;
	char **criteria;
	size_t ncriteria;
};

struct item {			/* one artifact of one backup, and its scratch copy */
	char *job, *id;
	struct ado_store *st;
	struct ado_manifest *m;
	const struct ado_artifact *a;
	char scratch[64];	/* database name, or folder */
	char dir[4096];
	int present;
	/* the plan's ado_primary is split over two jobs whose tables reference
	 * each other: no half restores alone. The parts of one database from
	 * several jobs are one copy, rebuilt by ado_pg_restore_parts into the
	 * scratch database of the first (the lead); the others point at it. */
	long part_of;		/* index of the lead item, or -1 */
	size_t nparts;		/* for a lead: parts in its group, itself included */
};

struct sandbox {
	const struct ado_config *cfg;
	const struct ado_drill_opts *o;
	struct ado_keyring *k;
	char run[32];
	struct item *items;
	size_t n;
	char *root;		/* scratch folder of the test */
	time_t oldest;
};

/* ---- the file ---- */

static void tests_free(struct dtest *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < t[i].nsteps; j++)
			rc_step_free(&t[i].steps[j]);
		for (size_t j = 0; j < t[i].ncriteria; j++)
			free(t[i].criteria[j]);
		free(t[i].steps);
		free(t[i].criteria);
		free(t[i].name);
	}
	free(t);
}

static int parse_test(struct rc_yaml *y, const yaml_node_t *n, struct dtest *t)
{
	static const char *const keys[] = { "name", "frequency", "rto_target", "rpo_target", "steps", "success_criteria",
					    NULL };
	yaml_node_t *v[6];
	char *freq = NULL;

	if (rc_yaml_map(y, n, "a test of 'disaster_recovery_tests'", keys, v) < 0)
		return -1;
	if (!v[0] || !v[4])
		return rc_yaml_err(y, n, "expected 'name' and 'steps' in a test");
	if (rc_yaml_str(y, v[0], "'name' of a test", &t->name) < 0 ||
	    (v[1] && rc_yaml_str(y, v[1], "'frequency'", &freq) < 0) ||
	    (v[2] && rc_yaml_duration(y, v[2], "'rto_target'", &t->rto) < 0) ||
	    (v[3] && rc_yaml_duration(y, v[3], "'rpo_target'", &t->rpo) < 0)) {
		free(freq);
		return -1;
	}
	free(freq);
	if (v[4]->type != YAML_SEQUENCE_NODE)
		return rc_yaml_err(y, v[4], "expected a list of steps in test '%s'", t->name);
	t->steps = calloc((size_t)(v[4]->data.sequence.items.top - v[4]->data.sequence.items.start) + 1, sizeof(*t->steps));
	if (!t->steps)
		return ado_err_set(y->e, ADO_E_NOMEM, 0, "out of memory");
	for (yaml_node_item_t *it = v[4]->data.sequence.items.start; it < v[4]->data.sequence.items.top; it++) {
		yaml_node_t *sn = rc_yaml_node(y, *it);
		struct ado_step *s = &t->steps[t->nsteps];
		if (sn->type == YAML_SCALAR_NODE) {
			memset(s, 0, sizeof(*s));
			s->kind = ADO_STEP_DRILL;
			if (rc_yaml_str(y, sn, "a step", &s->name) < 0)
				return -1;
		} else if (rc_parse_step(y, sn, t->name, s) < 0) {
			rc_step_free(s);
			return -1;
		}
		t->nsteps++;
	}
	if (v[5]) {
		if (v[5]->type != YAML_SEQUENCE_NODE)
			return rc_yaml_err(y, v[5], "expected a list of lines in 'success_criteria'");
		t->criteria = calloc((size_t)(v[5]->data.sequence.items.top - v[5]->data.sequence.items.start) + 1,
				     sizeof(char *));
		for (yaml_node_item_t *it = v[5]->data.sequence.items.start; t->criteria && it < v[5]->data.sequence.items.top;
		     it++)
			if (rc_yaml_str(y, rc_yaml_node(y, *it), "a success criterion", &t->criteria[t->ncriteria++]) < 0)
				return -1;
	}
	return 0;
}

static int load_tests(const char *file, struct dtest **out, size_t *nout, struct ado_err *e)
{
	static const char *const keys[] = { "disaster_recovery_tests", NULL };
	struct rc_yaml y;
	yaml_node_t *v[1];
	struct dtest *t = NULL;
	size_t n = 0;

	*out = NULL;
	*nout = 0;
	if (rc_yaml_load(&y, file, e) < 0)
		return -1;
	if (rc_yaml_map(&y, rc_yaml_root(&y), "the drill file", keys, v) < 0)
		goto fail;
	if (!v[0] || v[0]->type != YAML_SEQUENCE_NODE || v[0]->data.sequence.items.top == v[0]->data.sequence.items.start) {
		rc_yaml_err(&y, v[0] ? v[0] : rc_yaml_root(&y), "expected a list of tests in 'disaster_recovery_tests'");
		goto fail;
	}
	if (!(t = calloc((size_t)(v[0]->data.sequence.items.top - v[0]->data.sequence.items.start), sizeof(*t)))) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto fail;
	}
	for (yaml_node_item_t *it = v[0]->data.sequence.items.start; it < v[0]->data.sequence.items.top; it++)
		if (parse_test(&y, rc_yaml_node(&y, *it), &t[n++]) < 0)
			goto fail;
	rc_yaml_free(&y);
	*out = t;
	*nout = n;
	return 0;
fail:
	tests_free(t, n);
	rc_yaml_free(&y);
	return -1;
}

/* ---- matching prose ---- */

static int has(const char *text, const char *word)
{
	return strcasestr(text, word) != NULL;
}

static enum act classify(const struct ado_step *s)
{
	const char *t = s->name;

	if (s->kind != ADO_STEP_DRILL)
		return A_STEP;
	if (has(t, "corrupt") || has(t, "damage"))
		return A_CORRUPT;
	if (has(t, "simulate") || has(t, "failure"))
		return A_FAIL;
	if (has(t, "integrity") || has(t, "validate data"))
		return A_VALIDATE;
	if (has(t, "measure"))
		return A_MEASURE;
	if (has(t, "operational") || has(t, "services"))
		return A_SERVICES;
	if (has(t, "recover") || has(t, "restore"))
		return A_RECOVER;
	return A_MANUAL;
}

/* ---- the sandbox ---- */

static int is_part(const struct ado_artifact *a)
{
	return strcmp(a->kind, "database") == 0 && !a->whole_database && a->ntables > 0;
}

/* Table subsets of the same database from different jobs become one group,
 * led by the first item, whose scratch copy the group shares. */
static void group_parts(struct sandbox *b)
{
	for (size_t i = 0; i < b->n; i++) {
		b->items[i].part_of = -1;
		b->items[i].nparts = 1;
	}
	for (size_t i = 0; i < b->n; i++) {
		struct item *lead = &b->items[i];
		if (lead->part_of >= 0 || !is_part(lead->a))
			continue;
		for (size_t j = i + 1; j < b->n && lead->nparts < ADO_DB_PARTS_MAX; j++) {
			struct item *it = &b->items[j];
			if (it->part_of < 0 && is_part(it->a) && strcmp(it->job, lead->job) != 0 &&
			    strcmp(it->a->source, lead->a->source) == 0) {
				it->part_of = (long)i;
				lead->nparts++;
			}
		}
	}
}

/* Item j is in the group led by item i (i itself included). */
static int in_group(const struct sandbox *b, size_t i, size_t j)
{
	return j == i || b->items[j].part_of == (long)i;
}

/* A copy of its own (not a part absorbed by another item's copy). */
static int own_copy(const struct item *it)
{
	return it->part_of < 0;
}

static size_t copies(const struct sandbox *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n; i++)
		n += own_copy(&b->items[i]);
	return n;
}

static int connect_admin(struct sandbox *b, struct item *it, struct ado_pg **pg, struct ado_err *e)
{
	return ado_pg_connect_server(b->cfg, it->a->source, NULL, pg, e);
}

/* Remove one scratch copy; errors are reported, the rest goes on. */
static int remove_copy(struct sandbox *b, struct item *it, struct ado_err *e)
{
	struct ado_pg *pg = NULL;
	int rc = 0;

	if (strcmp(it->a->kind, "database") == 0) {
		if ((rc = connect_admin(b, it, &pg, e)) == 0)
			rc = ado_pg_drop_database(pg, it->scratch, e);
		ado_pg_free(pg);
	} else {
		rc = ado_rm_rf(it->dir, e);
	}
	if (rc == 0)
		it->present = 0;
	return rc;
}

static void cleanup(struct sandbox *b)
{
	struct ado_err e;

	for (size_t i = 0; i < b->n; i++) {
		struct item *it = &b->items[i];
		/* a database is dropped even when not known present: a signal may have come mid-restore */
		if (own_copy(it) && (strcmp(it->a->kind, "database") == 0 || it->present) && remove_copy(b, it, &e) < 0)
			ado_log_err(&e);
		ado_manifest_free(it->m);
		ado_store_free(it->st);
		free(it->job);
		free(it->id);
	}
	free(b->items);
	b->items = NULL;
	b->n = 0;
	if (b->root) {
		if (ado_rm_rf(b->root, &e) < 0)
			ado_log_err(&e);
		free(b->root);
		b->root = NULL;
	}
}

/* The latest backup of each job (or the one asked for) and its artifacts. */
static int gather(struct sandbox *b, const char *test, int db_only, struct ado_err *e)
{
	char slug[24];
	size_t ndb = 0, nf = 0;

	rc_slug(test, slug, sizeof(slug));
	b->oldest = 0;
	for (size_t j = 0; j < b->cfg->njobs; j++) {
		const struct ado_job *jb = &b->cfg->jobs[j];
		struct ado_store *st = NULL;
		struct ado_manifest *m = NULL;
		char *id = NULL;

		if (b->o->job && strcmp(b->o->job, jb->name) != 0)
			continue;
		if (ado_restore_select(b->cfg, jb->name, NULL, 0, NULL, NULL, b->k, &st, &id, e) < 0 ||
		    ado_repo_manifest(st, jb->name, id, b->k, ado_repo_auth_required(b->cfg, jb->name, b->k), &m, NULL, e) < 0) {
			ado_store_free(st);
			free(id);
			return ado_err_prefix(e, "drill '%s': job '%s'", test, jb->name);
		}
		for (size_t i = 0; i < m->nartifacts; i++) {
			const struct ado_artifact *a = &m->artifacts[i];
			struct item *it, *ni;
			int isdb = strcmp(a->kind, "database") == 0;
			if (!isdb && (db_only || strcmp(a->kind, "files") != 0))
				continue;
			if (!(ni = realloc(b->items, (b->n + 1) * sizeof(*ni)))) {
				ado_manifest_free(m);
				ado_store_free(st);
				free(id);
				return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
			}
			b->items = ni;
			it = &b->items[b->n++];
			memset(it, 0, sizeof(*it));
			it->a = a;
			it->job = strdup(jb->name);
			it->id = strdup(id);
			if (isdb)
				snprintf(it->scratch, sizeof(it->scratch), "ado_drill_%.20s_%.17s_%zu", slug, b->run, ++ndb);
			else
				snprintf(it->scratch, sizeof(it->scratch), "files-%zu", ++nf);
		}
		/* the last item taken from this backup owns its store and manifest */
		for (size_t i = b->n; i-- > 0;)
			if (b->items[i].a >= m->artifacts && b->items[i].a < m->artifacts + m->nartifacts) {
				b->items[i].st = st;
				b->items[i].m = m;
				st = NULL;
				m = NULL;
				break;
			}
		if (id && (!b->oldest || ado_backup_id_time(id) < b->oldest))
			b->oldest = ado_backup_id_time(id);
		ado_manifest_free(m);
		ado_store_free(st);
		free(id);
	}
	group_parts(b);
	if (!b->n) {
		ado_err_set(e, ADO_E_CONFIG, 0, "drill '%s': no %s backup to drill with%s%s", test, db_only ? "database" : "",
			    b->o->job ? " in job " : "", b->o->job ? b->o->job : "");
		return ado_err_hint(e, "back up a job with a database target first (ado-backup), or choose it with --job");
	}
	return 0;
}

/* The store and manifest an item's artifact lives in (owned by a later item). */
static void item_src(struct sandbox *b, size_t i, struct ado_store **st, struct ado_manifest **m)
{
	for (size_t j = i; j < b->n; j++)
		if (b->items[j].m && b->items[i].a >= b->items[j].m->artifacts &&
		    b->items[i].a < b->items[j].m->artifacts + b->items[j].m->nartifacts) {
			*st = b->items[j].st;
			*m = b->items[j].m;
			return;
		}
	*st = NULL;
	*m = NULL;
}

static int restore_copy(struct sandbox *b, size_t i, struct ado_err *e)
{
	struct item *it = &b->items[i];
	struct ado_store *st;
	struct ado_manifest *m;

	item_src(b, i, &st, &m);
	if (it->present && remove_copy(b, it, e) < 0)
		return -1;
	if (strcmp(it->a->kind, "database") == 0 && it->nparts > 1) {
		struct ado_db_part parts[ADO_DB_PARTS_MAX];
		struct ado_db_restore_opts o = { 0 };
		size_t n = 0;

		for (size_t j = i; j < b->n && n < ADO_DB_PARTS_MAX; j++)
			if (in_group(b, i, j)) {
				item_src(b, j, &parts[n].s, (struct ado_manifest **)&parts[n].m);
				parts[n].a = b->items[j].a;
				n++;
			}
		o.to_database = it->scratch;
		o.say = b->o->say;
		o.say_arg = b->o->say_arg;
		it->present = 1;
		return ado_pg_restore_parts(b->cfg, parts, n, b->k, &o, e);
	} else if (strcmp(it->a->kind, "database") == 0) {
		struct ado_db_restore_opts o = { 0 };
		o.to_database = it->scratch;
		it->present = 1;
		return ado_pg_restore_artifact(b->cfg, st, m, it->a, b->k, &o, e);
	} else {
		struct ado_files_restore_opts o = { 1, 0, NULL, NULL, NULL, 0, NULL };
		snprintf(it->dir, sizeof(it->dir), "%s/%s", b->root, it->scratch);
		it->present = 1;
		return ado_restore_files(st, m, it->a, b->k, it->dir, &o, e);
	}
}

static char *quote_qualified(const char *display)
{
	const char *dot = strchr(display, '.');
	size_t n = strlen(display);
	char *q = malloc(2 * n + 8), *o = q;

	if (!q)
		return NULL;
	*o++ = '"';
	for (const char *s = display; *s; s++) {
		if (s == dot) {
			*o++ = '"';
			*o++ = '.';
			*o++ = '"';
			continue;
		}
		if (*s == '"')
			*o++ = '"';
		*o++ = *s;
	}
	*o++ = '"';
	*o = '\0';
	return q;
}

static int damage(struct sandbox *b, size_t i, char *what, size_t len, struct ado_err *e)
{
	struct item *it = &b->items[i];

	if (strcmp(it->a->kind, "database") == 0) {
		struct ado_pg *admin = NULL, *pg = NULL;
		const struct ado_table_count *t = NULL;
		char sql[1200], *q;
		int rc = -1;

		for (size_t k = 0; k < it->a->ntables && !t; k++)
			if (it->a->tables[k].rows > 0)
				t = &it->a->tables[k];
		if (!t)
			return ado_err_set(e, ADO_E_CONFIG, 0, "backup '%s/%s' has no table with rows to damage", it->job,
					   it->id);
		if (!(q = quote_qualified(t->name)))
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		snprintf(sql, sizeof(sql), "TRUNCATE TABLE %s CASCADE", q);
		free(q);
		if (connect_admin(b, it, &admin, e) == 0 && ado_pg_connect_like(admin, it->scratch, &pg, e) == 0 &&
		    ado_pg_exec(pg, "damage the scratch copy", sql, NULL, 0, NULL, e) == 0) {
			snprintf(what, len, "emptied table '%s' (%lld rows) in '%s'", t->name, (long long)t->rows, it->scratch);
			rc = 0;
		}
		ado_pg_free(pg);
		ado_pg_free(admin);
		return rc;
	} else {
		char junk[4200];
		FILE *f;
		if (ado_rm_rf(it->dir, e) < 0 || ado_mkdirs(it->dir, 0700, e) < 0)
			return -1;
		snprintf(junk, sizeof(junk), "%s/corrupted", it->dir);
		if ((f = fopen(junk, "w")))
			fclose(f);
		snprintf(what, len, "emptied scratch folder '%.900s'", it->dir);
		return 0;
	}
}

static void on_check_warn(void *arg, const char *msg)
{
	ado_warn("%s", msg);
}

static int validate(struct sandbox *b, size_t i, char *what, size_t len, struct ado_err *e)
{
	struct item *it = &b->items[i];
	struct ado_store *st;
	struct ado_manifest *m;

	item_src(b, i, &st, &m);
	if (strcmp(it->a->kind, "database") == 0) {
		struct ado_pg *admin = NULL, *pg = NULL;
		struct ado_pg_table *t;
		size_t nt = 0, k = 0;
		int rc = -1;

		/* a rebuilt group: the tables of every part, each against its own manifest */
		for (size_t j = i; j < b->n; j++)
			if (in_group(b, i, j))
				nt += b->items[j].a->ntables;
		if (!(t = calloc(nt + 1, sizeof(*t))))
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		for (size_t j = i; j < b->n; j++)
			if (in_group(b, i, j))
				for (size_t q = 0; q < b->items[j].a->ntables; q++, k++) {
					t[k].display = b->items[j].a->tables[q].name;
					t[k].rows = b->items[j].a->tables[q].rows;
				}
		if (connect_admin(b, it, &admin, e) == 0 && ado_pg_connect_like(admin, it->scratch, &pg, e) == 0 &&
		    ado_pg_check_counts(pg, t, nt, e) == 0) {
			if (it->nparts > 1)
				snprintf(what, len, "'%s': %zu tables from %zu jobs' backups, row counts match the manifests",
					 it->scratch, nt, it->nparts);
			else
				snprintf(what, len, "'%s': %zu tables, row counts match the manifest", it->scratch, nt);
			rc = 0;
		}
		free(t);
		ado_pg_free(pg);
		ado_pg_free(admin);
		return rc;
	} else {
		const struct ado_artifact *ia = it->a->index ? ado_manifest_find(m, it->a->index) : NULL;
		struct ado_files_stats cs = { 0 };
		struct ado_writer *w;

		if (!ia)
			return ado_err_set(e, ADO_E_FORMAT, 0, "artifact '%s' has no index in the manifest", it->a->name);
		if (!(w = ado_index_check_writer_new(it->dir, on_check_warn, NULL, &cs, e)) ||
		    ado_repo_read_artifact(st, m, ia, b->k, ADO_READ_PLAIN, w, e) < 0)
			return -1;
		if (cs.warnings)
			return ado_err_set(e, ADO_E_INTEGRITY, 0, "'%s': %llu entries differ from the manifest's index",
					   it->dir, (unsigned long long)cs.warnings);
		snprintf(what, len, "'%.900s': %llu entries, sizes and hashes match the manifest", it->dir,
			 (unsigned long long)cs.entries);
		return 0;
	}
}

/* ---- one test ---- */

struct result {
	const char *status;	/* passed, failed, missed a target */
	long long recovery, age;
	int rto_met, rpo_met, failed;
};

/* steps_ok: no step failed. A time limit is met only by a drill that got
 * through its steps: one that stopped early took no time to recover nothing. */
static int judge(const char *c, int recovered, int validated, long long recovery, int steps_ok, int *evaluated)
{
	const char *lt = strchr(c, '<');
	long long lim;
	struct ado_err e;

	*evaluated = 1;
	if (lt && has(c, "time")) {
		while (*++lt == ' ' || *lt == '=')
			;
		if (ado_duration_parse(lt, &lim, &e) == 0)
			return steps_ok && recovery < lim;
	}
	if (has(c, "integrity"))
		return validated > 0;
	if (has(c, "restored") || has(c, "recovered"))
		return recovered > 0;
	*evaluated = 0;
	return 0;
}

static int run_test(struct sandbox *b, const struct dtest *t, struct ado_json *j, struct result *r, struct ado_err *e)
{
	int db_only = has(t->name, "database") && !has(t->name, "full") && !has(t->name, "system");
	int recovered = 0, validated = 0, stop = 0, steps_ok;
	time_t t_start = time(NULL), clock0 = 0;
	char dbs[2048] = "", envd[2100], envr[4200], envt[300], a1[32], a2[32];
	char *extra[3] = { envd, envr, envt };
	struct rc_exec x = { 0 };
	struct ado_err se;

	memset(r, 0, sizeof(*r));
	r->age = -1;
	if (!(b->root = ado_mkdtemp(NULL, "ado-drill", e)) || gather(b, t->name, db_only, e) < 0)
		return -1;
	for (size_t i = 0; i < b->n; i++)
		if (own_copy(&b->items[i]) && strcmp(b->items[i].a->kind, "database") == 0)
			snprintf(dbs + strlen(dbs), sizeof(dbs) - strlen(dbs), "%s%s", *dbs ? " " : "", b->items[i].scratch);
	snprintf(envd, sizeof(envd), "ADO_DRILL_DATABASES=%s", dbs);
	snprintf(envr, sizeof(envr), "ADO_DRILL_DIR=%s", b->root);
	snprintf(envt, sizeof(envt), "ADO_DRILL_TEST=%s", t->name);
	x.cfg = b->cfg;
	x.keyring = b->k;
	x.say = b->o->say;
	x.say_arg = b->o->say_arg;
	x.extra_env = extra;
	x.nextra = 3;
	ado_sayf(b->o->say, b->o->say_arg, "drill '%s' (run %s): %zu scratch cop%s under '%s'%s%s", t->name, b->run,
		 copies(b), copies(b) == 1 ? "y" : "ies", b->root, *dbs ? " and databases " : "", dbs);
	if (j) {
		ado_json_obj_begin(j, NULL);
		ado_json_kstr(j, "name", t->name);
		ado_json_arr_begin(j, "steps");
	}
	for (size_t k = 0; k < t->nsteps; k++) {
		const struct ado_step *s = &t->steps[k];
		enum act act = classify(s);
		char what[1200] = "", note[1300];
		int rc = 0;

		ado_err_clear(&se);
		if (stop || ado_interrupted()) {
			if (ado_interrupted())
				break;
			ado_sayf(b->o->say, b->o->say_arg, "  step '%s': not run", s->name);
			continue;
		}
		if ((act == A_RECOVER || act == A_STEP) && !clock0)
			clock0 = time(NULL);
		switch (act) {
		case A_CORRUPT:
			for (size_t i = 0; i < b->n && rc == 0; i++)
				if (own_copy(&b->items[i]) && (rc = restore_copy(b, i, &se)) == 0 &&
				    (rc = damage(b, i, what, sizeof(what), &se)) == 0)
					ado_sayf(b->o->say, b->o->say_arg, "    %s", what);
			snprintf(what, sizeof(what), "damaged %zu scratch cop%s", copies(b), copies(b) == 1 ? "y" : "ies");
			break;
		case A_FAIL:
			for (size_t i = 0; i < b->n && rc == 0; i++)
				if (own_copy(&b->items[i]) && b->items[i].present)
					rc = remove_copy(b, &b->items[i], &se);
			snprintf(what, sizeof(what), "scratch copies removed: nothing left to serve from");
			break;
		case A_RECOVER:
			for (size_t i = 0; i < b->n && rc == 0; i++)
				if (own_copy(&b->items[i]))
					rc = restore_copy(b, i, &se);
			recovered = rc == 0 ? 1 : -1;
			snprintf(what, sizeof(what), "restored %zu target%s from backup%s into the sandbox", copies(b),
				 copies(b) == 1 ? "" : "s", b->n == 1 ? "" : "s");
			break;
		case A_VALIDATE:
			for (size_t i = 0; i < b->n && rc == 0; i++)
				if (own_copy(&b->items[i]) && (rc = validate(b, i, what, sizeof(what), &se)) == 0)
					ado_sayf(b->o->say, b->o->say_arg, "    %s", what);
			validated = rc == 0 ? 1 : -1;
			snprintf(what, sizeof(what), "integrity of %zu cop%s checked", copies(b), copies(b) == 1 ? "y" : "ies");
			break;
		case A_MEASURE:
			r->recovery = clock0 ? (long long)(time(NULL) - clock0) : 0;
			snprintf(what, sizeof(what), "recovery time %s", rc_dur(r->recovery, a1, sizeof(a1)));
			break;
		case A_SERVICES:
		case A_MANUAL:
			snprintf(what, sizeof(what), "not automated in a sandbox: not evaluated");
			break;
		case A_STEP:
			rc = rc_step_exec(&x, s, &se);
			snprintf(what, sizeof(what), "%s", x.tail);
			break;
		}
		if (rc < 0)
			snprintf(note, sizeof(note), "failed: %s", se.msg);
		else
			snprintf(note, sizeof(note), "%s", what);
		ado_sayf(b->o->say, b->o->say_arg, "  step '%s': %s", s->name, note);
		if (j) {
			ado_json_obj_begin(j, NULL);
			ado_json_kstr(j, "name", s->name);
			ado_json_kstr(j, "status", rc < 0 ? "failed" : act == A_MANUAL || act == A_SERVICES ? "not evaluated" : "ok");
			ado_json_kstr(j, "detail", note);
			ado_json_obj_end(j);
		}
		if (rc < 0) {
			r->failed = 1;
			stop = 1;
		}
	}
	if (j)
		ado_json_arr_end(j);
	if (!r->recovery && clock0)
		r->recovery = (long long)(time(NULL) - clock0);
	/* a backup stamped in the second the drill began (ids are taken ahead
	 * when two runs share a second) is fresh, not of unknown age */
	r->age = b->oldest ? (t_start > b->oldest ? (long long)(t_start - b->oldest) : 0) : -1;
	r->rto_met = !t->rto || r->recovery <= t->rto;
	r->rpo_met = !t->rpo || r->age < 0 || r->age <= t->rpo;
	if (j)
		ado_json_arr_begin(j, "criteria");
	steps_ok = !r->failed;
	for (size_t k = 0; k < t->ncriteria; k++) {
		int ev, ok = judge(t->criteria[k], recovered, validated, r->recovery, steps_ok, &ev);
		const char *res = !ev ? "not evaluated" : ok ? "passed" : "failed";
		if (ev && !ok)
			r->failed = 1;
		ado_sayf(b->o->say, b->o->say_arg, "  criterion '%s': %s", t->criteria[k], res);
		if (j) {
			ado_json_obj_begin(j, NULL);
			ado_json_kstr(j, "text", t->criteria[k]);
			ado_json_kstr(j, "result", res);
			ado_json_obj_end(j);
		}
	}
	if (j)
		ado_json_arr_end(j);
	r->status = r->failed ? "failed" : !r->rto_met || !r->rpo_met ? "missed a target" : "passed";
	if (t->rto)
		ado_sayf(b->o->say, b->o->say_arg, "  recovery time %s against a target of %s: %s",
			 rc_dur(r->recovery, a1, sizeof(a1)), rc_dur(t->rto, a2, sizeof(a2)), r->rto_met ? "met" : "MISSED");
	if (t->rpo && r->age >= 0)
		ado_sayf(b->o->say, b->o->say_arg, "  data age %s against a target of %s: %s", rc_dur(r->age, a1, sizeof(a1)),
			 rc_dur(t->rpo, a2, sizeof(a2)), r->rpo_met ? "met" : "MISSED");
	if (j) {
		ado_json_kstr(j, "status", r->status);
		ado_json_kint(j, "recovery_seconds", r->recovery);
		ado_json_kint(j, "rto_target_seconds", t->rto);
		ado_json_kbool(j, "rto_met", r->rto_met);
		ado_json_kint(j, "data_age_seconds", r->age);
		ado_json_kint(j, "rpo_target_seconds", t->rpo);
		ado_json_kbool(j, "rpo_met", r->rpo_met);
		ado_json_obj_end(j);
	}
	if (ado_interrupted())
		return ado_err_set(e, ADO_E_INTERRUPTED, 0, "drill '%s' interrupted by signal %d", t->name,
				   ado_interrupted());
	return 0;
}

static void drill_history(struct sandbox *b, const struct dtest *t, const struct result *r)
{
	struct ado_buf buf;
	struct ado_json j;
	struct ado_err e;

	rc_json_begin(&j, &buf, "drill", b->run);
	ado_json_kstr(&j, "kind", "drill");
	ado_json_kstr(&j, "test", t->name);
	ado_json_kint(&j, "duration", r->recovery);
	ado_json_kint(&j, "rto_target", t->rto);
	ado_json_kint(&j, "rpo_target", t->rpo);
	ado_json_kint(&j, "data_age", r->age);
	ado_json_kbool(&j, "success", !r->failed);
	ado_json_obj_end(&j);
	if (!buf.oom && rc_history_append(b->cfg->state_dir, buf.data, &e) < 0)
		ado_log_err(&e);
	ado_buf_free(&buf);
}

int ado_recover_drill(const struct ado_config *cfg, const char *file, const struct ado_drill_opts *o,
		      struct ado_buf *out, struct ado_err *e)
{
	struct sandbox b = { 0 };
	struct dtest *t = NULL;
	struct ado_json j;
	size_t n = 0, ran = 0;
	int status = ADO_EXIT_OK;

	if (load_tests(file, &t, &n, e) < 0)
		return ado_err_exit(e->kind) == ADO_EXIT_USAGE ? ADO_EXIT_USAGE : ADO_EXIT_FAIL;
	if (o->test) {
		size_t k;
		for (k = 0; k < n && strcmp(t[k].name, o->test) != 0; k++)
			;
		if (k == n) {
			char list[600] = "";
			for (size_t i = 0; i < n; i++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s'%s'", i ? ", " : "", t[i].name);
			ado_err_set(e, ADO_E_USAGE, 0, "no test '%s' in '%s'", o->test, file);
			ado_err_hint(e, "its tests: %s", list);
			tests_free(t, n);
			return ADO_EXIT_USAGE;
		}
	}
	if (o->dry_run) {
		for (size_t k = 0; k < n; k++) {
			if (o->test && strcmp(t[k].name, o->test) != 0)
				continue;
			ado_sayf(o->say, o->say_arg, "drill '%s': would restore the latest backup%s into scratch %s", t[k].name,
				 o->job ? " of job " : "s of every job", has(t[k].name, "database") ? "databases" : "databases and folders");
			for (size_t s = 0; s < t[k].nsteps; s++)
				ado_sayf(o->say, o->say_arg, "  step '%s'%s", t[k].steps[s].name,
					 classify(&t[k].steps[s]) == A_MANUAL || classify(&t[k].steps[s]) == A_SERVICES
						 ? ": not automated, will be named as not evaluated" : "");
		}
		ado_sayf(o->say, o->say_arg, "dry run: nothing changed");
		tests_free(t, n);
		return ADO_EXIT_OK;
	}
	if (!o->yes && !o->interactive) {
		ado_err_set(e, ADO_E_USAGE, 0, "refusing to run a drill without a terminal to confirm: it creates scratch "
			    "databases on the configured servers");
		ado_err_hint(e, "give --yes to run it unattended (cron); it never touches production data");
		tests_free(t, n);
		return ADO_EXIT_USAGE;
	}
	if (!o->yes && (!o->confirm || !o->confirm(o->confirm_arg, "create scratch databases and folders for the drill?"))) {
		ado_err_set(e, ADO_E_USAGE, 0, "drill not confirmed: nothing done");
		tests_free(t, n);
		return ADO_EXIT_USAGE;
	}
	b.cfg = cfg;
	b.o = o;
	ado_backup_id(time(NULL), b.run, sizeof(b.run));
	for (char *c = b.run; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (ado_cli_keyring(cfg, 0, &b.k, e) < 0) {
		tests_free(t, n);
		return ADO_EXIT_USAGE;
	}
	if (o->json) {
		ado_json_init(&j, out, 1);
		ado_json_obj_begin(&j, NULL);
		ado_json_kstr(&j, "run", b.run);
		ado_json_arr_begin(&j, "tests");
	}
	for (size_t k = 0; k < n; k++) {
		struct result r;
		if (o->test && strcmp(t[k].name, o->test) != 0)
			continue;
		ran++;
		if (run_test(&b, &t[k], o->json ? &j : NULL, &r, e) < 0) {
			cleanup(&b);
			if (ado_interrupted()) {
				status = ado_sig_exit(ado_interrupted());
				break;
			}
			status = ado_err_exit(e->kind) == ADO_EXIT_USAGE ? ADO_EXIT_USAGE : ADO_EXIT_FAIL;
			if (o->json)
				ado_json_obj_end(&j);	/* the test's object, left open */
			break;
		}
		cleanup(&b);
		drill_history(&b, &t[k], &r);
		if (!o->json)
			ado_buf_printf(out, "test '%s': %s\n", t[k].name, r.status);
		if (r.failed)
			status = ADO_EXIT_FAIL;
		else if (strcmp(r.status, "passed") != 0 && status == ADO_EXIT_OK)
			status = ADO_EXIT_TARGET;
	}
	if (o->json) {
		ado_json_arr_end(&j);
		ado_json_kstr(&j, "status", status == 0 ? "passed" : status == ADO_EXIT_TARGET ? "missed a target" : "failed");
		ado_json_obj_end(&j);
		ado_buf_puts(out, "\n");
	}
	if (status == ADO_EXIT_FAIL && e->kind == ADO_E_NONE)
		ado_err_set(e, ADO_E_INTEGRITY, 0, "drill failed: see the steps and criteria above");
	else if (status == ADO_EXIT_TARGET)
		ado_err_set(e, ADO_E_NONE, 0, "drill passed but missed a target: see above");
	ado_keyring_free(b.k);
	tests_free(t, n);
	return status;
}
