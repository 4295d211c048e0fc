/*
 * Wake-up to start of an exec job, the producer's process left out: enqueue one job of type
 * "stamp" through libjobq (its commit, then the wake-up byte) into each database in turn, and
 * wait for the job's process to write its start time into FIFO (bench_stamp, same clock). What
 * is measured is the worker's part of submit-to-start: its wake-up, its claim, the spawn of the
 * command, and bench_stamp's own start-up (the same for every database). With a supervisor of
 * another build on each database, the rows compare the builds' workers in one interleaved run.
 *
 * Each round takes the databases in a new shuffled order; between two samples, outside the
 * clock, the database's jobs are waited for (db_wait_idle()) and GAP_MS (20) pass.
 *
 * usage: bench_start SAMPLES FIFO KEY DB [KEY DB]...   (each DB: a supervisor running, a type
 *   "stamp" that runs `bench_stamp FIFO`)
 * prints KEY_start_{p50,mean,p90}_ms from before jobq_enqueue() to the job's start, and
 * KEY_ret_p50_ms from jobq_enqueue() returning.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "jobq.h"

#define MAX_DBS 8
#define WARMUP 10

struct target {
	const char *key;
	struct jobq *q;
	sqlite3 *idle; /* the same database, to wait for its jobs to end */
	double *start, *ret;
};

int
main(int argc, char **argv)
{
	struct target t[MAX_DBS];
	size_t n = 0, order[MAX_DBS];
	uint64_t seed = 0x9e3779b97f4a7c15u;
	long samples, gap = env_long("GAP_MS", 20);
	int fifo;

	if (argc < 5 || argc % 2 == 0 || (samples = atol(argv[1])) <= 0)
		die("usage: bench_start SAMPLES FIFO KEY DB [KEY DB]...");
	if ((fifo = open(argv[2], O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		die("cannot open '%s': %s", argv[2], strerror(errno));
	for (int i = 3; i + 1 < argc && n < MAX_DBS; i += 2, n++) {
		t[n].key = argv[i];
		t[n].start = calloc((size_t)samples, sizeof(double));
		t[n].ret = calloc((size_t)samples, sizeof(double));
		if (t[n].start == NULL || t[n].ret == NULL ||
		    jobq_open(argv[i + 1], NULL, &t[n].q) < 0)
			die("cannot open '%s'", argv[i + 1]);
		t[n].idle = raw_open(argv[i + 1]);
	}
	for (long r = -WARMUP; r < samples; r++) {
		round_order(order, n, &seed);
		for (size_t k = 0; k < n; k++) {
			struct target *x = &t[order[k]];
			struct pollfd p = {.fd = fifo, .events = POLLIN};
			uint64_t t0, t1, stamp;

			settle(gap);
			t0 = now_ns();
			if (jobq_enqueue(x->q, "stamp", NULL, NULL, NULL) < 0)
				die("%s: enqueue: %s", x->key, jobq_errmsg(x->q));
			t1 = now_ns();
			while (read(fifo, &stamp, sizeof(stamp)) != (ssize_t)sizeof(stamp))
				if (poll(&p, 1, 10000) == 0)
					die("%s: the job did not start within 10 s", x->key);
			db_wait_idle(x->idle);
			if (r >= 0) {
				x->start[r] = (double)(int64_t)(stamp - t0) / 1e6;
				x->ret[r] = (double)(int64_t)(stamp - t1) / 1e6;
			}
		}
	}
	for (size_t k = 0; k < n; k++) {
		result_of(t[k].key, "start_p50_ms", percentile(t[k].start, (size_t)samples, 50));
		result_of(t[k].key, "start_mean_ms", mean(t[k].start, (size_t)samples));
		result_of(t[k].key, "start_p90_ms", percentile(t[k].start, (size_t)samples, 90));
		result_of(t[k].key, "ret_p50_ms", percentile(t[k].ret, (size_t)samples, 50));
		jobq_close(t[k].q);
		sqlite3_close(t[k].idle);
		free(t[k].start);
		free(t[k].ret);
	}
	close(fifo);
	return 0;
}
