#!/bin/bash
# metrics: { dir: }: every tool writes DIR/ado_TOOL_JOB.prom atomically, mode 0644, accepted by promtool;
# a failure keeps the last success time; a missing or unwritable folder is one warning and the run's own status.
. "$(dirname "$0")/../lib/test-lib.sh"
command -v promtool >/dev/null || skip_all "promtool not installed (Debian package prometheus)"

P=$T/prom
mkdir -p "$T/src" "$P" && echo data > "$T/src/f"
cat > "$T/cfg.yml" <<CFG
state_dir: $T/state
metrics: { dir: $P }
backup_jobs:
  critical_data:
    schedule: "*/15 * * * *"
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/d1/" }, { local: "$T/d2/" } ]
    compression: none
CFG
B=$P/ado_backup_critical_data.prom
V=$P/ado_verify_critical_data.prom
R=$P/ado_recover.prom
val() { grep -F "$1 " "$2" | sed 's/.* //'; }	# val SERIES FILE: its value
l1='{job="critical_data",destination="'$T'/d1/"}'
l2='{job="critical_data",destination="'$T'/d2/"}'
promtool_ok() { promtool check metrics < "$1"; }

run 0 ado-backup -c "$T/cfg.yml" critical_data
check "promtool accepts the backup file" promtool_ok "$B"
check "mode 0644" test "$(stat -c %a "$B")" = 644
check "no temp file left" test "$(ls -A "$P")" = ado_backup_critical_data.prom
check "success on d1" test "$(val "ado_backup_last_run_success$l1" "$B")" = 1
check "success on d2" test "$(val "ado_backup_last_run_success$l2" "$B")" = 1
check "stored bytes" test "$(val "ado_backup_last_stored_bytes$l1" "$B")" -gt 1000
check "last success = last run" test "$(val "ado_backup_last_success_timestamp_seconds$l2" "$B")" = \
	"$(val "ado_backup_last_run_timestamp_seconds$l2" "$B")"
check "HELP and TYPE" grep -qx '# TYPE ado_backup_last_duration_seconds gauge' "$B"

# d2 fails: its success time is carried over (pinned to a known value), d1's moves on; exit 3
sed -i "s|^\(ado_backup_last_success_timestamp_seconds{.*d2/\"}\) .*|\1 1234567890|" "$B"
check "pinned" test "$(val "ado_backup_last_success_timestamp_seconds$l2" "$B")" = 1234567890
mv "$T/d2" "$T/d2.away" && touch "$T/d2"
run 3 ado-backup -c "$T/cfg.yml" critical_data
check "promtool accepts it" promtool_ok "$B"
check "d2 failed" test "$(val "ado_backup_last_run_success$l2" "$B")" = 0
check "d2 stored nothing" test "$(val "ado_backup_last_stored_bytes$l2" "$B")" = 0
check "d2 keeps its last success time" test "$(val "ado_backup_last_success_timestamp_seconds$l2" "$B")" = 1234567890
check "d1 succeeded" test "$(val "ado_backup_last_run_success$l1" "$B")" = 1

# nothing stored at all (the source is gone): exit 1, both keep their success times
mv "$T/src" "$T/src.away"
d1=$(val "ado_backup_last_success_timestamp_seconds$l1" "$B")
run 1 ado-backup -c "$T/cfg.yml" critical_data
check "d1 failed" test "$(val "ado_backup_last_run_success$l1" "$B")" = 0
check "d1 keeps its success time" test "$(val "ado_backup_last_success_timestamp_seconds$l1" "$B")" = "$d1"
check "d2 still keeps its" test "$(val "ado_backup_last_success_timestamp_seconds$l2" "$B")" = 1234567890
mv "$T/src.away" "$T/src"; rm "$T/d2"; mv "$T/d2.away" "$T/d2"

# verify: per job and level, levels side by side in one file
run 0 ado-verify -c "$T/cfg.yml" --job critical_data --level checksum
run 0 ado-verify -c "$T/cfg.yml" --job critical_data --level read
check "promtool accepts the verify file" promtool_ok "$V"
check "checksum level kept" test "$(val 'ado_verify_last_success{job="critical_data",level="checksum"}' "$V")" = 1
check "read level" test "$(val 'ado_verify_last_checked_backups{job="critical_data",level="read"}' "$V")" = 3
printf 'x' | dd of="$(ls "$T"/d1/critical_data/*/*.tar | head -1)" bs=1 seek=10 conv=notrunc 2>/dev/null
run 1 ado-verify -c "$T/cfg.yml" --job critical_data --level checksum
check "checksum failed" test "$(val 'ado_verify_last_success{job="critical_data",level="checksum"}' "$V")" = 0
check "one failed backup" test "$(val 'ado_verify_last_failed_backups{job="critical_data",level="checksum"}' "$V")" = 1
check "read level untouched" test "$(val 'ado_verify_last_success{job="critical_data",level="read"}' "$V")" = 1

# the RPO watch: age and target in the same file, the verify families kept
run 0 ado-verify -c "$T/cfg.yml" --rpo
check "promtool accepts it" promtool_ok "$V"
check "rpo target from the schedule" test "$(val 'ado_backup_rpo_target_seconds{job="critical_data"}' "$V")" = 900
check "age on d2" test "$(val "ado_backup_age_seconds$l2" "$V")" -lt 900
check "fresh on d1" test "$(val "ado_backup_fresh$l1" "$V")" = 1
check "verify families kept" test "$(val 'ado_verify_last_success{job="critical_data",level="read"}' "$V")" = 1

# a drill: its duration and data age against its targets
cat > "$T/drill.yml" <<'DRILL'
disaster_recovery_tests:
  - name: "Config Files Test"
    rto_target: "30 minutes"
    rpo_target: "1 hour"
    steps: [ "Create test corruption", "Execute recovery procedure", "Validate data integrity", "Measure recovery time" ]
DRILL
rm "$(ls "$T"/d1/critical_data/*/*.tar | head -1)"	# the damaged copy out of the way: the drill uses the newest
run 0 ado-recover -c "$T/cfg.yml" --drill "$T/drill.yml" --yes
check "promtool accepts the recover file" promtool_ok "$R"
check "drill passed" test "$(val 'ado_drill_last_success{test="Config Files Test"}' "$R")" = 1
check "drill rto target" test "$(val 'ado_drill_rto_target_seconds{test="Config Files Test"}' "$R")" = 1800
check "drill rpo target" test "$(val 'ado_drill_rpo_target_seconds{test="Config Files Test"}' "$R")" = 3600
age=$(val 'ado_drill_last_data_age_seconds{test="Config Files Test"}' "$R")
check "drill data age: seconds, under an hour (got '$age')" test "${age:-x}" -ge 0 -a "${age:-x}" -lt 3600
check "drill duration" test "$(val 'ado_drill_last_duration_seconds{test="Config Files Test"}' "$R")" -lt 1800
check "mode 0644" test "$(stat -c %a "$R")" = 644

# a missing folder: one warning, the run's own status
sed -i "s|dir: $P|dir: $T/nowhere|" "$T/cfg.yml"
run 0 ado-backup -c "$T/cfg.yml" critical_data
expect_err "ado-backup: warning: cannot write metrics to '$T/nowhere': No such file or directory"
check "one warning" test "$(grep -c warning: <<<"$err")" = 1
# a file where the folder should be: the same, and a failed run keeps its status
touch "$T/nowhere"
mv "$T/src" "$T/src.away"
run 1 ado-backup -c "$T/cfg.yml" critical_data
expect_err "ado-backup: warning: cannot write metrics to '$T/nowhere': Not a directory"
check "one warning" test "$(grep -c warning: <<<"$err")" = 1
run 0 ado-verify -c "$T/cfg.yml" --rpo
check "one warning from verify --rpo" test "$(grep -c 'warning: cannot write metrics' <<<"$err")" = 1
done_testing
