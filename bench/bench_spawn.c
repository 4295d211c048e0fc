/*
 * Process wall time: run several commands RUNS times each, interleaved (each round all of them
 * once, in a new shuffled order: A, B, C, C, A, B, B, A, C, ...) so that a drift of the machine
 * hits all of them alike and none always follows the same one, each by posix_spawn() with
 * stdin, stdout and stderr on /dev/null, timed from before the spawn to after waitpid(). A
 * command that exits non-zero stops the benchmark.
 *
 * What a command leaves running is not timed with the next one: `nq` and `tsp` return before
 * their job has run, and `jobq enqueue` with a supervisor leaves a worker claiming and finishing
 * the job. So, outside the clock, the benchmark reaps every process a command left behind (it
 * is a child subreaper: nq's job comes back to it), waits for a jobq database to have no job
 * queued or running (--idle), then sleeps GAP_MS (20 by default) before the next command, for
 * the work of servers that are not its own (tsp's).
 *
 * usage: bench_spawn RUNS [--clean DIR] [--idle DB] KEY CMD [ARG...] [--- ...]...
 *   (struct bench_cmd: --idle DB names the jobq database the command enqueues into)
 * prints KEY_mean, KEY_p50 and KEY_p90 in microseconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define MAX_CMDS 16
#define WARMUP 10

extern char **environ;

struct cmd {
	struct bench_cmd b;
	double *v;
};

static double
run_once(const struct cmd *c, const posix_spawn_file_actions_t *fa)
{
	uint64_t t0, t1;
	pid_t pid;
	int status, e;

	t0 = now_ns();
	if ((e = posix_spawn(&pid, c->b.argv[0], fa, NULL, c->b.argv, environ)) != 0)
		die("cannot run '%s': %s", c->b.argv[0], strerror(e));
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	}
	t1 = now_ns();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("'%s' (%s) did not exit 0 (status %d)", c->b.argv[0], c->b.key, status);
	return (double)(t1 - t0) / 1e3;
}

int
main(int argc, char **argv)
{
	struct cmd cmds[MAX_CMDS];
	posix_spawn_file_actions_t fa;
	size_t ncmds = 0, order[MAX_CMDS];
	uint64_t seed = 0x9e3779b97f4a7c15u;
	long runs, gap = env_long("GAP_MS", 20);
	int i = 2;

	if (argc < 4 || (runs = strtol(argv[1], NULL, 10)) <= 0)
		die("usage: bench_spawn RUNS [--clean DIR] [--idle DB] KEY CMD [ARG...] [--- "
		    "...]...");
	while (ncmds < MAX_CMDS && bench_cmd_next(argc, argv, &i, &cmds[ncmds].b) == 0) {
		if ((cmds[ncmds].v = calloc((size_t)runs, sizeof(double))) == NULL)
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
			double v;

			settle(gap);
			v = run_once(c, &fa);
			if (r >= 0)
				c->v[r] = v;
			bench_cmd_after(&c->b);
		}
	}
	settle(0);
	posix_spawn_file_actions_destroy(&fa);
	for (size_t c = 0; c < ncmds; c++) {
		result_of(cmds[c].b.key, "mean", mean(cmds[c].v, (size_t)runs));
		result_of(cmds[c].b.key, "p50", percentile(cmds[c].v, (size_t)runs, 50));
		result_of(cmds[c].b.key, "p90", percentile(cmds[c].v, (size_t)runs, 90));
		free(cmds[c].v);
	}
	return 0;
}
