#!/usr/bin/env bash
# Injected failures in the real binary (tests/fault/faultinject.c through LD_PRELOAD): the Nth
# allocation fails (JOBQ_FAULT_MALLOC=N), or the Nth write or sync fails with EIO
# (JOBQ_FAULT_IO=N), for every N a run of the command reaches (the allocations before the hot
# path every FAULT_STRIDE-th, default 10; FAULT_STRIDE=1 tries them all):
# - enqueue (one, and --jsonl), claim, complete: each run exits 0 with the change made, or
#   exits with a message and a documented code (70, 71, 74; 78 when the allocation that fails is
#   the configuration's parse, see below) with nothing changed; never a signal; the database
#   passes integrity_check; a failed claim leaves no job running (after a failed sync of a
#   commit the outcome is unknown: the change may be in, see docs/operations.md);
# - a bulk enqueue that spills to the WAL before its commit, with a write failing there: the
#   message names the database, not the input file;
# - supervise --drain (sampled): never a signal in the supervisor or a worker; a clean
#   supervise --drain afterwards runs every job, none is left running.
# Skipped without the library (a build with sanitizers does not make it).
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
sqlite_only "failed writes and syncs of a SQLite file (LD_PRELOAD), checked with sqlite3 integrity_check"

LIB=$JOBQ_BUILD/tests/libjobq-faultinject.so
if [ ! -e "$LIB" ] || asan_build; then
	echo "SKIP: $TEST_NAME needs $LIB and a build without sanitizers" >&2
	exit 77
fi
STRIDE=${FAULT_STRIDE:-10}
HOT=150 # the last allocations of a run: the command's own work, every one tried

cat >jobq.json <<'JSON'
{"concurrency": {"global": 2}, "types": {"t": {"builtin": "noop"}}}
JSON
chmod 0600 jobq.json
printf '{}\n{"b": 2}\n{"c": 3}\n' >three.jsonl

# The template: jobs 1 and 2 queued, job 3 claimed (its token in T3).
"$JOBQ" --db tpl.db enqueue t '{"a": 1}' >/dev/null
"$JOBQ" --db tpl.db enqueue t '{"a": 2}' >/dev/null
"$JOBQ" --db tpl.db enqueue t '{"a": 3}' >/dev/null
"$JOBQ" --db tpl.db claim --json >claim3.json
T3=$(jq -r .token claim3.json)
[ "$(jq -r .id claim3.json)" = 1 ] || fail "template: claimed $(cat claim3.json)"

# The supervisor's: three jobs queued.
for i in 1 2 3; do "$JOBQ" --db sup.db enqueue t '{}' >/dev/null; done

fresh() { # [TEMPLATE]
	local t=${1:-tpl}
	rm -f q.db q.db-wal q.db-shm
	cp "$t.db" q.db
	cp "$t.db-wal" q.db-wal
	cp "$t.db-shm" q.db-shm
}

# calls KIND CMD...: how many allocations (KIND 2) or writes and syncs (KIND 3) a clean run makes.
calls() {
	local kind=$1
	shift
	fresh
	rm -f count
	LD_PRELOAD=$LIB JOBQ_FAULT_COUNT=$TEST_DIR/count "$JOBQ" --db q.db "$@" >/dev/null 2>&1 ||
		fail "clean run of '$*' failed"
	awk -v k="$kind" 'NR == 1 {print $k}' count
}

# check NAME RC: the state of q.db after a run of NAME that exited RC (stderr in run.err).
check() {
	local name=$1 rc=$2 n_jobs n_run s1 msg
	[ "$rc" -lt 128 ] || fail "$name: killed by signal $((rc - 128)) at $FAULT=$n"
	if [ "$rc" != 0 ]; then
		msg=$(head -c 300 run.err)
		case "$msg" in "jobq: "*) ;; *) fail "$name: exit $rc at $FAULT=$n without a message: '$msg'" ;; esac
		case "$rc" in
		70|71|74) ;;
		78) assert_contains "$msg" "config '" "$name at $FAULT=$n" ;;
		*) fail "$name: exit $rc at $FAULT=$n: $msg" ;;
		esac
	fi
	read -r ok n_jobs n_run s1 < <(sqlite3 q.db "select (select group_concat(integrity_check) from pragma_integrity_check),
		count(*), sum(state = 'running'), (select state from jobs where id = 1) from jobs" | tr '|' ' ')
	[ "$ok" = ok ] || fail "$name: integrity_check at $FAULT=$n: $ok"
	case "$name:$rc" in
	enqueue:0) assert_eq "$n_jobs" 4 "$name at $FAULT=$n: jobs" ;;
	enqueue:*) [ "$n_jobs" = 3 ] || { [ "$FAULT" = JOBQ_FAULT_IO ] && [ "$n_jobs" = 4 ]; } ||
			fail "$name exited $rc at $FAULT=$n with $n_jobs jobs" ;;
	bulk:0) assert_eq "$n_jobs" 6 "$name at $FAULT=$n: jobs" ;;
	bulk:*) [ "$n_jobs" = 3 ] || { [ "$FAULT" = JOBQ_FAULT_IO ] && [ "$n_jobs" = 6 ]; } ||
			fail "$name exited $rc at $FAULT=$n with $n_jobs jobs (all or nothing)" ;;
	claim:0) assert_eq "$n_run" 2 "$name at $FAULT=$n: running" ;;
	claim:*) [ "$n_run" = 1 ] || { [ "$FAULT" = JOBQ_FAULT_IO ] && [ "$n_run" = 2 ]; } ||
			fail "$name exited $rc at $FAULT=$n with $n_run jobs running" ;;
	complete:0) assert_eq "$s1" succeeded "$name at $FAULT=$n: job 1" ;;
	complete:*) [ "$s1" = running ] || { [ "$FAULT" = JOBQ_FAULT_IO ] && [ "$s1" = succeeded ]; } ||
			fail "$name exited $rc at $FAULT=$n with job 1 $s1" ;;
	esac
}

# sweep NAME CMD...: fail every allocation (then every write) of CMD in turn.
TOTAL=0
sweep() {
	local name=$1 k n rc
	shift
	for FAULT in JOBQ_FAULT_MALLOC JOBQ_FAULT_IO; do
		if [ "$FAULT" = JOBQ_FAULT_MALLOC ]; then k=$(calls 2 "$@"); else k=$(calls 3 "$@"); fi
		[ "$k" -gt 0 ] || fail "$name: no calls counted"
		for ((n = 1; n <= k; n++)); do
			if [ "$FAULT" = JOBQ_FAULT_MALLOC ] && [ $((k - n)) -ge $HOT ] && [ $((n % STRIDE)) != 1 ]; then
				continue
			fi
			fresh
			set +e
			env LD_PRELOAD="$LIB" "$FAULT=$n" "$JOBQ" --db q.db "$@" >run.out 2>run.err
			rc=$?
			set -e
			check "$name" "$rc"
			TOTAL=$((TOTAL + 1))
		done
		echo "$name: $FAULT: $k calls"
	done
}

sweep enqueue enqueue t '{"new": 1}'
sweep bulk enqueue t --jsonl three.jsonl
sweep claim claim --json
sweep complete complete 1 --token "$T3" --result '{"r": 1}'
echo "tried $TOTAL single failures of enqueue, claim and complete"

# A bulk enqueue larger than SQLite's page cache writes to the WAL while lines are still being
# added: an I/O error there is the database's, not the input's ("cannot read 'FILE'" before).
seq 40000 | sed 's/.*/{"n": &, "pad": "'"$(printf '%0200d' 0)"'"}/' >big.jsonl
for n in 10 15; do
	fresh
	expect_code 74 env LD_PRELOAD="$LIB" JOBQ_FAULT_IO=$n "$JOBQ" --db q.db enqueue t --jsonl big.jsonl
	assert_contains "$ERR" "cannot enqueue: cannot enqueue into '$TEST_DIR/q.db': disk I/O error"
	assert_not_contains "$ERR" "big.jsonl"
	assert_eq "$(sqlite3 q.db "select count(*) from jobs")" 3 "jobs after a failed bulk enqueue"
done

# The supervisor and its workers: sampled.
fresh sup
rm -f count
LD_PRELOAD=$LIB JOBQ_FAULT_COUNT=$TEST_DIR/count timeout 60 "$JOBQ" --db q.db supervise --drain 2>/dev/null ||
	fail "clean supervise --drain failed"
kmax=$(awk '$2 > m {m = $2} END {print m}' count)
iomax=$(awk '$3 > m {m = $3} END {print m}' count)
runs=0
sup_try() { # FAULT N: one failure in the supervisor or one of its workers
	fresh sup
	rm -f fired
	set +e
	env LD_PRELOAD="$LIB" "$1=$2" JOBQ_FAULT_ONCE="$TEST_DIR/fired" timeout 60 "$JOBQ" --db q.db supervise --drain >/dev/null 2>sup.err
	rc=$?
	set -e
	[ "$rc" -lt 124 ] || fail "supervise --drain with $1=$2: exit $rc: $(cat sup.err)"
	if [ "$rc" != 0 ]; then
		grep -q -e "error: " -e "^jobq: " sup.err || fail "supervise exit $rc with $1=$2 without a message: $(cat sup.err)"
	fi
	# A worker may exit 70 on a failed allocation; a signal (status 128 + N) is a crash.
	! grep -E "died with status (12[89]|1[3-9][0-9]|2[0-9][0-9])" sup.err || fail "a worker crashed with $1=$2"
	expect_code 0 timeout 60 "$JOBQ" --db q.db supervise --drain
	assert_eq "$(sqlite3 q.db "select count(*) from jobs where state <> 'succeeded'")" 0 "jobs not run after $1=$2"
	assert_eq "$(sqlite3 q.db "PRAGMA integrity_check")" ok "integrity after $1=$2"
	runs=$((runs + 1))
}
for ((n = 1; n <= kmax; n += kmax / 60 + 1)); do sup_try JOBQ_FAULT_MALLOC "$n"; done
for ((n = 1; n <= iomax; n++)); do sup_try JOBQ_FAULT_IO "$n"; done
echo "supervise --drain: $runs runs ($kmax allocations, $iomax writes in the busiest process)"
echo ok
