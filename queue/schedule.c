/*
 * Schedules in the store: the table `schedules` remembers, per schedule name, the last tick
 * handled. A tick is enqueued and recorded in one write transaction, so a restart, a second
 * supervisor or a crash between the two cannot fire it twice; the job's unique key
 * "schedule:NAME:TICK" says which tick it stands for (and would refuse a duplicate of a live one).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"
#include "internal.h"
#include "schedule.h"

int
store_schedule_get(struct store *st, const char *name, struct schedule_state *out)
{
	struct db_stmt *stmt = stmt_get(st, SQL_SCHEDULE_GET);
	int rc;

	memset(out, 0, sizeof(*out));
	if (stmt == NULL)
		return st->errnum;
	db_bind_text(stmt, 1, name);
	if ((rc = db_step(stmt)) == DB_ROW) {
		out->last_tick = db_col_int(stmt, 0);
		out->fired_tick = db_col_int(stmt, 1);
		out->last_job = db_col_int(stmt, 2);
		rc = DB_DONE;
	}
	stmt_done(st, stmt);
	return rc == DB_DONE ? 0 : store_fail(st, rc, "cannot read from");
}

static int
record(struct store *st, const char *name, int64_t last_tick, int64_t fired_tick, int64_t job,
       int64_t now)
{
	struct db_stmt *stmt = stmt_get(st, SQL_SCHEDULE_SET);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	db_bind_text(stmt, 1, name);
	db_bind_int(stmt, 2, last_tick);
	bind_int_or_null(stmt, 3, fired_tick);
	bind_int_or_null(stmt, 4, job);
	db_bind_int(stmt, 5, now);
	rc = db_step(stmt);
	stmt_done(st, stmt);
	return rc == DB_DONE ? 0 : store_fail(st, rc, "cannot write to");
}

int
store_schedule_run(struct store *st, const struct config *cfg, const struct schedule *s,
                   int64_t now, int *fired, int *skipped, int64_t *next)
{
	struct schedule_state state;
	struct schedule_plan plan;
	int64_t job = 0;
	int r;

	if (fired != NULL)
		*fired = 0;
	if (skipped != NULL)
		*skipped = 0;
	if (next != NULL)
		*next = 0;
	/* A read first: most calls find nothing due and write nothing. */
	if ((r = store_schedule_get(st, s->name, &state)) < 0)
		return r;
	if ((r = schedule_plan(s, state.last_tick, now, &plan)) < 0)
		return store_failx(st, r, "schedule '%s': cannot compute its next tick", s->name);
	if (plan.new_last != state.last_tick) {
		if ((r = store_bulk_begin(st)) < 0)
			return r;
		/* Again inside the write transaction: another process may have fired meanwhile. */
		if ((r = store_schedule_get(st, s->name, &state)) < 0 ||
		    (r = schedule_plan(s, state.last_tick, now, &plan)) < 0)
			goto fail;
		for (size_t i = 0; i < plan.n; i++) {
			char key[128], when[40];
			struct job_spec spec = {
			        .type = s->type,
			        .namespace = s->namespace,
			        .payload = s->payload,
			        .priority = s->has_priority ? s->priority : 0,
			        .unique_key = key,
			};
			int existing = 0;

			time_format_rfc3339(plan.ticks[i], when, sizeof(when));
			snprintf(key, sizeof(key), "schedule:%s:%s", s->name, when);
			if ((r = store_bulk_add(st, cfg, &spec, &job, &existing)) < 0)
				goto fail;
		}
		if ((r = record(st, s->name, plan.new_last, plan.n > 0 ? plan.ticks[plan.n - 1] : 0,
		                plan.n > 0 ? job : 0, now)) < 0 ||
		    (r = store_bulk_commit(st)) < 0)
			goto fail;
		if (fired != NULL)
			*fired = (int)plan.n;
		if (skipped != NULL)
			*skipped = plan.skipped > 1000000 ? 1000000 : (int)plan.skipped;
	}
	if (next != NULL && schedule_next(s, plan.new_last, next) < 0)
		*next = 0;
	return 0;
fail:
	if (st->in_bulk) {
		char msg[STORE_ERR_MAX];

		snprintf(msg, sizeof(msg), "%s", st->err);
		store_bulk_rollback(st);
		snprintf(st->err, sizeof(st->err), "%s", msg);
		st->errnum = r;
	}
	return r;
}
