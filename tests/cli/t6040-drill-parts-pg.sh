#!/bin/bash
# A drill of the plan's dr-test-plan.yml (unchanged) over the plan's own
# ado_primary, split across critical_data and important_data with foreign
# keys both ways between the halves: the two jobs' backups are one scratch
# copy, rebuilt from both (no half restores alone), damaged, recovered and
# checked table by table against both manifests; the scratch databases are
# gone afterwards. Beside it: one half's backup damaged fails the drill
# (exit 1) naming the artifact, and still leaves no scratch database.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/pg-cluster.sh"
. "$TOP/tests/lib/pg-plan-shape.sh"

plan_shape_start

cat > "$T/cfg.yml" <<YML
state_dir: $T/state
backup_jobs:
  critical_data:
    targets: [ { database: "ado_primary", tables: ["users", "tasks", "configurations"] } ]
    destinations: [ { local: "$T/critical/" } ]
  important_data:
    targets: [ { database: "ado_primary", tables: ["execution_logs", "metrics", "user_settings"], name: db-history } ]
    destinations: [ { local: "$T/important/" } ]
YML
run 0 ado-backup -c "$T/cfg.yml" critical_data
run 0 ado-backup -c "$T/cfg.yml" important_data
dbs > "$T/dbs0"
fingerprint ado_primary > "$T/fp0"

# --- the plan's drill over both halves ---
run 0 ado-recover -c "$T/cfg.yml" --drill "$TOP/examples/dr-test-plan.yml" --test "Database Recovery Test" --yes
expect_out "1 scratch copy under"
expect_out "  step 'Execute recovery procedure': restored 1 target from backups into the sandbox"
expect_out "6 tables from 2 jobs' backups, row counts match the manifests"
expect_out "  criterion 'Database fully restored': passed"
expect_out "test 'Database Recovery Test': passed"
expect_no_out "does not exist"
dbs > "$T/dbs1"
check "scratch databases removed" cmp "$T/dbs0" "$T/dbs1"
fingerprint ado_primary > "$T/fp1"
check "production untouched" cmp "$T/fp0" "$T/fp1"

# --- one half's backup damaged: the drill fails, naming it, and cleans up ---
art=$(compgen -G "$T/important/important_data/*/db-history*" | head -1)
case $art in "$T"/*) ;; *) echo "Bail out! no artifact of important_data under \$T"; exit 1 ;; esac
printf 'x' | dd of="$art" bs=1 seek=100 conv=notrunc status=none
run 1 ado-recover -c "$T/cfg.yml" --drill "$TOP/examples/dr-test-plan.yml" --test "Database Recovery Test" --yes
expect_out "  criterion 'Database fully restored': failed"
expect_out "  criterion 'Recovery time < 30 minutes': failed"
expect_out "test 'Database Recovery Test': failed"
expect_out "$(basename "$art")"
dbs > "$T/dbs2"
check "after the failure too, no scratch database is left" cmp "$T/dbs0" "$T/dbs2"
done_testing
