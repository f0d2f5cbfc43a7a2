#!/bin/bash
# Azure Blob with access_tier: Archive: the artifacts go to the Archive tier,
# the manifest, sums and index stay online, so listing needs no rehydration;
# reading an archived artifact (ado-verify, which hashes the stored bytes at
# levels read and restore, and ado-restore) is refused at once with one line
# naming the backup, the hint with the exact --thaw command, exit 6 (could not
# read now: nothing is damaged) and no retries; --level checksum checks the
# archived artifact's presence and size and needs no rehydration. ado-restore
# --thaw sends Set Blob Tier to Hot: azurite 3.37 changes the tier at once
# (Azure takes hours), and no x-ms-archive-status is shown.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/azurite.sh"
azurite_test_setup arch

S=$T/src
mkdir -p "$S"
head -c 100000 /dev/urandom >"$S/f"
CFG=$T/cfg.yml
cat >"$CFG" <<EOF
state_dir: $T/state
storage:
  azure:
    access_tier: archive
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { azure: "azblob://arch/" } ], compression: gzip }
EOF
# tier BLOB: the blob's x-ms-access-tier
tier() { az_req HEAD "/arch/$1" | sed -n 's/^x-ms-access-tier: //Ip' | tr -d '\r'; }

run 0 ado-backup -c "$CFG" j
ref=$out
id=${ref##*/}
art=$(az_req GET "/arch?restype=container&comp=list&prefix=j/$id/" | grep -o '<Name>[^<]*\.tar\.gz</Name>' | sed 's/<[^>]*>//g')
check "the artifact is in the Archive tier" test "$(tier "$art")" = Archive
check "the manifest stays online" test "$(tier "j/$id/manifest.json")" = Hot
check "the sums stay online" test "$(tier "j/$id/SHA256SUMS")" = Hot

# --- what needs no rehydration ---
run 0 ado-restore -c "$CFG" --list --job j
check "listed complete" grep -q "^$ref	.*	complete	" <<<"$out"
run 0 ado-verify -c "$CFG" --level checksum "$ref"
expect_out "ok $ref"

# --- what does: refused at once, one line and the command to ask for it ---
START=$(date +%s)
for level in read restore; do
	run 6 ado-verify -c "$CFG" --level $level "$ref"
	expect_out "UNCHECKED $ref: backup '$ref' is archived: 1 of its 1 artifacts must be restored from the archive tier before they can be read"
	expect_err "hint: request it (hours for Standard): ado-restore -c $CFG --job j --backup $id --from azblob://arch/ --thaw --days 7 --tier Standard"
	expect_no_out "attempts"
done
check "no retry loop" test $(( $(date +%s) - START )) -lt 6
run 6 ado-restore -c "$CFG" "$ref" --to-dir "$T/out"
expect_err "ado-restore: backup '$ref' is archived: 1 of its 1 artifacts must be restored"
expect_err "--thaw --days 7 --tier Standard"
check_not "nothing restored" test -e "$T/out/f"

# --- the thaw: ado-restore --thaw sends Set Blob Tier to Hot ---
run 0 ado-restore -c "$CFG" --job j --backup "$id" --from azblob://arch/ --thaw --days 7 --tier Standard
check "azurite moves the blob to Hot at once" test "$(tier "$art")" = Hot
check_not "and shows no rehydration status" grep -qi '^x-ms-archive-status' <(az_req HEAD "/arch/$art")
run 0 ado-verify -c "$CFG" --level restore "$ref"
expect_out "ok $ref"
run 0 ado-restore -c "$CFG" --job j --backup "$id" --from azblob://arch/ --wait --to-dir "$T/out"
check "restored after the thaw" cmp "$S/f" "$T/out/f"

done_testing
