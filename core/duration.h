/* Durations ("500ms", "10s", "5m", "2h", "1d", "1h30m") and RFC 3339 times, in milliseconds. */
#ifndef JOBQ_DURATION_H
#define JOBQ_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parse a duration into milliseconds. Units ms, s, m, h, d; parts may be chained ("1h30m"),
 * each unit at most once and largest first. A bare number, a sign, a fraction or a space is
 * rejected. Returns 0, or -EINVAL on bad syntax, -ERANGE on int64 overflow; *out_ms is
 * untouched on error. */
int duration_parse(const char *s, int64_t *out_ms);

/* Format milliseconds the short way ("1h30m", "500ms", "0s", "-2s") into buf; the output of
 * a non-negative value parses back with duration_parse(). 32 bytes hold any value. */
void duration_format(int64_t ms, char *buf, size_t len);

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t time_now_ms(void);

/* Milliseconds of CLOCK_MONOTONIC, for measuring intervals. */
int64_t time_mono_ms(void);

/* Parse RFC 3339 ("2026-11-22T10:00:00Z", "...+02:00", fractional seconds allowed and cut to
 * milliseconds; 't', 'z' and a space for 'T' accepted; second 60 counts as the next second).
 * The offset is required. Returns 0 or -EINVAL. */
int time_parse_rfc3339(const char *s, int64_t *out_ms);

/* Format as RFC 3339 UTC with milliseconds: "2026-11-22T10:00:00.123Z". buf >= 32 bytes. */
void time_format_rfc3339(int64_t ms, char *buf, size_t len);

/* Parse "in N" semantic for --run-at: RFC 3339 or a unix timestamp in seconds ("@1700000000").
 * Returns 0 or -EINVAL. */
int time_parse_when(const char *s, int64_t *out_ms);

#endif
