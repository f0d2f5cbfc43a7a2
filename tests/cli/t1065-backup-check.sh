#!/bin/bash
# ado-backup --check: one line per item (config, key, database, folder,
# destination), `ok ...` or `FAIL ...: reason` with a hint, exit 0 / 1 / 2.
# Beside each ok its failure: PostgreSQL down, a missing table, a missing
# folder, an unwritable destination, a key readable by others, an unknown job.
# --dry-run runs the same checks, says it is a dry run, and fails like --check.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/pg-cluster.sh"

if ! pg_cluster_start || ! pg_load_schema ado_primary; then
	echo "not ok 1 - start a PostgreSQL cluster"; echo "1..1"; exit 1
fi
unset PGPASSWORD ADO_PG_DUMP ADO_PG_RESTORE
S=$T/src
mkdir -p "$S"; echo data > "$S/a"
: > "$T/notadir"
make_key "$T/key"
cat > "$T/cfg.yml" <<YML
state_dir: $T/state
encryption: { key_file: $T/key }
databases:
  ado_primary: { conninfo: "host=127.0.0.1 port=$PGPORT user=postgres" }
backup_jobs:
  db:
    targets: [ { database: "ado_primary", tables: ["users", "tasks"] } ]
    destinations: [ { local: "$T/dest/" } ]
  files:
    targets: [ { files: "$S/" } ]
    destinations: [ { local: "$T/dest/" } ]
    encryption: AES-256
  missing:
    targets: [ { database: "ado_primary", tables: ["users", "no_such_table"] } ]
    destinations: [ { local: "$T/dest/" } ]
  gone:
    targets: [ { files: "$T/nowhere/" } ]
    destinations: [ { local: "$T/dest/" } ]
  ro:
    targets: [ { files: "$S/" } ]
    destinations: [ { local: "$T/dest/" }, { local: "$T/notadir/dest/" } ]
YML
probes() { find "$T/dest" -name '.ado-check*' | grep -c .; }

# --- all well: every item ok, exit 0 ---
run 0 ado-backup -c "$T/cfg.yml" --check db files
expect_out "ok config '$T/cfg.yml' loads (5 jobs)"
expect_out "ok key '$T/key' opens"
expect_out "ok db: database 'ado_primary' answers (PostgreSQL 15."
expect_out "2 tables listed and readable, pg_dump 15."
expect_out "ok files: folder '$S/' is readable (1 entry)"
expect_out "ok files: destination '$T/dest/' is writable; "
expect_out "free, no backup yet to size it by"
check "one line per item (config, key, 2 targets, 2 destinations)" test "$(printf '%s\n' "$out" | wc -l)" = 6
check "the test objects are removed" test "$(probes)" = 0
check "a check stores no backup" test -z "$(ls -A "$T/dest/files" 2>/dev/null)"
# after a backup, the room is measured against its size
run 0 ado-backup -c "$T/cfg.yml" files
run 0 ado-backup -c "$T/cfg.yml" --check files
expect_out "free, the last backup took "

# --- PostgreSQL down: the database fails, the rest is still checked; exit 1 ---
pg_cluster_pause
run 1 ado-backup -c "$T/cfg.yml" --check db files
expect_out "FAIL db: database 'ado_primary': "
expect_out "ok files: folder '$S/' is readable"
expect_out "ok db: destination '$T/dest/' is writable"
# a dry run checks the same and says so; nothing on stdout looks like a reference
run 1 ado-backup -c "$T/cfg.yml" -n db
expect_out "FAIL db: database 'ado_primary': "
expect_err "dry run: 1 check failed: a run now would fail"
expect_no_out "would store"
pg_cluster_resume
run 0 ado-backup -c "$T/cfg.yml" -n db
expect_out "ok db: database 'ado_primary' answers"
expect_out "dry run: would store $T/dest/db/"
check "no line of a dry run is a bare reference" bash -c '! printf "%s\n" "$1" | grep -q "^/"' _ "$out"
check "the dry run stored nothing" test -z "$(ls "$T/dest/db" 2>/dev/null)"

# --- a missing table: named, exit 1 ---
run 1 ado-backup -c "$T/cfg.yml" --check missing
expect_out "FAIL missing: database 'ado_primary': "
expect_out "no_such_table"

# --- a folder that is not there ---
run 1 ado-backup -c "$T/cfg.yml" --check gone
expect_out "FAIL gone: folder '$T/nowhere/': cannot read '$T/nowhere/': No such file or directory"
expect_err "hint: check the path in the job's targets"

# --- an unwritable destination beside a writable one ---
run 1 ado-backup -c "$T/cfg.yml" --check ro
expect_out "ok ro: destination '$T/dest/' is writable"
expect_out "FAIL ro: destination '$T/notadir/dest/': cannot write a test object"
expect_err "hint: "

# --- --check without a job: every job; an unknown job and a bad key: exit 2 ---
run 1 ado-backup -c "$T/cfg.yml" --check
expect_out "ok db: database"
expect_out "FAIL gone: folder"
run 2 ado-backup -c "$T/cfg.yml" --check nosuchjob
expect_err "no job 'nosuchjob' in '$T/cfg.yml'"
chmod 644 "$T/key"
run 2 ado-backup -c "$T/cfg.yml" --check files
expect_out "FAIL key '$T/key': key file '$T/key' is readable by group or others (mode 0644)"
expect_out "ok files: folder '$S/' is readable"
chmod 600 "$T/key"
run 2 ado-backup -c "$T/cfg.yml" --check --crontab
expect_err "--check and --prune go with job names or --all"
done_testing
