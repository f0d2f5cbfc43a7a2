#!/bin/bash
# One pass to several remotes at once: local + two S3 buckets + Azure, at the default part
# sizes (S3 16 MiB, Azure 8 MiB), where the uploaders share the tee's chunks instead of
# holding parts of their own (io.h: shared chunks). Every copy restores byte-exact; one S3
# upload cut mid-part with no retry left fails that destination alone (exit 3, named), the
# shared chunks it held are let go, and the other copies complete and restore byte-exact.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/s3-server.sh"
. "$TOP/tests/lib/azurite.sh"
s3_start bkt bk2
azurite_test_setup azc

S=$T/src
mkdir -p "$S/etc"
head -c 41000000 /dev/urandom >"$S/big"	# three S3 parts, five Azure blocks
for i in 1 2 3; do echo "setting $i" >"$S/etc/conf$i"; done
cat >"$T/cfg.yml" <<EOF2
state_dir: $T/state
backup_jobs:
  j:
    targets: [ { files: "$S/" } ]
    destinations: [ { local: "$T/local/" }, { s3: "s3://bkt/a/" }, { s3: "s3://bk2/b/" }, { azure: "azblob://azc/c/" } ]
    compression: none
EOF2
restored_from() { # restored_from DEST: a restore from DEST alone is the source, byte for byte
	rm -rf "$T/out"
	run 0 ado-restore -c "$T/cfg.yml" --job j --from "$1" --to-dir "$T/out"
	check "the copy on $1 restores byte-exact" diff -r "$S" "$T/out"
}

run 0 ado-backup -c "$T/cfg.yml" j
check "four copies stored" test "$(printf '%s\n' "$out" | grep -c /j/)" = 4
for d in "$T/local/" s3://bkt/a/ s3://bk2/b/ azblob://azc/c/; do
	restored_from "$d"
done

# --- one S3 upload cut mid-part, no retry: that destination fails alone ---
s3_fault "cut=2"
ADO_STORE_ATTEMPTS=1 run 3 ado-backup -c "$T/cfg.yml" j
s3_fault "cut=0"
expect_err "failed for job 'j'"
check "one destination failed, named once" test "$(printf '%s\n' "$err" | grep -c "destination 's3://bk.*' failed for job 'j'")" = 1
check "three copies stored" test "$(printf '%s\n' "$out" | grep -c /j/)" = 3
failed=$(printf '%s\n' "$err" | grep -o "destination 's3://bk[^']*'" | head -1 | cut -d"'" -f2)
new=$(printf '%s\n' "$out" | grep -m1 -o '/j/[0-9TZ]*$'); new=${new#/j/}
run 0 ado-restore -c "$T/cfg.yml" --list --job j
expect_no_out "${failed}j/$new"
listing=$out
for d in "$T/local/" s3://bkt/a/ s3://bk2/b/ azblob://azc/c/; do
	[ "$d" = "$failed" ] && continue
	check "the copy on $d is listed complete" sh -c 'printf "%s\n" "$1" | grep -q "^$2j/$3	.*	complete	"' - "$listing" "$d" "$new"
	restored_from "$d"
done

done_testing
