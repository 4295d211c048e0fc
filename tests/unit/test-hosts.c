/* Unit tests of queue/hosts.c and schema version 4: the hosts table's heartbeats, its listing
 * with the jobs running on each host, jobs.host set by the claim and kept after the end, and
 * the migration of a version 3 database. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store-fixture.h"
#include "store_hosts.h"

#define NOW 1700000000000LL

/* What store_hosts_list gave, copied. */
struct seen {
	int n;
	char id[4][80];
	struct store_host h[4];
};

static int
collect(const struct store_host *h, void *ctx)
{
	struct seen *s = ctx;

	if (s->n >= 4)
		return -E2BIG;
	snprintf(s->id[s->n], sizeof(s->id[0]), "%s", h->id);
	s->h[s->n] = *h;
	s->h[s->n].id = s->id[s->n];
	s->h[s->n].version = NULL;
	s->n++;
	return 0;
}

static void
test_beat_list_remove(void **state)
{
	struct fx *f = *state;
	struct store_host a = {.id = "web-2",
	                       .pid = 42,
	                       .started_at = NOW,
	                       .seen_at = NOW,
	                       .workers = 3,
	                       .version = "1.0"};
	struct store_host b = {
	        .id = "web-1", .pid = 7, .started_at = NOW, .seen_at = NOW, .workers = 1};
	struct seen s = {0};

	assert_int_equal(store_hosts_list(f->st, collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(store_host_beat(f->st, &a), 0);
	assert_int_equal(store_host_beat(f->st, &b), 0);
	/* A later beat refreshes the row; no second row. */
	a.seen_at = NOW + 5000;
	a.workers = 4;
	assert_int_equal(store_host_beat(f->st, &a), 0);
	assert_int_equal(store_hosts_list(f->st, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.h[0].id, "web-1"); /* in id order */
	assert_string_equal(s.h[1].id, "web-2");
	assert_int_equal(s.h[1].pid, 42);
	assert_int_equal(s.h[1].workers, 4);
	assert_int_equal(s.h[1].seen_at, NOW + 5000);
	assert_int_equal(s.h[1].started_at, NOW);
	assert_int_equal(s.h[1].running, 0);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM hosts WHERE version = '1.0'"), 1);
	/* Only the pid that holds the row removes it. */
	assert_int_equal(store_host_remove(f->st, "web-2", 43), 0);
	assert_int_equal(store_host_remove(f->st, "web-2", 42), 1);
	assert_int_equal(store_host_remove(f->st, "web-2", 42), 0);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM hosts"), 1);
}

/* The claim records the host id; the listing counts each host's running jobs; jobs.host stays
 * after the job ends. */
static void
test_claim_records_host(void **state)
{
	struct fx *f = *state;
	struct store_host h = {.id = "gpu-1", .pid = 1, .started_at = NOW, .seen_at = NOW};
	struct claim_req req = {.host = "gpu-1"};
	struct seen s = {0};
	struct job j1, j2, j3, got;

	fx_add(f, "a", NULL, NULL, 0);
	fx_add(f, "a", NULL, NULL, 0);
	fx_add(f, "a", NULL, NULL, 0);
	fx_config(f, "{\"concurrency\": {\"global\": 3}}");
	assert_int_equal(store_host_beat(f->st, &h), 0);
	assert_int_equal(store_claim(f->st, &f->cfg, &req, &j1, NULL), 1);
	assert_int_equal(store_claim(f->st, &f->cfg, &req, &j2, NULL), 1);
	assert_int_equal(fx_claim(f, &j3, 0), 1); /* an external claimer without a host */
	assert_string_equal(j1.host, "gpu-1");
	assert_null(j3.host);
	assert_int_equal(store_hosts_list(f->st, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.h[0].running, 2);
	fx_succeed(f, &j1);
	s.n = 0;
	assert_int_equal(store_hosts_list(f->st, collect, &s), 0);
	assert_int_equal(s.h[0].running, 1);
	assert_int_equal(fx_state(f, j1.id), JOB_SUCCEEDED);
	assert_int_equal(store_get(f->st, j1.id, &got), 0);
	assert_string_equal(got.host, "gpu-1");
	job_release(&got);
	job_release(&j1);
	job_release(&j2);
	job_release(&j3);
}

/* A callback that stops the walk: its value comes back. */
static int
stop(const struct store_host *h, void *ctx)
{
	(void)h;
	(void)ctx;
	return 7;
}

static void
test_list_stops(void **state)
{
	struct fx *f = *state;
	struct store_host h = {.id = "x", .pid = 1, .started_at = NOW, .seen_at = NOW};

	assert_int_equal(store_host_beat(f->st, &h), 0);
	assert_int_equal(store_hosts_list(f->st, stop, NULL), 7);
	/* The statement was reset: the next call works. */
	assert_int_equal(store_host_beat(f->st, &h), 0);
}

/* A version 3 database with a job is migrated to version 4: the job is kept, host is NULL. */
static void
test_migrate_from_version_3(void **state)
{
	struct fx *f = *state;
	const char *path = fx_path(f, "v3.db");
	struct store *st = NULL;
	struct job got;
	char err[512];
	int64_t id;
	struct job_spec spec = {.type = "a"};

	assert_int_equal(store_open(path, NULL, &st, err, sizeof(err)), 0);
	assert_int_equal(store_enqueue(st, &f->cfg, &spec, &id, NULL), 0);
	store_close(st);
	sql(path, V4_DOWN);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'hosts'"),
	                 0);
	assert_int_equal(store_open(path, NULL, &st, err, sizeof(err)), 0);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), 4);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'hosts'"),
	                 1);
	assert_int_equal(store_get(st, id, &got), 0);
	assert_null(got.host);
	job_release(&got);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_beat_list_remove, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_claim_records_host, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_list_stops, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_migrate_from_version_3, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
