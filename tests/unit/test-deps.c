/*
 * Unit tests of dependencies, batch callbacks and schedules in the store (queue/deps.c,
 * queue/schedule.c and the triggers of schema version 3).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "schedule.h"
#include "store-fixture.h"

#define T0 1800000000000LL /* 2027-01-15T08:00:00Z */

static int64_t
add_after(struct fx *f, const char *type, const int64_t *after, size_t n, int64_t max_attempts,
          int64_t priority)
{
	struct job_spec spec = {.type = type,
	                        .after = after,
	                        .nafter = n,
	                        .max_attempts = max_attempts,
	                        .priority = priority};
	int64_t id = 0;

	if (store_enqueue(f->st, &f->cfg, &spec, &id, NULL) < 0)
		fail_msg("enqueue: %s", store_errmsg(f->st));
	return id;
}

static int64_t
claim_id(struct fx *f, struct job *job)
{
	if (fx_claim(f, job, 0) != 1)
		return 0;
	return job->id;
}

static void
fail_final(struct fx *f, const struct job *job)
{
	struct job_outcome o = {.error = "boom", .no_retry = 1};

	assert_int_equal(store_finish(f->st, &f->cfg, job->id, job->token, &o), JOB_FAILED);
}

static char *
error_of(struct fx *f, int64_t id)
{
	static char buf[256];
	struct job job;

	assert_int_equal(store_get(f->st, id, &job), 0);
	snprintf(buf, sizeof(buf), "%s", job.error != NULL ? job.error : "");
	job_release(&job);
	return buf;
}

/* A child runs only after all its parents succeeded. */
static void
test_after_succeeded(void **state)
{
	struct fx *f = *state;
	struct job job;
	int64_t a = fx_add(f, "t", NULL, NULL, 0), b = fx_add(f, "t", NULL, NULL, 0);
	int64_t parents[] = {a, b, a}; /* a twice counts once */
	int64_t c = add_after(f, "t", parents, 3, 0, 100);

	assert_int_equal(store_count_blocked(f->st), 1);
	assert_int_equal(claim_id(f, &job), a); /* c has the higher priority, but waits */
	fx_succeed(f, &job);
	job_release(&job);
	assert_int_equal(claim_id(f, &job), b);
	fx_succeed(f, &job);
	job_release(&job);
	assert_int_equal(store_count_blocked(f->st), 0);
	assert_int_equal(claim_id(f, &job), c);
	job_release(&job);
	/* a parent that has succeeded already does not block */
	{
		int64_t d = add_after(f, "t", &a, 1, 0, 0);

		assert_int_equal(fx_state(f, d), JOB_QUEUED);
		assert_int_equal(store_count_blocked(f->st), 0);
	}
}

struct parents {
	int64_t id[4];
	enum job_state st[4];
	int n;
};

static void
on_parent(int64_t id, enum job_state s, void *ctx)
{
	struct parents *p = ctx;

	p->id[p->n] = id;
	p->st[p->n++] = s;
}

/* A parent that fails for good cancels every queued descendant; retrying it brings them back. */
static void
test_failure_propagates_and_retry(void **state)
{
	struct fx *f = *state;
	struct job job;
	int64_t a = fx_add(f, "t", NULL, NULL, 0);
	int64_t b = add_after(f, "t", &a, 1, 0, 0);
	int64_t c = add_after(f, "t", &b, 1, 0, 0);
	int64_t other = fx_add(f, "u", NULL, NULL, 0);
	int64_t d = add_after(f, "t", &other, 1, 0, 0);
	struct job_filter by_id = {.ids = &a, .nids = 1, .state = -1};
	struct parents p = {.n = 0};

	assert_int_equal(store_job_parents(f->st, c, on_parent, &p), 1);
	assert_int_equal(p.id[0], b);
	assert_int_equal(p.st[0], JOB_QUEUED);
	assert_int_equal(claim_id(f, &job), a);
	fail_final(f, &job);
	job_release(&job);
	assert_int_equal(fx_state(f, b), JOB_CANCELLED);
	assert_int_equal(fx_state(f, c), JOB_CANCELLED);
	assert_string_equal(error_of(f, b), "dependency 1 failed");
	assert_string_equal(error_of(f, c), "dependency 1 failed");
	assert_int_equal(fx_state(f, d), JOB_QUEUED); /* another parent's child is untouched */
	/* A new child of a failed parent is cancelled at once. */
	{
		int64_t e = add_after(f, "t", &a, 1, 0, 0);

		assert_int_equal(fx_state(f, e), JOB_CANCELLED);
	}
	/* Retrying the parent brings the chain back, blocked again. */
	assert_int_equal(store_retry(f->st, &by_id), 1);
	assert_int_equal(fx_state(f, b), JOB_QUEUED);
	assert_int_equal(fx_state(f, c), JOB_QUEUED);
	assert_int_equal(store_count_blocked(f->st), 4); /* b, c, d, e */
}

/* Cancelling a queued parent cancels its children; retrying a child alone while its parent is
 * cancelled leaves it cancelled (it would wait forever). */
static void
test_cancel_propagates(void **state)
{
	struct fx *f = *state;
	int64_t a = fx_add(f, "t", NULL, NULL, 0);
	int64_t b = add_after(f, "t", &a, 1, 0, 0);
	struct job_filter fa = {.ids = &a, .nids = 1, .state = -1};
	struct job_filter fb = {.ids = &b, .nids = 1, .state = -1};

	assert_int_equal(store_cancel(f->st, &fa, NULL), 1);
	assert_int_equal(fx_state(f, b), JOB_CANCELLED);
	assert_string_equal(error_of(f, b), "dependency 1 cancelled");
	store_retry(f->st, &fb);
	assert_int_equal(fx_state(f, b), JOB_CANCELLED);
	assert_int_equal(store_count_blocked(f->st), 0);
}

static void
test_unknown_parent(void **state)
{
	struct fx *f = *state;
	int64_t bad = 999, id = 0;
	struct job_spec spec = {.type = "t", .after = &bad, .nafter = 1};

	assert_int_equal(store_enqueue(f->st, &f->cfg, &spec, &id, NULL), -EINVAL);
	assert_string_equal(store_errmsg(f->st), "--after: no job 999");
	/* nothing was written */
	{
		int64_t counts[JOB_NSTATES];
		struct job_filter all = {.state = -1};

		assert_int_equal(store_count(f->st, &all, counts), 0);
		assert_int_equal(counts[JOB_QUEUED], 0);
	}
}

/* Blocked jobs are not in the ready index: the claim's work does not grow with them. */
static void
test_claim_skips_blocked_flat(void **state)
{
	struct fx *f = *state;
	struct job job;
	uint64_t before, flat, blocked;
	int64_t p, r, token;

	fx_config(f, "{\"concurrency\": {\"global\": 4}}");
	p = fx_add(f, "t", NULL, NULL, 50);
	assert_int_equal(claim_id(f, &job), p); /* running: its children stay blocked */
	job_release(&job);
	r = fx_add(f, "t", NULL, NULL, 0);
	before = f->st->vm_steps;
	assert_int_equal(claim_id(f, &job), r);
	flat = f->st->vm_steps - before;
	token = job.token;
	job_release(&job);
	/* put the ready one back and add 3000 blocked jobs ahead of it in priority */
	{
		struct job_outcome o = {.temporary = 1, .requeue_now = 1};

		assert_int_equal(store_finish(f->st, &f->cfg, r, token, &o), JOB_QUEUED);
	}
	assert_int_equal(store_bulk_begin(f->st), 0);
	for (int i = 0; i < 3000; i++) {
		struct job_spec spec = {.type = "t", .after = &p, .nafter = 1, .priority = 100};

		assert_int_equal(store_bulk_add(f->st, &f->cfg, &spec, NULL, NULL), 0);
	}
	assert_int_equal(store_bulk_commit(f->st), 0);
	assert_int_equal(store_count_blocked(f->st), 3000);
	before = f->st->vm_steps;
	assert_int_equal(claim_id(f, &job), r);
	blocked = f->st->vm_steps - before;
	job_release(&job);
	if (blocked > flat + flat / 4)
		fail_msg("claim took %llu VM steps with 3000 blocked jobs, %llu without",
		         (unsigned long long)blocked, (unsigned long long)flat);
}

/* The callback job comes once, when the last job of the batch ends, with the counts. */
static void
test_batch_callback(void **state)
{
	struct fx *f = *state;
	struct job job;
	int64_t ids[3];
	struct job_filter done = {.type = "done", .state = -1};
	int64_t counts[JOB_NSTATES];

	fx_config(f, "{\"types\": {\"t\": {}, \"done\": {\"priority\": 7}}}");
	assert_int_equal(store_batch_on_done(f->st, &f->cfg, "b1", "nope", NULL), -EINVAL);
	assert_non_null(strstr(store_errmsg(f->st), "unknown type 'nope'"));
	assert_int_equal(store_bulk_begin(f->st), 0);
	assert_int_equal(store_batch_on_done(f->st, &f->cfg, "b1", "done", NULL), 0);
	for (int i = 0; i < 3; i++) {
		struct job_spec spec = {.type = "t", .batch = "b1", .max_attempts = 1};

		assert_int_equal(store_bulk_add(f->st, &f->cfg, &spec, &ids[i], NULL), 0);
	}
	assert_int_equal(store_bulk_commit(f->st), 0);
	assert_int_equal(claim_id(f, &job), ids[0]);
	fx_succeed(f, &job);
	job_release(&job);
	assert_int_equal(claim_id(f, &job), ids[1]);
	fail_final(f, &job);
	job_release(&job);
	assert_int_equal(store_count(f->st, &done, counts), 0);
	assert_int_equal(counts[JOB_QUEUED], 0);
	{
		struct job_filter last = {.ids = &ids[2], .nids = 1, .state = -1};

		assert_int_equal(store_cancel(f->st, &last, NULL), 1);
	}
	assert_int_equal(store_count(f->st, &done, counts), 0);
	assert_int_equal(counts[JOB_QUEUED], 1);
	assert_int_equal(claim_id(f, &job), ids[2] + 1);
	assert_string_equal(job.type, "done");
	assert_int_equal(job.priority, 7);
	assert_string_equal(job.payload,
	                    "{\"batch\":\"b1\",\"counts\":{\"succeeded\":1,\"failed\":1,"
	                    "\"cancelled\":1},\"total\":3}");
	fx_succeed(f, &job);
	job_release(&job);
	/* Nothing else ends the batch again: still one callback. */
	assert_int_equal(store_count(f->st, &done, counts), 0);
	assert_int_equal(counts[JOB_SUCCEEDED] + counts[JOB_QUEUED], 1);
}

static void
load_schedule(struct fx *f, const char *missed)
{
	char json[512];

	snprintf(json, sizeof(json),
	         "{\"types\": {\"poll\": {}}, \"schedules\": {\"p\": {\"every\": \"2s\", "
	         "\"type\": \"poll\", \"payload\": {\"x\": 1}, \"missed\": \"%s\", "
	         "\"missed_after\": \"1s\", \"missed_max\": 3}}}",
	         missed);
	fx_config(f, json);
}

static int64_t
polls(struct fx *f)
{
	int64_t counts[JOB_NSTATES];
	struct job_filter all = {.type = "poll", .state = -1};

	assert_int_equal(store_count(f->st, &all, counts), 0);
	return counts[JOB_QUEUED];
}

static int
run_at(struct fx *f, int64_t now, int *skipped)
{
	int fired = -1;
	int64_t next = 0;

	if (store_schedule_run(f->st, &f->cfg, &f->cfg.schedules[0], now, &fired, skipped, &next) <
	    0)
		fail_msg("schedule: %s", store_errmsg(f->st));
	return fired;
}

/* Once per tick, whatever the number of calls; missed ticks as configured. */
static void
test_schedule_ticks(void **state)
{
	struct fx *f = *state;
	struct schedule_state ss;
	int skipped = 0;
	struct job job;

	load_schedule(f, "skip");
	assert_int_equal(run_at(f, T0, NULL), 1); /* first sight of an interval: at once */
	assert_int_equal(run_at(f, T0, NULL), 0);
	assert_int_equal(run_at(f, T0 + 1999, NULL), 0);
	assert_int_equal(run_at(f, T0 + 2000, NULL), 1);
	assert_int_equal(run_at(f, T0 + 2500, NULL), 0);
	assert_int_equal(polls(f), 2);
	assert_int_equal(store_schedule_get(f->st, "p", &ss), 0);
	assert_int_equal(ss.last_tick, T0 + 2000);
	assert_int_equal(ss.fired_tick, T0 + 2000);
	assert_int_equal(fx_claim(f, &job, T0 + 2600), 1);
	assert_string_equal(job.payload, "{\"x\":1}");
	assert_string_equal(job.unique_key, "schedule:p:2027-01-15T08:00:00.000Z");
	job_release(&job);
	/* down for 10 s: ticks at +4 .. +12; +12 is on time, the others missed */
	assert_int_equal(run_at(f, T0 + 12100, &skipped), 1);
	assert_int_equal(skipped, 4);
	assert_int_equal(polls(f), 2);
	/* once: the newest missed tick, when none is on time */
	load_schedule(f, "once");
	assert_int_equal(run_at(f, T0 + 30000, &skipped), 1);
	assert_int_equal(skipped, 8);
	assert_int_equal(store_schedule_get(f->st, "p", &ss), 0);
	assert_int_equal(ss.fired_tick, T0 + 30000);
	/* all, bounded by missed_max: the newest 3 missed and the on-time one */
	load_schedule(f, "all");
	assert_int_equal(run_at(f, T0 + 50500, &skipped), 4);
	assert_int_equal(skipped, 6);
	assert_int_equal(polls(f), 7);
}

/* Two connections (two supervisors, or one restarted) at the same instant: the tick once. */
static void
test_schedule_two_connections(void **state)
{
	struct fx *f = *state;
	struct store *other = NULL;
	char err[512];
	int fired = -1;

	load_schedule(f, "all");
	assert_int_equal(store_open(f->db, NULL, &other, err, sizeof(err)), 0);
	assert_int_equal(run_at(f, T0, NULL), 1);
	assert_int_equal(
	        store_schedule_run(other, &f->cfg, &f->cfg.schedules[0], T0, &fired, NULL, NULL),
	        0);
	assert_int_equal(fired, 0);
	assert_int_equal(store_schedule_run(other, &f->cfg, &f->cfg.schedules[0], T0 + 2000, &fired,
	                                    NULL, NULL),
	                 0);
	assert_int_equal(fired, 1);
	assert_int_equal(run_at(f, T0 + 2000, NULL), 0);
	assert_int_equal(polls(f), 2);
	store_close(other);
}

/* A database of version 2 with queued jobs migrates: they are still claimable. */
static void
test_migrate_from_version_2(void **state)
{
	struct fx *f = *state;
	char err[512];
	struct job job;
	int64_t a = fx_add(f, "t", NULL, NULL, 0);

	store_close(f->st);
	{
		sqlite3 *db = NULL;

		assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, V3_DOWN, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(store_open(f->db, NULL, &f->st, err, sizeof(err)), 0);
	assert_int_equal(claim_id(f, &job), a);
	job_release(&job);
}

int
main(void)
{
	(void)fx_path;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_after_succeeded, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_failure_propagates_and_retry, fx_setup,
	                                        fx_teardown),
	        cmocka_unit_test_setup_teardown(test_cancel_propagates, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_unknown_parent, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_claim_skips_blocked_flat, fx_setup,
	                                        fx_teardown),
	        cmocka_unit_test_setup_teardown(test_batch_callback, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_schedule_ticks, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_schedule_two_connections, fx_setup,
	                                        fx_teardown),
	        cmocka_unit_test_setup_teardown(test_migrate_from_version_2, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
