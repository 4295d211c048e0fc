# Helpers of the end-to-end tests that run a supervisor (source after lib.sh).

FAKE_LLM="$JOBQ_SRC/contrib/fake-llm"

# start_supervisor DB [ARGS...]: run `jobq --db DB supervise ARGS` in the background, its log in
# DB.log; wait until its runtime file names it. Sets SUP_PID.
start_supervisor() {
	local db=$1
	shift
	spawn "$JOBQ" --db "$db" supervise "$@" 2>>"$db.log"
	SUP_PID=$SPAWNED
	wait_for 10 sup_ready "$db" "$SUP_PID"
}

# Ready: its runtime file names it. On PostgreSQL the runtime files are in the test's state
# folder, one per database and host id (the pid tells them apart), else `jobq status --json`
# reads the right one for us.
sup_ready() {
	local pids
	if ! on_pg; then
		[ "$(jq -r .pid "$1.runtime.json" 2>/dev/null)" = "$2" ]
		return
	fi
	pids=$(find "$(pg_state_dir)" -name '*runtime.json' -exec jq -r .pid {} + 2>/dev/null || true)
	if [ -n "$pids" ]; then
		grep -qx -- "$2" <<<"$pids"
	else
		[ "$("$JOBQ" --db "$1" status --json 2>/dev/null | jq -r .supervisor.pid)" = "$2" ]
	fi
}

# stop_supervisor [SIG]: signal SUP_PID (TERM) and wait for it; its exit code in SUP_RC.
stop_supervisor() {
	kill -"${1:-TERM}" "$SUP_PID" 2>/dev/null || true
	set +e
	wait "$SUP_PID"
	SUP_RC=$?
	set -e
}

# wait_state DB ID STATE [SECONDS]
wait_state() {
	wait_for "${4:-20}" state_is "$1" "$2" "$3"
}
state_is() { [ "$(sql "$1" "select state from jobs where id = $2")" = "$3" ]; }

# count_procs PATTERN: processes whose command line matches (pgrep -f), not counting pgrep.
count_procs() { pgrep -f -c -- "$1" || true; }

# worker_pids SUP_PID: the pids of the supervisor's workers.
worker_pids() { pgrep -P "$1" -f 'worker' || true; }
