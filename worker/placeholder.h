/* Placeholders of exec argv elements, http urls and bodies: {job.id}, {job.type},
 * {job.namespace}, {job.attempt}, {payload} and {payload.a.b} (nested objects). Shared by the
 * exec and http handler kinds, below both. */
#ifndef JOBQ_PLACEHOLDER_H
#define JOBQ_PLACEHOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

struct cJSON;
struct placeholder {
	const struct cJSON *json; /* a payload value */
	const char *text;         /* or a string */
	int64_t num;              /* or a number (json and text NULL) */
};

/* Resolve the placeholder name[0..nlen) for job with its parsed payload (may be NULL).
 * Returns 1, 0 if it is not a placeholder (kept as written), -ENOENT if the payload lacks the
 * field, -EILSEQ for {payload} or {payload.KEY} when the payload holds a \u0000 escape: cJSON
 * cuts its strings at that NUL, so no payload value is substituted rather than a cut one (only
 * a producer writing by SQL can store such a payload; every enqueue path refuses it). */
int placeholder_resolve(const char *name, size_t nlen, const struct job *job,
                        const struct cJSON *payload, struct placeholder *out);

/* The message of -EILSEQ from placeholder_resolve: "WHO: payload.KEY contains \u0000 ...". */
void placeholder_nul_error(const struct job *job, const char *who, char *err, size_t errlen);

/* The text of a resolved placeholder: a string as is, another value as JSON; *tofree gets what
 * the caller frees. Returns 0 or -ENOMEM. */
int placeholder_text(const struct placeholder *p, const char **text, char **tofree, char *num,
                     size_t numlen);

/* Append tmpl to b with its placeholders substituted: "{{" stands for "{", a {...} that is not a
 * placeholder is kept as written, each value goes through put (NULL: as is; put may escape it,
 * returning 0 or -errno). Returns 0; -E2BIG past b->max; -ENOMEM; -ENOENT when the payload lacks
 * a field, *bad and *badlen then naming the placeholder ("payload.a.b"); -EILSEQ for a payload
 * that holds \u0000 (placeholder_nul_error()). On error b holds part of the text. */
int placeholder_expand(const char *tmpl, const struct job *job, const struct cJSON *payload,
                       int (*put)(struct buf *b, const char *text), struct buf *b, const char **bad,
                       size_t *badlen);

#endif
