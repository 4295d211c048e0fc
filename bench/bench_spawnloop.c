/*
 * The machine's process-start ceiling: P processes, each running /bin/true N times by
 * posix_spawn() + waitpid(), in parallel. The yardstick for exec jobs through the supervisor.
 *
 * usage: bench_spawnloop PROCS RUNS_PER_PROC
 * prints spawnloop_per_s (all processes together).
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

extern char **environ;

static void
loop(long runs)
{
	char *argv[] = {"/bin/true", NULL};
	posix_spawn_file_actions_t fa;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
	for (long i = 0; i < runs; i++) {
		pid_t pid;
		int status, e;

		if ((e = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ)) != 0)
			die("posix_spawn: %s", strerror(e));
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				die("waitpid: %s", strerror(errno));
	}
	posix_spawn_file_actions_destroy(&fa);
}

int
main(int argc, char **argv)
{
	long procs = argc > 1 ? atol(argv[1]) : 2, runs = argc > 2 ? atol(argv[2]) : 2000;
	uint64_t t0;

	if (procs < 1 || runs < 1)
		die("usage: bench_spawnloop PROCS RUNS_PER_PROC");
	t0 = now_ns();
	for (long p = 0; p < procs; p++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			loop(runs);
			_exit(0);
		}
	}
	for (long p = 0; p < procs; p++) {
		int status;
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			die("a spawn loop failed");
	}
	result("spawnloop_per_s", (double)(procs * runs) / ((double)(now_ns() - t0) / 1e9));
	return 0;
}
