/*
 * Rate limits ("rates": job starts per window) and token budgets ("tokens": tokens reported per
 * window) of resource pools, as sliding windows kept in the rate_events table. Queue-internal:
 * the claim asks whether a pool's windows have room and charges a start; the finish charges the
 * tokens an attempt reported. Every function runs inside the caller's write transaction.
 */
#ifndef JOBQ_QUEUE_RATE_H
#define JOBQ_QUEUE_RATE_H

#include <stdint.h>

#include "internal.h"

/* What one claim has read of the pools' windows: each pool's is read once, when first asked. */
struct rate_view {
	struct rate_room *pool; /* cfg->npools entries, or NULL before the first question */
};

/*
 * Whether a job may take pool index p (of cfg->pools) now as far as its rate and token windows
 * go: 1 room, 0 full (then *frees_at is when it frees), < 0 error recorded in st. A pool
 * without rate or token limits has room without a query.
 */
int rate_room(struct store *st, const struct config *cfg, struct rate_view *v, int p, int64_t now,
              int64_t *frees_at);

void rate_view_release(struct rate_view *v);

/* A job claimed at now holding units (its JSON array of tags; NULL none): one start in the
 * window of every pool it holds that has a rate. v (may be NULL): what this claim read of the
 * windows, which saves reading the last start again. Returns 0 or < 0. */
int rate_charge_start(struct store *st, const struct config *cfg, const struct rate_view *v,
                      const char *units, int64_t job, int64_t now);

/* The running job id (fenced by token) reported tokens: charged at now to the token budget of
 * every pool it holds that has one. A job no longer running under token is left alone (its
 * finish fails on the fence). Returns 0 or < 0. */
int rate_charge_tokens(struct store *st, const struct config *cfg, int64_t id, int64_t token,
                       int64_t tokens, int64_t now);

#endif
