#!/usr/bin/env bash
# Disk full while stopping, on a real size-limited tmpfs (root only; skipped otherwise):
# (a) the disk is full at SIGTERM and space comes back during the grace period: the pending
#     finishes go through, both jobs succeed with their results, exit 0;
# (b) the disk stays full: each worker gives up before the supervisor's kill deadline and exits
#     74, the supervisor names the jobs left running and exits 74; once space is freed, a new
#     `supervise --drain` recovers and runs them: nothing lost, the database intact;
# (c) meanwhile "cannot renew the lease" is logged once per job, not every second.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
sqlite_only "a SQLite database on a full file system"
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: $TEST_NAME needs root to mount a size-limited tmpfs" >&2
	exit 77
fi

MNT="$TEST_DIR/mnt"
mkdir "$MNT"

# Kill what is still running (a failed test may leave a supervisor waiting on the full disk),
# unmount, then the usual cleanup.
diskfull_cleanup() {
	local rc=$? pid i
	set +e
	for pid in $(jobs -p); do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	unmount_all "$MNT"
	(exit "$rc")
	e2e_cleanup
}
trap diskfull_cleanup EXIT

mount -t tmpfs -o size=4m,mode=0700 jobq-e2e-diskfull "$MNT" || fail "cannot mount a tmpfs"


# Each job waits for the file $TEST_DIR/go (outside the tmpfs), then prints its result: the
# test decides when the jobs end.
write_config() { # FILE GRACE
	cat >"$1" <<JSON
{"concurrency": {"global": 2}, "grace": "$2",
 "types": {"work": {"exec": ["bash", "-c", "while [ ! -e \"\$0\" ]; do sleep 0.05; done; echo \"result-\$JOBQ_JOB_ID\"", "$TEST_DIR/go"],
                    "max_attempts": 3}}}
JSON
}

# start DB CONFIG LOG: a supervisor whose log is outside the tmpfs.
start() {
	spawn "$JOBQ" --db "$1" --config "$2" supervise 2>>"$3"
	SUP_PID=$SPAWNED
	wait_for 10 sup_ready "$1" "$SUP_PID"
}

running_count() { sql "$1" "select count(*) from jobs where state = 'running'"; }
log_count() { grep -c -- "$2" "$1" || true; }

# Fill the disk under two running jobs, SIGTERM the supervisor, let the jobs end.
fill_and_stop() { # DB LOG
	CUR_DB=$1 CUR_LOG=$2
	wait_until 10 '[ "$(running_count "$CUR_DB")" = 2 ]'
	fill_fs "$MNT"
	kill -TERM "$SUP_PID"
	wait_for 10 grep -q "SIGTERM: stopping" "$CUR_LOG"
	touch "$TEST_DIR/go"
	wait_until 15 '[ "$(log_count "$CUR_LOG" "cannot finish, will retry")" = 2 ]'
}

# (a) Space comes back during the grace period.
rm -f go
write_config a.json 8s
A="$MNT/a.db"
jobq --db "$A" enqueue work '{}' >/dev/null
jobq --db "$A" enqueue work '{}' >/dev/null
start "$A" "$TEST_DIR/a.json" "$TEST_DIR/a.log"
fill_and_stop "$A" a.log
rm -f "$MNT/fill"
stop_supervisor TERM # already stopping: waits
[ "$SUP_RC" = 0 ] || fail "(a) supervisor exited $SUP_RC, expected 0; log: $(cat a.log)"
for id in 1 2; do
	job=$(jobq --db "$A" show --json "$id")
	json_eq "$job" .state succeeded
	json_eq "$job" .result "result-$id"
	json_eq "$job" .attempts 1
done
assert_contains "$(cat a.log)" "finished after"
assert_not_contains "$(cat a.log)" "giving up"
assert_not_contains "$(cat a.log)" "killing them"
assert_eq "$(sql "$A" "PRAGMA integrity_check")" ok "(a) integrity_check"

# (b) The disk stays full: exit 74, the jobs named, recovered by the next supervisor.
rm -f go
write_config b.json 4s
B="$MNT/b.db"
jobq --db "$B" enqueue work '{}' >/dev/null
jobq --db "$B" enqueue work '{}' >/dev/null
t0=$(date +%s)
start "$B" "$TEST_DIR/b.json" "$TEST_DIR/b.log"
fill_and_stop "$B" b.log
stop_supervisor TERM
t1=$(date +%s)
[ "$SUP_RC" = 74 ] || fail "(b) supervisor exited $SUP_RC, expected 74; log: $(cat b.log)"
log=$(cat b.log)
assert_contains "$log" "job 1: giving up: its outcome (succeeded) could not be recorded"
assert_contains "$log" "job 2: giving up: its outcome (succeeded) could not be recorded"
assert_contains "$log" "jobs 1, 2 left running"
assert_contains "$log" "recovery requeues them, the attempt counted"
assert_contains "$log" "stopped: 2 job outcomes not recorded, 2 jobs left running"
# The workers gave up by themselves, before the supervisor's kill deadline.
assert_not_contains "$log" "killing them"
[ "$(log_count b.log "exited 74: its job's outcome could not be recorded")" = 2 ] ||
	fail "(b) workers' exit 74 not seen: $log"

# (c) The lease renewals failed every second for several seconds; each job's warning is logged
# once (at most once per 30 s).
[ $((t1 - t0)) -ge 4 ] || fail "(b) took only $((t1 - t0)) s: too short to tell a rate limit"
for id in 1 2; do
	n=$(log_count b.log "job $id: cannot renew the lease")
	[ "$n" = 1 ] || fail "(c) job $id: 'cannot renew the lease' logged $n times: $log"
done

# Space freed: the next supervisor's recovery requeues both (attempt counted), they run again.
rm -f "$MNT/fill"
assert_eq "$(running_count "$B")" 2 "(b) jobs left running"
expect_code 0 timeout 60 "$JOBQ" --db "$B" --config "$TEST_DIR/b.json" supervise --drain
assert_contains "$ERR" "recovered 2 jobs"
for id in 1 2; do
	job=$(jobq --db "$B" show --json "$id")
	json_eq "$job" .state succeeded
	json_eq "$job" .result "result-$id"
	json_eq "$job" .attempts 2
done
assert_eq "$(sql "$B" "select count(*) from jobs")" 2 "(b) jobs"
assert_eq "$(sql "$B" "PRAGMA integrity_check")" ok "(b) integrity_check"

echo ok
