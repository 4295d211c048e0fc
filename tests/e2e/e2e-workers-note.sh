#!/usr/bin/env bash
# Issue 12, item 6: when the supervisor runs fewer workers than concurrency.global allows, its
# log at start and on reload, the runtime file and `status` (human and --json) say why.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

cpus=$(getconf _NPROCESSORS_ONLN)
cap=$((cpus * 4))
[ "$cap" -lt 255 ] || { echo "ok (skipped: $cpus CPUs)"; exit 0; }
global=$((cap + 1))

# 1. Capped by the CPUs.
step "1. Capped by the CPUs"
cat >jobq.json <<JSON
{"concurrency": {"global": $global}, "types": {"nap": {"builtin": "sleep"}}}
JSON
start_supervisor jobq.db
note="global $global capped at 4 × $cpus CPUs; set \"workers\" to run more"
assert_contains "$(cat jobq.db.log)" "with $cap workers ($note)"
json_eq "$(cat $(db_file jobq.db runtime.json))" .workers_note "$note"
expect_code 0 jobq status --json
json_eq "$OUT" .supervisor.workers "$cap"
json_eq "$OUT" .supervisor.workers_note "$note"
expect_code 0 jobq status
assert_contains "$OUT" "$cap workers ($note)"

# 2. A reload to a policy the workers cover: no note.
step "2. A reload to a policy the workers cover"
echo '{"concurrency": {"global": 2}, "types": {"nap": {"builtin": "sleep"}}}' >jobq.json
kill -HUP "$SUP_PID"
wait_until 10 'grep -q "configuration reloaded: 2 workers$" jobq.db.log'
wait_until 10 '[ "$(jq -r .workers_note $(db_file jobq.db runtime.json))" = null ]'
expect_code 0 jobq status --json
json_eq "$OUT" .supervisor.workers_note null
stop_supervisor

# 3. Fewer workers asked for: by --workers, or by "workers".
step "3. Fewer workers asked for"
echo '{"concurrency": {"global": 3}, "types": {"nap": {"builtin": "sleep"}}}' >jobq.json
start_supervisor jobq.db --workers 1
assert_contains "$(cat jobq.db.log)" "with 1 worker (global 3, but --workers 1)"
json_eq "$(jobq status --json)" .supervisor.workers_note "global 3, but --workers 1"
stop_supervisor
echo '{"concurrency": {"global": 3}, "workers": 2, "types": {"nap": {"builtin": "sleep"}}}' >jobq.json
start_supervisor jobq.db
assert_contains "$(cat jobq.db.log)" "with 2 workers (global 3, but \"workers\": 2)"
stop_supervisor

echo ok
