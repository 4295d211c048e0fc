/* The hosts table: supervisors' heartbeats, and what `jobq status` lists. See store_hosts.h. */
#include <errno.h>

#include "internal.h"
#include "store_hosts.h"

int
store_host_beat(struct store *st, const struct store_host *h)
{
	sqlite3_stmt *stmt = stmt_get(st, SQL_HOST_BEAT);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	bind_text(stmt, 1, h->id);
	sqlite3_bind_int64(stmt, 2, h->pid);
	sqlite3_bind_int64(stmt, 3, h->started_at);
	sqlite3_bind_int64(stmt, 4, h->seen_at);
	sqlite3_bind_int64(stmt, 5, h->workers);
	bind_text(stmt, 6, h->version);
	rc = sqlite3_step(stmt);
	stmt_done(st, stmt);
	return rc == SQLITE_DONE ? 0 : store_fail(st, rc, "cannot record this host in");
}

int
store_host_remove(struct store *st, const char *id, pid_t pid)
{
	sqlite3_stmt *stmt = stmt_get(st, SQL_HOST_REMOVE);
	int rc, found = 0;

	if (stmt == NULL)
		return st->errnum;
	bind_text(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, pid);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		found = 1;
	stmt_done(st, stmt);
	return rc == SQLITE_DONE ? found : store_fail(st, rc, "cannot remove this host from");
}

int
store_hosts_list(struct store *st, int (*fn)(const struct store_host *h, void *ctx), void *ctx)
{
	sqlite3_stmt *stmt = stmt_get(st, SQL_HOSTS_LIST);
	int rc, r = 0;

	if (stmt == NULL)
		return st->errnum;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_host h = {
		        .id = (const char *)sqlite3_column_text(stmt, 0),
		        .pid = (pid_t)sqlite3_column_int64(stmt, 1),
		        .started_at = sqlite3_column_int64(stmt, 2),
		        .seen_at = sqlite3_column_int64(stmt, 3),
		        .workers = (int)sqlite3_column_int64(stmt, 4),
		        .version = (const char *)sqlite3_column_text(stmt, 5),
		        .running = sqlite3_column_int64(stmt, 6),
		};
		if (h.id == NULL)
			h.id = "";
		if ((r = fn(&h, ctx)) != 0)
			break;
	}
	stmt_done(st, stmt);
	if (r != 0)
		return r;
	return rc == SQLITE_DONE ? 0 : store_fail(st, rc, "cannot list the hosts of");
}
