#!/usr/bin/env bash
# Several hosts on one PostgreSQL queue (issue 9): three `jobq supervise` with different host ids
# (JOBQ_HOST) against one database, each in its own session as a machine of its own would be.
# Each job appends a start line and an end line (type, id, attempt, host, ms) to one file
# (O_APPEND: the file's order is the real order on this machine).
# (1) Composed limits across the hosts (global 3, type enrich 1, pool gpu: 1 taken by render):
#     the observed overlap never exceeds a limit and reaches it; jobs ran on more than one host.
# (2) kill -9 of one host's whole session mid-batch (supervisor, workers, jobs: a power cut):
#     every job ends exactly once in a final state; the killed host's running jobs are recovered
#     by the other hosts once their leases (2 s here) expire, the attempt counted; only those
#     ran twice.
# (3) PostgreSQL restarted (cluster.sh restart, the same data folder) mid-batch: the hosts
#     reconnect, no job is lost and none runs twice.
# The test runs its own cluster (tests/pg/cluster.sh), so that restarting it disturbs no other
# test.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
pg_only "several hosts share one queue only through a PostgreSQL server"

CLUSTER=$JOBQ_SRC/tests/pg/cluster.sh
PGDIR=$(mktemp -d /tmp/jobq-pg-mh.XXXXXX)
stop_cluster() { "$CLUSTER" stop "$PGDIR" >/dev/null 2>&1 || echo "could not stop the cluster in $PGDIR" >&2; }
at_exit stop_cluster
"$CLUSTER" start "$PGDIR" >/dev/null || fail "cannot start a cluster in $PGDIR"

# The job: a start line, a nap of $1 seconds (the payload's "s"), an end line.
job='s=$(jq -r ".s // 0.3"); echo "+ $JOBQ_JOB_TYPE $JOBQ_JOB_ID $JOBQ_ATTEMPT ${JOBQ_HOST:-?} $(date +%s%3N)" >>"$0"; sleep "$s"; echo "- $JOBQ_JOB_TYPE $JOBQ_JOB_ID $JOBQ_ATTEMPT ${JOBQ_HOST:-?} $(date +%s%3N)" >>"$0"'
# config FILE LEASE: the configuration of every host, events in FILE.events.
config() {
	local ev="$PWD/$1.events" j
	j=$(jq -n --arg j "$job" '$j')
	cat >"$1.json" <<JSON
{
  "lease": "$2",
  "concurrency": {"global": 3, "types": {"enrich": 1}, "resources": {"gpu": 1}},
  "types": {
    "enrich": {"exec": ["bash", "-c", $j, "$ev"], "max_attempts": 5, "backoff": {"base": "10ms", "max": "50ms"}},
    "render": {"exec": ["bash", "-c", $j, "$ev"], "resources": ["gpu"], "max_attempts": 5, "backoff": {"base": "10ms", "max": "50ms"}},
    "plain":  {"exec": ["bash", "-c", $j, "$ev"], "max_attempts": 5, "backoff": {"base": "10ms", "max": "50ms"}}
  }
}
JSON
	: >"$ev"
}

# start_host PART NAME: a supervisor of part PART's database as host NAME, in a session of its
# own (setsid: the pid is the session's id), its log in PART-NAME.log. Sets HOST_PID[NAME].
# Each host has a state folder of its own (XDG_STATE_HOME), as a machine of its own has: the
# local lock (one supervisor per host and queue), pid, runtime file and wake-up FIFO live there.
declare -A HOST_PID
start_host() {
	mkdir -p -m 0700 "$PWD/state-$2"
	spawn env JOBQ_HOST="$2" XDG_STATE_HOME="$PWD/state-$2" \
		setsid "$JOBQ" --db "$CONN" --config "$PWD/$1.json" supervise 2>>"$1-$2.log"
	HOST_PID[$2]=$SPAWNED
	local hpid=$SPAWNED hlog=$1-$2.log
	wait_until 20 'grep -q "supervising" "$hlog" || gone "$hpid"'
	grep -q "supervising" "$hlog" || fail "host $2 did not start: $(tail -3 "$hlog")"
}
# stop_hosts NAME...: SIGTERM, each must exit 0.
stop_hosts() {
	local h rc
	for h in "$@"; do kill -TERM "${HOST_PID[$h]}" 2>/dev/null || true; done
	for h in "$@"; do
		set +e
		wait "${HOST_PID[$h]}"
		rc=$?
		set -e
		assert_eq "$rc" 0 "exit status of host $h"
	done
}

# max_overlap EVENTS AWK_CONDITION: the most jobs matching ($2 = type) running at once; an
# attempt cut by a kill (a start without an end) counts as running until the end of the file.
max_overlap() {
	awk "{ if ($2) { if (\$1 == \"+\") n++; else n--; if (n > m) m = n } } END { print m + 0 }" "$1"
}
final_count() { sql "$CONN" "select count(*) from jobs where state in ('succeeded', 'failed', 'cancelled')"; }

# new_db PART: a database of its own for each part.
new_db() { CONN=$("$CLUSTER" createdb "$PGDIR" "mh_$1"); }

# 1. Composed limits across three hosts.
step "1. composed limits across three hosts"
new_db limits
config limits 30s
start_host limits a
start_host limits b
start_host limits c
{
	for i in $(seq 4); do echo '{"s": 0.6}'; done | jobq --db "$CONN" --config limits.json enqueue enrich --jsonl - >/dev/null
	for i in $(seq 4); do echo '{"s": 0.6}'; done | jobq --db "$CONN" --config limits.json enqueue render --jsonl - >/dev/null
	for i in $(seq 9); do echo '{"s": 0.6}'; done | jobq --db "$CONN" --config limits.json enqueue plain --jsonl - >/dev/null
}
wait_until 90 '[ "$(final_count)" = 17 ]'
stop_hosts a b c
assert_eq "$(sql "$CONN" "select count(*) from jobs where state = 'succeeded' and attempts = 1")" 17 "succeeded at the first attempt"
assert_eq "$(grep -c '^+' limits.events)" 17 "runs"
total=$(max_overlap limits.events 1)
enrich=$(max_overlap limits.events '$2 == "enrich"')
gpu=$(max_overlap limits.events '$2 == "render"')
hosts=$(awk '$1 == "+" { print $5 }' limits.events | sort -u | wc -l)
echo "observed: total $total enrich $enrich gpu $gpu, on $hosts hosts" >&2
assert_eq "$total" 3 "global 3 (never more, and reached)"
assert_eq "$enrich" 1 "enrich 1"
assert_eq "$gpu" 1 "gpu 1"
[ "$hosts" -ge 2 ] || fail "every job ran on one host: $(awk '$1 == "+" { print $5 }' limits.events | sort | uniq -c)"
check "1. jobs.host names the host that ran each job" \
	assert_eq "$(sql "$CONN" "select count(*) from jobs where host is null or host not in ('a', 'b', 'c')")" 0 "jobs without a host"

# 2. One host's whole session killed with SIGKILL mid-batch.
step "2. one host killed with SIGKILL mid-batch"
new_db kill
config kill 2s
start_host kill a
start_host kill b
start_host kill c
N=30
for i in $(seq $N); do echo '{"s": 0.5}'; done | jobq --db "$CONN" --config kill.json enqueue plain --jsonl - >/dev/null
# Once host a runs a job (and some have ended), cut its power: its session, all of it.
wait_until 30 '[ "$(sql "$CONN" "select count(*) from jobs where state = '"'running'"' and host = '"'a'"'")" -ge 1 ] &&
	[ "$(grep -c "^-" kill.events)" -ge 3 ]'
sid=${HOST_PID[a]}
pkill -KILL -s "$sid" || true
wait "$sid" 2>/dev/null || true
wait_until 10 '[ -z "$(pgrep -s "$sid")" ]'
# The jobs host a held: claimed by it and still running in the database (read at once, well
# before their 2 s leases expire), and any it started and did not end (its event file).
cut=$({
	sql "$CONN" "select id from jobs where state = 'running' and host = 'a'"
	awk '$1 == "+" && $5 == "a" { s[$3 " " $4] = 1 } $1 == "-" && $5 == "a" { delete s[$3 " " $4] }
		END { for (k in s) { split(k, p, " "); print p[1] } }' kill.events
} | sort -un | tr '\n' ' ')
echo "host a killed holding jobs $cut" >&2
[ -n "$cut" ] || fail "host a ran nothing when it was killed"
wait_until 90 '[ "$(final_count)" = $N ]'
stop_hosts b c
assert_eq "$(sql "$CONN" "select count(*) from jobs where state = 'succeeded'")" $N "succeeded"
assert_eq "$(awk '$1 == "-" { print $3 }' kill.events | sort -un | wc -l)" $N "jobs that ended"
for id in $cut; do
	[ "$(sql "$CONN" "select attempts from jobs where id = $id")" -ge 2 ] ||
		fail "job $id, cut on host a, has its attempt not counted"
	[ "$(sql "$CONN" "select host from jobs where id = $id")" != a ] ||
		fail "job $id, cut on host a, was not taken over by another host"
done
# Only the jobs cut by the kill ran more than once.
twice=$(awk '$1 == "+" { print $3 }' kill.events | sort -n | uniq -d | tr '\n' ' ')
for id in $twice; do
	case " $cut " in *" $id "*) ;; *) fail "job $id ran twice but was not running on host a: $(grep " $id " kill.events)" ;; esac
done
assert_eq "$(sql "$CONN" "select count(*) from jobs where attempts > 1 and id not in ($(echo $cut | tr ' ' ','))")" 0 \
	"jobs with a second attempt besides those of host a"

# 3. PostgreSQL restarted mid-batch.
step "3. PostgreSQL restarted mid-batch"
new_db restart
config restart 60s
start_host restart a
start_host restart b
N=24
for i in $(seq $N); do echo '{"s": 0.4}'; done | jobq --db "$CONN" --config restart.json enqueue plain --jsonl - >/dev/null
wait_until 30 '[ "$(grep -c "^-" restart.events)" -ge 3 ]'
"$CLUSTER" restart "$PGDIR" fast || fail "the cluster did not restart"
echo "PostgreSQL restarted after $(grep -c '^-' restart.events) jobs" >&2
wait_until 90 '[ "$(final_count 2>/dev/null)" = $N ]'
stop_hosts a b
assert_eq "$(sql "$CONN" "select count(*) from jobs where state = 'succeeded' and attempts = 1")" $N \
	"succeeded at the first attempt"
assert_eq "$(grep -c '^+' restart.events)" $N "runs (none lost, none twice)"
assert_eq "$(awk '$1 == "-" { print $3 }' restart.events | sort -un | wc -l)" $N "jobs that ended"
for h in a b; do
	assert_contains "$(cat "restart-$h.log")" "supervising" "host $h's log"
done
echo ok
