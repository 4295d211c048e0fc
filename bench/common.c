/* Shared helpers of the benchmark programs (see common.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void
db_remove(const char *path)
{
	char p[4096];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

void
db_create(const char *path)
{
	struct store *st = NULL;
	char err[512];
	int r;

	db_remove(path);
	if ((r = store_open(path, bench_store_opts(), &st, err, sizeof(err))) < 0)
		die("store_open: %s", err);
	store_close(st);
}

static int level = -1; /* -1: not read from the environment yet */

int
durability_fast(void)
{
	const char *s;

	if (level < 0) {
		s = getenv("DURABILITY");
		if (s == NULL || *s == '\0' || strcmp(s, "full") == 0)
			level = 0;
		else if (strcmp(s, "fast") == 0)
			level = 1;
		else
			die("DURABILITY: expected full or fast, got '%s'", s);
	}
	return level;
}

void
durability_set(int fast)
{
	level = fast != 0;
}

const char *
durability_name(void)
{
	return durability_fast() ? "fast" : "full";
}

const struct store_opts *
bench_store_opts(void)
{
	static struct store_opts o;

	memset(&o, 0, sizeof(o));
	o.create = 1;
	o.durability_fast = durability_fast();
	return &o;
}

const char *
bench_jobq_config(const char *db_path)
{
	static char path[4096];
	FILE *fp;

	if (!durability_fast())
		return NULL;
	snprintf(path, sizeof(path), "%s.json", db_path);
	if (access(path, F_OK) == 0)
		return path;
	if ((fp = fopen(path, "w")) == NULL || fputs("{\"durability\": \"fast\"}\n", fp) < 0 ||
	    fclose(fp) != 0)
		die("cannot write '%s': %s", path, strerror(errno));
	return path;
}

sqlite3 *
raw_open(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		die("sqlite3_open '%s': %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_busy_timeout(db, 5000);
	raw_exec(db, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = OFF; "
	             "PRAGMA temp_store = MEMORY;");
	raw_exec(db,
	         durability_fast() ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL");
	return db;
}

void
raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die("sqlite3_exec '%.60s': %s", sql, msg != NULL ? msg : "error");
}

sqlite3_stmt *
raw_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
		die("sqlite3_prepare '%.60s': %s", sql, sqlite3_errmsg(db));
	return stmt;
}

int64_t
raw_step(sqlite3 *db, sqlite3_stmt *stmt)
{
	int64_t v = -1;
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW) {
		v = sqlite3_column_int64(stmt, 0);
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
			;
	}
	if (rc != SQLITE_DONE)
		die("sqlite3_step '%.60s': %s", sqlite3_sql(stmt), sqlite3_errmsg(db));
	sqlite3_reset(stmt);
	return v;
}

void
raw_fill(const char *path, const char *type, int64_t n)
{
	sqlite3 *db = raw_open(path);
	sqlite3_stmt *stmt;
	int64_t now = (int64_t)time(NULL) * 1000;

	stmt = raw_prepare(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
	                       "WHERE x < ?1) "
	                       "INSERT INTO jobs (type, namespace, payload, priority, run_at, "
	                       "max_attempts, created_at) "
	                       "SELECT ?2, 'default', '{\"i\":' || x || '}', 0, ?3, 3, ?3 FROM c");
	sqlite3_bind_int64(stmt, 1, n);
	sqlite3_bind_text(stmt, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, now);
	raw_exec(db, "BEGIN IMMEDIATE");
	raw_step(db, stmt);
	raw_exec(db, "COMMIT");
	sqlite3_finalize(stmt);
	sqlite3_close(db);
}

void
raw_checkpoint(const char *path)
{
	sqlite3 *db = raw_open(path);

	raw_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	sqlite3_close(db);
}

void
file_copy(const char *from, const char *to)
{
	char buf[1 << 16];
	ssize_t n;
	int in, out;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		die("open '%s': %s", from, strerror(errno));
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		die("open '%s': %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n)
			die("write '%s': %s", to, strerror(errno));
	}
	if (n < 0)
		die("read '%s': %s", from, strerror(errno));
	close(in);
	close(out);
}

void
policy(const char *json, struct config *cfg)
{
	char err[512];

	if (config_parse(json, "bench", cfg, err, sizeof(err)) < 0)
		die("config_parse '%s': %s", json, err);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
percentile(double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

double
median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double
mean(const double *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n > 0 ? s / (double)n : 0;
}

void
subreaper(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		die("cannot become a child subreaper: %s", strerror(errno));
}

void
settle(long gap_ms)
{
	struct timespec ts = {gap_ms / 1000, (gap_ms % 1000) * 1000000L};

	struct timespec ms = {0, 1000000L};

	/* A descendant that stays (a tsp server started by its first client, when submit.sh could
	 * not start it) must not hang the benchmark: 5 s at most. */
	for (int i = 0;; i++) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);

		if (pid < 0 && errno != EINTR)
			break; /* ECHILD: nothing left */
		if (pid == 0 && i >= 5000)
			die("a command left a process running for 5 s (a server started by its client?)");
		if (pid == 0)
			nanosleep(&ms, NULL);
	}
	nanosleep(&ts, NULL);
}

void
db_wait_idle(sqlite3 *db)
{
	sqlite3_stmt *st = raw_prepare(db, "SELECT count(*) FROM jobs WHERE state IN "
	                                   "('queued', 'running')");
	struct timespec ms = {0, 1000000L};

	for (int i = 0; raw_step(db, st) > 0; i++) {
		if (i == 10000)
			die("the jobs of '%s' did not end within 10 s",
			    sqlite3_db_filename(db, "main"));
		nanosleep(&ms, NULL);
	}
	sqlite3_finalize(st);
}

void
clean_dir(const char *dir)
{
	char path[4096];
	struct dirent *e;
	DIR *d;

	if (dir == NULL || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] == ',') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
}

void
round_order(size_t *idx, size_t n, uint64_t *seed)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j, t;

		/* xorshift64: enough for an order, and the same on every machine */
		*seed ^= *seed << 13;
		*seed ^= *seed >> 7;
		*seed ^= *seed << 17;
		j = (size_t)(*seed % i);
		t = idx[i - 1];
		idx[i - 1] = idx[j];
		idx[j] = t;
	}
}

void
result(const char *key, double value)
{
	printf("%s %.10g\n", key, value);
	fflush(stdout);
}

void
result_of(const char *prefix, const char *name, double value)
{
	printf("%s_%s %.10g\n", prefix, name, value);
	fflush(stdout);
}

int
bench_cmd_next(int argc, char **argv, int *i, struct bench_cmd *c)
{
	memset(c, 0, sizeof(*c));
	for (; *i + 1 < argc; *i += 2) {
		if (strcmp(argv[*i], "--clean") == 0)
			c->clean = argv[*i + 1];
		else if (strcmp(argv[*i], "--idle") == 0)
			c->idle = raw_open(argv[*i + 1]);
		else
			break;
	}
	if (*i >= argc)
		return -1;
	if (*i + 1 >= argc)
		die("bad command list at '%s'", argv[*i]);
	c->key = argv[(*i)++];
	c->argv = &argv[*i];
	while (*i < argc && strcmp(argv[*i], "---") != 0)
		(*i)++;
	if (*i < argc)
		argv[(*i)++] = NULL;
	return 0;
}

void
bench_cmd_after(const struct bench_cmd *c)
{
	clean_dir(c->clean);
	if (c->idle != NULL)
		db_wait_idle(c->idle);
}

long
env_long(const char *name, long def)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return def;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v <= 0)
		die("%s: expected a positive integer, got '%s'", name, s);
	return v;
}

void
lib_open(struct lib *l, const char *target, const char *policy_json)
{
	char err[512];

	if (store_open(target, bench_store_opts(), &l->st, err, sizeof(err)) < 0)
		die("store_open: %s", err);
	policy(policy_json, &l->cfg);
	memset(&l->req, 0, sizeof(l->req));
	l->req.owner_pid = getpid();
}

void
lib_close(struct lib *l)
{
	store_close(l->st);
	config_release(&l->cfg);
}

int
lib_try_claim(struct lib *l, struct job *j)
{
	int r = store_claim(l->st, &l->cfg, &l->req, j, NULL);

	if (r < 0)
		die("store_claim: %s", store_errmsg(l->st));
	return r;
}

void
lib_finish(struct lib *l, struct job *j)
{
	struct job_outcome o = {.succeeded = 1};

	if (store_finish(l->st, &l->cfg, j->id, j->token, &o) < 0)
		die("store_finish: %s", store_errmsg(l->st));
	job_release(j);
}
