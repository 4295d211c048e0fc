/* builtin handlers: noop (succeeds at once) and sleep (payload {"ms": N}), for tests and
 * benchmarks. A sleep is cancellable and honours the job's timeout. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <bsd/string.h>

#include "duration.h"
#include "handler_impl.h"

#define SLEEP_MAX_MS (7LL * 24 * 3600 * 1000)

struct builtin {
	struct handler h;
	int64_t until;      /* monotonic ms when the sleep ends */
	int64_t timeout_at; /* monotonic ms of the job's timeout, 0 none */
	int64_t timeout_ms;
	char msg[512];
};

static int
b_pollfds(struct handler *h, struct pollfd *fds, int max, int *timeout_ms)
{
	struct builtin *b = (struct builtin *)h;

	handler_deadline(b->until, timeout_ms);
	handler_deadline(b->timeout_at, timeout_ms);
	return 0;
}

static int
b_step(struct handler *h, int64_t now)
{
	struct builtin *b = (struct builtin *)h;

	if (b->timeout_at > 0 && now >= b->timeout_at && now < b->until) {
		char d[32];
		duration_format(b->timeout_ms, d, sizeof(d));
		snprintf(b->msg, sizeof(b->msg), "timed out after %s", d);
		h->outcome.error = b->msg;
		h->done = 1;
	} else if (now >= b->until) {
		h->outcome.succeeded = 1;
		h->done = 1;
	}
	return h->done;
}

static void
b_stop(struct handler *h, int cancel, int64_t grace_ms)
{
	h->outcome.succeeded = 0;
	h->outcome.cancelled = cancel;
	h->outcome.temporary = !cancel;
	h->outcome.error = cancel ? "cancelled" : "interrupted by shutdown";
	h->done = 1;
}

static void
b_free(struct handler *h)
{
	free(h);
}

static const struct handler_ops builtin_ops = {
        .pollfds = b_pollfds,
        .step = b_step,
        .stop = b_stop,
        .free = b_free,
};

int
builtin_start(const struct handler_env *env, struct handler **out, char *err, size_t errlen)
{
	struct builtin *b;
	int64_t ms = 0;

	if (env->type->builtin == BUILTIN_SLEEP) {
		cJSON *p = cJSON_ParseWithOpts(env->job->payload != NULL ? env->job->payload : "{}",
		                               NULL, 1);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, "ms");
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > SLEEP_MAX_MS) {
			cJSON_Delete(p);
			snprintf(err, errlen,
			         "payload.ms: must be a number of milliseconds from 0 to %lld",
			         SLEEP_MAX_MS);
			return -EINVAL;
		}
		ms = (int64_t)v->valuedouble;
		cJSON_Delete(p);
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	b->h.ops = &builtin_ops;
	int64_t now = time_mono_ms();
	b->until = time_add(now, ms);
	b->timeout_ms = env->job->timeout_ms > 0 ? env->job->timeout_ms : env->type->timeout_ms;
	if (b->timeout_ms > 0)
		b->timeout_at = time_add(now, b->timeout_ms); /* the row may hold any value */
	if (ms == 0) {
		b->h.outcome.succeeded = 1;
		b->h.done = 1;
	}
	*out = &b->h;
	return 0;
}

struct handler *
handler_failed(const char *error, int exit_code, int no_retry)
{
	struct builtin *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->h.ops = &builtin_ops;
	b->h.done = 1;
	strlcpy(b->msg, error, sizeof(b->msg));
	b->h.outcome.error = b->msg;
	b->h.outcome.no_retry = no_retry;
	if (exit_code >= 0) {
		b->h.outcome.has_exit_code = 1;
		b->h.outcome.exit_code = exit_code;
	}
	return &b->h;
}
