/* Unit tests of worker/placeholder.c (placeholders shared by exec and http) and worker/curl_dl.c
 * (libcurl loaded at run time). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "curl_dl.h"
#include "duration.h"
#include "handler_impl.h"

/* The text placeholder name resolves to, or NULL when it is not a placeholder; "ENOENT" when
 * the payload lacks the field. The result is in buf. */
static const char *
text_of(const char *name, const char *payload_json, char *buf, size_t len)
{
	struct job job = {.id = 7, .type = "enrich", .namespace = "ns/1", .attempts = 3};
	cJSON *payload = payload_json != NULL ? cJSON_Parse(payload_json) : NULL;
	struct placeholder ph;
	const char *text;
	char *tofree = NULL, num[32];
	int r = placeholder_resolve(name, strlen(name), &job, payload, &ph);

	if (r == 0 || r == -ENOENT) {
		cJSON_Delete(payload);
		return r == 0 ? NULL : "ENOENT";
	}
	assert_int_equal(r, 1);
	assert_int_equal(placeholder_text(&ph, &text, &tofree, num, sizeof(num)), 0);
	snprintf(buf, len, "%s", text);
	free(tofree);
	cJSON_Delete(payload);
	return buf;
}

static void
test_placeholders(void **state)
{
	char buf[256];
	const char *p = "{\"s\": \"x y\", \"n\": 42, \"o\": {\"a\": [1, 2]}, \"b\": true}";

	assert_string_equal(text_of("job.id", p, buf, sizeof(buf)), "7");
	assert_string_equal(text_of("job.type", p, buf, sizeof(buf)), "enrich");
	assert_string_equal(text_of("job.namespace", p, buf, sizeof(buf)), "ns/1");
	assert_string_equal(text_of("job.attempt", p, buf, sizeof(buf)), "3");
	assert_string_equal(text_of("payload.s", p, buf, sizeof(buf)), "x y");
	assert_string_equal(text_of("payload.n", p, buf, sizeof(buf)), "42");
	assert_string_equal(text_of("payload.b", p, buf, sizeof(buf)), "true");
	assert_string_equal(text_of("payload.o", p, buf, sizeof(buf)), "{\"a\":[1,2]}");
	assert_string_equal(text_of("payload.o.a", p, buf, sizeof(buf)), "[1,2]");
	assert_string_equal(text_of("payload", p, buf, sizeof(buf)),
	                    "{\"s\":\"x y\",\"n\":42,\"o\":{\"a\":[1,2]},\"b\":true}");
	/* missing fields, and paths through something that is not an object */
	assert_string_equal(text_of("payload.nope", p, buf, sizeof(buf)), "ENOENT");
	assert_string_equal(text_of("payload.s.x", p, buf, sizeof(buf)), "ENOENT");
	assert_string_equal(text_of("payload", NULL, buf, sizeof(buf)), "ENOENT");
	/* not placeholders: kept as written by the caller */
	assert_null(text_of("HOME", p, buf, sizeof(buf)));
	assert_null(text_of("job.nope", p, buf, sizeof(buf)));
	assert_null(text_of("payload..s", p, buf, sizeof(buf)));
	assert_null(text_of("", p, buf, sizeof(buf)));
}

/* A payload holding \u0000 (only an SQL insert can store one): a payload placeholder fails with
 * -EILSEQ and a message naming the field, rather than give a string cut at the NUL. */
static void
test_placeholder_nul(void **state)
{
	const char *text = "{\"ok\": \"fine\", \"m\": [{\"t\": \"a\\u0000b\"}]}";
	struct job job = {.id = 7, .type = "enrich", .namespace = "ns", .payload = (char *)text};
	cJSON *payload = cJSON_Parse(text);
	struct placeholder ph;
	char err[256];

	(void)state;
	assert_non_null(payload);
	assert_int_equal(placeholder_resolve("payload.ok", 10, &job, payload, &ph), -EILSEQ);
	assert_int_equal(placeholder_resolve("payload", 7, &job, payload, &ph), -EILSEQ);
	assert_int_equal(placeholder_resolve("job.id", 6, &job, payload, &ph), 1);
	placeholder_nul_error(&job, "exec", err, sizeof(err));
	assert_string_equal(err,
	                    "exec: payload.m[0].t contains \\u0000 (a NUL character), which no "
	                    "placeholder can pass on");
	/* An escaped backslash before "u0000" is text. */
	job.payload = (char *)"{\"ok\": \"C:\\\\u0000\"}";
	cJSON_Delete(payload);
	payload = cJSON_Parse(job.payload);
	assert_int_equal(placeholder_resolve("payload.ok", 10, &job, payload, &ph), 1);
	assert_string_equal(ph.json->valuestring, "C:\\u0000");
	cJSON_Delete(payload);
}

static void
test_curl_loads(void **state)
{
	char err[256] = "";

	assert_int_equal(curl_dl_load(err, sizeof(err)), 0);
	assert_int_equal(curl_dl_load(err, sizeof(err)), 0); /* once */
	assert_non_null(curl_dl.easy_init);
	assert_non_null(curl_dl.multi_socket_action);
	assert_string_equal(curl_dl.easy_strerror(CURLE_OK), "No error");
}

static void
test_failed_handler(void **state)
{
	struct handler *h = handler_failed("exec 'x': command not found", 127, 0);

	assert_non_null(h);
	assert_int_equal(handler_step(h, 0), 1);
	assert_false(handler_outcome(h)->succeeded);
	assert_string_equal(handler_outcome(h)->error, "exec 'x': command not found");
	assert_int_equal(handler_outcome(h)->exit_code, 127);
	handler_stop(h, 1, 0); /* over already: nothing changes */
	assert_false(handler_outcome(h)->cancelled);
	handler_free(h);
	h = handler_failed("payload.x: missing", -1, 1);
	assert_false(handler_outcome(h)->has_exit_code);
	assert_true(handler_outcome(h)->no_retry);
	handler_free(h);
}

/* A deadline years away gives poll() the longest int, not a wrapped one (issue 14). */
static void
test_far_deadline(void **state)
{
	int64_t now = time_mono_ms();
	int t = -1;

	handler_deadline(time_add(now, DURATION_MAX_MS), &t);
	assert_int_equal(t, INT_MAX);
	t = -1;
	handler_deadline(TIME_MAX_MS, &t);
	assert_int_equal(t, INT_MAX);
	handler_deadline(time_add(now, 60000), &t);
	assert_true(t > 50000 && t <= 60000);
	t = 5;
	handler_deadline(time_add(now, DURATION_MAX_MS), &t);
	assert_int_equal(t, 5);
	t = -1;
	handler_deadline(1, &t); /* past: at once */
	assert_int_equal(t, 0);
}

/* The JOBQ_REPORT text of an exec command that exited 75 (exec_report_parse). */
static void
test_report_parse(void **state)
{
	int64_t now = 1767225600000, ms = 0; /* 2026-01-01T00:00:00Z */

	assert_null(exec_report_parse("{\"retry_after\": \"30m\"}", now, &ms));
	assert_int_equal(ms, 1800000);
	assert_null(exec_report_parse("{\"retry_after\": 90}", now, &ms));
	assert_int_equal(ms, 90000);
	assert_null(exec_report_parse("{\"retry_after\": 1.5}\n", now, &ms));
	assert_int_equal(ms, 1500);
	assert_null(exec_report_parse("{\"retry_after\": \"2026-01-01T00:01:00Z\"}", now, &ms));
	assert_int_equal(ms, 60000);
	assert_null(exec_report_parse("{\"retry_after\": \"2025-01-01T00:00:00Z\"}", now, &ms));
	assert_int_equal(ms, 0); /* a time past: at once */
	assert_null(exec_report_parse("{\"other\": 1}", now, &ms));
	assert_int_equal(ms, -1);
	assert_string_equal(
	        exec_report_parse("{\"retry_after\": \"soon\"}", now, &ms),
	        "JOBQ_REPORT retry_after is not a duration, an RFC 3339 time or seconds");
	assert_int_equal(ms, -1);
	assert_non_null(exec_report_parse("{\"retry_after\": -1}", now, &ms));
	assert_non_null(exec_report_parse("{\"retry_after\": 1e9}", now, &ms));
	assert_non_null(exec_report_parse("{\"retry_after\": \"3651d\"}", now, &ms));
	assert_string_equal(exec_report_parse("[1]", now, &ms), "JOBQ_REPORT is not a JSON object");
	assert_string_equal(exec_report_parse("", now, &ms), "JOBQ_REPORT is not a JSON object");
	assert_int_equal(ms, -1);
}

/* The tokens an attempt spent: {"tokens": N} in JOBQ_REPORT, and http.tokens_path in a
 * response body (charged to the token budgets of the job's pools). */
static void
test_report_tokens(void **state)
{
	const char *body = "{\"id\": \"x\", \"usage\": {\"prompt_tokens\": 9, \"total_tokens\": "
	                   "1234}, \"choices\": [{\"n\": 7}]}";
	int64_t n = -1;

	(void)state;
	assert_null(exec_report_tokens("{\"tokens\": 1500}", &n));
	assert_int_equal(n, 1500);
	assert_null(exec_report_tokens("{\"tokens\": 0, \"retry_after\": \"1m\"}", &n));
	assert_int_equal(n, 0);
	assert_null(exec_report_tokens("{\"retry_after\": \"1m\"}", &n));
	assert_int_equal(n, 0);
	assert_string_equal(exec_report_tokens("{\"tokens\": \"many\"}", &n),
	                    "JOBQ_REPORT tokens is not an integer from 0 to 10^12");
	assert_non_null(exec_report_tokens("{\"tokens\": -3}", &n));
	assert_non_null(exec_report_tokens("{\"tokens\": 1.5}", &n));
	assert_non_null(exec_report_tokens("{\"tokens\": 1e13}", &n));
	assert_int_equal(n, 0);
	assert_string_equal(exec_report_tokens("tokens: 5", &n),
	                    "JOBQ_REPORT is not a JSON object");

	assert_int_equal(http_tokens(body, strlen(body), "usage.total_tokens", &n), 0);
	assert_int_equal(n, 1234);
	assert_int_equal(http_tokens(body, strlen(body), "choices.0.n", &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(http_tokens(body, strlen(body), "usage.missing", &n), -ENOENT);
	assert_int_equal(http_tokens(body, strlen(body), "choices.1.n", &n), -ENOENT);
	assert_int_equal(http_tokens(body, strlen(body), "id.x", &n), -ENOENT);
	assert_int_equal(http_tokens(body, strlen(body), "id", &n), -EINVAL);
	assert_int_equal(http_tokens(body, strlen(body), "usage", &n), -EINVAL);
	assert_int_equal(n, 0);
	/* Cut short (not NUL-terminated there): not JSON. */
	assert_int_equal(http_tokens(body, 20, "usage.total_tokens", &n), -EINVAL);
	assert_int_equal(http_tokens("<html>", 6, "usage.total_tokens", &n), -EINVAL);
}

/* Response header lines as libcurl hands them: not NUL-terminated, CRLF kept. */
static int64_t
retry_after(const char *line, int64_t now, int64_t before)
{
	size_t n = strlen(line);
	char *copy = malloc(n > 0 ? n : 1);
	int64_t at = before;

	assert_non_null(copy);
	memcpy(copy, line, n);
	http_header_retry(copy, n, now, &at);
	free(copy);
	return at;
}

static void
test_header_retry(void **state)
{
	int64_t now = 1767225600000;
	char err[256] = "";

	assert_int_equal(retry_after("HTTP/1.1 429 Too Many Requests\r\n", now, 5), 0);
	assert_int_equal(retry_after("Retry-After: 120\r\n", now, 0), now + 120000);
	assert_int_equal(retry_after("retry-after:\t 7 \r\n", now, 0), now + 7000);
	assert_int_equal(retry_after("Retry-After: 99999999999\r\n", now, 0), now + 999999999000);
	assert_int_equal(retry_after("Retry-After: \r\n", now, 5), 5);
	assert_int_equal(retry_after("Retry-After:", now, 5), 5);
	assert_int_equal(retry_after("Retry-After-Later: 5\r\n", now, 5), 5);
	assert_int_equal(retry_after("Content-Type: text/plain\r\n", now, 5), 5);
	assert_int_equal(curl_dl_load(err, sizeof(err)), 0); /* dates go through curl_getdate */
	assert_int_equal(retry_after("Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", now, 0),
	                 1445412480000);
	assert_int_equal(retry_after("Retry-After: soon\r\n", now, 5), 5);
}

/* The http body template filled with a job's payload (http_fill_body). */
static void
test_fill_body(void **state)
{
	struct job job = {.id = 7,
	                  .type = "chat",
	                  .namespace = "default",
	                  .attempts = 1,
	                  .payload = "{\"prompt\":\"hi\",\"n\":42}"};
	cJSON *payload = cJSON_Parse(job.payload);
	char *out = NULL, err[256] = "";

	assert_int_equal(http_fill_body("{\"m\":\"x\",\"c\":\"{payload.prompt}\",\"n\":"
	                                "\"{payload.n}\",\"all\":[\"{payload}\"],\"s\":"
	                                "\"id {job.id} {{x}\"}",
	                                &job, payload, &out, err, sizeof(err)),
	                 0);
	assert_string_equal(out, "{\"m\":\"x\",\"c\":\"hi\",\"n\":42,\"all\":[{\"prompt\":"
	                         "\"hi\",\"n\":42}],\"s\":\"id 7 {x}\"}");
	free(out);
	assert_int_equal(http_fill_body("\"{payload.n}\"", &job, payload, &out, err, sizeof(err)),
	                 0);
	assert_string_equal(out, "42");
	free(out);
	assert_int_equal(
	        http_fill_body("{\"c\":\"{payload.none}\"}", &job, payload, &out, err, sizeof(err)),
	        -EINVAL);
	assert_null(out);
	assert_string_equal(err, "http: the payload has no 'payload.none' for the placeholder in "
	                         "body");
	assert_int_equal(http_fill_body("{", &job, payload, &out, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "http: the body template is not valid JSON");
	cJSON_Delete(payload);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_far_deadline),    cmocka_unit_test(test_placeholders),
	        cmocka_unit_test(test_placeholder_nul), cmocka_unit_test(test_curl_loads),
	        cmocka_unit_test(test_failed_handler),  cmocka_unit_test(test_report_parse),
	        cmocka_unit_test(test_report_tokens),   cmocka_unit_test(test_header_retry),
	        cmocka_unit_test(test_fill_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
