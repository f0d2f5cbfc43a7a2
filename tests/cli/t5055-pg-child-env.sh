#!/bin/bash
# pg_dump and pg_restore get an environment built for them (PATH, HOME,
# locale, TZ, and the PG* variables of that connection), not ours: a fake
# pg_dump (ADO_PG_DUMP) that writes out its environment finds no
# ADO_PASSPHRASE, AWS_SECRET_ACCESS_KEY or SLACK_WEBHOOK_URL there, and finds
# PGHOST, PGPORT, PGUSER, PGDATABASE and PGPASSWORD for the connection.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/pg-cluster.sh"

PW='Kx9-secret-Pass'
printf '%s\n' "$PW" > "$T/pw"
if ! pg_cluster_start scram "$T/pw" || ! pg_load_schema ado_primary; then
	echo "not ok 1 - start a PostgreSQL cluster"; echo "1..1"; exit 1
fi
unset PGPASSWORD ADO_PG_DUMP ADO_PG_RESTORE
cp "$T/pw" "$T/pwfile"; chmod 600 "$T/pwfile"
cat > "$T/cfg.yml" <<YML
state_dir: $T/state
encryption: { passphrase_env: ADO_PASSPHRASE }
databases:
  ado_primary: { conninfo: "host=127.0.0.1 port=$PGPORT user=postgres", password_file: $T/pwfile }
backup_jobs:
  whole:
    targets: [ { database: "ado_primary" } ]
    destinations: [ { local: "$T/dest/" } ]
    encryption: AES-256
YML
# the fake: say its version, write out its environment, then be pg_dump
cat > "$T/env_pg_dump" <<EOF
#!/bin/sh
case "\$1" in --version) exec /usr/lib/postgresql/15/bin/pg_dump --version;; esac
env > "$T/child.env"
exec /usr/lib/postgresql/15/bin/pg_dump "\$@"
EOF
chmod 755 "$T/env_pg_dump"
export ADO_PASSPHRASE='passphrase-MARKER-1' AWS_SECRET_ACCESS_KEY='aws-MARKER-2' SLACK_WEBHOOK_URL='https://slack.invalid/MARKER-3'
export AWS_ACCESS_KEY_ID='aws-id-MARKER-4' ALERT_WEBHOOK_URL='https://alert.invalid/MARKER-5' PGFOO_NOT_LIBPQ='MARKER-6'

ADO_PG_DUMP=$T/env_pg_dump run 0 ado-backup -c "$T/cfg.yml" whole
check "the fake pg_dump ran" test -s "$T/child.env"
for v in ADO_PASSPHRASE AWS_SECRET_ACCESS_KEY SLACK_WEBHOOK_URL AWS_ACCESS_KEY_ID ALERT_WEBHOOK_URL; do
	check_not "no $v in pg_dump's environment" grep -q "^$v=" "$T/child.env"
done
check_not "no secret of ours anywhere in it" grep -q "MARKER-[1-5]" "$T/child.env"
check "PGHOST for the connection" grep -qx "PGHOST=127.0.0.1" "$T/child.env"
check "PGPORT for the connection" grep -qx "PGPORT=$PGPORT" "$T/child.env"
check "PGUSER for the connection" grep -qx "PGUSER=postgres" "$T/child.env"
check "PGDATABASE for the connection" grep -qx "PGDATABASE=ado_primary" "$T/child.env"
check "PGPASSWORD for the connection" grep -qx "PGPASSWORD=$PW" "$T/child.env"
check "PATH" grep -q "^PATH=" "$T/child.env"
check "the locale" grep -qx "LC_ALL=C.UTF-8" "$T/child.env"
check "TZ" grep -qx "TZ=UTC" "$T/child.env"
check_not "a PG* variable of ours that is not the connection's stays out" grep -q "MARKER-6" "$T/child.env"
check "passing case: the backup it made is complete" test -f "$out/manifest.json"
done_testing
