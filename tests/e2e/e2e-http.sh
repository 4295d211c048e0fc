#!/usr/bin/env bash
# The http handler against a real HTTP server on 127.0.0.1 (tests/e2e/httpserver.py): the
# request as sent (method, url with percent-encoded placeholders, headers with ${ENV}, the
# payload or a body template), 2xx, 503 with Retry-After then 200, 400 (no retry, status and
# the start of the error body kept, secrets masked), a server slower than the timeout, a refused
# connection, a body larger than output_max, cancel and shutdown during a slow request, and
# configuration errors. Pools paused by a 429 are in e2e-quota.sh.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

# start_server: run httpserver.py in the background; sets PORT and BASE.
start_server() {
	spawn python3 "$JOBQ_SRC/tests/e2e/httpserver.py" port requests.log
	wait_for 30 test -s port
	PORT=$(cat port)
	BASE=http://127.0.0.1:$PORT
}

# requests PATH: the logged requests to PATH, one JSON object a line.
requests() { jq -c --arg p "$1" 'select(.path == $p)' requests.log; }

# free_port: a port nothing listens on (bound, then closed).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_server
REFUSED=$(free_port)
# An HTTPS server with a self-signed certificate for 127.0.0.1.
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
spawn python3 "$JOBQ_SRC/tests/e2e/httpserver.py" tls-port tls-requests.log cert.pem key.pem
wait_for 30 test -s tls-port
TLS=https://127.0.0.1:$(cat tls-port)
# An HTTP date about 3 s ahead (whole seconds) for a Retry-After.
HTTP_DATE=$(date -u -d '+3 seconds' '+%a, %d %b %Y %H:%M:%S GMT')
HTTP_DATE_URI=$(jq -rn --arg d "$HTTP_DATE" '$d | @uri')
export E2E_TOKEN="tok-$$-s3cr3t-value"

cat >jobq.json <<JSON
{
  "concurrency": {"global": 2},
  "grace": "1s",
  "output_max": 1000,
  "types": {
    "echo": {"http": {"url": "$BASE/echo?id={job.id}&q={payload.q}&n={payload.n}", "method": "PUT",
                      "headers": {"Authorization": "Bearer \${E2E_TOKEN}", "X-Static": "plain \$value",
                                  "Content-Type": "application/json; charset=utf-8"}}},
    "chat": {"http": {"url": "$BASE/echo",
                      "body": {"model": "m1", "stream": false, "n": "{payload.n}", "opts": "{payload.opts}",
                               "messages": [{"role": "user", "content": "Summarize: {payload.text}"}],
                               "id": "{job.id}", "literal": "{not.a.placeholder}"}}},
    "get": {"http": {"url": "$BASE/echo?id={job.id}", "method": "GET"}},
    "flaky": {"http": {"url": "$BASE/flaky/f503?code=503&retry_after=1"},
              "backoff": {"base": "100ms", "max": "1m"}},
    "flakydate": {"http": {"url": "$BASE/flaky/fdate?code=503&retry_after=$HTTP_DATE_URI"},
                  "backoff": {"base": "100ms", "max": "1m"}},
    "bad": {"http": {"url": "$BASE/status/400?body=denied+for+$E2E_TOKEN",
                     "headers": {"Authorization": "Bearer \${E2E_TOKEN}"}}},
    "gone": {"http": {"url": "$BASE/status/404"}},
    "slow": {"http": {"url": "$BASE/slow?ms=5000"}, "timeout": "1s", "max_attempts": 1},
    "refused": {"http": {"url": "http://127.0.0.1:$REFUSED/", "connect_timeout": "2s"},
                "max_attempts": 2, "backoff": {"base": "100ms", "max": "100ms"}},
    "big": {"http": {"url": "$BASE/big?bytes=5000", "method": "GET"}},
    "missing": {"http": {"url": "$BASE/echo?x={payload.nope}"}},
    "long": {"http": {"url": "$BASE/slow?ms=30000"}},
    "tls": {"http": {"url": "$TLS/echo"}},
    "tlsca": {"http": {"url": "$TLS/echo", "ca_bundle": "$TEST_DIR/cert.pem"}},
    "tlsnoca": {"http": {"url": "$TLS/echo", "ca_bundle": "$TEST_DIR/missing.pem"}}
  }
}
JSON

e1=$(jobq enqueue echo '{"q": "a b&c/é?#", "n": 7}')
c1=$(jobq enqueue chat '{"text": "he said \"hi\"\n\\ok", "n": 5, "opts": {"t": 0.5}}')
g1=$(jobq enqueue get '{"ignored": true}')
f1=$(jobq enqueue flaky)
f2=$(jobq enqueue flakydate)
b1=$(jobq enqueue bad)
n1=$(jobq enqueue gone)
s1=$(jobq enqueue slow)
r1=$(jobq enqueue refused)
big=$(jobq enqueue big)
m1=$(jobq enqueue missing '{"q": 1}')
tls1=$(jobq enqueue tls '{"secure": 1}')
tls2=$(jobq enqueue tlsca '{"secure": 2}')
tls3=$(jobq enqueue tlsnoca '{"secure": 3}')
t0=$(date +%s)
expect_code 0 env JOBQ_LOG_LEVEL=debug timeout 60 "$JOBQ" supervise --drain
t1=$(date +%s)
LOG=$ERR

# 2xx with the payload as body: the echo of the body is the result; the request as sent.
j=$(jobq show --json "$e1")
json_eq "$j" .state succeeded
json_eq "$j" .exit_code 200
json_eq "$j" '.result.q' 'a b&c/é?#'
json_eq "$j" '.result.n' 7
req=$(requests /echo | jq -c 'select(.query.id == "'"$e1"'")')
json_eq "$req" .method PUT
json_eq "$req" .query.q 'a b&c/é?#'
json_eq "$req" .query.n 7
json_eq "$req" .headers.authorization "Bearer $E2E_TOKEN"
json_eq "$req" '.headers["x-static"]' 'plain $value'
json_eq "$req" '.headers["content-type"]' 'application/json; charset=utf-8'
json_eq "$req" '.body | fromjson | .q' 'a b&c/é?#'

# A body template: strings filled, a lone placeholder keeps the value's type.
j=$(jobq show --json "$c1")
json_eq "$j" .state succeeded
req=$(requests /echo | jq -c 'select(.body | fromjson? | .model == "m1")')
json_eq "$req" '.headers["content-type"]' application/json
body=$(printf '%s' "$req" | jq -r .body)
json_eq "$body" '.messages[0].content' 'Summarize: he said "hi"
\ok'
json_eq "$body" '.n' 5
json_eq "$body" '.opts.t' 0.5
json_eq "$body" '.id' "$c1"
json_eq "$body" '.stream' false
json_eq "$body" '.literal' '{not.a.placeholder}'
json_eq "$j" '.result.messages[0].role' user

# GET sends no body.
json_eq "$(jobq show --json "$g1")" .state succeeded
req=$(requests /echo | jq -c 'select(.query.id == "'"$g1"'")')
json_eq "$req" .method GET
json_eq "$req" .body ""

# 503 with Retry-After: 1, then 200: the retry waited about a second (backoff base is 100ms).
j=$(jobq show --json "$f1")
json_eq "$j" .state succeeded
json_eq "$j" .attempts 2
json_eq "$j" .result.ok true
gap=$(requests /flaky/f503 | jq -s '(.[1].t - .[0].t) * 1000 | floor')
[ "$gap" -ge 900 ] || fail "the retry after a 503 with Retry-After: 1 came after ${gap} ms"
[ "$gap" -lt 5000 ] || fail "the retry after a 503 with Retry-After: 1 came after ${gap} ms"

# 503 with Retry-After as an HTTP date: the retry came no earlier than that date.
j=$(jobq show --json "$f2")
json_eq "$j" .state succeeded
json_eq "$j" .attempts 2
second=$(requests /flaky/fdate | jq -s '.[1].t | floor')
[ "$second" -ge "$(date -d "$HTTP_DATE" +%s)" ] || fail "retried at $second, before $HTTP_DATE"

# 400: failed at once, the status and the start of the body kept, the secret masked.
j=$(jobq show --json "$b1")
json_eq "$j" .state failed
json_eq "$j" .attempts 1
json_eq "$j" .exit_code 400
assert_contains "$(printf '%s' "$j" | jq -r .error)" "HTTP 400: denied for *****"
assert_eq "$(requests /status/400 | wc -l)" 1 "requests of the 400 job"
j=$(jobq show --json "$n1")
json_eq "$j" .state failed
json_eq "$j" .attempts 1
json_eq "$j" .exit_code 404

# The secret is nowhere in the database or the log.
assert_eq "$(db_dump jobq.db | grep -c -- "$E2E_TOKEN" || true)" 0 "secret in the database"
assert_not_contains "$LOG" "$E2E_TOKEN" "supervisor log"

# Slower than the timeout: a failed attempt, no status.
j=$(jobq show --json "$s1")
json_eq "$j" .state failed
json_eq "$j" .exit_code null
assert_contains "$(printf '%s' "$j" | jq -r .error)" "timed out after 1s"

# Connection refused: retried, then failed.
j=$(jobq show --json "$r1")
json_eq "$j" .state failed
json_eq "$j" .attempts 2
assert_contains "$(printf '%s' "$j" | jq -r .error)" "request failed"
assert_contains "$(printf '%s' "$j" | jq -r .error)" "onnect"

# A body larger than output_max (1000): the first 1000 bytes.
j=$(jobq show --json "$big")
json_eq "$j" .state succeeded
json_eq "$j" '.result | length' 1000

# A payload without the field a placeholder names: failed at once, named.
j=$(jobq show --json "$m1")
json_eq "$j" .state failed
json_eq "$j" .attempts 1
assert_contains "$(printf '%s' "$j" | jq -r .error)" "no 'payload.nope'"

# TLS: verified against the system's CAs (a self-signed certificate fails at once, no retry),
# or against ca_bundle.
j=$(jobq show --json "$tls1")
json_eq "$j" .state failed
json_eq "$j" .attempts 1
assert_contains "$(printf '%s' "$j" | jq -r .error)" "certificate"
j=$(jobq show --json "$tls2")
json_eq "$j" .state succeeded
json_eq "$j" .result.secure 2
j=$(jobq show --json "$tls3")
json_eq "$j" .state failed
json_eq "$j" .attempts 1
assert_eq "$(jq -c 'select(.path == "/echo")' tls-requests.log | wc -l)" 1 "requests over TLS"

[ $((t1 - t0)) -lt 30 ] || fail "the drain took $((t1 - t0)) s"

# Cancel during a slow request (30 s): the request is aborted at once. The bound is loose (load,
# sanitizers) but far below the request's own 30 s.
start_supervisor jobq.db
id=$(jobq enqueue long)
wait_state jobq.db "$id" running 5
wait_until 5 'test -n "$(requests /slow | jq -c '\''select(.query.ms == "30000")'\'')"'
ms0=$(date +%s%N)
expect_code 0 jobq cancel "$id"
wait_state jobq.db "$id" cancelled 20
ms1=$(date +%s%N)
[ $(((ms1 - ms0) / 1000000)) -lt 10000 ] || fail "cancel took $(((ms1 - ms0) / 1000000)) ms"

# Shutdown during a slow request: after the grace period (1s) the request is aborted and the
# job goes back to the queue without counting the attempt: by the worker itself, not by the
# supervisor's SIGKILL (grace + 5 s) of a worker that did not stop.
id=$(jobq enqueue long)
wait_state jobq.db "$id" running 5
ms0=$(date +%s%N)
stop_supervisor TERM
ms1=$(date +%s%N)
assert_eq "$SUP_RC" 0 "supervisor exit"
[ $(((ms1 - ms0) / 1000000)) -lt 20000 ] || fail "shutdown took $(((ms1 - ms0) / 1000000)) ms"
assert_not_contains "$(cat jobq.db.log)" "killing them" "supervisor log"
j=$(jobq show --json "$id")
json_eq "$j" .state queued
json_eq "$j" .attempts 0
expect_code 0 jobq cancel "$id"

# Connections are kept alive from one job to the next (one worker, one connection).
cat >jobq.json <<JSON
{"types": {"get": {"http": {"url": "$BASE/echo?id={job.id}", "method": "GET"}}}}
JSON
: >requests.log
for i in 1 2 3 4 5; do jobq enqueue get >/dev/null; done
expect_code 0 timeout 30 "$JOBQ" supervise --drain --workers 1
LOG="$LOG$ERR"
assert_eq "$(requests /echo | wc -l)" 5 "requests"
assert_eq "$(requests /echo | jq -r .peer | sort -u | wc -l)" 1 "connections used by 5 requests"
assert_eq "$(sql jobq.db "select count(*) from jobs where type = 'get' and state = 'succeeded'")" 6

# The example configs in contrib/, pointed at the echo server: the request they make.
export OPENAI_API_KEY="sk-e2e-$$-not-a-real-key"
jq --arg u "$BASE/echo" '.types.chat.http.url = $u' "$JOBQ_SRC/contrib/openai.json" >openai.json
jq --arg u "$BASE/echo" '.types.chat.http.url = $u' "$JOBQ_SRC/contrib/ollama.json" >ollama.json
for conf in openai ollama; do
	: >requests.log
	id=$(jobq --db "$conf.db" --config "$conf.json" enqueue chat '{"prompt": "Say \"hi\"."}')
	expect_code 0 timeout 30 "$JOBQ" --db "$conf.db" --config "$conf.json" supervise --drain
	LOG="$LOG$ERR"
	json_eq "$(jobq --db "$conf.db" --config "$conf.json" show --json "$id")" .state succeeded
	req=$(requests /echo)
	json_eq "$req" '.body | fromjson | .messages[-1].content' 'Say "hi".'
	json_eq "$req" '.body | fromjson | .model | length > 0' true
	if [ "$conf" = openai ]; then
		json_eq "$req" .headers.authorization "Bearer $OPENAI_API_KEY"
	else
		json_eq "$req" '.body | fromjson | .stream' false
	fi
done
assert_not_contains "$LOG" "$OPENAI_API_KEY" "logs"

# A header's variable is needed only where requests are made: status works without it,
# supervise refuses to start and names the field (more in e2e-http-secrets.sh).
cat >bad.json <<JSON
{"types": {"x": {"http": {"url": "$BASE/", "headers": {"Authorization": "Bearer \${E2E_UNSET_VAR}"}}}}}
JSON
unset E2E_UNSET_VAR
expect_code 0 jobq --config bad.json status
expect_code 78 jobq --config bad.json supervise --drain
assert_contains "$ERR" "types.x.http.headers.Authorization"
assert_contains "$ERR" "E2E_UNSET_VAR"
cat >bad.json <<JSON
{"types": {"x": {"http": {"url": "ftp://example.com/"}}}}
JSON
expect_code 78 jobq --config bad.json status
assert_contains "$ERR" "types.x.http.url"
# Under the sanitizers, a leak or undefined behaviour in a worker shows in the logs only.
for f in *.log; do LOG="$LOG$(cat "$f")"; done
assert_not_contains "$LOG" "Sanitizer" "logs"
assert_not_contains "$LOG" "runtime error" "logs"
assert_not_contains "$LOG" "$E2E_TOKEN" "logs"
echo ok
