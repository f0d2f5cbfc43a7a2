#!/bin/bash
# A file the backup cannot read is not stored as zeros: run as nobody, a mode
# 000 file is left out of the tar, listed in the index as not stored, named
# even with -q, and the target is partial (exit 3); verify and restore say it.
# A file that shrinks while it is read is marked in the index as changed, and
# verify and restore say that too. A readable tree backs up clean (exit 0).
. "$(dirname "$0")/../lib/test-lib.sh"

id nobody >/dev/null 2>&1 && command -v runuser >/dev/null || skip_all "needs root, runuser and the user nobody"
[ "$(id -u)" = 0 ] || skip_all "needs root (runuser)"
chmod 755 "$T"
S=$T/src
mkdir -p "$S"
echo visible > "$S/ok"; chmod 644 "$S/ok"
printf 'secret!' > "$S/locked"
chmod 000 "$S/locked"
chmod 755 "$S"
mkdir -p "$T/dest" "$T/state" "$T/vtmp" "$T/r"
chown nobody "$T/dest" "$T/state" "$T/vtmp" "$T/r"
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], compression: none }
EOF
chmod 644 "$CFG"
N() { runuser -u nobody -- env PATH="$PATH" "$@"; }

# --- failing case: the unreadable file ---
run 3 N ado-backup -q -c "$CFG" j
REF=$out
expect_err "ado-backup: job 'j': cannot read 'locked' in '$S/': Permission denied: it is not in the backup"
expect_err "ado-backup: job 'j': target 'files${S//\//-}' is partial: 1 file could not be read (named above)"
TAR=$REF/files${S//\//-}.tar
check "the tar holds no entry for the unreadable file" sh -c "! tar -tf '$TAR' | grep -q locked"
check "the tar holds the readable one" sh -c "tar -tf '$TAR' | grep -qx ok"
check "the index lists it as not stored" grep -q "^u	0000	0	-	locked\$" "$REF/files${S//\//-}.index.tsv"
check "no hash of zeros anywhere in the index" sh -c "! grep -q '$(printf '\0\0\0\0\0\0\0' | sha256sum | cut -d' ' -f1)' '$REF/files${S//\//-}.index.tsv'"
run 0 N ado-verify -c "$CFG" --tmp-dir "$T/vtmp" "$REF"
expect_out "ok $REF"
expect_err "'locked': not in the backup: it could not be read when the backup was made"
run 0 N ado-restore -c "$CFG" "$REF" --to-dir "$T/r/one"
expect_err "'locked': not in the backup: it could not be read when the backup was made"
check "restore brings back no zeros for it" test ! -e "$T/r/one/locked"
check "restore brings back the readable file" grep -qx visible "$T/r/one/ok"

# --- a file that shrinks while it is read ---
chmod 644 "$S/locked"
head -c 100000 /dev/urandom > "$S/shrinks"
chown nobody "$S/shrinks"
run 0 N env ADO_TEST_SHRINK=shrinks ado-backup -c "$CFG" j
REF2=$out
expect_err "file changed as we read it: 'shrinks'"
check "the index marks it as changed" grep -q "^c	0600	100000	[0-9a-f]*	shrinks\$" "$REF2/files${S//\//-}.index.tsv"
run 0 ado-verify -c "$CFG" --tmp-dir "$T/vtmp" "$REF2"
expect_err "'shrinks': changed while it was backed up: this copy of it may be torn"
run 0 ado-restore -c "$CFG" "$REF2" --to-dir "$T/r/two"
expect_err "'shrinks': changed while it was backed up: this copy of it may be torn"

# --- passing case: everything readable, nothing changing ---
run 0 N ado-backup -q -c "$CFG" j
REF3=$out
check "quiet and clean: nothing on stderr" test -z "$err"
check "the index has only f lines for files" sh -c "! grep -q '^[uc]	' '$REF3/files${S//\//-}.index.tsv'"
run 0 N ado-verify -c "$CFG" --tmp-dir "$T/vtmp" "$REF3"
check "verify says nothing on stderr" test -z "$err"
done_testing
