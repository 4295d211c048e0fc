/*
 * The schema and its migrations. The database's PRAGMA user_version is the schema version;
 * store_open() runs every step above it, in order, in one write transaction. To change the
 * schema, append a step (never edit a released one) and raise STORE_SCHEMA_VERSION.
 * docs/schema.md is the public description of the latest version.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* Milliseconds since the epoch, as a column default for producers inserting by SQL. */
#define NOW_MS "(CAST(round((julianday('now') - 2440587.5) * 86400000) AS INTEGER))"

/* The SQL below is laid out by hand: clang-format would scatter its concatenated strings. */
/* clang-format off */
/*
 * Version 1. Notes on choices that matter for speed:
 * - the state CHECK and the partial index conditions use OR chains, not IN (...): SQLite builds
 *   an ephemeral table for an IN list on every INSERT, which halves bulk insert speed;
 * - AUTOINCREMENT: ids are never reused after a prune (ids name jobs in logs, in `jobq wait`
 *   and in the JOBQ_JOB_ID of a job's processes, which recovery kills);
 * - jobs_ready holds only queued jobs and is what the claim walks; jobs_running holds the few
 *   running ones the claim counts;
 * - no index on finished_at: every finish would write one more page (a quarter of a worker's
 *   finish-and-claim transaction) for the sake of `prune`, which scans in id order instead:
 *   finished jobs are the old ones, at the start of the table.
 */
static const char schema_v1[] =
        "CREATE TABLE jobs ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " type TEXT NOT NULL,"
        " namespace TEXT NOT NULL DEFAULT 'default',"
        " payload TEXT NOT NULL DEFAULT '{}',"
        " state TEXT NOT NULL DEFAULT 'queued' CHECK (state = 'queued' OR state = 'running' OR"
        "  state = 'succeeded' OR state = 'failed' OR state = 'cancelled'),"
        " priority INTEGER NOT NULL DEFAULT 0,"
        " run_at INTEGER NOT NULL DEFAULT " NOW_MS ","
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " max_attempts INTEGER NOT NULL DEFAULT 3,"
        " timeout INTEGER,"
        " resources TEXT,"
        " unique_key TEXT,"
        " batch TEXT,"
        " result TEXT,"
        " error TEXT,"
        " exit_code INTEGER,"
        " created_at INTEGER NOT NULL DEFAULT " NOW_MS ","
        " started_at INTEGER,"
        " finished_at INTEGER,"
        " orphans_reaped INTEGER NOT NULL DEFAULT 0,"
        " worker_pid INTEGER,"
        " worker_start INTEGER,"
        " pgid INTEGER,"
        " pgid_start INTEGER,"
        " lease_until INTEGER,"
        " token INTEGER,"
        " cancel_requested INTEGER NOT NULL DEFAULT 0,"
        " units TEXT"
        ");"
        "CREATE INDEX jobs_ready ON jobs (type, priority DESC, run_at, id) WHERE state = 'queued';"
        "CREATE INDEX jobs_running ON jobs (type) WHERE state = 'running';"
        "CREATE UNIQUE INDEX jobs_unique ON jobs (unique_key)"
        " WHERE unique_key IS NOT NULL AND " LIVE ";"
        "CREATE INDEX jobs_batch ON jobs (batch, state) WHERE batch IS NOT NULL;"
        "CREATE TABLE pauses ("
        " kind TEXT NOT NULL CHECK (kind = 'all' OR kind = 'type' OR kind = 'resource'),"
        " name TEXT NOT NULL,"
        " until INTEGER,"
        " reason TEXT,"
        " PRIMARY KEY (kind, name)"
        ");"
        "PRAGMA user_version = 1;";

/*
 * Version 2 (issue 12):
 * - stderr: the tail of the last attempt's stderr, kept for every outcome (a succeeded job's
 *   warnings too); error now holds one line, the cause;
 * - truncated: 1 when the result was cut at output_max (the result is then text, never JSON to
 *   trust as a whole);
 * - jobs_key: finding the jobs of a unique key, live or finished, newest first.
 * ALTER TABLE ... ADD COLUMN only writes the schema: rows are not rewritten, so the step is quick
 * on a large queue.
 */
static const char schema_v2[] =
        "ALTER TABLE jobs ADD COLUMN stderr TEXT;"
        "ALTER TABLE jobs ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0;"
        "CREATE INDEX jobs_key ON jobs (unique_key, created_at) WHERE unique_key IS NOT NULL;"
        "PRAGMA user_version = 2;";

/*
 * Version 3, rate limits and token budgets of pools (issue 10): rate_events is each pool's
 * sliding-window log, one row per job start ('start') or per token report ('tokens'). total is
 * the running sum of n for the pool and kind through this row, and at never goes back from one
 * row to the next (the claim writes max(now, the last at)), so "how much in the window" and
 * "when does it free" are two seeks of the primary key (queue/rate.c). Rows older than the
 * window are deleted as new ones come, all but the last (it carries the sum).
 */
static const char schema_v3_rates[] =
        "CREATE TABLE rate_events ("
        " pool TEXT NOT NULL,"
        " kind TEXT NOT NULL CHECK (kind = 'start' OR kind = 'tokens'),"
        " total INTEGER NOT NULL,"
        " n INTEGER NOT NULL,"
        " at INTEGER NOT NULL,"
        " job INTEGER,"
        " PRIMARY KEY (pool, kind, total)"
        ") WITHOUT ROWID;"
        "CREATE INDEX rate_events_at ON rate_events (pool, kind, at);";

/*
 * Version 3, dependencies, batch callbacks and schedules (issue 10). Kept apart from other
 * version 3 changes so that each reads on its own.
 * - blockers: the number of a queued job's parents (enqueue --after) that have not succeeded.
 *   jobs_ready holds only jobs with blockers = 0, so the claim never sees a blocked job, and
 *   jobs_blocked counts the others per type (for --drain and status);
 * - cancelled_by: the parent whose failure or cancel cancelled this job (a retry of that parent
 *   brings the job back);
 * - watch: 1 the job has children, 2 it has parents; with a batch, what makes its end matter;
 * - job_deps: one row per (parent, child) edge;
 * - batch_callbacks: enqueue --on-batch-done, fired once when the batch has no live job left;
 * - schedules: the last tick each schedule of the configuration has handled.
 *
 * Every way a job ends (a worker, jobq complete/fail/cancel, recovery, the claim failing a
 * malformed job, a producer's SQL) must unblock, cancel or count alike, inside the transaction
 * that ended it: triggers do it. SQLite runs a trigger's program, WHEN clause included, in a
 * frame it allocates and clears for every row the UPDATE changes, so a large trigger on jobs
 * costs every claim and finish (about 30% of a no-op cycle's CPU with the work written in
 * three triggers on jobs, 3% with this one). jobs_watch is therefore tiny: for the few
 * transitions that matter (an end, or a retry, of a job that is watched or in a batch) it
 * writes an event row, and the work is done by the trigger on job_events. That one needs
 * recursive_triggers (store_open sets it) for the events of the jobs it changes in turn.
 */
#define TERMINAL(s) "(" s " = 'succeeded' OR " s " = 'failed' OR " s " = 'cancelled')"
#define EV_RETRY "NEW.new_state = 'queued' AND (NEW.old_state = 'failed' OR NEW.old_state = 'cancelled')"
#define FAILED_PARENT(child)                                                                       \
	"SELECT p.id, p.state FROM job_deps JOIN jobs p ON p.id = job_deps.parent"                 \
	" WHERE job_deps.child = " child " AND (p.state = 'failed' OR p.state = 'cancelled')"
#define BATCH_OVER                                                                                 \
	"NEW.batch IS NOT NULL AND " TERMINAL("NEW.new_state") " AND fired_job IS NULL"            \
	" AND batch = NEW.batch AND NOT EXISTS (SELECT 1 FROM jobs WHERE batch = NEW.batch AND " LIVE ")"
static const char schema_v3_deps[] =
        "ALTER TABLE jobs ADD COLUMN blockers INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE jobs ADD COLUMN cancelled_by INTEGER;"
        "ALTER TABLE jobs ADD COLUMN watch INTEGER NOT NULL DEFAULT 0;"
        "DROP INDEX jobs_ready;"
        "CREATE INDEX jobs_ready ON jobs (type, priority DESC, run_at, id)"
        " WHERE state = 'queued' AND blockers = 0;"
        "CREATE INDEX jobs_blocked ON jobs (type) WHERE state = 'queued' AND blockers > 0;"
        "CREATE TABLE job_deps ("
        " parent INTEGER NOT NULL,"
        " child INTEGER NOT NULL,"
        " PRIMARY KEY (parent, child)"
        ") WITHOUT ROWID;"
        "CREATE INDEX job_deps_child ON job_deps (child, parent);"
        "CREATE TABLE batch_callbacks ("
        " batch TEXT PRIMARY KEY,"
        " type TEXT NOT NULL,"
        " namespace TEXT NOT NULL DEFAULT 'default',"
        " priority INTEGER NOT NULL DEFAULT 0,"
        " max_attempts INTEGER NOT NULL DEFAULT 3,"
        " timeout INTEGER,"
        " fired_job INTEGER,"
        " created_at INTEGER NOT NULL DEFAULT " NOW_MS
        ");"
        "CREATE TABLE schedules ("
        " name TEXT PRIMARY KEY,"
        " last_tick INTEGER NOT NULL,"
        " fired_tick INTEGER,"
        " last_job INTEGER,"
        " updated_at INTEGER NOT NULL"
        ");"
        "CREATE TABLE job_events ("
        " id INTEGER NOT NULL,"
        " old_state TEXT NOT NULL,"
        " new_state TEXT NOT NULL,"
        " batch TEXT,"
        " watch INTEGER NOT NULL"
        ");"
        /* An end (or a retry) of a watched job, or of a job of a batch: an event. */
        "CREATE TRIGGER jobs_watch AFTER UPDATE OF state ON jobs"
        " WHEN (NEW.watch <> 0 OR NEW.batch IS NOT NULL) AND OLD.state <> NEW.state"
        " AND NEW.state <> 'running'"
        " AND (NEW.state <> 'queued' OR OLD.state = 'failed' OR OLD.state = 'cancelled') BEGIN"
        " INSERT INTO job_events (id, old_state, new_state, batch, watch)"
        "  VALUES (NEW.id, OLD.state, NEW.state, NEW.batch, NEW.watch);"
        " END;"
        "CREATE TRIGGER job_events_do AFTER INSERT ON job_events BEGIN"
        /* A parent succeeded: each queued child loses a blocker. */
        " UPDATE jobs SET blockers = blockers - 1 WHERE NEW.new_state = 'succeeded'"
        "  AND NEW.watch & 1 AND state = 'queued' AND blockers > 0"
        "  AND id IN (SELECT child FROM job_deps WHERE parent = NEW.id);"
        /* A parent failed or was cancelled: every queued descendant is cancelled. */
        " UPDATE jobs SET state = 'cancelled', finished_at = " NOW_MS ","
        "  error = 'dependency ' || NEW.id || ' ' || NEW.new_state, cancelled_by = NEW.id"
        "  WHERE (NEW.new_state = 'failed' OR NEW.new_state = 'cancelled') AND NEW.watch & 1"
        "  AND state = 'queued' AND id IN ("
        "   WITH RECURSIVE d(id) AS (SELECT child FROM job_deps WHERE parent = NEW.id"
        "    UNION SELECT job_deps.child FROM job_deps JOIN d ON job_deps.parent = d.id)"
        "   SELECT id FROM d);"
        /* A child came back (jobq retry, or its parent's retry): it waits for its parents
         * again, or goes back to cancelled when one of them has failed. */
        " UPDATE jobs SET cancelled_by = NULL, blockers = (SELECT count(*) FROM job_deps"
        "   JOIN jobs p ON p.id = job_deps.parent WHERE job_deps.child = NEW.id"
        "   AND p.state <> 'succeeded')"
        "  WHERE " EV_RETRY " AND NEW.watch & 2 AND id = NEW.id;"
        " UPDATE jobs SET state = 'cancelled', finished_at = " NOW_MS ","
        "  cancelled_by = (SELECT id FROM (" FAILED_PARENT("NEW.id") ") LIMIT 1),"
        "  error = (SELECT 'dependency ' || id || ' ' || state FROM (" FAILED_PARENT("NEW.id") ")"
        "   LIMIT 1)"
        "  WHERE " EV_RETRY " AND NEW.watch & 2 AND id = NEW.id AND state = 'queued'"
        "  AND EXISTS (" FAILED_PARENT("NEW.id") ");"
        /* A parent came back: the children its end cancelled come back (and theirs, through
         * their own events), unless another of their parents has failed. */
        " UPDATE OR IGNORE jobs SET state = 'queued', attempts = 0, run_at = " NOW_MS ","
        "  error = NULL, finished_at = NULL"
        "  WHERE " EV_RETRY " AND NEW.watch & 1 AND cancelled_by IS NOT NULL"
        "  AND state = 'cancelled' AND id IN (SELECT child FROM job_deps WHERE parent = NEW.id)"
        "  AND NOT EXISTS (" FAILED_PARENT("jobs.id") ");"
        /* The last live job of a batch ended: its callback job, once. */
        " INSERT INTO jobs (type, namespace, payload, priority, max_attempts, timeout,"
        "  run_at, created_at)"
        "  SELECT type, namespace, json_object('batch', NEW.batch, 'counts', json_object("
        "    'succeeded', (SELECT count(*) FROM jobs WHERE batch = NEW.batch"
        "     AND state = 'succeeded'),"
        "    'failed', (SELECT count(*) FROM jobs WHERE batch = NEW.batch"
        "     AND state = 'failed'),"
        "    'cancelled', (SELECT count(*) FROM jobs WHERE batch = NEW.batch"
        "     AND state = 'cancelled')),"
        "   'total', (SELECT count(*) FROM jobs WHERE batch = NEW.batch)),"
        "   priority, max_attempts, timeout, " NOW_MS ", " NOW_MS
        "  FROM batch_callbacks WHERE " BATCH_OVER ";"
        " UPDATE batch_callbacks SET fired_job = last_insert_rowid() WHERE " BATCH_OVER ";"
        " DELETE FROM job_events;"
        " END;"
        /* A pruned job takes its edges along. */
        "CREATE TRIGGER jobs_deps_prune AFTER DELETE ON jobs WHEN OLD.watch <> 0 BEGIN"
        " DELETE FROM job_deps WHERE parent = OLD.id;"
        " DELETE FROM job_deps WHERE child = OLD.id;"
        " END;"
        "PRAGMA user_version = 3;";

/*
 * Version 4, several hosts on one queue (issue 9):
 * - hosts: one row per running supervisor, keyed by its host id (the hostname unless
 *   configured): its pid, start, the workers it runs, its jobq version, and seen_at, the last
 *   heartbeat (epoch ms). A clean stop deletes the row; a dead host's row stays, its seen_at
 *   growing old (`jobq status` shows it lost);
 * - jobs.host: the host id of whoever claimed the job (a supervisor's worker, or `jobq claim`),
 *   kept after the job ends.
 */
static const char schema_v4[] =
        "CREATE TABLE hosts ("
        " id TEXT PRIMARY KEY,"
        " pid INTEGER NOT NULL,"
        " started_at INTEGER NOT NULL,"
        " seen_at INTEGER NOT NULL,"
        " workers INTEGER NOT NULL DEFAULT 0,"
        " version TEXT"
        ");"
        "ALTER TABLE jobs ADD COLUMN host TEXT;"
        "PRAGMA user_version = 4;";

/* clang-format on */

/* The steps: steps[i] brings a database from version i to version i + 1, its parts run in order
 * in the one transaction of the migration. */
#define STEP_PARTS 2
static const char *const steps[][STEP_PARTS] = {
        {schema_v1, NULL},
        {schema_v2, NULL},
        {schema_v3_rates, schema_v3_deps},
        {schema_v4, NULL},
};

_Static_assert(sizeof(steps) / sizeof(steps[0]) == STORE_SCHEMA_VERSION,
               "one migration step per schema version");

/* One integer from a one-row query, or a negative errno. */
static int
query_int(struct store *st, const char *sql, int64_t *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL)) != SQLITE_OK)
		return store_fail(st, rc, "cannot open database");
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(stmt, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_OK ? 0 : store_fail(st, rc, "cannot open database");
}

static int
check_version(struct store *st, int64_t version)
{
	if (version > STORE_SCHEMA_VERSION || version < 0)
		return store_failx(
		        st, -ENOTSUP,
		        "cannot open database '%s': database schema version %lld is newer "
		        "than this jobq (%d)",
		        st->path, (long long)version, STORE_SCHEMA_VERSION);
	return 0;
}

int
schema_migrate(struct store *st)
{
	int64_t version = 0, objects = 0;
	char *msg = NULL;
	int r, rc;

	if ((r = query_int(st, "PRAGMA user_version", &version)) < 0)
		return r;
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	if ((r = check_version(st, version)) < 0)
		return r;
	if ((r = tx_begin(st, "cannot open database")) < 0)
		return r;
	/* Another process may have migrated while we waited for the lock. */
	if ((r = query_int(st, "PRAGMA user_version", &version)) < 0 ||
	    (r = check_version(st, version)) < 0)
		goto out;
	if (version == 0) {
		if ((r = query_int(st, "SELECT count(*) FROM sqlite_schema", &objects)) < 0)
			goto out;
		if (objects > 0) {
			r = store_failx(st, -EINVAL,
			                "cannot open database '%s': not a jobq database (it has "
			                "tables but no jobq schema version)",
			                st->path);
			goto out;
		}
	}
	for (int64_t v = version; v < STORE_SCHEMA_VERSION; v++) {
		for (int k = 0; k < STEP_PARTS && steps[v][k] != NULL; k++) {
			if ((rc = sqlite3_exec(st->db, steps[v][k], NULL, NULL, &msg)) !=
			    SQLITE_OK) {
				r = store_failx(
				        st, store_errno(rc),
				        "cannot migrate database '%s' to schema version %lld: %s",
				        st->path, (long long)v + 1, msg != NULL ? msg : "error");
				sqlite3_free(msg);
				goto out;
			}
		}
	}
	r = tx_commit(st, "cannot open database");
out:
	if (r < 0)
		tx_rollback(st);
	return r;
}
