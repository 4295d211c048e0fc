#!/usr/bin/env bash
# Every jobq process applies "durability" from the configuration: by default ("full") each command
# that commits has synced the WAL before it exits, and so has a supervised worker that finishes a
# job; with "fast" none of them syncs the WAL (far from a checkpoint, as here). Seen with strace:
# fsync/fdatasync of jobq.db-wal. A reload that changes the level reaches a running worker. The
# power-loss behaviour itself is tests/unit/test-powerloss.c.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
sqlite_only "the WAL syncs of a SQLite file, seen with strace"
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh"

if ! command -v strace >/dev/null || ! strace -f -o /dev/null true 2>/dev/null; then
	echo "skipped: strace is missing or cannot trace here"
	exit 77
fi

# traced WANT CMD...: run jobq CMD under strace, fail unless it exits WANT; TRACE holds the trace.
# LeakSanitizer cannot run under ptrace: the other tests look for leaks.
traced() {
	local want=$1
	shift
	TRACE=$TEST_DIR/.trace
	expect_code "$want" env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -y -qq -e trace=execve,fsync,fdatasync,pwrite64 -o "$TRACE" "$JOBQ" "$@"
}

# wal_syncs [PID]: syncs of the WAL in TRACE (by PID only, when given).
wal_syncs() {
	grep -c -E "^${1:-[0-9]+} +f(data)?sync\([0-9]+<[^>]*jobq\.db-wal>" "$TRACE" || true
}

# db_syncs [PID]: syncs of the database file itself in TRACE: a checkpoint's, which syncs the WAL
# once before it copies pages back and the database after.
db_syncs() {
	grep -c -E "^${1:-[0-9]+} +f(data)?sync\([0-9]+<[^>]*jobq\.db>" "$TRACE" || true
}

# wal_restarts [PID]: WAL headers written in TRACE: the first commit after a checkpoint emptied
# the WAL starts it again, and SQLite syncs that header at every level.
wal_restarts() {
	grep -c -E "^${1:-[0-9]+} +pwrite64\([0-9]+<[^>]*jobq\.db-wal>, .*, 32, 0\)" "$TRACE" || true
}

# check LEVEL WHAT: by default at least one WAL sync; with fast none but a checkpoint's (the last
# connection to close checkpoints a long WAL, docs/architecture.md) or a new WAL header's.
check() {
	local n c
	n=$(wal_syncs "${3:-}")
	if [ "$1" = fast ]; then
		c=$(( $(db_syncs "${3:-}") + $(wal_restarts "${3:-}") ))
		[ "$n" -le "$c" ] || fail "$1: $2 synced the WAL $n times, beyond its $c checkpoints and WAL restarts"
	else
		[ "$n" -ge 1 ] || fail "$1: $2 did not sync the WAL before it returned"
	fi
}

for level in full fast; do
	mkdir "$TEST_DIR/$level"
	cd "$TEST_DIR/$level"
	if [ "$level" = fast ]; then
		echo '{"durability": "fast", "types": {"work": {}, "noop": {"builtin": "noop"}}}' >jobq.json
	else # the default, unwritten
		echo '{"types": {"work": {}, "noop": {"builtin": "noop"}}}' >jobq.json
	fi
	expect_code 0 jobq enqueue work '{"n": 0}' # creates the database, untraced

	traced 0 enqueue work '{"n": 1}'
	check $level "enqueue"
	printf '{"n": 2}\n{"n": 3}\n' >items.jsonl
	traced 0 enqueue work --jsonl items.jsonl
	check $level "enqueue --jsonl"

	traced 0 claim --type work --json
	check $level "claim"
	id=$(printf '%s' "$OUT" | jq -r .id)
	tok=$(printf '%s' "$OUT" | jq -r .token)
	traced 0 heartbeat "$id" --token "$tok"
	check $level "heartbeat"
	traced 0 complete "$id" --token "$tok" --result '{"ok": true}'
	check $level "complete"
	expect_code 0 jobq claim --type work --json
	id=$(printf '%s' "$OUT" | jq -r .id)
	tok=$(printf '%s' "$OUT" | jq -r .token)
	traced 0 fail "$id" --token "$tok" --error broken
	check $level "fail"

	expect_code 0 jobq enqueue work '{"n": 4}'
	queued=$OUT
	traced 0 cancel "$queued"
	check $level "cancel"
	traced 0 retry "$queued"
	check $level "retry"
	traced 0 pause work
	check $level "pause"
	traced 0 resume work
	check $level "resume"

	# A supervised worker: it claims and finishes the job, each commit synced by default.
	expect_code 0 jobq cancel --type work
	expect_code 0 jobq enqueue noop '{}'
	noop=$OUT
	traced 0 supervise --drain --workers 1
	worker=$(grep -E '^[0-9]+ +execve\(.*"worker"' "$TRACE" | awk '{print $1}' | head -n 1)
	[ -n "$worker" ] || fail "$level: no worker process in the trace"
	check $level "the worker" "$worker"
	assert_eq "$(sql jobq.db "select state from jobs where id = $noop")" succeeded "noop job"
done

# A reload (SIGHUP) that changes the level reaches the worker's open connection: fast first,
# then the default.
mkdir "$TEST_DIR/reload"
cd "$TEST_DIR/reload"
echo '{"durability": "fast", "types": {"noop": {"builtin": "noop"}}}' >jobq.json
expect_code 0 jobq enqueue noop '{}'
first=$OUT
TRACE=$TEST_DIR/reload/trace
spawn env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -y -qq -e trace=execve,fsync,fdatasync,pwrite64 -o "$TRACE" \
	"$JOBQ" supervise --verbose --workers 1 2>sup.log
wait_until 10 '[ -s jobq.db.runtime.json ]'
sup=$(jq -r .pid jobq.db.runtime.json)
wait_for 10 state_is jobq.db "$first" succeeded
worker=$(grep -E '^[0-9]+ +execve\(.*"worker"' "$TRACE" | awk '{print $1}' | head -n 1)
[ -n "$worker" ] || fail "reload: no worker process in the trace"
check fast "the worker before the reload" "$worker"
echo '{"types": {"noop": {"builtin": "noop"}}}' >jobq.json
kill -HUP "$sup"
wait_until 10 'grep -q "jobq\[$worker\]: debug: configuration reloaded" sup.log'
expect_code 0 jobq enqueue noop '{}'
wait_for 10 state_is jobq.db "$OUT" succeeded
check full "the worker after the reload" "$worker"
kill -TERM "$sup"
wait_until 10 '! kill -0 "$sup"'

echo ok
