#!/usr/bin/env bash
# Secrets of http types (${ENV} in headers), against a real HTTP server on 127.0.0.1
# (tests/e2e/httpserver.py). Only the process that makes the request needs them: enqueue, status,
# list, show and claim work without; supervise refuses to start without them (78, naming the type
# and the variable), a SIGHUP reload to a file that needs a missing one is refused and the old
# configuration kept; with the key set the request carries it. Then masking: a server that sends
# the secret back as it is, JSON-escaped, percent-encoded, in base64 and hex, and cut at
# output_max; neither the result, the error, the database, the logs nor the output files
# (jobq logs) hold any of it.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

spawn python3 "$JOBQ_SRC/tests/e2e/httpserver.py" port requests.log
wait_for 30 test -s port
BASE=http://127.0.0.1:$(cat port)
requests() { jq -c --arg p "$1" 'select(.path == $p)' requests.log; }
unset OPENAI_API_KEY E2E_UNSET_KEY

# contrib/openai.json as a new user takes it, pointed at the local server.
jq --arg u "$BASE/echo" '.types.chat.http.url = $u' "$JOBQ_SRC/contrib/openai.json" >jobq.json

# Producers and operators never need the key.
expect_code 0 jobq enqueue chat '{"prompt": "Say hi."}'
id=$OUT
expect_code 0 jobq enqueue chat '{"prompt": "For an external worker."}'
id2=$OUT
expect_code 0 jobq status
expect_code 0 jobq status --json
json_eq "$OUT" .counts.queued 2
expect_code 0 jobq list
assert_contains "$OUT" chat
expect_code 0 jobq list --json
json_eq "$OUT" length 2
expect_code 0 jobq show "$id"
expect_code 0 jobq show --json "$id2"
json_eq "$OUT" .state queued
expect_code 0 jobq claim --json --type chat
json_eq "$OUT" .id "$id"
tok=$(printf '%s' "$OUT" | jq -r .token)
expect_code 0 jobq complete "$id" --token "$tok" --result '{"by": "an external worker"}'
expect_code 0 jobq wait "$id"
expect_code 0 jobq enqueue chat --jsonl - <<<'{"prompt": "bulk"}'

# The supervisor's workers make the requests: it refuses to start without the key, naming the
# type and the variable, and sends nothing.
expect_code 78 timeout 30 "$JOBQ" supervise --drain
assert_contains "$ERR" "types.chat.http.headers.Authorization"
assert_contains "$ERR" "'OPENAI_API_KEY' is not set"
assert_contains "$ERR" "type 'chat'"
json_eq "$(jobq show --json "$id2")" .state queued
assert_eq "$(requests /echo | wc -l)" 0 "requests sent without the key"
# A value too short to be masked is refused too.
expect_code 78 env OPENAI_API_KEY=short timeout 30 "$JOBQ" supervise --drain
assert_contains "$ERR" "'OPENAI_API_KEY' (type 'chat') holds 5 bytes"

# SIGHUP to a file that needs a variable the supervisor lacks: refused, the old one kept.
mkdir reload
cat >reload/jobq.json <<JSON
{"types": {"ping": {"builtin": "noop"}}}
JSON
start_supervisor reload/q.db
cat >reload/jobq.json <<JSON
{"types": {"chat": {"http": {"url": "$BASE/echo", "headers": {"X-Key": "\${E2E_UNSET_KEY}"}}}, "ping": {}}}
JSON
kill -HUP "$SUP_PID"
wait_until 10 'grep -q "reload refused" reload/q.db.log'
LOG=$(cat reload/q.db.log)
assert_contains "$LOG" "types.chat.http.headers.X-Key: environment variable 'E2E_UNSET_KEY' is not set (type 'chat' needs it)"
assert_not_contains "$LOG" "configuration reloaded"
# ping still has its handler: the old configuration is in force.
p=$(jobq --db reload/q.db enqueue ping)
wait_state reload/q.db "$p" succeeded 10
# A file without secrets reloads as before.
cat >reload/jobq.json <<JSON
{"types": {"ping": {"builtin": "noop"}, "pong": {"builtin": "noop"}}}
JSON
kill -HUP "$SUP_PID"
wait_until 10 'grep -q "configuration reloaded" reload/q.db.log'
stop_supervisor TERM
assert_eq "$SUP_RC" 0 "supervisor exit"

# With the key: the jobs run, the server got it, and it is kept nowhere.
export OPENAI_API_KEY="sk-e2e-$$-not-a-real-key"
expect_code 0 env JOBQ_LOG_LEVEL=debug timeout 30 "$JOBQ" supervise --drain
LOG=$ERR
j=$(jobq show --json "$id2")
json_eq "$j" .state succeeded
json_eq "$j" '.result.messages[-1].content' "For an external worker."
json_eq "$(requests /echo | head -1)" .headers.authorization "Bearer $OPENAI_API_KEY"
assert_eq "$(requests /echo | wc -l)" 2 "requests"
assert_not_contains "$LOG" "$OPENAI_API_KEY" "supervisor log"
assert_eq "$(db_dump jobq.db | grep -c -- "$OPENAI_API_KEY" || true)" 0 "key in the database"

# ---- masking ----
# The secret has characters that JSON escapes ('"', '\', '/' as '\/') and urls encode.
export E2E_SECRET='k3y/s3cr+t="q\z~>>?'"-$$"
mkdir mask
cat >mask/jobq.json <<JSON
{
  "output_max": 2000,
  "stderr_max": "8KiB",
  "types": {
    "reflect": {"http": {"url": "$BASE/reflect-auth?status={payload.status}&tail={payload.tail}&form={payload.form}",
                         "method": "GET", "headers": {"Authorization": "Bearer \${E2E_SECRET}"}},
                "max_attempts": 1}
  }
}
JSON
enq() { jobq --db mask/q.db enqueue reflect "{\"status\": $1, \"tail\": \"$2\", \"form\": \"$3\"}"; }
ok=$(enq 200 '' raw)
bad=$(enq 400 '' raw)
# Cut at output_max (2000) inside the secret: N characters of the form are kept, of which M carry
# bits of the secret and must be masked (the others belong to the blob around it).
cuts=("raw 6 6" "pct 5 5" "json-slash 4 4" "json-u 9 9" "b64-1 9 8" "b64url-2 7 5" "hex 5 5")
declare -A cut_id
for c in "${cuts[@]}"; do
	read -r form keep _ <<<"$c"
	cut_id[$form]=$(enq 200 $((2000 - keep)) "$form")
done
cut400=$(enq 400 1994 raw)
expect_code 0 env JOBQ_LOG_LEVEL=debug timeout 60 "$JOBQ" --db mask/q.db supervise --drain
LOG=$ERR

# What the server sent, and what was kept of it.
python3 - "$JOBQ_SRC/tests/e2e" >forms.json <<'PY'
import json, os, sys
sys.path.insert(0, sys.argv[1])
from httpserver import reflect_forms
print(json.dumps(reflect_forms(os.environ["E2E_SECRET"])))
PY
j=$(jobq --db mask/q.db show --json "$ok")
json_eq "$j" .state succeeded
printf '%s' "$j" | jq -r .result >kept-ok.txt
j=$(jobq --db mask/q.db show --json "$bad")
json_eq "$j" .state failed
json_eq "$j" .exit_code 400
printf '%s' "$j" | jq -r .error >kept-bad.txt
assert_contains "$(head -c 20 kept-bad.txt)" "HTTP 400: raw: "

# Line by line: every character that carries a bit of the secret is masked, in every form; the
# names of the lines and what is not the secret are kept.
python3 - forms.json kept-ok.txt kept-bad.txt <<'PY' || fail "a form of the secret was kept"
import json, os, re, sys
forms = json.load(open(sys.argv[1]))
n = len(os.environ["E2E_SECRET"].encode())
bad = 0
for path in sys.argv[2:]:
    text = open(path).read()
    text = re.sub(r"^HTTP 400: ", "", text)
    kept = dict(line.split(": ", 1) for line in text.strip("\n").split("\n"))
    assert list(kept) == list(forms), (path, list(kept))
    for name, sent in forms.items():
        got = kept[name]
        if len(got) != len(sent):
            print(f"{path}: {name}: length {len(got)}, sent {len(sent)}"); bad += 1; continue
        if name.startswith("b64") and name != "b64-json-slash":
            pre = int(name[-1])
            secret = [k for k in range(len(sent)) if 6 * k < 8 * (pre + n) and 6 * k + 6 > 8 * pre]
            left = [k for k in secret if got[k] != "*"]
            if left or got[secret[-1] + 1:] != sent[secret[-1] + 1:]:
                print(f"{path}: {name}: sent {sent}, kept {got}"); bad += 1
        elif name == "b64-json-slash":
            pad = len(sent) - len(sent.rstrip("="))
            if got != "PD" + "*" * (len(sent) - 2 - pad) + "=" * pad:
                print(f"{path}: {name}: sent {sent}, kept {got}"); bad += 1
        elif got != "*" * len(sent):
            print(f"{path}: {name}: sent {sent}, kept {got}"); bad += 1
sys.exit(1 if bad else 0)
PY

# Cut at output_max: the kept start of the secret's form is masked.
for c in "${cuts[@]}"; do
	read -r form keep secret <<<"$c"
	j=$(jobq --db mask/q.db show --json "${cut_id[$form]}")
	json_eq "$j" .state succeeded
	r=$(printf '%s' "$j" | jq -r .result)
	assert_eq "${#r}" 2000 "length of the result cut in $form"
	sent=$(jq -r --arg f "$form" '.[$f]' forms.json)
	want="${sent:0:$((keep - secret))}$(printf '%*s' "$secret" '' | tr ' ' '*')"
	assert_eq "${r: -$keep}" "$want" "the end of the result cut in $form"
done
j=$(jobq --db mask/q.db show --json "$cut400")
json_eq "$j" .state failed
e=$(printf '%s' "$j" | jq -r .error)
assert_eq "${e: -6}" "******" "the end of the error cut in raw"

# The output files (jobq logs) hold the masked body and error, as the result and the error.
[ -s "$(db_file mask/q.db logs)/$ok.out" ] || fail "no output file of job $ok"
assert_eq "$(jobq --db mask/q.db logs "$ok")" "$(cat kept-ok.txt)" "logs of an http job"
assert_eq "$(jobq --db mask/q.db logs "$bad" --stderr)" "$(cat kept-bad.txt)" "logs --stderr"
cat $(db_file mask/q.db logs)/* >files.txt

# Nothing of it anywhere: no form's secret-only part in the database, the logs or the files.
db_dump mask/q.db >dump.sql
printf '%s' "$LOG" >log.txt
python3 - forms.json dump.sql log.txt files.txt <<'PY' || fail "a secret was kept"
import json, os, sys
secret = os.environ["E2E_SECRET"]
forms = json.load(open(sys.argv[1]))
needles = {name: (sent if not name.startswith("b64") else sent[4:16]) for name, sent in forms.items()}
needles["start"] = secret[:8]
bad = 0
for path in sys.argv[2:]:
    text = open(path).read()
    for name, needle in needles.items():
        if needle in text:
            print(f"{path}: holds {name}: {needle}"); bad += 1
sys.exit(1 if bad else 0)
PY
assert_not_contains "$LOG" "Sanitizer" "logs"
assert_not_contains "$LOG" "runtime error" "logs"
echo ok
