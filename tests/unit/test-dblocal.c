/* Unit tests of core/dblocal.c: which targets are PostgreSQL, and where a queue's
 * local files live (SQLite: beside the file, unchanged; PostgreSQL: the state folder). The case
 * of another user's folder runs only as root (it chowns to nobody, 65534). */
#include <errno.h>
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

#include "dblocal.h"
#include "joblog.h"
#include "runtime.h"
#include "wake.h"

#define NOBODY 65534

struct dir {
	char path[PATH_MAX];
	char state[PATH_MAX + 16]; /* $JOBQ_STATE_DIR: path/state, not made */
};

static int
setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	char tmp[] = "/tmp/jobq-test-dblocal-XXXXXX";

	if (d == NULL || mkdtemp(tmp) == NULL || realpath(tmp, d->path) == NULL) {
		free(d);
		return -1;
	}
	snprintf(d->state, sizeof(d->state), "%s/state", d->path);
	setenv("JOBQ_STATE_DIR", d->state, 1);
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
	unsetenv("JOBQ_STATE_DIR");
	free(d);
	return 0;
}

static void
test_is_pg(void **state)
{
	assert_true(db_local_is_pg("postgresql://u:p@h/db"));
	assert_true(db_local_is_pg("postgres://h/db"));
	assert_true(db_local_is_pg("host=/tmp/x dbname=q"));
	assert_true(db_local_is_pg("  dbname = q"));
	assert_true(db_local_is_pg("service=jobq"));
	assert_true(db_local_is_pg("sslmode=disable host=h"));
	assert_false(db_local_is_pg("q.db"));
	assert_false(db_local_is_pg("/var/lib/q.db"));
	assert_false(db_local_is_pg("./x=1.db"));
	assert_false(db_local_is_pg("Host=x"));
	assert_false(db_local_is_pg("hosts=2.db"));
	assert_false(db_local_is_pg("/var/lib/jobq/host=a.db"));
	assert_false(db_local_is_pg("data/user=me.db"));
	assert_true(db_local_is_pg(" service=jobq"));
	assert_false(db_local_is_pg("postgresql:/h/db"));
	assert_false(db_local_is_pg("dir/host=x"));
	assert_false(db_local_is_pg(""));
}

/* SQLite: the names are the database path with a suffix, as they always were. */
static void
test_sqlite_unchanged(void **state)
{
	const char *paths[] = {"/a/q.db",     "q.db",       "rel/dir/q.db",
	                       "./host=1.db", "hosts=2.db", "/a b/q'.db"};
	char out[PATH_MAX], want[PATH_MAX];
	struct dir *d = *state;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(
		        db_local_base(paths[i], DB_LOCAL_CREATE, out, sizeof(out), NULL, 0), 0);
		assert_string_equal(out, paths[i]);
		snprintf(want, sizeof(want), "%s.wake", paths[i]);
		assert_int_equal(wake_path(paths[i], out, sizeof(out)), 0);
		assert_string_equal(out, want);
		snprintf(want, sizeof(want), "%s.pid", paths[i]);
		assert_int_equal(runtime_path(paths[i], ".pid", out, sizeof(out)), 0);
		assert_string_equal(out, want);
		snprintf(want, sizeof(want), "%s.logs", paths[i]);
		assert_int_equal(joblog_dir(paths[i], out, sizeof(out)), 0);
		assert_string_equal(out, want);
	}
	assert_int_equal(db_local_base("/a/q.db", 0, out, 7, NULL, 0), -ENAMETOOLONG);
	/* SQLite never looks at (nor makes) the state folder */
	assert_int_equal(access(d->state, F_OK), -1);
}

static void
base_of(const char *target, char *out)
{
	char err[512];

	assert_int_equal(db_local_base(target, 0, out, PATH_MAX, err, sizeof(err)), 0);
}

static void
test_pg_base(void **state)
{
	struct dir *d = *state;
	char a[PATH_MAX], b[PATH_MAX], prefix[PATH_MAX + 32], path[PATH_MAX];

	base_of("postgresql://u:sekret@h/db", a);
	snprintf(prefix, sizeof(prefix), "%s/pg-", d->state);
	assert_int_equal(strncmp(a, prefix, strlen(prefix)), 0);
	assert_int_equal(strlen(a), strlen(prefix) + 16);
	assert_int_equal(strspn(a + strlen(prefix), "0123456789abcdef"), 16);
	assert_null(strstr(a, "sekret"));
	/* the same queue whatever the password, masked or not, and whichever scheme name */
	base_of("postgresql://u:other@h/db", b);
	assert_string_equal(a, b);
	base_of("postgresql://u:***@h/db", b);
	assert_string_equal(a, b);
	base_of("postgresql://u@h/db", b);
	assert_string_equal(a, b);
	base_of("postgres://u:x@h/db", b);
	assert_string_equal(a, b);
	/* another user, host or database is another queue */
	base_of("postgresql://v:sekret@h/db", b);
	assert_string_not_equal(a, b);
	base_of("postgresql://u:sekret@h/db2", b);
	assert_string_not_equal(a, b);
	/* a conninfo: order, spacing, quoting and the password do not matter; values do */
	base_of("host=/tmp/x dbname=q password=a", a);
	base_of("  dbname='q'   host = /tmp/x  password='b c'", b);
	assert_string_equal(a, b);
	base_of("host=/tmp/x dbname=q", b);
	assert_string_equal(a, b);
	base_of("host=/tmp/x dbname=q2", b);
	assert_string_not_equal(a, b);
	base_of("host=/tmp/y dbname=x host=/tmp/x dbname=q", b); /* libpq takes the last */
	assert_string_equal(a, b);
	/* a password in a dbname that is itself a URI (libpq expands it) is not hashed either */
	base_of("dbname='postgresql://u:one@h/db'", a);
	base_of("dbname='postgresql://u:two@h/db'", b);
	assert_string_equal(a, b);
	base_of("host=/tmp/x dbname=q", a);
	/* the files of core/ follow */
	snprintf(path, sizeof(path), "%s.wake", a);
	assert_int_equal(wake_path("host=/tmp/x dbname=q password=zz", b, sizeof(b)), 0);
	assert_string_equal(b, path);
	snprintf(path, sizeof(path), "%s.runtime.json", a);
	assert_int_equal(runtime_path("dbname=q host=/tmp/x", ".runtime.json", b, sizeof(b)), 0);
	assert_string_equal(b, path);
	snprintf(path, sizeof(path), "%s.logs", a);
	assert_int_equal(joblog_dir("host=/tmp/x dbname=q", b, sizeof(b)), 0);
	assert_string_equal(b, path);
	/* looking does not make the folder */
	assert_int_equal(access(d->state, F_OK), -1);
}

static void
test_create(void **state)
{
	struct dir *d = *state;
	char deep[PATH_MAX + 16], out[PATH_MAX], err[512];
	struct stat st;

	snprintf(deep, sizeof(deep), "%s/a/b/jobq", d->path);
	setenv("JOBQ_STATE_DIR", deep, 1);
	assert_int_equal(
	        db_local_base("dbname=q", DB_LOCAL_CREATE, out, sizeof(out), err, sizeof(err)), 0);
	assert_int_equal(lstat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	int fd = wake_open("dbname=q password=x");
	assert_true(fd >= 0);
	close(fd);
	strcat(out, ".wake");
	assert_int_equal(lstat(out, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	/* a relative folder would change with the working folder */
	setenv("JOBQ_STATE_DIR", "rel/state", 1);
	assert_int_equal(
	        db_local_base("dbname=q", DB_LOCAL_CREATE, out, sizeof(out), err, sizeof(err)),
	        -EINVAL);
	assert_non_null(strstr(err, "JOBQ_STATE_DIR"));
}

static void
test_refused(void **state)
{
	struct dir *d = *state;
	char real[PATH_MAX + 16], out[PATH_MAX], err[512];

	/* a symbolic link: not followed, whoever made it */
	snprintf(real, sizeof(real), "%s/real", d->path);
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, d->state), 0);
	assert_int_equal(
	        db_local_base("dbname=q", DB_LOCAL_CREATE, out, sizeof(out), err, sizeof(err)),
	        -EPERM);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(db_local_base("dbname=q", 0, out, sizeof(out), err, sizeof(err)), -EPERM);
	assert_int_equal(wake_path("dbname=q", out, sizeof(out)), -EPERM);
	assert_int_equal(unlink(d->state), 0);
	/* not a folder */
	FILE *f = fopen(d->state, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(db_local_base("dbname=q", 0, out, sizeof(out), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "not a folder"));
	assert_int_equal(unlink(d->state), 0);
	/* others may write it */
	assert_int_equal(mkdir(d->state, 0700), 0);
	assert_int_equal(chmod(d->state, 0770), 0);
	assert_int_equal(db_local_base("dbname=q", 0, out, sizeof(out), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "mode 0770"));
	assert_int_equal(chmod(d->state, 0700), 0);
	assert_int_equal(db_local_base("dbname=q", 0, out, sizeof(out), err, sizeof(err)), 0);
	/* another user's */
	if (geteuid() != 0)
		return;
	assert_int_equal(chown(d->state, NOBODY, NOBODY), 0);
	assert_int_equal(db_local_base("dbname=q", 0, out, sizeof(out), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "belongs to user 65534"));
	assert_int_equal(runtime_path("dbname=q", ".pid", out, sizeof(out)), -EPERM);
}

static void
test_state_dir(void **state)
{
	char out[PATH_MAX];
	struct dir *d = *state;

	assert_int_equal(db_local_state_dir(out, sizeof(out)), 0);
	assert_string_equal(out, d->state);
	unsetenv("JOBQ_STATE_DIR");
	setenv("XDG_STATE_HOME", "/xdg/state", 1);
	assert_int_equal(db_local_state_dir(out, sizeof(out)), 0);
	assert_string_equal(out, "/xdg/state/jobq");
	setenv("XDG_STATE_HOME", "relative", 1); /* the XDG spec: ignored */
	setenv("HOME", "/home/someone", 1);
	assert_int_equal(db_local_state_dir(out, sizeof(out)), 0);
	assert_string_equal(out,
	                    geteuid() == 0 ? "/var/lib/jobq" : "/home/someone/.local/state/jobq");
	unsetenv("XDG_STATE_HOME");
	assert_int_equal(db_local_state_dir(out, 8), -ENAMETOOLONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_is_pg),
	        cmocka_unit_test_setup_teardown(test_sqlite_unchanged, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pg_base, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_create, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_state_dir, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
