/*
 * The metrics of a database in the Prometheus text exposition format (version 0.0.4), as
 * `jobq metrics` prints them and the supervisor's endpoint serves them (metrics_http.h): jobs by
 * type and state, their attempts, orphans and durations (a histogram per type), pools' use and
 * capacity, pauses, and what only the supervisor knows (workers, restarts, orphans it reaped),
 * which `jobq metrics` reads from the runtime file. Every family is listed in docs/operations.md.
 */
#ifndef JOBQ_METRICS_H
#define JOBQ_METRICS_H

#include <stddef.h>

#include "config.h"
#include "runtime.h"
#include "store.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Label values of at most this many types are written; the counts of the others are summed into
 * type "_other" (a producer inserting by SQL may invent any number of types). */
#define METRICS_TYPES_MAX 1000

/*
 * Render the metrics of st (one read transaction) under cfg into *out (malloc'd, NUL-terminated,
 * *len bytes; the caller frees it). ri is the supervisor's runtime information: NULL, or one with
 * stale set, when no supervisor runs (jobq_supervisor_up 0). Returns 0, or a negative errno with
 * a one-line message in err (a store error, -ENOMEM).
 */
int metrics_render(struct store *st, const struct config *cfg, const struct runtime_info *ri,
                   char **out, size_t *len, char *err, size_t errlen);

#endif
