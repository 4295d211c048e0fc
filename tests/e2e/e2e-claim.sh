#!/usr/bin/env bash
# External workers: claim, heartbeat, complete, fail with fencing tokens.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1

# claim creates a database only where one was named (here: none, no jobq.json beside it);
# nothing to claim prints null and exits 1.
# (Which SQLite files a command creates: on PostgreSQL the test makes every database itself.)
if ! on_pg; then
expect_code 66 jobq claim
[ ! -e jobq.db ] || fail "claim created a database nobody named"
expect_code 1 jobq --db named.db claim
[ -f named.db ] || fail "claim did not create the database named by --db"
fi
expect_code 0 jobq init
expect_code 1 jobq claim
assert_eq "$OUT" null

expect_code 0 jobq enqueue work '{"n":1}'
id1=$OUT
expect_code 0 jobq enqueue work '{"n":2}' --max-attempts 2
id2=$OUT

# claim prints the job as one JSON object, with a token; human mode prints the same.
expect_code 0 jobq claim
job=$OUT
assert_eq "$(printf '%s\n' "$job" | wc -l)" 1 "claim output lines"
json_eq "$job" .id "$id1"
json_eq "$job" .state running
json_eq "$job" .attempts 1
json_eq "$job" .payload.n 1
json_eq "$job" .worker_pid null
json_eq "$job" '.lease_until | type' string
json_eq "$job" '.started_at | type' string
json_eq "$job" '.token | type' number
tok1=$(printf '%s' "$job" | jq -r .token)
# Tokens are JSON-safe integers, so that jq 1.6 or JavaScript read them back exactly.
[[ $job =~ \"token\":([0-9]+) ]] || fail "no token in $job"
[ "${BASH_REMATCH[1]}" -le 9007199254740991 ] ||
	fail "token ${BASH_REMATCH[1]} is above 2^53 - 1: JSON readers cannot hold it exactly"
assert_eq "$tok1" "${BASH_REMATCH[1]}" "token read back by jq"
# The default policy is global 1: nothing else can be claimed now.
expect_code 1 jobq claim --json
assert_eq "$OUT" null

# heartbeat renews the lease; a wrong token is refused with 75.
expect_code 0 jobq heartbeat "$id1" --token "$tok1" --lease 10m --json
json_eq "$OUT" .id "$id1"
json_eq "$OUT" .cancel_requested false
lease=$(printf '%s' "$OUT" | jq -r '.lease_until | sub("\\.[0-9]+Z$"; "Z") | fromdate')
[ "$lease" -ge $(($(date +%s) + 500)) ] || fail "lease not renewed to 10m: $lease"
expect_code 0 jobq heartbeat "$id1" --token "$tok1"
assert_contains "$OUT" "lease renewed"
expect_code 75 jobq heartbeat "$id1" --token $((tok1 + 1000))
assert_eq "$ERR" "jobq: job $id1: token is no longer current"
expect_code 75 jobq complete "$id1" --token $((tok1 + 1000))
assert_eq "$ERR" "jobq: job $id1: token is no longer current"
expect_code 1 jobq heartbeat 999 --token "$tok1"
assert_contains "$ERR" "job 999: not found"

# complete with a JSON result: embedded as JSON by show.
expect_code 0 jobq complete "$id1" --token "$tok1" --result '{"answer":42}'
assert_eq "$OUT" "job $id1: succeeded"
expect_code 0 jobq show "$id1" --json
json_eq "$OUT" .state succeeded
json_eq "$OUT" .result.answer 42
json_eq "$OUT" '.finished_at | type' string
# The token is spent: a second complete, a fail or a heartbeat is refused.
expect_code 75 jobq complete "$id1" --token "$tok1"
expect_code 75 jobq fail "$id1" --token "$tok1"
expect_code 75 jobq heartbeat "$id1" --token "$tok1"

# fail: the attempt counts and the job is retried while attempts remain (max 2).
expect_code 0 jobq claim --type work
json_eq "$OUT" .id "$id2"
tok2=$(printf '%s' "$OUT" | jq -r .token)
expect_code 0 jobq fail "$id2" --token "$tok2" --error 'boom: first' --json
json_eq "$OUT" .state queued
expect_code 0 jobq show "$id2" --json
json_eq "$OUT" .attempts 1
json_eq "$OUT" .error 'boom: first'
json_eq "$OUT" .token null
# It waits for its backoff; make it runnable now through retry semantics of the store:
# a temporary failure does not count the attempt.
sql jobq.db "update jobs set run_at = 0 where id = $id2"
expect_code 0 jobq claim
json_eq "$OUT" .id "$id2"
json_eq "$OUT" .attempts 2
tok3=$(printf '%s' "$OUT" | jq -r .token)
[ "$tok3" != "$tok2" ] || fail "a new claim reused the token"
expect_code 75 jobq fail "$id2" --token "$tok2"
expect_code 0 jobq fail "$id2" --token "$tok3" --temporary --error 'rate limited'
assert_contains "$OUT" "queued"
expect_code 0 jobq show "$id2" --json
json_eq "$OUT" .attempts 1
sql jobq.db "update jobs set run_at = 0 where id = $id2"
expect_code 0 jobq claim
tok4=$(printf '%s' "$OUT" | jq -r .token)
json_eq "$OUT" .attempts 2
expect_code 0 jobq fail "$id2" --token "$tok4" --error 'boom: last'
assert_eq "$OUT" "job $id2: failed"
expect_code 0 jobq show "$id2" --json
json_eq "$OUT" .state failed
json_eq "$OUT" .error 'boom: last'
expect_code 75 jobq complete "$id2" --token "$tok4"

# A result that is not JSON is kept as text; --result - reads stdin.
expect_code 0 jobq enqueue work
id3=$OUT
expect_code 0 jobq claim
tok=$(printf '%s' "$OUT" | jq -r .token)
expect_code 0 jobq complete "$id3" --token "$tok" --result - < <(printf 'plain text\nline 2')
expect_code 0 jobq show "$id3" --json
json_eq "$OUT" .result "$(printf 'plain text\nline 2')"
expect_code 0 jobq show "$id3"
assert_contains "$OUT" "result: plain text"

# claim --type filters; --lease sets the lease.
expect_code 0 jobq enqueue other '{"x":1}'
ido=$OUT
expect_code 0 jobq enqueue work
expect_code 1 jobq claim --type nothing-here
assert_eq "$OUT" null
expect_code 0 jobq claim --type other --type third --lease 2s
json_eq "$OUT" .id "$ido"
lease=$(printf '%s' "$OUT" | jq -r '.lease_until | sub("\\.[0-9]+Z$"; "Z") | fromdate')
[ "$lease" -le $(($(date +%s) + 3)) ] || fail "--lease 2s not honoured: $lease"
toko=$(printf '%s' "$OUT" | jq -r .token)

# A cancel of a running, externally claimed job is seen by its heartbeat.
expect_code 0 jobq cancel "$ido" --json
json_eq "$OUT" .cancel_requested 1
expect_code 0 jobq heartbeat "$ido" --token "$toko" --json
json_eq "$OUT" .cancel_requested true
expect_code 0 jobq show "$ido" --json
json_eq "$OUT" .cancel_requested true
json_eq "$OUT" .state running

# A job that is not running cannot be completed.
expect_code 0 jobq list --state queued --type work --json
idq=$(printf '%s' "$OUT" | jq -r '.[0].id')
expect_code 75 jobq complete "$idq" --token 1

echo ok
