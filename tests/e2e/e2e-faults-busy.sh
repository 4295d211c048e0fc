#!/usr/bin/env bash
# SQLITE_BUSY beyond the busy timeout (5 s): another process holds the database's write lock
# (BEGIN IMMEDIATE) for longer.
# (1) every command that writes exits 75 with "database is locked" after the timeout, changing
#     nothing; the commands that only read go on working (WAL); once the lock is released each
#     command works;
# (2) a running supervisor meanwhile: the finish of a job that ends, its lease renewal and the
#     enqueue fail (the supervisor and its workers try again at a later tick, never waiting
#     out the timeout in their loops); the job keeps its outcome, and once the lock is released
#     the job is finished with its result, new jobs run, the supervisor is still serving. Its
#     recovery, which finds nothing lost, takes no write lock (it reads /proc outside the write
#     transaction), so it never waits for this one.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
sqlite_only "SQLITE_BUSY, another process holding a SQLite file's write lock"
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

python3 -c 'import sqlite3' 2>/dev/null || { echo "SKIP: python3 with sqlite3 is needed" >&2; exit 77; }

# lock DB: hold DB's write lock until unlock.
lock() {
	rm -f lock.ctl lock.out
	mkfifo lock.ctl
	python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
c.execute("ROLLBACK")' "$1" <lock.ctl >lock.out &
	LOCKER=$!
	exec 7>lock.ctl
	wait_for 10 grep -q locked lock.out
}
unlock() { exec 7>&-; wait "$LOCKER" || fail "the lock holder failed"; }
count() { sql "$1" "select count(*) from jobs${2:+ where $2}"; }

cat >cfg.json <<JSON
{"concurrency": {"global": 4}, "types": {"t": {"builtin": "noop"}}}
JSON
DB=$TEST_DIR/q.db
q() { "$JOBQ" --db "$DB" --config "$TEST_DIR/cfg.json" "$@"; }

# (1) Every command, all at once (each waits out the same 5 s).
for i in 1 2 3 4; do q enqueue t "{\"i\": $i}" >/dev/null; done
q claim --json >claim1.json
q claim --json >claim2.json
q claim --json >claim3.json
T1=$(jq -r .token claim1.json) T2=$(jq -r .token claim2.json) T3=$(jq -r .token claim3.json)
q complete 3 --token "$T3" >/dev/null
printf '{}\n{}\n' >two.jsonl
snapshot() { sql "$DB" "select id, state, attempts, token, result, error from jobs order by id; select * from pauses"; }
before=$(snapshot)

lock "$DB"
t0=$(date +%s)
names=() pids=()
run() { # NAME ARGS...: q ARGS in the background, its exit code in NAME.rc
	local name=$1
	shift
	( set +e; q "$@" >"$name.out" 2>"$name.err"; echo $? >"$name.rc" ) &
	names+=("$name")
	pids+=($!)
}
run enqueue enqueue t '{}'
run bulk enqueue t --jsonl two.jsonl
run claim claim
run heartbeat heartbeat 1 --token "$T1"
run complete complete 1 --token "$T1" --result '"r"'
run fail fail 2 --token "$T2" --error boom
run cancel cancel 4
run retry retry 3
run pause pause t
run resume resume t
run prune prune --older-than 1ms
# Readers are not blocked by a writer in WAL mode.
run status --json status
run list list
run show show 1
for p in "${pids[@]}"; do wait "$p"; done
t1=$(date +%s)
for n in "${names[@]}"; do
	rc=$(cat "$n.rc") err=$(cat "$n.err")
	case $n in
	status|list|show)
		[ "$rc" = 0 ] || fail "(1) $n exited $rc under a write lock: $err" ;;
	*)
		[ "$rc" = 75 ] || fail "(1) $n exited $rc, expected 75: $err"
		assert_contains "$err" "database is locked" "$n"
		assert_contains "$err" "'$DB'" "$n" ;;
	esac
done
[ $((t1 - t0)) -ge 5 ] || fail "(1) the commands gave up after $((t1 - t0)) s, before the 5 s timeout"
assert_eq "$(snapshot)" "$before" "(1) the database after the locked commands"
unlock

# Released: each works.
expect_code 0 q heartbeat 1 --token "$T1"
expect_code 0 q complete 1 --token "$T1" --result '"r"'
expect_code 0 q fail 2 --token "$T2" --error boom
expect_code 0 q enqueue t --jsonl two.jsonl
expect_code 0 q cancel 4
assert_eq "$(sql "$DB" "PRAGMA integrity_check")" ok "(1) integrity_check"

# (2) A running supervisor while the lock is held. Job 7 waits for the file go.
rm -f go
cat >sup.json <<JSON
{"types": {"w": {"exec": ["bash", "-c", "while [ ! -e \"\$0\" ]; do sleep 0.05; done; echo \"result-\$JOBQ_JOB_ID\"", "$TEST_DIR/go"]},
           "t": {"builtin": "noop"}}}
JSON
S=$TEST_DIR/s.db
s() { "$JOBQ" --db "$S" --config "$TEST_DIR/sup.json" "$@"; }
expect_code 0 s enqueue w '{}'
spawn "$JOBQ" --db "$S" --config "$TEST_DIR/sup.json" supervise -v 2>>"$S.log"
SUP_PID=$SPAWNED
wait_for 10 sup_ready "$S" "$SUP_PID"
wait_state "$S" 1 running
lock "$S"
touch go
expect_code 75 s enqueue t '{}'
assert_contains "$ERR" "database is locked"
wait_for 15 grep -q "job 1: cannot finish, will retry: .*database is locked" "$S.log"
# The supervisor still answers while the lock is held: its configuration is reloaded on SIGHUP.
kill -HUP "$SUP_PID"
wait_for 3 grep -q "configuration reloaded" "$S.log"
unlock
! grep -q "recovery: .*database is locked" "$S.log" ||
	fail "(2) recovery waited for the write lock with nothing to recover: $(cat "$S.log")"
wait_state "$S" 1 succeeded
assert_eq "$(sql "$S" "select attempts from jobs where id = 1")" 1 "(2) job 1's attempts"
assert_eq "$(sql "$S" "select result from jobs where id = 1")" result-1 "(2) job 1's result"
assert_contains "$(cat "$S.log")" "job 1: finished after"
expect_code 0 s enqueue t '{}'
wait_state "$S" 2 succeeded
kill -0 "$SUP_PID" || fail "(2) the supervisor is gone: $(cat "$S.log")"
stop_supervisor
assert_eq "$SUP_RC" 0 "(2) supervisor exit"
assert_eq "$(count "$S" "state <> 'succeeded'")" 0 "(2) jobs not succeeded"
assert_eq "$(sql "$S" "PRAGMA integrity_check")" ok "(2) integrity_check"
echo ok
