/*
 * A supervised worker: one process that claims jobs under the policy and runs them one at a
 * time through their handlers. The supervisor talks to it over a control socket (one byte per
 * message, core/workerctl.h); the worker answers with WORKER_MSG_IDLE and WORKER_MSG_BUSY, and
 * passes on the wake-ups it read from the FIFO itself but cannot act on alone.
 */
#ifndef JOBQ_WORKER_H
#define JOBQ_WORKER_H

#include "workerctl.h"

struct worker_opts {
	const char *db_path;     /* absolute */
	const char *config_path; /* NULL or "": the built-in default */
	int config_fd;           /* >= 0: the configuration's text, from the supervisor (config_path
	                          * only names it); a reload message may carry the next one */
	int index;               /* worker number, for logs and the process title */
	int ctl_fd;              /* the control socket */
};

/* Run the worker until shutdown or until the supervisor goes away. Returns an exit code. */
int worker_run(const struct worker_opts *o);

#endif
