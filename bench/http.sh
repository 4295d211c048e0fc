#!/usr/bin/env bash
# http jobs per second through the full supervisor against a local server that answers at once.
#
# usage: bash bench/http.sh [BUILD]        (BUILD defaults to build)
#
# Starts nginx (Debian's package, installed with apt-get when missing) on 127.0.0.1 on a free
# port, answering every request with a fixed "ok"; enqueues N jobs of an http type (POST of the
# payload, the default) in one transaction and runs `jobq supervise --drain --workers W` for each
# W in WORKERS. The rate is N / (max(finished_at) - min(started_at)) over the jobs, read with
# sqlite3, so process start and enqueue are not counted. The same is measured with builtin noop
# jobs as the baseline (the cost of the queue itself). nginx and every temporary file are gone at
# the end.
#
# Knobs: N (default 20000), WORKERS (default "1 2"), TARGET (jobs/s with 2 workers, default
# 2000), BENCH_DIR (where the databases live; default tmpfs, /dev/shm, as in bench/run.sh, so
# the figures measure CPU work rather than this machine's fsync latency).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
N=${N:-20000}
WORKERS=${WORKERS:-1 2}
TARGET=${TARGET:-2000}
JOBQ=$BUILD/cli/jobq
unset JOBQ_DB JOBQ_CONFIG JOBQ_LOG_LEVEL

source "$ROOT/bench/lib.sh"

[ -x "$JOBQ" ] || { say "no $JOBQ: build first (meson compile -C $BUILD)"; exit 1; }
command -v sqlite3 >/dev/null || { say "sqlite3 is needed"; exit 1; }

NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || [ ! -x /usr/sbin/nginx ] || NGINX=/usr/sbin/nginx
if [ -z "$NGINX" ]; then
	say "installing nginx with apt-get"
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx >/dev/null
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
	[ -x "$NGINX" ] || { say "cannot install nginx"; exit 1; }
fi

fast_root=${BENCH_DIR:-/dev/shm}
if [ ! -d "$fast_root" ] || [ ! -w "$fast_root" ]; then
	fast_root=${TMPDIR:-/tmp}
fi
DIR=$(mktemp -d "$fast_root/jobq-bench-http.XXXXXX")
NGINX_PID=
cleanup() {
	if [ -n "$NGINX_PID" ]; then
		kill "$NGINX_PID" 2>/dev/null || true
		wait "$NGINX_PID" 2>/dev/null || true
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# nginx in the foreground of a background job, everything in DIR, no access log.
start_nginx() {
	local try
	mkdir -p "$DIR/nginx/tmp"
	for try in 1 2 3 4 5; do
		PORT=$(free_port)
		cat >"$DIR/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $DIR/nginx/tmp/body;
	proxy_temp_path $DIR/nginx/tmp/proxy;
	fastcgi_temp_path $DIR/nginx/tmp/fastcgi;
	uwsgi_temp_path $DIR/nginx/tmp/uwsgi;
	scgi_temp_path $DIR/nginx/tmp/scgi;
	keepalive_requests 10000000;
	keepalive_timeout 60s;
	server {
		listen 127.0.0.1:$PORT;
		location / { default_type text/plain; return 200 "ok"; }
	}
}
CONF
		"$NGINX" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -e "$DIR/nginx/error.log" &
		NGINX_PID=$!
		for _ in $(seq 50); do
			if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then
				return 0
			fi
			kill -0 "$NGINX_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$NGINX_PID" 2>/dev/null || true
		wait "$NGINX_PID" 2>/dev/null || true
		NGINX_PID=
	done
	say "nginx did not start:"
	cat "$DIR/nginx/error.log" >&2 || true
	exit 1
}

# run KIND WORKERS: N jobs of KIND (http or noop) drained by WORKERS workers; prints jobs/s.
run() {
	local kind=$1 w=$2 d="$DIR/$1-$2" row count span
	mkdir -p "$d"
	if [ "$kind" = http ]; then
		printf '{"concurrency": {"global": %d}, "types": {"job": {"http": {"url": "http://127.0.0.1:%d/"}, "timeout": "10s"}}}\n' \
			"$w" "$PORT" >"$d/jobq.json"
	else
		printf '{"concurrency": {"global": %d}, "types": {"job": {"builtin": "noop"}}}\n' "$w" >"$d/jobq.json"
	fi
	awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"i\": %d, \"text\": \"item %d\"}\n", i, i }' >"$d/items.jsonl"
	"$JOBQ" --db "$d/jobq.db" enqueue job --jsonl "$d/items.jsonl" >/dev/null
	if ! timeout 600 "$JOBQ" --db "$d/jobq.db" supervise --drain --workers "$w" 2>"$d/log"; then
		say "the $kind run with $w workers failed:"
		tail -20 "$d/log" >&2
		exit 1
	fi
	row=$(sqlite3 "$d/jobq.db" "select count(*), max(finished_at) - min(started_at) from jobs where state = 'succeeded'")
	count=${row%%|*}
	span=${row##*|}
	if [ "$count" != "$N" ]; then
		say "$kind with $w workers: only $count of $N jobs succeeded"
		sqlite3 "$d/jobq.db" "select state, error, count(*) from jobs group by 1, 2 limit 5" >&2
		exit 1
	fi
	[ "$span" -gt 0 ] || span=1
	echo $((N * 1000 / span))
}

start_nginx
say "nginx $("$NGINX" -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$PORT; $N jobs per run; databases in $fast_root"

printf '%s\n' "jobq http benchmark — $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
printf '%s\n' "machine: $(nproc) cores, $(uname -sr); databases in $fast_root ($(stat -f -c %T "$fast_root")); libcurl $(curl-config --version 2>/dev/null | cut -d' ' -f2 || echo '?'); $N jobs per run"
printf '\n| workers | http jobs/s | noop jobs/s (baseline) | http / noop |\n|---:|---:|---:|---:|\n'
missed=0
for w in $WORKERS; do
	h=$(run http "$w")
	b=$(run noop "$w")
	printf '| %d | %d | %d | %d%% |\n' "$w" "$h" "$b" $((h * 100 / (b > 0 ? b : 1)))
	if [ "$w" -eq 2 ] && [ "$h" -lt "$TARGET" ]; then
		missed=1
	fi
done
printf '\ntarget: at least %d http jobs/s with 2 workers: %s\n' "$TARGET" "$([ $missed -eq 0 ] && echo ok || echo MISSED)"
