/* Aggregates for metrics. See store_metrics.h; the statements are in sql.h. */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "store_metrics.h"

int
store_metrics_jobs(struct store *st, void (*cb)(const struct store_metrics_row *row, void *ctx),
                   void *ctx)
{
	static const int64_t bounds[STORE_METRICS_BUCKETS] = STORE_METRICS_BOUNDS_MS;
	struct db_stmt *stmt = stmt_get(st, SQL_METRICS_JOBS);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	for (int i = 0; i < STORE_METRICS_BUCKETS; i++)
		db_bind_int(stmt, i + 1, bounds[i]);
	while ((rc = db_step(stmt)) == DB_ROW) {
		struct store_metrics_row row;

		memset(&row, 0, sizeof(row));
		row.type = db_col_text(stmt, 0);
		if (row.type == NULL || job_state_parse(db_col_text(stmt, 1), &row.state) < 0)
			continue;
		row.jobs = db_col_int(stmt, 2);
		row.attempts = (int64_t)db_col_double(stmt, 3);
		row.orphans_reaped = (int64_t)db_col_double(stmt, 4);
		row.timed = db_col_int(stmt, 5);
		row.duration_ms = db_col_double(stmt, 6);
		for (int i = 0; i < STORE_METRICS_BUCKETS; i++)
			row.le[i] = db_col_int(stmt, 7 + i);
		cb(&row, ctx);
	}
	stmt_done(st, stmt);
	return rc == DB_DONE ? 0 : store_fail(st, rc, "cannot count jobs in");
}
