/* The supervisor loop. See supervisor.h and docs/architecture.md (Processes). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/libutil.h>
#include <bsd/string.h>
#include <bsd/unistd.h>

#include "dblocal.h"
#include "conninfo.h"
#include "duration.h"
#include "exitcode.h"
#include "hostid.h"
#include "jobenv.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "names.h"
#include "notify.h"
#include "proc.h"
#include "reportdir.h"
#include "runtime.h"
#include "schedules.h"
#include "store.h"
#include "store_hosts.h"
#include "supervisor.h"
#include "trust.h"
#include "wake.h"
#include "workerctl.h"

#define RECOVER_EVERY_MS 5000
#define RECOVER_BUSY_MS 100   /* recovery met a lock: tried again this soon */
#define RECONNECT_SOON_MS 100 /* the store's connection found lost: recovery connects again */
#define DRAIN_CHECK_MS 1000
#define RESTART_MIN_MS 100
#define RESTART_MAX_MS 10000
#define HEALTHY_AFTER_MS 30000
#define KILL_MARGIN_MS 5000 /* after grace + this, workers that did not exit are killed */

extern char **environ;

struct wproc {
	pid_t pid; /* 0: not running */
	uint64_t start;
	int ctl;         /* our end of the control socket, -1 */
	int64_t started; /* monotonic ms */
	int restarts;
	int64_t restart_at; /* monotonic ms; 0: none scheduled */
	int retired;        /* not to be restarted (fewer workers after a reload) */
	int idle;           /* said its last claim found nothing, and was not woken since */
	int listens;        /* idle, it waits on the FIFO itself (WORKER_MSG_LISTENING) */
};

struct sup {
	const struct supervisor_opts *o;
	struct config cfg;
	struct store *st;
	struct pidfh *pfh;
	int sigfd, wakefd;
	int lockfd; /* the database file, flock()ed: one supervisor per file */
	int cfgfd;  /* the configuration in force, sealed in memory, for the workers */
	struct wproc w[CONFIG_WORKERS_MAX];
	int nworkers; /* slots used in w[] */
	int target;   /* workers wanted now (fewer than nworkers after a reload) */
	int stopping;
	int64_t kill_at; /* monotonic ms: SIGKILL workers still alive */
	int64_t next_recover, next_drain_check;
	int64_t next_schedules; /* monotonic ms of the next look at the schedules; -1: none */
	int check_drain;
	int ready;          /* the runtime file was written: keep it up to date */
	int pending;        /* single-job wake-ups that found no idle worker, for the next one */
	int kill_strays;    /* a worker died or an orphan came back: kill non-worker children */
	int64_t started_at; /* epoch ms, for the runtime file */
	int unfinished;     /* workers that exited WORKER_EXIT_UNFINISHED: an outcome was lost */
	int left_unhandled; /* --drain stopped with jobs queued that no handler here runs */
	char workers_note[160];   /* why fewer workers than concurrency.global, or "" */
	struct notify notify;     /* systemd's Type=notify (notify.h) */
	struct metrics_http http; /* "metrics": {"listen": ...} (metrics_http.h) */
	int64_t worker_restarts;  /* for the metrics, through the runtime file */
	int64_t orphans_reaped;
	int runtime_dirty; /* the runtime file's counters changed */
	/* The store's wake-ups (PostgreSQL's LISTEN; SQLite has none): store_wait_fd() is polled
	 * unless it broke or kept waking for nothing, until the next recovery looks again. */
	int store_off;
	int store_idle_reads; /* readable in a row without a new data version */
	int store_waits; /* the store has wake-ups (PostgreSQL), whose connection may be lost */
	int store_lost;  /* its connection was found lost: recovery connects again */
	int64_t store_version;
	int64_t next_beat; /* monotonic ms of the next heartbeat of the hosts row */
	int db_in_env;     /* the workers find the database in JOBQ_DB, not in --db */
	char shown[4096];  /* the database as messages, the title and the runtime file show it:
	                    * a PostgreSQL password masked (core/conninfo.h) */
};

static int write_runtime(struct sup *s);

/*
 * The configuration text the supervisor accepted, sealed in memory: what its workers read, at
 * start and at each reload. Reading the file themselves, they could get a version the
 * supervisor refused, or one written between its load and theirs. Returns the fd or -errno.
 */
static int
config_memfd(const char *text, size_t len)
{
	int fd = memfd_create("jobq-config", MFD_CLOEXEC | MFD_ALLOW_SEALING), r;

	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			close(fd);
			return r;
		}
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Load the configuration into out and, when there is a file, its text into *fd_out (-1 for the
 * built-in default). Returns 0 or -errno (logged). */
static int
load_config(const struct sup *s, struct config *out, int *fd_out)
{
	char err[512], *text = NULL;
	size_t len = 0;
	int r;

	*fd_out = -1;
	config_init_default(out);
	if (s->o->config_path == NULL || s->o->config_path[0] == '\0')
		return 0;
	/* The workers make the requests with our environment: the secrets of the http types
	 * must be in it (producers and operators never need them). */
	if ((r = config_load_text(s->o->config_path, out, &text, &len, err, sizeof(err))) < 0 ||
	    (r = config_check_env(out, err, sizeof(err))) < 0) {
		log_errorx("config '%s': %s", s->o->config_path, err);
		config_release(out);
	} else if ((r = *fd_out = config_memfd(text, len)) < 0) {
		log_errorx("config '%s': cannot keep it for the workers: %s", s->o->config_path,
		           strerror(-r));
		config_release(out);
	} else {
		r = 0;
	}
	free(text);
	return r;
}

/* The number of workers for the configuration in force; s->workers_note says why when it is
 * below concurrency.global (log, runtime file and status show it). */
static int
worker_target(struct sup *s)
{
	int n = config_workers(&s->cfg, s->o->workers, s->workers_note, sizeof(s->workers_note));
	return n < CONFIG_WORKERS_MAX ? n : CONFIG_WORKERS_MAX;
}

/* The live jobs by whether a handler of the configuration runs them (live_scan()). */
struct live {
	const struct config *cfg;
	int64_t running, handled, unhandled; /* running: any type; the others: queued */
	int ntypes;
	char types[512]; /* "enrch 2, ext 1" */
};

static void
on_live(const char *type, enum job_state state, int64_t n, void *ctx)
{
	struct live *l = ctx;
	char shown[NAME_SHOWN_SIZE];
	size_t len = strlen(l->types);

	if (state == JOB_RUNNING) {
		l->running += n;
		return;
	}
	if (config_type_handled(l->cfg, type)) {
		l->handled += n;
		return;
	}
	l->unhandled += n;
	/* A type a producer inserted by SQL may hold anything: quoted the safe way. */
	if (l->ntypes++ < 20)
		snprintf(l->types + len, sizeof(l->types) - len, "%s%s %" PRId64,
		         len > 0 ? ", " : "", name_shown(type, shown, sizeof(shown)), n);
	else if (l->ntypes == 21)
		strlcat(l->types, ", ...", sizeof(l->types));
}

/* Count the live jobs into *l. Returns 0 or -errno (logged). */
static int
live_scan(struct sup *s, struct live *l)
{
	int r;

	memset(l, 0, sizeof(*l));
	l->cfg = &s->cfg;
	if ((r = store_count_live(s->st, on_live, l)) < 0)
		log_warnx("cannot count the queued jobs: %s", store_errmsg(s->st));
	return r;
}

/* Jobs that this configuration cannot run wait for external workers: say so, once at start
 * and after a reload, instead of leaving them to wait in silence. */
static void
warn_unhandled(struct sup *s)
{
	struct live l;

	if (live_scan(s, &l) == 0 && l.unhandled > 0)
		log_warnx("%" PRId64
		          " queued job%s that no handler here runs: %s (external workers: "
		          "jobq claim --type TYPE)",
		          l.unhandled, l.unhandled == 1 ? "" : "s", l.types);
}

static void
tell(struct wproc *w, char msg)
{
	if (w->ctl >= 0)
		(void)!write(w->ctl, &msg, 1);
}

/* Tell a worker to reload, handing it the configuration's descriptor (none: the default). */
static void
tell_reload(struct wproc *w, int cfgfd)
{
	char msg = WORKER_MSG_RELOAD;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = &msg, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (w->ctl < 0)
		return;
	if (cfgfd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &cfgfd, sizeof(int));
	}
	while (sendmsg(w->ctl, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static void
send_all(struct sup *s, char msg)
{
	for (int i = 0; i < s->nworkers; i++)
		tell(&s->w[i], msg);
}

/*
 * Wake-ups by what they are about (core/wake.h): one new job wakes one idle worker, not all of
 * them to race for it; more work wakes every idle worker; a cancel wakes the busy ones, which
 * look at their job's cancel request. A worker busy when work arrives claims it as soon as its
 * job is done, in the same transaction as the finish.
 */
static void
wake_workers(struct sup *s, int one, int all, int cancel)
{
	for (int i = 0; i < s->nworkers; i++) {
		struct wproc *w = &s->w[i];
		if (w->ctl < 0 || w->retired)
			continue;
		if (w->idle ? all || one > 0 : cancel) {
			if (w->idle && !all)
				one--;
			w->idle = 0;
			tell(w, WORKER_MSG_WAKE);
		}
	}
	/* A job enqueued while its would-be worker was between its empty claim and its 'i': the
	 * first worker that says it is idle gets it. */
	if (!all && one > 0) {
		s->pending += one;
		if (s->pending > s->nworkers)
			s->pending = s->nworkers;
	}
	if (all)
		s->pending = 0;
}

static int
spawn_worker(struct sup *s, int i)
{
	struct wproc *w = &s->w[i];
	char index[16];
	const char *argv[14];
	int n = 0, sv[2], r;

	snprintf(index, sizeof(index), "%d", i + 1);
	argv[n++] = s->o->self_exe;
	if (!s->db_in_env) {
		argv[n++] = "--db";
		argv[n++] = s->o->db_path;
	}
	if (s->o->config_path != NULL && s->o->config_path[0] != '\0') {
		argv[n++] = "--config";
		argv[n++] = s->o->config_path; /* its name, for messages: the text is on stdin */
	}
	if (s->o->verbose)
		argv[n++] = "--verbose";
	else if (s->o->quiet)
		argv[n++] = "--quiet";
	argv[n++] = "worker";
	argv[n++] = "--index";
	argv[n++] = index;
	if (s->cfgfd >= 0) {
		argv[n++] = "--config-fd";
		argv[n++] = "0";
	}
	argv[n] = NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("worker %d: socketpair", i + 1);
		return -errno;
	}
	struct proc_spawn sp = {
	        .argv = (char *const *)argv,
	        .envp = notify_child_env(&s->notify),
	        .stdin_fd = s->cfgfd,
	        .stdout_fd = 2,
	        .stderr_fd = 2,
	        .extra_fd = sv[1],
	};
	r = proc_spawn(&sp, &w->pid);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		w->pid = 0;
		log_errorx("worker %d: cannot start '%s': %s", i + 1, s->o->self_exe, strerror(-r));
		return r;
	}
	w->ctl = sv[0];
	w->idle = 0;
	w->started = time_mono_ms();
	w->restart_at = 0;
	if (proc_start_time(w->pid, &w->start) < 0)
		w->start = 0;
	log_debug("worker %d started, pid %d", i + 1, (int)w->pid);
	if (s->ready)
		write_runtime(s);
	return 0;
}

/* Kill what a recovered job's lost attempt left: its group (only if the group shows it is the
 * job's, see proc_kill_job()) and everything that carries that attempt's identity. Called after
 * the requeue committed, so the job may be running again: only this attempt is touched. */
static void
on_lost(const struct job *job, enum job_lost why, void *ctx)
{
	struct sup *s = ctx;

	if (!store_job_is_local(job, s->o->host)) {
		/* Another host's job whose lease expired: its processes are that host's. */
		log_warnx("job %" PRId64 ": lease expired on host '%s': requeued", job->id,
		          job->host);
		return;
	}
	if (why == JOB_LEASE_EXPIRED)
		log_warnx("job %" PRId64 ": lease expired: requeued, killing what the attempt left",
		          job->id);
	else
		log_warnx("job %" PRId64 ": worker %" PRId64 " is gone: requeued, killing what it "
		          "left",
		          job->id, job->worker_pid);
	struct jobenv_ident w;
	jobenv_ident_init(&w, job->id, job->attempts, s->o->db_path); /* ENOMEM: no env scan */
	struct proc_job pj = {
	        .pgid = (pid_t)job->pgid, .pgid_start = (uint64_t)job->pgid_start, .env = w.env};
	proc_kill_job(&pj, 0, SIGKILL);
	jobenv_ident_release(&w);
}

static void
recover(struct sup *s)
{
	struct recover_req req = {
	        .what = RECOVER_LEASES | RECOVER_OWNERS,
	        .on_lost = on_lost,
	        .ctx = s,
	        .host = s->o->host};
	int n = store_recover(s->st, &req);

	s->store_off = 0; /* the store's wake-up descriptor is looked at again (store_watch()) */
	if (n == -EBUSY && s->ready && !s->stopping) {
		/* In the loop: locked by another connection; try again soon rather than wait. */
		log_debug("recovery: %s: trying again", store_errmsg(s->st));
		s->next_recover = time_mono_ms() + RECOVER_BUSY_MS;
		return;
	}
	if (n < 0)
		log_warnx("recovery: %s", store_errmsg(s->st));
	else if (s->store_lost) {
		s->store_lost = 0;
		/* the reconnection's new data version wakes the workers */
		log_info("connected to the database again");
	}
	if (n > 0) {
		log_info("recovered %d job%s", n, n == 1 ? "" : "s");
		wake_workers(s, 0, 1, 0);
	}
	s->next_recover = time_mono_ms() + RECOVER_EVERY_MS;
}

/* The store's connection was found lost (PostgreSQL: a server restarted, a network cut): its
 * wake-ups stop until it is made again, which the next call does, so recovery (which also
 * reports it) runs soon rather than up to RECOVER_EVERY_MS later, and then every
 * RECOVER_BUSY_MS while the server cannot be reached (the driver tries at most once a second). */
static void
store_lost(struct sup *s)
{
	int64_t soon = time_mono_ms() + RECONNECT_SOON_MS;

	if (!s->store_lost)
		log_warnx("lost the connection to the database: connecting again");
	s->store_lost = 1;
	s->store_off = 1;
	if (s->next_recover > soon)
		s->next_recover = soon;
}

static void
on_reaped(pid_t pid, int status, void *ctx)
{
	struct sup *s = ctx;

	for (int i = 0; i < s->nworkers; i++) {
		struct wproc *w = &s->w[i];
		if (w->pid != pid)
			continue;
		w->pid = 0;
		if (w->ctl >= 0)
			close(w->ctl);
		w->ctl = -1;
		reportdir_cleanup(pid); /* a killed worker's JOBQ_REPORT folder */
		if (s->stopping || w->retired) {
			if (proc_status_code(status) == WORKER_EXIT_UNFINISHED) {
				s->unfinished++; /* it logged which job */
				log_warnx("worker %d exited %d: its job's outcome could not be "
				          "recorded",
				          i + 1, WORKER_EXIT_UNFINISHED);
			} else {
				log_debug("worker %d exited", i + 1);
			}
			return;
		}
		int64_t now = time_mono_ms(), delay;
		if (now - w->started > HEALTHY_AFTER_MS)
			w->restarts = 0;
		delay = RESTART_MIN_MS << (w->restarts < 7 ? w->restarts : 7);
		if (delay > RESTART_MAX_MS)
			delay = RESTART_MAX_MS;
		w->restarts++;
		s->worker_restarts++;
		w->restart_at = now + delay;
		log_warnx("worker %d (pid %d) died with status %d: restarting in %" PRId64 "ms",
		          i + 1, (int)pid, proc_status_code(status), delay);
		write_runtime(s);
		s->next_recover = 0; /* its job goes back to the queue now */
		s->kill_strays = 1;
		return;
	}
	s->kill_strays = 1;
	s->orphans_reaped++;
	s->runtime_dirty = s->ready; /* once per turn of the loop, not once per orphan */
	log_debug("reaped orphan %d (status %d)", (int)pid, proc_status_code(status));
}

/*
 * Live workers are child subreapers, so a process re-parented to the supervisor comes from a
 * worker that died: what its job left. Recovery kills it by the job's group and environment;
 * this catches the rest (a process that cleared its environment and left the group).
 */
static void
kill_strays(struct sup *s)
{
	pid_t kids[256];
	int n = proc_children(kids, 256);

	s->kill_strays = 0;
	for (int k = 0; k < n; k++) {
		int worker = 0;
		for (int i = 0; i < s->nworkers && !worker; i++)
			worker = s->w[i].pid == kids[k];
		if (worker)
			continue;
		log_warnx("killing process %d left by a dead worker's job", (int)kids[k]);
		kill(kids[k], SIGKILL);
		kill(-kids[k], SIGKILL);
	}
}

static void
begin_stop(struct sup *s, const char *why)
{
	if (s->stopping)
		return;
	log_info("%s: stopping", why);
	notify_stopping(&s->notify);
	s->stopping = 1;
	s->kill_at = time_mono_ms() + s->cfg.grace_ms + KILL_MARGIN_MS;
	send_all(s, WORKER_MSG_SHUTDOWN);
}

static void
reload(struct sup *s)
{
	struct config next;
	char err[256];
	int want, fd;

	notify_reloading(&s->notify);
	if (load_config(s, &next, &fd) < 0) {
		log_errorx("reload refused: keeping the previous configuration");
		notify_ready(&s->notify, "reload refused: keeping the previous configuration");
		return;
	}
	if (metrics_http_listen(&s->http, next.metrics_listen, err, sizeof(err)) < 0) {
		log_errorx("config '%s': %s", s->o->config_path, err);
		log_errorx("reload refused: keeping the previous configuration");
		notify_ready(&s->notify, "reload refused: keeping the previous configuration");
		config_release(&next);
		if (fd >= 0)
			close(fd);
		return;
	}
	config_release(&s->cfg);
	s->cfg = next;
	s->next_schedules = 0; /* schedules may have come or gone */
	if (store_set_durability(s->st, !s->cfg.synchronous_full) < 0)
		log_warnx("%s", store_errmsg(s->st));
	if (s->cfgfd >= 0)
		close(s->cfgfd);
	s->cfgfd = fd;
	for (int i = 0; i < s->nworkers; i++)
		tell_reload(&s->w[i], s->cfgfd);
	want = worker_target(s);
	for (int i = 0; i < s->nworkers; i++) {
		int retire = i >= want;
		if (retire && !s->w[i].retired && s->w[i].ctl >= 0)
			(void)!write(s->w[i].ctl, &(char){WORKER_MSG_SHUTDOWN}, 1);
		s->w[i].retired = retire;
	}
	for (int i = s->nworkers; i < want; i++) {
		s->w[i] = (struct wproc){.ctl = -1};
		spawn_worker(s, i);
	}
	if (want > s->nworkers)
		s->nworkers = want;
	for (int i = 0; i < want; i++)
		if (s->w[i].pid == 0 && s->w[i].restart_at == 0)
			s->w[i].restart_at = time_mono_ms();
	log_info("configuration reloaded: %d worker%s%s%s%s", want, want == 1 ? "" : "s",
	         s->workers_note[0] != '\0' ? " (" : "", s->workers_note,
	         s->workers_note[0] != '\0' ? ")" : "");
	s->target = want;
	write_runtime(s);
	notify_ready(&s->notify, "configuration reloaded");
	warn_unhandled(s);
}

/* Source: the signalfd. TERM/INT stop, HUP reloads, SIGCHLD (and every turn of it) reaps. */
static void
on_signals(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			begin_stop(s, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		case SIGHUP:
			if (s->stopping)
				log_warnx("SIGHUP while stopping: ignored");
			else
				reload(s);
			break;
		}
	}
	proc_reap(on_reaped, s);
}

/*
 * --drain: stop once nothing runs and nothing this configuration can run is queued. Jobs of
 * types without a handler here (left to external workers, or a type a producer misspelt through
 * SQL) would never leave the queue: they are named, and the exit is 1 instead of 0.
 */
static void
drain_check(struct sup *s)
{
	struct live l;

	s->check_drain = 0;
	s->next_drain_check = time_mono_ms() + DRAIN_CHECK_MS;
	if (live_scan(s, &l) < 0 || l.running > 0 || l.handled > 0)
		return;
	if (l.unhandled > 0) {
		log_warnx(
		        "drained what this configuration can run: %" PRId64 " job%s left queued "
		        "that no handler here runs: %s (external workers: jobq claim --type TYPE)",
		        l.unhandled, l.unhandled == 1 ? "" : "s", l.types);
		s->left_unhandled = 1;
	}
	begin_stop(s, "drained");
}

static int
live_workers(const struct sup *s)
{
	int n = 0;
	for (int i = 0; i < s->nworkers; i++)
		n += s->w[i].pid != 0;
	return n;
}

/*
 * The pid file, made safe for libbsd's pidfile_open() (which follows symbolic links): created
 * here without following one, and refused unless it is a file jobq trusts. In a folder where
 * nobody else can replace it (core/trust.h) it stays that file. Returns 0 or an exit code.
 */
static int
pidfile_check(const char *path)
{
	char why[512];
	struct stat st;
	int fd, r;

	/* lstat first: with fs.protected_symlinks, open() of a planted link fails with EACCES */
	int link = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);

	if (link ||
	    (fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600)) < 0) {
		if (link || errno == ELOOP) {
			log_errorx("refusing '%s': a symbolic link", path);
			return EX_NOPERM;
		}
		log_error("cannot create pid file '%s'", path);
		return EX_CANTCREAT;
	}
	r = trust_fd(fd, path, TRUST_DATA, why, sizeof(why));
	close(fd);
	if (r < 0) {
		log_errorx("%s", r == -EPERM ? why : strerror(-r));
		return EX_NOPERM;
	}
	return 0;
}

/*
 * One supervisor per database file, whatever its name: an exclusive flock() on the file itself
 * (locks belong to the inode, so another path to it, through a bind mount say, meets this one).
 * The pid file's lock says the same for people and names the pid. SQLite's own locks are POSIX
 * record locks, which flock() does not touch on a local file system; but closing any descriptor
 * of the file drops them, so lockfd stays open until the store is closed. It is taken before
 * SQLite opens the file: through another name SQLite would use another -wal and -shm.
 */
static int
lock_database(struct sup *s)
{
	const char *path = s->o->db_path;

	if (db_local_is_pg(path))
		return 0; /* no file here: the pid file's lock in the state folder is the lock */
	if ((s->lockfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ENOENT && s->st == NULL)
			return 0; /* a new file has no other name: the store creates it, then we
			             lock */
		if (errno == ELOOP) {
			log_errorx("refusing '%s': a symbolic link", path);
			return EX_NOPERM;
		}
		log_error("cannot open database '%s'", path);
		return EX_NOINPUT;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			log_errorx("a supervisor is already running for '%s' under another name",
			           path);
			return EX_TEMPFAIL;
		}
		log_error("cannot lock database '%s'", path);
		return EX_IOERR;
	}
	return 0;
}

static int
setup(struct sup *s)
{
	char path[4096], err[512];
	struct store_opts so = {.create = 1};
	pid_t other = 0;
	int r;

	/* A PostgreSQL queue's local files go to the state folder: made here, checked. */
	if ((r = db_local_base(s->o->db_path, DB_LOCAL_CREATE, path, sizeof(path), err,
	                       sizeof(err))) < 0) {
		log_errorx("%s", err[0] != '\0' ? err : strerror(-r));
		return r == -EPERM ? EX_NOPERM : EX_CANTCREAT;
	}
	if (runtime_path(s->o->db_path, ".pid", path, sizeof(path)) < 0)
		return EX_USAGE;
	if ((r = pidfile_check(path)) != 0)
		return r;
	if ((s->pfh = pidfile_open(path, 0600, &other)) == NULL) {
		if (errno == EEXIST) {
			log_errorx("a supervisor is already running for '%s' (pid %d)", s->shown,
			           (int)other);
			return EX_TEMPFAIL;
		}
		log_error("cannot create pid file '%s'", path);
		return EX_CANTCREAT;
	}
	if (pidfile_write(s->pfh) < 0) {
		log_error("cannot write pid file '%s'", path);
		return EX_IOERR;
	}
	if ((r = load_config(s, &s->cfg, &s->cfgfd)) < 0)
		return r == -EPERM ? EX_NOPERM : EX_CONFIG;
	if ((r = lock_database(s)) != 0)
		return r;
	so.durability_fast = !s->cfg.synchronous_full;
	if ((r = store_open(s->o->db_path, &so, &s->st, err, sizeof(err))) < 0) {
		log_errorx("%s", err); /* names the database */
		return exitcode_open(r);
	}
	store_set_host(s->st, s->o->host, 1);
	if (s->lockfd < 0 && (r = lock_database(s)) != 0)
		return r;
	if (store_wait_fd(s->st) >= 0) {
		s->store_waits = 1;
		s->store_version = store_data_version(s->st);
	}
	if (proc_subreaper() < 0)
		log_warn("cannot become a child subreaper");
	if ((s->sigfd = proc_signalfd()) < 0) {
		errno = -s->sigfd;
		log_error("cannot set up signals");
		return EX_SOFTWARE;
	}
	if ((s->wakefd = wake_open(s->o->db_path)) < 0) {
		if (s->wakefd == -EPERM || s->wakefd == -ELOOP) {
			log_errorx("refusing the wake-up FIFO of '%s': %s", s->shown,
			           s->wakefd == -EPERM ? "it belongs to another user"
			                               : "a symbolic link");
			return EX_NOPERM;
		}
		log_errorx("cannot create the wake-up FIFO of '%s': %s", s->shown,
		           s->wakefd == -EEXIST ? "a file that is not a FIFO is in the way"
		                                : strerror(-s->wakefd));
		return EX_CANTCREAT;
	}
	if ((r = metrics_http_listen(&s->http, s->cfg.metrics_listen, err, sizeof(err))) < 0) {
		log_errorx("config '%s': %s", s->o->config_path, err);
		return r == -EADDRINUSE ? EX_TEMPFAIL : EX_CONFIG;
	}
	/* What the previous run left: jobs of dead owners, their processes, their folders. */
	recover(s);
	reportdir_cleanup(0);
	return 0;
}

/* What the runtime file says, and the metrics of the supervisor. */
static void
fill_runtime(struct sup *s, struct runtime_info *out)
{
	struct runtime_info ri;

	memset(&ri, 0, sizeof(ri));
	ri.schema_version = RUNTIME_SCHEMA_VERSION;
	ri.pid = getpid();
	if (proc_start_time(ri.pid, &ri.pid_start) < 0)
		ri.pid_start = 0;
	ri.started_at = s->started_at;
	strlcpy(ri.database, s->shown, sizeof(ri.database));
	strlcpy(ri.host, s->o->host, sizeof(ri.host));
	ri.workers = s->target;
	strlcpy(ri.workers_note, s->workers_note, sizeof(ri.workers_note));
	for (int i = 0; i < s->nworkers && ri.nworker_pids < CONFIG_WORKERS_MAX; i++)
		if (s->w[i].pid != 0)
			ri.worker_pids[ri.nworker_pids++] = s->w[i].pid;
	wake_path(s->o->db_path, ri.wake, sizeof(ri.wake));
	ri.worker_restarts = s->worker_restarts;
	ri.orphans_reaped = s->orphans_reaped;
	metrics_http_address(&s->http, ri.metrics, sizeof(ri.metrics));
	*out = ri;
}

static int
write_runtime(struct sup *s)
{
	struct runtime_info ri;
	int r;

	fill_runtime(s, &ri);
	if ((r = runtime_write(s->o->db_path, &ri)) < 0)
		log_warnx("cannot write the runtime file: %s", strerror(-r));
	return r;
}

/* The body of GET /metrics (metrics_http.h): what `jobq metrics` prints, live. */
static int
render_metrics(void *ctx, char **body, size_t *len)
{
	struct sup *s = ctx;
	struct runtime_info ri;
	char err[512];
	int r;

	fill_runtime(s, &ri);
	if ((r = metrics_render(s->st, &s->cfg, &ri, body, len, err, sizeof(err))) < 0)
		log_warnx("metrics: %s", err);
	return r;
}

/*
 * Idle workers wait on the FIFO themselves, one woken per byte (core/wake.h): while one does,
 * the supervisor leaves the FIFO to them; it reads it when no worker listens (all busy: a
 * cancel, or a job kept for the first worker to finish).
 */
static int
fifo_left_to_workers(const struct sup *s)
{
	for (int i = 0; i < s->nworkers; i++)
		if (s->w[i].ctl >= 0 && s->w[i].idle && s->w[i].listens && !s->w[i].retired)
			return 1;
	return 0;
}

/* A worker's messages: idle, busy, and the wake-ups it read from the FIFO and passes on. */
static void
worker_says(struct sup *s, struct wproc *w, const char *buf, ssize_t n)
{
	int one = 0, all = 0, cancel = 0;

	for (ssize_t b = 0; b < n; b++) {
		if (buf[b] == WORKER_MSG_IDLE || buf[b] == WORKER_MSG_LISTENING) {
			w->idle = 1;
			w->listens = buf[b] == WORKER_MSG_LISTENING;
			s->check_drain = 1;
		} else if (buf[b] == WORKER_MSG_BUSY) {
			w->idle = 0;
		} else {
			one += buf[b] == WAKE_ONE;
			all |= buf[b] == WAKE_ALL;
			cancel |= buf[b] == WAKE_CANCEL;
		}
	}
	if (one > 0 || all)
		w->idle = 0; /* it claims, or it was busy already */
	if ((one > 0 || all || cancel) && !s->stopping)
		wake_workers(s, one, all, cancel);
}

/* Write this host's row of the hosts table (store_hosts.h): at start, then every
 * STORE_HOST_BEAT_MS. A locked database is tried again soon, as recovery is; another failure is
 * logged and tried again at the next beat. */
static void
beat(struct sup *s, int64_t now)
{
	struct store_host h = {.id = s->o->host,
	                       .pid = getpid(),
	                       .started_at = s->started_at,
	                       .seen_at = time_now_ms(),
	                       .workers = s->target,
	                       .version = JOBQ_VERSION};
	int r = store_host_beat(s->st, &h);

	s->next_beat = now + (r == -EBUSY ? RECOVER_BUSY_MS : STORE_HOST_BEAT_MS);
	if (r < 0 && r != -EBUSY)
		log_warnx("heartbeat: %s", store_errmsg(s->st));
}

/* Enqueue the due ticks of the schedules (supervisor/schedules.c) and wake idle workers. */
static void
run_schedules(struct sup *s, int64_t now)
{
	int64_t wait = -1;

	if (schedules_run(s->st, &s->cfg, &wait) > 0)
		wake_workers(s, 0, 1, 0);
	s->next_schedules = wait < 0 ? -1 : now + wait;
}

/* A new data version of the store (on PostgreSQL: notifications read, another process made a
 * job runnable): every idle worker claims, since a notification may stand for many jobs (a
 * bulk enqueue, a resume). Returns 1 woken, 0 nothing new. */
static int
store_woken(struct sup *s)
{
	int64_t v = store_data_version(s->st);

	if (v < 0 || v == s->store_version)
		return 0;
	s->store_version = v;
	if (!s->stopping)
		wake_workers(s, 0, 1, 0);
	return 1;
}

/*
 * The loop: tick() runs what is due and gives the time to the next deadline; watch() collects
 * the sources' pollfds, each marked with its source (and a worker's index); after poll(),
 * dispatch() calls each ready source's handler. One more source: an enum value, its pollfds in
 * watch(), its handler in dispatch().
 */
enum sup_source {
	SRC_SIGNALS, /* the signalfd: on_signals() */
	SRC_FIFO,    /* the wake-up FIFO: on_fifo() */
	SRC_STORE,   /* the store's wake-ups from other hosts (store_wait_fd()): on_store() */
	SRC_WORKER,  /* a worker's control socket (arg: its index): on_worker() */
	SRC_METRICS, /* the metrics endpoint's socket and clients: on_metrics(), every turn */
};

#define WATCH_MAX (CONFIG_WORKERS_MAX + 3 + METRICS_HTTP_POLLFDS)

struct watch {
	struct pollfd fds[WATCH_MAX];
	unsigned char src[WATCH_MAX]; /* enum sup_source */
	int arg[WATCH_MAX];           /* SRC_WORKER: the worker's index */
	int n;
	int metrics0, nmetrics; /* the metrics endpoint's fds: last, handled together */
};

static void
watch_add(struct watch *wt, int fd, short events, enum sup_source src, int arg)
{
	wt->fds[wt->n] = (struct pollfd){.fd = fd, .events = events};
	wt->src[wt->n] = (unsigned char)src;
	wt->arg[wt->n++] = arg;
}

/* Lower *timeout (-1: none) to left ms, clamped to what poll() takes (a grace of days). */
static void
lower_timeout(int64_t left, int *timeout)
{
	if (left < 0)
		left = 0;
	if (left > INT_MAX)
		left = INT_MAX;
	if (*timeout < 0 || left < *timeout)
		*timeout = (int)left;
}

/*
 * Run what is due: the kill deadline when stopping, recovery, the schedules, strays, the
 * runtime file, the drain check, worker restarts, systemd's status and watchdog. Sets *timeout
 * to the ms until the next deadline (those, and the metrics clients'), -1 for none. Returns 1
 * when the loop is over (stopping and no worker left), else 0.
 */
static int
tick(struct sup *s, int *timeout)
{
	int64_t now = time_mono_ms();

	*timeout = -1;
	if (s->stopping && live_workers(s) == 0)
		return 1;
	if (s->stopping && now >= s->kill_at) {
		log_warnx("workers still running after the grace period: killing them");
		for (int i = 0; i < s->nworkers; i++)
			if (s->w[i].pid != 0)
				kill(s->w[i].pid, SIGKILL);
		s->kill_at = now + 1000;
	}
	if (!s->stopping && now >= s->next_recover)
		recover(s);
	if (!s->stopping && s->next_schedules >= 0 && now >= s->next_schedules)
		run_schedules(s, now);
	if (!s->stopping && now >= s->next_beat)
		beat(s, now);
	if (s->kill_strays)
		kill_strays(s);
	if (s->runtime_dirty) {
		s->runtime_dirty = 0;
		write_runtime(s);
	}
	if (!s->stopping && s->o->drain && (s->check_drain || now >= s->next_drain_check))
		drain_check(s);
	for (int i = 0; !s->stopping && i < s->nworkers; i++) {
		struct wproc *w = &s->w[i];
		if (w->pid == 0 && !w->retired && w->restart_at > 0) {
			if (now >= w->restart_at)
				spawn_worker(s, i);
			if (w->pid == 0 && now >= w->restart_at)
				w->restart_at = now + RESTART_MAX_MS;
			int64_t left = w->restart_at - now;
			if (w->pid == 0 && (*timeout < 0 || left < *timeout))
				*timeout = (int)left;
		}
	}
	/* The metrics endpoint's clients and systemd. */
	int64_t extra = metrics_http_timeout(&s->http, now), ntf;
	ntf = notify_loop(&s->notify, s->st, live_workers(s), s->stopping, now);
	if (s->store_waits && !s->store_off && store_wait_fd(s->st) >= 0)
		store_woken(s); /* notify_loop() may have read the data version (notifications) */
	if (s->store_waits && !s->store_off && store_wait_fd(s->st) < 0)
		store_lost(s); /* found lost by any call: no descriptor until it is made again */
	if (ntf >= 0 && (extra < 0 || ntf < extra))
		extra = ntf;
	if (extra >= 0 && (*timeout < 0 || extra < *timeout))
		*timeout = (int)(extra < INT_MAX ? extra : INT_MAX);
	int64_t next = s->stopping ? s->kill_at : s->next_recover;
	if (!s->stopping && s->o->drain && s->next_drain_check < next)
		next = s->next_drain_check;
	if (!s->stopping && s->next_schedules >= 0 && s->next_schedules < next)
		next = s->next_schedules;
	if (!s->stopping && s->next_beat < next)
		next = s->next_beat;
	lower_timeout(next - now, timeout);
	return 0;
}

/* The sources of this turn: the signals, the FIFO (left to the workers while one listens),
 * the workers' control sockets, then the metrics endpoint. */
static void
watch(struct sup *s, struct watch *wt)
{
	wt->n = 0;
	watch_add(wt, s->sigfd, POLLIN, SRC_SIGNALS, 0);
	watch_add(wt, s->wakefd, fifo_left_to_workers(s) ? 0 : POLLIN, SRC_FIFO, 0);
	int storefd = s->store_off ? -1 : store_wait_fd(s->st);
	if (storefd >= 0)
		watch_add(wt, storefd, POLLIN, SRC_STORE, 0);
	for (int i = 0; i < s->nworkers; i++)
		if (s->w[i].ctl >= 0)
			watch_add(wt, s->w[i].ctl, POLLIN, SRC_WORKER, i);
	wt->metrics0 = wt->n;
	wt->nmetrics = metrics_http_pollfds(&s->http, wt->fds + wt->n);
	for (int k = wt->n; k < wt->n + wt->nmetrics; k++) {
		wt->src[k] = SRC_METRICS;
		wt->arg[k] = 0;
	}
	wt->n += wt->nmetrics;
}

/* Source: the FIFO's wake-ups (nobody listens on it: see fifo_left_to_workers()). */
static void
on_fifo(struct sup *s)
{
	char buf[256];
	int one = 0, all = 0, cancel = 0;
	ssize_t n;

	while ((n = read(s->wakefd, buf, sizeof(buf))) > 0) {
		for (ssize_t b = 0; b < n; b++) {
			one += buf[b] == WAKE_ONE;
			cancel |= buf[b] == WAKE_CANCEL;
			all |= buf[b] != WAKE_ONE && buf[b] != WAKE_CANCEL;
		}
	}
	if (!s->stopping)
		wake_workers(s, one, all, cancel);
}

/* After store_data_version() read it: the store's descriptor is readable still. */
static int
store_still_readable(struct sup *s)
{
	struct pollfd p = {.fd = store_wait_fd(s->st), .events = POLLIN};

	return p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

/* Source: the store's wake-up descriptor. A broken connection (POLLHUP, POLLERR) is made again
 * by a recovery run soon (store_lost()); one that stays readable after it was read, three times
 * in a row with no new version, is not polled again until the next recovery (store_off), which
 * looks again: the loop never spins on it. Notifications skipped as this host's own (its
 * workers' finishes) are read and gone: they do not count. */
static void
on_store(struct sup *s, short revents)
{
	if ((revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) {
		store_lost(s); /* the server closed it: recovery connects again soon */
		return;
	}
	if (store_woken(s) || !store_still_readable(s))
		s->store_idle_reads = 0; /* new, or drained: this host's own notifications */
	else if (++s->store_idle_reads >= 3) {
		log_debug("the store's wake-ups: readable for nothing, until the next recovery");
		s->store_off = 1;
		s->store_idle_reads = 0;
	}
}

/* Source: worker i's control socket. EOF: its SIGCHLD follows and is handled there. */
static void
on_worker(struct sup *s, int i)
{
	struct wproc *w = &s->w[i];
	char buf[256];
	ssize_t n;

	if ((n = read(w->ctl, buf, sizeof(buf))) <= 0)
		return;
	worker_says(s, w, buf, n);
	if (w->idle && s->pending > 0 && !s->stopping) {
		s->pending--;
		w->idle = 0;
		tell(w, WORKER_MSG_WAKE);
	}
}

/* Source: the metrics endpoint, every turn (it also closes clients past their deadline). */
static void
on_metrics(struct sup *s, const struct watch *wt)
{
	metrics_http_handle(&s->http, wt->fds + wt->metrics0, wt->nmetrics, time_mono_ms());
}

/* Call the handlers of the ready sources: the metrics endpoint, then the others from the last
 * pollfd to the first, so that workers' messages come before the FIFO (a wake-up must see who
 * just became idle) and the signals last. */
static void
dispatch(struct sup *s, const struct watch *wt)
{
	on_metrics(s, wt);
	for (int k = wt->metrics0 - 1; k >= 0; k--) {
		if (wt->fds[k].revents == 0)
			continue;
		switch ((enum sup_source)wt->src[k]) {
		case SRC_SIGNALS:
			on_signals(s);
			break;
		case SRC_FIFO:
			on_fifo(s);
			break;
		case SRC_STORE:
			on_store(s, wt->fds[k].revents);
			break;
		case SRC_WORKER:
			on_worker(s, wt->arg[k]);
			break;
		case SRC_METRICS:
			break;
		}
	}
}

/* Returns 0 when stopped, 70 when poll() failed. */
static int
loop(struct sup *s)
{
	struct watch wt;

	/* A stopping worker gives up on an outcome it cannot record before it would be killed. */
	_Static_assert(WORKER_FINISH_MARGIN_MS < KILL_MARGIN_MS, "worker gives up after the kill");
	for (;;) {
		int timeout;

		if (tick(s, &timeout))
			break;
		watch(s, &wt);
		if (poll(wt.fds, (nfds_t)wt.n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll");
			return EX_SOFTWARE;
		}
		dispatch(s, &wt);
	}
	return 0;
}

/* The ids of the jobs left running by this host's dead workers, for the log. */
struct left_running {
	const char *host;
	char ids[256];
	int n;
};

static int
on_running(const struct job *job, void *ctx)
{
	struct left_running *l = ctx;
	size_t len = strlen(l->ids);

	/* Not counted: another host's job, its supervisor's to recover (on a shared PostgreSQL
	 * queue its worker's pid means nothing here: just killed, or reused), an external
	 * claimer's (its lease counts), a live worker's. */
	if (!store_job_is_local(job, l->host) || !store_owner_gone(job))
		return 0;
	if (l->n++ < 20)
		snprintf(l->ids + len, sizeof(l->ids) - len, "%s%" PRId64, len > 0 ? ", " : "",
		         job->id);
	else if (l->n == 21)
		snprintf(l->ids + len, sizeof(l->ids) - len, ", ...");
	return 0;
}

/* After the last recovery: the jobs still running whose worker is gone could be neither finished
 * nor requeued (the database cannot be written). Logs them; returns how many. */
static int
report_left_running(struct sup *s)
{
	struct left_running l = {.host = s->o->host, .n = 0};
	int r;

	if ((r = store_list_running(s->st, on_running, &l)) < 0) {
		log_warnx("cannot list the running jobs: %s", store_errmsg(s->st));
		return 0;
	}
	if (l.n > 0)
		log_errorx("job%s %s left running: %s not be finished or requeued; the next "
		           "supervisor's recovery requeues %s, the attempt counted",
		           l.n == 1 ? "" : "s", l.ids, l.n == 1 ? "it could" : "they could",
		           l.n == 1 ? "it" : "them");
	return l.n;
}

int
supervisor_run(const struct supervisor_opts *o)
{
	struct sup s;
	int code, r;

	memset(&s, 0, sizeof(s));
	s.o = o;
	/* A database name holding a password reaches the workers in their environment, which
	 * only their user can read, never in their command line, which `ps` shows to all. */
	s.db_in_env = conninfo_mask(o->db_path, s.shown, sizeof(s.shown)) != 0;
	/* The workers claim as this host: they resolve their id as we did, JOBQ_HOST first. */
	if (setenv(HOSTID_ENV, o->host, 1) < 0 ||
	    (s.db_in_env && setenv("JOBQ_DB", o->db_path, 1) < 0)) {
		log_error("cannot set the workers' environment");
		return EX_OSERR;
	}
	s.sigfd = s.wakefd = s.lockfd = s.cfgfd = -1;
	config_init_default(&s.cfg);
	notify_init(&s.notify);
	metrics_http_init(&s.http, render_metrics, &s);
	for (int i = 0; i < CONFIG_WORKERS_MAX; i++)
		s.w[i].ctl = -1;
	s.started_at = time_now_ms();
	if ((code = setup(&s)) != 0)
		goto out;
	s.nworkers = s.target = worker_target(&s);
	for (int i = 0; i < s.nworkers; i++)
		if (spawn_worker(&s, i) < 0)
			s.w[i].restart_at = time_mono_ms() + RESTART_MIN_MS;
	setproctitle("supervisor: %d worker%s, %s", s.nworkers, s.nworkers == 1 ? "" : "s",
	             s.shown);
	beat(&s, time_mono_ms());
	write_runtime(&s);
	s.ready = 1;
	notify_ready(&s.notify, "recovered; workers started");
	log_info("supervising '%s' with %d worker%s%s%s%s (pid %d)", s.shown, s.nworkers,
	         s.nworkers == 1 ? "" : "s", s.workers_note[0] != '\0' ? " (" : "", s.workers_note,
	         s.workers_note[0] != '\0' ? ")" : "", (int)getpid());
	warn_unhandled(&s);
	s.check_drain = o->drain;
	/* The loop never sits in the busy handler (up to 5 s deaf to signals and workers): a
	 * locked scan is tried again at a later tick. The last recovery below waits as usual. */
	store_set_busy_timeout(s.st, STORE_LOOP_BUSY_MS);
	int lc = loop(&s);
	store_set_busy_timeout(s.st, 0);
	/* Jobs of workers killed at the end go back to the queue; nothing of theirs survives. */
	proc_reap(on_reaped, &s);
	recover(&s);
	int left = report_left_running(&s);
	if ((r = store_host_remove(s.st, o->host, getpid())) < 0)
		log_warnx("cannot remove host '%s' from the hosts table: %s", o->host,
		          store_errmsg(s.st));
	runtime_remove(o->db_path);
	if (lc == 0 && (left > 0 || s.unfinished > 0)) {
		/* Neither finished nor requeued, or finished without its outcome: not a clean stop
		 */
		log_errorx("stopped: %d job outcome%s not recorded, %d job%s left running",
		           s.unfinished, s.unfinished == 1 ? "" : "s", left, left == 1 ? "" : "s");
		lc = EX_IOERR;
	} else {
		log_info("stopped");
		if (lc == 0 && s.left_unhandled)
			lc = 1; /* drained, but jobs no handler here runs are left queued */
	}
	code = lc;
out:
	for (int i = 0; i < CONFIG_WORKERS_MAX; i++)
		if (s.w[i].ctl >= 0)
			close(s.w[i].ctl);
	if (s.wakefd >= 0)
		close(s.wakefd);
	if (s.sigfd >= 0)
		close(s.sigfd);
	if (s.cfgfd >= 0)
		close(s.cfgfd);
	metrics_http_close(&s.http);
	notify_release(&s.notify);
	store_close(s.st);
	if (s.lockfd >= 0)
		close(s.lockfd); /* after the store: see lock_database() */
	config_release(&s.cfg);
	if (s.pfh != NULL)
		pidfile_remove(s.pfh);
	return code;
}
