#!/usr/bin/env bash
# Limits of user input (issue 14, items 5 and 9): durations at most 3650d and times from 1970 to
# the end of year 9999, so that no time ever wraps; ids and integers are plain digits; an error
# that quotes user input quotes at most 64 bytes of it.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1

now_ms() { echo $(($(date +%s) * 1000)); }
year_ms=$((365 * 86400 * 1000))
max_ms=$((3650 * 86400 * 1000))

jobq init >/dev/null # no jobq.json here
expect_code 0 jobq enqueue work '{}'
id=$OUT

# --- Durations: at most 3650d, refused above with 64 and the option named. ---
for args in "claim --lease 106751991166d" "claim --lease 3650d1ms" \
	"enqueue work --delay 999999999d" "enqueue work --delay 3651d" \
	"enqueue work --timeout 9223372036854775807ms" "pause work --for 87601h" \
	"prune --older-than 106751991167d" "wait $id --timeout 3651d" \
	"heartbeat $id --token 1 --lease 106751991166d"; do
	# shellcheck disable=SC2086
	expect_code 64 jobq $args
	assert_contains "$ERR" "at most 3650d" "$args"
	opt=${args##*--}
	assert_contains "$ERR" "for --${opt%% *}" "$args"
	assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines of the error of $args"
done
# The job was not claimed by the refused claim (before: claimed with an expired lease).
assert_eq "$(sql jobq.db "SELECT state FROM jobs WHERE id = $id")" queued "state after a refused claim"

# The bound itself is accepted, and the lease it gives is sane.
expect_code 0 jobq claim --lease 3650d
tok=$(printf '%s' "$OUT" | jq -r .token)
lease=$(sql jobq.db "SELECT lease_until FROM jobs WHERE id = $id")
t=$(now_ms)
[ "$lease" -gt $((t + max_ms - 60000)) ] && [ "$lease" -le $((t + max_ms + 60000)) ] ||
	fail "lease_until $lease is not 3650d from now ($t)"
expect_code 0 jobq heartbeat "$id" --token "$tok" --lease 3650d --json
json_eq "$OUT" '.lease_until | startswith("20")' true
expect_code 0 jobq complete "$id" --token "$tok"

# --delay 3650d: run_at 10 years from now, never wrapped.
expect_code 0 jobq enqueue work --delay 3650d
run_at=$(sql jobq.db "SELECT run_at FROM jobs WHERE id = $OUT")
t=$(now_ms)
[ "$run_at" -gt $((t + max_ms - 60000)) ] && [ "$run_at" -le $((t + max_ms + 60000)) ] ||
	fail "run_at $run_at of --delay 3650d is not 3650d from now ($t)"
expect_code 0 jobq cancel "$OUT"

# --- Times: 1970 to 9999-12-31T23:59:59Z. ---
for when in @99999999999999 @253402300800 @9223372036854775807 9999-12-31T23:59:60Z \
	1969-12-31T23:59:59Z 0001-01-01T00:00:00Z; do
	expect_code 64 jobq enqueue work --run-at "$when"
	assert_contains "$ERR" "invalid time '$when' for --run-at: must be from 1970-01-01T00:00:00Z"
done
expect_code 64 jobq pause work --until @99999999999999
assert_contains "$ERR" "for --until"
expect_code 0 jobq enqueue work --run-at @253402300799 --json
late=$(printf '%s' "$OUT" | jq -r .id)
assert_eq "$(sql jobq.db "SELECT run_at FROM jobs WHERE id = $late")" 253402300799000 "run_at of @253402300799"
expect_code 0 jobq show "$late" --json
json_eq "$OUT" .run_at 9999-12-31T23:59:59.000Z
expect_code 0 jobq cancel "$late"

# --- Config durations: refused with 78 and the field named. ---
for cfg in '{"lease": "106751991166d"}' '{"grace": "3651d"}' \
	'{"types": {"work": {"timeout": "9223372036854775807ms"}}}' \
	'{"types": {"work": {"backoff": {"base": "1s", "max": "106751991166d"}}}}' \
	'{"types": {"work": {"backoff": {"base": "106751991166d", "max": "106751991166d"}}}}'; do
	printf '%s\n' "$cfg" >big.json
	expect_code 78 jobq --config big.json enqueue work
	assert_contains "$ERR" "is too long (at most 3650d, 10 years)" "$cfg"
done
assert_contains "$ERR" "types.work.backoff.base: duration '106751991166d'"

# The largest backoff that is accepted keeps run_at sane: now + at most 3650d, never negative.
cat >jobq.json <<'EOF'
{"types": {"work": {"backoff": {"base": "3650d", "max": "3650d"}, "max_attempts": 1000000}}}
EOF
expect_code 0 jobq enqueue work --max-attempts 1000000
bid=$OUT
for i in 1 2 3; do
	expect_code 0 jobq claim --type work --json
	assert_eq "$(printf '%s' "$OUT" | jq -r .id)" "$bid" "claimed job"
	tok=$(printf '%s' "$OUT" | jq -r .token)
	expect_code 0 jobq fail "$bid" --token "$tok" --error "attempt $i"
	run_at=$(sql jobq.db "SELECT run_at FROM jobs WHERE id = $bid")
	t=$(now_ms)
	[ "$run_at" -gt $((t + max_ms / 2 - 60000)) ] && [ "$run_at" -le $((t + max_ms + 60000)) ] ||
		fail "run_at $run_at after a backoff of at most 3650d is not within 3650d of now ($t)"
	# Let it run again now, as an operator would.
	sql jobq.db "UPDATE jobs SET run_at = 0 WHERE id = $bid"
done
# Many attempts do not wrap the doubling either.
sql jobq.db "UPDATE jobs SET attempts = 999998 WHERE id = $bid"
expect_code 0 jobq claim --type work --json
tok=$(printf '%s' "$OUT" | jq -r .token)
expect_code 0 jobq fail "$bid" --token "$tok"
run_at=$(sql jobq.db "SELECT run_at FROM jobs WHERE id = $bid")
[ "$run_at" -gt "$(now_ms)" ] && [ "$run_at" -le $(($(now_ms) + max_ms + 60000)) ] ||
	fail "run_at $run_at after attempt 999999 is not sane"
expect_code 0 jobq cancel "$bid"
rm jobq.json

# A producer writing by SQL is not bound by the CLI: a huge timeout in the row must not wrap
# the worker's deadline (UBSan: worker/builtin.c, worker/exec.c).
cat >jobq.json <<'EOF'
{"types": {"nap": {"builtin": "sleep"}, "sh": {"exec": ["true"]}}}
EOF
expect_code 0 jobq enqueue nap '{"ms": 10}' --json
nap=$(printf '%s' "$OUT" | jq -r .id)
expect_code 0 jobq enqueue sh --json
shid=$(printf '%s' "$OUT" | jq -r .id)
sql jobq.db "UPDATE jobs SET timeout = 9223372036854775807 WHERE id IN ($nap, $shid)"
expect_code 0 timeout 60 "$JOBQ" supervise --drain
assert_eq "$(sql jobq.db "SELECT state FROM jobs WHERE id IN ($nap, $shid) ORDER BY id")" \
	"$(printf 'succeeded\nsucceeded')" "states of jobs with a huge timeout"
rm jobq.json
# Nor do absurd times in a row break the ages that list, show and status print (UBSan:
# cli/cmd_query.c, cli/cmd_status.c, cli/output.c).
sql jobq.db "UPDATE jobs SET created_at = -9223372036854775808, run_at = 9223372036854775807,
	started_at = -9223372036854775807, finished_at = 9223372036854775807 WHERE id = $nap"
expect_code 0 jobq list
expect_code 0 jobq show "$nap"
assert_contains "$OUT" "created_at:"
expect_code 0 jobq status

# --- Ids and integers: digits only; leading zeros are fine. ---
for bad in ' 1' '+1' '1 ' $'\t1' $'\n1' '0x1' '1e0' '0' '-0' '' '١'; do
	expect_code 64 jobq show -- "$bad"
	assert_contains "$ERR" "invalid job id"
	for cmd in heartbeat complete fail; do
		expect_code 64 jobq "$cmd" --token 1 -- "$bad"
		assert_contains "$ERR" "invalid job id" "$cmd '$bad'"
	done
	expect_code 64 jobq cancel -- "$bad"
	expect_code 64 jobq retry -- "$bad"
	expect_code 64 jobq wait -- "$bad"
done
expect_code 0 jobq show "0$id" --json
json_eq "$OUT" .id "$id"
for bad in ' 5' '+5' $'\t5' $'\n5' $'\v5' '5 ' '0x5' '-5' ''; do
	expect_code 64 jobq heartbeat "$id" --token "$bad"
	assert_contains "$ERR" "for --token" "--token '$bad'"
	expect_code 64 jobq complete "$id" --token "$bad"
	expect_code 64 jobq fail "$id" --token "$bad"
	expect_code 64 jobq enqueue work --max-attempts "$bad"
	expect_code 64 jobq list --limit "$bad"
done
for bad in $'\t-5' ' -5' '+5' '--5' '-' '- 5'; do
	expect_code 64 jobq enqueue work --priority "$bad"
	assert_contains "$ERR" "for --priority" "--priority '$bad'"
done
expect_code 0 jobq enqueue work --priority -5 --json
expect_code 0 jobq enqueue work --priority 007 --json
expect_code 0 jobq show "$(printf '%s' "$OUT" | jq -r .id)" --json
json_eq "$OUT" .priority 7

# --- Errors quote at most 64 bytes of what they were given. ---
big=$(head -c 102400 /dev/zero | tr '\0' a)
short() { # short WHAT: the last error is one short line, with the cut marked
	[ "${#ERR}" -lt 400 ] || fail "$1: error of ${#ERR} bytes: ${ERR:0:300}..."
	assert_contains "$ERR" "aaa..." "$1"
	assert_not_contains "$ERR" "$(head -c 65 /dev/zero | tr '\0' a)" "$1"
}
expect_code 65 jobq enqueue "$big"
assert_contains "$ERR" "invalid type name '"
short "enqueue TYPE"
expect_code 65 jobq claim --type "$big"
short "claim --type"
expect_code 65 jobq pause "$big"
short "pause TYPE"
expect_code 65 jobq pause --resource "$big"
short "pause --resource"
expect_code 65 jobq enqueue work --namespace "$big"
short "--namespace"
expect_code 65 jobq enqueue work --batch "$big"
short "--batch"
expect_code 65 jobq enqueue work --unique "$big"
short "--unique"
expect_code 64 jobq enqueue work --resource "$big"
short "--resource"
for opt in --priority --delay --run-at --timeout --max-attempts; do
	expect_code 64 jobq enqueue work "$opt" "$big"
	short "enqueue $opt"
done
expect_code 64 jobq enqueue work '{}' "$big"
short "enqueue: unexpected argument"
expect_code 64 jobq show "$big"
short "show ID"
expect_code 64 jobq show 1 "$big"
short "show: one too many"
expect_code 64 jobq heartbeat 1 --token "$big"
short "--token"
expect_code 64 jobq list --state "$big"
short "list --state"
expect_code 64 jobq list "$big"
short "list: unexpected argument"
expect_code 64 jobq retry --state "$big"
short "retry --state"
expect_code 64 jobq prune --older-than 1d --state "$big"
short "prune --state"
expect_code 1 jobq wait --batch "$big"
short "wait --batch"
expect_code 64 jobq "$big"
short "unknown command"
expect_code 64 jobq "--$big"
short "unknown option"
expect_code 64 jobq list "--$big=1"
short "unknown option of a command"
expect_code 66 jobq enqueue work --jsonl "$big"
short "--jsonl path"
# Control characters in what is quoted are shown as '?'.
expect_code 65 jobq enqueue $'bad\e[2Jtype'
assert_contains "$ERR" "invalid type name 'bad?[2Jtype'"

echo ok
