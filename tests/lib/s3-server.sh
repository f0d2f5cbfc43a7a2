# s3-server.sh - start the pinned S3 emulator (@20minutes/s3rver, which checks SigV4) and, in
# front of it, tests/lib/glacier_proxy.py (archive classes, multipart listing and aborts, faults).
# Source after test-lib.sh:
#   . "$TOP/tests/lib/s3-server.sh"
#   s3_start BUCKET...      # sets S3_URL (the proxy), S3_DIRECT (s3rver itself), S3_DATA; exports
#                           # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_ENDPOINT_URL / AWS_REGION
#   s3_fault fail=3&status=503&code=SlowDown    # the next 3 requests fail
#   s3_stop                 # also run at exit; stops only the PIDs started here
#   aws_cli ARGS...         # Debian's aws CLI against the emulator (--endpoint-url given)
# Skips the whole test when node or the emulator is not installed.

S3_JS="$TOP/tests/servers/run-s3rver.js"
S3_PIDS=""

s3_start() {
	[ -x /usr/bin/node ] || command -v node >/dev/null 2>&1 || skip_all "node is not installed"
	[ -d "$TOP/tests/servers/node_modules/@20minutes/s3rver" ] || skip_all "s3rver not installed (make deps)"
	S3_DATA=$T/s3data
	mkdir -p "$S3_DATA"
	local b
	for b in "$@"; do mkdir -p "$S3_DATA/$b"; done
	S3_PORT=$(free_port)
	node --openssl-legacy-provider "$S3_JS" "$S3_DATA" "$S3_PORT" >"$T/s3rver.log" 2>&1 &
	S3_PID=$!
	S3_PIDS="$S3_PIDS $S3_PID"
	PROXY_PORT=$(free_port)
	/usr/bin/python3 "$TOP/tests/lib/glacier_proxy.py" "$PROXY_PORT" "$S3_PORT" "$T/proxy.log" \
		>"$T/proxy.err" 2>&1 &
	PROXY_PID=$!
	S3_PIDS="$S3_PIDS $PROXY_PID"
	at_exit s3_stop
	wait_port "$S3_PORT" 20 || { cat "$T/s3rver.log" >&2; echo "Bail out! s3rver did not start"; exit 1; }
	wait_port "$PROXY_PORT" 10 || { cat "$T/proxy.err" >&2; echo "Bail out! proxy did not start"; exit 1; }
	S3_DIRECT=http://127.0.0.1:$S3_PORT
	S3_URL=http://127.0.0.1:$PROXY_PORT
	export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_ENDPOINT_URL=$S3_URL AWS_REGION=us-east-1
	unset AWS_SESSION_TOKEN AWS_DEFAULT_REGION AWS_CA_BUNDLE AWS_PROFILE
}

# s3_stop_emulator: stop s3rver only (the store "goes down"), keep the proxy
s3_stop_emulator() {
	kill "$S3_PID" 2>/dev/null
	wait "$S3_PID" 2>/dev/null
	return 0
}

s3_stop() {
	local p
	for p in $S3_PIDS; do kill "$p" 2>/dev/null; done
	for p in $S3_PIDS; do wait "$p" 2>/dev/null; done
	S3_PIDS=""
	return 0
}

s3_fault() {
	/usr/bin/python3 -c "import urllib.request,sys; urllib.request.urlopen('$S3_URL/__ctl?'+sys.argv[1]).read()" "$1"
}

aws_cli() {
	AWS_ENDPOINT_URL= /usr/bin/aws --endpoint-url "$S3_DIRECT" --region us-east-1 "$@"
}
