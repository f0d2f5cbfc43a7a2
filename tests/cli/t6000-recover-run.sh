#!/bin/bash
# ado-recover: a plan's phases run in order, with a timeline and a report; no
# TTY and no --yes is refused with nothing done (exit 2); --dry-run prints each
# step with the backup it would use and its age; a held lock is exit 4; a
# health check answered 503 fails its phase with a clear line (exit 1) beside
# one answered 200; a slow step misses a tiny RTO (exit 5); notices go out at
# the start, at a failed step and at the end through the config's channels.
. "$(dirname "$0")/../lib/test-lib.sh"

start_receiver() { # NAME MODE [ARG]: sets RPORT and RLOG
	local name=$1; shift
	RPORT=$(free_port); RLOG=$T/$name.log; : >"$RLOG"
	/usr/bin/python3 "$TOP/tests/lib/receiver.py" "$RPORT" "$RLOG" "$T/$name.pid" "$@" >"$T/$name.out" 2>&1 &
	at_exit "kill \$(cat '$T/$name.pid' 2>/dev/null) 2>/dev/null"
	wait_port "$RPORT" 5
}

mkdir -p "$T/etc/ado" "$T/dest"
echo "setting: 1" > "$T/etc/ado/app.yml"
start_receiver hooks ok
HOOKS=$RPORT HLOG=$RLOG
start_receiver health ok
OK_PORT=$RPORT
start_receiver sick status 503
SICK_PORT=$RPORT
cat > "$T/cfg.yml" <<YML
state_dir: $T/state
notifications:
  timeout: 5s
  channels:
    oncall: { type: webhook, url: "http://127.0.0.1:$HOOKS/hook" }
    page: { type: statuspage, url: "http://127.0.0.1:$HOOKS/status", token_env: SP_TOKEN }
backup_jobs:
  conf:
    targets: [ { files: "$T/etc/ado/" } ]
    destinations: [ { local: "$T/dest/" } ]
    rto: 4 hours
    rpo: 15 minutes
recovery:
  update_every: 30 minutes
  phases:
    - name: assessment
      budget: 30 minutes
      steps:
        - notify: { message: "incident declared", severity: warning }
    - name: data
      steps:
        - name: count
          run: "echo data >> $T/count"
        - restore_files: { job: conf, to: "$T/restored" }
    - name: validation
      steps:
        - health_check: { url: "http://127.0.0.1:$OK_PORT/health", tries: 2, interval: 1s }
YML
run 0 ado-backup -c "$T/cfg.yml" conf

# --- no TTY and no --yes: refused, nothing done ---
export SP_TOKEN=sp-token-0123456789
run 2 ado-recover -c "$T/cfg.yml"
expect_err "ado-recover: refusing to run 2 destructive steps without a terminal to confirm: 'count', 'restore_files conf'"
expect_err "hint: give --yes to run unattended (cron, pipes)"
check "refused: no step ran" test ! -e "$T/count"
check "refused: no timeline" test ! -e "$T/state/recover"
check "refused: no notice sent" test ! -s "$HLOG"

# --- dry run: every step, the backup and its age; nothing changed ---
run 0 ado-recover -c "$T/cfg.yml" --dry-run
expect_out "phase 'assessment' step 'notify': notify (warning): incident declared"
expect_out "phase 'data' step 'count' (destructive): run: /bin/sh -c echo data >> $T/count"
expect_out "phase 'data' step 'restore_files conf' (destructive): restore files '(the job's files)' to $T/restored from backup '$T/dest/conf/"
check "dry run names the backup's age" grep -Eq "\(age [0-9]+s\)" <<<"$out"
expect_out "phase 'validation' step 'health_check http://127.0.0.1:$OK_PORT/health': health check: GET http://127.0.0.1:$OK_PORT/health, expect 200, 2 tries every 1s"
expect_out "RTO target 4h, RPO target 15m"
expect_out "dry run: nothing changed"
check "dry run: no step ran" test ! -e "$T/count"
check "dry run: nothing restored" test ! -e "$T/restored"
check "dry run: no notice sent" test ! -s "$HLOG"

# --- another recovery holds the lock: exit 4 ---
mkdir -p "$T/state/locks"
exec 9>"$T/state/locks/recover.lock"
flock -n 9
run 4 ado-recover -c "$T/cfg.yml" --yes
expect_err "ado-recover: another recovery is running"
check "locked: no step ran" test ! -e "$T/count"
exec 9>&-

# --- the whole plan ---
run 0 ado-recover -c "$T/cfg.yml" --yes
expect_out "recovery $(ls "$T/state/recover" | sed 's/.jsonl//'): succeeded"
expect_out "phase 'data' step 'restore_files conf': ok"
# the durations depend on the machine's load: only their shape and the verdict are the contract
check "RTO line: seconds against 4h, met" grep -Eq '^  RTO: ([0-9]+m)?[0-9]+s against a target of 4h: met$' <<<"$out"
check "RPO line: data age against 15m, met" grep -Eq '^  RPO: data age ([0-9]+m)?[0-9]+s against a target of 15m: met$' <<<"$out"
check "the run step ran once" test "$(cat "$T/count")" = data
check "files restored" cmp "$T/etc/ado/app.yml" "$T/restored/app.yml"
tl=$(ls "$T/state/recover/"*.jsonl)
check "timeline: start, 4 steps started and ended, end" test "$(grep -c . "$tl")" = 10
check "timeline: the restore names its backup" grep -q '"step":"restore_files conf","kind":"restore_files","destructive":true,"status":"ok","duration_ms":[0-9]*,"backup":"'"$T"'/dest/conf/' "$tl"
check "timeline: run-end succeeded" grep -q '"event":"run-end".*"status":"succeeded"' "$tl"
check "history: one recovery record" grep -q '"kind":"recovery".*"success":true' "$T/state/history.jsonl"
check "notices: start (critical), the notify step, the end (info)" /usr/bin/python3 -c '
import json, sys
rs = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1]) if "/hook" in l]
sev = [r["severity"] for r in rs]
assert sev == ["critical", "warning", "info"], sev
assert "started" in rs[0]["message"] and "finished in" in rs[2]["message"], rs' "$HLOG"
check "status page: major_outage at the start, operational at the end" /usr/bin/python3 -c '
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
st = [json.loads(r["body"])["status"] for r in rs if r["path"] == "/status"]
assert st == ["major_outage", "operational"], st' "$HLOG"

# --- --resume after a finished run: nothing to resume ---
run 2 ado-recover -c "$T/cfg.yml" --yes --resume
expect_err "ado-recover: nothing to resume: the last recovery"
expect_err "has ended (succeeded)"

# --- a health check answered 503 fails its phase (exit 1), JSON report ---
: > "$HLOG"
sed "s|127.0.0.1:$OK_PORT|127.0.0.1:$SICK_PORT|" "$T/cfg.yml" > "$T/sick.yml"
run 1 ado-recover -c "$T/sick.yml" --yes --only-phase validation --json
expect_err "ado-recover: step 'health_check http://127.0.0.1:$SICK_PORT/health' of phase 'validation' failed: health check 'http://127.0.0.1:$SICK_PORT/health' failed after 2 tries every 1s: answered 503, expected 200"
expect_err "  health check 'http://127.0.0.1:$SICK_PORT/health': answered 503, expected 200 (try 2 of 2)"
check "JSON report: failed, at that step" /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r["status"] == "failed", r
assert r["failed_step"].startswith("step '"'"'health_check"), r
assert [s["status"] for s in r["phases"][2]["steps"]] == ["failed"], r' <<<"$out"
check "notice for the failed step" grep -q 'FAILED at step' "$HLOG"

# --- a slow step misses a tiny RTO target: exit 5 ---
cat > "$T/slow.yml" <<YML
rto: 1 second
phases:
  - name: only
    steps:
      - { name: slow, run: [sleep, "2.2"] }
YML
run 5 ado-recover -c "$T/cfg.yml" --plan "$T/slow.yml" --yes
expect_out "against a target of 1s: MISSED"
expect_err "finished but missed its RTO target"

# --- the example plan loads; its steps are listed; its data phase rebuilds
# ado_primary from both jobs that back up part of it ---
cat > "$T/plan-cfg.yml" <<YML
state_dir: $T/state
backup_jobs:
  critical_data:
    targets: [ { database: "ado_primary", tables: ["users", "tasks", "configurations"] } ]
    destinations: [ { local: "$T/critical/" } ]
  important_data:
    targets: [ { database: "ado_primary", tables: ["execution_logs", "metrics", "user_settings"] } ]
    destinations: [ { local: "$T/important/" } ]
YML
run 0 ado-recover -c "$T/plan-cfg.yml" --plan "$TOP/examples/recovery-plan.yml" --dry-run
expect_out "phase 'data' step 'read_only ado_primary' (destructive): set database 'ado_primary' read-only and end its write sessions"
expect_out "phase 'data' step 'restore_database ado_primary' (destructive): restore database 'ado_primary' from jobs critical_data, important_data: no backup of job 'critical_data' to use: "
expect_out "phase 'validation' step 'verify important_data': "
expect_out "RTO target 4h, RPO target 15m"
# with a config whose jobs do not hold ado_primary: refused before anything, naming the step
run 2 ado-recover -c "$T/cfg.yml" --plan "$TOP/examples/recovery-plan.yml" --dry-run
expect_err "ado-recover: $TOP/examples/recovery-plan.yml:34:9: step 'restore_database ado_primary' of phase 'data': no job 'critical_data' in '$T/cfg.yml'"

# --- plan errors name file:line:col ---
printf 'phases:\n  - name: a\n    steps:\n      - { run: "true", retires: 2 }\n' > "$T/bad.yml"
run 2 ado-recover -c "$T/cfg.yml" --plan "$T/bad.yml" --yes
expect_err "ado-recover: $T/bad.yml:4:24: expected one of run, restore_database, restore_files, verify, health_check, notify, read_only, read_write, name, timeout, retries, retry_delay, env, pass_env, destructive in a step of phase 'a', found unknown key 'retires'"
run 2 ado-recover -c "$T/cfg.yml" --only-phase nope --dry-run
expect_err "ado-recover: no phase 'nope' in plan '$T/cfg.yml'"
expect_err "hint: its phases: assessment, data, validation"

# --- run: steps: timeout, retries, an explicit environment ---
cat > "$T/env.yml" <<YML
phases:
  - name: p
    steps:
      - name: env
        run: "env > $T/env.out"
        env: { ONLY_THIS: yes }
      - name: flaky
        run: "echo try >> $T/tries; exit 3"
        retries: 2
        retry_delay: 0s
YML
SECRET_TOKEN=hunter2hunter2 run 1 ado-recover -c "$T/cfg.yml" --plan "$T/env.yml" --yes
expect_err "step 'flaky' of phase 'p' failed: 'flaky' exited with status 3"
check "the step's env: is passed" grep -qx "ONLY_THIS=yes" "$T/env.out"
check_not "our environment is not" grep -q SECRET_TOKEN "$T/env.out"
check "three tries" test "$(wc -l < "$T/tries")" = 3
printf 'phases:\n  - name: p\n    steps:\n      - { name: t, run: [sleep, "5"], timeout: 1s }\n' > "$T/to.yml"
run 1 ado-recover -c "$T/cfg.yml" --plan "$T/to.yml" --yes
expect_err "step 't' of phase 'p' failed: 't' timed out after 1s"
# a step inherits none of our files (our signal pipe, a kept store connection):
# only its own 0-2, and python's listing of /proc/self/fd
cat > "$T/fds.yml" <<'YML'
phases:
  - name: p
    steps:
      - { name: fds, run: [python3, -c, "import os; print('fds:', sorted(int(x) for x in os.listdir('/proc/self/fd')))"] }
YML
run 0 ado-recover -c "$T/cfg.yml" --plan "$T/fds.yml" --yes
expect_out "  | fds: [0, 1, 2, 3]"
done_testing
