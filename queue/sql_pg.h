/*
 * The PostgreSQL text of the statements of sql.h whose SQLite text does not parse, or does not
 * mean the same, on PostgreSQL (15 and later): X(SQL_ID, "text with $N parameters"), the same
 * parameter numbers as the SQLite text, and every integer column of a result an integer
 * (bigint), since the driver reads them as text. Every other statement runs as sql.h has it,
 * with ?N / ? turned into $N by the driver. tests/pg/check-sql.c prepares every statement in
 * both forms' final PostgreSQL text against a real server, and checks what they do.
 *
 * Why the overrides:
 * - a parameter seen only in `$N IS NULL` has no type to infer: cast it ($3::text, $4::bigint),
 *   and a statement that skips a number ($6 in a filtered change that uses $7) names it in a
 *   no-op, or PostgreSQL cannot type it;
 * - LIMIT -1 is "no limit" in SQLite, an error in PostgreSQL: LIMIT NULLIF($6, -1);
 * - UPDATE OR IGNORE (retry) does not exist: the unique key's two conditions are spelled out
 *   (no other live job with the key; among the jobs this retry brings back, the lowest id);
 * - a cancel of several jobs: SQLite runs each row's triggers before the next row, PostgreSQL
 *   after the statement, which the statement makes up for (PG_CANCEL_QUEUED_SET);
 * - INSERT OR IGNORE: ON CONFLICT DO NOTHING;
 * - a parameter used as a bigint and in a concatenation: one type, cast (dependency cancel);
 * - an unqualified column in ON CONFLICT DO UPDATE is ambiguous: schedules.fired_tick;
 * - sum() of a bigint is numeric, total() has no equivalent, sum(boolean) does not exist,
 *   max(a, b) is greatest(a, b), a subquery in FROM needs a name (PostgreSQL 15);
 * - sqlite_sequence: the identity sequence jobs_id_seq (writers are serialised by the advisory
 *   lock, so its next value is the next id a bulk hands out).
 */
#ifndef JOBQ_SQL_PG_H
#define JOBQ_SQL_PG_H

#include "sql.h"

/* clang-format off */
/* sql.h's filters, with the parameters typed (see sql.h for what each means). */
#define PG_F_REST                                                                                  \
	"($1::text IS NULL OR type = $1) AND ($2::text IS NULL OR namespace = $2) AND "            \
	"($5::text IS NULL OR state = $5)"
#define PG_WHERE_ID "id = $4 AND ($3::text IS NULL OR batch = $3) AND " PG_F_REST
#define PG_WHERE_BATCH "batch = $3 AND $4::bigint IS NULL AND " PG_F_REST
#define PG_WHERE_ALL "$3::text IS NULL AND $4::bigint IS NULL AND " PG_F_REST
/* $6 (the limit) is bound to every filtered statement, used by few: a typed no-op. */
#define PG_USE6 " AND ($6::bigint IS NULL OR TRUE)"

#define PG_LIST(w, order)                                                                          \
	"SELECT " JOB_COLS " FROM jobs WHERE " w " ORDER BY id " order                             \
	" LIMIT NULLIF($6::bigint, -1)"
#define PG_COUNT(w) "SELECT state, count(*) FROM jobs WHERE " w " GROUP BY state"
#define PG_CANCEL_QUEUED(w)                                                                        \
	"UPDATE jobs SET state = 'cancelled', finished_at = $7 WHERE state = 'queued' AND " w      \
	PG_USE6
/* A cancel of several jobs, SQLite's way: SQLite cancels them one at a time, in id order, and
 * the trigger of each cancels its queued descendants at once, so a job whose ancestor comes
 * first in the same cancel ends as that ancestor's cascade left it (cancelled_by, error). Here
 * the triggers run after the whole statement: the lowest-id queued ancestor in the set (ANC) is
 * found by the statement itself. */
#define PG_ANC(w)                                                                                  \
	"(SELECT min(j.id) FROM (WITH RECURSIVE up(pid) AS (SELECT d.parent FROM job_deps d "      \
	"WHERE d.child = x.id UNION SELECT d.parent FROM job_deps d JOIN up ON "                   \
	"d.child = up.pid) SELECT pid FROM up) u JOIN jobs j ON j.id = u.pid WHERE "               \
	"j.id < x.id AND j.state = 'queued' AND " w ")"
#define PG_CANCEL_QUEUED_SET(w)                                                                    \
	"UPDATE jobs SET state = 'cancelled', finished_at = $7, cancelled_by = "                   \
	"coalesce(s.anc, jobs.cancelled_by), error = CASE WHEN s.anc IS NOT NULL THEN "            \
	"'dependency ' || s.anc || ' cancelled' ELSE jobs.error END FROM (SELECT x.id AS cid, "    \
	"CASE WHEN x.watch & 2 <> 0 THEN " PG_ANC(w) " END AS anc FROM jobs x WHERE "              \
	"x.state = 'queued' AND " w PG_USE6 ") s WHERE jobs.id = s.cid AND jobs.state = 'queued'"
#define PG_CANCEL_RUNNING(w)                                                                       \
	"UPDATE jobs SET cancel_requested = 1 WHERE state = 'running' AND " w
/* SQLite's UPDATE OR IGNORE skips a row whose unique key is live again in another job, and of
 * two jobs with one key brought back by one retry, keeps the first (id order) and skips the
 * next. */
#define PG_RETRY(w)                                                                                \
	"UPDATE jobs SET state = 'queued', attempts = 0, run_at = $7, result = NULL, "             \
	"error = NULL, exit_code = NULL, started_at = NULL, finished_at = NULL, "                  \
	"cancel_requested = 0, stderr = NULL, truncated = 0 "                                      \
	"WHERE (state = 'failed' OR state = 'cancelled') AND " w PG_USE6                           \
	" AND (unique_key IS NULL OR (NOT EXISTS (SELECT 1 FROM jobs o WHERE "                     \
	"o.unique_key = jobs.unique_key AND o.id <> jobs.id AND "                                  \
	"(o.state = 'queued' OR o.state = 'running')) AND NOT EXISTS (SELECT 1 FROM jobs o "       \
	"WHERE o.unique_key = jobs.unique_key AND o.id < jobs.id AND "                             \
	"(o.state = 'failed' OR o.state = 'cancelled') AND " w ")))"
#define PG_PRUNE(w)                                                                                \
	"DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE finished_at < $7 AND "            \
	"state <> 'queued' AND state <> 'running' AND " w PG_USE6 " LIMIT 10000)"

#define PG_METRICS_LE(n) ", sum((d <= $" #n ")::int)::bigint"
#define PG_METRICS_JOBS                                                                            \
	"SELECT type, state, count(*), coalesce(sum(attempts), 0)::float8, "                       \
	"coalesce(sum(orphans_reaped), 0)::float8, count(d), coalesce(sum(d), 0)::float8"          \
	PG_METRICS_LE(1) PG_METRICS_LE(2) PG_METRICS_LE(3) PG_METRICS_LE(4) PG_METRICS_LE(5)       \
	PG_METRICS_LE(6) PG_METRICS_LE(7) PG_METRICS_LE(8) PG_METRICS_LE(9) PG_METRICS_LE(10)      \
	PG_METRICS_LE(11) PG_METRICS_LE(12) PG_METRICS_LE(13)                                      \
	" FROM (SELECT type, state, attempts, orphans_reaped, CASE WHEN (state = 'succeeded' OR "  \
	"state = 'failed') AND started_at IS NOT NULL AND finished_at IS NOT NULL THEN "           \
	"greatest(finished_at - started_at, 0) END AS d FROM jobs) m "                             \
	"GROUP BY type, state ORDER BY type, state"

#define SQL_PG_STATEMENTS(X)                                                                       \
	X(SQL_COUNT_LIVE, "SELECT type, 'queued', sum(n)::bigint FROM (SELECT type, count(*) AS n " \
	                  "FROM jobs WHERE " READY " GROUP BY type UNION ALL SELECT type, "        \
	                  "count(*) FROM jobs WHERE state = 'queued' AND blockers > 0 GROUP BY "   \
	                  "type) q GROUP BY type UNION ALL SELECT type, 'running', count(*) "      \
	                  "FROM jobs WHERE state = 'running' GROUP BY type")                       \
	X(SQL_NEXT_ID, "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END "       \
	               "FROM jobs_id_seq")                                                         \
	X(SQL_BATCH_PROGRESS, "SELECT batch, state, count(*), "                                    \
	                      "sum((finished_at >= $1)::int)::bigint FROM jobs WHERE batch IN "    \
	                      "(SELECT DISTINCT batch FROM jobs WHERE batch IS NOT NULL AND " LIVE \
	                      ") GROUP BY batch, state ORDER BY batch")                            \
	X(SQL_METRICS_JOBS, PG_METRICS_JOBS)                                                       \
	X(SQL_LIST_ID, PG_LIST(PG_WHERE_ID, "ASC"))                                                \
	X(SQL_LIST_BATCH_ASC, PG_LIST(PG_WHERE_BATCH, "ASC"))                                      \
	X(SQL_LIST_BATCH_DESC, PG_LIST(PG_WHERE_BATCH, "DESC"))                                    \
	X(SQL_LIST_ALL_ASC, PG_LIST(PG_WHERE_ALL, "ASC"))                                          \
	X(SQL_LIST_ALL_DESC, PG_LIST(PG_WHERE_ALL, "DESC"))                                        \
	X(SQL_COUNT_ID, PG_COUNT(PG_WHERE_ID))                                                     \
	X(SQL_COUNT_BATCH, PG_COUNT(PG_WHERE_BATCH))                                               \
	X(SQL_COUNT_ALL, PG_COUNT(PG_WHERE_ALL))                                                   \
	X(SQL_CANCEL_QUEUED_ID, PG_CANCEL_QUEUED(PG_WHERE_ID))                                     \
	X(SQL_CANCEL_QUEUED_BATCH, PG_CANCEL_QUEUED_SET(PG_WHERE_BATCH))                           \
	X(SQL_CANCEL_QUEUED_ALL, PG_CANCEL_QUEUED_SET(PG_WHERE_ALL))                               \
	X(SQL_CANCEL_RUNNING_ID, PG_CANCEL_RUNNING(PG_WHERE_ID))                                   \
	X(SQL_CANCEL_RUNNING_BATCH, PG_CANCEL_RUNNING(PG_WHERE_BATCH))                             \
	X(SQL_CANCEL_RUNNING_ALL, PG_CANCEL_RUNNING(PG_WHERE_ALL))                                 \
	X(SQL_RETRY_ID, PG_RETRY(PG_WHERE_ID))                                                     \
	X(SQL_RETRY_BATCH, PG_RETRY(PG_WHERE_BATCH))                                               \
	X(SQL_RETRY_ALL, PG_RETRY(PG_WHERE_ALL))                                                   \
	X(SQL_PRUNE_ID, PG_PRUNE(PG_WHERE_ID))                                                     \
	X(SQL_PRUNE_ALL, PG_PRUNE("($3::text IS NULL OR batch = $3) AND $4::bigint IS NULL AND "   \
	                          PG_F_REST))                                                      \
	X(SQL_RATE_USED, "SELECT coalesce(sum(n), 0)::bigint FROM rate_events WHERE pool = $1 "    \
	                 "AND kind = $2 AND at > $3")                                              \
	X(SQL_DEP_CANCEL_NEW, "UPDATE jobs SET state = 'cancelled', finished_at = $3, "            \
	                      "cancelled_by = $2::bigint, error = 'dependency ' || $2::bigint || "  \
	                      "' ' || $4::text WHERE id = $1 AND state = 'queued'")                \
	X(SQL_SCHEDULE_SET,                                                                        \
	  "INSERT INTO schedules (name, last_tick, fired_tick, last_job, "                         \
	  "updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE "                  \
	  "SET last_tick = excluded.last_tick, fired_tick = "                                      \
	  "coalesce(excluded.fired_tick, schedules.fired_tick), last_job = "                       \
	  "coalesce(excluded.last_job, schedules.last_job), updated_at = excluded.updated_at")     \
	X(SQL_DEP_ADD, "INSERT INTO job_deps (parent, child) VALUES ($1, $2) "                     \
	               "ON CONFLICT DO NOTHING")
/* clang-format on */

/*
 * Statements whose rows the C code reads only until it finds what it wants (the claim walks a
 * type's queued jobs in claim order until the first that fits, usually the first; `jobq
 * status` reads the first of each priority level). Executed whole, such a statement has
 * PostgreSQL read every row and send them all: 0.55 s and 150 MB of client memory for one
 * worker's claim with a million jobs of its type queued. The driver runs them in pages
 * instead, within the statement's one execution as the C code sees it:
 *   X(SQL_ID, FIRST, FIRST_ROWS, NEXT, PAGE_ROWS, key columns...)
 * FIRST is the statement with LIMIT FIRST_ROWS; when its rows are read to the last and there
 * were FIRST_ROWS of them, NEXT gives the rows after the last one read, PAGE_ROWS at a time:
 * its parameters are FIRST's ($1..$N) and then the named columns of the last row read, in
 * that order ($N+1...): a keyset continuation, which seeks in the index where the previous
 * page ended (no OFFSET, no cursor, no extra round trip when the first page holds what is
 * wanted). Every page has a constant LIMIT, so the planner takes the index scan of jobs_ready
 * in claim order (no sort), whatever the depth of the queue.
 *
 * SQL_TYPE_HEAD: sql.h's walk of one type (?1 type, ?2 the highest priority) in claim order
 * (priority DESC, run_at, id); the next page continues after the last row's (priority $3,
 * run_at $4, id $5): the rest of its priority level, then the lower levels.
 * tests/unit/test-db-pg.c (test_walked_pages) checks that the pages give the rows of the whole
 * statement, in its order.
 */
/* clang-format off */
#define PG_HEAD_COLS "type, id, namespace, resources, priority, run_at"
#define PG_HEAD_FROM "FROM jobs WHERE " READY " AND type = $1 "
#define PG_HEAD_ORDER "ORDER BY priority DESC, run_at, id LIMIT "
#define PG_HEAD_FIRST_ROWS 8
#define PG_HEAD_PAGE_ROWS 128
#define PG_STR_(x) #x
#define PG_STR(x) PG_STR_(x)
#define PG_HEAD_FIRST                                                                              \
	"SELECT " PG_HEAD_COLS " " PG_HEAD_FROM "AND priority <= $2 "                              \
	PG_HEAD_ORDER PG_STR(PG_HEAD_FIRST_ROWS)
#define PG_HEAD_NEXT                                                                               \
	"SELECT " PG_HEAD_COLS " FROM ((SELECT " PG_HEAD_COLS " " PG_HEAD_FROM                     \
	"AND priority = $3 AND (run_at, id) > ($4, $5) " PG_HEAD_ORDER                             \
	PG_STR(PG_HEAD_PAGE_ROWS) ") UNION ALL (SELECT " PG_HEAD_COLS " " PG_HEAD_FROM            \
	"AND priority < $3 AND priority <= $2 " PG_HEAD_ORDER PG_STR(PG_HEAD_PAGE_ROWS) ")) page " \
	PG_HEAD_ORDER PG_STR(PG_HEAD_PAGE_ROWS)

#define SQL_PG_WALKED(X)                                                                           \
	X(SQL_TYPE_HEAD, PG_HEAD_FIRST, PG_HEAD_FIRST_ROWS, PG_HEAD_NEXT, PG_HEAD_PAGE_ROWS, 4, 5, 1)
/* clang-format on */

#endif
