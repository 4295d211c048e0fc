#!/usr/bin/env bash
# The supervisor and the exec handler end to end: argv placeholders, payload on stdin, the job
# environment, result and stderr tail with caps, exit codes 0/75/other, drain, the single
# instance lock, the runtime file and status, SIGTERM with a job running, SIGHUP reloads.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

# 1. The exec contract, drained.
step "1. The exec contract, drained"
export KEEP_ME=kept DROP_ME=dropped
cat >jobq.json <<'JSON'
{
  "output_max": 100, "stderr_max": 20,
  "types": {
    "show": {"exec": ["bash", "-c", "printf '%s|' \"$0\" \"$1\" \"$JOBQ_JOB_ID\" \"$JOBQ_JOB_TYPE\" \"$JOBQ_NAMESPACE\" \"$JOBQ_ATTEMPT\" \"${KEEP_ME-}\" \"${DROP_ME-unset}\" \"$EXTRA\"; cat", "{payload.name}", "{job.id}-{job.type}-{job.namespace}-{{x}"],
             "env": {"EXTRA": "extra"}, "env_remove": ["DROP_ME"]},
    "big": {"exec": ["bash", "-c", "head -c 5000 /dev/zero | tr '\\0' a; seq 1 1000 >&2; exit 3"], "max_attempts": 1},
    "temp": {"exec": ["bash", "-c", "if [ -e once ]; then echo fine; else touch once; echo busy >&2; exit 75; fi"], "max_attempts": 1, "backoff": {"base": "100ms", "max": "100ms"}},
    "missing": {"exec": ["/nonexistent/cmd"], "max_attempts": 1},
    "noarg": {"exec": ["echo", "{payload.nope}"]}
  }
}
JSON
id1=$(jobq enqueue show --namespace ns1 '{"name": "Ada Lovelace"}')
id2=$(jobq enqueue big)
id3=$(jobq enqueue temp)
id4=$(jobq enqueue missing)
id5=$(jobq enqueue noarg '{}')
expect_code 0 timeout 30 "$JOBQ" supervise --drain
json_eq "$(jobq show --json "$id1")" .state succeeded
json_eq "$(jobq show --json "$id1")" .result \
	"Ada Lovelace|$id1-show-ns1-{x}|$id1|show|ns1|1|kept|unset|extra|{\"name\": \"Ada Lovelace\"}"
json_eq "$(jobq show --json "$id1")" .exit_code 0
big=$(jobq show --json "$id2")
json_eq "$big" .state failed
json_eq "$big" .exit_code 3
json_eq "$big" '.result | length' 100
json_eq "$big" .error "exit status 3: 1000"
assert_contains "$(printf '%s' "$big" | jq -r .stderr)" "999
1000" "stderr tail"
json_eq "$big" '.stderr | contains("\n1\n")' false
json_eq "$big" '.stderr | length <= 20' true
# exit 75: retried without counting the attempt (max_attempts 1 still lets it run again)
temp=$(jobq show --json "$id3")
json_eq "$temp" .state succeeded
json_eq "$temp" .result fine
json_eq "$temp" .attempts 1
json_eq "$(jobq show --json "$id4")" .state failed
json_eq "$(jobq show --json "$id4")" .exit_code 127
assert_contains "$(jobq show --json "$id4" | jq -r .error)" "command not found"
json_eq "$(jobq show --json "$id5")" .state failed
json_eq "$(jobq show --json "$id5")" .attempts 1
assert_contains "$(jobq show --json "$id5" | jq -r .error)" "no 'nope'"

# 2. One supervisor per database; status and the runtime file.
step "2. One supervisor per database"
cat >jobq.json <<'JSON'
{"concurrency": {"global": 2}, "grace": "5s", "types": {"nap": {"builtin": "sleep"}, "work": {"exec": ["sleep", "2"]}}}
JSON
start_supervisor jobq.db
[ "$(stat -c %a $(db_file jobq.db runtime.json))" = 600 ] || fail "runtime file mode"
json_eq "$(cat $(db_file jobq.db runtime.json))" .schema_version 1
json_eq "$(cat $(db_file jobq.db runtime.json))" .workers 2
t0=$(date +%s%N)
expect_code 75 "$JOBQ" supervise
t1=$(date +%s%N)
# Refused at once: well before the 5 s busy timeout it would wait out on a lock.
[ $(((t1 - t0) / 1000000)) -lt 4000 ] || fail "second supervisor took $(((t1 - t0) / 1000000)) ms"
assert_contains "$ERR" "already running"
assert_contains "$ERR" "pid $SUP_PID"
st=$(jobq status --json)
json_eq "$st" .supervisor.running true
json_eq "$st" .supervisor.pid "$SUP_PID"
json_eq "$st" .supervisor.workers 2
json_eq "$st" '.supervisor.worker_pids | length' 2
for p in $(printf '%s' "$st" | jq '.supervisor.worker_pids[]'); do
	[ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$SUP_PID" ] || fail "worker pid $p is not the supervisor's child"
done
# Process titles name the workers.
wait_for 5 pgrep -f 'jobq: worker 1: idle'

# Wake-ups: an idle supervisor starts an enqueued job within milliseconds (no 1 s poll), and a
# delayed job at its run_at.
# Five times, each after more than the workers' 1 s fallback check, so that only the wake-up
# can start the job in time.
for i in 1 2 3 4 5; do
	sleep 1.1
	id=$(jobq enqueue nap '{"ms": 0}')
	wait_state jobq.db "$id" succeeded 5
	lat=$(sql jobq.db "select started_at - created_at from jobs where id = $id")
	[ "$lat" -lt 300 ] || fail "an idle worker took $lat ms to start job $id (try $i)"
done
# A worker that claimed a delayed job on its own timer is busy: a new job goes to the other.
long=$(jobq enqueue nap --delay 1s '{"ms": 3000}')
wait_state jobq.db "$long" running 5
sleep 1.1
id=$(jobq enqueue nap '{"ms": 0}')
wait_state jobq.db "$id" succeeded 5
lat=$(sql jobq.db "select started_at - created_at from jobs where id = $id")
[ "$lat" -lt 300 ] || fail "job $id waited $lat ms while a worker was idle"
wait_state jobq.db "$long" succeeded 10
id=$(jobq enqueue nap --delay 1s '{"ms": 0}')
wait_state jobq.db "$id" succeeded 5
late=$(sql jobq.db "select started_at - run_at from jobs where id = $id")
[ "$late" -ge 0 ] && [ "$late" -lt 300 ] || fail "delayed job started $late ms after its run_at"

# A running job is shown by status with its worker.
id=$(jobq enqueue nap '{"ms": 3000}')
wait_state jobq.db "$id" running 5
st=$(jobq status --json)
json_eq "$st" '.running | length' 1
json_eq "$st" '.running[0].id' "$id"
wait_for 5 pgrep -f "jobq: worker .: job $id nap"

# 3. SIGHUP: a bad config is refused and the old one kept; a good one is taken.
step "3. SIGHUP"
cp jobq.json good.json
echo '{"concurrency": {"global": "two"}}' >jobq.json
kill -HUP "$SUP_PID"
wait_for 5 grep -q "reload refused" jobq.db.log
assert_contains "$(cat jobq.db.log)" "concurrency.global"
kill -0 "$SUP_PID" || fail "supervisor died on a bad reload"
sed 's/"global": 2/"global": 3/' good.json >jobq.json
kill -HUP "$SUP_PID"
wait_for 5 grep -q "configuration reloaded: 3 workers" jobq.db.log
wait_for 5 pgrep -f 'jobq: worker 3: idle'

# 4. SIGTERM with a job running past the grace period: stopped, requeued (attempt not counted
# as failed), exit 0, runtime file removed.
step "4. SIGTERM with a job running past the grace period"
wait_state jobq.db "$id" succeeded 10
id=$(jobq enqueue nap '{"ms": 60000}')
wait_state jobq.db "$id" running 5
t0=$(date +%s)
stop_supervisor TERM
t1=$(date +%s)
assert_eq "$SUP_RC" 0 "supervisor exit code after SIGTERM"
[ $((t1 - t0)) -le 9 ] || fail "SIGTERM took $((t1 - t0))s with a 5s grace"
json_eq "$(jobq show --json "$id")" .state queued
[ ! -e $(db_file jobq.db runtime.json) ] || fail "runtime file left after a clean stop"
json_eq "$(jobq status --json)" .supervisor.running false

# A job shorter than the grace period finishes during the shutdown.
id=$(jobq enqueue work)
start_supervisor jobq.db
wait_state jobq.db "$id" running 5
stop_supervisor TERM
assert_eq "$SUP_RC" 0
json_eq "$(jobq show --json "$id")" .state succeeded

# 5. A stale runtime file (kill -9) is reported as stale.
step "5. A stale runtime file (kill -9) is reported as stale"
start_supervisor jobq.db
kill -9 "$SUP_PID"
wait "$SUP_PID" 2>/dev/null || true
st=$(jobq status --json)
json_eq "$st" .supervisor.running false
json_eq "$st" .supervisor.stale true
assert_contains "$(jobq status)" "stale"
# ...and the lock was released by the crash: a new supervisor starts at once.
start_supervisor jobq.db
stop_supervisor TERM
assert_eq "$SUP_RC" 0
echo ok
