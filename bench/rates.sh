#!/usr/bin/env bash
# What a rate limit costs the claim (issue 10): no-op (builtin) jobs through the full supervisor,
# every job holding a pool, with no rate on the pool and with a rate it never reaches
# ("1000000/1h": each claim reads the pool's window, and writes a start and prunes the log).
# Rounds alternate between the two so that a busy machine hurts both alike; the table gives
# each round's jobs per second (first start to last finish) and the ratio of the medians.
# usage: bench/rates.sh [BUILD_DIR]   (env: JOBS (20000), ROUNDS (3), WORKERS (2), BENCH_DIR:
# where the databases live, tmpfs /dev/shm by default as in bench/run.sh; /var/tmp for a disk)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
jobq=$build/cli/jobq
JOBS=${JOBS:-20000}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-2}
source "$src/bench/lib.sh"
work=$(mktemp -d "${BENCH_DIR:-/dev/shm}/jobq-bench-rates.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
say "rates: $JOBS no-op jobs, $WORKERS workers, $ROUNDS rounds, $(fstype "$work") in $work"

config() { # RATES_JSON
	cat >jobq.json <<JSON
{"concurrency": {"global": $WORKERS, "resources": {"api": $WORKERS}}, "rates": $1,
 "types": {"noop": {"builtin": "noop", "resources": ["api"]}}}
JSON
}
run() { # RATES_JSON: jobs per second
	rm -f jobq.db jobq.db-*
	config "$1"
	seq "$JOBS" | sed 's/.*/{}/' | "$jobq" enqueue noop --jsonl - >/dev/null
	"$jobq" supervise --drain --workers "$WORKERS" 2>>sup.log
	[ "$(sqlite3 jobq.db "select count(*) from jobs where state = 'succeeded'")" = "$JOBS" ] ||
		{ say "not every job succeeded"; exit 1; }
	sqlite3 jobq.db "select printf('%.0f', count(*) * 1000.0 / (max(finished_at) - min(started_at))) from jobs"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

none=() rated=()
for _ in $(seq "$ROUNDS"); do
	none+=("$(run '{}')")
	rated+=("$(run '{"api": "1000000/1h"}')")
done
m0=$(printf '%s\n' "${none[@]}" | median)
m1=$(printf '%s\n' "${rated[@]}" | median)
printf '%-28s %s\n' "pool without a rate (jobs/s)" "${none[*]}"
printf '%-28s %s\n' "pool with a rate (jobs/s)" "${rated[*]}"
printf '%-28s %s\n' "ratio of the medians" "$(awk -v a="$m1" -v b="$m0" 'BEGIN { printf "%.2f", a / b }')"
