#!/usr/bin/env bash
# enqueue: the argument and stdin, every option, --json, --unique, --jsonl all or nothing.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1

cat >jobq.json <<'JSON'
{"concurrency": {"global": 4, "resources": {"cpu": 4, "ollama": 1}},
 "types": {"story": {"resources": ["ollama"], "max_attempts": 5, "timeout": "10m", "priority": 7},
           "noop": {"builtin": "noop"}}}
JSON

# One job: the id on stdout; the database is created.
expect_code 0 jobq enqueue noop '{"a":1}'
assert_eq "$OUT" 1 "first id"
on_pg || [ -f jobq.db ] || fail "enqueue did not create jobq.db"
expect_code 0 jobq enqueue noop
assert_eq "$OUT" 2 "second id"
expect_code 0 jobq show 2 --json
json_eq "$OUT" .payload '{}'

# JSON from stdin when the argument is '-' (only then: see e2e-producer-traps); an empty stdin
# is {}.
expect_code 0 jobq enqueue noop - < <(printf '{"from":"stdin","n":[1,2]}')
assert_eq "$OUT" 3
expect_code 0 jobq show 3 --json
json_eq "$OUT" '.payload.from' stdin
json_eq "$OUT" '.payload.n[1]' 2
json_eq "$OUT" '.payload | type' object

# --json, before or after the command.
expect_code 0 jobq --json enqueue noop '[1,2,3]'
json_eq "$OUT" .id 4
json_eq "$OUT" 'keys | join(",")' id
expect_code 0 jobq enqueue noop '"just a string"' --json
json_eq "$OUT" .id 5
expect_code 0 jobq show 5 --json
json_eq "$OUT" .payload 'just a string'

# Every option lands in the job.
expect_code 0 jobq enqueue story '{"p":"x"}' --namespace 'Kunde Ä/1' --priority 9 \
	--max-attempts 2 --timeout 90s --resource cpu:2 --batch b1 --delay 1h
id=$OUT
expect_code 0 jobq show "$id" --json
job=$OUT
json_eq "$job" .type story
json_eq "$job" .namespace 'Kunde Ä/1'
json_eq "$job" .priority 9
json_eq "$job" .max_attempts 2
json_eq "$job" .timeout 1m30s
json_eq "$job" '.resources | join(",")' cpu:2
json_eq "$job" .batch b1
json_eq "$job" .state queued
json_eq "$job" .attempts 0
now=$(date +%s)
run_at=$(printf '%s' "$job" | jq -r '.run_at | sub("\\.[0-9]+Z$"; "Z") | fromdate')
[ "$run_at" -ge $((now + 3500)) ] && [ "$run_at" -le $((now + 3700)) ] ||
	fail "--delay 1h: run_at $run_at is not about now + 1h ($now)"
created=$(printf '%s' "$job" | jq -r '.created_at | sub("\\.[0-9]+Z$"; "Z") | fromdate')
[ $((created - now)) -le 5 ] && [ $((now - created)) -le 5 ] || fail "created_at $created vs $now"

# Type defaults apply when the option is absent (max_attempts 5 and priority 7 of "story").
expect_code 0 jobq enqueue story
expect_code 0 jobq show "$OUT" --json
json_eq "$OUT" .max_attempts 5
json_eq "$OUT" .priority 7

# --run-at, RFC 3339 and @unix.
expect_code 0 jobq enqueue noop --run-at 2030-01-02T03:04:05Z
expect_code 0 jobq show "$OUT" --json
json_eq "$OUT" .run_at 2030-01-02T03:04:05.000Z
expect_code 0 jobq enqueue noop --run-at @1900000000
expect_code 0 jobq show "$OUT" --json
json_eq "$OUT" '.run_at | sub("\\.000Z$"; "Z") | fromdate' 1900000000
expect_code 64 jobq enqueue noop --run-at 2030-01-02T03:04:05Z --delay 5m

# --unique: the live job is returned instead of a second one.
expect_code 0 jobq enqueue noop '{"u":1}' --unique key-1
uid=$OUT
expect_code 0 jobq enqueue noop '{"u":2}' --unique key-1
assert_eq "$OUT" "$uid (existing)" "unique hit"
expect_code 0 jobq enqueue noop --unique key-1 --json
json_eq "$OUT" .id "$uid"
json_eq "$OUT" .existing true
expect_code 0 jobq enqueue noop --unique key-2 --json
json_eq "$OUT" '.existing // "absent"' absent
expect_code 0 jobq show "$uid" --json
json_eq "$OUT" .payload.u 1
json_eq "$OUT" .unique_key key-1
# Once the job is finished the key is free again.
expect_code 0 jobq cancel "$uid"
expect_code 0 jobq enqueue noop --unique key-1
[ "$OUT" != "$uid" ] && [ "$OUT" -gt "$uid" ] || fail "a finished job still holds its unique key"

# --jsonl from a file: one transaction, consecutive ids, blank lines skipped.
before=$(sql jobq.db 'select max(id) from jobs')
printf '{"i":1}\n\n{"i":2}\n   \n{"i":3}\n' >five.jsonl
expect_code 0 jobq enqueue noop --jsonl five.jsonl --batch bulk1
[[ $OUT =~ ^3\ jobs:\ ([0-9]+)-([0-9]+)$ ]] || fail "bulk output '$OUT'"
first=${BASH_REMATCH[1]}
[ "$first" -gt "$before" ] && [ "${BASH_REMATCH[2]}" -eq $((first + 2)) ] || fail "bulk ids '$OUT'"
assert_eq "$(sql jobq.db "select count(*) from jobs where batch = 'bulk1'")" 3
expect_code 0 jobq show $((first + 2)) --json
json_eq "$OUT" .payload.i 3
json_eq "$OUT" .batch bulk1

# --jsonl from a pipe, --json output.
expect_code 0 jobq enqueue noop --jsonl - --json < <(seq 1 200 | sed 's/.*/{"n":&}/')
json_eq "$OUT" .count 200
json_eq "$OUT" '.last_id - .first_id' 199
expect_code 0 jobq enqueue noop --jsonl - --json </dev/null
json_eq "$OUT" .count 0
json_eq "$OUT" .first_id null
expect_code 0 jobq enqueue noop --jsonl - < <(printf '\n\n')
assert_eq "$OUT" "0 jobs"

# All or nothing: a bad line 3 of 5 writes nothing, from a file and from a pipe.
rm -f fresh.db
printf '{"i":1}\n{"i":2}\n{"i":3\n{"i":4}\n{"i":5}\n' >bad.jsonl
expect_code 65 jobq --db fresh.db enqueue noop --jsonl bad.jsonl
assert_contains "$ERR" "line 3"
assert_contains "$ERR" "invalid JSON"
[ ! -f fresh.db ] || assert_eq "$(sql fresh.db 'select count(*) from jobs')" 0 "jobs after a bad line"
expect_code 65 jobq enqueue noop --jsonl - <bad.jsonl
assert_contains "$ERR" "line 3: invalid JSON"
total=$(sql jobq.db 'select count(*) from jobs')
expect_code 65 jobq enqueue noop --jsonl bad.jsonl
assert_eq "$(sql jobq.db 'select count(*) from jobs')" "$total" "jobs after a bad line"

# A line longer than payload_max (1 MiB by default) names its line; nothing is written.
{
	echo '{"ok":1}'
	printf '{"big":"%s"}\n' "$(head -c 1100000 /dev/zero | tr '\0' x)"
	echo '{"ok":3}'
} >big.jsonl
expect_code 65 jobq enqueue noop --jsonl big.jsonl
assert_contains "$ERR" "line 2: payload exceeds 1048576 bytes"
expect_code 65 jobq enqueue noop --jsonl - <big.jsonl
assert_contains "$ERR" "line 2: payload exceeds 1048576 bytes"
assert_eq "$(sql jobq.db 'select count(*) from jobs')" "$total" "jobs after an oversized line"

# --jsonl excludes a JSON argument and --unique; a missing file is 66.
expect_code 64 jobq enqueue noop '{}' --jsonl five.jsonl
expect_code 64 jobq enqueue noop --unique k --jsonl five.jsonl
expect_code 66 jobq enqueue noop --jsonl no-such-file.jsonl
assert_contains "$ERR" "no-such-file.jsonl"

# JOBQ_DB and --db.
expect_code 0 env JOBQ_DB=other.db "$JOBQ" enqueue noop
assert_eq "$OUT" 1 "first id in other.db"
on_pg || [ -f other.db ] || fail "JOBQ_DB ignored"
expect_code 0 jobq --db other.db enqueue noop
assert_eq "$OUT" 2

echo ok
