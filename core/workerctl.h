/*
 * The control protocol between the supervisor and its workers (supervisor/supervisor.c,
 * worker/worker.c): one byte per message over a SOCK_SEQPACKET socketpair, the worker's fd 3.
 * The wake-up bytes of the FIFO are core/wake.h's; the report folders a killed worker leaves
 * are core/reportdir.h's.
 */
#ifndef JOBQ_WORKERCTL_H
#define JOBQ_WORKERCTL_H

/* Supervisor -> worker */
#define WORKER_MSG_WAKE 'w'     /* something may be claimable, or a cancel may be pending */
#define WORKER_MSG_SHUTDOWN 'T' /* stop claiming; finish within the grace period; exit */
#define WORKER_MSG_RELOAD 'H'   /* reload: the configuration's text comes with it (SCM_RIGHTS) */
/* Worker -> supervisor */
#define WORKER_MSG_IDLE 'i' /* a claim found nothing to do */
#define WORKER_MSG_BUSY 'b' /* after 'i', it claimed a job on its own (a timer, a poll) */
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

#endif
