# azurite.sh - a throwaway Azure Blob emulator (azurite-blob) for tests (sourced, bash).
#
#   . "$TOP/tests/lib/azurite.sh"
#   azurite_start || exit 1      # in memory, 127.0.0.1, a free port; exports the variables below
#   azurite_start --debug        # the same, logging every request (and the string it expected
#                                # a SharedKey to sign) to $AZ_DIR/debug.log
#   az_container NAME            # create a container (SharedKey, via python3)
#   azurite_test_setup NAME      # in a test: start (or skip_all), create NAME, clear the
#                                # AZURE_STORAGE_* and ADO_* switches, export the connection string
#   azurite_stop                 # stop by PID (also registered with at_exit)
#
# Exports AZ_PORT, AZ_ACCOUNT (devstoreaccount1), AZ_KEY (its well-known key, from
# azurite's README), AZ_ENDPOINT (path-style http://127.0.0.1:PORT/devstoreaccount1)
# and AZ_CS (a connection string with that BlobEndpoint). Nothing is exported to
# the tools: each test sets AZURE_STORAGE_* itself. azurite checks SharedKey and
# SAS signatures. Stopped by its PID, never by process name.

AZ_ACCOUNT=devstoreaccount1
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
AZ_DIR=
AZ_PID=
_az_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AZURITE_BIN=${AZURITE_BIN:-$_az_lib_dir/../servers/node_modules/.bin/azurite-blob}

azurite_start() {
	local debug=() port n
	[ "${1:-}" = --debug ] && debug=(--debug)
	if [ ! -x "$AZURITE_BIN" ]; then
		echo "azurite_start: no $AZURITE_BIN (run scripts/install-deps)" >&2
		return 1
	fi
	AZ_DIR=$(mktemp -d /tmp/ado-azurite.XXXXXX) || return 1
	[ ${#debug[@]} = 1 ] && debug=(--debug "$AZ_DIR/debug.log")
	declare -F at_exit >/dev/null && at_exit azurite_stop
	# A free port can be taken between the probe and the bind: retry a few times.
	for _ in 1 2 3; do
		port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
		"$AZURITE_BIN" --blobHost 127.0.0.1 --blobPort "$port" --inMemoryPersistence --disableTelemetry \
			--skipApiVersionCheck --silent "${debug[@]}" >"$AZ_DIR/log" 2>&1 </dev/null &
		AZ_PID=$!
		n=150
		while [ $n -gt 0 ] && kill -0 "$AZ_PID" 2>/dev/null; do
			if /usr/bin/python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$port)))" 2>/dev/null; then
				export AZ_PORT=$port AZ_ACCOUNT AZ_KEY
				export AZ_ENDPOINT="http://127.0.0.1:$port/$AZ_ACCOUNT"
				export AZ_CS="DefaultEndpointsProtocol=http;AccountName=$AZ_ACCOUNT;AccountKey=$AZ_KEY;BlobEndpoint=$AZ_ENDPOINT;"
				return 0
			fi
			sleep 0.1; n=$((n - 1))
		done
		kill "$AZ_PID" 2>/dev/null; wait "$AZ_PID" 2>/dev/null; AZ_PID=
	done
	echo "azurite_start: azurite-blob did not start:" >&2
	cat "$AZ_DIR/log" >&2
	return 1
}

azurite_stop() {
	if [ -n "$AZ_PID" ]; then
		kill "$AZ_PID" 2>/dev/null
		wait "$AZ_PID" 2>/dev/null
		AZ_PID=
	fi
	[ -n "$AZ_DIR" ] || return 0
	if [ "${KEEP:-0}" = 1 ]; then echo "# kept azurite dir $AZ_DIR" >&2; else rm -rf "$AZ_DIR"; fi
	AZ_DIR=
}

# az_req METHOD PATH [HEADER=VALUE...]: one SharedKey-signed request to azurite
# (python3, independent of our C signer); prints the status, then the body.
az_req() {
	/usr/bin/python3 "$_az_lib_dir/azreq.py" "$@"
}

# az_container NAME: create a container.
az_container() {
	local st
	st=$(az_req PUT "/$1?restype=container" | head -1)
	[ "$st" = 201 ] || { echo "az_container $1: HTTP $st" >&2; return 1; }
}

# azurite_test_setup CONTAINER: the common start of an Azure test file.
azurite_test_setup() {
	azurite_start || skip_all "azurite-blob did not start"
	az_container "$1" || exit 1
	unset AZURE_STORAGE_ACCOUNT AZURE_STORAGE_KEY AZURE_STORAGE_SAS_TOKEN ADO_TRACE ADO_AZURE_LIST_MAX
	export AZURE_STORAGE_CONNECTION_STRING=$AZ_CS
}
