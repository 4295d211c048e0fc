/* Unit tests of core/fileio.c: bounded reads, atomic writes, path pieces, bounded lines. */
#include <dirent.h>
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

#include "fileio.h"

/* Each case runs in its own temporary folder, removed (with its files) afterwards. */
static int
setup(void **state)
{
	char *dir = strdup("/tmp/jobq-test-fileio-XXXXXX");

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
	char *dir = *state, path[PATH_MAX];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dir);
	return 0;
}

static void
in_dir(void **state, const char *name, char *out)
{
	assert_int_equal(path_join(*state, name, out, PATH_MAX), 0);
}

static void
write_plain(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_file_read(void **state)
{
	char path[PATH_MAX], *buf = NULL;
	size_t len = 0;

	in_dir(state, "a.txt", path);
	write_plain(path, "hello\0world", 11);
	assert_int_equal(file_read(path, 100, &buf, &len), 0);
	assert_int_equal(len, 11);
	assert_memory_equal(buf, "hello\0world", 12); /* NUL-terminated too */
	free(buf);

	/* Exactly max is fine, one byte more is -EFBIG. */
	assert_int_equal(file_read(path, 11, &buf, NULL), 0);
	free(buf);
	buf = NULL;
	assert_int_equal(file_read(path, 10, &buf, &len), -EFBIG);
	assert_null(buf);
	assert_int_equal(file_read(path, 0, &buf, &len), -EFBIG);

	in_dir(state, "empty", path);
	write_plain(path, "", 0);
	assert_int_equal(file_read(path, 0, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
	buf = NULL;

	in_dir(state, "missing", path);
	assert_int_equal(file_read(path, 100, &buf, &len), -ENOENT);
	assert_int_equal(file_read(*state, 100, &buf, &len), -EISDIR);
	assert_null(buf);
}

static void
test_file_read_big(void **state)
{
	char path[PATH_MAX], *buf = NULL, *data = malloc(300000);
	size_t len;

	assert_non_null(data);
	for (size_t i = 0; i < 300000; i++)
		data[i] = (char)('a' + i % 26);
	in_dir(state, "big", path);
	write_plain(path, data, 300000);
	assert_int_equal(file_read(path, 1 << 20, &buf, &len), 0);
	assert_int_equal(len, 300000);
	assert_memory_equal(buf, data, 300000);
	free(buf);
	free(data);
}

static void
test_fd_read_all_pipe(void **state)
{
	int p[2];
	char *buf = NULL;
	size_t len;

	/* A pipe has no size to check up front: the bound is enforced while reading. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	assert_int_equal(fd_read_all(p[0], 5, &buf, &len), -EFBIG);
	assert_null(buf);
	close(p[0]);

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	assert_int_equal(fd_read_all(p[0], 10, &buf, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "0123456789");
	free(buf);
	close(p[0]);

	assert_int_equal(fd_read_all(-1, 10, &buf, &len), -EBADF);
}

static void
test_file_read_stdin(void **state)
{
	char path[PATH_MAX], *buf = NULL;
	int saved = dup(STDIN_FILENO), fd;
	size_t len;

	in_dir(state, "in", path);
	write_plain(path, "{\"x\": 1}\n", 9);
	assert_true(saved >= 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(dup2(fd, STDIN_FILENO) >= 0);
	close(fd);
	int r = file_read("-", 100, &buf, &len);
	assert_true(dup2(saved, STDIN_FILENO) >= 0);
	close(saved);
	assert_int_equal(r, 0);
	assert_int_equal(len, 9);
	assert_string_equal(buf, "{\"x\": 1}\n");
	free(buf);
}

static void
test_write_atomic(void **state)
{
	char path[PATH_MAX], *buf = NULL;
	struct stat st;
	size_t len;

	in_dir(state, "state.json", path);
	assert_int_equal(file_write_atomic(path, "{\"v\": 1}", 8), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(file_read(path, 100, &buf, &len), 0);
	assert_string_equal(buf, "{\"v\": 1}");
	free(buf);

	/* Replacing: the new content, still 0600, and no temporary file left behind. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(file_write_atomic(path, "{\"v\": 2}", 8), 0);
	assert_int_equal(file_read(path, 100, &buf, &len), 0);
	assert_string_equal(buf, "{\"v\": 2}");
	free(buf);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(count_entries(*state), 1);

	/* Empty content is a valid file. */
	assert_int_equal(file_write_atomic(path, "", 0), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void
test_write_atomic_errors(void **state)
{
	char path[PATH_MAX];

	in_dir(state, "no-such-folder/x", path);
	assert_int_equal(file_write_atomic(path, "x", 1), -ENOENT);
	/* Renaming over a folder fails, and the temporary file is removed. */
	in_dir(state, "sub", path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(file_write_atomic(path, "x", 1), -EISDIR);
	assert_int_equal(count_entries(*state), 1);
	assert_int_equal(rmdir(path), 0);
	if (geteuid() != 0) {
		/* Root ignores permissions, so this check needs an ordinary user. */
		assert_int_equal(chmod(*state, 0500), 0);
		in_dir(state, "x", path);
		assert_int_equal(file_write_atomic(path, "x", 1), -EACCES);
		assert_int_equal(chmod(*state, 0700), 0);
	}
	/* A name too long for a path. */
	char *huge = malloc(PATH_MAX + 10);
	assert_non_null(huge);
	memset(huge, 'a', PATH_MAX + 9);
	huge[PATH_MAX + 9] = '\0';
	assert_int_equal(file_write_atomic(huge, "x", 1), -ENAMETOOLONG);
	free(huge);
}

static void
assert_dirname(const char *path, const char *want)
{
	char out[PATH_MAX];

	assert_int_equal(path_dirname(path, out, sizeof(out)), 0);
	if (strcmp(out, want) != 0)
		fail_msg("path_dirname(\"%s\") = \"%s\", want \"%s\"", path, out, want);
}

static void
test_paths(void **state)
{
	char out[16];

	assert_dirname("jobq.db", ".");
	assert_dirname("", ".");
	assert_dirname("./jobq.db", ".");
	assert_dirname("a/b/jobq.db", "a/b");
	assert_dirname("/var/lib/jobq/q.db", "/var/lib/jobq");
	assert_dirname("/q.db", "/");
	assert_dirname("/", "/");
	assert_dirname("a//b", "a");
	assert_dirname("a/b/", "a");
	assert_dirname("../q.db", "..");
	assert_int_equal(path_dirname("abcdefghijklmnopqrstuvwxyz/x", out, sizeof(out)),
	                 -ENAMETOOLONG);
	assert_int_equal(path_dirname("x", out, 1), -ENAMETOOLONG);

	assert_int_equal(path_join("a", "b", out, sizeof(out)), 0);
	assert_string_equal(out, "a/b");
	assert_int_equal(path_join("a/", "b", out, sizeof(out)), 0);
	assert_string_equal(out, "a/b");
	assert_int_equal(path_join("/", "b", out, sizeof(out)), 0);
	assert_string_equal(out, "/b");
	assert_int_equal(path_join("", "b", out, sizeof(out)), 0);
	assert_string_equal(out, "b");
	assert_int_equal(path_join("0123456789", "abcde", out, sizeof(out)), -ENAMETOOLONG);
	assert_int_equal(path_join("0123456789", "abcd", out, sizeof(out)), 0);
	assert_string_equal(out, "0123456789/abcd");
}

static FILE *
file_with(void **state, const char *data)
{
	char path[PATH_MAX];
	FILE *fp;

	in_dir(state, "lines", path);
	write_plain(path, data, strlen(data));
	fp = fopen(path, "r");
	assert_non_null(fp);
	return fp;
}

static void
test_line_read(void **state)
{
	FILE *fp = file_with(state, "one\n\nthree\n1234567890abc\nlast");
	char *buf = NULL;
	size_t cap = 0;

	assert_int_equal(line_read(fp, 10, &buf, &cap), 3);
	assert_string_equal(buf, "one");
	assert_int_equal(line_read(fp, 10, &buf, &cap), 0);
	assert_string_equal(buf, "");
	assert_int_equal(line_read(fp, 10, &buf, &cap), 5);
	assert_string_equal(buf, "three");
	/* Too long: reported, and the rest of that line is skipped. */
	assert_int_equal(line_read(fp, 10, &buf, &cap), -EMSGSIZE);
	/* The last line has no newline. */
	assert_int_equal(line_read(fp, 10, &buf, &cap), 4);
	assert_string_equal(buf, "last");
	assert_int_equal(line_read(fp, 10, &buf, &cap), -1);
	assert_int_equal(line_read(fp, 10, &buf, &cap), -1);
	fclose(fp);
	free(buf);
}

static void
test_line_read_limits(void **state)
{
	FILE *fp = file_with(state, "1234567890\n12345678901\n\n");
	char *buf = NULL;
	size_t cap = 0;

	assert_int_equal(line_read(fp, 10, &buf, &cap), 10); /* exactly max */
	assert_string_equal(buf, "1234567890");
	assert_int_equal(line_read(fp, 10, &buf, &cap), -EMSGSIZE);
	assert_int_equal(line_read(fp, 10, &buf, &cap), 0);
	assert_int_equal(line_read(fp, 10, &buf, &cap), -1);
	fclose(fp);
	free(buf);

	/* A line far longer than the first allocation grows the buffer. */
	char *big = malloc(100002);
	assert_non_null(big);
	memset(big, 'q', 100000);
	memcpy(big + 100000, "\n", 2);
	fp = file_with(state, big);
	buf = NULL;
	cap = 0;
	assert_int_equal(line_read(fp, 1 << 20, &buf, &cap), 100000);
	assert_memory_equal(buf, big, 100000);
	assert_int_equal(line_read(fp, 1 << 20, &buf, &cap), -1);
	fclose(fp);
	free(buf);
	free(big);
}

/* A NUL byte: the line is refused whole (a C string would cut it, a pipe reader split it in
 * two), and the next call reads the next line, so line numbers stay right. */
static void
test_line_read_nul(void **state)
{
	static const char data[] = "one\n{\"a\":\0 1}\n\0\n12345678901\0\nthree\n\0tail";
	char path[PATH_MAX], *buf = NULL;
	size_t cap = 0;
	FILE *fp;

	in_dir(state, "nul", path);
	write_plain(path, data, sizeof(data) - 1);
	assert_non_null(fp = fopen(path, "r"));
	assert_int_equal(line_read(fp, 10, &buf, &cap), 3); /* line 1 */
	assert_string_equal(buf, "one");
	assert_int_equal(line_read(fp, 10, &buf, &cap), -EILSEQ); /* line 2 */
	assert_int_equal(line_read(fp, 10, &buf, &cap), -EILSEQ); /* line 3: only a NUL */
	assert_int_equal(line_read(fp, 10, &buf, &cap), -EILSEQ); /* 4: too long too */
	assert_int_equal(line_read(fp, 10, &buf, &cap), 5);       /* line 5 */
	assert_string_equal(buf, "three");
	assert_int_equal(line_read(fp, 10, &buf, &cap), -EILSEQ); /* 6: no newline */
	assert_int_equal(line_read(fp, 10, &buf, &cap), -1);
	fclose(fp);
	free(buf);
}

static void
test_path_absolute(void **state)
{
	char out[PATH_MAX], want[PATH_MAX + 8], cwd[PATH_MAX];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(path_absolute("q.db", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/q.db", strcmp(cwd, "/") == 0 ? "" : cwd);
	assert_string_equal(out, want);
	assert_int_equal(path_absolute("/tmp/../tmp/q.db", out, sizeof(out)), 0);
	assert_string_equal(out, "/tmp/q.db");
	assert_int_equal(path_absolute("/q.db", out, sizeof(out)), 0);
	assert_string_equal(out, "/q.db");
	assert_int_equal(path_absolute("/tmp/", out, sizeof(out)), -EISDIR);
	assert_int_equal(path_absolute("/nonexistent-jobq-dir/q.db", out, sizeof(out)), -ENOENT);
	assert_int_equal(path_absolute("/tmp/q.db", out, 5), -ENAMETOOLONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_path_absolute),
	        cmocka_unit_test_setup_teardown(test_file_read, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_file_read_big, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fd_read_all_pipe, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_file_read_stdin, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_atomic, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_atomic_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_line_read, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_line_read_limits, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_line_read_nul, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
