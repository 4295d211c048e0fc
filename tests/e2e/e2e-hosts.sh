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
assert_eq "$(sql q.db "select id, pid, workers, version is not null from hosts")" \
	"web-1|$SUP_PID|3|1" "hosts row"
json_eq "$(cat q.db.runtime.json)" .host web-1
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
wait_until 20 '[ "$(sql q.db "select seen_at > $seen from hosts where id = '"'web-1'"'")" = 1 ]'

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

step "8. kill -9 of the supervisor and its workers: the row stays, and turns lost"
export JOBQ_HOST=web-2
id=$(jobq --db k.db enqueue hold)
start_supervisor k.db
wait_state k.db "$id" running
pids="$SUP_PID $(worker_pids "$SUP_PID")"
# shellcheck disable=SC2086
kill -KILL $pids
# shellcheck disable=SC2086
wait_for 10 gone $pids
wait "$SUP_PID" 2>/dev/null || true # its job's sleep dies with its worker (PDEATHSIG)
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

step "10. jobq migrate: a version 3 database goes to version 4"
sql m.db "PRAGMA user_version = 0;"
jobq --db m.db migrate >/dev/null
sql m.db "DROP TABLE hosts; ALTER TABLE jobs DROP COLUMN host; PRAGMA user_version = 3;"
expect_code 0 jobq migrate --db m.db
assert_eq "$OUT" "schema version 4"
assert_eq "$(sql m.db "PRAGMA user_version")" 4 "user_version"
assert_eq "$(sql m.db "select count(*) from pragma_table_info('jobs') where name = 'host'")" 1
expect_code 0 jobq --db m.db migrate --json
json_eq "$OUT" .schema_version 4
expect_code 66 jobq migrate --db missing.db
[ ! -e missing.db ] || fail "migrate created a database"

echo ok
