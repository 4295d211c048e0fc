#!/usr/bin/env bash
# Issue 12, item 3: producers safe to re-run. JSONL lines that are envelopes ({"payload": ...,
# "unique_key": ..., ...}) set per-job fields; --unique-for DUR makes a key hold over finished
# jobs too, in one enqueue and in a bulk (inside its one transaction), so a producer run twice
# adds nothing the second time.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1

cat >jobq.json <<'JSON'
{"concurrency": {"global": 2, "resources": {"cpu": 4, "gpu": 1}},
 "types": {"enrich": {}, "story": {"max_attempts": 5}}}
JSON

# 1. Envelopes and plain payloads mixed; every envelope key lands in its job; the payload is kept
# as written (no number rounded, no key reordered).
step "1. Envelopes and plain payloads mixed"
cat >mixed.jsonl <<'JSONL'
{"url": "plain-1"}
{"payload": {"url": "env-1", "n": 12345678901234567890}, "unique_key": "u-1", "namespace": "acme", "priority": -3, "batch": "b-env", "max_attempts": 7, "timeout": "90s", "resources": ["cpu:2", "gpu"]}
{"payload": "just a string", "run_at": "2030-01-02T03:04:05Z"}
{"payload": [1, 2], "delay": "1h"}
  {"p\u0061yload": {"escaped": true}}
[{"payload": 1}]
{"payload": null}
JSONL
expect_code 0 jobq enqueue enrich --jsonl mixed.jsonl --batch b-cli --namespace cli-ns --json
json_eq "$OUT" .count 7
json_eq "$OUT" '.existing // "absent"' absent
first=$(printf '%s' "$OUT" | jq .first_id)
expect_code 0 jobq show "$first" --json
json_eq "$OUT" .payload.url plain-1
json_eq "$OUT" .namespace cli-ns
json_eq "$OUT" .batch b-cli
expect_code 0 jobq show $((first + 1)) --json
job=$OUT
json_eq "$job" .payload.url env-1
json_eq "$job" .unique_key u-1
json_eq "$job" .namespace acme
json_eq "$job" .priority -3
json_eq "$job" .batch b-env
json_eq "$job" .max_attempts 7
json_eq "$job" .timeout 1m30s
json_eq "$job" '.resources | join(",")' cpu:2,gpu
assert_eq "$(sql jobq.db "select payload from jobs where id = $((first + 1))")" \
	'{"url": "env-1", "n": 12345678901234567890}' "payload text kept"
expect_code 0 jobq show $((first + 2)) --json
json_eq "$OUT" .payload 'just a string'
json_eq "$OUT" .run_at 2030-01-02T03:04:05.000Z
json_eq "$OUT" .namespace cli-ns
expect_code 0 jobq show $((first + 3)) --json
json_eq "$OUT" '.payload | length' 2
run_at=$(printf '%s' "$OUT" | jq -r '.run_at | sub("\\.[0-9]+Z$"; "Z") | fromdate')
[ "$run_at" -ge $(($(date +%s) + 3500)) ] || fail "delay 1h: run_at $run_at"
assert_eq "$(sql jobq.db "select payload from jobs where id = $((first + 4))")" '{"escaped": true}' "escaped key"
# Not objects with a payload member: payloads as they are.
assert_eq "$(sql jobq.db "select payload from jobs where id = $((first + 5))")" '[{"payload": 1}]'
assert_eq "$(sql jobq.db "select payload from jobs where id = $((first + 6))")" 'null'

# 2. --no-envelope: every line is a payload, an object with a "payload" member too.
step "2. --no-envelope"
expect_code 0 jobq enqueue enrich --no-envelope --jsonl - --json < <(echo '{"payload": {"a": 1}, "unique_key": "x"}')
assert_eq "$(sql jobq.db "select payload || '|' || coalesce(unique_key, 'none') from jobs where id = $(printf '%s' "$OUT" | jq .first_id)")" \
	'{"payload": {"a": 1}, "unique_key": "x"}|none'

# 3. Bad envelopes: the line and the field are named; nothing is written.
step "3. Bad envelopes"
total=$(sql jobq.db 'select count(*) from jobs')
bad() { # bad LINE EXPECTED-MESSAGE
	expect_code 65 jobq enqueue enrich --jsonl - < <(printf '{"payload": 1}\n%s\n' "$1")
	assert_eq "$ERR" "jobq: line 2: $2"
}
bad '{"payload": 1, "uniqe_key": "k"}' "unknown envelope key 'uniqe_key' (known: payload, unique_key, namespace, priority, run_at, delay, batch, resources, max_attempts, timeout, after; --no-envelope takes every line as a payload)"
bad '{"payload": 1, "priority": "high"}' "priority: must be an integer"
bad '{"payload": 1, "priority": 1.5}' "priority: must be an integer"
bad '{"payload": 1, "max_attempts": 0}' "max_attempts: must be an integer from 1 to 1000000"
bad '{"payload": 1, "timeout": "soon"}' "timeout: invalid duration 'soon' (examples: 500ms, 10s, 5m, 2h, 1d)"
bad '{"payload": 1, "run_at": "tomorrow"}' "run_at: invalid time 'tomorrow' (RFC 3339 with an offset, or @UNIXSECONDS)"
bad '{"payload": 1, "run_at": "@1", "delay": "1m"}' "run_at and delay exclude each other"
bad '{"payload": 1, "resources": "cpu"}' "resources: must be an array of resource tags"
bad '{"payload": 1, "resources": ["Bad Tag"]}' "resources[0]: invalid resource tag 'Bad Tag' (NAME or NAME:N)"
bad '{"payload": 1, "resources": ["tpu"]}' "unknown resource 'tpu' (not in concurrency.resources)"
bad '{"payload": 1, "unique_key": 5}' "unique_key: must be a string or null"
bad '{"payload": 1, "payload": 2}' "duplicate envelope key 'payload'"
bad '{"payload": {"a":}}' "invalid JSON (at byte 17)"
assert_eq "$(sql jobq.db 'select count(*) from jobs')" "$total" "jobs after bad envelopes"

# 4. --unique-for: a producer that runs twice adds nothing the second time, even once the first
# run's jobs have finished; duplicates inside one input are found too.
step "4. --unique-for"
cat >night.jsonl <<'JSONL'
{"payload": {"url": "a"}, "unique_key": "night:a"}
{"payload": {"url": "b"}, "unique_key": "night:b"}
{"payload": {"url": "a again"}, "unique_key": "night:a"}
{"payload": {"url": "no key"}}
JSONL
expect_code 0 jobq enqueue enrich --unique-for 24h --batch n1 --jsonl night.jsonl --json
json_eq "$OUT" .count 3
json_eq "$OUT" .existing 1
ida=$(sql jobq.db "select id from jobs where unique_key = 'night:a'")
# Finish them: cancelled is as finished as succeeded.
expect_code 0 jobq cancel --batch n1
grep unique_key night.jsonl >keyed.jsonl
expect_code 0 jobq enqueue enrich --unique-for 24h --batch n1 --jsonl keyed.jsonl
assert_eq "$OUT" "0 jobs (3 existing)"
assert_eq "$(sql jobq.db "select count(*) from jobs where batch = 'n1'")" 3 "jobs of n1 after the re-run"
# Without --unique-for only live jobs hold a key (as before): a finished one does not.
expect_code 0 jobq enqueue enrich --batch n2 --jsonl keyed.jsonl --json
json_eq "$OUT" .count 2
json_eq "$OUT" .existing 1
# A period that excludes the old jobs: they no longer count.
sql jobq.db "update jobs set created_at = created_at - 7200000 where batch = 'n1'"
expect_code 0 jobq cancel --batch n2
expect_code 0 jobq enqueue enrich --unique-for 1h --jsonl keyed.jsonl --json
json_eq "$OUT" .existing 3
sql jobq.db "update jobs set created_at = created_at - 7200000"
expect_code 0 jobq enqueue enrich --unique-for 1h --jsonl keyed.jsonl --json
json_eq "$OUT" .count 2

# One job: --unique KEY --unique-for DUR returns the finished job's id.
expect_code 0 jobq enqueue enrich '{}' --unique single --json
sid=$(printf '%s' "$OUT" | jq .id)
expect_code 0 jobq cancel "$sid"
expect_code 0 jobq enqueue enrich '{}' --unique single --unique-for 10m --json
json_eq "$OUT" .id "$sid"
json_eq "$OUT" .existing true
expect_code 0 jobq enqueue enrich '{}' --unique single --unique-for 10m
assert_eq "$OUT" "$sid (existing)"
expect_code 64 jobq enqueue enrich '{}' --unique-for 10m
assert_contains "$ERR" "--unique-for needs --unique"
expect_code 64 jobq enqueue enrich --unique k --jsonl keyed.jsonl
expect_code 64 jobq enqueue enrich --unique k --unique-for 5x

# 5. Two producers at once with the same keys: each key is added once (the check is inside the
# write transaction).
step "5. Two producers at once with the same keys"
seq 1 300 | sed 's/.*/{"payload": {"i": &}, "unique_key": "race:&"}/' >race.jsonl
"$JOBQ" enqueue enrich --unique-for 1d --jsonl race.jsonl --json >r1.out &
p1=$!
"$JOBQ" enqueue enrich --unique-for 1d --jsonl race.jsonl --json >r2.out &
p2=$!
wait "$p1" || fail "producer 1 failed"
wait "$p2" || fail "producer 2 failed"
assert_eq "$(sql jobq.db "select count(*) from jobs where unique_key like 'race:%'")" 300 "jobs of the race"
assert_eq "$(jq -s 'map(.count) | add' r1.out r2.out)" 300 "added by both"
assert_eq "$(jq -s 'map(.existing // 0) | add' r1.out r2.out)" 300 "found by both"

echo ok
