/* Unit tests of queue/jobenv.c: one attempt's identity as the environment entries that
 * core/proc.c looks for, with a real process carrying them. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "jobenv.h"
#include "proc.h"

static void
test_entries(void **state)
{
	struct jobenv_ident w;

	assert_int_equal(jobenv_ident_init(&w, 41, 2, "/srv/q.db"), 0);
	assert_string_equal(w.env[0], "JOBQ_JOB_ID=41");
	assert_string_equal(w.env[1], "JOBQ_ATTEMPT=2");
	assert_string_equal(w.env[2], "JOBQ_DB=/srv/q.db");
	assert_null(w.env[3]);
	jobenv_ident_release(&w);
	assert_null(w.env[0]);

	/* attempt 0: any attempt */
	assert_int_equal(jobenv_ident_init(&w, 41, 0, "/srv/q.db"), 0);
	assert_string_equal(w.env[0], "JOBQ_JOB_ID=41");
	assert_string_equal(w.env[1], "JOBQ_DB=/srv/q.db");
	assert_null(w.env[2]);
	jobenv_ident_release(&w);
	jobenv_ident_release(NULL);
}

/* A PostgreSQL password never reaches a job's environment, nor the identity that finds it. */
static void
test_db_masked(void **state)
{
	struct jobenv_ident w;
	char *e = NULL;

	assert_int_equal(jobenv_db("postgresql://jobq:s3cret@db/jobq", &e), 0);
	assert_string_equal(e, "JOBQ_DB=postgresql://jobq:***@db/jobq");
	free(e);
	assert_int_equal(jobenv_db("host=db password=s3cret", &e), 0);
	assert_string_equal(e, "JOBQ_DB=host=db password=***");
	free(e);
	assert_int_equal(jobenv_ident_init(&w, 5, 1, "postgres://u:pw@h/d"), 0);
	assert_string_equal(w.env[2], "JOBQ_DB=postgres://u:***@h/d");
	jobenv_ident_release(&w);
}

/* A process started with the environment the exec handler gives an attempt is found by the
 * identity of that attempt and of the job, not by another attempt's. */
static void
test_found_by_proc(void **state)
{
	char *argv[] = {"sleep", "30", NULL};
	char *envp[] = {JOBENV_JOB_ID "=7301", JOBENV_ATTEMPT "=3",
	                JOBENV_DB "=/tmp/jobq-jobenv.db", NULL};
	struct jobenv_ident other, mine;
	int status, fds[2];
	char c;
	pid_t pid;

	/* The write end closes at the execve (close-on-exec): EOF says the new environment is
	 * there. */
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		close(fds[0]);
		execve("/bin/sleep", argv, envp);
		_exit(127);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 0);
	close(fds[0]);
	assert_int_equal(jobenv_ident_init(&other, 7301, 2, "/tmp/jobq-jobenv.db"), 0);
	assert_int_equal(jobenv_ident_init(&mine, 7301, 0, "/tmp/jobq-jobenv.db"), 0);
	assert_int_equal(proc_kill_by_env(other.env, SIGKILL), 0);
	assert_int_equal(proc_kill_by_env(mine.env, SIGKILL), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	jobenv_ident_release(&other);
	jobenv_ident_release(&mine);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_entries),
	        cmocka_unit_test(test_db_masked),
	        cmocka_unit_test(test_found_by_proc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
