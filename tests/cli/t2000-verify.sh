#!/bin/bash
# ado-verify: the three levels on good backups; one byte flipped in each kind of
# stored file, a truncated or missing artifact, a missing manifest, a wrong key,
# artifacts swapped between two backups -> 'FAIL REF: reason' naming the file,
# exit 1; every reference is checked even after a failure; --json, --log,
# --job/--since, references on stdin, bad references; scratch data removed.
. "$(dirname "$0")/../lib/test-lib.sh"

S=$T/src
mkdir -p "$S/sub"
echo alpha > "$S/a"
echo beta > "$S/sub/b"
ln -s a "$S/link"
head -c 200000 /dev/urandom > "$S/blob"
make_key "$T/key"
make_key "$T/other.key"
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
encryption: { key_file: $T/key }
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], retention: "30 days", encryption: "AES-256", compression: zstd }
  p: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], retention: "30 days", compression: zstd }
  q: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/qdest/" } ], retention: "30 days", compression: zstd }
  empty: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/edest/" } ], retention: "30 days" }
EOF
sed "s#key_file: $T/key#key_file: $T/other.key#" "$CFG" > "$T/wrongkey.yml"
mkdir -p "$T/vtmp"
V() { ado-verify -c "$CFG" --tmp-dir "$T/vtmp" "$@"; }

run 0 ado-backup -c "$CFG" j
A=$out
echo "changed" > "$S/a"
run 0 ado-backup -c "$CFG" j
B=$out
check "two backups, two ids" test "$A" != "$B"
run 0 ado-backup -c "$CFG" p
P=$out
ID=$(basename "$B")
TARN=files${S//\//-}.tar.zst.enc
IDXN=files${S//\//-}.index.tsv.zst.enc
check "the tar artifact is where the test expects it" test -f "$B/$TARN"

# --- good backups: every level says ok ---
for level in checksum read restore; do
	run 0 V --level "$level" "$B"
	check "level $level: exactly 'ok REF'" test "$out" = "ok $B"
	run 0 V --level "$level" "$P"
	check "level $level, unencrypted: exactly 'ok REF'" test "$out" = "ok $P"
done
run 0 V "$A" "$B" "$P"
check "default level (restore), three refs: three ok lines in order" \
	test "$out" = "$(printf 'ok %s\nok %s\nok %s' "$A" "$B" "$P")"
check "the restore level leaves no scratch data" test -z "$(ls -A "$T/vtmp")"

# copy REF NAME: a copy of backup REF at $T/NAME/JOB/ID (the job folder must keep its name)
copy() {
	local job; job=$(basename "$(dirname "$1")")
	rm -rf "${T:?}/$2"; mkdir -p "$T/$2/$job"; cp -a "$1" "$T/$2/$job/"
	echo "$T/$2/$job/$(basename "$1")"
}
# flip FILE [OFFSET]: invert the low bit of one byte (default: the middle one)
flip() {
	/usr/bin/python3 - "$@" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
o = int(sys.argv[2]) if len(sys.argv) > 2 else len(b) // 2
b[o] ^= 1
open(p, "wb").write(b)
EOF
}

# --- no scratch space for the test restore: could not check (6), not FAIL ---
run 6 ado-verify -c "$CFG" --tmp-dir "$T/no/such/dir" "$B"
expect_out "UNCHECKED $B: "
expect_no_out "FAIL"

# --- one byte flipped in each kind of stored file, at every level ---
R=$(copy "$B" flip-tar); flip "$R/$TARN"
for level in checksum read restore; do
	run 1 V --level "$level" "$R"
	check "tar flipped, $level: a FAIL line naming the tar" bash -c '[[ "$1" == "FAIL $2: "*"$3"* ]]' _ "$out" "$R" "$TARN"
done
run 1 V --level checksum "$R"
expect_out "artifact '$TARN': stored bytes differ from the manifest"
run 1 V --level read "$R"
expect_out "authentication failed for '$TARN'"
expect_err "hint: "
check "a failed restore-level check leaves no scratch data" test -z "$(ls -A "$T/vtmp")"

R=$(copy "$B" flip-idx); flip "$R/$IDXN"
for level in checksum read restore; do
	run 1 V --level "$level" "$R"
	check "index flipped, $level: a FAIL line naming the index" bash -c '[[ "$1" == "FAIL $2: "*"$3"* ]]' _ "$out" "$R" "$IDXN"
done

R=$(copy "$B" flip-sums); flip "$R/SHA256SUMS" 10
for level in checksum read restore; do
	run 1 V --level "$level" "$R"
	check "SHA256SUMS flipped, $level: FAIL naming SHA256SUMS" test "$out" = "FAIL $R: 'SHA256SUMS' does not match the manifest"
done
check_not "and sha256sum -c agrees it is bad" bash -c 'cd "$1" && sha256sum --strict -c SHA256SUMS' _ "$R"

# manifest: a flipped byte that breaks the JSON, and one that changes a value (the hmac catches it)
R=$(copy "$B" flip-man1); flip "$R/manifest.json" 0
for level in checksum read restore; do
	run 1 V --level "$level" "$R"
	check "manifest flipped (syntax), $level: FAIL naming manifest.json" \
		bash -c '[[ "$1" == "FAIL $2: '"'"'$2/manifest.json'"'"': "* ]]' _ "$out" "$R"
done
R=$(copy "$B" flip-man2)
sed -i '0,/"plain_size": \([0-9]\)/s//"plain_size": 9\1/' "$R/manifest.json"
check "the value was changed" bash -c '! cmp -s "$1/manifest.json" "$2/manifest.json"' _ "$R" "$B"
for level in checksum read restore; do
	run 1 V --level "$level" "$R"
	check "manifest value changed, $level: FAIL naming manifest.json" \
		bash -c '[[ "$1" == "FAIL $2: '"'"'$2/manifest.json'"'"': "* ]]' _ "$out" "$R"
	expect_out "failed authentication: it was altered"
done
# the same edit in an unencrypted backup (no hmac) is caught by the hashes
R=$(copy "$P" flip-man3)
sed -i '0,/"stored_size": \([0-9]\)/s//"stored_size": 9\1/' "$R/manifest.json"
run 1 V --level checksum "$R"
expect_out "FAIL $R: "
# unencrypted: a flipped byte in the tar fails at every level too
R=$(copy "$P" flip-ptar); flip "$R/files${S//\//-}.tar.zst"
for level in checksum read restore; do
	run 1 V --level "$level" "$R"
	check "unencrypted tar flipped, $level: FAIL naming the tar" \
		bash -c '[[ "$1" == "FAIL $2: "*"$3"* ]]' _ "$out" "$R" "files${S//\//-}.tar.zst"
done

# --- truncated, missing artifact, missing manifest ---
R=$(copy "$B" trunc); truncate -s -7 "$R/$TARN"
for level in checksum read restore; do
	run 1 V --level "$level" "$R"
	check "truncated tar, $level: FAIL naming the tar" bash -c '[[ "$1" == "FAIL $2: "*"$3"* ]]' _ "$out" "$R" "$TARN"
done
run 1 V --level checksum "$R"
expect_out "stored bytes differ from the manifest (size $(($(stat -c %s "$B/$TARN") - 7)), expected $(stat -c %s "$B/$TARN")"
R=$(copy "$B" trunc-chunk); truncate -s 64 "$R/$TARN"
run 1 V --level read "$R"
expect_out "FAIL $R: "
R=$(copy "$B" gone-art); rm "$R/$IDXN"
run 1 V --level checksum "$R"
check "missing index artifact: FAIL naming it" bash -c '[[ "$1" == "FAIL $2: "*"$3"* ]]' _ "$out" "$R" "$IDXN"
R=$(copy "$B" gone-man); rm "$R/manifest.json"
run 1 V "$R"
check "missing manifest: FAIL ... incomplete" test "$out" = "FAIL $R: backup '$R' is incomplete: it has no manifest"

# --- artifacts swapped between two backups of the same job ---
R=$(copy "$B" swap); cp "$A/$TARN" "$R/$TARN"
run 1 V --level checksum "$R"
expect_out "FAIL $R: artifact '$TARN': stored bytes differ from the manifest"
# deeper levels catch it in the cipher too: A's tar is bound to A's id
run 1 V --level read "$R"
expect_out "FAIL $R: authentication failed for '$TARN'"
run 1 V --level restore "$R"
expect_out "FAIL $R: "
# and the tar and index of one backup swapped with each other
R=$(copy "$B" swap2); mv "$R/$TARN" "$R/x"; mv "$R/$IDXN" "$R/$TARN"; mv "$R/x" "$R/$IDXN"
run 1 V --level read "$R"
expect_out "FAIL $R: "

# --- wrong key, no key ---
run 1 ado-verify -c "$T/wrongkey.yml" "$B"
expect_out "FAIL $B: "
expect_out "wrong key: backup 'j/$ID' was made with key id "
expect_err "hint: point key_file / ADO_KEY_FILE (or ADO_PASSPHRASE) at the key with id "
check "the key itself is never printed" bash -c '! grep -qF "$(od -An -v -tx1 "$1" | tr -d " \n")" <<<"$2$3"' _ "$T/key" "$out" "$err"
run 0 ado-verify -c "$T/wrongkey.yml" "$P"
expect_out "ok $P"
cat > "$T/nokey.yml" <<EOF
state_dir: $T/state
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], retention: "30 days" }
EOF
run 1 ado-verify -c "$T/nokey.yml" "$B"
expect_out "FAIL $B: backup is encrypted and no key is configured"
expect_err "or use --level checksum"
run 0 ado-verify -c "$T/nokey.yml" --level checksum "$B"
expect_out "ok $B"
expect_err "manifest not authenticated (no key loaded)"
# ADO_KEY_FILE with no config at all
out=$(ADO_KEY_FILE="$T/key" ado-verify "$B" 2>"$T/.e"); rc=$?
check "ADO_KEY_FILE, no config: exit 0" test "$rc" = 0
check "ADO_KEY_FILE, no config: ok" test "$out" = "ok $B"

# --- several references, one bad: every one is checked, exit 1 ---
R=$(copy "$B" flip-tar2); flip "$R/$TARN"
run 1 V "$A" "$R" "$P"
check "three refs, middle bad: three lines" test "$(printf '%s\n' "$out" | wc -l)" = 3
check "line 1 ok" test "$(sed -n 1p <<<"$out")" = "ok $A"
check "line 2 FAIL" bash -c '[[ "$1" == "FAIL $2: "* ]]' _ "$(sed -n 2p <<<"$out")" "$R"
check "line 3 ok: checked after the failure" test "$(sed -n 3p <<<"$out")" = "ok $P"
run 1 V "$R" "$A"
check "bad first, good second: two lines" test "$(printf '%s\n' "$out" | wc -l)" = 2
check "the good one after the bad one is ok" test "$(sed -n 2p <<<"$out")" = "ok $A"

# --- references on stdin ---
printf '%s\n# a comment\n\n%s\n' "$A" "$P" > "$T/refs"
run_in 0 "$T/refs" V -
check "stdin: two ok lines" test "$out" = "$(printf 'ok %s\nok %s' "$A" "$P")"
printf '%s\n%s\n' "$A" "$R" > "$T/refs2"
run_in 1 "$T/refs2" V -
check "stdin with a bad one: ok then FAIL" bash -c '[[ "$1" == "ok $2"$'"'\n'"'"FAIL $3: "* ]]' _ "$out" "$A" "$R"
: > "$T/norefs"
run_in 2 "$T/norefs" V -
expect_err "ado-verify: no backup references were given on stdin"
out=$(ado-backup -c "$CFG" p 2>/dev/null | V - 2>"$T/.e"); rc=$?
check "ado-backup | ado-verify -: exit 0" test "$rc" = 0
check "ado-backup | ado-verify -: ok" bash -c '[[ "$1" == "ok $2/dest/p/"* ]]' _ "$out" "$T"

# --- bad references ---
run 2 V "$T/nowhere"
expect_out "FAIL $T/nowhere: bad backup reference '$T/nowhere': expected DEST/JOB/ID or JOB/ID with an id like 20261125T221500Z"
run 1 V "$T/dest/j/20200101T000000Z"
check "a well-formed reference to nothing: FAIL no backup" \
	test "$out" = "FAIL $T/dest/j/20200101T000000Z: no backup '$T/dest/j/20200101T000000Z'"
run 2 V "$T/nowhere" "$A"
check "a bad reference does not stop the others" test "$(sed -n 2p <<<"$out")" = "ok $A"
R=$(copy "$B" wrongjob); mv "$T/wrongjob/j" "$T/wrongjob/k"; R=$T/wrongjob/k/$ID
run 1 V "$R"
expect_out "FAIL $R: manifest at '$R' belongs to 'j/$ID'"

# --- --json: one object per backup ---
run 1 V --json "$A" "$T/flip-tar2/j/$ID" "$T/nowhere"
check "--json: every line parses and carries ref and status" /usr/bin/python3 -c '
import json, sys
ls = [json.loads(l) for l in sys.argv[1].splitlines()]
assert len(ls) == 3, ls
assert ls[0]["status"] == "ok" and ls[0]["ref"] == sys.argv[2] and ls[0]["level"] == "restore", ls[0]
assert ls[0]["authenticated"] is True and ls[0]["artifacts"] == 2 and ls[0]["files"] >= 3, ls[0]
assert ls[1]["status"] == "fail" and ls[1]["error"] == "AUTH" and "authentication failed" in ls[1]["reason"], ls[1]
assert ls[2]["status"] == "fail" and ls[2]["error"] == "USAGE" and "bad backup reference" in ls[2]["reason"], ls[2]
' "$out" "$A"
run 0 V --json --level checksum "$P"
check "--json ok: status ok, level checksum" /usr/bin/python3 -c '
import json, sys
o = json.loads(sys.argv[1]); assert o["status"] == "ok" and o["level"] == "checksum" and o["job"] == "p", o' "$out"

# --- --log FILE appends timestamped lines ---
LOG=$T/verify.log
echo "an earlier line" > "$LOG"
run 0 V --log "$LOG" "$A"
run 1 V --log "$LOG" "$T/flip-tar2/j/$ID"
check "--log appends (3 lines)" test "$(wc -l < "$LOG")" = 3
check "--log keeps what was there" test "$(head -1 "$LOG")" = "an earlier line"
check "--log: a timestamped ok line" grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z ado-verify\[[0-9]+\] level=restore ok $A\$" "$LOG"
check "--log: a timestamped FAIL line with the reason" grep -qE "^[0-9-]{10}T[0-9:]{8}Z ado-verify\[[0-9]+\] level=restore FAIL $T/flip-tar2/j/$ID: .*authentication failed" "$LOG"
check "--log: stdout still has the result" bash -c '[[ "$1" == "FAIL "* ]]' _ "$out"
run 2 V --log "$T/no/such/dir/log" "$A"
expect_err "ado-verify: cannot open log '$T/no/such/dir/log': No such file or directory"

# --- --job JOB [--since]: what the destinations hold ---
run 0 V --job j
check "--job j: both complete backups, in id order" test "$out" = "$(printf 'ok %s\nok %s' "$A" "$B")"
old=$(date -u -d '2 days ago' +%Y%m%dT%H%M%SZ)
cp -a "$P" "$T/dest/p/$old"
sed -i "s/\"id\": \"$(basename "$P")\"/\"id\": \"$old\"/" "$T/dest/p/$old/manifest.json"
run 0 V --job p --level checksum
expect_out "ok $T/dest/p/$old"
run 0 V --job p --level checksum --since 24h
expect_no_out "$old"
expect_out "ok $P"
run 0 V --job p --level checksum --since '3 days'
expect_out "ok $T/dest/p/$old"
# the failure cases beside them: a job whose only backup is 2 days old
mkdir -p "$T/qdest/q"
cp -a "$T/dest/p/$old" "$T/qdest/q/$old"
sed -i 's/"job": "p"/"job": "q"/' "$T/qdest/q/$old/manifest.json"
run 0 V --job q
check "--job q: its one (old) backup is ok" test "$out" = "ok $T/qdest/q/$old"
run 1 V --job q --since 24h
check "--job q --since 24h: FAIL, none that young" bash -c '[[ "$1" == "FAIL q: no complete backup in the last "* ]]' _ "$out"
run 1 V --job empty
check "--job with no backups at all: FAIL" test "$out" = "FAIL empty: no complete backup"
flip "$T/dest/p/$old/SHA256SUMS" 5
run 1 V --job p --level checksum
expect_out "FAIL $T/dest/p/$old: 'SHA256SUMS' does not match the manifest"
expect_out "ok $P"
run 2 V --since 24h "$A"
expect_err "ado-verify: --since needs --job"
run 2 V --job p --since soon
expect_err "soon"
run 2 V --job p "$A"
expect_err "give either --job or references, not both"
run 2 V --job nosuch
expect_err "ado-verify: no job 'nosuch' in '$CFG'"
expect_err "hint: the jobs there are: j, p, q, empty"
run 2 V --job emty
expect_err "ado-verify: no job 'emty' in '$CFG'"
expect_err "hint: did you mean 'empty'?"

check "no scratch data left behind by any run" test -z "$(ls -A "$T/vtmp")"

# --- Ctrl-C in the middle of a test restore: exit 130, scratch data removed ---
mkdir -p "$T/bigsrc"
head -c 100M /dev/urandom > "$T/bigsrc/r.bin"
echo "  big: { targets: [ { files: \"$T/bigsrc/\" } ], destinations: [ { local: \"$T/dest/\" } ], retention: \"30 days\", encryption: \"AES-256\", compression: zstd }" >> "$CFG"
run 0 ado-backup -c "$CFG" big
BIG=$out
rm -f "$T/bigsrc/r.bin"
ado-verify -c "$CFG" --tmp-dir "$T/vtmp" "$BIG" > "$T/int.out" 2> "$T/int.err" &
vp=$!
for _ in $(seq 250); do [ -n "$(find "$T/vtmp" -type f -size +1M 2>/dev/null)" ] && break; sleep 0.02; done
check "the test restore was writing scratch data" test -n "$(find "$T/vtmp" -type f -size +1M 2>/dev/null)"
kill -INT "$vp"
wait "$vp"; rc=$?
check "interrupted: exit 130" test "$rc" = 130
check "interrupted: the scratch data is removed" test -z "$(ls -A "$T/vtmp")"
check_not "interrupted: not reported ok" grep -q "^ok " "$T/int.out"
done_testing
