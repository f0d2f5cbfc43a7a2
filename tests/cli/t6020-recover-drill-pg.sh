#!/bin/bash
# Drills against a real PostgreSQL 15: the plan's dr-test-plan.yml (unchanged,
# from examples/) restores into scratch databases, damages them, recovers and
# validates row counts; the scratch databases are gone afterwards. A drill with
# a deliberately slow step misses a tiny RTO (exit 5) beside one that meets it.
# The KPIs come from the history (--report --json). Read-only mode on and off
# with a write attempted in between.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/pg-cluster.sh"

if ! pg_cluster_start || ! pg_load_schema ado_primary; then
	echo "not ok 1 - start a PostgreSQL cluster"; echo "1..1"; exit 1
fi
unset PGPASSWORD ADO_PG_DUMP ADO_PG_RESTORE
dbs() { pg_psql postgres -At -c "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1"; }
same_file() { cmp "$1" "$2"; }

cat > "$T/cfg.yml" <<YML
state_dir: $T/state
backup_jobs:
  critical_data:
    targets: [ { database: "ado_primary", tables: ["users", "tasks", "configurations"] } ]
    destinations: [ { local: "$T/dest/" } ]
YML
run 0 ado-backup -c "$T/cfg.yml" critical_data
dbs > "$T/dbs0"

# --- refused without a terminal, nothing done ---
run 2 ado-recover -c "$T/cfg.yml" --drill "$TOP/examples/dr-test-plan.yml"
expect_err "ado-recover: refusing to run a drill without a terminal to confirm"
check "refused: no history" test ! -e "$T/state/history.jsonl"

# --- the plan's file, unchanged ---
run 0 ado-recover -c "$T/cfg.yml" --drill "$TOP/examples/dr-test-plan.yml" --yes
expect_out "  step 'Create test database corruption': damaged 1 scratch copy"
expect_out "emptied table 'public.users' (300 rows) in 'ado_drill_database_recovery_te_"
expect_out "  step 'Execute recovery procedure': restored 1 target from backup into the sandbox"
expect_out "3 tables, row counts match the manifest"
expect_out "  criterion 'Database fully restored': passed"
expect_out "  criterion 'All data integrity checks pass': passed"
expect_out "  criterion 'Recovery time < 30 minutes': passed"
expect_out "  step 'Perform user acceptance testing': not automated in a sandbox: not evaluated"
expect_out "  criterion 'User acceptance tests pass': not evaluated"
expect_out "test 'Database Recovery Test': passed"
expect_out "test 'Full System Recovery Test': passed"
dbs > "$T/dbs1"
check "scratch databases removed" same_file "$T/dbs0" "$T/dbs1"
check "no scratch folder left" sh -c "! ls -d /tmp/ado-drill.* 2>/dev/null | grep -q ."
check "production untouched: users has its 300 rows" test "$(pg_psql ado_primary -At -c 'SELECT count(*) FROM users')" = 300

# --- a slow step misses a tiny RTO (exit 5); the same drill without it meets it ---
cat > "$T/drill.yml" <<YML
disaster_recovery_tests:
  - name: "Slow Database Test"
    rto_target: "1 second"
    steps:
      - "Create test database corruption"
      - "Execute recovery procedure"
      - { name: "slow smoke test", run: "psql -X -At -d \"\$(echo \$ADO_DRILL_DATABASES)\" -c 'SELECT count(*) FROM users'; sleep 2.2", pass_env: [PGHOST, PGPORT, PGUSER] }
      - "Validate data integrity"
      - "Measure recovery time"
  - name: "Quick Database Test"
    rto_target: "1 minute"
    steps: [ "Create test database corruption", "Execute recovery procedure", "Validate data integrity", "Measure recovery time" ]
    success_criteria: [ "All data integrity checks pass", "Recovery time < 1 minute", "Stakeholders informed" ]
YML
run 5 ado-recover -c "$T/cfg.yml" --drill "$T/drill.yml" --test "Slow Database Test" --yes
expect_out "  | 300"
expect_out "against a target of 1s: MISSED"
expect_out "test 'Slow Database Test': missed a target"
expect_err "drill passed but missed a target"
run 0 ado-recover -c "$T/cfg.yml" --drill "$T/drill.yml" --test "Quick Database Test" --yes --json
check "JSON: passed, criteria judged or named" /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
t = r["tests"][0]
assert r["status"] == "passed" and t["status"] == "passed" and t["rto_met"], r
assert [c["result"] for c in t["criteria"]] == ["passed", "passed", "not evaluated"], t' <<<"$out"
run 2 ado-recover -c "$T/cfg.yml" --drill "$T/drill.yml" --test "Nope" --yes
expect_err "ado-recover: no test 'Nope' in '$T/drill.yml'"
dbs > "$T/dbs2"
check "scratch databases removed after every drill" same_file "$T/dbs0" "$T/dbs2"

# --- SIGINT in the middle of a drill: scratch databases and folders still removed ---
cat > "$T/int.yml" <<YML
disaster_recovery_tests:
  - name: "Interrupted Test"
    steps: [ "Execute recovery procedure", { name: wait, run: "touch $T/int-started; sleep 20" }, "Validate data integrity" ]
YML
ado-recover -c "$T/cfg.yml" --drill "$T/int.yml" --yes >"$T/int.out" 2>&1 &
ipid=$!
for _ in $(seq 200); do [ -e "$T/int-started" ] && break; sleep 0.05; done
kill -INT $ipid
wait $ipid; irc=$?
check "SIGINT: exit 130" test "$irc" = 130
dbs > "$T/dbs3"
check "SIGINT: scratch databases removed" same_file "$T/dbs0" "$T/dbs3"
check "SIGINT: no scratch folder left" sh -c "! ls -d /tmp/ado-drill.* 2>/dev/null | grep -q ."

# --- KPIs from the history; an unreadable line is reported and skipped ---
echo 'this is not json' >> "$T/state/history.jsonl"
run 0 ado-recover -c "$T/cfg.yml" --report --since 90d --json
expect_err "history.jsonl:5: unreadable history line skipped"
check "KPIs: 4 drills, 3 passed, RTO 3 of 4 met" /usr/bin/python3 -c '
import json, sys
k = json.loads(sys.stdin.read())
assert k["records"] == 4 and k["skipped_lines"] == 1 and k["drills"] == 4, k
assert k["test_success_rate"] == {"evaluated": 4, "passed": 4, "percent": 100}, k
assert k["rto_achievement"]["evaluated"] == 4 and k["rto_achievement"]["met"] == 3, k
assert k["rpo_achievement"]["met"] == 2, k
assert k["mean_time_to_recovery_seconds"] >= 0, k' <<<"$out"
run 0 ado-recover -c "$T/cfg.yml" --report
expect_out "  RTO achievement:       3 of 4 met (75%)"
expect_out "  test success rate:     4 of 4 drills passed (100%)"

# --- read-only mode: a write fails while on, works after ---
pg_psql ado_primary -c "SELECT 1" >/dev/null
run 0 ado-recover -c "$T/cfg.yml" --read-only ado_primary
expect_out "database 'ado_primary' is now read-only for new sessions"
check_not "a write while read-only fails" pg_psql ado_primary -c "INSERT INTO users (email) VALUES ('ro@example.com')"
check "with the read-only error" sh -c "psql -X -h '$PG_SOCKDIR' -p $PGPORT -U postgres -d ado_primary -c \"INSERT INTO users (email) VALUES ('ro@example.com')\" 2>&1 | grep -q 'cannot execute INSERT in a read-only transaction'"
run 0 ado-recover -c "$T/cfg.yml" --read-only ado_primary
expect_out "database 'ado_primary' is already read-only"
# a session opened before is listed, and ended only with --force
pg_psql ado_primary -c "SET default_transaction_read_only = off; SELECT pg_sleep(30)" >/dev/null 2>&1 &
for _ in $(seq 100); do
	[ "$(pg_psql postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'ado_primary' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()")" = 1 ] && break
	sleep 0.05
done
run 0 ado-recover -c "$T/cfg.yml" --read-only ado_primary
expect_out "opened before: it may still write"
expect_out "1 session of 'ado_primary' may still write; --force (force: true in a step) ends them"
run 0 ado-recover -c "$T/cfg.yml" --read-only ado_primary --force
expect_out "ended 1 session of 'ado_primary'"
run 0 ado-recover -c "$T/cfg.yml" --read-write ado_primary
expect_out "database 'ado_primary' is now read-write for new sessions"
check "a write after read-write works" pg_psql ado_primary -c "INSERT INTO users (email) VALUES ('rw@example.com')"
run 0 ado-recover -c "$T/cfg.yml" --read-write ado_primary
expect_out "database 'ado_primary' is already read-write"
run 1 ado-recover -c "$T/cfg.yml" --read-only nosuchdb
expect_err "ado-recover: database 'nosuchdb' does not exist"
done_testing
