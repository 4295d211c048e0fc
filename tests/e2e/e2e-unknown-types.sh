#!/usr/bin/env bash
# Issue 12, item 1: a misspelt type. enqueue (one and bulk) of a type the configuration does not
# declare exits 65 naming the known ones; types declared without a handler (in "types" or only in
# concurrency.types) are for external workers; without any declared type (no file: the built-in
# default) every type is accepted. supervise --drain stops, exit 1, when only jobs that none of
# its handlers runs are left, naming their types; pause/resume of an unknown type or pool is 65.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

cat >jobq.json <<'JSON'
{"concurrency": {"global": 2, "types": {"limited": 1}, "resources": {"cpu": 2, "gpu": 1}},
 "types": {"enrich": {"builtin": "noop"}, "story": {"builtin": "noop"}, "ext": {}}}
JSON

# 1. enqueue of an unknown type: 65, nothing written, the known types and a suggestion named.
step "1. enqueue of an unknown type"
expect_code 65 jobq enqueue enrch '{"url": "https://a"}'
assert_eq "$ERR" "jobq: unknown type 'enrch', did you mean 'enrich'? (known: enrich, story, ext, limited; declare a type without a handler for external workers)"
[ ! -f jobq.db ] || assert_eq "$(sql jobq.db 'select count(*) from jobs')" 0 "jobs after enrch"
expect_code 65 jobq enqueue zzz
assert_contains "$ERR" "unknown type 'zzz' (known: enrich, story, ext, limited;"
assert_not_contains "$ERR" "did you mean"
# Bulk: all or nothing, like a bad line.
printf '{"a":1}\n{"a":2}\n' >two.jsonl
expect_code 65 jobq enqueue enrch --jsonl two.jsonl
assert_contains "$ERR" "unknown type 'enrch'"
# Declared types: with a handler, without one ("ext": {}), or only in concurrency.types.
expect_code 0 jobq enqueue enrich '{"n":1}'
expect_code 0 jobq enqueue ext '{"n":2}'
expect_code 0 jobq enqueue limited '{"n":3}'
expect_code 0 jobq enqueue story --jsonl two.jsonl
assert_eq "$(sql jobq.db 'select count(*) from jobs')" 5 "jobs of declared types"

# 2. pause / resume of an unknown type or pool: 65, naming the known ones.
step "2. pause / resume of an unknown type or pool"
expect_code 65 jobq pause enrch
assert_contains "$ERR" "unknown type 'enrch', did you mean 'enrich'? (known: enrich, story, ext, limited"
expect_code 65 jobq pause --resource gpus
assert_eq "$ERR" "jobq: unknown resource 'gpus', did you mean 'gpu'? (known: cpu, gpu)"
expect_code 65 jobq resume enrch
assert_contains "$ERR" "unknown type 'enrch'"
expect_code 65 jobq resume --resource tpu
assert_contains "$ERR" "unknown resource 'tpu' (known: cpu, gpu)"
assert_eq "$(sql jobq.db 'select count(*) from pauses')" 0 "pauses after refused ones"
expect_code 0 jobq pause ext
expect_code 0 jobq resume ext
expect_code 0 jobq pause --resource gpu
expect_code 0 jobq resume --resource gpu
# A pause of a type the configuration no longer declares can still be lifted.
sql jobq.db "insert into pauses (kind, name) values ('type', 'gone')"
expect_code 0 jobq resume gone
assert_eq "$OUT" "resumed type 'gone'"

# 3. supervise --drain runs what it can, then stops with exit 1 naming what is left: the
# handler-less types and a type a producer inserted by SQL.
step "3. supervise --drain runs what it can, then stops with exit 1 naming what is left"
sql jobq.db "insert into jobs (type, payload) values ('enrch', '{}'), ('enrch', '{}')"
expect_code 1 timeout 20 "$JOBQ" supervise --drain
assert_contains "$ERR" "drained what this configuration can run: 4 jobs left queued that no handler here runs: enrch 2, ext 1, limited 1 (external workers: jobq claim --type TYPE)"
assert_eq "$(sql jobq.db "select count(*) from jobs where state = 'succeeded'")" 3 "jobs run"
assert_eq "$(sql jobq.db "select count(*) from jobs where state = 'queued'")" 4 "jobs left"
# ... and says so at start, without --drain too.
start_supervisor jobq.db
wait_until 10 'grep -q "4 queued jobs that no handler here runs: enrch 2, ext 1, limited 1" jobq.db.log'
stop_supervisor
assert_eq "$SUP_RC" 0 "supervisor stopped by SIGTERM"
# status points at them.
expect_code 0 jobq status
assert_contains "$OUT" "no handler in this configuration: enrch, ext, limited (external workers: jobq claim --type TYPE)"
expect_code 0 jobq status --json
json_eq "$OUT" '.unhandled | to_entries | map("\(.key)=\(.value)") | join(",")' "enrch=2,ext=1,limited=1"
# Nothing of its own left: exit 0 as before.
sql jobq.db "delete from jobs where state = 'queued'"
expect_code 0 timeout 20 "$JOBQ" supervise --drain
assert_not_contains "$ERR" "no handler here runs"
expect_code 0 jobq status --json
json_eq "$OUT" '.unhandled | length' 0

# 4. No configuration file at all (the built-in default): any type is accepted, and a drain has
# no handler for any of them.
step "4. No configuration file at all (the built-in default)"
mkdir bare
expect_code 0 jobq --db bare/q.db enqueue whatever '{}'
expect_code 0 jobq --db bare/q.db pause anything
expect_code 0 jobq --db bare/q.db resume anything
expect_code 1 timeout 20 "$JOBQ" --db bare/q.db supervise --drain
assert_contains "$ERR" "1 job left queued that no handler here runs: whatever 1"

echo ok
