/*
 * What the PostgreSQL schema (schema_pg.c) needs from the libpq driver (db_pg.c), and what it
 * gives it.
 */
#ifndef JOBQ_QUEUE_DB_PG_H
#define JOBQ_QUEUE_DB_PG_H

#include <stdint.h>

struct store;

/* The advisory lock (two int4 keys) of every write transaction (BEGIN, then
 * pg_advisory_xact_lock(DB_PG_WRITE_LOCK)): writers are serialised as SQLite's BEGIN IMMEDIATE
 * serialises them. The schema's trigger function takes it too (schema_pg.c). */
#define DB_PG_WRITE_LOCK "1785684593, 0" /* 'jobq', 0 */

/* The advisory lock (two int4 keys) that serialises migrations across hosts: a session lock,
 * taken around the migration's transaction. Distinct from the writers' transaction lock. */
#define DB_PG_MIGRATE_LOCK "1785684593, 1" /* 'jobq', 1 */

/* Run sql (one statement or several, no parameters) on st's connection: 0, or a negative errno
 * with "cannot open database 'target': <server message>" recorded in st. */
int db_pg_exec(struct store *st, const char *sql);

/* Run sql, a query of one row of one integer column: 0 with *out set (0 for NULL or no row), or
 * a negative errno with the message recorded in st. */
int db_pg_query_int(struct store *st, const char *sql, int64_t *out);

/* Create the schema, or migrate it to the latest version, under DB_PG_MIGRATE_LOCK so several
 * hosts starting at once migrate once (schema_pg.c). 0, or a negative errno: -ENOTSUP when the
 * database is newer than this jobq, -EINVAL when it holds other tables and no jobq schema. */
int schema_pg_migrate(struct store *st);

/* The schema version that schema_pg_create makes (recorded in jobq_meta). */
#define SCHEMA_PG_VERSION 4
/* The statements that create the latest schema in an empty database, in order, NULL at the end
 * (schema_pg.c; exported for tests). */
extern const char *const schema_pg_create[];

#endif
