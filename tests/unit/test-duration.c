/* Unit tests of core/duration.c: durations, RFC 3339 times, --run-at values. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "duration.h"

static void
assert_duration(const char *s, int64_t want)
{
	int64_t ms = -12345;

	if (duration_parse(s, &ms) != 0)
		fail_msg("duration_parse(\"%s\") failed", s);
	if (ms != want)
		fail_msg("duration_parse(\"%s\") = %lld, want %lld", s, (long long)ms,
		         (long long)want);
}

static void
assert_duration_error(const char *s, int want)
{
	int64_t ms = -12345;
	int r = duration_parse(s, &ms);

	if (r != want)
		fail_msg("duration_parse(\"%s\") = %d, want %d", s != NULL ? s : "(null)", r, want);
	assert_int_equal(ms, -12345); /* untouched on error */
}

static void
test_duration_good(void **state)
{
	assert_duration("500ms", 500);
	assert_duration("0ms", 0);
	assert_duration("0s", 0);
	assert_duration("10s", 10000);
	assert_duration("5m", 300000);
	assert_duration("2h", 7200000);
	assert_duration("1d", 86400000);
	assert_duration("1h30m", 5400000);
	assert_duration("1d2h3m4s5ms", 86400000 + 2 * 3600000 + 3 * 60000 + 4000 + 5);
	assert_duration("90s", 90000);
	assert_duration("1m500ms", 60500);
	assert_duration("007s", 7000);
	/* The largest accepted: 3650 days, however it is written. */
	assert_duration("3650d", DURATION_MAX_MS);
	assert_duration("315360000000ms", DURATION_MAX_MS);
	assert_duration("87600h", DURATION_MAX_MS);
	assert_duration("3649d23h59m59s999ms", DURATION_MAX_MS - 1);
	assert_int_equal(DURATION_MAX_MS, 315360000000LL);
}

static void
test_duration_bad(void **state)
{
	assert_duration_error(NULL, -EINVAL);
	assert_duration_error("", -EINVAL);
	assert_duration_error("10", -EINVAL);
	assert_duration_error("-5s", -EINVAL);
	assert_duration_error("+5s", -EINVAL);
	assert_duration_error("5x", -EINVAL);
	assert_duration_error("s", -EINVAL);
	assert_duration_error("5 s", -EINVAL);
	assert_duration_error(" 5s", -EINVAL);
	assert_duration_error("5s ", -EINVAL);
	assert_duration_error("1.5h", -EINVAL);
	assert_duration_error("5S", -EINVAL);
	assert_duration_error("5sec", -EINVAL);
	assert_duration_error("1h30", -EINVAL);
	assert_duration_error("30m1h", -EINVAL); /* units largest first */
	assert_duration_error("1m1m", -EINVAL);
	assert_duration_error("5ms5s", -EINVAL);
	assert_duration_error("9223372036854775808ms", -ERANGE);
	assert_duration_error("99999999999999999999s", -ERANGE);
	assert_duration_error("9223372036854775807s", -ERANGE);
	assert_duration_error("106751991167301d", -ERANGE);
	assert_duration_error("9223372036854775807ms1d", -EINVAL); /* order checked first */
	assert_duration_error("106751991167d9223372036854775ms", -ERANGE);
	/* Past the bound of 3650 days (issue 14: "106751991166d" gave an expired lease). */
	assert_duration_error("3650d1ms", -ERANGE);
	assert_duration_error("3651d", -ERANGE);
	assert_duration_error("87601h", -ERANGE);
	assert_duration_error("315360000001ms", -ERANGE);
	assert_duration_error("106751991166d", -ERANGE);
	assert_duration_error("999999999d", -ERANGE);
	assert_duration_error("9223372036854775807ms", -ERANGE);
	assert_duration_error("3650d1h", -ERANGE);
	/* Bad syntax wins over a range error, wherever it is. */
	assert_duration_error("99999999999999999999x", -EINVAL);
	assert_duration_error("3651d1x", -EINVAL);
	assert_duration_error("3651d 1s", -EINVAL);
}

static void
test_time_add(void **state)
{
	assert_int_equal(time_add(1000, 500), 1500);
	assert_int_equal(time_add(1000, -1500), -500);
	assert_int_equal(time_add(TIME_MAX_MS - 1, 1), TIME_MAX_MS);
	/* Saturates instead of wrapping. */
	assert_int_equal(time_add(TIME_MAX_MS, 1), TIME_MAX_MS);
	assert_int_equal(time_add(1700000000000, INT64_MAX), TIME_MAX_MS);
	assert_int_equal(time_add(INT64_MAX, INT64_MAX), TIME_MAX_MS);
	assert_int_equal(time_add(-TIME_MAX_MS, -1), -TIME_MAX_MS);
	assert_int_equal(time_add(INT64_MIN, -1), -TIME_MAX_MS);
	assert_int_equal(time_add(0, INT64_MIN), -TIME_MAX_MS);
	assert_int_equal(time_sub(1500, 500), 1000);
	assert_int_equal(time_sub(500, 1500), -1000);
	assert_int_equal(time_sub(1700000000000, INT64_MIN), TIME_MAX_MS);
	assert_int_equal(time_sub(1700000000000, INT64_MAX), -TIME_MAX_MS);
	assert_int_equal(time_sub(INT64_MIN, INT64_MAX), -TIME_MAX_MS);
	assert_int_equal(time_sub(INT64_MAX, 0), TIME_MAX_MS);
	/* The latest time plus the longest duration stays far from int64 overflow. */
	assert_true(TIME_MAX_MS + DURATION_MAX_MS < INT64_MAX / 1000);
}

static void
assert_format(int64_t ms, const char *want)
{
	char buf[64];

	duration_format(ms, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
test_duration_format(void **state)
{
	char small[4];

	assert_format(0, "0s");
	assert_format(500, "500ms");
	assert_format(1000, "1s");
	assert_format(5400000, "1h30m");
	assert_format(86400000 + 1, "1d1ms");
	assert_format(-1500, "-1s500ms");
	assert_format(INT64_MIN, "-106751991167d7h12m55s808ms");
	/* Formatting round-trips through the parser. */
	for (int64_t v = 1; v <= DURATION_MAX_MS; v = v * 7 + 3) {
		char buf[64];
		int64_t back;

		duration_format(v, buf, sizeof(buf));
		assert_int_equal(duration_parse(buf, &back), 0);
		assert_int_equal(back, v);
	}
	/* A short buffer is cut, still NUL-terminated. */
	duration_format(5400000, small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
}

static void
assert_time(const char *s, int64_t want)
{
	int64_t ms = -1;

	if (time_parse_rfc3339(s, &ms) != 0)
		fail_msg("time_parse_rfc3339(\"%s\") failed", s);
	if (ms != want)
		fail_msg("time_parse_rfc3339(\"%s\") = %lld, want %lld", s, (long long)ms,
		         (long long)want);
}

static void
assert_time_error(const char *s)
{
	int64_t ms = -1;

	if (time_parse_rfc3339(s, &ms) != -EINVAL)
		fail_msg("time_parse_rfc3339(\"%s\") accepted", s);
	assert_int_equal(ms, -1);
}

static void
test_rfc3339_good(void **state)
{
	assert_time("1970-01-01T00:00:00Z", 0);
	assert_time("2023-11-14T22:13:20Z", 1700000000000);
	assert_time("2023-11-14T22:13:20.5Z", 1700000000500);
	assert_time("2023-11-14T22:13:20.123Z", 1700000000123);
	assert_time("2023-11-14T22:13:20.123999999Z", 1700000000123); /* truncated to ms */
	assert_time("2023-11-15T00:13:20+02:00", 1700000000000);
	assert_time("2023-11-14T20:13:20-02:00", 1700000000000);
	assert_time("2023-11-14T22:13:20+00:00", 1700000000000);
	assert_time("2023-11-14t22:13:20z", 1700000000000);
	assert_time("2023-11-14 22:13:20Z", 1700000000000);
	assert_time("2024-02-29T00:00:00Z", 1709164800000);
	assert_time("2000-02-29T00:00:00Z", 951782400000);
	assert_time("1969-12-31T23:59:59.999Z", -1);
	assert_time("2016-12-31T23:59:60Z", 1483228800000); /* leap second */
	assert_time("9999-12-31T23:59:59.999Z", TIME_MAX_MS);
	assert_time("9999-12-31T23:59:59.999+01:00", TIME_MAX_MS - 3600000);
	assert_time("0000-01-01T00:00:00Z", -62167219200000LL);
}

static void
test_rfc3339_bad(void **state)
{
	int64_t ms;

	assert_int_equal(time_parse_rfc3339(NULL, &ms), -EINVAL);
	assert_time_error("");
	assert_time_error("2023-11-14");
	assert_time_error("2023-11-14T22:13:20"); /* no offset */
	assert_time_error("2023-11-14T22:13Z");
	assert_time_error("2023-11-14T22:13:20.Z");
	assert_time_error("2023-11-14T22:13:20+0200");
	assert_time_error("2023-11-14T22:13:20+02");
	assert_time_error("2023-11-14T22:13:20+24:00");
	assert_time_error("2023-11-14T22:13:20+02:60");
	assert_time_error("2023-13-14T22:13:20Z");
	assert_time_error("2023-00-14T22:13:20Z");
	assert_time_error("2023-11-31T22:13:20Z");
	assert_time_error("2023-02-29T22:13:20Z");
	assert_time_error("1900-02-29T00:00:00Z");
	assert_time_error("2023-11-00T22:13:20Z");
	assert_time_error("2023-11-14T24:00:00Z");
	assert_time_error("2023-11-14T22:60:00Z");
	assert_time_error("2023-11-14T22:13:61Z");
	assert_time_error("2023-11-14X22:13:20Z");
	assert_time_error("2023-11-14T22:13:20Zjunk");
	assert_time_error("23-11-14T22:13:20Z");
	assert_time_error("2023-1-14T22:13:20Z");
	assert_time_error("+2023-11-14T22:13:20Z");
	assert_time_error("2023-11-14T22:13:2aZ");
	/* Past 9999-12-31T23:59:59.999Z, which RFC 3339 cannot write. */
	assert_int_equal(time_parse_rfc3339("9999-12-31T23:59:60Z", &ms), -ERANGE);
	assert_int_equal(time_parse_rfc3339("9999-12-31T23:30:00-01:00", &ms), -ERANGE);
	assert_int_equal(time_parse_rfc3339("10000-01-01T00:00:00Z", &ms), -EINVAL);
}

static void
test_rfc3339_format(void **state)
{
	char buf[32];
	int64_t back;

	time_format_rfc3339(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	time_format_rfc3339(1700000000123, buf, sizeof(buf));
	assert_string_equal(buf, "2023-11-14T22:13:20.123Z");
	time_format_rfc3339(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
	time_format_rfc3339(1709164800000, buf, sizeof(buf));
	assert_string_equal(buf, "2024-02-29T00:00:00.000Z");
	/* Round trip over a spread of instants. */
	for (int64_t v = -86400000LL * 365 * 50; v < 86400000LL * 365 * 200;
	     v += 86400000LL * 97 + 3723456) {
		time_format_rfc3339(v, buf, sizeof(buf));
		assert_int_equal(time_parse_rfc3339(buf, &back), 0);
		assert_int_equal(back, v);
	}
}

static void
test_when(void **state)
{
	int64_t ms = -1;

	assert_int_equal(time_parse_when("@1700000000", &ms), 0);
	assert_int_equal(ms, 1700000000000);
	assert_int_equal(time_parse_when("@0", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(time_parse_when("2023-11-14T22:13:20.5Z", &ms), 0);
	assert_int_equal(ms, 1700000000500);
	ms = -1;
	assert_int_equal(time_parse_when("@", &ms), -EINVAL);
	assert_int_equal(time_parse_when("@-5", &ms), -EINVAL);
	assert_int_equal(time_parse_when("@12x", &ms), -EINVAL);
	assert_int_equal(time_parse_when("@1.5", &ms), -EINVAL);
	assert_int_equal(time_parse_when("1700000000", &ms), -EINVAL);
	/* From 1970 to the end of year 9999 (issue 14: @99999999999999 was accepted). */
	assert_int_equal(time_parse_when("@99999999999999999999", &ms), -ERANGE);
	assert_int_equal(time_parse_when("@9223372036854775807", &ms), -ERANGE);
	assert_int_equal(time_parse_when("@99999999999999", &ms), -ERANGE);
	assert_int_equal(time_parse_when("@253402300800", &ms), -ERANGE);
	assert_int_equal(time_parse_when("@99999999999999x", &ms), -EINVAL);
	assert_int_equal(time_parse_when("1969-12-31T23:59:59.999Z", &ms), -ERANGE);
	assert_int_equal(time_parse_when("9999-12-31T23:59:60Z", &ms), -ERANGE);
	assert_int_equal(time_parse_when("", &ms), -EINVAL);
	assert_int_equal(time_parse_when(NULL, &ms), -EINVAL);
	assert_int_equal(time_parse_when("tomorrow", &ms), -EINVAL);
	assert_int_equal(ms, -1);
	assert_int_equal(time_parse_when("@253402300799", &ms), 0);
	assert_int_equal(ms, TIME_MAX_MS - 999);
	assert_int_equal(time_parse_when("9999-12-31T23:59:59.999Z", &ms), 0);
	assert_int_equal(ms, TIME_MAX_MS);
	assert_int_equal(time_parse_when("1970-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 0);
}

static void
test_clocks(void **state)
{
	int64_t now = time_now_ms(), m1 = time_mono_ms(), m2;

	/* After 2020 and before 2200: a sanity bound, not a timing assertion. */
	assert_true(now > 1577836800000LL);
	assert_true(now < 7258118400000LL);
	m2 = time_mono_ms();
	assert_true(m2 >= m1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_duration_good),   cmocka_unit_test(test_duration_bad),
	        cmocka_unit_test(test_duration_format), cmocka_unit_test(test_time_add),
	        cmocka_unit_test(test_rfc3339_good),    cmocka_unit_test(test_rfc3339_bad),
	        cmocka_unit_test(test_rfc3339_format),  cmocka_unit_test(test_when),
	        cmocka_unit_test(test_clocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
