#!/usr/bin/env bash
# NUL bytes and terminal escapes (issue 14, items 6 and 7): a raw NUL byte in enqueue input and
# a \u0000 escape in a payload or the configuration are refused, naming the line or the field;
# a payload inserted by SQL with \u0000 fails an exec placeholder clearly instead of cutting it;
# control characters of a job's output reach neither `show`, `list`, `status` nor the
# supervisor log raw.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

# njobs [DB]: how many jobs the database holds.
njobs() { sql "${1:-jobq.db}" "select count(*) from jobs"; }

# bad_bytes FILE: how many bytes of FILE a terminal would take as controls: C0 but tab and
# newline, DEL, and 0x80-0x9F (8-bit C1, or the second byte of a UTF-8 C1 control; the texts
# here hold no other non-ASCII character).
bad_bytes() { LC_ALL=C tr -cd '\000-\010\013-\037\177-\237' <"$1" | wc -c; }

cat >jobq.json <<'JSON'
{"types": {"t": {"builtin": "noop"}}}
JSON
jobq enqueue t '{"first": true}' >/dev/null
assert_eq "$(njobs)" 1 "jobs before"

# 1. A raw NUL byte in JSONL, from a pipe and from a file: exit 65 naming the line, nothing added
# (it used to split the line into two jobs through a pipe, and to cut it from a file).
step "1. A raw NUL byte in JSONL, from a pipe and from a file"
printf '{"a":1}\n{"b":\0 2}\n{"c":3}\n' >nul.jsonl
expect_code 65 bash -c 'cat nul.jsonl | "$JOBQ" enqueue t --jsonl -'
assert_eq "$ERR" "jobq: line 2: contains a NUL byte" "NUL in line 2 from a pipe"
expect_code 65 jobq enqueue t --jsonl nul.jsonl
assert_eq "$ERR" "jobq: line 2: contains a NUL byte" "NUL in line 2 from a file"
expect_code 65 bash -c 'cat nul.jsonl | "$JOBQ" enqueue t --jsonl /dev/stdin'
assert_eq "$ERR" "jobq: line 2: contains a NUL byte" "NUL in line 2 from /dev/stdin"
assert_eq "$(njobs)" 1 "jobs after refused bulks"
# The line numbers around a NUL stay right: a NUL alone on line 3 is named (it used to vanish
# as a blank line, and the bad JSON after it was called line 5), and a NUL in a line too long is
# a NUL; a NUL with no newline after it is the last line.
printf '{}\n{}\n\0\n{bad\n' >nul2.jsonl
expect_code 65 bash -c 'cat nul2.jsonl | "$JOBQ" enqueue t --jsonl -'
assert_eq "$ERR" "jobq: line 3: contains a NUL byte" "NUL alone on line 3, pipe"
expect_code 65 jobq enqueue t --jsonl nul2.jsonl
assert_eq "$ERR" "jobq: line 3: contains a NUL byte" "NUL alone on line 3, file"
printf '{}\n\n{}\n{"x":"%s"}\0\n' "$(head -c 2000 /dev/zero | tr '\0' x)" >nul3.jsonl
cat >small.json <<'JSON'
{"payload_max": 100, "types": {"t": {"builtin": "noop"}}}
JSON
expect_code 65 bash -c 'cat nul3.jsonl | "$JOBQ" --config small.json enqueue t --jsonl -'
assert_eq "$ERR" "jobq: line 4: contains a NUL byte" "NUL in a long line 4"
expect_code 65 jobq enqueue t --jsonl - < <(printf '{}\n{}\0')
assert_eq "$ERR" "jobq: line 2: contains a NUL byte" "NUL on a last line without newline"
# The same lines without the NULs are fine: the numbers above are the lines'.
expect_code 65 jobq enqueue t --jsonl - < <(printf '{}\n{}\n\n{"bad"\n')
assert_contains "$ERR" "jobq: line 4: invalid JSON" "bad JSON on line 4"
assert_eq "$(njobs)" 1 "jobs after refused bulks"

# A single payload from stdin.
expect_code 65 jobq enqueue t - < <(printf '{"a":"x\0y"}')
assert_eq "$ERR" "jobq: payload: contains a NUL byte (at byte 7)" "NUL in a stdin payload"
assert_eq "$(njobs)" 1 "jobs after a refused payload"

# 2. The escape \u0000 in a payload: refused (65) naming the field, from the argument, stdin and
# JSONL; an escaped backslash before "u0000" is ordinary text.
step "2. The escape \\u0000 in a payload"
expect_code 65 jobq enqueue t '{"a": {"b": ["x", "y\u0000z"]}}'
assert_eq "$ERR" "jobq: payload.a.b[1]: contains \\u0000 (a NUL character, at byte 20), which jobq cannot pass to a handler" \
	"\\u0000 in the argument"
expect_code 65 jobq enqueue t - < <(printf '"\\u0000"')
assert_contains "$ERR" "jobq: payload: contains \\u0000" "\\u0000 on stdin"
expect_code 65 jobq enqueue t --jsonl - < <(printf '{}\n{}\n{"prompt": "hi\\u0000"}\n')
assert_contains "$ERR" "jobq: line 3: payload.prompt: contains \\u0000" "\\u0000 in JSONL line 3"
assert_eq "$(njobs)" 1 "jobs after refused \\u0000 payloads"
expect_code 0 jobq enqueue t '{"path": "C:\\u0000"}'
json_eq "$(jobq show --json "$OUT")" .payload.path 'C:\u0000'

# 3. The configuration: \u0000 in any string is exit 78 naming the field path; so is a raw NUL
# byte in the file, naming its line.
step "3. The configuration"
bad_config() {
	printf '%s' "$1" >bad.json
	expect_code 78 jobq --config bad.json enqueue t '{}'
	assert_eq "$ERR" "jobq: config 'bad.json': $2" "config $1"
}
bad_config '{"types": {"t": {"exec": ["echo", "a\u0000b"]}}}' \
	'types.t.exec[1]: contains \u0000 (a NUL character, line 1), which jobq cannot pass on'
bad_config '{"types": {"t": {"exec": ["echo"], "env": {"KEY": "v\u0000"}}}}' \
	'types.t.env.KEY: contains \u0000 (a NUL character, line 1), which jobq cannot pass on'
bad_config '{"types": {"t": {"exec": ["echo"], "env_remove": ["A\u0000B"]}}}' \
	'types.t.env_remove[0]: contains \u0000 (a NUL character, line 1), which jobq cannot pass on'
bad_config '{"types": {"t": {"http": {"url": "http://h/", "headers": {"X": "\u0000"}}}}}' \
	'types.t.http.headers.X: contains \u0000 (a NUL character, line 1), which jobq cannot pass on'
printf '{"types": {"t": {"builtin": "noop"}}}\n\0{"more": 1}' >bad.json
expect_code 78 jobq --config bad.json enqueue t '{}'
assert_eq "$ERR" "jobq: config 'bad.json': contains a NUL byte (line 2)" "raw NUL in the config"
assert_eq "$(njobs)" 2 "jobs after refused configurations"

# 4. A producer inserting by SQL bypasses the checks: an exec placeholder of such a payload fails
# the job for good, naming the field, rather than passing a cut argument; the payload on stdin is
# the JSON text, intact; show --json keeps the escape.
step "4. A producer inserting by SQL bypasses the checks"
cat >jobq.json <<'JSON'
{"types": {"arg": {"exec": ["printf", "%s", "{payload.p}"]},
           "stdin": {"exec": ["cat"]}}}
JSON
sql jobq.db "insert into jobs (type, payload) values ('arg', '{\"p\": \"ab\\u0000cd\"}')"
arg=$(sql jobq.db "select max(id) from jobs")
sql jobq.db "insert into jobs (type, payload) values ('stdin', '{\"p\": \"ab\\u0000cd\"}')"
stdin=$(sql jobq.db "select max(id) from jobs")
sql jobq.db "delete from jobs where type = 't'"
expect_code 0 timeout 30 "$JOBQ" supervise --drain
job=$(jobq show --json "$arg")
json_eq "$job" .state failed
json_eq "$job" .attempts 1
json_eq "$job" .error 'exec: payload.p contains \u0000 (a NUL character), which no placeholder can pass on'
json_eq "$job" '.payload.p | length' 5
job=$(jobq show --json "$stdin")
json_eq "$job" .state succeeded
json_eq "$job" '.result.p | length' 5
assert_contains "$job" '"payload":{"p":"ab\u0000cd"}' "show --json of a \\u0000 payload"

# 5. Terminal escapes in a job's output: `show`, `list` and the supervisor log escape them (one
# log line per event); `show --json` carries them as JSON escapes only.
step "5. Terminal escapes in a job's output"
cat >jobq.json <<'JSON'
{"types": {"evil": {"exec": ["sh", "-c", "printf 'out\\033[2J\\033]0;pwned\\007 \\302\\233 \\233 one\\r\\ntwo\\n'; printf 'err\\033[31m\\njobq[1]: info: forged\\r\\033]0;t\\007' >&2; exit 3"], "max_attempts": 1}}}
JSON
evil=$(jobq enqueue evil '{"clear": "\u001b[2J"}')
expect_code 0 timeout 30 "$JOBQ" supervise --drain
cp "$TEST_DIR/.e2e-err" sup.log
assert_eq "$(bad_bytes sup.log)" 0 "control bytes in the supervisor log"
assert_eq "$(grep -c 'attempt failed' sup.log)" 1 "failure lines in the log"
# The error is one line, the last of stderr with a letter in it, terminal escapes removed (the
# last line, an OSC title, is nothing but an escape); the whole tail is in stderr, escaped.
assert_contains "$(cat sup.log)" 'attempt failed: exit status 3: jobq[1]: info: forged' \
	"the cause of the failure in the log"
assert_eq "$(grep -c '^jobq\[1\]' sup.log)" 0 "a forged log line"

jobq show "$evil" >show.txt
assert_eq "$(bad_bytes show.txt)" 0 "control bytes in show"
assert_contains "$(cat show.txt)" 'result: out\x1b[2J\x1b]0;pwned\x07 \u009b \x9b one\r
  two' "the escaped result in show"
assert_contains "$(cat show.txt)" 'error: exit status 3: jobq[1]: info: forged' "the error in show"
assert_contains "$(cat show.txt)" 'stderr: err\x1b[31m
  jobq[1]: info: forged\r\x1b]0;t\x07' "the escaped stderr in show"
assert_contains "$(cat show.txt)" 'payload: {"clear": "\u001b[2J"}' "the payload in show"
jobq show --json "$evil" >show.json
assert_eq "$(bad_bytes show.json)" 0 "control bytes in show --json"
json_eq "$(cat show.json)" '.result | startswith("out\u001b[2J\u001b]0;pwned\u0007 \u009b \ufffd one\r\ntwo")' true
json_eq "$(cat show.json)" '.stderr | contains("\u001b[31m\njobq[1]")' true
json_eq "$(cat show.json)" '.error' 'exit status 3: jobq[1]: info: forged'
jobq list >list.txt
assert_eq "$(bad_bytes list.txt)" 0 "control bytes in list"
jobq list --json >list.json
assert_eq "$(bad_bytes list.json)" 0 "control bytes in list --json"

# 6. Strings inserted by SQL (any text) in status, list and show: type, namespace, batch,
# unique key of a running job.
step "6. Strings inserted by SQL (any text) in status, list and show"
sql jobq.db "insert into jobs (type, namespace, batch, unique_key, state, started_at, attempts)
	values ('ev' || char(27) || '[2Jil', 'ns' || char(27) || ']0;x' || char(7),
	        'b' || char(155) || 'x', 'k' || char(13) || 'y', 'running', $(date +%s)000, 1)"
run=$(sql jobq.db "select max(id) from jobs")
jobq status >status.txt
assert_eq "$(bad_bytes status.txt)" 0 "control bytes in status"
assert_contains "$(cat status.txt)" 'ev\x1b[2Jil' "the escaped type in status"
jobq list >list.txt
assert_eq "$(bad_bytes list.txt)" 0 "control bytes in list"
jobq show "$run" >show.txt
assert_eq "$(bad_bytes show.txt)" 0 "control bytes in show"
assert_contains "$(cat show.txt)" 'namespace: ns\x1b]0;x\x07' "the escaped namespace in show"
assert_contains "$(cat show.txt)" 'batch: b\u009bx' "the escaped batch in show"
assert_contains "$(cat show.txt)" 'unique_key: k\ry' "the escaped unique key in show"

echo ok
