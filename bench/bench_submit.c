/*
 * Submit-to-start through a command line: for each system, run its submit command (which queues
 * `bench_stamp FIFO` as a job) and measure from before the spawn of the submit command until the
 * job's process has started (the time bench_stamp writes into FIFO, same clock). Also the wall
 * time of the submit process itself (spawn to exit). The systems are interleaved (A, B, C, A,
 * B, C, ...), GAP_MS apart so that each one's workers are idle again, after WARMUP unmeasured
 * rounds.
 *
 * usage: bench_submit RUNS FIFO [--clean DIR] KEY CMD [ARG...] [--- KEY CMD [ARG...]]...
 *   --clean DIR: after each sample of the next KEY, remove DIR's entries whose name starts
 *   with ',' (nq's job files, outside the clock: nq's next job looks at every earlier one).
 * prints KEY_start_{mean,p50,p90}_ms and KEY_proc_{mean,p50}_ms.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define MAX_CMDS 16
#define WARMUP 10

extern char **environ;

struct cmd {
	const char *key, *clean;
	char **argv;
	double *start, *proc;
};

static void
clean_dir(const char *dir)
{
	char path[4096];
	struct dirent *e;
	DIR *d;

	if (dir == NULL || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] == ',') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
}

/* One sample: returns the start latency, *proc the submit process's wall time (ms). */
static double
run_once(const struct cmd *c, int fifo, const posix_spawn_file_actions_t *fa, double *proc)
{
	uint64_t t0, t_exit = 0, stamp = 0;
	pid_t pid;
	int status, e, got = 0, exited = 0, pidfd;

	t0 = now_ns();
	if ((e = posix_spawn(&pid, c->argv[0], fa, NULL, c->argv, environ)) != 0)
		die("cannot run '%s': %s", c->argv[0], strerror(e));
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		die("pidfd_open: %s", strerror(errno));
	while (!got || !exited) {
		struct pollfd p[2] = {{.fd = fifo, .events = POLLIN},
		                      {.fd = exited ? -1 : pidfd, .events = POLLIN}};

		if (poll(p, 2, 10000) == 0)
			die("%s: the job did not start within 10 s", c->key);
		if (p[0].revents != 0 &&
		    read(fifo, &stamp, sizeof(stamp)) == (ssize_t)sizeof(stamp))
			got = 1;
		if (p[1].revents != 0) {
			if (waitpid(pid, &status, 0) != pid)
				die("waitpid: %s", strerror(errno));
			t_exit = now_ns();
			exited = 1;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				die("'%s' (%s) did not exit 0 (status %d)", c->argv[0], c->key,
				    status);
		}
	}
	close(pidfd);
	*proc = (double)(t_exit - t0) / 1e6;
	return (double)((int64_t)(stamp - t0)) / 1e6;
}

int
main(int argc, char **argv)
{
	struct cmd cmds[MAX_CMDS];
	posix_spawn_file_actions_t fa;
	size_t ncmds = 0;
	long runs, gap = env_long("GAP_MS", 20);
	const char *clean = NULL;
	char key[256];
	int fifo;

	if (argc < 5)
		die("usage: bench_submit RUNS FIFO [--clean DIR] KEY CMD [ARG...] [--- ...]");
	runs = atol(argv[1]);
	if ((fifo = open(argv[2], O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		die("cannot open '%s': %s", argv[2], strerror(errno));
	for (int i = 3; i < argc;) {
		if (strcmp(argv[i], "--clean") == 0 && i + 1 < argc) {
			clean = argv[i + 1];
			i += 2;
			continue;
		}
		if (ncmds == MAX_CMDS || i + 1 >= argc)
			die("bad arguments");
		cmds[ncmds].key = argv[i++];
		cmds[ncmds].clean = clean;
		clean = NULL;
		cmds[ncmds].argv = &argv[i];
		while (i < argc && strcmp(argv[i], "---") != 0)
			i++;
		if (i < argc)
			argv[i++] = NULL;
		cmds[ncmds].start = calloc((size_t)runs, sizeof(double));
		cmds[ncmds].proc = calloc((size_t)runs, sizeof(double));
		if (cmds[ncmds].start == NULL || cmds[ncmds].proc == NULL)
			die("out of memory");
		ncmds++;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for (long r = -WARMUP; r < runs; r++) {
		for (size_t k = 0; k < ncmds; k++) {
			/* rotate who goes first */
			struct cmd *c = &cmds[(k + (size_t)(r < 0 ? 0 : r)) % ncmds];
			struct timespec ts = {gap / 1000, (gap % 1000) * 1000000L};
			double proc, start;

			nanosleep(&ts, NULL);
			start = run_once(c, fifo, &fa, &proc);
			clean_dir(c->clean);
			if (r >= 0) {
				c->start[r] = start;
				c->proc[r] = proc;
			}
		}
	}
	for (size_t k = 0; k < ncmds; k++) {
		struct cmd *c = &cmds[k];

		snprintf(key, sizeof(key), "%s_start_mean_ms", c->key);
		result(key, mean(c->start, (size_t)runs));
		snprintf(key, sizeof(key), "%s_start_p50_ms", c->key);
		result(key, percentile(c->start, (size_t)runs, 50));
		snprintf(key, sizeof(key), "%s_start_p90_ms", c->key);
		result(key, percentile(c->start, (size_t)runs, 90));
		snprintf(key, sizeof(key), "%s_proc_mean_ms", c->key);
		result(key, mean(c->proc, (size_t)runs));
		snprintf(key, sizeof(key), "%s_proc_p50_ms", c->key);
		result(key, percentile(c->proc, (size_t)runs, 50));
	}
	close(fifo);
	return 0;
}
