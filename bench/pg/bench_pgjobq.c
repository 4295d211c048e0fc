/*
 * jobq's side of bench/pg.sh, through the store (queue/store.h) and libjobq (queue/jobq.h) only,
 * so the same program measures any backend: TARGET is what `--db` takes, a PostgreSQL conninfo
 * or URI, or a SQLite path (which is how it is checked while the PostgreSQL backend is not in the
 * build).
 *
 * cycles TARGET M PROCS POLICY_JSON
 *   claim+complete cycles on a pre-filled queue (bench/pg.sh enqueues N no-op jobs first):
 *   PROCS processes, each with its own connection, started and connected first, then released at
 *   once; each loops store_claim() + store_finish() (two write transactions a cycle, what an
 *   external `jobq claim` / `jobq complete` does) until M jobs are done in all or CYCLES_MAX_S
 *   (env, 10) seconds have passed. A claim that finds nothing claimable (the policy's limit
 *   reached by the other process) is tried again. Prints cycles_rate (jobs done / time from
 *   release to the last completion), cycles_done and cycles_ms.
 *
 * latency SAMPLES TARGET_SMALL TARGET_BIG TARGET_BLOCKED
 *   the mean and p50 of one store_claim() with 1k queued `ingest` jobs (TARGET_SMALL), 1M
 *   (TARGET_BIG), and 1k claimable `ingest` jobs beside 1M `ingest` jobs blocked by an unfinished
 *   parent (TARGET_BLOCKED; enqueue --after's dependency rows), each in two forms: a claim of any
 *   type (`jobq claim`: the loose index scan over the types) and a claim of the types named
 *   (`--type ingest`, what a supervisor's worker does with the types it has handlers for: the
 *   walk of one type's queued jobs in claim order). The queues are filled by bench/pg.sh (SQL
 *   generate_series); each claimed job is finished and one new job enqueued, untimed, so the
 *   depth stays constant. The cases run in interleaved rounds of 100 (half of each form) after
 *   200 warm-up claims each. Prints lat_{small,big,blocked}_{mean,p50,p95} (any type) and
 *   lat_{small,big,blocked}_typed_{mean,p50,p95} in microseconds.
 *
 * wake TARGET SAMPLES GAP_MS
 *   with `jobq supervise` running on TARGET (type noop, builtin), enqueue one job through
 *   jobq_enqueue() (what `jobq enqueue` does, wake-up included), then read its state through a
 *   second connection every 100 us until it is no longer queued: enqueue returned -> claimed
 *   (the builtin noop handler starts right after its claim commits). Prints wake_p50_ms,
 *   wake_p95_ms, wake_max_ms.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "jobq.h"

#define MAX_PROCS 16
#define WARMUP 200
#define ROUND 100

/* struct lib, lib_open(), lib_try_claim(), lib_finish(): common.c. */

/* ---- cycles ---- */

struct shared {
	atomic_long done;
	atomic_int ready;
	atomic_int go;
	atomic_ullong t0_ns;
	atomic_ullong last_ns;
};

static int
run_cycles(const char *target, long m, int procs, const char *policy_json)
{
	uint64_t max_ns = (uint64_t)env_long("CYCLES_MAX_S", 10) * 1000000000ULL;
	struct shared *sh;
	pid_t pid[MAX_PROCS];
	uint64_t t0;
	int status, failed = 0;

	if (procs < 1 || procs > MAX_PROCS || m < 1)
		die("cycles: PROCS 1..%d, M >= 1", MAX_PROCS);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	memset(sh, 0, sizeof(*sh));
	for (int i = 0; i < procs; i++) {
		if ((pid[i] = fork()) < 0)
			die("fork");
		if (pid[i] == 0) {
			struct lib l;
			struct job j;

			lib_open(&l, target, policy_json);
			atomic_fetch_add(&sh->ready, 1);
			while (!atomic_load(&sh->go))
				usleep(100);
			while (atomic_load(&sh->done) < m &&
			       now_ns() < atomic_load(&sh->t0_ns) + max_ns) {
				if (!lib_try_claim(&l, &j)) {
					sched_yield(); /* the other process holds the limit */
					continue;
				}
				lib_finish(&l, &j);
				atomic_fetch_add(&sh->done, 1);
				atomic_store(&sh->last_ns, now_ns());
			}
			lib_close(&l);
			_exit(0);
		}
	}
	while (atomic_load(&sh->ready) < procs) {
		if (waitpid(-1, &status, WNOHANG) > 0)
			die("cycles: a process ended before it was ready");
		usleep(1000);
	}
	t0 = now_ns();
	atomic_store(&sh->t0_ns, t0);
	atomic_store(&sh->go, 1);
	for (int i = 0; i < procs; i++) {
		if (waitpid(pid[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed = 1;
	}
	if (failed)
		die("cycles: a process failed");
	if (atomic_load(&sh->done) == 0)
		die("cycles: no job was claimed (an empty queue?)");
	result("cycles_ms", (double)(atomic_load(&sh->last_ns) - t0) / 1e6);
	result("cycles_done", (double)atomic_load(&sh->done));
	result("cycles_rate",
	       (double)atomic_load(&sh->done) * 1e9 / (double)(atomic_load(&sh->last_ns) - t0));
	return 0;
}

/* ---- latency ---- */

#define LAT_POLICY "{\"concurrency\":{\"global\":4}}"

static const char *const lat_types[] = {"ingest"};

struct lat_case {
	const char *name;
	const char *target;
	struct lib l;
	double *v[2]; /* [0] any type, [1] typed */
	size_t n[2];
};

/* One timed claim; typed: of the type ingest only, as a worker claims. */
static double
lat_one(struct lat_case *c, int typed)
{
	struct job_spec spec = {.type = "ingest", .payload = "{}"};
	uint64_t t0, t1;
	struct job j;
	int64_t id;

	c->l.req.types = typed ? lat_types : NULL;
	c->l.req.ntypes = typed ? 1 : 0;
	t0 = now_ns();
	if (!lib_try_claim(&c->l, &j))
		die("latency %s: nothing claimable", c->name);
	t1 = now_ns();
	if (strcmp(j.type, "ingest") != 0)
		die("latency %s: claimed a '%s' job, expected 'ingest'", c->name, j.type);
	lib_finish(&c->l, &j);
	if (store_enqueue(c->l.st, &c->l.cfg, &spec, &id, NULL) < 0)
		die("store_enqueue: %s", store_errmsg(c->l.st));
	return (double)(t1 - t0) / 1e3;
}

static int
run_latency(long samples, char **targets)
{
	struct lat_case cs[3] = {{.name = "small"}, {.name = "big"}, {.name = "blocked"}};
	char k[64];

	for (size_t i = 0; i < 3; i++) {
		cs[i].target = targets[i];
		for (int t = 0; t < 2; t++)
			if ((cs[i].v[t] = calloc((size_t)samples + ROUND, sizeof(double))) == NULL)
				die("out of memory");
		lib_open(&cs[i].l, cs[i].target, LAT_POLICY);
		for (int w = 0; w < WARMUP; w++)
			lat_one(&cs[i], w % 2);
	}
	for (long done = 0; done < samples; done += ROUND / 2) {
		for (size_t i = 0; i < 3; i++) {
			for (int r = 0; r < ROUND; r++) {
				int t = r % 2;

				if (cs[i].n[t] < (size_t)samples)
					cs[i].v[t][cs[i].n[t]++] = lat_one(&cs[i], t);
			}
		}
	}
	for (size_t i = 0; i < 3; i++) {
		for (int t = 0; t < 2; t++) {
			const char *form = t ? "_typed" : "";

			snprintf(k, sizeof(k), "lat_%s%s_mean", cs[i].name, form);
			result(k, mean(cs[i].v[t], cs[i].n[t]));
			snprintf(k, sizeof(k), "lat_%s%s_p50", cs[i].name, form);
			result(k, percentile(cs[i].v[t], cs[i].n[t], 50));
			snprintf(k, sizeof(k), "lat_%s%s_p95", cs[i].name, form);
			result(k, percentile(cs[i].v[t], cs[i].n[t], 95));
			free(cs[i].v[t]);
		}
		lib_close(&cs[i].l);
	}
	return 0;
}

/* ---- wake ---- */

static int
run_wake(const char *target, long samples, long gap_ms)
{
	double *v = calloc((size_t)samples + 1, sizeof(double));
	struct jobq *q = NULL;
	struct store *st;
	char err[512];

	if (v == NULL || samples < 1)
		die("wake: SAMPLES >= 1");
	if (jobq_open(target, NULL, &q) < 0)
		die("jobq_open '%s' failed", target);
	if (store_open(target, bench_store_opts(), &st, err, sizeof(err)) < 0)
		die("store_open: %s", err);
	for (long i = 0; i < samples; i++) {
		/* gap..2*gap ms: the supervisor and its workers are idle again, out of step with
		 * any periodic tick */
		long long gap_ns = (long long)gap_ms * 1000000LL * (1000 + random() % 1000) / 1000;
		struct timespec ts = {(time_t)(gap_ns / 1000000000LL),
		                      (long)(gap_ns % 1000000000LL)};
		struct timespec tick = {0, 100000};
		uint64_t t0, deadline;
		int64_t id;
		struct job j;

		nanosleep(&ts, NULL);
		if (jobq_enqueue(q, "noop", NULL, NULL, &id) < 0)
			die("enqueue: %s", jobq_errmsg(q));
		t0 = now_ns();
		deadline = t0 + 5000000000ULL;
		for (;;) {
			if (store_get(st, id, &j) < 0)
				die("store_get: %s", store_errmsg(st));
			if (j.state != JOB_QUEUED) {
				job_release(&j);
				break;
			}
			job_release(&j);
			if (now_ns() > deadline)
				die("job %lld was not claimed within 5 s", (long long)id);
			nanosleep(&tick, NULL);
		}
		v[i] = (double)(now_ns() - t0) / 1e6;
	}
	result("wake_p50_ms", percentile(v, (size_t)samples, 50));
	result("wake_p95_ms", percentile(v, (size_t)samples, 95));
	result("wake_max_ms", percentile(v, (size_t)samples, 100));
	store_close(st);
	jobq_close(q);
	free(v);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "cycles") == 0)
		return run_cycles(argv[2], atol(argv[3]), atoi(argv[4]), argv[5]);
	if (argc == 6 && strcmp(argv[1], "latency") == 0)
		return run_latency(atol(argv[2]), argv + 3);
	if (argc == 5 && strcmp(argv[1], "wake") == 0)
		return run_wake(argv[2], atol(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: bench_pgjobq cycles TARGET M PROCS POLICY_JSON | latency SAMPLES "
	                "TARGET_SMALL TARGET_BIG TARGET_BLOCKED | wake TARGET SAMPLES GAP_MS\n");
	return 64;
}
