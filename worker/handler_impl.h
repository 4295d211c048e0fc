/* What every handler kind implements behind handler.h. Internal to worker/. */
#ifndef JOBQ_HANDLER_IMPL_H
#define JOBQ_HANDLER_IMPL_H

#include <stddef.h>

#include "handler.h"

struct handler_ops {
	int (*pollfds)(struct handler *h, struct pollfd *fds, int max, int *timeout_ms);
	int (*step)(struct handler *h, int64_t now_mono_ms);
	void (*stop)(struct handler *h, int cancel, int64_t grace_ms);
	int (*reaped)(struct handler *h, pid_t pid, int status);
	void (*free)(struct handler *h);
};

/* The head of every handler kind's state; the kind's struct starts with it. */
struct handler {
	const struct handler_ops *ops;
	struct job_outcome outcome;
	int done;
};

int exec_start(const struct handler_env *env, struct handler **out, pid_t *pgid_out,
	       uint64_t *pgid_start_out, char *err, size_t errlen);
int builtin_start(const struct handler_env *env, struct handler **out, char *err, size_t errlen);

#endif
