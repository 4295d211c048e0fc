#!/usr/bin/env bash
# Handlers that misbehave with their pipes, and a wake-up FIFO nobody reads:
# (1) a handler that floods stdout (100 MB) and stderr (50 MB): the result is cut at output_max,
#     the error's tail at stderr_max, the worker's memory stays bounded, the job succeeds;
# (2) a handler that closes stdout (and stderr) early and keeps running: the job ends when the
#     command ends, not when its output does; what it wrote before is the result;
# (3) a handler that closes stdin without reading a large payload: the worker survives (no
#     SIGPIPE), the job's exit status decides;
# (4) a full wake-up FIFO (the supervisor stopped, 64 KiB and more written into DB.wake): enqueue
#     neither blocks nor fails; once the supervisor runs again the jobs run. No supervisor at all
#     (a FIFO without a reader): the same.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

cat >jobq.json <<'JSON'
{"concurrency": {"global": 2}, "output_max": "64KiB", "stderr_max": "4KiB",
 "types": {
   "flood": {"exec": ["bash", "-c", "head -c 100000000 /dev/zero | tr '\\0' y; head -c 50000000 /dev/zero | tr '\\0' e >&2; exit 0"]},
   "floodfail": {"exec": ["bash", "-c", "head -c 50000000 /dev/zero | tr '\\0' e >&2; echo last-words >&2; exit 3"], "max_attempts": 1},
   "closer": {"exec": ["bash", "-c", "echo early; exec >&- 2>&-; sleep 1.5; exit 0"]},
   "closer3": {"exec": ["bash", "-c", "echo early; exec >&- 2>&-; sleep 0.5; exit 3"], "max_attempts": 1},
   "deaf": {"exec": ["bash", "-c", "exec 0<&-; sleep 0.3; echo fine"]},
   "t": {"builtin": "noop"}}}
JSON
chmod 0600 jobq.json
DB=$TEST_DIR/jobq.db
row() { sql "$DB" "select $2 from jobs where id = $1"; }
# ended ID: 1 when job ID is in a final state (a CASE: PostgreSQL prints a boolean as t/f).
ended() { row "$1" "CASE WHEN state in ('succeeded', 'failed') THEN 1 ELSE 0 END"; }

# (1)-(3) under one supervisor.
jobq enqueue flood '{}' >/dev/null                       # 1
jobq enqueue floodfail '{}' >/dev/null                   # 2
jobq enqueue closer '{}' >/dev/null                      # 3
jobq enqueue closer3 '{}' >/dev/null                     # 4
head -c 900000 /dev/zero | tr '\0' p | jq -Rc '{big: .}' | jobq enqueue deaf - >/dev/null  # 5
start_supervisor jobq.db
for id in 1 2 3 4 5; do wait_until 60 '[ "$(ended '$id')" = 1 ]'; done

assert_eq "$(row 1 state)" succeeded "(1) flood"
assert_eq "$(row 1 'length(result)')" 65536 "(1) result length"
[ "$(row 1 result)" = "$(head -c 65536 /dev/zero | tr '\0' y)" ] || fail "(1) result bytes"
assert_eq "$(row 2 state)" failed "(1) floodfail"
err2=$(row 2 error)
assert_contains "$err2" "exit status 3: "
assert_contains "$err2" "last-words"
[ "${#err2}" -le 4200 ] || fail "(1) error of ${#err2} bytes, stderr_max is 4 KiB"
# The workers' peak memory: the output is streamed and cut, never held (100 MB were written;
# AddressSanitizer's own memory needs a higher bar).
max_kb=32768
asan_build && max_kb=90000
for w in $(worker_pids "$SUP_PID"); do
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$w/status")
	[ "$hwm" -lt "$max_kb" ] || fail "(1) worker $w peaked at $hwm kB"
done

assert_eq "$(row 3 state)" succeeded "(2) closer"
assert_eq "$(row 3 result)" early "(2) result"
ms=$(row 3 'finished_at - started_at')
[ "$ms" -ge 1400 ] || fail "(2) the job ended after $ms ms, before its command (1.5 s)"
assert_eq "$(row 4 state)" failed "(2) closer3"
assert_eq "$(row 4 error)" "exit status 3" "(2) closer3 error"
assert_eq "$(row 4 exit_code)" 3 "(2) closer3 exit code"

assert_eq "$(row 5 state)" succeeded "(3) deaf"
assert_eq "$(row 5 result)" fine "(3) result"
assert_not_contains "$(cat jobq.db.log)" "died with status" "(3) a worker died"

# (4) A full FIFO: the supervisor stopped (SIGSTOP) reads nothing.
kill -STOP "$SUP_PID"
python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
n = 0
try:
    while True:
        n += os.write(fd, b"x" * 4096)
except BlockingIOError:
    pass
print(n)' $(db_file jobq.db wake) >fifo.bytes
[ "$(cat fifo.bytes)" -ge 65536 ] || fail "(4) only $(cat fifo.bytes) bytes fit in the FIFO"
for i in 1 2 3; do
	expect_code 0 timeout 10 "$JOBQ" --db "$DB" enqueue t '{}'
done
kill -CONT "$SUP_PID"
for id in 6 7 8; do wait_state "$DB" "$id" succeeded; done
stop_supervisor
assert_eq "$SUP_RC" 0 "(4) supervisor exit"

# ... and no supervisor: the FIFO has no reader. (On PostgreSQL enqueue sends a NOTIFY and
# never opens the FIFO: only the supervisor does.)
on_pg || [ -p jobq.db.wake ] || mkfifo -m 0600 jobq.db.wake
expect_code 0 timeout 10 "$JOBQ" --db "$DB" enqueue t '{}'
assert_eq "$(sql "$DB" "select count(*) from jobs where state = 'queued'")" 1 "(4) queued"
expect_code 0 timeout 30 "$JOBQ" --db "$DB" supervise --drain
assert_eq "$(sql "$DB" "select count(*) from jobs where state = 'running'")" 0 "running jobs"
on_pg || assert_eq "$(sql "$DB" "PRAGMA integrity_check")" ok "integrity_check"
echo ok
