#!/usr/bin/env bash
# jobq on PostgreSQL beside graphile-worker and pg-boss, side by side in one run against one
# throwaway PostgreSQL 15 cluster that this script starts (and always stops), printed as one
# Markdown table with the issue's targets (docs/benchmarks.md, "PostgreSQL: jobq beside
# graphile-worker and pg-boss"):
#  a. bulk enqueue of N no-op jobs (jobq: `jobq enqueue noop --jsonl FILE`; graphile-worker:
#     WorkerUtils.addJobs(); pg-boss: insert([...])) -- jobs/s;
#  b. claim+complete cycles on a pre-filled queue of N jobs, 1 and 2 processes, without a limit
#     and with a limit of 1 running job (jobq: bench/pg/bench_pgjobq.c, store_claim +
#     store_finish, policy types.noop = 1; graphile-worker: run() with concurrency 1 per process,
#     jobs in one job queue (queueName) for the limit; pg-boss: fetch()/complete(), a "singleton"
#     queue for the limit) -- cycles/s over the first CYCLES jobs, or over CYCLES_MAX_S seconds
#     when that comes first (pg-boss's fetch sorts the whole queue; graphile-worker's job queue
#     takes its next job at its next poll: see bench/pg/peer.mjs);
#  c. no-op drain through the supervisors: N jobs enqueued, from the command's start to all done
#     (`jobq supervise --drain --workers 2`; graphile-worker runOnce() in 2 processes; pg-boss
#     work() in 2 processes, batchSize PGBOSS_BATCH) -- jobs/s;
#  d. wake-up latency: an idle worker, one job enqueued, enqueue returned -> handler started
#     (jobq: claimed, read every 100 us), p50/p95 over WAKE samples;
#  e. jobq only: one claim's cost with SMALL (1k) and BIG (1M) queued jobs and with BIG jobs
#     blocked by an unfinished parent (dependency rows), the queues filled by SQL generate_series;
#     a claim of any type (`jobq claim`) and one of the type named (`--type`, a worker's claim).
# Every system runs every measurement in each of ROUNDS rounds, the order of the systems rotating
# each round; the table shows medians. Everything runs under nice.
#
# usage: bash bench/pg.sh [BUILD]      (BUILD: jobq's meson build folder, default build)
# env: ROUNDS (3), N (10000), CYCLES (2000), CYCLES_MAX_S (5), PGBOSS_BATCH (500), WAKE (50),
#      WAKE_GAP_MS (20), SMALL (1000), BIG (1000000), LAT_SAMPLES (2000), BENCH_DIR (/var/tmp:
#      the cluster's data; a disk, so commits sync as in production), PEER_TIMEOUT (300 s a run)
# The jobq columns need jobq's PostgreSQL backend: without it (`jobq --db CONNINFO migrate`, or
# `status` where there is no migrate, fails)
# they show "n/a". npm packages: bench/pg/package.json, `npm ci` into bench/pg/node_modules.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
source "$ROOT/bench/lib.sh"
source "$ROOT/bench/pg/lib.sh"
unset JOBQ_DB JOBQ_CONFIG DATABASE_URL
ROUNDS=${ROUNDS:-3} N=${N:-10000} CYCLES=${CYCLES:-2000} CYCLES_MAX_S=${CYCLES_MAX_S:-5}
export CYCLES_MAX_S
PGBOSS_BATCH=${PGBOSS_BATCH:-500} WAKE=${WAKE:-50} WAKE_GAP_MS=${WAKE_GAP_MS:-20}
SMALL=${SMALL:-1000} BIG=${BIG:-1000000} LAT_SAMPLES=${LAT_SAMPLES:-2000}
PEER_TIMEOUT=${PEER_TIMEOUT:-300}
JOBQ=$BUILD/cli/jobq
NA="n/a (no PG backend in this build)"
start_s=$(date +%s)

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/jobq-bench-pg.XXXXXX")
chmod 711 "$work" # the server's user (jobq-pg when run as root) reaches its folder inside
sup='' cluster_up=''
cleanup() {
	set +e
	[ -n "$sup" ] && kill -TERM "$sup" 2>/dev/null && wait "$sup" 2>/dev/null
	[ -n "$cluster_up" ] && bash "$CLUSTER" stop "$work/pg" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- the cluster, the peers' packages, jobq --------------------------------------------------
pg_start "$work" on
url() { printf 'postgres://%s@/%s?host=%s&port=%s' "$PGUSER_" "$1" "$SOCK" "$PORT"; } # DB -> URI (node)
for db in graphile pgboss; do sql postgres "CREATE DATABASE $db"; done
pgv=$(psql -X -Atc "SELECT current_setting('server_version') || ', fsync ' || current_setting('fsync') || ', synchronous_commit ' || current_setting('synchronous_commit')" "$(ci postgres)")

declare -A why # system -> why it is not measured
if [ ! -d "$ROOT/bench/pg/node_modules" ]; then
	say "npm ci in bench/pg"
	(cd "$ROOT/bench/pg" && npm ci --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 ||
		{ tail -5 "$work/npm.log" >&2; why[graphile]="npm ci failed" why[pgboss]="npm ci failed"; }
fi
pkgv() { node -p "require('$ROOT/bench/pg/node_modules/$1/package.json').version" 2>/dev/null || echo '?'; }

# jobq's configuration: named with --config on every jobq command (a server's database has no
# folder for jobq to find a jobq.json beside it).
mkdir -p "$work/jq"
cat >"$work/jq/jobq.json" <<'JSON'
{"concurrency": {"global": 2}, "types": {"noop": {"builtin": "noop"}}}
JSON
seq "$N" | sed 's/.*/{}/' >"$work/jobs.jsonl"
if [ ! -x "$JOBQ" ]; then
	why[jobq]="no $JOBQ: build jobq first"
elif ! (cd "$work/jq" && { "$JOBQ" --config "$work/jq/jobq.json" --db "$(ci jobq)" migrate || "$JOBQ" --config "$work/jq/jobq.json" --db "$(ci jobq)" status; }) >"$work/jq/probe.out" 2>&1; then
	why[jobq]=$NA
	say "jobq: $NA ($(tail -1 "$work/jq/probe.out" | head -c 200))"
else
	say "jobq: PostgreSQL backend found"
	pg_compile_bench "$work/bench_pgjobq"
fi

# ---- measurements: each appends "SYSTEM KEY VALUE" lines to $raw -----------------------------
raw=$work/raw.txt
: >"$raw"
put() { printf '%s %s %s\n' "$1" "$2" "$3" >>"$raw"; }
ns() { date +%s%N; }
NICE=(nice -n 10)
limit_key() { [ "$2" = 1 ] && echo "cycles_p$1_limit" || echo "cycles_p$1"; }

jq_schema() { # DB: jobq's schema, made by `jobq migrate` (or the first open of `status`)
	(cd "$work/jq" && { "$JOBQ" --config "$work/jq/jobq.json" --db "$(ci "$1")" migrate || "$JOBQ" --config "$work/jq/jobq.json" --db "$(ci "$1")" status; } >/dev/null)
}
jq_reset() { # a fresh database: dropped, created, jobq's schema
	sql postgres "DROP DATABASE IF EXISTS jobq WITH (FORCE)"
	sql postgres "CREATE DATABASE jobq"
	jq_schema jobq
}
jq_fill() { (cd "$work/jq" && "$JOBQ" --config "$work/jq/jobq.json" --db "$(ci jobq)" enqueue noop --jsonl "$work/jobs.jsonl" >/dev/null) && sql jobq "ANALYZE"; }
jobq_round() {
	local s e p l out
	jq_reset
	s=$(ns)
	(cd "$work/jq" && "${NICE[@]}" "$JOBQ" --config "$work/jq/jobq.json" --db "$(ci jobq)" enqueue noop --jsonl "$work/jobs.jsonl" >/dev/null)
	e=$(ns)
	put jobq enqueue_rate "$(awk -v n="$N" -v s="$s" -v e="$e" 'BEGIN {printf "%.0f", n * 1e9 / (e - s)}')"
	for p in 1 2; do
		for l in 0 1; do
			jq_reset
			jq_fill
			local pol='{"concurrency":{"global":64}}'
			[ "$l" = 1 ] && pol='{"concurrency":{"global":64,"types":{"noop":1}}}'
			if out=$("${NICE[@]}" "$work/bench_pgjobq" cycles "$(ci jobq)" "$CYCLES" "$p" "$pol"); then
				put jobq "$(limit_key "$p" "$l")" "$(awk '$1 == "cycles_rate" {print $2}' <<<"$out")"
			else
				say "jobq cycles ($p processes, limit $l) failed"
			fi
		done
	done
	jq_reset
	jq_fill
	s=$(ns)
	if (cd "$work/jq" && "${NICE[@]}" timeout -k 5 "$PEER_TIMEOUT" "$JOBQ" --config "$work/jq/jobq.json" --db "$(ci jobq)" supervise --drain --workers 2 2>>"$work/jq/sup.log"); then
		e=$(ns)
		put jobq drain_rate "$(awk -v n="$N" -v s="$s" -v e="$e" 'BEGIN {printf "%.0f", n * 1e9 / (e - s)}')"
	else
		say "jobq supervise --drain failed"
	fi
	jq_reset
	(cd "$work/jq" && exec "${NICE[@]}" "$JOBQ" --config "$work/jq/jobq.json" --db "$(ci jobq)" supervise --workers 1 2>>"$work/jq/sup.log") &
	sup=$!
	sleep 1 # the supervisor and its worker are up and idle
	if out=$("${NICE[@]}" "$work/bench_pgjobq" wake "$(ci jobq)" "$WAKE" "$WAKE_GAP_MS"); then
		put jobq wake_p50 "$(awk '$1 == "wake_p50_ms" {print $2}' <<<"$out")"
		put jobq wake_p95 "$(awk '$1 == "wake_p95_ms" {print $2}' <<<"$out")"
	else
		say "jobq wake-up probe failed"
	fi
	kill -TERM "$sup"
	wait "$sup" || true
	sup=''
}

peer() { # SYSTEM MODE JSON: one node run, its figures put under SYSTEM
	local sys=$1 mode=$2 conf=$3 out
	conf="{\"timeout\":$((PEER_TIMEOUT - 10)),${conf#\{}"
	if out=$(cd "$ROOT/bench/pg" && DATABASE_URL=$(url "$sys") "${NICE[@]}" timeout -k 5 "$PEER_TIMEOUT" \
		node peer.mjs "$sys" "$mode" "$conf" 2>>"$work/$sys.err"); then
		printf '%s\n' "$out"
	else
		say "$sys $mode $conf failed: $(tail -2 "$work/$sys.err" | tr '\n' ' ')"
		return 1
	fi
}
peer_round() { # SYSTEM
	local sys=$1 out p l
	out=$(peer "$sys" enqueue "{\"n\":$N}") && put "$sys" enqueue_rate "$(awk '$1 == "enqueue_rate" {print $2}' <<<"$out")"
	for p in 1 2; do
		for l in 0 1; do
			out=$(peer "$sys" cycles "{\"n\":$N,\"m\":$CYCLES,\"maxs\":$CYCLES_MAX_S,\"procs\":$p,\"limit\":$l}") &&
				put "$sys" "$(limit_key "$p" "$l")" "$(awk '$1 == "cycles_rate" {print $2}' <<<"$out")"
		done
	done
	out=$(peer "$sys" drain "{\"n\":$N,\"procs\":2,\"batch\":$PGBOSS_BATCH}") &&
		put "$sys" drain_rate "$(awk '$1 == "drain_rate" {print $2}' <<<"$out")"
	if out=$(peer "$sys" wake "{\"samples\":$WAKE,\"gap\":$WAKE_GAP_MS}"); then
		put "$sys" wake_p50 "$(awk '$1 == "wake_p50_ms" {print $2}' <<<"$out")"
		put "$sys" wake_p95 "$(awk '$1 == "wake_p95_ms" {print $2}' <<<"$out")"
	fi
}

systems=(jobq graphile pgboss)
for r in $(seq "$ROUNDS"); do
	order=("${systems[@]}")
	for _ in $(seq $(((r - 1) % 3))); do order=("${order[@]:1}" "${order[0]}"); done
	for sys in "${order[@]}"; do
		[ -z "${why[$sys]:-}" ] || continue
		say "round $r/$ROUNDS: $sys"
		if [ "$sys" = jobq ]; then jobq_round; else peer_round "$sys"; fi
	done
done

# e. jobq only: the claim's cost by queue depth.
if [ -z "${why[jobq]:-}" ]; then
	say "claim cost: filling $SMALL / $BIG / $BIG blocked queued jobs (generate_series)"
	now=$(($(date +%s%3N)))
	for db in jobq_small jobq_big jobq_blocked; do
		sql postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)"
		sql postgres "CREATE DATABASE $db"
		jq_schema "$db"
	done
	fill="INSERT INTO jobs (type, payload, run_at, created_at) SELECT 'ingest', '{}', $now, $now FROM generate_series(1, %s)"
	# shellcheck disable=SC2059
	sql jobq_small "$(printf "$fill" "$SMALL")"
	# shellcheck disable=SC2059
	sql jobq_big "$(printf "$fill" "$BIG")"
	# shellcheck disable=SC2059
	sql jobq_blocked "INSERT INTO jobs (type, state, run_at, created_at, started_at, attempts, lease_until, token)
		VALUES ('parent', 'running', $now, $now, $now, 1, $((now + 86400000)), 1);
		INSERT INTO jobs (type, payload, run_at, created_at, blockers)
		SELECT 'ingest', '{}', $now, $now, 1 FROM generate_series(1, $BIG);
		INSERT INTO job_deps (parent, child)
		SELECT (SELECT id FROM jobs WHERE type = 'parent'), id FROM jobs WHERE blockers = 1;
		$(printf "$fill" "$SMALL")"
	for db in jobq_small jobq_big jobq_blocked; do sql "$db" "VACUUM ANALYZE"; done
	if out=$("${NICE[@]}" "$work/bench_pgjobq" latency "$LAT_SAMPLES" "$(ci jobq_small)" "$(ci jobq_big)" "$(ci jobq_blocked)"); then
		for c in small big blocked small_typed big_typed blocked_typed; do
			put jobq "lat_$c" "$(awk -v k="lat_${c}_p50" '$1 == k {print $2}' <<<"$out")"
			put jobq "latmean_$c" "$(awk -v k="lat_${c}_mean" '$1 == k {print $2}' <<<"$out")"
		done
	else
		say "jobq claim cost failed"
	fi
fi

# ---- the table ---------------------------------------------------------------------------------
med() { # SYSTEM KEY: the median over the rounds, empty when none
	awk -v s="$1" -v k="$2" '$1 == s && $2 == k && $3 != "" {print $3}' "$raw" | sort -g |
		awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}
cell() { # SYSTEM KEY FORMAT
	local v
	if [ -n "${why[$1]:-}" ]; then printf '%s' "${why[$1]}"; return; fi
	v=$(med "$1" "$2")
	# shellcheck disable=SC2059 # the format is the caller's
	if [ -z "$v" ]; then printf 'failed (stderr)'; else printf "$3" "$v"; fi
}
ratio() { # KEY SYSTEM: jobq / SYSTEM
	local a b
	a=$(med jobq "$1") b=$(med "$2" "$1")
	if [ -n "$a" ] && [ -n "$b" ] && [ -z "${why[jobq]:-}" ]; then awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}'; else printf '—'; fi
}
row() { # LABEL KEY FORMAT TARGET
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(cell jobq "$2" "$3")" "$(cell graphile "$2" "$3")" \
		"$(cell pgboss "$2" "$3")" "$(ratio "$2" graphile)" "$(ratio "$2" pgboss)" "$4"
}
lat_row() { # LABEL KEY TARGET
	local v s
	v=$(cell jobq "lat_$2" '%.1f µs')
	local base=small
	[ "${2%_typed}" = "$2" ] || base=small_typed
	if [ -n "$(med jobq "lat_$2")" ] && [ "$2" != "$base" ]; then
		s=$(awk -v a="$(med jobq "lat_$2")" -v b="$(med jobq "lat_$base")" 'BEGIN {printf "%.2f", a / b}')
		v="$v (${s}× the ${SMALL}-job queue)"
	fi
	printf '| %s | %s | — | — | — | — | %s |\n' "$1" "$v" "$3"
}
gv=$(pkgv graphile-worker) bv=$(pkgv pg-boss)
table=$work/table.md
{
	echo "PostgreSQL $pgv (cluster on $(fstype "$work"), unix socket), jobq $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), graphile-worker $gv, pg-boss $bv; medians of $ROUNDS round(s) — $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	echo "| measurement | jobq | graphile-worker | pg-boss | jobq / graphile-worker | jobq / pg-boss | target |"
	echo "|---|---:|---:|---:|---:|---:|---|"
	row "a. bulk enqueue of $N no-op jobs, jobs/s" enqueue_rate '%.0f' ""
	row "b. claim+complete, 1 process, no limit, cycles/s" cycles_p1 '%.1f' "jobq ≥ graphile-worker"
	row "b. claim+complete, 2 processes, no limit, cycles/s" cycles_p2 '%.1f' "jobq ≥ graphile-worker"
	row "b. claim+complete, 1 process, limit 1, cycles/s" cycles_p1_limit '%.1f' "jobq ≥ graphile-worker"
	row "b. claim+complete, 2 processes, limit 1, cycles/s" cycles_p2_limit '%.1f' "jobq ≥ graphile-worker"
	row "c. no-op drain of $N jobs, 2 workers, start to all done, jobs/s" drain_rate '%.0f' "jobq ≥ graphile-worker"
	row "d. wake-up p50, ms (enqueue returned → handler started)" wake_p50 '%.3f' "jobq < 2 ms"
	row "d. wake-up p95, ms" wake_p95 '%.3f' ""
	lat_row "e. one claim, $SMALL queued jobs (p50)" small ""
	lat_row "e. one claim, $BIG queued jobs (p50)" big "≤ 1.5×"
	lat_row "e. one claim, $SMALL queued + $BIG blocked by a parent (p50)" blocked "≤ 1.5×"
	lat_row "e. one claim of type ingest (a worker's), $SMALL queued (p50)" small_typed ""
	lat_row "e. one claim of type ingest, $BIG queued (p50)" big_typed "≤ 1.5×"
	lat_row "e. one claim of type ingest, $SMALL queued + $BIG blocked (p50)" blocked_typed "≤ 1.5×"
	echo
	echo "Cycles: the first $CYCLES jobs of a queue of $N, or what is done in $CYCLES_MAX_S s when that comes first; limit 1: jobq's policy types.noop = 1, graphile-worker's job queue (queueName), pg-boss's singleton queue. Drain: jobq \`supervise --drain --workers 2\`, graphile-worker runOnce() × 2 processes, pg-boss work() × 2 processes (batchSize $PGBOSS_BATCH, polling 0.5 s). Wake-up: $WAKE samples, $WAKE_GAP_MS–$((2 * WAKE_GAP_MS)) ms apart. Ratios are jobq's figure over the peer's: above 1 is better for rates, below 1 for the wake-up. $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); elapsed $(($(date +%s) - start_s)) s."
} >"$table"
cat "$table"
mkdir -p "$ROOT/bench/out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
cp "$table" "$ROOT/bench/out/pg-$stamp.md"
cp "$raw" "$ROOT/bench/out/pg-raw-$stamp.txt"
say "table and raw figures: bench/out/pg-$stamp.md, bench/out/pg-raw-$stamp.txt"
