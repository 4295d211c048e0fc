#!/usr/bin/env bash
# Several hosts on one PostgreSQL queue (issue 9): three `jobq supervise` with different host ids
# (JOBQ_HOST) against one database, each in its own session and with a state folder of its own,
# as a machine of its own would be. Each job appends a start line and an end line (type, id,
# attempt, host, ms) to one file (O_APPEND: the file's order is the real order on this machine).
# Every host has 2 workers, under a global limit of 3: no host can reach a limit alone.
# (1) Composed limits across the hosts (global 3, type enrich 1, pool gpu: 1 taken by render):
#     the observed overlap never exceeds a limit and reaches it; jobs ran on more than one host.
# (2) kill -9 of one host's whole session mid-batch (supervisor, workers, jobs: a power cut):
#     every job ends exactly once in a final state; the killed host's running jobs are recovered
#     by the other hosts once their leases (2 s here) expire, the attempt counted; only those
#     ran twice; the killed attempts' fencing tokens are refused afterwards (exit 75).
# (3) A partitioned host (an external claim that stops renewing its lease): once another host
#     runs the job again, the late complete, heartbeat and fail with the old token are refused
#     (exit 75, "token is no longer current") and change nothing; the job ends once, by the new
#     attempt.
# (4) PostgreSQL restarted (cluster.sh restart, the same data folder) mid-batch, once with a
#     fast shutdown and once with an immediate one (a crash): the supervisors stay up, say they
#     lost the connection and made it again, keep their heartbeats and run what is enqueued
#     afterwards; no job is lost and none runs twice; a lost connection is a busy database to
#     the loops (no claim or recovery fails for it).
# Every host logs at debug level: none may turn its wake-ups off as "readable for nothing" (this
# host's own notifications are not nothing). The test runs its own cluster
# (tests/pg/cluster.sh), so that restarting it disturbs no other test.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
pg_only "several hosts share one queue only through a PostgreSQL server"

CLUSTER=$JOBQ_SRC/tests/pg/cluster.sh
PGDIR=$(mktemp -d /tmp/jobq-pg-mh.XXXXXX)
stop_cluster() { "$CLUSTER" stop "$PGDIR" >/dev/null 2>&1 || echo "could not stop the cluster in $PGDIR" >&2; }
at_exit stop_cluster
"$CLUSTER" start "$PGDIR" >/dev/null || fail "cannot start a cluster in $PGDIR"
# cluster.sh turns synchronous_commit off for speed: a commit is then acknowledged before its
# WAL is written, and an immediate shutdown (step 4) forgets the last fraction of a second of
# acknowledged commits, as a server crash would. A real server keeps what it acknowledged
# ("on", PostgreSQL's default): so does this one. (fsync stays off: the machine does not crash,
# written WAL survives the server's processes.)
psql -XAtq -v ON_ERROR_STOP=1 -d "$("$CLUSTER" conninfo "$PGDIR")" \
	-c "ALTER SYSTEM SET synchronous_commit = on" -c "SELECT pg_reload_conf()" >/dev/null ||
	fail "cannot turn synchronous_commit on"

# The job: a start line, a nap of the payload's "s" seconds, or until the file named by its
# "gate" exists, then an end line.
job='p=$(cat); s=$(jq -r ".s // 0.3" <<<"$p"); g=$(jq -r ".gate // empty" <<<"$p")
echo "+ $JOBQ_JOB_TYPE $JOBQ_JOB_ID $JOBQ_ATTEMPT ${JOBQ_HOST:-?} $(date +%s%3N)" >>"$0"
if [ -n "$g" ]; then while [ ! -e "$g" ]; do sleep 0.05; done; else sleep "$s"; fi
echo "- $JOBQ_JOB_TYPE $JOBQ_JOB_ID $JOBQ_ATTEMPT ${JOBQ_HOST:-?} $(date +%s%3N)" >>"$0"'
# config FILE LEASE: the configuration of every host, events in FILE.events.
config() {
	local ev="$PWD/$1.events" j
	j=$(jq -n --arg j "$job" '$j')
	cat >"$1.json" <<JSON
{
  "lease": "$2",
  "workers": 2,
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
# own (setsid: the pid is the session's id), its log (debug) in PART-NAME.log. Sets
# HOST_PID[NAME]. Each host has a state folder of its own (XDG_STATE_HOME), as a machine of its
# own has: the local lock (one supervisor per host and queue), pid, runtime file and wake-up
# FIFO live there.
declare -A HOST_PID
start_host() {
	mkdir -p -m 0700 "$PWD/state-$2"
	spawn env JOBQ_HOST="$2" XDG_STATE_HOME="$PWD/state-$2" \
		setsid "$JOBQ" -v --db "$CONN" --config "$PWD/$1.json" supervise 2>>"$1-$2.log"
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
# wake_ups_kept PART NAME...: no host turned its store's wake-ups off for nothing.
wake_ups_kept() {
	local h
	for h in "${@:2}"; do
		assert_not_contains "$(cat "$1-$h.log")" "readable for nothing" "host $h's log"
	done
}

# max_overlap EVENTS AWK_CONDITION: the most jobs matching ($2 = type) running at once; an
# attempt cut by a kill (a start without an end) counts as running until the end of the file.
max_overlap() {
	awk "{ if ($2) { if (\$1 == \"+\") n++; else n--; if (n > m) m = n } } END { print m + 0 }" "$1"
}
final_count() { sql "$CONN" "select count(*) from jobs where state in ('succeeded', 'failed', 'cancelled')"; }
ended() { grep -c '^-' "$1.events" || true; }

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
check "1. no host turned its wake-ups off" wake_ups_kept limits a b c

# 2. One host's whole session killed with SIGKILL mid-batch.
step "2. one host killed with SIGKILL mid-batch"
new_db kill
config kill 2s
N=30
# Host a first, so that it holds jobs (a host that finishes a job claims the next in the same
# transaction: it keeps its slots), then b and c, which share what a leaves.
start_host kill a
for i in $(seq $N); do echo '{"s": 0.5}'; done | jobq --db "$CONN" --config kill.json enqueue plain --jsonl - >/dev/null
wait_until 30 '[ "$(sql "$CONN" "select count(*) from jobs where state = '"'running'"' and host = '"'a'"'")" -ge 1 ]'
start_host kill b
start_host kill c
# Once some jobs have ended and host a runs one, cut its power: its session, all of it. The
# tokens of its running attempts are read just before (a later one is a newer attempt's).
wait_until 30 '[ "$(ended kill)" -ge 3 ] &&
	[ "$(sql "$CONN" "select count(*) from jobs where state = '"'running'"' and host = '"'a'"'")" -ge 1 ]'
tokens=$(sql "$CONN" "select id || ' ' || token from jobs where state = 'running' and host = 'a'")
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
# The killed attempts' late outcomes: refused by their fencing tokens, nothing changed.
[ -n "$tokens" ] || fail "no token read of host a's running jobs"
while read -r id token; do
	before=$(sql "$CONN" "select state || ' ' || attempts || ' ' || coalesce(result::text, '-') from jobs where id = $id")
	expect_code 75 env JOBQ_HOST=a "$JOBQ" --db "$CONN" complete "$id" --token "$token" --result '{"late": true}'
	assert_contains "$ERR" "job $id: token is no longer current"
	expect_code 75 env JOBQ_HOST=a "$JOBQ" --db "$CONN" fail "$id" --token "$token" --error late
	assert_contains "$ERR" "job $id: token is no longer current"
	assert_eq "$(sql "$CONN" "select state || ' ' || attempts || ' ' || coalesce(result::text, '-') from jobs where id = $id")" \
		"$before" "job $id after its late outcomes"
done <<<"$tokens"
check "2. no host turned its wake-ups off" wake_ups_kept kill a b c

# 3. A partitioned host: its lease expires, another host runs the job, its late outcome comes.
step "3. a partitioned host's late outcome is refused by the fencing token"
new_db fence
config fence 30s
id=$(jobq --db "$CONN" --config fence.json enqueue plain "{\"gate\": \"$PWD/fence.gate\"}")
# Host p claims it for 1 s and is cut off: it renews nothing.
claimed=$(JOBQ_HOST=p jobq --db "$CONN" --config fence.json claim --lease 1s)
json_eq "$claimed" .id "$id"
json_eq "$claimed" .host p
old=$(jq -r .token <<<"$claimed")
# Host b recovers it once the lease expired (at its start or its next recovery) and runs it
# again: attempt 2, held at its gate while p's late outcome comes.
start_host fence b
wait_until 30 'grep -q "^+ plain $id 2 b " fence.events'
assert_eq "$(sql "$CONN" "select state || ' ' || attempts || ' ' || host from jobs where id = $id")" "running 2 b" "the job, run again"
expect_code 75 env JOBQ_HOST=p "$JOBQ" --db "$CONN" complete "$id" --token "$old" --result '{"late": true}'
assert_contains "$ERR" "job $id: token is no longer current"
expect_code 75 env JOBQ_HOST=p "$JOBQ" --db "$CONN" heartbeat "$id" --token "$old"
assert_contains "$ERR" "job $id: token is no longer current"
expect_code 75 env JOBQ_HOST=p "$JOBQ" --db "$CONN" fail "$id" --token "$old" --error late
assert_contains "$ERR" "job $id: token is no longer current"
assert_eq "$(sql "$CONN" "select state || ' ' || attempts || ' ' || host || ' ' || (token <> $old)::text from jobs where id = $id")" \
	"running 2 b true" "the job after the late outcomes"
touch fence.gate
wait_until 30 '[ "$(final_count)" = 1 ]'
stop_hosts b
assert_eq "$(sql "$CONN" "select state || ' ' || attempts || ' ' || coalesce(result::text, '-') from jobs where id = $id")" \
	"succeeded 2 -" "the job, finished by host b"
assert_eq "$(grep -c "^- plain $id " fence.events)" 1 "ends of the job"
assert_contains "$(cat fence-b.log)" "lease expired on host 'p'" "host b's log"

# 4. PostgreSQL restarted mid-batch, fast then immediate.
step "4. PostgreSQL restarted mid-batch"
new_db restart
config restart 60s
start_host restart a
start_host restart b
# wave N MODE FIRST: N jobs (ids from FIRST), the server restarted with MODE once 3 of them
# ended; then all of them end.
wave() {
	local n=$1 mode=$2 first=$3 done0
	done0=$(ended restart)
	for i in $(seq "$n"); do echo '{"s": 0.4}'; done | jobq --db "$CONN" --config restart.json enqueue plain --jsonl - >/dev/null
	wait_until 30 '[ "$(ended restart)" -ge $((done0 + 3)) ]'
	"$CLUSTER" restart "$PGDIR" "$mode" >/dev/null || fail "the cluster did not restart ($mode)"
	echo "PostgreSQL restarted ($mode) after $(($(ended restart) - done0)) of $n jobs" >&2
	restarted_at=$(sql "$CONN" "select $NOW_MS")
	wait_until 90 '[ "$(final_count 2>/dev/null)" = $((first + n - 1)) ]'
}
wave 24 fast 1
wave 12 immediate 25
N=36
# The supervisors are still up, and still beat (the hosts rows, every 5 s).
for h in a b; do
	kill -0 "${HOST_PID[$h]}" 2>/dev/null || fail "host $h's supervisor is gone: $(tail -3 "restart-$h.log")"
done
wait_until 30 '[ "$(sql "$CONN" "select count(*) from hosts where id in ('"'a'"', '"'b'"') and seen_at > $restarted_at")" = 2 ]'
stop_hosts a b
assert_eq "$(sql "$CONN" "select count(*) from jobs where state = 'succeeded' and attempts = 1")" $N \
	"succeeded at the first attempt"
assert_eq "$(grep -c '^+' restart.events)" $N "runs (none lost, none twice)"
assert_eq "$(awk '$1 == "-" { print $3 }' restart.events | sort -un | wc -l)" $N "jobs that ended"
for h in a b; do
	log=$(cat "restart-$h.log")
	assert_contains "$log" "lost the connection to the database" "host $h's log"
	assert_contains "$log" "connected to the database again" "host $h's log"
	assert_not_contains "$log" "cannot claim" "host $h's log"
	assert_not_contains "$log" "warn: recovery:" "host $h's log"
done
check "4. no host turned its wake-ups off" wake_ups_kept restart a b

# 5. A job inserted by SQL without NOTIFY (docs/schema.md asks producers for one, but a missed
# notification must not strand a job): an idle worker tries a claim every 5 s on PostgreSQL.
step "5. a job inserted by SQL without NOTIFY still starts"
new_db quiet
config quiet 60s
start_host quiet a
sleep 2 # its workers idle, their first claims found nothing
id=$(sql "$CONN" "insert into jobs (type, payload) values ('plain', '{\"s\": 0.1}') returning id")
wait_until 20 '[ "$(sql "$CONN" "select state from jobs where id = $id")" = succeeded ]'
stop_hosts a
echo ok
