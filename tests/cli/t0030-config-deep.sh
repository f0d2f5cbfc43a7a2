#!/bin/bash
# Unbounded YAML: a config nested 40,000 deep is refused at once (exit 2)
# with its line, before libyaml builds anything (that would take seconds);
# so is a manifest nested as deep (verify fails cleanly, exit 1). A config
# and a manifest of ordinary depth load.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p "$T/src"
echo a > "$T/src/a"
CFG=$T/cfg.yml
cat > "$CFG" <<EOF
state_dir: $T/state
backup_jobs:
  j: { targets: [ { files: "$T/src/" } ], destinations: [ { local: "$T/dest/" } ] }
EOF
# --- passing case ---
run 0 ado-backup -c "$CFG" j
REF=$out

# --- 40,000 levels in the config, on line 3 ---
python3 -c 'import sys; sys.stdout.write("state_dir: /tmp\nbackup_jobs:\n  j: " + "[" * 40000 + "]" * 40000 + "\n")' > "$T/deep.yml"
start=$(date +%s%N)
run 2 ado-backup -c "$T/deep.yml" j
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_err "ado-backup: $T/deep.yml:3:36: expected at most 32 levels of nesting, found more"
expect_err "hint: a configuration nests a few levels deep"
check "refused fast (${ms} ms < 1000)" test "$ms" -lt 1000
# block style, one level a line: the line is the one past the limit
python3 -c 'import sys; sys.stdout.write("backup_jobs:\n" + "".join("  " * (i + 1) + "k%d:\n" % i for i in range(40)))' > "$T/deep2.yml"
run 2 ado-verify -c "$T/deep2.yml" --job j
expect_err "deep2.yml:33:"
expect_err "expected at most 32 levels of nesting, found more"

# --- a manifest nested 40,000 deep ---
python3 - "$REF/manifest.json" <<'EOF'
import sys
s = open(sys.argv[1]).read()
open(sys.argv[1], "w").write(s.replace('"warnings": [', '"warnings": [' + "[" * 40000 + "]" * 40000 + ",", 1))
EOF
start=$(date +%s%N)
run 1 ado-verify -c "$CFG" "$REF"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_out "manifest.json': manifest:"
expect_out "expected at most 32 levels of nesting, found more"
check "refused fast (${ms} ms < 1000)" test "$ms" -lt 1000
run 1 ado-restore -c "$CFG" "$REF" --to-dir "$T/r"
expect_err "expected at most 32 levels of nesting, found more"
done_testing
