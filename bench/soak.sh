#!/usr/bin/env bash
# Soak: a reduced overnight run. Mixed handlers (builtin noop and sleep, exec jobs that succeed,
# fail, ask for a retry, or leave an "MCP server" behind), producers adding batches all along,
# a SIGHUP every few seconds, a worker killed with SIGKILL now and then, the whole process tree
# killed with SIGKILL and restarted a few times, and prune every two minutes. Samples the
# supervisor's and the workers' memory (RSS) and open descriptors and the database's size, and
# checks at the end that no job was lost, none is stuck, no process was left behind.
#
#   bash bench/soak.sh [BUILD] [MINUTES] [JOBS]      (defaults: build 30 200000)
#
# JOBQ=/path/to/jobq overrides the binary (to soak a copy while the tree is rebuilt).
# Prints a table; the samples are kept in $OUT/samples.csv (OUT defaults to bench/out/soak).
set -u
BUILD=${1:-build}
MINUTES=${2:-30}
JOBS=${3:-200000}
JOBQ=${JOBQ:-$(cd "$(dirname "$0")/.." && pwd)/$BUILD/cli/jobq}
[ -x "$JOBQ" ] || { echo "soak: no $JOBQ (build first)" >&2; exit 1; }
OUT=${OUT:-$(cd "$(dirname "$0")" && pwd)/out/soak}
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$OUT" || exit 1
DB=$OUT/soak.db
MARK="jobq-soak-$$"
cat >jobq.json <<EOF
{
  "concurrency": { "global": 4, "types": { "leaky": 1 }, "resources": { "cpu": 2 } },
  "lease": "30s",
  "types": {
    "noop":  { "builtin": "noop" },
    "nap":   { "builtin": "sleep", "resources": ["cpu"] },
    "ok":    { "exec": ["/bin/sh", "-c", "echo '{\"n\": {payload.n}}'"] },
    "bad":   { "exec": ["/bin/sh", "-c", "echo broken >&2; exit 1"], "max_attempts": 2,
               "backoff": { "base": "1s", "max": "2s" } },
    "retry": { "exec": ["/bin/sh", "-c", "f=$OUT/r.{job.id}; [ -e \$f ] && rm \$f && echo done && exit 0; : >\$f; exit 75"],
               "backoff": { "base": "1s", "max": "2s" } },
    "leaky": { "exec": ["/bin/sh", "-c", "setsid bash -c 'exec -a $MARK sleep 600' </dev/null >/dev/null 2>&1 & echo left"] }
  }
}
EOF

now() { date +%s; }
START=$(now)
END=$((START + MINUTES * 60))
SUP=""
start_sup() {
	"$JOBQ" --db "$DB" supervise >>supervisor.log 2>&1 &
	SUP=$!
	for _ in $(seq 1 100); do
		[ "$(jq -r .pid "$DB.runtime.json" 2>/dev/null)" = "$SUP" ] && return 0
		sleep 0.1
	done
	echo "soak: the supervisor did not start" >&2
	tail -5 supervisor.log >&2
	return 1
}
workers() { pgrep -P "$SUP" 2>/dev/null | tr '\n' ' '; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

start_sup || exit 1
echo "t,sup_rss_kb,sup_fds,worker_rss_kb_max,worker_fds_max,db_bytes,wal_bytes,queued,running" >samples.csv
# A batch of the mix, as one --jsonl transaction: 70% noop, 10% nap, 12% ok, 4% bad, 3% retry,
# 1% leaky.
batch() {
	local n=$1 i kind
	for i in $(seq 1 "$n"); do
		kind=$((RANDOM % 100))
		if [ $kind -lt 70 ]; then echo "noop {}"
		elif [ $kind -lt 80 ]; then echo 'nap {"ms": 20}'
		elif [ $kind -lt 92 ]; then echo "ok {\"n\": $i}"
		elif [ $kind -lt 96 ]; then echo "bad {}"
		elif [ $kind -lt 99 ]; then echo "retry {}"
		else echo "leaky {}"; fi
	done
}
enqueued=0 pruned=0 hups=0 wkills=0 skills=0 batches=0 enq_fail=0
per_batch=$(( JOBS / (MINUTES * 6) ))
[ "$per_batch" -ge 1 ] || per_batch=1
last_sample=0 last_prune=$START last_batch=0 last_hup=0 last_wkill=$START last_skill=$START
while [ "$(now)" -lt "$END" ]; do
	t=$(now)
	if [ "$enqueued" -lt "$JOBS" ] && [ $((t - last_batch)) -ge 10 ]; then
		n=$per_batch
		[ $((enqueued + n)) -le "$JOBS" ] || n=$((JOBS - enqueued))
		batch "$n" | awk '{t=$1; $1=""; sub(/^ /, ""); print > ("b." t)}'
		for f in b.*; do
			c=$(wc -l <"$f")
			if "$JOBQ" --db "$DB" enqueue "${f#b.}" --batch "soak$batches" --jsonl "$f" >/dev/null 2>>enqueue.err; then
				enqueued=$((enqueued + c))
			else
				enq_fail=$((enq_fail + 1))
			fi
			rm -f "$f"
		done
		batches=$((batches + 1))
		last_batch=$t
	fi
	if [ $((t - last_hup)) -ge 3 ]; then
		kill -HUP "$SUP" 2>/dev/null && hups=$((hups + 1))
		last_hup=$t
	fi
	if [ $((t - last_wkill)) -ge 20 ]; then
		w=$(workers | awk '{print $1}')
		[ -n "$w" ] && kill -9 "$w" 2>/dev/null && wkills=$((wkills + 1))
		last_wkill=$t
	fi
	if [ $((t - last_skill)) -ge 300 ]; then
		# Everything at once, as a power cut would: the supervisor and its workers.
		kill -9 "$SUP" $(workers) 2>/dev/null
		wait "$SUP" 2>/dev/null
		skills=$((skills + 1))
		start_sup || break
		last_skill=$t
	fi
	if [ $((t - last_prune)) -ge 120 ]; then
		p=$("$JOBQ" --db "$DB" --json prune --older-than 1m 2>>prune.err | jq -r .pruned)
		pruned=$((pruned + ${p:-0}))
		last_prune=$t
	fi
	if [ $((t - last_sample)) -ge 10 ]; then
		wr=0 wf=0
		for w in $(workers); do
			r=$(rss_kb "$w"); f=$(fds "$w")
			r=${r:-0} # a zombie has no VmRSS
			[ "$r" -gt "$wr" ] && wr=$r
			[ "$f" -gt "$wf" ] && wf=$f
		done
		counts=$("$JOBQ" --db "$DB" --json status 2>/dev/null | jq -r '"\(.counts.queued),\(.counts.running)"')
		echo "$((t - START)),$(rss_kb "$SUP"),$(fds "$SUP"),$wr,$wf,$(stat -c %s "$DB"),$(stat -c %s "$DB-wal" 2>/dev/null || echo 0),$counts" >>samples.csv
		last_sample=$t
	fi
	sleep 0.5
done
# The last batches run to the end, then the supervisor stops.
kill -TERM "$SUP" 2>/dev/null
wait "$SUP" 2>/dev/null
"$JOBQ" --db "$DB" supervise --drain >>supervisor.log 2>&1
drain_rc=$?
p=$("$JOBQ" --db "$DB" --json prune --older-than 0s 2>>prune.err | jq -r .pruned)
final=$(sqlite3 "$DB" "select count(*) from jobs")
stuck=$(sqlite3 "$DB" "select count(*) from jobs where state in ('queued', 'running')")
maxid=$(sqlite3 "$DB" "select seq from sqlite_sequence where name = 'jobs'")
integrity=$(sqlite3 "$DB" "pragma integrity_check")
left=$(pgrep -c -f "$MARK" || true)
pkill -f "$MARK" 2>/dev/null
lost=$(( enqueued - (pruned + ${p:-0} + final) ))

col() { awk -F, -v c="$1" 'NR > 1 && $c != "" {print $c}' samples.csv; }
stats() { col "$1" | awk 'NR == 1 {f = $1} {l = $1; if ($1 > m) m = $1} END {printf "%s | %s | %s", f, l, m}'; }
printf '\n| measure | first | last | max |\n|---|---|---|---|\n'
printf '| supervisor RSS (KiB) | %s |\n' "$(stats 2)"
printf '| supervisor open fds | %s |\n' "$(stats 3)"
printf '| largest worker RSS (KiB) | %s |\n' "$(stats 4)"
printf '| largest worker open fds | %s |\n' "$(stats 5)"
printf '| database (bytes) | %s |\n' "$(stats 6)"
printf '| WAL (bytes) | %s |\n' "$(stats 7)"
printf '\n| run | value |\n|---|---|\n'
printf '| minutes | %s |\n| jobs enqueued (acknowledged) | %s |\n| batches (failed enqueues) | %s (%s) |\n' \
	"$MINUTES" "$enqueued" "$batches" "$enq_fail"
printf '| SIGHUPs | %s |\n| workers killed (-9) | %s |\n| whole tree killed (-9) and restarted | %s |\n' \
	"$hups" "$wkills" "$skills"
printf '| pruned during / at the end | %s / %s |\n| rows left after the final prune | %s |\n' "$pruned" "${p:-0}" "$final"
printf '| highest id | %s |\n| final drain exit | %s |\n' "$maxid" "$drain_rc"
printf '| lost (enqueued - pruned - left) | %s |\n| stuck (queued or running) | %s |\n' "$lost" "$stuck"
printf '| processes left behind | %s |\n| integrity_check | %s |\n' "$left" "$integrity"
[ "$lost" -eq 0 ] && [ "$stuck" -eq 0 ] && [ "$left" -eq 0 ] && [ "$integrity" = ok ] && [ "$drain_rc" -eq 0 ]
