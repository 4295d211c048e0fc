#!/usr/bin/env bash
# Where an idle worker's part of submit-to-start goes, phase by phase: a supervisor with one
# worker, `stamp` exec jobs enqueued one at a time by bench_start (GAP_MS apart, each waited
# for), and system-wide tracepoints (perf record -a: no per-process inheritance to slow the
# child) give, per job, the medians of
#   wake → ctl write    epoll_wait() returns with the FIFO byte → the 'b' to the supervisor (the
#                       read of the byte and the claim transaction)
#   ctl write → pipe2   the handler's set-up: argv, environment, JOBQ_REPORT folder, output files
#   pipe2 → vfork       the pipes, the command's lookup, the signals to reset
#   vfork → child       the vfork until the child's first system call (setpgid)
#   child set-up        setpgid → rt_sigprocmask (pdeath signal, the signal dispositions)
#   → execve            the mask, dup2, close_range
#   execve → exec done  the kernel's exec of the command (sched_process_exec)
# Each KEY=JOBQ (a jobq binary) is measured ROUNDS times, the builds alternating.
#
# usage: bash bench/worker-phases.sh [BUILD] [KEY=JOBQ...]   (env: N 100 jobs a run, ROUNDS 2;
#   BENCH_DIR: the database's folder, tmpfs /dev/shm by default). Needs perf and root.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
shift || true
source "$ROOT/bench/lib.sh"
unset JOBQ_DB JOBQ_CONFIG
N=${N:-100}
ROUNDS=${ROUNDS:-2}
builds=("$@")
[ ${#builds[@]} -gt 0 ] || builds=("jobq=$BUILD/cli/jobq")
meson compile -C "$BUILD" >/dev/null

T=$(mktemp -d "${BENCH_DIR:-/dev/shm}/jobq-bench-phases.XXXXXX")
sup=
trap '[ -z "$sup" ] || { kill -TERM "$sup" 2>/dev/null; wait "$sup" 2>/dev/null; }; rm -rf "$T"' EXIT
CFLAGS="-O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter"
# shellcheck disable=SC2046,SC2086
cc $CFLAGS -I"$ROOT/queue" -I"$ROOT/core" "$ROOT/bench/bench_start.c" "$ROOT/bench/common.c" "$ROOT/queue/libjobq.c" \
	"$BUILD/queue/libjobq-queue.a" "$BUILD/core/libjobq-core.a" $(pkg-config --cflags --libs sqlite3 libcjson libbsd) -lm -o "$T/bench_start"
cc $CFLAGS "$ROOT/bench/bench_stamp.c" -o "$T/bench_stamp"
mkfifo -m 600 "$T/stamp.fifo"

# phases JOBQ: one run, one line of medians.
phases() {
	local dir=$T/run
	rm -rf "$dir" && mkdir -m 700 "$dir"
	printf '{"types": {"stamp": {"exec": ["%s", "%s"]}}}\n' "$T/bench_stamp" "$T/stamp.fifo" >"$dir/jobq.json"
	"$1" --db "$dir/jobq.db" init >/dev/null
	"$1" --db "$dir/jobq.db" supervise --workers 1 >/dev/null 2>>"$T/sup.log" &
	sup=$!
	for _ in $(seq 100); do [ -e "$dir/jobq.db.runtime.json" ] && break; sleep 0.05; done
	sleep 0.3
	local w pp
	w=$(pgrep -P "$sup")
	perf record -q -a -k CLOCK_MONOTONIC -o "$T/p.data" -e sched:sched_process_fork,sched:sched_process_exec \
		-e syscalls:sys_exit_epoll_wait,syscalls:sys_enter_write,syscalls:sys_enter_pipe2,syscalls:sys_enter_vfork \
		-e syscalls:sys_enter_setpgid,syscalls:sys_enter_rt_sigprocmask,syscalls:sys_enter_execve 2>/dev/null &
	pp=$!
	sleep 0.5
	"$T/bench_start" "$N" "$T/stamp.fifo" x "$dir/jobq.db" >/dev/null
	kill -INT "$pp"
	wait "$pp" || true
	kill -TERM "$sup"
	wait "$sup" 2>/dev/null || true
	sup=
	perf script -i "$T/p.data" -F tid,time,event,trace 2>/dev/null | awk -v W="$w" '
	function med(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return a[int((n + 1) / 2)]
	}
	/sched_process_fork/ { if ($0 ~ " pid=" W " child") { split($0, q, "child_pid="); ch = q[2] + 0 } next }
	$1 != W && $1 != ch { next }
	/sys_exit_epoll_wait/ && $NF != "0x0" { wake = $2; on = 1; bw = p2 = vf = sp = sm = ex = 0; next }
	!on { next }
	/sys_enter_write/ && $0 ~ /fd: 0x0*3,/ && !bw { bw = $2; next }
	/sys_enter_pipe2/ && !p2 { p2 = $2; next }
	/sys_enter_vfork/ { vf = $2; next }
	/sys_enter_setpgid/ && vf { sp = $2; next }
	/sys_enter_rt_sigprocmask/ && sp && !sm { sm = $2; next }
	/sys_enter_execve/ && sm { ex = $2; next }
	/sched_process_exec/ && bw && p2 && ex { k++; on = 0
		a[k] = bw - wake; b[k] = p2 - bw; c[k] = vf - p2; d[k] = sp - vf; e[k] = sm - sp; f[k] = ex - sm; g[k] = $2 - ex; h[k] = $2 - wake }
	END { printf "%d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", k,
		med(a, k) * 1e6, med(b, k) * 1e6, med(c, k) * 1e6, med(d, k) * 1e6, med(e, k) * 1e6, med(f, k) * 1e6, med(g, k) * 1e6, med(h, k) * 1e6 }'
}

echo "worker phases, medians in µs, $N jobs a run — $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| build | jobs | wake → ctl write | → pipe2 | pipe2 → vfork | vfork → child | child set-up | → execve | execve → exec done | wake → exec done |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for _ in $(seq "$ROUNDS"); do
	for kv in "${builds[@]}"; do
		printf '| %s | %s\n' "${kv%%=*}" "$(phases "${kv#*=}")"
	done
done
