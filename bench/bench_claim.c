/*
 * Claim benchmarks.
 *
 * cycles: claim+complete cycles per second in one process through store_claim() and
 *   store_finish() (two write transactions a cycle), and through store_finish_and_claim() (one),
 *   against raw SQLite running the same transactions on the same schema: BEGIN IMMEDIATE; UPDATE
 *   the first queued row of the type (found through the jobs_ready index) to running; COMMIT;
 *   BEGIN IMMEDIATE; UPDATE it to succeeded; COMMIT (WAL, synchronous as DURABILITY says).
 *
 * latency: mean store_claim() latency with 1,000 and with 1,000,000 queued jobs of one type, and
 *   with 1,000,000 queued `enrich` jobs blocked by the policy (global 4, enrich 1, one enrich
 *   running) while the claim finds an `ingest` job. Each claimed job is finished and one new job
 *   enqueued outside the timed part, so the queue depth stays constant. The three cases are
 *   measured in interleaved rounds. Raw SQLite's claim transaction at both depths is measured
 *   the same way, for reference.
 *
 * durability: the two library cycles (2 tx and 1 tx) at both levels, full (synchronous=FULL,
 *   jobq's default) and fast (NORMAL), interleaved (bench/durability.sh).
 *
 * rawloop: the raw two-transaction loop alone over an existing database (bench/drain.sh).
 *
 * usage: bench_claim cycles DIR | bench_claim latency DIR | bench_claim durability DIR |
 *        bench_claim rawloop DB N
 *   env CYCLES, REPS (cycles, durability); SMALL_N, BIG_N, SAMPLES (latency); DURABILITY
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define MAX_REPS 16
#define WARMUP 200

static const char raw_claim_sql[] =
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?1, "
        "worker_pid = ?2, lease_until = ?3, token = ?4 "
        "WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND blockers = 0 AND type = ?5 "
        "ORDER BY priority DESC, run_at, id LIMIT 1) RETURNING id";
static const char raw_finish_sql[] =
        "UPDATE jobs SET state = 'succeeded', finished_at = ?2, lease_until = NULL, "
        "token = NULL, worker_pid = NULL WHERE id = ?1";
static const char raw_insert_sql[] =
        "INSERT INTO jobs (type, namespace, payload, priority, run_at, max_attempts, timeout, "
        "resources, unique_key, batch, created_at) "
        "VALUES (?1, 'default', '{\"i\":0}', 0, ?2, 3, NULL, NULL, NULL, NULL, ?2)";

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double
secs(uint64_t t0, uint64_t t1)
{
	return (double)(t1 - t0) / 1e9;
}

/* ---- raw SQLite: the same transactions ---- */

struct raw {
	sqlite3 *db;
	sqlite3_stmt *begin, *commit, *claim, *finish, *insert;
	const char *type;
};

static void
raw_init(struct raw *r, const char *path, const char *type)
{
	sqlite3_stmt *plan;
	const char *detail;
	int uses_index = 0;

	r->db = raw_open(path);
	r->type = type;
	r->begin = raw_prepare(r->db, "BEGIN IMMEDIATE");
	r->commit = raw_prepare(r->db, "COMMIT");
	r->claim = raw_prepare(r->db, raw_claim_sql);
	r->finish = raw_prepare(r->db, raw_finish_sql);
	r->insert = raw_prepare(r->db, raw_insert_sql);
	/* The baseline must find the row through the index, not by a scan. */
	plan = raw_prepare(
	        r->db,
	        "EXPLAIN QUERY PLAN SELECT id FROM jobs WHERE state = 'queued' "
	        "AND blockers = 0 AND type = 'x' ORDER BY priority DESC, run_at, id LIMIT 1");
	while (sqlite3_step(plan) == SQLITE_ROW) {
		detail = (const char *)sqlite3_column_text(plan, 3);
		if (detail != NULL && strstr(detail, "jobs_ready") != NULL)
			uses_index = 1;
	}
	sqlite3_finalize(plan);
	if (!uses_index)
		die("the raw claim does not use the jobs_ready index");
}

static void
raw_release(struct raw *r)
{
	sqlite3_finalize(r->begin);
	sqlite3_finalize(r->commit);
	sqlite3_finalize(r->claim);
	sqlite3_finalize(r->finish);
	sqlite3_finalize(r->insert);
	sqlite3_close(r->db);
}

/* UPDATE the first queued job to running (inside a transaction); returns its id. */
static int64_t
raw_claim_stmt(struct raw *r)
{
	int64_t now = now_ms(), id;

	sqlite3_bind_int64(r->claim, 1, now);
	sqlite3_bind_int64(r->claim, 2, (int64_t)getpid());
	sqlite3_bind_int64(r->claim, 3, now + 300000);
	sqlite3_bind_int64(r->claim, 4, (int64_t)(random() + 1));
	sqlite3_bind_text(r->claim, 5, r->type, -1, SQLITE_STATIC);
	if ((id = raw_step(r->db, r->claim)) < 0)
		die("raw claim: no queued job left");
	return id;
}

static void
raw_finish_stmt(struct raw *r, int64_t id)
{
	sqlite3_bind_int64(r->finish, 1, id);
	sqlite3_bind_int64(r->finish, 2, now_ms());
	raw_step(r->db, r->finish);
}

static int64_t
raw_claim_tx(struct raw *r)
{
	int64_t id;

	raw_step(r->db, r->begin);
	id = raw_claim_stmt(r);
	raw_step(r->db, r->commit);
	return id;
}

static void
raw_finish_tx(struct raw *r, int64_t id)
{
	raw_step(r->db, r->begin);
	raw_finish_stmt(r, id);
	raw_step(r->db, r->commit);
}

/* ---- the library ---- */

/* lib_open() etc. are in common.c. A claim that must find a job. */
static void
lib_claim(struct lib *l, struct job *j)
{
	if (lib_try_claim(l, j) == 0)
		die("store_claim: nothing claimable");
}

/* ---- cycles ---- */

#define CYCLE_POLICY "{\"concurrency\":{\"global\":1}}"

static double
cycles_lib_2tx(const char *path, long n)
{
	struct lib l;
	struct job j;
	uint64_t t0 = 0;

	lib_open(&l, path, CYCLE_POLICY);
	for (long i = -WARMUP; i < n; i++) {
		if (i == 0)
			t0 = now_ns();
		lib_claim(&l, &j);
		lib_finish(&l, &j);
	}
	t0 = now_ns() - t0;
	lib_close(&l);
	return (double)n / ((double)t0 / 1e9);
}

static double
cycles_lib_1tx(const char *path, long n)
{
	struct job_outcome o = {.succeeded = 1};
	struct lib l;
	struct job j, next;
	uint64_t t0 = 0;
	int r;

	lib_open(&l, path, CYCLE_POLICY);
	lib_claim(&l, &j);
	for (long i = -WARMUP; i < n; i++) {
		if (i == 0)
			t0 = now_ns();
		r = store_finish_and_claim(l.st, &l.cfg, j.id, j.token, &o, &l.req, &next, NULL);
		if (r <= 0)
			die("store_finish_and_claim: %s",
			    r < 0 ? store_errmsg(l.st) : "nothing claimable");
		job_release(&j);
		j = next;
	}
	t0 = now_ns() - t0;
	lib_finish(&l, &j);
	lib_close(&l);
	return (double)n / ((double)t0 / 1e9);
}

static double
cycles_raw_2tx(const char *path, long n)
{
	struct raw r;
	uint64_t t0 = 0;

	raw_init(&r, path, "noop");
	for (long i = -WARMUP; i < n; i++) {
		if (i == 0)
			t0 = now_ns();
		raw_finish_tx(&r, raw_claim_tx(&r));
	}
	t0 = now_ns() - t0;
	raw_release(&r);
	return (double)n / ((double)t0 / 1e9);
}

static double
cycles_raw_1tx(const char *path, long n)
{
	struct raw r;
	uint64_t t0 = 0;
	int64_t id;

	raw_init(&r, path, "noop");
	id = raw_claim_tx(&r);
	for (long i = -WARMUP; i < n; i++) {
		if (i == 0)
			t0 = now_ns();
		raw_step(r.db, r.begin);
		raw_finish_stmt(&r, id);
		id = raw_claim_stmt(&r);
		raw_step(r.db, r.commit);
	}
	t0 = now_ns() - t0;
	raw_finish_tx(&r, id);
	raw_release(&r);
	return (double)n / ((double)t0 / 1e9);
}

static void
report(const char *key, double *v, size_t n)
{
	char k[128];
	double lo = v[0], hi = v[0];

	for (size_t i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	result(key, median(v, n));
	snprintf(k, sizeof(k), "%s_min", key);
	result(k, lo);
	snprintf(k, sizeof(k), "%s_max", key);
	result(k, hi);
}

static int
run_cycles(const char *dir)
{
	long n = env_long("CYCLES", 20000);
	size_t reps = (size_t)env_long("REPS", 3);
	double lib2[MAX_REPS], lib1[MAX_REPS], raw2[MAX_REPS], raw1[MAX_REPS];
	char tmpl[4096], path[4096];

	if (reps > MAX_REPS)
		reps = MAX_REPS;
	snprintf(tmpl, sizeof(tmpl), "%s/cycles-template.db", dir);
	snprintf(path, sizeof(path), "%s/cycles.db", dir);
	db_create(tmpl);
	raw_fill(tmpl, "noop", n + WARMUP + 100);
	raw_checkpoint(tmpl);
	result("cycles_n", (double)n);
	for (size_t r = 0; r < reps; r++) {
		double (*order[4])(const char *, long) = {cycles_lib_2tx, cycles_raw_2tx,
		                                          cycles_lib_1tx, cycles_raw_1tx};
		double *out[4] = {&lib2[r], &raw2[r], &lib1[r], &raw1[r]};

		for (int k = 0; k < 4; k++) {
			/* Alternate who goes first within each pair. */
			int i = r % 2 == 0 ? k : (k ^ 1);

			db_remove(path);
			file_copy(tmpl, path);
			*out[i] = order[i](path, n);
		}
		fprintf(stderr,
		        "  cycles rep %zu/%zu: claim+finish %.0f raw %.0f; finish_and_claim "
		        "%.0f raw %.0f cycles/s\n",
		        r + 1, reps, lib2[r], raw2[r], lib1[r], raw1[r]);
	}
	report("cyc_lib_2tx", lib2, reps);
	report("cyc_raw_2tx", raw2, reps);
	report("cyc_lib_1tx", lib1, reps);
	report("cyc_raw_1tx", raw1, reps);
	db_remove(path);
	db_remove(tmpl);
	return 0;
}

/*
 * rawloop DB N: the raw two-transaction claim+complete loop over N queued noop jobs of an
 * existing database (bench/drain.sh gives it a copy of what `supervise --drain` gets), timed
 * from before the database is opened to after it is closed, as a process would be.
 */
static int
run_rawloop(const char *path, long n)
{
	struct raw r;
	uint64_t t0 = now_ns();

	raw_init(&r, path, "noop");
	for (long i = 0; i < n; i++)
		raw_finish_tx(&r, raw_claim_tx(&r));
	raw_release(&r);
	t0 = now_ns() - t0;
	result("rawloop_s", (double)t0 / 1e9);
	result("rawloop_per_s", (double)n / ((double)t0 / 1e9));
	return 0;
}

/* Library cycles at both levels, from copies of one template, in rotating order. */
static int
run_durability(const char *dir)
{
	static const char *const keys[4] = {"dur_cyc_2tx_full", "dur_cyc_2tx_fast",
	                                    "dur_cyc_1tx_full", "dur_cyc_1tx_fast"};
	long n = env_long("CYCLES", 1000);
	size_t reps = (size_t)env_long("REPS", 3);
	double v[4][MAX_REPS];
	char tmpl[4096], path[4096];

	if (reps > MAX_REPS)
		reps = MAX_REPS;
	snprintf(tmpl, sizeof(tmpl), "%s/durability-template.db", dir);
	snprintf(path, sizeof(path), "%s/durability.db", dir);
	db_create(tmpl);
	raw_fill(tmpl, "noop", n + WARMUP + 100);
	raw_checkpoint(tmpl);
	result("dur_cyc_n", (double)n);
	for (size_t r = 0; r < reps; r++) {
		for (size_t k = 0; k < 4; k++) {
			size_t i = (k + r) % 4;

			db_remove(path);
			file_copy(tmpl, path);
			durability_set((int)(i % 2));
			v[i][r] = i < 2 ? cycles_lib_2tx(path, n) : cycles_lib_1tx(path, n);
		}
		fprintf(stderr,
		        "  durability rep %zu/%zu: claim+finish full %.0f fast %.0f; "
		        "finish_and_claim full %.0f fast %.0f cycles/s\n",
		        r + 1, reps, v[0][r], v[1][r], v[2][r], v[3][r]);
	}
	for (size_t i = 0; i < 4; i++)
		report(keys[i], v[i], reps);
	db_remove(path);
	db_remove(tmpl);
	return 0;
}

/* ---- latency ---- */

#define LAT_POLICY "{\"concurrency\":{\"global\":4,\"types\":{\"enrich\":1,\"ingest\":4}}}"
#define ROUND 100

struct lat_case {
	const char *name;
	char path[4096];
	struct lib l;
	struct raw r;
	int raw;
	double *v;
	size_t n;
};

static void
lat_enqueue_ingest(struct lib *l)
{
	struct job_spec spec = {.type = "ingest", .payload = "{\"i\":0}"};
	int64_t id;

	if (store_enqueue(l->st, &l->cfg, &spec, &id, NULL) < 0)
		die("store_enqueue: %s", store_errmsg(l->st));
}

/* One claim, timed; then finish it and add one job, untimed. */
static double
lat_one(struct lat_case *c)
{
	uint64_t t0, t1;
	struct job j;
	int64_t id;

	if (c->raw) {
		t0 = now_ns();
		id = raw_claim_tx(&c->r);
		t1 = now_ns();
		raw_finish_tx(&c->r, id);
		sqlite3_bind_text(c->r.insert, 1, c->r.type, -1, SQLITE_STATIC);
		sqlite3_bind_int64(c->r.insert, 2, now_ms());
		raw_step(c->r.db, c->r.insert);
		return (double)(t1 - t0) / 1e3;
	}
	t0 = now_ns();
	lib_claim(&c->l, &j);
	t1 = now_ns();
	if (strcmp(j.type, "ingest") != 0)
		die("latency %s: claimed a '%s' job, expected 'ingest'", c->name, j.type);
	lib_finish(&c->l, &j);
	lat_enqueue_ingest(&c->l);
	return (double)(t1 - t0) / 1e3;
}

static void
lat_report(struct lat_case *c)
{
	char k[128];

	snprintf(k, sizeof(k), "lat_%s_mean", c->name);
	result(k, mean(c->v, c->n));
	snprintf(k, sizeof(k), "lat_%s_p50", c->name);
	result(k, percentile(c->v, c->n, 50));
	snprintf(k, sizeof(k), "lat_%s_p99", c->name);
	result(k, percentile(c->v, c->n, 99));
}

static int
run_latency(const char *dir)
{
	long small = env_long("SMALL_N", 1000), big = env_long("BIG_N", 1000000);
	long samples = env_long("SAMPLES", 3000);
	struct lat_case cs[5] = {
	        {.name = "small"},
	        {.name = "big"},
	        {.name = "blocked"},
	        {.name = "raw_small", .raw = 1},
	        {.name = "raw_big", .raw = 1},
	};
	size_t ncases = sizeof(cs) / sizeof(cs[0]);
	uint64_t t0;

	for (size_t i = 0; i < ncases; i++) {
		snprintf(cs[i].path, sizeof(cs[i].path), "%s/latency-%s.db", dir, cs[i].name);
		if ((cs[i].v = calloc((size_t)samples + ROUND, sizeof(double))) == NULL)
			die("out of memory");
	}
	t0 = now_ns();
	db_create(cs[0].path);
	raw_fill(cs[0].path, "ingest", small);
	raw_checkpoint(cs[0].path);
	file_copy(cs[0].path, cs[3].path);
	db_create(cs[1].path);
	raw_fill(cs[1].path, "ingest", big);
	raw_checkpoint(cs[1].path);
	file_copy(cs[1].path, cs[4].path);
	db_create(cs[2].path);
	raw_fill(cs[2].path, "enrich", big);
	raw_fill(cs[2].path, "ingest", small);
	fprintf(stderr, "  latency: databases filled in %.1f s\n", secs(t0, now_ns()));
	result("lat_small_n", (double)small);
	result("lat_big_n", (double)big);
	result("lat_samples", (double)samples);
	for (size_t i = 0; i < ncases; i++) {
		if (cs[i].raw)
			raw_init(&cs[i].r, cs[i].path, "ingest");
		else
			lib_open(&cs[i].l, cs[i].path, LAT_POLICY);
	}
	/* The blocked case: one enrich job running, so the type limit (1) blocks the others. */
	{
		const char *const only[] = {"enrich"};
		struct claim_req req = {.types = only, .ntypes = 1, .owner_pid = getpid()};
		struct job j;

		if (store_claim(cs[2].l.st, &cs[2].l.cfg, &req, &j, NULL) != 1)
			die("cannot claim the running enrich job: %s", store_errmsg(cs[2].l.st));
		job_release(&j);
	}
	for (size_t i = 0; i < ncases; i++) {
		for (int w = 0; w < WARMUP; w++)
			lat_one(&cs[i]);
	}
	/* Interleaved rounds: each case gets ROUND claims in turn. */
	for (long done = 0; done < samples; done += ROUND) {
		for (size_t i = 0; i < ncases; i++) {
			for (int k = 0; k < ROUND && cs[i].n < (size_t)samples; k++)
				cs[i].v[cs[i].n++] = lat_one(&cs[i]);
		}
	}
	for (size_t i = 0; i < ncases; i++) {
		lat_report(&cs[i]);
		if (cs[i].raw)
			raw_release(&cs[i].r);
		else
			lib_close(&cs[i].l);
		db_remove(cs[i].path);
		free(cs[i].v);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "cycles") == 0)
		return run_cycles(argv[2]);
	if (argc == 4 && strcmp(argv[1], "rawloop") == 0)
		return run_rawloop(argv[2], atol(argv[3]));
	if (argc == 3 && strcmp(argv[1], "latency") == 0)
		return run_latency(argv[2]);
	if (argc == 3 && strcmp(argv[1], "durability") == 0)
		return run_durability(argv[2]);
	die("usage: bench_claim cycles|latency|durability DIR");
}
