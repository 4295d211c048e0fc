#!/usr/bin/env bash
# No process outlives its job: children left in the group, double-forked ones, ones that called
# setsid, on success, on timeout and on cancel of a running job; the job records how many
# orphans were reaped.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

tag="jobq-orphan-$$"
cat >jobq.json <<JSON
{
  "concurrency": {"global": 2},
  "grace": "1s",
  "types": {
    "leaky": {"exec": ["bash", "-c", "exec -a $tag-group sleep 300 & (setsid bash -c 'exec -a $tag-setsid sleep 301' &) ; (bash -c 'exec -a $tag-dfork sleep 302' &) ; echo started"]},
    "llm": {"exec": ["$FAKE_LLM", "--ms", "100", "{payload.prompt}"]},
    "hang": {"exec": ["bash", "-c", "trap '' TERM; (setsid bash -c 'trap \"\" TERM; exec -a $tag-hang sleep 303' &); exec -a $tag-hangleader sleep 304"], "timeout": "1s", "max_attempts": 1},
    "long": {"exec": ["bash", "-c", "(setsid bash -c 'exec -a $tag-long sleep 305' &); exec sleep 306"]}
  }
}
JSON
id1=$(jobq enqueue leaky)
id2=$(jobq enqueue llm '{"prompt": "hi"}')
id3=$(jobq enqueue hang)
expect_code 0 timeout 60 "$JOBQ" supervise --drain
j1=$(jobq show --json "$id1")
json_eq "$j1" .state succeeded
json_eq "$j1" .result started
json_eq "$j1" .orphans_reaped 3
j2=$(jobq show --json "$id2")
json_eq "$j2" .state succeeded
json_eq "$j2" .result.prompt hi
json_eq "$j2" .orphans_reaped 1
# The timeout kills even what ignores SIGTERM (SIGKILL after the grace period).
j3=$(jobq show --json "$id3")
json_eq "$j3" .state failed
assert_contains "$(printf '%s' "$j3" | jq -r .error)" "timed out after 1s"
json_eq "$j3" .exit_code 137
assert_eq "$(count_procs "$tag")" 0 "processes left behind"
assert_eq "$(count_procs fake-mcp-server.*600)" 0 "fake MCP servers left behind"

# Cancel of a running job: TERM to the group and its leftovers, state cancelled, within a
# second or two (grace 1s).
start_supervisor jobq.db
id=$(jobq enqueue long)
wait_state jobq.db "$id" running 5
wait_for 5 pgrep -f "$tag-long"
t0=$(date +%s%N)
expect_code 0 jobq cancel "$id"
wait_state jobq.db "$id" cancelled 20
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -lt 10000 ] || fail "cancel took $(((t1 - t0) / 1000000)) ms"
assert_eq "$(count_procs "$tag")" 0 "processes left after cancel"
json_eq "$(jobq show --json "$id")" .orphans_reaped 1

# Cancel by type while several run.
cat >jobq.json <<JSON
{"concurrency": {"global": 2}, "grace": "1s", "types": {"long": {"exec": ["bash", "-c", "(setsid bash -c 'exec -a $tag-long sleep 305' &); exec sleep 306"]}}}
JSON
kill -HUP "$SUP_PID"
a=$(jobq enqueue long)
b=$(jobq enqueue long)
c=$(jobq enqueue long)
wait_state jobq.db "$a" running 5
wait_state jobq.db "$b" running 5
expect_code 0 jobq cancel --type long
for id in "$a" "$b" "$c"; do wait_state jobq.db "$id" cancelled 5; done
stop_supervisor TERM
assert_eq "$SUP_RC" 0
assert_eq "$(count_procs "$tag")" 0 "processes left after cancel --type"
echo ok
