/* Dispatch from handler.h to the handler kinds. */
#include <errno.h>
#include <stdio.h>

#include "handler_impl.h"

int
handler_start(const struct handler_env *env, struct handler **out, pid_t *pgid_out,
              uint64_t *pgid_start_out, char *err, size_t errlen)
{
	*out = NULL;
	*pgid_out = 0;
	*pgid_start_out = 0;
	switch (env->type != NULL ? env->type->handler : HANDLER_NONE) {
	case HANDLER_EXEC:
		return exec_start(env, out, pgid_out, pgid_start_out, err, errlen);
	case HANDLER_BUILTIN:
		return builtin_start(env, out, err, errlen);
	case HANDLER_HTTP:
		return http_start(env, out, err, errlen);
	default:
		snprintf(err, errlen, "type '%s' has no handler in the configuration",
		         env->job->type);
		return -ENOENT;
	}
}

int
handler_pollfds(struct handler *h, struct pollfd *fds, int max, int *timeout_ms)
{
	return h->ops->pollfds != NULL ? h->ops->pollfds(h, fds, max, timeout_ms) : 0;
}

int
handler_step(struct handler *h, int64_t now_mono_ms)
{
	if (h->done)
		return 1;
	return h->ops->step(h, now_mono_ms);
}

void
handler_stop(struct handler *h, int cancel, int64_t grace_ms)
{
	if (!h->done)
		h->ops->stop(h, cancel, grace_ms);
}

const struct job_outcome *
handler_outcome(const struct handler *h)
{
	return &h->outcome;
}

int64_t
handler_quota(const struct handler *h, const char **reason)
{
	if (reason != NULL)
		*reason = h->quota_reason[0] != '\0' ? h->quota_reason : "quota exhausted";
	return h->done ? h->quota_until : 0;
}

int
handler_reaped(struct handler *h, pid_t pid, int status)
{
	return h->ops->reaped != NULL ? h->ops->reaped(h, pid, status) : 0;
}

void
handler_free(struct handler *h)
{
	if (h != NULL)
		h->ops->free(h);
}

void
handler_idle(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->ntypes; i++)
		if (cfg->types[i].handler == HANDLER_EXEC) {
			exec_report_prepare();
			return;
		}
}

void
handler_idle_release(void)
{
	exec_report_drop();
}
