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
# The lone byte 0x9b, not UTF-8: SQLite keeps it and show writes it \x9b; PostgreSQL keeps text
# as UTF-8 only, so it holds U+FFFD there (step 7), which show writes as it is.
if on_pg; then lone=$'\xef\xbf\xbd'; else lone='\x9b'; fi
assert_contains "$(cat show.txt)" "result: out\\x1b[2J\\x1b]0;pwned\\x07 \\u009b $lone one\\r
  two" "the escaped result in show"
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
# (The character of a code point is char(N) in SQLite, chr(N) in PostgreSQL.)
if on_pg; then c=chr; else c=char; fi
sql jobq.db "insert into jobs (type, namespace, batch, unique_key, state, started_at, attempts)
	values ('ev' || $c(27) || '[2Jil', 'ns' || $c(27) || ']0;x' || $c(7),
	        'b' || $c(155) || 'x', 'k' || $c(13) || 'y', 'running', $(date +%s)000, 1)"
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
sql jobq.db "delete from jobs where id = $run"

# 7. Bytes that are not UTF-8 in a job's output (result, stderr tail, error) and in an external
# worker's error: the job ends at once on both backends. SQLite keeps the bytes; PostgreSQL,
# whose text is UTF-8 only, holds U+FFFD for each (it used to refuse the job's end, which was
# tried again and again until the worker gave up). show --json writes \ufffd on both, and the
# output files (jobq logs) keep the bytes on both.
step "7. Bytes that are not UTF-8 in a job's output"
cat >jobq.json <<'JSON'
{"types": {"rawok": {"exec": ["sh", "-c", "printf 'a\\377b\\376 {\"k\": \"\\377\"}'; printf 'warn \\377\\nlast \\377 line\\n' >&2"]},
           "rawbad": {"exec": ["sh", "-c", "printf 'out \\377'; printf 'last \\377\\340\\200 line\\n' >&2; exit 5"],
                      "max_attempts": 1},
           "ext": {}}}
JSON
ok=$(jobq enqueue rawok)
bad=$(jobq enqueue rawbad)
expect_code 0 timeout 30 "$JOBQ" supervise --drain
assert_not_contains "$ERR" "cannot finish" "supervisor log"
j=$(jobq show --json "$ok")
json_eq "$j" .state succeeded
json_eq "$j" .result 'a�b� {"k": "�"}'
json_eq "$j" .stderr 'warn �
last � line'
j=$(jobq show --json "$bad")
json_eq "$j" .state failed
json_eq "$j" .exit_code 5
json_eq "$j" .result 'out �'
json_eq "$j" .error 'exit status 5: last ��� line'
ext=$(jobq enqueue ext --max-attempts 1)
expect_code 0 jobq claim --json --type ext
tok=$(printf '%s' "$OUT" | jq -r .token)
expect_code 0 jobq fail "$ext" --token "$tok" --error "$(printf 'ext \377 error')"
j=$(jobq show --json "$ext")
json_eq "$j" .state failed
json_eq "$j" .error 'ext � error'
# What each backend holds (hex of the text's bytes).
if on_pg; then
	hex="upper(encode(convert_to(%s, 'UTF8'), 'hex'))" kept=EFBFBD
else
	hex="hex(%s)" kept=FF
fi
# shellcheck disable=SC2059
assert_eq "$(sql jobq.db "select $(printf "$hex" result) from jobs where id = $bad")" \
	"6F757420$kept" "the stored result"
# shellcheck disable=SC2059
assert_eq "$(sql jobq.db "select $(printf "$hex" error) from jobs where id = $ext")" \
	"65787420${kept}206572726F72" "the stored error"
# The output files hold what the command wrote, byte for byte.
assert_eq "$(jobq logs "$ok" | od -An -tx1 | tr -d ' \n')" \
	"61ff62fe207b226b223a2022ff227d" "the output file of job $ok"

echo ok
