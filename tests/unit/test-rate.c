/*
 * Unit tests of the rate limits and token budgets of pools: the "N/WINDOW" syntax
 * (core/duration.c rate_parse), their configuration keys ("rates", "tokens", http.tokens_path),
 * and the sliding-window arithmetic of queue/rate.c through the real claim and finish on a real
 * SQLite file, with the claim's time given (claim_req.now) so every edge is exact.
 */
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

#include "internal.h"
/* Not every helper of the shared fixture is used here. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "store-fixture.h"

/* The syntax */

static void
assert_rate(const char *s, int64_t limit, int64_t window_ms)
{
	struct rate r = {0, 0};
	char back[48];

	if (rate_parse(s, 1000000, &r) != 0)
		fail_msg("rate_parse(\"%s\") failed", s);
	assert_int_equal(r.limit, limit);
	assert_int_equal(r.window_ms, window_ms);
	/* What status prints reads back the same. */
	rate_format(&r, back, sizeof(back));
	r.limit = r.window_ms = 0;
	assert_int_equal(rate_parse(back, 1000000, &r), 0);
	assert_int_equal(r.limit, limit);
	assert_int_equal(r.window_ms, window_ms);
}

static void
test_rate_parse(void **state)
{
	struct rate r = {7, 7};

	(void)state;
	assert_rate("500/min", 500, 60000);
	assert_rate("500/minute", 500, 60000);
	assert_rate("5/s", 5, 1000);
	assert_rate("5/sec", 5, 1000);
	assert_rate("100/h", 100, 3600000);
	assert_rate("100/hour", 100, 3600000);
	assert_rate("1/d", 1, 86400000);
	assert_rate("5/2s", 5, 2000);
	assert_rate("5/1500ms", 5, 1500);
	assert_rate("10/1h30m", 10, 5400000);
	assert_rate("1000000/1m", 1000000, 60000);
	assert_int_equal(rate_parse("", 100, &r), -EINVAL);
	assert_int_equal(rate_parse("5", 100, &r), -EINVAL);
	assert_int_equal(rate_parse("5/", 100, &r), -EINVAL);
	assert_int_equal(rate_parse("/min", 100, &r), -EINVAL);
	assert_int_equal(rate_parse("0/min", 100, &r), -EINVAL);
	assert_int_equal(rate_parse("5/0s", 100, &r), -EINVAL);
	assert_int_equal(rate_parse("-5/min", 100, &r), -EINVAL);
	assert_int_equal(rate_parse("5 /min", 100, &r), -EINVAL);
	assert_int_equal(rate_parse("5/min ", 100, &r), -EINVAL);
	assert_int_equal(rate_parse("5/m", 100, &r), -EINVAL); /* a unit word is "min" */
	assert_int_equal(rate_parse("5/mins", 100, &r), -EINVAL);
	assert_int_equal(rate_parse("5.5/min", 100, &r), -EINVAL);
	assert_int_equal(rate_parse("5/min/s", 100, &r), -EINVAL);
	assert_int_equal(rate_parse("101/min", 100, &r), -ERANGE);
	assert_int_equal(rate_parse("99999999999999999999999/min", 100, &r), -ERANGE);
	assert_int_equal(rate_parse("5/2d", 100, &r), -ERANGE);
	assert_int_equal(rate_parse("5/3651d", 100, &r), -ERANGE);
	/* Untouched on error. */
	assert_int_equal(r.limit, 7);
	assert_int_equal(r.window_ms, 7);
}

static void
assert_config_error(const char *json, const char *want)
{
	struct config cfg;
	char err[512] = "";

	assert_int_equal(config_parse(json, "t", &cfg, err, sizeof(err)), -EINVAL);
	if (strstr(err, want) == NULL)
		fail_msg("config error '%s' lacks '%s'", err, want);
}

#define POOLS "{\"concurrency\": {\"resources\": {\"openai\": 4, \"ollama\": 1}}, "

static void
test_config(void **state)
{
	struct config cfg;
	char err[512] = "";

	(void)state;
	assert_int_equal(
	        config_parse(POOLS "\"rates\": {\"openai\": \"500/min\"}, \"tokens\": "
	                           "{\"ollama\": \"200000/1h\"}, \"types\": {\"chat\": {\"http\": "
	                           "{\"url\": \"http://127.0.0.1/\", \"tokens_path\": "
	                           "\"usage.total_tokens\"}}}}",
	                     "t", &cfg, err, sizeof(err)),
	        0);
	assert_non_null(cfg.pool_rates);
	assert_non_null(cfg.pool_tokens);
	assert_int_equal(cfg.pool_rates[0].limit, 500);
	assert_int_equal(cfg.pool_rates[0].window_ms, 60000);
	assert_int_equal(cfg.pool_rates[1].limit, 0);
	assert_int_equal(cfg.pool_tokens[0].limit, 0);
	assert_int_equal(cfg.pool_tokens[1].limit, 200000);
	assert_int_equal(cfg.pool_tokens[1].window_ms, 3600000);
	assert_string_equal(cfg.types[0].http.tokens_path, "usage.total_tokens");
	config_release(&cfg);
	/* None: no arrays, no cost in the claim. */
	assert_int_equal(config_parse(POOLS "\"rates\": {}}", "t", &cfg, err, sizeof(err)), 0);
	assert_null(cfg.pool_rates);
	assert_null(cfg.pool_tokens);
	config_release(&cfg);

	assert_config_error(POOLS "\"rates\": {\"opena\": \"5/s\"}}",
	                    "rates.opena: unknown resource 'opena', did you mean 'openai'?");
	assert_config_error(
	        "{\"tokens\": {\"gpu\": \"5/s\"}}",
	        "tokens.gpu: unknown resource 'gpu' (no pools in concurrency.resources)");
	assert_config_error(
	        POOLS "\"rates\": {\"openai\": \"5 per minute\"}}",
	        "rates.openai: invalid rate '5 per minute' (expected N/s, N/min, N/h or "
	        "N/DURATION");
	assert_config_error(POOLS "\"rates\": {\"openai\": 5}}", "rates.openai: must be a string");
	assert_config_error(POOLS "\"rates\": [\"5/s\"]}", "rates: must be an object");
	assert_config_error(
	        POOLS "\"rates\": {\"openai\": \"2000000/s\"}}",
	        "rates.openai: '2000000/s' is out of range (at most 1000000 per window");
	assert_config_error(POOLS "\"tokens\": {\"openai\": \"5/2d\"}}",
	                    "tokens.openai: '5/2d' is out of range");
	assert_config_error(POOLS "\"rates\": {\"openai\": \"5/s\", \"openai\": \"6/s\"}}",
	                    "rates: duplicate key 'openai'");
	assert_config_error(
	        "{\"types\": {\"c\": {\"http\": {\"url\": \"http://h/\", \"tokens_path\": "
	        "\"usage..total\"}}}}",
	        "types.c.http.tokens_path: invalid path 'usage..total'");
	assert_config_error(
	        "{\"types\": {\"c\": {\"http\": {\"url\": \"http://h/\", \"tokens_path\": "
	        "7}}}}",
	        "types.c.http.tokens_path: must be a string");
}

/* The claims' clock: an hour after the jobs were enqueued (their run_at is the real time). */
static int64_t T;

/* The windows, through the claim */

/* Set the fixture's config to json, enqueue n jobs of type "t" and set T after them. */
static void
jobs(struct fx *f, const char *json, int n)
{
	fx_config(f, json);
	for (int i = 0; i < n; i++)
		fx_add(f, "t", NULL, NULL, 0);
	T = time_now_ms() + 3600000;
}

/* Claim one job at now: 1 or 0, and *next the claim's next_run_at. The job is finished at once
 * (succeeded, with tokens) at finish_at, so pool capacity never gets in the way. */
static int
claim_at(struct fx *f, int64_t now, int64_t *next)
{
	struct claim_req req = {.now = now};
	struct job job;
	int r = store_claim(f->st, &f->cfg, &req, &job, next);

	if (r < 0)
		fail_msg("claim: %s", store_errmsg(f->st));
	if (r == 1) {
		fx_succeed(f, &job);
		job_release(&job);
	}
	return r;
}

static void
test_rate_window(void **state)
{
	struct fx *f = *state;
	struct rate_use use;
	int64_t next = -1;

	jobs(f,
	     "{\"concurrency\": {\"global\": 10, \"resources\": {\"api\": 10}}, "
	     "\"rates\": {\"api\": \"3/10s\"}, \"types\": {\"t\": {\"resources\": "
	     "[\"api\"]}, \"free\": {}}}",
	     10);
	assert_int_equal(claim_at(f, T + 1000, &next), 1);
	assert_int_equal(claim_at(f, T + 1001, &next), 1);
	assert_int_equal(claim_at(f, T + 1002, &next), 1);
	/* The window (now - 10s, now] holds 3: full until the first of them is 10 s old. */
	assert_int_equal(claim_at(f, T + 1003, &next), 0);
	assert_int_equal(next, T + 11000);
	assert_int_equal(store_rate_use(f->st, &f->cfg, 0, RATE_STARTS, T + 1003, &use), 0);
	assert_int_equal(use.used, 3);
	assert_int_equal(use.frees_at, T + 11000);
	assert_int_equal(claim_at(f, T + 10999, &next), 0);
	assert_int_equal(next, T + 11000);
	/* A type without the pool is not held back. */
	fx_add(f, "free", NULL, NULL, 0);
	assert_int_equal(claim_at(f, T + 10999, &next), 1);
	assert_int_equal(claim_at(f, T + 11000, &next), 1);
	/* 1001, 1002, 11000: full again until 1001 leaves. */
	assert_int_equal(claim_at(f, T + 11000, &next), 0);
	assert_int_equal(next, T + 11001);
	assert_int_equal(claim_at(f, T + 11001, &next), 1);
	assert_int_equal(claim_at(f, T + 11001, &next), 0);
	assert_int_equal(next, T + 11002);
	/* A job's own tag counts as the type's does. */
	fx_add(f, "free", NULL, "api", 0);
	assert_int_equal(claim_at(f, T + 11001, &next), 0);
	assert_int_equal(claim_at(f, T + 30000, &next), 1);
	assert_int_equal(store_rate_use(f->st, &f->cfg, 0, RATE_STARTS, T + 30000, &use), 0);
	assert_int_equal(use.used, 1);
	assert_int_equal(use.frees_at, 0);
}

static void
test_rate_prune_and_clock(void **state)
{
	struct fx *f = *state;
	int64_t next = 0;

	jobs(f,
	     "{\"concurrency\": {\"resources\": {\"api\": 1}}, \"rates\": {\"api\": "
	     "\"2/1s\"}, \"types\": {\"t\": {\"resources\": [\"api\"]}}}",
	     61);
	/* Thirty windows of two starts: the log keeps what the current window needs. */
	for (int i = 0; i < 30; i++) {
		assert_int_equal(claim_at(f, T + 5000 + i * 1000, &next), 1);
		assert_int_equal(claim_at(f, T + 5000 + i * 1000 + 1, &next), 1);
		assert_int_equal(claim_at(f, T + 5000 + i * 1000 + 2, &next), 0);
		assert_int_equal(next, T + 5000 + i * 1000 + 1000);
	}
	/* Deleted by runs every 32 starts: what the window needs and at most 32 more. */
	assert_true(sql_int(f->db, "SELECT count(*) FROM rate_events") <= 34);
	assert_int_equal(sql_int(f->db, "SELECT count(*) FROM rate_events WHERE total <= 30"), 0);
	assert_int_equal(sql_int(f->db, "SELECT max(total) FROM rate_events"), 60);
	/* The clock goes back 20 s: the window still holds the last two starts, so nothing starts
	 * before the clock has caught up with them. */
	fx_add(f, "t", NULL, NULL, 0);
	assert_int_equal(claim_at(f, T + 14000, &next), 0);
	assert_int_equal(next, T + 35000);
	assert_int_equal(claim_at(f, T + 35000, &next), 1);
}

static void
test_rate_reload(void **state)
{
	struct fx *f = *state;
	int64_t next = 0;

	jobs(f,
	     "{\"concurrency\": {\"resources\": {\"api\": 5}}, \"rates\": {\"api\": "
	     "\"1/1h\"}, \"types\": {\"t\": {\"resources\": [\"api\"]}}}",
	     4);
	assert_int_equal(claim_at(f, T + 1000, &next), 1);
	assert_int_equal(claim_at(f, T + 2000, &next), 0);
	assert_int_equal(next, T + 1000 + 3600000);
	/* New limits apply to the same log at once. */
	fx_config(f, "{\"concurrency\": {\"resources\": {\"api\": 5}}, \"rates\": {\"api\": "
	             "\"3/1h\"}, \"types\": {\"t\": {\"resources\": [\"api\"]}}}");
	assert_int_equal(claim_at(f, T + 2000, &next), 1);
	assert_int_equal(claim_at(f, T + 2001, &next), 1);
	assert_int_equal(claim_at(f, T + 2002, &next), 0);
	assert_int_equal(next, T + 1000 + 3600000);
	/* Without a rate the log is not read. */
	fx_config(f, "{\"concurrency\": {\"resources\": {\"api\": 5}}, \"types\": {\"t\": "
	             "{\"resources\": [\"api\"]}}}");
	assert_int_equal(claim_at(f, T + 2003, &next), 1);
}

/* Finish job with tokens at now and claim the next one in the same transaction. */
static int
finish_tokens_at(struct fx *f, struct job *job, int64_t tokens, int64_t now, struct job *next,
                 int64_t *next_run_at)
{
	struct job_outcome o = {.succeeded = 1, .tokens = tokens};
	struct claim_req req = {.now = now};
	int r = store_finish_and_claim(f->st, &f->cfg, job->id, job->token, &o, &req, next,
	                               next_run_at);

	if (r < 0)
		fail_msg("finish and claim: %s", store_errmsg(f->st));
	job_release(job);
	return r;
}

static void
test_token_budget(void **state)
{
	struct fx *f = *state;
	struct claim_req req = {.now = 0};
	struct job a, b, c, d;
	struct rate_use use;
	int64_t next = 0;

	jobs(f,
	     "{\"concurrency\": {\"global\": 3, \"resources\": {\"llm\": 3}}, \"tokens\": "
	     "{\"llm\": \"100/10s\"}, \"types\": {\"t\": {\"resources\": [\"llm\"]}}}",
	     5);
	req.now = T + 1000;
	/* Under the budget (nothing used yet): both start; tokens are charged when they end. */
	assert_int_equal(store_claim(f->st, &f->cfg, &req, &a, NULL), 1);
	assert_int_equal(store_claim(f->st, &f->cfg, &req, &b, NULL), 1);
	assert_int_equal(finish_tokens_at(f, &a, 60, T + 2000, &c, &next), 1);
	assert_int_equal(store_rate_use(f->st, &f->cfg, 0, RATE_TOKENS, T + 2000, &use), 0);
	assert_int_equal(use.used, 60);
	assert_int_equal(use.frees_at, 0);
	/* 110 used: over the budget until the 60 of 2000 leave the window. */
	assert_int_equal(finish_tokens_at(f, &b, 50, T + 3000, &d, &next), 0);
	assert_int_equal(next, T + 12000);
	assert_int_equal(store_rate_use(f->st, &f->cfg, 0, RATE_TOKENS, T + 3000, &use), 0);
	assert_int_equal(use.used, 110);
	assert_int_equal(use.frees_at, T + 12000);
	req.now = T + 11999;
	assert_int_equal(store_claim(f->st, &f->cfg, &req, &d, &next), 0);
	assert_int_equal(next, T + 12000);
	req.now = T + 12000;
	assert_int_equal(store_claim(f->st, &f->cfg, &req, &d, &next), 1);
	/* A failed attempt's tokens count too; the charge is fenced by the job's token. */
	{
		struct job_outcome o = {.error = "boom", .tokens = 1000};

		assert_int_equal(store_finish(f->st, &f->cfg, c.id, c.token + 1, &o), -ESTALE);
		assert_int_equal(store_rate_use(f->st, &f->cfg, 0, RATE_TOKENS, T + 12000, &use),
		                 0);
		assert_int_equal(use.used, 50);
		assert_true(store_finish(f->st, &f->cfg, c.id, c.token, &o) >= 0);
		assert_int_equal(store_rate_use(f->st, &f->cfg, 0, RATE_TOKENS, T + 12000, &use),
		                 0);
		assert_int_equal(use.used, 1050);
	}
	job_release(&c);
	job_release(&d);
}

/* A pool with both: it frees when the later of its two windows does. */
static void
test_rate_and_tokens(void **state)
{
	struct fx *f = *state;
	struct claim_req req = {.now = 0};
	struct job a, b;
	int64_t next = 0;

	jobs(f,
	     "{\"concurrency\": {\"global\": 2, \"resources\": {\"llm\": 2}}, \"rates\": "
	     "{\"llm\": \"1/10s\"}, \"tokens\": {\"llm\": \"10/20s\"}, \"types\": {\"t\": "
	     "{\"resources\": [\"llm\"]}}}",
	     3);
	req.now = T + 1000;
	assert_int_equal(store_claim(f->st, &f->cfg, &req, &a, &next), 1);
	assert_int_equal(finish_tokens_at(f, &a, 50, T + 2000, &b, &next), 0);
	assert_int_equal(next, T + 22000);
	assert_int_equal(claim_at(f, T + 11000, &next), 0);
	assert_int_equal(next, T + 22000);
	assert_int_equal(claim_at(f, T + 22000, &next), 1);
	assert_int_equal(claim_at(f, T + 22001, &next), 0);
	assert_int_equal(next, T + 32000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rate_parse),
	        cmocka_unit_test(test_config),
	        cmocka_unit_test_setup_teardown(test_rate_window, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_rate_prune_and_clock, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_rate_reload, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_token_budget, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_rate_and_tokens, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
