/*
 * Every SQL statement of jobq, in one place. Each is prepared once per connection (lazily, on
 * first use), then bound, stepped and reset; none is built at run time from values. The
 * schema itself and its migrations are in schema.c.
 *
 * Filters (list, count, cancel, retry, prune) come in variants that let SQLite use an index:
 * _ID (one job by primary key, looped over the ids asked), _BATCH (the jobs_batch index) and
 * _ALL (a scan). They share the parameters
 *   ?1 type, ?2 namespace, ?3 batch, ?4 id, ?5 state (NULL: any), ?6 limit (-1: none),
 *   ?7 a time (now, or finished_before for prune).
 */
#ifndef JOBQ_SQL_H
#define JOBQ_SQL_H

#include "sql_deps.h"

/* The column order of struct job rows; job_from_row() reads them in this order. */
#define JOB_COLS                                                                                   \
	"id, type, namespace, payload, state, priority, run_at, attempts, max_attempts, timeout, " \
	"resources, units, unique_key, batch, result, error, exit_code, created_at, started_at, "  \
	"finished_at, orphans_reaped, worker_pid, worker_start, pgid, pgid_start, lease_until, "   \
	"token, cancel_requested, stderr, truncated, host"

/* The "live" states: the unique index and the claim's usage only look at these. */
#define LIVE "(state = 'queued' OR state = 'running')"

#define INSERT_HEAD                                                                                \
	"INSERT INTO jobs (type, namespace, payload, priority, run_at, max_attempts, timeout, "    \
	"resources, unique_key, batch, created_at) VALUES "
#define ROW1 "(?,?,?,?,?,?,?,?,?,?,?)"
#define ROW4 ROW1 "," ROW1 "," ROW1 "," ROW1
#define ROW16 ROW4 "," ROW4 "," ROW4 "," ROW4
/* Rows per multi-row INSERT in a bulk enqueue; parameters per row. */
#define SQL_BULK_ROWS 32
#define SQL_INSERT_PARAMS 11

#define F_REST                                                                                     \
	"(?1 IS NULL OR type = ?1) AND (?2 IS NULL OR namespace = ?2) AND (?5 IS NULL OR state = " \
	"?5)"
#define WHERE_ID "id = ?4 AND (?3 IS NULL OR batch = ?3) AND " F_REST
#define WHERE_BATCH "batch = ?3 AND ?4 IS NULL AND " F_REST
#define WHERE_ALL "?3 IS NULL AND ?4 IS NULL AND " F_REST

#define LIST(w, order) "SELECT " JOB_COLS " FROM jobs WHERE " w " ORDER BY id " order " LIMIT ?6"
#define COUNT(w) "SELECT state, count(*) FROM jobs WHERE " w " GROUP BY state"
#define CANCEL_QUEUED(w)                                                                           \
	"UPDATE jobs SET state = 'cancelled', finished_at = ?7 WHERE state = 'queued' AND " w
#define CANCEL_RUNNING(w) "UPDATE jobs SET cancel_requested = 1 WHERE state = 'running' AND " w
/* OR IGNORE: a job whose unique key is live again in another job stays where it is. */
#define RETRY(w)                                                                                   \
	"UPDATE OR IGNORE jobs SET state = 'queued', attempts = 0, run_at = ?7, result = NULL, "   \
	"error = NULL, exit_code = NULL, started_at = NULL, finished_at = NULL, "                  \
	"cancel_requested = 0, stderr = NULL, truncated = 0 "                                      \
	"WHERE (state = 'failed' OR state = 'cancelled') AND " w
/* Prune deletes in chunks so a large prune never holds the write lock for long. */
#define PRUNE(w)                                                                                   \
	"DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE finished_at < ?7 AND "            \
	"state <> 'queued' AND state <> 'running' AND " w " LIMIT 10000)"

/* What a job row leaves behind when it stops running. */
#define NOT_RUNNING                                                                                \
	"lease_until = NULL, token = NULL, units = NULL, worker_pid = NULL, worker_start = NULL, " \
	"pgid = NULL, pgid_start = NULL, cancel_requested = 0"

/*
 * Metrics (queue/metrics.c, store_metrics.h). Per type and state: the jobs, their attempts and
 * orphans, and for succeeded and failed jobs the duration of the last attempt in ms (d) as a
 * cumulative histogram, ?1..?13 being the bucket bounds (STORE_METRICS_BUCKETS).
 */
#define METRICS_D                                                                                  \
	"CASE WHEN (state = 'succeeded' OR state = 'failed') AND started_at IS NOT NULL AND "      \
	"finished_at IS NOT NULL THEN max(finished_at - started_at, 0) END"
#define METRICS_LE(n) ", sum(d <= ?" #n ")"
#define METRICS_JOBS                                                                               \
	"SELECT type, state, count(*), total(attempts), total(orphans_reaped), count(d), "         \
	"total(d)" METRICS_LE(1) METRICS_LE(2) METRICS_LE(3) METRICS_LE(4) METRICS_LE(             \
	        5) METRICS_LE(6) METRICS_LE(7) METRICS_LE(8) METRICS_LE(9) METRICS_LE(10)          \
	        METRICS_LE(11) METRICS_LE(12) METRICS_LE(                                          \
	                13) " FROM (SELECT type, state, attempts, orphans_reaped, " METRICS_D      \
	                    " AS d "                                                               \
	                    "FROM jobs) GROUP BY type, state ORDER BY type, state"
#define SQL_STATEMENTS(X)                                                                          \
	/* enqueue */                                                                              \
	/* RETURNING id: the new job's id; no row when the unique key is live (conflict). */       \
	X(SQL_INSERT, INSERT_HEAD ROW1 " ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL "   \
	                               "AND " LIVE " DO NOTHING RETURNING id")                     \
	X(SQL_INSERT_MANY, INSERT_HEAD ROW16 "," ROW16 " RETURNING id")                            \
	X(SQL_UNIQUE_LIVE,                                                                         \
	  "SELECT id FROM jobs WHERE unique_key = ?1 AND unique_key IS NOT NULL AND " LIVE)        \
	/* --unique-for: the newest job with the key created since ?2, in any state: a search of   \
	 * jobs_key (schema version 2), newest first, no sort. */                                  \
	X(SQL_UNIQUE_RECENT,                                                                       \
	  "SELECT id FROM jobs WHERE unique_key = ?1 AND unique_key IS NOT NULL "                  \
	  "AND created_at >= ?2 ORDER BY created_at DESC, id DESC LIMIT 1")                        \
	/* Live jobs per type and state, through the partial indexes jobs_ready, jobs_running. */  \
	X(SQL_COUNT_LIVE, "SELECT type, 'queued', sum(n) FROM (SELECT type, count(*) AS n FROM "   \
	                  "jobs WHERE " READY " GROUP BY type UNION ALL SELECT type, count(*) "    \
	                  "FROM jobs WHERE state = 'queued' AND blockers > 0 GROUP BY type) "      \
	                  "GROUP BY type UNION ALL SELECT type, 'running', count(*) FROM jobs "    \
	                  "WHERE state = 'running' GROUP BY type")                                 \
	X(SQL_NEXT_ID,                                                                             \
	  "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), "            \
	  "0), coalesce((SELECT max(id) FROM jobs), 0)) + 1")                                      \
	/* claim */                                                                                \
	X(SQL_RUNNING_USAGE, "SELECT type, namespace, units FROM jobs WHERE state = 'running'")    \
	X(SQL_PAUSES_ACTIVE,                                                                       \
	  "SELECT kind, name, until, reason FROM pauses WHERE until IS NULL OR until > ?1 "        \
	  "ORDER BY kind, name")                                                                   \
	X(SQL_TYPE_FIRST, "SELECT type, id, namespace, resources, priority, run_at FROM jobs "     \
	                  "WHERE " READY " ORDER BY type, priority DESC, run_at, id LIMIT 1")      \
	X(SQL_TYPE_NEXT, "SELECT type, id, namespace, resources, priority, run_at FROM jobs "      \
	                 "WHERE " READY " AND type > ?1 "                                          \
	                 "ORDER BY type, priority DESC, run_at, id LIMIT 1")                       \
	X(SQL_TYPE_HEAD, "SELECT type, id, namespace, resources, priority, run_at FROM jobs "      \
	                 "WHERE " READY " AND type = ?1 AND priority <= ?2 "                       \
	                 "ORDER BY priority DESC, run_at, id")                                     \
	X(SQL_CLAIM,                                                                               \
	  "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?2, "          \
	  "finished_at = NULL, worker_pid = ?3, worker_start = ?4, lease_until = ?5, "             \
	  "token = ?6, units = ?7, pgid = NULL, pgid_start = NULL, cancel_requested = 0, "         \
	  "host = ?8 "                                                                             \
	  "WHERE id = ?1 AND state = 'queued' RETURNING " JOB_COLS)                                \
	X(SQL_FAIL_QUEUED, "UPDATE jobs SET state = 'failed', error = ?2, finished_at = ?3 "       \
	                   "WHERE id = ?1 AND state = 'queued'")                                   \
	/* finish */                                                                               \
	X(SQL_JOB_FENCE, "SELECT state, token, attempts, max_attempts, cancel_requested, type "    \
	                 "FROM jobs WHERE id = ?1")                                                \
	X(SQL_FINISH,                                                                              \
	  "UPDATE jobs SET state = ?3, result = ?4, error = ?5, exit_code = ?6, "                  \
	  "orphans_reaped = orphans_reaped + ?7, finished_at = ?8, stderr = ?9, "                  \
	  "truncated = ?10, " NOT_RUNNING " WHERE id = ?1 AND token = ?2 AND state = 'running'")   \
	X(SQL_REQUEUE, "UPDATE jobs SET state = 'queued', attempts = ?3, run_at = ?4, "            \
	               "result = ?5, error = ?6, exit_code = ?7, orphans_reaped = orphans_reaped " \
	               "+ ?8, stderr = ?9, truncated = ?10, " NOT_RUNNING                          \
	               " WHERE id = ?1 AND token = ?2 AND state = 'running'")                      \
	X(SQL_HEARTBEAT, "UPDATE jobs SET lease_until = ?3 WHERE id = ?1 AND token = ?2 AND "      \
	                 "state = 'running' RETURNING cancel_requested")                           \
	X(SQL_SET_PGID, "UPDATE jobs SET pgid = ?3, pgid_start = ?4 WHERE id = ?1 AND token = ?2 " \
	                "AND state = 'running'")                                                   \
	/* queries */                                                                              \
	X(SQL_GET, "SELECT " JOB_COLS " FROM jobs WHERE id = ?1")                                  \
	X(SQL_EXISTS, "SELECT 1 FROM jobs WHERE id = ?1")                                          \
	X(SQL_RUNNING_JOBS,                                                                        \
	  "SELECT " JOB_COLS " FROM jobs WHERE state = 'running' ORDER BY started_at, id")         \
	X(SQL_COUNT_BY_TYPE, "SELECT type, state, count(*) FROM jobs GROUP BY type, state "        \
	                     "ORDER BY type")                                                      \
	X(SQL_COUNT_BY_TYPE_BATCH, "SELECT type, state, count(*) FROM jobs WHERE batch = ?1 "      \
	                           "GROUP BY type, state ORDER BY type")                           \
	/* top: the batches with live jobs, their counts by state and how many of those ended      \
	 * since ?1; the failed jobs, latest first */                                              \
	X(SQL_BATCH_PROGRESS, "SELECT batch, state, count(*), sum(finished_at >= ?1) FROM jobs "   \
	                      "WHERE batch IN (SELECT DISTINCT batch FROM jobs WHERE "             \
	                      "batch IS NOT NULL AND " LIVE ") GROUP BY batch, state "             \
	                      "ORDER BY batch")                                                    \
	X(SQL_RECENT_FAILED, "SELECT " JOB_COLS " FROM jobs WHERE state = 'failed' "               \
	                     "ORDER BY finished_at DESC, id DESC LIMIT ?1")                        \
	X(SQL_OLDEST_QUEUED_BATCH, "SELECT min(run_at) FROM jobs WHERE batch = ?1 AND "            \
	                           "state = 'queued' AND run_at <= ?2")                            \
	/* metrics (metrics.c): one scan of the table, aggregated by SQLite, and the pools held */ \
	X(SQL_METRICS_JOBS, METRICS_JOBS)                                                          \
	/* filters */                                                                              \
	X(SQL_LIST_ID, LIST(WHERE_ID, "ASC"))                                                      \
	X(SQL_LIST_BATCH_ASC, LIST(WHERE_BATCH, "ASC"))                                            \
	X(SQL_LIST_BATCH_DESC, LIST(WHERE_BATCH, "DESC"))                                          \
	X(SQL_LIST_ALL_ASC, LIST(WHERE_ALL, "ASC"))                                                \
	X(SQL_LIST_ALL_DESC, LIST(WHERE_ALL, "DESC"))                                              \
	X(SQL_COUNT_ID, COUNT(WHERE_ID))                                                           \
	X(SQL_COUNT_BATCH, COUNT(WHERE_BATCH))                                                     \
	X(SQL_COUNT_ALL, COUNT(WHERE_ALL))                                                         \
	X(SQL_CANCEL_QUEUED_ID, CANCEL_QUEUED(WHERE_ID))                                           \
	X(SQL_CANCEL_QUEUED_BATCH, CANCEL_QUEUED(WHERE_BATCH))                                     \
	X(SQL_CANCEL_QUEUED_ALL, CANCEL_QUEUED(WHERE_ALL))                                         \
	X(SQL_CANCEL_RUNNING_ID, CANCEL_RUNNING(WHERE_ID))                                         \
	X(SQL_CANCEL_RUNNING_BATCH, CANCEL_RUNNING(WHERE_BATCH))                                   \
	X(SQL_CANCEL_RUNNING_ALL, CANCEL_RUNNING(WHERE_ALL))                                       \
	X(SQL_RETRY_ID, RETRY(WHERE_ID))                                                           \
	X(SQL_RETRY_BATCH, RETRY(WHERE_BATCH))                                                     \
	X(SQL_RETRY_ALL, RETRY(WHERE_ALL))                                                         \
	X(SQL_PRUNE_ID, PRUNE(WHERE_ID))                                                           \
	X(SQL_PRUNE_ALL, PRUNE("(?3 IS NULL OR batch = ?3) AND ?4 IS NULL AND " F_REST))           \
	/* pauses */                                                                               \
	X(SQL_PAUSE, "INSERT INTO pauses (kind, name, until, reason) VALUES (?1, ?2, ?3, ?4) "     \
	             "ON CONFLICT (kind, name) DO UPDATE SET until = excluded.until, "             \
	             "reason = excluded.reason")                                                   \
	/* A quota pause: never shortens a pause in force (a longer one, or one until resumed). */ \
	X(SQL_PAUSE_LONGER,                                                                        \
	  "INSERT INTO pauses (kind, name, until, reason) VALUES (?1, ?2, ?3, ?4) "                \
	  "ON CONFLICT (kind, name) DO UPDATE SET until = excluded.until, "                        \
	  "reason = excluded.reason WHERE pauses.until IS NOT NULL AND "                           \
	  "(excluded.until IS NULL OR pauses.until < excluded.until)")                             \
	X(SQL_PAUSES_EXPIRE, "DELETE FROM pauses WHERE until IS NOT NULL AND until <= ?1")         \
	X(SQL_RESUME, "DELETE FROM pauses WHERE kind = ?1 AND name = ?2 RETURNING until")          \
	SQL_RATE_STATEMENTS(X)                                                                     \
	DEPS_STATEMENTS(X)

/* Rate limits and token budgets of pools (queue/rate.c), ?1 pool, ?2 kind ('start' or
 * 'tokens'). */
#define SQL_RATE_STATEMENTS(X)                                                                     \
	X(SQL_RATE_LAST, "SELECT total, at FROM rate_events WHERE pool = ?1 AND kind = ?2 "        \
	                 "ORDER BY total DESC LIMIT 1")                                            \
	X(SQL_RATE_FIRST_ABOVE, "SELECT at, total - n FROM rate_events WHERE pool = ?1 AND "       \
	                        "kind = ?2 AND total > ?3 ORDER BY total LIMIT 1")                 \
	X(SQL_RATE_ADD, "INSERT INTO rate_events (pool, kind, total, n, at, job) "                 \
	                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                         \
	X(SQL_RATE_PRUNE, "DELETE FROM rate_events WHERE pool = ?1 AND kind = ?2 AND at <= ?3 "    \
	                  "AND total < ?4")                                                        \
	X(SQL_RATE_USED, "SELECT coalesce(sum(n), 0) FROM rate_events WHERE pool = ?1 AND "        \
	                 "kind = ?2 AND at > ?3")                                                  \
	X(SQL_RATE_JOB_UNITS, "SELECT units FROM jobs WHERE id = ?1 AND token = ?2 AND "           \
	                      "state = 'running'")                                                 \
	/* hosts (hosts.c, schema version 4) */                                                    \
	X(SQL_HOST_BEAT, "INSERT INTO hosts (id, pid, started_at, seen_at, workers, version) "     \
	                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET "         \
	                 "pid = excluded.pid, started_at = excluded.started_at, "                  \
	                 "seen_at = excluded.seen_at, workers = excluded.workers, "                \
	                 "version = excluded.version")                                             \
	X(SQL_HOST_REMOVE, "DELETE FROM hosts WHERE id = ?1 AND pid = ?2 RETURNING id")            \
	X(SQL_HOSTS_LIST, "SELECT id, pid, started_at, seen_at, workers, version, (SELECT "        \
	                  "count(*) FROM jobs WHERE state = 'running' AND jobs.host = hosts.id) "  \
	                  "FROM hosts ORDER BY id")

#define SQL_ENUM(id, text) id,
enum sql_id { SQL_STATEMENTS(SQL_ENUM) SQL_NSTATEMENTS };
#undef SQL_ENUM

#endif
