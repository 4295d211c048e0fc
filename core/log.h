/* Logging to stderr: "[TIME ]jobq[PID]: LEVEL: job N: message". Library code never logs. */
#ifndef JOBQ_LOG_H
#define JOBQ_LOG_H

#include <stdint.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Set the program name shown (its basename) and the level. $JOBQ_LOG_LEVEL, when it holds a
 * valid level name, overrides level. Before log_init the name is "jobq" and the level info. */
void log_init(const char *prog, enum log_level level);
void log_set_level(enum log_level level);
/* Parse "error", "warn" (or "warning"), "info", "debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
/* The job currently handled by this process, shown in every line; 0 for none. */
void log_set_job(int64_t job_id);
/* Start every line with the time, RFC 3339 UTC with milliseconds
 * ("2026-11-23T05:23:34.689Z jobq[20342]: info: ..."); off by default. */
void log_use_timestamps(int on);
/* 1 when stderr is connected to the systemd journal ($JOURNAL_STREAM names its device and
 * inode), which stamps every line itself; else 0. */
int log_stderr_is_journal(void);

/* _warn and _error append ": strerror(errno)"; the x forms do not. Each line is written with
 * one write(2) (cut at 2 KiB) so lines of concurrent processes do not mix; errno is preserved.
 * Control characters anywhere in the line are escaped (text_escape(): "\n", "\r", "\x1b",
 * "\u009b"; tab kept), so one event is one line and a quoted job output cannot drive the
 * terminal or forge a line. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
