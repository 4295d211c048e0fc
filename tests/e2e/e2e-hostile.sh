#!/usr/bin/env bash
# Another local user against a root supervisor (a real second user, created if missing):
# (1) under umask 000 every file jobq makes (DB, -wal, -shm, .pid, .runtime.json, .wake, the
#     JOBQ_REPORT folder) is private: the other user can read no payload or result, cannot write
#     the wake-up FIFO, cannot signal the supervisor or its workers;
# (2) in a shared TMPDIR (mode 1777) the other user plants folders and symbolic links under the
#     names of JOBQ_REPORT folders (of a dead pid, of a live worker's pid): the worker still makes
#     its own private folder, and the clean-ups at start and after a worker is killed remove only
#     root's own folders, never another user's nor what a link points to;
# (3) a job that swaps its report folder for a link to another folder: the worker's clean-up does
#     not empty the folder the link points to (it did);
# (4) a TMPDIR another user owns, or one anyone may write that is not sticky: refused for
#     JOBQ_REPORT with a clear error, nothing made there (it was used).
# (Planted configurations, databases, pid files, FIFOs, forged rows and forged JOBQ_JOB_ID are
# in e2e-security.)
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
sqlite_only "the files of a SQLite database (DB, -wal, -shm, .wake, runtime) against another local user"
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

other_user

chmod 0755 "$TEST_DIR" # the other user may look: only the files' own modes stop them
mkdir shared && chmod 1777 shared
S=$TEST_DIR/shared

# (1) umask 000. Job 1 records its JOBQ_REPORT folder, writes a report, waits for the file go.
cat >jobq.json <<JSON
{"types": {"rep": {"exec": ["bash", "-c", "dirname \"\$JOBQ_REPORT\" > $TEST_DIR/rep.dir; echo '{}' > \"\$JOBQ_REPORT\"; while [ ! -e $TEST_DIR/go ]; do sleep 0.05; done; echo secret-result"]},
           "sleep": {"exec": ["bash", "-c", "dirname \"\$JOBQ_REPORT\" > $TEST_DIR/rep.\$JOBQ_JOB_ID; exec sleep 600"]},
           "swap": {"exec": ["bash", "-c", "d=\$(dirname \"\$JOBQ_REPORT\"); rm -rf \"\$d\"; ln -s $TEST_DIR/victim3 \"\$d\"; echo swapped"]},
           "t": {"builtin": "noop"}}}
JSON
chmod 0600 jobq.json
DB=$TEST_DIR/q.db
umask 000
jobq --db "$DB" enqueue rep '{"secret": "payload"}' >/dev/null
start_supervisor "$DB"
wait_state "$DB" 1 running
wait_for 10 test -s rep.dir
rdir=$(cat rep.dir)
for f in q.db q.db-wal q.db-shm q.db.pid q.db.runtime.json q.db.wake "$rdir"; do
	[ -e "$f" ] || fail "(1) $f is missing"
	mode=$(stat -c %a "$f")
	[ $((8#$mode & 8#077)) = 0 ] || fail "(1) $f has mode $mode under umask 000"
	assert_eq "$(stat -c %U "$f")" root "(1) owner of $f"
done
umask 022
for f in q.db q.db-wal q.db-shm q.db.runtime.json "$rdir/job-1.json"; do
	as_other cat "$f" >/dev/null 2>&1 && fail "(1) the other user read $f"
done
as_other ls "$rdir" >/dev/null 2>&1 && fail "(1) the other user listed the report folder"
as_other sh -c "printf x > $DB.wake" 2>/dev/null && fail "(1) the other user wrote the wake-up FIFO"
for pid in "$SUP_PID" $(worker_pids "$SUP_PID") "$(sql "$DB" "select pgid from jobs where id = 1")"; do
	as_other kill -0 "$pid" 2>/dev/null && fail "(1) the other user may signal $pid"
	as_other kill -TERM "$pid" 2>/dev/null && fail "(1) the other user signalled $pid"
done
touch go
wait_state "$DB" 1 succeeded
[ ! -e "$rdir" ] || fail "(1) the report folder is left"
kill -0 "$SUP_PID" || fail "(1) the supervisor is gone"
stop_supervisor
assert_eq "$SUP_RC" 0 "(1) supervisor exit"

# (2) Planted names in a shared TMPDIR.
export TMPDIR=$S
mkdir victim1 victim2 victim3
for v in victim1 victim2 victim3; do echo precious >"$v/precious"; done
as_other mkdir "$S/jobq-report.999999.AAAAAA"
as_other touch "$S/jobq-report.999999.AAAAAA/theirs"
as_other ln -s "$TEST_DIR/victim1" "$S/jobq-report.999998.BBBBBB"
mkdir "$S/jobq-report.999997.CCCCCC" && touch "$S/jobq-report.999997.CCCCCC/stale" # root's, stale
D2=$TEST_DIR/d2.db
jobq --db "$D2" enqueue sleep '{}' >/dev/null
jobq --db "$D2" enqueue sleep '{}' >/dev/null
# The supervisor's start-up clean-up removes root's stale folder and nothing else.
spawn "$JOBQ" --db "$D2" --config "$TEST_DIR/jobq.json" supervise 2>>d2.log
SUP_PID=$SPAWNED
wait_for 10 sup_ready "$D2" "$SUP_PID"
wait_state "$D2" 1 running
wait_for 10 test -s rep.1
[ ! -e "$S/jobq-report.999997.CCCCCC" ] || fail "(2) root's stale report folder was not removed"
assert_eq "$(cat "$S/jobq-report.999999.AAAAAA/theirs" 2>&1; echo $?)" 0 "(2) the other user's folder"
[ -L "$S/jobq-report.999998.BBBBBB" ] || fail "(2) the other user's link was removed"
assert_eq "$(cat victim1/precious)" precious "(2) what the planted link points to"
# The worker's own folder: private, root's, under its pid.
w=$(sql "$D2" "select worker_pid from jobs where id = 1")
r1=$(cat rep.1)
case $r1 in "$S/jobq-report.$w."??????) ;; *) fail "(2) report folder '$r1' for worker $w" ;; esac
assert_eq "$(stat -c '%a %U %F' "$r1")" "700 root directory" "(2) the report folder"
# The other user plants names of this worker's; the worker is killed; its clean-up runs.
as_other mkdir "$S/jobq-report.$w.DDDDDD"
as_other touch "$S/jobq-report.$w.DDDDDD/theirs"
as_other ln -s "$TEST_DIR/victim2" "$S/jobq-report.$w.EEEEEE"
kill -KILL "$w"
wait_until 15 '[ ! -e "'"$r1"'" ]'
[ -e "$S/jobq-report.$w.DDDDDD/theirs" ] || fail "(2) the other user's folder of worker $w was emptied"
[ -L "$S/jobq-report.$w.EEEEEE" ] || fail "(2) the other user's link was removed"
assert_eq "$(cat victim2/precious)" precious "(2) what the link named after worker $w points to"
# The job is recovered and runs again in a new worker.
wait_until 15 '[ "$(sql "'"$D2"'" "select attempts from jobs where id = 1")" = 2 ]'
kill -0 "$SUP_PID" || fail "(2) the supervisor is gone: $(cat d2.log)"
stop_supervisor

# (3) A job swaps its report folder for a link: its worker's clean-up leaves the target alone.
D3=$TEST_DIR/d3.db
jobq --db "$D3" enqueue swap '{}' >/dev/null
expect_code 0 timeout 30 "$JOBQ" --db "$D3" --config "$TEST_DIR/jobq.json" supervise --drain
assert_eq "$(sql "$D3" "select state from jobs where id = 1")" succeeded "(3) job"
assert_eq "$(cat victim3/precious 2>&1)" precious "(3) the folder the swapped link points to"

# (4) A TMPDIR another user owns, and one anyone may write that is not sticky: refused.
mkdir theirs open
chown "$OTHER" theirs
chmod 0777 open
cat >t4.json <<'JSON'
{"types": {"e": {"exec": ["true"], "max_attempts": 1}}}
JSON
chmod 0600 t4.json
for case in theirs open; do
	D4=$TEST_DIR/d4-$case.db
	jobq --db "$D4" --config "$TEST_DIR/t4.json" enqueue e '{}' >/dev/null
	TMPDIR=$TEST_DIR/$case expect_code 0 timeout 30 "$JOBQ" --db "$D4" --config "$TEST_DIR/t4.json" supervise --drain
	assert_eq "$(sql "$D4" "select state from jobs where id = 1")" failed "(4) $case: job"
	err=$(sql "$D4" "select error from jobs where id = 1")
	assert_contains "$err" "refusing '$TEST_DIR/$case' (TMPDIR) for JOBQ_REPORT"
	assert_eq "$(ls -A "$case")" "" "(4) $case: files made in it"
done
assert_contains "$(sql "$TEST_DIR/d4-theirs.db" "select error from jobs")" "it belongs to another user"
assert_contains "$(sql "$TEST_DIR/d4-open.db" "select error from jobs")" "anyone may write it and it is not sticky"
echo ok
