/* Unit tests of core/netaddr.c: numeric HOST:PORT parsing, loopback, formatting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netaddr.h"

static void
test_parse_format(void **state)
{
	static const struct {
		const char *in, *shown;
		int loopback, port;
	} good[] = {
	        {"127.0.0.1:9187", "127.0.0.1:9187", 1, 9187},
	        {"127.255.0.9:0", "127.255.0.9:0", 1, 0},
	        {"0.0.0.0:80", "0.0.0.0:80", 0, 80},
	        {"10.0.0.1:65535", "10.0.0.1:65535", 0, 65535},
	        {"[::1]:9187", "[::1]:9187", 1, 9187},
	        {"[::]:1", "[::]:1", 0, 1},
	        {"[::ffff:127.0.0.1]:5", "[::ffff:127.0.0.1]:5", 1, 5},
	        {"[fe80::1]:5", "[fe80::1]:5", 0, 5},
	        {"127.0.0.1:00080", "127.0.0.1:80", 1, 80},
	};
	char out[NETADDR_SHOWN_MAX], why[160];
	struct netaddr a;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (netaddr_parse(good[i].in, &a, why, sizeof(why)) != 0)
			fail_msg("'%s' refused: %s", good[i].in, why);
		assert_string_equal(netaddr_format(&a, out, sizeof(out)), good[i].shown);
		assert_int_equal(netaddr_is_loopback(&a), good[i].loopback);
		assert_int_equal(netaddr_port(&a), good[i].port);
	}
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {"",
	                                  "127.0.0.1",
	                                  "127.0.0.1:",
	                                  "127.0.0.1:65536",
	                                  "127.0.0.1:123456",
	                                  "127.0.0.1:-1",
	                                  "127.0.0.1:+1",
	                                  "127.0.0.1: 1",
	                                  "localhost:80",
	                                  "127.1:80",
	                                  "::1:80",
	                                  "[::1]80",
	                                  "[::1:80",
	                                  "[]:80",
	                                  "[127.0.0.1]:80",
	                                  ":80",
	                                  "1.2.3.4.5:80",
	                                  "[::1]:8x",
	                                  "[0000:0000:0000:0000:0000:0000:0000:0000:0]:1",
	                                  NULL};
	struct netaddr a;
	char why[160];

	for (int i = 0; bad[i] != NULL; i++) {
		why[0] = '\0';
		if (netaddr_parse(bad[i], &a, why, sizeof(why)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		if (why[0] == '\0')
			fail_msg("'%s': no reason given", bad[i]);
	}
	assert_int_equal(netaddr_parse(NULL, &a, NULL, 0), -EINVAL);
	/* a hostile string is quoted safely and cut */
	char hostile[300];
	memset(hostile, 'a', sizeof(hostile) - 1);
	hostile[0] = '\x1b';
	hostile[sizeof(hostile) - 1] = '\0';
	assert_int_equal(netaddr_parse(hostile, &a, why, sizeof(why)), -EINVAL);
	assert_null(strchr(why, '\x1b'));
	assert_non_null(strstr(why, "..."));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_format),
	        cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
