/*
 * What the files of queue/ share: the connection, its statement cache, error mapping,
 * transactions and row decoding. Not installed; tests may include it for recovery's two steps
 * and store_vm_steps() below.
 */
#ifndef JOBQ_QUEUE_INTERNAL_H
#define JOBQ_QUEUE_INTERNAL_H

#include <stdint.h>

#include "db.h"
#include "sql.h"
#include "store.h"

#define STORE_ERR_MAX 512

/* Rows of a bulk enqueue waiting for the next multi-row INSERT; strings live in arena. */
struct bulk_row {
	size_t type, namespace, payload, resources, batch; /* offsets into arena; batch: -1 none */
	int64_t priority, run_at, max_attempts, timeout_ms, created_at;
	int has_resources, has_batch;
};

/* The PostgreSQL driver's state (db_pg.c). */
struct db_pg;

/* The SQLite driver's cached transaction statements (db_sqlite.c). */
enum { LITE_BEGIN, LITE_BEGIN_READ, LITE_COMMIT, LITE_ROLLBACK, LITE_DATA_VERSION, LITE_NTX };

struct store {
	const struct db_ops *ops; /* the backend: db_sqlite_ops or db_pg_ops */
	sqlite3 *db;              /* SQLite only (NULL on PostgreSQL) */
	struct db_pg *pg;         /* PostgreSQL only (NULL on SQLite) */
	/* What messages name: the SQLite file, or the PostgreSQL target without its password. */
	char *path;
	char host[65];     /* store_set_host(): names this host's notifications (PostgreSQL) */
	int skip_own_host; /* ... and those of this host are not counted by data_version */
	char err[STORE_ERR_MAX];
	int errnum;               /* the negative errno of the last failure recorded in err */
	struct store_fault fault; /* the same failure as data (store_fault()) */
	int busy_timeout_ms;
	struct db_stmt *stmt[SQL_NSTATEMENTS]; /* prepared on first use (stmt_get) */
	/* SQLite only (db_sqlite.c) */
	int64_t busy_since_ns; /* start of the current wait for a lock (busy_wait) */
	int wal_frames;        /* frames in the WAL after this connection's last commit */
	int wal_retry_frames;  /* no checkpoint before the WAL is this long (wal_committed) */
	int64_t busy_cap_ns;   /* when set, busy_wait gives up at this time (CLOCK_MONOTONIC) */
	sqlite3_stmt *lite_tx[LITE_NTX];
	/* bulk enqueue */
	int in_bulk;
	int64_t next_id;
	struct bulk_row rows[SQL_BULK_ROWS];
	size_t nrows;
	char *arena;
	size_t arena_len, arena_cap;
	uint64_t vm_steps; /* VM steps of the statements run, summed (store_vm_steps) */
};

/* A job may have become runnable: tell the other hosts' supervisors at the commit of the
 * current transaction (PostgreSQL's NOTIFY; SQLite: nothing, the CLI writes the FIFO). */
void store_wake_others(struct store *st);

/* The prepared statement id (prepared on first use), or NULL with the error recorded. */
struct db_stmt *stmt_get(struct store *st, enum sql_id id);

/* Reset stmt, clear its bindings and (SQLite) add its VM steps to st->vm_steps. NULL is a
 * no-op. */
static inline void
stmt_done(struct store *st, struct db_stmt *stmt)
{
	(void)st;
	if (stmt != NULL)
		stmt->ops->reset(stmt);
}

/* Bind v, or NULL when v is 0. */
static inline int
bind_int_or_null(struct db_stmt *stmt, int i, int64_t v)
{
	return v != 0 ? db_bind_int(stmt, i, v) : db_bind_null(stmt, i);
}

/* Map a result code (SQLite's vocabulary, db.h) to a negative errno and record "what 'path':
 * reason" as the message. Returns the negative errno. */
int store_fail(struct store *st, int rc, const char *what);
/* Record a formatted message and return err (a negative errno). */
int store_failx(struct store *st, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* The negative errno for a SQLite result code. */
int store_errno(int rc);

/* A write transaction (db_ops.begin), its commit and rollback. tx_rollback is a no-op outside a
 * transaction. */
int tx_begin(struct store *st, const char *what);
int tx_commit(struct store *st, const char *what);
void tx_rollback(struct store *st);

/* Fill job from a row whose first columns are JOB_COLS, starting at column 0. Returns 0 or
 * -ENOMEM (job is then released). */
int job_from_row(struct db_stmt *stmt, struct job *job);

/* A random fencing token in [1, 2^53): exact as a JSON number (a double). */
int64_t store_token(void);

/* Copy at most 48 bytes of s into a short printable form for messages ("..." when cut). */
const char *shown(const char *s, char *buf, size_t len);

/* The SQLite schema: create or migrate to STORE_SCHEMA_VERSION (schema.c), the SQLite
 * driver's db_ops.migrate. */
int schema_migrate(struct store *st);

/* JSON text check used for payloads (json.c): one RFC 8259 value in UTF-8, nested at most
 * JSON_DEPTH_MAX deep, numbers at most JSON_NUMBER_MAX characters (what cJSON accepts), with
 * no \u0000 escape. Returns 0, -EINVAL (not such JSON) or -EILSEQ (a \u0000), with *where at
 * the offending byte. */
#define JSON_DEPTH_MAX 1000
#define JSON_NUMBER_MAX 63
int json_check(const char *text, size_t len, size_t *where);
/* 1 if s is 1 to max bytes of well-formed UTF-8 without control characters, else 0. */
int text_valid(const char *s, size_t max);

/* Pool usage (usage.c): the units a running job's units column holds, added to
 * used[cfg->npools] (a malformed column holds nothing). Pools are found by config_pool_index. */
void pool_usage_add(const struct config *cfg, const char *units, int64_t *used);

/* The claim inside an open transaction (claim.c), shared with store_finish_and_claim. */
int claim_in_tx(struct store *st, const struct config *cfg, const struct claim_req *req,
                struct job *out, int64_t *next_run_at);
/* A running job's row becomes finished in state, or queued again (finish.c); fenced by token
 * (-ESTALE / -ESRCH when it matches no running row). Inside a transaction. */
int finish_row(struct store *st, int64_t id, int64_t token, enum job_state state,
               const struct job_outcome *o, const char *error, int64_t now);
int requeue_row(struct store *st, int64_t id, int64_t token, int64_t attempts, int64_t run_at,
                const struct job_outcome *o, const char *error);

/* Recovery's two steps (recover.c, see there): recover_scan reads the running jobs req selects
 * and keeps, in out, those lost at now, without a write transaction; returns how many or a
 * store error. recover_apply takes them back in one write transaction, each only if it is still
 * the attempt seen and still lost; it fills each item's job with the row as it was while
 * running, or sets why to JOB_NOT_LOST. Returns the number taken back. Release out with
 * recover_scan_release(). Separate so that a test can change the database in between. */
struct recover_item {
	int64_t id, token, worker_pid, worker_start;
	enum job_lost why;
	struct job job;
};
struct recover_scan {
	struct recover_item *v;
	size_t n, cap;
};
int recover_scan(struct store *st, const struct recover_req *req, int64_t now,
                 struct recover_scan *out);
int recover_apply(struct store *st, int64_t now, struct recover_scan *s);
void recover_scan_release(struct recover_scan *s);

/* The finish inside an open transaction (finish.c). */
int finish_in_tx(struct store *st, const struct config *cfg, int64_t id, int64_t token,
                 const struct job_outcome *o, int64_t now);

/* The delay before retrying after attempt n (n >= 1) of a job of type: min(max, base *
 * 2^(n-1)) with the type's backoff (or the defaults), times a random factor in [0.5, 1]. */
int64_t store_backoff_ms(const struct config *cfg, const char *type, int64_t attempts);

/* Which statement variant serves a filter (see sql.h), and binding its parameters (id 0:
 * none; time: ?7). */
enum filter_kind { FILTER_ID, FILTER_BATCH, FILTER_ALL };
enum filter_kind filter_kind(const struct job_filter *f);
void filter_bind(struct db_stmt *stmt, const struct job_filter *f, int64_t id, int64_t time);

/* The VM steps of every statement this connection ran, summed: what a query cost, for tests
 * that check a cost does not grow with the queue (deterministic, unlike a time). */
uint64_t store_vm_steps(const struct store *st);

/* The SQLite text of every statement (store.c); PostgreSQL's differs where sql_pg.h says. */
extern const char *const sql_text[SQL_NSTATEMENTS];

#endif
