/*
 * The job of bench_submit: write the time this process started (CLOCK_MONOTONIC, as soon as
 * main runs) into the FIFO named by argv[1], and exit. The same program is the job of every
 * system measured, so its own start-up counts alike for all of them.
 *
 * usage: bench_stamp FIFO
 */
#include <fcntl.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec ts;
	uint64_t t;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (argc != 2 || (fd = open(argv[1], O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return 64;
	return write(fd, &t, sizeof(t)) == (ssize_t)sizeof(t) ? 0 : 74;
}
