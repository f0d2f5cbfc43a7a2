#!/bin/bash
# ado-backup, files targets to local destinations: the round trip for every
# compression with and without encryption (stdout is exactly the references,
# files 0600, SHA256SUMS for sha256sum -c, the manifest's fields), the pipe into
# ado-verify, two destinations, a broken destination (exit 3), key problems
# (exit 2) and missing targets (exit 1, or 3 beside a good one).
. "$(dirname "$0")/../lib/test-lib.sh"

# snap DIR: one line per entry below DIR (type, mode, size, whole-second mtime,
# link target, link count, content hash) - what a restore must bring back.
snap() {
	/usr/bin/python3 - "$1" <<'EOF'
import hashlib, os, stat, sys
root = sys.argv[1]
for d, dirs, files in os.walk(root):
    dirs.sort()
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else ""
        h = hashlib.sha256(open(p, "rb").read()).hexdigest()[:16] if stat.S_ISREG(st.st_mode) else ""
        print(rel, oct(st.st_mode), st.st_size if not stat.S_ISDIR(st.st_mode) else 0,
              int(st.st_mtime) if not stat.S_ISDIR(st.st_mode) else "", link, st.st_nlink, h)
EOF
}
# manifest_check REF EXPR...: each python EXPR over the manifest m must be true.
manifest_check() {
	local ref=$1; shift
	/usr/bin/python3 - "$ref/manifest.json" "$@" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
bad = [x for x in sys.argv[2:] if not eval(x)]
if bad:
    sys.exit("false: %s\nmanifest: %s" % (bad, json.dumps(m, indent=1)))
EOF
}

# the source tree: files, a deep folder, modes, an empty file, names with a
# space and UTF-8, a symlink, a dangling symlink, a hard link, some bulk
S=$T/src
mkdir -p "$S/sub/deep" "$S/d750"
echo alpha > "$S/a.txt"
echo "spaced out" > "$S/with space.txt"
echo deep > "$S/sub/deep/f"
printf '#!/bin/sh\necho hi\n' > "$S/exec.sh"
chmod 755 "$S/exec.sh"
: > "$S/empty"
ln -s a.txt "$S/rel"
ln -s /nonexistent/target "$S/dangling"
ln "$S/a.txt" "$S/hard"
echo utf > "$S/d750/ünïcødé"
chmod 750 "$S/d750"
chmod 640 "$S/a.txt"
head -c 300000 /dev/urandom > "$S/random.bin"
yes 'MARKER-plaintext-line 0123456789' | head -c 400000 > "$S/log.txt"
touch -d '2020-01-02 03:04:05' "$S/a.txt" "$S/log.txt"
touch -h -d '2019-06-07 08:09:10' "$S/rel"
snap "$S" > "$T/src.snap"

make_key "$T/key"
CFG=$T/cfg.yml
{
	echo "state_dir: $T/state"
	echo "encryption: { key_file: $T/key }"
	echo "backup_jobs:"
	for c in gzip lz4 zstd none; do
		for enc in AES-256 none; do
			echo "  ${c}_${enc%-256}:"
			echo "    targets: [ { files: \"$S/\" } ]"
			echo "    destinations: [ { local: \"$T/dest/\" } ]"
			echo "    retention: \"30 days\""
			echo "    compression: $c"
			echo "    encryption: \"$enc\""
		done
	done
} > "$CFG"

declare -A EXT=([gzip]=.gz [lz4]=.lz4 [zstd]=.zst [none]=)
declare -A MAGIC=([gzip]=1f8b [lz4]=04224d18 [zstd]=28b52ffd [none]=)
n=0
for c in gzip lz4 zstd none; do
	for enc in AES none; do
		job=${c}_$enc
		n=$((n + 1))
		run 0 ado-backup -c "$CFG" "$job"
		ref=$out
		check "$job: stdout is exactly one reference DEST/JOB/ID" \
			bash -c '[[ "$1" =~ ^$2/dest/$3/[0-9]{8}T[0-9]{6}Z$ ]]' _ "$ref" "$T" "$job"
		check "$job: nothing on stderr" test -z "$err"
		[ -d "$ref" ] || { echo "# no backup folder for $job: $ref"; continue; }
		suffix=${EXT[$c]}$([ $enc = AES ] && echo .enc)
		tar=$ref/files-${S//\//-}.tar$suffix
		tar=${tar/files--/files-}
		idx=${tar%.tar$suffix}.index.tsv$suffix
		check "$job: the tar artifact is '$(basename "$tar")'" test -f "$tar"
		check "$job: the index artifact is '$(basename "$idx")'" test -f "$idx"
		check "$job: four files in the backup folder" test "$(ls "$ref" | wc -l)" = 4
		check "$job: every stored file is 0600" test -z "$(find "$ref" -type f ! -perm 600)"
		check "$job: the backup folder is 0700" test "$(stat -c %a "$ref")" = 700
		check "$job: SHA256SUMS passes sha256sum -c in the folder" bash -c 'cd "$1" && sha256sum --strict -c SHA256SUMS' _ "$ref"
		check "$job: SHA256SUMS lists both artifacts" test "$(wc -l < "$ref/SHA256SUMS")" = 2
		if [ $enc = AES ]; then
			check_not "$job: the stored tar does not hold the plaintext" grep -q MARKER-plaintext "$tar"
			check "$job: manifest: encrypted, AES-256-GCM, a key id, an hmac" manifest_check "$ref" \
				'm["encryption"]["cipher"] == "AES-256-GCM"' 'len(m["encryption"]["key_id"]) == 16' \
				'len(m["hmac"]) == 64' 'all(a["encrypted"] for a in m["artifacts"])'
			check "$job: the key itself is nowhere in the manifest" \
				bash -c '! grep -qF "$(od -An -v -tx1 "$1" | tr -d " \n")" "$2"' _ "$T/key" "$ref/manifest.json"
		else
			check "$job: manifest: not encrypted, hmac null" manifest_check "$ref" \
				'm["encryption"] is None' 'm["hmac"] is None' 'not any(a["encrypted"] for a in m["artifacts"])'
			if [ $c = none ]; then
				check "$job: the stored tar is a plain tar" tar -tf "$tar"
			else
				check "$job: the stored tar starts with the $c magic" \
					test "$(head -c 4 "$tar" | od -An -v -tx1 | tr -d " \n" | cut -c1-${#MAGIC[$c]})" = "${MAGIC[$c]}"
			fi
		fi
		check "$job: manifest fields" manifest_check "$ref" \
			'm["format"] == 1' "m['job'] == '$job'" "m['id'] == '$(basename "$ref")'" \
			'm["tool"].startswith("ado-dr ")' 'm["started"] <= m["finished"]' 'm["host"]' \
			'len(m["artifacts"]) == 2' 'm["warnings"] == []' \
			"all(a['compression'] == '$c' for a in m['artifacts'])" \
			'all(len(a["stored_sha256"]) == 64 and a["plain_size"] >= 0 for a in m["artifacts"])' \
			'all(len(a["plain_sha256"]) == 64 for a in m["artifacts"] if a["kind"] != "files")' \
			'all("plain_sha256" not in a for a in m["artifacts"] if a["kind"] == "files")' \
			'all(a["target"] and a["source"] and a["name"] and a["kind"] for a in m["artifacts"])'
		check "$job: manifest: the tar's sizes, hashes, file count" manifest_check "$ref" \
			"[a for a in m['artifacts'] if a['kind'] == 'files'][0]['file_count'] == $(find "$S" -mindepth 0 | wc -l)" \
			"[a for a in m['artifacts'] if a['kind'] == 'files'][0]['source'] == '$S/'" \
			"[a for a in m['artifacts'] if a['kind'] == 'files'][0]['stored_size'] == $(stat -c %s "$tar")" \
			"[a for a in m['artifacts'] if a['kind'] == 'files'][0]['stored_sha256'] == '$(sha256sum < "$tar" | cut -c1-64)'" \
			"[a for a in m['artifacts'] if a['kind'] == 'files'][0]['index'] == '$(basename "$idx")'"
		# the plaintext: --cat gives the tar the manifest counted (its files'
		# hashes are in the index), and the index the manifest hashed
		ado-restore -c "$CFG" --cat "$ref" "$(basename "$tar")" > "$T/plain.tar" 2>"$T/.e"
		ado-restore -c "$CFG" --cat "$ref" "$(basename "$idx")" > "$T/plain.idx" 2>"$T/.e"
		check "$job: --cat gives the tar of the manifest's plain_size" manifest_check "$ref" \
			"[a for a in m['artifacts'] if a['kind'] == 'files'][0]['plain_size'] == $(stat -c %s "$T/plain.tar")"
		check "$job: --cat gives the index the manifest hashed" manifest_check "$ref" \
			"[a for a in m['artifacts'] if a['kind'] == 'files-index'][0]['plain_sha256'] == '$(sha256sum < "$T/plain.idx" | cut -c1-64)'" \
			"[a for a in m['artifacts'] if a['kind'] == 'files-index'][0]['plain_size'] == $(stat -c %s "$T/plain.idx")"

		run 0 ado-verify -c "$CFG" "$ref"
		check "$job: verify says exactly 'ok REF'" test "$out" = "ok $ref"
		run 0 ado-restore -c "$CFG" --job "$job" --to-dir "$T/out$n"
		expect_out "restored into '$T/out$n'"
		check "$job: diff -r of source and restore is empty" diff -r --no-dereference "$S" "$T/out$n"
		snap "$T/out$n" > "$T/out$n.snap"
		check "$job: types, modes, sizes, mtimes, links and hard links come back" diff "$T/src.snap" "$T/out$n.snap"
	done
done
check "eight jobs, eight backups" test "$(ls "$T/dest" | wc -l)" = 8

# --- ado-backup | ado-verify - ---
out=$(set -o pipefail; ado-backup -c "$CFG" zstd_AES lz4_none 2>"$T/.e" | ado-verify -c "$CFG" - 2>>"$T/.e"); rc=$?
err=$(cat "$T/.e")
check "ado-backup | ado-verify -: exit 0" test "$rc" = 0
check "ado-backup | ado-verify -: two ok lines" test "$(grep -c "^ok $T/dest/" <<<"$out")" = 2
check "the pipe verified both jobs" bash -c 'grep -q "/zstd_AES/" <<<"$1" && grep -q "/lz4_none/" <<<"$1"' _ "$out"
# the failure case beside it: a job that fails stores nothing and feeds nothing to verify
out=$(ado-backup -c "$CFG" nosuch 2>"$T/.e" | ado-verify -c "$CFG" - 2>>"$T/.e"); rc=$?; err=$(cat "$T/.e")
check "ado-backup fails -> ado-verify - has no reference: exit 2" test "$rc" = 2
expect_err "ado-verify: no backup references were given on stdin"

# --- two destinations: both get the same backup ---
cat > "$T/two.yml" <<EOF
state_dir: $T/state
encryption: { key_file: $T/key }
backup_jobs:
  two:
    targets: [ { files: "$S/" } ]
    destinations: [ { local: "$T/d1/" }, { local: "$T/d2" } ]
    retention: "30 days"
    encryption: "AES-256"
    compression: zstd
  broken:
    targets: [ { files: "$S/" } ]
    destinations: [ { local: "$T/afile/sub/" }, { local: "$T/d3/" } ]
    retention: "30 days"
    encryption: "AES-256"
    compression: zstd
  allbroken:
    targets: [ { files: "$S/" } ]
    destinations: [ { local: "$T/afile/x/" } ]
    retention: "30 days"
EOF
run 0 ado-backup -c "$T/two.yml" two
check "two destinations: two references" test "$(printf '%s\n' "$out" | wc -l)" = 2
id1=$(basename "$(sed -n 1p <<<"$out")"); id2=$(basename "$(sed -n 2p <<<"$out")")
check "two destinations: the same backup id" test "$id1" = "$id2"
expect_out "$T/d1/two/$id1"
expect_out "$T/d2/two/$id1"
check "both copies are identical" diff -r "$T/d1/two/$id1" "$T/d2/two/$id1"
run 0 ado-verify -c "$T/two.yml" --job two
check "verify --job: both copies ok" test "$(grep -c '^ok ' <<<"$out")" = 2

# one destination broken (a file where its folder should be): exit 3, the other complete
echo "not a folder" > "$T/afile"
run 3 ado-backup -c "$T/two.yml" broken
expect_err "ado-backup: destination '$T/afile/sub/' failed for job 'broken': cannot create folder '$T/afile/sub': Not a directory"
check "partial: stdout is only the good destination's reference" bash -c '[[ "$1" =~ ^$2/d3/broken/[0-9]{8}T[0-9]{6}Z$ ]]' _ "$out" "$T"
good=$out
check "partial: the good copy is complete (manifest)" test -f "$good/manifest.json"
run 0 ado-verify -c "$T/two.yml" "$good"
expect_out "ok $good"
check "the broken destination is untouched" test "$(cat "$T/afile")" = "not a folder"
# every destination broken: nothing stored, exit 1
run 1 ado-backup -c "$T/two.yml" allbroken
expect_err "destination '$T/afile/x/' failed for job 'allbroken'"
check "nothing stored: stdout empty" test -z "$out"

# --- keys ---
cp "$CFG" "$T/nokey.yml"
sed -i "s#key_file: $T/key#key_file: $T/missing.key#" "$T/nokey.yml"
run 2 ado-backup -c "$T/nokey.yml" zstd_AES
expect_err "ado-backup: cannot open key file '$T/missing.key': No such file or directory"
expect_err "hint: "
check "missing key: nothing on stdout" test -z "$out"
# an unencrypted job does not need the key at all
run 0 ado-backup -c "$T/nokey.yml" zstd_none
expect_out "$T/dest/zstd_none/"
cp "$T/key" "$T/open.key"
chmod 644 "$T/open.key"
sed "s#key_file: $T/key#key_file: $T/open.key#" "$CFG" > "$T/openkey.yml"
before=$(find "$T/dest" | wc -l)
run 2 ado-backup -c "$T/openkey.yml" zstd_AES
expect_err "ado-backup: key file '$T/open.key' is readable by group or others (mode 0644)"
expect_err "hint: chmod 600 '$T/open.key'"
check "too-open key: nothing stored" test "$(find "$T/dest" | wc -l)" = "$before"
chmod 640 "$T/open.key"
run 2 ado-backup -c "$T/openkey.yml" zstd_AES
expect_err "(mode 0640)"
chmod 600 "$T/open.key"
run 0 ado-backup -c "$T/openkey.yml" zstd_AES
head -c 20 /dev/urandom > "$T/short.key"; chmod 600 "$T/short.key"
sed "s#key_file: $T/key#key_file: $T/short.key#" "$CFG" > "$T/shortkey.yml"
run 2 ado-backup -c "$T/shortkey.yml" zstd_AES
expect_err "key file '$T/short.key' must hold 32 raw bytes or 64 hex digits, found 20 bytes"
# 64 hex digits work, and so does ADO_KEY_FILE instead of key_file
{ od -An -v -tx1 "$T/key" | tr -d " \n"; echo; } > "$T/hex.key"; chmod 600 "$T/hex.key"
grep -v key_file "$CFG" > "$T/envkey.yml"
out=$(ADO_KEY_FILE="$T/hex.key" ado-backup -c "$T/envkey.yml" zstd_AES 2>"$T/.e"); rc=$?
check "ADO_KEY_FILE with 64 hex digits: exit 0" test "$rc" = 0
hexref=$out
run 0 ado-verify -c "$CFG" "$hexref"
check "the raw key verifies what the hex key wrote" test "$out" = "ok $hexref"
# no key configured at all for an encrypted job
out=$(ado-backup -c "$T/envkey.yml" zstd_AES 2>"$T/.e"); rc=$?; err=$(cat "$T/.e")
check "encrypted job, no key anywhere: exit 2" test "$rc" = 2
expect_err "ado-backup: "

# --- missing targets ---
cat > "$T/targets.yml" <<EOF
state_dir: $T/state
backup_jobs:
  gone:
    targets: [ { files: "$T/nowhere/" } ]
    destinations: [ { local: "$T/tdest/" } ]
    retention: "30 days"
  half:
    targets: [ { files: "$S/" }, { files: "$T/nowhere" } ]
    destinations: [ { local: "$T/tdest/" } ]
    retention: "30 days"
EOF
run 1 ado-backup -c "$T/targets.yml" gone
expect_err "ado-backup: job 'gone': target 'files${T//\//-}-nowhere' failed: cannot back up '$T/nowhere/': No such file or directory"
expect_err "hint: check the files: target's path in the config"
expect_err "ado-backup: job 'gone': nothing was stored: its target failed"
check "only target missing: the cause is said once" test "$(grep -c "cannot back up" <<<"$err")" = 1
check "only target missing: nothing on stdout" test -z "$out"
check "only target missing: no backup folder left" test -z "$(ls "$T/tdest/gone" 2>/dev/null)"
run 3 ado-backup -c "$T/targets.yml" half
expect_err "cannot back up '$T/nowhere': No such file or directory"
ref=$out
check "one of two targets missing: the other is stored" test -f "$ref/manifest.json"
check "the manifest records the failed target as a warning" manifest_check "$ref" \
	'len(m["artifacts"]) == 2' 'any("nowhere" in w and "failed" in w for w in m["warnings"])' \
	'len(m["failed_targets"]) == 1 and "nowhere" in m["failed_targets"][0]'
# what is stored is sound, but it is not "ok": PARTIAL, status 3
run 3 ado-verify -c "$T/targets.yml" "$ref"
expect_out "PARTIAL $ref: the backup lacks target '"
expect_no_out "ok $ref"
# --all runs every job: one failed and one partial is partial overall
run 3 ado-backup -c "$T/targets.yml" --all
run 2 ado-backup -c "$T/targets.yml" --all gone
expect_err "give either --all or job names, not both"

done_testing
