/* The supervisor's files next to the database DB (a PostgreSQL queue's: in the state folder,
 * core/dblocal.h): DB.runtime.json (JSON, written atomically by
 * rename, 0600), DB.pid (the libbsd pid file whose flock is the single-instance lock) and
 * DB.wake (a FIFO, 0600: a byte written there wakes the supervisor). */
#ifndef JOBQ_RUNTIME_H
#define JOBQ_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define RUNTIME_SCHEMA_VERSION 1

struct runtime_info {
	int schema_version;
	pid_t pid;
	uint64_t pid_start; /* the supervisor's start time in clock ticks (proc_start_time) */
	int64_t started_at; /* epoch ms */
	char database[4096]; /* as shown: a PostgreSQL password masked (core/conninfo.h) */
	int workers;
	char workers_note[160]; /* why fewer workers than concurrency.global ("global 12 capped at
	                         * 4 × 2 CPUs; ..."), "" when not; JSON null then */
	char wake[4096];        /* path of the wake-up FIFO */
	int nworker_pids;       /* the workers running now */
	pid_t worker_pids[CONFIG_WORKERS_MAX];
	/* Optional (issue 10), for `jobq metrics`: counters since the supervisor started, and where
	 * it serves /metrics ("127.0.0.1:43567", "" when it does not: JSON null). */
	int64_t worker_restarts; /* workers restarted after they died */
	int64_t orphans_reaped;  /* processes reaped by the supervisor that were not workers */
	char metrics[64];
	/* Optional (issue 9): the host id the supervisor runs as (core/hostid.h), "" when absent. */
	char host[72];
	int stale; /* set by runtime_read: the pid is gone or was recycled */
};

/* File names derived from the database path ("q.db" -> "q.db.runtime.json", "q.db.pid",
 * "q.db.wake"), or for a PostgreSQL queue from its base in the state folder (core/dblocal.h).
 * Returns 0, -ENAMETOOLONG or -EPERM (a state folder jobq does not trust). The wake-up FIFO
 * itself is core/wake.h's. */
int runtime_path(const char *db_path, const char *suffix, char *out, size_t len);

/* Read the runtime file of db_path. Returns 1 with *out filled (check out->stale), 0 if there is
 * none, -EINVAL if unreadable or of another schema_version, -EPERM if it is not a file jobq
 * trusts (core/trust.h: planted by another user). */
int runtime_read(const char *db_path, struct runtime_info *out);

/* Write it atomically. Returns 0 or -errno. */
int runtime_write(const char *db_path, const struct runtime_info *info);

/* Remove it on clean exit. */
void runtime_remove(const char *db_path);

#endif
