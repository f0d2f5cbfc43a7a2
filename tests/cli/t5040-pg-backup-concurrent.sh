#!/bin/bash
# ado-backup of a database that is being written to: a background psql loop
# inserts rows for as long as the backup runs. The row counts run beside
# pg_dump (not before it), in the exported snapshot: the manifest's count of
# each table must equal the rows pg_restore gets back from that very dump,
# not the live table, which has grown meanwhile. Once with a pg_dump that
# starts a second late (inserts land between the snapshot and the dump, and
# while the counts run), once as is, whole database and listed tables. Beside
# them: the checks that refuse a target still come before pg_dump starts (a
# missing table, a view: no pg_dump run at all).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/pg-cluster.sh"

if ! pg_cluster_start || ! pg_psql postgres -c "CREATE DATABASE conc" >/dev/null; then
	echo "not ok 1 - start a PostgreSQL cluster"; echo "1..1"; exit 1
fi
unset PGPASSWORD ADO_PG_DUMP ADO_PG_RESTORE

pg_psql conc -c "CREATE TABLE events (id bigserial PRIMARY KEY, body text);
	INSERT INTO events (body) SELECT 'event ' || g || ' ' || md5(g::text) FROM generate_series(1, 200000) g;
	CREATE TABLE \"Audit Log\" (id bigserial PRIMARY KEY, note text);
	INSERT INTO \"Audit Log\" (note) SELECT 'note ' || g FROM generate_series(1, 1000) g;
	CREATE VIEW events_view AS SELECT * FROM events" >/dev/null

make_key "$T/key"
cat > "$T/cfg.yml" <<YML
state_dir: $T/state
encryption: { key_file: $T/key }
backup_jobs:
  whole:
    targets: [ { database: "conc" } ]
    destinations: [ { local: "$T/dest/" } ]
  listed:
    targets: [ { database: "conc", tables: ["events", "Audit Log"] } ]
    destinations: [ { local: "$T/dest/" } ]
    encryption: AES-256
  missing:
    targets: [ { database: "conc", tables: ["events", "no_such_table"] } ]
    destinations: [ { local: "$T/dest/" } ]
  view:
    targets: [ { database: "conc", tables: ["events_view"] } ]
    destinations: [ { local: "$T/dest/" } ]
YML

# pg_dump that starts a second late; logs each run, so a test can tell it never ran
cat > "$T/late_pg_dump" <<EOF
#!/bin/sh
case "\$1" in --version) exec "$PG_BIN/pg_dump" --version;; esac
echo run >> "$T/pg_dump.runs"
sleep 1
exec "$PG_BIN/pg_dump" "\$@"
EOF
chmod 755 "$T/late_pg_dump"

# The writer: one short transaction after another into both tables, bounded
# in count (3000 rounds) and time (60 s), until $T/stop appears.
inserter() {
	local i=0 t0=$SECONDS
	while [ ! -e "$T/stop" ] && [ $i -lt 3000 ] && [ $((SECONDS - t0)) -lt 60 ]; do
		pg_psql conc -c "INSERT INTO events (body) SELECT 'late ' || g FROM generate_series(1, 25) g;
			INSERT INTO \"Audit Log\" (note) VALUES ('late')" >/dev/null 2>&1
		i=$((i + 1))
	done
}
inserter_pid=
start_inserter() { rm -f "$T/stop"; inserter & inserter_pid=$!; }
stop_inserter() {
	[ -n "$inserter_pid" ] || return 0
	touch "$T/stop"
	wait "$inserter_pid"
	inserter_pid=
}
at_exit stop_inserter

live() { pg_psql conc -At -c "SELECT count(*) FROM $1"; }
# wait_growth TABLE N: until the live table holds more than N rows (the writer is writing)
wait_growth() {
	local n=0
	while [ "$(live "$1")" -le "$2" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	[ "$(live "$1")" -gt "$2" ]
}
# manifest_rows REF TABLE: the row count the manifest records for TABLE (display name)
manifest_rows() {
	/usr/bin/python3 -c 'import json,sys
a = [x for x in json.load(open(sys.argv[1]))["artifacts"] if x["kind"] == "database"][0]
print([t["rows"] for t in a["database"]["tables"] if t["name"] == sys.argv[2]][0])' "$1/manifest.json" "$2"
}
# restore_dump REF DB: the database artifact, decrypted and decompressed by ado-restore --cat, into a new DB by pg_restore
restore_dump() {
	local art
	art=$(cd "$1" && ls db-conc.pgdump*) || return 1
	ado-restore -c "$T/cfg.yml" --cat "$1" "$art" > "$T/$2.dump" 2>"$T/$2.err" || { cat "$T/$2.err"; return 1; }
	pg_psql postgres -c "CREATE DATABASE \"$2\"" >/dev/null &&
	pg_restore --exit-on-error -h "$PG_SOCKDIR" -p "$PGPORT" -U postgres -d "$2" "$T/$2.dump"
}
# same_rows REF DB TABLE QUOTED: manifest count == rows pg_restore put in DB
same_rows() {
	local m r
	m=$(manifest_rows "$1" "$3") || return 1
	r=$(pg_psql "$2" -At -c "SELECT count(*) FROM $4") || return 1
	echo "manifest $m, restored $r"
	[ "$m" = "$r" ]
}
# lagging REF TABLE QUOTED: the live table now has more rows than the manifest (the writer went on)
lagging() {
	local m l
	m=$(manifest_rows "$1" "$2") || return 1
	l=$(live "$3")
	echo "manifest $m, live $l"
	[ "$l" -gt "$m" ]
}

# --- pg_dump starting late: inserts land after the snapshot, before and while it dumps ---
start_inserter
check "the writer is inserting" wait_growth events 200000
before=$(live events)
ADO_PG_DUMP=$T/late_pg_dump run 0 ado-backup -c "$T/cfg.yml" whole
ref=$out
after=$(live events)
check "whole, late pg_dump: rows were inserted while the backup ran" test "$after" -gt "$before"
check "whole, late pg_dump: manifest counts at least the rows present before it" \
	test "$(manifest_rows "$ref" public.events)" -ge "$before"
check "whole, late pg_dump: the dump restores" restore_dump "$ref" r_whole
check "whole, late pg_dump: events: manifest rows == pg_restore'd rows" same_rows "$ref" r_whole public.events events
check "whole, late pg_dump: Audit Log: manifest rows == pg_restore'd rows" \
	same_rows "$ref" r_whole "public.Audit Log" '"Audit Log"'
check "whole, late pg_dump: the live table has moved on" lagging "$ref" public.events events

# --- as is, listed tables, encrypted ---
ADO_PG_DUMP= run 0 ado-backup -c "$T/cfg.yml" listed
ref=$out
check "listed: the dump restores" restore_dump "$ref" r_listed
check "listed: events: manifest rows == pg_restore'd rows" same_rows "$ref" r_listed public.events events
check "listed: Audit Log: manifest rows == pg_restore'd rows" \
	same_rows "$ref" r_listed "public.Audit Log" '"Audit Log"'
check "listed: the live table has moved on" lagging "$ref" "public.Audit Log" '"Audit Log"'
stop_inserter

# --- refusals still come before pg_dump: it never runs ---
rm -f "$T/pg_dump.runs"
ADO_PG_DUMP=$T/late_pg_dump run 1 ado-backup -c "$T/cfg.yml" missing
expect_err "table 'no_such_table' not found in database 'conc'"
ADO_PG_DUMP=$T/late_pg_dump run 2 ado-backup -c "$T/cfg.yml" view
expect_err "'events_view' in database 'conc' is not a plain table"
check_not "refused targets: pg_dump never started" test -e "$T/pg_dump.runs"
check "refused targets: no manifest" sh -c "! ls '$T'/dest/missing/*/manifest.json '$T'/dest/view/*/manifest.json"

done_testing
