#!/usr/bin/env bash
# jobq's supervisor side by side with two peers, in one run on this machine, printed as one
# Markdown table (docs/benchmarks.md, section "Peers side by side"):
#  - jobq: `jobq supervise --drain --workers 2` (and 1) over N builtin noop jobs enqueued in one
#    batch, the rate method of bench/supervisor.sh; wake-up latency by bench/bench_wake.c; RSS of
#    a `jobq: worker` process after N no-op jobs;
#  - BullMQ (npm) on Debian's redis-server, started here on 127.0.0.1 on a free port, no
#    persistence;
#  - graphile-worker (npm) on Debian's PostgreSQL, a private cluster created here (initdb) in
#    the temporary folder, listening on 127.0.0.1 and on a unix socket in that folder.
# Every peer runs a "fair" setting (2 worker processes, concurrency 1 each, as jobq's 2 workers)
# and a "batched/best" setting (the peer's own high-throughput configuration). The node side is
# bench/peers/*.mjs. A peer that cannot be installed or started is reported "not measured".
#
# usage: bash bench/peers.sh [BUILD_DIR]
# env:   N (20000 no-op jobs per run), REPS (3: rounds, interleaved: jobq, BullMQ, graphile-worker;
#        the table shows medians), WAKE_SAMPLES (300), WAKE_GAP_MS (3), PEER_TIMEOUT (150 s per
#        node run), BENCH_DIR (/dev/shm: the jobq databases, the PostgreSQL cluster and the work
#        files), PG_VIA (socket | tcp: how graphile-worker reaches PostgreSQL; socket by default).
# Missing Debian packages (sqlite3, redis-server, postgresql, nodejs/npm) are installed with
# apt-get when run as root; npm packages (bench/package.json) into bench/node_modules.
# Everything started here is stopped, and the temporary folder removed, on exit.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
jobq=$build/cli/jobq
N=${N:-20000}
REPS=${REPS:-3}
WAKE_SAMPLES=${WAKE_SAMPLES:-300}
WAKE_GAP_MS=${WAKE_GAP_MS:-3}
PEER_TIMEOUT=${PEER_TIMEOUT:-150}
PG_VIA=${PG_VIA:-socket}
unset JOBQ_DB JOBQ_CONFIG

# The settings compared. Fair: as jobq's 2 workers. Best: BullMQ's usual high-throughput setting
# (one process, many concurrent jobs); graphile-worker's batching (localQueue: fetch and lock
# many jobs per query; completeJobBatchDelay 0: complete jobs in batches; worker.graphile.org
# docs/performance), a short pollInterval.
BULL_FAIR='{"procs":2,"concurrency":1,"queue":"fair"}'
BULL_BEST='{"procs":1,"concurrency":50,"queue":"best"}'
GW_FAIR='{"procs":2,"concurrency":1,"pollInterval":2000,"localQueue":-1,"completeJobBatchDelay":-1,"maxPoolSize":10}'
GW_BEST='{"procs":1,"concurrency":10,"pollInterval":100,"localQueue":500,"completeJobBatchDelay":0,"maxPoolSize":12}'

say() { printf 'peers: %s\n' "$*" >&2; }
start_s=$(date +%s)
work=$(mktemp -d "${BENCH_DIR:-/dev/shm}/jobq-bench-peers.XXXXXX")
chmod 711 "$work" # the postgres user must reach its own folder inside
sup='' redis_pid='' pg_data='' drv=''
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
	set +e
	[ -n "$drv" ] && kill -TERM "$drv" 2>/dev/null && wait "$drv" 2>/dev/null
	[ -n "$sup" ] && kill -TERM "$sup" 2>/dev/null && wait "$sup" 2>/dev/null
	[ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
	[ -n "$pg_data" ] && as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 20 stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

apt_install() { # PACKAGE...: only as root, only when asked for (something is missing)
	[ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null || return 1
	say "installing $* (apt-get)"
	[ -n "${apt_updated:-}" ] || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true; apt_updated=1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$work/apt.log" 2>&1
}
command -v sqlite3 >/dev/null || apt_install sqlite3 || { say "sqlite3 is needed"; exit 1; }
[ -x "$jobq" ] || { say "no $jobq: build jobq first (make)"; exit 1; }

# ---- jobq's wake-up probe, compiled as bench/supervisor.sh does --------------------------------
flags="-O2 -D_GNU_SOURCE -I$src/queue -I$src/core -I$src/bench $(pkg-config --cflags sqlite3 libcjson libbsd)"
libs="$build/queue/libjobq-queue.a $build/core/libjobq-core.a $(pkg-config --libs sqlite3 libcjson libbsd) -lm"
# shellcheck disable=SC2086
cc $flags -o "$work/bench_wake" "$src/bench/bench_wake.c" "$src/bench/common.c" "$src/queue/libjobq.c" $libs

# ---- the peers: node, npm packages, servers ----------------------------------------------------
declare -A why # peer -> why it is not measured
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	apt_install nodejs npm || true
fi
pkgs_ok() { (cd "$src/bench" && node -e 'Promise.all(["bullmq","ioredis","graphile-worker"].map((m) => import(m))).then(() => process.exit(0), () => process.exit(1))') >/dev/null 2>&1; }
if ! command -v node >/dev/null; then
	why[bullmq]="node is not available" why[graphile]="node is not available"
elif ! pkgs_ok; then
	say "installing bench/package.json into bench/node_modules (npm)"
	nodedir=/usr
	[ -f /usr/include/node/node.h ] || nodedir=
	(cd "$src/bench" && env JOBS=2 npm_config_build_from_source=true ${nodedir:+npm_config_nodedir=$nodedir} \
		npm install --no-package-lock --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 || tail -5 "$work/npm.log" >&2
	pkgs_ok || why[bullmq]="npm packages missing (npm install failed)" why[graphile]="npm packages missing (npm install failed)"
fi
free_port() { node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }
pkgv() { node -p "require('$src/bench/node_modules/$1/package.json').version" 2>/dev/null || echo '?'; }

if [ -z "${why[bullmq]:-}" ]; then
	command -v redis-server >/dev/null || apt_install redis-server || true
	if ! command -v redis-server >/dev/null; then
		why[bullmq]="redis-server could not be installed"
	else
		mkdir -p "$work/redis"
		REDIS_PORT=$(free_port)
		redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --protected-mode yes \
			--dir "$work/redis" --logfile "$work/redis/log" --daemonize no &
		redis_pid=$!
		for _ in $(seq 100); do
			[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
			sleep 0.05
		done
		if [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" != PONG ]; then
			why[bullmq]="redis-server did not start"
			tail -5 "$work/redis/log" >&2 2>/dev/null || true
		fi
		export REDIS_PORT
	fi
fi

if [ -z "${why[graphile]:-}" ]; then
	pg_bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)
	if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
		apt_install postgresql || true
		pg_bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)
	fi
	if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
		why[graphile]="postgresql could not be installed"
	else
		mkdir -p "$work/pg/sock"
		[ "$(id -u)" -ne 0 ] || chown -R postgres: "$work/pg"
		PG_PORT=$(free_port)
		if ! as_pg "$pg_bin/initdb" -D "$work/pg/data" -A trust -U postgres -E UTF8 --no-sync >"$work/pg/initdb.log" 2>&1; then
			why[graphile]="initdb failed"
			tail -5 "$work/pg/initdb.log" >&2
		else
			pg_data=$work/pg/data
			if ! as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$work/pg/log" -w -t 30 \
				-o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$work/pg/sock" start >/dev/null 2>&1; then
				why[graphile]="PostgreSQL did not start"
				tail -5 "$work/pg/log" >&2 || true
			fi
		fi
		if [ "$PG_VIA" = tcp ]; then
			export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
		else
			export DATABASE_URL="postgres://postgres@/postgres?host=$work/pg/sock&port=$PG_PORT"
		fi
	fi
fi
export NO_LOG_SUCCESS=1 # graphile-worker: no per-job "Completed task" log line (jobq logs none)

# ---- measurements ------------------------------------------------------------------------------
cd "$work"
mkdir -p jq
cat >jq/jobq.json <<'JSON'
{"concurrency": {"global": 2}, "types": {"noop": {"builtin": "noop"}}}
JSON
raw=$work/raw.txt
: >"$raw"
put() { printf '%s %s\n' "$1" "$2" >>"$raw"; } # KEY VALUE, one line per rep

rate() { # as bench/supervisor.sh: jobs per second from the first start to the last finish
	sqlite3 "$1" "select printf('%.0f', count(*) * 1000.0 / (max(finished_at) - min(started_at))) from jobs where state = 'succeeded'"
}
jobq_drain() { # WORKERS
	(cd jq && rm -f jobq.db jobq.db-* &&
		seq "$N" | sed 's/.*/{}/' | "$jobq" enqueue noop --jsonl - >/dev/null &&
		timeout -k 5 120 "$jobq" supervise --drain --workers "$1" 2>>sup.log) || return 1
	[ "$(sqlite3 jq/jobq.db "select count(*) from jobs where state = 'succeeded'")" = "$N" ] || return 1
	rate jq/jobq.db
}
kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }
jobq_idle() { # N no-op jobs through a running supervisor (2 workers), worker RSS, then wake-ups
	(cd jq && rm -f jobq.db jobq.db-* && "$jobq" enqueue noop >/dev/null)
	(cd jq && exec "$jobq" supervise --workers 2 2>>sup.log) &
	sup=$!
	for _ in $(seq 100); do [ -e jq/jobq.db.runtime.json ] && break; sleep 0.05; done
	seq "$N" | sed 's/.*/{}/' | "$jobq" --db jq/jobq.db enqueue noop --jsonl - >/dev/null
	for _ in $(seq 600); do
		[ "$(sqlite3 jq/jobq.db "select count(*) from jobs where state <> 'succeeded'")" = 0 ] && break
		sleep 0.1
	done
	local w best=0 hwm=0 v
	for w in $(pgrep -P "$sup"); do # the `jobq: worker` processes
		v=$(kb "$w" VmRSS)
		[ -n "$v" ] && [ "$v" -gt "$best" ] && best=$v hwm=$(kb "$w" VmHWM)
	done
	put jobq2_rss_kb "$best"
	put jobq2_hwm_kb "$hwm"
	put jobq_sup_rss_kb "$(kb "$sup" VmRSS)"
	if "$work/bench_wake" jq/jobq.db "$WAKE_SAMPLES" "$WAKE_GAP_MS" >"$work/wake.out"; then
		sed 's/^/jobq2_/' "$work/wake.out" >>"$raw"
	else
		say "jobq wake-up probe failed"
	fi
	kill -TERM "$sup"
	wait "$sup" || true
	sup=''
}
peer_run() { # KEY SCRIPT SETTING_JSON
	local key=$1 script=$2 conf=$3 out=$work/$1.out
	conf=$(printf '%s' "$conf" | sed "s/^{/{\"n\":$N,\"wake\":$WAKE_SAMPLES,\"gap\":$WAKE_GAP_MS,\"timeout\":$((PEER_TIMEOUT - 20)),/")
	(cd "$src/bench" && exec timeout -k 5 "$PEER_TIMEOUT" node "peers/$script" run "$conf") >"$out" 2>>"$work/$key.err" &
	drv=$!
	if wait "$drv"; then
		drv=''
		sed "s/^/${key}_/" "$out" >>"$raw"
	else
		drv=''
		say "$key failed: $(tail -3 "$work/$key.err" | tr '\n' ' ')"
		put "${key}_failed" 1
	fi
}

for rep in $(seq "$REPS"); do
	say "round $rep/$REPS: jobq"
	if r=$(jobq_drain 2); then put jobq2_rate "$r"; else say "jobq drain (2 workers) failed"; fi
	if r=$(jobq_drain 1); then put jobq1_rate "$r"; else say "jobq drain (1 worker) failed"; fi
	jobq_idle
	if [ -z "${why[bullmq]:-}" ]; then
		say "round $rep/$REPS: BullMQ"
		peer_run bullfair bullmq.mjs "$BULL_FAIR"
		peer_run bullbest bullmq.mjs "$BULL_BEST"
	fi
	if [ -z "${why[graphile]:-}" ]; then
		say "round $rep/$REPS: graphile-worker"
		peer_run gwfair graphile.mjs "$GW_FAIR"
		peer_run gwbest graphile.mjs "$GW_BEST"
	fi
done

# The servers' own memory, after every run (not in the worker column).
srv=''
if [ -n "$redis_pid" ] && [ -e "/proc/$redis_pid/status" ]; then
	srv="redis-server VmRSS $(awk '{printf "%.1f", $1 / 1024}' <<<"$(kb "$redis_pid" VmRSS)") MiB"
fi
if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
	pm=$(head -1 "$pg_data/postmaster.pid")
	pss=0 np=0
	for p in "$pm" $(pgrep -P "$pm"); do
		v=$(awk '$1 == "Pss:" {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
		[ -n "$v" ] && pss=$((pss + v)) np=$((np + 1))
	done
	srv="${srv:+$srv; }PostgreSQL $np processes, Pss total $(awk -v k="$pss" 'BEGIN {printf "%.1f", k / 1024}') MiB"
fi

# ---- the table ---------------------------------------------------------------------------------
med() { # KEY: median of the values of KEY over the rounds, empty if none
	awk -v k="$1" '$1 == k {print $2}' "$raw" | sort -g | awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}
range() { # KEY: " (MIN–MAX)" over the rounds, when there are several
	awk -v k="$1" '$1 == k {print $2}' "$raw" | sort -g | awk '{v[NR] = $1} END {if (NR > 1) printf "%s–%s", v[1], v[NR]}' |
		sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\|–\)/\1,\2\3/; ta' -e 's/.\+/ (&)/'
}
comma() { printf '%s' "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/; ta'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
base=$(med jobq2_rate)
row() { # SYSTEM SETTING KEY [why-not-measured]
	local sys=$1 set=$2 k=$3 r ratio wake call mem
	r=$(med "${k}_rate")
	if [ -n "${4:-}" ] || [ -z "$r" ]; then
		printf '| %s | %s | not measured (%s) | | | | |\n' "$sys" "$set" "${4:-every run failed, see stderr}"
		return
	fi
	r=$(printf '%.0f' "$r")
	ratio=$(awk -v a="$r" -v b="$base" 'BEGIN {printf "%.0f%%", 100 * a / b}')
	wake='—' call='—' mem='—'
	[ -n "$(med "${k}_wake_p50_ms")" ] && wake="$(printf '%.3f / %.3f' "$(med "${k}_wake_p50_ms")" "$(med "${k}_wake_p99_ms")")"
	[ -n "$(med "${k}_wakecall_p50_ms")" ] && call="$(printf '%.3f / %.3f' "$(med "${k}_wakecall_p50_ms")" "$(med "${k}_wakecall_p99_ms")")"
	[ -n "$(med "${k}_rss_kb")" ] && mem="$(mib "$(med "${k}_rss_kb")") ($(mib "$(med "${k}_hwm_kb")"))"
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$sys" "$set" "$(comma "$r")$(range "${k}_rate")" "$ratio" "$wake" "$call" "$mem"
}
bv=$(pkgv bullmq) gv=$(pkgv graphile-worker)
rv=$(redis-server --version 2>/dev/null | sed -n 's/.* v=\([0-9.]*\).*/\1/p' || true)
pv=$("${pg_bin:-/nonexistent}/postgres" --version 2>/dev/null | sed -n 's/.*(PostgreSQL) \([0-9.]*\).*/\1/p' || true)
table=$work/table.md
{
	printf '| system | setting | noop jobs/s (median of %s; min–max) | ratio to jobq | wake p50 / p99 ms (enqueue returned → started) | wake p50 / p99 ms (enqueue called → started) | worker RSS MiB (peak) |\n' "$REPS"
	printf '|---|---|---:|---:|---:|---:|---:|\n'
	row "jobq" "2 workers (\`supervise --drain --workers 2\`)" jobq2
	row "jobq" "1 worker" jobq1
	row "BullMQ $bv (Redis ${rv:-?})" "fair: 2 processes × concurrency 1" bullfair "${why[bullmq]:-}"
	row "BullMQ $bv" "best: 1 process × concurrency 50" bullbest "${why[bullmq]:-}"
	row "graphile-worker $gv (PostgreSQL ${pv:-?})" "fair: 2 processes × concurrency 1" gwfair "${why[graphile]:-}"
	row "graphile-worker $gv" "batched: 1 process × concurrency 10, localQueue 500, completeJobBatchDelay 0, pollInterval 100" gwbest "${why[graphile]:-}"
} >"$table"
{
	echo
	echo "N = $N no-op jobs per run; $REPS round(s), each running jobq, BullMQ and graphile-worker in turn; $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "Ratios are to jobq with 2 workers ($(comma "${base:-0}") jobs/s, the median). Wake-up: $WAKE_SAMPLES samples per run, ${WAKE_GAP_MS} ms apart, medians of the runs' percentiles; jobq's is enqueue returned → claim visible (bench/bench_wake.c)."
	failed=$(awk '/_failed /{sub(/_failed$/, "", $1); n[$1]++} END {for (k in n) printf "%s%s: %d", (i++ ? ", " : ""), k, n[k]}' "$raw")
	[ -z "$failed" ] || echo "Runs that failed (left out of the medians): $failed."
	[ -n "$(med jobq_sup_rss_kb)" ] && echo "Servers and supervisors, not in the worker column: jobq supervisor VmRSS $(mib "$(med jobq_sup_rss_kb)") MiB${srv:+; $srv}."
	echo "Elapsed: $(($(date +%s) - start_s)) s."
} >>"$table"
cat "$table"
mkdir -p "$src/bench/out"
stamp=$(date -u +%Y%m%d-%H%M%S)
cp "$table" "$src/bench/out/peers-$stamp.md"
cp "$raw" "$src/bench/out/peers-$stamp.txt"
say "raw figures: bench/out/peers-$stamp.txt"
