#!/bin/bash
# The plan's own backup-strategy.yml, unchanged, against real servers on 127.0.0.1:
# PostgreSQL 15 (ado_primary split over two jobs, ado_analytics), the S3 emulator
# (behind the Glacier-aware proxy) and azurite. Every job runs with exit 0 and
# stores a complete copy on every destination; the RPO watch is quiet; the copies
# check out; the Glacier copy asks for a thaw; config files come back from S3;
# the shipped recovery-plan.yml's data phase, as written, brings a corrupted
# ado_primary back whole from both jobs (without the key: exit 2, nothing
# changed); with azurite down the run is partial (exit 3) and the other copies
# complete.
#
# The plan's paths (/etc/ado/config/, /var/log/ado/, /archive/ado/, /backup/...)
# are tmpfs mounts in a private mount namespace: nothing is written to the
# machine's own folders (empty mount points that did not exist are removed).
. "$(dirname "$0")/../lib/test-lib.sh"

PLAN_DIRS="/etc/ado /var/log/ado /archive /backup"
if [ -z "${ADO_PLAN_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || skip_all "needs root (a private mount namespace for the plan's paths)"
	unshare -m --propagation private true 2>/dev/null || skip_all "unshare -m is not permitted here"
	# one such run at a time on a machine: another one's rmdir of a mount point
	# it made would detach this run's tmpfs, and writes would reach the real folders
	exec 9>/tmp/ado-plan-ns.lock
	flock 9
	made=""
	for d in $PLAN_DIRS; do
		[ -e "$d" ] || { mkdir -p "$d" && made="$made $d"; }
	done
	rm -rf "$T"	# the namespaced run makes its own
	trap - EXIT
	ADO_PLAN_NS=1 ADO_PLAN_MADE="$made" unshare -m --propagation private bash "$0"
	rc=$?
	for d in $made; do rmdir "$d" 2>/dev/null; done
	exit $rc
fi
for d in $PLAN_DIRS; do
	mount -t tmpfs -o size=64m,mode=0755 ado-plan "$d" || { echo "Bail out! cannot mount tmpfs on $d"; exit 1; }
done
at_exit 'for d in $PLAN_DIRS; do umount "$d" 2>/dev/null; done'
# never write the plan's files anywhere but these tmpfs mounts
for d in $PLAN_DIRS; do
	[ "$(findmnt -n -o FSTYPE --target "$d")" = tmpfs ] || { echo "Bail out! $d is not this test's tmpfs"; exit 1; }
done

. "$TOP/tests/lib/pg-cluster.sh"
. "$TOP/tests/lib/pg-plan-shape.sh"
. "$TOP/tests/lib/s3-server.sh"
. "$TOP/tests/lib/azurite.sh"

PLAN=$TOP/examples/backup-strategy.yml
# the file is the plan's, byte for byte (its YAML block in disaster-recovery-plan.md)
if [ -f "$TOP/../shared/disaster-recovery-plan.md" ]; then
	awk '/^# backup-strategy.yml/{on=1} on&&/^```/{exit} on' "$TOP/../shared/disaster-recovery-plan.md" >"$T/plan-from-doc.yml"
	check "examples/backup-strategy.yml is the plan's block unchanged" diff -u "$T/plan-from-doc.yml" "$PLAN"
fi

# --- the servers ---
pg_cluster_start || exit 1
pg_load_schema ado_primary || exit 1
pg_load_schema ado_analytics || exit 1
s3_start ado-backups-critical ado-backups-important ado-backups-archive
azurite_start || { echo "Bail out! azurite did not start"; exit 1; }
az_container ado-backups-critical || exit 1
export AZURE_STORAGE_CONNECTION_STRING=$AZ_CS
export ADO_STATE_DIR=$T/state ADO_KEY_FILE=$T/backup.key
make_key "$ADO_KEY_FILE"

# --- the plan's folders ---
mkdir -p /etc/ado/config /archive/ado
printf 'database:\n  host: db1\n' >/etc/ado/config/ado.yml
printf 'log_level: info\n' >/etc/ado/config/logging.yml
head -c 300000 /dev/urandom >/var/log/ado/orchestrator.log
printf 'archived report\n' >/archive/ado/2025-q4.txt

# --- every job, every destination, exit 0 ---
run 0 ado-backup -c "$PLAN" --all
refs=$out
check "six references: critical x3, important x2, archive x1" test "$(printf '%s\n' "$refs" | wc -l)" = 6
for d in /backup/critical/critical_data s3://ado-backups-critical/critical_data azblob://ado-backups-critical/critical_data \
	s3://ado-backups-important/important_data /backup/important/important_data s3://ado-backups-archive/archive_data; do
	check "a reference on $d" grep -q "^$d/[0-9]\{8\}T[0-9]\{6\}Z\$" <<<"$refs"
done
check "nothing failed on stderr" test -z "$(grep -v '^hint' <<<"$err")"

run 0 ado-verify -c "$PLAN" --rpo -q
check "RPO watch: quiet when every job and destination is fresh" test -z "$out"

# --- archive_data alone: its only destination is s3_glacier; exit 0, and its RPO watch is quiet ---
sleep 1	# a new backup id (ids are to the second)
run 0 ado-backup -c "$PLAN" archive_data
check "archive_data alone: one reference, on the Glacier bucket" \
	grep -qx "s3://ado-backups-archive/archive_data/[0-9]\{8\}T[0-9]\{6\}Z" <<<"$out"
check "archive_data alone: nothing failed on stderr" test -z "$(grep -v '^hint' <<<"$err")"
run 0 ado-verify -c "$PLAN" --rpo -q archive_data
check "archive_data alone: RPO watch quiet" test -z "$out$err"

run_in 0 <(printf '%s\n' "$refs") ado-verify -c "$PLAN" --level checksum -
check "every copy passes its checksums" test "$(grep -c '^ok ' <<<"$out")" = 6

# read level: every copy but the Glacier one; that one asks for a thaw (exit 6)
grep -v '^s3://ado-backups-archive/' <<<"$refs" >"$T/online"
run_in 0 "$T/online" ado-verify -c "$PLAN" --level read -
check "five online copies read back (decrypt, decompress, hashes)" test "$(grep -c '^ok ' <<<"$out")" = 5
arch=$(grep '^s3://ado-backups-archive/' <<<"$refs")
run 6 ado-verify -c "$PLAN" --level read "$arch"
expect_out "UNCHECKED $arch: backup '$arch' is archived"
expect_err "--thaw"

# --- "restore configuration files only", from the off-site copy ---
run 0 ado-restore -c "$PLAN" --job critical_data --from s3://ado-backups-critical/ --target /etc/ado/config/ \
	--to-dir "$T/restored-config"
check "config files restored from S3" diff -r /etc/ado/config "$T/restored-config"
run 0 ado-restore -c "$PLAN" --job critical_data --from azblob://ado-backups-critical/ --target /etc/ado/config/ \
	--to-dir "$T/restored-config-az"
check "config files restored from Azure" diff -r /etc/ado/config "$T/restored-config-az"

# --- the shipped recovery plan's data phase, exactly as written, after "database corrupted":
# ado_primary comes back whole, both jobs' tables with their rows and the keys between them ---
fingerprint ado_primary >"$T/primary.fp"
pg_psql ado_primary -c "DELETE FROM execution_logs WHERE id % 2 = 0; DELETE FROM user_settings; UPDATE users SET email = 'x' || id" >/dev/null
fingerprint ado_primary >"$T/corrupted.fp"
# without the key critical_data's part cannot be read: refused before any step runs (the
# data phase would first have set ado_primary read-only), ado_primary is left as it was
run 2 env -u ADO_KEY_FILE ado-recover -c "$PLAN" --plan "$TOP/examples/recovery-plan.yml" --only-phase data --yes
expect_err "step 'restore_database ado_primary' of phase 'data' restores job 'critical_data', whose backups are encrypted, and no key is configured"
expect_err "hint: set key_file in the config, ADO_KEY_FILE or ADO_PASSPHRASE; nothing was run"
check "no key: ado_primary as it was" cmp "$T/corrupted.fp" <(fingerprint ado_primary)
check "no key: ado_primary not left read-only" test "$(pg_psql ado_primary -At -c 'SHOW default_transaction_read_only')" = off
run 0 ado-recover -c "$PLAN" --plan "$TOP/examples/recovery-plan.yml" --only-phase data --yes
expect_out "phase 'data' step 'restore_database ado_primary': ok"
expect_out "checked 6 tables: row counts match the backups"
check "recovery plan: ado_primary whole again, its rows and keys as backed up" cmp "$T/primary.fp" <(fingerprint ado_primary)
check "recovery plan: the corrupted database kept aside" \
	test "$(pg_psql postgres -At -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'ado_primary_before_%'")" = 1
check "recovery plan: config files restored in place" diff -r "$T/restored-config" /etc/ado/config

# --- one store down: partial (exit 3), the others complete ---
azurite_stop
sleep 1
run 3 ado-backup -c "$PLAN" critical_data
expect_err "azblob://ado-backups-critical/"
check "two copies stored" test "$(printf '%s\n' "$out" | grep -c .)" = 2
check "the local copy is complete" test -f "$(grep '^/backup/critical/' <<<"$out")/manifest.json"
s3ref=$(grep '^s3://ado-backups-critical/' <<<"$out")
run 0 ado-verify -c "$PLAN" --level read "$s3ref"
expect_out "ok $s3ref"

done_testing
