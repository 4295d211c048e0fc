/* Read-only queries for show, list, status, wait and the supervisor's timers. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "internal.h"

int
store_get(struct store *st, int64_t id, struct job *out)
{
	struct db_stmt *stmt = stmt_get(st, SQL_GET);
	int rc, r = 0;

	memset(out, 0, sizeof(*out));
	if (stmt == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, id);
	if ((rc = db_step(stmt)) == DB_ROW)
		r = job_from_row(stmt, out);
	stmt_done(st, stmt);
	if (r < 0)
		return store_failx(st, r, "cannot read job %lld: out of memory", (long long)id);
	if (rc == DB_DONE)
		return store_failx(st, -ESRCH, "no job %lld", (long long)id);
	return rc == DB_ROW ? 0 : store_fail(st, rc, "cannot read from");
}

int
store_job_exists(struct store *st, int64_t id)
{
	struct db_stmt *stmt = stmt_get(st, SQL_EXISTS);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, id);
	rc = db_step(stmt);
	stmt_done(st, stmt);
	if (rc == DB_ROW)
		return 1;
	return rc == DB_DONE ? 0 : store_fail(st, rc, "cannot read from");
}

/* Call cb for every row of stmt (positioned before its first row), at most *left rows (-1:
 * no limit). Returns the number visited, -1 in *stop when cb asked to stop, or -errno. */
static int64_t
each_job(struct store *st, struct db_stmt *stmt, int64_t *left, int *stop,
         int (*cb)(const struct job *job, void *ctx), void *ctx)
{
	int64_t n = 0;
	int rc, r = 0;

	while (*left != 0 && !*stop && (rc = db_step(stmt)) == DB_ROW) {
		struct job job;

		if ((r = job_from_row(stmt, &job)) < 0)
			break;
		n++;
		if (*left > 0)
			(*left)--;
		*stop = cb(&job, ctx) != 0;
		job_release(&job);
	}
	if (*left == 0 || *stop)
		rc = DB_DONE;
	stmt_done(st, stmt);
	if (r < 0)
		return store_failx(st, r, "cannot list jobs: out of memory");
	return rc == DB_DONE ? n : store_fail(st, rc, "cannot list jobs in");
}

static int
is_finished_state(int state)
{
	return state == JOB_SUCCEEDED || state == JOB_FAILED || state == JOB_CANCELLED;
}

int
store_list(struct store *st, const struct job_filter *f,
           int (*cb)(const struct job *job, void *ctx), void *ctx)
{
	static const struct job_filter none = {.state = -1};
	enum filter_kind k;
	enum sql_id id;
	int64_t left, total = 0, n;
	int stop = 0;

	if (f == NULL)
		f = &none;
	k = filter_kind(f);
	left = f->limit > 0 ? f->limit : -1;
	if (k == FILTER_ID) {
		id = SQL_LIST_ID;
	} else {
		int desc = is_finished_state(f->state);

		id = k == FILTER_BATCH ? (desc ? SQL_LIST_BATCH_DESC : SQL_LIST_BATCH_ASC)
		                       : (desc ? SQL_LIST_ALL_DESC : SQL_LIST_ALL_ASC);
	}
	for (size_t i = 0; i < (k == FILTER_ID ? f->nids : 1) && left != 0 && !stop; i++) {
		struct db_stmt *stmt = stmt_get(st, id);

		if (stmt == NULL)
			return st->errnum;
		filter_bind(stmt, f, k == FILTER_ID ? f->ids[i] : 0, 0);
		if ((n = each_job(st, stmt, &left, &stop, cb, ctx)) < 0)
			return (int)n;
		total += n;
	}
	return total > INT32_MAX ? INT32_MAX : (int)total;
}

int
store_count(struct store *st, const struct job_filter *f, int64_t counts[JOB_NSTATES])
{
	static const struct job_filter none = {.state = -1};
	static const enum sql_id ids[3] = {SQL_COUNT_ID, SQL_COUNT_BATCH, SQL_COUNT_ALL};
	enum filter_kind k;

	if (f == NULL)
		f = &none;
	k = filter_kind(f);
	memset(counts, 0, sizeof(int64_t) * JOB_NSTATES);
	for (size_t i = 0; i < (k == FILTER_ID ? f->nids : 1); i++) {
		struct db_stmt *stmt = stmt_get(st, ids[k]);
		int rc;

		if (stmt == NULL)
			return st->errnum;
		filter_bind(stmt, f, k == FILTER_ID ? f->ids[i] : 0, 0);
		while ((rc = db_step(stmt)) == DB_ROW) {
			enum job_state s;

			if (job_state_parse(db_col_text(stmt, 0), &s) == 0)
				counts[s] += db_col_int(stmt, 1);
		}
		stmt_done(st, stmt);
		if (rc != DB_DONE)
			return store_fail(st, rc, "cannot count jobs in");
	}
	return 0;
}

int
store_count_by_type(struct store *st,
                    void (*cb)(const char *type, const int64_t counts[JOB_NSTATES], void *ctx),
                    void *ctx)
{
	return store_count_by_type_batch(st, NULL, cb, ctx);
}

int
store_count_by_type_batch(struct store *st, const char *batch,
                          void (*cb)(const char *type, const int64_t counts[JOB_NSTATES],
                                     void *ctx),
                          void *ctx)
{
	struct db_stmt *stmt =
	        stmt_get(st, batch != NULL ? SQL_COUNT_BY_TYPE_BATCH : SQL_COUNT_BY_TYPE);
	int64_t counts[JOB_NSTATES] = {0};
	char *type = NULL;
	int rc, r = 0;

	if (stmt == NULL)
		return st->errnum;
	if (batch != NULL)
		db_bind_text(stmt, 1, batch);
	while ((rc = db_step(stmt)) == DB_ROW) {
		const char *t = db_col_text(stmt, 0);
		enum job_state s;

		if (t == NULL)
			continue;
		if (type == NULL || strcmp(t, type) != 0) {
			if (type != NULL)
				cb(type, counts, ctx);
			memset(counts, 0, sizeof(counts));
			free(type);
			if ((type = strdup(t)) == NULL) {
				r = -ENOMEM;
				break;
			}
		}
		if (job_state_parse(db_col_text(stmt, 1), &s) == 0)
			counts[s] += db_col_int(stmt, 2);
	}
	stmt_done(st, stmt);
	if (r == 0 && rc != DB_DONE)
		r = store_fail(st, rc, "cannot count jobs in");
	else if (r < 0)
		store_failx(st, r, "cannot count jobs: out of memory");
	else if (type != NULL)
		cb(type, counts, ctx);
	free(type);
	return r;
}

/*
 * The earliest run_at of all queued jobs, by the same loose index scan as the claim: per type,
 * per priority level, the first entry of jobs_ready is that level's earliest. 0 if none
 * queued, -errno on error.
 */
static int64_t
earliest_run_at(struct store *st)
{
	struct db_stmt *types = stmt_get(st, SQL_TYPE_FIRST), *head;
	int64_t min = 0, r = 0;
	char *type = NULL;
	int rc = DB_DONE;

	while (types != NULL && (rc = db_step(types)) == DB_ROW) {
		int64_t prio = INT64_MAX;

		free(type);
		type = strdup(db_col_text(types, 0));
		stmt_done(st, types);
		if (type == NULL) {
			r = store_failx(st, -ENOMEM, "cannot read from '%s': out of memory",
			                st->path);
			break;
		}
		if ((head = stmt_get(st, SQL_TYPE_HEAD)) == NULL) {
			r = st->errnum;
			break;
		}
		db_bind_text(head, 1, type);
		for (;;) {
			int64_t run_at;

			db_bind_int(head, 2, prio);
			if ((rc = db_step(head)) != DB_ROW)
				break;
			run_at = db_col_int(head, 5);
			prio = db_col_int(head, 4);
			if (min == 0 || run_at < min)
				min = run_at;
			stmt_done(st, head);
			db_bind_text(head, 1, type);
			if (prio == INT64_MIN)
				break;
			prio--;
		}
		stmt_done(st, head);
		if (rc != DB_ROW && rc != DB_DONE) {
			r = store_fail(st, rc, "cannot read from");
			break;
		}
		rc = DB_DONE;
		if ((types = stmt_get(st, SQL_TYPE_NEXT)) != NULL)
			db_bind_text(types, 1, type);
	}
	if (r == 0 && types == NULL)
		r = st->errnum;
	stmt_done(st, types);
	if (r == 0 && rc != DB_DONE)
		r = store_fail(st, rc, "cannot read from");
	free(type);
	return r < 0 ? r : min;
}

int64_t
store_oldest_queued_age(struct store *st, int64_t now)
{
	int64_t min = earliest_run_at(st);

	if (now <= 0)
		now = time_now_ms();
	if (min <= 0 || min > now)
		return -1;
	return now - min;
}

int64_t
store_oldest_queued_age_batch(struct store *st, const char *batch, int64_t now)
{
	struct db_stmt *stmt;
	int64_t min = -1;

	if (batch == NULL)
		return store_oldest_queued_age(st, now);
	if (now <= 0)
		now = time_now_ms();
	if ((stmt = stmt_get(st, SQL_OLDEST_QUEUED_BATCH)) == NULL)
		return -1;
	db_bind_text(stmt, 1, batch);
	db_bind_int(stmt, 2, now);
	if (db_step(stmt) == DB_ROW && !db_col_is_null(stmt, 0))
		min = db_col_int(stmt, 0);
	stmt_done(st, stmt);
	return min >= 0 && min <= now ? now - min : -1;
}

int64_t
store_next_run_at(struct store *st)
{
	int64_t min = earliest_run_at(st);

	return min > 0 ? min : 0;
}

int
store_list_running(struct store *st, int (*cb)(const struct job *job, void *ctx), void *ctx)
{
	struct db_stmt *stmt = stmt_get(st, SQL_RUNNING_JOBS);
	int64_t left = -1, n;
	int stop = 0;

	if (stmt == NULL)
		return st->errnum;
	n = each_job(st, stmt, &left, &stop, cb, ctx);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

int
store_list_pauses(struct store *st, int64_t now,
                  void (*cb)(enum pause_kind kind, const char *name, int64_t until,
                             const char *reason, void *ctx),
                  void *ctx)
{
	struct db_stmt *stmt = stmt_get(st, SQL_PAUSES_ACTIVE);
	int rc, n = 0;

	if (stmt == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, now > 0 ? now : time_now_ms());
	while ((rc = db_step(stmt)) == DB_ROW) {
		const char *kind = db_col_text(stmt, 0);
		enum pause_kind k;

		if (kind == NULL)
			continue;
		if (strcmp(kind, "all") == 0)
			k = PAUSE_ALL;
		else if (strcmp(kind, "type") == 0)
			k = PAUSE_TYPE;
		else if (strcmp(kind, "resource") == 0)
			k = PAUSE_RESOURCE;
		else
			continue;
		cb(k, db_col_text(stmt, 1), db_col_int(stmt, 2), db_col_text(stmt, 3), ctx);
		n++;
	}
	stmt_done(st, stmt);
	return rc == DB_DONE ? n : store_fail(st, rc, "cannot read pauses from");
}

int
store_count_live(struct store *st,
                 void (*cb)(const char *type, enum job_state state, int64_t n, void *ctx),
                 void *ctx)
{
	struct db_stmt *stmt = stmt_get(st, SQL_COUNT_LIVE);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	while ((rc = db_step(stmt)) == DB_ROW) {
		const char *type = db_col_text(stmt, 0);
		enum job_state s;

		if (type != NULL && job_state_parse(db_col_text(stmt, 1), &s) == 0)
			cb(type, s, db_col_int(stmt, 2), ctx);
	}
	stmt_done(st, stmt);
	return rc == DB_DONE ? 0 : store_fail(st, rc, "cannot count jobs in");
}

int
store_batch_progress(struct store *st, int64_t since,
                     void (*cb)(const char *batch, const int64_t counts[JOB_NSTATES],
                                int64_t ended_since, void *ctx),
                     void *ctx)
{
	struct db_stmt *stmt = stmt_get(st, SQL_BATCH_PROGRESS);
	int64_t counts[JOB_NSTATES], ended = 0;
	char *cur = NULL;
	int rc, r = 0;

	if (stmt == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, since);
	while ((rc = db_step(stmt)) == DB_ROW) {
		const char *batch = db_col_text(stmt, 0);
		enum job_state s;

		if (batch == NULL || job_state_parse(db_col_text(stmt, 1), &s) < 0)
			continue;
		if (cur == NULL || strcmp(cur, batch) != 0) {
			if (cur != NULL)
				cb(cur, counts, ended, ctx);
			free(cur);
			if ((cur = strdup(batch)) == NULL) {
				r = -ENOMEM;
				break;
			}
			memset(counts, 0, sizeof(counts));
			ended = 0;
		}
		counts[s] = db_col_int(stmt, 2);
		ended += db_col_int(stmt, 3);
	}
	if (r == 0 && cur != NULL && rc == DB_DONE)
		cb(cur, counts, ended, ctx);
	free(cur);
	stmt_done(st, stmt);
	if (r < 0)
		return store_failx(st, r, "cannot read the batches: out of memory");
	return rc == DB_DONE ? 0 : store_fail(st, rc, "cannot read the batches in");
}

int
store_recent_failed(struct store *st, int64_t limit, int (*cb)(const struct job *job, void *ctx),
                    void *ctx)
{
	struct db_stmt *stmt = stmt_get(st, SQL_RECENT_FAILED);
	int64_t left = -1, n;
	int stop = 0;

	if (stmt == NULL)
		return st->errnum;
	db_bind_int(stmt, 1, limit);
	n = each_job(st, stmt, &left, &stop, cb, ctx);
	return n < 0 ? (int)n : 0;
}
