/*
 * Unit tests of the JSONL envelope (queue/envelope.c, issue 12 item 3): which lines are
 * envelopes, the payload's text kept exactly, every field, and the errors naming the field.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"

#define NOW 1900000000000LL

/* Parse text (copied: envelope_parse changes its line) over spec; returns its result. */
static int
parse(const char *text, char *line, size_t len, struct job_spec *spec, struct envelope *env,
      char *err, size_t errlen)
{
	snprintf(line, len, "%s", text);
	err[0] = '\0';
	return envelope_parse(line, NOW, spec, env, err, errlen);
}

static void
test_not_envelopes(void **state)
{
	static const char *const payloads[] = {
	        "{\"url\": \"https://a\"}",
	        "[{\"payload\": 1}]",
	        "\"payload\"",
	        "{\"x\": {\"payload\": 1}}", /* nested: the payload's own member */
	        "{\"a\": \"payload\"}",
	        "{\"Payload\": 1}", /* keys are case-sensitive */
	        "{\"payload\": }",  /* not JSON: the store names its byte */
	        "{\"payload\": 1} trailing",
	        "{\"a\": \"\\u00e9\"}", /* a \u escape, parsed, no payload member */
	        "",
	        "   ",
	};
	struct job_spec spec = {.type = "t", .namespace = "ns"}, before = spec;
	struct envelope env;
	char line[256], err[256];

	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		assert_int_equal(
		        parse(payloads[i], line, sizeof(line), &spec, &env, err, sizeof(err)), 0);
		assert_string_equal(line, payloads[i]);
		assert_memory_equal(&spec, &before, sizeof(spec));
		assert_null(env.root);
	}
	envelope_release(&env);
	envelope_release(NULL);
}

static void
test_every_field(void **state)
{
	struct job_spec spec = {
	        .type = "t", .namespace = "cli", .batch = "cli-batch", .priority = 4};
	struct envelope env;
	char line[1024], err[256];

	assert_int_equal(
	        parse("  {\"unique_key\": \"k:1\", \"payload\": {\"n\": 12345678901234567890, "
	              "\"s\": \"a}\\\"]b\", \"t\": [1, {\"u\": \"}\"}]}, \"namespace\": \"acme\", "
	              "\"priority\": -9007199254740992, \"run_at\": \"@1900000000\", "
	              "\"batch\": null, \"resources\": [\"cpu:2\", \"gpu\"], "
	              "\"max_attempts\": 7, \"timeout\": \"1h30m\"}",
	              line, sizeof(line), &spec, &env, err, sizeof(err)),
	        1);
	assert_string_equal(
	        spec.payload,
	        "{\"n\": 12345678901234567890, \"s\": \"a}\\\"]b\", \"t\": [1, {\"u\": \"}\"}]}");
	assert_string_equal(spec.unique_key, "k:1");
	assert_string_equal(spec.namespace, "acme");
	assert_null(spec.batch); /* null: no batch, whatever the command line said */
	assert_int_equal(spec.priority, -9007199254740992LL);
	assert_int_equal(spec.run_at, 1900000000000LL);
	assert_int_equal(spec.max_attempts, 7);
	assert_int_equal(spec.timeout_ms, 5400000);
	assert_int_equal(spec.nresources, 2);
	assert_string_equal(spec.resources[0].name, "cpu");
	assert_int_equal(spec.resources[0].units, 2);
	assert_string_equal(spec.resources[1].name, "gpu");
	assert_int_equal(spec.resources[1].units, 1);
	assert_string_equal(spec.type, "t");
	envelope_release(&env);
	assert_null(env.root);

	/* Only the members given replace the defaults; the payload last, a scalar; delay. */
	struct job_spec s2 = {.type = "t", .namespace = "cli", .batch = "b", .priority = 4};
	assert_int_equal(parse("{\"delay\":\"10m\",\"p\\u0061yload\":12.5e3 }", line, sizeof(line),
	                       &s2, &env, err, sizeof(err)),
	                 1);
	assert_string_equal(s2.payload, "12.5e3");
	assert_int_equal(s2.run_at, NOW + 600000);
	assert_string_equal(s2.namespace, "cli");
	assert_string_equal(s2.batch, "b");
	assert_int_equal(s2.priority, 4);
	assert_null(s2.unique_key);
	envelope_release(&env);

	/* An empty resources array takes away the command line's tags. */
	struct tag cli_tags[1] = {{"cpu", 1}};
	struct job_spec s3 = {.type = "t", .resources = cli_tags, .nresources = 1};
	assert_int_equal(parse("{\"payload\": null, \"resources\": []}", line, sizeof(line), &s3,
	                       &env, err, sizeof(err)),
	                 1);
	assert_string_equal(s3.payload, "null");
	assert_int_equal(s3.nresources, 0);
	envelope_release(&env);

	/* A \u0000 inside the payload is the store's to refuse (it names the field there). */
	struct job_spec s4 = {.type = "t"};
	assert_int_equal(parse("{\"payload\": {\"x\": \"a\\u0000\"}}", line, sizeof(line), &s4,
	                       &env, err, sizeof(err)),
	                 1);
	assert_string_equal(s4.payload, "{\"x\": \"a\\u0000\"}");
	envelope_release(&env);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *line, *err;
	} cases[] = {
	        {"{\"payload\": 1, \"uniqe_key\": \"k\"}",
	         "unknown envelope key 'uniqe_key' (known: payload, unique_key, namespace, "
	         "priority, "
	         "run_at, delay, batch, resources, max_attempts, timeout, after; --no-envelope "
	         "takes "
	         "every "
	         "line as a payload)"},
	        {"{\"payload\": 1, \"payload\": 2}", "duplicate envelope key 'payload'"},
	        {"{\"payload\": 1, \"batch\": \"a\", \"batch\": \"b\"}",
	         "duplicate envelope key 'batch'"},
	        {"{\"payload\": 1, \"priority\": \"high\"}", "priority: must be an integer"},
	        {"{\"payload\": 1, \"priority\": 1.5}", "priority: must be an integer"},
	        {"{\"payload\": 1, \"priority\": 1e300}",
	         "priority: must be an integer from -9007199254740992 to 9007199254740992"},
	        {"{\"payload\": 1, \"max_attempts\": 0}",
	         "max_attempts: must be an integer from 1 to 1000000"},
	        {"{\"payload\": 1, \"timeout\": \"soon\"}",
	         "timeout: invalid duration 'soon' (examples: 500ms, 10s, 5m, 2h, 1d)"},
	        {"{\"payload\": 1, \"timeout\": \"0s\"}", "timeout: must be more than 0"},
	        {"{\"payload\": 1, \"timeout\": 30}",
	         "timeout: must be a duration string (500ms, 10s, 5m, 2h, 1d)"},
	        {"{\"payload\": 1, \"delay\": \"99999d\"}",
	         "delay: invalid duration '99999d': at most 3650d (10 years)"},
	        {"{\"payload\": 1, \"run_at\": \"tomorrow\"}",
	         "run_at: invalid time 'tomorrow' (RFC 3339 with an offset, or @UNIXSECONDS)"},
	        {"{\"payload\": 1, \"run_at\": 1900000000}",
	         "run_at: must be a time string (RFC 3339, or @UNIXSECONDS)"},
	        {"{\"payload\": 1, \"run_at\": \"@1\", \"delay\": \"1m\"}",
	         "run_at and delay exclude each other"},
	        {"{\"payload\": 1, \"resources\": \"cpu\"}",
	         "resources: must be an array of resource tags"},
	        {"{\"payload\": 1, \"resources\": [\"cpu\", \"Bad Tag\"]}",
	         "resources[1]: invalid resource tag 'Bad Tag' (NAME or NAME:N)"},
	        {"{\"payload\": 1, \"resources\": [7]}",
	         "resources[0]: invalid resource tag '(not a string)' (NAME or NAME:N)"},
	        {"{\"payload\": 1, \"unique_key\": 5}", "unique_key: must be a string or null"},
	        {"{\"payload\": 1, \"namespace\": null}", "namespace: must be a string"},
	        {"{\"payload\": 1, \"unique_key\": \"a\\u0000b\"}",
	         "unique_key: contains \\u0000 (a NUL character, at byte 31), which jobq cannot "
	         "take"},
	        {"{\"payload\\u0000\": 1}", "payload\\u0000: contains \\u0000 (a NUL character, at "
	                                    "byte 9), which jobq cannot take"},
	        {"{\"payload\": 1, \"x\\u0000\": 1}",
	         "unknown envelope key 'x' (known: payload, unique_key, namespace, priority, "
	         "run_at, "
	         "delay, batch, resources, max_attempts, timeout, after; --no-envelope takes every "
	         "line "
	         "as a "
	         "payload)"},
	        {"{\"payload\": 1, \"bad\\u001bkey\": 1}",
	         "unknown envelope key 'bad?key' (known: payload, unique_key, namespace, priority, "
	         "run_at, "
	         "delay, batch, resources, max_attempts, timeout, after; --no-envelope takes every "
	         "line "
	         "as a "
	         "payload)"},
	};
	struct job_spec spec = {.type = "t", .namespace = "ns"}, before = spec;
	struct envelope env;
	char line[512], err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(cases[i].line, line, sizeof(line), &spec, &env, err, sizeof(err)) !=
		    -EINVAL)
			fail_msg("'%s' was not refused", cases[i].line);
		assert_string_equal(err, cases[i].err);
		assert_memory_equal(&spec, &before, sizeof(spec)); /* untouched */
		assert_null(env.root);
	}
	/* Too many tags. */
	char many[4096] = "{\"payload\": 1, \"resources\": [";
	for (int i = 0; i < 70; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s\"t%d\"",
		         i > 0 ? "," : "", i);
	strcat(many, "]}");
	char big[4096];
	assert_int_equal(parse(many, big, sizeof(big), &spec, &env, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "resources: at most 64 tags");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_not_envelopes),
	        cmocka_unit_test(test_every_field),
	        cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
