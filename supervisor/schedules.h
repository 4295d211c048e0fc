/* The supervisor's part of schedules: enqueue the due ticks (supervisor/schedules.c). */
#ifndef JOBQ_SUPERVISOR_SCHEDULES_H
#define JOBQ_SUPERVISOR_SCHEDULES_H

#include <stdint.h>

struct config;
struct store;

/*
 * Handle every schedule of cfg at the current wall-clock time (store_schedule_run(): each tick
 * once, recorded in the database). Logs what it enqueued and what it skipped. Returns how many
 * jobs it enqueued; *next_in_ms gets how long until the next check: the nearest tick, at most
 * a second away (the wall clock may be changed meanwhile), 10 s after an error. No schedules:
 * -1 in *next_in_ms.
 */
int schedules_run(struct store *st, const struct config *cfg, int64_t *next_in_ms);

#endif
