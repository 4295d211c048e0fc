/*
 * Durations and times (core/duration.c): duration_parse, time_parse_rfc3339, time_parse_when,
 * and their formatters. Properties: results within the documented bounds, *out untouched on
 * error, a parsed duration or time formatted and parsed back gives the same value, formatted
 * text fits 32 bytes, and the formatters take any int64 (the first 8 bytes of the input).
 */
#include <errno.h>

#include "duration.h"
#include "fuzz.h"

#define SENTINEL INT64_C(-4242)
/* 0000-01-01T00:00:00Z: time_format_rfc3339 writes a year below 0 as "-001", not RFC 3339. */
#define YEAR0_MS INT64_C(-62167219200000)

static void
check_duration(const char *s)
{
	int64_t ms = SENTINEL, back = SENTINEL;
	char buf[32];
	int r = duration_parse(s, &ms);

	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r < 0) {
		FUZZ_CHECK(ms == SENTINEL);
		return;
	}
	FUZZ_CHECK(ms >= 0 && ms <= DURATION_MAX_MS);
	duration_format(ms, buf, sizeof(buf));
	FUZZ_CHECK(strlen(buf) < sizeof(buf) - 1);
	FUZZ_CHECK(duration_parse(buf, &back) == 0 && back == ms);
}

static void
check_time(const char *s)
{
	int64_t ms = SENTINEL, back = SENTINEL, when = SENTINEL;
	char buf[40];
	int r = time_parse_rfc3339(s, &ms), rw;

	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r < 0) {
		FUZZ_CHECK(ms == SENTINEL);
	} else {
		/* four-digit years and offsets below a day */
		FUZZ_CHECK(ms <= TIME_MAX_MS && ms >= YEAR0_MS - 86400000);
		time_format_rfc3339(ms, buf, 32);
		FUZZ_CHECK(strlen(buf) < 31);
		if (ms >= YEAR0_MS)
			FUZZ_CHECK(time_parse_rfc3339(buf, &back) == 0 && back == ms);
	}
	rw = time_parse_when(s, &when);
	FUZZ_CHECK(rw == 0 || rw == -EINVAL || rw == -ERANGE);
	if (rw < 0) {
		FUZZ_CHECK(when == SENTINEL);
		return;
	}
	FUZZ_CHECK(when >= 0 && when <= TIME_MAX_MS);
	if (s[0] == '@')
		FUZZ_CHECK(when % 1000 == 0);
	else
		FUZZ_CHECK(r == 0 && when == ms);
}

/* Any int64: the formatters never overflow and stay within 32 bytes; a non-negative duration
 * parses back (or is out of range); sums and differences stay clamped. */
static void
check_int(int64_t v)
{
	char buf[32];
	int64_t back = SENTINEL;
	int r;

	duration_format(v, buf, sizeof(buf));
	FUZZ_CHECK(strlen(buf) < sizeof(buf) - 1);
	if (v >= 0) {
		r = duration_parse(buf, &back);
		FUZZ_CHECK(v <= DURATION_MAX_MS ? r == 0 && back == v : r == -ERANGE);
	}
	time_format_rfc3339(v, buf, sizeof(buf));
	FUZZ_CHECK(strlen(buf) < sizeof(buf) - 1);
	if (v >= 0 && v <= TIME_MAX_MS)
		FUZZ_CHECK(time_parse_rfc3339(buf, &back) == 0 && back == v);
	FUZZ_CHECK(time_add(v, v) >= -TIME_MAX_MS && time_add(v, v) <= TIME_MAX_MS);
	FUZZ_CHECK(time_sub(v, -(v / 2)) >= -TIME_MAX_MS && time_sub(v, -(v / 2)) <= TIME_MAX_MS);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	int64_t v = 0;

	check_duration(s);
	check_time(s);
	if (size >= sizeof(v)) {
		memcpy(&v, data, sizeof(v));
		check_int(v);
	}
	free(s);
	return 0;
}
