/*
 * Schedules of the configuration ("schedules": {NAME: {...}}): recurring jobs by cron
 * expression or interval, and the arithmetic of their ticks. The supervisor enqueues them
 * (supervisor/schedules.c) through the store (queue/schedule.c), which remembers the last tick.
 */
#ifndef JOBQ_SCHEDULE_H
#define JOBQ_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "cron.h"

#define SCHEDULE_MISSED_AFTER_MS 60000 /* default "missed_after" */
#define SCHEDULE_MISSED_MAX 10         /* default "missed_max" for "missed": "all" */
#define SCHEDULE_MISSED_MAX_LIMIT 1000
#define SCHEDULE_EVERY_MIN_MS 1000
#define SCHEDULE_PLAN_MAX (SCHEDULE_MISSED_MAX_LIMIT + 2)

enum schedule_missed { MISSED_SKIP, MISSED_ONCE, MISSED_ALL };

struct schedule {
	char *name;
	char *spec; /* the "cron" expression or the "every" duration, as written */
	int is_cron;
	struct cron cron;
	int64_t every_ms; /* interval schedules */
	char *zone;       /* "timezone": an IANA name; "UTC" by default */
	char *type;
	char *payload;   /* JSON text, "{}" by default */
	char *namespace; /* NULL: "default" */
	int64_t priority;
	int has_priority;
	enum schedule_missed missed;
	int64_t missed_after_ms; /* a tick seen later than this after its time was missed */
	int missed_max;          /* "all": at most this many missed ticks get a job (the newest) */
};

struct cJSON;
struct config;

/*
 * Parse the "schedules" object of a configuration whose types are already parsed (a schedule's
 * type must be declared). Fills *out and *n (release with schedules_release()). Returns 0 or
 * -EINVAL with "schedules.NAME.FIELD: reason" in err, -ENOMEM.
 */
int schedules_parse(const struct cJSON *obj, const struct config *cfg, struct schedule **out,
                    size_t *n, char *err, size_t errlen);
void schedules_release(struct schedule *s, size_t n);

/* The first tick of s strictly after `after` (ms): a cron tick in its zone, or after +
 * every. Returns 0 or -ERANGE. */
int schedule_next(const struct schedule *s, int64_t after, int64_t *out);

/* What to do at now for a schedule whose last handled tick is last (0: never seen). */
struct schedule_plan {
	int64_t ticks[SCHEDULE_PLAN_MAX]; /* ticks to enqueue a job for, oldest first */
	size_t n;
	int64_t skipped;  /* due ticks that get no job */
	int64_t new_last; /* the last tick handled after this */
};

/*
 * Plan the due ticks (last < tick <= now). A tick at most missed_after old is on time and gets
 * a job. Older ones were missed: "skip" drops them, "once" gives the newest of them one job when
 * no tick is on time, "all" gives each a job, at most missed_max (the newest). A schedule seen
 * for the first time (last 0): an interval fires at once, a cron expression waits for its next
 * tick. Returns 0 or -ERANGE.
 */
int schedule_plan(const struct schedule *s, int64_t last, int64_t now, struct schedule_plan *p);

#endif
