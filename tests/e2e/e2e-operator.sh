#!/usr/bin/env bash
# Operators: status, list, show (human and --json shapes), cancel, retry, pause, resume, prune,
# wait.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1

cat >jobq.json <<'JSON'
{"concurrency": {"global": 10, "types": {"enrich": 2}, "resources": {"ollama": 1, "cpu": 4}},
 "types": {"story": {"resources": ["ollama"]}, "enrich": {"resources": ["cpu:2"]}, "ping": {}}}
JSON

# status of an empty database.
expect_code 0 jobq enqueue ping
ping=$OUT
expect_code 0 jobq status --json
st=$OUT
json_eq "$st" '.supervisor.running' false
json_eq "$st" '.supervisor.pid' null
json_eq "$st" '.supervisor.stale' false
json_eq "$st" '.supervisor.workers' 0
json_eq "$st" '.counts | keys | join(",")' cancelled,failed,queued,running,succeeded
json_eq "$st" '.counts.queued' 1
json_eq "$st" '.types.ping.queued' 1
json_eq "$st" '.types.ping | keys | length' 5
json_eq "$st" '.resources | keys | join(",")' cpu,ollama
json_eq "$st" '.resources.ollama.capacity' 1
json_eq "$st" '.resources.ollama.used' 0
json_eq "$st" '.resources.ollama.paused_until' null
json_eq "$st" '.paused | length' 0
json_eq "$st" '.running | length' 0
json_eq "$st" '.oldest_queued_age_s | type' number
json_eq "$st" 'keys | join(",")' blocked,counts,hosts,oldest_queued_age_s,paused,resources,running,supervisor,types,unhandled
json_eq "$st" '.unhandled.ping' 1

# A mix of jobs.
expect_code 0 jobq enqueue story '{"title":"a long payload that the list summary has to cut short because it is long"}' \
	--batch b1 --namespace tenant-1
s1=$OUT
expect_code 0 jobq enqueue enrich '{"n":1}' --batch b1 --max-attempts 1
e1=$OUT
expect_code 0 jobq enqueue enrich '{"n":2}' --batch b1
e2=$OUT
expect_code 0 jobq enqueue enrich '{"n":3}' --batch b2 --delay 1h
e3=$OUT

# Claim two: the story (ollama) and one enrich (cpu:2), and check status while they run.
expect_code 0 jobq claim --type story
ts1=$(printf '%s' "$OUT" | jq -r .token)
expect_code 0 jobq claim --type enrich
te1=$(printf '%s' "$OUT" | jq -r .token)
json_eq "$OUT" .id "$e1"
expect_code 0 jobq status --json
st=$OUT
json_eq "$st" '.counts.running' 2
json_eq "$st" '.resources.ollama.used' 1
json_eq "$st" '.resources.cpu.used' 2
json_eq "$st" '.running | map(.id) | sort | map(tostring) | join(",")' "$s1,$e1"
json_eq "$st" '.running[0] | has("token") and has("lease_until") and has("payload")' true
json_eq "$st" '.types.enrich.running' 1
json_eq "$st" '.types.enrich.queued' 2
expect_code 0 jobq status
assert_contains "$OUT" "supervisor: not running"
assert_contains "$OUT" "jobs: 3 queued, 2 running, 0 succeeded, 0 failed, 0 cancelled"
assert_contains "$OUT" "oldest queued:"
assert_contains "$OUT" "TYPE"
assert_contains "$OUT" "POOL"
assert_contains "$OUT" "RUNNING"
grep -Eq "^ollama +1 +1 +-$" <<<"$OUT" || fail "pool line of ollama: $OUT"
grep -Eq "^enrich +2 +1 +0 +0 +0$" <<<"$OUT" || fail "type line of enrich: $OUT"

# show: every data model key, times RFC 3339, payload embedded.
expect_code 0 jobq show "$s1" --json
job=$OUT
for key in id type namespace payload state priority run_at attempts max_attempts timeout \
	resources unique_key batch result error exit_code created_at started_at finished_at \
	orphans_reaped worker_pid pgid lease_until token host; do
	json_eq "$job" "has(\"$key\")" true
done
json_eq "$job" '.payload.title | length > 10' true
json_eq "$job" '.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$")' true
json_eq "$job" .finished_at null
json_eq "$job" .namespace tenant-1
expect_code 0 jobq show "$s1"
assert_contains "$OUT" "id: $s1"
assert_contains "$OUT" "type: story"
assert_contains "$OUT" "state: running"
assert_contains "$OUT" "namespace: tenant-1"
assert_contains "$OUT" "batch: b1"
expect_code 1 jobq show 9999
assert_eq "$ERR" "jobq: job 9999: not found"
expect_code 1 jobq show 9999 --json

# list: human table and --json array with filters.
expect_code 0 jobq list
assert_contains "$(echo "$OUT" | head -1)" "ID"
assert_contains "$(echo "$OUT" | head -1)" "SUMMARY"
assert_eq "$(echo "$OUT" | wc -l)" 6 "list lines (header + 5 jobs)"
assert_contains "$OUT" "..."
expect_code 0 jobq list --json
json_eq "$OUT" 'length' 5
json_eq "$OUT" 'map(has("payload") and has("token")) | all' true
expect_code 0 jobq list --batch b1 --json
json_eq "$OUT" 'map(.id) | sort | map(tostring) | join(",")' "$s1,$e1,$e2"
expect_code 0 jobq list --state running --json
json_eq "$OUT" 'length' 2
expect_code 0 jobq list --type enrich --state queued --json
json_eq "$OUT" 'map(.id) | sort | map(tostring) | join(",")' "$e2,$e3"
expect_code 0 jobq list --namespace tenant-1 --json
json_eq "$OUT" 'map(.id) | join(",")' "$s1"
expect_code 0 jobq list --limit 2 --json
json_eq "$OUT" 'length' 2
expect_code 0 jobq list --limit 2
assert_eq "$(echo "$OUT" | wc -l)" 3 "list --limit 2 lines"
assert_contains "$ERR" "--limit"
expect_code 0 jobq list --batch nothing
assert_eq "$OUT" "no jobs"
expect_code 0 jobq list --batch nothing --json
assert_eq "$OUT" "[]"

# cancel: queued at once, running by request.
expect_code 0 jobq cancel "$e2" --json
json_eq "$OUT" .cancelled 1
json_eq "$OUT" .cancel_requested 0
expect_code 0 jobq show "$e2" --json
json_eq "$OUT" .state cancelled
expect_code 0 jobq cancel --batch b1
assert_contains "$OUT" "cancel requested for 2 running jobs"
expect_code 0 jobq show "$e1" --json
json_eq "$OUT" .cancel_requested true
expect_code 1 jobq cancel "$e2" 9999
expect_code 0 jobq cancel --type nothing --json
json_eq "$OUT" .cancelled 0
expect_code 64 jobq cancel "$e2" --batch b1

# The external workers finish: one fails for good, one succeeds.
expect_code 0 jobq fail "$e1" --token "$te1" --error cancelled-by-operator
expect_code 0 jobq complete "$s1" --token "$ts1" --result '"done"'

# retry: failed and cancelled jobs back to queued.
expect_code 0 jobq retry "$e2" --json
json_eq "$OUT" .retried 1
expect_code 0 jobq show "$e2" --json
json_eq "$OUT" .state queued
json_eq "$OUT" .attempts 0
expect_code 1 jobq retry "$s1"
assert_contains "$ERR" "not failed or cancelled"
expect_code 64 jobq retry --batch b1 --state succeeded
expect_code 0 jobq retry --batch b2 --state failed --json
json_eq "$OUT" .retried 0

# pause / resume: types, everything, pools.
expect_code 0 jobq enqueue ping
p2=$OUT
expect_code 0 jobq pause ping --reason 'maintenance'
assert_contains "$OUT" "paused type 'ping' until resumed"
expect_code 1 jobq claim --type ping
expect_code 0 jobq status --json
json_eq "$OUT" '.paused | map(select(.kind == "type" and .name == "ping")) | length' 1
json_eq "$OUT" '.paused[0].reason' maintenance
expect_code 0 jobq resume ping --json
json_eq "$OUT" .resumed true
expect_code 0 jobq resume ping --json
json_eq "$OUT" .resumed false
expect_code 0 jobq pause --all --json
json_eq "$OUT" .kind all
expect_code 1 jobq claim
expect_code 0 jobq resume --all
expect_code 0 jobq claim --type ping
json_eq "$OUT" .id "$ping"
tp=$(printf '%s' "$OUT" | jq -r .token)
expect_code 0 jobq complete "$ping" --token "$tp"
expect_code 0 jobq enqueue story '{"n":2}'
s2=$OUT
expect_code 0 jobq pause --resource ollama --for 1h --json
json_eq "$OUT" .kind resource
json_eq "$OUT" .name ollama
json_eq "$OUT" '.until | type' string
expect_code 1 jobq claim --type story
expect_code 0 jobq status --json
json_eq "$OUT" '.resources.ollama.paused_until | type' string
expect_code 0 jobq status
assert_contains "$OUT" "in 59m"
expect_code 0 jobq resume --resource ollama
expect_code 0 jobq claim --type story
json_eq "$OUT" .id "$s2"
expect_code 64 jobq pause ping --until 2000-01-01T00:00:00Z
expect_code 64 jobq pause ping --all
expect_code 65 jobq pause 'Bad Type'

# wait: ids and batches, exit 0 when all succeeded, 1 when one failed or was cancelled.
expect_code 0 jobq wait "$s1" "$ping" --json
json_eq "$OUT" .succeeded 2
expect_code 0 jobq show "$e1" --json
e1_state=$(printf '%s' "$OUT" | jq -r .state)
case "$e1_state" in failed | cancelled) ;; *) fail "e1 ended $e1_state" ;; esac
expect_code 1 jobq wait "$s1" "$e1"
assert_contains "$OUT" "2 jobs: 1 succeeded"
expect_code 1 jobq wait 424242
assert_contains "$ERR" "job 424242: not found"
expect_code 1 jobq wait --batch no-such-batch
expect_code 75 jobq wait "$p2" --timeout 300ms
assert_contains "$ERR" "timed out"
# A job finished by another process while wait blocks; --progress prints plain lines when
# stderr is not a terminal.
spawn bash -c "sleep 0.5; \"$JOBQ\" cancel $p2 >/dev/null"
expect_code 1 jobq wait "$p2" --progress --timeout 20s
assert_contains "$ERR" "1/1 done, 0 failed, 1 cancelled"
assert_contains "$OUT" "1 job: 0 succeeded, 0 failed, 1 cancelled"

# prune: finished jobs older than the given age.
expect_code 0 jobq prune --older-than 1d --json
json_eq "$OUT" .pruned 0
wait_until 10 'test "$(sql jobq.db "select count(*) from jobs where finished_at > $NOW_MS - 1100")" = 0'
n_state=$(sql jobq.db "select count(*) from jobs where state = '$e1_state'")
expect_code 0 jobq prune --older-than 1s --state "$e1_state" --json
json_eq "$OUT" .pruned "$n_state"
expect_code 1 jobq show "$e1"
finished=$(sql jobq.db "select count(*) from jobs where state in ('succeeded', 'failed', 'cancelled')")
expect_code 0 jobq prune --older-than 1s
assert_eq "$OUT" "pruned $finished jobs"
assert_eq "$(sql jobq.db "select count(*) from jobs where state in ('succeeded', 'failed', 'cancelled')")" 0
[ "$(sql jobq.db "select count(*) from jobs where state in ('queued', 'running')")" -gt 0 ] ||
	fail "prune removed live jobs"
expect_code 64 jobq prune --older-than 1d --state queued

echo ok
