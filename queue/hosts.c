/* The hosts table: supervisors' heartbeats, and what `jobq status` lists. See store_hosts.h. */
#include <errno.h>

#include "internal.h"
#include "store_hosts.h"

int
store_host_beat(struct store *st, const struct store_host *h)
{
	struct db_stmt *stmt = stmt_get(st, SQL_HOST_BEAT);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	db_bind_text(stmt, 1, h->id);
	db_bind_int(stmt, 2, h->pid);
	db_bind_int(stmt, 3, h->started_at);
	db_bind_int(stmt, 4, h->seen_at);
	db_bind_int(stmt, 5, h->workers);
	db_bind_text(stmt, 6, h->version);
	rc = db_step(stmt);
	stmt_done(st, stmt);
	return rc == DB_DONE ? 0 : store_fail(st, rc, "cannot record this host in");
}

int
store_host_remove(struct store *st, const char *id, pid_t pid)
{
	struct db_stmt *stmt = stmt_get(st, SQL_HOST_REMOVE);
	int rc, found = 0;

	if (stmt == NULL)
		return st->errnum;
	db_bind_text(stmt, 1, id);
	db_bind_int(stmt, 2, pid);
	while ((rc = db_step(stmt)) == DB_ROW)
		found = 1;
	stmt_done(st, stmt);
	return rc == DB_DONE ? found : store_fail(st, rc, "cannot remove this host from");
}

int
store_hosts_list(struct store *st, int (*fn)(const struct store_host *h, void *ctx), void *ctx)
{
	struct db_stmt *stmt = stmt_get(st, SQL_HOSTS_LIST);
	int rc, r = 0;

	if (stmt == NULL)
		return st->errnum;
	while ((rc = db_step(stmt)) == DB_ROW) {
		struct store_host h = {
		        .id = db_col_text(stmt, 0),
		        .pid = (pid_t)db_col_int(stmt, 1),
		        .started_at = db_col_int(stmt, 2),
		        .seen_at = db_col_int(stmt, 3),
		        .workers = (int)db_col_int(stmt, 4),
		        .version = db_col_text(stmt, 5),
		        .running = db_col_int(stmt, 6),
		};
		if (h.id == NULL)
			h.id = "";
		if ((r = fn(&h, ctx)) != 0)
			break;
	}
	stmt_done(st, stmt);
	if (r != 0)
		return r;
	return rc == DB_DONE ? 0 : store_fail(st, rc, "cannot list the hosts of");
}
