/*
 * Wake-up latency of an idle supervisor: enqueue one job through libjobq (which writes to the
 * wake-up FIFO after its commit), then wait until the job is no longer queued. The time from
 * enqueue returning to the claim being visible bounds the time to the handler starting from
 * above (the handler starts right after the claim commits).
 *
 * The wait blocks on inotify events of the WAL file (every commit writes it) and reads the
 * state after each: no spinning, which on a 2-core machine would take a core from the
 * supervisor and its workers and add scheduler delays of milliseconds to what is measured.
 *
 * usage: bench_wake DB SAMPLES GAP_MS     (a supervisor must be running on DB, type "noop")
 * prints wake_p50_ms, wake_p99_ms, wake_max_ms, and the same from before the jobq_enqueue()
 * call (wake_call_*): on a loaded machine the producer can lose its core right after writing
 * the wake-up byte, and the claim then happens before jobq_enqueue() has returned.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "jobq.h"

int
main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "jobq.db";
	long samples = argc > 2 ? atol(argv[2]) : 500, gap = argc > 3 ? atol(argv[3]) : 5;
	double *v = calloc((size_t)samples, sizeof(double));
	double *vc = calloc((size_t)samples, sizeof(double));
	struct jobq *q = NULL;
	sqlite3 *db;
	sqlite3_stmt *st;

	if (v == NULL || vc == NULL || jobq_open(path, NULL, &q) < 0)
		die("cannot open '%s'", path);
	db = raw_open(path);
	st = raw_prepare(db, "SELECT state = 'queued' FROM jobs WHERE id = ?");
	char wal[4096];
	int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (ino < 0 || inotify_add_watch(ino, wal, IN_MODIFY) < 0)
		die("inotify on '%s'", wal);
	for (long i = 0; i < samples; i++) {
		struct timespec ts = {0, gap * 1000000L};
		int64_t id;
		uint64_t t0, t1, tc;

		nanosleep(&ts, NULL); /* the supervisor and its workers are idle again */
		tc = now_ns();
		if (jobq_enqueue(q, "noop", NULL, NULL, &id) < 0)
			die("enqueue: %s", jobq_errmsg(q));
		t0 = now_ns();
		for (;;) {
			char ev[4096];
			struct pollfd pfd = {.fd = ino, .events = POLLIN};

			while (read(ino, ev, sizeof(ev)) > 0)
				;
			sqlite3_bind_int64(st, 1, id);
			if (raw_step(db, st) == 0)
				break;
			if (poll(&pfd, 1, 5000) == 0)
				die("job %lld was not claimed within 5 s", (long long)id);
		}
		t1 = now_ns();
		v[i] = (double)(t1 - t0) / 1e6;
		vc[i] = (double)(t1 - tc) / 1e6;
	}
	result("wake_p50_ms", percentile(v, (size_t)samples, 50));
	result("wake_p99_ms", percentile(v, (size_t)samples, 99));
	result("wake_max_ms", percentile(v, (size_t)samples, 100));
	result("wake_call_p50_ms", percentile(vc, (size_t)samples, 50));
	result("wake_call_p99_ms", percentile(vc, (size_t)samples, 99));
	close(ino);
	sqlite3_finalize(st);
	sqlite3_close(db);
	jobq_close(q);
	free(v);
	free(vc);
	return 0;
}
