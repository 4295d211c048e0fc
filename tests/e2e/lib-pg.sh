# The PostgreSQL side of the end-to-end tests (JOBQ_TEST_BACKEND=pg), sourced by lib.sh and by
# lib-pg-jobq.sh. The scripts name SQLite databases (jobq.db, own/q.db, "$DB"...); on
# PostgreSQL each such path stands for a database of its own in the test cluster
# ($JOBQ_TEST_PG, started by tests/pg/with-cluster.sh, or any server where that role may create
# databases), created on first use and dropped when
# the test ends: the same path is the same database for every command of the test, two paths
# are two databases. lib-pg-jobq.sh, the $JOBQ of a pg test, turns the path given by --db or
# $JOBQ_DB (or the default ./jobq.db) into that database's conninfo before it runs the real
# jobq ($JOBQ_REAL), and the `sql` helper does the same for psql.
#
# Given by lib.sh: E2E_PG_STATE (a folder of the test: the list of its databases and a lock),
# E2E_PG_PREFIX (t_<test>_<pid>: every database of the test starts with it), TEST_DIR.

# pg_target S: S is already PostgreSQL's (a URI or a libpq key=value conninfo), as jobq decides.
pg_target() {
	case "$1" in
	postgresql://* | postgres://* | *=*) return 0 ;;
	*) return 1 ;;
	esac
}

# pg_conninfo NAME: the conninfo of database NAME in the test cluster (JOBQ_TEST_PG's, another
# dbname).
pg_conninfo() {
	local w out=""
	for w in $JOBQ_TEST_PG; do
		case "$w" in dbname=*) ;; *) out="$out$w " ;; esac
	done
	echo "${out}dbname=$1"
}

# pg_dbname PATH: the name of the database that stands for the SQLite path PATH (relative to
# the current folder): the test's prefix and the path under the test's folder, made of
# [a-z0-9_], a hash in place of what passes 63 bytes.
pg_dbname() {
	local abs rel name
	abs=$(realpath -m -- "$1")
	rel=${abs#"$TEST_DIR"/}
	name=$(printf '%s_%s' "$E2E_PG_PREFIX" "$rel" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9_\n' '_')
	if [ "${#name}" -gt 63 ]; then
		name="${name:0:50}_$(printf '%s' "$abs" | md5sum | cut -c1-12)"
	fi
	echo "$name"
}

# pg_db PATH: the conninfo of the database that stands for PATH, created on first use (under the
# test's lock, as commands of a test may run at once). An already PostgreSQL target is itself.
pg_db() {
	local name
	if pg_target "$1"; then
		echo "$1"
		return 0
	fi
	name=$(pg_dbname "$1")
	(
		flock 9
		if ! grep -qx -- "$name" "$E2E_PG_STATE/dbs" 2>/dev/null; then
			psql -XAtq -v ON_ERROR_STOP=1 -d "$JOBQ_TEST_PG" -c "CREATE DATABASE $name" >/dev/null ||
				{ echo "lib-pg.sh: cannot create the database $name" >&2; exit 1; }
			echo "$name" >>"$E2E_PG_STATE/dbs"
		fi
	) 9>>"$E2E_PG_STATE/lock" || return 1
	pg_conninfo "$name"
}

# pg_drop_all: drop every database the test made (closing what still connects).
pg_drop_all() {
	local name
	[ -f "$E2E_PG_STATE/dbs" ] || return 0
	while read -r name; do
		psql -XAtq -d "$JOBQ_TEST_PG" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1 ||
			echo "lib-pg.sh: could not drop the database $name" >&2
	done <"$E2E_PG_STATE/dbs"
	rm -f "$E2E_PG_STATE/dbs"
}

# pg_local_base PATH DIR: where jobq keeps the local files (pid, wake, runtime.json, logs) of
# the database that stands for PATH, DIR its state folder: DIR/pg-HASH, HASH the first 16
# hexadecimal digits of the SHA-256 of its conninfo without the password, its pairs sorted by
# key, each written key='value' and a space (docs/operations.md, "A PostgreSQL queue's local
# files"; core/dblocal.c). The conninfo is pg_conninfo's: plain key=value words.
pg_local_base() {
	local w norm hash
	norm=$(
		for w in $(pg_conninfo "$(pg_dbname "$1")"); do
			case "${w%%=*}" in password | sslpassword) continue ;; esac
			printf '%s\n' "$w"
		done | LC_ALL=C sort -t= -k1,1 -s | tac | LC_ALL=C sort -t= -k1,1 -u -s |
			while IFS= read -r w; do
				printf "%s='%s' " "${w%%=*}" "$(printf '%s' "${w#*=}" | sed "s/[\\']/\\\\&/g")"
			done
	)
	hash=$(printf '%s' "$norm" | sha256sum | cut -c1-16)
	echo "$2/pg-$hash"
}
