/*
 * Enqueue throughput: bulk (one transaction) and one by one (a transaction each), through
 * libjobq and through the store API, against raw SQLite inserting the same rows (the same 11
 * columns jobq writes, the same table and indexes, a prepared statement) on the same machine in
 * the same run. Each measurement uses a fresh database; repetitions are interleaved and the
 * median is reported.
 *
 * usage: bench_enqueue all|one|durability DIR    (env BULK_N, ONE_N, REPS, DURABILITY)
 * "one" runs only the one-by-one measurements (bench/run.sh repeats them on a disk);
 * "durability" runs the one-by-one store_enqueue() and raw SQLite measurements at both levels,
 * full (synchronous=FULL) and fast (NORMAL), interleaved (bench/durability.sh).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "jobq.h"

#define TYPE "enrich"
#define MAX_REPS 16

static const char insert_sql[] =
        "INSERT INTO jobs (type, namespace, payload, priority, run_at, max_attempts, timeout, "
        "resources, unique_key, batch, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)";

struct payloads {
	char **p;
	size_t *len;
	char *buf;
};

static void
payloads_make(struct payloads *pl, size_t n)
{
	char *at;

	pl->p = calloc(n, sizeof(*pl->p));
	pl->len = calloc(n, sizeof(*pl->len));
	pl->buf = malloc(n * 24);
	if (pl->p == NULL || pl->len == NULL || pl->buf == NULL)
		die("out of memory");
	at = pl->buf;
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(at, 24, "{\"i\":%zu}", i);

		pl->p[i] = at;
		pl->len[i] = (size_t)k;
		at += k + 1;
	}
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
check_count(const char *path, size_t n)
{
	sqlite3 *db = raw_open(path);
	sqlite3_stmt *stmt = raw_prepare(db, "SELECT count(*) FROM jobs WHERE state = 'queued'");
	int64_t c = raw_step(db, stmt);

	sqlite3_finalize(stmt);
	sqlite3_close(db);
	if (c != (int64_t)n)
		die("'%s': %" PRId64 " queued jobs, expected %zu", path, c, n);
}

/* Bind the row as jobq's enqueue does for a job with default options. */
static void
bind_row(sqlite3_stmt *stmt, int base, const char *payload, size_t len, int64_t now)
{
	sqlite3_bind_text(stmt, base + 1, TYPE, sizeof(TYPE) - 1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, base + 2, "default", 7, SQLITE_STATIC);
	sqlite3_bind_text(stmt, base + 3, payload, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, base + 4, 0);
	sqlite3_bind_int64(stmt, base + 5, now);
	sqlite3_bind_int64(stmt, base + 6, 3);
	sqlite3_bind_null(stmt, base + 7);
	sqlite3_bind_null(stmt, base + 8);
	sqlite3_bind_null(stmt, base + 9);
	sqlite3_bind_null(stmt, base + 10);
	sqlite3_bind_int64(stmt, base + 11, now);
}

/* libjobq: jobq_enqueue_many() of n jobs. Returns jobs/s. */
static double
bulk_libjobq(const char *path, const struct payloads *pl, size_t n)
{
	struct jobq_item *items = calloc(n, sizeof(*items));
	struct jobq *q = NULL;
	int64_t first, last;
	uint64_t t0, t1;

	if (items == NULL)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		items[i].type = TYPE;
		items[i].payload = pl->p[i];
	}
	db_create(path);
	if (jobq_open(path, bench_jobq_config(path), &q) < 0)
		die("jobq_open: %s", jobq_errmsg(NULL));
	t0 = now_ns();
	if (jobq_enqueue_many(q, items, n, &first, &last) < 0)
		die("jobq_enqueue_many: %s", jobq_errmsg(q));
	t1 = now_ns();
	jobq_close(q);
	free(items);
	check_count(path, n);
	return (double)n / ((double)(t1 - t0) / 1e9);
}

/* The store API: store_bulk_begin/add/commit of n jobs. Returns jobs/s. */
static double
bulk_store(const char *path, const struct payloads *pl, size_t n)
{
	struct store *st = NULL;
	struct config cfg;
	struct job_spec spec = {.type = TYPE};
	char err[512];
	int64_t id;
	uint64_t t0, t1;

	policy("{}", &cfg);
	db_create(path);
	if (store_open(path, bench_store_opts(), &st, err, sizeof(err)) < 0)
		die("store_open: %s", err);
	t0 = now_ns();
	if (store_bulk_begin(st) < 0)
		die("store_bulk_begin: %s", store_errmsg(st));
	for (size_t i = 0; i < n; i++) {
		spec.payload = pl->p[i];
		if (store_bulk_add(st, &cfg, &spec, &id, NULL) < 0)
			die("store_bulk_add: %s", store_errmsg(st));
	}
	if (store_bulk_commit(st) < 0)
		die("store_bulk_commit: %s", store_errmsg(st));
	t1 = now_ns();
	store_close(st);
	config_release(&cfg);
	check_count(path, n);
	return (double)n / ((double)(t1 - t0) / 1e9);
}

/* Raw SQLite: the same rows in one transaction with a prepared INSERT of rows_per_stmt rows
 * (1: the plain way; 32: the multi-row INSERT jobq itself uses). Returns jobs/s. */
static double
bulk_raw(const char *path, const struct payloads *pl, size_t n, int rows_per_stmt)
{
	char *sql = malloc(sizeof(insert_sql) + (size_t)rows_per_stmt * 32);
	sqlite3_stmt *one, *many = NULL;
	sqlite3 *db;
	uint64_t t0, t1;
	int64_t now;
	size_t i = 0;

	if (sql == NULL)
		die("out of memory");
	strcpy(sql, insert_sql);
	for (int r = 1; r < rows_per_stmt; r++)
		strcat(sql, ",(?,?,?,?,?,?,?,?,?,?,?)");
	db_create(path);
	db = raw_open(path);
	one = raw_prepare(db, insert_sql);
	if (rows_per_stmt > 1)
		many = raw_prepare(db, sql);
	t0 = now_ns();
	now = now_ms();
	raw_exec(db, "BEGIN IMMEDIATE");
	if (many != NULL) {
		for (; i + (size_t)rows_per_stmt <= n; i += (size_t)rows_per_stmt) {
			for (int r = 0; r < rows_per_stmt; r++)
				bind_row(many, r * 11, pl->p[i + (size_t)r], pl->len[i + (size_t)r],
				         now);
			raw_step(db, many);
		}
	}
	for (; i < n; i++) {
		bind_row(one, 0, pl->p[i], pl->len[i], now);
		raw_step(db, one);
	}
	raw_exec(db, "COMMIT");
	t1 = now_ns();
	sqlite3_finalize(one);
	sqlite3_finalize(many);
	sqlite3_close(db);
	free(sql);
	check_count(path, n);
	return (double)n / ((double)(t1 - t0) / 1e9);
}

/* libjobq: n jobq_enqueue() calls, each its own transaction. Returns jobs/s. */
static double
one_libjobq(const char *path, const struct payloads *pl, size_t n)
{
	struct jobq *q = NULL;
	uint64_t t0, t1;
	int64_t id;

	db_create(path);
	if (jobq_open(path, bench_jobq_config(path), &q) < 0)
		die("jobq_open: %s", jobq_errmsg(NULL));
	t0 = now_ns();
	for (size_t i = 0; i < n; i++) {
		if (jobq_enqueue(q, TYPE, pl->p[i], NULL, &id) < 0)
			die("jobq_enqueue: %s", jobq_errmsg(q));
	}
	t1 = now_ns();
	jobq_close(q);
	check_count(path, n);
	return (double)n / ((double)(t1 - t0) / 1e9);
}

/* The store API: n store_enqueue() calls, each its own transaction (what jobq_enqueue() wraps,
 * without its wake-up of a supervisor). Returns jobs/s. */
static double
one_store(const char *path, const struct payloads *pl, size_t n)
{
	struct store *st = NULL;
	struct config cfg;
	struct job_spec spec = {.type = TYPE};
	char err[512];
	uint64_t t0, t1;
	int64_t id;

	policy("{}", &cfg);
	db_create(path);
	if (store_open(path, bench_store_opts(), &st, err, sizeof(err)) < 0)
		die("store_open: %s", err);
	t0 = now_ns();
	for (size_t i = 0; i < n; i++) {
		spec.payload = pl->p[i];
		if (store_enqueue(st, &cfg, &spec, &id, NULL) < 0)
			die("store_enqueue: %s", store_errmsg(st));
	}
	t1 = now_ns();
	store_close(st);
	config_release(&cfg);
	check_count(path, n);
	return (double)n / ((double)(t1 - t0) / 1e9);
}

/* Raw SQLite: the same single-row INSERT, autocommit (a transaction each). Returns jobs/s. */
static double
one_raw(const char *path, const struct payloads *pl, size_t n)
{
	sqlite3_stmt *stmt;
	sqlite3 *db;
	uint64_t t0, t1;

	db_create(path);
	db = raw_open(path);
	stmt = raw_prepare(db, insert_sql);
	t0 = now_ns();
	for (size_t i = 0; i < n; i++) {
		bind_row(stmt, 0, pl->p[i], pl->len[i], now_ms());
		raw_step(db, stmt);
	}
	t1 = now_ns();
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	check_count(path, n);
	return (double)n / ((double)(t1 - t0) / 1e9);
}

static void report(const char *key, double *v, size_t n);

/* One by one at both levels: store_enqueue() and raw SQLite, full and fast, in rotating order. */
static int
run_durability(const char *path, const struct payloads *pl, size_t n, size_t reps)
{
	static const char *const keys[4] = {"dur_enq_store_full", "dur_enq_store_fast",
	                                    "dur_enq_raw_full", "dur_enq_raw_fast"};
	double v[4][MAX_REPS];

	result("dur_enq_n", (double)n);
	for (size_t r = 0; r < reps; r++) {
		for (size_t k = 0; k < 4; k++) {
			size_t i = (k + r) % 4;

			durability_set((int)(i % 2));
			v[i][r] = i < 2 ? one_store(path, pl, n) : one_raw(path, pl, n);
		}
		fprintf(stderr,
		        "  durability rep %zu/%zu: store full %.0f fast %.0f, raw full %.0f "
		        "fast %.0f jobs/s\n",
		        r + 1, reps, v[0][r], v[1][r], v[2][r], v[3][r]);
	}
	for (size_t i = 0; i < 4; i++)
		report(keys[i], v[i], reps);
	db_remove(path);
	return 0;
}

static void
report(const char *key, double *v, size_t n)
{
	char k[128];
	double lo, hi;

	lo = hi = v[0];
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

int
main(int argc, char **argv)
{
	size_t bulk_n = (size_t)env_long("BULK_N", 200000);
	size_t one_n = (size_t)env_long("ONE_N", 20000);
	size_t reps = (size_t)env_long("REPS", 3);
	double lib[MAX_REPS], store[MAX_REPS], raw[MAX_REPS], raw32[MAX_REPS];
	double lib1[MAX_REPS], store1[MAX_REPS], raw1[MAX_REPS];
	struct payloads pl;
	char path[4096];
	int bulk;

	if (argc != 3 || (strcmp(argv[1], "all") != 0 && strcmp(argv[1], "one") != 0 &&
	                  strcmp(argv[1], "durability") != 0))
		die("usage: bench_enqueue all|one|durability DIR");
	bulk = strcmp(argv[1], "all") == 0;
	if (reps > MAX_REPS)
		reps = MAX_REPS;
	snprintf(path, sizeof(path), "%s/enqueue.db", argv[2]);
	payloads_make(&pl, bulk && bulk_n > one_n ? bulk_n : one_n);
	printf("sqlite_version %s\n", sqlite3_libversion());
	if (strcmp(argv[1], "durability") == 0)
		return run_durability(path, &pl, one_n, reps);
	result("one_n", (double)one_n);
	for (size_t r = 0; r < reps; r++) {
		/* Alternate which side goes first, so a drift of the machine hits both. */
		if (bulk && r % 2 == 0) {
			lib[r] = bulk_libjobq(path, &pl, bulk_n);
			raw[r] = bulk_raw(path, &pl, bulk_n, 1);
		} else if (bulk) {
			raw[r] = bulk_raw(path, &pl, bulk_n, 1);
			lib[r] = bulk_libjobq(path, &pl, bulk_n);
		}
		if (bulk) {
			store[r] = bulk_store(path, &pl, bulk_n);
			raw32[r] = bulk_raw(path, &pl, bulk_n, 32);
			fprintf(stderr,
			        "  bulk enqueue rep %zu/%zu: libjobq %.0f, store %.0f, raw %.0f, "
			        "raw 32-row %.0f jobs/s\n",
			        r + 1, reps, lib[r], store[r], raw[r], raw32[r]);
		}
		/* Rotate the order of the three one-by-one measurements. */
		for (size_t k = 0; k < 3; k++) {
			switch ((k + r) % 3) {
			case 0:
				lib1[r] = one_libjobq(path, &pl, one_n);
				break;
			case 1:
				raw1[r] = one_raw(path, &pl, one_n);
				break;
			default:
				store1[r] = one_store(path, &pl, one_n);
				break;
			}
		}
		fprintf(stderr,
		        "  one-by-one enqueue rep %zu/%zu: libjobq %.0f, store %.0f, raw %.0f "
		        "jobs/s\n",
		        r + 1, reps, lib1[r], store1[r], raw1[r]);
	}
	if (bulk) {
		result("bulk_n", (double)bulk_n);
		report("enq_bulk_lib", lib, reps);
		report("enq_bulk_store", store, reps);
		report("enq_bulk_raw", raw, reps);
		report("enq_bulk_raw32", raw32, reps);
	}
	report("enq_one_lib", lib1, reps);
	report("enq_one_store", store1, reps);
	report("enq_one_raw", raw1, reps);
	db_remove(path);
	return 0;
}
