/*
 * Unit tests of the claim policy (queue/claim.c) against a real SQLite file: the global and
 * per-type limits, resource pools taken all or nothing, one running job per namespace for
 * singleton types, pauses of types, pools and everything, run_at, priority then age, unique
 * keys, fencing tokens and the next_run_at a claim reports. Also the rules the claim shares:
 * pool usage (store_pool_usage) and quota pauses that never shorten a pause in force.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "internal.h"
#include "store-fixture.h"

/* Claim at now with req (types may be NULL); returns 1/0 and fills job. */
static int
claim_at(struct fx *f, int64_t now, const char *const *types, size_t ntypes, struct job *job,
         int64_t *next)
{
	struct claim_req req = {.types = types, .ntypes = ntypes, .now = now};
	int r = store_claim(f->st, &f->cfg, &req, job, next);

	if (r < 0)
		fail_msg("claim: %s", store_errmsg(f->st));
	return r;
}

/* Claim one job that must be there; returns its id (the job is finished later by id). */
static int64_t
take(struct fx *f, struct job *job)
{
	assert_int_equal(fx_claim(f, job, 0), 1);
	assert_int_equal(job->state, JOB_RUNNING);
	return job->id;
}

/* Assert that nothing is claimable now. */
static void
none(struct fx *f)
{
	struct job job;

	assert_int_equal(fx_claim(f, &job, 0), 0);
}

static void
test_global_limit(void **state)
{
	struct fx *f = *state;
	struct job a, b, c;

	fx_config(f, "{\"concurrency\": {\"global\": 2}, \"types\": {\"t\": {}}}");
	for (int i = 0; i < 3; i++)
		fx_add(f, "t", NULL, NULL, 0);
	take(f, &a);
	take(f, &b);
	none(f);
	fx_succeed(f, &a);
	take(f, &c); /* the finish gave its place back */
	none(f);
	job_release(&a);
	job_release(&b);
	job_release(&c);
}

static void
test_type_limits(void **state)
{
	struct fx *f = *state;
	const char *only_a[] = {"a"};
	struct job j[3], extra;
	int na = 0, nb = 0;

	fx_config(f, "{\"concurrency\": {\"global\": 10, \"types\": {\"a\": 1, \"b\": 2}}}");
	for (int i = 0; i < 3; i++) {
		fx_add(f, "a", NULL, NULL, 1); /* a first in line */
		fx_add(f, "b", NULL, NULL, 0);
	}
	for (int i = 0; i < 3; i++) {
		take(f, &j[i]);
		na += strcmp(j[i].type, "a") == 0;
		nb += strcmp(j[i].type, "b") == 0;
	}
	assert_int_equal(na, 1);
	assert_int_equal(nb, 2);
	none(f);
	/* A claimer of type a only: a is at its limit. */
	assert_int_equal(claim_at(f, 0, only_a, 1, &extra, NULL), 0);
	for (int i = 0; i < 3; i++) {
		if (strcmp(j[i].type, "a") == 0)
			fx_succeed(f, &j[i]);
	}
	assert_int_equal(claim_at(f, 0, only_a, 1, &extra, NULL), 1);
	assert_string_equal(extra.type, "a");
	job_release(&extra);
	for (int i = 0; i < 3; i++)
		job_release(&j[i]);
}

/* A job takes its type's tags and its own, all of them or none: a job whose pools do not all
 * have room is passed over without holding any unit, and the next one that fits runs. */
static void
test_pools_all_or_nothing(void **state)
{
	struct fx *f = *state;
	struct job j1, j2, j3;
	int64_t used[2] = {-1, -1}, id2;

	fx_config(f, "{\"concurrency\": {\"global\": 10, \"resources\": {\"cpu\": 4, \"gpu\": 2}}, "
	             "\"types\": {\"g\": {\"resources\": [\"gpu\"]}, \"c\": {}}}");
	assert_string_equal(f->cfg.pools[0].name, "cpu");
	fx_add(f, "g", NULL, "cpu:3", 2);       /* gpu 1 + cpu 3 */
	id2 = fx_add(f, "g", NULL, "cpu:2", 1); /* gpu fits, cpu does not */
	fx_add(f, "g", NULL, NULL, 0);          /* gpu 1 */
	take(f, &j1);
	assert_string_equal(j1.units, "[\"cpu:3\",\"gpu\"]");
	take(f, &j2);
	assert_true(j2.id != id2);
	assert_string_equal(j2.units, "[\"gpu\"]");
	assert_int_equal(fx_state(f, id2), JOB_QUEUED);
	/* The passed-over job held nothing: usage is what the two running jobs took. */
	assert_int_equal(store_pool_usage(f->st, &f->cfg, used), 0);
	assert_int_equal(used[0], 3);
	assert_int_equal(used[1], 2);
	/* A job with cpu only still fits the cpu left; gpu is full for every g job. */
	fx_add(f, "c", NULL, "cpu", 0);
	take(f, &j3);
	assert_string_equal(j3.type, "c");
	none(f);
	fx_succeed(f, &j1);
	job_release(&j1);
	take(f, &j1); /* now cpu 1 + 2 and gpu 1 + 1 fit */
	assert_int_equal(j1.id, id2);
	assert_int_equal(store_pool_usage(f->st, &f->cfg, used), 0);
	assert_int_equal(used[0], 3);
	assert_int_equal(used[1], 2);
	job_release(&j1);
	job_release(&j2);
	job_release(&j3);
}

/* Usage counts what running rows hold, as the claim counts it: a malformed units column (one
 * written by hand) holds nothing, and tags of pools not declared are ignored. */
static void
test_pool_usage(void **state)
{
	struct fx *f = *state;
	struct job a, b;
	int64_t used[1] = {-1};

	fx_config(f, "{\"concurrency\": {\"global\": 10, \"resources\": {\"api\": 3}}, "
	             "\"types\": {\"t\": {}}}");
	assert_int_equal(store_pool_usage(f->st, &f->cfg, used), 0);
	assert_int_equal(used[0], 0);
	fx_add(f, "t", NULL, "api:2", 0);
	fx_add(f, "t", NULL, NULL, 0);
	take(f, &a);
	take(f, &b);
	assert_int_equal(store_pool_usage(f->st, &f->cfg, used), 0);
	assert_int_equal(used[0], 2);
	sql(f->db, "UPDATE jobs SET units = '[\"api:1\",\"other:5\"]' WHERE id = 2;");
	assert_int_equal(store_pool_usage(f->st, &f->cfg, used), 0);
	assert_int_equal(used[0], 3);
	sql(f->db, "UPDATE jobs SET units = 'not json' WHERE id = 2;");
	assert_int_equal(store_pool_usage(f->st, &f->cfg, used), 0);
	assert_int_equal(used[0], 2);
	job_release(&a);
	job_release(&b);
}

static void
test_singleton_namespace(void **state)
{
	struct fx *f = *state;
	struct job a, b, c;
	int64_t first, second, other;

	fx_config(f, "{\"concurrency\": {\"global\": 10}, "
	             "\"types\": {\"s\": {\"singleton\": \"namespace\"}, \"p\": {}}}");
	first = fx_add(f, "s", "acme", NULL, 0);
	second = fx_add(f, "s", "acme", NULL, 0);
	other = fx_add(f, "s", "globex", NULL, 0);
	assert_int_equal(take(f, &a), first);
	assert_int_equal(take(f, &b), other); /* acme is busy */
	none(f);
	/* Not singleton: the same namespace runs twice. */
	fx_add(f, "p", "acme", NULL, 0);
	fx_add(f, "p", "acme", NULL, 0);
	take(f, &c);
	job_release(&c);
	take(f, &c);
	job_release(&c);
	none(f);
	fx_succeed(f, &a);
	assert_int_equal(take(f, &c), second);
	job_release(&a);
	job_release(&b);
	job_release(&c);
}

static void
test_pauses(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now_ms(), next = -1, ga, b;
	struct job job;

	fx_config(f, "{\"concurrency\": {\"global\": 10, \"resources\": {\"gpu\": 4}}, "
	             "\"types\": {\"a\": {}, \"b\": {}, \"g\": {\"resources\": [\"gpu\"]}}}");
	fx_add(f, "a", NULL, NULL, 9);
	ga = fx_add(f, "a", NULL, "gpu", 8);
	fx_add(f, "g", NULL, NULL, 7);
	b = fx_add(f, "b", NULL, NULL, 0);
	/* Everything paused until now + 60 s: nothing, and the claim says when to look again. */
	assert_int_equal(store_pause(f->st, PAUSE_ALL, NULL, now + 60000, "all"), 0);
	assert_int_equal(claim_at(f, now, NULL, 0, &job, &next), 0);
	assert_int_equal(next, now + 60000);
	/* ... and claimable once it ended. */
	assert_int_equal(claim_at(f, now + 60001, NULL, 0, &job, NULL), 1);
	assert_string_equal(job.type, "a");
	sql(f->db, "UPDATE jobs SET state = 'queued', token = NULL, units = NULL;");
	job_release(&job);
	assert_int_equal(store_resume(f->st, PAUSE_ALL, NULL), 1);
	/* Type a and pool gpu paused (until resumed): only b runs. */
	assert_int_equal(store_pause(f->st, PAUSE_TYPE, "a", 0, NULL), 0);
	assert_int_equal(store_pause(f->st, PAUSE_RESOURCE, "gpu", 0, NULL), 0);
	assert_int_equal(claim_at(f, now + 60001, NULL, 0, &job, &next), 1);
	assert_int_equal(job.id, b);
	assert_int_equal(next, 0); /* paused until resumed: no time to wake up at */
	job_release(&job);
	none(f);
	/* Type a resumed: its job without gpu runs, the one with gpu waits for the pool. */
	assert_int_equal(store_resume(f->st, PAUSE_TYPE, "a"), 1);
	take(f, &job);
	assert_string_equal(job.type, "a");
	assert_true(job.id != ga);
	job_release(&job);
	none(f);
	assert_int_equal(store_resume(f->st, PAUSE_RESOURCE, "gpu"), 1);
	assert_int_equal(take(f, &job), ga);
	job_release(&job);
	take(f, &job);
	assert_string_equal(job.type, "g");
	job_release(&job);
}

static void
test_run_at_and_next(void **state)
{
	struct fx *f = *state;
	struct job_spec later = {.type = "t"}, sooner = {.type = "t", .priority = -5};
	int64_t now = time_now_ms(), next = -1, id_later, id_sooner;
	struct job job;

	fx_config(f, "{\"concurrency\": {\"global\": 10}, \"types\": {\"t\": {}}}");
	assert_int_equal(claim_at(f, now, NULL, 0, &job, &next), 0);
	assert_int_equal(next, 0); /* nothing queued */
	later.run_at = now + 20000;
	sooner.run_at = now + 10000;
	assert_int_equal(store_enqueue(f->st, &f->cfg, &later, &id_later, NULL), 0);
	assert_int_equal(store_enqueue(f->st, &f->cfg, &sooner, &id_sooner, NULL), 0);
	/* Neither is due: the earliest run_at, whatever its priority. */
	assert_int_equal(claim_at(f, now, NULL, 0, &job, &next), 0);
	assert_int_equal(next, now + 10000);
	/* A pause ending earlier comes first. */
	assert_int_equal(store_pause(f->st, PAUSE_TYPE, "other", now + 5000, NULL), 0);
	assert_int_equal(claim_at(f, now, NULL, 0, &job, &next), 0);
	assert_int_equal(next, now + 5000);
	assert_int_equal(claim_at(f, now + 10000, NULL, 0, &job, &next), 1);
	assert_int_equal(job.id, id_sooner);
	job_release(&job);
	assert_int_equal(claim_at(f, now + 19999, NULL, 0, &job, &next), 0);
	assert_int_equal(next, now + 20000);
	assert_int_equal(claim_at(f, now + 20000, NULL, 0, &job, NULL), 1);
	assert_int_equal(job.id, id_later);
	job_release(&job);
}

/* Higher priority first, across types; within a priority the earlier run_at, then the id. */
static void
test_priority_then_age(void **state)
{
	struct fx *f = *state;
	struct job_spec old = {.type = "b", .run_at = 1000};
	int64_t now = time_now_ms(), ids[5], id_old, order[6];
	struct job job;

	fx_config(f, "{\"concurrency\": {\"global\": 10}, \"types\": {\"a\": {}, \"b\": {}}}");
	ids[0] = fx_add(f, "a", NULL, NULL, 0);
	ids[1] = fx_add(f, "b", NULL, NULL, 5);
	ids[2] = fx_add(f, "a", NULL, NULL, 5);
	ids[3] = fx_add(f, "b", NULL, NULL, -1);
	ids[4] = fx_add(f, "a", NULL, NULL, 0);
	assert_int_equal(store_enqueue(f->st, &f->cfg, &old, &id_old, NULL), 0); /* due long ago */
	for (int i = 0; i < 6; i++) {
		assert_int_equal(claim_at(f, now + 60000, NULL, 0, &job, NULL), 1);
		order[i] = job.id;
		job_release(&job);
	}
	assert_int_equal(order[0], ids[1]);
	assert_int_equal(order[1], ids[2]);
	assert_int_equal(order[2], id_old);
	assert_int_equal(order[3], ids[0]);
	assert_int_equal(order[4], ids[4]);
	assert_int_equal(order[5], ids[3]);
}

/* A unique key holds while its job is queued or running, and is free once it finished. */
static void
test_unique_keys(void **state)
{
	struct fx *f = *state;
	struct job_spec spec = {.type = "t", .unique_key = "k"};
	int64_t id, again = 0, later = 0;
	int existing = -1;
	struct job job;

	fx_config(f, "{\"concurrency\": {\"global\": 10}, \"types\": {\"t\": {}}}");
	assert_int_equal(store_enqueue(f->st, &f->cfg, &spec, &id, &existing), 0);
	assert_int_equal(existing, 0);
	take(f, &job);
	assert_int_equal(store_enqueue(f->st, &f->cfg, &spec, &again, &existing), 0);
	assert_int_equal(existing, 1);
	assert_int_equal(again, id);
	none(f);
	fx_succeed(f, &job);
	job_release(&job);
	assert_int_equal(store_enqueue(f->st, &f->cfg, &spec, &later, &existing), 0);
	assert_int_equal(existing, 0);
	assert_true(later != id);
	assert_int_equal(take(f, &job), later);
	job_release(&job);
}

/* Every claim gets a new token; only the current one finishes, renews or records a group. */
static void
test_fencing_tokens(void **state)
{
	struct fx *f = *state;
	struct job_outcome ok = {.succeeded = 1};
	struct job first, second;
	int64_t id;

	fx_config(f, "{\"concurrency\": {\"global\": 10}, \"types\": {\"t\": {}}}");
	id = fx_add(f, "t", NULL, NULL, 0);
	take(f, &first);
	assert_true(first.token > 0 && first.token < (INT64_C(1) << 53));
	/* Given back (a shutdown), then claimed again: a new token. */
	{
		struct job_outcome back = {.temporary = 1, .requeue_now = 1, .error = "stopped"};

		assert_int_equal(store_finish(f->st, &f->cfg, id, first.token, &back), JOB_QUEUED);
	}
	take(f, &second);
	assert_int_equal(second.id, id);
	assert_true(second.token != first.token);
	assert_int_equal(store_heartbeat(f->st, id, first.token, 1000, NULL), -ESTALE);
	assert_int_equal(store_set_pgid(f->st, id, first.token, 1, 1), -ESTALE);
	assert_int_equal(store_finish(f->st, &f->cfg, id, first.token, &ok), -ESTALE);
	assert_int_equal(fx_state(f, id), JOB_RUNNING);
	assert_int_equal(store_finish(f->st, &f->cfg, id, second.token, &ok), JOB_SUCCEEDED);
	assert_int_equal(store_finish(f->st, &f->cfg, id, second.token, &ok), -ESTALE);
	job_release(&first);
	job_release(&second);
}

/* Jobs whose own tags can never fit are failed by the claim rather than block their type. */
static void
test_invalid_resources_fail(void **state)
{
	struct fx *f = *state;
	struct job job, got;
	int64_t bad, good;

	fx_config(f, "{\"concurrency\": {\"global\": 10, \"resources\": {\"api\": 2}}, "
	             "\"types\": {\"t\": {}}}");
	bad = fx_add(f, "t", NULL, NULL, 5);
	good = fx_add(f, "t", NULL, NULL, 0);
	sql(f->db, "UPDATE jobs SET resources = '[\"nosuch\"]' WHERE id = 1;");
	assert_int_equal(take(f, &job), good);
	assert_int_equal(store_get(f->st, bad, &got), 0);
	assert_int_equal(got.state, JOB_FAILED);
	assert_string_equal(got.error, "unknown resource 'nosuch' (not in concurrency.resources)");
	job_release(&got);
	job_release(&job);
}

/* The claim's cost does not grow with the jobs its policy blocks: the VM steps of a claim past
 * 2000 jobs of a type at its limit are those of a claim past 20 (counted, not timed). */
static uint64_t
steps_of_claim(struct fx *f, int blocked)
{
	struct job job;
	uint64_t before, steps;

	for (int i = 0; i < blocked; i++)
		fx_add(f, "busy", NULL, NULL, 9);
	fx_add(f, "free", NULL, NULL, 0);
	before = store_vm_steps(f->st);
	assert_int_equal(fx_claim(f, &job, 0), 1);
	steps = store_vm_steps(f->st) - before;
	assert_string_equal(job.type, "free");
	fx_succeed(f, &job);
	job_release(&job);
	return steps;
}

static void
test_cost_independent_of_blocked(void **state)
{
	struct fx *f = *state;
	struct job running;
	uint64_t few, many;

	fx_config(f, "{\"concurrency\": {\"global\": 10, \"types\": {\"busy\": 1}}, "
	             "\"types\": {\"free\": {}}}");
	fx_add(f, "busy", NULL, NULL, 9);
	take(f, &running); /* busy is at its limit from now on */
	few = steps_of_claim(f, 20);
	many = steps_of_claim(f, 2000);
	if (many > few + few / 10)
		fail_msg("a claim past 2000 blocked jobs took %llu VM steps, past 20: %llu",
		         (unsigned long long)many, (unsigned long long)few);
	job_release(&running);
}

/* Quota pauses (store_pause_longer): one statement that keeps the longer pause, so a worker
 * that met the quota cannot shorten a pause another set meanwhile, nor an operator's. */
static void
test_quota_pause_keeps_longer(void **state)
{
	struct fx *f = *state;
	struct store *other = NULL;
	int64_t now = time_now_ms();
	char err[512];
	int64_t until = -1;
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;

	assert_int_equal(store_open(fx_path(f, "q.db"), NULL, &other, err, sizeof(err)), 0);
	/* Worker A met the quota for 60 s, worker B for 10 s just after: 60 s stays. */
	assert_int_equal(store_pause_longer(f->st, PAUSE_RESOURCE, "api", now + 60000, "a"), 1);
	assert_int_equal(store_pause_longer(other, PAUSE_RESOURCE, "api", now + 10000, "b"), 0);
	/* A longer one extends it. */
	assert_int_equal(store_pause_longer(other, PAUSE_RESOURCE, "api", now + 90000, "c"), 1);
	/* An operator's pause until resumed is never shortened. */
	assert_int_equal(store_pause(f->st, PAUSE_RESOURCE, "api", 0, "operator"), 0);
	assert_int_equal(store_pause_longer(other, PAUSE_RESOURCE, "api", now + 999000, "d"), 0);
	/* A pause that ended is replaced. */
	assert_int_equal(store_pause(f->st, PAUSE_RESOURCE, "old", now - 1, NULL), 0);
	assert_int_equal(store_pause_longer(other, PAUSE_RESOURCE, "old", now + 5000, "e"), 1);
	store_close(other);

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT coalesce(until, 0) || ' ' || reason FROM "
	                                    "pauses WHERE name = 'api'",
	                                    -1, &stmt, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "0 operator");
	sqlite3_finalize(stmt);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT until FROM pauses WHERE name = 'old'", -1,
	                                    &stmt, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	until = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	assert_int_equal(until, now + 5000);
}

/* Processes meeting a quota at once, each with its own connection and its own pause length:
 * whatever the interleaving, the pause in force at the end is the longest asked. */
#define RACERS 4
#define RACE_ROUNDS 40

static void
test_quota_pause_race(void **state)
{
	struct fx *f = *state;
	int64_t base = time_now_ms() + 3600000, until = -1;
	pid_t pids[RACERS];
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;

	for (int k = 0; k < RACERS; k++) {
		if ((pids[k] = fork()) == 0) {
			struct store *st = NULL;
			char err[512];
			int bad = 0;

			if (store_open(f->db, NULL, &st, err, sizeof(err)) < 0)
				_exit(2);
			/* Racer k asks base + k s + i ms: racer RACERS-1's last is the longest. */
			for (int i = 0; i < RACE_ROUNDS; i++)
				bad |= store_pause_longer(st, PAUSE_RESOURCE, "api",
				                          base + k * 1000 + i, "quota") < 0;
			store_close(st);
			_exit(bad);
		}
		assert_true(pids[k] > 0);
	}
	for (int k = 0; k < RACERS; k++) {
		int status = -1;

		assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT until FROM pauses WHERE name = 'api'", -1,
	                                    &stmt, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	until = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	assert_int_equal(until, base + (RACERS - 1) * 1000 + RACE_ROUNDS - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_global_limit, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_type_limits, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_pools_all_or_nothing, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_pool_usage, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_singleton_namespace, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_pauses, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_run_at_and_next, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_priority_then_age, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_unique_keys, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_fencing_tokens, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_invalid_resources_fail, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_cost_independent_of_blocked, fx_setup,
	                                        fx_teardown),
	        cmocka_unit_test_setup_teardown(test_quota_pause_keeps_longer, fx_setup,
	                                        fx_teardown),
	        cmocka_unit_test_setup_teardown(test_quota_pause_race, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
