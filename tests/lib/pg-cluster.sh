# pg-cluster.sh - a throwaway PostgreSQL cluster for tests (sourced, bash).
#
#   . "$TOP/tests/lib/pg-cluster.sh"
#   pg_cluster_start || exit 1       # trust auth; exports PGHOST PGPORT PGUSER
#   pg_cluster_start scram PWFILE    # host connections need the password in PWFILE (scram-sha-256);
#                                    # the Unix socket ($PG_SOCKDIR) stays trust for set-up
#   pg_load_schema DB                # createdb DB + tests/lib/schema.sql (through the socket)
#   pg_psql DB -c 'SQL'              # psql as postgres through the socket, no password, stops on error
#   pg_cluster_pause / pg_cluster_resume   # the server goes down / comes back (same port and data)
#   pg_cluster_stop                  # pg_ctl stop -m fast by data dir (also registered with at_exit)
#
# initdb and postgres refuse to run as root: they run as the `postgres` user in
# a folder it owns (see ../shared/RECIPES.md). Listens on 127.0.0.1 and a free
# port only; fsync off. Stopped by its data directory, never by process name.
# PG_BIN overrides /usr/lib/postgresql/15/bin.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_CLUSTER_DIR=
PG_SOCKDIR=
_pg_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_pg_as_postgres() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

_pg_free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_cluster_start() {
	local mode=${1:-trust} pwfile=${2:-} port auth
	if [ ! -x "$PG_BIN/initdb" ]; then
		echo "pg_cluster_start: no initdb in $PG_BIN (apt-get install postgresql-15)" >&2
		return 1
	fi
	PG_CLUSTER_DIR=$(mktemp -d /tmp/ado-pg.XXXXXX) || return 1
	chmod 755 "$PG_CLUSTER_DIR"
	[ "$(id -u)" = 0 ] && chown postgres: "$PG_CLUSTER_DIR"
	PG_SOCKDIR=$PG_CLUSTER_DIR
	if [ "$mode" = scram ]; then
		[ -n "$pwfile" ] || { echo "pg_cluster_start scram: PWFILE missing" >&2; return 1; }
		# initdb reads the file as postgres: give it a copy it can read.
		cp "$pwfile" "$PG_CLUSTER_DIR/pwfile" && chmod 600 "$PG_CLUSTER_DIR/pwfile"
		[ "$(id -u)" = 0 ] && chown postgres: "$PG_CLUSTER_DIR/pwfile"
		auth="--auth-local=trust --auth-host=scram-sha-256 --pwfile=$PG_CLUSTER_DIR/pwfile"
	else
		auth="--auth=trust"
	fi
	# shellcheck disable=SC2086
	if ! _pg_as_postgres "$PG_BIN/initdb" -D "$PG_CLUSTER_DIR/data" -U postgres $auth -E UTF8 \
		--locale=C.UTF-8 --no-sync >"$PG_CLUSTER_DIR/initdb.log" 2>&1; then
		echo "pg_cluster_start: initdb failed:" >&2
		cat "$PG_CLUSTER_DIR/initdb.log" >&2
		return 1
	fi
	rm -f "$PG_CLUSTER_DIR/pwfile"
	# Register the stop before starting: an interrupted start still gets cleaned.
	if declare -F at_exit >/dev/null; then
		at_exit pg_cluster_stop
	fi
	# A free port can be taken between the probe and the bind: retry a few times.
	for _ in 1 2 3; do
		port=$(_pg_free_port)
		if _pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_CLUSTER_DIR/data" -l "$PG_CLUSTER_DIR/log" -w -t 30 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $PG_SOCKDIR -c fsync=off -c full_page_writes=off" \
			start >/dev/null 2>&1; then
			export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
			unset PGDATABASE PGPASSWORD PGSERVICE PGPASSFILE PGSSLMODE PGOPTIONS PGAPPNAME
			return 0
		fi
	done
	echo "pg_cluster_start: pg_ctl start failed:" >&2
	cat "$PG_CLUSTER_DIR/log" >&2
	return 1
}

# pg_cluster_pause / pg_cluster_resume: stop the server (as if it went down)
# and start it again on the same port and data.
pg_cluster_pause() {
	_pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_CLUSTER_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1
}
pg_cluster_resume() {
	_pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_CLUSTER_DIR/data" -l "$PG_CLUSTER_DIR/log" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PG_SOCKDIR -c fsync=off -c full_page_writes=off" \
		start >/dev/null 2>&1
}

pg_cluster_stop() {
	[ -n "$PG_CLUSTER_DIR" ] || return 0
	if [ -f "$PG_CLUSTER_DIR/data/postmaster.pid" ]; then
		_pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_CLUSTER_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			{ echo "pg_cluster_stop: pg_ctl stop failed (log in $PG_CLUSTER_DIR/log)" >&2; return 1; }
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "# kept cluster $PG_CLUSTER_DIR" >&2
	else
		rm -rf "$PG_CLUSTER_DIR"
	fi
	PG_CLUSTER_DIR=
}

# pg_psql DB ARGS...: psql as postgres through the Unix socket (trust even on a scram cluster).
pg_psql() {
	local db=$1; shift
	PGPASSWORD='' psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKDIR" -p "$PGPORT" -U postgres -d "$db" "$@"
}

# pg_load_schema DB: create DB and load the plan-like test schema into it.
pg_load_schema() {
	local db=$1
	pg_psql postgres -c "CREATE DATABASE \"$db\"" >/dev/null || return 1
	pg_psql "$db" -f "$_pg_lib_dir/schema.sql" >/dev/null
}
