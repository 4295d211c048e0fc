#!/usr/bin/env bash
# Metrics end to end: `jobq metrics` and the supervisor's GET /metrics, both parsed by the real
# Prometheus text parser (prometheus_client, tests/e2e/promcheck.py), checked against the
# database; the endpoint's HTTP edges (404, 405, an oversized request, an idle client that does
# not hold up the others); "metrics" in the configuration (loopback only, 78, a port in use 75,
# a reload that moves the endpoint or is refused).
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import prometheus_client.parser' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || fail "needs python3 with prometheus_client (Debian python3-prometheus-client: scripts/deps.sh test)"

# prom FILE: the parsed metrics as JSON (fails the test when the text does not parse).
prom() { "$PY" "$JOBQ_SRC/tests/e2e/promcheck.py" "$1" || fail "$1: not valid Prometheus text"; }
# val JSON FAMILY SAMPLE 'LABELS-JQ': the value of one sample (jq boolean on .labels), or "none".
val() {
	printf '%s' "$1" | jq -r --arg f "$2" --arg n "$3" \
		"[.[\$f].samples[] | select(.name == \$n and ($4)) | .value] | if length == 1 then .[0] else \"none\" end"
}
# has URL LINE: GET URL and look for a whole LINE in the body (read in full first: grep -q
# would close the pipe under curl).
has() { local body; body=$(curl -sS --max-time 10 "$1") && grep -qxF -- "$2" <<<"$body"; }
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cat >jobq.json <<'JSON'
{
  "concurrency": {"global": 3, "types": {"ok": 2}, "resources": {"cpu": 4, "gpu": 1}},
  "types": {
    "ok": {"builtin": "noop"},
    "bad": {"exec": ["false"], "max_attempts": 2, "backoff": {"base": "10ms", "max": "10ms"}},
    "leaky": {"exec": ["setsid", "sleep", "30"], "max_attempts": 1},
    "hold": {"builtin": "sleep", "resources": ["cpu:3"]},
    "long": {"exec": ["sleep", "60"], "max_attempts": 1}
  },
  "metrics": {"listen": "127.0.0.1:0"}
}
JSON
jobq init >/dev/null

# 1. Without a supervisor: valid text, supervisor_up 0, configured types and pools as zeros.
expect_code 0 jobq metrics
printf '%s\n' "$OUT" >m0.txt
m0=$(prom m0.txt)
assert_eq "$(val "$m0" jobq_supervisor_up jobq_supervisor_up true)" 0 "supervisor_up without one"
assert_eq "$(val "$m0" jobq_jobs jobq_jobs '.labels.type == "hold" and .labels.state == "queued"')" 0
assert_eq "$(val "$m0" jobq_pool_capacity jobq_pool_capacity '.labels.pool == "cpu"')" 4
assert_eq "$(val "$m0" jobq_concurrency_type jobq_concurrency_type '.labels.type == "ok"')" 2
json_eq "$m0" '.jobq_job_duration_seconds.type' histogram
expect_code 64 jobq metrics --json
assert_contains "$ERR" "Prometheus text"
expect_code 64 jobq metrics extra

# 2. Jobs of every outcome, then one holding pool units while both outputs are read.
for i in 1 2 3; do jobq enqueue ok >/dev/null; done
bad=$(jobq enqueue bad)
leaky=$(jobq enqueue leaky)
# a type no handler runs, inserted by SQL with a name no producer could enqueue
sql jobq.db "INSERT INTO jobs (type, state, attempts, started_at, finished_at) VALUES ('we\"ird\\type', 'succeeded', 1, 1000, 3500)"
start_supervisor jobq.db
wait_state jobq.db "$bad" failed
wait_state jobq.db "$leaky" succeeded
hold=$(jobq enqueue hold '{"ms": 60000}')
wait_state jobq.db "$hold" running
port=$(jq -r .metrics $(db_file jobq.db runtime.json))
case "$port" in 127.0.0.1:[1-9]*) ;; *) fail "runtime file: metrics '$port'" ;; esac

expect_code 0 jobq metrics
printf '%s\n' "$OUT" >m1.txt
m1=$(prom m1.txt)
curl -sS --max-time 10 -o h1.txt -D h1.head "http://$port/metrics" || fail "curl /metrics"
assert_contains "$(cat h1.head)" "HTTP/1.0 200 OK"
assert_contains "$(cat h1.head)" "Content-Type: text/plain; version=0.0.4; charset=utf-8"
h1=$(prom h1.txt)
# the same families from both, and the same counts of jobs (nothing changed in between)
assert_eq "$(printf '%s' "$m1" | jq -c 'keys')" "$(printf '%s' "$h1" | jq -c 'keys')" "families"
assert_eq "$(printf '%s' "$h1" | jq -c '.jobq_jobs.samples')" "$(printf '%s' "$m1" | jq -c '.jobq_jobs.samples')" "jobq_jobs"

for m in "$m1" "$h1"; do
	assert_eq "$(val "$m" jobq_supervisor_up jobq_supervisor_up true)" 1
	assert_eq "$(val "$m" jobq_jobs jobq_jobs '.labels.type == "ok" and .labels.state == "succeeded"')" 3
	assert_eq "$(val "$m" jobq_jobs jobq_jobs '.labels.type == "bad" and .labels.state == "failed"')" 1
	assert_eq "$(val "$m" jobq_job_attempts jobq_job_attempts '.labels.type == "bad" and .labels.state == "failed"')" 2
	assert_eq "$(val "$m" jobq_jobs jobq_jobs '.labels.type == "hold" and .labels.state == "running"')" 1
	assert_eq "$(val "$m" jobq_jobs jobq_jobs '.labels.type == "we\"ird\\type" and .labels.state == "succeeded"')" 1
	assert_eq "$(val "$m" jobq_pool_used jobq_pool_used '.labels.pool == "cpu"')" 3
	assert_eq "$(val "$m" jobq_pool_used jobq_pool_used '.labels.pool == "gpu"')" 0
	assert_eq "$(val "$m" jobq_pool_capacity jobq_pool_capacity '.labels.pool == "gpu"')" 1
	[ "$(val "$m" jobq_job_orphans_reaped jobq_job_orphans_reaped '.labels.type == "leaky"')" != 0 ] ||
		fail "orphans of the leaky job not counted"
	assert_eq "$(val "$m" jobq_job_duration_seconds jobq_job_duration_seconds_count '.labels.type == "ok" and .labels.state == "succeeded"')" 3
	assert_eq "$(val "$m" jobq_job_duration_seconds jobq_job_duration_seconds_bucket '.labels.type == "we\"ird\\type" and .labels.state == "succeeded" and .labels.le == "2.5"')" 1
	assert_eq "$(val "$m" jobq_job_duration_seconds jobq_job_duration_seconds_bucket '.labels.type == "we\"ird\\type" and .labels.state == "succeeded" and .labels.le == "1"')" 0
	assert_eq "$(val "$m" jobq_job_duration_seconds jobq_job_duration_seconds_sum '.labels.type == "we\"ird\\type" and .labels.state == "succeeded"')" 2.5
	assert_eq "$(val "$m" jobq_workers jobq_workers true)" 3
	assert_eq "$(val "$m" jobq_worker_restarts jobq_worker_restarts_total true)" 0
done
# every (type, state) count agrees with SQL
sql jobq.db "SELECT type, state, count(*) FROM jobs GROUP BY type, state" | while IFS='|' read -r t s n; do
	[ "$t" = 'we"ird\type' ] && continue
	assert_eq "$(val "$m1" jobq_jobs jobq_jobs ".labels.type == \"$t\" and .labels.state == \"$s\"")" "$n" "jobs $t $s"
done

# 3. A worker killed while its job runs a command: its restart is counted, and the command,
# which comes back to the supervisor and dies with its worker, is an orphan the supervisor
# reaped; both in the runtime file and the metrics.
long=$(jobq enqueue long)
wait_state jobq.db "$long" running
victim=$(jobq show --json "$long" | jq -r .worker_pid)
kill -KILL "$victim"
wait_until 20 '[ "$(jq -r .worker_restarts $(db_file jobq.db runtime.json))" = 1 ]'
wait_until 20 '[ "$(jq -r .orphans_reaped $(db_file jobq.db runtime.json))" -ge 1 ]'
wait_until 20 'grep -qx "jobq_supervisor_orphans_reaped_total [1-9][0-9]*" <<<"$(jobq metrics)"'
wait_until 20 'grep -qx "jobq_worker_restarts_total 1" <<<"$(jobq metrics)"'
wait_until 20 'has "http://$port/metrics" "jobq_worker_restarts_total 1"'

# 4. HTTP edges. Not /metrics: 404; not GET: 405; a request head over 4 KiB: 431.
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$port/")" 404
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST "http://$port/metrics")" 405
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -I "http://$port/metrics")" 200
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' a)" "http://$port/metrics")" 431
# Clients that connect and send nothing neither block the others nor stay: they are closed.
"$PY" - "${port##*:}" >idle.txt <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
print("served" if data.startswith(b"HTTP/1.0 200 OK") and b"jobq_jobs{" in data else "not served")
start = time.monotonic()
for c in idle:
    c.settimeout(30)
    print("closed" if c.recv(1) == b"" else "data")
print("idle for %.1f s" % (time.monotonic() - start), file=sys.stderr)
PY
idle_pid=$!
wait "$idle_pid" || fail "idle clients: $(cat idle.txt)"
assert_eq "$(cat idle.txt)" "served
closed
closed
closed" "idle clients"

# 5. Reload: the endpoint moves to another port; a bad address is refused, the old one kept.
newport=$(free_port)
sed -i "s/127.0.0.1:0/127.0.0.1:$newport/" jobq.json
jobq reload >/dev/null
wait_until 20 '[ "$(jq -r .metrics $(db_file jobq.db runtime.json))" = "127.0.0.1:$newport" ]'
has "http://127.0.0.1:$newport/metrics" "jobq_supervisor_up 1" || fail "new port"
if curl -s --max-time 5 "http://$port/metrics" >/dev/null; then fail "the old port still answers"; fi
sed -i "s/127.0.0.1:$newport/10.1.2.3:9/" jobq.json
jobq reload >/dev/null
wait_until 20 'grep -q "reload refused" jobq.db.log'
assert_contains "$(cat jobq.db.log)" "metrics.listen: '10.1.2.3:9' is not a loopback address"
has "http://127.0.0.1:$newport/metrics" "jobq_supervisor_up 1" || fail "kept port"
sed -i "s/10.1.2.3:9/127.0.0.1:$newport/" jobq.json
jobq cancel "$hold" >/dev/null
stop_supervisor
assert_eq "$SUP_RC" 0 "supervisor exit"

# 6. The configuration: loopback only unless allowed, numeric, a port in range; 78 naming the
# field, for every command that loads it. A port in use: supervise exits 75.
for bad in '"0.0.0.0:9187"' '"localhost:9187"' '"127.0.0.1:70000"' '"127.0.0.1"' '9187' '"[::1]9187"'; do
	printf '{"metrics": {"listen": %s}}\n' "$bad" >bad.json
	expect_code 78 jobq --config bad.json metrics
	assert_contains "$ERR" "metrics.listen"
done
printf '{"metrics": {"listen": "127.0.0.1:0", "port": 1}}\n' >bad.json
expect_code 78 jobq --config bad.json metrics
assert_contains "$ERR" "metrics"
printf '{"metrics": {"listen": "0.0.0.0:0", "allow_remote": true}}\n' >remote.json
expect_code 0 jobq --config remote.json metrics
"$PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
open("busy.port", "w").write(str(s.getsockname()[1])); time.sleep(60)' &
busy_pid=$!
BG_PIDS+=("$busy_pid")
wait_for 10 test -s busy.port
printf '{"metrics": {"listen": "127.0.0.1:%s"}}\n' "$(cat busy.port)" >busy.json
expect_code 75 timeout 20 "$JOBQ" --config busy.json supervise
assert_contains "$ERR" "Address already in use"
[ ! -e $(db_file jobq.db runtime.json) ] || fail "runtime file left by a supervisor that did not start"

# 7. Types a producer invents by SQL: at most 1000 label values, the rest summed as "_other";
# a name of 300 bytes is cut with a hash, two such names stay apart.
jobq --db many.db init >/dev/null
if on_pg; then
	sql many.db "INSERT INTO jobs (type) SELECT 't' || lpad(i::text, 4, '0') FROM generate_series(1, 1010) AS i"
else
	sql many.db "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1010)
	INSERT INTO jobs (type) SELECT printf('t%04d', i) FROM n"
fi
a300=$(printf 'a%.0s' $(seq 300))
sql many.db "INSERT INTO jobs (type) VALUES ('${a300}x'), ('${a300}y')"
echo '{}' >empty.json
jobq --db many.db --config empty.json metrics >many.txt
many=$(prom many.txt)
json_eq "$many" '[.jobq_jobs.samples[] | select(.labels.state == "queued")] | length' 1001
json_eq "$many" '[.jobq_jobs.samples[] | select(.labels.state == "queued") | .value] | add' 1012
json_eq "$many" '[.jobq_jobs.samples[] | select(.labels.type == "_other" and .labels.state == "queued")][0].value' 12
json_eq "$many" '[.jobq_jobs.samples[] | select(.labels.type | startswith("aaa")) | .labels.type] | unique | map(length) | join(",")' 211,211
echo ok
