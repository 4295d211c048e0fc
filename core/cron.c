/*
 * Cron expressions (see cron.h). No Debian package ships a C cron-expression library (the
 * packaged parsers are for Go, Perl and Python), so this is a small one: a parser into bit
 * sets, and a search for the next tick on the zone's wall clock, converted to an instant with
 * the C library's time zone database (localtime_r under TZ=zone).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cron.h"

#define SEARCH_SECONDS (10LL * 366 * 86400)

struct field {
	const char *name;
	int min, max;
	const char *const *names; /* names[i] is value min + i, or NULL */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct field fields[5] = {
        {"minute", 0, 59, NULL},          {"hour", 0, 23, NULL},
        {"day of month", 1, 31, NULL},    {"month", 1, 12, month_names},
        {"day of week", 0, 7, dow_names},
};

static const struct {
	const char *name, *expr;
} macros[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
};

/* One value of field f at *s (a number or a name); advances *s. */
static int
parse_value(const struct field *f, const char **s, int *out)
{
	const char *p = *s;

	if (isdigit((unsigned char)*p)) {
		long v = 0;

		for (; isdigit((unsigned char)*p) && v <= 1000; p++)
			v = v * 10 + (*p - '0');
		*out = (int)v;
		*s = p;
		return 0;
	}
	for (int i = 0; f->names != NULL && f->names[i] != NULL; i++) {
		if (strncasecmp(p, f->names[i], 3) == 0 && !isalpha((unsigned char)p[3])) {
			*out = f->min + i;
			*s = p + 3;
			return 0;
		}
	}
	return -EINVAL;
}

/* One field's text (a list) into bits; *star says it started with '*'. */
static int
parse_field(int idx, const char *text, uint64_t *bits, int *star, char *err, size_t errlen)
{
	const struct field *f = &fields[idx];
	const char *s = text;

	*bits = 0;
	*star = *text == '*';
	for (;;) {
		int lo, hi, step = 1;

		if (*s == '*') {
			lo = f->min;
			hi = f->max;
			s++;
		} else {
			if (parse_value(f, &s, &lo) < 0)
				goto bad;
			hi = lo;
			if (*s == '-') {
				s++;
				if (parse_value(f, &s, &hi) < 0)
					goto bad;
			}
			if (lo < f->min || lo > f->max || hi < f->min || hi > f->max) {
				snprintf(err, errlen, "field %d (%s): %d is out of range %d-%d",
				         idx + 1, f->name, lo < f->min || lo > f->max ? lo : hi,
				         f->min, f->max);
				return -EINVAL;
			}
			if (hi < lo) {
				snprintf(err, errlen, "field %d (%s): range %d-%d goes backwards",
				         idx + 1, f->name, lo, hi);
				return -EINVAL;
			}
		}
		if (*s == '/') {
			int single = hi == lo && text[0] != '*';

			s++;
			if (!isdigit((unsigned char)*s) || parse_value(f, &s, &step) < 0 ||
			    step < 1 || step > f->max - f->min + 1) {
				snprintf(err, errlen, "field %d (%s): invalid step in '%s'",
				         idx + 1, f->name, text);
				return -EINVAL;
			}
			if (single) /* N/S: from N to the end, as N-MAX/S */
				hi = f->max;
		}
		for (int v = lo; v <= hi; v += step)
			*bits |= 1ULL << v;
		if (*s == '\0')
			return 0;
		if (*s != ',')
			goto bad;
		s++;
	}
bad:
	snprintf(err, errlen, "field %d (%s): cannot parse '%s'", idx + 1, f->name, text);
	return -EINVAL;
}

int
cron_parse(const char *expr, struct cron *out, char *err, size_t errlen)
{
	char buf[CRON_EXPR_MAX + 1], *tok[6], *save = NULL;
	uint64_t bits[5];
	int star[5], n = 0, r;
	int64_t next;
	char scratch[8];

	if (err == NULL || errlen == 0) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	memset(out, 0, sizeof(*out));
	if (expr == NULL || strlen(expr) > CRON_EXPR_MAX) {
		snprintf(err, errlen, "expression longer than %d bytes", CRON_EXPR_MAX);
		return -EINVAL;
	}
	if (expr[0] == '@') {
		for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
			if (strcmp(expr, macros[i].name) == 0)
				return cron_parse(macros[i].expr, out, err, errlen);
		}
		snprintf(err, errlen,
		         "unknown macro '%s' (expected @yearly, @monthly, @weekly, "
		         "@daily or @hourly)",
		         expr);
		return -EINVAL;
	}
	strcpy(buf, expr);
	for (char *t = strtok_r(buf, " \t", &save); t != NULL; t = strtok_r(NULL, " \t", &save)) {
		if (n == 6)
			break;
		tok[n++] = t;
	}
	if (n != 5) {
		snprintf(err, errlen,
		         "expected 5 fields (minute hour day-of-month month "
		         "day-of-week), got %s%d",
		         n == 6 ? "at least " : "", n);
		return -EINVAL;
	}
	for (int i = 0; i < 5; i++) {
		if ((r = parse_field(i, tok[i], &bits[i], &star[i], err, errlen)) < 0)
			return r;
	}
	if (bits[4] & (1ULL << 7))
		bits[4] = (bits[4] | 1) & 0x7f;
	out->minute = bits[0];
	out->hour = (uint32_t)bits[1];
	out->dom = (uint32_t)bits[2];
	out->month = (uint16_t)bits[3];
	out->dow = (uint8_t)bits[4];
	out->dom_star = star[2];
	out->dow_star = star[4];
	/* 30 2 30 2 * (February 30th) never comes: better said now than never fired. */
	if (cron_next(out, NULL, 0, &next) < 0) {
		snprintf(err, errlen, "'%s' never matches a date", expr);
		return -EINVAL;
	}
	return 0;
}

int
cron_zone_check(const char *zone)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX], magic[4];
	struct stat sb;
	int fd, ok;

	if (zone == NULL || *zone == '\0' || strlen(zone) > CRON_ZONE_MAX || *zone == '/' ||
	    strstr(zone, "..") != NULL)
		return -EINVAL;
	for (const char *p = zone; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("/_+-", *p) == NULL)
			return -EINVAL;
	}
	if (dir == NULL || *dir != '/')
		dir = "/usr/share/zoneinfo";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, zone) >= sizeof(path))
		return -EINVAL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return -ENOENT;
	ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	     read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	     memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok ? 0 : -ENOENT;
}

/* The zone's offset from UTC at instant t (seconds); 0 for UTC. */
static long
offset_at(int utc, time_t t)
{
	struct tm tm;

	if (utc || localtime_r(&t, &tm) == NULL)
		return 0;
	return tm.tm_gmtoff;
}

/*
 * The instant at which the zone's wall clock shows w (seconds, wall time counted as if UTC):
 * the first of two in an overlap (*second gets the other, or 0), the instant the clocks jump
 * over it in a gap.
 */
static time_t
resolve(int utc, time_t w, time_t *second)
{
	long oa = offset_at(utc, w - 86400), ob = offset_at(utc, w + 86400);
	time_t ea = w - oa, eb = w - ob, lo, hi;
	int va = offset_at(utc, ea) == oa, vb = offset_at(utc, eb) == ob;

	*second = 0;
	if (va && vb && ea != eb) {
		*second = ea > eb ? ea : eb;
		return ea < eb ? ea : eb;
	}
	if (va)
		return ea;
	if (vb)
		return eb;
	/* A gap (oa < ob): the clocks change between eb (before) and ea (after). */
	lo = eb < ea ? eb : ea;
	hi = eb < ea ? ea : eb;
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;

		if (offset_at(utc, mid) == offset_at(utc, lo))
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

static int
day_matches(const struct cron *c, const struct tm *tm)
{
	int dom = (c->dom >> tm->tm_mday) & 1, dow = (c->dow >> tm->tm_wday) & 1;

	if (c->dom_star || c->dow_star)
		return dom && dow;
	return dom || dow;
}

/* Wall time (as if UTC) of the start of the next month, day or hour after the one of tm. */
static time_t
next_unit(struct tm tm, int unit)
{
	tm.tm_min = 0;
	tm.tm_sec = 0;
	if (unit == 0) {
		tm.tm_hour = 0;
		tm.tm_mday = 1;
		tm.tm_mon++;
	} else if (unit == 1) {
		tm.tm_hour = 0;
		tm.tm_mday++;
	} else {
		tm.tm_hour++;
	}
	return timegm(&tm);
}

/* The zone's wall clock at instant t, into tm. */
static int
wall_tm(int utc, time_t t, struct tm *tm)
{
	if (utc)
		return gmtime_r(&t, tm) != NULL ? 0 : -ERANGE;
	return localtime_r(&t, tm) != NULL ? 0 : -ERANGE;
}

/*
 * For expressions that run every hour: walk the instants, minute by minute within a matching
 * day, so that a repeated hour runs again and a skipped hour is simply not there.
 */
static int
next_every_hour(const struct cron *c, int utc, int64_t after, int64_t *out)
{
	time_t e = (time_t)(after >= 0 ? after / 1000 : (after - 999) / 1000), end, second;

	e = e - ((e % 60) + 60) % 60 + 60;
	end = e + SEARCH_SECONDS;
	while (e < end) {
		struct tm tm;

		if (wall_tm(utc, e, &tm) < 0)
			return -ERANGE;
		if (!((c->month >> (tm.tm_mon + 1)) & 1)) {
			tm.tm_isdst = 0;
			e = resolve(utc, next_unit(tm, 0), &second);
			continue;
		}
		if (!day_matches(c, &tm)) {
			e = resolve(utc, next_unit(tm, 1), &second);
			continue;
		}
		if (!((c->minute >> tm.tm_min) & 1)) {
			e += 60;
			continue;
		}
		*out = (int64_t)e * 1000;
		return 0;
	}
	return -ERANGE;
}

static int
next_in_zone(const struct cron *c, int utc, int64_t after, int64_t *out)
{
	time_t a = (time_t)(after >= 0 ? after / 1000 : (after - 999) / 1000), w, end;

	if (c->hour == 0xffffff)
		return next_every_hour(c, utc, after, out);
	w = a + offset_at(utc, a);
	w = w - ((w % 60) + 60) % 60 + 60;
	end = w + SEARCH_SECONDS;
	while (w < end) {
		struct tm tm;
		time_t e, e2;

		if (gmtime_r(&w, &tm) == NULL)
			return -ERANGE;
		if (!((c->month >> (tm.tm_mon + 1)) & 1)) {
			w = next_unit(tm, 0);
			continue;
		}
		if (!day_matches(c, &tm)) {
			w = next_unit(tm, 1);
			continue;
		}
		if (!((c->hour >> tm.tm_hour) & 1)) {
			w = next_unit(tm, 2);
			continue;
		}
		if (!((c->minute >> tm.tm_min) & 1)) {
			w += 60;
			continue;
		}
		e = resolve(utc, w, &e2);
		if ((int64_t)e * 1000 > after) {
			*out = (int64_t)e * 1000;
			return 0;
		}
		/* The second pass of a repeated hour: a job at fixed hours ran in the first. */
		(void)e2;
		w += 60;
	}
	return -ERANGE;
}

int
cron_next(const struct cron *c, const char *zone, int64_t after, int64_t *out)
{
	const char *old;
	char *saved = NULL;
	int utc = zone == NULL || strcmp(zone, "UTC") == 0 || strcmp(zone, "Etc/UTC") == 0;
	int r;

	if (utc)
		return next_in_zone(c, 1, after, out);
	if ((old = getenv("TZ")) != NULL && (saved = strdup(old)) == NULL)
		return -ENOMEM;
	if (setenv("TZ", zone, 1) < 0) {
		free(saved);
		return -errno;
	}
	tzset();
	r = next_in_zone(c, 0, after, out);
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
	return r;
}
