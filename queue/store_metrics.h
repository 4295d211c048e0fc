/*
 * Aggregates for `jobq metrics` and the supervisor's /metrics endpoint, computed by SQLite (one
 * scan of the jobs table, grouped), never by loading the jobs. The Prometheus text itself is
 * supervisor/metrics.c's business.
 */
#ifndef JOBQ_STORE_METRICS_H
#define JOBQ_STORE_METRICS_H

#include <stdint.h>

#include "store.h"

/* Upper bounds of the job duration histogram's buckets, in ms (the +Inf bucket is the count):
 * from no-op jobs to hour-long LLM runs. */
#define STORE_METRICS_BUCKETS 13
#define STORE_METRICS_BOUNDS_MS                                                                    \
	{                                                                                          \
		100, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 600000, 1800000,  \
		        3600000                                                                    \
	}

/* One (type, state) group of jobs. */
struct store_metrics_row {
	const char *type; /* valid during the callback only */
	enum job_state state;
	int64_t jobs;           /* jobs in that state */
	int64_t attempts;       /* their attempts, summed */
	int64_t orphans_reaped; /* processes their handlers left behind, killed and reaped */
	int64_t timed;          /* succeeded or failed jobs with a start and an end */
	double duration_ms;     /* the duration of their last attempt, summed */
	int64_t le[STORE_METRICS_BUCKETS]; /* how many of them took at most bound i (cumulative) */
};

/* Open a read transaction, so that what the calls below return is one snapshot; end it with
 * store_read_end() (also after an error). Returns 0 or a store error. */
int store_read_begin(struct store *st);
void store_read_end(struct store *st);

/* Call cb for each (type, state) group of jobs, ordered by type then state name. Returns 0 or a
 * store error (the message in store_errmsg()). */
int store_metrics_jobs(struct store *st, void (*cb)(const struct store_metrics_row *row, void *ctx),
                       void *ctx);

#endif
