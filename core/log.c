/* Logging to stderr, one write(2) per line so lines of concurrent processes do not mix. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "duration.h"
#include "log.h"
#include "text.h"

/* A line is cut at this many bytes, its newline included. */
#define LOG_LINE_MAX 2048

static char log_prog[32] = "jobq";
static enum log_level log_level = LOG_LVL_INFO;
static int64_t log_job;
static int log_stamps; /* start each line with the time */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
log_init(const char *prog, enum log_level level)
{
	const char *env = getenv("JOBQ_LOG_LEVEL");
	enum log_level from_env;

	if (prog != NULL && *prog != '\0') {
		const char *base = strrchr(prog, '/');

		strlcpy(log_prog, base != NULL ? base + 1 : prog, sizeof(log_prog));
	}
	log_level = level;
	/* The environment wins, so an operator can raise the level without new flags. */
	if (env != NULL && *env != '\0' && log_level_parse(env, &from_env) == 0)
		log_level = from_env;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	if (s == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_LVL_WARN;
		return 0;
	}
	return -EINVAL;
}

void
log_set_job(int64_t job_id)
{
	log_job = job_id;
}

void
log_use_timestamps(int on)
{
	log_stamps = on != 0;
}

int
log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	/* systemd sets it to the device and inode of the stream it connected to stderr (and
	 * stdout); a child whose stderr was redirected elsewhere keeps the variable, so compare. */
	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/*
 * Messages quote job output, errors, names and commands: every control character is escaped
 * (text_escape: "\n", "\x1b", ...), so a line is one event and cannot drive the terminal.
 */
static void
log_vwrite(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char raw[LOG_LINE_MAX], line[LOG_LINE_MAX], stamp[40] = "";
	size_t off;
	int w;

	if (level > log_level)
		return;
	if (log_stamps) {
		time_format_rfc3339(time_now_ms(), stamp, sizeof(stamp) - 1);
		strlcat(stamp, " ", sizeof(stamp));
	}
	if (log_job > 0)
		w = snprintf(raw, sizeof(raw), "%s%s[%ld]: %s: job %lld: ", stamp, log_prog,
		             (long)getpid(), level_names[level], (long long)log_job);
	else
		w = snprintf(raw, sizeof(raw), "%s%s[%ld]: %s: ", stamp, log_prog, (long)getpid(),
		             level_names[level]);
	if (w < 0)
		return;
	off = (size_t)w;
	w = vsnprintf(raw + off, sizeof(raw) - off, fmt, ap);
	if (w < 0)
		return;
	off += (size_t)w;
	if (off >= sizeof(raw))
		off = sizeof(raw) - 1; /* truncated */
	if (errnum != 0) {
		w = snprintf(raw + off, sizeof(raw) - off, ": %s", strerror(errnum));
		if (w > 0)
			off += (size_t)w;
		if (off >= sizeof(raw))
			off = sizeof(raw) - 1;
	}
	/* room for the newline */
	off = text_escape(raw, off, line, sizeof(line) - 1, NULL);
	line[off++] = '\n';
	for (size_t done = 0; done < off;) {
		ssize_t n = write(STDERR_FILENO, line + done, off - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
}

#define LOG_FN(fn, level, with_errno)                                                              \
	void fn(const char *fmt, ...)                                                              \
	{                                                                                          \
		int saved = errno;                                                                 \
		va_list ap;                                                                        \
                                                                                                   \
		va_start(ap, fmt);                                                                 \
		log_vwrite(level, (with_errno) ? saved : 0, fmt, ap);                              \
		va_end(ap);                                                                        \
		errno = saved;                                                                     \
	}

LOG_FN(log_error, LOG_LVL_ERROR, 1)
LOG_FN(log_errorx, LOG_LVL_ERROR, 0)
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)
