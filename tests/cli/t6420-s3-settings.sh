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

# --- the transfer checksum: x-amz-checksum-crc32 by default, the signed SHA-256 on request ---
# (the proxy checks either against the body, and S3's multipart rules for the CRC: see t6400)
head -c 6000000 /dev/urandom >"$S/big"
# how the last backup's requests were made: one line per kind of request
sent() { /usr/bin/python3 -c 'import json, re, sys
seen = set()
for l in open(sys.argv[1]):
    r = json.loads(l)
    h = {k.lower(): v for k, v in r["headers"].items()}
    p = r["path"]
    kind = "create" if "?uploads" in p else "complete" if r["method"] == "POST" and "uploadId=" in p else \
        "part" if "partNumber=" in p else "put" if r["method"] == "PUT" else None
    if not kind:
        continue
    pay = h.get("x-amz-content-sha256", "")
    pay = "sha256" if re.fullmatch("[0-9a-f]{64}", pay) else pay
    seen.add("%s payload=%s algorithm=%s crc32=%s" % (kind, pay, h.get("x-amz-checksum-algorithm", "-"),
                                                       "yes" if "x-amz-checksum-crc32" in h else "no"))
print("\n".join(sorted(seen)))' "$T/proxy.log"; }
check_sent() { # check_sent WHAT WANT: $(sent) is exactly WANT
	local got
	got=$(sent)
	[ "$got" = "$2" ] || printf '# got:\n%s\n' "$got" | sed 's/^/#   /' >&2
	check "$1" test "$got" = "$2"
}
: >"$T/proxy.log"
run 0 ado-backup -c "$T/part.yml" j
check_sent "by default: parts and objects carry x-amz-checksum-crc32, unsigned; the upload names CRC32" \
"complete payload=sha256 algorithm=- crc32=no
create payload=sha256 algorithm=CRC32 crc32=no
part payload=UNSIGNED-PAYLOAD algorithm=- crc32=yes
put payload=UNSIGNED-PAYLOAD algorithm=- crc32=yes"
rm -rf "$T/out"
run 0 ado-restore -c "$T/part.yml" --job j --to-dir "$T/out"
check "... and the backup restores byte-exact" cmp "$S/big" "$T/out/big"
cfg sha '{ part_size: 5MiB, checksum: sha256 }'
: >"$T/proxy.log"
run 0 ado-backup -c "$T/sha.yml" j
check_sent "checksum: sha256: every body's SHA-256 signed, no checksum header" \
"complete payload=sha256 algorithm=- crc32=no
create payload=sha256 algorithm=- crc32=no
part payload=sha256 algorithm=- crc32=no
put payload=sha256 algorithm=- crc32=no"
cfg md5 '{ checksum: md5 }'
run 2 ado-backup -c "$T/md5.yml" j
expect_err "md5.yml:3"
expect_err "expected crc32 or sha256 for 'checksum' in 'storage.s3', found 'md5'"
# a server without the checksum API that refuses it: one line, and the setting to use
s3_fault "oldserver=5"
ADO_STORE_ATTEMPTS=1 run 1 ado-backup -c "$T/part.yml" j
expect_err "CreateMultipartUpload j/"
expect_err "400 InvalidArgument: Unsupported header 'x-amz-checksum-algorithm'"
expect_err "hint: a server without S3's checksum API refuses x-amz-checksum-algorithm: set 'checksum: sha256' in storage.s3"
run 0 ado-backup -c "$T/sha.yml" j
s3_fault "oldserver=0"
rm -f "$S/big"

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
