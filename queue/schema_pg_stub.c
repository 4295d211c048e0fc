/*
 * Placeholder on branch pgdrv until helper pgsql's queue/schema_pg.c is merged: drop this file
 * (and its line in queue/meson.build) then. Opening a PostgreSQL database fails here, after the
 * connection, so that nothing runs on a database without jobq's schema.
 */
#include <errno.h>

#include "db_pg.h"
#include "internal.h"

int
schema_pg_migrate(struct store *st)
{
	return store_failx(st, -ENOTSUP,
	                   "cannot open database '%s': the PostgreSQL schema is "
	                   "not built (queue/schema_pg.c)",
	                   st->path);
}
