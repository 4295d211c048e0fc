#!/usr/bin/env bash
# Crashes: a worker killed with SIGKILL mid-job (its job's processes are killed, the job is
# requeued with the attempt counted, the worker restarted); the supervisor and every worker
# killed at once (the next start kills what the job left, found by its environment, and
# requeues it). Nothing is lost, nothing is left running.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

tag="jobq-crash-$$"
# The workers' JOBQ_REPORT folders go to a TMPDIR of this test's own.
export TMPDIR_JOBQ="$PWD/tmp" && mkdir -p "$TMPDIR_JOBQ" && export TMPDIR="$TMPDIR_JOBQ"
# The job's first attempt hangs (with a helper in a new session); later attempts succeed.
cat >jobq.json <<JSON
{
  "concurrency": {"global": 1},
  "types": {
    "flaky": {"exec": ["bash", "-c", "(setsid bash -c 'exec -a $tag-helper-\$JOBQ_JOB_ID-\$JOBQ_ATTEMPT sleep 300' &); (setsid env -i bash -c 'exec -a $tag-noenv-\$0 sleep 300' \$JOBQ_ATTEMPT &); if [ \"\$JOBQ_ATTEMPT\" = 1 ]; then exec -a $tag-leader sleep 300; fi; echo attempt \$JOBQ_ATTEMPT"]}
  }
}
JSON

# 1. kill -9 of a worker mid-job.
step "1. kill -9 of a worker mid-job"
start_supervisor jobq.db
id=$(jobq enqueue flaky)
wait_for 10 pgrep -f "$tag-leader"
wait_for 10 pgrep -f "$tag-helper-$id-1"
wait_for 10 pgrep -f "$tag-noenv-1"
w=$(worker_pids "$SUP_PID")
[ -n "$w" ] || fail "no worker found"
ls -d "$TMPDIR_JOBQ"/jobq-report."$w".* >/dev/null 2>&1 || fail "no JOBQ_REPORT folder of worker $w"
kill -9 $w
wait_state jobq.db "$id" succeeded 20
j=$(jobq show --json "$id")
json_eq "$j" .attempts 2
json_eq "$j" .result "attempt 2"
assert_contains "$(cat jobq.db.log)" "worker 1 (pid $w) died"
# the killed worker's JOBQ_REPORT folder went with it
! ls -d "$TMPDIR_JOBQ"/jobq-report."$w".* >/dev/null 2>&1 || fail "report folder of worker $w left"
assert_contains "$(cat jobq.db.log)" "job $id: worker $w is gone"
w2=$(worker_pids "$SUP_PID")
[ -n "$w2" ] && [ "$w2" != "$w" ] || fail "worker not restarted ($w -> $w2)"
assert_eq "$(count_procs "$tag-leader")" 0 "leader left after the worker was killed"
# Attempt 1's leftovers were killed by the supervisor (recovery by environment; the one with no
# environment as a stray child): attempt 2's own cleanup only matches attempt 2.
wait_until 5 'test "$(count_procs "$tag-helper-$id-1")" = 0'
wait_until 5 'test "$(count_procs "$tag-noenv-1")" = 0'
# status names the new worker, not the dead one
wait_until 5 'test "$(jobq status --json | jq -c .supervisor.worker_pids)" = "[$w2]"'
wait_until 5 'test "$(count_procs "$tag-helper")" = 0'

# 2. kill -9 of the supervisor and every worker at once.
step "2. kill -9 of the supervisor and every worker at once"
pkill -f "$tag-noenv" || true
id=$(jobq enqueue flaky)
wait_for 10 pgrep -f "$tag-helper-$id-1"
wait_for 10 pgrep -f "$tag-leader"
old_workers=$(worker_pids "$SUP_PID")
kill -9 "$SUP_PID" $old_workers
wait "$SUP_PID" 2>/dev/null || true
# The helper in its own session survives the crash (re-parented to init)...
wait_for 10 gone $old_workers
assert_eq "$(count_procs "$tag-helper-$id-1")" 1 "helper alive after the crash"
assert_eq "$(sql jobq.db "select state from jobs where id = $id")" running
ls -d "$TMPDIR_JOBQ"/jobq-report.* >/dev/null 2>&1 || fail "no report folder left by the crash"
# ...until the next start recovers the job and kills it by its environment, and removes the
# killed workers' report folders.
start_supervisor jobq.db
for p in $old_workers; do
	! ls -d "$TMPDIR_JOBQ"/jobq-report."$p".* >/dev/null 2>&1 || fail "report folder of killed worker $p left"
done
wait_state jobq.db "$id" succeeded 20
json_eq "$(jobq show --json "$id")" .attempts 2
wait_until 5 'test "$(count_procs "$tag-helper-$id-1")" = 0'
wait_until 5 'test "$(count_procs "$tag-helper")" = 0'
pkill -f "$tag-noenv" || true # re-parented to init by the crash: nobody's child, no identity
assert_eq "$(count_procs "$tag-leader")" 0
stop_supervisor TERM
assert_eq "$SUP_RC" 0

# 3. A recorded process group whose leader pid now belongs to another process (recycled) is
# never signalled: fake the record with a live unrelated process of a different start time.
recycled_pid() {
	sleep 300 &
	victim=$!
	BG_PIDS+=("$victim")
	id=$(jobq enqueue flaky)
	sql jobq.db "update jobs set state = 'running', attempts = 1, worker_pid = 999999999, worker_start = 1, pgid = $victim, pgid_start = 1, token = 7, lease_until = 0, started_at = 0 where id = $id"
	start_supervisor jobq.db
	wait_state jobq.db "$id" succeeded 20
	kill -0 "$victim" || fail "a process with a recycled pid was killed"
	stop_supervisor TERM
}
alone "3. A recorded process group whose leader pid now belongs to another process (recycled) is never..." recycled_pid

# 4. After a crash, the recovery kills the job's whole process group: a member without the job's
# environment (env -i), re-parented to init, is found only through its group (proven the job's by
# another member that carries its identity), not by its environment nor as anyone's child.
group_kill() {
	cat >jobq.json <<-JSON
	{"concurrency": {"global": 1},
	 "types": {"grp": {"exec": ["bash", "-c", "[ \"\$JOBQ_ATTEMPT\" = 1 ] || exit 0; (exec -a $tag-grp-env sleep 300 &); (env -i bash -c 'exec -a $tag-grp-noenv sleep 300' &); exec sleep 300"]}}}
	JSON
	start_supervisor jobq.db
	id=$(jobq enqueue grp)
	wait_for 10 pgrep -f "$tag-grp-noenv"
	wait_for 10 pgrep -f "$tag-grp-env"
	wait_until 10 'test -n "$(sql jobq.db "select pgid from jobs where id = $id")"'
	pgid=$(sql jobq.db "select pgid from jobs where id = $id")
	assert_eq "$(ps -o pgid= -p "$(pgrep -f "$tag-grp-noenv")" | tr -d ' ')" "$pgid" "the env -i member's group"
	old_workers=$(worker_pids "$SUP_PID")
	kill -9 "$SUP_PID" $old_workers
	wait "$SUP_PID" 2>/dev/null || true
	# The leader dies with its worker (parent-death signal); the two members live on, orphans.
	wait_for 10 gone $old_workers
	assert_eq "$(count_procs "$tag-grp-noenv")" 1 "group member alive after the crash"
	start_supervisor jobq.db
	wait_state jobq.db "$id" succeeded 20
	wait_until 10 'test "$(count_procs "$tag-grp-env")" = 0'
	wait_until 10 'test "$(count_procs "$tag-grp-noenv")" = 0'
	stop_supervisor TERM
	assert_eq "$SUP_RC" 0
}
alone "4. After a crash, the recovery kills the job's whole process group" group_kill

echo ok
