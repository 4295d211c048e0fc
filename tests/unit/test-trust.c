/* Unit tests of core/trust.c: owners, modes, hard and symbolic links, folders. The cases that
 * need a file of another user run only as root (they chown to nobody, 65534). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "trust.h"

#define NOBODY 65534

struct dir {
	char path[PATH_MAX];
};

static int
setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	char tmp[] = "/tmp/jobq-test-trust-XXXXXX";

	if (d == NULL || mkdtemp(tmp) == NULL || realpath(tmp, d->path) == NULL) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	struct dir *d = *state;

	if (nftw(d->path, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "cannot remove %s\n", d->path);
	free(d);
	return 0;
}

static void
at(void **state, const char *name, char *out)
{
	struct dir *d = *state;
	size_t n = strlen(d->path);

	assert_true(n + 1 + strlen(name) < PATH_MAX);
	memcpy(out, d->path, n);
	out[n] = '/';
	strcpy(out + n + 1, name);
}

static void
make(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_own_file(void **state)
{
	char p[PATH_MAX], out[PATH_MAX], err[512];

	at(state, "q.db", p);
	make(p, 0600);
	assert_int_equal(trust_resolve(p, TRUST_DATA, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, p);
	assert_int_equal(trust_resolve(p, TRUST_CODE, out, sizeof(out), err, sizeof(err)), 0);
	/* a missing file in an existing folder: its name, to be created */
	at(state, "new.db", p);
	assert_int_equal(trust_resolve(p, TRUST_DATA, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, p);
	/* a missing folder: left to the caller */
	at(state, "nope/new.db", p);
	assert_int_equal(trust_resolve(p, TRUST_DATA, out, sizeof(out), err, sizeof(err)), -ENOENT);
}

static void
test_modes(void **state)
{
	char p[PATH_MAX], out[PATH_MAX], err[512];

	at(state, "jobq.json", p);
	make(p, 0664);
	assert_int_equal(trust_resolve(p, TRUST_CODE, out, sizeof(out), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "its group or others may write it (mode 0664)"));
	/* group write is how producers of another user share a database */
	assert_int_equal(trust_resolve(p, TRUST_DATA, out, sizeof(out), err, sizeof(err)), 0);
	assert_int_equal(chmod(p, 0646), 0);
	assert_int_equal(trust_resolve(p, TRUST_DATA, out, sizeof(out), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "anyone may write it (mode 0646)"));
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(trust_resolve(p, TRUST_CODE, out, sizeof(out), err, sizeof(err)), 0);
}

static void
test_hard_link(void **state)
{
	char p[PATH_MAX], l[PATH_MAX], out[PATH_MAX], err[512];
	struct stat st;
	int fd;

	at(state, "q.db", p);
	at(state, "h.db", l);
	make(p, 0600);
	assert_int_equal(link(p, l), 0);
	assert_int_equal(trust_resolve(l, TRUST_DATA, out, sizeof(out), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "has 2 names (hard links)"));
	assert_int_equal(trust_resolve(p, TRUST_DATA, out, sizeof(out), err, sizeof(err)), -EPERM);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(trust_stat(&st, p, TRUST_DATA, err, sizeof(err)), -EPERM);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(trust_fd(fd, p, TRUST_DATA, err, sizeof(err)), -EPERM);
	assert_int_equal(unlink(l), 0);
	assert_int_equal(trust_fd(fd, p, TRUST_DATA, err, sizeof(err)), 0);
	close(fd);
}

static void
test_symlinks(void **state)
{
	char p[PATH_MAX], l[PATH_MAX], l2[PATH_MAX], out[PATH_MAX], err[512];

	at(state, "q.db", p);
	at(state, "l.db", l);
	at(state, "l2.db", l2);
	make(p, 0600);
	/* one's own links, relative and chained, lead to the file's one name */
	assert_int_equal(symlink("q.db", l), 0);
	assert_int_equal(symlink(l, l2), 0);
	assert_int_equal(trust_resolve(l2, TRUST_DATA, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, p);
	/* a link to a missing file is refused: following it would create the file there */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(trust_resolve(l, TRUST_DATA, out, sizeof(out), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "a symbolic link to a missing file"));
	at(state, "gone/x.db", p);
	assert_int_equal(unlink(l), 0);
	assert_int_equal(symlink(p, l), 0);
	assert_int_equal(trust_resolve(l, TRUST_DATA, out, sizeof(out), err, sizeof(err)), -EPERM);
	/* a loop */
	assert_int_equal(unlink(l), 0);
	assert_int_equal(symlink("l.db", l), 0);
	assert_int_equal(trust_resolve(l, TRUST_DATA, out, sizeof(out), err, sizeof(err)), -ELOOP);
}

static void
test_world_writable_folder(void **state)
{
	char d[PATH_MAX], p[PATH_MAX], out[PATH_MAX], err[512];

	at(state, "w", d);
	at(state, "w/q.db", p);
	assert_int_equal(mkdir(d, 0700), 0);
	make(p, 0600);
	assert_int_equal(chmod(d, 0777), 0);
	assert_int_equal(trust_resolve(p, TRUST_DATA, out, sizeof(out), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "writable by anyone (mode 0777) and not sticky"));
	assert_int_equal(chmod(d, 01777), 0); /* like /tmp: nobody replaces another's file */
	assert_int_equal(trust_resolve(p, TRUST_DATA, out, sizeof(out), err, sizeof(err)), 0);
}

static void
test_other_users(void **state)
{
	char d[PATH_MAX], p[PATH_MAX], l[PATH_MAX], out[PATH_MAX], err[512];

	if (geteuid() != 0) {
		skip();
		return;
	}
	at(state, "shared", d);
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(chmod(d, 01777), 0);
	at(state, "shared/jobq.json", p);
	make(p, 0644);
	assert_int_equal(chown(p, NOBODY, NOBODY), 0);
	/* planted in a folder root owns: neither code nor data */
	assert_int_equal(trust_resolve(p, TRUST_CODE, out, sizeof(out), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "it belongs to user 65534"));
	assert_non_null(strstr(err, "not to you or root"));
	assert_int_equal(trust_resolve(p, TRUST_DATA, out, sizeof(out), err, sizeof(err)), -EPERM);
	/* another user's symbolic link to root's own file */
	at(state, "own.db", p);
	make(p, 0600);
	at(state, "shared/l.db", l);
	assert_int_equal(symlink(p, l), 0);
	assert_int_equal(lchown(l, NOBODY, NOBODY), 0);
	assert_int_equal(trust_resolve(l, TRUST_DATA, out, sizeof(out), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "refusing the symbolic link"));
	/* in a folder of that user, their database is theirs to offer; their config never is */
	at(state, "theirs", d);
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(chown(d, NOBODY, NOBODY), 0);
	at(state, "theirs/q.db", p);
	make(p, 0600);
	assert_int_equal(chown(p, NOBODY, NOBODY), 0);
	assert_int_equal(trust_resolve(p, TRUST_DATA, out, sizeof(out), err, sizeof(err)), 0);
	assert_int_equal(trust_resolve(p, TRUST_CODE, out, sizeof(out), err, sizeof(err)), -EPERM);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_own_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hard_link, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_world_writable_folder, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_other_users, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
