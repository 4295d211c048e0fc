#!/usr/bin/env bash
# jobq benchmarks against raw SQLite and a peer (plainjob), in one run on this machine.
#
# usage: bash bench/run.sh [BUILD]        (`make bench` runs it with BUILD=build)
#
# Builds the benchmark programs from bench/*.c against BUILD's static libraries (and libjobq.so
# for the public API), installs the Node.js peer into bench/node_modules when missing, runs every
# measurement in temporary folders that it removes, prints one table (figures, ratios, targets)
# and keeps a copy of it and of the raw figures in bench/out/.
#
# Databases live on tmpfs (/dev/shm) by default, so the figures measure CPU work, not this
# machine's fsync latency; the measurements that fsync can change (one-by-one enqueue, claim
# cycles, the enqueue process) are repeated on a disk folder (BENCH_DISK_DIR, default /var/tmp).
#
# Sizes can be lowered for a quick try: BULK_N ONE_N DISK_ONE_N CYCLES DISK_CYCLES REPS SMALL_N
# BIG_N SAMPLES SPAWN_RUNS. BENCH_NO_PEERS=1 skips plainjob. DURABILITY=full (jobq's default) or
# fast sets the level of jobq and of the raw SQLite baselines alike; with full every commit syncs,
# so the disk runs are shorter (DISK_ONE_N 1000, DISK_CYCLES 500 instead of ONE_N and 5000).
# bench/durability.sh puts the two levels side by side.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
cd "$ROOT"
unset JOBQ_DB JOBQ_CONFIG

export BULK_N=${BULK_N:-200000} ONE_N=${ONE_N:-20000} REPS=${REPS:-3}
export SMALL_N=${SMALL_N:-1000} BIG_N=${BIG_N:-1000000} SAMPLES=${SAMPLES:-5000}
CYCLES=${CYCLES:-20000}
export DURABILITY=${DURABILITY:-full}
case $DURABILITY in
full) DISK_ONE_N=${DISK_ONE_N:-1000} DISK_CYCLES=${DISK_CYCLES:-500} ;;
fast) DISK_ONE_N=${DISK_ONE_N:-$ONE_N} DISK_CYCLES=${DISK_CYCLES:-5000} ;;
*) printf 'bench: DURABILITY must be full or fast, not %s\n' "$DURABILITY" >&2; exit 64 ;;
esac
SPAWN_RUNS=${SPAWN_RUNS:-300}

source "$ROOT/bench/lib.sh"

start=$(date +%s)

# ---- 1. jobq itself -------------------------------------------------------------------------
if [ ! -f "$BUILD/build.ninja" ]; then
	say "setting up $BUILD"
	scripts/deps.sh build
	meson setup "$BUILD" >/dev/null
fi
say "building jobq ($BUILD)"
if ! out=$(meson compile -C "$BUILD" 2>&1); then
	printf '%s\n' "$out" | tail -30 >&2
	say "the build failed"
	exit 1
fi
JOBQ=$BUILD/cli/jobq
for f in "$BUILD/queue/libjobq-queue.a" "$BUILD/core/libjobq-core.a" "$BUILD/queue/libjobq.so" "$JOBQ"; do
	[ -e "$f" ] || { say "missing $f after the build"; exit 1; }
done

# ---- 2. temporary folders -------------------------------------------------------------------
fast_root=/dev/shm
if [ ! -d "$fast_root" ] || [ ! -w "$fast_root" ] || [ "$(fstype "$fast_root")" != tmpfs ]; then
	fast_root=${TMPDIR:-/tmp}
fi
disk_root=${BENCH_DISK_DIR:-/var/tmp}
FAST=$(mktemp -d "$fast_root/jobq-bench.XXXXXX")
DISK=$(mktemp -d "$disk_root/jobq-bench.XXXXXX")
cleanup() { rm -rf "$FAST" "$DISK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
BIN=$FAST/bin
RES=$FAST/results
mkdir -p "$BIN" "$FAST/db" "$DISK/db"
: >"$RES"

# ---- 3. the benchmark programs --------------------------------------------------------------
say "compiling bench/*.c"
CFLAGS="-O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter"
INC="-Iqueue -Icore"
STATIC="$BUILD/queue/libjobq-queue.a $BUILD/core/libjobq-core.a"
# shellcheck disable=SC2207
DEPS=($(pkg-config --cflags --libs sqlite3 libcjson libbsd) -lm)
# shellcheck disable=SC2086,SC2046
{
	cc $CFLAGS $INC bench/bench_enqueue.c bench/common.c $STATIC \
		-L"$BUILD/queue" -ljobq -Wl,-rpath,"$BUILD/queue" "${DEPS[@]}" -o "$BIN/bench_enqueue"
	cc $CFLAGS $INC bench/bench_claim.c bench/common.c $STATIC "${DEPS[@]}" -o "$BIN/bench_claim"
	cc $CFLAGS $INC bench/bench_spawn.c bench/common.c $STATIC "${DEPS[@]}" -o "$BIN/bench_spawn"
	cc $CFLAGS bench/bench_rawenq.c $(pkg-config --cflags --libs sqlite3) -o "$BIN/bench_rawenq"
}

# ---- 4. the peer: plainjob on better-sqlite3, built from source -----------------------------
peers=0
peer_ok() {
	(cd bench && node -e 'require("better-sqlite3"); import("plainjob").then(() => process.exit(0), () => process.exit(1))') \
		>/dev/null 2>&1
}
if [ "${BENCH_NO_PEERS:-0}" = 1 ]; then
	say "skipping plainjob (BENCH_NO_PEERS=1)"
else
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
			say "installing nodejs and npm (Debian)"
			DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				nodejs npm libnode-dev g++ make python3 >/dev/null 2>&1 || true
		fi
	fi
	if command -v node >/dev/null && command -v npm >/dev/null; then
		if ! peer_ok; then
			say "installing plainjob + better-sqlite3 into bench/node_modules (native build, ~1-2 min)"
			nodedir=/usr
			[ -f /usr/include/node/node.h ] || nodedir=
			if (cd bench && env JOBS=2 npm_config_build_from_source=true \
				${nodedir:+npm_config_nodedir=$nodedir} \
				npm install --no-package-lock --no-audit --no-fund --loglevel=error \
				>"$FAST/npm.log" 2>&1) && peer_ok; then
				:
			else
				tail -20 "$FAST/npm.log" >&2 || true
				say "plainjob could not be installed: its rows are left out"
			fi
		fi
		peer_ok && peers=1
	else
		say "node/npm not available: plainjob rows are left out"
	fi
fi

# ---- 5. measurements ------------------------------------------------------------------------
say "1-2. enqueue: bulk and one by one ($(fstype "$FAST"): $FAST)"
"$BIN/bench_enqueue" all "$FAST/db" >>"$RES"
say "2. enqueue one by one (disk: $DISK, $(fstype "$DISK"))"
ONE_N=$DISK_ONE_N "$BIN/bench_enqueue" one "$DISK/db" | sed 's/^/disk_/' >>"$RES"
say "4. claim+complete cycles ($(fstype "$FAST"))"
CYCLES=$CYCLES "$BIN/bench_claim" cycles "$FAST/db" >>"$RES"
say "4. claim+complete cycles (disk)"
CYCLES=$DISK_CYCLES "$BIN/bench_claim" cycles "$DISK/db" | sed 's/^/disk_/' >>"$RES"
say "5. claim latency against queue depth and blocked jobs"
"$BIN/bench_claim" latency "$FAST/db" >>"$RES"
say "3. one enqueue process vs /bin/true ($SPAWN_RUNS runs each, interleaved)"
mkdir -p "$FAST/spawn" "$DISK/spawn"
if [ "$DURABILITY" = fast ]; then # the jobq process finds it next to the database
	printf '{"durability": "fast"}\n' >"$FAST/spawn/jobq.json"
	printf '{"durability": "fast"}\n' >"$DISK/spawn/jobq.json"
fi
"$JOBQ" --db "$FAST/spawn/spawn.db" enqueue bench '{}' >/dev/null
"$JOBQ" --db "$DISK/spawn/spawn.db" enqueue bench '{}' >/dev/null
"$BIN/bench_spawn" "$SPAWN_RUNS" \
	sp_true /bin/true --- \
	sp_jobq "$JOBQ" --db "$FAST/spawn/spawn.db" enqueue bench '{}' --- \
	sp_jobqdisk "$JOBQ" --db "$DISK/spawn/spawn.db" enqueue bench '{}' --- \
	sp_jobqver "$JOBQ" --version --- \
	sp_rawenq "$BIN/bench_rawenq" "$FAST/spawn/spawn.db" bench --- \
	sp_rawenqdisk "$BIN/bench_rawenq" "$DISK/spawn/spawn.db" bench >>"$RES"
if [ "$peers" = 1 ]; then
	say "peer: plainjob ($(fstype "$FAST"))"
	CYCLES=$CYCLES node bench/plainjob.mjs "$FAST/db" >>"$RES"
fi
elapsed=$(($(date +%s) - start))

# ---- 6. the table ---------------------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(free -h | awk '/^Mem:/ {print $2}')
sqlite_v=$(awk '$1 == "sqlite_version" {print $2}' "$RES")
pj_v=$(awk '$1 == "pj_sqlite_version" {print $2}' "$RES")
table=$FAST/table.md

# Rows: section | measure | jobq key | baseline key | baseline name | unit | target on | op | value
# "target on": ratio (jobq / baseline), value (the jobq figure), or - (information only).
rows=$(cat <<'EOF'
1|bulk enqueue {bulk} jobs, libjobq `jobq_enqueue_many` (1 tx)|enq_bulk_lib|enq_bulk_raw|raw SQLite, same rows, 1-row prepared INSERT, 1 tx|jobs/s|ratio|>=|0.75
1|bulk enqueue {bulk} jobs, libjobq, absolute|enq_bulk_lib|||jobs/s|value|>=|400000
1|bulk enqueue {bulk} jobs, `store_bulk_begin/add/commit`|enq_bulk_store|enq_bulk_raw|raw SQLite, same rows, 1-row prepared INSERT, 1 tx|jobs/s|-||
1|bulk enqueue {bulk} jobs, libjobq|enq_bulk_lib|enq_bulk_raw32|raw SQLite, 32-row prepared INSERT (jobq's own shape), 1 tx|jobs/s|-||
1|bulk enqueue {bulk} jobs, libjobq|enq_bulk_lib|pj_bulk|plainjob `addMany` (1 tx)|jobs/s|-||
2|one by one ({one} jobs), `jobq_enqueue` (1 tx each), {fast}|enq_one_lib|enq_one_raw|raw SQLite, autocommit INSERT, {fast}|jobs/s|value|>=|25000
2|one by one ({done} jobs), `jobq_enqueue` (1 tx each), disk|disk_enq_one_lib|disk_enq_one_raw|raw SQLite, autocommit INSERT, disk|jobs/s|value|>=|25000
2|one by one ({one} jobs), `store_enqueue` (no wake-up), {fast}|enq_one_store|enq_one_raw|raw SQLite, autocommit INSERT, {fast}|jobs/s|-||
2|one by one ({one} jobs), `jobq_enqueue`, {fast}|enq_one_lib|pj_one|plainjob `add`, {fast}|jobs/s|-||
3|`jobq enqueue bench '{}'` process, db on {fast} (mean wall)|sp_jobq_mean|sp_true_mean|`/bin/true` process|us|ratio|<=|1.5
3|`jobq enqueue bench '{}'` process, db on disk (mean wall)|sp_jobqdisk_mean|sp_true_mean|`/bin/true` process|us|ratio|<=|1.5
3|`jobq --version` process (loader and start, no db)|sp_jobqver_mean|sp_true_mean|`/bin/true` process|us|-||
3|raw SQLite one-insert process (bench_rawenq), db on {fast}|sp_rawenq_mean|sp_true_mean|`/bin/true` process|us|-||
3|raw SQLite one-insert process (bench_rawenq), db on disk|sp_rawenqdisk_mean|sp_true_mean|`/bin/true` process|us|-||
4|claim+complete ({cycles} cycles), `store_claim` + `store_finish` (2 tx), {fast}|cyc_lib_2tx|cyc_raw_2tx|raw SQLite, same 2 tx, {fast}|cycles/s|ratio|>=|0.70
4|claim+complete ({dcycles} cycles), `store_claim` + `store_finish` (2 tx), disk|disk_cyc_lib_2tx|disk_cyc_raw_2tx|raw SQLite, same 2 tx, disk|cycles/s|ratio|>=|0.70
4|claim+complete, `store_finish_and_claim` (1 tx), {fast}|cyc_lib_1tx|cyc_raw_1tx|raw SQLite, same 1 tx, {fast}|cycles/s|ratio|>=|0.70
4|claim+complete, `store_finish_and_claim` (1 tx), disk|disk_cyc_lib_1tx|disk_cyc_raw_1tx|raw SQLite, same 1 tx, disk|cycles/s|ratio|>=|0.70
4|claim+complete, `store_claim` + `store_finish`, {fast}|cyc_lib_2tx|pj_cycles|plainjob claim + `markJobAsDone` (2 tx), {fast}|cycles/s|-||
5|`store_claim` latency, {small} queued (mean)|lat_small_mean|lat_raw_small_mean|raw SQLite claim tx, {small} queued|us|-||
5|`store_claim` latency, {big} queued (mean)|lat_big_mean|lat_small_mean|`store_claim`, {small} queued|us|ratio|<=|1.5
5|`store_claim` latency, {big} `enrich` blocked by the policy + {small} `ingest` (mean)|lat_blocked_mean|lat_small_mean|`store_claim`, {small} queued|us|ratio|<=|1.5
5|`store_claim` latency, {big} queued (median)|lat_big_p50|lat_small_p50|`store_claim`, {small} queued (median)|us|-||
5|`store_claim` latency, {big} `enrich` blocked (median)|lat_blocked_p50|lat_small_p50|`store_claim`, {small} queued (median)|us|-||
5|raw SQLite claim tx latency, {big} queued (mean)|lat_raw_big_mean|lat_raw_small_mean|raw SQLite claim tx, {small} queued|us|-||
5|`store_claim` latency, {small} queued (median)|lat_small_p50|lat_raw_small_p50|raw SQLite claim tx, {small} queued (median)|us|-||
EOF
)

{
	echo "jobq benchmarks — $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- . ':!bench' ':!docs' 2>/dev/null || echo ' (+ uncommitted changes)')"
	echo
	echo "machine: $(nproc) cores, ${mem} RAM, ${cpu}, Linux $(uname -r); SQLite ${sqlite_v:-?} (jobq and raw), ${pj_v:-n/a} (plainjob's better-sqlite3)"
	echo "databases: fast = $(fstype "$FAST") ($fast_root), disk = $(fstype "$DISK") ($disk_root); durability ${DURABILITY} (jobq and raw SQLite); reps ${REPS} (median), run took ${elapsed}s"
	echo
	printf '%s\n' "$rows" | awk -F'|' -v res="$RES" -v fast="$(fstype "$FAST")" '
	BEGIN {
		while ((getline line < res) > 0) { split(line, kv, " "); v[kv[1]] = kv[2] }
		print "| # | measure | jobq | baseline | ratio | target | result |"
		print "|---|---|---:|---|---:|---|---|"
	}
	function commas(x,   s, neg, out) {
		neg = x < 0; if (neg) x = -x
		s = sprintf("%d", x + 0.5); out = ""
		while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
		return (neg ? "-" : "") s out
	}
	function fmt(x, unit) {
		if (unit == "us") return sprintf(x < 100 ? "%.1f µs" : "%s µs", x < 100 ? x : commas(x))
		return commas(x) " " unit
	}
	function pct_or_times(r, unit) {
		return unit == "us" ? sprintf("%.2f×", r) : sprintf("%.0f%%", r * 100)
	}
	function sizes(t) {
		gsub(/\{bulk\}/, commas(v["bulk_n"]), t); gsub(/\{one\}/, commas(v["one_n"]), t); gsub(/\{done\}/, commas(v["disk_one_n"]), t)
		gsub(/\{small\}/, commas(v["lat_small_n"]), t); gsub(/\{big\}/, commas(v["lat_big_n"]), t)
		gsub(/\{cycles\}/, commas(v["cycles_n"]), t); gsub(/\{dcycles\}/, commas(v["disk_cycles_n"]), t)
		gsub(/\{fast\}/, fast, t)
		return t
	}
	{
		sec = $1; name = sizes($2); a = $3; b = $4; bname = sizes($5); unit = $6; on = $7; op = $8; tv = $9
		if (!(a in v) || (b != "" && !(b in v))) {
			printf "| %s | %s | n/a | %s | | %s | not measured |\n", sec, name, bname, (on == "-" ? "info" : op " " tv)
			next
		}
		av = v[a] + 0
		jobq = fmt(av, unit)
		base = ""; ratio = ""
		if (b != "") {
			bv = v[b] + 0
			base = bname ": " fmt(bv, unit)
			r = bv > 0 ? av / bv : 0
			ratio = pct_or_times(r, unit)
		}
		if (on == "-") { target = "info"; verdict = "—" }
		else {
			x = on == "ratio" ? r : av
			if (on == "ratio") target = "ratio " op " " (unit == "us" ? tv "×" : tv * 100 "%")
			else target = op " " commas(tv) " " unit
			okay = op == ">=" ? x >= tv : x <= tv
			verdict = okay ? "ok" : "**MISSED**"
		}
		printf "| %s | %s | %s | %s | %s | %s | %s |\n", sec, name, jobq, base, ratio, target, verdict
	}'
} >"$table"

cat "$table"
mkdir -p bench/out
stamp=$(date -u +%Y%m%dT%H%M%SZ)
cp "$table" "bench/out/table-$stamp.md"
cp "$RES" "bench/out/results-$stamp.txt"
say "table and raw figures kept in bench/out/*-$stamp.*"
if grep -q 'MISSED' "$table"; then
	say "targets missed: $(grep -c 'MISSED' "$table")"
fi
