/*
 * Sets of resource tags (pool name and units), as written in the resources and units columns:
 * a JSON array of "name" (1 unit) or "name:N", sorted by name, each pool once.
 */
#ifndef JOBQ_QUEUE_TAGS_H
#define JOBQ_QUEUE_TAGS_H

#include <stddef.h>

#include "config.h"

#define TAGSET_MAX 128  /* tags in one set (a job's own are limited to JOB_TAGS_MAX) */
#define JOB_TAGS_MAX 64 /* tags a job may carry besides its type's */
#define TAG_UNITS_MAX 1000000
/* Room for the JSON of a full set: "name:1000000" quoted, a comma. */
#define TAGSET_JSON_MAX (TAGSET_MAX * (NAME_TAG_MAX + 11) + 3)

struct tagset {
	struct tag tag[TAGSET_MAX];
	size_t n;
};

/* Add units of name (adding to the units already there). Returns 0, -E2BIG when the set is
 * full, -ERANGE when the sum exceeds TAG_UNITS_MAX. name must be a valid tag name. */
int tagset_add(struct tagset *ts, const char *name, int units);

/* Parse the JSON array text into ts (which is cleared first). Returns 0, or -EINVAL when the
 * text is not an array of valid tags, -E2BIG / -ERANGE as tagset_add. text NULL: empty set. */
int tagset_parse(struct tagset *ts, const char *text);

/* Write the canonical JSON of ts into buf (TAGSET_JSON_MAX bytes always suffice). Returns the
 * length. */
size_t tagset_format(const struct tagset *ts, char *buf, size_t len);

#endif
