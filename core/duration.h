/* Durations ("500ms", "10s", "5m", "2h", "1d", "1h30m") and RFC 3339 times, in milliseconds. */
#ifndef JOBQ_DURATION_H
#define JOBQ_DURATION_H

#include <stddef.h>
#include <stdint.h>

/*
 * Bounds of what jobq accepts, so that no sum of a time and a duration can overflow (or even
 * leave what RFC 3339 can write): a duration is at most 3650 days (about 10 years; longer than
 * any sensible delay, lease, timeout or backoff), a time at most 9999-12-31T23:59:59.999Z.
 */
#define DURATION_MAX_MS (3650LL * 86400000)
#define DURATION_MAX_TEXT "3650d"
#define TIME_MAX_MS 253402300799999LL
#define TIME_MAX_TEXT "9999-12-31T23:59:59Z"

/* Parse a duration into milliseconds. Units ms, s, m, h, d; parts may be chained ("1h30m"),
 * each unit at most once and largest first. A bare number, a sign, a fraction or a space is
 * rejected. Returns 0, or -EINVAL on bad syntax, -ERANGE above DURATION_MAX_MS; *out_ms is
 * untouched on error. */
int duration_parse(const char *s, int64_t *out_ms);

/* t + d for a time (wall clock or monotonic) and a duration, without wrapping: a sum beyond
 * TIME_MAX_MS (or below -TIME_MAX_MS) is TIME_MAX_MS (-TIME_MAX_MS). */
int64_t time_add(int64_t t, int64_t d);

/* a - b for two times (an age, a time left), or a time and a duration, clamped the same way:
 * safe with any value a database row may hold. */
int64_t time_sub(int64_t a, int64_t b);

/* Format milliseconds the short way ("1h30m", "500ms", "0s", "-2s") into buf; the output of
 * a non-negative value parses back with duration_parse(). 32 bytes hold any value. */
void duration_format(int64_t ms, char *buf, size_t len);

/*
 * A rate: at most `limit` per `window_ms` ("500/min", "5/2s", "200000/1h"). The window is a
 * unit word (s, sec, second, min, minute, h, hour, d, day: one of it) or a duration
 * ("2s", "1h30m"); limit is a positive integer up to max. Returns 0, -EINVAL on bad syntax, or
 * -ERANGE (limit above max, or a window above 1 day); *out is untouched on error.
 */
#define RATE_WINDOW_MAX_MS 86400000LL
struct rate {
	int64_t limit; /* 0: no limit */
	int64_t window_ms;
};
int rate_parse(const char *s, int64_t max, struct rate *out);

/* Format a rate the way rate_parse() reads it back ("500/1m", "5/2s"); 48 bytes hold any. */
void rate_format(const struct rate *r, char *buf, size_t len);

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t time_now_ms(void);

/* Milliseconds of CLOCK_MONOTONIC, for measuring intervals. */
int64_t time_mono_ms(void);
/* The same in nanoseconds, for waits of microseconds (queue/db_sqlite.c's busy handler). */
int64_t time_mono_ns(void);

/* Parse RFC 3339 ("2026-11-22T10:00:00Z", "...+02:00", fractional seconds allowed and cut to
 * milliseconds; 't', 'z' and a space for 'T' accepted; second 60 counts as the next second).
 * The offset is required. Returns 0, -EINVAL, or -ERANGE for an instant after TIME_MAX_MS
 * (9999-12-31T23:59:60Z, or an offset that moves the year past 9999). */
int time_parse_rfc3339(const char *s, int64_t *out_ms);

/* Format as RFC 3339 UTC with milliseconds: "2026-11-22T10:00:00.123Z". buf >= 32 bytes. */
void time_format_rfc3339(int64_t ms, char *buf, size_t len);

/* Parse a time given by a user (--run-at, --until): RFC 3339 or a unix timestamp in seconds
 * ("@1700000000"), from 1970-01-01T00:00:00Z to TIME_MAX_MS. Returns 0, -EINVAL on bad
 * syntax, or -ERANGE outside that range; *out_ms is untouched on error. */
int time_parse_when(const char *s, int64_t *out_ms);

#endif
