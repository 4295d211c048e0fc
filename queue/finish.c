/*
 * The end of an attempt and everything that moves jobs between states after enqueue: finish
 * (with retries, backoff and jitter), heartbeat, cancel, retry, prune and pauses (recovery is in
 * recover.c).
 * Every change to a running job is fenced by its token: a stale owner cannot finish a job, nor
 * give back the capacity it holds, once recovery requeued it.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "duration.h"
#include "internal.h"
#include "names.h"
#include "rate.h"

/* Chunk of rows one prune statement deletes (see PRUNE in sql.h). */
#define PRUNE_CHUNK 10000

static const char *const pause_kinds[] = {
        [PAUSE_ALL] = "all", [PAUSE_TYPE] = "type", [PAUSE_RESOURCE] = "resource"};

/* Why a fenced change to job id matched no row: -ESRCH (no such job) or -ESTALE. */
static int
fence_error(struct store *st, int64_t id, const char *what)
{
	struct db_stmt *stmt = stmt_get(st, SQL_JOB_FENCE);
	char state[16] = "";
	int rc;

	if (stmt == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, id);
	if ((rc = db_step(stmt)) == DB_ROW)
		strlcpy(state, db_col_text(stmt, 0), sizeof(state));
	stmt_done(st, stmt);
	if (rc == DB_DONE)
		return store_failx(st, -ESRCH, "%s job %lld: no such job", what, (long long)id);
	if (rc != DB_ROW)
		return store_fail(st, rc, what);
	return store_failx(st, -ESTALE,
	                   "%s job %lld: its fencing token is not current (the job is %s; it was "
	                   "recovered or claimed again)",
	                   what, (long long)id, state);
}

int64_t
store_backoff_ms(const struct config *cfg, const char *type, int64_t attempts)
{
	const struct type_config *tc = type != NULL ? config_type(cfg, type) : NULL;
	int64_t base = tc != NULL ? tc->backoff_base_ms : CONFIG_DEFAULT_BACKOFF_BASE_MS;
	int64_t max = tc != NULL ? tc->backoff_max_ms : CONFIG_DEFAULT_BACKOFF_MAX_MS;
	int64_t b = base, half;

	if (max < base)
		max = base;
	/* Doubling stops at max (no overflow), and at once for a base of 0 however many the
	 * attempts. */
	for (int64_t i = 1; i < attempts && b > 0 && b < max; i++)
		b = b > max / 2 ? max : b * 2;
	if (b > max)
		b = max;
	half = b / 2;
	if (half > UINT32_MAX - 1)
		half = UINT32_MAX - 1;
	return b - half + (half > 0 ? (int64_t)arc4random_uniform((uint32_t)half + 1) : 0);
}

/* Mark a running job finished (succeeded, failed or cancelled). */
int
finish_row(struct store *st, int64_t id, int64_t token, enum job_state state,
           const struct job_outcome *o, const char *error, int64_t now)
{
	struct db_stmt *stmt = stmt_get(st, SQL_FINISH);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, id);
	db_bind_int(stmt, 2, token);
	db_bind_text(stmt, 3, job_state_name(state));
	db_bind_text(stmt, 4, o != NULL ? o->result : NULL);
	db_bind_text(stmt, 5, error);
	if (o != NULL && o->has_exit_code)
		db_bind_int(stmt, 6, o->exit_code);
	db_bind_int(stmt, 7, o != NULL ? o->orphans_reaped : 0);
	db_bind_int(stmt, 8, now);
	db_bind_text(stmt, 9, o != NULL ? o->stderr_tail : NULL);
	db_bind_int(stmt, 10, o != NULL && o->truncated);
	rc = db_step(stmt);
	stmt_done(st, stmt);
	if (rc != DB_DONE)
		return store_fail(st, rc, "cannot finish a job in");
	return st->ops->changes(st) > 0 ? (int)state : fence_error(st, id, "cannot finish");
}

/* Put a running job back in the queue. */
int
requeue_row(struct store *st, int64_t id, int64_t token, int64_t attempts, int64_t run_at,
            const struct job_outcome *o, const char *error)
{
	struct db_stmt *stmt = stmt_get(st, SQL_REQUEUE);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, id);
	db_bind_int(stmt, 2, token);
	db_bind_int(stmt, 3, attempts);
	db_bind_int(stmt, 4, run_at);
	db_bind_text(stmt, 5, o != NULL ? o->result : NULL);
	db_bind_text(stmt, 6, error);
	if (o != NULL && o->has_exit_code)
		db_bind_int(stmt, 7, o->exit_code);
	db_bind_int(stmt, 8, o != NULL ? o->orphans_reaped : 0);
	db_bind_text(stmt, 9, o != NULL ? o->stderr_tail : NULL);
	db_bind_int(stmt, 10, o != NULL && o->truncated);
	rc = db_step(stmt);
	stmt_done(st, stmt);
	if (rc != DB_DONE)
		return store_fail(st, rc, "cannot finish a job in");
	return st->ops->changes(st) > 0 ? (int)JOB_QUEUED : fence_error(st, id, "cannot finish");
}

int
finish_in_tx(struct store *st, const struct config *cfg, int64_t id, int64_t token,
             const struct job_outcome *o, int64_t now)
{
	struct db_stmt *stmt;
	int64_t attempts, max_attempts, delay;
	int rc, cancel_requested;
	char *type = NULL;
	int r;

	/* Tokens are spent whatever the outcome. */
	if ((r = rate_charge_tokens(st, cfg, id, token, o->tokens, now)) < 0)
		return r;
	store_wake_others(st); /* capacity freed, a retry queued, dependents unblocked */
	if (o->succeeded)
		return finish_row(st, id, token, JOB_SUCCEEDED, o, o->error, now);
	if (o->cancelled)
		return finish_row(st, id, token, JOB_CANCELLED, o, o->error, now);
	/* A failed attempt: what happens next depends on the attempts made. */
	if ((stmt = stmt_get(st, SQL_JOB_FENCE)) == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, id);
	rc = db_step(stmt);
	if (rc != DB_ROW || strcmp(db_col_text(stmt, 0), "running") != 0 ||
	    db_col_int(stmt, 1) != token) {
		stmt_done(st, stmt);
		return rc == DB_ROW || rc == DB_DONE ? fence_error(st, id, "cannot finish")
		                                     : store_fail(st, rc, "cannot finish a job in");
	}
	attempts = db_col_int(stmt, 2);
	max_attempts = db_col_int(stmt, 3);
	cancel_requested = (int)db_col_int(stmt, 4);
	type = strdup(db_col_text(stmt, 5));
	stmt_done(st, stmt);
	if (type == NULL)
		return store_failx(st, -ENOMEM, "cannot finish job %lld: out of memory",
		                   (long long)id);
	delay = store_backoff_ms(cfg, type, attempts);
	if (o->retry_after_ms > delay)
		delay = o->retry_after_ms;
	else if (o->temporary && o->requeue_now)
		delay = 0;
	if (cancel_requested)
		r = finish_row(st, id, token, JOB_CANCELLED, o, o->error, now);
	else if (o->temporary)
		r = requeue_row(st, id, token, attempts > 0 ? attempts - 1 : 0,
		                time_add(now, delay), o, o->error);
	else if (o->no_retry || attempts >= max_attempts)
		r = finish_row(st, id, token, JOB_FAILED, o, o->error, now);
	else
		r = requeue_row(st, id, token, attempts, time_add(now, delay), o, o->error);
	free(type);
	return r;
}

int
store_finish(struct store *st, const struct config *cfg, int64_t id, int64_t token,
             const struct job_outcome *o)
{
	int r;

	/* Success and cancel are one fenced UPDATE: their own transaction (unless tokens are
	 * charged too). */
	if ((o->succeeded || o->cancelled) && (o->tokens <= 0 || cfg->pool_tokens == NULL))
		return finish_in_tx(st, cfg, id, token, o, time_now_ms());
	if ((r = tx_begin(st, "cannot finish a job in")) < 0)
		return r;
	if ((r = finish_in_tx(st, cfg, id, token, o, time_now_ms())) >= 0) {
		int c = tx_commit(st, "cannot finish a job in");

		r = c < 0 ? c : r;
	}
	if (r < 0)
		tx_rollback(st);
	return r;
}

int
store_finish_and_claim(struct store *st, const struct config *cfg, int64_t id, int64_t token,
                       const struct job_outcome *o, const struct claim_req *req, struct job *out,
                       int64_t *next_run_at)
{
	int64_t now = req->now > 0 ? req->now : time_now_ms();
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = tx_begin(st, "cannot finish a job in")) < 0)
		return r;
	if ((r = finish_in_tx(st, cfg, id, token, o, now)) >= 0)
		r = claim_in_tx(st, cfg, req, out, next_run_at);
	if (r >= 0) {
		int c = tx_commit(st, "cannot claim from");

		if (c < 0) {
			if (r == 1)
				job_release(out);
			r = c;
		}
	}
	if (r < 0)
		tx_rollback(st);
	return r;
}

int
store_heartbeat(struct store *st, int64_t id, int64_t token, int64_t lease_ms,
                int *cancel_requested)
{
	struct db_stmt *stmt = stmt_get(st, SQL_HEARTBEAT);
	int rc, cancel = 0;

	if (stmt == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, id);
	db_bind_int(stmt, 2, token);
	db_bind_int(stmt, 3,
	            time_add(time_now_ms(), lease_ms > 0 ? lease_ms : CONFIG_DEFAULT_LEASE_MS));
	if ((rc = db_step(stmt)) == DB_ROW) {
		cancel = (int)db_col_int(stmt, 0) != 0;
		rc = db_step(stmt);
		if (rc == DB_DONE)
			rc = DB_ROW;
	}
	stmt_done(st, stmt);
	if (rc == DB_DONE)
		return fence_error(st, id, "cannot renew the lease of");
	if (rc != DB_ROW)
		return store_fail(st, rc, "cannot renew a lease in");
	if (cancel_requested != NULL)
		*cancel_requested = cancel;
	return 0;
}

int
store_set_pgid(struct store *st, int64_t id, int64_t token, pid_t pgid, uint64_t pgid_start)
{
	struct db_stmt *stmt = stmt_get(st, SQL_SET_PGID);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, id);
	db_bind_int(stmt, 2, token);
	bind_int_or_null(stmt, 3, pgid);
	bind_int_or_null(stmt, 4, (int64_t)pgid_start);
	rc = db_step(stmt);
	stmt_done(st, stmt);
	if (rc != DB_DONE)
		return store_fail(st, rc, "cannot update a job in");
	return st->ops->changes(st) > 0 ? 0 : fence_error(st, id, "cannot update");
}

/* Filters */

enum filter_kind
filter_kind(const struct job_filter *f)
{
	if (f != NULL && f->nids > 0)
		return FILTER_ID;
	return f != NULL && f->batch != NULL ? FILTER_BATCH : FILTER_ALL;
}

void
filter_bind(struct db_stmt *stmt, const struct job_filter *f, int64_t id, int64_t time)
{
	db_bind_text(stmt, 1, f != NULL ? f->type : NULL);
	db_bind_text(stmt, 2, f != NULL ? f->namespace : NULL);
	db_bind_text(stmt, 3, f != NULL ? f->batch : NULL);
	bind_int_or_null(stmt, 4, id);
	if (f != NULL && f->state >= 0 && f->state < JOB_NSTATES)
		db_bind_text(stmt, 5, job_state_name((enum job_state)f->state));
	else
		db_bind_null(stmt, 5);
	db_bind_int(stmt, 6, f != NULL && f->limit > 0 ? f->limit : -1);
	db_bind_int(stmt, 7, time);
}

/* Run the variant of a filtered change that fits f (once, or once per id); returns the number
 * of rows changed. */
static int64_t
filtered_change(struct store *st, const enum sql_id ids[3], const struct job_filter *f,
                int64_t time, const char *what, int *err)
{
	enum filter_kind k = filter_kind(f);
	size_t n = k == FILTER_ID ? f->nids : 1;
	int64_t changed = 0;

	for (size_t i = 0; i < n; i++) {
		struct db_stmt *stmt = stmt_get(st, ids[k]);
		int rc;

		if (stmt == NULL) {
			*err = st->errnum;
			return 0;
		}
		filter_bind(stmt, f, k == FILTER_ID ? f->ids[i] : 0, time);
		rc = db_step(stmt);
		stmt_done(st, stmt);
		if (rc != DB_DONE) {
			*err = store_fail(st, rc, what);
			return 0;
		}
		changed += st->ops->changes(st);
	}
	*err = 0;
	return changed;
}

static int
clamp_count(int64_t n)
{
	return n > INT_MAX ? INT_MAX : (int)n;
}

int
store_cancel(struct store *st, const struct job_filter *f, int64_t *running_out)
{
	static const enum sql_id queued[3] = {SQL_CANCEL_QUEUED_ID, SQL_CANCEL_QUEUED_BATCH,
	                                      SQL_CANCEL_QUEUED_ALL};
	static const enum sql_id running[3] = {SQL_CANCEL_RUNNING_ID, SQL_CANCEL_RUNNING_BATCH,
	                                       SQL_CANCEL_RUNNING_ALL};
	int64_t nq, nr = 0;
	int r;

	if ((r = tx_begin(st, "cannot cancel jobs in")) < 0)
		return r;
	nq = filtered_change(st, queued, f, time_now_ms(), "cannot cancel jobs in", &r);
	if (r == 0)
		nr = filtered_change(st, running, f, 0, "cannot cancel jobs in", &r);
	/* Jobs ended (a batch's callback may be due) or asked to stop: watchers of the queue on
	 * other connections (jobq wait, top, supervisors) look again, as after a finish. */
	if (r == 0 && nq + nr > 0)
		store_wake_others(st);
	if (r == 0)
		r = tx_commit(st, "cannot cancel jobs in");
	if (r < 0) {
		tx_rollback(st);
		return r;
	}
	if (running_out != NULL)
		*running_out = nr;
	return clamp_count(nq + nr);
}

int
store_retry(struct store *st, const struct job_filter *f)
{
	static const enum sql_id ids[3] = {SQL_RETRY_ID, SQL_RETRY_BATCH, SQL_RETRY_ALL};
	int64_t n;
	int r;

	if ((r = tx_begin(st, "cannot retry jobs in")) < 0)
		return r;
	n = filtered_change(st, ids, f, time_now_ms(), "cannot retry jobs in", &r);
	if (r == 0 && n > 0)
		store_wake_others(st);
	if (r == 0)
		r = tx_commit(st, "cannot retry jobs in");
	if (r < 0) {
		tx_rollback(st);
		return r;
	}
	return clamp_count(n);
}

int
store_prune(struct store *st, const struct job_filter *f)
{
	static const enum sql_id ids[3] = {SQL_PRUNE_ID, SQL_PRUNE_ALL, SQL_PRUNE_ALL};
	int64_t total = 0, n;
	int r;

	if (f == NULL || f->finished_before <= 0)
		return store_failx(st, -EINVAL, "prune needs a time before which jobs finished");
	/* Each statement is its own transaction of at most PRUNE_CHUNK rows (per id: one). */
	do {
		n = filtered_change(st, ids, f, f->finished_before, "cannot prune jobs in", &r);
		if (r < 0)
			return r;
		total += n;
	} while (filter_kind(f) != FILTER_ID && n == PRUNE_CHUNK);
	return clamp_count(total);
}

/* Pauses */

/* Set a pause with the statement id (SQL_PAUSE or SQL_PAUSE_LONGER) in one transaction that
 * first drops the pauses that ended. Returns the rows the statement changed (0 or 1). */
static int
pause_set(struct store *st, enum sql_id id, enum pause_kind kind, const char *name, int64_t until,
          const char *reason)
{
	struct db_stmt *stmt;
	char buf[64];
	int rc, r, changed = 0;

	if ((unsigned)kind > PAUSE_RESOURCE)
		return store_failx(st, -EINVAL, "invalid pause kind");
	if (kind == PAUSE_ALL)
		name = "";
	else if (kind == PAUSE_TYPE ? !name_type_valid(name) : !name_tag_valid(name))
		return store_failx(st, -EINVAL, "invalid %s name '%s'",
		                   kind == PAUSE_TYPE ? "type" : "resource",
		                   shown(name, buf, sizeof(buf)));
	if ((r = tx_begin(st, "cannot pause in")) < 0)
		return r;
	if ((stmt = stmt_get(st, SQL_PAUSES_EXPIRE)) == NULL) {
		r = st->errnum;
		goto out;
	}
	db_bind_int(stmt, 1, time_now_ms());
	rc = db_step(stmt);
	stmt_done(st, stmt);
	if (rc != DB_DONE) {
		r = store_fail(st, rc, "cannot pause in");
		goto out;
	}
	if ((stmt = stmt_get(st, id)) == NULL) {
		r = st->errnum;
		goto out;
	}
	db_bind_text(stmt, 1, pause_kinds[kind]);
	db_bind_text(stmt, 2, name);
	bind_int_or_null(stmt, 3, until);
	db_bind_text(stmt, 4, reason);
	rc = db_step(stmt);
	stmt_done(st, stmt);
	if (rc == DB_DONE)
		changed = st->ops->changes(st) > 0;
	r = rc == DB_DONE ? tx_commit(st, "cannot pause in")
	                  : store_fail(st, rc, "cannot pause in");
out:
	if (r < 0)
		tx_rollback(st);
	return r < 0 ? r : changed;
}

int
store_pause(struct store *st, enum pause_kind kind, const char *name, int64_t until,
            const char *reason)
{
	int r = pause_set(st, SQL_PAUSE, kind, name, until, reason);

	return r < 0 ? r : 0;
}

int
store_pause_longer(struct store *st, enum pause_kind kind, const char *name, int64_t until,
                   const char *reason)
{
	return pause_set(st, SQL_PAUSE_LONGER, kind, name, until, reason);
}

int
store_resume(struct store *st, enum pause_kind kind, const char *name)
{
	struct db_stmt *stmt = stmt_get(st, SQL_RESUME);
	int in_force = 0, rc;

	if ((unsigned)kind > PAUSE_RESOURCE)
		return store_failx(st, -EINVAL, "invalid pause kind");
	if (stmt == NULL)
		return st->errnum;
	db_bind_text(stmt, 1, pause_kinds[kind]);
	db_bind_text(stmt, 2, kind == PAUSE_ALL || name == NULL ? "" : name);
	while ((rc = db_step(stmt)) == DB_ROW) {
		if (db_col_is_null(stmt, 0) || db_col_int(stmt, 0) > time_now_ms())
			in_force = 1;
	}
	stmt_done(st, stmt);
	if (rc == DB_DONE && in_force)
		store_wake_others(st);
	return rc == DB_DONE ? in_force : store_fail(st, rc, "cannot resume in");
}
