#!/bin/bash
# Azure Blob: listings of more than one page (List Blobs markers, a page size
# of 2 through ADO_AZURE_LIST_MAX), retention deleting exactly the expired
# backups, and an upload killed mid-way (kill -9 of ado-backup): its blocks
# stay uncommitted, so no blob and no backup, complete or not, is listed.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/azurite.sh"
azurite_test_setup bkup

S=$T/src
mkdir -p "$S"
echo data >"$S/a"
CFG=$T/cfg.yml
cat >"$CFG" <<EOF
state_dir: $T/state
storage:
  azure:
    block_size: 1MiB
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { azure: "azblob://bkup/r/" } ], retention: "30 days", compression: none }
EOF
ago() { date -u -d "$1 ago" +%Y%m%dT%H%M%SZ; }
# blobs JOB/ID: the names of the blobs of one backup, one a line
blobs() { az_req GET "/bkup?restype=container&comp=list&prefix=r/$1/" | grep -o '<Name>[^<]*</Name>' | sed 's/<[^>]*>//g'; }

run 0 ado-backup -c "$CFG" j
real=$out
rid=${real##*/}
d40=$(ago '40 days'); d35=$(ago '35 days'); d20=$(ago '20 days'); d1=$(ago '1 day'); l3d=$(ago '3 days')
# copies of the real backup under older ids (unencrypted: the manifest's id is all there is to change)
for id in "$d40" "$d35" "$d20" "$d1"; do az_req clone bkup "r/j/$rid" "r/j/$id" "$rid" "$id"; done
az_req clone bkup "r/j/$rid" "r/j/$l3d" "$rid" "$l3d" manifest.json,SHA256SUMS

# --- listing: six backups over pages of two ---
run 0 ado-restore -c "$CFG" --list --job j
all=$out
check "six backups listed (one page)" test "$(grep -c '^azblob://' <<<"$all")" = 6
run 0 env ADO_AZURE_LIST_MAX=2 ADO_TRACE=1 ado-restore -c "$CFG" --list --job j
check "the same listing over pages of 2" test "$out" = "$all"
check "more than one List Blobs page was fetched" test "$(grep -c 'trace: ListBlobs azblob://bkup/r/ j/?.*&marker=' <<<"$err")" -ge 2
check "the 3-day-old leftover is listed incomplete" grep -q "^azblob://bkup/r/j/$l3d	.*	incomplete	" <<<"$out"
run 0 env ADO_AZURE_LIST_MAX=1 ado-verify -c "$CFG" --level checksum "azblob://bkup/r/j/$d40"
expect_out "ok azblob://bkup/r/j/$d40"

# --- retention: a failed run removes nothing ---
mv "$S" "$T/src.away"
run 1 ado-backup -c "$CFG" j
check "a failed run keeps the 40-day-old backup" test -n "$(blobs "j/$d40")"
mv "$T/src.away" "$S"

# --- a successful run removes exactly the expired ones (pages of 2 here too) ---
run 0 env ADO_AZURE_LIST_MAX=2 ado-backup -c "$CFG" -v j
new=$out
expect_err "retention: removed backup 'azblob://bkup/r/j/$d40'"
expect_err "retention: removed backup 'azblob://bkup/r/j/$d35'"
expect_err "retention: removed incomplete backup 'azblob://bkup/r/j/$l3d'"
check_not "40 days old: no blob left" test -n "$(blobs "j/$d40")"
check_not "35 days old: no blob left" test -n "$(blobs "j/$d35")"
check_not "3-day-old leftover: no blob left" test -n "$(blobs "j/$l3d")"
check "20 days old: kept" test "$(blobs "j/$d20" | wc -l)" = 4
check "1 day old: kept" test "$(blobs "j/$d1" | wc -l)" = 4
check "the first real backup: kept" test "$(blobs "j/$rid" | wc -l)" = 4
check "the new backup: kept" test "$(blobs "j/${new##*/}" | wc -l)" = 4
run 0 ado-restore -c "$CFG" --list --job j
check "four complete backups left" test "$(grep -c '	complete	' <<<"$out")" = 4

# --- an upload killed in the middle ---
head -c 40000000 /dev/urandom >"$S/big"
ADO_TRACE=1 ado-backup -c "$CFG" j >"$T/kill.out" 2>"$T/kill.err" &
pid=$!
n=0
until grep -q 'trace: PutBlock azblob' "$T/kill.err" 2>/dev/null || [ $n -ge 300 ]; do sleep 0.05; n=$((n + 1)); done
check "the upload had started" grep -q 'trace: PutBlock azblob' "$T/kill.err"
kill -9 "$pid"
wait "$pid" 2>/dev/null
check_not "it had not committed" grep -q 'trace: PutBlockList' "$T/kill.err"
# the id of the run being killed: the one its block uploads name (it reads older manifests first)
kid=$(grep 'trace: PutBlock azblob' "$T/kill.err" | grep -o 'j/[0-9]\{8\}T[0-9]\{6\}Z' | head -1)
check "its id is known" test -n "$kid"
check_not "no blob of the killed backup is listed" test -n "$(blobs "$kid")"
check "its blocks are there, uncommitted" grep -q "<Name>r/$kid/" \
	<(az_req GET "/bkup?restype=container&comp=list&include=uncommittedblobs&prefix=r/$kid/")
run 0 ado-restore -c "$CFG" --list --job j
expect_no_out "${kid#j/}"
check "still four complete backups" test "$(grep -c '	complete	' <<<"$out")" = 4
run 1 ado-verify -c "$CFG" "azblob://bkup/r/$kid"
expect_out "no backup"
# the job's next run discards them (the service would keep them a week): an empty block list
# drops every uncommitted block, then the empty blob it made goes
# (the next run may take the killed one's id, if in the same second: so what is checked is
# the names that have uncommitted blocks only, those the plain listing does not show)
names() { az_req GET "/bkup?restype=container&comp=list$1&prefix=r/$kid/" | grep -o "<Name>[^<]*</Name>" | sort; }
uncommitted_only() { comm -23 <(names "&include=uncommittedblobs") <(names ""); }
check "before: the killed upload's blob has uncommitted blocks only" test "$(uncommitted_only | wc -l)" = 1
rm -f "$S/big"
run 0 ado-backup -c "$CFG" -v j
expect_err "aborted 1 unfinished upload an earlier run left on 'azblob://bkup/r/'"
check "after: no blob with uncommitted blocks only" test -z "$(uncommitted_only)"
run 0 ado-restore -c "$CFG" --list --job j
check "five complete backups: the four and the new one" \
	test "$(grep -c '	complete	' <<<"$out")" = 5
run 0 ado-backup -c "$CFG" -v j
expect_no_err "unfinished upload"

done_testing
