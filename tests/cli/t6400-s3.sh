#!/bin/bash
# S3 destinations against the pinned emulator (s3rver checks SigV4) behind the test proxy:
# round trip, the aws CLI reading what we wrote, a wrong secret (one line, secret nowhere),
# 5xx/SlowDown retried, a part damaged on the way refused by its CRC-32 (or, with checksum:
# sha256, its signed SHA-256) and sent again, a cut connection (nothing complete-looking, no orphan upload, the next
# run cleans up what a killed run left), listing in pages, retention on S3 over backups the
# aws CLI uploaded in our layout (which we then list, verify and restore).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/s3-server.sh"

s3_start bkt
S=$T/src
mkdir -p "$S/sub"
echo hello >"$S/a"
head -c 200000 /dev/urandom >"$S/sub/b"
CFG=$T/cfg.yml
cat >"$CFG" <<EOF
state_dir: $T/state
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { s3: "s3://bkt/pre/" } ], compression: zstd }
EOF

# --- round trip ---
run 0 ado-backup -c "$CFG" j
expect_out "s3://bkt/pre/j/"
ref=$out
run 0 ado-verify -c "$CFG" --level restore "$ref"
expect_out "ok $ref"
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/out"
check "restored tree equals the source" diff -r "$S" "$T/out"

# --- the aws CLI downloads what we wrote, byte for byte, and sha256sum -c accepts it ---
mkdir "$T/dl"
check "aws s3 cp downloads the backup" aws_cli s3 cp --recursive --quiet "$ref/" "$T/dl/"
check "sha256sum -c accepts SHA256SUMS" sh -c "cd '$T/dl' && sha256sum -c SHA256SUMS"

# --- a wrong secret: one clear line, exit 1 (the only destination), the secret nowhere ---
AWS_SECRET_ACCESS_KEY=not-the-secret-1234 run 1 ado-backup -c "$CFG" j
expect_err "s3://bkt/pre/: PUT j/"
expect_err "403 SignatureDoesNotMatch"
expect_err "hint: check the access key and its secret"
expect_no_err "not-the-secret-1234"
expect_no_out "not-the-secret-1234"
expect_no_err "attempts"
AWS_SECRET_ACCESS_KEY=not-the-secret-1234 run 3 ado-restore -c "$CFG" --list --job j
check "listing with a wrong secret: one line naming the store" test "$(printf '%s\n' "$err" | grep -c SignatureDoesNotMatch)" = 1

# --- 5xx and SlowDown for the first requests: retried, exit 0 ---
s3_fault "fail=3&status=503&code=SlowDown"
ADO_TRACE=1 run 0 ado-backup -c "$CFG" j
expect_err "503 SlowDown"
check "three requests were refused and retried" test "$(grep -c '"status": 503' "$T/proxy.log")" = 3
s3_fault "fail=2&status=500&code=InternalError"
run 0 ado-backup -c "$CFG" j
# ... and a server that keeps failing: bounded, then one error naming the attempts
s3_fault "fail=50&status=500&code=InternalError"
ADO_STORE_ATTEMPTS=2 run 1 ado-backup -c "$CFG" j
expect_err "500 InternalError: injected by the test proxy (after 2 attempts)"
s3_fault "fail=0"

# --- a body damaged on the way: the proxy checks x-amz-checksum-crc32 (and, with checksum:
# sha256, the signed SHA-256) as S3 does; every request above passed that check; here one
# part, then every try, loses a bit ---
head -c 12000000 /dev/urandom >"$S/big"
export ADO_S3_PART_SIZE=5242880
garbled_once() { # garbled_once CONFIG ERROR: one part damaged, refused, sent again, restored byte-exact
	: >"$T/proxy.log"
	s3_fault "garble=1"
	ADO_TRACE=1 run 0 ado-backup -c "$1" j
	expect_err "$2"
	check "the damaged body was refused once" test "$(grep -c '"status": 400' "$T/proxy.log")" = 1
	bad=$(grep '"status": 400' "$T/proxy.log" | /usr/bin/python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["path"])')
	check "... and the same part sent again and taken" sh -c "grep -F '\"path\": \"$bad\"' '$T/proxy.log' | grep -q '\"status\": 200'"
	rm -rf "$T/out"
	run 0 ado-restore -c "$1" --job j --to-dir "$T/out"
	check "the resent part is byte-exact" cmp "$S/big" "$T/out/big"
}
garbled_once "$CFG" "-> 400 BadDigest,"
sed 's/^backup_jobs:/storage: { s3: { checksum: sha256 } }\nbackup_jobs:/' "$CFG" >"$T/sha.yml"
garbled_once "$T/sha.yml" "-> 400 XAmzContentSHA256Mismatch,"
# the parts of one upload go over one kept connection, not a handshake each
: >"$T/proxy.log"
run 0 ado-backup -c "$CFG" j
conns_of() { /usr/bin/python3 -c 'import json, sys
c = {json.loads(l)["conn"] for l in open(sys.argv[1]) if "partNumber=" in json.loads(l)["path"]}
print(len(c))' "$T/proxy.log"; }
parts=$(grep -c 'partNumber=' "$T/proxy.log")
check "three parts were sent" test "$parts" = 3
check "... over one connection" test "$(conns_of)" = 1
# a kept connection the server closed in between: the request goes again on a new one
s3_fault "hangup=30"
run 0 ado-backup -c "$CFG" j
s3_fault "hangup=0"
rm -rf "$T/out"
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/out"
check "after hang-ups, the backup is byte-exact" cmp "$S/big" "$T/out/big"
before=$(ado-restore -c "$CFG" --list --job j | grep -c complete)
s3_fault "garble=50"
ADO_STORE_ATTEMPTS=2 run 1 ado-backup -c "$CFG" j
expect_err "s3://bkt/pre/: UploadPart j/"
expect_err "400 BadDigest: The CRC32 you specified did not match the calculated checksum. (after 2 attempts)"
s3_fault "garble=0"
run 0 ado-restore -c "$CFG" --list --job j
check "no new backup after the damaged run" test "$(printf '%s\n' "$out" | grep -c complete)" = "$before"
unset ADO_S3_PART_SIZE
rm -f "$S/big"

# --- trace: method, object, status, bytes, time; never the signature ---
ADO_TRACE=1 run 0 ado-restore -c "$CFG" --list --job j
expect_err "trace: ListObjectsV2 s3://bkt/pre/ j/"
expect_err " ms"
expect_no_err "Signature="
expect_no_err "S3RVER"

# --- the connection cut mid-upload (multipart, 5 MiB parts) ---
head -c 12000000 /dev/urandom >"$S/big"
export ADO_S3_PART_SIZE=5242880
before=$(ado-restore -c "$CFG" --list --job j | grep -c complete)
s3_fault "cut=2"
ADO_STORE_ATTEMPTS=1 run 1 ado-backup -c "$CFG" j
expect_err "UploadPart"
run 0 ado-restore -c "$CFG" --list --job j
check "no new backup (complete or not) after the cut" test "$(printf '%s\n' "$out" | grep -c 's3://')" = "$before"
check "no unfinished upload left" sh -c "! aws_out=\$(AWS_ENDPOINT_URL= /usr/bin/aws --endpoint-url '$S3_URL' s3api list-multipart-uploads --bucket bkt --prefix pre/ --output text) || ! printf '%s' \"\$aws_out\" | grep -q UPLOADS"
# a cut that a retry survives: exit 0, and the restore is byte-exact
s3_fault "cut=2"
run 0 ado-backup -c "$CFG" j
rm -rf "$T/out"
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/out"
check "the big file survived the retried part" cmp "$S/big" "$T/out/big"
# a killed run's upload (begun, never finished) is aborted by the next run
AWS_ENDPOINT_URL= /usr/bin/aws --endpoint-url "$S3_URL" s3api create-multipart-upload --bucket bkt \
	--key pre/j/20200101T000000Z/left.tar >/dev/null
run 0 ado-backup -c "$CFG" -v j
expect_err "aborted 1 unfinished upload an earlier run left on 's3://bkt/pre/'"
unset ADO_S3_PART_SIZE
rm -f "$S/big"

# --- listing in pages of 2 gives the same backups as one page ---
run 0 ado-restore -c "$CFG" --list --job j
one=$out
ADO_S3_LIST_MAX=2 run 0 ado-restore -c "$CFG" --list --job j
check "paged listing (max-keys 2) equals the one-page listing" test "$out" = "$one"
check "more than two backups, so more than one page" test "$(printf '%s\n' "$one" | grep -c 's3://')" -gt 2

# --- which backups are complete: from one listing of the job, not a HEAD per backup ---
aws_cli s3 cp --quiet "$T/cfg.yml" "s3://bkt/pre/j/20200102T000000Z/files-x.tar.zst" >/dev/null
: >"$T/proxy.log"
run 0 ado-restore -c "$CFG" --list --job j
nb=$(printf '%s\n' "$out" | grep -c 's3://')
check "the backups are listed" test "$nb" -gt 3
check "... without a HEAD of each manifest" test "$(grep '"method": "HEAD"' "$T/proxy.log" | grep -c manifest.json)" = 0
check "the folder without a manifest is listed as incomplete" sh -c "printf '%s\n' \"\$1\" | grep 20200102T000000Z | grep -q incomplete" _ "$out"
check "failing case: the complete ones are not" test "$(printf '%s\n' "$out" | grep -c incomplete)" = 1
aws_cli s3 rm --quiet --recursive "s3://bkt/pre/j/20200102T000000Z/" >/dev/null

# --- retention on S3, over backups the aws CLI uploaded in our layout ---
LCFG=$T/local.yml
cat >"$LCFG" <<EOF
state_dir: $T/state
backup_jobs:
  r: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], compression: none }
EOF
run 0 ado-backup -c "$LCFG" r
real=$out
ago() { date -u -d "$1 ago" +%Y%m%dT%H%M%SZ; }
d40=$(ago '40 days'); d35=$(ago '35 days'); d20=$(ago '20 days')
for id in "$d40" "$d35" "$d20"; do
	cp -a "$real" "$T/dest/r/$id"
	sed -i "s/\"id\": \"$(basename "$real")\"/\"id\": \"$id\"/" "$T/dest/r/$id/manifest.json"
done
rm -rf "$real"
check "aws s3 sync uploads the layout" aws_cli s3 sync --quiet "$T/dest/" s3://bkt/pre/
RCFG=$T/r.yml
cat >"$RCFG" <<EOF
state_dir: $T/state
backup_jobs:
  r: { targets: [ { files: "$S/" } ], destinations: [ { s3: "s3://bkt/pre/" } ], retention: "30 days", compression: none }
EOF
run 0 ado-restore -c "$RCFG" --list --job r
expect_out "s3://bkt/pre/r/$d40"
run 0 ado-verify -c "$RCFG" --level restore "s3://bkt/pre/r/$d20"
expect_out "ok s3://bkt/pre/r/$d20"
run 0 ado-restore -c "$RCFG" "s3://bkt/pre/r/$d20" --to-dir "$T/out20"
check "a backup the aws CLI uploaded restores" diff -r "$S" "$T/out20"
run 0 ado-backup -c "$RCFG" -v r
new=$out
expect_err "retention: removed backup 's3://bkt/pre/r/$d40'"
run 0 ado-restore -c "$RCFG" --list --job r
expect_no_out "$d40"
expect_no_out "$d35"
expect_out "$d20"
expect_out "$new"
check "no object of the removed backups is left" sh -c "! ls -R '$S3_DATA/bkt/pre/r' | grep -q -e '$d40' -e '$d35'"

done_testing
