/*
 * Rate limits and token budgets of pools: sliding windows over the rate_events log (schema
 * version 3). Why a sliding window and not a token bucket: see docs/architecture.md ("Rate
 * limits and token budgets").
 *
 * Each row is one event of a pool and kind (a job start, or a token report) with n (1, or the
 * tokens) and total, the running sum of n through it; `at` never goes back from one row to the
 * next. The window (now - W, now] is full when it holds limit or more. With L the last total
 * and e the first row whose total exceeds L - limit, the rows from e on hold at least limit
 * exactly when the total before e (e.total - e.n) is at most L - limit; they are all in the
 * window exactly when e is (at is monotonic). So the window is full iff e.at > now - W and
 * e.total - e.n <= L - limit, and it frees at e.at + W: two seeks of the primary key whatever
 * the limit. Rows leave the log once out of every window, except the last (it holds the sum).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "rate.h"
#include "tags.h"

/* The most tokens one report charges, so that the running sum cannot overflow. */
#define RATE_TOKENS_MAX 1000000000000LL
/* Starts between two deletes of what left the window: each delete then removes a run of rows
 * through rate_events_at, instead of one row per claim. */
#define RATE_PRUNE_EVERY 32

struct rate_room {
	int loaded, full;
	int64_t frees_at;
	int has_last; /* the last start row was read: its total and at */
	int64_t last_total, last_at;
};

static const char *const kind_names[] = {[RATE_STARTS] = "start", [RATE_TOKENS] = "tokens"};

/* The limit of kind on pool index p, or NULL when it has none. */
static const struct rate *
limit_of(const struct config *cfg, size_t p, enum rate_kind kind)
{
	const struct rate *r = kind == RATE_STARTS ? cfg->pool_rates : cfg->pool_tokens;

	return r != NULL && p < cfg->npools && r[p].limit > 0 ? &r[p] : NULL;
}

/* The last row of pool and kind: *total and *at, both 0 when there is none. */
static int
last_event(struct store *st, const char *pool, enum rate_kind kind, int64_t *total, int64_t *at)
{
	struct db_stmt *stmt = stmt_get(st, SQL_RATE_LAST);
	int rc;

	*total = *at = 0;
	if (stmt == NULL)
		return st->errnum;
	db_bind_text(stmt, 1, pool);
	db_bind_text(stmt, 2, kind_names[kind]);
	if ((rc = db_step(stmt)) == DB_ROW) {
		*total = db_col_int(stmt, 0);
		*at = db_col_int(stmt, 1);
	}
	stmt_done(st, stmt);
	return rc == DB_ROW || rc == DB_DONE ? 0 : store_fail(st, rc, "cannot read the rates of");
}

/* Whether the window of pool and kind is full at now: 1 with *frees_at, 0 room, < 0 error.
 * *last and *last_at receive the last row's total and at (0 when none). */
static int
window_full(struct store *st, const char *pool, enum rate_kind kind, const struct rate *lim,
            int64_t now, int64_t *frees_at, int64_t *last_out, int64_t *last_at)
{
	struct db_stmt *stmt;
	int64_t last, at, before;
	int rc, r;

	*frees_at = 0;
	if ((r = last_event(st, pool, kind, &last, last_at)) < 0)
		return r;
	*last_out = last;
	if (last < lim->limit)
		return 0;
	if ((stmt = stmt_get(st, SQL_RATE_FIRST_ABOVE)) == NULL)
		return st->errnum;
	db_bind_text(stmt, 1, pool);
	db_bind_text(stmt, 2, kind_names[kind]);
	db_bind_int(stmt, 3, last - lim->limit);
	if ((rc = db_step(stmt)) == DB_ROW) {
		at = db_col_int(stmt, 0);
		before = db_col_int(stmt, 1);
		if (before <= last - lim->limit && at > time_sub(now, lim->window_ms)) {
			*frees_at = time_add(at, lim->window_ms);
			r = 1;
		}
	}
	stmt_done(st, stmt);
	if (rc != DB_ROW && rc != DB_DONE)
		return store_fail(st, rc, "cannot read the rates of");
	return r;
}

int
rate_room(struct store *st, const struct config *cfg, struct rate_view *v, int p, int64_t now,
          int64_t *frees_at)
{
	struct rate_room *room;

	*frees_at = 0;
	if (p < 0 || (size_t)p >= cfg->npools ||
	    (limit_of(cfg, (size_t)p, RATE_STARTS) == NULL &&
	     limit_of(cfg, (size_t)p, RATE_TOKENS) == NULL))
		return 1;
	if (v->pool == NULL && (v->pool = calloc(cfg->npools, sizeof(*v->pool))) == NULL)
		return store_failx(st, -ENOMEM, "cannot claim from '%s': out of memory", st->path);
	room = &v->pool[p];
	if (!room->loaded) {
		/* Both windows: when both are full, the pool frees when the later one does. */
		for (int k = RATE_STARTS; k <= RATE_TOKENS; k++) {
			const struct rate *lim = limit_of(cfg, (size_t)p, (enum rate_kind)k);
			int64_t last, last_at, frees;
			int r;

			if (lim == NULL)
				continue;
			if ((r = window_full(st, cfg->pools[p].name, (enum rate_kind)k, lim, now,
			                     &frees, &last, &last_at)) < 0)
				return r;
			room->full |= r;
			if (frees > room->frees_at)
				room->frees_at = frees;
			if (k == RATE_STARTS) {
				room->has_last = 1;
				room->last_total = last;
				room->last_at = last_at;
			}
		}
		room->loaded = 1;
	}
	*frees_at = room->frees_at;
	return !room->full;
}

void
rate_view_release(struct rate_view *v)
{
	free(v->pool);
	v->pool = NULL;
}

/* One event of n for pool index p and kind at now (or the last event's time, if later). v (may
 * be NULL) holds the last start row when this claim read it. */
static int
charge(struct store *st, const struct config *cfg, const struct rate_view *v, int p,
       enum rate_kind kind, int64_t n, int64_t job, int64_t now)
{
	const struct rate *lim = limit_of(cfg, (size_t)p, kind);
	const char *pool = cfg->pools[p].name;
	struct db_stmt *stmt;
	int64_t last, at;
	int rc, r;

	if (lim == NULL || n <= 0)
		return 0;
	if (n > RATE_TOKENS_MAX)
		n = RATE_TOKENS_MAX;
	if (kind == RATE_STARTS && v != NULL && v->pool != NULL && v->pool[p].has_last) {
		last = v->pool[p].last_total;
		at = v->pool[p].last_at;
	} else if ((r = last_event(st, pool, kind, &last, &at)) < 0) {
		return r;
	}
	if ((stmt = stmt_get(st, SQL_RATE_ADD)) == NULL)
		return st->errnum;
	db_bind_text(stmt, 1, pool);
	db_bind_text(stmt, 2, kind_names[kind]);
	db_bind_int(stmt, 3, last + n);
	db_bind_int(stmt, 4, n);
	db_bind_int(stmt, 5, now > at ? now : at);
	bind_int_or_null(stmt, 6, job);
	rc = db_step(stmt);
	stmt_done(st, stmt);
	if (rc != DB_DONE)
		return store_fail(st, rc, "cannot record a rate in");
	/* What no window can hold any more, but the new last row: after every token report, and
	 * every RATE_PRUNE_EVERY starts. */
	if (kind == RATE_STARTS && (last + n) % RATE_PRUNE_EVERY != 0)
		return 0;
	if ((stmt = stmt_get(st, SQL_RATE_PRUNE)) == NULL)
		return st->errnum;
	db_bind_text(stmt, 1, pool);
	db_bind_text(stmt, 2, kind_names[kind]);
	db_bind_int(stmt, 3, time_sub(now, lim->window_ms));
	db_bind_int(stmt, 4, last + n);
	rc = db_step(stmt);
	stmt_done(st, stmt);
	return rc == DB_DONE ? 0 : store_fail(st, rc, "cannot record a rate in");
}

/* Charge n of kind to every pool of units that has that kind of limit. */
static int
charge_units(struct store *st, const struct config *cfg, const struct rate_view *v,
             const char *units, enum rate_kind kind, int64_t n, int64_t job, int64_t now)
{
	struct tagset held;
	int r;

	/* A malformed units column (written by hand) holds nothing, as in the claim. */
	if (units == NULL || tagset_parse(&held, units) < 0)
		return 0;
	for (size_t i = 0; i < held.n; i++) {
		int p = config_pool_index(cfg, held.tag[i].name);

		if (p >= 0 && (r = charge(st, cfg, v, p, kind, n, job, now)) < 0)
			return r;
	}
	return 0;
}

int
rate_charge_start(struct store *st, const struct config *cfg, const struct rate_view *v,
                  const char *units, int64_t job, int64_t now)
{
	if (cfg->pool_rates == NULL)
		return 0;
	return charge_units(st, cfg, v, units, RATE_STARTS, 1, job, now);
}

int
rate_charge_tokens(struct store *st, const struct config *cfg, int64_t id, int64_t token,
                   int64_t tokens, int64_t now)
{
	struct db_stmt *stmt;
	char *units = NULL;
	int rc, r = 0;

	if (cfg->pool_tokens == NULL || tokens <= 0)
		return 0;
	if ((stmt = stmt_get(st, SQL_RATE_JOB_UNITS)) == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, id);
	db_bind_int(stmt, 2, token);
	if ((rc = db_step(stmt)) == DB_ROW && db_col_text(stmt, 0) != NULL &&
	    (units = strdup(db_col_text(stmt, 0))) == NULL)
		r = store_failx(st, -ENOMEM, "cannot finish job %lld: out of memory",
		                (long long)id);
	stmt_done(st, stmt);
	if (r == 0 && rc != DB_ROW && rc != DB_DONE)
		r = store_fail(st, rc, "cannot finish a job in");
	if (r == 0)
		r = charge_units(st, cfg, NULL, units, RATE_TOKENS, tokens, id, now);
	free(units);
	return r;
}

int
store_rate_use(struct store *st, const struct config *cfg, size_t pool, enum rate_kind kind,
               int64_t now, struct rate_use *out)
{
	const struct rate *lim = limit_of(cfg, pool, kind);
	struct db_stmt *stmt;
	int rc, r;

	memset(out, 0, sizeof(*out));
	if (lim == NULL)
		return 0;
	if ((stmt = stmt_get(st, SQL_RATE_USED)) == NULL)
		return st->errnum;
	db_bind_text(stmt, 1, cfg->pools[pool].name);
	db_bind_text(stmt, 2, kind_names[kind]);
	db_bind_int(stmt, 3, time_sub(now, lim->window_ms));
	if ((rc = db_step(stmt)) == DB_ROW)
		out->used = db_col_int(stmt, 0);
	stmt_done(st, stmt);
	if (rc != DB_ROW)
		return store_fail(st, rc, "cannot read the rates of");
	{
		int64_t last, last_at;

		r = window_full(st, cfg->pools[pool].name, kind, lim, now, &out->frees_at, &last,
		                &last_at);
	}
	return r < 0 ? r : 0;
}
