/* Unit tests of core/log.c (line format, levels, JOBQ_LOG_LEVEL) and core/exitcode.c. */
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

#include "exitcode.h"
#include "fileio.h"
#include "log.h"

struct capture {
	char dir[64];
	char path[PATH_MAX];
	int saved_stderr;
};

/* Each case logs into a file in its own temporary folder, standing in for stderr. */
static int
setup(void **state)
{
	struct capture *c = calloc(1, sizeof(*c));
	int fd;

	if (c == NULL)
		return -1;
	strcpy(c->dir, "/tmp/jobq-test-log-XXXXXX");
	if (mkdtemp(c->dir) == NULL)
		return -1;
	snprintf(c->path, sizeof(c->path), "%s/stderr", c->dir);
	fflush(stderr);
	c->saved_stderr = dup(STDERR_FILENO);
	fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (c->saved_stderr < 0 || fd < 0 || dup2(fd, STDERR_FILENO) < 0)
		return -1;
	close(fd);
	unsetenv("JOBQ_LOG_LEVEL");
	log_set_job(0);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct capture *c = *state;

	dup2(c->saved_stderr, STDERR_FILENO);
	close(c->saved_stderr);
	unlink(c->path);
	rmdir(c->dir);
	free(c);
	unsetenv("JOBQ_LOG_LEVEL");
	log_set_job(0);
	return 0;
}

/* What was logged so far (caller frees). */
static char *
logged(void **state)
{
	struct capture *c = *state;
	char *text = NULL;

	assert_int_equal(file_read(c->path, 1 << 20, &text, NULL), 0);
	return text;
}

static void
test_format(void **state)
{
	char want[256], *text;
	long pid = (long)getpid();

	log_init("/usr/bin/jobq", LOG_LVL_INFO);
	log_warnx("queue is %s", "slow");
	log_set_job(41);
	log_warnx("message");
	log_set_job(0);
	log_info("ready");
	log_errorx("bad thing '%s'", "x");
	text = logged(state);
	snprintf(want, sizeof(want),
	         "jobq[%ld]: warn: queue is slow\n"
	         "jobq[%ld]: warn: job 41: message\n"
	         "jobq[%ld]: info: ready\n"
	         "jobq[%ld]: error: bad thing 'x'\n",
	         pid, pid, pid, pid);
	assert_string_equal(text, want);
	free(text);
}

static void
test_errno_forms(void **state)
{
	char want[256], *text;
	long pid = (long)getpid();

	log_init("jobq", LOG_LVL_DEBUG);
	errno = ENOENT;
	log_warn("cannot open '%s'", "a");
	assert_int_equal(errno, ENOENT); /* preserved */
	errno = EACCES;
	log_error("cannot write");
	errno = EACCES;
	log_warnx("no errno here");
	text = logged(state);
	snprintf(want, sizeof(want),
	         "jobq[%ld]: warn: cannot open 'a': %s\n"
	         "jobq[%ld]: error: cannot write: %s\n"
	         "jobq[%ld]: warn: no errno here\n",
	         pid, strerror(ENOENT), pid, strerror(EACCES), pid);
	assert_string_equal(text, want);
	free(text);
}

static void
test_levels(void **state)
{
	char *text;

	log_init("jobq", LOG_LVL_WARN);
	log_debug("d1");
	log_info("i1");
	log_warnx("w1");
	log_errorx("e1");
	log_set_level(LOG_LVL_ERROR);
	log_warnx("w2");
	log_errorx("e2");
	log_set_level(LOG_LVL_DEBUG);
	log_debug("d3");
	text = logged(state);
	assert_null(strstr(text, "d1"));
	assert_null(strstr(text, "i1"));
	assert_non_null(strstr(text, ": warn: w1\n"));
	assert_non_null(strstr(text, ": error: e1\n"));
	assert_null(strstr(text, "w2"));
	assert_non_null(strstr(text, ": error: e2\n"));
	assert_non_null(strstr(text, ": debug: d3\n"));
	free(text);
}

static void
test_env_level(void **state)
{
	char *text;

	setenv("JOBQ_LOG_LEVEL", "debug", 1);
	log_init("jobq", LOG_LVL_WARN);
	log_debug("from env");
	setenv("JOBQ_LOG_LEVEL", "error", 1);
	log_init("jobq", LOG_LVL_DEBUG);
	log_warnx("hidden");
	/* An unknown value is ignored: the level given to log_init stays. */
	setenv("JOBQ_LOG_LEVEL", "loud", 1);
	log_init("jobq", LOG_LVL_INFO);
	log_info("shown");
	log_debug("not shown");
	text = logged(state);
	assert_non_null(strstr(text, ": debug: from env\n"));
	assert_null(strstr(text, "hidden"));
	assert_non_null(strstr(text, ": info: shown\n"));
	assert_null(strstr(text, "not shown"));
	free(text);
}

static void
test_level_parse(void **state)
{
	enum log_level l;

	assert_int_equal(log_level_parse("error", &l), 0);
	assert_int_equal(l, LOG_LVL_ERROR);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_LVL_WARN);
	assert_int_equal(log_level_parse("warning", &l), 0);
	assert_int_equal(l, LOG_LVL_WARN);
	assert_int_equal(log_level_parse("info", &l), 0);
	assert_int_equal(l, LOG_LVL_INFO);
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_LVL_DEBUG);
	assert_int_equal(log_level_parse("", &l), -EINVAL);
	assert_int_equal(log_level_parse("INFO", &l), -EINVAL);
	assert_int_equal(log_level_parse("trace", &l), -EINVAL);
	assert_int_equal(log_level_parse(NULL, &l), -EINVAL);
}

static void
test_long_line(void **state)
{
	char *big = malloc(10000), *text;

	assert_non_null(big);
	memset(big, 'x', 9999);
	big[9999] = '\0';
	log_init("jobq", LOG_LVL_INFO);
	errno = EIO;
	log_warn("%s", big);
	log_info("after");
	text = logged(state);
	/* Cut to one line that still ends in a newline; the next line is intact. */
	size_t first = strcspn(text, "\n");
	assert_int_equal(text[first], '\n');
	assert_true(first < 2048);
	assert_non_null(strstr(text + first + 1, ": info: after\n"));
	free(text);
	free(big);
}

/* Messages quote job output: every control character is escaped, one event stays one line. */
static void
test_escapes(void **state)
{
	char want[512], *text, *all, *big, *line, *end;
	long pid = (long)getpid();

	log_init("jobq", LOG_LVL_INFO);
	log_set_job(7);
	log_info("attempt failed: %s", "err\033[2J\033]0;pwned\007\nfake: info: line\r\x9b"
	                               "\xc2\x9b\x7f\ttab");
	log_set_job(0);
	text = logged(state);
	snprintf(want, sizeof(want),
	         "jobq[%ld]: info: job 7: attempt failed: err\\x1b[2J\\x1b]0;pwned\\x07\\nfake: "
	         "info: line\\r\\x9b\\u009b\\x7f\ttab\n",
	         pid);
	assert_string_equal(text, want);
	free(text);

	/* A long message of controls (each 4 bytes escaped) is cut to one line of whole escapes. */
	assert_non_null(big = malloc(3000));
	memset(big, '\033', 2999);
	big[2999] = '\0';
	log_warnx("%s", big);
	log_info("after");
	all = logged(state);
	line = all + strcspn(all, "\n") + 1;
	end = line + strcspn(line, "\n");
	assert_int_equal(*end, '\n');
	assert_true(end - line < 2048);
	assert_null(memchr(line, '\033', (size_t)(end - line)));
	assert_memory_equal(end - 4, "\\x1b", 4);
	assert_non_null(strstr(end + 1, ": info: after\n"));
	free(all);
	free(big);
}

/* Foreground logs start with the time; under the journal, which stamps lines, they do not. */
static void
test_timestamps(void **state)
{
	struct capture *c = *state;
	char want[128], *text, js[64];
	long pid = (long)getpid();
	struct stat st;

	log_init("jobq", LOG_LVL_INFO);
	log_use_timestamps(1);
	log_info("ready");
	log_use_timestamps(0);
	log_info("plain");
	text = logged(state);
	/* 2026-11-23T05:23:34.689Z jobq[PID]: info: ready */
	assert_true(strlen(text) > 25);
	assert_true(text[4] == '-' && text[10] == 'T' && text[19] == '.' && text[23] == 'Z' &&
	            text[24] == ' ');
	snprintf(want, sizeof(want), "jobq[%ld]: info: ready\njobq[%ld]: info: plain\n", pid, pid);
	assert_string_equal(text + 25, want);
	free(text);

	/* JOURNAL_STREAM names the journal's stream; stderr here is the capture file. */
	unsetenv("JOURNAL_STREAM");
	assert_int_equal(log_stderr_is_journal(), 0);
	assert_int_equal(stat(c->path, &st), 0);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	assert_int_equal(log_stderr_is_journal(), 1);
	/* inherited by a process whose stderr went elsewhere: not the journal */
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", js, 1);
	assert_int_equal(log_stderr_is_journal(), 0);
	setenv("JOURNAL_STREAM", "garbage", 1);
	assert_int_equal(log_stderr_is_journal(), 0);
	unsetenv("JOURNAL_STREAM");
}

static void
test_exitcodes(void **state)
{
	assert_int_equal(exitcode_from_errno(0), 0);
	assert_int_equal(exitcode_from_errno(-ESRCH), 1);
	assert_int_equal(exitcode_from_errno(-EINVAL), 65);
	assert_int_equal(exitcode_from_errno(-EBADMSG), 65);
	assert_int_equal(exitcode_from_errno(-EMSGSIZE), 65);
	assert_int_equal(exitcode_from_errno(-EILSEQ), 65);
	assert_int_equal(exitcode_from_errno(-ENOENT), 66);
	assert_int_equal(exitcode_from_errno(-EBUSY), 75);
	assert_int_equal(exitcode_from_errno(-EAGAIN), 75);
	assert_int_equal(exitcode_from_errno(-ESTALE), 75);
	assert_int_equal(exitcode_from_errno(-EEXIST), 75);
	assert_int_equal(exitcode_from_errno(-ENOSPC), 74);
	assert_int_equal(exitcode_from_errno(-EIO), 74);
	assert_int_equal(exitcode_from_errno(-EROFS), 74);
	assert_int_equal(exitcode_from_errno(-EACCES), 74);
	assert_int_equal(exitcode_from_errno(-EUCLEAN), 74); /* a corrupt database */
	assert_int_equal(exitcode_from_errno(-ENOTSUP), 69);
	assert_int_equal(exitcode_from_errno(-ENOMEM), 70);
	assert_int_equal(exitcode_from_errno(-EPIPE), 70);
	assert_int_equal(exitcode_from_errno(-12345), 70);
	/* a database that cannot be opened */
	assert_int_equal(exitcode_open(-EUCLEAN), 74);
	assert_int_equal(exitcode_open(-ENOMEM), 70);
	assert_int_equal(exitcode_open(-EINVAL), 66); /* not a jobq database */
	assert_int_equal(exitcode_open(-EACCES), 66);
	assert_int_equal(EX_USAGE, 64);
	assert_int_equal(EX_CONFIG, 78);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_format, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_errno_forms, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_env_level, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_level_parse, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_timestamps, setup, teardown),
	        cmocka_unit_test(test_exitcodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
