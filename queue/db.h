/*
 * The backend seam of queue/: a table of operations (struct db_ops), like the handler table,
 * with two implementations: SQLite (db_sqlite.c, the embedded default) and PostgreSQL through
 * libpq (db_pg.c). Everything above it in queue/ (the claim and its policy, finishing, retries,
 * recovery, dependencies, rates, schedules, queries) is written once against these operations
 * and the statement ids of sql.h, so both backends follow the same rules by construction; cli/,
 * worker/ and supervisor/ only see store.h and never know which backend they hold.
 *
 * The vocabulary of result codes is SQLite's (DB_ROW, DB_DONE, SQLITE_BUSY, SQLITE_CONSTRAINT,
 * ...): the PostgreSQL driver maps SQLSTATEs and connection failures onto it, so store_fail()
 * and store_errno() serve both. Statements are prepared by id: sql_text[id] for SQLite, and for
 * PostgreSQL sql_pg_text[id] when it differs (sql_pg.h), else sql_text[id] with ?N / ? turned
 * into $N. Parameters are numbered from 1, columns from 0, as in SQLite.
 */
#ifndef JOBQ_QUEUE_DB_H
#define JOBQ_QUEUE_DB_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h> /* the result codes (SQLITE_*), shared by both backends */

#include "sql.h"

#define DB_OK SQLITE_OK
#define DB_ROW SQLITE_ROW
#define DB_DONE SQLITE_DONE

struct store;
struct store_opts;

/* A prepared statement of either backend; each backend's own struct starts with this. */
struct db_stmt {
	const struct db_ops *ops;
	struct store *st;
	enum sql_id id;
};

struct db_ops {
	const char *name; /* "sqlite" or "postgresql" */
	/* A lone INSERT needs a write transaction too: on PostgreSQL a bulk enqueue hands out
	 * ids from the sequence under the writers' lock, so no insert may take one beside it
	 * (SQLite serialises every write anyway). */
	int insert_in_tx;

	/* Connect st to target (st->path: a file, or a conninfo/URI), set it up and migrate the
	 * schema (schema_migrate). Returns 0 or a store error with the message recorded. */
	int (*open)(struct store *st, const struct store_opts *opts);
	/* Release the connection and every prepared statement. */
	void (*close)(struct store *st);

	/* Prepare statement id (once per connection, then cached by stmt_get). Returns a result
	 * code; *out is NULL on failure. */
	int (*prepare)(struct store *st, enum sql_id id, struct db_stmt **out);
	void (*finalize)(struct db_stmt *stmt);
	/* Parameters. Text is not copied: it must outlive the step. */
	int (*bind_int)(struct db_stmt *stmt, int i, int64_t v);
	int (*bind_text)(struct db_stmt *stmt, int i, const char *s);
	int (*bind_null)(struct db_stmt *stmt, int i);
	/* DB_ROW with a row to read, DB_DONE at the end, or an error code. */
	int (*step)(struct db_stmt *stmt);
	/* Columns of the current row. col_text returns NULL for NULL; its text lives until the
	 * next step or reset. */
	int64_t (*col_int)(struct db_stmt *stmt, int i);
	double (*col_double)(struct db_stmt *stmt, int i);
	const char *(*col_text)(struct db_stmt *stmt, int i);
	int (*col_bytes)(struct db_stmt *stmt, int i);
	int (*col_is_null)(struct db_stmt *stmt, int i);
	/* Ready the statement for its next use: rows dropped, bindings cleared. */
	void (*reset)(struct db_stmt *stmt);
	/* Rows changed by the last INSERT, UPDATE or DELETE of the connection. */
	int64_t (*changes)(struct store *st);

	/* Transactions. begin opens a write transaction that serialises writers as SQLite's BEGIN
	 * IMMEDIATE does (PostgreSQL: BEGIN and a transaction-level advisory lock; see
	 * docs/architecture.md); begin_read a read-only snapshot. in_tx: 1 inside one. */
	int (*begin)(struct store *st);
	int (*begin_read)(struct store *st);
	int (*commit)(struct store *st);
	int (*rollback)(struct store *st);
	int (*in_tx)(struct store *st);

	/* The text of the connection's last error for result code rc. */
	const char *(*errmsg)(struct store *st, int rc);
	/* Create or migrate the schema to STORE_SCHEMA_VERSION (inside open). */
	int (*migrate)(struct store *st);
	/* store_set_durability, store_data_version (a number that changes when another
	 * connection committed: PRAGMA data_version, or notifications received on PostgreSQL). */
	int (*set_durability)(struct store *st, int fast);
	int64_t (*data_version)(struct store *st);
	/* store_change_version: data_version counting this host's own wake-ups too where
	 * store_set_host() told data_version to skip them (PostgreSQL); SQLite: data_version. */
	int64_t (*change_version)(struct store *st);
	/* A descriptor that becomes readable when another process may have made a job runnable
	 * (PostgreSQL: the LISTEN connection's socket), or -1 (SQLite: the wake-up FIFO of
	 * core/wake.c serves). */
	int (*wait_fd)(struct store *st);
	/* Tell listeners a job may be runnable, at the commit of the current transaction (or at
	 * once outside one). SQLite: a no-op. */
	int (*notify)(struct store *st);
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_pg_ops;

/* Is target a PostgreSQL connection string or URI ("postgresql://", "postgres://", or a
 * conninfo "key=value ...")? Anything else is a SQLite path. */
int db_target_is_pg(const char *target);

/* Shorthands over stmt->ops, used by queue/'s logic. */
static inline int
db_bind_int(struct db_stmt *s, int i, int64_t v)
{
	return s->ops->bind_int(s, i, v);
}
static inline int
db_bind_text(struct db_stmt *s, int i, const char *t)
{
	return t != NULL ? s->ops->bind_text(s, i, t) : s->ops->bind_null(s, i);
}
static inline int
db_bind_null(struct db_stmt *s, int i)
{
	return s->ops->bind_null(s, i);
}
static inline int
db_step(struct db_stmt *s)
{
	return s->ops->step(s);
}
static inline int64_t
db_col_int(struct db_stmt *s, int i)
{
	return s->ops->col_int(s, i);
}
static inline double
db_col_double(struct db_stmt *s, int i)
{
	return s->ops->col_double(s, i);
}
static inline const char *
db_col_text(struct db_stmt *s, int i)
{
	return s->ops->col_text(s, i);
}
static inline int
db_col_bytes(struct db_stmt *s, int i)
{
	return s->ops->col_bytes(s, i);
}
static inline int
db_col_is_null(struct db_stmt *s, int i)
{
	return s->ops->col_is_null(s, i);
}

#endif
