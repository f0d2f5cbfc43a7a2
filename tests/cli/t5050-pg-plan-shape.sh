#!/bin/bash
# The plan's two-job shape on a real PostgreSQL 15: ado_primary split across
# critical_data (users, tasks, configurations) and important_data
# (execution_logs, metrics, user_settings), with foreign keys both ways between
# the halves. Verify by restore of each half skips (and names) the keys to the
# other half, and still fails a dump whose own keys break. A subset is never swapped over the whole database: with --force
# exactly its tables are replaced in one transaction, every other table, row
# and key stays, the old rows are kept in schema ado_before_TIME; without
# --force, or with --to-dir (exit 2), nothing is touched.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/pg-cluster.sh"
. "$TOP/tests/lib/pg-plan-shape.sh"

if ! pg_cluster_start || ! pg_load_schema ado_primary; then
	echo "not ok 1 - start a PostgreSQL cluster"; echo "1..1"; exit 1
fi
unset PGPASSWORD ADO_PG_DUMP ADO_PG_RESTORE

plan_shape_keys ado_primary
dbs() { pg_psql postgres -At -c "SELECT datname || ' ' || oid FROM pg_database WHERE NOT datistemplate ORDER BY 1"; }
schemas() { pg_psql ado_primary -At -c "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ado_before_%' ORDER BY 1"; }

cat > "$T/cfg.yml" <<YML
state_dir: $T/state
backup_jobs:
  critical_data:
    targets:
      - database: "ado_primary"
        tables: ["users", "tasks", "configurations"]
    destinations: [ { local: "$T/critical/" } ]
  important_data:
    targets:
      - database: "ado_primary"
        tables: ["execution_logs", "metrics", "user_settings"]
    destinations: [ { local: "$T/important/" } ]
  never_ran:
    targets:
      - database: "ado_primary"
        tables: ["metrics"]
    destinations: [ { local: "$T/never/" } ]
  logs_only:
    targets:
      - database: "ado_primary"
        tables: ["execution_logs", "metrics"]
    destinations: [ { local: "$T/logs/" } ]
  conf_files:
    targets:
      - files: "$T/tmp/"
    destinations: [ { local: "$T/conf/" } ]
YML
mkdir -p "$T/tmp"

fingerprint ado_primary > "$T/before.fp"
check "fingerprint: six tables and the keys both ways" \
	sh -c "grep -q 'tasks_settings_of_fkey' '$T/before.fp' && grep -q 'execution_logs_task_id_fkey' '$T/before.fp'"
run 0 ado-backup -c "$T/cfg.yml" critical_data
cref=$out
run 0 ado-backup -c "$T/cfg.yml" important_data
iref=$out

# --- verify by restore of a subset: the keys to the other half are skipped and named ---
run 0 ado-verify -c "$T/cfg.yml" --level restore --tmp-dir "$T/tmp" "$cref"
expect_out "ok $cref"
expect_err "skipped 1 foreign key to a table outside this backup: tasks_settings_of_fkey"
run 0 ado-verify -c "$T/cfg.yml" --level restore --tmp-dir "$T/tmp" "$iref"
expect_out "ok $iref"
expect_err "skipped 2 foreign keys to tables outside this backup: execution_logs_task_id_fkey, user_settings_user_id_fkey"
check "verify: no scratch file left" test -z "$(ls "$T/tmp")"
# a truly broken dump still fails: a key inside the subset that its rows break
pg_psql postgres -c "CREATE DATABASE broken TEMPLATE ado_primary" >/dev/null
pg_psql broken -c "ALTER TABLE tasks DISABLE TRIGGER ALL; INSERT INTO tasks (user_id, title, state) VALUES (99999, 'orphan', 'open');
	ALTER TABLE tasks ENABLE TRIGGER ALL" >/dev/null
sed 's/"ado_primary"/"broken"/; s#/critical/#/broken/#' "$T/cfg.yml" > "$T/broken.yml"
run 0 ado-backup -c "$T/broken.yml" critical_data
bref=$out
run 1 ado-verify -c "$T/broken.yml" --level restore --tmp-dir "$T/tmp" "$bref"
expect_out "FAIL $bref: pg_restore failed for database"
expect_err 'violates foreign key constraint "tasks_user_id_fkey"'
check "broken: no scratch file left" test -z "$(ls "$T/tmp")"
pg_psql postgres -c "DROP DATABASE broken" >/dev/null
dbs > "$T/dbs0"

# --- --to-dir with a database target: a usage error, nothing touched ---
run 2 ado-restore -c "$T/cfg.yml" --job critical_data --target ado_primary --to-dir "$T/somewhere" --force
expect_err "target 'db-ado_primary' is a database: --to-dir applies to files only"
check_not "--to-dir: no folder made" test -e "$T/somewhere"
# --- no --force: nothing touched ---
run 1 ado-restore -c "$T/cfg.yml" --job critical_data --target ado_primary
expect_err "database 'ado_primary' exists: replacing 3 of its tables needs --force"
dbs > "$T/dbs1"
fingerprint ado_primary > "$T/after1.fp"
same_file() { cmp "$1" "$2"; }
check "refused: the same databases" same_file "$T/dbs0" "$T/dbs1"
check "refused: the same rows and keys" same_file "$T/before.fp" "$T/after1.fp"
check "refused: no ado_before schema" test -z "$(schemas)"

# --- a subset with --force: exactly its three tables, in one transaction ---
pg_psql ado_primary -c "UPDATE users SET display_name = 'changed'; DELETE FROM configurations WHERE key LIKE '%1%'" >/dev/null
fingerprint ado_primary > "$T/changed.fp"
run 0 ado-restore -c "$T/cfg.yml" --job critical_data --target ado_primary --force
expect_out "restoring 3 tables of 'ado_primary' from backup critical_data/${cref##*/} (taken "
expect_out "replaced 3 tables of 'ado_primary'; every other table is as it was"
expect_out "the previous rows are in schema 'ado_before_2"
fingerprint ado_primary > "$T/after2.fp"
check "subset: all six tables with their rows, and every key both ways, as backed up" same_file "$T/before.fp" "$T/after2.fp"
check "subset: the same database (no swap)" same_file "$T/dbs0" <(dbs)
aside=$(schemas)
check "the old rows are kept in schema ado_before_TIME" \
	test "$(pg_psql ado_primary -At -c "SELECT count(*) FROM $aside.users WHERE display_name = 'changed'")" = 300
# a restore whose rows break a key of another table rolls back as a whole
pg_psql ado_primary -c "INSERT INTO users (id, email) VALUES (100000, 'new@example.com');
	INSERT INTO user_settings (user_id) VALUES (100000)" >/dev/null 2>&1
fingerprint ado_primary > "$T/before3.fp"
run 1 ado-restore -c "$T/cfg.yml" --job critical_data --target ado_primary --force
expect_err "was rolled back"
fingerprint ado_primary > "$T/after3.fp"
check "rolled back: every row and key as it was" same_file "$T/before3.fp" "$T/after3.fp"
check "rolled back: no new ado_before schema" test "$(schemas)" = "$aside"

# --- one database from both jobs (the plan's "database corrupted" recovery) ---
fingerprint ado_primary > "$T/live.fp"
dbs > "$T/dbs4"
BOTH="--job critical_data --job important_data --target ado_primary"
run 0 ado-restore -c "$T/cfg.yml" $BOTH --dry-run
check "how far apart the parts were taken" sh -c "printf '%s\n' \"\$1\" | grep -Eq '^parts taken [0-9]+s apart: critical_data/${cref##*/}, important_data/${iref##*/}\$'" _ "$out"
expect_out "would stop here: replacing 'ado_primary' needs --force"
expect_out "dry run: nothing changed"
run 1 ado-restore -c "$T/cfg.yml" $BOTH
expect_err "database 'ado_primary' exists: replacing it needs --force"
run 2 ado-restore -c "$T/cfg.yml" --job critical_data --job conf_files --target ado_primary --force
expect_err "job 'conf_files' backs up no database 'ado_primary'"
run 1 ado-restore -c "$T/cfg.yml" --job critical_data --job never_ran --target ado_primary --force
expect_err "no complete backup of job 'never_ran' on any destination"
run 2 ado-restore -c "$T/cfg.yml" $BOTH --to-dir "$T/somewhere"
expect_err "--to-dir does not apply to a database rebuilt from several jobs"
check "refused: the same databases" same_file "$T/dbs4" <(dbs)
check "refused: the same rows and keys" same_file "$T/live.fp" <(fingerprint ado_primary)
# --to-database: a copy beside the live one, nothing swapped
run 0 ado-restore -c "$T/cfg.yml" $BOTH --to-database ado_copy
expect_out "restored into 'ado_copy'; 'ado_primary' is unchanged"
check "--to-database: six tables, their rows and every key both ways" same_file "$T/before.fp" <(fingerprint ado_copy)
check "--to-database: the live one unchanged" same_file "$T/live.fp" <(fingerprint ado_primary)
# keys of a part to tables of no part are skipped and named
run 0 ado-backup -c "$T/cfg.yml" logs_only
lref=$out
run 0 ado-restore -c "$T/cfg.yml" --job critical_data --job logs_only --target ado_primary --to-database ado_part
expect_out "skipped 1 foreign key of critical_data/${cref##*/} to tables of no part: tasks_settings_of_fkey"
expect_out "added 2 foreign keys, checked against every part's rows"
check "two parts: five tables" test "$(pg_psql ado_part -At -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 5
# --force: the live one is kept aside, the rebuilt one takes its name
run 0 ado-restore -c "$T/cfg.yml" $BOTH --force
expect_out "restoring part 'db-ado_primary.pgdump.zst' from backup critical_data/${cref##*/} (taken "
expect_out "restoring part 'db-ado_primary.pgdump.zst' from backup important_data/${iref##*/} (taken "
expect_out "checked 6 tables: row counts match the backups"
expect_out "added 4 foreign keys, checked against every part's rows"
expect_out "'ado_primary' is now the restored database (the previous one is 'ado_primary_before_2"
check "--force: six tables, their rows and every key both ways" same_file "$T/before.fp" <(fingerprint ado_primary)
old=$(pg_psql postgres -At -c "SELECT datname FROM pg_database WHERE datname LIKE 'ado_primary_before_%'")
check "--force: the old database kept aside" same_file "$T/live.fp" <(fingerprint "$old")
# a dropped ado_primary rebuilt completely; --json names every part
pg_psql postgres -c "DROP DATABASE ado_primary" >/dev/null
run 0 env TMPDIR="$T/tmp" ado-restore -c "$T/cfg.yml" $BOTH --json
check "--json: every part named" sh -c "printf '%s' \"\$1\" | grep -q '\"parts\":\[{\"job\":\"critical_data\",\"id\":\"${cref##*/}\".*{\"job\":\"important_data\",\"id\":\"${iref##*/}\"'" _ "$out"
expect_err "database 'ado_primary' does not exist: nothing to move aside"
check "dropped: rebuilt, six tables, their rows and every key both ways" same_file "$T/before.fp" <(fingerprint ado_primary)
check "no scratch file left" test -z "$(ls "$T/tmp")"
# the plan's runbook: examples/recover_database.sh --type full verifies both parts, then rebuilds
pg_psql ado_primary -c "DELETE FROM execution_logs WHERE id % 2 = 0" >/dev/null
run 0 env ADO_CONFIG="$T/cfg.yml" sh "$TOP/examples/recover_database.sh" --type full --force
expect_out "ok $cref"
expect_out "ok $iref"
expect_out "'ado_primary' is now the restored database"
check "recover_database.sh --type full: six tables, rows and keys as backed up" same_file "$T/before.fp" <(fingerprint ado_primary)

# --- PostgreSQL down during a run: the files part is stored, and the backup
# is partial everywhere (list, verify, latest, RPO, retention) ---
mkdir -p "$T/src" && echo conf > "$T/src/a.conf"
cat > "$T/mixed.yml" <<YML
state_dir: $T/state
backup_jobs:
  mixed:
    targets:
      - database: "ado_primary"
        tables: ["users", "tasks", "configurations"]
      - files: "$T/src/"
    destinations: [ { local: "$T/mixed/" } ]
    rpo: "3 seconds"
    retention: "1 second"
YML
run 0 ado-backup -c "$T/mixed.yml" mixed
full=$out
sleep 4
pg_cluster_pause
ado-backup -q -c "$T/mixed.yml" mixed > "$T/pipe.refs" 2>/dev/null
check "PostgreSQL down: ado-backup says partial (3)" test $? = 3
part=$(cat "$T/pipe.refs")
check "the files part is stored" test -f "$part/manifest.json"
ado-verify -q -c "$T/mixed.yml" --level checksum - < "$T/pipe.refs" > /dev/null 2>&1 || echo alerted > "$T/alert"
check "ado-backup | ado-verify - || alert: alerts" test -f "$T/alert"
run 0 ado-restore -c "$T/mixed.yml" --list --job mixed
expect_out "${part##*/}"
check "--list: partial, the missing target named" sh -c "printf '%s\n' \"\$1\" | grep -F '${part##*/}' | grep -q 'partial	db-ado_primary	'" _ "$out"
run 3 ado-verify -c "$T/mixed.yml" --level checksum "$part"
expect_out "PARTIAL $part: the backup lacks target 'db-ado_primary' (failed at backup time)"
run 3 ado-verify -c "$T/mixed.yml" --level checksum --job mixed
expect_out "RPO mixed: newest complete copy of target 'db-ado_primary' is "
sleep 2
ado-backup -q -c "$T/mixed.yml" mixed > /dev/null 2>&1
check "retention keeps the last backup holding the database" test -f "$full/manifest.json"
check "retention removed the older partial one" test ! -e "$part"
pg_cluster_resume
# latest for the database: the newest backup that holds it, not the newest one
run 0 ado-restore -c "$T/mixed.yml" --job mixed --target ado_primary --force --dry-run
expect_out "from backup mixed/${full##*/} (taken "

# two subset restores in the same second never clash: the second moves the
# tables aside to ado_before_TIME_2 (the clock is frozen for both)
if command -v faketime >/dev/null; then
	pg_psql ado_primary -c "DELETE FROM user_settings WHERE user_id = 100000; DELETE FROM users WHERE id = 100000" >/dev/null 2>&1
	run 0 faketime -f '2026-12-01 10:00:00' ado-restore -c "$T/cfg.yml" --job critical_data --target ado_primary --force
	expect_out "the previous rows are in schema 'ado_before_20261201t100000z'"
	run 0 faketime -f '2026-12-01 10:00:00' ado-restore -c "$T/cfg.yml" --job critical_data --target ado_primary --force
	expect_out "the previous rows are in schema 'ado_before_20261201t100000z_2'"
	check "both schemas are there" test "$(schemas | grep -c '^ado_before_20261201t100000z')" = 2
else
	skip "faketime is not installed"
fi

done_testing
