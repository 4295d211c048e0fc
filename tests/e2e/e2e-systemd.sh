#!/usr/bin/env bash
# systemd: the units pass systemd-analyze verify (when it is installed), and the supervisor
# speaks sd_notify(3) to a real NOTIFY_SOCKET (a unix datagram socket bound by
# tests/e2e/notifysock.py): READY=1 only after recovery and once its workers run, STATUS= lines
# that follow the counts without repeating themselves, WATCHDOG=1 pings at half WATCHDOG_USEC,
# RELOADING=1 then READY=1 around a reload (a refused one too), STOPPING=1; the workers and the
# jobs do not inherit NOTIFY_SOCKET.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

# 1. The units, with ExecStart pointing at the binary under test.
if ! command -v systemd-analyze >/dev/null; then
	echo "systemd-analyze verify skipped: systemd-analyze is not installed (Debian: systemd)"
else
	mkdir units
	for u in jobq.service jobq@.service jobq-user.service; do
		sed "s#/usr/local/bin/jobq#$JOBQ#g" "$JOBQ_SRC/contrib/$u" >"units/$u"
	done
	# verify prints what it ignores and still exits 0: any output is a failure.
	verify() {
		local out
		out=$(XDG_RUNTIME_DIR="$TEST_DIR/units" systemd-analyze "$@" 2>&1) || { echo "$out"; return 1; }
		[ -z "$out" ] || { echo "$out"; return 1; }
	}
	verify verify units/jobq.service || fail "contrib/jobq.service: systemd-analyze verify"
	verify verify units/jobq@night.service || fail "contrib/jobq@.service: systemd-analyze verify"
	verify --user verify units/jobq-user.service || fail "contrib/jobq-user.service: systemd-analyze verify"
	for u in jobq.service jobq@.service jobq-user.service; do
		grep -qx 'Type=notify' "units/$u" || fail "$u: not Type=notify"
		grep -q '^WatchdogSec=' "units/$u" || fail "$u: no WatchdogSec"
		grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "units/$u" || fail "$u: ExecReload"
	done
	grep -q -- '--db /var/lib/jobq/%i/jobq.db supervise' units/jobq@.service || fail "jobq@.service: --db"
	# the check can fail: a unit with a mistake in it does not pass
	sed 's/^Type=notify/Type=notfy/' units/jobq.service >units/broken.service
	if verify verify units/broken.service >/dev/null; then fail "verify passed a broken unit"; fi
fi

# 2. A database with a job left running by a dead worker: recovery must come before READY=1.
PY=python3
cat >jobq.json <<'JSON'
{"concurrency": {"global": 2}, "grace": "5s", "types": {"nap": {"builtin": "sleep"}}}
JSON
jobq init >/dev/null
jobq enqueue nap '{"ms": 100}' >/dev/null
sleep 0 & dead=$!
wait "$dead"
sql jobq.db "UPDATE jobs SET state = 'running', attempts = 1, worker_pid = $dead, worker_start = 1, lease_until = 9999999999999, token = 7, started_at = 1 WHERE id = 1"
spawn "$PY" "$JOBQ_SRC/tests/e2e/notifysock.py" "$TEST_DIR/notify.sock" notify.jsonl "$TEST_DIR/jobq.db"
wait_for 10 test -S notify.sock
NOTIFY_SOCKET="$TEST_DIR/notify.sock" WATCHDOG_USEC=400000 start_supervisor jobq.db
wait_until 20 'grep -q "READY=1" notify.jsonl'
ready=$(grep -m1 '"READY=1' notify.jsonl)
# the job was recovered (its dead owner gone from the row) before READY=1
[ "$(printf '%s' "$ready" | jq -r '.job1[1]')" != "$dead" ] || fail "READY=1 before recovery: $ready"
assert_contains "$(cat jobq.db.log)" "recovered 1 job"
# the workers were running and the runtime file written
json_eq "$ready" '.runtime.pid' "$SUP_PID"
json_eq "$ready" '.runtime.worker_pids | length' 2
# nothing but STATUS= came before READY=1
json_eq "$(jq -s '[.[] | select(.n < '"$(printf '%s' "$ready" | jq .n)"') | .msg | select(startswith("STATUS=") | not)] | length' notify.jsonl)" . 0
wait_state jobq.db 1 succeeded

# 3. Watchdog pings at half of WATCHDOG_USEC, from the supervisor only.
wait_until 20 '[ "$(grep -c "\"WATCHDOG=1\"" notify.jsonl)" -ge 4 ]'
for w in $(jq -r '.worker_pids[]' $(db_file jobq.db runtime.json)); do
	if tr '\0' '\n' <"/proc/$w/environ" | grep -q '^NOTIFY_SOCKET=\|^WATCHDOG_'; then
		fail "worker $w inherited the service manager's variables"
	fi
done

# 4. STATUS= follows the counts: 3 running then queued jobs show up, and no text repeats.
for i in 1 2 3; do jobq enqueue nap '{"ms": 1500}' >/dev/null; done
wait_until 20 'grep -q "\"STATUS=2 running, 1 queued; 2 workers\"" notify.jsonl'
wait_until 20 'grep -q "\"STATUS=0 running, 0 queued; 2 workers\"" notify.jsonl'
jq -r 'select(.msg | startswith("STATUS=")) | .msg' notify.jsonl >statuses.txt
[ -z "$(uniq -d statuses.txt)" ] || fail "the same STATUS= twice in a row: $(uniq -d statuses.txt)"

# 5. Reload: RELOADING=1, then READY=1; a refused one too (with its STATUS=).
before=$(wc -l <notify.jsonl)
jobq reload >/dev/null
wait_until 20 'tail -n +$((before + 1)) notify.jsonl | grep -q "READY=1"'
after=$(tail -n +$((before + 1)) notify.jsonl)
assert_contains "$(printf '%s\n' "$after" | grep -m1 -e RELOADING=1 -e READY=1)" "RELOADING=1" "RELOADING=1 first"
assert_contains "$after" "STATUS=configuration reloaded"
before=$(wc -l <notify.jsonl)
echo '{"concurrency": {"global": 0}}' >jobq.json
kill -HUP "$SUP_PID"
wait_until 20 'tail -n +$((before + 1)) notify.jsonl | grep -q "READY=1"'
after=$(tail -n +$((before + 1)) notify.jsonl)
assert_contains "$(printf '%s\n' "$after" | grep -m1 -e RELOADING=1 -e READY=1)" "RELOADING=1" "RELOADING=1 first"
assert_contains "$after" "STATUS=reload refused"

# 6. Stop: STOPPING=1.
stop_supervisor
assert_eq "$SUP_RC" 0 "supervisor exit"
grep -q '"STOPPING=1"' notify.jsonl || fail "no STOPPING=1"

# 7. WATCHDOG_PID naming another process: no pings (sd_watchdog_enabled's rule).
printf '{"types": {"nap": {"builtin": "sleep"}}}\n' >jobq.json
: >notify.jsonl
NOTIFY_SOCKET="$TEST_DIR/notify.sock" WATCHDOG_USEC=400000 WATCHDOG_PID=1 start_supervisor jobq.db
wait_until 20 'grep -q "READY=1" notify.jsonl'
jobq enqueue nap '{"ms": 1200}' >/dev/null
wait_until 20 'grep -q "\"STATUS=0 running, 0 queued; 1 worker\"" <(tail -n 1 notify.jsonl) && [ "$(grep -c STATUS= notify.jsonl)" -ge 4 ]'
stop_supervisor
if grep -q 'WATCHDOG=1' notify.jsonl; then fail "watchdog pings for another WATCHDOG_PID"; fi
echo ok
