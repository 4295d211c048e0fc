/*
 * libjobq: enqueue jobs into a jobq database from C.
 *
 *   struct jobq *q;
 *   if (jobq_open("jobq.db", NULL, &q) < 0) ...
 *   jobq_enqueue(q, "enrich", "{\"url\":\"https://example.org\"}", NULL, &id);
 *   jobq_close(q);
 *
 * Link with `pkg-config --cflags --libs jobq`. Functions return 0 or a negative errno; the
 * message of the last failure is jobq_errmsg(). A handle is used by one thread, not across fork.
 */
#ifndef JOBQ_H
#define JOBQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct jobq;

/* Per-job options; a NULL pointer or zeroed struct takes the defaults. */
struct jobq_enqueue_opts {
	const char *namespace;        /* default "default" */
	int64_t priority;             /* higher runs first */
	int64_t run_at_ms;            /* epoch ms; 0: now */
	int64_t max_attempts;         /* 0: the type's (default 3) */
	int64_t timeout_ms;           /* 0: the type's */
	const char *const *resources; /* tags "name" or "name:N" */
	size_t nresources;
	const char *unique_key;
	const char *batch;
};

struct jobq_item {
	const char *type;
	const char *payload; /* JSON text; NULL: {} */
	const struct jobq_enqueue_opts *opts;
};

/* Open (creating if needed) the database at db_path. config_path may be NULL: $JOBQ_CONFIG,
 * else jobq.json beside the database, else the built-in default. On failure *out is NULL. */
int jobq_open(const char *db_path, const char *config_path, struct jobq **out);

/* Enqueue one job; *id_out (may be NULL) gets its id. The payload is checked as jobq enqueue
 * checks it: one JSON value, at most payload_max bytes, no \u0000 escape in any string (which
 * no handler could be given); a bad one fails with -EINVAL and a message naming the field. So
 * is a type the configuration does not declare, when it declares any (jobq_errmsg() names the
 * known ones). */
int jobq_enqueue(struct jobq *q, const char *type, const char *payload,
                 const struct jobq_enqueue_opts *opts, int64_t *id_out);

/* Enqueue n jobs in one transaction, all or nothing. first/last (may be NULL) get the ids. */
int jobq_enqueue_many(struct jobq *q, const struct jobq_item *items, size_t n, int64_t *first_id,
                      int64_t *last_id);

/* Message of the last failure on q ("" if none); valid until the next call on q. */
const char *jobq_errmsg(const struct jobq *q);

/* Close q; NULL is a no-op. */
void jobq_close(struct jobq *q);

#ifdef __cplusplus
}
#endif

#endif
