#!/bin/bash
# ado-restore: --list (complete / incomplete); latest into a new folder with
# diff -r empty (symlinks, modes, hard links); a non-empty folder refused
# without --force and moved aside with it; --backup ID, --before TIME, a
# reference; --dry-run; --cat into tar; crafted tars with '../', absolute paths,
# a symlink escape and a hard link out are refused; a corrupted backup fails and
# leaves the existing folder as it was.
. "$(dirname "$0")/../lib/test-lib.sh"

snap() {
	/usr/bin/python3 - "$1" <<'EOF'
import hashlib, os, stat, sys
root = sys.argv[1]
for d, dirs, files in os.walk(root):
    dirs.sort()
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        st = os.lstat(p)
        link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else ""
        h = hashlib.sha256(open(p, "rb").read()).hexdigest()[:16] if stat.S_ISREG(st.st_mode) else ""
        print(os.path.relpath(p, root), oct(st.st_mode), st.st_nlink, link, h,
              "" if stat.S_ISDIR(st.st_mode) else int(st.st_mtime))
EOF
}

S=$T/src
mkdir -p "$S/sub/deep" "$S/private"
echo "version one" > "$S/a.txt"
echo deep > "$S/sub/deep/f"
printf '#!/bin/sh\n' > "$S/run.sh"; chmod 755 "$S/run.sh"
chmod 640 "$S/a.txt"
chmod 700 "$S/private"; echo secret > "$S/private/s"; chmod 400 "$S/private/s"
ln -s a.txt "$S/link"
ln -s ../a.txt "$S/sub/up"
ln -s /nonexistent "$S/dangling"
ln "$S/sub/deep/f" "$S/hard"
: > "$S/empty"
touch -d '2021-03-04 05:06:07' "$S/a.txt"
make_key "$T/key"
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
encryption: { key_file: $T/key }
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ], retention: "30 days", encryption: "AES-256", compression: zstd }
  two: { targets: [ { files: "$S/sub" }, { files: "$S/private/" } ], destinations: [ { local: "$T/dest/" } ], retention: "30 days" }
  plain: { targets: [ { files: "$T/psrc/" } ], destinations: [ { local: "$T/pdest/" } ], retention: "30 days", compression: none }
EOF
J=$T/dest/j

run 0 ado-backup -c "$CFG" j
B1=$out; ID1=$(basename "$B1")
snap "$S" > "$T/v1.snap"
cp -a "$S" "$T/v1"
sleep 1
echo "version two" > "$S/a.txt"
rm "$S/empty"
echo new > "$S/new.txt"
run 0 ado-backup -c "$CFG" j
B2=$out; ID2=$(basename "$B2")
snap "$S" > "$T/v2.snap"
# an incomplete leftover, newer than both
LEFT=$(date -u -d '1 minute' +%Y%m%dT%H%M%SZ)
cp -a "$B2" "$J/$LEFT"; rm "$J/$LEFT/manifest.json"

# --- --list ---
run 0 ado-restore -c "$CFG" --list
check "--list: a header line" test "$(head -1 <<<"$out")" = "# reference	id	time	stored_bytes	status	missing	targets	duration_s	verified"
check "--list: backup 1 complete" grep -qE "^$B1	$ID1	[0-9-]{10}T[0-9:]{8}Z	[1-9][0-9]*	complete	" <<<"$out"
check "--list: backup 2 complete" grep -qE "^$B2	$ID2	.*	complete	" <<<"$out"
check "--list: the leftover incomplete" grep -qE "^$J/$LEFT	$LEFT	.*	0	incomplete	" <<<"$out"
run 0 ado-restore -c "$CFG" --list --job j --json
check "--list --json: three objects with status, newest first" /usr/bin/python3 -c '
import json, sys
ls = [json.loads(l) for l in sys.argv[1].splitlines()]
assert [l["status"] for l in ls] == ["incomplete", "complete", "complete"], ls
assert ls[2]["job"] == "j" and ls[2]["id"] == sys.argv[2] and ls[2]["stored_bytes"] > 0, ls[2]' "$out" "$ID1"
run 0 ado-restore -c "$CFG" --list --job plain
check "--list of a job with no backups: only the header" test "$(wc -l <<<"$out")" = 1
run 2 ado-restore -c "$CFG" --list "$B1"
expect_err "--list takes no reference and no restore options"

# --- latest into a new folder ---
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/r1"
expect_out "restoring '$S/' from backup j/$ID2"
expect_out "restored into '$T/r1'"
check "latest (not the incomplete leftover): diff -r is empty" diff -r --no-dereference "$S" "$T/r1"
snap "$T/r1" > "$T/r1.snap"
check "symlinks, modes, hard links, mtimes come back" diff "$T/v2.snap" "$T/r1.snap"
check "no temporary folder is left beside it" test -z "$(ls -A "$T" | grep '^\.ado-restore')"
# into a folder that exists and is empty: fine too
mkdir "$T/r2"
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/r2/"
check "an empty folder is restored into" diff -r --no-dereference "$S" "$T/r2"
# into a folder whose parents do not exist yet
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/deep/er/r3"
check "missing parents are created" diff -r --no-dereference "$S" "$T/deep/er/r3"

# --- a non-empty folder: refused without --force, moved aside with it, to
# DIR.before-<time of the restore> (not the backup's id: a repeat never clashes) ---
mkdir -p "$T/busy/keep"; echo precious > "$T/busy/keep/file"
snap "$T/busy" > "$T/busy.snap"
run 1 ado-restore -c "$CFG" --job j --to-dir "$T/busy"
expect_err "ado-restore: folder '$T/busy' is not empty"
expect_err "hint: restore into a new folder, or add --force: the current contents are moved to '$T/busy.before-2"
snap "$T/busy" | diff "$T/busy.snap" - > /dev/null; check "refused: same snapshot" test $? = 0
check_not "refused: nothing moved aside" sh -c "ls -d '$T'/busy.before-* 2>/dev/null | grep ."
# --dry-run with --force changes nothing either
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/busy" --force --dry-run
expect_out "would restore '$S/'"
expect_out "from backup j/$ID2 (taken "
expect_out "would move the current '$T/busy' aside to '$T/busy.before-2"
snap "$T/busy" | diff "$T/busy.snap" - > /dev/null; check "dry run: the folder is untouched" test $? = 0
check_not "dry run: nothing moved aside" sh -c "ls -d '$T'/busy.before-* 2>/dev/null | grep ."
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/busy" --force
expect_out "moved the previous '$T/busy' aside to '$T/busy.before-2"
aside1=$(printf '%s\n' "$out" | sed -n "s/^moved the previous .* aside to '\(.*\)'$/\1/p")
check "--force: restored" diff -r --no-dereference "$S" "$T/busy"
check "--force: the old contents are in DIR.before-TIME" test "$(cat "$aside1/keep/file")" = precious
# again, at once: a new aside name, the earlier copy untouched
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/busy" --force --json
aside2=$(printf '%s\n' "$out" | sed -n 's/.*"moved_aside":"\([^"]*\)".*/\1/p')
expect_out "\"job\":\"j\",\"id\":\"$ID2\""
check "a repeat restore moves aside to a new name" test -n "$aside2" -a "$aside2" != "$aside1" -a -d "$aside2"
check "the earlier copy is as it was" test "$(cat "$aside1/keep/file")" = precious
# a file where the folder should go
echo x > "$T/afile"
run 1 ado-restore -c "$CFG" --job j --to-dir "$T/afile" --force
expect_err "'$T/afile' exists and is not a folder"

# --- --dry-run into a new folder ---
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/dry" --dry-run
expect_out "would move the restored folder into place as '$T/dry'"
check_not "dry run: no folder made" test -e "$T/dry"

# --- which backup: --backup ID, --before TIME, a reference ---
run 0 ado-restore -c "$CFG" --job j --backup "$ID1" --to-dir "$T/b1"
expect_out "from backup j/$ID1"
check "--backup ID1 brings version one back" diff -r --no-dereference "$T/v1" "$T/b1"
run 0 ado-restore -c "$CFG" --job j --backup latest --to-dir "$T/b2"
check "--backup latest is version two" test "$(cat "$T/b2/a.txt")" = "version two"
t1=$(date -u -d "$(sed -E 's/(....)(..)(..)T(..)(..)(..)Z/\1-\2-\3 \4:\5:\6/' <<<"$ID1") UTC" '+%Y-%m-%d %H:%M:%S')
run 0 ado-restore -c "$CFG" --job j --before "$t1" --to-dir "$T/b3"
expect_out "from backup j/$ID1"
check "--before the second backup picks the first" test "$(cat "$T/b3/a.txt")" = "version one"
# RFC 3339 with an offset: the same instant written one hour east of UTC
t1z=$(TZ=CET-1 date -d "$t1 UTC" '+%Y-%m-%dT%H:%M:%S+01:00')
run 0 ado-restore -c "$CFG" --job j --dry-run --before "$t1z" --to-dir "$T/b3z"
expect_out "from backup j/$ID1"
# N days ago: nothing that old here
run 1 ado-restore -c "$CFG" --job j --before "1 days ago" --to-dir "$T/b3a"
expect_err "no complete backup of job 'j' matches"
run 0 ado-restore -c "$CFG" --job j --before "$ID2" --to-dir "$T/b4"
expect_out "from backup j/$ID2"
run 1 ado-restore -c "$CFG" --job j --before "2000-01-01" --to-dir "$T/b5"
expect_err "no complete backup of job 'j' matches"
check_not "nothing restored" test -e "$T/b5"
run 2 ado-restore -c "$CFG" --job j --before "yesterday-ish" --to-dir "$T/b5"
expect_err "cannot read time 'yesterday-ish'"
run 1 ado-restore -c "$CFG" --job j --backup 20000101T000000Z --to-dir "$T/b5"
expect_err "no complete backup '20000101T000000Z' of job 'j'"
expect_err "hint: ado-restore --list --job j"
run 2 ado-restore -c "$CFG" --job j --backup yesterday --to-dir "$T/b5"
expect_err "bad backup id 'yesterday'"
run 0 ado-restore -c "$CFG" "$B1" --to-dir "$T/b6"
check "a reference restores that backup" test "$(cat "$T/b6/a.txt")" = "version one"
run 1 ado-restore -c "$CFG" "$J/$LEFT" --to-dir "$T/b7"
expect_err "is incomplete: it has no manifest"
run 2 ado-restore -c "$CFG" --job j
expect_err "where to? give --to-dir DIR"

# --- a job with two targets: --target says which ---
run 0 ado-backup -c "$CFG" two
run 2 ado-restore -c "$CFG" --job two --to-dir "$T/t0"
expect_err "has several targets: say which"
expect_err "hint: --target NAME; its targets: files${S//\//-}-sub, files${S//\//-}-private"
run 0 ado-restore -c "$CFG" --job two --target "$S/private" --to-dir "$T/t1"
check "--target by path" diff -r "$S/private" "$T/t1"
run 0 ado-restore -c "$CFG" --job two --target "files${S//\//-}-sub" --to-dir "$T/t2"
check "--target by name" diff -r --no-dereference "$S/sub" "$T/t2"
run 1 ado-restore -c "$CFG" --job two --target /nope --to-dir "$T/t3"
expect_err "no complete backup of job 'two' with target '/nope' matches"

# --- --cat: one artifact's plaintext ---
TARN=files${S//\//-}.tar.zst.enc
out=$(ado-restore -c "$CFG" --cat "$B2" "$TARN" 2>"$T/.e" | tar -tf - 2>/dev/null | grep -vx "\./" | sort); rc=$?
check "--cat | tar -t: exit 0" test "$rc" = 0
check "--cat | tar -t lists the files (besides ./, the folder itself)" test "$out" = "$(cd "$S" && find . -mindepth 1 | sed 's#^\./##; s#$#/#' | while read -r p; do [ -d "$S/$p" ] && echo "$p" || echo "${p%/}"; done | sort)"
ado-restore -c "$CFG" --cat "$B2" "$TARN" > "$T/cat.tar" 2>"$T/.e"
mkdir "$T/untar" && tar -xf "$T/cat.tar" -C "$T/untar" 2>/dev/null
check "--cat | tar -x gives the tree back" diff -r --no-dereference "$S" "$T/untar"
ado-restore -c "$CFG" --cat "$B2" "files${S//\//-}.index.tsv.zst.enc" > "$T/idx.tsv" 2>"$T/.e"
check "--cat of the index: text naming the files" grep -q "new.txt" "$T/idx.tsv"
run 1 ado-restore -c "$CFG" --cat "$B2" nosuch.tar
expect_err "backup 'j/$ID2' has no artifact 'nosuch.tar'"
run 2 ado-restore -c "$CFG" --cat "$B2"
expect_err "--cat needs a reference and an artifact name"

# --- a key problem is a config error; nothing restored ---
grep -v key_file "$CFG" > "$T/nokey.yml"
run 2 ado-restore -c "$T/nokey.yml" --job j --to-dir "$T/k1"
expect_err "backup 'j/$ID2' is encrypted and no key is configured"
check_not "no key: nothing restored" test -e "$T/k1"

# --- a corrupted backup: the restore fails, the existing folder stays ---
BAD=$T/bad/j/$ID2
mkdir -p "$T/bad/j"; cp -a "$B2" "$BAD"
/usr/bin/python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' "$BAD/$TARN"
mkdir -p "$T/live"; echo "live data" > "$T/live/x"
snap "$T/live" > "$T/live.snap"
run 1 ado-restore -c "$CFG" "$BAD" --to-dir "$T/live" --force
expect_err "ado-restore: "
expect_err "authentication failed"
snap "$T/live" | diff "$T/live.snap" - > /dev/null; check "corrupted: the existing folder is intact" test $? = 0
check_not "corrupted: nothing moved aside" test -e "$T/live.before-$ID2"
check "corrupted: no temporary folder left" test -z "$(ls -A "$T" | grep '^\.ado-restore')"
run 1 ado-restore -c "$CFG" "$BAD" --to-dir "$T/fresh"
check_not "corrupted, new folder: not created" test -e "$T/fresh"

# --- crafted tars: '../', an absolute path, a symlink escape, a hard link out ---
mkdir -p "$T/psrc"; echo ok > "$T/psrc/f"
run 0 ado-backup -c "$CFG" plain
PREF=$out; PID=$(basename "$PREF")
PTAR=$PREF/files${T//\//-}-psrc.tar
check "the plain job stores an uncompressed tar" test -f "$PTAR"
mkdir -p "$T/outside"
# craft CASE: replace the tar with a crafted one, fix the manifest and SHA256SUMS
craft() {
	/usr/bin/python3 - "$PREF" "$(basename "$PTAR")" "$1" "$T" <<'EOF'
import hashlib, io, json, os, sys, tarfile
ref, name, case, T = sys.argv[1:5]
buf = io.BytesIO()
tf = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
def add(n, data=b"evil\n", kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(n); ti.type = kind; ti.linkname = link; ti.mode = 0o644
    if kind == tarfile.REGTYPE:
        ti.size = len(data); tf.addfile(ti, io.BytesIO(data))
    else:
        tf.addfile(ti)
add("f", b"ok\n")
if case == "dotdot":
    add("../evil-dotdot")
elif case == "deepdotdot":
    add("sub/../../evil-deep")
elif case == "absolute":
    add(T + "/evil-absolute")
elif case == "symlink":
    add("link", kind=tarfile.SYMTYPE, link=T + "/outside")
    add("link/evil-symlink")
elif case == "symlink-rel":
    add("up", kind=tarfile.SYMTYPE, link="../outside")
    add("up/evil-symlink-rel")
elif case == "hardlink":
    add("hl", kind=tarfile.LNKTYPE, link="../outside/target")
tf.close()
data = buf.getvalue()
open(os.path.join(ref, name), "wb").write(data)
mp = os.path.join(ref, "manifest.json")
m = json.load(open(mp))
h = hashlib.sha256(data).hexdigest()
for a in m["artifacts"]:
    if a["name"] == name:
        old = a["stored_sha256"]
        a["stored_size"] = a["plain_size"] = len(data)
        a["stored_sha256"] = a["plain_sha256"] = h
json.dump(m, open(mp, "w"), indent=2)
sp = os.path.join(ref, "SHA256SUMS")
sums = open(sp).read().replace(old, h)
open(sp, "w").write(sums)
EOF
}
echo "target" > "$T/outside/target"
declare -A WHO=([dotdot]="../evil-dotdot" [deepdotdot]="sub/../../evil-deep" [absolute]="$T/evil-absolute"
	[symlink]="link/evil-symlink" [symlink-rel]="up/evil-symlink-rel" [hardlink]="hl")
for case in dotdot deepdotdot absolute symlink symlink-rel hardlink; do
	craft "$case"
	check "$case: the crafted tar holds '${WHO[$case]}'" bash -c 'tar -tf "$1" 2>/dev/null | grep -qxF -- "$2"' _ "$PTAR" "${WHO[$case]}"
	check "$case: the crafted backup passes the checksum level (hashes fixed)" \
		ado-verify -c "$CFG" --level checksum "$PREF"
	run 1 ado-restore -c "$CFG" --job plain --to-dir "$T/x-$case"
	expect_err "refusing to extract '${WHO[$case]}'"
	expect_err "leaves the target folder"
	check_not "$case: the target folder is not created" test -e "$T/x-$case"
	check "$case: nothing new outside the target" \
		test -z "$(find "$T" -name 'evil-*' -print)$(find "$T/outside" -mindepth 1 ! -name target -print)"
	check "$case: the outside file is untouched" test "$(cat "$T/outside/target")" = target
	check "$case: no temporary folder left" test -z "$(ls -A "$T" | grep '^\.ado-restore')"
	# existing data is not touched either (--force)
	mkdir -p "$T/keep"; echo mine > "$T/keep/m"
	run 1 ado-restore -c "$CFG" --job plain --to-dir "$T/keep" --force
	expect_err "refusing to extract"
	check "$case: --force: the existing folder stays" test "$(cat "$T/keep/m")" = mine
	check_not "$case: --force: nothing moved aside" test -e "$T/keep.before-$PID"
	run 1 ado-verify -c "$CFG" "$PREF"
	expect_out "refusing to extract"
done
run 1 ado-restore -c "$CFG" --job plain --to-dir "$T/x-last"
expect_err "refusing to extract 'hl': its hard link target '../outside/target' leaves the target folder"
craft dotdot
run 1 ado-restore -c "$CFG" --job plain --to-dir "$T/x-msg"
expect_err "refusing to extract '../evil-dotdot': it leaves the target folder"
expect_err "hint: the archive holds paths outside its folder"

done_testing
