#!/bin/bash
# A backup whose manifest is empty or unreadable is listed 'damaged' with the
# reason, and 'latest' skips it with a warning, falling back to the older good
# backup on the same destination. With the good newest backup, it is chosen.
. "$(dirname "$0")/../lib/test-lib.sh"

S=$T/src
mkdir -p "$S"
echo old > "$S/a"
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { local: "$T/dest/" } ] }
EOF
run 0 ado-backup -c "$CFG" j
OLD=$out
echo new > "$S/a"
run 0 ado-backup -c "$CFG" j
NEW=$out
# what follows writes into $NEW: never without a backup folder to write in
case "$NEW" in "$T"/*) [ -d "$NEW" ] ;; *) false ;; esac || { echo "Bail out! no backup folder (got '$NEW')"; exit 1; }

# --- passing case: the newest is good and is chosen ---
run 0 ado-restore -c "$CFG" --list --job j
expect_out "$NEW	$(basename "$NEW")"
expect_no_out "damaged"
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/r1"
check "latest is the newest" grep -qx new "$T/r1/a"

# --- the newest manifest emptied ---
: > "$NEW/manifest.json"
run 0 ado-restore -c "$CFG" --list --job j
expect_out "$NEW	$(basename "$NEW")"
check "listed damaged with the reason" sh -c "printf '%s\n' \"\$1\" | grep -q \"^$NEW	.*	damaged: '$NEW/manifest.json': manifest is empty	\"" _ "$out"
check "the older one is listed complete" sh -c "printf '%s\n' \"\$1\" | grep -q \"^$OLD	.*	complete	\"" _ "$out"
run 0 ado-restore -c "$CFG" --list --job j --json
expect_out '"status":"damaged","reason":"'
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/r2"
expect_err "ado-restore: warning: skipping backup '$NEW': it is damaged: '$NEW/manifest.json': manifest is empty"
expect_out "from backup j/$(basename "$OLD")"
check "fell back to the older good backup" grep -qx old "$T/r2/a"

# --- unreadable (not JSON) ---
printf '{"format": 1, "job": ' > "$NEW/manifest.json"
run 0 ado-restore -c "$CFG" --list --job j
expect_out "damaged: '$NEW/manifest.json': manifest is not valid JSON"
run 0 ado-restore -c "$CFG" --job j --to-dir "$T/r3"
expect_err "skipping backup '$NEW': it is damaged"
check "fell back again" grep -qx old "$T/r3/a"

# --- asked for by id, it is not skipped: it fails with the reason ---
run 1 ado-restore -c "$CFG" --job j --backup "$(basename "$NEW")" --to-dir "$T/r4"
expect_err "manifest is not valid JSON"
done_testing
