#!/usr/bin/env bash
# jobq logs: the output files of jobs (DB.logs), written by the exec handler as the command
# prints and by the http handler (masked), rotated at logs.max, followed with --follow while the
# job runs (lines arrive before it ends; across rotations and a retried attempt), printed once
# it has ended, and removed by prune.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

D=$PWD
# gated: prints two lines, then waits for the file named in its payload before the last one.
# fast: 400 numbered lines of 11 bytes at about 4 KiB/s, through rotations of 1 KiB files.
# flaky: fails its first attempt (after a line, once the file fail exists), succeeds on the second.
cat >jobq.json <<JSON
{"concurrency": {"global": 3},
 "logs": {"max": "1KiB", "keep": 9},
 "types": {
  "gated": {"exec": ["sh", "-c", "echo first; echo to-stderr >&2; echo second; while [ ! -e '$D/release' ]; do sleep 0.05; done; echo last"]},
  "fast": {"exec": ["sh", "-c", "i=0; while [ \$i -lt 400 ]; do i=\$((i+1)); printf 'line %05d\\\\n' \$i; [ \$((i % 40)) -eq 0 ] && sleep 0.1; done; true"]},
  "big": {"exec": ["sh", "-c", "seq 1 5000"]},
  "flaky": {"exec": ["sh", "-c", "echo attempt \$JOBQ_ATTEMPT; [ \$JOBQ_ATTEMPT -ge 2 ] && exit 0; while [ ! -e '$D/fail' ]; do sleep 0.05; done; exit 1"],
            "backoff": {"base": "200ms", "max": "200ms"}}}}
JSON
expect_code 0 jobq init

# Usage and unknown jobs: as show.
expect_code 64 jobq logs
expect_code 64 jobq logs abc
expect_code 1 jobq logs 999
assert_contains "$ERR" "job 999: not found"
expect_code 1 jobq logs 999 --follow

gated=$(jobq enqueue gated)
start_supervisor jobq.db
wait_state jobq.db "$gated" running

# --follow sees the lines as they are written: both before the job ends.
"$JOBQ" logs "$gated" --follow >follow.out 2>follow.err &
follow_pid=$!
BG_PIDS+=("$follow_pid")
wait_until 20 'grep -q second follow.out'
state_is jobq.db "$gated" running || fail "the job ended before its lines were followed"
kill -0 "$follow_pid" || fail "logs --follow exited while the job runs"
# The plain form prints what is there now, and the stderr file holds stderr only.
expect_code 0 jobq logs "$gated"
assert_eq "$OUT" "$(printf 'first\nsecond')" "logs of a running job"
expect_code 0 jobq logs "$gated" --stderr
assert_eq "$OUT" "to-stderr" "logs --stderr"
touch release
set +e
wait "$follow_pid"
rc=$?
set -e
assert_eq "$rc" 0 "logs --follow exit once the job ended"
assert_eq "$(cat follow.out)" "$(printf 'first\nsecond\nlast')" "followed output"
wait_state jobq.db "$gated" succeeded

# The files: 0600 in a 0700 folder, named from the id (beside a SQLite file, in the state folder
# of a PostgreSQL queue).
LOGS=$(db_file jobq.db logs)
assert_eq "$(stat -c %a "$LOGS")" 700 "folder mode"
assert_eq "$(stat -c %a "$LOGS/$gated.out")" 600 "file mode"
assert_eq "$(stat -c %a "$LOGS/$gated.err")" 600 "file mode"

# Rotation: a finished job's files hold at most (keep + 1) x max bytes, each file at most max;
# logs prints them oldest first, ending with the last line.
big=$(jobq enqueue big)
wait_state jobq.db "$big" succeeded
for f in $LOGS/"$big".out*; do
	[ "$(stat -c %s "$f")" -le 1024 ] || fail "$f is larger than logs.max"
done
assert_eq "$(ls $LOGS | grep -c "^$big\.out")" 10 "files of a rotated stream (1 + keep)"
expect_code 0 jobq logs "$big"
assert_eq "$(printf '%s\n' "$OUT" | tail -1)" 5000 "last line after rotation"
seq 1 5000 | tail -c "$(printf '%s\n' "$OUT" | wc -c)" >want
printf '%s\n' "$OUT" | cmp -s - want || fail "rotated files printed out of order"
# The result kept in the database is unchanged by the files.
assert_eq "$(sql jobq.db "select length(result) from jobs where id = $big")" "$(seq 1 5000 | wc -c)" "result"

# --follow across rotations loses nothing: 400 lines, 4400 bytes through 1 KiB files.
fast=$(jobq enqueue fast)
expect_code 0 timeout 60 "$JOBQ" logs "$fast" --follow
for i in $(seq 1 400); do printf 'line %05d\n' "$i"; done >want
printf '%s\n' "$OUT" | cmp -s - want || fail "follow across rotations: $(printf '%s\n' "$OUT" | diff - want | head -5)"

# --follow across a retry: attempt 1 fails, attempt 2 succeeds; both attempts' lines, a marker
# on stderr, exit 0 once the job has ended.
# Attempt 1 fails only once the follower has printed its line: started after the enqueue, the
# follower could otherwise begin at attempt 2 (on PostgreSQL, under load) and see no change.
flaky=$(jobq enqueue flaky)
timeout 60 "$JOBQ" logs "$flaky" --follow >retry.out 2>retry.err &
follow_pid=$!
BG_PIDS+=("$follow_pid")
wait_until 20 'grep -q "attempt 1" retry.out'
touch fail
wait "$follow_pid" || fail "logs --follow across a retry: exit $?"
json_eq "$(jobq show --json "$flaky")" .state succeeded
assert_contains "$(cat retry.out)" "attempt 2"
assert_contains "$(cat retry.err)" "--- job $flaky attempt 2 ---"
# Once ended, the latest attempt's output is kept.
expect_code 0 jobq logs "$flaky"
assert_eq "$OUT" "attempt 2" "the last attempt's output"

stop_supervisor TERM
assert_eq "$SUP_RC" 0 "supervisor exit"
assert_not_contains "$(cat jobq.db.log)" "Sanitizer" "supervisor log"
assert_not_contains "$(cat jobq.db.log)" "runtime error" "supervisor log"
assert_not_contains "$(cat jobq.db.log)" "output file" "supervisor log (no warning of the files)"

# A job whose files are gone prints what the database kept.
rm "$LOGS/$gated.out"
expect_code 0 jobq logs "$gated"
assert_eq "$OUT" "$(printf 'first\nsecond\nlast')" "kept result"
assert_contains "$ERR" "no output file"

# A folder that is not the user's own private one is refused (77), never followed as a link.
mv $LOGS logs.saved
ln -s "$PWD/logs.saved" "$LOGS"
expect_code 77 jobq logs "$big"
rm $LOGS
mv logs.saved $LOGS

# prune removes the files of the jobs it deletes, and only theirs.
queued=$(jobq enqueue gated)
: >"$LOGS/$queued.out" # a job still in the database keeps its file
expect_code 0 jobq prune --older-than 0s
for id in "$gated" "$big" "$fast" "$flaky"; do
	[ -z "$(ls $LOGS | grep "^$id\.")" ] || fail "files of pruned job $id left: $(ls $LOGS)"
done
[ -e "$LOGS/$queued.out" ] || fail "prune removed the file of a job it kept"

# "logs": false: no files, the job runs as before.
jq '.logs = false' jobq.json >j && mv j jobq.json
rm -f release
touch release
off=$(jobq enqueue gated)
expect_code 0 timeout 60 "$JOBQ" supervise --drain
[ ! -e "$LOGS/$off.out" ] || fail "an output file with logs: false"
expect_code 0 jobq logs "$off"
assert_contains "$OUT" last
expect_code 0 timeout 30 "$JOBQ" logs "$off" --follow
assert_contains "$OUT" last "follow of a job without files: what the database kept"
echo ok
