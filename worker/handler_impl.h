/* What every handler kind implements behind handler.h. Internal to worker/. */
#ifndef JOBQ_HANDLER_IMPL_H
#define JOBQ_HANDLER_IMPL_H

#include <stddef.h>

#include "handler.h"
#include "joblog.h"
#include "placeholder.h"

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
	int64_t quota_until; /* wall ms: pause the job's pools until then (0: no quota met) */
	char quota_reason[96];
};

/* Clamp a delay a server or a command asked for (ms, may be < 0) to [0, backoff_max_ms]: a
 * Retry-After is honoured within the type's backoff limits. */
int64_t handler_clamp_retry(int64_t ms, int64_t backoff_max_ms);

/* The claimed job's output files in DB.logs (core/joblog.h), both started anew; log[0] stdout,
 * log[1] stderr, initialised here. Returns the folder's fd (the caller closes it after the
 * files), or -1 when there are none ("logs": false, or a warning was logged saying why: the job
 * runs all the same). */
int handler_open_logs(const struct handler_env *env, struct joblog *log);

int exec_start(const struct handler_env *env, struct handler **out, pid_t *pgid_out,
               uint64_t *pgid_start_out, char *err, size_t errlen);
int builtin_start(const struct handler_env *env, struct handler **out, char *err, size_t errlen);
int http_start(const struct handler_env *env, struct handler **out, char *err, size_t errlen);

/* Make the next exec attempt's report folder now (exec_report.c; a failure is left for the
 * attempt to meet and report), and remove it unused. */
void exec_report_prepare(void);
void exec_report_drop(void);

/* The pure parts of the handlers, without processes or connections (also for tests/fuzz/). */

/* One exec argv element with its placeholders substituted into *out (malloc'd, caller frees);
 * "{{" stands for "{". Returns 0, or -EINVAL (missing field, \u0000), -E2BIG (longer than
 * 128 KiB), -ENOMEM with a message in err. */
int exec_substitute(const char *tmpl, const struct job *job, const struct cJSON *payload,
                    char **out, char *err, size_t errlen);

/* The text of a JOBQ_REPORT file (NUL-terminated): *ms_out gets the delay its retry_after
 * asks for (ms from now, >= 0; a time before now gives 0), or -1 when there is none. Returns
 * NULL, or a note for the error when the report is unusable (then *ms_out is -1). */
const char *exec_report_parse(const char *text, int64_t now, int64_t *ms_out);
/* The tokens of a JOBQ_REPORT text ({"tokens": N}, an integer from 0 to EXEC_TOKENS_MAX):
 * *tokens_out (0 when absent or unusable); NULL, or a note when the value is unusable. */
#define EXEC_TOKENS_MAX 1e12
const char *exec_report_tokens(const char *text, int64_t *tokens_out);

/* The tokens an http response body (len bytes of JSON) gives at path ("usage.total_tokens":
 * keys joined by dots, a number for an array index): 0 with *out, -ENOENT when the path is
 * not there, -EINVAL when the body is not JSON or the value not an integer from 0 to
 * HTTP_TOKENS_MAX (*out is then 0). */
#define HTTP_TOKENS_MAX 1e12
int http_tokens(const char *body, size_t len, const char *path, int64_t *out);

/* An http url (encode: values percent-encoded; needs libcurl loaded, curl_dl_load()) or a
 * string of a body template with its placeholders substituted into *out (caller frees); the
 * message of an error names what ("url", "body"). Returns 0, -EINVAL, -E2BIG or -ENOMEM. */
int http_expand(const char *tmpl, const struct job *job, const struct cJSON *payload, int encode,
                const char *what, char **out, char *err, size_t errlen);

/* The body of a request from a JSON template (http.body): its strings' placeholders filled,
 * a string that is one placeholder replaced by the value itself. *out is malloc'd unformatted
 * JSON (caller frees). Returns 0, -EINVAL (template not JSON, missing field), -E2BIG, -ENOMEM. */
int http_fill_body(const char *tmpl, const struct job *job, const struct cJSON *payload, char **out,
                   char *err, size_t errlen);

/* One response header line data[0..n) as libcurl hands it (not NUL-terminated, CRLF kept): a
 * status line ("HTTP/...") resets *retry_at to 0 (a new response); a Retry-After of
 * delay-seconds (capped at 999999999) or an HTTP date (needs libcurl loaded) sets *retry_at to
 * the wall-clock ms it names, at most TIME_MAX_MS; anything else leaves it as it is. */
void http_header_retry(const char *data, size_t n, int64_t now, int64_t *retry_at);

#endif
