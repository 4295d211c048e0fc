#!/usr/bin/env bash
# Faults of the file system, on a real size-limited tmpfs and a read-only bind mount (root only;
# skipped otherwise). Each case ends with a clear message and exit code, a database that passes
# integrity_check, no job lost or half-written, none left running, and a supervisor that goes on
# serving once the fault is gone:
# (1) disk full: enqueue (one, and --jsonl all or nothing), claim, complete with a large result
#     (with some space left: the transaction fails half way and is rolled back), prune: exit 74,
#     "database or disk is full", nothing changed; once space is back each works;
# (2) the disk fills under a running supervisor: enqueue fails 74, a job that ends keeps its
#     outcome until space is back, then everything runs;
# (3) a read-only database (a read-only bind mount; an immutable file): writes exit 74 with
#     "attempt to write a readonly database", reads work, a new database cannot be created (74).
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
sqlite_only "faults of a SQLite database's file system (full tmpfs, read-only mount)"
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: $TEST_NAME needs root to mount a size-limited tmpfs" >&2
	exit 77
fi

MNT="$TEST_DIR/mnt"
RO="$TEST_DIR/ro"
mkdir "$MNT" "$RO" rw

faults_cleanup() {
	local rc=$? pid m i
	set +e
	for pid in $(jobs -p); do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	chattr -i "$TEST_DIR/rw/imm.db" 2>/dev/null
	unmount_all "$RO" "$MNT"
	(exit "$rc")
	e2e_cleanup
}
trap faults_cleanup EXIT

mount -t tmpfs -o size=16m,mode=0700 jobq-e2e-faults "$MNT" || fail "cannot mount a tmpfs"

unfill() { rm -f "$MNT/fill"; }
# Checkpoint the WAL into the database; sqlite3 then removes -wal and -shm, as a clean stop does.
checkpoint() { sql "$1" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null; }
count() { sql "$1" "select count(*) from jobs${2:+ where $2}"; }
intact() { assert_eq "$(sql "$1" "PRAGMA integrity_check")" ok "$2: integrity_check"; }
DISKFULL="database or disk is full"

# hold_open DB: keep a connection to DB open (not in a transaction) until release_open, as a
# running supervisor does. The last connection to close leaves -shm to be rebuilt by the next
# opener, which needs space: with one open, a full disk fails the transaction, not the open.
hold_open() {
	rm -f holder.ctl
	mkfifo holder.ctl
	python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("select count(*) from jobs").fetchall()
print("open", flush=True)
sys.stdin.read()' "$1" <holder.ctl >holder.out &
	HOLDER=$!
	exec 8>holder.ctl
	wait_for 10 grep -q open holder.out
}
release_open() { exec 8>&-; wait "$HOLDER" || true; }

cat >cfg.json <<JSON
{"concurrency": {"global": 4}, "types": {"t": {"builtin": "noop"}, "x": {"builtin": "noop"}}}
JSON
CFG=$TEST_DIR/cfg.json
q() { "$JOBQ" --db "$DB" --config "$CFG" "$@"; }

# (1) One command at a time on a full disk.
DB="$MNT/q.db"
for i in 1 2 3 4; do expect_code 0 q enqueue t "{\"i\": $i}"; done
# Job 1 is claimed by an external worker before the disk fills; job 2 finishes (for prune).
expect_code 0 q claim --type t --json
TOKEN1=$(printf '%s' "$OUT" | jq -r .token)
json_eq "$OUT" .id 1
expect_code 0 q claim --type t --json
expect_code 0 q complete 2 --token "$(printf '%s' "$OUT" | jq -r .token)" --result '"two"'
seq 200 | sed 's/.*/{"line": &, "pad": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}/' >bulk.jsonl
head -c 900000 /dev/zero | tr '\0' r >big-result
seq_before=$(sql "$DB" "select seq from sqlite_sequence where name = 'jobs'")
hold_open "$DB"
fill_fs "$MNT"

expect_code 74 q enqueue t '{"full": 1}'
assert_contains "$ERR" "cannot enqueue"
assert_contains "$ERR" "$DISKFULL"
expect_code 74 q enqueue t --batch b1 --jsonl bulk.jsonl
assert_contains "$ERR" "$DISKFULL"
assert_not_contains "$ERR" "line "
expect_code 74 q claim --type t
assert_contains "$ERR" "$DISKFULL"
expect_code 74 q prune --older-than 1ms
assert_contains "$ERR" "$DISKFULL"
expect_code 74 q cancel 3
assert_contains "$ERR" "$DISKFULL"
# Reads still work.
expect_code 0 q --json status
json_eq "$OUT" .counts.queued 2
json_eq "$OUT" .counts.running 1
json_eq "$OUT" .counts.succeeded 1
assert_eq "$(count "$DB")" 4 "jobs on a full disk"
assert_eq "$(count "$DB" "batch = 'b1'")" 0 "bulk jobs on a full disk"
assert_eq "$(sql "$DB" "select seq from sqlite_sequence where name = 'jobs'")" "$seq_before" "id sequence"

# Some room, not enough for a 900 KB result: the complete fails half way and is rolled back.
unfill
fill_fs "$MNT" $((256 * 1024))
expect_code 74 q complete 1 --token "$TOKEN1" --result - <big-result
assert_contains "$ERR" "$DISKFULL"
row=$(sql "$DB" "select state, token, result is null from jobs where id = 1")
assert_eq "$row" "running|$TOKEN1|1" "job 1 after a failed complete"
# ... a small enqueue fits in what is left.
expect_code 0 q enqueue x '{"small": 1}'
intact "$DB" "(1) full"

# Space back: every command works, nothing was lost.
unfill
release_open
expect_code 0 q complete 1 --token "$TOKEN1" --result - <big-result
assert_eq "$(sql "$DB" "select state, length(result) from jobs where id = 1")" "succeeded|900000" "job 1"
expect_code 0 q enqueue t --batch b1 --jsonl bulk.jsonl
assert_eq "$(count "$DB" "batch = 'b1'")" 200 "bulk jobs"
sleep 0.01
expect_code 0 q prune --older-than 1ms
assert_eq "$(count "$DB" "state = 'succeeded'")" 0 "succeeded jobs after prune"
expect_code 0 timeout 60 "$JOBQ" --db "$DB" --config "$CFG" supervise --drain
assert_eq "$(count "$DB" "state = 'succeeded'")" 203 "jobs run after the disk full"
assert_eq "$(count "$DB" "state <> 'succeeded'")" 0 "jobs not run"
intact "$DB" "(1) after"

# Nobody has the database open: the first opener must rebuild -shm, which a full disk refuses;
# the open fails with the system's reason. The same after a clean stop (-wal and -shm removed).
fill_fs "$MNT"
for cmd in "enqueue t {}" "claim" "status"; do
	# shellcheck disable=SC2086
	expect_code 74 q $cmd
	assert_contains "$ERR" "cannot open database '$DB': disk I/O error (No space left on device)" "$cmd"
done
unfill
checkpoint "$DB"
[ ! -e "$DB-shm" ] || fail "(1) -shm still there after the checkpoint"
fill_fs "$MNT"
expect_code 74 q enqueue t '{}'
assert_contains "$ERR" "cannot open database '$DB': disk I/O error (No space left on device)"
unfill
expect_code 0 q enqueue t '{}'
intact "$DB" "(1) no -shm"

# (2) The disk fills under a running supervisor. Job 1 waits for the file go, then prints; job 2
# sleeps (a builtin) and ends while the disk is full: its worker waits for the retry of its
# finish without spinning.
rm -f go
cat >sup.json <<JSON
{"concurrency": {"global": 2},
 "types": {"w": {"exec": ["bash", "-c", "while [ ! -e \"\$0\" ]; do sleep 0.05; done; echo \"result-\$JOBQ_JOB_ID\"", "$TEST_DIR/go"]},
           "b": {"builtin": "sleep"}, "t": {"builtin": "noop"}}}
JSON
S="$MNT/s.db"
s() { "$JOBQ" --db "$S" --config "$TEST_DIR/sup.json" "$@"; }
expect_code 0 s enqueue w '{}'
expect_code 0 s enqueue b '{"ms": 1500}'
spawn "$JOBQ" --db "$S" --config "$TEST_DIR/sup.json" supervise 2>>s.log
SUP_PID=$SPAWNED
wait_for 10 sup_ready "$S" "$SUP_PID"
wait_state "$S" 1 running
wait_state "$S" 2 running
fill_fs "$MNT"
expect_code 74 s enqueue t '{}'
assert_contains "$ERR" "$DISKFULL"
wait_for 15 grep -q "job 2: cannot finish, will retry: .*$DISKFULL" s.log
# CPU time (clock ticks) of job 2's worker over one second: an idle wait, not a busy loop.
wpid=$(sql "$S" "select worker_pid from jobs where id = 2")
cpu() { awk '{print $14 + $15}' "/proc/$wpid/stat"; }
c0=$(cpu)
sleep 1
c1=$(cpu)
[ $((c1 - c0)) -le 10 ] || fail "(2) job 2's worker used $((c1 - c0)) ticks of CPU in 1 s while waiting to finish"
touch go
wait_for 15 grep -q "job 1: cannot finish, will retry: .*$DISKFULL" s.log
state_is "$S" 1 running || fail "(2) job 1 left running while the disk is full"
unfill
wait_state "$S" 1 succeeded
wait_state "$S" 2 succeeded
assert_eq "$(sql "$S" "select result from jobs where id = 1")" "result-1" "(2) result kept through the disk full"
assert_contains "$(cat s.log)" "job 1: finished after"
assert_contains "$(cat s.log)" "job 2: finished after"
expect_code 0 s enqueue t '{}'
wait_state "$S" 3 succeeded
kill -0 "$SUP_PID" || fail "(2) the supervisor is gone: $(cat s.log)"
stop_supervisor
assert_eq "$SUP_RC" 0 "(2) supervisor exit"
assert_eq "$(count "$S" "state <> 'succeeded'")" 0 "(2) jobs not succeeded"
intact "$S" "(2)"

# (3) A read-only database: a read-only bind mount of its folder ...
R="$TEST_DIR/rw/r.db"
"$JOBQ" --db "$R" --config "$CFG" enqueue t '{"r": 1}' >/dev/null
mount --bind rw "$RO" && mount -o remount,bind,ro "$RO" || fail "cannot make a read-only bind mount"
DB="$RO/r.db"
for cmd in "enqueue t {}" "claim" "cancel 1" "pause t" "prune --older-than 1ms"; do
	# shellcheck disable=SC2086
	expect_code 74 q $cmd
	assert_contains "$ERR" "attempt to write a readonly database" "$cmd"
done
expect_code 74 q enqueue t --jsonl bulk.jsonl
assert_contains "$ERR" "attempt to write a readonly database"
expect_code 0 q --json status
json_eq "$OUT" .counts.queued 1
expect_code 0 q show 1
expect_code 0 q list
# ... where no new database can be created: 74, and nothing is created.
DB="$RO/new.db"
expect_code 74 q enqueue t '{}'
assert_contains "$ERR" "cannot open database '$RO/new.db': Read-only file system"
umount "$RO"
[ ! -e rw/new.db ] || fail "(3) a database was created on a read-only mount"
assert_eq "$(count "$R")" 1 "(3) jobs"
intact "$R" "(3) bind"

# ... and an immutable file (chattr +i), where the file system supports it.
I="$TEST_DIR/rw/imm.db"
"$JOBQ" --db "$I" --config "$CFG" enqueue t '{}' >/dev/null
checkpoint "$I"
if chattr +i "$I" 2>/dev/null; then
	DB=$I
	expect_code 74 q enqueue t '{}'
	assert_contains "$ERR" "readonly database"
	expect_code 74 q claim
	expect_code 0 q show 1
	chattr -i "$I"
	expect_code 0 timeout 60 "$JOBQ" --db "$DB" --config "$CFG" supervise --drain
	assert_eq "$(count "$I" "state = 'succeeded'")" 1 "(3) immutable: jobs run after"
	intact "$I" "(3) immutable"
else
	echo "note: chattr +i is not supported here; the immutable file case is not checked"
fi

echo ok
