#!/usr/bin/env bash
# Clock jumps: the wall clock of every jobq process (and its jobs) is stepped while a supervisor
# runs, through libfaketime (Debian: faketime) with the monotonic clock left alone, as `date -s`
# or an NTP step would do. Skipped without libfaketime.
# (1) forward 2 hours: running jobs end (a lease that the jump expired before its next renewal
#     may be taken back by recovery: the job then runs again, its attempt counted), a job
#     delayed by an hour is due at once, new jobs run, none is left running;
# (2) back 1 hour: a running job ends normally (its lease only looks longer), new jobs run at
#     once, a job enqueued before the step is due again when the clock is back where it was
#     (run_at is a time of day: it waits out the step), none is lost.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

FT=
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1; do
	[ -e "$f" ] && FT=$f && break
done
if [ -z "$FT" ]; then
	echo "SKIP: $TEST_NAME needs libfaketime (apt-get install faketime)" >&2
	exit 77
fi
if asan_build; then
	echo "SKIP: $TEST_NAME: libfaketime cannot be preloaded before AddressSanitizer" >&2
	exit 77
fi

# Every jobq process reads the offset from this file at every clock call.
echo "+0" >clock
export FAKETIME_TIMESTAMP_FILE=$TEST_DIR/clock FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1
export LD_PRELOAD=$FT
set_clock() { echo "$1" >clock; }
[ "$(date +%s)" -ge 0 ] && set_clock "+1h" && now=$(date +%s) && set_clock "+0" && [ $((now - $(date +%s))) -ge 3500 ] ||
	{ echo "SKIP: $TEST_NAME: libfaketime does not step the clock here" >&2; exit 77; }

cat >jobq.json <<'JSON'
{"concurrency": {"global": 2},
 "types": {"s": {"exec": ["bash", "-c", "sleep 3; echo slept"]}, "t": {"builtin": "noop"}}}
JSON
chmod 0600 jobq.json
DB=$TEST_DIR/jobq.db
count() { sql "$DB" "select count(*) from jobs where $1"; }

# (1) Forward.
jobq enqueue s '{}' >/dev/null                  # 1
jobq enqueue s '{}' >/dev/null                  # 2
jobq enqueue t --delay 1h '{}' >/dev/null       # 3
start_supervisor jobq.db
wait_state "$DB" 1 running
wait_state "$DB" 2 running
set_clock "+2h"
wait_state "$DB" 3 succeeded 10
jobq enqueue t '{}' >/dev/null                  # 4
wait_state "$DB" 4 succeeded
wait_state "$DB" 1 succeeded 30
wait_state "$DB" 2 succeeded 30
for id in 1 2; do
	a=$(sql "$DB" "select attempts from jobs where id = $id")
	[ "$a" -le 2 ] || fail "(1) job $id: $a attempts"
	assert_eq "$(sql "$DB" "select result from jobs where id = $id")" slept "(1) job $id's result"
done
assert_eq "$(count "state <> 'succeeded'")" 0 "(1) jobs not succeeded"
kill -0 "$SUP_PID" || fail "(1) the supervisor is gone: $(cat jobq.db.log)"

# (2) Back: from +2h to +1h.
jobq enqueue t '{}' >/dev/null                  # 5: due at +2h
jobq enqueue s '{}' >/dev/null                  # 6
wait_state "$DB" 5 succeeded
wait_state "$DB" 6 running
set_clock "+1h"
jobq enqueue t '{}' >/dev/null                  # 7: enqueued after the step
wait_state "$DB" 7 succeeded
wait_state "$DB" 6 succeeded 30
assert_eq "$(sql "$DB" "select attempts from jobs where id = 6")" 1 "(2) job 6's attempts"
# Job 8 is enqueued at +2h (another producer whose clock was not stepped yet): due in an hour.
FAKETIME_TIMESTAMP_FILE= FAKETIME="+2h" jobq enqueue t '{}' >/dev/null   # 8
sleep 1.5
assert_eq "$(sql "$DB" "select state from jobs where id = 8")" queued "(2) job 8 before its time"
set_clock "+121m"
wait_state "$DB" 8 succeeded 15
assert_eq "$(count "state <> 'succeeded'")" 0 "(2) jobs not succeeded"
assert_eq "$(count "state = 'running'")" 0 "running jobs"
stop_supervisor
assert_eq "$SUP_RC" 0 "supervisor exit"
on_pg || assert_eq "$(sql "$DB" "PRAGMA integrity_check")" ok "integrity_check"
echo ok
