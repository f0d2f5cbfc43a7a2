#!/bin/bash
# Azure Blob through azurite (which checks SharedKey and SAS signatures):
# backup / verify at every level / restore with a connection string, with
# AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY, and with a SAS token; a wrong key
# or a bad SAS is one clear line with no retries and no secret in the output;
# ADO_TRACE shows each request without the signature or the SAS.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TOP/tests/lib/azurite.sh"
azurite_start || skip_all "azurite-blob did not start"
az_container bkup || exit 1
unset AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_ACCOUNT AZURE_STORAGE_KEY AZURE_STORAGE_SAS_TOKEN ADO_TRACE

S=$T/src
mkdir -p "$S/sub"
head -c 2500000 /dev/urandom >"$S/big"
echo "hello azure" >"$S/sub/a b.txt"
make_key "$T/key"
export ADO_KEY_FILE=$T/key
CFG=$T/cfg.yml
# block_size 1MiB: the 2.5 MB artifact goes up as three Put Block calls and one Put Block List
cat >"$CFG" <<EOF
state_dir: $T/state
storage:
  azure:
    endpoint: $AZ_ENDPOINT
    block_size: 1MiB
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { azure: "azblob://bkup/pre/" } ], compression: zstd }
EOF
# no storage section: everything from AZURE_STORAGE_CONNECTION_STRING
CFG_CS=$T/cfg-cs.yml
cat >"$CFG_CS" <<EOF
state_dir: $T/state
backup_jobs:
  j: { targets: [ { files: "$S/" } ], destinations: [ { azure: "azblob://bkup/cs/" } ], compression: zstd }
EOF

# roundtrip WAY CFG: backup, list, verify at every level, restore, compare
roundtrip() {
	local way=$1 cfg=$2 ref
	run 0 ado-backup -c "$cfg" j
	ref=$out
	check "$way: a reference on azblob://" grep -q '^azblob://bkup/[a-z]*/j/[0-9]\{8\}T[0-9]\{6\}Z$' <<<"$ref"
	run 0 ado-restore -c "$cfg" --list --job j
	check "$way: listed complete" grep -q "^$ref	.*	complete	" <<<"$out"
	for level in checksum read restore; do
		run 0 ado-verify -c "$cfg" --level $level "$ref"
		expect_out "ok $ref"
	done
	run 0 ado-restore -c "$cfg" "$ref" --to-dir "$T/out-$way"
	check "$way: big file restored byte for byte" cmp "$S/big" "$T/out-$way/big"
	check "$way: name with a space restored" cmp "$S/sub/a b.txt" "$T/out-$way/sub/a b.txt"
}

# --- the failure cases first: nothing configured, then a wrong key ---
run 2 ado-backup -c "$CFG_CS" j
expect_err "ado-backup: azblob://bkup/cs/: no Azure storage account is configured"
expect_err "hint: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN"

BAD_KEY=$(head -c 64 /dev/urandom | base64 -w0)
export AZURE_STORAGE_CONNECTION_STRING="${AZ_CS/$AZ_KEY/$BAD_KEY}"
START=$(date +%s)
run 1 ado-backup -c "$CFG_CS" j
check "a wrong key fails at once (no retry loop)" test $(( $(date +%s) - START )) -lt 5
check "one line names the destination, the operation, the object and the server's code" \
	grep -qE "^ado-backup: destination 'azblob://bkup/cs/' failed for job 'j': azblob://bkup/cs/: PUT j/[0-9TZ]+/files-[^ ]+\.tar\.zst: 403 AuthorizationFailure: Server failed to authenticate the request\. Make sure the value of the Authorization header is formed correctly including the signature\.\$" <<<"$err"
expect_err "hint: check the account key or SAS token"
expect_no_err "attempts"
expect_no_err "$BAD_KEY"
expect_no_out "$BAD_KEY"
run 3 ado-restore -c "$CFG_CS" --list --job j
expect_err "ado-restore: warning: cannot list 'azblob://bkup/cs/': azblob://bkup/cs/: ListBlobs j/: 403 AuthorizationFailure: "
expect_no_err "$BAD_KEY"

# --- connection string (azurite's, with its BlobEndpoint) ---
export AZURE_STORAGE_CONNECTION_STRING="$AZ_CS"
roundtrip connstr "$CFG_CS"
run 0 env ADO_TRACE=1 ado-backup -c "$CFG_CS" j
expect_err "ado-backup: trace: PUT azblob://bkup/cs/ j/"
expect_no_err "$AZ_KEY"
unset AZURE_STORAGE_CONNECTION_STRING

# --- account and key variables (the endpoint from the config), many blocks ---
export AZURE_STORAGE_ACCOUNT=$AZ_ACCOUNT AZURE_STORAGE_KEY=$AZ_KEY
run 0 env ADO_TRACE=1 ado-backup -c "$CFG" j
check "three Put Block calls for the 2.5 MB artifact" test "$(grep -c 'trace: PutBlock azblob' <<<"$err")" = 3
check "one Put Block List commits it" test "$(grep -c 'trace: PutBlockList azblob' <<<"$err")" = 1
roundtrip key "$CFG"
unset AZURE_STORAGE_KEY

# --- a SAS token (an account SAS signed with the key by python3) ---
SAS=$(az_req sas rwdlac 3600)
SIG=$(sed 's/.*sig=//' <<<"$SAS")
export AZURE_STORAGE_SAS_TOKEN="?$SAS"
roundtrip sas "$CFG"
run 0 env ADO_TRACE=1 ado-restore -c "$CFG" --list --job j
expect_err "&sig=<redacted>"
expect_err "&se=<redacted>"
expect_no_err "$SIG"
# a SAS whose signature is wrong: one line, the token nowhere
export AZURE_STORAGE_SAS_TOKEN="${SAS/sig=/sig=AA}"
run 1 ado-backup -c "$CFG" j
expect_err "failed for job 'j': azblob://bkup/pre/: PutBlock j/"
expect_err ": 403 AuthorizationFailure: Server failed to authenticate the request."
expect_no_err "$SIG"
# a read-only SAS: backups are refused, listing works
export AZURE_STORAGE_SAS_TOKEN=$(az_req sas rl 3600)
run 0 ado-restore -c "$CFG" --list --job j
expect_out "complete"
run 1 ado-backup -c "$CFG" j
expect_err ": 403 AuthorizationPermissionMismatch: "
unset AZURE_STORAGE_SAS_TOKEN AZURE_STORAGE_ACCOUNT

# --- a container that does not exist ---
sed 's#azblob://bkup/#azblob://nocontainer/#' "$CFG_CS" >"$T/cfg-nc.yml"
export AZURE_STORAGE_CONNECTION_STRING="$AZ_CS"
run 1 ado-backup -c "$T/cfg-nc.yml" j
expect_err ": 404 ContainerNotFound: The specified container does not exist."

done_testing
