#!/usr/bin/env bash
# jobq's command line against task-spooler (tsp) and nq, side by side in one interleaved run:
#  1. the wall time of one submit process: `jobq enqueue` (the database alone, and with a
#     supervisor running), `tsp CMD`, `nq CMD`, beside /bin/true and `jobq --version`
#     (bench_spawn, all interleaved);
#  2. submit-to-start: from the spawn of the submit command until the job's process has started
#     (bench_submit, interleaved);
#  3. jobq's part of it alone: from a jobq_enqueue() call in the benchmark's own process (commit,
#     wake-up byte) until the job's process has started (bench_start): the worker's wake-up,
#     claim and spawn, without the cost of a producer process.
# Each shuffles the order of the commands every round and, between two timed commands, waits
# for what the last one left running (nq's job), for jobq's jobs to end (--idle), and then
# GAP_MS, so that jobq's worker, tsp's server and nq are idle again and no command is timed
# while another's job runs.
#
# usage: bash bench/submit.sh [BUILD]   (env: RUNS 300, SUBMIT_RUNS 300, GAP_MS 20, BENCH_DIR:
#   the databases' folder, tmpfs /dev/shm by default; BENCH_DISK_DIR /var/tmp for the rows on
#   disk). Installs task-spooler and nq with apt-get when they are missing (root); a peer that
#   cannot be had is printed "not measured". tsp gets a private TS_SOCKET and TMPDIR, nq a
#   private NQDIR, in the temporary folder, removed at exit with the servers stopped.
#   JOBQ_BASE=PATH adds the rows of another jobq binary (an older build, to show what a change
#   bought), on tmpfs, with its own database and supervisor.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
source "$ROOT/bench/lib.sh"
unset JOBQ_DB JOBQ_CONFIG
RUNS=${RUNS:-300}
SUBMIT_RUNS=${SUBMIT_RUNS:-300}
JOBQ=$BUILD/cli/jobq
meson compile -C "$BUILD" >/dev/null

if ! command -v tsp >/dev/null || ! command -v nq >/dev/null; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		say "installing task-spooler and nq (Debian)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq task-spooler nq >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
			  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq task-spooler nq >/dev/null 2>&1; } || true
	fi
fi
TSP=$(command -v tsp || command -v ts || true)
NQ=$(command -v nq || true)

T=$(mktemp -d "${BENCH_DIR:-/dev/shm}/jobq-bench-submit.XXXXXX")
D=$(mktemp -d "${BENCH_DISK_DIR:-/var/tmp}/jobq-bench-submit.XXXXXX")
sup_pid=
stop_sups() { for p in $sup_pid; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done; sup_pid=; }
cleanup() {
	stop_sups
	[ -n "$TSP" ] && TS_SOCKET=$T/ts.sock "$TSP" -K >/dev/null 2>&1
	rm -rf "$T" "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CFLAGS="-O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter"
# shellcheck disable=SC2046,SC2086
{
	cc $CFLAGS -Iqueue -Icore -I"$ROOT/queue" -I"$ROOT/core" "$ROOT/bench/bench_spawn.c" "$ROOT/bench/common.c" \
		"$BUILD/queue/libjobq-queue.a" "$BUILD/core/libjobq-core.a" $(pkg-config --cflags --libs sqlite3 libcjson libbsd) -lm -o "$T/bench_spawn"
	cc $CFLAGS -I"$ROOT/queue" -I"$ROOT/core" "$ROOT/bench/bench_submit.c" "$ROOT/bench/common.c" \
		"$BUILD/queue/libjobq-queue.a" "$BUILD/core/libjobq-core.a" $(pkg-config --cflags --libs sqlite3 libcjson libbsd) -lm -o "$T/bench_submit"
	cc $CFLAGS -I"$ROOT/queue" -I"$ROOT/core" "$ROOT/bench/bench_start.c" "$ROOT/bench/common.c" "$ROOT/queue/libjobq.c" \
		"$BUILD/queue/libjobq-queue.a" "$BUILD/core/libjobq-core.a" $(pkg-config --cflags --libs sqlite3 libcjson libbsd) -lm -o "$T/bench_start"
	cc $CFLAGS "$ROOT/bench/bench_stamp.c" -o "$T/bench_stamp"
}
mkfifo -m 600 "$T/stamp.fifo"
mkdir -m 700 "$T/nq" "$T/tsout" "$T/alone" "$T/sup" "$D/alone" "$D/sup" "$T/base" "$T/basesup"
for dir in "$T/alone" "$T/sup" "$D/alone" "$D/sup" "$T/base" "$T/basesup"; do
	printf '{"concurrency": {"global": 2}, "types": {"noop": {"builtin": "noop"}, "stamp": {"exec": ["%s", "%s"]}}}\n' \
		"$T/bench_stamp" "$T/stamp.fifo" >"$dir/jobq.json"
	# The older build's databases are made by it: a newer schema would stop it.
	case "$dir" in
	"$T/base" | "$T/basesup") if [ -n "${JOBQ_BASE:-}" ]; then "$JOBQ_BASE" --db "$dir/jobq.db" init >/dev/null; fi ;;
	*) "$JOBQ" --db "$dir/jobq.db" init >/dev/null ;;
	esac
done
export TS_SOCKET=$T/ts.sock TMPDIR=$T/tsout TS_MAXFINISHED=10 NQDIR=$T/nq
RES=$T/results
: >"$RES"

# A supervisor with 2 idle workers on each database of the "sup" folders.
start_sup() {
	"${2:-$JOBQ}" --db "$1/jobq.db" supervise --workers 2 >/dev/null 2>>"$T/sup.log" &
	sup_pid="$sup_pid $!"
	for _ in $(seq 100); do [ -e "$1/jobq.db.runtime.json" ] && return 0; sleep 0.05; done
	say "the supervisor of $1 did not start"; exit 1
}
start_sup "$T/sup"
start_sup "$D/sup"
base_spawn=() base_sub=()
if [ -n "${JOBQ_BASE:-}" ]; then
	start_sup "$T/basesup" "$JOBQ_BASE"
	base_spawn=(--- base "$JOBQ_BASE" --db "$T/base/jobq.db" enqueue noop --- basever "$JOBQ_BASE" --version
		--- --idle "$T/basesup/jobq.db" basesup "$JOBQ_BASE" --db "$T/basesup/jobq.db" enqueue noop)
	base_sub=(--- --idle "$T/basesup/jobq.db" base "$JOBQ_BASE" --db "$T/basesup/jobq.db" enqueue stamp)
fi

peers=()
if [ -n "$TSP" ]; then
	"$TSP" -S 1 >/dev/null 2>&1 || true # starts the server; one job at a time
	peers+=(--- tsp "$TSP" /bin/true)
else
	say "task-spooler not available: its rows are not measured"
fi
if [ -n "$NQ" ]; then
	peers+=(--- --clean "$T/nq" nq "$NQ" /bin/true)
else
	say "nq not available: its rows are not measured"
fi

say "1. one submit process ($RUNS runs each, interleaved)"
"$T/bench_spawn" "$RUNS" \
	true /bin/true --- \
	jobqver "$JOBQ" --version --- \
	jobq "$JOBQ" --db "$T/alone/jobq.db" enqueue noop --- \
	jobqdisk "$JOBQ" --db "$D/alone/jobq.db" enqueue noop --- \
	--idle "$T/sup/jobq.db" jobqsup "$JOBQ" --db "$T/sup/jobq.db" enqueue noop --- \
	--idle "$D/sup/jobq.db" jobqsupdisk "$JOBQ" --db "$D/sup/jobq.db" enqueue noop \
	"${peers[@]}" "${base_spawn[@]}" | sed 's/^/sp_/' >>"$RES"

say "2. submit-to-start ($SUBMIT_RUNS runs each, interleaved)"
sub_peers=()
[ -n "$TSP" ] && sub_peers+=(--- tsp "$TSP" "$T/bench_stamp" "$T/stamp.fifo")
[ -n "$NQ" ] && sub_peers+=(--- --clean "$T/nq" nq "$NQ" "$T/bench_stamp" "$T/stamp.fifo")
"$T/bench_submit" "$SUBMIT_RUNS" "$T/stamp.fifo" \
	--idle "$T/sup/jobq.db" jobq "$JOBQ" --db "$T/sup/jobq.db" enqueue stamp --- \
	--idle "$D/sup/jobq.db" jobqdisk "$JOBQ" --db "$D/sup/jobq.db" enqueue stamp \
	"${sub_peers[@]}" "${base_sub[@]}" | sed 's/^/sub_/' >>"$RES"

say "3. jobq's worker alone: enqueue call → job started ($SUBMIT_RUNS runs each, interleaved)"
"$T/bench_start" "$SUBMIT_RUNS" "$T/stamp.fifo" jobq "$T/sup/jobq.db" jobqdisk "$D/sup/jobq.db" |
	sed 's/^/start_/' >>"$RES"
stop_sups

# ---- the table ------------------------------------------------------------------------------
v() { awk -v k="$1" '$1 == k {print $2; f = 1} END {if (!f) print ""}' "$RES"; }
ms() { [ -n "$1" ] && awk -v x="$1" -v d="$2" 'BEGIN { printf "%.2f", x / d }' || printf 'not measured'; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }' || true; }
tsp_v=$(dpkg-query -W -f '${Version}' task-spooler 2>/dev/null || echo '?')
nq_v=$(dpkg-query -W -f '${Version}' nq 2>/dev/null || echo '?')
{
	echo "jobq against task-spooler $tsp_v and nq $nq_v — $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); tmpfs = $(fstype "$T"), disk = $(fstype "$D") (${BENCH_DISK_DIR:-/var/tmp})"
	echo
	echo "| one submit process ($RUNS runs, interleaved) | mean ms | median ms | mean / \`/bin/true\` |"
	echo "|---|---:|---:|---:|"
	t=$(v sp_true_mean)
	for k in true:/bin/true jobqver:"jobq --version" jobq:"jobq enqueue, tmpfs, no supervisor" \
		jobqdisk:"jobq enqueue, disk, no supervisor" jobqsup:"jobq enqueue, tmpfs, supervisor running" \
		jobqsupdisk:"jobq enqueue, disk, supervisor running" tsp:"tsp /bin/true" nq:"nq /bin/true" \
		base:"JOBQ_BASE enqueue, tmpfs, no supervisor" basesup:"JOBQ_BASE enqueue, tmpfs, supervisor running" \
		basever:"JOBQ_BASE --version"; do
		[ -n "$(v "sp_${k%%:*}_mean")" ] || case ${k%%:*} in base*) continue ;; esac
		key=${k%%:*} name=${k#*:}
		m=$(v "sp_${key}_mean") p=$(v "sp_${key}_p50")
		echo "| $name | $(ms "$m" 1000) | $(ms "$p" 1000) | $(ratio "$m" "$t") |"
	done
	echo
	echo "| submit-to-start ($SUBMIT_RUNS runs, interleaved) | median ms | mean ms | p90 ms | submit process median ms |"
	echo "|---|---:|---:|---:|---:|"
	for k in jobq:"jobq enqueue → exec job started (tmpfs)" jobqdisk:"jobq enqueue → exec job started (disk)" \
		tsp:"tsp CMD → CMD started" nq:"nq CMD → CMD started" base:"JOBQ_BASE enqueue → exec job started (tmpfs)"; do
		key=${k%%:*} name=${k#*:}
		[ "$key" != base ] || [ -n "$(v sub_base_start_p50_ms)" ] || continue
		echo "| $name | $(ms "$(v "sub_${key}_start_p50_ms")" 1) | $(ms "$(v "sub_${key}_start_mean_ms")" 1) | $(ms "$(v "sub_${key}_start_p90_ms")" 1) | $(ms "$(v "sub_${key}_proc_p50_ms")" 1) |"
	done
	echo
	echo "| jobq's worker alone: \`jobq_enqueue()\` called → exec job started ($SUBMIT_RUNS runs, interleaved) | median ms | mean ms | p90 ms | from the call's return, median ms |"
	echo "|---|---:|---:|---:|---:|"
	for k in jobq:tmpfs jobqdisk:disk; do
		key=${k%%:*}
		echo "| ${k#*:} | $(ms "$(v "start_${key}_start_p50_ms")" 1) | $(ms "$(v "start_${key}_start_mean_ms")" 1) | $(ms "$(v "start_${key}_start_p90_ms")" 1) | $(ms "$(v "start_${key}_ret_p50_ms")" 1) |"
	done
	# How long jobq's background work took: each job of a supervised database, from its insert
	# to its end (waited for outside the clock before the next timed command).
	if command -v sqlite3 >/dev/null; then
		echo
		for db in "$T/sup/jobq.db:tmpfs" "$D/sup/jobq.db:disk"; do
			sqlite3 "${db%:*}" "select finished_at - created_at from jobs where finished_at is not null" |
				sort -n | awk -v where="${db##*:}" '{ v[NR] = $1 }
				END { if (NR) printf "jobq with a supervisor (%s): insert to job finished, %d jobs: median %d ms, p99 %d ms, max %d ms\n",
					where, NR, v[int((NR + 1) / 2)], v[int(NR * 0.99 + 0.5)], v[NR] }'
		done
	fi
} >"$T/table.md"
cat "$T/table.md"
mkdir -p "$ROOT/bench/out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
cp "$T/table.md" "$ROOT/bench/out/submit-$stamp.md"
cp "$RES" "$ROOT/bench/out/submit-results-$stamp.txt"
say "table and raw figures kept in bench/out/submit-*$stamp*"
