/* Unit tests of core/joblog.c: names, the folder's checks, writing with a cap and rotation. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "joblog.h"

/* Each case gets its own temporary folder "T"; the logs folder is T/q.db.logs. */
static int
setup(void **state)
{
	char *dir = strdup("/tmp/jobq-test-joblog-XXXXXX");

	if (dir == NULL || mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX];
	char *dir = *state;

	/* only what setup made under /tmp */
	if (strncmp(dir, "/tmp/jobq-test-joblog-", 22) == 0) {
		if ((size_t)snprintf(cmd, sizeof(cmd), "%s/q.db.logs", dir) >= sizeof(cmd))
			return -1;
		chmod(cmd, 0700);
		for (int s = 0; s < 2; s++)
			for (int g = 0; g <= JOBLOG_KEEP_MAX; g++) {
				char name[JOBLOG_NAME_MAX],
				        path[PATH_MAX + 2 * JOBLOG_NAME_MAX + 32];

				joblog_name(7, (enum joblog_stream)s, g, name, sizeof(name));
				snprintf(path, sizeof(path), "%s/%s", cmd, name);
				unlink(path);
			}
		rmdir(cmd);
		unlink(cmd);
	}
	rmdir(dir);
	free(dir);
	return 0;
}

static void
test_names(void **state)
{
	char name[JOBLOG_NAME_MAX];
	enum joblog_stream s;
	int64_t id;
	int gen;

	(void)state;
	joblog_name(41, JOBLOG_OUT, 0, name, sizeof(name));
	assert_string_equal(name, "41.out");
	joblog_name(INT64_MAX, JOBLOG_ERR, 9, name, sizeof(name));
	assert_string_equal(name, "9223372036854775807.err.9");
	assert_int_equal(joblog_parse(name, &id, &s, &gen), 0);
	assert_true(id == INT64_MAX && s == JOBLOG_ERR && gen == 9);
	assert_int_equal(joblog_parse("41.out.1", &id, &s, &gen), 0);
	assert_true(id == 41 && s == JOBLOG_OUT && gen == 1);
	static const char *const bad[] = {"",          "0.out",     "01.out",
	                                  "41",        "41.txt",    "41.out.0",
	                                  "41.out.10", "41.outx",   "-1.out",
	                                  "41.out.",   "../41.out", "99999999999999999999.out",
	                                  ".41.out",   "41.err.a"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(joblog_parse(bad[i], &id, &s, &gen), -EINVAL);
	assert_int_equal(joblog_dir("/a/q.db", name, sizeof(name)), 0);
	assert_string_equal(name, "/a/q.db.logs");
	assert_int_equal(joblog_dir("/a/long/name", name, 8), -ENAMETOOLONG);
}

static void
logs_dir(void **state, char *out)
{
	char db[PATH_MAX];

	snprintf(db, sizeof(db), "%s/q.db", (char *)*state);
	assert_int_equal(joblog_dir(db, out, PATH_MAX), 0);
}

static size_t
file_size(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return (size_t)-1;
	return (size_t)st.st_size;
}

static void
test_dir_checks(void **state)
{
	char dir[PATH_MAX], other[PATH_MAX + 8];
	struct stat st;
	int fd;

	logs_dir(state, dir);
	assert_int_equal(joblog_dir_open(dir, 0), -ENOENT);
	assert_true((fd = joblog_dir_open(dir, 1)) >= 0);
	close(fd);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* writable by others: refused */
	chmod(dir, 0770);
	assert_int_equal(joblog_dir_open(dir, 0), -EPERM);
	chmod(dir, 0700);
	/* a link in its place: refused, never followed */
	snprintf(other, sizeof(other), "%s.real", dir);
	assert_int_equal(rename(dir, other), 0);
	assert_int_equal(symlink(other, dir), 0);
	assert_int_equal(joblog_dir_open(dir, 1), -EPERM);
	unlink(dir);
	assert_int_equal(rename(other, dir), 0);
}

static void
test_rotation(void **state)
{
	char dir[PATH_MAX], buf[64];
	struct joblog w;
	struct stat a, b;
	int dfd, fd;

	logs_dir(state, dir);
	assert_true((dfd = joblog_dir_open(dir, 1)) >= 0);
	assert_int_equal(joblog_open(&w, dfd, 7, JOBLOG_OUT, 10, 2), 0);
	assert_int_equal(joblog_write(&w, "0123456789abcdefghijKLMNOPQRSTuvwxy", 35), 0);
	joblog_close(&w);
	/* 35 bytes through 10-byte files keeping 2 rotated: the first 10 are gone */
	assert_int_equal(file_size(dfd, "7.out"), 5);
	assert_int_equal(file_size(dfd, "7.out.1"), 10);
	assert_int_equal(file_size(dfd, "7.out.2"), 10);
	assert_int_equal(file_size(dfd, "7.out.3"), (size_t)-1);
	assert_true((fd = openat(dfd, "7.out.2", O_RDONLY)) >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "abcdefghij", 10);
	close(fd);
	/* a new attempt starts anew: a new file (a new inode, while a follower holds the old
	 * one open), the rotated ones removed */
	assert_int_equal(fstatat(dfd, "7.out", &a, 0), 0);
	assert_true((fd = openat(dfd, "7.out", O_RDONLY)) >= 0);
	assert_int_equal(joblog_open(&w, dfd, 7, JOBLOG_OUT, 10, 2), 0);
	close(fd);
	assert_int_equal(fstatat(dfd, "7.out", &b, 0), 0);
	assert_true(a.st_ino != b.st_ino);
	assert_int_equal(b.st_mode & 0777, 0600);
	assert_int_equal(file_size(dfd, "7.out"), 0);
	assert_int_equal(file_size(dfd, "7.out.1"), (size_t)-1);
	joblog_close(&w);
	joblog_close(&w); /* repeatable */
	/* max 0: no files */
	assert_int_equal(joblog_open(&w, dfd, 7, JOBLOG_ERR, 0, 1), 0);
	assert_int_equal(joblog_write(&w, "x", 1), 0);
	assert_int_equal(file_size(dfd, "7.err"), (size_t)-1);
	/* remove: every file of the job */
	assert_int_equal(joblog_open(&w, dfd, 7, JOBLOG_ERR, 4, 1), 0);
	assert_int_equal(joblog_write(&w, "123456", 6), 0);
	joblog_close(&w);
	assert_int_equal(file_size(dfd, "7.err.1"), 4);
	joblog_remove(dfd, 7);
	assert_int_equal(file_size(dfd, "7.out"), (size_t)-1);
	assert_int_equal(file_size(dfd, "7.err"), (size_t)-1);
	assert_int_equal(file_size(dfd, "7.err.1"), (size_t)-1);
	close(dfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names),
	        cmocka_unit_test_setup_teardown(test_dir_checks, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
