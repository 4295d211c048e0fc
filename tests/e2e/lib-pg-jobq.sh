#!/usr/bin/env bash
# The $JOBQ of an end-to-end test on PostgreSQL (lib.sh sets it): the real jobq ($JOBQ_REAL)
# with the database the command names (--db PATH, --db=PATH, also after `init` and `migrate`,
# else $JOBQ_DB, else ./jobq.db)
# replaced by the conninfo of the test database that stands for that path (lib-pg.sh), and,
# when neither --config nor $JOBQ_CONFIG is given, --config with the jobq.json beside that
# path if there is one (what jobq finds by itself beside a SQLite file). A target that is
# already PostgreSQL's is passed as it is. Runs jobq with exec: same pid, same signals.
set -euo pipefail
source "$JOBQ_SRC/tests/e2e/lib-pg.sh"

args=("$@")
n=${#args[@]}
i=0 db="" db_at=-1 db_eq=0 have_cfg=0
while [ "$i" -lt "$n" ]; do
	case "${args[$i]}" in
	--db) db=${args[$((i + 1))]:-}; db_at=$((i + 1)); i=$((i + 2)); continue ;;
	--db=*) db=${args[$i]#--db=}; db_at=$i; db_eq=1 ;;
	--config) have_cfg=1; i=$((i + 2)); continue ;;
	--config=*) have_cfg=1 ;;
	--) break ;;
	-*) ;;
	*) break ;;
	esac
	i=$((i + 1))
done
# jobq init and jobq migrate take --db after the command too (the last one given wins).
if [ "$i" -lt "$n" ] && { [ "${args[$i]}" = init ] || [ "${args[$i]}" = migrate ]; }; then
	i=$((i + 1))
	while [ "$i" -lt "$n" ]; do
		case "${args[$i]}" in
		--db) db=${args[$((i + 1))]:-}; db_at=$((i + 1)); db_eq=0; i=$((i + 2)); continue ;;
		--db=*) db=${args[$i]#--db=}; db_at=$i; db_eq=1 ;;
		--) break ;;
		esac
		i=$((i + 1))
	done
fi
[ -z "${JOBQ_CONFIG:-}" ] || have_cfg=1

pre=()
if [ "$db_at" -ge 0 ]; then
	path=$db
	if [ -n "$db" ] && ! pg_target "$db"; then
		if [ "$db_eq" = 1 ]; then args[$db_at]="--db=$(pg_db "$db")"; else args[$db_at]=$(pg_db "$db"); fi
	fi
elif [ -n "${JOBQ_DB:-}" ]; then
	path=$JOBQ_DB
	pg_target "$JOBQ_DB" || JOBQ_DB=$(pg_db "$JOBQ_DB")
	export JOBQ_DB
else
	path=./jobq.db
	pre=(--db "$(pg_db ./jobq.db)")
fi
if [ "$have_cfg" = 0 ] && [ -n "$path" ] && ! pg_target "$path"; then
	cfg=$(realpath -m -- "$(dirname -- "$path")/jobq.json")
	[ ! -f "$cfg" ] || pre+=(--config "$cfg")
fi
exec "$JOBQ_REAL" "${pre[@]}" "${args[@]}"
