# What bench/pg.sh and bench/pg-lock.sh share (sourced after bench/lib.sh, with ROOT and BUILD
# set): the throwaway cluster (tests/pg/cluster.sh, or PG_CLUSTER: a script of the same
# interface) and jobq's side of the bench, bench/pg/bench_pgjobq.c.
CLUSTER=${PG_CLUSTER:-$ROOT/tests/pg/cluster.sh}

ci() { printf 'host=%s port=%s user=%s dbname=%s' "$SOCK" "$PORT" "$PGUSER_" "$1"; } # DB -> conninfo
sql() { psql -X -q -v ON_ERROR_STOP=1 "$(ci "$1")" -c "$2" >/dev/null; }             # DB SQL

# pg_start DIR SYNC: start a cluster in DIR/pg (cluster_up=1: the caller's cleanup stops it), set
# CI (its conninfo), SOCK, PORT and PGUSER_, and make commits durable as on a production server
# (a test cluster may turn them off): fsync and full_page_writes on, synchronous_commit SYNC
# ("on"; "off" takes the disk out).
pg_start() {
	say "starting PostgreSQL ($CLUSTER)"
	CI=$(bash "$CLUSTER" start "$1/pg")
	cluster_up=1
	SOCK=$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<<"$CI")
	PORT=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$CI")
	PGUSER_=$(sed -n 's/.*user=\([^ ]*\).*/\1/p' <<<"$CI")
	local set
	for set in "fsync = on" "synchronous_commit = $2" "full_page_writes = on"; do
		sql postgres "ALTER SYSTEM SET $set"
	done
	sql postgres "SELECT pg_reload_conf()"
}

# pg_compile_bench OUT: bench/pg/bench_pgjobq.c against BUILD's static libraries.
pg_compile_bench() {
	say "compiling bench/pg/bench_pgjobq.c"
	# shellcheck disable=SC2046
	cc -O2 -std=c17 -D_GNU_SOURCE -I"$ROOT/queue" -I"$ROOT/core" -I"$ROOT/bench" \
		"$ROOT/bench/pg/bench_pgjobq.c" "$ROOT/bench/common.c" "$ROOT/queue/libjobq.c" \
		"$BUILD/queue/libjobq-queue.a" "$BUILD/core/libjobq-core.a" \
		$(pkg-config --cflags --libs sqlite3 libcjson libbsd) $(pkg-config --libs libpq 2>/dev/null) -lm \
		-o "$1"
}
