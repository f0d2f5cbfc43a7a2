#!/bin/bash
# ado-recover --resume: a recovery killed with kill -9 in the middle of a step
# is continued after its last finished step; no finished step runs twice (each
# step counts its completions in a file) and the timeline tells the truth.
. "$(dirname "$0")/../lib/test-lib.sh"

cat > "$T/plan.yml" <<YML
rto: 1 hour
phases:
  - name: first
    steps:
      - { name: one, run: "echo one >> $T/done" }
  - name: second
    steps:
      - { name: two, run: "touch $T/two-started; sleep 3; echo two >> $T/done" }
      - { name: three, run: "echo three >> $T/done" }
YML
export ADO_STATE_DIR=$T/state

run 2 ado-recover --plan "$T/plan.yml" --yes --resume
expect_err "ado-recover: nothing to resume: no recovery has run here"

ado-recover --plan "$T/plan.yml" --yes >"$T/out1" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -e "$T/two-started" ] && break; sleep 0.05; done
kill -9 $pid
wait $pid 2>/dev/null
check "killed during step two: only step one finished" test "$(cat "$T/done")" = one
tl=$(ls "$T/state/recover/"*.jsonl)
check "the timeline ends with step two started" sh -c "tail -n 1 '$tl' | grep -q '\"event\":\"step-start\".*\"step\":\"two\"'"
check_not "no run-end in the timeline" grep -q run-end "$tl"
sleep 0.3	# the killed step got SIGTERM with its runner: it must not finish on its own

run 0 ado-recover --plan "$T/plan.yml" --yes --resume
expect_out "resuming recovery $(basename "$tl" .jsonl)"
expect_out "phase 'first' step 'one': finished before, not run again"
expect_out "phase 'second' step 'two': ok"
expect_out ": succeeded"
check "every step finished exactly once" test "$(sort "$T/done" | tr '\n' ' ')" = "one three two "
check "one timeline, resumed in place" test "$(ls "$T/state/recover" | wc -l)" = 1
check "the timeline records the resume and the end" sh -c "grep -q '\"event\":\"resume\"' '$tl' && tail -n 1 '$tl' | grep -q '\"event\":\"run-end\".*\"status\":\"succeeded\"'"

run 2 ado-recover --plan "$T/plan.yml" --yes --resume
expect_err "has ended (succeeded)"
check "history: one record" test "$(wc -l < "$T/state/history.jsonl")" = 1
done_testing
