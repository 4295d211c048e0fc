/*
 * Schedules in the supervisor: at each check, every schedule of the configuration asks the
 * store for its due ticks. The store does the exactly-once part (one write transaction reads the
 * last tick, enqueues, records); this file only chooses when to look and what to log.
 */
#include <inttypes.h>
#include <stdio.h>

#include "config.h"
#include "duration.h"
#include "log.h"
#include "schedule.h"
#include "schedules.h"
#include "store.h"

#define CHECK_MAX_MS 1000
#define RETRY_MS 10000

int
schedules_run(struct store *st, const struct config *cfg, int64_t *next_in_ms)
{
	int64_t now = time_now_ms(), wait = CHECK_MAX_MS;
	int total = 0;

	if (cfg->nschedules == 0) {
		*next_in_ms = -1;
		return 0;
	}
	for (size_t i = 0; i < cfg->nschedules; i++) {
		const struct schedule *s = &cfg->schedules[i];
		int fired = 0, skipped = 0;
		int64_t next = 0;
		char when[40];

		if (store_schedule_run(st, cfg, s, now, &fired, &skipped, &next) < 0) {
			log_warnx("schedule '%s': %s", s->name, store_errmsg(st));
			wait = RETRY_MS;
			continue;
		}
		if (fired > 0) {
			struct schedule_state ss;

			if (store_schedule_get(st, s->name, &ss) == 0) {
				time_format_rfc3339(ss.fired_tick, when, sizeof(when));
				log_info("schedule '%s': enqueued %d job%s (last: job %" PRId64
				         " for the tick of %s)",
				         s->name, fired, fired == 1 ? "" : "s", ss.last_job, when);
			}
			total += fired;
		}
		if (skipped > 0)
			log_warnx("schedule '%s': %d missed tick%s skipped (\"missed\": \"%s\")",
			          s->name, skipped, skipped == 1 ? "" : "s",
			          s->missed == MISSED_SKIP   ? "skip"
			          : s->missed == MISSED_ONCE ? "once"
			                                     : "all");
		if (next > 0 && next - now < wait)
			wait = next - now < 0 ? 0 : next - now;
	}
	*next_in_ms = wait;
	return total;
}
