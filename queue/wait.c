/* The store's wake-up descriptor (store.h): the backend's (db_ops.wait_fd). */
#include "db.h"
#include "internal.h"
#include "store.h"

int
store_wait_fd(struct store *st)
{
	/* SQLite has no wake-ups of its own (-1): the FIFO of core/wake.c serves. PostgreSQL: the
	 * socket of the connection that LISTENs. */
	return st != NULL && st->ops != NULL ? st->ops->wait_fd(st) : -1;
}
