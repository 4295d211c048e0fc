/* Unit tests of core/hostid.c: host id validation, sanitising a hostname, and the order
 * $JOBQ_HOST > the configuration's "host" > the hostname. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostid.h"

static void
test_valid(void **state)
{
	char s[HOSTID_MAX + 2];

	(void)state;
	assert_true(hostid_valid("web-1.example.org"));
	assert_true(hostid_valid("A_b.9"));
	assert_false(hostid_valid(""));
	assert_false(hostid_valid(NULL));
	assert_false(hostid_valid("a b"));
	assert_false(hostid_valid("a/b"));
	assert_false(hostid_valid("caf\xc3\xa9"));
	memset(s, 'h', HOSTID_MAX);
	s[HOSTID_MAX] = '\0';
	assert_true(hostid_valid(s));
	s[HOSTID_MAX] = 'h';
	s[HOSTID_MAX + 1] = '\0';
	assert_false(hostid_valid(s));
}

static void
test_sanitise(void **state)
{
	char out[HOSTID_MAX + 1], big[300];

	(void)state;
	hostid_sanitise("web-1.example.org", out, sizeof(out));
	assert_string_equal(out, "web-1.example.org");
	hostid_sanitise("my host/../x\n", out, sizeof(out));
	assert_string_equal(out, "my-host-..-x-");
	hostid_sanitise("caf\xc3\xa9", out, sizeof(out));
	assert_string_equal(out, "caf--");
	hostid_sanitise("", out, sizeof(out));
	assert_string_equal(out, "localhost");
	hostid_sanitise(NULL, out, sizeof(out));
	assert_string_equal(out, "localhost");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	hostid_sanitise(big, out, sizeof(out));
	assert_int_equal(strlen(out), HOSTID_MAX);
	assert_true(hostid_valid(out));
}

static void
test_get_precedence(void **state)
{
	char out[HOSTID_MAX + 1], name[256], want[HOSTID_MAX + 1];

	(void)state;
	unsetenv(HOSTID_ENV);
	assert_int_equal(gethostname(name, sizeof(name)), 0);
	hostid_sanitise(name, want, sizeof(want));
	assert_int_equal(hostid_get(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, want);
	assert_int_equal(hostid_get("from-config", out, sizeof(out)), 0);
	assert_string_equal(out, "from-config");
	setenv(HOSTID_ENV, "from-env", 1);
	assert_int_equal(hostid_get("from-config", out, sizeof(out)), 0);
	assert_string_equal(out, "from-env");
	setenv(HOSTID_ENV, "", 1); /* empty counts as unset */
	assert_int_equal(hostid_get("from-config", out, sizeof(out)), 0);
	assert_string_equal(out, "from-config");
	setenv(HOSTID_ENV, "bad host", 1);
	assert_int_equal(hostid_get("from-config", out, sizeof(out)), -EINVAL);
	unsetenv(HOSTID_ENV);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_valid),
	        cmocka_unit_test(test_sanitise),
	        cmocka_unit_test(test_get_precedence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
