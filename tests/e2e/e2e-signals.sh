#!/usr/bin/env bash
# How the supervisor stops, seen from what it and its workers log and from the state its jobs
# reach, never from how long it took: SIGINT stops it as SIGTERM does; on either, the workers are
# told to shut down and stop their handlers themselves at the end of the grace period (the
# supervisor's SIGKILL at grace + 5 s is the last resort, not the way they stop).
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

# The exec job's command line is unique to this run (other tests run "sleep 300" beside it).
tag="300.$$"
cat >jobq.json <<JSON
{"concurrency": {"global": 2}, "grace": "1s",
 "types": {"nap": {"builtin": "sleep"}, "long": {"exec": ["sleep", "$tag"]}}}
JSON

# stopped_by SIG: start a supervisor with a running builtin job and an exec job, send SIG, and
# check how everything stopped.
stopped_by() {
	local sig=$1 db=$1.db a b log ws w
	start_supervisor "$db"
	a=$(jobq --db "$db" enqueue nap '{"ms": 300000}')
	b=$(jobq --db "$db" enqueue long)
	wait_state "$db" "$a" running 10
	wait_state "$db" "$b" running 10
	ws=$(worker_pids "$SUP_PID")
	kill -"$sig" "$SUP_PID"
	# The supervisor says it stops (a signal it ignored would leave this line out), then waits
	# for its workers.
	wait_for 20 grep -q "SIG$sig: stopping" "$db.log"
	stop_supervisor "$sig"
	log=$(cat "$db.log")
	assert_eq "$SUP_RC" 0 "exit status after SIG$sig"
	# Told to shut down, each worker stopped its handler at the end of the grace period...
	assert_eq "$(grep -c "grace period over: stopping the handler" <<<"$log")" 2 \
		"workers that stopped their handler after SIG$sig: $log"
	# ...so the supervisor never had to kill a worker, and no outcome was lost.
	assert_not_contains "$log" "killing them" "supervisor log after SIG$sig"
	assert_not_contains "$log" "could not be recorded" "supervisor log after SIG$sig"
	assert_contains "$log" "stopped"
	# Both jobs were given back by their workers, due at once, their attempts not counted
	# against them as failures.
	for id in "$a" "$b"; do
		json_eq "$(jobq --db "$db" show --json "$id")" .state queued
	done
	assert_eq "$(sql "$db" "select count(*) from jobs where run_at > $NOW_MS + 1000")" 0 \
		"jobs stopped by SIG$sig due later"
	assert_eq "$(count_procs "sleep $tag")" 0 "exec job left after SIG$sig"
	for w in $ws; do
		! kill -0 "$w" 2>/dev/null || fail "worker $w left after SIG$sig"
	done
}

sigint() { stopped_by INT; }
sigterm() { stopped_by TERM; }
alone "SIGINT stops the supervisor and its workers like SIGTERM" sigint
alone "SIGTERM: the workers are told to shut down and stop their handlers themselves" sigterm
