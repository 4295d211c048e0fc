/* Dependencies inside queue/ (deps.c): what enqueue.c calls. Not installed. */
#ifndef JOBQ_QUEUE_DEPS_H
#define JOBQ_QUEUE_DEPS_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* Check a list of parent ids before anything is written: at most STORE_AFTER_MAX, each > 0.
 * Returns 0 or -EINVAL with a message in err. */
int deps_check(const int64_t *after, size_t nafter, char *err, size_t errlen);

/*
 * Attach the parents to the job child just inserted, inside the enqueue's transaction: every
 * parent must exist (else -EINVAL "--after: no job N"); the child is blocked by those that have
 * not succeeded, or cancelled at once ("dependency N failed") when one has failed or was
 * cancelled. Returns 0 or a store error.
 */
int deps_attach(struct store *st, int64_t child, const int64_t *after, size_t nafter);

#endif
