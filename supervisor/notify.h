/*
 * systemd's readiness protocol for the supervisor (sd_notify(3), a unit with Type=notify):
 * READY=1 once recovery ran and the workers are up, STATUS= with the live counts when they
 * change (at most once a second), RELOADING=1 / READY=1 around a reload, STOPPING=1, and
 * WATCHDOG=1 at half the interval systemd gives (WATCHDOG_USEC) while the loop is healthy.
 * Through libsystemd's sd_notify(), loaded with dlopen() only when NOTIFY_SOCKET is set (see
 * docs/architecture.md: linked, it would bring six more libraries into every jobq process).
 * Without NOTIFY_SOCKET every call is a no-op.
 */
#ifndef JOBQ_NOTIFY_H
#define JOBQ_NOTIFY_H

#include <stdint.h>

#include "store.h"

#define NOTIFY_STATUS_EVERY_MS 1000 /* at most one STATUS= a second */
#define NOTIFY_RECOUNT_MS 10000     /* counts looked at again even without a change seen */

struct notify {
	int on; /* NOTIFY_SOCKET set and libsystemd loaded */
	void *lib;
	int (*sd_notify)(int unset_environment, const char *state);
	int64_t watchdog_ms;  /* WATCHDOG=1 every this many ms (half of WATCHDOG_USEC), 0 */
	int64_t next_ping;    /* monotonic ms */
	int64_t next_status;  /* monotonic ms: the earliest next STATUS= */
	int64_t recount_at;   /* monotonic ms: count again even if nothing changed */
	int64_t data_version; /* of the last count */
	int last_workers, last_stopping;
	int healthy;      /* the last look at the database worked */
	char status[256]; /* the last STATUS= sent */
	char **child_env; /* environ without NOTIFY_SOCKET, WATCHDOG_USEC/PID, or NULL */
	uint64_t pings;
};

/* Set up from the environment: NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID. Logs why it cannot
 * (libsystemd missing). */
void notify_init(struct notify *n);
void notify_release(struct notify *n);

/* The environment for the workers (and so the jobs): the supervisor's, without the variables
 * that are the service manager's word to the main process alone. */
char **notify_child_env(struct notify *n);

/* READY=1 with a STATUS=; after a reload, READY=1 again. */
void notify_ready(struct notify *n, const char *status);
/* RELOADING=1 with MONOTONIC_USEC= (systemd 253's reload protocol; older ones ignore it). */
void notify_reloading(struct notify *n);
void notify_stopping(struct notify *n);

/*
 * From the supervisor's loop, each turn: count the queued and running jobs when the database
 * changed (or every NOTIFY_RECOUNT_MS) and send STATUS= when the text changed, at most once per
 * NOTIFY_STATUS_EVERY_MS; send WATCHDOG=1 when due, unless the last look at the database failed
 * (a loop that no longer turns sends nothing either). Returns the ms until it wants the next
 * turn, -1 for never.
 */
int64_t notify_loop(struct notify *n, struct store *st, int workers, int stopping, int64_t now);

#endif
