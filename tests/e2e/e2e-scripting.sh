#!/usr/bin/env bash
# Scripting and logs (issue 12, item 7): timestamps on the foreground log (not under the
# journal), list --jsonl, status and prune --batch, "did you mean" for unknown commands and
# options, jobq reload (a reload logged once, not once per worker), cancel of an unknown id.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

STAMP='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z jobq\[[0-9]+\]: '

# 1. list --jsonl: one job object per line, all of them unless --limit.
step "1. list --jsonl"
cat >jobq.json <<'JSON'
{"concurrency": {"global": 3}, "types": {"nap": {"builtin": "sleep"}}}
JSON
printf '{"ms": 1}\n{"ms": 2}\n{"ms": 3}\n' | jobq enqueue nap --jsonl - --batch b1 >/dev/null
jobq enqueue nap '{"ms": 4}' --batch b2 >/dev/null
expect_code 0 jobq list --jsonl
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" 4 "--jsonl lines"
assert_eq "$(printf '%s\n' "$OUT" | jq -c '[.id, .batch]' | tr '\n' ' ')" '[1,"b1"] [2,"b1"] [3,"b1"] [4,"b2"] '
assert_eq "$(jobq list --jsonl --limit 1 --batch b2 | jq -r .id)" 4
assert_eq "$(jobq list --jsonl --state failed)" ""

# 2. status --batch: the batch's counts, types, running jobs and oldest queued age.
step "2. status --batch"
expect_code 0 jobq status --batch b1 --json
json_eq "$OUT" .batch b1
json_eq "$OUT" .counts.queued 3
json_eq "$OUT" .types.nap.queued 3
json_eq "$OUT" '.oldest_queued_age_s >= 0' true
expect_code 0 jobq status --batch b1
assert_contains "$OUT" "batch: b1
jobs: 3 queued, 0 running"
jobq enqueue nap '{}' --batch later --delay 1h >/dev/null
json_eq "$(jobq status --batch later --json)" .oldest_queued_age_s null
json_eq "$(jobq status --batch later --json)" .counts.queued 1
jobq cancel --batch later >/dev/null
expect_code 1 jobq status --batch nosuch
assert_eq "$ERR" "jobq: batch 'nosuch': no jobs"
json_eq "$(jobq status --json)" '.batch' null
json_eq "$(jobq status --json)" .counts.queued 4

# 3. Log lines start with the time in the foreground; reload is logged once.
step "3. Log lines start with the time in the foreground"
start_supervisor jobq.db --workers 3
jobq wait --batch b1 --timeout 10s >/dev/null
wait_until 10 '[ "$(jq ".worker_pids | length" $(db_file jobq.db runtime.json))" = 3 ]'
expect_code 0 jobq reload
assert_eq "$OUT" "reload requested: supervisor pid $SUP_PID"
wait_until 10 'grep -q "configuration reloaded" jobq.db.log'
sleep 1 # the workers take it between two jobs: idle ones at once
assert_eq "$(grep -c 'configuration reloaded' jobq.db.log)" 1 "reload lines"
json_eq "$(jobq reload --json)" .pid "$SUP_PID"
stop_supervisor
assert_eq "$SUP_RC" 0
grep -Eq "${STAMP}info: supervising " jobq.db.log || fail "no timestamp: $(head -3 jobq.db.log)"
[ "$(grep -Evc "$STAMP" jobq.db.log)" = 0 ] || fail "lines without a timestamp: $(grep -Ev "$STAMP" jobq.db.log)"

# Under the journal (stderr is the stream JOURNAL_STREAM names), no timestamps: it adds its own.
: >j.log
JOURNAL_STREAM=$(stat -c '%d:%i' j.log) timeout 20 "$JOBQ" supervise --drain 2>>j.log
grep -q "jobq\[[0-9]*\]: info: supervising" j.log || fail "j.log: $(cat j.log)"
[ "$(grep -Ec "$STAMP" j.log)" = 0 ] || fail "timestamps under the journal: $(cat j.log)"

# 4. reload without a supervisor: 69, and a stale runtime file names no live process.
step "4. reload without a supervisor"
expect_code 69 jobq reload
if on_pg; then
	assert_contains "$ERR" "jobq: no supervisor is running for "
else
assert_eq "$ERR" "jobq: no supervisor is running for '$PWD/jobq.db'"
# A runtime file naming this very shell, with another start time: it must not be signalled.
(umask 077; printf '{"schema_version":1,"pid":%d,"pid_start":1,"started_at":"2026-01-01T00:00:00Z","database":"x","workers":1,"wake":"x","worker_pids":[]}' $$ >jobq.db.runtime.json)
expect_code 69 jobq reload
assert_contains "$ERR" "stale runtime file: pid $$ is gone"
rm jobq.db.runtime.json
fi

# 5. prune --batch: only that batch's finished jobs.
step "5. prune --batch"
expect_code 0 jobq prune --older-than 0s --batch b2
assert_eq "$OUT" "pruned 1 job"
assert_eq "$(jobq list --jsonl | jq -r .batch | sort -u | tr '\n' ' ')" "b1 later "

# 6. Did you mean: unknown commands and long options, nearest within 2 edits.
step "6. Did you mean"
expect_code 64 jobq stauts
assert_eq "$ERR" "jobq: unknown command 'stauts' (did you mean 'status'?)
Try 'jobq --help' for more information."
expect_code 64 jobq relaod
assert_contains "$ERR" "(did you mean 'reload'?)"
expect_code 64 jobq frobnicate
assert_eq "$ERR" "jobq: unknown command 'frobnicate'
Try 'jobq --help' for more information."
expect_code 64 jobq list --stae failed
assert_eq "$ERR" "jobq: list: unknown option '--stae' (did you mean '--state'?)
Try 'jobq list --help' for more information."
expect_code 64 jobq --jsn status
assert_contains "$ERR" "jobq: unknown option '--jsn' (did you mean '--json'?)"
expect_code 64 jobq prune --older-than 1d --bach=b1
assert_contains "$ERR" "unknown option '--bach' (did you mean '--batch'?)"
expect_code 64 jobq list --zzzzzz
assert_eq "$ERR" "jobq: list: unknown option '--zzzzzz'
Try 'jobq list --help' for more information."

# 7. cancel (and retry) of an id that does not exist: not found, exit 1.
step "7. cancel (and retry) of an id that does not exist"
expect_code 1 jobq cancel 999
assert_eq "$OUT" ""
assert_eq "$ERR" "jobq: job 999: not found"
expect_code 1 jobq cancel 1 999
assert_eq "$OUT" "cancelled 0 jobs"
assert_eq "$ERR" "jobq: job 999: not found
jobq: 1 of 2 jobs were not queued or running"
expect_code 1 jobq retry 998
assert_eq "$ERR" "jobq: job 998: not found"
expect_code 1 jobq cancel 999 --json
assert_eq "$OUT" '{"cancelled":0,"cancel_requested":0}'
echo ok
