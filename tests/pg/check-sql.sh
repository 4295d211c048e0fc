#!/usr/bin/env bash
# tests/pg/check-sql.sh CHECK_SQL JOBQ: the PostgreSQL SQL of jobq checked against a real
# server (tests/pg/check-sql.c says what): in the cluster of $JOBQ_TEST_PG, else in a throwaway
# one started by tests/pg/with-cluster.sh. Skips (77) without a PostgreSQL server.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: check-sql.sh CHECK_SQL JOBQ" >&2; exit 64; }
check=$1
jobq=$2
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${JOBQ_TEST_PG:-}" ]; then
	if ! compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || [ ! -f "$here/with-cluster.sh" ]; then
		echo "check-sql.sh: skipped: no PostgreSQL server installed (or no tests/pg/with-cluster.sh)"
		exit 77
	fi
	exec bash "$here/with-cluster.sh" bash "$0" "$@"
fi
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
# The SQLite side: a database made by the real jobq.
"$jobq" init --db "$tmp/q.db" >/dev/null
"$check" "$JOBQ_TEST_PG" "$tmp/q.db"
