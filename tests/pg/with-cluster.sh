#!/usr/bin/env bash
# tests/pg/with-cluster.sh CMD [ARGS...]: run CMD with a throwaway PostgreSQL cluster
# (tests/pg/cluster.sh) in a new temporary folder, its conninfo in JOBQ_TEST_PG and the folder
# in JOBQ_TEST_PG_DIR; the cluster is stopped and the folder removed when CMD ends, fails or is
# interrupted. Exits with CMD's status. `make test` runs meson's suite through it, so that the
# PostgreSQL variants of the tests (suite pg) run; without it they skip.
# JOBQ_TEST_PG already set: CMD runs against that cluster, nothing is started.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: with-cluster.sh CMD [ARGS...]" >&2; exit 64; }
if [ -n "${JOBQ_TEST_PG:-}" ]; then
	exec "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
# /tmp, not $TMPDIR: the folder's parents must be reachable by the cluster's user.
dir=$(mktemp -d /tmp/jobq-pg.XXXXXX)
child=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	"$here/cluster.sh" stop "$dir" || echo "with-cluster.sh: could not stop the cluster in $dir" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
set +e
JOBQ_TEST_PG=$("$here/cluster.sh" start "$dir")
rc=$?
set -e
if [ "$rc" -eq 69 ]; then
	# No server installed (a machine set up before PostgreSQL joined scripts/deps.sh): the
	# PostgreSQL variants skip, saying why; the rest runs.
	echo "with-cluster.sh: no PostgreSQL server: the PostgreSQL tests will be skipped" >&2
	unset JOBQ_TEST_PG
elif [ "$rc" -ne 0 ]; then
	echo "with-cluster.sh: the PostgreSQL test cluster did not start" >&2
	exit 1
else
	export JOBQ_TEST_PG JOBQ_TEST_PG_DIR=$dir
	echo "with-cluster.sh: PostgreSQL test cluster in $dir: $JOBQ_TEST_PG" >&2
fi
# CMD in the background, so that a signal to this script reaches the trap at once.
set +e
"$@" &
child=$!
wait "$child"
rc=$?
# A signal interrupted wait: the trap runs; otherwise CMD's status.
child=""
exit "$rc"
