#!/usr/bin/env bash
# What durability costs: jobq's two levels, "full" (the default: synchronous=FULL, each commit
# syncs the WAL) and "fast" (synchronous=NORMAL), side by side in one run on a disk folder:
#  - one-by-one enqueue: store_enqueue() (what `jobq enqueue` and jobq_enqueue() do inside) and a
#    raw SQLite autocommit INSERT at the same level (bench_enqueue durability);
#  - claim+complete cycles: store_claim + store_finish (2 tx) and store_finish_and_claim (1 tx,
#    a supervised worker's path) (bench_claim durability);
#  - one `jobq enqueue` process (bench_spawn, interleaved);
#  - no-op jobs through `jobq supervise --drain --workers 1`;
#  - and, for scale, what one sync costs there (dd oflag=dsync of 4 KiB blocks).
# Each measurement alternates the two levels and reports the median of REPS.
#
# usage: bash bench/durability.sh [BUILD]
# env: BENCH_DISK_DIR (/var/tmp; must not be tmpfs to mean anything), ONE_N (1000), CYCLES (1000),
#      REPS (3), SPAWN_RUNS (100), NOOP_JOBS (2000)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
cd "$ROOT"
unset JOBQ_DB JOBQ_CONFIG DURABILITY

export ONE_N=${ONE_N:-1000} CYCLES=${CYCLES:-1000} REPS=${REPS:-3}
SPAWN_RUNS=${SPAWN_RUNS:-100}
NOOP_JOBS=${NOOP_JOBS:-2000}

source "$ROOT/bench/lib.sh"
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }

say "building jobq ($BUILD)"
if ! out=$(meson compile -C "$BUILD" 2>&1); then
	printf '%s\n' "$out" | tail -30 >&2
	exit 1
fi
JOBQ=$BUILD/cli/jobq
DISK=$(mktemp -d "${BENCH_DISK_DIR:-/var/tmp}/jobq-bench-dur.XXXXXX")
trap 'rm -rf "$DISK"' EXIT
trap 'exit 130' INT TERM
fs=$(fstype "$DISK")
[ "$fs" != tmpfs ] || say "warning: $DISK is on tmpfs, where a sync costs nothing"
BIN=$DISK/bin
RES=$DISK/results
mkdir -p "$BIN" "$DISK/db" "$DISK/full" "$DISK/fast"
: >"$RES"

say "compiling bench/*.c"
CFLAGS="-O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter"
STATIC="$BUILD/queue/libjobq-queue.a $BUILD/core/libjobq-core.a"
# shellcheck disable=SC2207
DEPS=($(pkg-config --cflags --libs sqlite3 libcjson libbsd) -lm)
# shellcheck disable=SC2086
{
	cc $CFLAGS -Iqueue -Icore bench/bench_enqueue.c bench/common.c $STATIC \
		-L"$BUILD/queue" -ljobq -Wl,-rpath,"$BUILD/queue" "${DEPS[@]}" -o "$BIN/bench_enqueue"
	cc $CFLAGS -Iqueue -Icore bench/bench_claim.c bench/common.c $STATIC "${DEPS[@]}" -o "$BIN/bench_claim"
	cc $CFLAGS -Iqueue -Icore bench/bench_spawn.c bench/common.c $STATIC "${DEPS[@]}" -o "$BIN/bench_spawn"
}

start=$(date +%s)
say "one sync: dd oflag=dsync, 200 blocks of 4 KiB ($fs: $DISK)"
dd_s=$(dd if=/dev/zero of="$DISK/dd" bs=4k count=200 oflag=dsync 2>&1 | awk '/copied/ {print $(NF-3)}')
rm -f "$DISK/dd"
awk -v s="$dd_s" 'BEGIN { printf "sync_ms %.3f\n", s * 1000 / 200 }' >>"$RES"

say "one-by-one enqueue, $ONE_N jobs, full and fast"
"$BIN/bench_enqueue" durability "$DISK/db" >>"$RES"
say "claim+complete cycles, $CYCLES, full and fast"
"$BIN/bench_claim" durability "$DISK/db" >>"$RES"

# The jobq processes find jobq.json next to their database: the default level, or fast.
printf '{"types": {"noop": {"builtin": "noop"}}}\n' >"$DISK/full/jobq.json"
printf '{"durability": "fast", "types": {"noop": {"builtin": "noop"}}}\n' >"$DISK/fast/jobq.json"

say "one \`jobq enqueue\` process, $SPAWN_RUNS runs each, interleaved"
"$JOBQ" --db "$DISK/full/spawn.db" enqueue noop '{}' >/dev/null
"$JOBQ" --db "$DISK/fast/spawn.db" enqueue noop '{}' >/dev/null
"$BIN/bench_spawn" "$SPAWN_RUNS" \
	dur_sp_full "$JOBQ" --db "$DISK/full/spawn.db" enqueue noop '{}' --- \
	dur_sp_fast "$JOBQ" --db "$DISK/fast/spawn.db" enqueue noop '{}' >>"$RES"

say "no-op jobs through the supervisor, $NOOP_JOBS jobs, 1 worker, full and fast"
drain() { # LEVEL: prints jobs/s from the first start to the last finish
	local db=$DISK/$1/drain.db
	rm -f "$db" "$db"-*
	seq "$NOOP_JOBS" | sed 's/.*/{}/' | "$JOBQ" --db "$db" enqueue noop --jsonl - >/dev/null
	"$JOBQ" --db "$db" supervise --drain --workers 1 >/dev/null 2>>"$DISK/sup.log"
	sqlite3 "$db" "select printf('%.1f', count(*) * 1000.0 / (max(finished_at) - min(started_at))) from jobs where state = 'succeeded'"
}
declare -a sup_full sup_fast
for ((r = 0; r < REPS; r++)); do
	if ((r % 2 == 0)); then
		sup_full+=("$(drain full)")
		sup_fast+=("$(drain fast)")
	else
		sup_fast+=("$(drain fast)")
		sup_full+=("$(drain full)")
	fi
	say "  supervisor rep $((r + 1))/$REPS: full ${sup_full[r]} fast ${sup_fast[r]} jobs/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "dur_sup_full $(median "${sup_full[@]}")" >>"$RES"
echo "dur_sup_fast $(median "${sup_fast[@]}")" >>"$RES"
elapsed=$(($(date +%s) - start))

table=$DISK/table.md
{
	echo "jobq durability, full vs fast — $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- . ':!bench' ':!docs' 2>/dev/null || echo ' (+ uncommitted changes)')"
	echo
	echo "machine: $(nproc) cores, $(free -h | awk '/^Mem:/ {print $2}') RAM, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), Linux $(uname -r); SQLite $(awk '$1 == "sqlite_version" {print $2; exit}' "$RES")"
	echo "database folder: $DISK ($fs); one sync (dd oflag=dsync, 4 KiB): $(awk '$1 == "sync_ms" {print $2}' "$RES") ms; reps $REPS (median); run took ${elapsed}s"
	echo
	awk -v res="$RES" -v one="$ONE_N" -v cyc="$CYCLES" -v sp="$SPAWN_RUNS" -v noop="$NOOP_JOBS" '
	BEGIN {
		while ((getline line < res) > 0) { split(line, kv, " "); v[kv[1]] = kv[2] }
		print "| measure | full (default) | fast | time per item, full ÷ fast |"
		print "|---|---:|---:|---:|"
		row("one-by-one enqueue, `store_enqueue` (1 tx each), " one " jobs", "dur_enq_store", "jobs/s")
		row("one-by-one enqueue, raw SQLite autocommit INSERT, same level", "dur_enq_raw", "jobs/s")
		row("claim+complete, `store_claim` + `store_finish` (2 tx), " cyc " cycles", "dur_cyc_2tx", "cycles/s")
		row("claim+complete, `store_finish_and_claim` (1 tx), " cyc " cycles", "dur_cyc_1tx", "cycles/s")
		row("one `jobq enqueue` process (mean wall, " sp " runs)", "dur_sp", "us")
		row("no-op jobs, `jobq supervise --drain --workers 1`, " noop " jobs", "dur_sup", "jobs/s")
	}
	function commas(x,   s, out) {
		s = sprintf("%d", x + 0.5); out = ""
		while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
		return s out
	}
	function row(name, key, unit,   a, b, ka, kb, u, r) {
		ka = key "_full"; kb = key "_fast"
		if (unit == "us") { ka = ka "_mean"; kb = kb "_mean" }
		if (!(ka in v) || !(kb in v)) { printf "| %s | n/a | n/a | |\n", name; return }
		a = v[ka] + 0; b = v[kb] + 0
		u = unit == "us" ? "µs" : unit
		# time per item at full over time per item at fast
		r = unit == "us" ? (b > 0 ? a / b : 0) : (a > 0 ? b / a : 0)
		printf "| %s | %s %s | %s %s | %.1f× |\n", name, commas(a), u, commas(b), u, r
	}'
} >"$table"
cat "$table"
mkdir -p bench/out
stamp=$(date -u +%Y%m%dT%H%M%SZ)
cp "$table" "bench/out/durability-table-$stamp.md"
cp "$RES" "bench/out/durability-results-$stamp.txt"
say "table and raw figures kept in bench/out/durability-*-$stamp.*"
