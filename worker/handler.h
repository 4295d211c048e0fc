/*
 * Handlers: run one claimed job to its outcome. exec (a command in its own process group),
 * builtin (noop, sleep), http (libcurl's multi interface, its sockets in the worker's poll).
 * The worker loop calls handler_start() and then handler_pollfds() / handler_step() from its
 * poll() loop; it owns the job and the store, handlers own processes and connections.
 */
#ifndef JOBQ_HANDLER_H
#define JOBQ_HANDLER_H

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "store.h"

struct handler; /* one running job's handler state */

/* Environment of a handler run: what the worker knows. */
struct handler_env {
	const char *db_path; /* absolute; exported as JOBQ_DB so leftovers can be found */
	const struct config *cfg;
	const struct type_config *type;
	const struct job *job;  /* the claimed job; must outlive the handler */
	char *const *base_envp; /* environment to start from (environ) */
};

/*
 * Start the job's handler. Returns 0 with *out set (release with handler_free()), or -errno
 * with a message in err (e.g. exec of a missing command: the outcome is a failed attempt).
 * For exec, *pgid_out / *pgid_start_out receive the new process group to record in the store.
 */
int handler_start(const struct handler_env *env, struct handler **out, pid_t *pgid_out,
                  uint64_t *pgid_start_out, char *err, size_t errlen);

/* The fds the handler wants polled (pipes, curl sockets); returns how many were written
 * (at most max). *timeout_ms is lowered to the handler's next deadline. */
int handler_pollfds(struct handler *h, struct pollfd *fds, int max, int *timeout_ms);

/*
 * Make progress after poll() returned (or timed out) and after SIGCHLD. Returns 1 when the
 * handler has finished (then handler_outcome() is valid), 0 while it runs, < 0 on error.
 */
int handler_step(struct handler *h, int64_t now_mono_ms);

/* Ask the handler to stop: cancel (cancelled outcome) or shutdown (temporary outcome, the job
 * is requeued). Sends SIGTERM to the group; SIGKILL follows after grace_ms in handler_step(). */
void handler_stop(struct handler *h, int cancel, int64_t grace_ms);

/* The outcome once handler_step() returned 1; strings live until handler_free(). */
const struct job_outcome *handler_outcome(const struct handler *h);

/*
 * Once handler_step() returned 1: the wall-clock time (ms since the epoch) until which the pools
 * of the job's resource tags should be paused because the handler met a quota (HTTP 429 with
 * Retry-After, or an exec command that exited 75 after writing a retry_after to JOBQ_REPORT),
 * or 0 when it met none. *reason (may be NULL) receives a short text that lives until
 * handler_free().
 */
int64_t handler_quota(const struct handler *h, const char **reason);

/* Notify the handler that pid was reaped with status (the worker is the subreaper and reaps
 * everything); returns 1 if the pid was one of this handler's, 0 if not. */
int handler_reaped(struct handler *h, pid_t pid, int status);

void handler_free(struct handler *h);

/* The worker has nothing to do: make ahead what the start of a job of cfg's types would
 * otherwise make on its way (an exec job's report folder), off the path from a wake-up to the
 * job's start. handler_idle_release() removes it (at the worker's end). */
void handler_idle(const struct config *cfg);
void handler_idle_release(void);

/* A handler that has already ended: an attempt that could not start, with error (copied) and
 * exit_code (-1: none). NULL when out of memory. */
struct handler *handler_failed(const char *error, int exit_code, int no_retry);

/* Lower *timeout_ms (-1: none yet) to the time left until deadline (monotonic ms; 0 = none). */
void handler_deadline(int64_t deadline, int *timeout_ms);

#endif
