/*
 * Placeholder on branch pgdrv until helper pgsql's queue/sql_pg.h is merged (take theirs): the
 * PostgreSQL texts of the statements whose SQLite text does not serve, X(SQL_ID, "text").
 */
#ifndef JOBQ_SQL_PG_H
#define JOBQ_SQL_PG_H

#define SQL_PG_STATEMENTS(X)

#endif
