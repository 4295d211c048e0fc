# Helpers of the end-to-end tests. Each test script starts with
#   source "$JOBQ_SRC/tests/e2e/lib.sh"
# It runs in its own temporary folder (the current directory), with stdin from /dev/null, no
# JOBQ_DB / JOBQ_CONFIG from the caller's environment, and a trap that kills what it started in
# the background and removes the folder.
#
# Results are TAP (meson's protocol 'tap'), on the script's own stdout (fd 3 here); what the
# script prints itself goes to stderr, the test's log. `step DESC` starts a step: it is reported
# `ok` when the next one starts or the script ends, `not ok` (with the failure as a # comment)
# when the script stops inside it. `check DESC CMD...` and `alone DESC FUNC` report one result
# without stopping the script when it fails, for what later steps do not depend on. A script
# without steps reports one result for itself. The plan (1..N) is written at the end; exit 77
# reports a skip.
#
# Given by meson: JOBQ (the binary), JOBQ_SRC (the source tree), JOBQ_BUILD (the build tree),
# JOBQ_E2E_TAP=1 (a failure is reported in the TAP stream only, the exit status is 0, so meson
# counts it as a failure of the test rather than an error of the harness), JOBQ_TEST_BACKEND
# (sqlite, or pg: the same script against PostgreSQL, below).
#
# Backends: with JOBQ_TEST_BACKEND=pg the script runs against the PostgreSQL test cluster named
# by JOBQ_TEST_PG (tests/pg/with-cluster.sh; skipped without one). Every
# SQLite path the script names stands for a database of its own in that cluster, created on
# first use and dropped at the end (lib-pg.sh): $JOBQ is then lib-pg-jobq.sh, which hands the
# real jobq ($JOBQ_REAL) that database's conninfo, and `sql` runs psql there. A script that is
# SQLite-only by nature calls `sqlite_only REASON` (skipped on PostgreSQL), one that needs
# PostgreSQL `pg_only REASON`; `on_pg` tells a script's own checks which backend runs.

set -euo pipefail
: "${JOBQ:?JOBQ must name the jobq binary}"
case "$JOBQ" in /*) ;; *) JOBQ="$PWD/$JOBQ" ;; esac
export JOBQ LC_ALL=C
unset JOBQ_DB JOBQ_CONFIG JOBQ_LOG_LEVEL
exec </dev/null
exec 3>&1 1>&2

TEST_NAME=$(basename "$0" .sh)
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/jobq-$TEST_NAME.XXXXXX")
BG_PIDS=() E2E_AT_EXIT=()
TAP_N=0 TAP_FAILED=0 TAP_STEP="" E2E_ERR="" E2E_SKIP_WHY=""
E2E_BACKEND=${JOBQ_TEST_BACKEND:-sqlite}
case "$E2E_BACKEND" in sqlite | pg) ;; *) echo "JOBQ_TEST_BACKEND: sqlite or pg, not '$E2E_BACKEND'" >&2; exit 1 ;; esac

# tap_result "ok"|"not ok" DESC [DIAGNOSTIC]: one TAP line (a '#' in DESC would start a
# directive: it is dropped), the diagnostic as comment lines after it.
tap_result() {
	TAP_N=$((TAP_N + 1))
	printf '%s %d - %s\n' "$1" "$TAP_N" "${2//#/}" >&3
	[ "$1" = ok ] || TAP_FAILED=1
	if [ -n "${3:-}" ]; then
		printf '%s\n' "$3" | head -c 4000 | sed 's/^/# /' >&3
	fi
}

# The messages of the failures since the last result (fail() appends to it, even from a
# subshell or a command substitution), then forgotten.
failures() {
	cat "$TEST_DIR/.e2e-fail" 2>/dev/null || true
	rm -f "$TEST_DIR/.e2e-fail"
}

# step DESC: the previous step passed; DESC starts.
step() {
	[ -z "$TAP_STEP" ] || tap_result ok "$TAP_STEP"
	TAP_STEP=$*
	failures >/dev/null
	echo "-- $TEST_NAME: $TAP_STEP" >&2
}

# check DESC CMD...: run CMD (assertions) in a subshell and report it; a failure does not stop
# the script.
check() {
	local desc=$1 rc
	shift
	set +e
	(set -e; "$@")
	rc=$?
	set -e
	if [ "$rc" -eq 0 ]; then
		failures >/dev/null
		tap_result ok "$desc"
	else
		tap_result "not ok" "$desc" "$(failures)"
	fi
}

# alone DESC FUNC: run the function FUNC as an independent part of the test, in a subshell that
# kills what it started; report it; a failure does not stop the script. FUNC changes nothing the
# rest of the script sees (its variables stay in the subshell).
alone() {
	local desc=$1 rc
	shift
	[ -z "$TAP_STEP" ] || tap_result ok "$TAP_STEP"
	TAP_STEP=""
	echo "-- $TEST_NAME: $desc" >&2
	set +e
	(trap 'e2e_kill_bg' EXIT; BG_PIDS=(); set -e; "$@")
	rc=$?
	set -e
	if [ "$rc" -eq 0 ]; then
		failures >/dev/null
		tap_result ok "$desc"
	else
		tap_result "not ok" "$desc" "$(failures)
exit status $rc"
	fi
}

# Kill what the test (or an alone part) started in the background, and their children.
e2e_kill_bg() {
	local pid
	set +e
	for pid in "${BG_PIDS[@]}" $(jobs -p); do
		pkill -TERM -P "$pid" 2>/dev/null
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${BG_PIDS[@]}" $(jobs -p); do
		wait "$pid" 2>/dev/null
	done
}

# The results not reported yet and the plan; the exit status.
tap_finish() {
	local rc=$1 why
	why=$(failures)
	[ -n "$why" ] || [ "$rc" -eq 0 ] || why="exit status $rc${E2E_ERR:+ (last failed command, line $E2E_ERR)}"
	if [ "$rc" -eq 77 ]; then
		[ -z "$TAP_STEP" ] || tap_result ok "$TAP_STEP"
		if [ "$TAP_N" -eq 0 ]; then
			echo "1..0 # SKIP ${E2E_SKIP_WHY:-exit 77 (the log says why)}" >&3
		else
			TAP_N=$((TAP_N + 1))
			echo "ok $TAP_N - the rest # SKIP ${E2E_SKIP_WHY:-exit 77}" >&3
			echo "1..$TAP_N" >&3
		fi
		return 0
	fi
	if [ -n "$TAP_STEP" ]; then
		if [ "$rc" -eq 0 ]; then tap_result ok "$TAP_STEP"; else tap_result "not ok" "$TAP_STEP" "$why"; fi
	elif [ "$TAP_N" -eq 0 ] || [ "$rc" -ne 0 ]; then
		if [ "$rc" -eq 0 ]; then tap_result ok "$TEST_NAME"; else tap_result "not ok" "$TEST_NAME" "$why"; fi
	fi
	echo "1..$TAP_N" >&3
	[ "$TAP_FAILED" -eq 0 ] && return 0
	[ -n "${JOBQ_E2E_TAP:-}" ] && return 0
	return 1
}

e2e_cleanup() {
	local rc=$?
	set +e
	e2e_kill_bg
	tap_finish "$rc"
	rc=$?
	[ -n "${E2E_KEEP:-}" ] && { echo "kept $TEST_DIR" >&2; exit "$rc"; }
	[ -z "${E2E_PG_STATE:-}" ] || pg_drop_all
	local f
	for f in "${E2E_AT_EXIT[@]}"; do "$f"; done
	cd /
	rm -rf "$TEST_DIR"
	exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM
trap 'E2E_ERR="$LINENO: $BASH_COMMAND"' ERR
cd "$TEST_DIR"

# e2e_skip REASON: the script is skipped (exit 77), REASON in the TAP plan and the log.
e2e_skip() {
	E2E_SKIP_WHY=${*//#/}
	echo "skipped: $*" >&2
	exit 77
}
# on_pg: the script runs against PostgreSQL.
on_pg() { [ "$E2E_BACKEND" = pg ]; }
# sqlite_only REASON / pg_only REASON: the script is skipped on the other backend.
sqlite_only() { ! on_pg || e2e_skip "SQLite only: $*"; }
pg_only() { on_pg || e2e_skip "PostgreSQL only: $*"; }
# sqlite_only_rest REASON: on PostgreSQL the script ends here, what is left skipped.
sqlite_only_rest() { ! on_pg || e2e_skip "SQLite only from here: $*"; }
# pg_only_rest REASON: on SQLite the script ends here, what is left skipped.
pg_only_rest() { on_pg || e2e_skip "PostgreSQL only from here: $*"; }

if on_pg; then
	[ -n "${JOBQ_TEST_PG:-}" ] ||
		e2e_skip "no PostgreSQL test cluster: run the suite through tests/pg/with-cluster.sh (make test does)"
	command -v psql >/dev/null || e2e_skip "psql is not installed (scripts/deps.sh test)"
	E2E_PG_STATE=$TEST_DIR/.pg
	E2E_PG_PREFIX=t_$(printf '%s' "${TEST_NAME#e2e-}" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9' '_' | cut -c1-24)_$$
	mkdir -m 0700 "$E2E_PG_STATE"
	JOBQ_REAL=$JOBQ
	JOBQ=$JOBQ_SRC/tests/e2e/lib-pg-jobq.sh
	# Where a supervisor of a PostgreSQL queue keeps its lock, pid and runtime files.
	XDG_STATE_HOME=$TEST_DIR/.state
	PGCONNECT_TIMEOUT=10
	export JOBQ JOBQ_REAL JOBQ_TEST_PG E2E_PG_STATE E2E_PG_PREFIX TEST_DIR \
		XDG_STATE_HOME PGCONNECT_TIMEOUT
	# shellcheck source=lib-pg.sh
	source "$JOBQ_SRC/tests/e2e/lib-pg.sh"
fi

# at_exit FUNC: call FUNC when the test ends, after what it started in the background is killed
# (and before its folder is removed).
at_exit() { E2E_AT_EXIT+=("$1"); }

# jobq ARGS...: the binary under test.
jobq() { "$JOBQ" "$@"; }

# fail MESSAGE: stop the test with a message (and what the last expect_code captured).
fail() {
	{
		echo "FAIL: $TEST_NAME: $*"
		if [ -n "${OUT+x}" ]; then
			echo "  last stdout: ${OUT:0:2000}"
			echo "  last stderr: ${ERR:0:2000}"
		fi
	} | tee -a "$TEST_DIR/.e2e-fail" >&2
	exit 1
}

# spawn CMD...: run in the background, remembered for the cleanup. Sets SPAWNED to its pid.
spawn() {
	"$@" &
	SPAWNED=$!
	BG_PIDS+=("$SPAWNED")
}

# expect_code N CMD...: run CMD, fail unless it exits N. Its stdout and stderr are left in
# $OUT and $ERR.
expect_code() {
	local want=$1 got
	shift
	set +e
	"$@" >"$TEST_DIR/.e2e-out" 2>"$TEST_DIR/.e2e-err"
	got=$?
	set -e
	OUT=$(cat "$TEST_DIR/.e2e-out")
	ERR=$(cat "$TEST_DIR/.e2e-err")
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
}

# assert_eq ACTUAL EXPECTED [WHAT]
assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}

# assert_contains HAYSTACK NEEDLE [WHAT]
assert_contains() {
	case "$1" in
	*"$2"*) ;;
	*) fail "${3:-text}: '$2' not found in '${1:0:2000}'" ;;
	esac
}

# assert_not_contains HAYSTACK NEEDLE [WHAT]
assert_not_contains() {
	case "$1" in
	*"$2"*) fail "${3:-text}: '$2' should not be in '${1:0:2000}'" ;;
	*) ;;
	esac
}

# json_eq JSON JQ_FILTER EXPECTED: jq -r FILTER of JSON equals EXPECTED.
json_eq() {
	local got
	got=$(printf '%s' "$1" | jq -r "$2") || fail "jq '$2' on '${1:0:500}'"
	assert_eq "$got" "$3" "jq '$2'"
}

# sql DB QUERY: sqlite3 with a busy timeout, for checks from outside jobq; on PostgreSQL psql
# in the database that stands for DB, printing as sqlite3 does (fields separated by |, no
# header, NULL as nothing; a boolean is t/f there: write CASE WHEN ... THEN 1 ELSE 0 END).
sql() {
	if on_pg; then
		psql -XAtq -F'|' -v ON_ERROR_STOP=1 -d "$(pg_db "$1")" -c "$2"
	else
		sqlite3 -cmd '.timeout 5000' "$1" "$2"
	fi
}

# db_dump DB: everything the database holds, as SQL text (sqlite3 .dump, pg_dump).
db_dump() {
	if on_pg; then
		pg_dump --no-owner -d "$(pg_db "$1")"
	else
		sqlite3 -cmd '.timeout 5000' "$1" .dump
	fi
}

# pg_state_dir: the state folder where a supervisor of a PostgreSQL queue keeps its files, as
# jobq finds it: $JOBQ_STATE_DIR, else $XDG_STATE_HOME/jobq (set per test by lib.sh).
pg_state_dir() { echo "${JOBQ_STATE_DIR:-${XDG_STATE_HOME:-$TEST_DIR/.state}/jobq}"; }

# db_file DB WHAT: the path of a file the supervisor keeps for database DB (runtime.json, pid,
# wake, logs, ...): DB.WHAT beside a SQLite file; for a PostgreSQL queue the one jobq names for
# the database that stands for DB in its state folder (pg_state_dir): pg-HASH.WHAT
# (pg_local_base), whether it exists yet or not; when it does not but a single WHAT is there
# (a supervisor given a URI or another form of the target, whose HASH differs), that one.
db_file() {
	if ! on_pg; then
		echo "$1.$2"
		return 0
	fi
	local want found
	want="$(pg_local_base "$1" "$(pg_state_dir)").$2"
	if [ ! -e "$want" ] && [ "$(find "$(pg_state_dir)" -name "*.$2" 2>/dev/null | wc -l)" = 1 ]; then
		found=$(find "$(pg_state_dir)" -name "*.$2")
	fi
	echo "${found:-$want}"
}

# NOW_MS: SQL for the wall clock in ms since the epoch, as jobq stores times.
if on_pg; then
	NOW_MS="CAST(extract(epoch from clock_timestamp()) * 1000 AS BIGINT)"
else
	NOW_MS="CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
fi

# gone PID...: none of the processes is alive any more (for wait_for).
gone() {
	local pid
	for pid in "$@"; do
		! kill -0 "$pid" 2>/dev/null || return 1
	done
}

# wait_for SECONDS CMD...: poll CMD (quietly) every 50 ms until it succeeds; fail on timeout.
wait_for() {
	local limit=$1 i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt $((limit * 20)) ] || fail "timed out after ${limit}s waiting for: $*"
		sleep 0.05
	done
}

# asan_build: the jobq under test is built with AddressSanitizer. Not `ldd | grep -q`: with
# pipefail, grep quitting at the first match can leave ldd dying of SIGPIPE and the test false.
asan_build() { [[ "$(ldd "${JOBQ_REAL:-$JOBQ}" 2>/dev/null)" == *libasan* ]]; }

# wait_until SECONDS 'SHELL CODE': like wait_for, but the code is evaluated afresh every time
# (write command substitutions inside the single quotes, so that they run on every try).
wait_until() {
	local limit=$1 i=0
	shift
	until eval "$*" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt $((limit * 20)) ] || fail "timed out after ${limit}s waiting until: $*"
		sleep 0.05
	done
}

# other_user: as root, make sure the second local user jobq-e2e-other exists (created once,
# without a home or a shell) and define as_other CMD... to run as that user without root's
# groups; sets OTHER and other_uid. Not root: the test is skipped (exit 77).
other_user() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "skipped: needs root to act as a second local user"
		exit 77
	fi
	OTHER=jobq-e2e-other
	id -u "$OTHER" >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin "$OTHER" 2>/dev/null ||
		id -u "$OTHER" >/dev/null 2>&1 || fail "cannot create the user $OTHER"
	other_uid=$(id -u "$OTHER")
	other_gid=$(id -g "$OTHER")
}
as_other() { setpriv --reuid="$other_uid" --regid="$other_gid" --clear-groups -- "$@"; }

# unmount_all MOUNTPOINT...: unmount each one that is mounted, retrying while it is busy, lazily
# at last (for the cleanup traps of the tests that mount a small tmpfs).
unmount_all() {
	local m i
	for m in "$@"; do
		for i in $(seq 1 40); do
			mountpoint -q "$m" || break
			umount "$m" 2>/dev/null && break
			sleep 0.1
		done
		if mountpoint -q "$m"; then umount -l "$m"; fi
	done
	return 0
}

# fill_fs MOUNTPOINT [KEEP]: write zeros into MOUNTPOINT/fill until its file system has no space
# left, then give back KEEP bytes (none by default). Remove MOUNTPOINT/fill to free it again.
fill_fs() {
	dd if=/dev/zero of="$1/fill" bs=64k 2>/dev/null || true
	[ "$(df --output=avail -B1 "$1" | tail -1 | tr -d ' ')" = 0 ] || fail "$1 is not full"
	[ -z "${2:-}" ] || truncate -s "-$2" "$1/fill"
}
