/* libjobq: the public producer API (jobq.h) over the store. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "config.h"
#include "jobq.h"
#include "names.h"
#include "store.h"
#include "wake.h"
#include "tags.h"

#define ERR_MAX 512

struct jobq {
	struct store *st;
	struct config cfg;
	char err[ERR_MAX];
};

/* The message of the last jobq_open() failure in this thread: jobq_errmsg(NULL). */
static _Thread_local char open_err[ERR_MAX];

int
jobq_open(const char *db_path, const char *config_path, struct jobq **out)
{
	char path[PATH_MAX], err[ERR_MAX];
	struct store_opts opts = {.create = 1};
	struct jobq *q;
	int r;

	*out = NULL;
	open_err[0] = '\0';
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		strlcpy(open_err, "out of memory", sizeof(open_err));
		return -ENOMEM;
	}
	config_init_default(&q->cfg);
	if (db_path == NULL)
		db_path = "jobq.db";
	if ((r = config_locate(config_path, db_path, path, sizeof(path))) < 0) {
		snprintf(open_err, sizeof(open_err), "config: %s", strerror(-r));
		goto out;
	}
	if (r == 1 && (r = config_load(path, &q->cfg, err, sizeof(err))) < 0) {
		/* Cut long paths, keep the reason. */
		snprintf(open_err, sizeof(open_err), "config '%.200s': ", path);
		strlcat(open_err, err, sizeof(open_err));
		goto out;
	}
	opts.durability_fast = !q->cfg.synchronous_full;
	if ((r = store_open(db_path, &opts, &q->st, err, sizeof(err))) < 0) {
		strlcpy(open_err, err, sizeof(open_err));
		goto out;
	}
	*out = q;
	return 0;
out:
	jobq_close(q);
	return r;
}

static int
fail(struct jobq *q, int r, const char *prefix)
{
	strlcpy(q->err, prefix, sizeof(q->err));
	strlcat(q->err, store_errmsg(q->st), sizeof(q->err));
	return r;
}

/* Fill spec from the public arguments; tags must hold opts->nresources entries. */
static int
to_spec(struct jobq *q, const char *type, const char *payload, const struct jobq_enqueue_opts *o,
        struct tag *tags, struct job_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->type = type;
	spec->payload = payload;
	if (o == NULL)
		return 0;
	if (o->nresources > JOB_TAGS_MAX) {
		snprintf(q->err, sizeof(q->err), "too many resource tags (at most %d)",
		         JOB_TAGS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < o->nresources; i++) {
		if (o->resources == NULL ||
		    tag_parse(o->resources[i], tags[i].name, &tags[i].units) < 0) {
			snprintf(q->err, sizeof(q->err),
			         "invalid resource tag '%.64s' (expected NAME or NAME:N)",
			         o->resources != NULL && o->resources[i] != NULL ? o->resources[i]
			                                                         : "");
			return -EINVAL;
		}
	}
	spec->namespace = o->namespace;
	spec->priority = o->priority;
	spec->run_at = o->run_at_ms;
	spec->max_attempts = o->max_attempts;
	spec->timeout_ms = o->timeout_ms;
	spec->resources = tags;
	spec->nresources = o->nresources;
	spec->unique_key = o->unique_key;
	spec->batch = o->batch;
	return 0;
}

int
jobq_enqueue(struct jobq *q, const char *type, const char *payload,
             const struct jobq_enqueue_opts *opts, int64_t *id_out)
{
	struct tag tags[JOB_TAGS_MAX];
	struct job_spec spec;
	int64_t id = 0;
	int r;

	if (q == NULL)
		return -EINVAL;
	q->err[0] = '\0';
	if ((r = to_spec(q, type, payload, opts, tags, &spec)) < 0)
		return r;
	if ((r = store_enqueue(q->st, &q->cfg, &spec, &id, NULL)) < 0)
		return fail(q, r, "");
	(void)wake_notify(store_path(q->st), WAKE_ONE); /* a supervisor starts it at once */
	if (id_out != NULL)
		*id_out = id;
	return 0;
}

int
jobq_enqueue_many(struct jobq *q, const struct jobq_item *items, size_t n, int64_t *first_id,
                  int64_t *last_id)
{
	struct tag tags[JOB_TAGS_MAX];
	struct job_spec spec;
	int64_t id = 0, first = 0;
	char prefix[48];
	int r;

	if (q == NULL || (items == NULL && n > 0))
		return -EINVAL;
	q->err[0] = '\0';
	if ((r = store_bulk_begin(q->st)) < 0)
		return fail(q, r, "");
	for (size_t i = 0; i < n; i++) {
		if ((r = to_spec(q, items[i].type, items[i].payload, items[i].opts, tags, &spec)) <
		    0) {
			char msg[ERR_MAX];

			strlcpy(msg, q->err, sizeof(msg));
			snprintf(prefix, sizeof(prefix), "item %zu: ", i);
			strlcpy(q->err, prefix, sizeof(q->err));
			strlcat(q->err, msg, sizeof(q->err));
			goto out;
		}
		if ((r = store_bulk_add(q->st, &q->cfg, &spec, &id, NULL)) < 0) {
			snprintf(prefix, sizeof(prefix), "item %zu: ", i);
			fail(q, r, prefix);
			goto out;
		}
		if (i == 0)
			first = id;
	}
	if ((r = store_bulk_commit(q->st)) < 0) {
		fail(q, r, "");
		goto out;
	}
	(void)wake_notify(store_path(q->st), WAKE_ALL);
	if (first_id != NULL)
		*first_id = first;
	if (last_id != NULL)
		*last_id = id;
	return 0;
out:
	store_bulk_rollback(q->st);
	return r;
}

const char *
jobq_errmsg(const struct jobq *q)
{
	return q != NULL ? q->err : open_err;
}

void
jobq_close(struct jobq *q)
{
	if (q == NULL)
		return;
	store_close(q->st);
	config_release(&q->cfg);
	free(q);
}
