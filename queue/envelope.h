/*
 * The envelope of a JSONL line (jobq enqueue --jsonl): a line that is a JSON object with a
 * "payload" member carries the job's own fields beside its payload,
 *
 *   {"payload": {"url": "https://a"}, "unique_key": "enrich:a", "namespace": "acme",
 *    "priority": 5, "run_at": "2030-01-01T00:00:00Z" | "delay": "10m", "batch": "night1",
 *    "resources": ["cpu:2"], "max_attempts": 4, "timeout": "15m", "after": [12, 13]}
 *
 * and every other line is a payload as it is. Only those keys may stand beside "payload" (a
 * misspelt key is an error, never a payload); docs/cli.md, enqueue, has the rule.
 */
#ifndef JOBQ_QUEUE_ENVELOPE_H
#define JOBQ_QUEUE_ENVELOPE_H

#include <stdint.h>

#include "store.h"
#include "tags.h"

/* What an envelope's fields point into: release with envelope_release() once the job spec
 * built from it was used. */
struct envelope {
	void *root;                    /* the parsed line (cJSON) */
	struct tag tags[JOB_TAGS_MAX]; /* its "resources" */
	int64_t *after;                /* its "after": parent job ids (malloc'd) */
};

/*
 * Read line (one JSONL line, NUL-terminated; changed in place) as an envelope. When it is one,
 * its members replace the fields of spec they name (spec holds the defaults: the command
 * line's options) and spec->payload points at the payload's text inside line, exactly as
 * written (its numbers and key order kept), which the store then checks like any payload.
 * "delay" is counted from now (epoch ms). Returns 1 for an envelope (release env after use),
 * 0 when line is a payload (line, spec and env untouched; nothing to release), -EINVAL for a
 * bad envelope with a message naming the field in err ("priority: must be an integer"), or
 * -ENOMEM.
 */
int envelope_parse(char *line, int64_t now, struct job_spec *spec, struct envelope *env, char *err,
                   size_t errlen);

/* Free what envelope_parse() kept; NULL and a released env are no-ops. */
void envelope_release(struct envelope *env);

#endif
