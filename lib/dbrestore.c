/* dbrestore.c - placeholder until the PostgreSQL restore path lands (issue 3). */
#include "dbrestore.h"

int ado_pg_verify_artifact(const struct ado_config *cfg, struct ado_store *s, const struct ado_manifest *m,
			   const struct ado_artifact *a, struct ado_keyring *k, const char *scratch_conninfo,
			   long min_tables, uint64_t *tables, struct ado_err *e)
{
	return ado_err_set(e, ADO_E_UNSUPPORTED, 0, "database restore checks are not built yet ('%s')", a->name);
}

int ado_pg_restore_artifact(const struct ado_config *cfg, struct ado_store *s, const struct ado_manifest *m,
			    const struct ado_artifact *a, struct ado_keyring *k, const struct ado_db_restore_opts *o,
			    struct ado_err *e)
{
	return ado_err_set(e, ADO_E_UNSUPPORTED, 0, "database restore is not built yet ('%s')", a->name);
}
