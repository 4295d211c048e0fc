/*
 * Unit tests of core/prefault.c. A fresh process (this program run again with "child") that
 * prefaults its heap then mallocs and writes 200 KB takes next to no page fault; without
 * prefault_memory() the same takes one a page (about 50). Counts from getrusage(), not times.
 * Skipped where the kernel or the build does not prefault (before Linux 5.14, ASan).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "prefault.h"

#define CHUNKS 200
#define CHUNK 1000

static long
minor_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt : -1;
}

/* mallocs and writes CHUNKS * CHUNK bytes; returns the page faults they took. */
static long
fill_heap(void)
{
	static char *p[CHUNKS];
	long before = minor_faults();

	for (int i = 0; i < CHUNKS; i++) {
		if ((p[i] = malloc(CHUNK)) == NULL)
			return -1;
		memset(p[i], 1, CHUNK);
	}
	before = minor_faults() - before;
	for (int i = 0; i < CHUNKS; i++)
		free(p[i]);
	return before;
}

/* The child, before any malloc: 0 few faults, 1 many, 77 nothing prefaulted here. */
static int
child(int prefault)
{
	long faults;

	if (prefault && prefault_memory(256 * 1024, 64 * 1024) == 0)
		return 77;
	faults = fill_heap();
	if (!prefault)
		return faults >= CHUNKS * CHUNK / sysconf(_SC_PAGESIZE) / 2 ? 0 : 1;
	return faults >= 0 && faults <= 8 ? 0 : 1;
}

static int
run_child(const char *how)
{
	pid_t pid;
	int status;

	if ((pid = fork()) == 0) {
		execl("/proc/self/exe", "test-prefault", how, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
test_heap_is_present(void **state)
{
	int r = run_child("child");

	if (r == 77)
		skip();
	assert_int_equal(r, 0);
	/* and the same child without it does fault page by page (the test sees a difference) */
	assert_int_equal(run_child("child-none"), 0);
}

/* On a heap already in use (this process's, cmocka's allocations) it is harmless. */
static void
test_heap_in_use(void **state)
{
	char *p;

	(void)prefault_memory(256 * 1024, 64 * 1024);
	assert_non_null(p = malloc(300 * 1024));
	memset(p, 2, 300 * 1024);
	free(p);
	assert_true(fill_heap() >= 0);
}

int
main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_heap_is_present),
	        cmocka_unit_test(test_heap_in_use),
	};

	if (argc == 2 && strcmp(argv[1], "child") == 0)
		return child(1);
	if (argc == 2 && strcmp(argv[1], "child-none") == 0)
		return child(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
