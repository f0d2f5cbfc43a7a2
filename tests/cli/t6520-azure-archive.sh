#!/bin/bash
# Azure Blob with access_tier: Archive: the artifacts go to the Archive tier,
# the manifest, sums and index stay online, so listing needs no rehydration;
# reading an archived artifact (ado-verify, which hashes the stored bytes at
# every level, and ado-restore) is refused at once with one line naming the
# blob and 409 BlobArchived, and a hint, with no retries. Set Blob Tier to Hot
# (what the driver's thaw sends) makes them readable: azurite 3.37 changes the
# tier at once (Azure takes hours), and no x-ms-archive-status is shown.
# The exit statuses are the job layer's today (1); the ado-restore --thaw/--wait
# flow with its exit 6 is shared with S3 Glacier and tested there.
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
check "listed complete" grep -q "^$ref	.*	complete\$" <<<"$out"

# --- what does: refused at once, one line and a hint ---
START=$(date +%s)
for level in checksum read restore; do
	run 1 ado-verify -c "$CFG" --level $level "$ref"
	expect_out "FAIL $ref: azblob://arch/: GET $art: 409 BlobArchived: This operation is not permitted on an archived blob."
	expect_err "hint: the blob is in the Archive tier: ask for it with ado-restore --thaw REFERENCE"
	expect_no_out "attempts"
done
check "no retry loop" test $(( $(date +%s) - START )) -lt 6
run 1 ado-restore -c "$CFG" "$ref" --to-dir "$T/out"
expect_err "ado-restore: azblob://arch/: GET $art: 409 BlobArchived: This operation is not permitted on an archived blob."
expect_err "hint: the blob is in the Archive tier"
check_not "nothing restored" test -e "$T/out/f"

# --- the thaw request the driver sends: Set Blob Tier to Hot, Standard priority ---
run 0 az_req PUT "/$(printf arch/%s "$art")?comp=tier" "x-ms-access-tier:Hot" "x-ms-rehydrate-priority:Standard"
check "Set Blob Tier accepted (202 or 200)" grep -qE '^20[02]$' <<<"$(head -1 <<<"$out")"
check "azurite moves the blob to Hot at once" test "$(tier "$art")" = Hot
check_not "and shows no rehydration status" grep -qi '^x-ms-archive-status' <(az_req HEAD "/arch/$art")
run 0 ado-verify -c "$CFG" --level restore "$ref"
expect_out "ok $ref"
run 0 ado-restore -c "$CFG" "$ref" --to-dir "$T/out"
check "restored after the thaw" cmp "$S/f" "$T/out/f"

done_testing
