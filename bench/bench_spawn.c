/*
 * Process wall time: run several commands RUNS times each, interleaved (A, B, C, A, B, C, ...)
 * so that a drift of the machine hits all of them alike, each by posix_spawn() with stdin,
 * stdout and stderr on /dev/null, timed from before the spawn to after waitpid(). A command
 * that exits non-zero stops the benchmark.
 *
 * usage: bench_spawn RUNS KEY CMD [ARG...] [--- KEY CMD [ARG...]]...
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
	const char *key;
	char **argv;
	double *v;
};

static double
run_once(const struct cmd *c, const posix_spawn_file_actions_t *fa)
{
	uint64_t t0, t1;
	pid_t pid;
	int status, e;

	t0 = now_ns();
	if ((e = posix_spawn(&pid, c->argv[0], fa, NULL, c->argv, environ)) != 0)
		die("cannot run '%s': %s", c->argv[0], strerror(e));
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	}
	t1 = now_ns();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("'%s' (%s) did not exit 0 (status %d)", c->argv[0], c->key, status);
	return (double)(t1 - t0) / 1e3;
}

int
main(int argc, char **argv)
{
	struct cmd cmds[MAX_CMDS];
	posix_spawn_file_actions_t fa;
	size_t ncmds = 0;
	long runs;
	char key[256];

	if (argc < 4 || (runs = strtol(argv[1], NULL, 10)) <= 0)
		die("usage: bench_spawn RUNS KEY CMD [ARG...] [--- KEY CMD [ARG...]]...");
	for (int i = 2; i < argc;) {
		int j;

		if (ncmds == MAX_CMDS || i + 1 >= argc)
			die("bench_spawn: bad command list");
		cmds[ncmds].key = argv[i];
		cmds[ncmds].argv = &argv[i + 1];
		for (j = i + 1; j < argc && strcmp(argv[j], "---") != 0; j++)
			;
		if (j < argc)
			argv[j] = NULL; /* ends this command's argv */
		if ((cmds[ncmds].v = calloc((size_t)runs, sizeof(double))) == NULL)
			die("out of memory");
		ncmds++;
		i = j + 1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for (int w = 0; w < WARMUP; w++) {
		for (size_t c = 0; c < ncmds; c++)
			run_once(&cmds[c], &fa);
	}
	for (long r = 0; r < runs; r++) {
		for (size_t c = 0; c < ncmds; c++)
			cmds[c].v[r] = run_once(&cmds[c], &fa);
	}
	posix_spawn_file_actions_destroy(&fa);
	for (size_t c = 0; c < ncmds; c++) {
		snprintf(key, sizeof(key), "%s_mean", cmds[c].key);
		result(key, mean(cmds[c].v, (size_t)runs));
		snprintf(key, sizeof(key), "%s_p50", cmds[c].key);
		result(key, percentile(cmds[c].v, (size_t)runs, 50));
		snprintf(key, sizeof(key), "%s_p90", cmds[c].key);
		result(key, percentile(cmds[c].v, (size_t)runs, 90));
		free(cmds[c].v);
	}
	return 0;
}
