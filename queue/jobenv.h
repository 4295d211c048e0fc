/*
 * The environment a job's command runs with (worker/exec_argv.c exports it, docs/configuration.md):
 * its names, and the entries that identify one attempt's processes, for core/proc.h's
 * proc_kill_job() and proc_kill_by_env() (the worker, the supervisor's recovery and `jobq
 * cancel` find what an attempt left by them).
 */
#ifndef JOBQ_JOBENV_H
#define JOBQ_JOBENV_H

#include <stdint.h>

#define JOBENV_JOB_ID "JOBQ_JOB_ID"
#define JOBENV_JOB_TYPE "JOBQ_JOB_TYPE"
#define JOBENV_NAMESPACE "JOBQ_NAMESPACE"
#define JOBENV_ATTEMPT "JOBQ_ATTEMPT"
/* The database's absolute path (path_absolute()), or its PostgreSQL target with the password
 * masked (core/conninfo.h): a job's processes never see the password. */
#define JOBENV_DB "JOBQ_DB"
#define JOBENV_DB_MAX 4096
#define JOBENV_REPORT "JOBQ_REPORT"

/* "JOBQ_DB=DB" for db, its password masked, in *out (caller frees). Returns 0 or -ENOMEM. */
int jobenv_db(const char *db, char **out);

/* One attempt's identity as environment entries: env holds "JOBQ_JOB_ID=ID", "JOBQ_DB=DB" and,
 * unless attempt is 0 (any attempt), "JOBQ_ATTEMPT=N", then NULL. env points into the struct:
 * do not copy it after jobenv_ident_init(). */
struct jobenv_ident {
	char id[48], attempt[48];
	char *db;
	const char *env[4];
};

/* Fill w for job id (> 0), attempt (0: any) and db. Returns 0 or -ENOMEM; release with
 * jobenv_ident_release() either way. */
int jobenv_ident_init(struct jobenv_ident *w, int64_t id, int64_t attempt, const char *db);

/* Free what w holds; NULL-safe, and safe on a zeroed struct. */
void jobenv_ident_release(struct jobenv_ident *w);

#endif
