/* Unit tests of core/cron.c: parsing, the next tick, day-of-month/day-of-week, Feb 29, DST. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cron.h"
#include "duration.h"

static int64_t
at(const char *s)
{
	int64_t ms = 0;

	if (time_parse_rfc3339(s, &ms) != 0)
		fail_msg("bad time in test: %s", s);
	return ms;
}

/* The tick of expr in zone after `after` must be want (both RFC 3339). */
static void
assert_next(const char *expr, const char *zone, const char *after, const char *want)
{
	struct cron c;
	char err[256], got[40];
	int64_t next = 0;

	if (cron_parse(expr, &c, err, sizeof(err)) != 0)
		fail_msg("cron_parse(\"%s\"): %s", expr, err);
	if (cron_next(&c, zone, at(after), &next) != 0)
		fail_msg("cron_next(\"%s\", %s, %s) failed", expr, zone ? zone : "UTC", after);
	if (next != at(want)) {
		time_format_rfc3339(next, got, sizeof(got));
		fail_msg("next of \"%s\" in %s after %s: %s, want %s", expr, zone ? zone : "UTC",
		         after, got, want);
	}
}

static void
assert_bad(const char *expr, const char *needle)
{
	struct cron c;
	char err[256] = "";

	if (cron_parse(expr, &c, err, sizeof(err)) != -EINVAL)
		fail_msg("cron_parse(\"%s\") accepted", expr);
	if (strstr(err, needle) == NULL)
		fail_msg("cron_parse(\"%s\"): '%s' does not say '%s'", expr, err, needle);
}

static void
test_basic(void **state)
{
	(void)state;
	assert_next("0 2 * * *", NULL, "2026-01-01T00:00:00Z", "2026-01-01T02:00:00Z");
	/* strictly after: a tick at `after` itself is not the next one */
	assert_next("0 2 * * *", NULL, "2026-01-01T02:00:00Z", "2026-01-02T02:00:00Z");
	assert_next("0 2 * * *", "UTC", "2026-01-01T02:00:00.001Z", "2026-01-02T02:00:00Z");
	assert_next("*/15 * * * *", NULL, "2026-01-01T10:07:59Z", "2026-01-01T10:15:00Z");
	assert_next("5,35 9-10 * * *", NULL, "2026-01-01T10:36:00Z", "2026-01-02T09:05:00Z");
	assert_next("0 9 * jan-mar mon-fri", NULL, "2026-03-31T09:00:00Z", "2027-01-01T09:00:00Z");
	assert_next("0 0 * * 7", NULL, "2026-03-01T00:00:00Z",
	            "2026-03-08T00:00:00Z"); /* 7 = Sun */
	assert_next("0 0 * * SUN", NULL, "2026-03-01T00:00:00Z", "2026-03-08T00:00:00Z");
	assert_next("10/20 * * * *", NULL, "2026-01-01T00:31:00Z", "2026-01-01T00:50:00Z");
	assert_next("@hourly", NULL, "2026-01-01T00:31:00Z", "2026-01-01T01:00:00Z");
	assert_next("@monthly", NULL, "2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z");
	assert_next("0 0 31 * *", NULL, "2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z");
	assert_next("0 12 * * *", "Europe/Paris", "2026-07-01T00:00:00Z", "2026-07-01T10:00:00Z");
	assert_next("0 12 * * *", "Europe/Paris", "2026-01-01T00:00:00Z", "2026-01-01T11:00:00Z");
	assert_next("0 9 * * *", "America/New_York", "2026-01-01T00:00:00Z",
	            "2026-01-01T14:00:00Z");
}

static void
test_feb29(void **state)
{
	(void)state;
	assert_next("0 0 29 2 *", NULL, "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z");
	/* 2100 is not a leap year */
	assert_next("0 0 29 2 *", NULL, "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z");
	assert_next("0 0 28 2 *", NULL, "2027-02-28T00:00:00Z", "2028-02-28T00:00:00Z");
}

/* Both day fields restricted: either matches (OR); one starting with '*': both must (AND). */
static void
test_dom_dow(void **state)
{
	(void)state;
	/* the 10th or a Friday: March 2026 has Fridays 6, 13 */
	assert_next("0 0 10 * 5", NULL, "2026-03-01T00:00:00Z", "2026-03-06T00:00:00Z");
	assert_next("0 0 10 * 5", NULL, "2026-03-06T00:00:00Z", "2026-03-10T00:00:00Z");
	assert_next("0 0 10 * 5", NULL, "2026-03-10T00:00:00Z", "2026-03-13T00:00:00Z");
	/* odd days that are Mondays (Mondays: 2, 9, 16, 23, 30) */
	assert_next("0 0 */2 * 1", NULL, "2026-03-01T00:00:00Z", "2026-03-09T00:00:00Z");
	assert_next("0 0 */2 * 1", NULL, "2026-03-09T00:00:00Z", "2026-03-23T00:00:00Z");
	/* * for day of month: only the weekday counts */
	assert_next("0 0 * * 1", NULL, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
}

/* Europe/Paris: clocks go forward on 2026-03-29 at 02:00 (to 03:00), back on 2026-10-25 at
 * 03:00 (to 02:00). */
static void
test_dst(void **state)
{
	const char *z = "Europe/Paris";

	(void)state;
	/* 02:30 does not exist on the 29th: it fires when the clocks change (03:00 CEST) */
	assert_next("30 2 * * *", z, "2026-03-28T02:00:00Z", "2026-03-29T01:00:00Z");
	assert_next("30 2 * * *", z, "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z");
	/* two ticks in the gap fire once */
	assert_next("0,30 2 * * *", z, "2026-03-28T23:00:00Z", "2026-03-29T01:00:00Z");
	assert_next("0,30 2 * * *", z, "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z");
	/* every 30 minutes: real instants, the skipped hour has no ticks */
	assert_next("*/30 * * * *", z, "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z");
	assert_next("30 * * * *", z, "2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z");
	/* 02:30 happens twice on 2026-10-25: once, at the first (CEST, 00:30Z) */
	assert_next("30 2 * * *", z, "2026-10-24T23:00:00Z", "2026-10-25T00:30:00Z");
	assert_next("30 2 * * *", z, "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z");
	/* an hourly job runs in both passes of the repeated hour */
	assert_next("30 * * * *", z, "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z");
	assert_next("30 * * * *", z, "2026-10-25T01:30:00Z", "2026-10-25T02:30:00Z");
	assert_next("0 3 * * *", z, "2026-10-24T23:00:00Z", "2026-10-25T02:00:00Z");
	/* New York: forward 2026-03-08 02:00 -> 03:00 */
	assert_next("30 2 * * *", "America/New_York", "2026-03-08T05:00:00Z",
	            "2026-03-08T07:00:00Z");
}

static void
test_errors(void **state)
{
	(void)state;
	assert_bad("60 * * * *", "field 1 (minute): 60 is out of range 0-59");
	assert_bad("* 24 * * *", "field 2 (hour): 24 is out of range 0-23");
	assert_bad("* * 0 * *", "field 3 (day of month)");
	assert_bad("* * * 13 *", "field 4 (month)");
	assert_bad("* * * * 8", "field 5 (day of week)");
	assert_bad("* * *", "expected 5 fields");
	assert_bad("0 * * * * *", "expected 5 fields");
	assert_bad("5-1 * * * *", "goes backwards");
	assert_bad("*/0 * * * *", "invalid step");
	assert_bad("a * * * *", "cannot parse 'a'");
	assert_bad("1,,2 * * * *", "cannot parse");
	assert_bad("0 0 30 2 *", "never matches");
	assert_bad("@reboot", "unknown macro");
	assert_bad("", "expected 5 fields");
}

static void
test_zone_check(void **state)
{
	(void)state;
	assert_int_equal(cron_zone_check("Europe/Paris"), 0);
	assert_int_equal(cron_zone_check("UTC"), 0);
	assert_int_equal(cron_zone_check("Mars/Olympus_Mons"), -ENOENT);
	assert_int_equal(cron_zone_check("Europe"), -ENOENT); /* a folder */
	assert_int_equal(cron_zone_check("../../etc/passwd"), -EINVAL);
	assert_int_equal(cron_zone_check("/etc/localtime"), -EINVAL);
	assert_int_equal(cron_zone_check("Europe/Paris "), -EINVAL);
	assert_int_equal(cron_zone_check(""), -EINVAL);
}

/* TZ is put back as it was. */
static void
test_tz_restored(void **state)
{
	struct cron c;
	int64_t next;

	(void)state;
	assert_int_equal(cron_parse("0 0 * * *", &c, NULL, 0), 0);
	setenv("TZ", "Asia/Tokyo", 1);
	assert_int_equal(cron_next(&c, "Europe/Paris", 0, &next), 0);
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	unsetenv("TZ");
	assert_int_equal(cron_next(&c, "Europe/Paris", 0, &next), 0);
	assert_null(getenv("TZ"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_basic),       cmocka_unit_test(test_feb29),
	        cmocka_unit_test(test_dom_dow),     cmocka_unit_test(test_dst),
	        cmocka_unit_test(test_errors),      cmocka_unit_test(test_zone_check),
	        cmocka_unit_test(test_tz_restored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
