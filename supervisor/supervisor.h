/*
 * The supervisor: one per database (a libbsd pid file's flock is the lock), it recovers what a
 * crash left, forks the workers (re-executing this binary as `jobq worker`), restarts them,
 * wakes them on enqueue, reloads on SIGHUP and stops gracefully on SIGTERM/SIGINT.
 */
#ifndef JOBQ_SUPERVISOR_H
#define JOBQ_SUPERVISOR_H

struct supervisor_opts {
	const char *db_path;     /* absolute */
	const char *config_path; /* absolute, or NULL / "" for the built-in default */
	const char *self_exe;    /* this binary, re-executed as `jobq worker` */
	const char *host;        /* this host's id (core/hostid.h), exported to the workers */
	int workers;             /* 0: from the configuration */
	int drain;               /* exit once nothing is queued or running (1 when only jobs of
	                          * types without a handler here are left queued) */
	int verbose;
	int quiet;
};

/* Run until stopped. Returns the exit code: 0, 1 when a drain left jobs queued that no handler
 * of the configuration runs, 75 when another supervisor holds the database,
 * 78 for a bad configuration, 66/74 when the database cannot be opened, 74 when at the stop a
 * job's outcome could not be recorded or a job is left running (disk full), 70 otherwise. */
int supervisor_run(const struct supervisor_opts *o);

#endif
