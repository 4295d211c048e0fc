#!/usr/bin/env bash
# The hosts table (schema version 4) end to end: the supervisor's row appears with its workers,
# is refreshed by the heartbeat, goes at a clean stop and stays after kill -9, when `jobq status`
# shows it lost once its heartbeat is 3 intervals (15 s) old; claims record the host id
# ($JOBQ_HOST > the configuration's "host" > the hostname), shown by `jobq show`; jobq migrate.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

cat >jobq.json <<'JSON'
{"concurrency": {"global": 3}, "host": "from-config",
 "types": {"hold": {"exec": ["sleep", "60"]}, "quick": {"exec": ["true"]}, "ext": {}}}
JSON

step "1. The row appears with the supervisor's pid and workers; status lists it live"
export JOBQ_HOST=web-1
id=$(jobq --db q.db enqueue hold)
start_supervisor q.db
wait_state q.db "$id" running
assert_eq "$(sql q.db "select id, pid, workers, case when version is not null then 1 else 0 end from hosts")" \
	"web-1|$SUP_PID|3|1" "hosts row"
json_eq "$(cat "$(db_file q.db runtime.json)")" .host web-1
expect_code 0 jobq --db q.db status
assert_contains "$OUT" "host: web-1, pid $SUP_PID, 3 workers, 1 running, seen " "status line"
expect_code 0 jobq --db q.db status --json
json_eq "$OUT" '.hosts | length' 1
json_eq "$OUT" '.hosts[0] | [.id, .pid, .workers, .running, .live] | @tsv' \
	"web-1	$SUP_PID	3	1	true"
json_eq "$OUT" '.hosts[0].seen_at | test("Z$")' true

step "2. The worker's claim records the host; show prints it"
json_eq "$(jobq --db q.db show --json "$id")" .host web-1
assert_contains "$(jobq --db q.db show "$id")" "host: web-1"

step "3. The heartbeat refreshes seen_at"
seen=$(sql q.db "select seen_at from hosts where id = 'web-1'")
wait_until 20 '[ "$(sql q.db "select case when seen_at > $seen then 1 else 0 end from hosts where id = '"'web-1'"'")" = 1 ]'

step "4. A clean stop deletes the row (the job keeps its host)"
stop_supervisor TERM
assert_eq "$SUP_RC" 0 "supervisor exit"
assert_eq "$(sql q.db "select count(*) from hosts")" 0 "rows after a clean stop"
json_eq "$(jobq --db q.db show --json "$id")" .host web-1
expect_code 0 jobq --db q.db status
assert_not_contains "$OUT" "host:" "status without hosts"
expect_code 0 jobq --db q.db status --json
json_eq "$OUT" .hosts '[]'

step "5. External claims record the invoking host: JOBQ_HOST, else the configuration's host"
jobq --db q.db cancel "$id" >/dev/null
e1=$(jobq --db q.db enqueue ext)
e2=$(jobq --db q.db enqueue ext)
expect_code 0 jobq --db q.db claim --type ext
json_eq "$OUT" .host web-1
unset JOBQ_HOST
expect_code 0 jobq --db q.db claim --type ext
json_eq "$OUT" .host from-config
json_eq "$(jobq --db q.db show --json "$e1")" .host web-1
json_eq "$(jobq --db q.db show --json "$e2")" .host from-config

step "6. Without JOBQ_HOST nor a host key: the hostname, made safe"
cat >plain.json <<'JSON'
{"types": {"ext": {}}}
JSON
jobq --db p.db --config plain.json enqueue ext >/dev/null
expect_code 0 jobq --db p.db --config plain.json claim
want=$(hostname | tr -c 'A-Za-z0-9._\n-' '-' | cut -c1-64)
json_eq "$OUT" .host "${want:-localhost}"

step "7. Invalid host ids: 64 for JOBQ_HOST, 78 for the configuration's key"
expect_code 64 env JOBQ_HOST='bad host' "$JOBQ" --db q.db claim
assert_contains "$ERR" "invalid JOBQ_HOST 'bad host'"
expect_code 64 env JOBQ_HOST='a/b' "$JOBQ" --db q.db supervise
assert_contains "$ERR" "JOBQ_HOST"
cat >bad.json <<'JSON'
{"host": "no/slash"}
JSON
expect_code 78 jobq --db q.db --config bad.json status
assert_contains "$ERR" "host: must be 1 to 64 characters"

# die_running DB HOST: a supervisor of DB as host HOST runs a `hold` job (id in $id), then it and
# its workers are killed with SIGKILL; the job's sleep dies with its worker (PDEATHSIG).
die_running() {
	export JOBQ_HOST=$2
	id=$(jobq --db "$1" enqueue hold)
	start_supervisor "$1"
	wait_state "$1" "$id" running
	pids="$SUP_PID $(worker_pids "$SUP_PID")"
	# shellcheck disable=SC2086
	kill -KILL $pids
	# shellcheck disable=SC2086
	wait_for 10 gone $pids
	wait "$SUP_PID" 2>/dev/null || true
}

step "8. kill -9 of the supervisor and its workers: the row stays, and turns lost"
die_running k.db web-2
assert_eq "$(sql k.db "select id, pid from hosts")" "web-2|$SUP_PID" "row after kill -9"
expect_code 0 jobq --db k.db status --json
json_eq "$OUT" '.hosts[0].running' 1
# The heartbeat has stopped: within 3 intervals (15 s) plus one it is lost.
wait_until 25 '[ "$("$JOBQ" --db k.db status --json | jq -r ".hosts[0].live")" = false ]'
expect_code 0 jobq --db k.db status
assert_contains "$OUT" "host: web-2, pid $SUP_PID, 3 workers, 1 running, lost: last seen "
expect_code 0 jobq --db k.db top --once
assert_contains "$OUT" "hosts: web-2 lost" "top's hosts line"

step "9. A new supervisor with the same id takes the row over"
start_supervisor k.db
assert_eq "$(sql k.db "select pid from hosts where id = 'web-2'")" "$SUP_PID" "row taken over"
json_eq "$(jobq --db k.db status --json)" '.hosts[0].live' true
stop_supervisor TERM
assert_eq "$(sql k.db "select count(*) from hosts")" 0 "rows after the new one's stop"

step "9b. A clean stop leaves another host's job to that host: exit 0, the job untouched"
# Host web-3 dies with its job running; web-4 then runs on the same queue and stops cleanly.
# The job's worker is gone, but it is web-3's to recover: web-4 neither requeues it nor counts
# it "left running" (which made a clean stop exit 74 on a shared queue, e2e-chaos on
# PostgreSQL).
die_running o.db web-3
JOBQ_HOST=web-4 start_supervisor o.db
stop_supervisor TERM
assert_eq "$SUP_RC" 0 "exit status of web-4"
assert_not_contains "$(cat o.db.log)" "left running" "web-4's log"
assert_eq "$(sql o.db "select state, host, attempts from jobs where id = $id")" "running|web-3|1" \
	"web-3's job"
start_supervisor o.db # web-3 again: its recovery takes the job back
assert_contains "$(cat o.db.log)" "job $id: worker " "web-3's recovery"
wait_until 10 '[ "$(sql o.db "select state, attempts from jobs where id = $id")" = "running|2" ]'
stop_supervisor TERM
assert_eq "$SUP_RC" 0 "exit status of web-3"

step "10. jobq migrate: a version 3 database goes to version 4"
if on_pg; then
	# No PostgreSQL schema before version 4 was released: migrate makes version 4 at once.
	expect_code 0 jobq migrate --db m.db
	assert_eq "$OUT" "schema version 4"
	assert_eq "$(sql m.db "select value from jobq_meta where key = 'schema_version'")" 4 \
		"jobq_meta's schema_version"
	assert_eq "$(sql m.db "select count(*) from information_schema.columns
		where table_name = 'jobs' and column_name = 'host'")" 1
	missing=$(pg_conninfo "${E2E_PG_PREFIX}_missing")
else
	sql m.db "PRAGMA user_version = 0;"
	jobq --db m.db migrate >/dev/null
	sql m.db "DROP TABLE hosts; ALTER TABLE jobs DROP COLUMN host; PRAGMA user_version = 3;"
	expect_code 0 jobq migrate --db m.db
	assert_eq "$OUT" "schema version 4"
	assert_eq "$(sql m.db "PRAGMA user_version")" 4 "user_version"
	assert_eq "$(sql m.db "select count(*) from pragma_table_info('jobs') where name = 'host'")" 1
	missing=missing.db
fi
expect_code 0 jobq --db m.db migrate --json
json_eq "$OUT" .schema_version 4
expect_code 66 jobq migrate --db "$missing"
if on_pg; then
	assert_eq "$(psql -XAtq -d "$JOBQ_TEST_PG" -c "select count(*) from pg_database
		where datname = '${E2E_PG_PREFIX}_missing'")" 0 "databases made by migrate"
else
	[ ! -e missing.db ] || fail "migrate created a database"
fi

pg_only_rest "a password in the database's name, an unreachable or unavailable server"

step "11. A password in a postgresql:// URI shows in no ps line, log, status or state file"
# A role with a password owning a database of its own (the cluster trusts the socket, so the
# password is not checked: what matters is where it could show). Dropped at the end, after
# the test's databases.
pw=Pw-s3cret-$$-x
role=${E2E_PG_PREFIX}_pw
pg_db pw.db >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 -d "$JOBQ_TEST_PG" -c "CREATE ROLE $role LOGIN PASSWORD '$pw'" \
	-c "ALTER DATABASE $(pg_dbname pw.db) OWNER TO $role" >/dev/null
drop_role() { psql -XAtq -d "$JOBQ_TEST_PG" -c "DROP ROLE IF EXISTS $role" >/dev/null; }
at_exit drop_role
sock="" port=""
for w in $JOBQ_TEST_PG; do
	case "$w" in host=*) sock=${w#host=} ;; port=*) port=${w#port=} ;; esac
done
uri="postgresql://$role:$pw@/$(pg_dbname pw.db)?host=$sock&port=$port"
export JOBQ_HOST=web-3
id=$(jobq --db "$uri" --config jobq.json enqueue hold)
assert_eq "$(sql pw.db "select count(*) from jobs where id = $id")" 1 "the job, in the role's database"
spawn "$JOBQ" --db "$uri" --config jobq.json --verbose supervise 2>>pw.log
SUP_PID=$SPAWNED
wait_for 10 sup_ready pw.db "$SUP_PID"
wait_state pw.db "$id" running
wpids=$(worker_pids "$SUP_PID")
[ -n "$wpids" ] || fail "no workers of the supervisor $SUP_PID"
# shellcheck disable=SC2086
args=$(ps -o args= -p "$SUP_PID" $wpids)
assert_not_contains "$args" "$pw" "ps of the supervisor and its workers"
assert_contains "$args" "$role:***@" "the supervisor's title names the masked target"
# The job's environment holds the target masked (docs/configuration.md, JOBQ_DB).
jpid=$(sql pw.db "select pgid from jobs where id = $id")
jenv=$(tr '\0' '\n' <"/proc/$jpid/environ")
assert_not_contains "$jenv" "$pw" "the job's environment"
assert_contains "$(grep '^JOBQ_DB=' <<<"$jenv")" "$role:***@" "the job's JOBQ_DB"
expect_code 0 jobq --db "$uri" --config jobq.json status
assert_not_contains "$OUT$ERR" "$pw" "status"
assert_contains "$OUT" "host: web-3, pid $SUP_PID, 3 workers, 1 running" "status line"
expect_code 0 jobq --db "$uri" --config jobq.json status --json
assert_not_contains "$OUT$ERR" "$pw" "status --json"
json_eq "$OUT" .supervisor.pid "$SUP_PID"
runtime=$(db_file pw.db runtime.json)
json_eq "$(cat "$runtime")" .pid "$SUP_PID"
! grep -rqF -- "$pw" "$XDG_STATE_HOME" || fail "the password is in $(grep -rlF -- "$pw" "$XDG_STATE_HOME")"
stop_supervisor TERM
assert_eq "$SUP_RC" 0 "supervisor exit"
[ -s pw.log ] || fail "the supervisor logged nothing"
assert_not_contains "$(cat pw.log)" "$pw" "the supervisor's log"
# The same in a key=value conninfo, and in a message.
kv="host=$sock port=$port user=$role password=$pw dbname=$(pg_dbname pw.db)"
expect_code 0 jobq --db "$kv" --config jobq.json status
assert_not_contains "$OUT$ERR" "$pw" "status with a conninfo"
expect_code 66 jobq --db "${kv}_nodb" --config jobq.json status
assert_not_contains "$ERR" "$pw" "a conninfo's error"
assert_contains "$ERR" "password=***" "a conninfo's error"

step "12. An unreachable server: 69; one shutting down: 75; one line each, no password"
expect_code 69 jobq --db "postgresql://$role:$pw@/x?host=$TEST_DIR/nosock" status
assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines of the message"
assert_not_contains "$ERR" "$pw" "the message"
assert_contains "$ERR" "$role:***@" "the message names the masked target"
# A server of our own, stopped smartly while a session holds it: until that session ends it
# refuses new connections with 57P03 "the database system is shutting down".
own=$(mktemp -u /tmp/jobq-pgown.XXXXXX)
stop_own() { "$JOBQ_SRC/tests/pg/cluster.sh" stop "$own" >/dev/null 2>&1 || true; }
at_exit stop_own
owninfo=$("$JOBQ_SRC/tests/pg/cluster.sh" start "$own")
jobq --db "$owninfo" migrate >/dev/null
spawn psql -XAtq -d "$owninfo" -c "select pg_sleep(120)"
holder=$SPAWNED
sleeper() {
	backend=$(psql -XAtq -d "$owninfo" -c "select pid from pg_stat_activity
		where query = 'select pg_sleep(120)'")
	[ -n "$backend" ]
}
wait_for 10 sleeper
kill -TERM "$(head -1 "$own/data/postmaster.pid")"
wait_for 10 eval '! psql -XAtq -d "$owninfo" -c "select 1" >/dev/null 2>&1'
expect_code 75 jobq --db "$owninfo" status
assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines of the message"
assert_contains "$ERR" "the database system is shutting down"
# Its session ended (the backend terminated), the server stops: no server there any more.
kill -TERM "$backend"
wait "$holder" 2>/dev/null || true
wait_for 20 eval '[ ! -e "$own/sock/.s.PGSQL.5432" ]'
expect_code 69 jobq --db "$owninfo" status
assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines of the message"

echo ok
