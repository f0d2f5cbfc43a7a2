#!/bin/bash
# References that forgive, in ado-verify and ado-restore alike: DEST/JOB/ID,
# JOB/ID (the first of the job's destinations with a complete copy, said on
# stderr), an id prefix with or without T and Z. Beside each, its failure: an
# ambiguous prefix lists the candidates, a misspelt job or an id that matches
# nothing gets a did-you-mean; all three are usage errors (exit 2). In a list
# of references a bad one is a FAIL line; exit 2 unless a backup failed (1).
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p "$T/src" && echo one > "$T/src/a"
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
backup_jobs:
  critical_data:
    targets: [ { files: "$T/src/" } ]
    destinations: [ { local: "$T/primary/" }, { local: "$T/offsite/" } ]
EOF
V() { ado-verify -c "$CFG" --level checksum "$@"; }
Rs() { ado-restore -c "$CFG" "$@"; }
# the whole of stderr, not a part of it
err_is() { check "stderr is exactly: ${1//$'\n'/ | }" test "$err" = "$1"; }
out_is() { check "stdout is exactly: ${1//$'\n'/ | }" test "$out" = "$1"; }

run 0 ado-backup -c "$CFG" critical_data
A=$(basename "$(sed -n 1p <<<"$out")")
sleep 1
echo two > "$T/src/a"
run 0 ado-backup -c "$CFG" critical_data
B=$(basename "$(sed -n 1p <<<"$out")")
check "two backups, two ids" test "$A" != "$B"
# the primary lacks A: a backup is complete only with its manifest
rm "$T/primary/critical_data/$A/manifest.json"
J=critical_data
P=$T/primary/$J
O=$T/offsite/$J
# B's id with its year's third digit changed: nearest to B, not to A
NOID=${B:0:2}$(( (${B:2:1} + 1) % 10 ))${B:3}
# the longest prefix A and B share: it matches both
PFX=$A; while [ "${B#"$PFX"}" = "$B" ]; do PFX=${PFX%?}; done
BAD_HINT="hint: ado-backup prints references; ado-restore --list shows them"

# --- DEST/JOB/ID: that copy, as before ---
run 0 V "$P/$B"
out_is "ok $P/$B"
err_is ""
run 1 V "$P/$A"
out_is "FAIL $P/$A: backup '$P/$A' is incomplete: it has no manifest"
run 0 Rs "$P/$B" --to-dir "$T/r1"
expect_out "from backup $J/$B (taken "
check "DEST/JOB/ID restored B" test "$(cat "$T/r1/a")" = two
run 1 Rs "$P/$A" --to-dir "$T/r2"
check "no folder restored from an incomplete copy" test ! -e "$T/r2"

# --- JOB/ID: the first destination holding a complete copy ---
run 0 V "$J/$B"
out_is "ok $P/$B"
err_is "ado-verify: '$J/$B' is '$P/$B' (the first destination holding a complete copy)"
run 0 V "$J/$A"
out_is "ok $O/$A"
err_is "ado-verify: '$J/$A' is '$O/$A' (the first destination holding a complete copy)"
run 0 Rs "$J/$A" --to-dir "$T/r3"
expect_out "from backup $J/$A (taken "
expect_out ", destination $T/offsite)"
err_is "ado-restore: '$J/$A' is '$O/$A' (the first destination holding a complete copy)"
check "JOB/ID restored A from the offsite copy" test "$(cat "$T/r3/a")" = one
# ... and an id that is nowhere: the nearest one suggested
run 2 V "$J/$NOID"
out_is "FAIL $J/$NOID: bad backup reference '$J/$NOID': no complete backup matches"
err_is "hint: did you mean '$J/$B'? ado-restore --list --job $J shows them"
run 2 Rs "$J/$NOID" --to-dir "$T/r4"
err_is "ado-restore: bad backup reference '$J/$NOID': no complete backup matches
hint: did you mean '$J/$B'? ado-restore --list --job $J shows them"
check "nothing restored for a reference to nothing" test ! -e "$T/r4"
# ... and on a named destination, in that form
run 2 V "$P/${A%Z}"
err_is "hint: did you mean '$P/$B'? ado-restore --list --job $J shows them"

# --- a misspelt job ---
run 2 V "critcal_data/$B"
out_is "FAIL critcal_data/$B: bad backup reference 'critcal_data/$B': no job 'critcal_data' in '$CFG'"
err_is "hint: did you mean '$J'?"
run 2 Rs "critcal_data/$B" --to-dir "$T/r5"
err_is "ado-restore: bad backup reference 'critcal_data/$B': no job 'critcal_data' in '$CFG'
hint: did you mean '$J'?"
run 2 Rs "nosuchjobatall/$B" --to-dir "$T/r5"
err_is "ado-restore: bad backup reference 'nosuchjobatall/$B': no job 'nosuchjobatall' in '$CFG'
hint: the jobs there are: $J"

# --- a unique prefix, T and Z optional ---
BD=${B//[TZ]/}
run 0 V "$J/$BD"
out_is "ok $P/$B"
err_is "ado-verify: '$J/$BD' is '$P/$B' (the first destination holding a complete copy)"
run 0 V "$P/${B%Z}"
out_is "ok $P/$B"
err_is "ado-verify: '$P/${B%Z}' is '$P/$B'"
run 0 Rs "$J/$BD" --to-dir "$T/r6"
err_is "ado-restore: '$J/$BD' is '$P/$B' (the first destination holding a complete copy)"
check "a prefix restored B" test "$(cat "$T/r6/a")" = two
# ... and one that two backups share: ambiguous, the candidates oldest first
run 2 V "$J/$PFX"
out_is "FAIL $J/$PFX: backup reference '$J/$PFX' is ambiguous: 2 backups match"
err_is "hint: say which: $A, $B"
run 2 Rs "$J/$PFX" --to-dir "$T/r7"
err_is "ado-restore: backup reference '$J/$PFX' is ambiguous: 2 backups match
hint: say which: $A, $B"
check "nothing restored for an ambiguous reference" test ! -e "$T/r7"
# on the primary alone, A is incomplete: the prefix is B's
run 0 V "$P/$PFX"
out_is "ok $P/$B"

# --- malformed ---
run 2 V "$J/latest"
out_is "FAIL $J/latest: bad backup reference '$J/latest': expected DEST/JOB/ID or JOB/ID with an id like 20261125T221500Z"
err_is "$BAD_HINT"
run 2 Rs "$J/latest" --to-dir "$T/r8"
err_is "ado-restore: bad backup reference '$J/latest': expected DEST/JOB/ID or JOB/ID with an id like 20261125T221500Z
$BAD_HINT"

# --- many references on stdin: a bad one is a FAIL line, exit 2 unless a backup failed ---
printf '%s\n' "$J/$B" "$J/$PFX" "$P/$B" > "$T/refs"
run_in 2 "$T/refs" V -
out_is "ok $P/$B
FAIL $J/$PFX: backup reference '$J/$PFX' is ambiguous: 2 backups match
ok $P/$B"
printf '%s\n' "$J/$B" "$P/$B" > "$T/refs.good"
run_in 0 "$T/refs.good" V -
printf '%s\n' "$J/$PFX" "$P/$A" > "$T/refs.damaged"
run_in 1 "$T/refs.damaged" V -
out_is "FAIL $J/$PFX: backup reference '$J/$PFX' is ambiguous: 2 backups match
FAIL $P/$A: backup '$P/$A' is incomplete: it has no manifest"
run 2 V --json "$J/$NOID"
check "--json: a bad reference is status fail, error USAGE" /usr/bin/python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["status"] == "fail" and o["error"] == "USAGE" and o["ref"] == sys.argv[2], o' "$out" "$J/$NOID"
done_testing
