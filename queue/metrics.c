/* Aggregates for metrics. See store_metrics.h; the statements are in sql.h. */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "store_metrics.h"

int
store_read_begin(struct store *st)
{
	sqlite3_stmt *stmt = stmt_get(st, SQL_BEGIN_READ);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : store_fail(st, rc, "cannot read from");
}

void
store_read_end(struct store *st)
{
	if (st == NULL || st->db == NULL || sqlite3_get_autocommit(st->db))
		return;
	(void)tx_commit(st, "cannot end a read of"); /* a read: nothing to lose */
}

int
store_metrics_jobs(struct store *st, void (*cb)(const struct store_metrics_row *row, void *ctx),
                   void *ctx)
{
	static const int64_t bounds[STORE_METRICS_BUCKETS] = STORE_METRICS_BOUNDS_MS;
	sqlite3_stmt *stmt = stmt_get(st, SQL_METRICS_JOBS);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	for (int i = 0; i < STORE_METRICS_BUCKETS; i++)
		sqlite3_bind_int64(stmt, i + 1, bounds[i]);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_metrics_row row;

		memset(&row, 0, sizeof(row));
		row.type = (const char *)sqlite3_column_text(stmt, 0);
		if (row.type == NULL ||
		    job_state_parse((const char *)sqlite3_column_text(stmt, 1), &row.state) < 0)
			continue;
		row.jobs = sqlite3_column_int64(stmt, 2);
		row.attempts = (int64_t)sqlite3_column_double(stmt, 3);
		row.orphans_reaped = (int64_t)sqlite3_column_double(stmt, 4);
		row.timed = sqlite3_column_int64(stmt, 5);
		row.duration_ms = sqlite3_column_double(stmt, 6);
		for (int i = 0; i < STORE_METRICS_BUCKETS; i++)
			row.le[i] = sqlite3_column_int64(stmt, 7 + i);
		cb(&row, ctx);
	}
	stmt_done(st, stmt);
	return rc == SQLITE_DONE ? 0 : store_fail(st, rc, "cannot count jobs in");
}
