/*
 * The hosts table (schema version 4): one row per running supervisor, keyed by its host id
 * (core/hostid.h). The supervisor writes its row at start, refreshes seen_at every
 * STORE_HOST_BEAT_MS and deletes it at a clean stop; `jobq status` lists the rows with the jobs
 * running on each host. A row not refreshed for STORE_HOST_LOST_MS is a lost host's.
 */
#ifndef JOBQ_STORE_HOSTS_H
#define JOBQ_STORE_HOSTS_H

#include <stdint.h>
#include <sys/types.h>

#include "store.h"

#define STORE_HOST_BEAT_MS 5000                     /* heartbeat interval */
#define STORE_HOST_LOST_MS (3 * STORE_HOST_BEAT_MS) /* not seen this long: lost */

struct store_host {
	const char *id;
	pid_t pid;
	int64_t started_at, seen_at; /* epoch ms */
	int workers;
	const char *version; /* jobq's, or NULL */
	int64_t running;     /* jobs running with jobs.host = id (store_hosts_list only) */
};

/* Insert or replace the row of h->id with h's fields (seen_at included). One statement, no
 * explicit transaction: -EBUSY when the database stays locked past the busy timeout (the
 * supervisor tries again at its next beat). Returns 0 or a store error. */
int store_host_beat(struct store *st, const struct store_host *h);

/* Delete the row of id, if it is still pid's (another supervisor may have taken the id over).
 * Returns 1 deleted, 0 no such row, or a store error. */
int store_host_remove(struct store *st, const char *id, pid_t pid);

/* Call fn for each row, in id order, with running filled; strings are valid during the call
 * only. fn returning non-zero stops the walk and is returned. Returns 0 or a store error. */
int store_hosts_list(struct store *st, int (*fn)(const struct store_host *h, void *ctx), void *ctx);

#endif
