#!/bin/bash
# ado-recover restore_database with jobs: [A, B] on a real PostgreSQL 15: the
# plan's ado_primary, split across critical_data (users, tasks,
# configurations) and important_data (execution_logs, metrics,
# user_settings) with foreign keys both ways between the halves, is rebuilt
# whole after it was dropped: every table of both jobs with its rows, every
# cross-job key there and enforced. Beside it the failures: job and jobs
# both, or neither (a plan error, exit 2, nothing touched); a job that backs
# up no such database, or --backup ID (exit 2 before anything runs, the
# message of ado-restore); one part's backup damaged (exit 1 naming the step
# and the backup, the live database as it was). --resume never runs the
# finished restore again; the timeline records every part's backup.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/pg-cluster.sh"
. "$TOP/tests/lib/pg-plan-shape.sh"

plan_shape_start
same_file() { cmp "$1" "$2"; }

cat > "$T/cfg.yml" <<YML
state_dir: $T/state
backup_jobs:
  critical_data:
    targets:
      - database: "ado_primary"
        tables: ["users", "tasks", "configurations"]
    destinations: [ { local: "$T/critical/" } ]
    rpo: 15 minutes
  important_data:
    targets:
      - database: "ado_primary"
        tables: ["execution_logs", "metrics", "user_settings"]
        name: db-ado_primary-history
    destinations: [ { local: "$T/important/" } ]
    rpo: 1h
  conf_files:
    targets:
      - files: "$T/tmp/"
    destinations: [ { local: "$T/conf/" } ]
YML
export ADO_STATE_DIR=$T/state
# plan FILE STEP: a plan whose data phase is a marker step, then STEP
plan() {
	cat > "$1" <<YML
phases:
  - name: data
    steps:
      - { name: marker, run: "echo ran >> $T/marker" }
      - $2
  - name: validation
    steps:
      - { name: count, run: "psql -X -At -d ado_primary -c 'SELECT count(*) FROM execution_logs'", pass_env: [PGHOST, PGPORT, PGUSER] }
YML
}
untouched() { # DESC: nothing ran, no timeline, the same databases and rows
	check "$1: no step ran" test ! -e "$T/marker"
	check "$1: no timeline" test ! -e "$T/state/recover"
	check "$1: the same databases" same_file "$T/dbs0" <(dbs)
	check "$1: the same rows and keys" same_file "$T/before.fp" <(fingerprint ado_primary)
}

fingerprint ado_primary > "$T/before.fp"
check "fingerprint: six tables and the keys both ways" \
	sh -c "grep -q 'tasks_settings_of_fkey' '$T/before.fp' && grep -q 'execution_logs_task_id_fkey' '$T/before.fp'"
run 0 ado-backup -c "$T/cfg.yml" critical_data
cref=$out
run 0 ado-backup -c "$T/cfg.yml" important_data
iref=$out
dbs > "$T/dbs0"

# --- job and jobs both, or neither: a plan error with its place, nothing touched ---
plan "$T/both.yml" "restore_database: { job: critical_data, jobs: [critical_data, important_data], database: ado_primary, force: true }"
run 2 ado-recover -c "$T/cfg.yml" --plan "$T/both.yml" --yes
expect_err "ado-recover: $T/both.yml:5:27: step 'restore_database ado_primary' of phase 'data': expected one of 'job' and 'jobs' in 'restore_database', found both"
expect_err "hint: a database split across jobs"
untouched "both"
plan "$T/neither.yml" "restore_database: { database: ado_primary, force: true }"
run 2 ado-recover -c "$T/cfg.yml" --plan "$T/neither.yml" --yes
expect_err "ado-recover: $T/neither.yml:5:27: step 'restore_database ado_primary' of phase 'data': expected one of 'job' and 'jobs' in 'restore_database', found neither"
untouched "neither"
plan "$T/one.yml" "restore_database: { jobs: [critical_data], database: ado_primary }"
run 2 ado-recover -c "$T/cfg.yml" --plan "$T/one.yml" --yes
expect_err "ado-recover: $T/one.yml:5:35: expected a list of 2 to 16 jobs for 'jobs' in 'restore_database', found a list of 1"
plan "$T/scalar.yml" "restore_database: { jobs: critical_data, database: ado_primary }"
run 2 ado-recover -c "$T/cfg.yml" --plan "$T/scalar.yml" --yes --dry-run
expect_err "expected a list of 2 to 16 jobs for 'jobs' in 'restore_database', found a scalar"
untouched "a list of one, a scalar"

# --- a job that backs up no such database: ado-restore's message, before anything runs ---
run 2 ado-restore -c "$T/cfg.yml" --job critical_data --job conf_files --target ado_primary --force
restore_err=$err
plan "$T/nodb.yml" "restore_database: { jobs: [critical_data, conf_files], database: ado_primary, force: true }"
run 2 ado-recover -c "$T/cfg.yml" --plan "$T/nodb.yml" --yes
expect_err "ado-recover: $T/nodb.yml:5:9: step 'restore_database ado_primary' of phase 'data': job 'conf_files' backs up no database 'ado_primary'"
pfx="of phase 'data': "
check "the same message and hint as ado-restore" test "${err#*"$pfx"}" = "${restore_err#ado-restore: }"
untouched "no such database"
run 2 ado-recover -c "$T/cfg.yml" --plan "$T/nodb.yml" --dry-run
expect_err "job 'conf_files' backs up no database 'ado_primary'"
plan "$T/nojob.yml" "restore_database: { jobs: [critical_data, nope], database: ado_primary, force: true }"
run 2 ado-recover -c "$T/cfg.yml" --plan "$T/nojob.yml" --yes
expect_err "step 'restore_database ado_primary' of phase 'data': no job 'nope' in '$T/cfg.yml'"
untouched "no such job"
# --backup ID names one job's backup: the other job has its own ids
plan "$T/parts.yml" "restore_database: { jobs: [critical_data, important_data], database: ado_primary, force: true }"
run 2 ado-recover -c "$T/cfg.yml" --plan "$T/parts.yml" --yes --backup "${cref##*/}"
expect_err "step 'restore_database ado_primary' of phase 'data': --backup ID does not apply to a database rebuilt from several jobs"
expect_err "hint: each job's newest complete backup of the database is used (--before TIME for older ones)"
untouched "--backup ID"

# --- dry run: each part's backup and its age ---
run 0 ado-recover -c "$T/cfg.yml" --plan "$T/parts.yml" --dry-run
expect_out "phase 'data' step 'restore_database ado_primary' (destructive): restore database 'ado_primary' from jobs critical_data, important_data: backups '$cref' (age "
expect_out "'$iref' (age "
expect_out "RTO target not set, RPO target 15m"
untouched "dry run"

# --- one part's backup damaged: exit 1 naming the step and the backup; the live database as it was ---
art=$(ls "$iref"/db-*)
cp "$art" "$T/art.good"
printf 'garbage-garbage-garbage' | dd of="$art" bs=1 seek=64 conv=notrunc status=none
run 1 ado-recover -c "$T/cfg.yml" --plan "$T/parts.yml" --yes
expect_out "  using backups '$cref', '$iref' (taken "
expect_err "ado-recover: step 'restore_database ado_primary' of phase 'data' failed: "
expect_err "failed: backup '$iref': artifact '$(basename "$art")': stored bytes differ from the manifest"
check "damaged: the live database as it was" same_file "$T/before.fp" <(fingerprint ado_primary)
check "damaged: no database left behind" same_file "$T/dbs0" <(dbs)
check "damaged: the validation phase did not run" test "$(grep -c . "$T/marker")" = 1
cp "$T/art.good" "$art"
rm -rf "$T/marker" "$T/state/recover" "$T/state/history.jsonl"

# --- the database dropped: rebuilt whole from both jobs ---
pg_psql postgres -c "DROP DATABASE ado_primary" >/dev/null
run 0 ado-recover -c "$T/cfg.yml" --plan "$T/parts.yml" --yes
expect_out "  using backups '$cref', '$iref' (taken "
expect_out "parts taken "
expect_out "checked 6 tables: row counts match the backups"
expect_out "added 4 foreign keys, checked against every part's rows"
expect_out "phase 'data' step 'restore_database ado_primary': ok"
expect_out "  | 800"
expect_out ": succeeded"
expect_out "database 'ado_primary' does not exist: nothing to move aside"
check "every table of both jobs, its rows, every key both ways" same_file "$T/before.fp" <(fingerprint ado_primary)
check_not "a cross-job key is enforced: execution_logs -> tasks" \
	pg_psql ado_primary -c "INSERT INTO execution_logs (task_id, level, logged_at) VALUES (999999, 'info', now())"
check "with the key's error" sh -c "psql -X -h '$PG_SOCKDIR' -p $PGPORT -U postgres -d ado_primary \
	-c \"INSERT INTO tasks (user_id, title, state, settings_of) VALUES (1, 'x', 'open', 999999)\" 2>&1 |
	grep -q 'violates foreign key constraint \"tasks_settings_of_fkey\"'"
tl=$(ls "$T/state/recover/"*.jsonl)
check "timeline: the step names every part's backup" \
	grep -q '"step":"restore_database ado_primary","kind":"restore_database","destructive":true,"status":"ok","duration_ms":[0-9]*,"backup":"'"$cref"'","backup_time":[0-9]*,"backups":\["'"$cref"'","'"$iref"'"\]}' "$tl"

# --- --resume after the restore finished: it is not run again ---
cat > "$T/resume.yml" <<YML
phases:
  - name: data
    steps:
      - restore_database: { jobs: [critical_data, important_data], database: ado_primary, force: true }
  - name: validation
    steps:
      - { name: wait, run: "touch $T/wait-started; sleep 3" }
YML
ado-recover -c "$T/cfg.yml" --plan "$T/resume.yml" --yes >"$T/out1" 2>&1 &
pid=$!
for _ in $(seq 600); do [ -e "$T/wait-started" ] && break; sleep 0.05; done
kill -9 $pid
wait $pid 2>/dev/null
check "killed during the wait: the restore had finished" grep -q "step 'restore_database ado_primary': ok" "$T/out1"
pg_psql ado_primary -c "INSERT INTO metrics VALUES ('after.restore', now(), 1)" >/dev/null
dbs > "$T/dbs1"
run 0 ado-recover -c "$T/cfg.yml" --plan "$T/resume.yml" --yes --resume
expect_out "phase 'data' step 'restore_database ado_primary': finished before, not run again"
expect_out "phase 'validation' step 'wait': ok"
expect_no_out "using backups"
check "resumed: the row written after the restore is still there" \
	test "$(pg_psql ado_primary -At -c "SELECT count(*) FROM metrics WHERE name = 'after.restore'")" = 1
check "resumed: no database swapped again" same_file "$T/dbs1" <(dbs)

# --- --before: each job's newest backup at or before it ---
pg_psql ado_primary -c "UPDATE users SET display_name = 'newer' WHERE id = 1" >/dev/null
run 0 ado-backup -c "$T/cfg.yml" critical_data
cref2=$out
check "a newer backup of critical_data, after both first backups" test "${cref2##*/}" '>' "${iref##*/}"
run 0 ado-recover -c "$T/cfg.yml" --plan "$T/parts.yml" --dry-run
expect_out "from jobs critical_data, important_data: backups '$cref2' (age "
run 0 ado-recover -c "$T/cfg.yml" --plan "$T/parts.yml" --dry-run --before "${iref##*/}"
expect_out "from jobs critical_data, important_data: backups '$cref' (age "
run 1 ado-recover -c "$T/cfg.yml" --plan "$T/parts.yml" --yes --before 2001-01-01
expect_err "ado-recover: step 'restore_database ado_primary' of phase 'data' failed: no complete backup of job 'critical_data'"
check "--before with no backup: the live database as it was" \
	test "$(pg_psql ado_primary -At -c "SELECT display_name FROM users WHERE id = 1")" = newer
run 0 ado-recover -c "$T/cfg.yml" --plan "$T/parts.yml" --yes --before "${iref##*/}"
expect_out "  using backups '$cref', '$iref' (taken "
check "--before: the rows of the older backup" same_file "$T/before.fp" <(fingerprint ado_primary)

# --- a new server: the shipped plan's read_only step finds no database, the restore makes it ---
cat > "$T/newserver.yml" <<YML
phases:
  - name: data
    steps:
      - read_only: { database: ado_primary, force: true }
      - restore_database: { jobs: [critical_data, important_data], database: ado_primary, force: true }
      - read_write: ado_primary
YML
rm -rf "$T/state/recover"
pg_psql postgres -c "DROP DATABASE ado_primary" >/dev/null
run 0 ado-recover -c "$T/cfg.yml" --plan "$T/newserver.yml" --yes --before "${iref##*/}"
expect_out "  database 'ado_primary' does not exist: nothing to set read-only (step 'restore_database ado_primary' restores it)"
expect_out "phase 'data' step 'read_write ado_primary': ok"
check "new server: the database rebuilt whole" same_file "$T/before.fp" <(fingerprint ado_primary)
check "new server: and it takes writes" pg_psql ado_primary -c "INSERT INTO metrics VALUES ('new.server', now(), 1)"
# ... but a read_only of a missing database that no later step restores is still an error
cat > "$T/typo.yml" <<YML
phases:
  - name: data
    steps:
      - read_only: { database: ado_primary_typo, force: true }
      - restore_database: { jobs: [critical_data, important_data], database: ado_primary, force: true }
YML
rm -rf "$T/state/recover"
dbs > "$T/dbs2"
run 1 ado-recover -c "$T/cfg.yml" --plan "$T/typo.yml" --yes
expect_err "database 'ado_primary_typo' does not exist"
expect_no_out "nothing to set read-only"
check "typo: nothing restored after the failed step" same_file "$T/dbs2" <(dbs)
done_testing
