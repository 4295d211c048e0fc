/*
 * Pool usage: what the running jobs hold. A running job's units column (the tags it took at
 * claim time, its type's and its own) counts against the pools; nothing else does. The claim
 * (claim.c) and `jobq status` (store_pool_usage) read it through these functions only.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "tags.h"

void
pool_usage_add(const struct config *cfg, const char *units, int64_t *used)
{
	struct tagset held;

	/* A malformed units column (written by hand) holds nothing. */
	if (units == NULL || tagset_parse(&held, units) < 0)
		return;
	for (size_t i = 0; i < held.n; i++) {
		int p = config_pool_index(cfg, held.tag[i].name);

		if (p >= 0)
			used[p] += held.tag[i].units;
	}
}

int
store_pool_usage(struct store *st, const struct config *cfg, int64_t *used)
{
	struct db_stmt *stmt = stmt_get(st, SQL_RUNNING_USAGE);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	for (size_t i = 0; i < cfg->npools; i++)
		used[i] = 0;
	while ((rc = db_step(stmt)) == DB_ROW)
		pool_usage_add(cfg, db_col_text(stmt, 2), used);
	stmt_done(st, stmt);
	return rc == DB_DONE ? 0 : store_fail(st, rc, "cannot read the pools' usage in");
}
