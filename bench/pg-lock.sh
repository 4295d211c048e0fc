#!/usr/bin/env bash
# What the writers' lock costs jobq on PostgreSQL (docs/architecture.md, "Claims on PostgreSQL:
# one writers' lock"): claim+complete cycles/s with PROCS processes (1, 2, 4 by default), each
# with its own connection, on a queue of N no-op jobs (bench_pgjobq cycles: store_claim +
# store_finish, two write transactions a cycle, each taking pg_advisory_xact_lock), and where
# their sessions spend the time: pg_stat_activity sampled every SAMPLE_MS by a procedure in
# another database (so it never takes jobq's lock), each sample of each jobq session counted as
# waiting for the advisory lock, running (active, or waiting on anything else; of which the WAL
# flush of a commit, "IO/WALSync" or "IO/WALWrite", is also shown apart), or idle (the client's
# side: the round trip and the C code).
#
# usage: bash bench/pg-lock.sh [BUILD]      (BUILD: jobq's meson build folder, default build)
# env: PROCS ("1 2 4"), ROUNDS (3), N (20000), CYCLES (4000), CYCLES_MAX_S (5), SAMPLE_MS (2),
#      SYNC (on: synchronous_commit; off to take the disk out),
#      BENCH_DIR (/var/tmp: the cluster's data, a disk), PG_CLUSTER (tests/pg/cluster.sh)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
source "$ROOT/bench/lib.sh"
source "$ROOT/bench/pg/lib.sh"
unset JOBQ_DB JOBQ_CONFIG DATABASE_URL
PROCS=${PROCS:-1 2 4} ROUNDS=${ROUNDS:-3} N=${N:-20000} CYCLES=${CYCLES:-4000}
SAMPLE_MS=${SAMPLE_MS:-2}
export CYCLES_MAX_S=${CYCLES_MAX_S:-5}
JOBQ=$BUILD/cli/jobq
NICE=(nice -n 10)

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/jobq-bench-pglock.XXXXXX")
chmod 711 "$work"
cluster_up='' sampler=''
cleanup() {
	set +e
	[ -n "$sampler" ] && kill "$sampler" 2>/dev/null && wait "$sampler" 2>/dev/null
	[ -n "$cluster_up" ] && bash "$CLUSTER" stop "$work/pg" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Durable commits, as bench/pg.sh has them; SYNC=off: commits that do not wait for the WAL
# flush, to see the lock's cost without the disk's.
SYNC=${SYNC:-on}
pg_start "$work" "$SYNC"
sql postgres "CREATE TABLE samples (run int, pid int, state text, wtype text, wevent text)"
sql postgres "CREATE PROCEDURE sample(r int, ms int, deadline timestamptz) LANGUAGE plpgsql AS \$\$
BEGIN
	WHILE clock_timestamp() < deadline LOOP
		INSERT INTO samples SELECT r, pid, state, wait_event_type, wait_event
			FROM pg_stat_activity WHERE datname = 'jobq' AND application_name = 'jobq';
		COMMIT; -- a new snapshot of pg_stat_activity
		PERFORM pg_sleep(ms / 1000.0);
	END LOOP;
END \$\$"

pg_compile_bench "$work/bench_pgjobq"

raw=$work/raw.txt
: >"$raw"
run=0
for r in $(seq "$ROUNDS"); do
	for p in $PROCS; do
		run=$((run + 1))
		sql postgres "DROP DATABASE IF EXISTS jobq WITH (FORCE)"
		sql postgres "CREATE DATABASE jobq"
		"$JOBQ" --db "$(ci jobq)" migrate >/dev/null
		sql jobq "INSERT INTO jobs (type, payload) SELECT 'noop', '{}' FROM generate_series(1, $N)"
		sql jobq "VACUUM ANALYZE"
		psql -X -q "$(ci postgres)" -c "CALL sample($run, $SAMPLE_MS, clock_timestamp() + interval '$((CYCLES_MAX_S + 3)) s')" &
		sampler=$!
		out=$("${NICE[@]}" "$work/bench_pgjobq" cycles "$(ci jobq)" "$CYCLES" "$p" '{"concurrency":{"global":64}}')
		kill "$sampler" 2>/dev/null || true
		wait "$sampler" 2>/dev/null || true
		sampler=''
		sql postgres "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'CALL sample%' AND pid <> pg_backend_pid()"
		rate=$(awk '$1 == "cycles_rate" {print $2}' <<<"$out")
		shares=$(psql -X -At -F ' ' "$(ci postgres)" -c "SELECT
			round(100.0 * count(*) FILTER (WHERE wevent = 'advisory') / greatest(count(*), 1), 1),
			round(100.0 * count(*) FILTER (WHERE state <> 'idle' AND wevent IS DISTINCT FROM 'advisory') / greatest(count(*), 1), 1),
			round(100.0 * count(*) FILTER (WHERE state = 'idle') / greatest(count(*), 1), 1),
			round(100.0 * count(*) FILTER (WHERE wtype = 'IO' AND wevent LIKE 'WAL%') / greatest(count(*), 1), 1),
			count(*) FROM samples WHERE run = $run")
		printf '%s %s %s\n' "$p" "$rate" "$shares" >>"$raw"
		say "round $r, $p processes: $rate cycles/s; lock wait / server / client / WAL flush %, samples: $shares"
	done
done

med() { awk -v p="$1" -v c="$2" '$1 == p {print $c}' "$raw" | sort -g | awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
echo "PostgreSQL $(psql -X -Atc "SELECT current_setting('server_version')" "$(ci postgres)") (cluster on $(fstype "$work"), fsync on, synchronous_commit $SYNC), jobq $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); medians of $ROUNDS round(s) — $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| processes | claim+complete cycles/s (each round) | waiting for the writers' lock | running in the server | of which the WAL flush | idle (client side) | samples |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for p in $PROCS; do
	printf '| %s | %.1f (%s) | %s %% | %s %% | %s %% | %s %% | %s |\n' "$p" "$(med "$p" 2)" \
		"$(awk -v p="$p" '$1 == p {printf "%s%.0f", sep, $2; sep = " "}' "$raw")" \
		"$(med "$p" 3)" "$(med "$p" 4)" "$(med "$p" 6)" "$(med "$p" 5)" "$(med "$p" 7)"
done
echo
echo "Shares: of the samples of the jobq sessions (pg_stat_activity every $SAMPLE_MS ms). $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
