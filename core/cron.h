/*
 * Cron expressions and the next tick of a schedule in a named time zone.
 *
 * Five fields, as in crontab(5): minute (0-59), hour (0-23), day of month (1-31), month (1-12
 * or jan-dec), day of week (0-7 or sun-sat, 0 and 7 both Sunday). Each field is a list of
 * `*`, `N` or `N-M`, each with an optional `/STEP`. Macros: @yearly (@annually), @monthly,
 * @weekly, @daily (@midnight), @hourly. When both day fields are restricted (neither starts
 * with `*`), a day matches if either matches (Vixie cron's OR rule); `*` and `* /N` count as
 * unrestricted.
 *
 * Times are computed on the wall clock of the zone: a wall time that does not exist (the hour
 * skipped when clocks go forward) fires once, at the instant the clocks change; a wall time that
 * happens twice (clocks go back) fires once, at its first occurrence.
 */
#ifndef JOBQ_CRON_H
#define JOBQ_CRON_H

#include <stddef.h>
#include <stdint.h>

#define CRON_EXPR_MAX 256 /* bytes of an expression */
#define CRON_ZONE_MAX 128 /* bytes of an IANA zone name */

struct cron {
	uint64_t minute; /* bit m: minute m */
	uint32_t hour;   /* bit h */
	uint32_t dom;    /* bit d, 1..31 */
	uint16_t month;  /* bit m, 1..12 */
	uint8_t dow;     /* bit d, 0..6 (Sunday 0) */
	int dom_star;    /* day of month unrestricted (starts with '*') */
	int dow_star;
};

/* Parse expr into *out. Returns 0, or -EINVAL with a one-line reason in err ("field 2 (hour):
 * 24 is out of range 0-23"). An expression that can never match (30 2 30 2 *) is refused. */
int cron_parse(const char *expr, struct cron *out, char *err, size_t errlen);

/*
 * Whether zone is a time zone of the system's database: an IANA name (Europe/Paris, UTC) whose
 * file under $TZDIR or /usr/share/zoneinfo is a TZif file. Returns 0 or -ENOENT (unknown),
 * -EINVAL (not a name: empty, absolute, "..", odd characters).
 */
int cron_zone_check(const char *zone);

/*
 * The first tick of c strictly after `after` (ms since the epoch), on the wall clock of zone
 * (NULL: UTC), into *out (ms, a whole minute). Returns 0, or -ERANGE when nothing matches within
 * 10 years. Switches the process's TZ while it computes (restored before it returns): not for
 * threaded programs.
 */
int cron_next(const struct cron *c, const char *zone, int64_t after, int64_t *out);

#endif
