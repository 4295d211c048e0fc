#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for bench/pg.sh, the interface of tests/pg/cluster.sh (the
# shared design, item 7), used only while that script is not in the tree:
#   cluster.sh start DIR [PORT]   initdb + pg_ctl start; data and unix socket under DIR (0700),
#                                 trust auth on the socket only; PORT (optional) also opens TCP on
#                                 127.0.0.1:PORT (loopback only). Prints the conninfo:
#                                 host=DIR/sock port=5432 user=jobq dbname=jobq
#   cluster.sh stop DIR           pg_ctl stop -m fast, then DIR removed
# As root the server runs as a system user `jobq-pg` (created on first use); otherwise as the
# current user; then the folders above DIR must be searchable (x) by that user. Binaries: /usr/lib/postgresql/15/bin (PG_BIN overrides).
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=jobq-pg
cmd=${1:-} dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
	echo "usage: $0 start DIR [PORT] | stop DIR" >&2
	exit 64
fi
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}
case $cmd in
start)
	[ -x "$PG_BIN/initdb" ] || { echo "cluster.sh: no $PG_BIN/initdb (Debian package postgresql-15)" >&2; exit 69; }
	if [ "$(id -u)" -eq 0 ] && ! id -u "$PG_USER" >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER"
	fi
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	chmod 0700 "$dir"
	install -d -m 0700 "$dir/data" "$dir/sock"
	[ "$(id -u)" -ne 0 ] || chown "$PG_USER:" "$dir" "$dir/data" "$dir/sock"
	# The socket folder must be reachable by the clients (root or the current user): the owner
	# of DIR is the server's user, so as root DIR itself stays 0700 (root passes anyway).
	as_owner "$PG_BIN/initdb" -D "$dir/data" -A trust -U jobq -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
		{ tail -5 "$dir/initdb.log" >&2; exit 1; }
	{
		echo "listen_addresses = '${3:+127.0.0.1}'"
		echo "port = ${3:-5432}"
		echo "unix_socket_directories = '$dir/sock'"
		echo "fsync = on"
		echo "max_connections = 100"
	} >>"$dir/data/postgresql.conf"
	printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$dir/data/pg_hba.conf"
	as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null ||
		{ tail -5 "$dir/server.log" >&2; exit 1; }
	as_owner "$PG_BIN/createdb" -h "$dir/sock" -p "${3:-5432}" -U jobq jobq
	echo "host=$dir/sock port=${3:-5432} user=jobq dbname=jobq"
	;;
stop)
	[ -d "$dir" ] || exit 0
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start DIR [PORT] | stop DIR" >&2
	exit 64
	;;
esac
