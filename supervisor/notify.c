/* The supervisor's sd_notify(3) messages. See notify.h. */
#include "notify.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"

extern char **environ;

/* The soname of libsystemd since systemd 209. */
#define NOTIFY_SONAME "libsystemd.so.0"

static int
manager_var(const char *entry)
{
	static const char *const names[] = {
	        "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=", NULL};
	for (int i = 0; names[i] != NULL; i++)
		if (strncmp(entry, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

void
notify_init(struct notify *n)
{
	__typeof__(sd_watchdog_enabled) *watchdog_enabled;
	uint64_t usec = 0;
	size_t count = 0, k = 0;

	memset(n, 0, sizeof(*n));
	n->healthy = 1;
	n->last_workers = -1;
	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	for (char **e = environ; *e != NULL; e++)
		count++;
	if ((n->child_env = calloc(count + 1, sizeof(char *))) != NULL) {
		for (char **e = environ; *e != NULL; e++)
			if (!manager_var(*e))
				n->child_env[k++] = *e;
	}
	if ((n->lib = dlopen(NOTIFY_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		log_warnx("NOTIFY_SOCKET is set but %s cannot be loaded (%s): systemd will not "
		          "hear that jobq is ready",
		          NOTIFY_SONAME, dlerror());
		return;
	}
	*(void **)&n->sd_notify = dlsym(n->lib, "sd_notify");
	*(void **)&watchdog_enabled = dlsym(n->lib, "sd_watchdog_enabled");
	if (n->sd_notify == NULL || watchdog_enabled == NULL) {
		log_warnx("%s has no sd_notify: systemd will not hear that jobq is ready",
		          NOTIFY_SONAME);
		dlclose(n->lib);
		n->lib = NULL;
		return;
	}
	n->on = 1;
	/* > 0: WATCHDOG_USEC is set and WATCHDOG_PID, if set, is this process */
	if (watchdog_enabled(0, &usec) > 0 && usec >= 2000) {
		n->watchdog_ms = (int64_t)(usec / 2000);
		log_debug("systemd watchdog: %" PRIu64 " us, a ping every %" PRId64 " ms", usec,
		          n->watchdog_ms);
	}
}

void
notify_release(struct notify *n)
{
	free(n->child_env);
	n->child_env = NULL;
	if (n->lib != NULL)
		dlclose(n->lib);
	n->lib = NULL;
	n->on = 0;
}

char **
notify_child_env(struct notify *n)
{
	return n->child_env != NULL ? n->child_env : environ;
}

static void
send_state(struct notify *n, const char *state)
{
	int r;

	if (!n->on)
		return;
	if ((r = n->sd_notify(0, state)) < 0)
		log_debug("sd_notify: %s", strerror(-r));
}

void
notify_ready(struct notify *n, const char *status)
{
	char msg[320];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	snprintf(n->status, sizeof(n->status), "%s", status);
	send_state(n, msg);
}

void
notify_reloading(struct notify *n)
{
	struct timespec ts;
	char msg[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	         (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
	send_state(n, msg);
}

void
notify_stopping(struct notify *n)
{
	send_state(n, "STOPPING=1");
}

struct live_count {
	int64_t queued, running;
};

static void
on_live(const char *type, enum job_state state, int64_t count, void *ctx)
{
	struct live_count *l = ctx;

	if (state == JOB_RUNNING)
		l->running += count;
	else
		l->queued += count;
}

/* Count again when something may have changed; set the STATUS= text into out. Returns 1 when
 * counted, 0 when nothing changed, -1 when the database could not be read. */
static int
recount(struct notify *n, struct store *st, int workers, int stopping, int64_t now, char *out,
        size_t len)
{
	struct live_count l = {0, 0};
	int64_t dv = store_data_version(st);

	if (dv < 0)
		return -1;
	if (dv == n->data_version && workers == n->last_workers && stopping == n->last_stopping &&
	    now < n->recount_at)
		return 0;
	if (store_count_live(st, on_live, &l) < 0)
		return -1;
	n->data_version = dv;
	n->last_workers = workers;
	n->last_stopping = stopping;
	n->recount_at = now + NOTIFY_RECOUNT_MS;
	snprintf(out, len, "%s%" PRId64 " running, %" PRId64 " queued; %d worker%s",
	         stopping ? "stopping: " : "", l.running, l.queued, workers,
	         workers == 1 ? "" : "s");
	return 1;
}

int64_t
notify_loop(struct notify *n, struct store *st, int workers, int stopping, int64_t now)
{
	char status[256];
	int64_t next = -1;

	if (!n->on)
		return -1;
	if (now >= n->next_status) {
		int r = recount(n, st, workers, stopping, now, status, sizeof(status)),
		    was = n->healthy;
		n->healthy = r >= 0;
		if (r > 0 && strcmp(status, n->status) != 0) {
			char msg[300];
			snprintf(msg, sizeof(msg), "STATUS=%s", status);
			send_state(n, msg);
			snprintf(n->status, sizeof(n->status), "%s", status);
			n->next_status = now + NOTIFY_STATUS_EVERY_MS;
		} else {
			n->next_status = now + NOTIFY_STATUS_EVERY_MS / 4;
		}
		/* Once per change of health, not at every look. */
		if (was && !n->healthy)
			log_warnx("cannot read the database '%s'%s%s%s", store_path(st),
			          *store_errmsg(st) != '\0' ? ": " : "", store_errmsg(st),
			          n->watchdog_ms > 0 ? " (watchdog pings stop)" : "");
		else if (!was && n->healthy)
			log_info("the database '%s' can be read again%s", store_path(st),
			         n->watchdog_ms > 0 ? " (watchdog pings again)" : "");
	}
	next = n->next_status - now;
	if (n->watchdog_ms > 0) {
		if (now >= n->next_ping && n->healthy) {
			send_state(n, "WATCHDOG=1");
			n->pings++;
			n->next_ping = now + n->watchdog_ms;
		} else if (now >= n->next_ping) {
			n->next_ping = now + n->watchdog_ms / 4 + 1; /* look again soon */
		}
		if (n->next_ping - now < next)
			next = n->next_ping - now;
	}
	return next > 0 ? next : 0;
}
