#!/bin/bash
# ado-restore --cat into a reader that stops early (| head) ends quietly like a
# SIGPIPE'd filter (141); a real failure still speaks.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p "$T/src" && head -c 3000000 /dev/urandom > "$T/src/blob"
cat > "$T/cfg.yml" <<EOF
state_dir: $T/state
backup_jobs:
  j: { targets: [ { files: "$T/src/" } ], destinations: [ { local: "$T/dest/" } ], compression: none }
EOF
run 0 ado-backup -c "$T/cfg.yml" j
ref=$out
# what follows writes into $ref: never without a backup folder to write in
case "$ref" in "$T"/*) [ -d "$ref" ] ;; *) false ;; esac || { echo "Bail out! no backup folder (got '$ref')"; exit 1; }
art=$(basename "$(ls "$ref"/*.tar)")

ado-restore -c "$T/cfg.yml" --cat "$ref" "$art" 2>"$T/cat.err" | head -c 100 >/dev/null
rc=${PIPESTATUS[0]}
check "--cat | head -c 100: exit 141" test "$rc" = 141
check "--cat | head -c 100: nothing on stderr" test ! -s "$T/cat.err"

ado-restore -c "$T/cfg.yml" --cat "$ref" "$art" 2>"$T/cat.err" | cat >/dev/null
rc=${PIPESTATUS[0]}
check "--cat | cat: exit 0" test "$rc" = 0

# the same pipe with a damaged artifact: the failure is reported, not hidden
printf 'X' | dd of="$ref/$art" bs=1 seek=1000 conv=notrunc 2>/dev/null
ado-restore -c "$T/cfg.yml" --cat "$ref" "$art" 2>"$T/cat.err" | cat >/dev/null
rc=${PIPESTATUS[0]}
check "--cat of a damaged artifact: exit 1" test "$rc" = 1
check "--cat of a damaged artifact: says so" grep -q "stored bytes differ from the manifest" "$T/cat.err"
done_testing
