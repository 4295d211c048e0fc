#!/usr/bin/env bash
# Issue 12, item 5: producer traps. enqueue reads stdin only when asked (JSON argument '-'), so a
# `while read` loop keeps its input; no command creates a database the user did not name (--db,
# JOBQ_DB, a jobq.json beside it, or `jobq init`).
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1

# 1. stdin only with '-'.
step "1. stdin only with '-'"
jobq --db q.db enqueue first >/dev/null && sql q.db "delete from jobs"
printf 'a\nb\nc\n' | while read -r name; do
	jobq --db q.db enqueue t >/dev/null || exit 1
done || fail "enqueue in a while-read loop failed"
assert_eq "$(sql q.db 'select count(*) from jobs')" 3 "jobs of the loop"
assert_eq "$(sql q.db "select payload from jobs order by id" | paste -sd' ')" "{} {} {}" "payloads of the loop"
expect_code 0 jobq --db q.db enqueue t < <(printf '{"ignored": true}')
assert_eq "$(sql q.db "select payload from jobs where id = $OUT")" "{}" "stdin without '-'"
expect_code 0 jobq --db q.db enqueue t - < <(printf '{"from": "stdin"}')
assert_eq "$(sql q.db "select payload from jobs where id = $OUT")" '{"from": "stdin"}' "stdin with '-'"
expect_code 0 jobq --db q.db enqueue t - </dev/null
assert_eq "$(sql q.db "select payload from jobs where id = $OUT")" "{}" "empty stdin with '-'"
expect_code 65 jobq --db q.db enqueue t - < <(printf '{"a":')
assert_contains "$ERR" "payload is not valid JSON"

sqlite_only_rest "which commands create a SQLite file, and where"
# 2. No database where nobody named one: enqueue, claim and supervise refuse (66) and create
# nothing; the message says how to name or create one.
step "2. No database where nobody named one"
mkdir empty
cd empty
here=$(pwd -P)
for cmd in "enqueue t {}" "claim" "supervise --drain"; do
	# shellcheck disable=SC2086
	expect_code 66 jobq $cmd
	assert_eq "$ERR" "jobq: no database at '$here/jobq.db': name one with --db or JOBQ_DB, or create it with 'jobq init'" "$cmd"
	assert_eq "$(ls -A)" "" "files left by $cmd"
done
expect_code 66 jobq status
# jobq init creates it and prints its path; a second init finds it.
expect_code 0 jobq init
assert_eq "$OUT" "$here/jobq.db"
[ -f jobq.db ] || fail "init did not create jobq.db"
expect_code 0 jobq init --json
json_eq "$OUT" .database "$here/jobq.db"
json_eq "$OUT" .created false
expect_code 0 jobq init
assert_eq "$OUT" "$here/jobq.db (exists)"
expect_code 0 jobq enqueue t '{}'
assert_eq "$OUT" 1
# init --db PATH, and the global --db before it.
expect_code 0 jobq init --db sub.db --json
json_eq "$OUT" .database "$here/sub.db"
json_eq "$OUT" .created true
expect_code 0 jobq --db sub2.db init
assert_eq "$OUT" "$here/sub2.db"
cd ..

# 3. Named databases are created as before: --db, JOBQ_DB, or a jobq.json beside the default one.
step "3. Named databases are created as before"
mkdir named
cd named
expect_code 0 jobq --db by-option.db enqueue t
[ -f by-option.db ] || fail "--db not created"
expect_code 0 env JOBQ_DB=by-env.db "$JOBQ" enqueue t
[ -f by-env.db ] || fail "JOBQ_DB not created"
echo '{"types": {"t": {}}}' >jobq.json
expect_code 0 jobq enqueue t
[ -f jobq.db ] || fail "jobq.db beside jobq.json not created"

echo ok
