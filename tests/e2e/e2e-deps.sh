#!/usr/bin/env bash
# Dependencies (enqueue --after) and batch callbacks (--on-batch-done) through the real binary:
# blocked jobs are not claimed, run after their parents, are cancelled with a failed or cancelled
# parent (transitively), come back with a retried parent; the batch callback comes once.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

cat >jobq.json <<'JSON'
{"concurrency": {"global": 4}, "workers": 4,
 "types": {"ok": {"builtin": "noop"}, "nap": {"builtin": "sleep"},
           "bad": {"exec": ["false"], "max_attempts": 1},
           "flaky": {"exec": ["test", "-e", "flag"], "max_attempts": 1},
           "report": {"exec": ["cat"]}}}
JSON

# Without a supervisor: a child is not claimable while its parent waits.
a=$(jobq enqueue ok)
b=$(jobq enqueue ok --after "$a" --priority 100)
c=$(jobq enqueue ok --after "$b" --priority 100)
expect_code 65 jobq enqueue ok --after "$a,999"
assert_contains "$ERR" "--after: no job 999"
expect_code 64 jobq enqueue ok --after x
printf '{"payload": {}, "after": [%s]}\n{"payload": {}, "after": [777]}\n' "$a" >env.jsonl
expect_code 65 jobq enqueue ok --jsonl env.jsonl
assert_contains "$ERR" "line 2: --after: no job 777"
assert_eq "$(sql jobq.db "select count(*) from jobs")" 3 "nothing written by the refused enqueues"
expect_code 0 jobq show "$b"
assert_contains "$OUT" "after: $a (queued)"
assert_contains "$OUT" "blocked_by: $a"
expect_code 0 jobq status --json
json_eq "$OUT" .blocked 2
expect_code 0 jobq claim --json
json_eq "$OUT" .id "$a"
token=$(printf '%s' "$OUT" | jq -r .token)
expect_code 1 jobq claim
expect_code 0 jobq complete "$a" --token "$token"
expect_code 0 jobq claim --json
json_eq "$OUT" .id "$b"
jobq complete "$b" --token "$(printf '%s' "$OUT" | jq -r .token)" >/dev/null
expect_code 0 jobq show "$c" --json
json_eq "$OUT" '.after[0].state' succeeded
json_eq "$OUT" '.blocked_by | length' 0

# With the supervisor: a chain runs in order.
start_supervisor jobq.db
wait_state jobq.db "$c" succeeded
p=$(jobq enqueue nap '{"ms": 300}')
q=$(jobq enqueue nap '{"ms": 10}' --after "$p")
r=$(jobq enqueue ok --after "$p,$q")
wait_state jobq.db "$r" succeeded
assert_eq "$(sql jobq.db "select CASE WHEN (select started_at from jobs where id = $q) >= (select finished_at from jobs where id = $p) THEN 1 ELSE 0 END")" 1 "q after p"
assert_eq "$(sql jobq.db "select CASE WHEN (select started_at from jobs where id = $r) >= (select finished_at from jobs where id = $q) THEN 1 ELSE 0 END")" 1 "r after q"

# A parent that fails for good cancels its descendants; retrying it brings them back.
# (flaky is paused until the chain is queued: under load, a delay could end before h is queued,
# and h would then be cancelled at once by g, not by f.)
jobq pause flaky >/dev/null
f=$(jobq enqueue flaky)
g=$(jobq enqueue ok --after "$f")
h=$(jobq enqueue ok --after "$g")
jobq resume flaky >/dev/null
wait_state jobq.db "$h" cancelled
assert_eq "$(sql jobq.db "select state from jobs where id = $f")" failed
expect_code 0 jobq show "$h" --json
json_eq "$OUT" .error "dependency $f failed"
touch flag
expect_code 0 jobq retry "$f"
wait_state jobq.db "$h" succeeded
assert_eq "$(sql jobq.db "select state from jobs where id = $g")" succeeded

# A cancelled parent cancels its child; a child of a failed parent is cancelled at once.
x=$(jobq enqueue ok --delay 1h)
y=$(jobq enqueue ok --after "$x")
jobq cancel "$x" >/dev/null
wait_state jobq.db "$y" cancelled
assert_eq "$(sql jobq.db "select error from jobs where id = $y")" "dependency $x cancelled"
z=$(jobq enqueue ok --after "$x")
assert_eq "$(sql jobq.db "select state from jobs where id = $z")" cancelled

# The batch callback: once, with the counts, even with four workers finishing together.
# (paused until the batch is whole: the 30 naps could otherwise all end before bad is queued.)
for i in $(seq 30); do echo '{"ms": 20}'; done >nb.jsonl
jobq pause --all >/dev/null
jobq enqueue nap --batch nb --jsonl nb.jsonl --on-batch-done report >/dev/null
jobq enqueue bad --batch nb >/dev/null
jobq resume --all >/dev/null
expect_code 64 jobq enqueue ok --on-batch-done report
expect_code 65 jobq enqueue ok --batch nb2 --on-batch-done nope
assert_contains "$ERR" "unknown type 'nope'"
jobq wait --batch nb >/dev/null 2>&1 || true
wait_until 20 '[ "$(sql jobq.db "select count(*) from jobs where type = '"'report'"' and state = '"'succeeded'"'")" = 1 ]'
sleep 0.5
assert_eq "$(sql jobq.db "select count(*) from jobs where type = 'report'")" 1 "one callback job"
result=$(sql jobq.db "select result from jobs where type = 'report'")
json_eq "$result" .batch nb
json_eq "$result" .counts.succeeded 30
json_eq "$result" .counts.failed 1
json_eq "$result" .counts.cancelled 0
json_eq "$result" .total 31

stop_supervisor TERM
assert_eq "$SUP_RC" 0
echo ok
