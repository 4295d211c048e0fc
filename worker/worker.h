/*
 * A supervised worker: one process that claims jobs under the policy and runs them one at a
 * time through their handlers. The supervisor talks to it over a control socket (one byte per
 * message, see below); the worker answers with WORKER_MSG_IDLE and WORKER_MSG_BUSY, and
 * passes on the wake-ups it read from the FIFO itself but cannot act on alone.
 */
#ifndef JOBQ_WORKER_H
#define JOBQ_WORKER_H

#include <stdint.h>
#include <sys/types.h>

/* Supervisor -> worker */
#define WORKER_MSG_WAKE 'w'     /* something may be claimable, or a cancel may be pending */
#define WORKER_MSG_SHUTDOWN 'T' /* stop claiming; finish within the grace period; exit */
#define WORKER_MSG_RELOAD 'H'   /* reload: the configuration's text comes with it (SCM_RIGHTS) */
/* Worker -> supervisor */
#define WORKER_MSG_IDLE 'i'     /* a claim found nothing to do */
#define WORKER_MSG_BUSY 'b'     /* after 'i', it claimed a job on its own (a timer, a poll) */
/* 'i', and the worker waits on the wake-up FIFO itself (core/wake.h, wake_listen_open()): the
 * supervisor leaves the FIFO to it. Of what it reads there, it claims for one WAKE_ONE and
 * passes on the rest (more WAKE_ONE, WAKE_ALL, WAKE_CANCEL: the same bytes) to the supervisor,
 * which wakes the other workers as it would for the FIFO; with WAKE_ONE or WAKE_ALL among them
 * the worker counts as busy until it says 'i' again. */
#define WORKER_MSG_LISTENING 'I'

/*
 * Shutdown with an outcome that cannot be recorded (disk full, I/O error): a stopping worker
 * keeps its finished job's outcome in memory and retries the finish until the grace period plus
 * WORKER_FINISH_MARGIN_MS, then gives up, logs the job and exits WORKER_EXIT_UNFINISHED. The job
 * stays `running` until a recovery requeues it, its attempt counted. The supervisor kills
 * workers still alive later than that (KILL_MARGIN_MS after the grace period) and exits 74 when
 * a worker exited so or a job is left running.
 */
#define WORKER_FINISH_MARGIN_MS 3500
#define WORKER_EXIT_UNFINISHED 74 /* EX_IOERR; otherwise a worker exits 0, or 70 at start */

struct worker_opts {
	const char *db_path;     /* absolute */
	const char *config_path; /* NULL or "": the built-in default */
	int config_fd;           /* >= 0: the configuration's text, from the supervisor (config_path
	                          * only names it); a reload message may carry the next one */
	int index;               /* worker number, for logs and the process title */
	int ctl_fd;              /* the control socket */
};

/* Remove the JOBQ_REPORT folders a worker left when it was killed (exec.c). The supervisor calls
 * it for a worker it reaped, and with 0 at start: the folders of every worker that is gone. */
void exec_report_cleanup(pid_t worker);

/* Run the worker until shutdown or until the supervisor goes away. Returns an exit code. */
int worker_run(const struct worker_opts *o);

#endif
