#!/usr/bin/env bash
# A damaged database is reported, never recreated or written over:
# (1) its header overwritten (SQLite no longer knows the file): exit 66, "not a jobq database";
# (2) its first page damaged past the header (the schema): the open fails, exit 74, "the database
#     is corrupt (database disk image is malformed)";
# (3) pages in the middle damaged: every command that reads them exits 74 with the same message
#     (before: 65 "not a jobq database", as if the input were bad);
# and in every case the file keeps its bytes: nothing is recreated or repaired behind the
# operator's back.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
sqlite_only "a damaged SQLite database file"

printf '%s' '{"concurrency": {"global": 2}, "types": {"t": {"builtin": "noop"}}}' >cfg.json
q() { timeout 30 "$JOBQ" --db "$DB" --config "$TEST_DIR/cfg.json" "$@"; }
CORRUPT="the database is corrupt (database disk image is malformed)"

# A database of 300 jobs, checkpointed into the file (no -wal left).
DB=$TEST_DIR/good.db
seq 300 | sed 's/.*/{"n": &, "pad": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}/' |
	q enqueue t --jsonl - >/dev/null
sql "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
[ ! -e "$DB-wal" ] || fail "-wal left after the checkpoint"
pages=$(sql "$DB" "PRAGMA page_count")
[ "$pages" -ge 16 ] || fail "only $pages pages"

# overwrite FILE OFFSET COUNT: COUNT bytes 'Z' at OFFSET.
overwrite() { head -c "$3" /dev/zero | tr '\0' Z | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }

# (1) The header.
cp good.db hdr.db
overwrite hdr.db 0 16
sum=$(md5sum <hdr.db)
DB=$TEST_DIR/hdr.db
for cmd in "enqueue t {}" "status" "list" "claim" "supervise --drain"; do
	# shellcheck disable=SC2086
	expect_code 66 q $cmd
	assert_contains "$ERR" "cannot open database '$DB': not a jobq database" "$cmd"
done
expect_code 66 q enqueue t --jsonl - <<<'{}'
assert_eq "$(md5sum <hdr.db)" "$sum" "(1) the file's bytes"
assert_eq "$(stat -c %s hdr.db)" "$(stat -c %s good.db)" "(1) the file's size"

# (2) The first page past the header: the schema. All of it: since schema version 3 the schema
# no longer fits in one page, and page 1 holds only the b-tree's header and a pointer or two at
# its end (its middle is unused).
cp good.db p1.db
overwrite p1.db 100 3996
sum=$(md5sum <p1.db)
DB=$TEST_DIR/p1.db
for cmd in "enqueue t {}" "status" "list" "show 1" "claim" "prune --older-than 1ms" "supervise --drain"; do
	# shellcheck disable=SC2086
	expect_code 74 q $cmd
	assert_contains "$ERR" "'$DB'" "$cmd"
	assert_contains "$ERR" "$CORRUPT" "$cmd"
done
assert_eq "$(md5sum <p1.db)" "$sum" "(2) the file's bytes"

# (3) Pages in the middle: the first leaves of the jobs table, wherever the schema put them
# (each schema version adds root pages before them).
cp good.db mid.db
first=$(sql mid.db "SELECT min(pageno) FROM dbstat WHERE name = 'jobs' AND pagetype = 'leaf'")
[ "$first" -gt 1 ] || fail "no leaf page of jobs"
overwrite mid.db $(((first - 1) * 4096)) $((4 * 4096))
sum=$(md5sum <mid.db)
DB=$TEST_DIR/mid.db
for cmd in "status" "list --limit 0" "claim" "prune --older-than 1ms" "cancel --type t" "retry --type t"; do
	# shellcheck disable=SC2086
	expect_code 74 q $cmd
	assert_contains "$ERR" "'$DB'" "$cmd"
	assert_contains "$ERR" "$CORRUPT" "$cmd"
	assert_not_contains "$ERR" "not a jobq database" "$cmd"
done
assert_eq "$(md5sum <mid.db)" "$sum" "(3) the file's bytes"
# The damage is SQLite's to tell: integrity_check names it; jobq repaired nothing.
[ "$(sql mid.db "PRAGMA integrity_check" 2>/dev/null | head -1)" != ok ] || fail "(3) the damage is gone"
echo ok
