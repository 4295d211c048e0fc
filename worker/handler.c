/* Dispatch from handler.h to the handler kinds. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "handler_impl.h"
#include "joblog.h"
#include "log.h"
#include "text.h"

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

int64_t
handler_clamp_retry(int64_t ms, int64_t backoff_max_ms)
{
	if (ms < 0)
		return 0;
	return ms < backoff_max_ms ? ms : backoff_max_ms;
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
handler_deadline(int64_t deadline, int *timeout_ms)
{
	if (deadline <= 0)
		return;
	int64_t left = deadline - time_mono_ms();
	if (left < 0)
		left = 0;
	if (left > INT_MAX)
		left = INT_MAX; /* poll() takes an int: a far deadline is woken for again */
	if (*timeout_ms < 0 || left < *timeout_ms)
		*timeout_ms = (int)left;
}

/* 1 when the payload text holds a \u0000 escape, which cJSON cuts strings at. */
static int
payload_has_nul(const struct job *job)
{
	return job->payload != NULL &&
	       text_json_nul(job->payload, strlen(job->payload), NULL, NULL, 0) >= 0;
}

void
placeholder_nul_error(const struct job *job, const char *who, char *err, size_t errlen)
{
	char path[128] = "payload";

	if (job->payload != NULL)
		text_json_nul(job->payload, strlen(job->payload), "payload", path, sizeof(path));
	snprintf(err, errlen,
		 "%s: %s contains \\u0000 (a NUL character), which no placeholder can pass on",
		 who, path);
}

/* Resolve the placeholder name[0..nlen). Returns 1, 0 if it is not a placeholder (kept as
 * written), -ENOENT if the payload lacks the field, -EILSEQ if it holds a \u0000. */
int
placeholder_resolve(const char *name, size_t nlen, const struct job *job, const cJSON *payload,
		    struct placeholder *out)
{
	memset(out, 0, sizeof(*out));
#define IS(s) (nlen == sizeof(s) - 1 && memcmp(name, s, nlen) == 0)
	if (IS("job.id")) {
		out->num = job->id;
	} else if (IS("job.attempt")) {
		out->num = job->attempts;
	} else if (IS("job.type")) {
		out->text = job->type;
	} else if (IS("job.namespace")) {
		out->text = job->namespace;
	} else if (IS("payload")) {
		if (payload == NULL)
			return -ENOENT;
		if (payload_has_nul(job))
			return -EILSEQ;
		out->json = payload;
	} else if (nlen > 8 && memcmp(name, "payload.", 8) == 0) {
		const cJSON *v = payload;
		char key[256];

		if (payload_has_nul(job))
			return -EILSEQ;

		for (size_t off = 8; off < nlen;) {
			const char *dot = memchr(name + off, '.', nlen - off);
			size_t klen = dot != NULL ? (size_t)(dot - (name + off)) : nlen - off;

			if (klen == 0 || klen >= sizeof(key))
				return 0;
			memcpy(key, name + off, klen);
			key[klen] = '\0';
			v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, key) : NULL;
			if (v == NULL)
				return -ENOENT;
			off += klen + 1;
		}
		out->json = v;
	} else {
		return 0;
	}
#undef IS
	return 1;
}

/* The text of a resolved placeholder: a string as is, another value as JSON. *tofree gets
 * what the caller frees. */
int
placeholder_text(const struct placeholder *p, const char **text, char **tofree, char *num, size_t numlen)
{
	*tofree = NULL;
	if (p->text != NULL) {
		*text = p->text;
	} else if (p->json == NULL) {
		snprintf(num, numlen, "%" PRId64, p->num);
		*text = num;
	} else if (cJSON_IsString(p->json)) {
		*text = p->json->valuestring;
	} else {
		if ((*tofree = cJSON_PrintUnformatted(p->json)) == NULL)
			return -ENOMEM;
		*text = *tofree;
	}
	return 0;
}

int
handler_open_logs(const struct handler_env *env, struct joblog *log)
{
	const struct config *cfg = env->cfg;
	int64_t id = env->job->id;
	char dir[4096];
	int fd, r;

	joblog_init(&log[0]);
	joblog_init(&log[1]);
	if (cfg->log_max == 0)
		return -1;
	if ((r = joblog_dir(env->db_path, dir, sizeof(dir))) < 0 ||
	    (r = fd = joblog_dir_open(dir, 1)) < 0) {
		log_warnx("job %" PRId64 ": no output files in '%s': %s", id, dir,
			  r == -EPERM ? "not a folder of yours that only you may write"
				      : strerror(-r));
		return -1;
	}
	for (int s = 0; s < 2; s++)
		if ((r = joblog_open(&log[s], fd, id, (enum joblog_stream)s, cfg->log_max,
				     cfg->log_keep)) < 0)
			log_warnx("job %" PRId64 ": cannot start its output file in '%s': %s", id,
				  dir, strerror(-r));
	return fd;
}
