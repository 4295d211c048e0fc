/* Process utilities: identity by pid + start time, spawn in a process group, subreaping,
 * killing a job's processes. See proc.h. */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bsd/string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"

#define ENVIRON_MAX (1024 * 1024)

/* What /proc/PID/stat says of a process. The command name may hold spaces and ')' so parsing
 * starts after the last ')': field 3 is the state, 4 the parent, 5 the process group, 22 the
 * start time. */
struct pstat {
	char state;
	pid_t ppid, pgrp;
	uint64_t start;
};

static int
read_stat(pid_t pid, struct pstat *ps)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n == 0 ? -ESRCH : -errno;
	buf[n] = '\0';
	char *p = strrchr(buf, ')'), *end;
	if (p == NULL || p[1] != ' ' || p[2] == '\0')
		return -EINVAL;
	p += 2; /* field 3 */
	ps->state = *p;
	ps->ppid = (pid_t)strtol(p + 1, &end, 10);
	ps->pgrp = (pid_t)strtol(end, NULL, 10);
	/* skip fields 3..21 (19 fields) to reach field 22 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return -EINVAL;
		p++;
	}
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	if (errno != 0 || end == p)
		return -EINVAL;
	ps->start = v;
	return 0;
}

int
proc_start_time(pid_t pid, uint64_t *out)
{
	struct pstat ps;
	int r;

	if (pid <= 0)
		return -ESRCH;
	if ((r = read_stat(pid, &ps)) == 0)
		*out = ps.start;
	return r;
}

int
proc_alive(pid_t pid, uint64_t start)
{
	struct pstat ps;

	if (pid <= 0)
		return 0;
	if (read_stat(pid, &ps) < 0)
		return 0;
	if (ps.state == 'Z' || ps.state == 'X')
		return 0;
	return start == 0 || ps.start == start;
}

/* Find argv0 in the PATH of envp (or of this process), before fork: the child only execve()s. */
static int
resolve_command(const char *argv0, char *const *envp, char *out, size_t len)
{
	const char *path = NULL;

	if (strchr(argv0, '/') != NULL) {
		if (strlcpy(out, argv0, len) >= len)
			return -ENAMETOOLONG;
		return 0;
	}
	if (argv0[0] == '\0')
		return -ENOENT;
	for (char *const *e = envp; e != NULL && *e != NULL; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	if (path == NULL)
		path = getenv("PATH");
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	int last = -ENOENT;
	for (const char *p = path;; p++) {
		const char *colon = strchrnul(p, ':');
		size_t dlen = (size_t)(colon - p);
		int n = snprintf(out, len, "%.*s%s%s", (int)dlen, p, dlen ? "/" : "", argv0);
		if (n > 0 && (size_t)n < len) {
			if (access(out, X_OK) == 0) {
				struct stat sb;
				if (stat(out, &sb) == 0 && S_ISREG(sb.st_mode))
					return 0;
			} else if (errno == EACCES) {
				last = -EACCES;
			}
		}
		if (*colon == '\0')
			break;
		p = colon;
	}
	return last;
}

/* A mask field of /proc/self/status ("SigIgn:\t0000000000001000\n"): bit N-1 is signal N. */
static int
status_mask(const char *status, const char *field, uint64_t *out)
{
	const char *p = strstr(status, field);
	char *end;

	if (p == NULL)
		return -1;
	p += strlen(field);
	errno = 0;
	*out = strtoull(p, &end, 16);
	return errno != 0 || end == p || *end != '\n' ? -1 : 0;
}

/*
 * The signals whose disposition is not the default (ignored or caught), which the child must
 * reset: from the SigIgn and SigCgt masks of /proc/self/status, read just before vfork (nothing
 * else in a worker changes a disposition in between). The file stays open for the next spawn (a
 * pread() of it costs about 7 us, an open, read and close 16 us; resetting all 64 signals blindly
 * costs 64 rt_sigaction calls in the child, about 125 us on a paravirtualized VM, while the
 * parent waits); self tells whether it is still this process's (after a fork it would be the
 * parent's). Unknown (no /proc): all of them.
 */
static uint64_t
signals_to_reset(pid_t self)
{
	static int fd = -1;
	static pid_t fd_pid;
	char buf[8192];
	uint64_t ign, cgt;
	ssize_t n;

	if (fd >= 0 && fd_pid != self) {
		close(fd);
		fd = -1;
	}
	if (fd < 0 && (fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)) < 0)
		return UINT64_MAX;
	fd_pid = self;
	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0) {
		close(fd);
		fd = -1;
		return UINT64_MAX;
	}
	buf[n] = '\0';
	if (status_mask(buf, "\nSigIgn:\t", &ign) < 0 || status_mask(buf, "\nSigCgt:\t", &cgt) < 0)
		return UINT64_MAX;
	return ign | cgt;
}

/* Close every fd from lowfd up: close_range (Linux 5.9+), else a loop. */
static void
close_from(int lowfd)
{
	if (syscall(SYS_close_range, lowfd, ~0U, 0) != 0)
		for (int fd = lowfd; fd < 1024; fd++)
			close(fd);
}

/*
 * Set sig to its default disposition, in the vfork child. glibc's sigaction() refuses 32 and 33,
 * which it keeps for itself, so a parent that ignores them (a CI shell did) would pass them on
 * ignored: for those the kernel's own call, with an all-zero struct sigaction (SIG_DFL, no flags,
 * an empty mask, on every layout). SPARC's call takes one more argument: not there.
 */
static void
reset_signal(int sig)
{
	static const uint64_t dfl[8];

	if (signal(sig, SIG_DFL) != SIG_ERR || errno != EINVAL)
		return;
#if !defined(__sparc__)
	syscall(SYS_rt_sigaction, sig, dfl, NULL, (size_t)((NSIG - 1) / 8));
#endif
}

/*
 * The child between vfork and exec: it shares the parent's memory (the parent is suspended until
 * exec or _exit), so it only makes system calls, writes its errno into *err and never returns.
 * Signal dispositions are per process even under vfork: resetting them here does not touch the
 * parent's. reset holds the signals not at their default (bit N-1: signal N), ignored or caught:
 * a caught one must not run its handler on this stack once the mask is emptied, an ignored one
 * would stay ignored across exec. The caller blocks the signals it handles until then.
 */
static _Noreturn void
child(const struct proc_spawn *sp, const char *file, pid_t parent, uint64_t reset,
      volatile int *err)
{
	sigset_t none;

	if (setpgid(0, 0) != 0)
		goto fail;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		goto fail;
	if (getppid() != parent) { /* the parent died before prctl took effect */
		errno = ESRCH;
		goto fail;
	}
	for (int sig = 1; sig < NSIG; sig++)
		if (reset == UINT64_MAX || (sig <= 64 && (reset & (UINT64_C(1) << (sig - 1)))))
			reset_signal(sig);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	int fds[4] = {sp->stdin_fd, sp->stdout_fd, sp->stderr_fd, sp->extra_fd};
	int nfds = sp->extra_fd >= 0 ? 4 : 3;
	int devnull = -1;
	for (int i = 0; i < 3; i++) {
		if (fds[i] < 0) {
			if (devnull < 0 && (devnull = open("/dev/null", O_RDWR)) < 0)
				goto fail;
			fds[i] = devnull;
		}
	}
	/* Move the sources below nfds up first so dup2 never clobbers one still needed. */
	for (int i = 0; i < nfds; i++)
		if (fds[i] < nfds && fds[i] != i && (fds[i] = fcntl(fds[i], F_DUPFD, nfds)) < 0)
			goto fail;
	for (int i = 0; i < nfds; i++) {
		if (fds[i] == i) {
			int fl = fcntl(i, F_GETFD);
			if (fl >= 0)
				fcntl(i, F_SETFD, fl & ~FD_CLOEXEC);
		} else if (dup2(fds[i], i) < 0) {
			goto fail;
		}
	}
	close_from(nfds);
	if (sp->cwd != NULL && chdir(sp->cwd) != 0)
		goto fail;
	execve(file, sp->argv, sp->envp);
fail:
	*err = errno > 0 ? errno : EIO;
	_exit(127);
}

int
proc_spawn(const struct proc_spawn *sp, pid_t *pid_out)
{
	char file[PATH_MAX];
	volatile int err = 0;
	int r;
	pid_t pid, self = getpid();

	if (sp->argv == NULL || sp->argv[0] == NULL)
		return -EINVAL;
	if ((r = resolve_command(sp->argv[0], sp->envp, file, sizeof(file))) < 0)
		return r;
	const uint64_t reset = signals_to_reset(self);
	/* vfork, not fork: no page tables are copied and the parent takes no copy-on-write faults
	 * afterwards, which makes a spawn from a worker as cheap as posix_spawn(). posix_spawn()
	 * itself cannot set a parent-death signal. */
	if ((pid = vfork()) < 0)
		return -errno;
	if (pid == 0)
		child(sp, file, self, reset, &err);
	/* Here the child has exec'd or exited. */
	if (err != 0) {
		/* exec failed: the child exited 127; reap it here so nobody counts an orphan */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return -err;
	}
	*pid_out = pid;
	return 0;
}

int
proc_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : -errno;
}

int
proc_kill_group(pid_t pgid, uint64_t start, int sig)
{
	if (pgid <= 1)
		return -EINVAL;
	/* The leader may have exited while the group lives on: then its start time cannot be
	 * checked, and only a group whose leader is gone and whose pgid is not reused can be
	 * signalled safely. A recycled pid would be a new leader with another start time. */
	if (start != 0) {
		uint64_t st;
		int r = proc_start_time(pgid, &st);
		if (r == 0 && st != start)
			return -ESRCH;
	}
	if (kill(-pgid, sig) != 0)
		return -errno;
	return 0;
}

/* Does the NUL-separated environment block hold every entry of want (NULL-terminated)? */
static int
environ_matches(const char *env, size_t len, const char *const *want)
{
	for (const char *const *w = want; *w != NULL; w++) {
		size_t off = 0;

		while (off < len && strcmp(env + off, *w) != 0)
			off += strnlen(env + off, len - off) + 1;
		if (off >= len)
			return 0;
	}
	return 1;
}

/* Does pid run as this process's user? Another user's process is never a job's, whatever its
 * environment says (anyone can set any variable). */
static int
is_ours(pid_t pid)
{
	char path[64];
	struct stat sb;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return stat(path, &sb) == 0 && sb.st_uid == geteuid();
}

/* Is pid ours and does its environment hold every entry of w (NULL: none asked)? */
static int
carries(pid_t pid, const char *const *w)
{
	char path[64], *env = NULL;
	size_t len;
	int r;

	if (w == NULL || !is_ours(pid))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	if (file_read(path, ENVIRON_MAX, &env, &len) < 0)
		return 0;
	r = environ_matches(env, len, w);
	free(env);
	return r;
}

/* Does pid descend from this process (its parent, or its parent's parent...)? */
static int
descends(pid_t pid)
{
	pid_t self = getpid();
	struct pstat ps;

	for (int hops = 0; hops < 64 && pid > 1; hops++) {
		if (read_stat(pid, &ps) < 0)
			return 0;
		if (ps.ppid == self)
			return 1;
		pid = ps.ppid;
	}
	return 0;
}

/* Call fn for every process but this one and init; stop when it returns non-zero, and return
 * that. */
static int
each_process(int (*fn)(pid_t pid, void *ctx), void *ctx)
{
	pid_t self = getpid();
	struct dirent *de;
	DIR *d;
	int r = 0;

	if ((d = opendir("/proc")) == NULL)
		return -errno;
	while (r == 0 && (de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end == '\0' && pid > 1 && pid != self)
			r = fn((pid_t)pid, ctx);
	}
	closedir(d);
	return r;
}

struct sweep {
	const char *const *w;
	int sig, count;
};

static int
sweep_one(pid_t pid, void *ctx)
{
	struct sweep *sw = ctx;

	if (carries(pid, sw->w) && kill(pid, sw->sig) == 0)
		sw->count++;
	return 0;
}

int
proc_kill_by_env(const char *const *env, int sig)
{
	struct sweep sw = {env, sig, 0};
	int r;

	if (env == NULL || env[0] == NULL)
		return -EINVAL;
	r = each_process(sweep_one, &sw);
	return r < 0 ? r : sw.count;
}

struct member {
	pid_t pgid;
	const char *const *w;
};

/* 1 when pid is in the group and is the job's: ours, and a descendant or carrying its
 * environment entries. */
static int
member_is_jobs(pid_t pid, void *ctx)
{
	const struct member *m = ctx;
	struct pstat ps;

	if (read_stat(pid, &ps) < 0 || ps.pgrp != m->pgid)
		return 0;
	return carries(pid, m->w) || (is_ours(pid) && descends(pid));
}

/*
 * Is the group recorded for a job really that job's? A database row is no proof: anyone who can
 * write the database can write any pgid and start time there (a start time is public in
 * /proc). So, unless the caller spawned the leader itself, the group must show it: its leader
 * is the recorded process (start time), runs as this user, and descends from this process or
 * carries the job's identity; or, the leader gone, one of its processes does. A row without a
 * start time is never signalled.
 */
static int
group_is_jobs(const struct proc_job *j)
{
	struct member m = {j->pgid, j->env};
	struct pstat ps;

	if (j->own)
		return 1;
	if (j->pgid_start == 0)
		return 0;
	if (read_stat(j->pgid, &ps) == 0) {
		if (ps.start != j->pgid_start || ps.pgrp != j->pgid)
			return 0; /* a recycled pid, or a process that left its group */
		/* A leader killed with its worker and not yet reaped (its parent is gone too) shows
		 * no environment: then one of the other members must show the group is the job's.
		 */
		if (ps.state != 'Z')
			return member_is_jobs(j->pgid, &m);
	}
	return each_process(member_is_jobs, &m) == 1;
}

static int
children_from_task(pid_t *out, int max)
{
	char path[64], buf[4096];
	int fd, n = 0;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0)
		return -errno;
	if (len == (ssize_t)sizeof(buf) - 1)
		return -EFBIG; /* too many to list here: scan /proc instead */
	buf[len] = '\0';
	for (char *p = buf, *end; n < max; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		out[n++] = (pid_t)v;
	}
	return n;
}

int
proc_children(pid_t *out, int max)
{
	DIR *d;
	struct dirent *de;
	int n = children_from_task(out, max);
	pid_t self = getpid();

	if (n >= 0)
		return n;
	if ((d = opendir("/proc")) == NULL)
		return -errno;
	n = 0;
	while ((de = readdir(d)) != NULL && n < max) {
		char path[64], buf[1024], *p, *end;
		long pid = strtol(de->d_name, &end, 10);
		ssize_t len;
		int fd;

		if (*end != '\0' || pid <= 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		if ((p = strrchr(buf, ')')) == NULL || strlen(p) < 5)
			continue;
		if (strtol(p + 4, NULL, 10) == self) /* ") S PPID" */
			out[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

int
proc_kill_job(const struct proc_job *j, int children, int sig)
{
	int have = j->env != NULL && j->env[0] != NULL;
	pid_t kids[256];
	int n = 0;

	if (j->pgid > 1 && group_is_jobs(j))
		proc_kill_group(j->pgid, j->pgid_start, sig);
	if (children)
		n = proc_children(kids, 256);
	for (int i = 0; i < n; i++) {
		kill(kids[i], sig);
		if (kids[i] != j->pgid)
			kill(-kids[i], sig); /* its own group, if it made one (ESRCH otherwise) */
	}
	if (have) {
		struct sweep sw = {j->env, sig, 0};
		each_process(sweep_one, &sw);
	}
	return 0;
}

int
proc_signalfd(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return -errno;
	return fd;
}

int
proc_reap(void (*cb)(pid_t pid, int status, void *ctx), void *ctx)
{
	int status, n = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		n++;
		if (cb != NULL)
			cb(pid, status, ctx);
	}
	return n;
}

int
proc_status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 128;
}

int
proc_signal(pid_t pid, uint64_t start, int sig)
{
	int fd = -1, r = 0;

	if (pid <= 0 || start == 0)
		return -ESRCH;
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0 && errno != ENOSYS)
		return errno == ESRCH ? -ESRCH : -errno;
#endif
	/* With a pidfd, the pid names that one process from now on: check it is the one meant. */
	if (!proc_alive(pid, start))
		r = -ESRCH;
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
	else if (fd >= 0 && syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
		r = errno == ESRCH ? -ESRCH : -errno;
#endif
	else if (fd < 0 && kill(pid, sig) < 0)
		r = errno == ESRCH ? -ESRCH : -errno;
	if (fd >= 0)
		close(fd);
	return r;
}
