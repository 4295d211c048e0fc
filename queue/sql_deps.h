/*
 * The statements of dependencies, batch callbacks and schedules (issue 10), kept beside sql.h's
 * list, which includes them: deps.c and schedule.c use them. The triggers that do the work when
 * a job ends are in schema.c (version 3).
 */
#ifndef JOBQ_SQL_DEPS_H
#define JOBQ_SQL_DEPS_H

/* A job waits in the ready index only once every parent has succeeded. */
#define READY "state = 'queued' AND blockers = 0"
/* The version 3 triggers re-fire level by level when a retry brings back a chain of jobs. */
#define RECURSIVE_TRIGGERS "PRAGMA recursive_triggers = ON;"

#define DEPS_STATEMENTS(X)                                                                         \
	X(SQL_DEP_PARENT_STATE, "SELECT state FROM jobs WHERE id = ?1")                            \
	X(SQL_DEP_ADD, "INSERT OR IGNORE INTO job_deps (parent, child) VALUES (?1, ?2)")           \
	X(SQL_DEP_BLOCK, "UPDATE jobs SET blockers = ?2, watch = watch | 2 WHERE id = ?1")         \
	X(SQL_DEP_WATCH_PARENT, "UPDATE jobs SET watch = watch | 1 WHERE id = ?1")                 \
	X(SQL_DEP_CANCEL_NEW, "UPDATE jobs SET state = 'cancelled', finished_at = ?3, "            \
	                      "cancelled_by = ?2, error = 'dependency ' || ?2 || ' ' || ?4 "       \
	                      "WHERE id = ?1 AND state = 'queued'")                                \
	X(SQL_DEP_PARENTS, "SELECT p.id, p.state FROM job_deps d JOIN jobs p ON p.id = d.parent "  \
	                   "WHERE d.child = ?1 ORDER BY p.id")                                     \
	X(SQL_DEP_CHILDREN, "SELECT child FROM job_deps WHERE parent = ?1 ORDER BY child")         \
	X(SQL_COUNT_BLOCKED, "SELECT count(*) FROM jobs WHERE state = 'queued' AND blockers > 0")  \
	X(SQL_BATCH_CALLBACK,                                                                      \
	  "INSERT INTO batch_callbacks (batch, type, namespace, priority, "                        \
	  "max_attempts, timeout, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "                    \
	  "?7) ON CONFLICT (batch) DO UPDATE SET type = excluded.type, "                           \
	  "namespace = excluded.namespace, priority = excluded.priority, "                         \
	  "max_attempts = excluded.max_attempts, timeout = excluded.timeout, "                     \
	  "fired_job = NULL")                                                                      \
	X(SQL_BATCH_CALLBACK_GET, "SELECT type, fired_job FROM batch_callbacks WHERE batch = ?1")  \
	X(SQL_SCHEDULE_GET,                                                                        \
	  "SELECT last_tick, fired_tick, last_job FROM schedules WHERE name = ?1")                 \
	X(SQL_SCHEDULE_SET,                                                                        \
	  "INSERT INTO schedules (name, last_tick, fired_tick, last_job, "                         \
	  "updated_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE "                  \
	  "SET last_tick = excluded.last_tick, fired_tick = "                                      \
	  "coalesce(excluded.fired_tick, fired_tick), last_job = "                                 \
	  "coalesce(excluded.last_job, last_job), updated_at = excluded.updated_at")

#endif
