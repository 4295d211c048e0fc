#!/usr/bin/env bash
# Where a queue's local files live (core/dblocal.h): a SQLite queue's beside the database file,
# exactly as always, and nothing in the state folder; a PostgreSQL target (URI or conninfo) is
# never taken for a file, its messages never show its password, and its state folder is
# refused when it is a symbolic link or writable by others. On PostgreSQL (JOBQ_TEST_BACKEND=pg)
# the first step runs a supervisor of a test database and finds its files in the state folder;
# the rest names its targets itself and is the same on both.
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
source "$JOBQ_SRC/tests/e2e/lib-supervise.sh" || exit 1

D=$PWD
mkdir -m 0700 home
export HOME=$D/home JOBQ_STATE_DIR=$D/state
unset XDG_STATE_HOME

cat >jobq.json <<'JSON'
{"types": {"say": {"exec": ["sh", "-c", "echo hello"]}}}
JSON
if on_pg; then
	# ./jobq.db stands for a database of the test cluster (lib-pg.sh): the same files, in the
	# state folder, named for the target; nothing beside the name.
	step "PostgreSQL: the supervisor's files and the job logs are in the state folder"
	expect_code 0 jobq init
	start_supervisor jobq.db
	assert_eq "$(stat -c %a "$JOBQ_STATE_DIR")" 700 "the state folder's mode"
	wake=$(db_file jobq.db wake)
	case "$wake" in "$JOBQ_STATE_DIR"/pg-*.wake) ;; *) fail "the FIFO is '$wake'" ;; esac
	[ -p "$wake" ] || fail "no FIFO $wake"
	[ -f "${wake%.wake}.pid" ] || fail "no pid file beside $wake"
	runtime=${wake%.wake}.runtime.json
	json_eq "$(cat "$runtime")" .database "$(pg_db jobq.db)"
	json_eq "$(cat "$runtime")" .wake "$wake"
	id=$(jobq enqueue say)
	wait_state jobq.db "$id" succeeded
	assert_eq "$(cat "${wake%.wake}.logs/$id.out")" hello "the job's output file"
	stop_supervisor
	assert_eq "$SUP_RC" 0 "the supervisor's exit"
	assert_eq "$(find . -maxdepth 1 -name 'jobq.db*' -not -name jobq.db.log)" "" "files beside ./jobq.db (but lib-supervise.sh's log)"
	assert_eq "$(find home -mindepth 1 | wc -l)" 0 "files in HOME"
	# The steps below check that no state folder is made.
	rm -r "$JOBQ_STATE_DIR"
else
	step "SQLite: the supervisor's files and the job logs are beside the database"
	expect_code 0 jobq init
	start_supervisor jobq.db
	[ -p jobq.db.wake ] || fail "no FIFO jobq.db.wake"
	[ -f jobq.db.pid ] || fail "no pid file jobq.db.pid"
	json_eq "$(cat jobq.db.runtime.json)" .database "$D/jobq.db"
	json_eq "$(cat jobq.db.runtime.json)" .wake "$D/jobq.db.wake"
	id=$(jobq enqueue say)
	wait_state jobq.db "$id" succeeded
	assert_eq "$(cat "jobq.db.logs/$id.out")" hello "the job's output file"
	stop_supervisor
	assert_eq "$SUP_RC" 0 "the supervisor's exit"
	[ ! -e "$JOBQ_STATE_DIR" ] || fail "a SQLite queue made the state folder"
	assert_eq "$(find home -mindepth 1 | wc -l)" 0 "files in HOME"
fi

# A target that cannot be reached: one line naming it masked, no file made here or in HOME,
# and no state folder (only a supervisor makes it).
pg_unreachable() {
	local target=$1 shown=$2 cmd
	for cmd in status list enqueue; do
		if [ "$cmd" = enqueue ]; then
			set +e
			jobq --db "$target" enqueue t '{}' >out 2>err
		else
			set +e
			jobq --db "$target" "$cmd" >out 2>err
		fi
		rc=$?
		set -e
		[ "$rc" -ne 0 ] || fail "'jobq $cmd' on an unreachable server exited 0"
		assert_eq "$(wc -l <err)" 1 "lines of the message of '$cmd'"
		assert_contains "$(cat err)" "'$shown'" "the message of '$cmd'"
		assert_not_contains "$(cat err out)" sekret "the output of '$cmd'"
	done
	new=$(find . -mindepth 1 -newer jobq.json -not -name out -not -name err \
		-not -name '.e2e-*' -not -path './home' -not -path './jobq.db*' \
		-not -path './.pg' -not -path './.pg/*')
	assert_eq "$new" "" "new files"
	[ ! -e "$JOBQ_STATE_DIR" ] || fail "the state folder was made"
}

step "PostgreSQL without a password: the server's reason, the target as given"
# (before: the reason was replaced by strerror, "No route to host", whenever the message named
# the target as given, which every target without a password is)
expect_code 69 jobq --db 'postgresql://u@127.0.0.1:1/x' status
assert_eq "$ERR" "jobq: cannot open database 'postgresql://u@127.0.0.1:1/x': connection to server at \"127.0.0.1\", port 1 failed: Connection refused"
expect_code 69 jobq --db 'host=/nonexistent dbname=x' status
assert_contains "$ERR" "'host=/nonexistent dbname=x': connection to server on socket \"/nonexistent/.s.PGSQL.5432\" failed: No such file or directory"

step "PostgreSQL conninfo: masked in messages, nothing created"
pg_unreachable 'host=/nonexistent dbname=x password=sekret' 'host=/nonexistent dbname=x password=***'

step "PostgreSQL URI: masked in messages, nothing created"
pg_unreachable 'postgresql://u:sekret@127.0.0.1:1/x' 'postgresql://u:***@127.0.0.1:1/x'

step "reload names the masked target; no supervisor is found in the state folder"
expect_code 69 jobq --db 'postgresql://u:sekret@127.0.0.1:1/x' reload
assert_eq "$ERR" "jobq: no supervisor is running for 'postgresql://u:***@127.0.0.1:1/x'"

step "a state folder that is a symbolic link is refused (77)"
mkdir -m 0700 elsewhere
ln -s elsewhere state
expect_code 77 jobq --db 'dbname=x password=sekret' status
assert_contains "$ERR" "refusing the state folder '$D/state': a symbolic link"
assert_not_contains "$ERR" sekret
rm state

step "a state folder others may write is refused (77)"
mkdir -m 0777 state
chmod 0777 state
expect_code 77 jobq --db 'dbname=x' status
assert_contains "$ERR" "its group or others may write it (mode 0777)"
rmdir state

step "a relative JOBQ_STATE_DIR is a configuration error (78)"
JOBQ_STATE_DIR=rel expect_code 78 jobq --db 'dbname=x' status
assert_contains "$ERR" "JOBQ_STATE_DIR 'rel': not an absolute path"
[ ! -e rel ] || fail "made the relative folder"

step "a file named like a conninfo is a SQLite file when written as a path"
expect_code 0 jobq --db ./host=1.db init
[ -f 'host=1.db' ] || fail "./host=1.db was not created as a file"
expect_code 0 jobq --db hosts=2.db init
[ -f 'hosts=2.db' ] || fail "hosts=2.db was not created as a file"
