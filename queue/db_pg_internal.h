/*
 * The PostgreSQL driver's own pieces that its tests (tests/unit/test-db-pg.c) reach below
 * db.h's table: the SQL translation, a connection without the schema, statements from text.
 * Not installed.
 */
#ifndef JOBQ_QUEUE_DB_PG_INTERNAL_H
#define JOBQ_QUEUE_DB_PG_INTERNAL_H

#include "db.h"

/* The transaction-level advisory lock every write transaction takes (two int4 keys: 'jobq',
 * 0), serialising writers on every host as SQLite's BEGIN IMMEDIATE does. The schema's
 * migration lock is ('jobq', 1): another lock. */
#define DB_PG_TX_LOCK "1785684593, 0"

/* The notification channel of wake-ups (db_ops.notify, wait_fd, data_version). */
#define DB_PG_CHANNEL "jobq"

/* SQLite's text sql turned into PostgreSQL's: ?N becomes $N and a bare ? the next number
 * after the largest so far (as SQLite numbers it); string literals, quoted identifiers and
 * comments are copied as they are. *out (malloc'd, caller frees) and *nparams, the largest
 * parameter number. Returns 0 or -ENOMEM. */
int db_pg_translate(const char *sql, char **out, int *nparams);
/* The largest $N of PostgreSQL's text sql (not translated: a ? there is an operator). */
int db_pg_count_params(const char *sql);

/* Connect st (st->path: the target as given, replaced by its display form without any
 * password) and set the session up, without the schema. Returns 0 or a negative errno with the
 * message recorded: -EHOSTUNREACH the server cannot be reached, -EBUSY it is starting, shutting
 * down or full, -ENOENT no such database, -EACCES authentication or permission, -EINVAL a
 * malformed target. db_pg_ops.open is this and the migration. */
int db_pg_connect(struct store *st, const struct store_opts *opts);

/* Prepare PostgreSQL text (parameters $N, not translated) as a statement of st, with id
 * SQL_NSTATEMENTS. Returns a result code, *out NULL on failure; release with finalize. */
int db_pg_prepare_text(struct store *st, const char *text, struct db_stmt **out);

/* The server process of st's connection (PQbackendPID), 0 without one. */
int db_pg_backend_pid(struct store *st);

/* The display form of a libpq target: its parameters as a conninfo without the password
 * (malloc'd), or NULL when target does not parse (then *why, when given, is libpq's message,
 * freed with PQfreemem) or memory runs out (or libpq cannot be loaded). */
char *db_pg_display(const char *target, char **why);

#endif
