# Helpers of the end-to-end tests. Each test script starts with
#   source "$JOBQ_SRC/tests/e2e/lib.sh"
# and ends by printing "ok". It runs in its own temporary folder (the current directory), with
# stdin from /dev/null, no JOBQ_DB / JOBQ_CONFIG from the caller's environment, and a trap that
# kills what it started in the background and removes the folder.
#
# Given by meson: JOBQ (the binary), JOBQ_SRC (the source tree), JOBQ_BUILD (the build tree).

set -euo pipefail
: "${JOBQ:?JOBQ must name the jobq binary}"
case "$JOBQ" in /*) ;; *) JOBQ="$PWD/$JOBQ" ;; esac
export JOBQ LC_ALL=C
unset JOBQ_DB JOBQ_CONFIG JOBQ_LOG_LEVEL
exec </dev/null

TEST_NAME=$(basename "$0" .sh)
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/jobq-$TEST_NAME.XXXXXX")
BG_PIDS=()

# Kill what the test started in the background (and their children), then remove the folder.
e2e_cleanup() {
	local rc=$? pid
	set +e
	for pid in "${BG_PIDS[@]}" $(jobs -p); do
		pkill -TERM -P "$pid" 2>/dev/null
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${BG_PIDS[@]}" $(jobs -p); do
		wait "$pid" 2>/dev/null
	done
	[ -n "${E2E_KEEP:-}" ] && { echo "kept $TEST_DIR" >&2; exit "$rc"; }
	cd /
	rm -rf "$TEST_DIR"
	exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM
cd "$TEST_DIR"

# jobq ARGS...: the binary under test.
jobq() { "$JOBQ" "$@"; }

# fail MESSAGE: stop the test with a message (and what the last expect_code captured).
fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	if [ -n "${OUT+x}" ]; then
		echo "  last stdout: ${OUT:0:2000}" >&2
		echo "  last stderr: ${ERR:0:2000}" >&2
	fi
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

# sql DB QUERY: sqlite3 with a busy timeout, for checks from outside jobq.
sql() {
	sqlite3 -cmd '.timeout 5000' "$1" "$2"
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
