/* Unit tests of the handlers (worker/exec.c, worker/builtin.c, worker/handler.c): the test is
 * the worker — a child subreaper that polls the handler's fds and reaps — and runs real
 * commands: placeholders, stdin, caps, exit codes, leftovers, timeouts, stops. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "duration.h"
#include "handler.h"
#include "handler_impl.h"
#include "proc.h"

extern char **environ;

/* The database path the handlers get; NULL: "/tmp/jobq-test-exec.db" with "logs": false (no
 * output files). test_output_files points it into a temporary folder. */
static const char *test_db;

struct run {
	struct config cfg;
	struct job job;
	struct handler *h;
	int r;
	char err[512];
};

static void
on_reaped(pid_t pid, int status, void *ctx)
{
	struct handler *h = ctx;
	if (h != NULL)
		handler_reaped(h, pid, status);
}

/* Configure one type from JSON, start a job of it with payload, and run it to the end (or
 * stop it after stop_after_ms when >= 0). */
static void
run(struct run *x, const char *type_json, const char *payload, int64_t stop_after_ms, int cancel)
{
	char conf[4096];
	struct handler_env env;
	pid_t pgid;
	uint64_t start;
	int64_t t0 = time_mono_ms();

	memset(x, 0, sizeof(*x));
	snprintf(conf, sizeof(conf),
	         "{\"grace\": \"1s\", \"output_max\": 64, \"stderr_max\": 16, "
	         "\"logs\": %s, \"types\": {\"t\": %s}}",
	         test_db != NULL ? "{\"max\": 400, \"keep\": 1}" : "false", type_json);
	assert_int_equal(config_parse(conf, NULL, &x->cfg, x->err, sizeof(x->err)), 0);
	x->job.id = 42;
	x->job.type = "t";
	x->job.namespace = "ns";
	x->job.payload = (char *)payload;
	x->job.attempts = 2;
	env = (struct handler_env){.db_path = test_db != NULL ? test_db : "/tmp/jobq-test-exec.db",
	                           .cfg = &x->cfg,
	                           .type = config_type(&x->cfg, "t"),
	                           .job = &x->job,
	                           .base_envp = environ};
	x->r = handler_start(&env, &x->h, &pgid, &start, x->err, sizeof(x->err));
	if (x->r < 0)
		return;
	for (int stopped = 0;;) {
		struct pollfd fds[8];
		int timeout = 50, n = handler_pollfds(x->h, fds, 8, &timeout);

		if (timeout < 0 || timeout > 50)
			timeout = 50;
		poll(fds, (nfds_t)n, timeout);
		proc_reap(on_reaped, x->h);
		if (!stopped && stop_after_ms >= 0 && time_mono_ms() - t0 >= stop_after_ms) {
			handler_stop(x->h, cancel, 200);
			stopped = 1;
		}
		if (handler_step(x->h, time_mono_ms()) == 1)
			break;
		assert_true(time_mono_ms() - t0 < 10000);
	}
}

static void
done(struct run *x)
{
	handler_free(x->h);
	config_release(&x->cfg);
}

static void
test_placeholders_stdin_env(void **state)
{
	struct run x;
	const struct job_outcome *o;

	run(&x,
	    "{\"exec\": [\"sh\", \"-c\", \"printf '%s|%s|%s|' \\\"$1\\\" \\\"$JOBQ_JOB_ID\\\" "
	    "\\\"$JOBQ_ATTEMPT\\\"; cat\", \"sh\", \"{payload.a.b}-{job.id}-{job.type}-"
	    "{job.namespace}-{job.attempt}-{{-{other}-${HOME}\"]}",
	    "{\"a\": {\"b\": \"x y\"}}", -1, 0);
	assert_int_equal(x.r, 0);
	o = handler_outcome(x.h);
	assert_true(o->succeeded);
	assert_string_equal(o->result,
	                    "x y-42-t-ns-2-{-{other}-${HOME}|42|2|{\"a\": {\"b\": \"x y\"}}");
	done(&x);
}

static void
test_missing_field_and_command(void **state)
{
	struct run x;

	run(&x, "{\"exec\": [\"echo\", \"{payload.nope}\"]}", "{}", -1, 0);
	assert_int_equal(x.r, -EINVAL);
	assert_string_equal(x.err, "exec: the payload has no 'nope' for the placeholder");
	config_release(&x.cfg);
	run(&x, "{\"exec\": [\"/nonexistent/jobq-cmd\"]}", "{}", -1, 0);
	assert_int_equal(x.r, -ENOENT);
	assert_non_null(strstr(x.err, "command not found"));
	config_release(&x.cfg);
}

static void
test_caps_and_exit_codes(void **state)
{
	struct run x;
	const struct job_outcome *o;

	/* stdout over output_max (64) is cut; the stderr tail keeps the last 16 bytes */
	run(&x,
	    "{\"exec\": [\"sh\", \"-c\", \"head -c 1000 /dev/zero | tr '\\\\0' a; "
	    "echo 0123456789abcdefXYZ >&2; exit 3\"]}",
	    "{}", -1, 0);
	o = handler_outcome(x.h);
	assert_false(o->succeeded);
	assert_int_equal(o->exit_code, 3);
	assert_int_equal(strlen(o->result), 64);
	/* the last 16 bytes: "456789abcdefXYZ\n", the final newline trimmed */
	assert_string_equal(o->error, "exit status 3: 456789abcdefXYZ");
	done(&x);
	/* 75: temporary */
	run(&x, "{\"exec\": [\"sh\", \"-c\", \"exit 75\"]}", "{}", -1, 0);
	assert_true(handler_outcome(x.h)->temporary);
	done(&x);
	/* a signal: 128 + signal */
	run(&x, "{\"exec\": [\"sh\", \"-c\", \"kill -USR1 $$\"]}", "{}", -1, 0);
	assert_int_equal(handler_outcome(x.h)->exit_code, 128 + SIGUSR1);
	assert_string_equal(handler_outcome(x.h)->error, "killed by signal 10");
	done(&x);
}

/* Size of the file dir/name, -1 when missing. */
static long
size_of(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void
test_output_files(void **state)
{
	char tmp[] = "/tmp/jobq-test-exec-XXXXXX", db[64], logs[80], path[128];
	struct run x;
	const struct job_outcome *o;

	assert_non_null(mkdtemp(tmp));
	snprintf(db, sizeof(db), "%s/q.db", tmp);
	snprintf(logs, sizeof(logs), "%s.logs", db);
	test_db = db;
	/* The files get all of it (rotated at 400 bytes, one rotated file kept), the outcome its
	 * caps: 64 bytes of result, 16 of stderr tail. */
	run(&x,
	    "{\"exec\": [\"sh\", \"-c\", \"head -c 1000 /dev/zero | tr '\\\\0' a; "
	    "echo 0123456789abcdefXYZ >&2; exit 3\"]}",
	    "{}", -1, 0);
	o = handler_outcome(x.h);
	assert_int_equal(strlen(o->result), 64);
	assert_string_equal(o->error, "exit status 3: 456789abcdefXYZ");
	done(&x);
	assert_int_equal(size_of(logs, "42.out"), 200);
	assert_int_equal(size_of(logs, "42.out.1"), 400);
	assert_int_equal(size_of(logs, "42.out.2"), -1);
	assert_int_equal(size_of(logs, "42.err"), 20);
	/* the next attempt starts anew */
	run(&x, "{\"exec\": [\"sh\", \"-c\", \"echo again\"]}", "{}", -1, 0);
	done(&x);
	assert_int_equal(size_of(logs, "42.out"), 6);
	assert_int_equal(size_of(logs, "42.out.1"), -1);
	assert_int_equal(size_of(logs, "42.err"), 0);
	test_db = NULL;
	const char *const names[] = {"42.out", "42.err"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", logs, names[i]);
		unlink(path);
	}
	rmdir(logs);
	assert_int_equal(rmdir(tmp), 0); /* nothing else was left */
}

static void
test_leftovers_reaped(void **state)
{
	struct run x;
	const struct job_outcome *o;

	run(&x,
	    "{\"exec\": [\"sh\", \"-c\", \"sleep 30 & setsid sleep 31 & (sleep 32 &); echo ok\"]}",
	    "{}", -1, 0);
	o = handler_outcome(x.h);
	assert_true(o->succeeded);
	assert_string_equal(o->result, "ok\n");
	assert_int_equal(o->orphans_reaped, 3);
	/* nothing is left to reap or to see */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	done(&x);
}

static void
test_timeout_kills_what_ignores_term(void **state)
{
	struct run x;
	const struct job_outcome *o;
	int64_t t0 = time_mono_ms();
	struct rusage ru0, ru1;

	getrusage(RUSAGE_SELF, &ru0);
	run(&x, "{\"exec\": [\"sh\", \"-c\", \"trap '' TERM; sleep 30\"], \"timeout\": \"200ms\"}",
	    "{}", -1, 0);
	getrusage(RUSAGE_SELF, &ru1);
	/* waiting out the grace period must not spin (a passed deadline kept polling at once) */
	long cpu_ms = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
	               ru0.ru_stime.tv_sec) *
	                      1000 +
	              (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
	               ru0.ru_stime.tv_usec) /
	                      1000;
	assert_true(cpu_ms < 300);
	o = handler_outcome(x.h);
	assert_false(o->succeeded);
	assert_string_equal(o->error, "timed out after 200ms");
	/* TERM at 200 ms is ignored by sh; KILL follows after the 1 s grace */
	assert_true(time_mono_ms() - t0 >= 1100);
	assert_true(time_mono_ms() - t0 < 5000);
	done(&x);
}

static void
test_cancel_and_shutdown(void **state)
{
	struct run x;

	run(&x, "{\"exec\": [\"sleep\", \"30\"]}", "{}", 100, 1);
	assert_true(handler_outcome(x.h)->cancelled);
	done(&x);
	run(&x, "{\"exec\": [\"sleep\", \"30\"]}", "{}", 100, 0);
	assert_true(handler_outcome(x.h)->temporary);
	assert_false(handler_outcome(x.h)->cancelled);
	done(&x);
}

static void
test_builtins(void **state)
{
	struct run x;
	int64_t t0 = time_mono_ms();

	run(&x, "{\"builtin\": \"sleep\"}", "{\"ms\": 150}", -1, 0);
	assert_true(handler_outcome(x.h)->succeeded);
	assert_true(time_mono_ms() - t0 >= 150);
	done(&x);
	run(&x, "{\"builtin\": \"sleep\"}", "{\"ms\": -1}", -1, 0);
	assert_int_equal(x.r, -EINVAL);
	config_release(&x.cfg);
	run(&x, "{\"builtin\": \"sleep\", \"timeout\": \"100ms\"}", "{\"ms\": 5000}", -1, 0);
	assert_string_equal(handler_outcome(x.h)->error, "timed out after 100ms");
	done(&x);
	run(&x, "{\"builtin\": \"noop\"}", "{}", -1, 0);
	assert_true(handler_outcome(x.h)->succeeded);
	done(&x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_placeholders_stdin_env),
	        cmocka_unit_test(test_missing_field_and_command),
	        cmocka_unit_test(test_caps_and_exit_codes),
	        cmocka_unit_test(test_output_files),
	        cmocka_unit_test(test_leftovers_reaped),
	        cmocka_unit_test(test_timeout_kills_what_ignores_term),
	        cmocka_unit_test(test_cancel_and_shutdown),
	        cmocka_unit_test(test_builtins),
	};

	if (proc_subreaper() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
