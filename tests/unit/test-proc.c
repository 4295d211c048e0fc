/* Unit tests of core/proc.c and core/wake.c: identity by pid + start time, spawning in a
 * process group with an exec-error pipe, killing by group (never a recycled pid) and by job
 * environment, children of a subreaper, wake-up FIFOs. Real processes throughout. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc.h"
#include "wake.h"

extern char **environ;

static void
msleep(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static pid_t
spawn(char *const *argv, char *const *envp, int out_fd)
{
	struct proc_spawn sp = {.argv = argv,
	                        .envp = envp,
	                        .stdin_fd = -1,
	                        .stdout_fd = out_fd,
	                        .stderr_fd = -1,
	                        .extra_fd = -1};
	pid_t pid = 0;

	assert_int_equal(proc_spawn(&sp, &pid), 0);
	assert_true(pid > 0);
	return pid;
}

static int
wait_code(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return proc_status_code(status);
}

static void
test_start_time_and_alive(void **state)
{
	uint64_t st, st2;
	char *argv[] = {"sleep", "5", NULL};
	pid_t pid;

	assert_int_equal(proc_start_time(getpid(), &st), 0);
	assert_true(st > 0);
	assert_int_equal(proc_start_time(getpid(), &st2), 0);
	assert_int_equal(st, st2);
	assert_int_equal(proc_alive(getpid(), st), 1);
	assert_int_equal(proc_alive(getpid(), 0), 1);
	assert_int_equal(proc_alive(getpid(), st + 1), 0); /* a recycled pid: another start */
	assert_int_equal(proc_start_time(999999999, &st), -ESRCH);
	assert_int_equal(proc_alive(999999999, 0), 0);
	assert_int_equal(proc_alive(0, 0), 0);

	/* A zombie counts as gone. */
	pid = spawn(argv, environ, -1);
	assert_int_equal(proc_alive(pid, 0), 1);
	kill(pid, SIGKILL);
	for (int i = 0; i < 100 && proc_alive(pid, 0); i++)
		msleep(10);
	assert_int_equal(proc_alive(pid, 0), 0);
	assert_int_equal(wait_code(pid), 128 + SIGKILL);
}

static void
test_spawn_group_and_output(void **state)
{
	int p[2];
	char buf[256] = "";
	char *argv[] = {"sh", "-c", "echo $$ $(ps -o pgid= -p $$) $JOBQ_T", NULL};
	char *envp[] = {"JOBQ_T=hello", "PATH=/usr/bin:/bin", NULL};
	pid_t pid;
	long self, pgid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = spawn(argv, envp, p[1]);
	close(p[1]);
	assert_true(read(p[0], buf, sizeof(buf) - 1) > 0);
	close(p[0]);
	assert_int_equal(wait_code(pid), 0);
	char word[32] = "";
	assert_int_equal(sscanf(buf, "%ld %ld %31s", &self, &pgid, word), 3);
	assert_int_equal(self, pid);
	assert_int_equal(pgid, pid); /* its own process group */
	assert_string_equal(word, "hello");
}

static void
on_usr1(int sig)
{
	(void)sig;
}

/* The job starts with every signal at its default and none blocked, whatever the worker
 * ignores (SIGPIPE, a SIGHUP inherited from nohup), catches or blocks; the worker's own
 * dispositions stay as they were (the child resets only those not at their default, and its
 * own). */
static void
test_spawn_default_signals(void **state)
{
	struct sigaction sa = {.sa_handler = on_usr1}, old_hup, old_usr1, now;
	/* the kernel's struct sigaction with SIG_IGN (1) as its handler (handler first: x86-64, arm64) */
	uint64_t ign[4] = {1, 0, 0, 0}, old_rt[2][4];
	sigset_t block, old_mask;
	int p[2];
	char buf[4096] = "", *argv[] = {"cat", "/proc/self/status", NULL};
	ssize_t n, len = 0;
	pid_t pid;

	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old_mask), 0);
	assert_int_equal(sigaction(SIGHUP, &(struct sigaction){.sa_handler = SIG_IGN}, &old_hup),
	                 0);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old_usr1), 0);
	/* 32 and 33, which glibc's sigaction() refuses: a CI shell handed them down ignored. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(syscall(SYS_rt_sigaction, 32 + i, ign, old_rt[i], (size_t)8), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = spawn(argv, environ, p[1]);
	for (int i = 0; i < 2; i++)
		syscall(SYS_rt_sigaction, 32 + i, old_rt[i], NULL, (size_t)8);
	close(p[1]);
	while (len < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(p[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	close(p[0]);
	assert_int_equal(wait_code(pid), 0);
	assert_non_null(strstr(buf, "\nSigIgn:\t0000000000000000\n"));
	assert_non_null(strstr(buf, "\nSigBlk:\t0000000000000000\n"));
	assert_non_null(strstr(buf, "\nSigCgt:\t0000000000000000\n"));
	/* The parent's are untouched. */
	assert_int_equal(sigaction(SIGHUP, NULL, &now), 0);
	assert_true(now.sa_handler == SIG_IGN);
	assert_int_equal(sigaction(SIGUSR1, NULL, &now), 0);
	assert_true(now.sa_handler == on_usr1);
	assert_int_equal(sigaction(SIGPIPE, NULL, &now), 0);
	assert_true(now.sa_handler == SIG_IGN);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGUSR1, &old_usr1, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
}

static void
test_spawn_errors(void **state)
{
	char *missing[] = {"/nonexistent/jobq-cmd", NULL};
	char *notinpath[] = {"jobq-no-such-command-anywhere", NULL};
	char noexec[] = "/tmp/jobq-test-noexec-XXXXXX";
	int tmp = mkstemp(noexec);
	char *notexec[] = {noexec, NULL};
	struct proc_spawn sp = {.argv = missing,
	                        .envp = environ,
	                        .stdin_fd = -1,
	                        .stdout_fd = -1,
	                        .stderr_fd = -1,
	                        .extra_fd = -1};
	pid_t pid = 0;

	assert_int_equal(proc_spawn(&sp, &pid), -ENOENT);
	sp.argv = notinpath;
	assert_int_equal(proc_spawn(&sp, &pid), -ENOENT);
	assert_true(tmp >= 0);
	assert_int_equal(write(tmp, "#!/bin/sh\n", 10), 10);
	close(tmp);
	assert_int_equal(chmod(noexec, 0600), 0);
	sp.argv = notexec;
	assert_int_equal(proc_spawn(&sp, &pid), -EACCES);
	assert_int_equal(chmod(noexec, 0700), 0); /* now it runs */
	assert_int_equal(proc_spawn(&sp, &pid), 0);
	assert_int_equal(wait_code(pid), 0);
	unlink(noexec);
	sp.argv = NULL;
	assert_int_equal(proc_spawn(&sp, &pid), -EINVAL);
	/* nothing was left to reap */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void
test_spawn_closes_fds(void **state)
{
	int p[2], leak = open("/dev/null", O_RDONLY); /* not close-on-exec: must not leak */
	char buf[64] = "";
	char *argv[] = {"sh", "-c", "ls /proc/self/fd | wc -l", NULL};
	pid_t pid;

	assert_true(leak >= 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = spawn(argv, environ, p[1]);
	close(p[1]);
	assert_true(read(p[0], buf, sizeof(buf) - 1) > 0);
	close(p[0]);
	close(leak);
	assert_int_equal(wait_code(pid), 0);
	/* 0, 1, 2 and the fd of ls reading /proc/self/fd */
	assert_int_equal(atoi(buf), 4);
}

static void
test_kill_group_checks_start(void **state)
{
	char *argv[] = {"sleep", "30", NULL};
	pid_t pid = spawn(argv, environ, -1);
	uint64_t st;

	assert_int_equal(proc_start_time(pid, &st), 0);
	/* Another start time: the pid is not the recorded one, nothing is sent. */
	assert_int_equal(proc_kill_group(pid, st + 1, SIGKILL), -ESRCH);
	msleep(20);
	assert_int_equal(proc_alive(pid, st), 1);
	assert_int_equal(proc_kill_group(pid, st, SIGKILL), 0);
	assert_int_equal(wait_code(pid), 128 + SIGKILL);
	assert_int_equal(proc_kill_group(1, 0, 0), -EINVAL);
}

static void
test_kill_by_env(void **state)
{
	char *argv[] = {"sleep", "30", NULL};
	char *match[] = {"JOBQ_JOB_ID=4242", "JOBQ_DB=/tmp/jobq-test-proc.db", "JOBQ_ATTEMPT=2",
	                 NULL};
	char *other_db[] = {"JOBQ_JOB_ID=4242", "JOBQ_DB=/tmp/other.db", NULL};
	char *other_id[] = {"JOBQ_JOB_ID=42420", "JOBQ_DB=/tmp/jobq-test-proc.db", NULL};
	pid_t a = spawn(argv, match, -1), b = spawn(argv, other_db, -1),
	      c = spawn(argv, other_id, -1);

	const char *attempt3[] = {"JOBQ_JOB_ID=4242", "JOBQ_DB=/tmp/jobq-test-proc.db",
	                          "JOBQ_ATTEMPT=3", NULL};
	const char *any[] = {"JOBQ_JOB_ID=4242", "JOBQ_DB=/tmp/jobq-test-proc.db", NULL};
	const char *none[] = {NULL};

	/* another attempt of the job is spared when the attempt is named */
	assert_int_equal(proc_kill_by_env(attempt3, SIGKILL), 0);
	assert_int_equal(proc_kill_by_env(none, SIGKILL), -EINVAL);
	assert_int_equal(proc_kill_by_env(any, SIGKILL), 1);
	assert_int_equal(wait_code(a), 128 + SIGKILL);
	msleep(20);
	assert_int_equal(proc_alive(b, 0), 1);
	assert_int_equal(proc_alive(c, 0), 1);
	kill(b, SIGKILL);
	kill(c, SIGKILL);
	wait_code(b);
	wait_code(c);
}

static void
test_children_of_subreaper(void **state)
{
	/* A double fork in a new session comes back to a subreaper as its child. */
	pid_t kids[8];
	char *argv[] = {"sh", "-c", "setsid sleep 30 & exit 0", NULL};
	pid_t pid;
	int n = 0;

	assert_int_equal(proc_subreaper(), 0);
	pid = spawn(argv, environ, -1);
	assert_int_equal(wait_code(pid), 0);
	for (int i = 0; i < 100 && (n = proc_children(kids, 8)) == 0; i++)
		msleep(10);
	assert_int_equal(n, 1);
	assert_true(kids[0] != pid);
	struct proc_job none = {0};
	assert_int_equal(proc_kill_job(&none, 1, SIGKILL), 0);
	assert_int_equal(wait_code(kids[0]), 128 + SIGKILL);
	assert_int_equal(proc_children(kids, 8), 0);
}

static void
test_wake_fifo(void **state)
{
	char dir[] = "/tmp/jobq-test-wake-XXXXXX", db[PATH_MAX], path[PATH_MAX + 8];
	char buf[16];
	struct stat sb;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/q.db", dir);
	assert_int_equal(wake_path(db, path, sizeof(path)), 0);
	/* nobody listens: a notify fails at once and creates nothing */
	assert_int_equal(wake_notify(db, WAKE_ONE), -ENOENT);
	fd = wake_open(db);
	assert_true(fd >= 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISFIFO(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(wake_notify(db, WAKE_ONE), 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], WAKE_ONE);
	/* a full FIFO does not block the notifier */
	for (int i = 0; i < 70000; i++)
		assert_int_equal(wake_notify(db, WAKE_ONE), 0);
	close(fd);
	/* the FIFO is left behind without a reader: ENXIO at once */
	assert_int_equal(wake_notify(db, WAKE_ONE), -ENXIO);
	/* a regular file in its place is refused, never written */
	unlink(path);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(wake_notify(db, WAKE_ONE), -EINVAL);
	assert_int_equal(wake_open(db), -EEXIST);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	unlink(path);
	rmdir(dir);
}

/* proc_signal: only the process that pid names with that start time is signalled (jobq reload). */
static void
test_signal_checks_start(void **state)
{
	uint64_t start;
	pid_t pid;
	int status;

	(void)state;
	if ((pid = fork()) == 0) {
		pause();
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(proc_start_time(pid, &start), 0);
	/* another start time: the pid was recycled, nothing is sent */
	assert_int_equal(proc_signal(pid, start + 1, SIGTERM), -ESRCH);
	assert_int_equal(proc_signal(pid, 0, SIGTERM), -ESRCH);
	assert_int_equal(proc_alive(pid, start), 1);
	assert_int_equal(proc_signal(pid, start, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	assert_int_equal(proc_signal(pid, start, SIGTERM), -ESRCH);
}

static void
test_status_code(void **state)
{
	assert_int_equal(proc_status_code(0), 0);
	assert_int_equal(proc_status_code(3 << 8), 3);
	assert_int_equal(proc_status_code(SIGTERM), 128 + SIGTERM);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_start_time_and_alive),
	        cmocka_unit_test(test_spawn_group_and_output),
	        cmocka_unit_test(test_spawn_default_signals),
	        cmocka_unit_test(test_spawn_errors),
	        cmocka_unit_test(test_spawn_closes_fds),
	        cmocka_unit_test(test_kill_group_checks_start),
	        cmocka_unit_test(test_kill_by_env),
	        cmocka_unit_test(test_children_of_subreaper),
	        cmocka_unit_test(test_wake_fifo),
	        cmocka_unit_test(test_signal_checks_start),
	        cmocka_unit_test(test_status_code),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
