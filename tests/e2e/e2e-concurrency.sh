#!/usr/bin/env bash
# Observed concurrency through the supervisor never exceeds any limit, and reaches what the
# policy allows: global, per type, resource pools (several tags per job, cpu:2), singleton per
# namespace, composed. Each job logs its start and end (O_APPEND lines) around a short sleep.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

job='echo "+ $JOBQ_JOB_TYPE $JOBQ_NAMESPACE" >>events; sleep 0.4; echo "- $JOBQ_JOB_TYPE $JOBQ_NAMESPACE" >>events'
# max_overlap AWK_CONDITION: the largest number of jobs matching ($2 = type, $3 = namespace,
# w = weight) running at once in the event log.
max_overlap() {
	awk "{ w = 1; if ($1) { if (\$1 == \"+\") n += w; else n -= w; if (n > m) m = n } } END { print m + 0 }" events
}

cat >jobq.json <<JSON
{
  "concurrency": {"global": 6, "types": {"enrich": 2},
                  "resources": {"claude-api": 3, "cpu": 4}},
  "types": {
    "enrich":   {"exec": ["bash", "-c", $(jq -n --arg j "$job" '$j')], "resources": ["claude-api"]},
    "ingest":   {"exec": ["bash", "-c", $(jq -n --arg j "$job" '$j')], "resources": ["cpu:2"]},
    "research": {"exec": ["bash", "-c", $(jq -n --arg j "$job" '$j')], "resources": ["claude-api", "cpu"]},
    "story":    {"exec": ["bash", "-c", $(jq -n --arg j "$job" '$j')], "singleton": "namespace"}
  }
}
JSON
{
	for i in $(seq 6); do echo '{}'; done | jobq enqueue enrich --jsonl - >/dev/null
	for i in $(seq 6); do echo '{}'; done | jobq enqueue ingest --jsonl - >/dev/null
	for i in $(seq 4); do echo '{}'; done | jobq enqueue research --jsonl - >/dev/null
	for ns in a b '../..'; do
		for i in $(seq 3); do echo '{}'; done | jobq enqueue story --namespace "$ns" --jsonl - >/dev/null
	done
}
expect_code 0 timeout 90 "$JOBQ" supervise --drain
assert_eq "$(sql jobq.db "select count(*) from jobs where state = 'succeeded'")" 25 "succeeded"
assert_eq "$(grep -c '^+' events)" 25 "runs"
total=$(max_overlap 1)
enrich=$(max_overlap '$2 == "enrich"')
api=$(max_overlap '$2 == "enrich" || $2 == "research"')
cpu=$(max_overlap '$2 == "research" || ($2 == "ingest" && (w = 2))')
story=$(max_overlap '$2 == "story"')
story_a=$(max_overlap '$2 == "story" && $3 == "a"')
story_b=$(max_overlap '$2 == "story" && $3 == "b"')
story_dots=$(max_overlap '$2 == "story" && $3 == "../.."')
echo "observed: total $total enrich $enrich claude-api $api cpu $cpu story $story/$story_a/$story_b/$story_dots" >&2
[ "$total" -le 6 ] || fail "global 6 exceeded: $total"
[ "$total" -ge 5 ] || fail "global: only $total at once"
assert_eq "$enrich" 2 "enrich: 2"
[ "$api" -le 3 ] && [ "$api" -ge 2 ] || fail "claude-api 3: observed $api"
[ "$cpu" -le 4 ] && [ "$cpu" -ge 3 ] || fail "cpu 4: observed $cpu"
assert_eq "$story_a" 1 "singleton namespace a"
assert_eq "$story_b" 1 "singleton namespace b"
assert_eq "$story_dots" 1 "singleton namespace ../.."
[ "$story" -ge 2 ] || fail "singleton: other namespaces should run beside each other ($story)"

# The default policy (no configuration): one job at a time, whatever the number of workers.
mkdir plain && cd plain
jobq init >/dev/null # no jobq.json yet: the database is created by init
for i in $(seq 4); do jobq enqueue x >/dev/null; done
cat >/dev/null <<<''
cat >jobq.json <<JSON
{"types": {"x": {"exec": ["bash", "-c", $(jq -n --arg j "$job" '$j')]}}}
JSON
expect_code 0 timeout 60 "$JOBQ" supervise --drain --workers 3
assert_eq "$(max_overlap 1)" 1 "default global 1 with 3 workers"
assert_eq "$(grep -c '^+' events)" 4
echo ok
