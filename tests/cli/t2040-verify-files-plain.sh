#!/bin/bash
# The tar of a files target has plain_size and no plain_sha256 in the manifest
# (its index holds each file's SHA-256): verify and restore count its
# plaintext and leave the content to the codec's checksum, the GCM tags and
# the index. An older manifest that has one is still checked (a wrong one
# fails, naming the artifact); a tar without one and without its index is
# refused; a tar changed with the stored hashes rewritten to match is still
# caught at --level read (codec checksum, GCM tag) and --level restore (index).
. "$(dirname "$0")/../lib/test-lib.sh"

S=$T/src
mkdir -p "$S/d"
echo alpha > "$S/a"
yes 'MARKER-line 0123456789' | head -c 300000 > "$S/d/log"
head -c 100000 /dev/urandom > "$S/d/rand"
make_key "$T/key"
CFG=$T/cfg.yml
TGT="targets: [ { files: \"$S/\" } ], destinations: [ { local: \"$T/dest/\" } ]"
cat > "$CFG" <<EOF
state_dir: $T/state
encryption: { key_file: $T/key }
backup_jobs:
  zstd: { $TGT, compression: zstd }
  lz4: { $TGT, compression: lz4 }
  gzip: { $TGT, compression: gzip }
  none: { $TGT, compression: none }
  aes: { $TGT, encryption: "AES-256" }
EOF
mkdir -p "$T/vtmp"
V() { ado-verify -c "$CFG" --tmp-dir "$T/vtmp" "$@"; }
# fails JOB "LEVELS" WHAT TEXT...: JOB's backup fails verify at each level and
# a restore (exit 1), each saying every TEXT, and nothing is restored
nf=0
fails() {
	local j=$1 levels=$2 what=$3 level t
	shift 3
	for level in $levels; do
		run 1 V --level "$level" "${REF[$j]}"
		expect_out "FAIL ${REF[$j]}: "
		for t in "$@"; do expect_out "$t"; done
	done
	nf=$((nf + 1))
	run 1 ado-restore -c "$CFG" "${REF[$j]}" --to-dir "$T/r-fail$nf"
	for t in "$@"; do expect_err "$t"; done
	check_not "$what: nothing restored" test -e "$T/r-fail$nf"
}

# edit REF KEYFILE|- PYTHON: run PYTHON over the manifest m (a dict; helpers:
# tar, idx: the two artifacts; sha(path)), write it back, SHA256SUMS to match,
# and the hmac again with KEYFILE (as ado-backup would: HKDF-SHA256, RFC 5869)
edit() {
	/usr/bin/python3 - "$@" <<'EOF'
import hashlib, hmac, json, sys
ref, keyfile, code = sys.argv[1:4]
mp = ref + "/manifest.json"
m = json.load(open(mp))
tar = [a for a in m["artifacts"] if a["kind"] == "files"][0]
idx = [a for a in m["artifacts"] if a["kind"] == "files-index"][0]
def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()
exec(code)
text = json.dumps(m, indent=2) + "\n"
if keyfile != "-":
    i = text.rindex('\n  "hmac": ') + 1
    body = text[:i].encode()
    prk = hmac.new(b"\0" * 32, open(keyfile, "rb").read(), hashlib.sha256).digest()
    key = hmac.new(prk, b"ado-dr v1 manifest\x01", hashlib.sha256).digest()
    text = text[:i] + '  "hmac": "%s"\n}\n' % hmac.new(key, body, hashlib.sha256).hexdigest()
open(mp, "w").write(text)
open(ref + "/SHA256SUMS", "w").write("".join("%s  %s\n" % (a["stored_sha256"], a["name"]) for a in m["artifacts"]))
EOF
}

declare -A REF TARN IDXN
for j in zstd lz4 gzip none aes; do
	run 0 ado-backup -c "$CFG" "$j"
	REF[$j]=$out
	# everything below writes into these folders: never without one to write in
	case "$out" in "$T"/*) [ -d "$out" ] ;; *) false ;; esac || { echo "Bail out! no backup to tamper with (got '$out')"; exit 1; }
	TARN[$j]=$(cd "$out" && ls | grep '\.tar')
	IDXN[$j]=$(cd "$out" && ls | grep '\.index\.tsv')
	cp -a "$out" "$T/genuine-$j"
done
# put back the genuine backup of job $1
genuine() { rm -rf "${REF[$1]}"; cp -a "$T/genuine-$1" "${REF[$1]}"; }

# --- passing case: as written, no plain_sha256 for the tar, every level and a restore pass ---
for j in zstd aes; do
	check "$j: the tar has plain_size and no plain_sha256, the index has both" /usr/bin/python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
t = [a for a in m["artifacts"] if a["kind"] == "files"][0]
i = [a for a in m["artifacts"] if a["kind"] == "files-index"][0]
sys.exit(not ("plain_sha256" not in t and t["plain_size"] > 300000 and len(i["plain_sha256"]) == 64))' "${REF[$j]}/manifest.json"
	for level in checksum read restore; do
		run 0 V --level "$level" "${REF[$j]}"
		check "$j: --level $level: ok" test "$out" = "ok ${REF[$j]}"
	done
	run 0 ado-restore -c "$CFG" "${REF[$j]}" --to-dir "$T/r-$j"
	check "$j: restored tree equals the source" diff -r "$S" "$T/r-$j"
done
# its failure case: a plain_size that differs is still caught (no hash needed)
edit "${REF[zstd]}" - 'tar["plain_size"] += 1'
fails zstd "read restore" "plain_size one more" \
	"artifact '${TARN[zstd]}': restored content differs from the manifest (size "
genuine zstd

# --- (a) an older manifest, with the tar's plain_sha256: checked as before ---
for j in zstd aes; do
	key=-; [ "$j" = aes ] && key=$T/key
	ado-restore -c "$CFG" --cat "${REF[$j]}" "${TARN[$j]}" > "$T/plain.tar"
	edit "${REF[$j]}" "$key" "tar['plain_sha256'] = sha('$T/plain.tar')"
	check "$j: the manifest now has the tar's plain_sha256" \
		test "$(grep -c '"plain_sha256"' "${REF[$j]}/manifest.json")" = 2
	for level in read restore; do
		run 0 V --level "$level" "${REF[$j]}"
		check "$j: old manifest, --level $level: ok" test "$out" = "ok ${REF[$j]}"
	done
	run 0 ado-restore -c "$CFG" "${REF[$j]}" --to-dir "$T/r-old-$j"
	check "$j: old manifest: restored tree equals the source" diff -r "$S" "$T/r-old-$j"
	# a wrong one, written (and signed) as if the backup had recorded it
	edit "${REF[$j]}" "$key" "tar['plain_sha256'] = idx['plain_sha256']"
	fails "$j" "read restore" "$j: wrong plain_sha256" \
		"artifact '${TARN[$j]}': restored content differs from the manifest"
	# a present plain_sha256 that is no digest is refused as before
	edit "${REF[$j]}" "$key" "tar['plain_sha256'] = 'xyz'"
	run 1 V --level checksum "${REF[$j]}"
	expect_out "manifest: artifact '${TARN[$j]}': 'plain_sha256' must be 64 lower-case hex digits"
	genuine "$j"
done

# --- (b) no plain_sha256 and no index to check the files against: refused ---
MSG="manifest: artifact '${TARN[zstd]}': no plain_sha256 and no index to check its files against"
edit "${REF[zstd]}" - 'del tar["index"]'
fails zstd "checksum read restore" "no index" "'${REF[zstd]}/manifest.json': $MSG"
genuine zstd
edit "${REF[zstd]}" - 'm["artifacts"].remove(idx)'
fails zstd "read" "index artifact removed" "$MSG ('${IDXN[zstd]}' is not a files-index artifact of the backup)"
# the same in an encrypted backup, signed with the key: refused all the same
edit "${REF[aes]}" "$T/key" 'del tar["index"]'
fails aes "read" "aes: no index" "manifest: artifact '${TARN[aes]}': no plain_sha256 and no index to check its files against"
genuine zstd
genuine aes

# --- (c) the tar's stored bytes changed, the stored hashes rewritten to match ---
# flip REF NAME OFFSET: invert the byte at OFFSET (negative: from the end)
flip() {
	/usr/bin/python3 - "$1/$2" "$3" <<'EOF'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off] ^= 0xff
open(p, "wb").write(b)
EOF
}
rehash() { # rehash JOB: the stored hash and size of the tar as it now is
	local key=-; [ "$1" = aes ] && key=$T/key
	edit "${REF[$1]}" "$key" "tar['stored_sha256'] = sha('${REF[$1]}/${TARN[$1]}'); tar['stored_size'] = len(open('${REF[$1]}/${TARN[$1]}', 'rb').read())"
}
# where: first the codec's own checksum (the last 4 bytes of a zstd or lz4
# frame, the CRC-32 of the last gzip member) or the last GCM tag, then a byte
# amid the data
declare -A WHERE=([zstd]="-2 5000" [lz4]="-2 5000" [gzip]="-6 5000" [aes]="-5 5000")
declare -A SAYS=([zstd]="artifact '${TARN[zstd]}': corrupt zstd stream" [lz4]="artifact '${TARN[lz4]}': corrupt lz4 stream"
	[gzip]="artifact '${TARN[gzip]}': corrupt gzip stream" [aes]="authentication failed for '${TARN[aes]}'")
# what the codec says when its checksum (the first offset) is what differs
declare -A CHK=([zstd]="Restored data doesn't match checksum" [lz4]="ERROR_contentChecksum_invalid"
	[gzip]="incorrect data check" [aes]="data corrupted, truncated, reordered or from another backup")
for j in zstd lz4 gzip aes; do
	for off in ${WHERE[$j]}; do
		genuine "$j"
		flip "${REF[$j]}" "${TARN[$j]}" "$off"
		rehash "$j"
		run 0 V --level checksum "${REF[$j]}"
		check "$j, byte $off changed, hashes rewritten: the checksum level sees nothing" test "$out" = "ok ${REF[$j]}"
		# the first offset is the checksum's (or the tag's): its own message
		if [ "$off" = "${WHERE[$j]%% *}" ]; then
			fails "$j" "read restore" "$j, byte $off" "${SAYS[$j]}" "${CHK[$j]}"
		else
			fails "$j" "read restore" "$j, byte $off" "${SAYS[$j]}"
		fi
	done
	genuine "$j"
done
# no codec, no cipher: a byte of a file changed in the tar itself is the
# index's to catch (at --level read only stored_sha256 could, and it was
# rewritten: in an unencrypted backup hashes catch damage, not tampering)
off=$(grep -abo 'MARKER-line 0123456789' "${REF[none]}/${TARN[none]}" | sed -n '100{s/:.*//;p}')
check "the uncompressed tar holds the file's bytes" test -n "$off"
flip "${REF[none]}" "${TARN[none]}" "${off:-0}"
rehash none
fails none "restore" "none, a file's byte changed" \
	"restored files do not match the backup: artifact '${IDXN[none]}': 1 of 5 entries differ from the backup"
expect_err "d/log"
genuine none
run 0 V --level restore "${REF[none]}"
check "none: the genuine backup verifies again" test "$out" = "ok ${REF[none]}"
done_testing
