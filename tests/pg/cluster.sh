#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests and benches (issue 9): initdb and pg_ctl of the
# newest installed server (15 on Debian 12), run as an unprivileged user, with its data, log and
# unix socket under one folder and nothing listening on TCP.
#
#   tests/pg/cluster.sh start DIR [PORT]      create (if needed) and start; prints the conninfo.
#                                             PORT: also TCP on 127.0.0.1:PORT (trust, loopback
#                                             only: for clients without unix sockets; any local
#                                             user may then connect, so only when asked)
#   tests/pg/cluster.sh stop DIR              stop (fast, else immediate) and remove DIR
#   tests/pg/cluster.sh restart DIR [MODE]    stop (MODE fast or immediate) and start again,
#                                             the same data (a server restart under load)
#   tests/pg/cluster.sh conninfo DIR          the conninfo of the database jobq
#   tests/pg/cluster.sh createdb DIR NAME     a new empty database; prints its conninfo
#   tests/pg/cluster.sh dropdb DIR NAME       drop it, closing its connections
#
# The server runs as the current user, or, when run as root (postgres refuses to), as the
# system user jobq-pg, created on demand without a home or a shell; the commands run through
# setpriv with argv only. DIR (an absolute path of [A-Za-z0-9/._-], short enough for a unix
# socket) is made mode 0700 and owned by that user, so its parent must be reachable by it
# (/tmp is). The superuser role is jobq; the only way in is the unix socket DIR/sock, with
# trust (pg_hba: `local all all trust`): whoever can reach DIR is the superuser, which is what
# a test cluster wants and nothing else should. fsync, full_page_writes and synchronous_commit
# are off: a test cluster is thrown away, never recovered after a power loss, and syncing
# would only slow the suite down. stop and start are idempotent and safe after a half-done
# start; stop removes DIR only if this script made it (the marker file .jobq-pg-cluster).
# Exit: 0 done; 1 failed (the message says what); 64 usage; 69 no PostgreSQL server installed.
set -euo pipefail
export LC_ALL=C

usage() {
	echo "usage: cluster.sh start|stop|restart|conninfo DIR, createdb|dropdb DIR NAME" >&2
	exit 64
}
die() {
	echo "cluster.sh: $*" >&2
	exit 1
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
dir=$(realpath -m -- "$dir")
[[ "$dir" =~ ^/[A-Za-z0-9/._-]+$ ]] || die "'$dir': the folder's path may only hold [A-Za-z0-9/._-]"
# The socket DIR/sock/.s.PGSQL.5432 must fit in sun_path (108 bytes).
[ "${#dir}" -le 80 ] || die "'$dir': path too long for a unix socket under it"

# The server's user may not reach the caller's folder: everything runs from /.
cd /

MARKER=.jobq-pg-cluster
SOCK=$dir/sock
DATA=$dir/data
# The port: the socket's name (.s.PGSQL.PORT), and TCP's on loopback when start was given one.
PORT=5432
TCP=""
if [ "$cmd" = start ] && [ -n "${3:-}" ]; then
	[[ "$3" =~ ^[0-9]{1,5}$ ]] && [ "$3" -ge 1024 ] && [ "$3" -le 65535 ] || die "'$3': a port is 1024 to 65535"
	PORT=$3
	TCP=127.0.0.1
elif [ -f "$dir/port" ]; then
	PORT=$(cat "$dir/port")
fi

# The server's programs: PostgreSQL 15, else the newest installed.
bin=/usr/lib/postgresql/15/bin
if [ ! -x "$bin/pg_ctl" ]; then
	bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)
	if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
		echo "cluster.sh: no PostgreSQL server installed (Debian: apt-get install postgresql)" >&2
		exit 69
	fi
fi

# as_owner CMD...: run CMD as the cluster's user with a clean environment.
if [ "$(id -u)" -eq 0 ]; then
	OWNER=jobq-pg
	if ! id -u "$OWNER" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$OWNER" 2>/dev/null ||
			id -u "$OWNER" >/dev/null 2>&1 || die "cannot create the user $OWNER"
	fi
	owner_uid=$(id -u "$OWNER")
	owner_gid=$(id -g "$OWNER")
	as_owner() {
		setpriv --reuid="$owner_uid" --regid="$owner_gid" --clear-groups -- \
			env -i PATH=/usr/bin:/bin LC_ALL=C "$@"
	}
else
	OWNER=$(id -un)
	as_owner() { env -i PATH=/usr/bin:/bin LC_ALL=C HOME="${HOME:-/}" "$@"; }
fi

conninfo() { echo "host=$SOCK port=$PORT user=jobq dbname=${1:-jobq}"; }
ours() { [ -f "$dir/$MARKER" ]; }
running() { [ -f "$DATA/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

# Stop the server of DIR (if one runs): fast, else immediate, else SIGKILL to the postmaster.
stop_server() {
	local mode=${1:-fast} pid
	[ -f "$DATA/postmaster.pid" ] || return 0
	as_owner "$bin/pg_ctl" -D "$DATA" -m "$mode" -w -t 30 stop >/dev/null 2>&1 ||
		as_owner "$bin/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	if [ -f "$DATA/postmaster.pid" ]; then
		pid=$(head -1 "$DATA/postmaster.pid")
		if [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]; then
			kill -KILL "$pid" 2>/dev/null || true
			for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		fi
	fi
}

start_server() {
	if ! as_owner "$bin/pg_ctl" -D "$DATA" -l "$dir/server.log" -w -t 60 start >/dev/null; then
		tail -20 "$dir/server.log" >&2 2>/dev/null || true
		die "the server of '$dir' did not start (log: $dir/server.log)"
	fi
}

start() {
	if [ -e "$dir" ] && ! ours && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
		die "'$dir' exists and is not a cluster made by cluster.sh"
	fi
	if ours && running; then
		conninfo
		return 0
	fi
	mkdir -p -m 0700 "$dir"
	chmod 0700 "$dir"
	: >"$dir/$MARKER"
	chown -R "$OWNER:" "$dir"
	as_owner test -x "$dir" || die "'$dir' is not reachable by the user $OWNER (its parent folders)"
	if [ ! -f "$DATA/PG_VERSION" ]; then
		as_owner rm -rf "$DATA"
		as_owner "$bin/initdb" -D "$DATA" -U jobq -E UTF8 --no-locale --no-sync \
			--auth-local=trust --auth-host=reject >"$dir/initdb.log" 2>&1 ||
			{ tail -20 "$dir/initdb.log" >&2; die "initdb failed (log: $dir/initdb.log)"; }
		as_owner mkdir -p -m 0700 "$SOCK"
		# Only the unix socket, trusted; nothing on TCP.
		{
			printf 'local all all trust\n'
			[ -z "$TCP" ] || printf 'host all all 127.0.0.1/32 trust\n'
		} | as_owner tee "$DATA/pg_hba.conf" >/dev/null
		echo "$PORT" | as_owner tee "$dir/port" >/dev/null
		# fsync off: a test cluster is never recovered after a power loss (see the top).
		as_owner tee -a "$DATA/postgresql.conf" >/dev/null <<CONF

# tests/pg/cluster.sh: a throwaway test cluster
listen_addresses = '$TCP'
port = $PORT
unix_socket_directories = '$SOCK'
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %d '
CONF
	fi
	stop_server fast # a server left by a start that failed halfway
	start_server
	if ! as_owner "$bin/psql" -XAtq -h "$SOCK" -p "$PORT" -U jobq -d postgres \
		-c "SELECT 1 FROM pg_database WHERE datname = 'jobq'" | grep -q 1; then
		as_owner "$bin/createdb" -h "$SOCK" -p "$PORT" -U jobq jobq
	fi
	conninfo
}

stop() {
	[ -e "$dir" ] || return 0
	if ! ours; then
		[ -z "$(ls -A "$dir" 2>/dev/null)" ] || die "'$dir' is not a cluster made by cluster.sh: left alone"
	fi
	stop_server fast
	rm -rf -- "$dir"
}

dbname_ok() {
	[[ "${1:-}" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "'${1:-}': a database name is 1 to 63 of [a-z0-9_]"
}

case "$cmd" in
start) start ;;
stop) stop ;;
restart)
	mode=${3:-fast}
	case "$mode" in fast | immediate) ;; *) usage ;; esac
	ours || die "'$dir' is not a cluster made by cluster.sh"
	stop_server "$mode"
	start_server
	;;
conninfo) conninfo ;;
createdb)
	dbname_ok "${3:-}"
	"$bin/createdb" -h "$SOCK" -p "$PORT" -U jobq -- "$3"
	conninfo "$3"
	;;
dropdb)
	dbname_ok "${3:-}"
	"$bin/dropdb" -h "$SOCK" -p "$PORT" -U jobq --if-exists --force -- "$3"
	;;
*) usage ;;
esac
