#!/usr/bin/env bash
# Edge cases of the supervisor found in review, each a test that failed before its fix.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

tag="jobq-edges-$$"
cat >jobq.json <<JSON
{"concurrency": {"global": 2}, "grace": "1s",
 "types": {
   "ext": {"max_attempts": 2},
   "ph": {"exec": ["true", "{payload.url}"]},
   "nap": {"builtin": "sleep", "backoff": {"base": "1m", "max": "1m"}},
   "long": {"exec": ["bash", "-c", "(setsid bash -c 'exec -a $tag sleep 300' &); exec sleep 300"]}
 }}
JSON

# 1. A type without a handler is left to external workers: the supervisor never claims it.
step "1. A type without a handler is left to external workers"
id=$(jobq enqueue ext '{}')
start_supervisor jobq.db -v
# A job of a handled type enqueued after it has run: the workers have looked at the queue since.
n=$(jobq enqueue nap '{"ms": 0}')
wait_state jobq.db "$n" succeeded 10
assert_eq "$(sql jobq.db "select state || ' ' || attempts from jobs where id = $id")" "queued 0"
expect_code 0 jobq claim --type ext
json_eq "$OUT" .id "$id"
# -v after the command reaches the supervisor's log level (and its workers').
assert_contains "$(cat jobq.db.log)" "debug: worker 1 started"

# 2. A handler that cannot start (no payload field for a placeholder) does not stall the worker.
step "2. A handler that cannot start (no payload field for a placeholder) does not stall the worker"
for i in 1 2 3 4 5; do jobq enqueue ph '{}' >/dev/null; done
wait_until 20 'test "$(sql jobq.db "select count(*) from jobs where type = '\''ph'\'' and state = '\''failed'\''")" = 5'
# Each one is over as soon as it is claimed, not at the worker's next heartbeat or idle check
# (1 s): a generous bound on each job, not on the whole, so load does not make it flake.
slowest=$(sql jobq.db "select max(finished_at - started_at) from jobs where type = 'ph'")
[ "$slowest" -lt 900 ] || fail "a job that cannot start took $slowest ms from its claim to its end"

# 3. After a reload the runtime file and status tell the new number of workers.
step "3. After a reload the runtime file and status tell the new number of workers"
sed 's/"global": 2/"global": 3/' jobq.json >new.json && mv new.json jobq.json
kill -HUP "$SUP_PID"
wait_for 5 grep -q "configuration reloaded" jobq.db.log
wait_until 5 'test "$(jq .workers $(db_file jobq.db runtime.json))" = 3'
json_eq "$(jobq status --json)" .supervisor.workers 3

# 4. A job stopped by a shutdown runs again at once, not after its backoff (1m here).
step "4. A job stopped by a shutdown runs again at once, not after its backoff (1m here)"
id=$(jobq enqueue nap '{"ms": 60000}')
wait_state jobq.db "$id" running 5
stop_supervisor TERM
assert_eq "$SUP_RC" 0
json_eq "$(jobq show --json "$id")" .state queued
due=$(sql jobq.db "select CASE WHEN run_at <= $NOW_MS + 1000 THEN 1 ELSE 0 END from jobs where id = $id")
check "4. the stopped job is due at once" assert_eq "$due" 1 "run_at of a job stopped by a shutdown"
jobq cancel "$id" >/dev/null

# 5. Cancel with no supervisor left: the job's leftovers are killed, not just the record.
step "5. Cancel with no supervisor left"
start_supervisor jobq.db
id=$(jobq enqueue long)
wait_for 5 pgrep -f "$tag"
wait_until 5 'test -n "$(sql jobq.db "select pgid from jobs where id = $id")"'
ws=$(worker_pids "$SUP_PID")
kill -9 "$SUP_PID" $ws
wait "$SUP_PID" 2>/dev/null || true
wait_for 10 gone $ws
assert_eq "$(count_procs "$tag")" 1 "leftover alive after the crash"
expect_code 0 jobq cancel "$id"
json_eq "$(jobq show --json "$id")" .state cancelled
wait_until 5 'test "$(count_procs "$tag")" = 0'

# 6. Without a supervisor, an expired lease is given back by the next claim.
step "6. Without a supervisor, an expired lease is given back by the next claim"
stale=$(jobq enqueue ext '{}')
expect_code 0 jobq claim --type ext --lease 1s
json_eq "$OUT" .id "$stale"
wait_until 10 'test "$(sql jobq.db "select CASE WHEN lease_until < $NOW_MS THEN 1 ELSE 0 END from jobs where id = $stale")" = 1'
expect_code 0 jobq claim --type ext
json_eq "$OUT" .id "$stale"
json_eq "$OUT" .attempts 2

# 7. A database of a newer schema: supervise refuses it with 69, naming the version.
step "7. A database of a newer schema"
if on_pg; then
	jobq --db newer.db status >/dev/null
	sql newer.db "UPDATE jobq_meta SET value = '99' WHERE key = 'schema_version'"
else
	sqlite3 newer.db "PRAGMA user_version = 99; CREATE TABLE t (x);"
fi
expect_code 69 jobq --db newer.db supervise
assert_contains "$ERR" "schema version 99"
[ "$(grep -o "cannot open database" <<<"$ERR" | wc -l)" = 1 ] || fail "doubled message: $ERR"

# 8. SIGTERM with an exec job that has leftovers, past the grace period: the job is requeued
# and nothing it started is left; a SIGHUP during the stop starts no new worker.
step "8. SIGTERM with an exec job that has leftovers, past the grace period"
cat >jobq.json <<JSON
{"concurrency": {"global": 4}, "grace": "1s", "types": {"long": {"exec": ["bash", "-c", "(setsid bash -c 'exec -a $tag-term sleep 300' &); exec sleep 300"]}}}
JSON
start_supervisor jobq.db
id=$(jobq enqueue long)
wait_for 5 pgrep -f "$tag-term"
stops=$(grep -c "SIGTERM: stopping" jobq.db.log || true)
kill -TERM "$SUP_PID"
wait_until 5 'test "$(grep -c "SIGTERM: stopping" jobq.db.log)" -gt "$stops"'
kill -HUP "$SUP_PID"
stop_supervisor TERM
assert_eq "$SUP_RC" 0
assert_contains "$(cat jobq.db.log)" "SIGHUP while stopping: ignored"
json_eq "$(jobq show --json "$id")" .state queued
assert_eq "$(count_procs "$tag-term")" 0 "leftovers after SIGTERM"
jobq cancel "$id" >/dev/null

# 9. A database locked for longer than the busy timeout (5 s) when a job ends: the worker keeps
# the job and finishes it once the lock is gone, and the next job runs at once after. The job
# ends only once the lock is held (the file go), so its finish meets the lock whatever the load.
# (SQLite's write lock; PostgreSQL has no busy timeout of its own.)
if ! on_pg; then
step "9. A database locked for longer than the busy timeout (5 s) when a job ends"
cat >jobq.json <<JSON
{"concurrency": {"global": 4}, "types": {"short": {"exec": ["bash", "-c", "while [ ! -e \"\$0\" ]; do sleep 0.05; done", "$PWD/go"]}, "nap": {"builtin": "sleep"}}}
JSON
start_supervisor jobq.db
a=$(jobq enqueue short)
wait_state jobq.db "$a" running 5
python3 - "$PWD/jobq.db" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[1] + ".locked", "w").close()
time.sleep(6.5)
db.execute("COMMIT")
PY
locker=$!
wait_for 10 test -e jobq.db.locked
touch go
wait_for 10 grep -q "cannot finish, will retry" jobq.db.log
wait "$locker"
wait_state jobq.db "$a" succeeded 5
b=$(jobq enqueue nap '{"ms": 0}')
wait_state jobq.db "$b" succeeded 3
stop_supervisor TERM
assert_eq "$SUP_RC" 0
fi

# Workers run the configuration the supervisor accepted, not whatever the file says now: a
# worker restarted after the file changed (no SIGHUP), or after a refused reload, still runs
# the types of the accepted one.
accepted_config() {
	mkdir cfgrace
	cat >cfgrace/jobq.json <<-'JSON'
	{"types": {"ping": {"builtin": "noop"}}}
	JSON
	start_supervisor cfgrace/q.db --workers 1
	cat >cfgrace/jobq.json <<-'JSON'
	{"types": {"pong": {"builtin": "noop"}, "ping": {}}}
	JSON
	kill -9 "$(worker_pids "$SUP_PID")"
	wait_until 10 '[ -n "$(worker_pids "$SUP_PID")" ]'
	p=$(jobq --db cfgrace/q.db enqueue ping)
	wait_state cfgrace/q.db "$p" succeeded 10
	echo '{"types": {' >cfgrace/jobq.json # broken: refused
	kill -HUP "$SUP_PID"
	wait_until 10 'grep -q "reload refused" cfgrace/q.db.log'
	kill -9 "$(worker_pids "$SUP_PID")"
	wait_until 10 '[ -n "$(worker_pids "$SUP_PID")" ]'
	echo '{"types": {"ping": {"builtin": "noop"}}}' >ok.json
	p=$(jobq --db cfgrace/q.db --config ok.json enqueue ping)
	wait_state cfgrace/q.db "$p" succeeded 10
	stop_supervisor TERM
	assert_eq "$SUP_RC" 0
}
alone "Workers run the configuration the supervisor accepted, not the file as it is now" accepted_config

echo ok
