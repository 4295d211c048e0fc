/*
 * Unit tests of the wake-up FIFO (core/wake.c): a byte written with wake_notify() reaches a
 * listener; idle listeners blocked on the same FIFO are woken one per byte, not all of them;
 * a byte written while no listener is armed waits for the next one to arm.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wake.h"

struct fx {
	char dir[64];
	char db[128];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/jobq-test-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/q.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char path[160];

	snprintf(path, sizeof(path), "%s.wake", f->db);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Is pid blocked in epoll_wait() (x86_64: 232, or epoll_pwait 281, 441 epoll_pwait2)? */
static int
in_epoll_wait(pid_t pid)
{
	char path[64];
	long nr = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	if (fscanf(fp, "%ld", &nr) != 1)
		nr = -1;
	fclose(fp);
	return nr == 232 || nr == 281 || nr == 441;
}

/* A child: arm a listener, wait up to 3 s; exit 1 if woken (whether or not it got the byte), 0
 * if not, 2 on error. The control pipe ctl is watched too, as a worker's socket is. */
static void
listener_child(const char *db, int ctl)
{
	struct wake_listener l;
	struct pollfd fds[2];
	int n;

	if (wake_listen_open(&l, db) < 0 || wake_listen_watch(&l, ctl) < 0 ||
	    wake_listen_arm(&l, 1) < 0)
		_exit(2);
	fds[0] = (struct pollfd){.fd = ctl, .events = POLLIN};
	fds[1] = (struct pollfd){.fd = l.ep, .events = POLLIN};
	n = wake_listen_poll(&l, fds, 2, 3000);
	_exit(n < 0 ? 2 : fds[1].revents != 0 ? 1 : 0);
}

static void
test_one_byte_wakes_one_listener(void **state)
{
	struct fx *f = *state;
	struct wake_listener keep;
	pid_t kids[3];
	int ctl[2], woken = 0, status;

	/* The supervisor's end: holds the FIFO open, never reads it here. */
	assert_int_equal(wake_listen_open(&keep, f->db), 0);
	assert_int_equal(pipe(ctl), 0);
	for (int i = 0; i < 3; i++) {
		assert_true((kids[i] = fork()) >= 0);
		if (kids[i] == 0)
			listener_child(f->db, ctl[0]);
	}
	for (int i = 0; i < 3; i++)
		for (int tries = 0; !in_epoll_wait(kids[i]); tries++) {
			assert_true(tries < 5000); /* 5 s */
			usleep(1000);
		}
	assert_int_equal(wake_notify(f->db, WAKE_ONE), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
		assert_true(WIFEXITED(status));
		assert_int_not_equal(WEXITSTATUS(status), 2);
		woken += WEXITSTATUS(status);
	}
	assert_int_equal(woken, 1);
	close(ctl[0]);
	close(ctl[1]);
	wake_listen_close(&keep);
}

static void
test_byte_waits_for_a_listener(void **state)
{
	struct fx *f = *state;
	struct wake_listener l;
	struct pollfd fds[1];
	char buf[16];

	assert_int_equal(wake_listen_open(&l, f->db), 0);
	/* Written while nobody listens: the byte stays. */
	assert_int_equal(wake_notify(f->db, WAKE_CANCEL), 0);
	assert_int_equal(wake_listen_arm(&l, 1), 0);
	fds[0] = (struct pollfd){.fd = l.ep, .events = POLLIN};
	assert_int_equal(wake_listen_poll(&l, fds, 1, 0), 1);
	assert_int_equal(wake_listen_read(&l, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], WAKE_CANCEL);
	/* Read: nothing more, and a second read finds nothing rather than failing. */
	assert_int_equal(wake_listen_poll(&l, fds, 1, 0), 0);
	assert_int_equal(wake_listen_read(&l, buf, sizeof(buf)), 0);
	/* Disarmed, the set does not report the FIFO. */
	assert_int_equal(wake_notify(f->db, WAKE_ONE), 0);
	assert_int_equal(wake_listen_arm(&l, 0), 0);
	assert_int_equal(wake_listen_poll(&l, fds, 1, 0), 0);
	wake_listen_close(&l);
	wake_listen_close(&l); /* twice: a no-op */
	wake_listen_close(NULL);
}

static void
test_no_reader(void **state)
{
	struct fx *f = *state;

	/* No FIFO, then a FIFO nobody holds open: the writer is told, at once. */
	assert_int_equal(wake_notify(f->db, WAKE_ONE), -ENOENT);
	{
		struct wake_listener l;
		assert_int_equal(wake_listen_open(&l, f->db), 0);
		wake_listen_close(&l);
	}
	assert_int_equal(wake_notify(f->db, WAKE_ONE), -ENXIO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_one_byte_wakes_one_listener, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_byte_waits_for_a_listener, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_reader, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
