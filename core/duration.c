/* Durations ("1h30m") and RFC 3339 times, all in int64 milliseconds. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "duration.h"

struct unit {
	const char *name;
	int64_t ms;
};

/* Longest names first so "ms" is not read as "m"; order is also the required order of parts. */
static const struct unit units[] = {
        {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1},
};
#define NUNITS (sizeof(units) / sizeof(units[0]))

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Match the unit at s; returns its index and sets *len, or -1. */
static int
unit_match(const char *s, size_t *len)
{
	if (s[0] == 'm' && s[1] == 's') {
		*len = 2;
		return 4;
	}
	for (size_t i = 0; i < NUNITS; i++) {
		if (units[i].name[1] == '\0' && s[0] == units[i].name[0]) {
			*len = 1;
			return (int)i;
		}
	}
	return -1;
}

int
duration_parse(const char *s, int64_t *out_ms)
{
	int64_t total = 0;
	int last = -1, range = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	/* Read to the end even past the bound: bad syntax wins over a range error. */
	while (*s != '\0') {
		int64_t n = 0, part;
		size_t ulen;
		int u;

		if (!is_digit(*s))
			return -EINVAL;
		for (; is_digit(*s); s++) {
			if (__builtin_mul_overflow(n, 10, &n) ||
			    __builtin_add_overflow(n, *s - '0', &n))
				range = 1;
		}
		if ((u = unit_match(s, &ulen)) < 0)
			return -EINVAL;
		/* Each unit once, largest first: "1h30m", not "30m1h" or "1m1m". */
		if (u <= last)
			return -EINVAL;
		last = u;
		s += ulen;
		if (range || __builtin_mul_overflow(n, units[u].ms, &part) ||
		    __builtin_add_overflow(total, part, &total) || total > DURATION_MAX_MS)
			range = 1;
	}
	if (range)
		return -ERANGE;
	*out_ms = total;
	return 0;
}

static int64_t
clamp_time(int64_t r)
{
	return r > TIME_MAX_MS ? TIME_MAX_MS : r < -TIME_MAX_MS ? -TIME_MAX_MS : r;
}

int
rate_parse(const char *s, int64_t max, struct rate *out)
{
	static const struct unit words[] = {
	        {"s", 1000},       {"sec", 1000},     {"second", 1000},
	        {"min", 60000},    {"minute", 60000}, {"h", 3600000},
	        {"hour", 3600000}, {"d", 86400000},   {"day", 86400000},
	};
	const char *w;
	int64_t n = 0, window = -1;
	int range = 0;

	if (s == NULL || !is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, *s - '0', &n))
			range = 1;
	}
	if (*s != '/' || s[1] == '\0')
		return -EINVAL;
	w = s + 1;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(w, words[i].name) == 0)
			window = words[i].ms;
	}
	if (window < 0) {
		int r = duration_parse(w, &window);

		if (r == -EINVAL)
			return r;
		range |= r == -ERANGE;
	}
	if (n == 0 || window == 0)
		return -EINVAL;
	if (range || n > max || window > RATE_WINDOW_MAX_MS)
		return -ERANGE;
	out->limit = n;
	out->window_ms = window;
	return 0;
}

void
rate_format(const struct rate *r, char *buf, size_t len)
{
	char w[32];

	duration_format(r->window_ms, w, sizeof(w));
	snprintf(buf, len, "%lld/%s", (long long)r->limit, w);
}

int64_t
time_add(int64_t t, int64_t d)
{
	int64_t r;

	if (__builtin_add_overflow(t, d, &r))
		return d > 0 ? TIME_MAX_MS : -TIME_MAX_MS;
	return clamp_time(r);
}

int64_t
time_sub(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_sub_overflow(a, b, &r))
		return b < 0 ? TIME_MAX_MS : -TIME_MAX_MS;
	return clamp_time(r);
}

void
duration_format(int64_t ms, char *buf, size_t len)
{
	uint64_t v;
	size_t off = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	if (ms < 0) {
		snprintf(buf, len, "-");
		off = strlen(buf);
		v = (uint64_t)(-(ms + 1)) + 1;
	} else {
		v = (uint64_t)ms;
	}
	for (size_t i = 0; i < NUNITS && off < len; i++) {
		uint64_t n = v / (uint64_t)units[i].ms;

		if (n == 0)
			continue;
		v -= n * (uint64_t)units[i].ms;
		int w = snprintf(buf + off, len - off, "%llu%s", (unsigned long long)n,
		                 units[i].name);
		if (w < 0)
			return;
		off += (size_t)w;
	}
}

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
time_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t
time_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t
time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Read exactly n digits at *s into *out. */
static int
digits(const char **s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit((*s)[i]))
			return -EINVAL;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

static int
expect(const char **s, char c)
{
	if (**s != c)
		return -EINVAL;
	(*s)++;
	return 0;
}

int
time_parse_rfc3339(const char *s, int64_t *out_ms)
{
	int y, mo, d, h, mi, sec, ms = 0, off_min = 0;

	if (s == NULL)
		return -EINVAL;
	if (digits(&s, 4, &y) < 0 || expect(&s, '-') < 0 || digits(&s, 2, &mo) < 0 ||
	    expect(&s, '-') < 0 || digits(&s, 2, &d) < 0)
		return -EINVAL;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -EINVAL;
	s++;
	if (digits(&s, 2, &h) < 0 || expect(&s, ':') < 0 || digits(&s, 2, &mi) < 0 ||
	    expect(&s, ':') < 0 || digits(&s, 2, &sec) < 0)
		return -EINVAL;
	if (*s == '.') {
		int n = 0;

		s++;
		if (!is_digit(*s))
			return -EINVAL;
		for (; is_digit(*s); s++, n++) {
			if (n < 3)
				ms = ms * 10 + (*s - '0');
		}
		for (; n < 3; n++)
			ms *= 10;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s == '-' ? -1 : 1, oh, om;

		s++;
		if (digits(&s, 2, &oh) < 0 || expect(&s, ':') < 0 || digits(&s, 2, &om) < 0)
			return -EINVAL;
		if (oh > 23 || om > 59)
			return -EINVAL;
		off_min = sign * (oh * 60 + om);
	} else {
		return -EINVAL;
	}
	if (*s != '\0')
		return -EINVAL;
	/* sec 60 is a leap second: allowed by RFC 3339, counted as the next second. */
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	/* Four-digit years keep this far from overflow; only the end of year 9999 (a leap
	 * second, a negative offset) can pass TIME_MAX_MS. */
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off_min * 60;
	if (t * 1000 + ms > TIME_MAX_MS)
		return -ERANGE;
	*out_ms = t * 1000 + ms;
	return 0;
}

void
time_format_rfc3339(int64_t ms, char *buf, size_t len)
{
	int64_t secs = ms / 1000, rem = ms % 1000;
	struct tm tm;
	time_t t;

	if (rem < 0) {
		rem += 1000;
		secs--;
	}
	t = (time_t)secs;
	if (len == 0)
		return;
	if (gmtime_r(&t, &tm) == NULL) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)rem);
}

int
time_parse_when(const char *s, int64_t *out_ms)
{
	int64_t n = 0;
	int r, range = 0;

	if (s == NULL)
		return -EINVAL;
	if (s[0] == '@') {
		s++;
		if (*s == '\0')
			return -EINVAL;
		for (; *s != '\0'; s++) {
			if (!is_digit(*s))
				return -EINVAL;
			/* Read on to the end: bad syntax wins over a range error. */
			if (range || __builtin_mul_overflow(n, 10, &n) ||
			    __builtin_add_overflow(n, *s - '0', &n) || n > TIME_MAX_MS / 1000)
				range = 1;
		}
		if (range)
			return -ERANGE;
		*out_ms = n * 1000;
		return 0;
	}
	if ((r = time_parse_rfc3339(s, &n)) < 0)
		return r;
	if (n < 0)
		return -ERANGE;
	*out_ms = n;
	return 0;
}
