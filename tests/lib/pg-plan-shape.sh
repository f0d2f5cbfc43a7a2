# pg-plan-shape.sh - the plan's ado_primary split across two jobs, for the
# tests that restore it from both (sourced after pg-cluster.sh, once
# pg_load_schema has made the database):
#
#   plan_shape_keys DB    a key from the critical half (tasks) into the important
#                         half (user_settings): with the schema's keys the other
#                         way, foreign keys cross between the halves both ways
#   fingerprint DB        per table of $SIX its rows (count, md5 in order), then
#                         every foreign key: equal fingerprints, equal databases
#
#   plan_shape_start      start the cluster, load the schema into ado_primary,
#                         add plan_shape_keys, TMPDIR=$T/tmp; else "not ok" and exit
#   dbs                   the cluster's databases, by name
#
# critical_data backs up users, tasks, configurations; important_data
# execution_logs, metrics, user_settings.

SIX="users tasks configurations execution_logs metrics user_settings"

plan_shape_keys() {
	pg_psql "$1" -c "ALTER TABLE tasks ADD COLUMN settings_of int REFERENCES user_settings (user_id);
	UPDATE tasks SET settings_of = user_id WHERE id % 5 = 0 AND user_id IN (SELECT user_id FROM user_settings)" >/dev/null
}

fingerprint() {
	local db=$1 t
	for t in $SIX; do
		pg_psql "$db" -At -c "SELECT '$t', count(*), md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM public.$t x" ||
			echo "error reading $t"
	done
	pg_psql "$db" -At -c "SET search_path = ''; SELECT conrelid::regclass, conname, pg_get_constraintdef(oid)
		FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace ORDER BY 1::text, 2"
}

plan_shape_start() {
	if ! pg_cluster_start || ! pg_load_schema ado_primary; then
		echo "not ok 1 - start a PostgreSQL cluster"; echo "1..1"; exit 1
	fi
	unset PGPASSWORD ADO_PG_DUMP ADO_PG_RESTORE
	mkdir -p "$T/tmp" && export TMPDIR=$T/tmp
	plan_shape_keys ado_primary
}

dbs() { pg_psql postgres -At -c "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1"; }
