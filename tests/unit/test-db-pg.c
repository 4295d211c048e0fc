/*
 * Unit tests of the PostgreSQL driver (queue/db_pg.c) below the store: SQL translation, the
 * display form of targets, statements and their columns, text that is not UTF-8, changes, error
 * codes, the writers' advisory lock between two connections, NOTIFY and data_version, reconnection
 * after a server restart. Against a throwaway cluster of tests/pg/cluster.sh (JOBQ_PG_CLUSTER names
 * another copy of the script); skipped (77) when PostgreSQL or the script is not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "db_pg.h"
#include "db_pg_internal.h"
#include "db_pg_lib.h"
#include "exitcode.h"
#include "internal.h"

static char script[4096];
static char dir[64];
static char conninfo[512];

/* Run the cluster script with cmd; its first output line into out. Returns its exit status. */
static int
cluster(const char *cmd, char *out, size_t len)
{
	int fds[2], status;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], 1);
		execl("/bin/bash", "bash", script, cmd, dir, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	{
		char buf[512];
		ssize_t n, got = 0;

		while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
			got += n;
		buf[got] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (out != NULL)
			snprintf(out, len, "%s", buf);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A store on target through the driver alone (no schema). */
static int
connect_to(const char *target, int busy_ms, struct store **out)
{
	struct store *st = calloc(1, sizeof(*st));
	int r;

	assert_non_null(st);
	st->ops = &db_pg_ops;
	st->path = strdup(target);
	st->busy_timeout_ms = busy_ms;
	r = db_pg_connect(st, NULL);
	*out = st;
	return r;
}

static void
disconnect(struct store *st)
{
	if (st == NULL)
		return;
	st->ops->close(st);
	free(st->path);
	free(st);
}

static struct store *
must_connect(void)
{
	struct store *st;

	assert_int_equal(connect_to(conninfo, 5000, &st), 0);
	return st;
}

/* Run sql (no parameters, no row wanted); the step's result code. */
static int
run(struct store *st, const char *sql)
{
	struct db_stmt *s;
	int rc;

	if ((rc = db_pg_prepare_text(st, sql, &s)) != DB_OK)
		return rc;
	while ((rc = db_step(s)) == DB_ROW)
		;
	st->ops->finalize(s);
	return rc;
}

static int64_t
query_int(struct store *st, const char *sql)
{
	struct db_stmt *s;
	int64_t v;

	assert_int_equal(db_pg_prepare_text(st, sql, &s), DB_OK);
	assert_int_equal(db_step(s), DB_ROW);
	v = db_col_int(s, 0);
	st->ops->finalize(s);
	return v;
}

/* ?N, bare ? (numbered after the largest so far, as SQLite does) and quoted ? */
static void
test_translate(void **state)
{
	char *out;
	int n;

	(void)state;
	assert_int_equal(
	        db_pg_translate("SELECT ?1, ?, '?', 'it''s ?', \"a?\" -- ?\n, ?", &out, &n), 0);
	assert_string_equal(out, "SELECT $1, $2, '?', 'it''s ?', \"a?\" -- ?\n, $3");
	assert_int_equal(n, 3);
	free(out);
	assert_int_equal(db_pg_translate("x = ?3 AND y = ? /* ? */ AND z = ?1", &out, &n), 0);
	assert_string_equal(out, "x = $3 AND y = $4 /* ? */ AND z = $1");
	assert_int_equal(n, 4);
	free(out);
	assert_int_equal(db_pg_translate("SELECT 1", &out, &n), 0);
	assert_string_equal(out, "SELECT 1");
	assert_int_equal(n, 0);
	free(out);
	/* Every statement of sql.h translates to a text with no ? left outside quotes. */
	for (int id = 0; id < SQL_NSTATEMENTS; id++) {
		assert_int_equal(db_pg_translate(sql_text[id], &out, &n), 0);
		assert_true(n <= 65535);
		free(out);
	}
}

/* The display form never holds the password, in a URI or a conninfo. */
static void
test_display(void **state)
{
	static const char *const targets[] = {
	        "postgresql://jobq:s3cret@db.example/jobq",
	        "postgres://jobq:s3cret@db.example:5433/jobq?sslmode=require",
	        "postgresql://db.example/jobq?password=s3cret&sslmode=disable",
	        "postgresql://db.example/jobq?pass%77ord=s3cret",
	        "host=db.example user=jobq password=s3cret dbname=jobq",
	        "host=db.example password='s3 cret' dbname=jobq",
	        "host=db.example sslpassword=s3cret sslkey=/k dbname=jobq",
	        "postgresql://db.example/jobq?sslpassword=s3cret",
	};
	char *d, *why;

	(void)state;
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		d = db_pg_display(targets[i], NULL);
		assert_non_null(d);
		assert_null(strstr(d, "s3cret"));
		assert_null(strstr(d, "s3 cret"));
		assert_non_null(strstr(d, "db.example"));
		free(d);
	}
	d = db_pg_display("postgresql://jobq:s3cret@db.example/jobq", NULL);
	assert_string_equal(d, "postgresql://jobq:***@db.example/jobq");
	free(d);
	d = db_pg_display("host=/run/pg dbname=jobq", NULL);
	assert_string_equal(d, "host=/run/pg dbname=jobq");
	free(d);
	/* A conninfo as given, its password shown as ***, as core/conninfo.c shows it in status;
	 * also one in a dbname that libpq expands. */
	d = db_pg_display("dbname=jobq password='s3 cret' host=/run/pg", NULL);
	assert_string_equal(d, "dbname=jobq password=*** host=/run/pg");
	free(d);
	d = db_pg_display("dbname='host=/run/pg password=s3cret' user=u", NULL);
	assert_null(strstr(d, "s3cret"));
	assert_non_null(strstr(d, "password=***"));
	free(d);
	assert_null(db_pg_display("host=x bogus=1", &why));
	assert_non_null(strstr(why, "bogus"));
	PQfreemem(why);
	/* libpq's complaint about a target does not quote its password back. */
	assert_null(db_pg_display("postgresql://u:s3cr%zzet@h/d", &why));
	assert_non_null(why);
	assert_null(strstr(why, "s3cr"));
	PQfreemem(why);
	assert_null(db_pg_display("host=h password='s3cret", &why));
	assert_null(strstr(why, "s3cret"));
	PQfreemem(why);
}

/* A URI with a password: connected, and st->path (what every message names) without it. */
static void
test_password_not_shown(void **state)
{
	char uri[512], sql[128];
	struct store *st = must_connect(), *st2;

	(void)state;
	snprintf(sql, sizeof(sql),
	         "DROP ROLE IF EXISTS jq_pw; CREATE ROLE jq_pw LOGIN "
	         "PASSWORD 'hunter2secret'");
	assert_int_equal(db_pg_exec(st, sql), 0);
	snprintf(uri, sizeof(uri), "postgresql://jq_pw:hunter2secret@/jobq?host=%s/sock", dir);
	assert_int_equal(connect_to(uri, 5000, &st2), 0);
	assert_null(strstr(st2->path, "hunter2secret"));
	assert_non_null(strstr(st2->path, "jq_pw:***@"));
	assert_string_equal(store_path(st2), st2->path);
	assert_int_equal(query_int(st2, "SELECT 7"), 7);
	/* Failures name the target without it too. */
	assert_int_not_equal(run(st2, "SELECT * FROM no_such_table"), DB_DONE);
	assert_null(strstr(st2->ops->errmsg(st2, SQLITE_ERROR), "hunter2"));
	disconnect(st2);
	assert_int_equal(db_pg_exec(st, "DROP ROLE jq_pw"), 0);
	disconnect(st);
}

/* Parameters as text, NULLs, the extremes of int64, booleans, doubles; reset and again. */
static void
test_statement(void **state)
{
	struct store *st = must_connect();
	struct db_stmt *s;
	char *text;
	int n;

	(void)state;
	assert_int_equal(db_pg_translate("SELECT ?1::bigint, ?2::text, ?3::bigint IS NULL, "
	                                 "?::text, ?1::bigint = 9223372036854775807, 1.5::float8",
	                                 &text, &n),
	                 0);
	assert_int_equal(n, 4);
	assert_int_equal(db_pg_prepare_text(st, text, &s), DB_OK);
	free(text);
	for (int round = 0; round < 2; round++) {
		int64_t big = round == 0 ? INT64_MAX : INT64_MIN;

		assert_int_equal(db_bind_int(s, 1, big), DB_OK);
		assert_int_equal(db_bind_text(s, 2, "h\xc3\xa9 'x'"), DB_OK);
		assert_int_equal(db_bind_null(s, 3), DB_OK);
		assert_int_equal(db_bind_int(s, 5, 1), SQLITE_RANGE);
		assert_int_equal(db_step(s), DB_ROW);
		assert_true(db_col_int(s, 0) == big);
		assert_string_equal(db_col_text(s, 1), "h\xc3\xa9 'x'");
		assert_int_equal(db_col_bytes(s, 1), 7);
		assert_int_equal(db_col_int(s, 2), 1); /* 't' */
		assert_true(db_col_is_null(s, 3));     /* never bound: NULL */
		assert_null(db_col_text(s, 3));
		assert_int_equal(db_col_int(s, 4), round == 0);
		assert_true(db_col_double(s, 5) == 1.5);
		assert_int_equal(db_col_int(s, 5), 1);
		assert_int_equal(db_step(s), DB_DONE);
		s->ops->reset(s);
	}
	st->ops->finalize(s);
	disconnect(st);
}

/* Text that is not UTF-8 (a command's raw output), which the server refuses in TEXT, is bound
 * with U+FFFD for each stray byte; well-formed text goes as it is. Rebinding, resetting and
 * finalizing free the copies (ASan). */
static void
test_text_not_utf8(void **state)
{
	struct store *st = must_connect();
	struct db_stmt *s;

	(void)state;
	assert_int_equal(run(st, "CREATE TEMP TABLE o (id bigint PRIMARY KEY, v text)"), DB_DONE);
	assert_int_equal(db_pg_prepare_text(st, "INSERT INTO o VALUES ($1, $2) RETURNING v", &s),
	                 DB_OK);
	db_bind_int(s, 1, 1);
	assert_int_equal(db_bind_text(s, 2, "first \x9b"), DB_OK);
	assert_int_equal(db_bind_text(s, 2, "out \xc2\x9b \x9b one\xff\xfe \xe2\x82"), DB_OK);
	assert_int_equal(db_step(s), DB_ROW);
	assert_string_equal(db_col_text(s, 0),
	                    "out \xc2\x9b \xef\xbf\xbd one\xef\xbf\xbd\xef\xbf\xbd "
	                    "\xef\xbf\xbd\xef\xbf\xbd");
	assert_int_equal(db_step(s), DB_DONE);
	s->ops->reset(s);
	db_bind_int(s, 1, 2);
	assert_int_equal(db_bind_text(s, 2, "h\xc3\xa9"), DB_OK);
	assert_int_equal(db_step(s), DB_ROW);
	assert_string_equal(db_col_text(s, 0), "h\xc3\xa9");
	s->ops->reset(s);
	db_bind_int(s, 1, 3);
	assert_int_equal(db_bind_text(s, 2, "left bound \xff"), DB_OK);
	st->ops->finalize(s);
	assert_int_equal(
	        query_int(st, "SELECT count(*) FROM o WHERE v LIKE '%' || chr(65533) || '%'"), 1);
	disconnect(st);
}

/* changes counts the rows of the last INSERT, UPDATE or DELETE; a SELECT leaves it. */
static void
test_changes_and_errors(void **state)
{
	struct store *st = must_connect();
	struct db_stmt *s;

	(void)state;
	assert_int_equal(run(st, "CREATE TEMP TABLE t (id bigint PRIMARY KEY, v text)"), DB_DONE);
	assert_int_equal(run(st, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, NULL)"), DB_DONE);
	assert_int_equal(st->ops->changes(st), 3);
	assert_int_equal(run(st, "UPDATE t SET v = 'c' WHERE id >= 2"), DB_DONE);
	assert_int_equal(st->ops->changes(st), 2);
	assert_int_equal(run(st, "SELECT * FROM t"), DB_DONE);
	assert_int_equal(st->ops->changes(st), 2);
	/* RETURNING: rows and a count. */
	assert_int_equal(db_pg_prepare_text(st, "DELETE FROM t WHERE id = $1 RETURNING v", &s),
	                 DB_OK);
	db_bind_int(s, 1, 3);
	assert_int_equal(db_step(s), DB_ROW);
	assert_string_equal(db_col_text(s, 0), "c");
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(st->ops->changes(st), 1);
	st->ops->finalize(s);
	/* The session: named jobq, a server-side end to a transaction left idle. */
	assert_int_equal(
	        db_pg_prepare_text(st,
	                           "SELECT current_setting('application_name'), "
	                           "current_setting('idle_in_transaction_session_timeout')",
	                           &s),
	        DB_OK);
	assert_int_equal(db_step(s), DB_ROW);
	assert_string_equal(db_col_text(s, 0), "jobq");
	assert_string_equal(db_col_text(s, 1), "10s");
	st->ops->finalize(s);
	/* Errors in SQLite's vocabulary. */
	assert_int_equal(run(st, "INSERT INTO t VALUES (1, 'dup')"), SQLITE_CONSTRAINT);
	assert_int_equal(store_errno(SQLITE_CONSTRAINT), -EEXIST);
	assert_non_null(strstr(st->ops->errmsg(st, SQLITE_CONSTRAINT), "duplicate key"));
	assert_int_equal(run(st, "SELECT * FROM no_such_table"), SQLITE_ERROR);
	assert_int_equal(store_fail(st, SQLITE_CONSTRAINT, "cannot enqueue into"), -EEXIST);
	assert_int_equal(db_pg_prepare_text(st, "SELEC 1", &s), SQLITE_ERROR);
	assert_null(s);
	/* A statement failing inside a transaction ends it (PostgreSQL): commit says so. */
	assert_int_equal(st->ops->begin(st), DB_OK);
	assert_int_equal(st->ops->in_tx(st), 1);
	assert_int_equal(run(st, "INSERT INTO t VALUES (1, 'dup')"), SQLITE_CONSTRAINT);
	assert_int_equal(st->ops->commit(st), SQLITE_ABORT);
	assert_int_equal(st->ops->in_tx(st), 0);
	assert_int_equal(query_int(st, "SELECT count(*) FROM t"), 2);
	disconnect(st);
}

/* The writers' lock: a second write transaction waits for the first to end, sees what it
 * committed, and fails busy after its busy timeout. A read transaction does not wait. */
static void
test_writers_serialised(void **state)
{
	struct store *a = must_connect(), *b, *c = must_connect();
	int status, waiting = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(connect_to(conninfo, 100, &b), 0);
	assert_int_equal(db_pg_exec(a, "DROP TABLE IF EXISTS lockt; CREATE TABLE lockt (v text)"),
	                 0);
	assert_int_equal(a->ops->begin(a), DB_OK);
	assert_int_equal(run(a, "INSERT INTO lockt VALUES ('a')"), DB_DONE);
	/* b times out on the lock: busy, and no transaction left open. */
	assert_int_equal(b->ops->begin(b), SQLITE_BUSY);
	assert_int_equal(store_errno(SQLITE_BUSY), -EBUSY);
	assert_int_equal(b->ops->in_tx(b), 0);
	assert_int_equal(b->ops->begin_read(b), DB_OK);
	assert_int_equal(query_int(b, "SELECT count(*) FROM lockt"), 0);
	assert_int_equal(b->ops->commit(b), DB_OK);
	/* A writer in another process waits, then sees the row committed before its turn. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *d;

		/* Not a connection of the parent: a new one (nothing crosses the fork). */
		if (connect_to(conninfo, 30000, &d) != 0 || d->ops->begin(d) != DB_OK)
			_exit(2);
		_exit(query_int(d, "SELECT count(*) FROM lockt") == 1 ? 0 : 1);
	}
	for (int i = 0; i < 3000 && !waiting; i++) {
		waiting = query_int(c, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
		                       "AND NOT granted") == 1;
		if (!waiting)
			usleep(10000);
	}
	assert_true(waiting);
	assert_int_equal(a->ops->commit(a), DB_OK);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(db_pg_exec(a, "DROP TABLE lockt"), 0);
	disconnect(a);
	disconnect(b);
	disconnect(c);
}

/* Wait (at most 10 s) for st's socket to become readable. */
static int
readable(struct store *st)
{
	struct pollfd p = {.fd = st->ops->wait_fd(st), .events = POLLIN};

	return p.fd >= 0 && poll(&p, 1, 10000) == 1;
}

/* NOTIFY from another connection, at its commit, moves data_version; one's own does not, nor
 * one rolled back. */
static void
test_notify(void **state)
{
	struct store *a = must_connect(), *b = must_connect();
	int64_t v0, v1;

	(void)state;
	v0 = a->ops->data_version(a);
	assert_true(a->ops->wait_fd(a) >= 0);
	assert_int_equal(a->ops->notify(a), DB_OK);
	assert_int_equal(b->ops->begin(b), DB_OK);
	assert_int_equal(b->ops->notify(b), DB_OK);
	assert_int_equal(b->ops->rollback(b), DB_OK);
	assert_int_equal(b->ops->begin(b), DB_OK);
	assert_int_equal(b->ops->notify(b), DB_OK);
	assert_int_equal(b->ops->commit(b), DB_OK);
	assert_true(readable(a));
	v1 = a->ops->data_version(a);
	/* Exactly one: a's own NOTIFY and b's rolled-back one do not count. */
	assert_true(v1 == v0 + 1);
	/* Outside a transaction: at once. */
	assert_int_equal(b->ops->notify(b), DB_OK);
	assert_true(readable(a));
	assert_true(a->ops->data_version(a) == v1 + 1);
	disconnect(a);
	disconnect(b);
}

/* A server that is not there: -EHOSTUNREACH (exit 69), naming the target; a database that is
 * not there: -ENOENT (66). */
static void
test_unreachable(void **state)
{
	struct store *st;
	char target[256];

	(void)state;
	snprintf(target, sizeof(target), "host=%s/nowhere port=5432 dbname=jobq", dir);
	assert_int_equal(connect_to(target, 5000, &st), -EHOSTUNREACH);
	assert_int_equal(exitcode_open(-EHOSTUNREACH), 69);
	assert_non_null(strstr(st->err, "cannot open database 'host="));
	assert_null(strchr(st->err, '\n'));
	disconnect(st);
	snprintf(target, sizeof(target), "postgresql://jobq:pw@/no_such_db?host=%s/sock", dir);
	assert_int_equal(connect_to(target, 5000, &st), -ENOENT);
	assert_non_null(strstr(st->err, "does not exist"));
	assert_null(strstr(st->err, ":pw@"));
	assert_null(strchr(st->err, '\n'));
	disconnect(st);
	assert_int_equal(connect_to("host=x bogus=1", 5000, &st), -EINVAL);
	disconnect(st);
}

/* A server that accepts the connection and never answers: given up at connect_timeout, as one
 * that cannot be reached (69), not waited for forever. */
static void
test_connect_timeout(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct store *st;
	char target[256], mute[80];
	int fd;

	(void)state;
	snprintf(mute, sizeof(mute), "%s/mute", dir);
	assert_true(mkdir(mute, 0700) == 0 || errno == EEXIST);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/.s.PGSQL.5432", mute);
	snprintf(target, sizeof(target), "host=%s/mute port=5432 dbname=jobq connect_timeout=1",
	         dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0); /* never accepted, never answered */
	assert_int_equal(connect_to(target, 5000, &st), -EHOSTUNREACH);
	assert_non_null(strstr(st->err, "timeout"));
	disconnect(st);
	close(fd);
	unlink(sa.sun_path);
	rmdir(mute);
}

/* A role at its connection limit: busy (53300, exit 75), a server briefly full; a role
 * without the right: SQLITE_PERM (42501). */
static void
test_limits_and_rights(void **state)
{
	struct store *su = must_connect(), *st;
	char target[256];

	(void)state;
	assert_int_equal(db_pg_exec(su, "DROP ROLE IF EXISTS jq_full; DROP ROLE IF EXISTS jq_user; "
	                                "CREATE ROLE jq_full LOGIN CONNECTION LIMIT 0; "
	                                "CREATE ROLE jq_user LOGIN"),
	                 0);
	snprintf(target, sizeof(target), "host=%s/sock user=jq_full dbname=jobq", dir);
	assert_int_equal(connect_to(target, 5000, &st), -EBUSY);
	assert_int_equal(exitcode_open(-EBUSY), 75);
	assert_non_null(strstr(st->err, "too many connections"));
	disconnect(st);
	snprintf(target, sizeof(target), "host=%s/sock user=jq_user dbname=jobq", dir);
	assert_int_equal(connect_to(target, 5000, &st), 0);
	assert_int_equal(run(st, "CREATE TABLE public.jq_forbidden (x int)"), SQLITE_PERM);
	assert_int_equal(store_errno(SQLITE_PERM), -EACCES);
	assert_non_null(strstr(st->ops->errmsg(st, SQLITE_PERM), "permission denied"));
	disconnect(st);
	assert_int_equal(db_pg_exec(su, "DROP ROLE jq_full; DROP ROLE jq_user"), 0);
	disconnect(su);
}

/* A session left idle inside a write transaction is ended by the server, which frees the
 * writers' lock for the others; its next call is busy, and the one after that connects again. */
static void
test_idle_in_tx_ended(void **state)
{
	struct store *a = must_connect(), *b = must_connect();
	char sql[128];
	int gone = 0;

	(void)state;
	/* Shorter than the driver's 10 s, for the test. */
	assert_int_equal(run(a, "SET idle_in_transaction_session_timeout = 100"), DB_DONE);
	assert_int_equal(a->ops->begin(a), DB_OK);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE pid = %d",
	         db_pg_backend_pid(a));
	for (int i = 0; i < 1000 && !gone; i++) {
		gone = query_int(b, sql) == 0;
		if (!gone)
			usleep(10000);
	}
	assert_true(gone);
	assert_int_equal(b->ops->begin(b), DB_OK); /* the lock is free */
	assert_int_equal(b->ops->commit(b), DB_OK);
	assert_int_equal(run(a, "SELECT 1"), SQLITE_BUSY);
	assert_int_equal(a->ops->rollback(a), DB_OK);
	assert_int_equal(run(a, "SELECT 1"), DB_DONE);
	disconnect(a);
	disconnect(b);
}

/* After a server restart: outside a transaction the next call connects again (statements
 * prepared again, LISTEN again); inside one, busy until rolled back. */
static void
test_reconnect(void **state)
{
	struct store *a = must_connect(), *b = must_connect(), *c;
	struct db_stmt *s;
	int64_t v;
	int rc;

	(void)state;
	assert_int_equal(db_pg_prepare_text(a, "SELECT $1::bigint + 1", &s), DB_OK);
	db_bind_int(s, 1, 41);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_col_int(s, 0), 42);
	s->ops->reset(s);
	v = a->ops->data_version(a);
	assert_int_equal(b->ops->begin(b), DB_OK);

	assert_int_equal(cluster("restart", NULL, 0), 0);

	/* a, outside a transaction: the first call may learn of the loss (busy); the next works,
	 * the statement prepared again on the new connection. */
	db_bind_int(s, 1, 1);
	rc = db_step(s);
	if (rc != DB_ROW) {
		assert_int_equal(rc, SQLITE_BUSY);
		s->ops->reset(s);
		db_bind_int(s, 1, 1);
		assert_int_equal(db_step(s), DB_ROW);
	}
	assert_int_equal(db_col_int(s, 0), 2);
	s->ops->reset(s);
	a->ops->finalize(s);
	/* Notifications may have been missed: data_version moved. */
	assert_true(a->ops->data_version(a) != v);
	/* b, inside one: busy, and busy again until it rolls back; then a new transaction. */
	assert_int_equal(run(b, "SELECT 1"), SQLITE_BUSY);
	assert_int_equal(b->ops->in_tx(b), 1);
	assert_int_equal(run(b, "SELECT 1"), SQLITE_BUSY);
	assert_int_equal(b->ops->rollback(b), DB_OK);
	assert_int_equal(b->ops->in_tx(b), 0);
	assert_int_equal(b->ops->begin(b), DB_OK);
	assert_int_equal(b->ops->commit(b), DB_OK);
	/* a LISTENs again: a NOTIFY from a new connection reaches it. */
	v = a->ops->data_version(a);
	c = must_connect();
	assert_int_equal(c->ops->notify(c), DB_OK);
	assert_true(readable(a));
	assert_true(a->ops->data_version(a) == v + 1);
	/* A write transaction begun after a loss nobody noticed yet: begin connects again by
	 * itself (nothing was done on the old connection). */
	assert_int_equal(cluster("restart", NULL, 0), 0);
	assert_int_equal(c->ops->begin(c), DB_OK);
	assert_int_equal(c->ops->commit(c), DB_OK);
	disconnect(a);
	disconnect(b);
	disconnect(c);
}

/* The ids a walk of type `type` from priority `top` gives, through the driver's paged
 * statement (SQL_TYPE_HEAD, sql_pg.h's SQL_PG_WALKED), stopping after `max` rows (0: all). */
static size_t
walk_ids(struct db_stmt *s, const char *type, int64_t top, size_t max, int64_t *ids)
{
	size_t n = 0;
	int rc;

	db_bind_text(s, 1, type);
	db_bind_int(s, 2, top);
	while ((max == 0 || n < max) && (rc = db_step(s)) == DB_ROW) {
		assert_string_equal(db_col_text(s, 0), type);
		ids[n++] = db_col_int(s, 1);
	}
	if (max == 0 || n < max)
		assert_int_equal(rc, DB_DONE);
	s->ops->reset(s);
	return n;
}

/* The same ids by one plain query of every row (the order the claim needs). */
static size_t
expect_ids(struct store *st, const char *type, int64_t top, int64_t *ids)
{
	struct db_stmt *s;
	size_t n = 0;

	assert_int_equal(db_pg_prepare_text(st,
	                                    "SELECT id FROM jobs WHERE state = 'queued' AND "
	                                    "blockers = 0 AND type = $1 AND priority <= $2 "
	                                    "ORDER BY priority DESC, run_at, id",
	                                    &s),
	                 DB_OK);
	db_bind_text(s, 1, type);
	db_bind_int(s, 2, top);
	while (db_step(s) == DB_ROW)
		ids[n++] = db_col_int(s, 0);
	st->ops->finalize(s);
	return n;
}

/* A walked statement read in pages (the first small, then keyset continuations) gives every
 * row of the statement read whole, in the same order, across pages that end inside a priority
 * level, between levels and among rows of one run_at (the id decides); a walk stopped early
 * and bound again starts over; blocked, running and other types' jobs are never among them. */
static void
test_walked_pages(void **state)
{
	enum { NJOBS = 700 };
	static int64_t got[NJOBS], want[NJOBS];
	struct store *admin = must_connect(), *st;
	char target[640];
	struct db_stmt *s;
	size_t n, m;

	(void)state;
	assert_int_equal(run(admin, "DROP DATABASE IF EXISTS jq_walk"), DB_DONE);
	assert_int_equal(run(admin, "CREATE DATABASE jq_walk"), DB_DONE);
	snprintf(target, sizeof(target), "%s dbname=jq_walk", conninfo);
	assert_int_equal(connect_to(target, 5000, &st), 0);
	assert_int_equal(st->ops->migrate(st), 0);
	/* 600 jobs of w over priorities 5, 0, -3 with run_at in 7 values (many ties), one in 13
	 * blocked, one in 17 running; 100 of another type between them. */
	assert_int_equal(run(st, "INSERT INTO jobs (type, priority, run_at, blockers, state) "
	                         "SELECT CASE WHEN i % 7 = 3 THEN 'v' ELSE 'w' END, "
	                         "(ARRAY[5, 0, -3])[i % 3 + 1], 1000 + (i * 31) % 7, "
	                         "(i % 13 = 0)::int, CASE WHEN i % 17 = 0 THEN 'running' ELSE "
	                         "'queued' END FROM generate_series(1, "
	                         "700) i"),
	                 DB_DONE);
	assert_int_equal(st->ops->prepare(st, SQL_TYPE_HEAD, &s), DB_OK);
	for (int round = 0; round < 2; round++) {
		int64_t top = round == 0 ? INT64_MAX : 4;

		n = walk_ids(s, "w", top, 0, got);
		m = expect_ids(st, "w", top, want);
		assert_true(m > 128 + 8); /* more than the first page and one more */
		assert_int_equal(n, m);
		assert_memory_equal(got, want, n * sizeof(got[0]));
	}
	/* Stopped after 3 rows, then after 200 (inside a continuation page): bound again, the
	 * walk starts at the first row. */
	assert_int_equal(walk_ids(s, "w", INT64_MAX, 3, got), 3);
	assert_int_equal(walk_ids(s, "w", INT64_MAX, 200, got), 200);
	assert_int_equal(walk_ids(s, "w", INT64_MAX, 0, got),
	                 m = expect_ids(st, "w", INT64_MAX, want));
	assert_memory_equal(got, want, m * sizeof(got[0]));
	/* A type with fewer rows than a page, and one with none. */
	n = walk_ids(s, "v", INT64_MAX, 0, got);
	assert_int_equal(n, expect_ids(st, "v", INT64_MAX, want));
	assert_memory_equal(got, want, n * sizeof(got[0]));
	assert_int_equal(walk_ids(s, "none", INT64_MAX, 0, got), 0);
	/* Exactly a first page: the continuation finds nothing more. */
	assert_int_equal(run(st, "INSERT INTO jobs (type) SELECT 'x' FROM generate_series(1, 8)"),
	                 DB_DONE);
	assert_int_equal(walk_ids(s, "x", INT64_MAX, 0, got), 8);
	st->ops->finalize(s);
	disconnect(st);
	assert_int_equal(run(admin, "DROP DATABASE jq_walk WITH (FORCE)"), DB_DONE);
	disconnect(admin);
}

static int
setup(void **state)
{
	(void)state;
	if (cluster("start", conninfo, sizeof(conninfo)) != 0 || conninfo[0] == '\0') {
		fprintf(stderr, "test-db-pg: %s start %s failed\n", script, dir);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	cluster("stop", NULL, 0);
	rmdir(dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_translate),
	        cmocka_unit_test(test_display),
	        cmocka_unit_test(test_password_not_shown),
	        cmocka_unit_test(test_statement),
	        cmocka_unit_test(test_text_not_utf8),
	        cmocka_unit_test(test_changes_and_errors),
	        cmocka_unit_test(test_writers_serialised),
	        cmocka_unit_test(test_notify),
	        cmocka_unit_test(test_unreachable),
	        cmocka_unit_test(test_connect_timeout),
	        cmocka_unit_test(test_limits_and_rights),
	        cmocka_unit_test(test_idle_in_tx_ended),
	        cmocka_unit_test(test_reconnect),
	        cmocka_unit_test(test_walked_pages),
	};
	const char *env = getenv("JOBQ_PG_CLUSTER"), *src = getenv("JOBQ_SRC");
	struct stat sb;

	if (env != NULL && *env != '\0')
		snprintf(script, sizeof(script), "%s", env);
	else
		snprintf(script, sizeof(script), "%s/tests/pg/cluster.sh", src != NULL ? src : ".");
	if (access(script, R_OK) != 0 || stat("/usr/lib/postgresql", &sb) != 0) {
		printf("test-db-pg: skipped: no PostgreSQL server or no %s\n", script);
		return 77;
	}
	snprintf(dir, sizeof(dir), "/tmp/jq-dbpg-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
