#!/bin/bash
# ado-restore of database backups against a real PostgreSQL 15: the round trip
# compares every row (an ordered md5 per table, and the sequence), not only
# counts; the replaced database survives as DB_before_<restore time>. Beside it:
# no --force (exit 1, nothing renamed) and --force ending a session; --to-database
# and --tables swap nothing; --dry-run changes nothing; -J 2 leaves no
# temporary file; a damaged dump and a restore killed with SIGKILL halfway
# leave the original database untouched under its name; --cat | pg_restore.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/pg-cluster.sh"

if ! pg_cluster_start || ! pg_load_schema ado_primary; then
	echo "not ok 1 - start a PostgreSQL cluster"; echo "1..1"; exit 1
fi
unset PGPASSWORD ADO_PG_DUMP ADO_PG_RESTORE

# fingerprint DB: per table its row count and the md5 of its rows in order, and the sequence
fingerprint() {
	local db=$1 t
	pg_psql "$db" -At -c "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
		WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' ORDER BY 1" |
	while IFS= read -r t; do
		pg_psql "$db" -At -c "SELECT '$t', count(*), md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), ''))
			FROM $t x" || echo "error reading $t"
	done
	pg_psql "$db" -At -c "SELECT 'invoice_seq', last_value FROM invoice_seq"
}
dbs() { pg_psql postgres -At -c "SELECT datname || ' ' || oid FROM pg_database WHERE NOT datistemplate ORDER BY 1"; }
same_file() { cmp "$1" "$2"; }

make_key "$T/key"
cat > "$T/cfg.yml" <<YML
state_dir: $T/state
encryption: { key_file: $T/key }
backup_jobs:
  whole:
    targets: [ { database: "ado_primary" } ]
    destinations: [ { local: "$T/dest/" } ]
    encryption: AES-256
  listed:
    targets: [ { database: "ado_primary", tables: ["users", "Mixed Case Table", "reporting.daily"] } ]
    destinations: [ { local: "$T/dest/" } ]
  big:
    targets: [ { database: "bigdb" } ]
    destinations: [ { local: "$T/dest/" } ]
    compression: lz4
YML

fingerprint ado_primary > "$T/before.fp"
check "fingerprint covers 8 tables and the sequence" test "$(wc -l < "$T/before.fp")" = 9
run 0 ado-backup -c "$T/cfg.yml" whole
ref=$out
id=${ref##*/}
lid=$(echo "$id" | tr 'A-Z' 'a-z')

pg_psql ado_primary -c "UPDATE users SET display_name = 'changed' WHERE id % 3 = 0;
	DELETE FROM user_settings WHERE user_id > 200; DELETE FROM \"Mixed Case Table\" WHERE \"Id\" < 10;
	INSERT INTO reporting.daily VALUES ('2030-01-01', 1); UPDATE configurations SET blob = NULL;
	SELECT setval('invoice_seq', 5)" >/dev/null
fingerprint ado_primary > "$T/changed.fp"
check_not "the change shows in the fingerprint" same_file "$T/before.fp" "$T/changed.fp"

# --- dry run: prints the steps, changes nothing ---
dbs > "$T/dbs0"
run 0 ado-restore -c "$T/cfg.yml" --job whole --target ado_primary --dry-run
expect_out "would restore 'db-ado_primary.pgdump.zst.enc'"
expect_out "would move 'ado_primary' aside to 'ado_primary_before_2"
expect_out "would stop here: replacing 'ado_primary' needs --force"
expect_out "dry run: nothing changed"
dbs > "$T/dbs1"
check "dry run: no database created, renamed or replaced" same_file "$T/dbs0" "$T/dbs1"

# --- a connected session blocks the swap ---
pg_psql ado_primary -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
spid=$!
for _ in $(seq 100); do
	[ "$(pg_psql postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'ado_primary' AND query LIKE '%pg_sleep%'")" = 1 ] && break
	sleep 0.05
done
bpid=$(pg_psql postgres -At -c "SELECT pid FROM pg_stat_activity WHERE datname = 'ado_primary' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()")
# without --force (and no terminal to ask on) a live database is never replaced
run 1 ado-restore -c "$T/cfg.yml" --job whole --target ado_primary
expect_err "ado-restore: database 'ado_primary' exists: replacing it needs --force"
expect_err "hint: add --force (the current database is moved aside to 'ado_primary_before_2"
dbs > "$T/dbs2"
check "no --force: nothing renamed or created" same_file "$T/dbs0" "$T/dbs2"

# --- --force ends it and restores; every row comes back ---
run 0 ado-restore -c "$T/cfg.yml" --job whole --target ado_primary --force
expect_out "restoring 'db-ado_primary.pgdump.zst.enc' from backup whole/$id (taken "
expect_out "into new database 'ado_primary_restore_$lid'"
expect_out "terminating 1 session on 'ado_primary'"
expect_out "checked 8 tables: row counts match the backup"
expect_out "moved 'ado_primary' aside to 'ado_primary_before_2"
expect_out "'ado_primary' is now the restored database"
aside1=$(printf '%s\n' "$out" | sed -n "s/^moved 'ado_primary' aside to '\(.*\)'$/\1/p")
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
fingerprint ado_primary > "$T/after.fp"
check "every row, and the sequence, as backed up" same_file "$T/before.fp" "$T/after.fp"
fingerprint "$aside1" > "$T/aside.fp"
check "the replaced database is kept as ado_primary_before_ID, unchanged" same_file "$T/changed.fp" "$T/aside.fp"
check "no restore database is left" test -z "$(pg_psql postgres -At -c "SELECT 1 FROM pg_database WHERE datname LIKE '%_restore_%'")"

# --- again, no session: a second aside name; --json names the backup ---
run 0 ado-restore -c "$T/cfg.yml" "$ref" --target db-ado_primary --force --json
expect_out "\"job\":\"whole\",\"id\":\"$id\""
expect_out "\"restored_to\":\"ado_primary\""
aside2=$(printf '%s\n' "$out" | sed -n 's/.*"moved_aside":"\([^"]*\)".*/\1/p')
check "a repeat restore moves aside to a new name" test -n "$aside2" -a "$aside2" != "$aside1"
fingerprint ado_primary > "$T/after2.fp"
check "second restore: every row as backed up" same_file "$T/before.fp" "$T/after2.fp"

# --- --to-database: a copy, nothing swapped ---
dbs > "$T/dbs3"
run 0 ado-restore -c "$T/cfg.yml" --job whole --target ado_primary --to-database copy1
expect_out "restored into 'copy1'; 'ado_primary' is unchanged"
dbs | grep -v '^copy1 ' > "$T/dbs4"
check "--to-database: ado_primary is the same database (oid)" same_file "$T/dbs3" "$T/dbs4"
fingerprint copy1 > "$T/copy1.fp"
check "--to-database: every row" same_file "$T/before.fp" "$T/copy1.fp"
run 1 ado-restore -c "$T/cfg.yml" --job whole --target ado_primary --to-database copy1
expect_err "database 'copy1' already exists"

# --- --tables: only with --to-database ---
run 0 ado-backup -c "$T/cfg.yml" listed
lref=$out
run 2 ado-restore -c "$T/cfg.yml" "$lref" --target ado_primary --tables users
expect_err "--tables restores a subset: it cannot replace database 'ado_primary'"
run 1 ado-restore -c "$T/cfg.yml" "$lref" --target ado_primary --tables nosuch --to-database sub
expect_err "table 'nosuch' is not in the backup of database 'ado_primary'"
run 0 ado-restore -c "$T/cfg.yml" "$lref" --target ado_primary --tables "users,daily" --to-database sub
expect_out "checked 2 tables: row counts match the backup"
check "--tables: exactly the two tables" test "$(pg_psql sub -At -c "SELECT string_agg(format('%s.%s', table_schema, table_name), ' ' ORDER BY 1)
	FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")" = "public.users reporting.daily"

# --- -J 2: through a temporary file, removed afterwards ---
mkdir "$T/tmpdir"
TMPDIR=$T/tmpdir run 0 ado-restore -c "$T/cfg.yml" --job whole --target ado_primary -J 2 --to-database par
fingerprint par > "$T/par.fp"
check "-J 2: every row" same_file "$T/before.fp" "$T/par.fp"
check "-J 2: no temporary file left" test -z "$(ls -A "$T/tmpdir")"
# --tmp-dir: that folder, not $TMPDIR (here one that does not exist)
mkdir "$T/tmpdir2"
TMPDIR=$T/no-such-tmp run 0 ado-restore -c "$T/cfg.yml" --job whole --target ado_primary -J 2 --to-database par2 --tmp-dir "$T/tmpdir2"
check "--tmp-dir: every row" same_file "$T/before.fp" <(fingerprint par2)
check "--tmp-dir: no temporary file left" test -z "$(ls -A "$T/tmpdir2")"
TMPDIR=$T/no-such-tmp run 1 ado-restore -c "$T/cfg.yml" --job whole --target ado_primary -J 2 --to-database par3
expect_err "hint: the whole plaintext dump"
expect_err "give --tmp-dir or TMPDIR"
run 2 ado-restore -c "$T/cfg.yml" --job whole --target ado_primary -J 2 --to-database par3 --tmp-dir "$T/cfg.yml"
expect_err "ado-restore: --tmp-dir: '$T/cfg.yml' is not a folder"
check "--tmp-dir refused: no database made" test -z "$(pg_psql postgres -At -c "SELECT 1 FROM pg_database WHERE datname = 'par3'")"

# --- --cat | pg_restore: the break-glass path ---
pg_psql postgres -c "CREATE DATABASE catdb" >/dev/null
ado-restore -c "$T/cfg.yml" --cat "$ref" db-ado_primary.pgdump.zst.enc 2>"$T/cat.err" |
	pg_restore -h "$PG_SOCKDIR" -U postgres -d catdb --exit-on-error 2>>"$T/cat.err"
check "--cat | pg_restore -d: exit 0 ($(cat "$T/cat.err"))" test "${PIPESTATUS[0]}${PIPESTATUS[1]}" = 00
fingerprint catdb > "$T/cat.fp"
check "--cat | pg_restore -d: every row" same_file "$T/before.fp" "$T/cat.fp"

# --- a damaged dump: the new database is dropped, the current one untouched ---
mkdir "$T/bad" && cp -a "$T/dest/whole" "$T/bad/"
/usr/bin/python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(3000); b = f.read(1); f.seek(3000); f.write(bytes([b[0] ^ 0xff]))' \
	"$T/bad/whole/$id/db-ado_primary.pgdump.zst.enc"
dbs > "$T/dbs5"
run 1 ado-restore -c "$T/cfg.yml" "$T/bad/whole/$id" --target ado_primary --force
expect_err "stored bytes differ from the manifest"
expect_out "dropped the unfinished database 'ado_primary_restore_$lid'; 'ado_primary' is untouched"
dbs > "$T/dbs6"
check "damaged dump: databases exactly as before" same_file "$T/dbs5" "$T/dbs6"

# --- killed with SIGKILL in the middle of pg_restore (about 60 MB of rows) ---
pg_psql postgres -c "CREATE DATABASE bigdb" >/dev/null
pg_psql bigdb -c "CREATE TABLE t AS SELECT g AS id, md5(g::text) || repeat('x', 100) AS pad FROM generate_series(1, 450000) g" >/dev/null
run 0 ado-backup -c "$T/cfg.yml" big
bigref=$out
dbs > "$T/dbs7"
ado-restore -c "$T/cfg.yml" "$bigref" --target bigdb --force >"$T/kill.out" 2>"$T/kill.err" &
rpid=$!
for _ in $(seq 200); do
	[ -n "$(pg_psql postgres -At -c "SELECT 1 FROM pg_stat_activity WHERE datname LIKE 'bigdb_restore_%' AND query LIKE 'COPY%'")" ] && break
	sleep 0.05
done
kill -KILL "$rpid"
wait "$rpid" 2>/dev/null
# the orphaned pg_restore reads EOF and stops on its own
for _ in $(seq 100); do
	[ -z "$(pg_psql postgres -At -c "SELECT 1 FROM pg_stat_activity WHERE datname LIKE 'bigdb_restore_%'")" ] && break
	sleep 0.1
done
check "killed: it was killed in pg_restore, before any swap" sh -c "! grep -q 'moved' '$T/kill.out'"
dbs | grep -v '^bigdb_restore_' > "$T/dbs8"
check "killed: bigdb is the same database, under its name" same_file "$T/dbs7" "$T/dbs8"
check "killed: bigdb still has all its rows" test "$(pg_psql bigdb -At -c 'SELECT count(*) FROM t')" = 450000
run 0 ado-restore -c "$T/cfg.yml" "$bigref" --target bigdb --force
expect_out "dropping 'bigdb_restore_"
expect_out "'bigdb' is now the restored database"

done_testing
