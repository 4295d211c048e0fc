/*
 * Unit tests of libjobq, the public producer API (queue/jobq.h), through the shared library:
 * open (database created, configuration found beside it), enqueue with every option, the checks
 * a producer meets (payload, type, tags), all-or-nothing bulk enqueue, unique keys, the
 * wake-up byte written for a supervisor, and the messages of jobq_errmsg(). What was written
 * is read back with SQLite itself, as any reader of the documented schema would.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "jobq.h"

struct lfx {
	char dir[64];
	char db[PATH_MAX];
	char cfg[PATH_MAX];
};

static void
rmtree(const char *dir)
{
	char cmd[PATH_MAX];
	const char *names[] = {"q.db",      "q.db-wal",  "q.db-shm",
	                       "q.db.wake", "jobq.json", "other.json"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s/%s", dir, names[i]);
		unlink(cmd);
	}
	rmdir(dir);
}

static void
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int
setup(void **state)
{
	struct lfx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/jobq-libjobq-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->db, sizeof(f->db), "%s/q.db", f->dir);
	snprintf(f->cfg, sizeof(f->cfg), "%s/jobq.json", f->dir);
	unsetenv("JOBQ_CONFIG");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct lfx *f = *state;

	rmtree(f->dir);
	free(f);
	return 0;
}

/* One text value (NULL: SQL NULL) of a query on the database; "?" binds id. */
static char *
query(const struct lfx *f, const char *sql, int64_t id)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	char *v = NULL;

	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("query '%s': %s", sql, sqlite3_errmsg(db));
	if (sqlite3_bind_parameter_count(stmt) > 0)
		sqlite3_bind_int64(stmt, 1, id);
	if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		v = strdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

static void
assert_query(const struct lfx *f, const char *sql, int64_t id, const char *want)
{
	char *got = query(f, sql, id);

	if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0)
		fail_msg("%s [%lld]: got '%s', want '%s'", sql, (long long)id,
		         got != NULL ? got : "NULL", want != NULL ? want : "NULL");
	free(got);
}

static void
test_open_creates_and_enqueues(void **state)
{
	struct lfx *f = *state;
	struct jobq *q = NULL;
	struct stat sb;
	int64_t id = 0, id2 = 0;

	assert_int_equal(jobq_open(f->db, NULL, &q), 0);
	assert_non_null(q);
	assert_int_equal(stat(f->db, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* The built-in configuration declares no type: any type is taken. */
	assert_int_equal(jobq_enqueue(q, "enrich", "{\"url\": \"https://example.org\"}", NULL, &id),
	                 0);
	assert_true(id > 0);
	assert_string_equal(jobq_errmsg(q), "");
	assert_int_equal(jobq_enqueue(q, "enrich", NULL, NULL, &id2), 0);
	assert_int_equal(id2, id + 1);
	jobq_close(q);
	assert_query(f, "SELECT type || ' ' || state || ' ' || namespace FROM jobs WHERE id = ?",
	             id, "enrich queued default");
	assert_query(f, "SELECT payload FROM jobs WHERE id = ?", id,
	             "{\"url\": \"https://example.org\"}");
	assert_query(f, "SELECT payload FROM jobs WHERE id = ?", id2, "{}");
	jobq_close(NULL);
}

static void
test_options(void **state)
{
	struct lfx *f = *state;
	const char *tags[] = {"gpu", "api:2"};
	struct jobq_enqueue_opts o = {.namespace = "acme",
	                              .priority = 7,
	                              .run_at_ms = 4102444800000,
	                              .max_attempts = 9,
	                              .timeout_ms = 60000,
	                              .resources = tags,
	                              .nresources = 2,
	                              .unique_key = "k1",
	                              .batch = "nightly"};
	struct jobq *q = NULL;
	int64_t id = 0, again = 0;

	write_file(f->cfg, "{\"concurrency\": {\"resources\": {\"gpu\": 1, \"api\": 4}}, "
	                   "\"types\": {\"t\": {\"max_attempts\": 2, \"priority\": 3}}}");
	assert_int_equal(jobq_open(f->db, NULL, &q), 0);
	assert_int_equal(jobq_enqueue(q, "t", "[1, 2]", &o, &id), 0);
	assert_query(f,
	             "SELECT namespace || ' ' || priority || ' ' || run_at || ' ' || "
	             "max_attempts || ' ' || timeout || ' ' || resources || ' ' || unique_key || "
	             "' ' || batch FROM jobs WHERE id = ?",
	             id, "acme 7 4102444800000 9 60000 [\"api:2\",\"gpu\"] k1 nightly");
	/* The same unique key while the job lives: its id again, nothing added. */
	assert_int_equal(jobq_enqueue(q, "t", "{}", &o, &again), 0);
	assert_int_equal(again, id);
	assert_query(f, "SELECT count(*) FROM jobs", 0, "1");
	/* Defaults come from the type. */
	assert_int_equal(jobq_enqueue(q, "t", NULL, NULL, &id), 0);
	assert_query(f, "SELECT priority || ' ' || max_attempts FROM jobs WHERE id = ?", id, "3 2");
	jobq_close(q);
}

static void
test_refusals(void **state)
{
	struct lfx *f = *state;
	const char *bad_tag[] = {"Not A Tag"}, *unknown[] = {"tpu"};
	struct jobq_enqueue_opts o = {.resources = bad_tag, .nresources = 1};
	struct jobq *q = NULL;
	int64_t id = -1;

	write_file(f->cfg, "{\"concurrency\": {\"resources\": {\"gpu\": 1}}, "
	                   "\"types\": {\"enrich\": {}}}");
	assert_int_equal(jobq_open(f->db, NULL, &q), 0);
	assert_int_equal(jobq_enqueue(q, "enrich", "{\"a\": ", NULL, &id), -EINVAL);
	assert_string_equal(jobq_errmsg(q), "payload is not valid JSON (at byte 6)");
	assert_int_equal(jobq_enqueue(q, "enrich", "{\"a\": \"x\\u0000y\"}", NULL, &id), -EINVAL);
	assert_non_null(strstr(jobq_errmsg(q), "payload.a: contains \\u0000"));
	assert_int_equal(jobq_enqueue(q, "enrch", "{}", NULL, &id), -EINVAL);
	assert_non_null(strstr(jobq_errmsg(q), "unknown type 'enrch', did you mean 'enrich'?"));
	assert_int_equal(jobq_enqueue(q, "enrich", "{}", &o, &id), -EINVAL);
	assert_string_equal(jobq_errmsg(q), "invalid resource tag 'Not A Tag' (expected NAME or "
	                                    "NAME:N)");
	o.resources = unknown;
	assert_int_equal(jobq_enqueue(q, "enrich", "{}", &o, &id), -EINVAL);
	assert_non_null(strstr(jobq_errmsg(q), "unknown resource 'tpu'"));
	assert_int_equal(id, -1);
	assert_query(f, "SELECT count(*) FROM jobs", 0, "0");
	/* A success clears the message. */
	assert_int_equal(jobq_enqueue(q, "enrich", "{}", NULL, &id), 0);
	assert_string_equal(jobq_errmsg(q), "");
	assert_int_equal(jobq_enqueue(NULL, "enrich", "{}", NULL, &id), -EINVAL);
	jobq_close(q);
}

static void
test_enqueue_many(void **state)
{
	struct lfx *f = *state;
	struct jobq_enqueue_opts hi = {.priority = 5, .batch = "b1"};
	struct jobq_item items[3] = {
	        {.type = "t", .payload = "{\"n\": 1}"},
	        {.type = "t", .payload = "{\"n\": 2}", .opts = &hi},
	        {.type = "t", .payload = NULL},
	};
	struct jobq *q = NULL;
	int64_t first = 0, last = 0;

	assert_int_equal(jobq_open(f->db, NULL, &q), 0);
	assert_int_equal(jobq_enqueue_many(q, items, 3, &first, &last), 0);
	assert_int_equal(last, first + 2);
	assert_query(f, "SELECT payload || ' ' || priority || ' ' || batch FROM jobs WHERE id = ?",
	             first + 1, "{\"n\": 2} 5 b1");
	/* One bad item: nothing of the call is written, and the message names the item. */
	items[1].payload = "{nope";
	first = last = 0;
	assert_int_equal(jobq_enqueue_many(q, items, 3, &first, &last), -EINVAL);
	assert_string_equal(jobq_errmsg(q), "item 1: payload is not valid JSON (at byte 1)");
	assert_int_equal(first, 0);
	assert_query(f, "SELECT count(*) FROM jobs", 0, "3");
	/* Zero items is nothing to do; the handle works on. */
	assert_int_equal(jobq_enqueue_many(q, NULL, 0, NULL, NULL), 0);
	items[1].payload = "{}";
	assert_int_equal(jobq_enqueue_many(q, items, 3, &first, &last), 0);
	assert_query(f, "SELECT count(*) FROM jobs", 0, "6");
	jobq_close(q);
}

/* A supervisor holding DB.wake open hears one 'e' per job and one 'E' per bulk enqueue. */
static void
test_wakes_supervisor(void **state)
{
	struct lfx *f = *state;
	struct jobq_item items[2] = {{.type = "t"}, {.type = "t"}};
	struct jobq *q = NULL;
	char fifo[PATH_MAX + 8], buf[8];
	int fd;

	assert_int_equal(jobq_open(f->db, NULL, &q), 0);
	/* No supervisor (no FIFO): the enqueue neither blocks nor fails. */
	assert_int_equal(jobq_enqueue(q, "t", NULL, NULL, NULL), 0);
	snprintf(fifo, sizeof(fifo), "%s.wake", f->db);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_true((fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) >= 0);
	assert_int_equal(jobq_enqueue(q, "t", NULL, NULL, NULL), 0);
	assert_int_equal(jobq_enqueue_many(q, items, 2, NULL, NULL), 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "eE", 2);
	close(fd);
	jobq_close(q);
}

static void
test_open_failures(void **state)
{
	struct lfx *f = *state;
	struct jobq *q = (struct jobq *)1;
	char path[PATH_MAX + 16];

	/* A configuration that is not valid: refused, with the file named. */
	write_file(f->cfg, "{\"concurrency\": {\"global\": 0}}");
	assert_true(jobq_open(f->db, NULL, &q) < 0);
	assert_null(q);
	assert_non_null(strstr(jobq_errmsg(NULL), "config '"));
	assert_non_null(strstr(jobq_errmsg(NULL), "concurrency.global"));
	/* An explicit configuration wins over the one beside the database. */
	snprintf(path, sizeof(path), "%s/other.json", f->dir);
	write_file(path, "{\"types\": {\"only\": {}}}");
	assert_int_equal(jobq_open(f->db, path, &q), 0);
	assert_int_equal(jobq_enqueue(q, "other", NULL, NULL, NULL), -EINVAL);
	jobq_close(q);
	unlink(f->cfg);
	/* A folder that does not exist. */
	snprintf(path, sizeof(path), "%s/missing/q.db", f->dir);
	assert_int_equal(jobq_open(path, NULL, &q), -ENOENT);
	assert_null(q);
	assert_non_null(strstr(jobq_errmsg(NULL), "cannot open database '"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_open_creates_and_enqueues, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_options, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_enqueue_many, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wakes_supervisor, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_open_failures, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
