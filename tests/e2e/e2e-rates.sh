#!/usr/bin/env bash
# Rate limits and token budgets of pools (issue 10), through the real binary with real processes:
# - "rates": the observed start rate of a supervisor's workers, counted from the jobs' started_at
#   in the database: no window of the limit's length ever holds more starts than the limit, and
#   the limit is reached; idle workers wake when the window frees (nothing else would wake them);
# - an external `jobq claim` honours the same rate;
# - "tokens": exec jobs report {"tokens": N} in JOBQ_REPORT, http jobs through tokens_path in a
#   real local server's response; a job starts while the window is under the budget, and the
#   tokens count when the job ends;
# - status (text and --json) shows used/limit and when a full window frees; a reload applies new
#   limits; bad values exit 78 naming the key.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

now_ms() { date +%s%3N; }
# iso_ms T: milliseconds of an RFC 3339 time from status --json.
iso_ms() {
	local s=${1%Z} frac=000
	case "$s" in *.*) frac=${s#*.}; s=${s%.*} ;; esac
	echo $(( $(date -u -d "${s}Z" +%s) * 1000 + 10#$frac ))
}

# over_budget B C POOL USED: job B ended and its tokens make the window's USED, over the budget:
# job C, queued behind it, did not start (the worker finished B and looked for its next job in
# one transaction, so C is decided already).
over_budget() {
	wait_state jobq.db "$1" succeeded 20
	state_is jobq.db "$2" queued || fail "job $2 started over the token budget"
	json_eq "$(jobq status --json)" ".resources.$3.tokens.used" "$4"
}
# raise_budget FROM TO C: a reload with the larger budget lets job C run, with nothing else
# happening.
raise_budget() {
	sed -i "s#\"$1\"#\"$2\"#" jobq.json
	kill -HUP "$SUP_PID"
	wait_state jobq.db "$3" succeeded 20
}

# ---- bad values: exit 78 naming the key ----
cat >bad.json <<'JSON'
{"concurrency": {"resources": {"api": 2}}, "rates": {"apii": "5/2s"}}
JSON
expect_code 78 jobq --db bad.db --config bad.json status
assert_contains "$ERR" "rates.apii: unknown resource 'apii', did you mean 'api'?"
cat >bad.json <<'JSON'
{"concurrency": {"resources": {"api": 2}}, "tokens": {"api": "lots"}}
JSON
expect_code 78 jobq --db bad.db --config bad.json supervise
assert_contains "$ERR" "tokens.api: invalid rate 'lots'"
cat >bad.json <<'JSON'
{"concurrency": {"resources": {"api": 2}}, "rates": {"api": "5/0s"}}
JSON
expect_code 78 jobq --db bad.db --config bad.json enqueue x
assert_contains "$ERR" "rates.api"
cat >bad.json <<'JSON'
{"types": {"c": {"http": {"url": "http://127.0.0.1:1/", "tokens_path": ".usage"}}}}
JSON
expect_code 78 jobq --db bad.db --config bad.json status
assert_contains "$ERR" "types.c.http.tokens_path: invalid path '.usage'"

# ---- the observed start rate of a supervisor: "5/2s", 18 jobs, 4 workers ----
mkdir rate && cd rate
cat >jobq.json <<'JSON'
{"concurrency": {"global": 4, "resources": {"api": 4}}, "rates": {"api": "5/2s"},
 "types": {"t": {"exec": ["true"], "resources": ["api"]}}}
JSON
for i in $(seq 18); do echo '{}'; done | jobq enqueue --jsonl - t >/dev/null
t0=$(now_ms)
start_supervisor jobq.db
wait_until 60 '[ "$(sql jobq.db "select count(*) from jobs where state = '"'succeeded'"'")" = 18 ]'
t1=$(now_ms)
stop_supervisor
starts=$(sql jobq.db "select started_at from jobs order by started_at")
# The most starts in any window [s, s + 2000) beginning at a start (the busiest windows begin
# at one), and the span from the first start to the last.
read -r most span < <(printf '%s\n' "$starts" | awk '{ t[NR] = $1 } END {
	most = 0; for (i = 1; i <= NR; i++) { n = 0; for (j = i; j <= NR && t[j] < t[i] + 2000; j++) n++; if (n > most) most = n }
	print most, t[NR] - t[1] }')
echo "rate 5/2s: 18 starts in ${span} ms, at most ${most} in any 2 s (whole run $((t1 - t0)) ms)"
[ "$most" -le 5 ] || fail "a 2 s window held $most starts (limit 5): $(echo $starts)"
# Reached: the first window fills at once (18 jobs were waiting); 18 starts need at least
# three windows after the first, so the last start is at least 6 s after the first.
[ "$span" -ge 6000 ] || fail "18 starts in $span ms: faster than 5/2s allows"
# Nothing polls: each new window was started by workers that slept until it freed. Tolerant of
# a slow machine in this direction only: a run that took twice as long as the limit allows may
# have missed a full window.
if [ "$span" -le 12000 ]; then
	[ "$most" -eq 5 ] || fail "the limit was never reached: at most $most starts in 2 s"
else
	echo "slow machine: 18 starts took $span ms; not checking that a window held 5"
fi
[ "$span" -le 60000 ] || fail "18 starts took $span ms (5/2s needs about 6000)"
cd ..

# ---- an external claimer honours the rate; status shows it ----
mkdir ext && cd ext
cat >jobq.json <<'JSON'
{"concurrency": {"global": 10, "resources": {"ext": 10, "exttok": 10}}, "rates": {"ext": "2/1h"},
 "tokens": {"exttok": "10/1h"},
 "types": {"remote": {"resources": ["ext"]}, "spender": {"resources": ["exttok"]}}}
JSON
for i in 1 2 3; do jobq enqueue remote >/dev/null; done
before=$(now_ms)
expect_code 0 jobq claim --type remote --json
a=$(printf '%s' "$OUT" | jq -r .id)
tok=$(printf '%s' "$OUT" | jq -r .token)
expect_code 0 jobq claim --type remote --json
expect_code 1 jobq claim --type remote --json
assert_eq "$OUT" null
# A finished job frees no rate: the window counts starts.
expect_code 0 jobq complete "$a" --token "$tok"
expect_code 1 jobq claim --type remote
s=$(jobq status --json)
json_eq "$s" .resources.ext.rate.limit 2
json_eq "$s" .resources.ext.rate.window 1h
json_eq "$s" .resources.ext.rate.used 2
json_eq "$s" .resources.ext.tokens null
frees=$(iso_ms "$(printf '%s' "$s" | jq -r .resources.ext.rate.frees_at)")
[ "$frees" -ge $((before + 3600000)) ] && [ "$frees" -le $(($(now_ms) + 3600000)) ] ||
	fail "frees_at $frees is not an hour after the first claim ($before)"
expect_code 0 jobq status
line=$(printf '%s\n' "$OUT" | grep '^ext  *rate ')
assert_contains "$line" "2/2"
assert_contains "$line" "1h"
assert_contains "$line" "(in 59m"
# top shows the same windows beside each pool's use.
expect_code 0 jobq top --once
line=$(printf '%s\n' "$OUT" | grep '^ext  ')
assert_contains "$line" "2/2 per 1h (frees in 59m"
line=$(printf '%s\n' "$OUT" | grep '^exttok  ')
assert_contains "$line" "0/10 per 1h"
# Racing claimers, each its own process and transaction: together they get exactly the rate.
cat >race.json <<'JSON'
{"concurrency": {"global": 100, "resources": {"ext": 100}}, "rates": {"ext": "10/1h"},
 "types": {"remote": {"resources": ["ext"]}}}
JSON
for i in $(seq 30); do echo '{}'; done | jobq --db race.db --config race.json enqueue remote --jsonl - >/dev/null
for w in 1 2 3 4 5 6; do
	spawn bash -c 'for i in 1 2 3 4 5; do "$JOBQ" --db race.db --config race.json claim --type remote >/dev/null; done; exit 0'
done
wait
assert_eq "$(sql race.db "select count(*) from jobs where state = 'running'")" 10 "jobs claimed by 6 racing claimers under 10/1h"
# External workers report tokens with complete/fail --tokens.
for i in 1 2; do jobq enqueue spender >/dev/null; done
expect_code 0 jobq claim --type spender --json
a=$(printf '%s' "$OUT" | jq -r .id)
tok=$(printf '%s' "$OUT" | jq -r .token)
expect_code 64 jobq fail "$a" --token "$tok" --tokens -5
expect_code 64 jobq fail "$a" --token "$tok" --tokens 1000000000001
expect_code 0 jobq fail "$a" --token "$tok" --tokens 12 --temporary
json_eq "$(jobq status --json)" .resources.exttok.tokens.used 12
expect_code 1 jobq claim --type spender
cd ..

# ---- token budgets: exec jobs report {"tokens": N}; a reload raises the budget ----
mkdir tok && cd tok
cat >jobq.json <<'JSON'
{"concurrency": {"global": 1, "resources": {"llm": 1}}, "tokens": {"llm": "100/1h"},
 "types": {"gen": {"exec": ["sh", "-c", "printf '{\"tokens\": %s}' \"$1\" >\"$JOBQ_REPORT\"", "gen", "{payload.n}"],
                   "resources": ["llm"]}}}
JSON
a=$(jobq enqueue gen '{"n": 60}')
b=$(jobq enqueue gen '{"n": 45}')
c=$(jobq enqueue gen '{"n": 7}')
start_supervisor jobq.db
# b started with 60 of 100 used; its 45 make 105: c may not start.
over_budget "$b" "$c" llm 105
s=$(jobq status --json)
json_eq "$s" .resources.llm.tokens.limit 100
json_eq "$s" '.resources.llm.tokens.frees_at != null' true
json_eq "$s" .resources.llm.rate null
expect_code 0 jobq status
assert_contains "$(printf '%s\n' "$OUT" | grep '^llm  *tokens ')" "105/100"
raise_budget 100/1h 1000/1h "$c"
json_eq "$(jobq status --json)" .resources.llm.tokens.used 112
stop_supervisor
cd ..

# ---- token budgets from an http response: tokens_path against a real server ----
mkdir http && cd http
spawn python3 "$JOBQ_SRC/tests/e2e/httpserver.py" port requests.log
wait_for 30 test -s port
cat >jobq.json <<JSON
{"concurrency": {"global": 1, "resources": {"openai": 1}}, "tokens": {"openai": "150/1h"},
 "types": {"chat": {"http": {"url": "http://127.0.0.1:$(cat port)/echo",
                             "tokens_path": "usage.total_tokens"},
                    "resources": ["openai"]}}}
JSON
a=$(jobq enqueue chat '{"usage": {"prompt_tokens": 20, "total_tokens": 70}}')
b=$(jobq enqueue chat '{"usage": {"total_tokens": 90}}')
c=$(jobq enqueue chat '{"usage": {"total_tokens": 1}}')
start_supervisor jobq.db
over_budget "$b" "$c" openai 160
[ "$(jq -c 'select(.path == "/echo")' requests.log | wc -l)" -eq 2 ] || fail "not 2 requests"
raise_budget 150/1h 200/1h "$c"
stop_supervisor
cd ..

echo ok
