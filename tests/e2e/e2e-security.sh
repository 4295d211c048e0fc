#!/usr/bin/env bash
# Files and rows another local user plants: a configuration, symbolic links, a pid file, a FIFO,
# a -wal, a runtime file in a shared folder; hard links and a second name of a database; a forged
# running row naming someone else's process group; a forged JOBQ_JOB_ID in another user's
# process. Run as root with a real second user (created if missing), as a hostile user would.
source "$JOBQ_SRC/tests/e2e/lib.sh"
sqlite_only "files, links and hard links of a SQLite database planted by another local user"
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh"

other_user

chmod 0755 "$TEST_DIR"
mkdir shared && chmod 1777 shared # like /tmp
S=$TEST_DIR/shared
printf '%s' '{"types": {"t": {"builtin": "noop"}}}' >cfg.json
CFG=$TEST_DIR/cfg.json

# 1. Another user's jobq.json beside root's database is refused: it would run as root.
step "1. Another user's jobq.json beside root's database is refused"
as_other sh -c "printf '%s' '{\"types\": {\"t\": {\"exec\": [\"/bin/sh\", \"-c\", \"id > $S/pwned\"]}}}' > $S/jobq.json"
expect_code 77 jobq --db "$S/root.db" enqueue t '{}'
assert_contains "$ERR" "refusing '$S/jobq.json': it belongs to user $other_uid ($OTHER), not to you or root"
expect_code 77 jobq --db "$S/root.db" supervise --drain
[ ! -e "$S/pwned" ] || fail "the planted configuration ran"
expect_code 77 jobq --db "$S/root.db" status
rm -f "$S/jobq.json"

# ... and so is a configuration its group or others may write, even root's own.
mkdir own && cp cfg.json own/jobq.json
chmod 0664 own/jobq.json
expect_code 77 jobq --db own/q.db enqueue t '{}'
assert_contains "$ERR" "its group or others may write it (mode 0664)"
chmod 0644 own/jobq.json
expect_code 0 jobq --db own/q.db enqueue t '{}'

# 2. A symbolic link planted where root's database would be: refused, nothing written through it.
step "2. A symbolic link planted where root's database would be"
mkdir other
jobq --db other/m.db --config "$CFG" enqueue t '{}' >/dev/null
chown -R "$OTHER" other
before=$(sql other/m.db 'select count(*) from jobs')
as_other ln -s "$TEST_DIR/other/m.db" "$S/r2.db"
expect_code 77 jobq --db "$S/r2.db" enqueue t '{"secret": 1}'
assert_contains "$ERR" "refusing the symbolic link '$S/r2.db': it belongs to user $other_uid"
assert_eq "$(sql other/m.db 'select count(*) from jobs')" "$before" "jobs in the other user's database"

# A link to a missing file makes root create nothing where it points.
as_other ln -s "$TEST_DIR/other/new.db" "$S/r3.db"
expect_code 77 jobq --db "$S/r3.db" enqueue t '{}'
[ ! -e other/new.db ] || fail "root created a file through a planted link"

# 3. A planted pid file link: root does not overwrite what it points to.
step "3. A planted pid file link"
expect_code 0 jobq --db "$S/r4.db" --config "$CFG" enqueue t '{}'
echo "precious" >victim
as_other ln -s "$TEST_DIR/victim" "$S/r4.db.pid"
expect_code 77 jobq --db "$S/r4.db" --config "$CFG" supervise --drain
assert_contains "$ERR" "refusing '$S/r4.db.pid'"
assert_eq "$(cat victim)" "precious" "the file the planted pid link points to"

# A planted -wal (another user's file, where SQLite would write root's pages): refused.
as_other touch "$S/r5.db-wal"
expect_code 77 jobq --db "$S/r5.db" enqueue t '{}'
assert_contains "$ERR" "refusing '$S/r5.db-wal': it belongs to user $other_uid"
[ ! -s "$S/r5.db-wal" ] || fail "root wrote into the planted -wal"

# Another user's FIFO where the wake-up FIFO goes: refused (77), not a FIFO in the way: 73.
expect_code 0 jobq --db "$S/r6.db" --config "$CFG" enqueue t '{}'
as_other mkfifo -m 0666 "$S/r6.db.wake"
expect_code 77 jobq --db "$S/r6.db" --config "$CFG" supervise --drain
assert_contains "$ERR" "refusing the wake-up FIFO"
expect_code 0 jobq --db own/w.db enqueue t '{}'
mkdir own/w.db.wake
expect_code 73 jobq --db own/w.db supervise --drain
rmdir own/w.db.wake

# A planted runtime file does not make status believe in a supervisor.
as_other sh -c "printf '%s' '{\"schema_version\":1,\"pid\":1,\"pid_start\":0,\"started_at\":\"2026-01-01T00:00:00Z\",\"database\":\"x\",\"workers\":9,\"wake\":\"x\",\"worker_pids\":[]}' > $S/r6.db.runtime.json"
expect_code 0 jobq --db "$S/r6.db" --config "$CFG" --json status
json_eq "$OUT" '.supervisor.running' false
assert_contains "$ERR" "runtime file"

# 4. One database, one supervisor, whatever its name. A second hard link is refused outright ...
step "4. One database, one supervisor, whatever its name"
expect_code 0 jobq --db own/h.db enqueue t '{}'
ln own/h.db own/h2.db
expect_code 77 jobq --db own/h2.db enqueue t '{}'
assert_contains "$ERR" "has 2 names (hard links)"
expect_code 77 jobq --db own/h.db supervise --drain
rm own/h2.db
# ... a symbolic link of one's own leads to the same file, its lock and its pid file ...
ln -s h.db own/l.db
start_supervisor own/h.db
expect_code 75 jobq --db own/l.db supervise
assert_contains "$ERR" "a supervisor is already running for '$TEST_DIR/own/h.db' (pid $SUP_PID)"
for i in $(seq 1 20); do
	jobq --db own/h.db enqueue t '{}' >/dev/null
	jobq --db own/l.db enqueue t '{}' >/dev/null
done
wait_until 20 '[ "$(sql own/h.db "select count(*) from jobs where state = '"'succeeded'"'")" = 41 ]'
[ ! -e own/l.db-wal ] || fail "a second -wal beside the link"
# ... and a second name of the file itself (a bind mount) meets the lock on the file.
touch b.db
if mount --bind own/h.db b.db 2>/dev/null; then
	set +e
	"$JOBQ" --db b.db --config "$CFG" supervise >bind.out 2>&1
	rc=$?
	set -e
	umount b.db
	[ "$rc" -eq 75 ] || fail "a supervisor through a bind mount exited $rc: $(cat bind.out)"
	assert_contains "$(cat bind.out)" "already running for '$TEST_DIR/b.db' under another name"
	[ ! -e b.db-wal ] || fail "SQLite opened the database under its second name"
else
	echo "note: no bind mount here; that case is not checked"
fi
stop_supervisor
assert_eq "$SUP_RC" 0 "supervisor exit"

# A database another user cannot read: 66 ("cannot open"), not 74.
cp "$JOBQ" jobq-bin && chmod 0755 jobq-bin
set +e
as_other ./jobq-bin --db own/h.db status >/dev/null 2>unread.err
rc=$?
set -e
[ "$rc" -eq 66 ] || fail "status on an unreadable database exited $rc: $(cat unread.err)"
assert_contains "$(cat unread.err)" "cannot open database '$TEST_DIR/own/h.db'"

# 5. A forged running row naming root's process group is never signalled: neither without a
# start time nor with the real one (anyone can read it in /proc).
step "5. A forged running row naming root's process group is never signalled"
setsid sleep 6001 >/dev/null 2>&1 &
victim=$!
BG_PIDS+=("$victim")
wait_until 5 '[ "$(ps -o pgid= -p '"$victim"' | tr -d " ")" = '"$victim"' ]'
vstart=$(awk '{print $22}' "/proc/$victim/stat")
expect_code 0 jobq --db own/f.db --config "$CFG" enqueue t '{}'
sql own/f.db "insert into jobs (type, state, worker_pid, worker_start, pgid, pgid_start, lease_until, token, units, attempts, started_at)
	values ('t', 'running', 999999, 1, $victim, NULL, 0, 7, '[]', 1, 0),
	       ('t', 'running', 999999, 1, $victim, $vstart, 0, 8, '[]', 1, 0)"
# ... and a process of another user that carries a forged identity of job 1.
fdb=$(readlink -f own/f.db)
# (setpriv itself, not the as_other function: $! must be the process that becomes sleep)
setpriv --reuid="$other_uid" --regid="$other_gid" --clear-groups -- \
	env JOBQ_JOB_ID=1 JOBQ_DB="$fdb" JOBQ_ATTEMPT=1 sleep 6002 >/dev/null 2>&1 &
forged=$!
BG_PIDS+=("$forged")
sql own/f.db "update jobs set state = 'running', worker_pid = 999999, worker_start = 1, lease_until = 0, token = 9, units = '[]', attempts = 1 where id = 1"
jobq --db own/f.db --config "$CFG" supervise --drain 2>f.log || fail "supervise --drain: $(cat f.log)"
kill -0 "$victim" 2>/dev/null || fail "the forged row got root's process group killed"
kill -0 "$forged" 2>/dev/null || fail "another user's process with a forged JOBQ_JOB_ID was killed"
assert_eq "$(sql own/f.db "select count(*) from jobs where state = 'running'")" 0 "running rows after recovery"

# A real job's leftovers are still killed when its worker dies (the row is the worker's own).
mkdir kk
cat >kk/jobq.json <<EOF
{"types": {"k": {"exec": ["/bin/sh", "-c", "setsid sleep 6003 & echo started > $TEST_DIR/k.started; sleep 6003"]}}}
EOF
start_supervisor kk/k.db --workers 1
expect_code 0 jobq --db kk/k.db enqueue k '{}'
wait_for 10 test -s k.started
leader=$(sql kk/k.db "select pgid from jobs where id = 1")
kill -9 "$(worker_pids "$SUP_PID")"
wait_until 10 '! kill -0 '"$leader"' 2>/dev/null'
wait_until 10 '[ "$(count_procs "sleep 6003")" = 0 ]'
stop_supervisor
kill "$victim" "$forged" 2>/dev/null || true
echo ok
