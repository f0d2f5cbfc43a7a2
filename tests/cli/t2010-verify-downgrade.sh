#!/bin/bash
# Downgrade past the key: someone who can write to a destination but has no
# key replaces an encrypted job's backup with an unencrypted one of their own
# (same job, same id), or flips one bit of the key name "encryption", or adds
# bytes after the hmac line. With the job configured encrypted (or a key
# loaded), verify and restore call that an authentication failure (exit 1);
# the genuine backup and an unencrypted job beside it stay fine.
. "$(dirname "$0")/../lib/test-lib.sh"

S=$T/src
mkdir -p "$S"
echo genuine > "$S/a"
make_key "$T/key"
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
encryption: { key_file: $T/key }
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], encryption: "AES-256" }
  p: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ] }
EOF
# the attacker's config: the same job and destination, no key
EVIL=$T/evil.yml
mkdir -p "$T/evilsrc"
echo planted > "$T/evilsrc/a"
cat > "$EVIL" <<EOF
state_dir: $T/evilstate
backup_jobs:
  j: { targets: [ { files: "$T/evilsrc/" } ], destinations: [ { local: "$T/dest/" } ] }
EOF
mkdir -p "$T/vtmp"

run 0 ado-backup -c "$CFG" j
GOOD=$out
# everything below writes into $GOOD: never without a backup folder to write in
case "$GOOD" in "$T"/*) [ -d "$GOOD" ] ;; *) false ;; esac || { echo "Bail out! no backup to tamper with (got '$GOOD')"; exit 1; }
ID=$(basename "$GOOD")
run 0 ado-backup -c "$CFG" p
P=$out
run 0 ado-verify -c "$CFG" --tmp-dir "$T/vtmp" "$GOOD" "$P"
check "passing case: the genuine backup and the unencrypted job verify" \
	test "$out" = "$(printf 'ok %s\nok %s' "$GOOD" "$P")"
cp -a "$GOOD" "$T/genuine"

# --- the downgrade, built as an attacker would ---
run 0 ado-backup -c "$EVIL" j
EVILREF=$out
rm -rf "$GOOD"
mv "$EVILREF" "$GOOD"
sed -i "s/$(basename "$EVILREF")/$ID/" "$GOOD/manifest.json"
check "the planted manifest claims no encryption" grep -q '"encryption": null' "$GOOD/manifest.json"
run 1 ado-verify -c "$CFG" --tmp-dir "$T/vtmp" "$GOOD"
expect_out "FAIL $GOOD: '$GOOD/manifest.json': manifest of 'j/$ID' is not authenticated: it claims no encryption, but the job is encrypted or a key is loaded"
expect_no_out '"authenticated": false'
run 1 ado-verify -c "$CFG" --tmp-dir "$T/vtmp" --json "$GOOD"
expect_out '"error":"AUTH"'
run 1 ado-restore -c "$CFG" --job j --to-dir "$T/r1"
expect_err "is not authenticated: it claims no encryption"
check_not "nothing of theirs was restored" test -e "$T/r1/a"
# a key loaded and no config of the job: the same answer
run 1 env ADO_KEY_FILE="$T/key" ado-verify --tmp-dir "$T/vtmp" "$GOOD"
expect_out "is not authenticated"

# --- one bit flipped in the key name "encryption" ---
rm -rf "$GOOD"; cp -a "$T/genuine" "$GOOD"
sed -i 's/"encryption": {/"encryptiom": {/' "$GOOD/manifest.json"
run 1 ado-verify -c "$CFG" --tmp-dir "$T/vtmp" "$GOOD"
expect_out "is not authenticated: it claims no encryption"
# restore by job: it no longer even parses as a backup, so 'latest' skips it
run 1 ado-restore -c "$CFG" --job j --to-dir "$T/r2"
expect_err "skipping backup '$GOOD': it is damaged: '$GOOD/manifest.json': manifest: artifact"
run 1 ado-restore -c "$CFG" "$GOOD" --to-dir "$T/r2"
expect_err "is not authenticated: it claims no encryption"

# --- bytes after the hmac line ---
rm -rf "$GOOD"; cp -a "$T/genuine" "$GOOD"
printf '# trailing\n' >> "$GOOD/manifest.json"
run 1 ado-verify -c "$CFG" --tmp-dir "$T/vtmp" "$GOOD"
expect_out "manifest of 'j/$ID' failed authentication: it was altered"
rm -rf "$GOOD"; cp -a "$T/genuine" "$GOOD"
printf ' ' >> "$GOOD/manifest.json"
run 1 ado-restore -c "$CFG" --job j --to-dir "$T/r3"
expect_err "failed authentication: it was altered"

# --- passing case again: the genuine bytes put back ---
rm -rf "$GOOD"; cp -a "$T/genuine" "$GOOD"
run 0 ado-verify -c "$CFG" --tmp-dir "$T/vtmp" "$GOOD"
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/r4"
check "the genuine content is restored" grep -qx genuine "$T/r4/a"
done_testing
