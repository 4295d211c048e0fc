/*
 * The SQLite job store: schema and migrations, enqueue, the policy-aware atomic claim,
 * finishing, retries, cancel, recovery, queries. All SQL of jobq lives in queue/.
 *
 * Functions return 0 (or a count) on success and a negative errno on failure; the message of the
 * last failure is in store_errmsg(). Codes: -EBUSY database locked (exit 75), -ESRCH no such job,
 * -ESTALE fencing token not current, -EINVAL bad data (65), -EEXIST state forbids the change,
 * -ENOSPC/-EIO disk (74), -ENOTSUP database from a newer jobq (69), -ENOENT/-EACCES cannot open
 * (66). A struct store is used by one thread; never across fork().
 */
#ifndef JOBQ_STORE_H
#define JOBQ_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define STORE_SCHEMA_VERSION 4

struct store;

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED, JOB_CANCELLED, JOB_NSTATES };

/* "queued" ... "cancelled"; job_state_parse returns 0 or -EINVAL. */
const char *job_state_name(enum job_state s);
int job_state_parse(const char *s, enum job_state *out);

/* A job as stored. Strings are malloc'd copies (NULL when the column is NULL); release with
 * job_release(). Times are milliseconds since the epoch, 0 when unset. */
struct job {
	int64_t id;
	char *type;
	char *namespace;
	char *payload; /* JSON text */
	enum job_state state;
	int64_t priority;
	int64_t run_at;
	int64_t attempts;
	int64_t max_attempts;
	int64_t timeout_ms; /* 0: the type's */
	char *resources;    /* JSON array of the job's own tags, e.g. ["cpu:2"], or NULL */
	char *units;        /* while running: JSON array of every tag held (type's + job's) */
	char *unique_key;
	char *batch;
	char *result;
	char *error;
	int has_exit_code;
	int exit_code;
	int64_t created_at;
	int64_t started_at;
	int64_t finished_at;
	int64_t orphans_reaped;
	int64_t worker_pid;   /* owner; 0 none */
	int64_t worker_start; /* owner's start time in clock ticks since boot */
	int64_t pgid;         /* handler's process group; 0 none */
	int64_t pgid_start;
	int64_t lease_until;
	int64_t token;
	int cancel_requested;
	char *stderr_tail; /* column stderr: the tail of the last attempt's stderr, or NULL */
	int truncated;     /* the result was cut at output_max */
	char *host;        /* the host id of whoever claimed it (schema 4), or NULL */
};

void job_release(struct job *job);

/* durability_fast copies the configuration's "durability" (!cfg->synchronous_full); its zero value
 * is the safe one. full: PRAGMA synchronous=FULL, each commit syncs the WAL before it returns.
 * fast: synchronous=NORMAL, the WAL is synced only before a checkpoint, so a power loss can
 * roll back the commits since the last one (never a process crash; never a corrupt file). */
struct store_opts {
	int durability_fast; /* 0: "full" (the default), 1: "fast" */
	int busy_timeout_ms; /* 0: 5000 */
	int create;          /* create the file if missing (otherwise -ENOENT) */
};

/* For a program whose processes use SQLite from one thread only (the jobq command, not
 * libjobq): no mutexes and no memory statistics inside SQLite. Call before any other store
 * function; returns 0 or -EBUSY if SQLite was initialised already. */
int store_single_thread(void);

/* Open (creating and migrating as needed) the database at path. *out is set on success and
 * released with store_close(). On failure *out is NULL and the message is copied to err. */
int store_open(const char *path, const struct store_opts *opts, struct store **out, char *err,
               size_t errlen);
void store_close(struct store *st);
/* Switch an open store's level (fast: 1 "fast", 0 "full"), e.g. when a reload changed
 * "durability"; outside a transaction. NULL st: a no-op. Returns 0 or a store error. */
int store_set_durability(struct store *st, int fast);
/* How long a call waits for another connection's lock before it fails with -EBUSY: ms, or 0 for
 * the default (5 s, what one-shot commands use). A poll loop sets STORE_LOOP_BUSY_MS and tries a
 * busy call again at its next tick instead of sitting deaf in the busy handler. NULL: a no-op. */
#define STORE_LOOP_BUSY_MS 250
void store_set_busy_timeout(struct store *st, int ms);
const char *store_errmsg(const struct store *st);
/* This host's id (core/hostid.h), for the wake-ups the store sends other hosts: PostgreSQL's
 * NOTIFY carries it. skip_own: store_data_version does not count this host's own wake-ups
 * (the supervisor's connection: its FIFO told it already). NULL host: none. */
void store_set_host(struct store *st, const char *host, int skip_own);

/* The last failure as data, for a caller that words it its own way (the CLI names the line of
 * a bulk enqueue, and the byte of that line): code is the negative errno that was returned, kind
 * what was wrong, byte where (-1 when kind has no place). */
enum store_fault_kind {
	STORE_FAULT_OTHER,        /* store_errmsg() says it all */
	STORE_FAULT_PAYLOAD_JSON, /* a job's payload is not JSON; byte: where in the payload */
};
struct store_fault {
	int code;
	enum store_fault_kind kind;
	int64_t byte;
};
struct store_fault store_fault(const struct store *st);
const char *store_path(const struct store *st);

/* What a producer gives for one job. NULL / 0 fields take defaults. */
struct job_spec {
	const char *type;
	const char *namespace; /* NULL: "default" */
	const char *payload;   /* JSON text; NULL: "{}" */
	int64_t priority;
	int64_t run_at;       /* 0: now */
	int64_t max_attempts; /* 0: the type's, else CONFIG_DEFAULT_MAX_ATTEMPTS */
	int64_t timeout_ms;   /* 0: the type's */
	const struct tag *resources;
	size_t nresources;
	const char *unique_key;
	int64_t unique_for_ms; /* > 0: a job holding unique_key created less than this long ago,
	                        * in any state (finished too), also counts as existing */
	const char *batch;
	const int64_t *after; /* parents (enqueue --after): the job runs once all succeeded */
	size_t nafter;
};

/*
 * Validate spec against cfg (type name, a type cfg declares (config_type_known), namespace,
 * payload is JSON within cfg->payload_max, tags name declared pools and fit their capacity).
 * Returns 0 or -EINVAL with the message in err. Does not touch the database.
 */
int store_validate_spec(const struct config *cfg, const struct job_spec *spec, char *err,
                        size_t errlen);

/* Enqueue one job in its own transaction. *existing is set to 1 when unique_key matched a live
 * (queued or running) job, or with unique_for_ms one created within that period, whose id is
 * returned instead (the live one first, else the newest). */
int store_enqueue(struct store *st, const struct config *cfg, const struct job_spec *spec,
                  int64_t *id_out, int *existing);

/* Bulk enqueue: begin, add N times, then commit (or rollback: nothing is written). Ids of one
 * bulk are consecutive unless unique keys matched existing jobs. */
int store_bulk_begin(struct store *st);
int store_bulk_add(struct store *st, const struct config *cfg, const struct job_spec *spec,
                   int64_t *id_out, int *existing);
int store_bulk_commit(struct store *st);
void store_bulk_rollback(struct store *st);

/* A claim request. */
struct claim_req {
	const char *const *types; /* only these types; NULL: any type */
	size_t ntypes;
	int64_t lease_ms; /* 0: cfg->lease_ms */
	pid_t owner_pid;  /* 0: none (external claimer relying on its lease) */
	uint64_t owner_start;
	int64_t now;      /* 0: time_now_ms() */
	const char *host; /* the claimer's host id (core/hostid.h), recorded as jobs.host; NULL */
};

/*
 * Claim the best runnable job under the whole policy of cfg in one write transaction:
 * global, per-type limits, resource pools (all or nothing), singleton per namespace, paused
 * types/pools, run_at, then priority (higher first) and age. Marks it running with a new token
 * and lease. Returns 1 with *out filled (caller releases), 0 if nothing is claimable, < 0 error.
 * *next_run_at (may be NULL) receives the earliest future run_at or pause end that could make a
 * job claimable (0 if none), for timed wake-ups.
 */
int store_claim(struct store *st, const struct config *cfg, const struct claim_req *req,
                struct job *out, int64_t *next_run_at);

/* Renew a running job's lease. -ESTALE if token is not current, -ESRCH if no such job.
 * *cancel_requested (may be NULL) tells whether a cancel was requested meanwhile. */
int store_heartbeat(struct store *st, int64_t id, int64_t token, int64_t lease_ms,
                    int *cancel_requested);

/* Record the handler's process group (and its leader's start time) of a running job. */
int store_set_pgid(struct store *st, int64_t id, int64_t token, pid_t pgid, uint64_t pgid_start);

/* How an attempt ended. */
struct job_outcome {
	int succeeded;
	const char *result; /* JSON text or plain text kept as given */
	const char *error;
	int has_exit_code;
	int exit_code;
	int temporary;          /* retry without counting the attempt */
	int requeue_now;        /* with temporary: at once, no backoff (stopped by a shutdown) */
	int no_retry;           /* fail at once (e.g. HTTP 400) */
	int64_t retry_after_ms; /* > 0: earliest retry delay asked by the handler */
	int64_t orphans_reaped;
	int cancelled;           /* the job was cancelled while running */
	const char *stderr_tail; /* what is kept of the attempt's stderr (its tail), or NULL */
	int truncated;           /* result was cut at output_max: kept as text, flagged */
	int64_t tokens;          /* > 0: tokens the attempt reported, charged to the token
	                          * budgets of the pools it holds ("tokens" in the config) */
};

/*
 * Finish a running job with token: succeeded, or failed (retried with exponential backoff and
 * jitter while attempts remain, per the type's backoff in cfg), or cancelled.
 * Returns the job's new state (>= 0) or -ESTALE / -ESRCH / other errors.
 */
int store_finish(struct store *st, const struct config *cfg, int64_t id, int64_t token,
                 const struct job_outcome *o);

/* Finish one job and claim the next in the same transaction (the worker's fast path).
 * Returns like store_claim; the finish is applied even when nothing is claimed. */
int store_finish_and_claim(struct store *st, const struct config *cfg, int64_t id, int64_t token,
                           const struct job_outcome *o, const struct claim_req *req,
                           struct job *out, int64_t *next_run_at);

/* Filter for list/cancel/retry/wait. NULL / -1 fields match everything. */
struct job_filter {
	const int64_t *ids;
	size_t nids;
	int state; /* enum job_state or -1 */
	const char *type;
	const char *namespace;
	const char *batch;
	int64_t limit;           /* 0: no limit */
	int64_t finished_before; /* > 0: finished_at < this (prune) */
};

/*
 * Cancel matching jobs: queued ones become cancelled at once; running ones get cancel_requested
 * set (their worker terminates the handler and finishes them as cancelled). Returns the number
 * of jobs affected (>= 0); *running_out (may be NULL) gets how many were running.
 */
int store_cancel(struct store *st, const struct job_filter *f, int64_t *running_out);

/* Move matching failed/cancelled jobs back to queued (attempts reset to 0, run_at now).
 * Returns the number moved (>= 0). */
int store_retry(struct store *st, const struct job_filter *f);

/* Delete finished jobs that finished before f->finished_before. Returns the number deleted. */
int store_prune(struct store *st, const struct job_filter *f);

/* Is there a job id? Returns 1, 0 (none), or -errno. */
int store_job_exists(struct store *st, int64_t id);

/* Fetch one job. -ESRCH if absent. */
int store_get(struct store *st, int64_t id, struct job *out);

/* Call cb for each matching job, newest id first for finished, by id otherwise; cb returns
 * non-zero to stop. Returns the number visited or -errno. */
int store_list(struct store *st, const struct job_filter *f,
               int (*cb)(const struct job *job, void *ctx), void *ctx);

/* Counts by state for the filter (e.g. a batch): counts[JOB_NSTATES]. */
int store_count(struct store *st, const struct job_filter *f, int64_t counts[JOB_NSTATES]);

/* Counts per type and state: cb(type, counts) for each type present. */
int store_count_by_type(struct store *st,
                        void (*cb)(const char *type, const int64_t counts[JOB_NSTATES], void *ctx),
                        void *ctx);

/* The same for the jobs of one batch (batch NULL: every job). */
int store_count_by_type_batch(struct store *st, const char *batch,
                              void (*cb)(const char *type, const int64_t counts[JOB_NSTATES],
                                         void *ctx),
                              void *ctx);

/* The queued and running jobs per type: cb(type, state, count) for each type and live state
 * that has jobs, queued ones first, each by type. Returns 0 or -errno. */
int store_count_live(struct store *st,
                     void (*cb)(const char *type, enum job_state state, int64_t n, void *ctx),
                     void *ctx);

/* Age in ms of the oldest runnable queued job (run_at <= now), or -1 when none. */
int64_t store_oldest_queued_age(struct store *st, int64_t now);
/* The same among the jobs of one batch (batch NULL: every job). */
int64_t store_oldest_queued_age_batch(struct store *st, const char *batch, int64_t now);

/* The units every pool of cfg has taken: used[i] for cfg->pools[i], summed over the running
 * jobs' units, as the claim counts them. Returns 0 or a store error. */
int store_pool_usage(struct store *st, const struct config *cfg, int64_t *used);

/* Pauses: kind "type" (name = type), "resource" (name = tag) or "all" (name ""). until 0: until
 * resumed. reason may be NULL. */
enum pause_kind { PAUSE_ALL, PAUSE_TYPE, PAUSE_RESOURCE };
int store_pause(struct store *st, enum pause_kind kind, const char *name, int64_t until,
                const char *reason);
/* The same, but never shortening a pause in force: one that lasts until `until` or longer,
 * or until resumed, is kept as it is (a quota pause that meets an operator's). One statement,
 * so two workers meeting a quota at once keep the longer of their pauses. Returns 1 if the
 * pause was set, 0 if the one in force was kept, or a store error. */
int store_pause_longer(struct store *st, enum pause_kind kind, const char *name, int64_t until,
                       const char *reason);
/* Returns 1 if a pause was lifted, 0 if there was none. */
int store_resume(struct store *st, enum pause_kind kind, const char *name);
/* cb for each pause in force at now. */
int store_list_pauses(struct store *st, int64_t now,
                      void (*cb)(enum pause_kind kind, const char *name, int64_t until,
                                 const char *reason, void *ctx),
                      void *ctx);

/* Why recovery takes a running job back. */
enum job_lost { JOB_NOT_LOST, JOB_LEASE_EXPIRED, JOB_OWNER_GONE };

/* Whether the process that claimed job is gone: a jobq worker records its pid and start time
 * at claim, and no process has both now (a recycled pid is another process). An external
 * claimer (no pid) is never gone: only its lease counts. Reads /proc; holds no lock. */
int store_owner_gone(const struct job *job);

#define RECOVER_LEASES 1 /* the jobs whose lease expired */
#define RECOVER_OWNERS 2 /* the jobs whose owner is gone (store_owner_gone) */

struct recover_req {
	int what;                   /* RECOVER_LEASES | RECOVER_OWNERS */
	int64_t now;                /* 0: time_now_ms() */
	const struct job_filter *f; /* only the running jobs f matches (its state is ignored);
	                             * NULL: every running job */
	/* Called once the recovery has committed, with each job taken back as it was while
	 * running (its attempt only: it may have been claimed again already); may be NULL. */
	void (*on_lost)(const struct job *job, enum job_lost why, void *ctx);
	void *ctx;
	/* This host's id (core/hostid.h), or NULL: only the jobs claimed here (or with no host)
	 * can have their owner looked for in this machine's /proc; another host's running job is
	 * lost only when its lease expires (RECOVER_LEASES). */
	const char *host;
};

/* Whether job was claimed on this host (host NULL, or a job without a host, counts as
 * local): only then are its pid and process group this machine's to look at or kill. */
int store_job_is_local(const struct job *job, const char *host);

/*
 * Recovery: take back every running job that is lost (req->what): one whose cancel was
 * requested becomes cancelled ("cancelled"), one with no attempt left fails ("worker lost"),
 * any other is requeued at its own run_at, keeping its place in line, the attempt counted
 * ("worker lost"). Which jobs are lost is decided before the write transaction (reading /proc)
 * and checked again inside it (same token and owner; an expired lease still expired), so the
 * write lock is held only for the writes, and only when something is lost. Returns the number
 * taken back or a store error.
 */
int store_recover(struct store *st, const struct recover_req *req);

/* The batches that have queued or running jobs, by name: cb(batch, counts by state, how many
 * of its jobs ended at or after since) for each. Returns 0 or -errno. */
int store_batch_progress(struct store *st, int64_t since,
                         void (*cb)(const char *batch, const int64_t counts[JOB_NSTATES],
                                    int64_t ended_since, void *ctx),
                         void *ctx);

/* The failed jobs, latest finished first, at most limit: cb for each (non-zero stops).
 * Returns 0 or -errno. */
int store_recent_failed(struct store *st, int64_t limit,
                        int (*cb)(const struct job *job, void *ctx), void *ctx);

/* Rate limits and token budgets of pools: what the sliding window of pool index `pool` (of
 * cfg->pools) holds at now. kind: RATE_STARTS for "rates", RATE_TOKENS for "tokens". */
enum rate_kind { RATE_STARTS, RATE_TOKENS };
struct rate_use {
	int64_t used;     /* job starts, or tokens, in the window (now - window, now] */
	int64_t frees_at; /* when full (used >= limit): the time a job may start again; else 0 */
};
/* Returns 0 with *out filled (zeros for a pool without that limit), or -errno. */
int store_rate_use(struct store *st, const struct config *cfg, size_t pool, enum rate_kind kind,
                   int64_t now, struct rate_use *out);

/* Running jobs (for status and the supervisor), by started_at. */
int store_list_running(struct store *st, int (*cb)(const struct job *job, void *ctx), void *ctx);

/* The time of the earliest queued job's run_at (0 if none queued). */
int64_t store_next_run_at(struct store *st);

/* Data version: changes whenever another connection commits (PRAGMA data_version). On
 * PostgreSQL: when another connection sent a wake-up (NOTIFY at the commit of an enqueue, a
 * finish, a cancel, a retry, a resume, a recovery), not counting this host's own when
 * store_set_host() said skip_own. */
int64_t store_data_version(struct store *st);
/* The same, this host's own wake-ups counted even with skip_own: for what watches the counts
 * rather than wakes workers (the supervisor's STATUS= to systemd). */
int64_t store_change_version(struct store *st);

/* A descriptor that becomes readable when another process may have made a job runnable (on
 * PostgreSQL the LISTEN connection's socket: store_data_version() then reads the notifications
 * and changes), or -1 when the backend has none (SQLite: the FIFO of core/wake.h serves). It may
 * change after a reconnection: ask again rather than keep it. queue/wait.c. */
int store_wait_fd(struct store *st);

/*
 * Dependencies and batch callbacks (queue/deps.c). A job enqueued with after waits (queued,
 * outside the ready index) until every parent has succeeded; when a parent ends failed or
 * cancelled, every queued descendant is cancelled ("dependency N failed"); jobq retry of that
 * parent brings them back. The triggers of schema version 3 do it in the transaction that ends
 * the parent. An unknown parent id: -EINVAL, naming it.
 */
#define STORE_AFTER_MAX 1000 /* parents of one job */

/* Register the callback of batch: once no job of the batch is queued or running, one job of
 * type is enqueued (namespace NULL: "default"; priority, max_attempts, timeout: the type's)
 * with payload {"batch": B, "counts": {"succeeded": N, "failed": N, "cancelled": N},
 * "total": N}. Inside an open bulk enqueue, or in its own transaction. Registering again
 * replaces the type and re-arms it. -EINVAL for an unknown type or a bad batch name. */
int store_batch_on_done(struct store *st, const struct config *cfg, const char *batch,
                        const char *type, const char *namespace);

/* cb(parent id, its state, ctx) for each parent of job id, by id. Returns the count. */
int store_job_parents(struct store *st, int64_t id,
                      void (*cb)(int64_t parent, enum job_state state, void *ctx), void *ctx);

/* Queued jobs waiting for a parent (blocked), or -errno. */
int64_t store_count_blocked(struct store *st);

/* Schedules (queue/schedule.c). What the store remembers of one schedule: the last tick it
 * handled (fired or skipped), the tick of the last job it enqueued and that job's id. */
struct schedule_state {
	int64_t last_tick;  /* 0: never seen */
	int64_t fired_tick; /* 0: none yet */
	int64_t last_job;   /* 0: none yet */
};
struct schedule;

/* Read a schedule's state (all 0 when never seen). */
int store_schedule_get(struct store *st, const char *name, struct schedule_state *out);

/*
 * Handle the due ticks of schedule s at now in one write transaction: read its last tick, plan
 * (schedule_plan() in core/schedule.c: on-time ticks, then missed ones as s->missed says),
 * enqueue one job per planned tick with unique key "schedule:NAME:TICK" (RFC 3339), record the
 * new last tick. Two processes cannot both fire a tick: the read and the write are one
 * transaction. *fired and *skipped (may be NULL) get the numbers of jobs enqueued and of ticks
 * dropped; *next the following tick (0: none). Returns 0 or a store error.
 */
int store_schedule_run(struct store *st, const struct config *cfg, const struct schedule *s,
                       int64_t now, int *fired, int *skipped, int64_t *next);

#endif
