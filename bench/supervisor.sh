#!/usr/bin/env bash
# Benchmarks of the supervisor and workers (issue 3), printed as one table:
#  - no-op (builtin) jobs through the full supervisor with 1 and 2 workers;
#  - exec jobs of /bin/true with 2 workers vs a plain C posix_spawn loop with 2 processes;
#  - wake-up latency of an idle supervisor (enqueue returning -> claim visible);
#  - peak RSS (VmHWM) and anonymous RSS of the supervisor and a worker.
# usage: bench/supervisor.sh [BUILD_DIR]   (env: NOOP_JOBS, EXEC_JOBS, WAKE_SAMPLES, and BENCH_DIR:
# where the databases live, tmpfs /dev/shm by default as in bench/run.sh; /var/tmp for a disk)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
jobq=$build/cli/jobq
NOOP_JOBS=${NOOP_JOBS:-100000}
EXEC_JOBS=${EXEC_JOBS:-4000}
WAKE_SAMPLES=${WAKE_SAMPLES:-1000}
work=$(mktemp -d "${BENCH_DIR:-/dev/shm}/jobq-bench-sup.XXXXXX")
trap 'pkill -TERM -f "jobq: supervisor: .* $work" 2>/dev/null || true; rm -rf "$work"' EXIT
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }

flags="-O2 -D_GNU_SOURCE -I$src/queue -I$src/core -I$src/bench $(pkg-config --cflags sqlite3 libcjson libbsd)"
libs="$build/queue/libjobq-queue.a $build/core/libjobq-core.a $(pkg-config --libs sqlite3 libcjson libbsd) -lm"
# shellcheck disable=SC2086
cc $flags -o "$work/bench_spawnloop" "$src/bench/bench_spawnloop.c" "$src/bench/common.c" $libs
# shellcheck disable=SC2086
cc $flags -o "$work/bench_wake" "$src/bench/bench_wake.c" "$src/bench/common.c" "$src/queue/libjobq.c" $libs

cd "$work"
cat >jobq.json <<'JSON'
{"concurrency": {"global": 2}, "types": {"noop": {"builtin": "noop"}, "true": {"exec": ["/bin/true"]}}}
JSON
declare -A R

# rate DB: jobs per second from the first start to the last finish.
rate() {
	sqlite3 "$1" "select printf('%.0f', count(*) * 1000.0 / (max(finished_at) - min(started_at))) from jobs where state = 'succeeded'"
}
drain() { # TYPE N WORKERS
	rm -f jobq.db jobq.db-*
	seq "$2" | sed 's/.*/{}/' | "$jobq" enqueue "$1" --jsonl - >/dev/null
	"$jobq" supervise --drain --workers "$3" 2>>sup.log
	[ "$(sqlite3 jobq.db "select count(*) from jobs where state = 'succeeded'")" = "$2" ] ||
		{ echo "bench: not every $1 job succeeded" >&2; exit 1; }
	rate jobq.db
}
R[noop1]=$(drain noop "$NOOP_JOBS" 1)
R[noop2]=$(drain noop "$NOOP_JOBS" 2)
R[exec2]=$(drain true "$EXEC_JOBS" 2)
R[spawn2]=$("$work/bench_spawnloop" 2 $((EXEC_JOBS / 2)) | awk '{printf "%.0f", $2}')

# Wake-up latency and memory on an idle supervisor.
rm -f jobq.db jobq.db-*
"$jobq" enqueue noop >/dev/null
"$jobq" supervise --workers 2 2>>sup.log &
sup=$!
for _ in $(seq 100); do [ -e jobq.db.runtime.json ] && break; sleep 0.05; done
while read -r k v; do R[$k]=$v; done < <("$work/bench_wake" jobq.db "$WAKE_SAMPLES" 3)
# Memory after the wake-up run plus a burst of 20,000 no-op jobs.
seq 20000 | sed 's/.*/{}/' | "$jobq" enqueue noop --jsonl - >/dev/null
for _ in $(seq 200); do
	[ "$(sqlite3 jobq.db "select count(*) from jobs where state <> 'succeeded'")" = 0 ] && break
	sleep 0.1
done
kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
w=$(pgrep -P "$sup" | head -1)
R[sup_hwm]=$(kb "$sup" VmHWM) R[sup_anon]=$(kb "$sup" RssAnon)
R[w_hwm]=$(kb "$w" VmHWM) R[w_anon]=$(kb "$w" RssAnon)
kill -TERM "$sup"
wait "$sup" || true

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
check() { awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { ok = op == ">=" ? v >= t : v <= t; print ok ? "ok" : "MISSED" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
fmt="%-52s %12s %-24s %s\n"
printf "$fmt" "supervisor benchmark ($(nproc) cores, databases in ${BENCH_DIR:-/dev/shm})" "value" "target" ""
printf "$fmt" "noop jobs/s, full supervisor, 1 worker" "${R[noop1]}" "" ""
printf "$fmt" "noop jobs/s, full supervisor, 2 workers" "${R[noop2]}" ">= 25000" "$(check "${R[noop2]}" ">=" 25000)"
printf "$fmt" "exec /bin/true jobs/s, 2 workers" "${R[exec2]}" "" ""
printf "$fmt" "posix_spawn /bin/true loop/s, 2 processes" "${R[spawn2]}" "" ""
r=$(ratio "${R[exec2]}" "${R[spawn2]}")
printf "$fmt" "  exec jobs vs spawn loop" "$r" ">= 0.90" "$(check "$r" ">=" 0.90)"
ms3() { awk -v v="$1" 'BEGIN { printf "%.3f", v }'; }
printf "$fmt" "wake-up p50 ms (enqueue -> claimed)" "$(ms3 "${R[wake_p50_ms]}")" "< 0.3" "$(check "${R[wake_p50_ms]}" "<=" 0.3)"
printf "$fmt" "wake-up p99 ms" "$(ms3 "${R[wake_p99_ms]}")" "< 3" "$(check "${R[wake_p99_ms]}" "<=" 3)"
printf "$fmt" "wake-up max ms" "$(ms3 "${R[wake_max_ms]}")" "" ""
printf "$fmt" "supervisor peak RSS MiB (anon now)" "$(mib "${R[sup_hwm]}") ($(mib "${R[sup_anon]}"))" "< 4" "$(check "$(mib "${R[sup_hwm]}")" "<=" 4)"
printf "$fmt" "worker peak RSS MiB (anon now)" "$(mib "${R[w_hwm]}") ($(mib "${R[w_anon]}"))" "< 4" "$(check "$(mib "${R[w_hwm]}")" "<=" 4)"
