/*
 * Submit-to-start through a command line: for each system, run its submit command (which queues
 * `bench_stamp FIFO` as a job) and measure from before the spawn of the submit command until the
 * job's process has started (the time bench_stamp writes into FIFO, same clock). Also the wall
 * time of the submit process itself (spawn to exit). The systems are interleaved, each round
 * in a new shuffled order (round_order()), after WARMUP unmeasured rounds. Between two samples,
 * outside the clock, what the last one left running is reaped (this process is a child
 * subreaper: nq's job comes back to it), a jobq database's jobs are waited for (--idle), and
 * GAP_MS (20 by default) pass, so that each system's server and workers are idle again.
 *
 * usage: bench_submit RUNS FIFO [--clean DIR] [--idle DB] KEY CMD [ARG...] [--- ...]...
 *   (struct bench_cmd: --idle DB names the jobq database the command enqueues into)
 * prints KEY_start_{mean,p50,p90}_ms and KEY_proc_{mean,p50}_ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define MAX_CMDS 16
#define WARMUP 10

extern char **environ;

struct cmd {
	struct bench_cmd b;
	double *start, *proc;
};

/* One sample: returns the start latency, *proc the submit process's wall time (ms). */
static double
run_once(const struct cmd *c, int fifo, const posix_spawn_file_actions_t *fa, double *proc)
{
	uint64_t t0, t_exit = 0, stamp = 0;
	pid_t pid;
	int status, e, got = 0, exited = 0, pidfd;

	t0 = now_ns();
	if ((e = posix_spawn(&pid, c->b.argv[0], fa, NULL, c->b.argv, environ)) != 0)
		die("cannot run '%s': %s", c->b.argv[0], strerror(e));
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		die("pidfd_open: %s", strerror(errno));
	while (!got || !exited) {
		struct pollfd p[2] = {{.fd = fifo, .events = POLLIN},
		                      {.fd = exited ? -1 : pidfd, .events = POLLIN}};

		if (poll(p, 2, 10000) == 0)
			die("%s: the job did not start within 10 s", c->b.key);
		if (p[0].revents != 0 &&
		    read(fifo, &stamp, sizeof(stamp)) == (ssize_t)sizeof(stamp))
			got = 1;
		if (p[1].revents != 0) {
			if (waitpid(pid, &status, 0) != pid)
				die("waitpid: %s", strerror(errno));
			t_exit = now_ns();
			exited = 1;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				die("'%s' (%s) did not exit 0 (status %d)", c->b.argv[0], c->b.key,
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
	size_t ncmds = 0, order[MAX_CMDS];
	uint64_t seed = 0x9e3779b97f4a7c15u;
	long runs, gap = env_long("GAP_MS", 20);
	int fifo, i = 3;

	if (argc < 5)
		die("usage: bench_submit RUNS FIFO [--clean DIR] [--idle DB] KEY CMD [ARG...] [--- "
		    "...]");
	runs = atol(argv[1]);
	if ((fifo = open(argv[2], O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		die("cannot open '%s': %s", argv[2], strerror(errno));
	while (ncmds < MAX_CMDS && bench_cmd_next(argc, argv, &i, &cmds[ncmds].b) == 0) {
		cmds[ncmds].start = calloc((size_t)runs, sizeof(double));
		cmds[ncmds].proc = calloc((size_t)runs, sizeof(double));
		if (cmds[ncmds].start == NULL || cmds[ncmds].proc == NULL)
			die("out of memory");
		ncmds++;
	}
	if (i < argc)
		die("more than %d commands", MAX_CMDS);
	subreaper();
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for (long r = -WARMUP; r < runs; r++) {
		round_order(order, ncmds, &seed);
		for (size_t k = 0; k < ncmds; k++) {
			struct cmd *c = &cmds[order[k]];
			double proc, start;

			settle(gap);
			start = run_once(c, fifo, &fa, &proc);
			bench_cmd_after(&c->b);
			if (r >= 0) {
				c->start[r] = start;
				c->proc[r] = proc;
			}
		}
	}
	settle(0);
	for (size_t k = 0; k < ncmds; k++) {
		struct cmd *c = &cmds[k];

		result_of(c->b.key, "start_mean_ms", mean(c->start, (size_t)runs));
		result_of(c->b.key, "start_p50_ms", percentile(c->start, (size_t)runs, 50));
		result_of(c->b.key, "start_p90_ms", percentile(c->start, (size_t)runs, 90));
		result_of(c->b.key, "proc_mean_ms", mean(c->proc, (size_t)runs));
		result_of(c->b.key, "proc_p50_ms", percentile(c->proc, (size_t)runs, 50));
	}
	close(fifo);
	return 0;
}
