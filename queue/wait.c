/* The store's wake-up descriptor (store.h). */
#include "internal.h"
#include "store.h"

int
store_wait_fd(struct store *st)
{
	/* SQLite has no wake-ups of its own: the FIFO of core/wake.c serves. The PostgreSQL
	 * driver's LISTEN socket comes here with the backend seam: st->ops->wait_fd(st). */
	(void)st;
	return -1;
}
