#!/usr/bin/env bash
# Quota-aware pools: an HTTP 429 with Retry-After, or an exec command that exits 75 after writing
# {"retry_after": ...} to $JOBQ_REPORT, pauses the pools of the job's resource tags until then.
# The other jobs of those pools wait instead of each meeting the quota; `jobq status` shows the
# pause and until when; `jobq resume --resource TAG` lifts it early; the job that met the quota
# retries after the time it was given.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

spawn python3 "$JOBQ_SRC/tests/e2e/httpserver.py" port requests.log
wait_for 30 test -s port
BASE=http://127.0.0.1:$(cat port)

# hits KEY: how many requests the server had for /flaky/KEY.
hits() { jq -c --arg p "/flaky/$1" 'select(.path == $p)' requests.log | wc -l; }

# The tool command: the first run of each KEY (a flag file in the test folder) writes the
# report and exits 75; later runs succeed. It also notes its report folder and that folder's
# mode, and leaves a file of its own there.
tool="f=\"$TEST_DIR/flag-\$1\"; d=\$(dirname \"\$JOBQ_REPORT\"); echo \"\$d \$(stat -c %a \"\$d\")\" >>\"$TEST_DIR/reports\"; touch \"\$d/extra\";
if [ ! -e \"\$f\" ]; then touch \"\$f\"; printf '{\"retry_after\": \"%s\"}' \"\$2\" >\"\$JOBQ_REPORT\"; echo quota met >&2; exit 75; fi; echo done"

cat >jobq.json <<JSON
{
  "concurrency": {"global": 4, "resources": {"api": 2, "tools": 1, "other": 1}},
  "types": {
    "call": {"http": {"url": "$BASE/flaky/{payload.key}?code=429&retry_after={payload.ra}"},
             "resources": ["api"]},
    "callslow": {"http": {"url": "$BASE/status/429?retry_after=5&delay=1500"}, "resources": ["api"]},
    "free": {"http": {"url": "$BASE/echo"}, "resources": ["other"]},
    "tool": {"exec": ["bash", "-c", $(printf '%s' "$tool" | jq -Rs .), "tool", "{payload.key}", "{payload.ra}"],
             "resources": ["tools"]}
  }
}
JSON
start_supervisor jobq.db

# ---- HTTP 429 with Retry-After: 30 ----
a=$(jobq enqueue call '{"key": "q", "ra": "30"}')
wait_until 10 'test "$(hits q)" -ge 1'
wait_state jobq.db "$a" queued 5
j=$(jobq show --json "$a")
json_eq "$j" .exit_code 429
json_eq "$j" .attempts 1
assert_contains "$(printf '%s' "$j" | jq -r .error)" "HTTP 429"
wait_s=$(( ($(sql jobq.db "select run_at from jobs where id = $a") - $(date +%s%3N)) / 1000 ))
[ "$wait_s" -ge 25 ] && [ "$wait_s" -le 31 ] || fail "the job retries in ${wait_s}s, not ~30s"

# The pool is paused, shown in status (table and JSON) with until when.
s=$(jobq status --json)
json_eq "$s" .resources.api.paused true
json_eq "$s" '.resources.api.paused_until != null' true
json_eq "$s" '.paused[] | select(.name == "api") | .kind' resource
until_s=$(printf '%s' "$s" | jq -r '.resources.api.paused_until | sub("\\.[0-9]+Z$"; "Z") | fromdate')
left=$((until_s - $(date +%s)))
[ "$left" -ge 25 ] && [ "$left" -le 31 ] || fail "pool paused for ${left}s, not ~30s"
expect_code 0 jobq status
assert_contains "$OUT" "HTTP 429 with Retry-After (job $a)"
assert_contains "$(printf '%s\n' "$OUT" | grep '^api ')" "(in "

# The other jobs of the pool wait; a job of another pool runs.
b=$(jobq enqueue call '{"key": "q", "ra": "30"}')
c=$(jobq enqueue call '{"key": "q", "ra": "30"}')
f=$(jobq enqueue free '{}')
wait_state jobq.db "$f" succeeded 5
# Another claim round since (a second job of the other pool ran): the paused ones still wait.
f=$(jobq enqueue free '{}')
wait_state jobq.db "$f" succeeded 5
assert_eq "$(hits q)" 1 "requests to the quota-limited endpoint while paused"
for id in "$b" "$c"; do json_eq "$(jobq show --json "$id")" .attempts 0; done
assert_eq "$(sql jobq.db "select state from jobs where id in ($b, $c) order by id" | paste -sd,)" "queued,queued"

# resume --resource lifts it at once: the waiting jobs run (the server now answers 200).
expect_code 0 jobq resume --resource api
assert_contains "$OUT" "resumed"
wait_state jobq.db "$b" succeeded 5
wait_state jobq.db "$c" succeeded 5
json_eq "$(jobq status --json)" .resources.api.paused false
# The job that met the quota keeps its own retry time.
json_eq "$(jobq show --json "$a")" .state queued
expect_code 0 jobq cancel "$a"

# An operator's pause without an end is not shortened by a quota met meanwhile.
d=$(jobq enqueue callslow)
wait_state jobq.db "$d" running 5
expect_code 0 jobq pause --resource api --reason "by hand"
wait_state jobq.db "$d" queued 10
s=$(jobq status --json)
json_eq "$s" .resources.api.paused true
json_eq "$s" .resources.api.paused_until null
json_eq "$s" '.paused[] | select(.name == "api") | .reason' "by hand"
expect_code 0 jobq resume --resource api
expect_code 0 jobq cancel "$d"

# ---- exec: exit 75 with {"retry_after": "30s"} in JOBQ_REPORT ----
t1=$(jobq enqueue tool '{"key": "t1", "ra": "30s"}')
wait_for 10 test -e flag-t1
wait_state jobq.db "$t1" queued 5
j=$(jobq show --json "$t1")
json_eq "$j" .attempts 0
json_eq "$j" .exit_code 75
assert_contains "$(printf '%s' "$j" | jq -r .error)" "quota met"
s=$(jobq status --json)
json_eq "$s" .resources.tools.paused true
json_eq "$s" '.paused[] | select(.name == "tools") | .reason' "exit 75 with retry_after in JOBQ_REPORT (job $t1)"
expect_code 0 jobq status
assert_contains "$(printf '%s\n' "$OUT" | grep '^tools ')" "(in "
t2=$(jobq enqueue tool '{"key": "t2", "ra": "30s"}')
# A job of another pool enqueued after it ran: the workers have looked at t2 since.
f=$(jobq enqueue free '{}')
wait_state jobq.db "$f" succeeded 5
json_eq "$(jobq show --json "$t2")" .state queued
assert_eq "$(test -e flag-t2 && echo ran || echo waited)" waited "the other job of the pool"
expect_code 0 jobq resume --resource tools
wait_for 10 test -e flag-t2  # it runs now, meets the quota too and waits again
wait_until 10 'test "$(jobq status --json | jq .resources.tools.paused)" = true'
expect_code 0 jobq resume --resource tools
expect_code 0 jobq cancel "$t1" "$t2"

# The report folder is private (0700), one per attempt, and removed after it with what the
# command left there.
read -r dir mode < <(head -1 reports)
assert_eq "$mode" 700 "mode of the report folder"
[ ! -e "$dir" ] || fail "report folder '$dir' left behind"
assert_eq "$(awk '{print $1}' reports | sort -u | wc -l)" "$(wc -l <reports)" "report folders reused"

# ---- exec: an RFC 3339 time 2 s ahead: paused, then retried by itself after that ----
when=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
t3=$(jobq enqueue tool "{\"key\": \"t3\", \"ra\": \"$when\"}")
wait_for 10 test -e flag-t3
json_eq "$(jobq status --json)" .resources.tools.paused true
wait_state jobq.db "$t3" succeeded 15
j=$(jobq show --json "$t3")
json_eq "$j" .result done
[ "$(date +%s)" -ge "$(date -d "$when" +%s)" ] || fail "the job ran again before $when"
json_eq "$(jobq status --json)" .resources.tools.paused false

# An idle worker makes its next exec attempt's report folder ahead (off the path from the
# wake-up to the start); the next attempt takes one of those, and a stop removes them.
tmp=${TMPDIR:-/tmp}
workers=$(worker_pids "$SUP_PID")
ahead() { for w in $workers; do ls -d "$tmp/jobq-report.$w."?????? 2>/dev/null || true; done; }
# every worker's: the one that claims next may be any of them
wait_until 5 'test "$(ahead | wc -l)" -ge "$(printf "%s\n" $workers | wc -l)"'
before=$(ahead)
t4=$(jobq enqueue tool '{"key": "t3", "ra": "1"}') # its flag is there: it succeeds at once
wait_state jobq.db "$t4" succeeded 10
read -r dir mode < <(tail -1 reports)
assert_contains "$before" "$dir" "the attempt's report folder, made while the worker was idle"
assert_eq "$mode" 700 "mode of the report folder made ahead"
[ ! -e "$dir" ] || fail "report folder '$dir' left behind"
assert_eq "$(awk '{print $1}' reports | sort -u | wc -l)" "$(wc -l <reports)" "report folders reused"

stop_supervisor TERM
assert_eq "$SUP_RC" 0 "supervisor exit"
assert_eq "$(ahead)" "" "report folders made ahead, after the stop"
# Under the sanitizers, a leak or undefined behaviour in a worker shows in the logs only.
LOG=$(cat jobq.db.log)
assert_not_contains "$LOG" "Sanitizer" "logs"
assert_not_contains "$LOG" "runtime error" "logs"
echo ok
