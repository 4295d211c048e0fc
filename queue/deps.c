/*
 * Dependencies (enqueue --after) and batch callbacks (enqueue --on-batch-done). Enqueue writes
 * the edges and the child's number of blockers; everything that happens when a job ends is done
 * by the triggers of schema version 3 (schema.c), in the transaction that ends it, whoever
 * ends it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "deps.h"
#include "duration.h"
#include "internal.h"
#include "text.h"

int
deps_check(const int64_t *after, size_t nafter, char *err, size_t errlen)
{
	if (nafter == 0)
		return 0;
	if (after == NULL || nafter > STORE_AFTER_MAX) {
		snprintf(err, errlen, "--after: at most %d parent jobs", STORE_AFTER_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < nafter; i++) {
		if (after[i] <= 0) {
			snprintf(err, errlen, "--after: invalid job id %lld", (long long)after[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* The state of job id into *state: 1 found, 0 none, < 0 error. */
static int
parent_state(struct store *st, int64_t id, enum job_state *state)
{
	struct db_stmt *stmt = stmt_get(st, SQL_DEP_PARENT_STATE);
	int rc, found = 0;

	if (stmt == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, id);
	if ((rc = db_step(stmt)) == DB_ROW) {
		found = job_state_parse(db_col_text(stmt, 0), state) == 0;
		rc = DB_DONE;
	}
	stmt_done(st, stmt);
	return rc == DB_DONE ? found : store_fail(st, rc, "cannot enqueue into");
}

static int
step_done(struct store *st, struct db_stmt *stmt)
{
	int rc = db_step(stmt);

	stmt_done(st, stmt);
	return rc == DB_DONE ? 0 : store_fail(st, rc, "cannot enqueue into");
}

int
deps_attach(struct store *st, int64_t child, const int64_t *after, size_t nafter)
{
	int64_t blockers = 0, failed = 0;
	enum job_state failed_state = JOB_FAILED;
	struct db_stmt *stmt;
	int r;

	for (size_t i = 0; i < nafter; i++) {
		enum job_state state;

		if ((r = parent_state(st, after[i], &state)) < 0)
			return r;
		if (r == 0)
			return store_failx(st, -EINVAL, "--after: no job %lld",
			                   (long long)after[i]);
		if ((stmt = stmt_get(st, SQL_DEP_ADD)) == NULL)
			return st->errnum;
		db_bind_int(stmt, 1, after[i]);
		db_bind_int(stmt, 2, child);
		if ((r = step_done(st, stmt)) < 0)
			return r;
		if (st->ops->changes(st) == 0) /* the same parent twice */
			continue;
		if ((stmt = stmt_get(st, SQL_DEP_WATCH_PARENT)) == NULL)
			return st->errnum;
		db_bind_int(stmt, 1, after[i]);
		if ((r = step_done(st, stmt)) < 0)
			return r;
		if (state != JOB_SUCCEEDED)
			blockers++;
		if ((state == JOB_FAILED || state == JOB_CANCELLED) && failed == 0) {
			failed = after[i];
			failed_state = state;
		}
	}
	/* Watched (and blocked) before a cancel, so that its parent's retry brings it back. */
	if ((stmt = stmt_get(st, SQL_DEP_BLOCK)) == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, child);
	db_bind_int(stmt, 2, failed > 0 ? 0 : blockers);
	if ((r = step_done(st, stmt)) < 0)
		return r;
	if (failed > 0) {
		if ((stmt = stmt_get(st, SQL_DEP_CANCEL_NEW)) == NULL)
			return st->errnum;
		db_bind_int(stmt, 1, child);
		db_bind_int(stmt, 2, failed);
		db_bind_int(stmt, 3, time_now_ms());
		db_bind_text(stmt, 4, job_state_name(failed_state));
		if ((r = step_done(st, stmt)) < 0)
			return r;
	}
	return 0;
}

int
store_batch_on_done(struct store *st, const struct config *cfg, const char *batch, const char *type,
                    const char *namespace)
{
	const struct type_config *tc;
	struct db_stmt *stmt;
	int own = !st->in_bulk, r;

	if (batch == NULL || !text_valid(batch, NAME_TEXT_MAX))
		return store_failx(st, -EINVAL, "--on-batch-done needs a valid --batch name");
	if (type == NULL || !name_type_valid(type))
		return store_failx(st, -EINVAL, "--on-batch-done: invalid type name '%s'",
		                   type != NULL ? type : "");
	if (config_type_known(cfg, type, NULL, 0) < 0) {
		char msg[STORE_ERR_MAX - 32];

		config_type_known(cfg, type, msg, sizeof(msg));
		return store_failx(st, -EINVAL, "--on-batch-done: %s", msg);
	}
	tc = config_type(cfg, type);
	if (own && (r = tx_begin(st, "cannot enqueue into")) < 0)
		return r;
	if ((stmt = stmt_get(st, SQL_BATCH_CALLBACK)) == NULL) {
		r = st->errnum;
		goto out;
	}
	db_bind_text(stmt, 1, batch);
	db_bind_text(stmt, 2, type);
	db_bind_text(stmt, 3, namespace != NULL ? namespace : "default");
	db_bind_int(stmt, 4, tc != NULL ? tc->priority : 0);
	db_bind_int(stmt, 5, tc != NULL ? tc->max_attempts : CONFIG_DEFAULT_MAX_ATTEMPTS);
	bind_int_or_null(stmt, 6, 0);
	db_bind_int(stmt, 7, time_now_ms());
	if ((r = step_done(st, stmt)) == 0 && own)
		r = tx_commit(st, "cannot enqueue into");
out:
	if (r < 0 && own)
		tx_rollback(st);
	return r;
}

int
store_job_parents(struct store *st, int64_t id,
                  void (*cb)(int64_t parent, enum job_state state, void *ctx), void *ctx)
{
	struct db_stmt *stmt = stmt_get(st, SQL_DEP_PARENTS);
	int rc, n = 0;

	if (stmt == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, id);
	while ((rc = db_step(stmt)) == DB_ROW) {
		enum job_state state;

		if (job_state_parse(db_col_text(stmt, 1), &state) < 0)
			continue;
		cb(db_col_int(stmt, 0), state, ctx);
		n++;
	}
	stmt_done(st, stmt);
	return rc == DB_DONE ? n : store_fail(st, rc, "cannot read from");
}

int64_t
store_count_blocked(struct store *st)
{
	struct db_stmt *stmt = stmt_get(st, SQL_COUNT_BLOCKED);
	int64_t n = 0;
	int rc;

	if (stmt == NULL)
		return st->errnum;
	if ((rc = db_step(stmt)) == DB_ROW)
		n = db_col_int(stmt, 0);
	stmt_done(st, stmt);
	return rc == DB_ROW ? n : store_fail(st, rc, "cannot read from");
}
