#!/bin/bash
# Where the S3 driver's settings come from, key by key: what storage.s3 sets, else the aws
# CLI's variables (AWS_ENDPOINT_URL, AWS_REGION / AWS_DEFAULT_REGION, AWS_CA_BUNDLE, the
# credentials), else AWS's defaults; a section that sets a few keys does not hide the
# variables for the others. AWS_SESSION_TOKEN is sent as x-amz-security-token and never
# shown, not even by ADO_TRACE.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/s3-server.sh"

export PROXY_LOG_HEADERS=1
s3_start bkt
S=$T/src
mkdir -p "$S"
echo hello >"$S/a"
job="backup_jobs:
  j: { targets: [ { files: \"$S/\" } ], destinations: [ { s3: \"s3://bkt/pre/\" } ] }"
cfg() { # cfg NAME STORAGE-S3-MAPPING
	printf 'state_dir: %s\nstorage:\n  s3: %s\n%s\n' "$T/state" "$2" "$job" >"$T/$1.yml"
}
# the region in the signature of the last request the proxy saw
last_scope() { tail -1 "$T/proxy.log" | grep -o 'Credential=[^,]*' | cut -d/ -f3; }

# --- a section that sets only part_size: endpoint, region and credentials from the variables ---
cfg part '{ part_size: 5MiB }'
AWS_REGION=eu-west-3 run 0 ado-backup -c "$T/part.yml" j
expect_out "s3://bkt/pre/j/"
check "the region came from AWS_REGION" test "$(last_scope)" = eu-west-3
AWS_REGION= AWS_DEFAULT_REGION=ap-south-1 run 0 ado-backup -c "$T/part.yml" j
check "else from AWS_DEFAULT_REGION" test "$(last_scope)" = ap-south-1
AWS_REGION= run 0 ado-backup -c "$T/part.yml" j
check "else us-east-1" test "$(last_scope)" = us-east-1

# --- a key the file sets wins over its variable ---
cfg region '{ region: us-west-2 }'
AWS_REGION=eu-west-3 run 0 ado-backup -c "$T/region.yml" j
check "the file's region wins over AWS_REGION" test "$(last_scope)" = us-west-2
dead=$(free_port)
cfg endpoint "{ endpoint: \"http://127.0.0.1:$dead\" }"
ADO_STORE_ATTEMPTS=1 run 1 ado-backup -c "$T/endpoint.yml" j
expect_err "s3://bkt/pre/: PUT j/"
expect_err "cannot reach 'http://127.0.0.1:$dead'"
printf 'not-the-secret-5678' >"$T/secret"
chmod 600 "$T/secret"
cfg secret "{ secret_access_key_file: \"$T/secret\" }"
run 1 ado-backup -c "$T/secret.yml" j
expect_err "403 SignatureDoesNotMatch"
expect_no_err "not-the-secret-5678"

# --- AWS_CA_BUNDLE applies when the file names no ca_file; the file's ca_file wins ---
# (https to the proxy's port: the CA file is read once connected, before any TLS byte)
cfg https "{ endpoint: \"https://127.0.0.1:$PROXY_PORT\" }"
AWS_CA_BUNDLE=$T/env-ca.pem ADO_STORE_ATTEMPTS=1 run 1 ado-backup -c "$T/https.yml" j
expect_err "env-ca.pem"
expect_err "hint: if the store uses a private CA, set ca_file (or AWS_CA_BUNDLE)"
echo "not a certificate" >"$T/file-ca.pem"
cfg httpsca "{ endpoint: \"https://127.0.0.1:$PROXY_PORT\", ca_file: \"$T/file-ca.pem\" }"
AWS_CA_BUNDLE=$T/env-ca.pem ADO_STORE_ATTEMPTS=1 run 1 ado-backup -c "$T/httpsca.yml" j
expect_err "file-ca.pem"
expect_no_err "env-ca.pem"

# --- AWS_SESSION_TOKEN: sent as x-amz-security-token, never shown ---
tok=FQoGZXIvYXdzTestSessionToken4242
AWS_SESSION_TOKEN=$tok ADO_TRACE=1 run 0 ado-backup -c "$T/part.yml" j
expect_err "PUT s3://bkt/pre/ j/"
expect_no_err "$tok"
expect_no_out "$tok"
check "every request carried the token" \
	/usr/bin/python3 -c 'import json,sys
lines = [json.loads(l) for l in open(sys.argv[1])][-3:]
sys.exit(not all(l["headers"].get("x-amz-security-token") == sys.argv[2] for l in lines))' "$T/proxy.log" "$tok"
AWS_SESSION_TOKEN=$tok AWS_SECRET_ACCESS_KEY=wrong-secret-1357 ADO_TRACE=1 run 1 ado-backup -c "$T/part.yml" j
expect_err "403 SignatureDoesNotMatch"
expect_no_err "$tok"
expect_no_err "wrong-secret-1357"
AWS_SESSION_TOKEN=$tok ADO_TRACE=1 run 0 ado-restore -c "$T/part.yml" --list --job j
expect_no_err "$tok"
expect_no_out "$tok"

done_testing
