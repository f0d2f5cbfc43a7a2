/* dbverify.c - verify --level restore of a database artifact (see
 * dbrestore.h): a fresh temporary database, restored, counted, dropped. */
#include "job/dbint.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* The test itself could not run (no server, login refused, no CREATEDB):
 * that says nothing about the backup's bytes, so it is not a failed check. */
static int unchecked(struct ado_err *e)
{
	if (e && e->kind != ADO_E_INTERRUPTED)
		e->kind = ADO_E_UNCHECKED;
	return -1;
}

/* A backup of listed tables: its foreign keys that point at tables outside
 * it (the plan's important_data -> critical_data) cannot be created in an
 * empty scratch database. The dump goes to a 0600 file, its table of
 * contents is read, and it is restored without exactly those keys (named in
 * one line); every other key is created and checked as before. */
static int restore_subset(struct ado_pg *admin, const char *db, struct ado_store *s, const struct ado_manifest *m,
			  const struct ado_artifact *a, struct ado_keyring *k, const char *tmp_dir, struct ado_err *e)
{
	struct ado_pg_restore_opts ro = { 0 };
	struct ado_db_dump d = { 0 };
	int rc = -1;

	if (ado_db_dump_open(admin, s, m, a, k, tmp_dir, &a, 1, &d, e) < 0 ||
	    ado_db_dump_list(&d, ADO_PG_TOC_ALL, tmp_dir, e) < 0)
		goto out;
	if (d.nskip)
		ado_warn("backup %s/%s, '%s': skipped %zu foreign key%s outside this backup: %s", m->job, m->id,
			 a->target, d.nskip, d.nskip == 1 ? " to a table" : "s to tables", d.names);
	/* owners and grants name roles a scratch server may not have */
	ro.no_owner = 1;
	ro.file = d.file;
	ro.list = d.list;
	rc = ado_pg_restore_file(admin, db, &ro, e);
out:
	ado_db_dump_close(&d);
	return rc;
}

int ado_pg_verify_artifact(const struct ado_config *cfg, struct ado_store *s, const struct ado_manifest *m,
			   const struct ado_artifact *a, struct ado_keyring *k, const char *scratch_conninfo,
			   const char *tmp_dir, long min_tables, uint64_t *tables, struct ado_err *e)
{
	struct ado_pg_restore_opts ro = { 0 };
	struct ado_pg *admin = NULL;
	char tmp[PG_NAME_MAX + 1], label[256];
	size_t checked = 0;
	int created = 0, rc = -1;

	if (!a->source || !*a->source)
		return ado_err_set(e, ADO_E_FORMAT, 0, "artifact '%s' names no database", a->name);
	snprintf(label, sizeof(label), "%s", m->job);
	ado_db_safe_name(tmp, sizeof(tmp), "ado_verify_", label, m->id);
	if (ado_db_connect_admin(cfg, a->source, scratch_conninfo, &admin, e) < 0) {
		ado_err_prefix(e, "cannot test-restore '%s'", a->name);
		return unchecked(e);
	}
	/* a verify killed with SIGKILL leaves its database behind: it is ours */
	if (ado_pg_drop_database(admin, tmp, e) < 0) {
		unchecked(e);
		goto out;
	}
	if (ado_pg_create_database(admin, tmp, e) < 0) {
		ado_db_create_hint(e);
		unchecked(e);
		goto out;
	}
	created = 1;
	ado_debug("test-restoring '%s' into temporary database '%s'", a->name, tmp);
	if (ado_db_prepare_schemas(admin, tmp, a, e) < 0)
		goto out;
	/* owners and grants name roles a scratch server may not have */
	ro.no_owner = 1;
	if (!a->whole_database && a->ntables > 0) {
		if (restore_subset(admin, tmp, s, m, a, k, tmp_dir, e) < 0)
			goto out;
	} else if (ado_db_restore_into(admin, tmp, s, m, a, k, &ro, NULL, e) < 0) {
		goto out;
	}
	if (ado_db_check_database(admin, tmp, a, NULL, 0, min_tables, &checked, e) < 0)
		goto out;
	if (tables)
		*tables += checked;
	rc = 0;
out:
	if (created) {
		struct ado_err de;
		ado_err_clear(&de);
		/* runs after Ctrl-C / SIGTERM too: the flag only stops the data flow */
		if (ado_pg_drop_database(admin, tmp, &de) < 0) {
			ado_warn("cannot drop temporary database '%s': %s", tmp, de.msg);
			ado_hint("drop it by hand: dropdb '%s'", tmp);
		}
	}
	ado_pg_free(admin);
	return rc;
}
