/* Unit tests of core/buf.c: growth, the limit, embedded NULs, detach and release. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void
test_grows_and_terminates(void **state)
{
	struct buf b = {0};
	char chunk[1000];

	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_add(&b, chunk, sizeof(chunk)), 0);
	assert_int_equal(b.len, 100000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.s[b.len], '\0');
	assert_int_equal(strspn(b.s, "x"), 100000);
	buf_release(&b);
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	buf_release(NULL);
}

static void
test_empty_add_allocates(void **state)
{
	struct buf b = {0};
	char *s;

	assert_int_equal(buf_add(&b, "", 0), 0);
	assert_non_null(b.s);
	assert_string_equal(b.s, "");
	s = buf_detach(&b);
	assert_string_equal(s, "");
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	free(s);
	assert_null(buf_detach(&b)); /* nothing added */
}

/* max counts the NUL: a buffer of max 8 holds 7 bytes, and a refused add leaves it as it was. */
static void
test_limit(void **state)
{
	struct buf b = {.max = 8};

	assert_int_equal(buf_add(&b, "abcd", 4), 0);
	assert_int_equal(buf_add(&b, "efgh", 4), -E2BIG);
	assert_string_equal(b.s, "abcd");
	assert_int_equal(b.len, 4);
	assert_int_equal(buf_add(&b, "efg", 3), 0);
	assert_string_equal(b.s, "abcdefg");
	assert_true(b.cap <= 8);
	assert_int_equal(buf_add(&b, "h", 1), -E2BIG);
	assert_int_equal(buf_add(&b, "", 0), 0);
	buf_release(&b);
	assert_int_equal(b.max, 8); /* kept for the next use */
	assert_int_equal(buf_add(&b, "1234567", 7), 0);
	buf_release(&b);
}

/* NUL-separated lines, as a bulk enqueue keeps them. */
static void
test_embedded_nul(void **state)
{
	struct buf b = {0};

	assert_int_equal(buf_add(&b, "one\0", 4), 0);
	assert_int_equal(buf_add(&b, "two\0", 4), 0);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.s, "one\0two\0", 9);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_grows_and_terminates),
	        cmocka_unit_test(test_empty_add_allocates),
	        cmocka_unit_test(test_limit),
	        cmocka_unit_test(test_embedded_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
