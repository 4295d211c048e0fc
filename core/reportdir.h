/*
 * The private folders a worker makes for its exec jobs' reports (worker/exec_report.c,
 * JOBQ_REPORT): $TMPDIR (or /tmp)/jobq-report.PID.XXXXXX, 0700, PID the worker's. The worker
 * removes each with its job, and the one it made ahead while idle when it stops; the supervisor
 * removes those of a worker that was killed.
 */
#ifndef JOBQ_REPORTDIR_H
#define JOBQ_REPORTDIR_H

#include <stddef.h>
#include <sys/types.h>

#define REPORTDIR_PREFIX "jobq-report."

/* The folder the report folders are made in: $TMPDIR if absolute, else /tmp. *len gets its
 * length without a final '/'. The string is the environment's or static. */
const char *reportdir_parent(size_t *len);

/* Remove the report folder at path dir and the files left in it (one level), never through a
 * symbolic link and only a folder of this user. Errors are ignored (best effort). */
void reportdir_remove(const char *dir);

/* Remove the report folders a worker left when it was killed: the supervisor calls it for a
 * worker it reaped, and with 0 at start: the folders of every worker that is gone. */
void reportdir_cleanup(pid_t worker);

#endif
