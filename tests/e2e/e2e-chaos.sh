#!/usr/bin/env bash
# Chaos: 2,000 short jobs while workers, and the supervisor with all its workers, are killed
# with SIGKILL at random, dozens of times. Afterwards every job succeeded, none ran more than
# once except those in flight at a kill, and no process is left.
# On PostgreSQL two hosts (JOBQ_HOST chaos-1 and chaos-2) share the queue and its global limit;
# each kill strikes one of them at random, a killed host comes back under the same id (it
# recovers its own jobs, by their processes, as on SQLite).
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

N=2000
# Under AddressSanitizer every worker start and fork is several times slower: fewer jobs keep
# the sanitizer run within minutes (the plain run does the full 2,000).
if asan_build; then N=${CHAOS_ASAN_JOBS:-600}; fi
KILLS=${CHAOS_KILLS:-40}
tag="jobq-chaos-$$"
cat >jobq.json <<JSON
{
  "concurrency": {"global": 2},
  "types": {
    "t": {"exec": ["bash", "-c", "echo \$JOBQ_JOB_ID >>runs; if [ \$((JOBQ_JOB_ID % 50)) = 0 ]; then (setsid bash -c 'exec -a $tag sleep 300' &); sleep 0.05; fi"],
          "max_attempts": 50, "backoff": {"base": "10ms", "max": "50ms"}}
  }
}
JSON
seq $N | sed 's/.*/{}/' | jobq enqueue t --batch chaos --jsonl - >/dev/null
HOSTS=(chaos-1)
on_pg && HOSTS=(chaos-1 chaos-2)
declare -A SUP
# start_host H: a supervisor as host H (SUP[H]). On PostgreSQL each host has a state folder of
# its own, as a machine of its own has: the local lock (one supervisor per host and queue), pid,
# runtime file and wake-up FIFO live there.
start_host() {
	if on_pg; then
		XDG_STATE_HOME=$XDG_STATE_HOME/$1 JOBQ_HOST=$1 start_supervisor jobq.db
	else
		JOBQ_HOST=$1 start_supervisor jobq.db
	fi
	SUP[$1]=$SUP_PID
	seen="$seen $SUP_PID "
}
seen=" "
for h in "${HOSTS[@]}"; do start_host "$h"; done
worker_kills=0 all_kills=0
for k in $(seq "$KILLS"); do
	sleep "0.$((RANDOM % 3 + 1))"
	h=${HOSTS[$((RANDOM % ${#HOSTS[@]}))]}
	SUP_PID=${SUP[$h]}
	seen="$seen$(worker_pids "$SUP_PID" | tr '\n' ' ')"
	if [ $((RANDOM % 4)) = 0 ]; then
		kill -9 "$SUP_PID" $(worker_pids "$SUP_PID") 2>/dev/null || true
		wait "$SUP_PID" 2>/dev/null || true
		all_kills=$((all_kills + 1))
		start_host "$h"
	else
		w=$(worker_pids "$SUP_PID" | shuf -n 1)
		[ -n "$w" ] && kill -9 "$w" 2>/dev/null && worker_kills=$((worker_kills + 1))
	fi
done
for h in "${HOSTS[@]}"; do
	SUP_PID=${SUP[$h]}
	stop_supervisor TERM
	assert_eq "$SUP_RC" 0 "exit status of host $h"
done
expect_code 0 timeout "${CHAOS_DRAIN_TIMEOUT:-120}" "$JOBQ" supervise --drain
echo "kills: $worker_kills workers, $all_kills everything; done before the end: $(wc -l <runs) runs" >&2
assert_eq "$(sql jobq.db "select count(*) from jobs where state = 'succeeded'")" $N "succeeded"
# Runs: each job at least once; more only for a job whose attempt was cut by a kill.
assert_eq "$(sort -un runs | wc -l)" $N "distinct jobs run"
dups=$(sort -n runs | uniq -d | wc -l)
extra=$(sql jobq.db "select count(*) from jobs where attempts > 1")
[ "$dups" -le "$extra" ] || fail "$dups jobs ran twice but only $extra had a second attempt"
# At most a worker's job per worker kill, two per kill of everything.
[ "$extra" -le $((worker_kills + 2 * all_kills)) ] ||
	fail "$extra jobs needed another attempt after $worker_kills + $all_kills kills"
wait_until 5 'test "$(count_procs "$tag")" = 0'
# Every supervisor and worker of the run is gone (titles hide the --db argument: by pid).
# A zombie is not left running: one whose parent was killed with it waits for init to reap it.
for p in $seen; do
	st=$(ps -o stat=,args= -p "$p" 2>/dev/null || true)
	case "$st" in
	"" | Z* | *defunct*) ;;               # gone, or a zombie
	*"jobq: "*) fail "jobq process $p left: $st" ;;
	*) ;;                                  # the pid was reused by another program
	esac
done
on_pg || [ -z "$(pgrep -f "jobq: supervisor: .*$PWD/jobq.db" || true)" ] || fail "a supervisor is left"
echo "chaos: $dups jobs ran twice, $extra retried" >&2
echo ok
