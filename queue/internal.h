/*
 * What the files of queue/ share: the connection, its statement cache, error mapping,
 * transactions and row decoding. Not installed; tests may include it for the hooks below.
 */
#ifndef JOBQ_QUEUE_INTERNAL_H
#define JOBQ_QUEUE_INTERNAL_H

#include <stdint.h>

#include <sqlite3.h>

#include "sql.h"
#include "store.h"

#define STORE_ERR_MAX 512

/* Rows of a bulk enqueue waiting for the next multi-row INSERT; strings live in arena. */
struct bulk_row {
	size_t type, namespace, payload, resources, batch; /* offsets into arena; batch: -1 none */
	int64_t priority, run_at, max_attempts, timeout_ms, created_at;
	int has_resources, has_batch;
};

struct store {
	sqlite3 *db;
	char *path;
	char err[STORE_ERR_MAX];
	int errnum; /* the negative errno of the last failure recorded in err */
	int busy_timeout_ms;
	int64_t busy_since_ns; /* start of the current wait for a lock (busy_wait) */
	int wal_frames;        /* frames in the WAL after this connection's last commit */
	sqlite3_stmt *stmt[SQL_NSTATEMENTS];
	/* bulk enqueue */
	int in_bulk;
	int64_t next_id;
	struct bulk_row rows[SQL_BULK_ROWS];
	size_t nrows;
	char *arena;
	size_t arena_len, arena_cap;
	/* test seams */
	uint64_t vm_steps; /* VM steps of the claim's statements, summed */
	void (*claim_hook)(struct store *st, const struct job *job, void *ctx);
	void *claim_hook_ctx;
};

/* The prepared statement id (prepared on first use), or NULL with the error recorded. */
sqlite3_stmt *stmt_get(struct store *st, enum sql_id id);

/* Reset stmt, clear its bindings and add its VM steps to st->vm_steps. NULL is a no-op. */
void stmt_done(struct store *st, sqlite3_stmt *stmt);

/* Bind text or NULL (s NULL) as a static string: s must outlive the step. */
int bind_text(sqlite3_stmt *stmt, int i, const char *s);
/* Bind v, or NULL when v is 0. */
int bind_int_or_null(sqlite3_stmt *stmt, int i, int64_t v);

/* Map a SQLite result code to a negative errno and record "what 'path': reason" as the
 * message. Returns the negative errno. */
int store_fail(struct store *st, int rc, const char *what);
/* Record a formatted message and return err (a negative errno). */
int store_failx(struct store *st, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* The negative errno for a SQLite result code. */
int store_errno(int rc);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. tx_rollback is a no-op outside a transaction. */
int tx_begin(struct store *st, const char *what);
int tx_commit(struct store *st, const char *what);
void tx_rollback(struct store *st);

/* Fill job from a row whose first columns are JOB_COLS, starting at column 0. Returns 0 or
 * -ENOMEM (job is then released). */
int job_from_row(sqlite3_stmt *stmt, struct job *job);

/* A random fencing token in [1, 2^53): exact as a JSON number (a double). */
int64_t store_token(void);

/* Copy at most 48 bytes of s into a short printable form for messages ("..." when cut). */
const char *shown(const char *s, char *buf, size_t len);

/* Schema: create or migrate to STORE_SCHEMA_VERSION (schema.c). */
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

/* The claim inside an open transaction (claim.c), shared with store_finish_and_claim. */
int claim_in_tx(struct store *st, const struct config *cfg, const struct claim_req *req,
		struct job *out, int64_t *next_run_at);
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
void filter_bind(sqlite3_stmt *stmt, const struct job_filter *f, int64_t id, int64_t time);

/* Test seams: a hook called inside the claim transaction after the job was marked running
 * (before COMMIT), and the running sum of VM steps of the claim's statements. */
void store_set_claim_hook(struct store *st,
			  void (*hook)(struct store *st, const struct job *job, void *ctx),
			  void *ctx);
uint64_t store_vm_steps(const struct store *st);

#endif
