#!/bin/bash
# A passphrase instead of a key file (scrypt); xattrs and ACLs travel with the files.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p "$T/src/d" && echo config > "$T/src/app.yml" && echo inner > "$T/src/d/f"
cat > "$T/cfg.yml" <<EOF
state_dir: $T/state
backup_jobs:
  p: { targets: [ { files: "$T/src/" } ], destinations: [ { local: "$T/dest/" } ], encryption: "AES-256" }
EOF
PASS='correct horse battery staple 42'

# no key and no passphrase: a configuration error, nothing stored
run 2 ado-backup -c "$T/cfg.yml" p
expect_err "ADO_PASSPHRASE"
check "nothing stored without a key" test ! -e "$T/dest/p"

export ADO_PASSPHRASE="$PASS"
run 0 ado-backup -c "$T/cfg.yml" p
ref=$out
check "manifest records scrypt and its salt" grep -q '"kdf": "scrypt"' "$ref/manifest.json"
check_not "the passphrase is in no stored file" grep -rqF "$PASS" "$T/dest"
run 0 ado-verify -c "$T/cfg.yml" "$ref"
expect_out "ok $ref"
run 0 ado-restore -c "$T/cfg.yml" --job p --to-dir "$T/out"
check "restored tree equals the source" diff -r "$T/src" "$T/out"

# the wrong passphrase: verify fails naming the key, restore refuses; neither prints the passphrase
export ADO_PASSPHRASE='not the passphrase'
run 1 ado-verify -c "$T/cfg.yml" "$ref"
expect_out "FAIL $ref"
expect_out "wrong key"
expect_no_out "not the passphrase"
expect_no_err "not the passphrase"
run 1 ado-restore -c "$T/cfg.yml" --job p --to-dir "$T/out2"
expect_err "wrong key"
check "nothing restored with the wrong passphrase" test ! -e "$T/out2"
export ADO_PASSPHRASE="$PASS"

# xattrs and ACLs (where this filesystem has them)
if /usr/bin/python3 -c "import os,sys; os.setxattr(sys.argv[1], b'user.ado', b'tier1')" "$T/src/app.yml" 2>/dev/null &&
   setfacl -m u:nobody:r "$T/src/d/f" 2>/dev/null; then
	run 0 ado-backup -c "$T/cfg.yml" p
	run 0 ado-restore -c "$T/cfg.yml" --job p --to-dir "$T/out3"
	check "user xattr restored" test "$(/usr/bin/python3 -c "import os,sys; print(os.getxattr(sys.argv[1], b'user.ado').decode())" "$T/out3/app.yml")" = tier1
	check "ACL restored" sh -c "getfacl -p '$T/out3/d/f' 2>/dev/null | grep -q '^user:nobody:r--'"
	run 0 ado-verify -c "$T/cfg.yml" --level restore "$(ls -d "$T/dest/p/"* | tail -1)"
else
	skip "xattrs or ACLs not supported on $T"
fi
done_testing
