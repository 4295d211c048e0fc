#!/usr/bin/env bash
# `jobq supervise --drain` of N no-op jobs on a disk-backed database, timed from the command's
# start to its exit, against the raw two-transaction claim+complete loop of SQLite
# (bench_claim rawloop: open, N x (claim tx, complete tx), close) over a byte copy of the same
# database, in one run, interleaved (the order rotates each round), for each durability level.
# Also shows where jobq's time goes: start (command start to the first job's start), the middle
# (first start to last finish) and the end (last finish to exit).
#
# usage: bash bench/drain.sh [BUILD]   (env: N 20000, REPS 3, LEVELS "fast full",
#   BENCH_DISK_DIR /var/tmp; full syncs each commit, so a round takes N x 2 syncs for the raw
#   loop: REPS_FULL 1 by default; JOBQ_BASE=PATH adds another jobq binary's drains with 1 and 2
#   workers, an older build, in the same rounds)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
source "$ROOT/bench/lib.sh"
unset JOBQ_DB JOBQ_CONFIG
N=${N:-20000}
REPS=${REPS:-3}
REPS_FULL=${REPS_FULL:-1}
LEVELS=${LEVELS:-fast full}
JOBQ=$BUILD/cli/jobq
meson compile -C "$BUILD" >/dev/null
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
D=$(mktemp -d "${BENCH_DISK_DIR:-/var/tmp}/jobq-bench-drain.XXXXXX")
trap 'rm -rf "$D"' EXIT
trap 'exit 130' INT TERM
# shellcheck disable=SC2046
cc -O2 -std=c17 -D_GNU_SOURCE -I"$ROOT/queue" -I"$ROOT/core" "$ROOT/bench/bench_claim.c" "$ROOT/bench/common.c" \
	"$BUILD/queue/libjobq-queue.a" "$BUILD/core/libjobq-core.a" $(pkg-config --cflags --libs sqlite3 libcjson libbsd) -lm \
	-o "$D/bench_claim"
ns() { date +%s%N; }
RES=$D/results
: >"$RES"
for level in $LEVELS; do
	mkdir -p "$D/$level"
	cd "$D/$level"
	printf '{"durability": "%s", "concurrency": {"global": 2}, "types": {"noop": {"builtin": "noop"}}}\n' "$level" >jobq.json
	seq "$N" | sed 's/.*/{}/' | "$JOBQ" --db tmpl.db enqueue noop --jsonl - >/dev/null
	reps=$REPS
	[ "$level" = full ] && reps=$REPS_FULL
	for r in $(seq "$reps"); do
		order=(raw w1 w2)
		[ -n "${JOBQ_BASE:-}" ] && order+=(b1 b2)
		for _ in $(seq $(((r - 1) % ${#order[@]}))); do order=("${order[@]:1}" "${order[0]}"); done
		for what in "${order[@]}"; do
			rm -f run.db run.db-wal run.db-shm
			cp tmpl.db run.db
			[ -e tmpl.db-wal ] && cp tmpl.db-wal run.db-wal
			sync
			say "$level round $r/$reps: $what"
			if [ "$what" = raw ]; then
				t=$(DURABILITY=$level "$D/bench_claim" rawloop run.db "$N" | awk '$1 == "rawloop_s" {print $2}')
				echo "${level}_raw $t" >>"$RES"
				continue
			fi
			bin=$JOBQ
			[ "${what#b}" != "$what" ] && bin=$JOBQ_BASE
			s=$(ns)
			"$bin" --db run.db supervise --drain --workers "${what#?}" 2>>sup.log
			e=$(ns)
			[ "$(sqlite3 run.db "select count(*) from jobs where state = 'succeeded'")" = "$N" ] ||
				{ say "not every job succeeded"; exit 1; }
			read -r first last < <(sqlite3 -separator ' ' run.db "select min(started_at), max(finished_at) from jobs")
			awk -v k="${level}_$what" -v s="$s" -v e="$e" -v f="$first" -v l="$last" 'BEGIN {
				printf "%s %.4f %.4f %.4f %.4f\n", k, (e - s) / 1e9, f / 1e3 - s / 1e9, (l - f) / 1e3, e / 1e9 - l / 1e3 }' >>"$RES"
		done
	done
done
cd "$ROOT"
# Medians of the rounds.
med() { awk -v k="$1" -v c="$2" '$1 == k {print $c}' "$RES" | sort -g | awk '{v[++n] = $1} END { if (n) print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }'; }
{
	echo "supervise --drain of $N no-op jobs on $(fstype "$D") (${BENCH_DISK_DIR:-/var/tmp}), command start to exit, against the raw 2-transaction loop — $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "| durability | what | seconds (median) | jobs/s | rate / raw loop | start s | middle s | end s |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|"
	for level in $LEVELS; do
		raw=$(med "${level}_raw" 2)
		awk -v l="$level" -v t="$raw" -v n="$N" 'BEGIN { printf "| %s | raw SQLite loop (open, %d x 2 tx, close) | %.2f | %.0f | 1.00 | | | |\n", l, n, t, n / t }'
		for w in w1 w2 b1 b2; do
			t=$(med "${level}_$w" 2)
			[ -n "$t" ] || continue
			name="jobq supervise --drain --workers ${w#?}"
			[ "${w#b}" != "$w" ] && name="JOBQ_BASE supervise --drain --workers ${w#?}"
			awk -v l="$level" -v name="$name" -v t="$t" -v r="$raw" -v n="$N" -v a="$(med "${level}_$w" 3)" -v b="$(med "${level}_$w" 4)" -v c="$(med "${level}_$w" 5)" \
				'BEGIN { printf "| %s | %s | %.2f | %.0f | %.2f | %.3f | %.2f | %.3f |\n", l, name, t, n / t, r / t, a, b, c }'
		done
	done
} >"$D/table.md"
cat "$D/table.md"
mkdir -p "$ROOT/bench/out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
cp "$D/table.md" "$ROOT/bench/out/drain-$stamp.md"
cp "$RES" "$ROOT/bench/out/drain-results-$stamp.txt"
