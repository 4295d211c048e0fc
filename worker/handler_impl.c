/* What the handler kinds share (handler_impl.h): deadlines, a clamped retry delay, the output
 * files. Below the kinds: nothing here calls them. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"
#include "handler_impl.h"
#include "joblog.h"
#include "log.h"

int64_t
handler_clamp_retry(int64_t ms, int64_t backoff_max_ms)
{
	if (ms < 0)
		return 0;
	return ms < backoff_max_ms ? ms : backoff_max_ms;
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
