#!/bin/bash
# ado-verify --level restore on database backups: a good backup passes and its
# temporary database is gone afterwards; one flipped byte, row counts that do
# not match what the manifest recorded, and --min-tables too high each FAIL
# (exit 1) naming the cause; a leftover temporary database from a killed run
# is replaced; SIGTERM in the middle of a test restore drops the temporary
# database too; --scratch-db restores on the server it names.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/pg-cluster.sh"

if ! pg_cluster_start || ! pg_load_schema ado_primary; then
	echo "not ok 1 - start a PostgreSQL cluster"; echo "1..1"; exit 1
fi
unset PGPASSWORD ADO_PG_DUMP ADO_PG_RESTORE

# flip FILE OFFSET: invert one byte in place
flip() { /usr/bin/python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xff]))' "$1" "$2"; }
temp_dbs() { pg_psql postgres -At -c "SELECT datname FROM pg_database WHERE datname LIKE 'ado_verify%'"; }
no_temp_dbs() { [ -z "$(temp_dbs)" ]; }

make_key "$T/key"
cat > "$T/cfg.yml" <<YML
state_dir: $T/state
encryption: { key_file: $T/key }
backup_jobs:
  enc:
    targets: [ { database: "ado_primary", tables: ["users", "Mixed Case Table", "reporting.daily"] } ]
    destinations: [ { local: "$T/dest/" } ]
    encryption: AES-256
  plain:
    targets: [ { database: "ado_primary" } ]
    destinations: [ { local: "$T/dest/" } ]
    compression: none
  big:
    targets: [ { database: "big" } ]
    destinations: [ { local: "$T/dest/" } ]
    compression: none
YML

run 0 ado-backup -c "$T/cfg.yml" enc
enc=$out
run 0 ado-backup -c "$T/cfg.yml" plain
plain=$out

run 0 ado-verify -c "$T/cfg.yml" "$enc" "$plain"
expect_out "ok $enc"
expect_out "ok $plain"
check "no temporary database is left" no_temp_dbs
run 0 ado-verify -c "$T/cfg.yml" --json "$plain"
expect_out '"tables":8'

run 0 ado-verify -c "$T/cfg.yml" --min-tables 8 "$plain"
run 1 ado-verify -c "$T/cfg.yml" --min-tables 9 "$plain"
expect_out "FAIL $plain: database 'ado_verify_plain_"
expect_out "holds 8 tables, at least 9 expected"
check "--min-tables failure: no temporary database is left" no_temp_dbs

# --scratch-db: the same server, named by conninfo (no dbname: postgres is used)
run 0 ado-verify -c "$T/cfg.yml" --scratch-db "host=127.0.0.1 port=$PGPORT user=postgres" "$enc"
# a server that is not there: the check could not run (UNCHECKED, status 6), not FAIL
run 6 ado-verify -c "$T/cfg.yml" --scratch-db "host=127.0.0.1 port=$(free_port) user=postgres" "$enc"
expect_out "UNCHECKED $enc: cannot test-restore 'db-ado_primary.pgdump.zst.enc': cannot connect to database 'postgres'"


# a leftover from a run killed with SIGKILL is ours to replace
id=${plain##*/}
pg_psql postgres -c "CREATE DATABASE ado_verify_plain_${id,,}" >/dev/null
run 0 ado-verify -c "$T/cfg.yml" "$plain"
check "the leftover temporary database is gone" no_temp_dbs

# row counts: an unencrypted manifest carries no HMAC, so it can be edited
# (with SHA256SUMS left alone: it lists artifacts, not the manifest)
mkdir "$T/tamper" && cp -a "$T/dest/plain" "$T/tamper/"
tref="$T/tamper/plain/$id"
/usr/bin/python3 - "$tref/manifest.json" <<'EOF'
import json, sys
p = sys.argv[1]
m = json.load(open(p))
for t in m["artifacts"][0]["database"]["tables"]:
    if t["name"] == "public.users":
        t["rows"] += 1
json.dump(m, open(p, "w"), indent=2)
EOF
run 1 ado-verify -c "$T/cfg.yml" "$T/tamper/plain/$id"
expect_out "table 'public.users': 300 rows, backup recorded 301"
check "count mismatch: no temporary database is left" no_temp_dbs

# one flipped byte in the stored dump
mkdir "$T/flip" && cp -a "$T/dest/plain" "$T/flip/"
f=$T/flip/plain/$id/db-ado_primary.pgdump
flip "$f" 5000
run 1 ado-verify -c "$T/cfg.yml" "$T/flip/plain/$id"
expect_out "FAIL $T/flip/plain/$id: artifact 'db-ado_primary.pgdump': stored bytes differ from the manifest"
check "flipped byte: no temporary database is left" no_temp_dbs
mkdir "$T/flipenc" && cp -a "$T/dest/enc" "$T/flipenc/"
eid=${enc##*/}
f=$T/flipenc/enc/$eid/db-ado_primary.pgdump.zst.enc
flip "$f" 200
run 1 ado-verify -c "$T/cfg.yml" "$T/flipenc/enc/$eid"
expect_out "FAIL $T/flipenc/enc/$eid: artifact 'db-ado_primary.pgdump.zst.enc': stored bytes differ"
check "flipped byte (encrypted): no temporary database is left" no_temp_dbs

# SIGTERM while pg_restore is busy (about 60 MB of rows)
pg_psql postgres -c "CREATE DATABASE big" >/dev/null
pg_psql big -c "CREATE TABLE t AS SELECT g AS id, md5(g::text) || repeat('x', 100) AS pad FROM generate_series(1, 500000) g" >/dev/null
run 0 ado-backup -c "$T/cfg.yml" big
big=$out
ado-verify -c "$T/cfg.yml" "$big" >"$T/big.out" 2>"$T/big.err" &
vpid=$!
for _ in $(seq 200); do [ -n "$(temp_dbs)" ] && break; sleep 0.05; done
check "the temporary database appears" test -n "$(temp_dbs)"
kill -TERM "$vpid"
wait "$vpid"
rc=$?
check "SIGTERM: exit 143 (got $rc)" test "$rc" = 143
check "SIGTERM: the temporary database was dropped" no_temp_dbs
check "SIGTERM: no ok line" grep -vq "^ok" "$T/big.out"
cat "$T/big.out" "$T/big.err" | sed "s/^/# /"

done_testing
