/*
 * The worker: a state machine over one poll() loop. Its sources are the control socket (the
 * supervisor's messages), a signalfd, the handler's fds, the wake-up FIFO (idle workers wait on
 * it themselves) and its timers (lease renewal, grace period, idle re-check, a delayed job's
 * run_at). A handler per source turns what it reads into events (begin_shutdown(), a wake-up,
 * a reload latched for the next idle moment); transition() moves the state by one table;
 * tick() runs what is due in the state (claim, step the handler, finish, give up) and returns
 * the time to the next deadline.
 *
 * Claim under the policy, run the handler, renew the lease (which also tells of a cancel
 * request), finish and claim the next job in one transaction. The worker is a child subreaper:
 * whatever its job leaves behind comes back to it and is killed and reaped before the job is
 * finished.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/string.h>
#include <bsd/unistd.h>

#include "duration.h"
#include "handler.h"
#include "hostid.h"
#include "log.h"
#include "names.h"
#include "proc.h"
#include "store.h"
#include "wake.h"
#include "worker.h"

#define HEARTBEAT_MAX_MS 1000 /* a cancel reaches a running job within about this */
#define PGID_RECORD_MS 20
#define FINISH_RETRY_MIN_MS 50
#define FINISH_RETRY_MAX_MS 2000
#define IDLE_CHECK_MS 1000 /* an idle worker looks for commits it was not told of */
/* On a backend whose wake-ups are notifications (PostgreSQL), an idle worker also tries a claim
 * this often: a job inserted by SQL without NOTIFY, or whose notification was lost while the
 * connection was down, still starts. Slower than the lease renewal, as issue 9 asks. */
#define IDLE_POLL_MS 5000
#define RETRY_BUSY_MS 100
#define RETRY_FAILED_MS 1000 /* claim again after a failure other than a lock (disk full) */
#define WARN_EVERY_MS 30000  /* a warning repeated at every try is logged at most this often */
#define SHUTDOWN_KILL_GRACE_MS 2000
#define MAX_POLLFDS 8

extern char **environ;

/*
 * The worker's states (docs/architecture.md has the table). A job is held in RUNNING,
 * FINISHING, STOPPING and STOP_FINISHING; the FIFO is listened to in IDLE (and in CLAIMING while
 * the supervisor still counts the worker idle).
 */
enum wstate {
	WS_NONE,           /* in the table: the event cannot happen in this state */
	WS_STARTING,       /* setup: signals, configuration, store, FIFO listener */
	WS_CLAIMING,       /* a claim is due (at retry_at after a locked or failing one) */
	WS_IDLE,           /* the last claim found nothing: the supervisor was told, and the
	                    * worker waits for a wake-up, the idle re-check or a delayed job */
	WS_RUNNING,        /* a job's handler runs: its fds polled, its lease renewed */
	WS_FINISHING,      /* the handler is over, its outcome not yet recorded (a locked or full
	                    * database): kept, the finish retried, the lease still renewed */
	WS_STOPPING,       /* shutdown while the handler runs: it has the grace period, then it is
	                    * stopped; its outcome is recorded without claiming */
	WS_STOP_FINISHING, /* shutdown with an outcome not yet recorded: retried until the grace
	                    * period plus WORKER_FINISH_MARGIN_MS, then given up */
	WS_STOPPED,        /* the loop ends */
	WS_NSTATES
};

enum wevent {
	WE_READY,      /* set up */
	WE_WAKE,       /* maybe claimable: 'w', a FIFO byte kept, a commit seen by the idle
	                * re-check, a delayed job's run_at, a reload */
	WE_CLAIMED,    /* a job claimed, alone or with the finish of the last one */
	WE_EMPTY,      /* a claim found nothing (the supervisor is told) */
	WE_DONE,       /* the job's outcome is recorded (or its lease was lost); nothing claimed */
	WE_UNRECORDED, /* the outcome could not be recorded: kept, retried */
	WE_SHUTDOWN,   /* SIGTERM, SIGINT, 'T', or the supervisor is gone */
	WE_EXIT,       /* set-up failed, poll() failed, or the outcome was given up */
	WE_NEVENTS
};

/* clang-format off */
static const char *const state_names[WS_NSTATES] = {
	"none", "starting", "claiming", "idle", "running", "finishing", "stopping",
	"stop-finishing", "stopped",
};

static const char *const event_names[WE_NEVENTS] = {
	"ready", "wake", "claimed", "empty", "done", "unrecorded", "shutdown", "exit",
};

/* The next state for each state and event (s6-supervise's style); WS_NONE: not possible. */
static const enum wstate transitions[WS_NSTATES][WE_NEVENTS] = {
	[WS_STARTING] = {
		[WE_READY] = WS_CLAIMING, [WE_EXIT] = WS_STOPPED,
	},
	[WS_CLAIMING] = {
		[WE_WAKE] = WS_CLAIMING, [WE_CLAIMED] = WS_RUNNING, [WE_EMPTY] = WS_IDLE,
		[WE_SHUTDOWN] = WS_STOPPED, [WE_EXIT] = WS_STOPPED,
	},
	[WS_IDLE] = {
		[WE_WAKE] = WS_CLAIMING, [WE_SHUTDOWN] = WS_STOPPED, [WE_EXIT] = WS_STOPPED,
	},
	[WS_RUNNING] = {
		[WE_WAKE] = WS_RUNNING, [WE_CLAIMED] = WS_RUNNING, [WE_EMPTY] = WS_IDLE,
		[WE_DONE] = WS_CLAIMING, [WE_UNRECORDED] = WS_FINISHING,
		[WE_SHUTDOWN] = WS_STOPPING, [WE_EXIT] = WS_STOPPED,
	},
	[WS_FINISHING] = {
		[WE_WAKE] = WS_FINISHING, [WE_CLAIMED] = WS_RUNNING, [WE_EMPTY] = WS_IDLE,
		[WE_DONE] = WS_CLAIMING, [WE_UNRECORDED] = WS_FINISHING,
		[WE_SHUTDOWN] = WS_STOP_FINISHING, [WE_EXIT] = WS_STOPPED,
	},
	[WS_STOPPING] = {
		[WE_WAKE] = WS_STOPPING, [WE_DONE] = WS_STOPPED,
		[WE_UNRECORDED] = WS_STOP_FINISHING, [WE_EXIT] = WS_STOPPED,
	},
	[WS_STOP_FINISHING] = {
		[WE_WAKE] = WS_STOP_FINISHING, [WE_DONE] = WS_STOPPED,
		[WE_UNRECORDED] = WS_STOP_FINISHING, [WE_EXIT] = WS_STOPPED,
	},
	[WS_STOPPED] = {
		[WE_WAKE] = WS_STOPPED,
	},
};
/* clang-format on */

/*
 * A warning that would repeat at every try (a lease that cannot be renewed, a claim or a finish
 * that fails: every second while the disk is full) is logged at the first failure, then at most
 * once per WARN_EVERY_MS with the number of failures held back, and once, as info, when the
 * operation works again.
 */
struct warn_limit {
	int64_t next; /* monotonic ms: the next failure may be logged from then */
	int failures; /* since the last success */
	int held;     /* failures not logged since the last line */
};

struct worker {
	const struct worker_opts *o;
	enum wstate state; /* moved by transition() only */
	int code;          /* the exit code once WS_STOPPED */
	struct store *st;
	struct config cfg;
	const char **types; /* the types this worker can run: those with a handler */
	size_t ntypes;
	int sigfd;
	pid_t pid;
	uint64_t start;
	struct job job; /* held in RUNNING ... STOP_FINISHING (has_job()) */
	struct handler *h;
	int64_t next_heartbeat; /* monotonic ms */
	pid_t pgid;             /* the handler's process group, not yet recorded in the store */
	uint64_t pgid_start;
	int64_t next_run_at;     /* wall ms of the next delayed job, 0 none */
	int64_t idle_check_at;   /* monotonic ms */
	int64_t idle_poll_at;    /* monotonic ms of the next claim tried unasked (IDLE_POLL_MS) */
	int64_t retry_at;        /* monotonic ms: claim again after a locked database */
	int64_t finish_retry_at; /* monotonic ms: finish again after a locked database */
	int finish_retries;      /* > 0 in FINISHING and STOP_FINISHING */
	char finish_err[256];    /* why the last finish failed */
	struct warn_limit lease_warn, finish_warn, claim_warn;
	int64_t data_version;
	int64_t stop_deadline; /* monotonic ms: then stop the running handler */
	int stop_sent;
	int reload;                /* latched: reload the configuration when no job is held */
	int told_idle;             /* the supervisor counts us idle (we said 'i' or 'I') */
	struct wake_listener wake; /* fifo -1: wake-ups come through the supervisor only */
	char host[HOSTID_MAX + 1]; /* recorded by each claim (the supervisor's: JOBQ_HOST) */
};

/* Move to the state the table gives for ev. */
static void
transition(struct worker *w, enum wevent ev)
{
	enum wstate to = transitions[w->state][ev];

	if (to == WS_NONE) {
		log_warnx("worker state machine: event '%s' in state '%s' ignored", event_names[ev],
		          state_names[w->state]);
		return;
	}
	w->state = to;
}

static int
has_job(const struct worker *w)
{
	return w->state == WS_RUNNING || w->state == WS_FINISHING || w->state == WS_STOPPING ||
	       w->state == WS_STOP_FINISHING;
}

/* The handler still runs (its fds are polled, a cancel reaches it). */
static int
handler_running(const struct worker *w)
{
	return w->state == WS_RUNNING || w->state == WS_STOPPING;
}

static int
stopping(const struct worker *w)
{
	return w->state == WS_STOPPING || w->state == WS_STOP_FINISHING || w->state == WS_STOPPED;
}

static void
title(struct worker *w)
{
	if (has_job(w))
		setproctitle("worker %d: job %" PRId64 " %s", w->o->index, w->job.id, w->job.type);
	else
		setproctitle("worker %d: idle", w->o->index);
}

static void
send_ctl(struct worker *w, char msg)
{
	while (write(w->o->ctl_fd, &msg, 1) < 0 && errno == EINTR)
		;
}

/* Tell the supervisor, once, that a claim found nothing: it wakes idle workers first. */
static void
tell_idle(struct worker *w)
{
	if (!w->told_idle)
		send_ctl(w, w->wake.fifo >= 0 ? WORKER_MSG_LISTENING : WORKER_MSG_IDLE);
	w->told_idle = 1;
}

/* One more failure of what (e.g. "cannot renew the lease") because of why. */
static void
warn_limited(struct warn_limit *wl, const char *what, const char *why)
{
	int64_t now = time_mono_ms();

	wl->failures++;
	if (wl->failures > 1 && now < wl->next) {
		wl->held++;
		return;
	}
	if (wl->held > 0)
		log_warnx("%s (%d more failures since the last report): %s", what, wl->held, why);
	else
		log_warnx("%s: %s", what, why);
	wl->held = 0;
	wl->next = now + WARN_EVERY_MS;
}

/* The operation worked: say so once if it had failed (what: e.g. "lease renewed"). */
static void
warn_recovered(struct warn_limit *wl, const char *what)
{
	if (wl->failures > 0)
		log_info("%s after %d failure%s", what, wl->failures, wl->failures == 1 ? "" : "s");
	*wl = (struct warn_limit){0};
}

static int64_t
heartbeat_every(const struct worker *w)
{
	int64_t every = w->cfg.lease_ms / 3;
	return every < HEARTBEAT_MAX_MS ? every : HEARTBEAT_MAX_MS;
}

static int
load_config(struct worker *w)
{
	char err[512];
	struct config next;
	int r;

	config_init_default(&next);
	/* Under a supervisor, the text it accepted (see supervisor.c, config_memfd()); the file
	 * itself only when run by hand. */
	if (w->o->config_fd >= 0)
		r = config_load_fd(w->o->config_fd, w->o->config_path, &next, err, sizeof(err));
	else if (w->o->config_path != NULL && w->o->config_path[0] != '\0')
		r = config_load(w->o->config_path, &next, err, sizeof(err));
	else
		r = 0;
	if (r < 0) {
		log_errorx("config '%s': %s", w->o->config_path, err);
		return r;
	}
	const char **types = calloc(next.ntypes + 1, sizeof(*types));
	size_t n = 0;
	if (types == NULL) {
		config_release(&next);
		log_errorx("out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < next.ntypes; i++)
		if (next.types[i].handler != HANDLER_NONE)
			types[n++] = next.types[i].name;
	config_release(&w->cfg);
	free(w->types);
	w->cfg = next;
	w->types = types;
	w->ntypes = n;
	/* A reload can change "durability": the open store follows (none yet at start). */
	if (store_set_durability(w->st, !w->cfg.synchronous_full) < 0)
		log_warnx("%s", store_errmsg(w->st));
	return 0;
}

/* Pause until `until` (wall ms) every pool the current job holds (its units column), unless a
 * pause already in force lasts as long (an operator's pause without an end is never shortened):
 * store_pause_longer() decides that in its own statement, so two workers meeting the quota at
 * once keep the longer pause. */
static void
pause_pools(struct worker *w, int64_t until, const char *reason)
{
	cJSON *units = w->job.units != NULL ? cJSON_ParseWithOpts(w->job.units, NULL, 1) : NULL;
	const cJSON *it;
	char tag[NAME_TAG_MAX + 1], when[40];
	int n, r;

	if (!cJSON_IsArray(units) || cJSON_GetArraySize(units) == 0) {
		cJSON_Delete(units);
		return;
	}
	time_format_rfc3339(until, when, sizeof(when));
	cJSON_ArrayForEach(it, units)
	{
		if (!cJSON_IsString(it) || tag_parse(it->valuestring, tag, &n) < 0)
			continue;
		if ((r = store_pause_longer(w->st, PAUSE_RESOURCE, tag, until, reason)) < 0)
			log_warnx("cannot pause pool '%s': %s", tag, store_errmsg(w->st));
		else if (r == 1)
			log_info("pool '%s' paused until %s: %s", tag, when, reason);
	}
	cJSON_Delete(units);
}

/* Finish the current job with o; when claim_next, claim the next job in the same
 * transaction. A handler that met a quota first pauses the job's pools, so that neither this
 * claim nor any other takes a job that would meet it too. Returns 1 if a new job was claimed
 * (WE_CLAIMED: the caller starts it), 0 if not (WE_EMPTY or WE_DONE), -EAGAIN when the outcome
 * is kept to be recorded later (WE_UNRECORDED), another < 0 when the lease was lost (WE_DONE). */
static int
finish(struct worker *w, const struct job_outcome *o, int claim_next)
{
	struct claim_req req = {.types = w->types,
	                        .ntypes = w->ntypes,
	                        .owner_pid = w->pid,
	                        .owner_start = w->start,
	                        .host = w->host};
	struct job next;
	const char *reason;
	int64_t until;
	int r;

	memset(&next, 0, sizeof(next));
	if (w->h != NULL && !o->succeeded && !o->cancelled &&
	    (until = handler_quota(w->h, &reason)) > time_now_ms())
		pause_pools(w, until, reason);
	if (claim_next)
		r = store_finish_and_claim(w->st, &w->cfg, w->job.id, w->job.token, o, &req, &next,
		                           &w->next_run_at);
	else
		r = store_finish(w->st, &w->cfg, w->job.id, w->job.token, o);
	if (r < 0 && r != -ESTALE && r != -ESRCH) {
		/* The database is locked, full or failing: keep the job and its outcome (its lease
		 * is renewed meanwhile) and try again, 50 ms doubling up to 2 s. Giving up would
		 * leave it running until its lease expired, holding capacity, and lose its result.
		 * A stopping worker tries until it must give up (worker_run()). */
		int64_t delay = FINISH_RETRY_MIN_MS
		                << (w->finish_retries < 6 ? w->finish_retries : 6);
		int64_t give_up = w->stop_deadline + WORKER_FINISH_MARGIN_MS;
		if (delay > FINISH_RETRY_MAX_MS)
			delay = FINISH_RETRY_MAX_MS;
		w->finish_retries++;
		strlcpy(w->finish_err, store_errmsg(w->st), sizeof(w->finish_err));
		warn_limited(&w->finish_warn, "cannot finish, will retry", w->finish_err);
		w->finish_retry_at = time_mono_ms() + delay;
		if (stopping(w) && w->finish_retry_at > give_up)
			w->finish_retry_at = give_up;
		transition(w, WE_UNRECORDED);
		return -EAGAIN;
	}
	if (r >= 0)
		warn_recovered(&w->finish_warn, "finished");
	w->finish_warn = (struct warn_limit){0};
	w->finish_retries = 0;
	w->finish_retry_at = 0;
	/* Every line names the job (log_set_job()). */
	if (r == -ESTALE || r == -ESRCH) {
		log_warnx("not finished: its lease was lost and it was recovered");
	} else {
		if (o->truncated)
			log_warnx("result cut at output_max (%zu bytes): kept as text, marked "
			          "truncated",
			          w->cfg.output_max);
		if (o->succeeded)
			log_debug("succeeded");
		else if (!o->cancelled && o->has_exit_code && o->exit_code == 127)
			/* Not found or not runnable (a shell says 127 too): a setup error (PATH,
			 * permissions) that no retry fixes, not a job's bad luck. */
			log_errorx("attempt failed: %s", o->error ? o->error : "");
		else
			log_info("%s: %s", o->cancelled ? "cancelled" : "attempt failed",
			         o->error ? o->error : "");
	}
	handler_free(w->h);
	w->h = NULL;
	job_release(&w->job);
	log_set_job(0);
	if (claim_next && r == 1) {
		w->job = next;
		transition(w, WE_CLAIMED);
		return 1;
	}
	if (claim_next && r == 0) {
		transition(w, WE_EMPTY);
		tell_idle(w);
	} else {
		transition(w, WE_DONE);
	}
	return r < 0 ? r : 0;
}

/* Start the handler of the claimed job; a handler that cannot start finishes the job. */
static void
start(struct worker *w)
{
	const struct type_config *t = config_type(&w->cfg, w->job.type);
	struct handler_env env = {
	        .db_path = w->o->db_path,
	        .cfg = &w->cfg,
	        .type = t,
	        .job = &w->job,
	        .base_envp = environ,
	};
	char err[512] = "";
	int r;

	log_set_job(w->job.id);
	title(w);
	w->told_idle = 0;
	w->lease_warn = (struct warn_limit){0};
	if ((r = handler_start(&env, &w->h, &w->pgid, &w->pgid_start, err, sizeof(err))) < 0) {
		/* The attempt is over before it began: finished like any other, by the loop. */
		w->h = handler_failed(err, r == -ENOENT || r == -EACCES ? 127 : -1, r == -EINVAL);
		if (w->h == NULL) {
			struct job_outcome o = {.error = "out of memory"};
			finish(w, &o, 0); /* WE_DONE: claiming */
			title(w);
		}
		return;
	}
	/* The process group is recorded at the first look at the lease, PGID_RECORD_MS from now:
	 * most short jobs are over by then, and a write transaction per job is saved. Until then a
	 * crash is covered by the parent-death signal and by the job's environment. */
	w->next_heartbeat = time_mono_ms() + (w->pgid > 0 ? PGID_RECORD_MS : heartbeat_every(w));
}

static void
check_lease(struct worker *w)
{
	int cancel = 0;
	int r;

	if (w->pgid > 0) {
		r = store_set_pgid(w->st, w->job.id, w->job.token, w->pgid, w->pgid_start);
		if (r == -EBUSY) { /* locked: record it, and renew the lease, at the next tick */
			w->next_heartbeat = time_mono_ms() + RETRY_BUSY_MS;
			return;
		}
		if (r < 0)
			log_warnx("cannot record process group %d: %s", (int)w->pgid,
			          store_errmsg(w->st));
		w->pgid = 0;
	}
	r = store_heartbeat(w->st, w->job.id, w->job.token, w->cfg.lease_ms, &cancel);

	w->next_heartbeat = time_mono_ms() + (r == -EBUSY ? RETRY_BUSY_MS : heartbeat_every(w));
	if (r == -ESTALE || r == -ESRCH) {
		/* Recovered under us (we were too slow): the job is someone else's now. */
		log_warnx("lease lost: stopping the handler");
		handler_stop(w->h, 1, SHUTDOWN_KILL_GRACE_MS);
	} else if (r < 0) {
		warn_limited(&w->lease_warn, "cannot renew the lease", store_errmsg(w->st));
	} else {
		warn_recovered(&w->lease_warn, "lease renewed");
		if (cancel && handler_running(w)) {
			log_info("cancel requested: stopping the handler");
			handler_stop(w->h, 1, w->cfg.grace_ms);
		}
	}
}

static void
on_reaped(pid_t pid, int status, void *ctx)
{
	struct worker *w = ctx;

	if (w->h == NULL || !handler_reaped(w->h, pid, status))
		log_debug("reaped stray process %d", (int)pid);
}

/* Stop claiming; a running handler has the grace period, an idle worker stops at once. */
static void
begin_shutdown(struct worker *w)
{
	if (stopping(w))
		return;
	w->stop_deadline = time_mono_ms() + w->cfg.grace_ms;
	transition(w, WE_SHUTDOWN);
}

/* Source: the signalfd. SIGCHLD reaps (the handler learns of its processes), TERM/INT stop. */
static void
on_signals(struct worker *w)
{
	struct signalfd_siginfo si;

	while (read(w->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			proc_reap(on_reaped, w);
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			begin_shutdown(w);
	}
	proc_reap(on_reaped, w); /* signals coalesce: reap whatever is there */
}

/*
 * Read the control socket: one message, and the descriptor a reload message carries (the
 * configuration the supervisor accepted). It takes the place of the one we read at start, at the
 * same number, so config_fd stays valid. (A supervisor without a configuration file sends
 * none: its workers reload the built-in default.)
 */
static ssize_t
recv_ctl(struct worker *w, char *buf, size_t len)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = u.buf,
	                    .msg_controllen = sizeof(u.buf)};
	ssize_t n = recvmsg(w->o->ctl_fd, &mh, MSG_CMSG_CLOEXEC);
	struct cmsghdr *c;
	int fd = -1;

	if (n <= 0)
		return n;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (fd >= 0 && w->o->config_fd >= 0 && memchr(buf, WORKER_MSG_RELOAD, (size_t)n) != NULL &&
	    dup2(fd, w->o->config_fd) < 0)
		log_warn("cannot take the new configuration");
	if (fd >= 0)
		close(fd);
	return n;
}

/* Source: the control socket. The supervisor's messages; its end closed means it is gone. */
static void
on_ctl(struct worker *w)
{
	char buf[64];
	ssize_t n = recv_ctl(w, buf, sizeof(buf));

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		begin_shutdown(w); /* the supervisor is gone */
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		switch (buf[i]) {
		case WORKER_MSG_WAKE:
			transition(w, WE_WAKE);
			w->told_idle = 0; /* the supervisor counts us busy until we say otherwise */
			if (has_job(w))
				w->next_heartbeat = 0; /* maybe a cancel: look now */
			break;
		case WORKER_MSG_SHUTDOWN:
			begin_shutdown(w);
			break;
		case WORKER_MSG_RELOAD:
			w->reload = 1;
			break;
		}
	}
}

/*
 * Read the wake-ups waiting in the FIFO. An idle worker (WORKER_MSG_LISTENING) claims for one
 * job (keep_one) and passes the rest on to the supervisor, which wakes other workers for them;
 * a worker that is no longer idle passes on all. Returns 1 when it kept one.
 */
static int
read_wake(struct worker *w, int keep_one)
{
	char buf[256], fwd[64];
	size_t nfwd = 0;
	int ones = 0, all = 0, cancel = 0;
	ssize_t n = wake_listen_read(&w->wake, buf, sizeof(buf));

	for (ssize_t i = 0; i < n; i++) {
		ones += buf[i] == WAKE_ONE;
		cancel |= buf[i] == WAKE_CANCEL;
		all |= buf[i] != WAKE_ONE && buf[i] != WAKE_CANCEL;
	}
	keep_one = keep_one && ones + all > 0;
	if (all)
		fwd[nfwd++] = WAKE_ALL;
	if (cancel)
		fwd[nfwd++] = WAKE_CANCEL;
	for (int i = keep_one && !all; i < ones && nfwd < sizeof(fwd); i++)
		fwd[nfwd++] = WAKE_ONE;
	if (keep_one) {
		transition(w, WE_WAKE);
		if (nfwd > 0)
			w->told_idle = 0; /* the supervisor counts us busy until we say otherwise */
	}
	if (nfwd > 0)
		while (write(w->o->ctl_fd, fwd, nfwd) < 0 && errno == EINTR)
			;
	return keep_one;
}

/* Claim (in CLAIMING): WE_CLAIMED and the handler started, WE_EMPTY, or a retry later. */
static void
claim(struct worker *w)
{
	struct claim_req req = {.types = w->types,
	                        .ntypes = w->ntypes,
	                        .owner_pid = w->pid,
	                        .owner_start = w->start,
	                        .host = w->host};
	int r;

	/* Jobs of types without a handler here are for external workers (jobq claim). */
	if (w->ntypes == 0) {
		transition(w, WE_EMPTY);
		tell_idle(w);
		return;
	}
	r = store_claim(w->st, &w->cfg, &req, &w->job, &w->next_run_at);

	w->data_version = store_data_version(w->st);
	if (r >= 0)
		warn_recovered(&w->claim_warn, "claiming again");
	if (r == 1) {
		if (w->told_idle) /* the supervisor must not count on us for the next job */
			send_ctl(w, WORKER_MSG_BUSY);
		transition(w, WE_CLAIMED);
		start(w);
	} else if (r == 0) {
		transition(w, WE_EMPTY);
		tell_idle(w);
	} else if (r == -EBUSY) {
		w->retry_at = time_mono_ms() + RETRY_BUSY_MS;
	} else {
		warn_limited(&w->claim_warn, "cannot claim", store_errmsg(w->st));
		w->retry_at = time_mono_ms() + RETRY_FAILED_MS;
	}
}

/* Wait on the FIFO while the supervisor counts us idle and listening; not while a job runs or
 * the worker stops (an armed listener takes wake-ups from the others). Returns the pollfds
 * added to fds (0 or 1). */
static int
listen_fifo(struct worker *w, struct pollfd *fds)
{
	int on = w->told_idle && (w->state == WS_IDLE || w->state == WS_CLAIMING);
	struct pollfd ready = {.fd = w->wake.ep, .events = POLLIN};

	if (w->wake.fifo < 0)
		return 0;
	/* A wake-up that came between the claim and now woke us instead of another listener. */
	if (!on && w->wake.armed && poll(&ready, 1, 0) == 1)
		read_wake(w, 0);
	if (wake_listen_arm(&w->wake, on) < 0) {
		log_warn("wake-ups come through the supervisor: cannot wait on the FIFO");
		wake_listen_close(&w->wake);
		if (w->told_idle) /* it counts on us for the FIFO: 'i' makes it read it again */
			send_ctl(w, WORKER_MSG_IDLE);
		return 0;
	}
	if (!on)
		return 0;
	fds[0] = (struct pollfd){.fd = w->wake.ep, .events = POLLIN};
	return 1;
}

static int
setup(struct worker *w)
{
	char err[512];
	struct store_opts so = {.create = 0};

	w->pid = getpid();
	if (proc_start_time(w->pid, &w->start) < 0)
		w->start = 0;
	if (proc_subreaper() < 0)
		log_warn("cannot become a child subreaper");
	if ((w->sigfd = proc_signalfd()) < 0) {
		errno = -w->sigfd;
		log_error("cannot set up signals");
		return -1;
	}
	if (load_config(w) < 0)
		return -1;
	/* The supervisor exports its host id as JOBQ_HOST: the same for all its workers. */
	if (hostid_get(w->cfg.host, w->host, sizeof(w->host)) < 0) {
		log_errorx("%s: must be 1 to %d characters of [A-Za-z0-9._-]", HOSTID_ENV,
		           HOSTID_MAX);
		return -1;
	}
	so.durability_fast = !w->cfg.synchronous_full;
	if (store_open(w->o->db_path, &so, &w->st, err, sizeof(err)) < 0) {
		log_errorx("%s", err); /* names the database */
		return -1;
	}
	/* The loop never sits in the busy handler: a locked call is tried again at a later tick
	 * (claim, heartbeat, finish), while signals and the supervisor's messages are heard. */
	store_set_busy_timeout(w->st, STORE_LOOP_BUSY_MS);
	store_set_host(w->st, w->host, 0);
	if (wake_listen_open(&w->wake, w->o->db_path) < 0 ||
	    wake_listen_watch(&w->wake, w->o->ctl_fd) < 0 ||
	    wake_listen_watch(&w->wake, w->sigfd) < 0) {
		log_debug("wake-ups come through the supervisor: cannot wait on the FIFO");
		wake_listen_close(&w->wake);
	}
	return 0;
}

/* Source: the wake-up FIFO, while listened to (IDLE, or CLAIMING still counted idle). */
static void
on_fifo(struct worker *w)
{
	read_wake(w, 1);
}

/* Source: the timers that fire after poll(): the grace period, the lease, the idle re-check and
 * a delayed job's run_at. (A finish retry and a locked claim are tick()'s.) */
static void
on_timers(struct worker *w)
{
	int64_t now = time_mono_ms();

	switch (w->state) {
	case WS_STOPPING:
		if (!w->stop_sent && now >= w->stop_deadline) {
			log_info("grace period over: stopping the handler");
			handler_stop(w->h, 0, SHUTDOWN_KILL_GRACE_MS);
			w->stop_sent = 1;
		}
		/* fall through */
	case WS_RUNNING:
	case WS_FINISHING:
	case WS_STOP_FINISHING:
		if (now >= w->next_heartbeat)
			check_lease(w);
		break;
	case WS_IDLE:
	case WS_CLAIMING:
		if (w->next_run_at > 0 && time_now_ms() >= w->next_run_at)
			transition(w, WE_WAKE);
		if (now >= w->idle_check_at && store_data_version(w->st) != w->data_version)
			transition(w, WE_WAKE);
		else if (w->state == WS_IDLE && w->idle_poll_at > 0 && now >= w->idle_poll_at) {
			w->idle_poll_at = 0;
			transition(w, WE_WAKE);
		}
		break;
	default:
		break;
	}
}

/* In STOP_FINISHING past the grace period and WORKER_FINISH_MARGIN_MS: log the job whose
 * outcome is lost and stop with WORKER_EXIT_UNFINISHED. */
static void
give_up(struct worker *w)
{
	const struct job_outcome *oc = w->h != NULL ? handler_outcome(w->h) : NULL;
	const char *what = oc == NULL      ? "failed"
	                   : oc->succeeded ? "succeeded"
	                   : oc->cancelled ? "cancelled"
	                   : oc->temporary ? "interrupted"
	                                   : "failed";

	log_errorx("giving up: its outcome (%s) could not be recorded after %d tries: %s; it stays "
	           "running until the next recovery requeues it, its attempt counted",
	           what, w->finish_retries, w->finish_err);
	w->code = WORKER_EXIT_UNFINISHED;
	transition(w, WE_EXIT);
}

/*
 * Run what is due in the current state, following the transitions it makes until the worker
 * must wait: reload when no job is held, claim, step the handler and finish its job (claiming
 * the next in the same transaction: a job that ends at once is followed by the next without a
 * wait), give up an outcome that cannot be recorded. Returns the poll() timeout to the next
 * deadline of the state (ms; -1: none): in CLAIMING/IDLE the claim retry, the idle re-check and
 * a delayed job's run_at; with a job the lease, the grace period and the finish retry (the
 * handler's own deadlines come with its fds, watch()).
 */
static int
tick(struct worker *w)
{
	for (;;) {
		int64_t now = time_mono_ms();
		int timeout = -1;

		if (w->state == WS_STOPPED)
			return -1;
		if ((w->state == WS_IDLE || w->state == WS_CLAIMING) && w->reload) {
			w->reload = 0;
			/* The supervisor logs the reload once; each worker only at debug level. */
			if (load_config(w) == 0)
				log_debug("configuration reloaded");
			transition(w, WE_WAKE);
		}
		if (w->state == WS_CLAIMING && now >= w->retry_at)
			claim(w);
		if (has_job(w) && now >= w->finish_retry_at && handler_step(w->h, now) == 1) {
			struct job_outcome oc = *handler_outcome(w->h);
			int claim_next = !stopping(w) && !w->reload;
			/* stopped by a shutdown: not the job's fault, it runs again first thing */
			oc.requeue_now = w->stop_sent && oc.temporary;
			if (finish(w, &oc, claim_next) == 1) {
				start(w);
				timeout = 0; /* run it, but look at the control socket first */
			} else {
				title(w);
			}
			if (!has_job(w))
				continue;
		}
		if (w->state == WS_STOP_FINISHING &&
		    now >= w->stop_deadline + WORKER_FINISH_MARGIN_MS) {
			give_up(w);
			return -1;
		}
		if (has_job(w)) {
			if (w->state == WS_STOPPING && !w->stop_sent)
				handler_deadline(w->stop_deadline, &timeout);
			handler_deadline(w->next_heartbeat > 0 ? w->next_heartbeat : 1, &timeout);
			handler_deadline(w->finish_retry_at, &timeout);
		} else {
			if (w->idle_check_at <= now)
				w->idle_check_at = now + IDLE_CHECK_MS;
			handler_deadline(w->idle_check_at, &timeout);
			if (w->idle_poll_at == 0 && store_wait_fd(w->st) >= 0)
				w->idle_poll_at = now + IDLE_POLL_MS;
			if (w->idle_poll_at > 0)
				handler_deadline(w->idle_poll_at, &timeout);
			if (w->state == WS_CLAIMING)
				handler_deadline(w->retry_at > now ? w->retry_at : now, &timeout);
			if (w->next_run_at > 0)
				handler_deadline(
				        time_add(now, time_sub(w->next_run_at, time_now_ms())),
				        &timeout);
		}
		return timeout;
	}
}

/* The pollfds of the state's sources: the control socket (WATCH_CTL), the signalfd
 * (WATCH_SIGNALS), the running handler's fds (lowering *timeout to its deadlines), the FIFO
 * while idle (*fifo_at: its index, or -1). Returns how many. */
enum { WATCH_CTL, WATCH_SIGNALS };

static int
watch(struct worker *w, struct pollfd *fds, int *timeout, int *fifo_at)
{
	int n = 0;

	fds[n++] = (struct pollfd){.fd = w->o->ctl_fd, .events = POLLIN};
	fds[n++] = (struct pollfd){.fd = w->sigfd, .events = POLLIN};
	/* A handler whose outcome waits for a finish to go through is over: asked, a builtin's
	 * past deadline would make this loop spin until the retry. */
	if (handler_running(w))
		n += handler_pollfds(w->h, fds + n, MAX_POLLFDS - n, timeout);
	*fifo_at = -1;
	if (listen_fifo(w, fds + n) == 1)
		*fifo_at = n++;
	return n;
}

int
worker_run(const struct worker_opts *o)
{
	struct worker w;

	memset(&w, 0, sizeof(w));
	w.o = o;
	w.state = WS_STARTING;
	w.sigfd = -1;
	w.wake.fifo = w.wake.ep = -1;
	config_init_default(&w.cfg);
	if (setup(&w) < 0) {
		w.code = 70;
		transition(&w, WE_EXIT);
		goto out;
	}
	transition(&w, WE_READY);
	title(&w);
	for (;;) {
		struct pollfd fds[MAX_POLLFDS];
		int timeout = tick(&w), fifo_at, nfds, r;

		if (w.state == WS_STOPPED)
			break;
		/* Before the wait: what the next job's start would otherwise make on its way. */
		if (w.state == WS_IDLE)
			handler_idle(&w.cfg);
		nfds = watch(&w, fds, &timeout, &fifo_at);
		/* idle and listening: fds are the control socket, the signals and the FIFO */
		if (nfds == 3 && fifo_at == 2)
			r = wake_listen_poll(&w.wake, fds, (nfds_t)nfds, timeout);
		else
			r = poll(fds, (nfds_t)nfds, timeout);
		if (r < 0 && errno != EINTR) {
			log_error("poll");
			w.code = 70;
			transition(&w, WE_EXIT);
			break;
		}
		/* The handler's fds have no handler here: tick() steps the handler after every
		 * turn, since SIGCHLD and its deadlines move it too. */
		if (fds[WATCH_SIGNALS].revents != 0)
			on_signals(&w);
		if (fds[WATCH_CTL].revents != 0)
			on_ctl(&w);
		if (fifo_at >= 0 && fds[fifo_at].revents != 0)
			on_fifo(&w);
		on_timers(&w);
	}
out:
	job_release(&w.job); /* held when the outcome was given up or poll() failed */
	handler_free(w.h);
	handler_idle_release();
	wake_listen_close(&w.wake);
	store_close(w.st);
	config_release(&w.cfg);
	free(w.types);
	if (w.sigfd >= 0)
		close(w.sigfd);
	return w.code;
}
