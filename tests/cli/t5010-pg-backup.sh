#!/bin/bash
# ado-backup, database targets, against a real PostgreSQL 15 (scram: TCP needs
# the password): listed tables (the quoted mixed-case one included) and a whole
# database; the manifest's versions, tables and row counts equal SELECT count(*);
# the artifact is a pg_dump custom archive pg_restore -l reads. Beside them each
# failure with its exit status and message: a missing table, an unreachable
# server, a wrong password (never printed), a missing or older pg_dump (exit 2),
# a role without SELECT, and a pg_dump dying midway (exit 1, no manifest, its
# stderr passed on).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/pg-cluster.sh"

PW='Kx9-secret-Pass'
printf '%s\n' "$PW" > "$T/pw"
if ! pg_cluster_start scram "$T/pw" || ! pg_load_schema ado_primary; then
	echo "not ok 1 - start a PostgreSQL cluster"; echo "1..1"; exit 1
fi
unset PGPASSWORD ADO_PG_DUMP ADO_PG_RESTORE

# manifest_check REF EXPR...: each python EXPR over the manifest m (and its database artifact a) holds.
manifest_check() {
	local ref=$1; shift
	/usr/bin/python3 - "$ref/manifest.json" "$@" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
a = [x for x in m["artifacts"] if x["kind"] == "database"][0]
d = a["database"]
bad = [x for x in sys.argv[2:] if not eval(x)]
if bad:
    sys.exit("false: %s\nmanifest: %s" % (bad, json.dumps(m, indent=1)))
EOF
}
# counts_match REF: each table's rows in the manifest equal SELECT count(*) now.
counts_match() {
	local ref=$1 name rows q want
	/usr/bin/python3 -c 'import json,sys
for t in [x for x in json.load(open(sys.argv[1]))["artifacts"] if x["kind"]=="database"][0]["database"]["tables"]:
    print("%s\t%s" % (t["name"], t["rows"]))' "$ref/manifest.json" > "$T/counts"
	[ -s "$T/counts" ] || return 1
	while IFS=$'\t' read -r name rows; do
		q="\"${name%%.*}\".\"${name#*.}\""
		want=$(pg_psql ado_primary -At -c "SELECT count(*) FROM $q") || return 1
		[ "$want" = "$rows" ] || { echo "$name: manifest $rows, table $want"; return 1; }
	done < "$T/counts"
}

cp "$T/pw" "$T/pwfile"; chmod 600 "$T/pwfile"
cat > "$T/cfg.yml" <<YML
state_dir: $T/state
encryption: { key_file: $T/key }
databases:
  ado_primary: { conninfo: "host=127.0.0.1 port=$PGPORT user=postgres", password_file: $T/pwfile }
backup_jobs:
  listed:
    targets:
      - database: "ado_primary"
        tables: ["users", "tasks", "Mixed Case Table", "reporting.daily"]
    destinations: [ { local: "$T/dest/" } ]
    encryption: AES-256
  whole:
    targets: [ { database: "ado_primary" } ]
    destinations: [ { local: "$T/dest/" } ]
  missing:
    targets: [ { database: "ado_primary", tables: ["users", "no_such_table"] } ]
    destinations: [ { local: "$T/dest/" } ]
YML
make_key "$T/key"

# --- listed tables, encrypted ---
run 0 ado-backup -c "$T/cfg.yml" listed
ref=$out
check "listed: manifest exists" test -f "$ref/manifest.json"
check "listed: versions, 4 tables in order, not whole" manifest_check "$ref" \
	'd["server_version"].startswith("15.")' 'd["pg_dump_version"].startswith("15.")' \
	'[t["name"] for t in d["tables"]] == ["public.users", "public.tasks", "public.Mixed Case Table", "reporting.daily"]' \
	'not d["whole_database"]' 'a["name"] == "db-ado_primary.pgdump.zst.enc"' 'a["source"] == "ado_primary"'
check "listed: row counts equal SELECT count(*)" counts_match "$ref"
check "listed: mixed-case table has 120 rows" manifest_check "$ref" \
	'[t["rows"] for t in d["tables"] if t["name"] == "public.Mixed Case Table"] == [120]'
check "listed: the password is not in the manifest" sh -c "! grep -q '$PW' '$ref/manifest.json'"
expect_no_err "$PW"

# --- whole database, unencrypted: a pg_dump custom archive after zstd -d ---
run 0 ado-backup -c "$T/cfg.yml" whole
ref=$out
check "whole: whole_database, all 8 tables" manifest_check "$ref" 'd["whole_database"]' 'len(d["tables"]) == 8' \
	'"reporting.daily" in [t["name"] for t in d["tables"]]' 'a["name"] == "db-ado_primary.pgdump.zst"'
check "whole: row counts equal SELECT count(*)" counts_match "$ref"
zstd -q -d -c "$ref/db-ado_primary.pgdump.zst" > "$T/plain.dump"
check "whole: pg_restore -l reads the decompressed artifact" sh -c \
	"pg_restore -l '$T/plain.dump' | grep -q 'TABLE DATA public Mixed Case Table'"
check "whole: it holds the sequence" sh -c "pg_restore -l '$T/plain.dump' | grep -q 'SEQUENCE SET public invoice_seq'"

# --- failures ---
run 1 ado-backup -c "$T/cfg.yml" missing
expect_err "table 'no_such_table' not found in database 'ado_primary'"
check "missing table: no manifest" sh -c "! ls '$T'/dest/missing/*/manifest.json"

port=$(free_port)
sed "s/port=$PGPORT/port=$port/" "$T/cfg.yml" > "$T/down.yml"
run 1 ado-backup -c "$T/down.yml" whole
expect_err "cannot connect to database 'ado_primary' on 127.0.0.1:$port"
expect_err "hint: is the server running on 127.0.0.1:$port?"

printf 'not-the-password\n' > "$T/wrongpw"; chmod 600 "$T/wrongpw"
sed "s#password_file: $T/pwfile#password_file: $T/wrongpw#" "$T/cfg.yml" > "$T/wrong.yml"
run 1 ado-backup -c "$T/wrong.yml" whole
expect_err "password authentication failed for user"
expect_err "hint: password authentication failed for user 'postgres'"
expect_no_err "not-the-password"
expect_no_err "$PW"
# a wrong password at verify time: the backup is not damaged, the check could
# not run: one UNCHECKED line with the cause, status 6, the hint naming the
# databases: entry that exists (not the maintenance database)
run 6 ado-verify -c "$T/wrong.yml" "$ref" "$ref"
check "wrong password at verify: UNCHECKED, the cause once" test "$(printf '%s\n' "$out" | head -n 1 | cut -c1-10)" = "UNCHECKED "
expect_out "password authentication failed for user"
expect_out "UNCHECKED $ref: could not check, as above"
expect_no_out "FAIL"
expect_err "hint: password authentication failed for user 'postgres': check password_file / password_env of databases: entry 'ado_primary'"
check "the hint is said once" test "$(printf '%s\n' "$err" | grep -c hint:)" = 1

ADO_PG_DUMP=/nonexistent/pg_dump run 2 ado-backup -c "$T/cfg.yml" whole
expect_err "pg_dump"
expect_err "/nonexistent/pg_dump"
expect_err "hint: "

cat > "$T/old_pg_dump" <<'EOF'
#!/bin/sh
echo "pg_dump (PostgreSQL) 14.0"
EOF
chmod 755 "$T/old_pg_dump"
ADO_PG_DUMP=$T/old_pg_dump run 2 ado-backup -c "$T/cfg.yml" whole
expect_err "pg_dump 14.0 is older than the server 15."

pg_psql ado_primary -c "CREATE ROLE noread LOGIN PASSWORD '$PW'; GRANT USAGE ON SCHEMA reporting TO noread; GRANT SELECT ON users TO noread" >/dev/null
sed "s/user=postgres/user=noread/" "$T/cfg.yml" > "$T/noread.yml"
run 1 ado-backup -c "$T/noread.yml" listed
expect_err "permission denied for table 'public.tasks', 'public.Mixed Case Table', 'reporting.daily' in database 'ado_primary'"
expect_err "GRANT SELECT"

# a pg_dump that writes part of a dump, says something on stderr and fails
cat > "$T/bad_pg_dump" <<EOF
#!/bin/sh
case "\$1" in --version) exec /usr/lib/postgresql/15/bin/pg_dump --version;; esac
/usr/lib/postgresql/15/bin/pg_dump "\$@" | head -c 200000
echo "pg_dump: error: FAKE-MIDWAY-MARKER connection lost" >&2
exit 1
EOF
chmod 755 "$T/bad_pg_dump"
ADO_PG_DUMP=$T/bad_pg_dump run 1 ado-backup -c "$T/cfg.yml" whole
expect_err "FAKE-MIDWAY-MARKER"
expect_err "pg_dump failed for database 'ado_primary' (exit 1)"
check "dump failing midway: no manifest, no folder left" sh -c \
	"[ \$(ls '$T'/dest/whole | wc -l) = 1 ] && [ \$(ls '$T'/dest/whole/*/manifest.json | wc -l) = 1 ]"
expect_no_out "/whole/"

done_testing
