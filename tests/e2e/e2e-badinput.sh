#!/usr/bin/env bash
# Bad input: usage errors (64), bad data (65), missing or unwritable databases (66/74), bad
# configuration (78), --help and --version, and an older schema migrated on open.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1

# --help everywhere: usage on stdout, exit 0.
expect_code 0 jobq --help
assert_contains "$OUT" "usage: jobq"
for cmd in enqueue status list show cancel retry wait pause resume prune claim heartbeat \
	complete fail init; do
	expect_code 0 jobq "$cmd" --help
	assert_contains "$OUT" "usage: jobq $cmd" "$cmd --help"
	[ -z "$ERR" ] || fail "$cmd --help wrote to stderr: $ERR"
done
expect_code 0 jobq --version
assert_contains "$OUT" "jobq "
[ ! -e jobq.db ] || fail "--help created a database"

# Usage errors: one line and a hint, exit 64.
expect_code 64 jobq
expect_code 64 jobq frobnicate
assert_contains "$ERR" "unknown command 'frobnicate'"
expect_code 64 jobq --frob status
assert_contains "$ERR" "unknown option '--frob'"
expect_code 64 jobq enqueue noop --frob
assert_contains "$ERR" "unknown option '--frob'"
assert_contains "$ERR" "jobq enqueue --help"
expect_code 64 jobq --db
expect_code 64 jobq enqueue
assert_contains "$ERR" "missing TYPE"
expect_code 64 jobq enqueue noop --namespace
assert_contains "$ERR" "needs a value"
expect_code 64 jobq enqueue noop --delay 5x
assert_contains "$ERR" "invalid duration '5x' for --delay"
expect_code 64 jobq enqueue noop --timeout 1.5s
assert_contains "$ERR" "--timeout"
expect_code 64 jobq enqueue noop --priority high
assert_contains "$ERR" "--priority"
expect_code 64 jobq enqueue noop --max-attempts 0
expect_code 64 jobq enqueue noop --resource 'Bad Tag'
expect_code 64 jobq enqueue noop --run-at yesterday
expect_code 64 jobq enqueue noop '{}' extra
expect_code 64 jobq show
expect_code 64 jobq show abc
assert_contains "$ERR" "invalid job id 'abc'"
expect_code 64 jobq show 1 2
expect_code 64 jobq list --state sleeping
expect_code 64 jobq cancel
expect_code 64 jobq prune
expect_code 64 jobq wait
expect_code 64 jobq pause
expect_code 64 jobq heartbeat 1
assert_contains "$ERR" "--token"
expect_code 64 jobq complete 1
expect_code 64 jobq fail 1 --error x
expect_code 64 jobq complete 1 --token abc
expect_code 64 jobq claim --lease forever
[ ! -e jobq.db ] || fail "a usage error created a database"

# Missing and unwritable SQLite files (a PostgreSQL target names a server, not a file).
if ! on_pg; then
# Read-only commands on a missing database: 66, and no database is created.
for args in status list "show 1" "cancel 1" "retry 1" "wait 1" "pause t" "resume t" \
	"prune --older-than 1d" "heartbeat 1 --token 1" "complete 1 --token 1" "fail 1 --token 1"; do
	# shellcheck disable=SC2086
	expect_code 66 jobq --db x.db $args
	assert_eq "$ERR" "jobq: cannot open database '$(pwd -P)/x.db': no such file" "$args on a missing db"
done
[ ! -e x.db ] || fail "a read-only command created x.db"

# Unwritable locations: 66 or 74, one line naming the database.
touch plainfile
for db in /proc/jobq-e2e.db plainfile/q.db /nonexistent-dir/q.db; do
	set +e
	jobq --db "$db" enqueue noop >/dev/null 2>err.txt
	rc=$?
	set -e
	[ "$rc" -eq 66 ] || [ "$rc" -eq 74 ] || fail "enqueue into $db exited $rc: $(cat err.txt)"
	assert_contains "$(cat err.txt)" "cannot open database '$db'"
	assert_eq "$(wc -l <err.txt)" 1 "lines of the error"
done
fi

# Bad data: 65 naming what is wrong; nothing written. (No jobq.json here: ./jobq.db is made by
# init.)
expect_code 0 jobq init
expect_code 0 jobq enqueue noop
expect_code 65 jobq enqueue noop '{"a":'
assert_contains "$ERR" "payload"
expect_code 65 jobq enqueue noop '{"a":1} trailing'
expect_code 65 jobq enqueue noop - < <(printf '{not json')
assert_contains "$ERR" "payload"
expect_code 65 jobq enqueue 'Bad Type'
assert_eq "$ERR" "jobq: invalid type name 'Bad Type': must match [a-z0-9][a-z0-9_-]{0,63}"
expect_code 65 jobq enqueue "$(printf 'x%.0s' $(seq 1 65))"
expect_code 65 jobq enqueue -- -dash
expect_code 65 jobq enqueue noop --namespace ''
expect_code 65 jobq enqueue noop --namespace "$(head -c 10240 /dev/zero | tr '\0' n)"
expect_code 65 jobq enqueue noop --namespace "$(printf 'bad\001ns')"
expect_code 65 jobq enqueue noop --resource gpu
assert_contains "$ERR" "gpu"
expect_code 65 jobq claim --type 'No Such'
# Oversized payloads on stdin (payload_max 1 MiB by default) and as an argument (below).
head -c 1100000 /dev/zero | tr '\0' x | sed 's/.*/"&"/' >big.json
expect_code 65 jobq enqueue noop - <big.json
assert_contains "$ERR" "payload exceeds 1048576 bytes"
assert_eq "$(sql jobq.db 'select count(*) from jobs')" 1 "jobs after bad input"
# ... and with a smaller payload_max from the configuration.
echo '{"payload_max": "1KiB"}' >small.json
expect_code 65 jobq --config small.json enqueue noop "\"$(head -c 2000 /dev/zero | tr '\0' y)\""
assert_contains "$ERR" "payload"
assert_contains "$ERR" "1024"
expect_code 0 jobq --config small.json enqueue noop "\"$(head -c 500 /dev/zero | tr '\0' y)\""

# A bad configuration: 78 naming the file and the field; nothing else happens.
echo '{"concurrency": {"types": {"enrich": 0}}}' >bad.json
expect_code 78 jobq --config bad.json enqueue noop
assert_eq "$ERR" "jobq: config 'bad.json': concurrency.types.enrich: must be a positive integer"
expect_code 78 env JOBQ_CONFIG=bad.json "$JOBQ" claim
assert_contains "$ERR" "concurrency.types.enrich"
expect_code 78 jobq --config bad.json status
echo '{"concurrency": {"global": 2}, "typo": 1}' >bad2.json
expect_code 78 jobq --config bad2.json enqueue noop
assert_contains "$ERR" "typo"
expect_code 78 jobq --config missing.json enqueue noop
assert_contains "$ERR" "missing.json"
mkdir sub
echo '{"concurrency": {"global": "many"}}' >sub/jobq.json
expect_code 78 jobq --db sub/q.db enqueue noop
assert_contains "$ERR" "config '$(pwd -P)/sub/jobq.json': concurrency.global"
assert_eq "$(sql jobq.db 'select count(*) from jobs')" 2 "jobs after bad configs"

sqlite_only_rest "SQLite's user_version and files that are not databases"
# An older database (user_version 0) is migrated on open, by a reader as by a writer.
sqlite3 old.db 'pragma user_version=0'
expect_code 0 jobq --db old.db status --json
json_eq "$OUT" .counts.queued 0
[ "$(sqlite3 old.db 'pragma user_version')" -ge 1 ] || fail "old.db not migrated by status"
sqlite3 old2.db 'pragma user_version=0'
expect_code 0 jobq --db old2.db enqueue noop
assert_eq "$OUT" 1
[ "$(sqlite3 old2.db 'pragma user_version')" -ge 1 ] || fail "old2.db not migrated"
# A database from a newer jobq is refused (69) and left alone.
sqlite3 new.db 'pragma user_version=999'
expect_code 69 jobq --db new.db status
assert_eq "$(sqlite3 new.db 'pragma user_version')" 999
# Not a database at all.
echo 'hello' >junk.db
set +e
jobq --db junk.db status >/dev/null 2>err.txt
rc=$?
set -e
[ "$rc" -ne 0 ] && [ "$rc" -ne 70 ] || fail "status on a junk file exited $rc: $(cat err.txt)"
assert_contains "$(cat err.txt)" "junk.db"

echo ok
