/*
 * Stand-in for the PostgreSQL backend (db_pg.c) while it is not built: opening a PostgreSQL
 * target fails with a clear message. Removed when db_pg.c lands.
 */
#include <errno.h>

#include "internal.h"

static int
stub_open(struct store *st, const struct store_opts *opts)
{
	(void)opts;
	/* st->path may hold a password: not named. */
	return store_failx(st, -EPROTONOSUPPORT,
	                   "cannot open database: PostgreSQL support not built");
}

static void
stub_close(struct store *st)
{
	(void)st;
}

static int
stub_in_tx(struct store *st)
{
	(void)st;
	return 0;
}

const struct db_ops db_pg_ops = {
        .name = "postgresql",
        .open = stub_open,
        .close = stub_close,
        .in_tx = stub_in_tx,
};
