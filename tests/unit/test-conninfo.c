/* Unit tests of core/conninfo.c: passwords masked in PostgreSQL URIs and conninfo strings, in
 * the forms libpq accepts; SQLite paths unchanged. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conninfo.h"

/* conninfo_mask(in) is want, with n passwords masked. */
static void
check(const char *in, const char *want, int n)
{
	char out[512];

	assert_int_equal(conninfo_mask(in, out, sizeof(out)), n);
	assert_string_equal(out, want);
}

static void
test_paths_unchanged(void **state)
{
	(void)state;
	check("jobq.db", "jobq.db", 0);
	check("/var/lib/jobq/q.db", "/var/lib/jobq/q.db", 0);
	check("/tmp/a=b/q.db", "/tmp/a=b/q.db", 0); /* not a conninfo: a key is [A-Za-z_]+ */
	check("", "", 0);
	check("/srv/password=x/q.db", "/srv/password=x/q.db", 0); /* an absolute path is a file */
	check("postgresql://host/db", "postgresql://host/db", 0);
	check("postgresql://user@host/db", "postgresql://user@host/db", 0);
	check("host=/run/pg port=5432 dbname=jobq", "host=/run/pg port=5432 dbname=jobq", 0);
}

static void
test_uri(void **state)
{
	(void)state;
	check("postgresql://user:secret@host/db", "postgresql://user:***@host/db", 1);
	check("postgres://u:s3cr%40t@h:5432,h2:5433/db?sslmode=require",
	      "postgres://u:***@h:5432,h2:5433/db?sslmode=require", 1);
	check("postgresql://:pw@host", "postgresql://:***@host", 1);
	/* A raw '@' or '/' in the password (not percent-encoded): none of it shows. */
	check("postgresql://u:p@ss@host/db", "postgresql://u:***@host/db", 1);
	check("postgresql://u:pa/ss@host/db", "postgresql://u:***@host/db", 1);
	/* Query parameters, percent-encoded names too. */
	check("postgresql://host/db?user=u&password=secret&sslmode=require",
	      "postgresql://host/db?user=u&password=***&sslmode=require", 1);
	check("postgresql:///db?host=/run/pg&pass%77ord=secret",
	      "postgresql:///db?host=/run/pg&pass%77ord=***", 1);
	check("postgresql://u:a@h/db?password=b", "postgresql://u:***@h/db?password=***", 2);
	check("postgresql://h/db?sslpassword=secret&sslkey=/k",
	      "postgresql://h/db?sslpassword=***&sslkey=/k", 1);
	check("postgresql://h/db?passwords=x&password", "postgresql://h/db?passwords=x&password",
	      0);
	/* Behind a prefix (a name made absolute by mistake): still masked. */
	check("/srv/postgresql://u:pw@h/db", "/srv/postgresql://u:***@h/db", 1);
}

static void
test_conninfo(void **state)
{
	(void)state;
	check("host=h password=secret dbname=jobq", "host=h password=*** dbname=jobq", 1);
	check("password = secret", "password = ***", 1);
	check("  host=h\tpassword='a b\\'c\\\\' user=u", "  host=h\tpassword=*** user=u", 1);
	check("password=''", "password=***", 1);
	check("password=a\\ b user=u", "password=*** user=u", 1);
	check("user=password host=h", "user=password host=h", 0);
	check("passfile=/p password=x", "passfile=/p password=***", 1);
	/* The passphrase of the client's SSL key is a secret too. */
	check("host=h sslpassword=secret sslkey=/k", "host=h sslpassword=*** sslkey=/k", 1);
	/* A dbname that is itself a URI or conninfo: libpq expands it. */
	check("dbname=postgresql://u:pw@h/db", "dbname='postgresql://u:***@h/db'", 1);
	check("dbname='password=x host=h' user=u", "dbname='password=*** host=h' user=u", 1);
	check("dbname='postgresql://h/db' user=u", "dbname='postgresql://h/db' user=u", 0);
	/* Broken: an unterminated quote (libpq refuses it) still hides what follows. */
	check("host=h password='abc", "host=h password=***", 1);
}

static void
test_small_buffer(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(conninfo_mask("postgresql://user:secret@host/db", out, sizeof(out)),
	                 -ENOBUFS);
	assert_string_equal(out, "postgresql://us");
	assert_int_equal(conninfo_mask("postgresql://u:secret@host/db", out, sizeof(out)),
	                 -ENOBUFS);
	assert_null(strstr(out, "sec"));
	assert_int_equal(conninfo_mask("x", out, 0), -ENOBUFS);
	assert_int_equal(conninfo_mask(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_paths_unchanged),
	        cmocka_unit_test(test_uri),
	        cmocka_unit_test(test_conninfo),
	        cmocka_unit_test(test_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
