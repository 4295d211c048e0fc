#!/usr/bin/env bash
# The concurrency policy through `jobq claim` with a configuration: global, per type, resource
# pools (all or nothing, several tags per job), singleton per namespace (hostile namespaces).
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1

# claim_all DB: claim until null; prints one compact job per line.
claim_all() {
	local out
	while out=$(jobq --db "$1" claim); do
		printf '%s\n' "$out"
	done
	[ "$out" = null ] || fail "claim ended with '$out'"
}

# 1. No configuration: global 1.
step "1. No configuration"
for i in 1 2 3; do jobq --db default.db enqueue any >/dev/null; done
claimed=$(claim_all default.db)
assert_eq "$(printf '%s\n' "$claimed" | grep -c .)" 1 "claims under the default global 1"
assert_eq "$(sql default.db "select count(*) from jobs where state = 'running'")" 1

# 2. Per type: story 1, research 2, others free under global 10.
step "2. Per type"
mkdir types
cat >types/jobq.json <<'JSON'
{"concurrency": {"global": 10, "types": {"story": 1, "research": 2}}, "types": {"misc": {}}}
JSON
for t in story story story research research research misc misc; do
	jobq --db types/q.db enqueue "$t" >/dev/null
done
claimed=$(claim_all types/q.db)
assert_eq "$(printf '%s\n' "$claimed" | jq -s 'map(select(.type == "story")) | length')" 1 story
assert_eq "$(printf '%s\n' "$claimed" | jq -s 'map(select(.type == "research")) | length')" 2 research
assert_eq "$(printf '%s\n' "$claimed" | jq -s 'map(select(.type == "misc")) | length')" 2 misc
# Finishing a story job makes room for exactly one more.
sid=$(printf '%s\n' "$claimed" | jq -s -r 'map(select(.type == "story"))[0] | "\(.id) \(.token)"')
jobq --db types/q.db complete ${sid% *} --token ${sid#* } >/dev/null
claimed=$(claim_all types/q.db)
assert_eq "$(printf '%s\n' "$claimed" | jq -s -r 'map(.type) | join(",")')" story "after a story finished"
# The global limit binds too.
cat >types/jobq.json <<'JSON'
{"concurrency": {"global": 5, "types": {"story": 1, "research": 2}}, "types": {"misc": {}}}
JSON
for i in 1 2 3 4 5 6; do jobq --db types/q.db enqueue misc >/dev/null; done
claim_all types/q.db >/dev/null
assert_eq "$(sql types/q.db "select count(*) from jobs where state = 'running'")" 5 "global 5"

# 3. Pools ollama 1, claude-api 3, cpu-bound 2; types carry tags, jobs add their own.
step "3. Pools ollama 1, claude-api 3, cpu-bound 2"
mkdir pools
cat >pools/jobq.json <<'JSON'
{"concurrency": {"global": 20,
                 "resources": {"ollama": 1, "claude-api": 3, "cpu-bound": 2}},
 "types": {"story": {"resources": ["ollama"]},
           "enrich": {"resources": ["claude-api"]},
           "render": {"resources": ["cpu-bound"]},
           "plain": {}}}
JSON
q() { jobq --db pools/q.db "$@"; }
a=$(q enqueue story --resource cpu-bound)          # ollama + cpu-bound
b=$(q enqueue story)                               # ollama: waits for a
c=$(q enqueue plain --resource cpu-bound:2)        # cpu-bound x2
d=$(q enqueue enrich --resource cpu-bound)         # claude-api + cpu-bound
e=$(q enqueue enrich)                              # claude-api
f=$(q enqueue enrich --priority -1)                # claude-api
g=$(q enqueue enrich --priority -2)                # claude-api: the pool is full by then
h=$(q enqueue plain)                               # no tags
claimed=$(claim_all pools/q.db)
ids=$(printf '%s\n' "$claimed" | jq -s -r 'map(.id) | sort | map(tostring) | join(",")')
# a takes ollama + 1 cpu-bound; c (2 cpu-bound) cannot fit, all or nothing, and takes nothing;
# d takes the last cpu-bound + 1 claude-api; e and f the remaining claude-api; g waits; h runs.
assert_eq "$ids" "$a,$d,$e,$f,$h" "claimed under the pools"
units() { # pool -> units held by running jobs, from status
	q status --json | jq -r --arg p "$1" '.resources[$p].used'
}
assert_eq "$(units ollama)" 1 ollama
assert_eq "$(units cpu-bound)" 2 cpu-bound
assert_eq "$(units claude-api)" 3 claude-api
expect_code 0 q status --json
json_eq "$OUT" '.resources["claude-api"].capacity' 3
# Finishing a frees ollama and one cpu-bound: b gets ollama, c still needs two cpu-bound.
ta=$(printf '%s\n' "$claimed" | jq -s -r --argjson id "$a" 'map(select(.id == $id))[0].token')
q complete "$a" --token "$ta" >/dev/null
claimed=$(claim_all pools/q.db)
assert_eq "$(printf '%s\n' "$claimed" | jq -s -r 'map(.id | tostring) | join(",")')" "$b" "after a"
td=$(q show "$d" --json | jq -r .token)
q complete "$d" --token "$td" >/dev/null
claimed=$(claim_all pools/q.db)
ids=$(printf '%s\n' "$claimed" | jq -s -r 'map(.id) | sort | map(tostring) | join(",")')
assert_eq "$ids" "$c,$g" "after d: c gets both cpu-bound units, g the claude-api unit"
assert_eq "$(units cpu-bound)" 2 cpu-bound
# A job asking more units than a pool has is refused at enqueue.
expect_code 65 q enqueue plain --resource ollama:2
expect_code 65 q enqueue plain --resource gpu

# 4. Singleton per namespace, with hostile namespaces.
step "4. Singleton per namespace, with hostile namespaces"
mkdir single
cat >single/jobq.json <<'JSON'
{"concurrency": {"global": 50}, "types": {"enrich": {"singleton": "namespace"}, "other": {}}}
JSON
s() { jobq --db single/q.db "$@"; }
long=$(head -c 256 /dev/zero | tr '\0' L)
for ns in a a b '../..' '/' '../..' "$long" 'Kunde Ä' '..' '.' ' ' '$(id)' 'a b'; do
	s enqueue enrich --namespace "$ns" >/dev/null
done
s enqueue other --namespace a >/dev/null
claimed=$(claim_all single/q.db)
per_ns=$(printf '%s\n' "$claimed" | jq -s -r 'map(select(.type == "enrich")) | group_by(.namespace) |
	map(length) | max')
assert_eq "$per_ns" 1 "running enrich jobs per namespace"
count=$(printf '%s\n' "$claimed" | jq -s 'map(select(.type == "enrich")) | length')
assert_eq "$count" 11 "one enrich job per distinct namespace"
assert_eq "$(printf '%s\n' "$claimed" | jq -s 'map(select(.type == "other")) | length')" 1 \
	"another type in a busy namespace"
assert_eq "$(printf '%s\n' "$claimed" | jq -s -r 'map(.namespace) | map(select(. == "../..")) | length')" 1
# The second job of namespace "a" runs once the first is finished.
first_a=$(printf '%s\n' "$claimed" | jq -s -r 'map(select(.type == "enrich" and .namespace == "a"))[0] |
	"\(.id) \(.token)"')
s complete ${first_a% *} --token ${first_a#* } >/dev/null
claimed=$(claim_all single/q.db)
assert_eq "$(printf '%s\n' "$claimed" | jq -r .namespace)" a "the waiting job of namespace a"
# Empty and oversized namespaces are refused (65); nothing leaks into the file system.
expect_code 65 s enqueue enrich --namespace ''
expect_code 65 s enqueue enrich --namespace "$(head -c 10240 /dev/zero | tr '\0' x)"
expect_code 65 s enqueue enrich --namespace "${long}x"
assert_eq "$(ls -A single | grep -v -e '^q\.db' -e '^jobq\.json$' || true)" "" "files beside the database"

echo ok
