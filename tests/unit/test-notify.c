/*
 * Unit tests of supervisor/notify.c with a real NOTIFY_SOCKET (a unix datagram socket bound
 * here) and libsystemd's sd_notify: STATUS= only when the counts change, never twice the same,
 * WATCHDOG=1 at half of WATCHDOG_USEC, and no ping once the database cannot be read (an
 * authorizer that refuses every statement stands for a broken database); the workers'
 * environment without the service manager's variables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <bsd/string.h>

#include <cmocka.h>

#include "internal.h"
#include "notify.h"
/* Only its folder and store: the rest of the fixture is for the queue tests. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "store-fixture.h"
#pragma GCC diagnostic pop

struct nfx {
	struct fx *f;
	int sock;
};

static int
setup(void **state)
{
	struct nfx *n = calloc(1, sizeof(*n));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (n == NULL || fx_setup((void **)&n->f) != 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", n->f->dir);
	if ((n->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
	    bind(n->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	setenv("WATCHDOG_USEC", "200000", 1); /* a ping every 100 ms */
	unsetenv("WATCHDOG_PID");
	*state = n;
	return 0;
}

static int
teardown(void **state)
{
	struct nfx *n = *state;
	void *f = n->f;

	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	close(n->sock);
	free(n);
	return fx_teardown(&f);
}

/* The datagrams received so far, joined with '|' into out. Returns how many. */
static int
drain(struct nfx *n, char *out, size_t len)
{
	char buf[512];
	ssize_t r;
	int count = 0;

	out[0] = '\0';
	while ((r = recv(n->sock, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[r] = '\0';
		if (count++ > 0)
			strlcat(out, "|", len);
		strlcat(out, buf, len);
	}
	return count;
}

static int
deny(void *ctx, int action, const char *a, const char *b, const char *c, const char *d)
{
	return SQLITE_DENY;
}

static void
test_status_and_watchdog(void **state)
{
	struct nfx *n = *state;
	struct notify nt;
	char got[4096];
	int64_t t = 1000000;

	notify_init(&nt);
	assert_int_equal(nt.on, 1);
	assert_int_equal(nt.watchdog_ms, 100);
	/* the workers' environment has none of the manager's variables */
	for (char **e = notify_child_env(&nt); *e != NULL; e++)
		if (strncmp(*e, "NOTIFY_SOCKET=", 14) == 0 || strncmp(*e, "WATCHDOG_", 9) == 0)
			fail_msg("child environment keeps %s", *e);

	notify_ready(&nt, "recovered; workers started");
	notify_loop(&nt, n->f->st, 2, 0, t);
	drain(n, got, sizeof(got));
	assert_string_equal(got, "READY=1\nSTATUS=recovered; workers started|"
	                         "STATUS=0 running, 0 queued; 2 workers|WATCHDOG=1");
	/* nothing changed: no STATUS=, and no ping before its time */
	notify_loop(&nt, n->f->st, 2, 0, t + 1000);
	notify_loop(&nt, n->f->st, 2, 0, t + 1050);
	drain(n, got, sizeof(got));
	assert_string_equal(got, "WATCHDOG=1");
	/* jobs enqueued by another connection (as producers do): one STATUS= */
	struct store *producer = NULL;
	struct store_opts so = {0};
	struct job_spec spec = {.type = "enrich"};
	char err[256];
	int64_t id;
	int existing;
	assert_int_equal(store_open(n->f->db, &so, &producer, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_enqueue(producer, &n->f->cfg, &spec, &id, &existing), 0);
	notify_loop(&nt, n->f->st, 2, 0, t + 2000);
	drain(n, got, sizeof(got));
	assert_string_equal(got, "STATUS=0 running, 3 queued; 2 workers|WATCHDOG=1");
	/* a change within the second after a STATUS= waits for that second to pass */
	assert_int_equal(store_enqueue(producer, &n->f->cfg, &spec, &id, &existing), 0);
	notify_loop(&nt, n->f->st, 2, 0, t + 2500);
	drain(n, got, sizeof(got));
	assert_string_equal(got, "WATCHDOG=1");
	notify_loop(&nt, n->f->st, 1, 1, t + 3000);
	drain(n, got, sizeof(got));
	assert_string_equal(got, "STATUS=stopping: 0 running, 4 queued; 1 worker|WATCHDOG=1");

	/* the database cannot be read: no ping, however long; readable again: pings again */
	sqlite3_set_authorizer(n->f->st->db, deny, NULL);
	for (int64_t at = t + 4000; at <= t + 6000; at += 100)
		notify_loop(&nt, n->f->st, 1, 1, at);
	drain(n, got, sizeof(got));
	assert_null(strstr(got, "WATCHDOG=1"));
	assert_false(nt.healthy);
	sqlite3_set_authorizer(n->f->st->db, NULL, NULL);
	notify_loop(&nt, n->f->st, 1, 1, t + 6100);
	drain(n, got, sizeof(got));
	assert_non_null(strstr(got, "WATCHDOG=1"));
	store_close(producer);
	notify_release(&nt);
}

/* Without NOTIFY_SOCKET nothing is sent and the workers get the environment as it is. */
static void
test_off(void **state)
{
	struct nfx *n = *state;
	struct notify nt;
	char got[256];
	extern char **environ;

	unsetenv("NOTIFY_SOCKET");
	notify_init(&nt);
	assert_int_equal(nt.on, 0);
	assert_ptr_equal(notify_child_env(&nt), environ);
	notify_ready(&nt, "x");
	assert_int_equal(notify_loop(&nt, n->f->st, 1, 0, 5000), -1);
	assert_int_equal(drain(n, got, sizeof(got)), 0);
	notify_release(&nt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_status_and_watchdog, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_off, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
