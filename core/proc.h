/*
 * Process utilities: identity by pid + start time, spawning a handler in its own process group,
 * child subreaping, killing a process group and the processes that carry a job's identity.
 */
#ifndef JOBQ_PROC_H
#define JOBQ_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* Start time of pid in clock ticks since boot (field 22 of /proc/PID/stat). Returns 0 or -errno
 * (-ESRCH when there is no such process). */
int proc_start_time(pid_t pid, uint64_t *out);

/* 1 if pid exists and its start time equals start (start 0: any), 0 if not. Zombies count as
 * gone. */
int proc_alive(pid_t pid, uint64_t start);

struct proc_spawn {
	char *const *argv; /* argv[0] is looked up in PATH if it holds no '/' */
	char *const *envp;
	int stdin_fd;    /* -1: /dev/null */
	int stdout_fd;   /* -1: /dev/null */
	int stderr_fd;   /* -1: /dev/null */
	const char *cwd; /* NULL: unchanged */
	int extra_fd;    /* >= 0: becomes fd 3 of the child (a control socket); -1: none */
};

/*
 * Spawn sp->argv in a new process group (pgid == pid) with PR_SET_PDEATHSIG SIGKILL, default
 * signal dispositions, an empty mask and every other fd (but extra_fd, as 3) closed. Only
 * system calls run in the child (spawned with vfork). Returns 0 with *pid_out set, or -errno: the
 * child's exec failure comes back through memory shared with the vfork child (e.g. -ENOENT for
 * a missing command).
 */
int proc_spawn(const struct proc_spawn *sp, pid_t *pid_out);

/* Become a child subreaper (PR_SET_CHILD_SUBREAPER). Returns 0 or -errno. */
int proc_subreaper(void);

/* Send sig to the process group pgid if its leader's start time still matches start (0: don't
 * check), or if the leader is gone and the group lives on (Linux does not reuse a pid while a
 * group of that id exists). sig 0 tells whether the group is there. Returns 0, -ESRCH if gone
 * or recycled, -errno. */
int proc_kill_group(pid_t pgid, uint64_t start, int sig);

/*
 * Signal every process (other than the caller) of the caller's user whose environment holds
 * every "NAME=value" entry of env (NULL-terminated, at least one): the processes a job (or one
 * attempt of it) left behind, even those that left its process group; the caller says which
 * entries identify them (queue/jobenv.h). Another user's process is never signalled, whatever
 * its environment says. Returns the number signalled (>= 0) or -errno (-EINVAL: no entry).
 */
int proc_kill_by_env(const char *const *env, int sig);

/* The pids of the caller's living children (/proc/self/task/TID/children, else a scan of /proc),
 * at most max. Returns how many were written, or -errno. */
int proc_children(pid_t *out, int max);

/* What identifies one attempt's processes. */
struct proc_job {
	pid_t pgid;             /* the handler's process group (its leader's pid), 0 none */
	uint64_t pgid_start;    /* the leader's start time: a recycled pid is never signalled */
	const char *const *env; /* "NAME=value" entries its processes carry (NULL-terminated,
	                         * queue/jobenv.h); NULL: no environment scan */
	int own; /* the caller spawned the leader itself: the group is known to be its */
};

/* Signal a job's processes: its group (proc_kill_group), but unless own is set only when the
 * group shows it is the job's (its leader, still the recorded process, runs as this user and
 * descends from the caller or carries the job's identity; or, the leader gone, one of its
 * processes does: a pgid and start time read from a database prove nothing, and a group without
 * a start time is never signalled); with children, every child of the caller and its group
 * (what a subreaper running one job got back from a double fork or setsid); every process of
 * this user that carries the job's identity in its environment. Returns 0. */
int proc_kill_job(const struct proc_job *j, int children, int sig);

/* Send sig to pid only if it is still the process that started at start (clock ticks, as
 * proc_start_time(); never 0): through a pidfd, so that the pid cannot be recycled between
 * the check and the signal (Linux 5.3+; older kernels: checked, then kill(2)). Returns 0,
 * -ESRCH when that process is gone, or -errno (-EPERM: another user's). */
int proc_signal(pid_t pid, uint64_t start, int sig);

/* The signals of a long-lived process's poll() loop: ignore SIGPIPE, block SIGCHLD, SIGTERM,
 * SIGINT and SIGHUP and return a non-blocking, close-on-exec signalfd for them, or -errno. */
int proc_signalfd(void);

/* Reap every exited child without blocking; calls cb for each (status as from waitpid).
 * Returns the number reaped. */
int proc_reap(void (*cb)(pid_t pid, int status, void *ctx), void *ctx);

/* waitpid status to an exit code: exit status, or 128 + signal. */
int proc_status_code(int status);

#endif
