#!/usr/bin/env bash
# jobq wait on a batch worked by the supervisor: the live bar on a terminal (through a pty made
# by script(1)), plain lines otherwise, exit 0 when all succeeded and 1 when one failed.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

cat >jobq.json <<'JSON'
{"concurrency": {"global": 2}, "types": {"nap": {"builtin": "sleep"},
 "bad": {"exec": ["false"], "max_attempts": 1}}}
JSON
for i in $(seq 20); do echo '{"ms": 100}'; done | jobq enqueue nap --batch b1 --jsonl - >/dev/null
start_supervisor jobq.db
script -qec "$JOBQ wait --batch b1 --progress" /dev/null >tty.out </dev/null || fail "wait on a tty: $(cat tty.out)"
tty=$(cat tty.out)
assert_contains "$tty" $'\r' "carriage returns of the live bar"
assert_contains "$tty" "[####################] 20/20 done, 0 failed"
assert_contains "$tty" "20 jobs: 20 succeeded, 0 failed, 0 cancelled"

# Not a terminal: plain lines, no carriage return. One job fails: exit 1.
for i in $(seq 5); do echo '{"ms": 50}'; done | jobq enqueue nap --batch b2 --jsonl - >/dev/null
jobq enqueue bad --batch b2 >/dev/null
expect_code 1 jobq wait --batch b2 --progress
assert_not_contains "$ERR$OUT" $'\r'
assert_contains "$ERR$OUT" "6 jobs: 5 succeeded, 1 failed, 0 cancelled"
expect_code 0 jobq wait --batch b1 --json
json_eq "$OUT" .succeeded 20
stop_supervisor TERM
assert_eq "$SUP_RC" 0
echo ok
