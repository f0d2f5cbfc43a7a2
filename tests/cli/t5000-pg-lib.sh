#!/bin/bash
# t5000-pg-lib.sh - lib/source/pg/ against a real PostgreSQL 15 cluster: starts a scram
# cluster (TCP needs the password; the socket is trust for set-up), loads the test
# schema, and runs tests/unit/t-pg.t, whose TAP is this test's output. The cluster
# is stopped on every exit path (test-lib's at_exit).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/pg-cluster.sh"

PROG=$TOP/tests/unit/t-pg.t
if [ ! -x "$PROG" ]; then
	echo "not ok 1 - $PROG is built (make tests/unit/t-pg.t)"
	echo "1..1"
	exit 1
fi
printf 'uJ7-secret-pw\n' > "$T/pw"
chmod 600 "$T/pw"
if ! pg_cluster_start scram "$T/pw" || ! pg_load_schema ado_primary; then
	echo "not ok 1 - start a PostgreSQL cluster and load the schema"
	echo "1..1"
	exit 1
fi
unset PGPASSWORD PGDATABASE ADO_PG_DUMP ADO_PG_RESTORE
ADO_TEST_PG_SOCKDIR=$PG_SOCKDIR ADO_TEST_PG_PWFILE=$T/pw ADO_TEST_TMP=$T "$PROG"
