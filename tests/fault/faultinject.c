/*
 * Test-only fault injection, loaded with LD_PRELOAD into the real jobq (tests/e2e/
 * e2e-faults-inject.sh): the Nth call of a family fails once, in every process that loads it.
 *
 *   JOBQ_FAULT_MALLOC=N  the Nth malloc/calloc/realloc returns NULL (errno ENOMEM)
 *   JOBQ_FAULT_IO=N      the Nth pwrite64/write/fdatasync/fsync/ftruncate64 fails with EIO
 *   JOBQ_FAULT_COUNT=F   at exit, append "PID MALLOCS IOS" to the file F: how many calls a run
 *                        makes, so that a test can try every N
 *   JOBQ_FAULT_ONCE=F    fail only if the file F can be created: one failure in the whole process
 *                        tree (a forked worker goes on counting from its parent's count, and
 *                        would otherwise fail at the same point every time it is restarted)
 *
 * The counts start at the first call in the process (a re-executed worker starts afresh). The
 * real functions are glibc's own (__libc_malloc...) or found with dlsym(RTLD_NEXT); dlsym is
 * called before the first allocation is counted. Not for sanitizer builds: they replace malloc
 * themselves.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static long fail_malloc, fail_io; /* 0: never */
static long n_malloc, n_io;
static int ready;

static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_fdatasync)(int);
static int (*real_fsync)(int);
static int (*real_ftruncate64)(int, off_t);

static long
env_long(const char *name)
{
	const char *s = getenv(name);
	return s != NULL ? strtol(s, NULL, 10) : 0;
}

static void
report(void)
{
	const char *path = getenv("JOBQ_FAULT_COUNT");
	char line[96];
	int fd, n;

	if (path == NULL)
		return;
	n = snprintf(line, sizeof(line), "%d %ld %ld\n", (int)getpid(), n_malloc, n_io);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return;
	if (real_write != NULL)
		real_write(fd, line, (size_t)n);
	close(fd);
}

__attribute__((constructor)) static void
init(void)
{
	real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
	real_write = dlsym(RTLD_NEXT, "write");
	real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	real_fsync = dlsym(RTLD_NEXT, "fsync");
	real_ftruncate64 = dlsym(RTLD_NEXT, "ftruncate64");
	fail_malloc = env_long("JOBQ_FAULT_MALLOC");
	fail_io = env_long("JOBQ_FAULT_IO");
	atexit(report);
	ready = 1;
}

/* Is this call of the family the one to fail? */
static int
hit(long *n, long at)
{
	const char *once;
	int fd;

	if (!ready || ++*n != at)
		return 0;
	if ((once = getenv("JOBQ_FAULT_ONCE")) == NULL)
		return 1;
	if ((fd = open(once, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return 0;
	close(fd);
	return 1;
}

void *
malloc(size_t size)
{
	if (hit(&n_malloc, fail_malloc)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
	if (hit(&n_malloc, fail_malloc)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
	if (hit(&n_malloc, fail_malloc)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, size);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	if (hit(&n_io, fail_io)) {
		errno = EIO;
		return -1;
	}
	return real_pwrite64(fd, buf, len, off);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	if (hit(&n_io, fail_io)) {
		errno = EIO;
		return -1;
	}
	return real_write(fd, buf, len);
}

int
fdatasync(int fd)
{
	if (hit(&n_io, fail_io)) {
		errno = EIO;
		return -1;
	}
	return real_fdatasync(fd);
}

int
fsync(int fd)
{
	if (hit(&n_io, fail_io)) {
		errno = EIO;
		return -1;
	}
	return real_fsync(fd);
}

int
ftruncate64(int fd, off_t len)
{
	if (hit(&n_io, fail_io)) {
		errno = EIO;
		return -1;
	}
	return real_ftruncate64(fd, len);
}
