/*
 * Unit tests of the http handler (worker/http.c, http_request.c, http_response.c): the request it
 * builds (method, url placeholders percent-encoded, body template, headers with ${ENV} secrets,
 * jobq's own headers) and how it classifies the answer (2xx, 4xx, 408/429/5xx, Retry-After and the
 * quota, output_max, stderr_max, connection errors, the timeout). Every request goes to a real HTTP
 * server on 127.0.0.1 (tests/e2e/httpserver.py, started once for the group; JOBQ_SRC names the
 * source tree), driven through handler_start() / handler_pollfds() / handler_step() as the worker
 * drives it.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "curl_dl.h"
#include "duration.h"
#include "fileio.h"
#include "handler.h"

extern char **environ;

static char dir[PATH_MAX];
static char log_path[PATH_MAX + 16], err_path[PATH_MAX + 16];
static pid_t server = -1;
static int port;

static void
rm_rf(void)
{
	char *argv[] = {"rm", "-rf", dir, NULL};
	pid_t pid;

	if (dir[0] == '\0' || (pid = fork()) < 0)
		return;
	if (pid == 0) {
		execvp("rm", argv);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

/* Start httpserver.py in a temporary folder and wait for the port it writes. */
static int
setup_server(void **state)
{
	const char *src = getenv("JOBQ_SRC");
	char script[PATH_MAX], port_path[PATH_MAX + 16], err[256];
	char *text = NULL;

	if (src == NULL) {
		fprintf(stderr, "JOBQ_SRC must name the source tree\n");
		return -1;
	}
	if (curl_dl_load(err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/jobq-test-http.XXXXXX",
	         getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(script, sizeof(script), "%s/tests/e2e/httpserver.py", src);
	snprintf(port_path, sizeof(port_path), "%s/port", dir);
	snprintf(log_path, sizeof(log_path), "%s/requests.jsonl", dir);
	snprintf(err_path, sizeof(err_path), "%s/server.err", dir);
	char *argv[] = {"python3", script, port_path, log_path, NULL};
	if ((server = fork()) < 0)
		return -1;
	if (server == 0) {
		/* Its tracebacks (a client that stops reading at output_max) go to a file. */
		int fd = open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		execvp("python3", argv);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) { /* 10 s */
		if (file_read(port_path, 64, &text, NULL) == 0 && (port = atoi(text)) > 0) {
			free(text);
			return 0;
		}
		free(text);
		text = NULL;
		if (waitpid(server, NULL, WNOHANG) == server) {
			server = -1;
			break;
		}
		usleep(20000);
	}
	fprintf(stderr, "the http server did not start\n");
	return -1;
}

static int
teardown_server(void **state)
{
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
	}
	rm_rf();
	return 0;
}

/* One job of type "t" run to its end by an http handler of the configuration text cfg_fmt
 * (a printf format: %d is the server's port). */
struct run {
	struct config cfg;
	struct job job;
	struct handler *h;
	const struct job_outcome *o;
	int64_t before; /* wall ms when the request started */
	int start_rc;
	char err[512];
};

static void
run_job(struct run *r, const char *payload, const char *cfg_fmt, ...)
{
	char cfg_path[PATH_MAX + 16], text[4096];
	struct handler_env env;
	va_list ap;
	FILE *f;
	pid_t pgid = 0;
	uint64_t pgid_start = 0;

	memset(r, 0, sizeof(*r));
	va_start(ap, cfg_fmt);
	vsnprintf(text, sizeof(text), cfg_fmt, ap);
	va_end(ap);
	snprintf(cfg_path, sizeof(cfg_path), "%s/jobq.json", dir);
	assert_non_null(f = fopen(cfg_path, "w"));
	fputs(text, f);
	fclose(f);
	config_init_default(&r->cfg);
	assert_int_equal(config_load(cfg_path, &r->cfg, r->err, sizeof(r->err)), 0);
	r->job = (struct job){.id = 42,
	                      .type = "t",
	                      .namespace = "default",
	                      .attempts = 1,
	                      .payload = (char *)payload};
	env = (struct handler_env){.db_path = "/nonexistent/q.db",
	                           .cfg = &r->cfg,
	                           .type = config_type(&r->cfg, "t"),
	                           .job = &r->job,
	                           .base_envp = environ};
	assert_non_null(env.type);
	r->before = time_now_ms();
	r->start_rc = handler_start(&env, &r->h, &pgid, &pgid_start, r->err, sizeof(r->err));
	if (r->start_rc < 0)
		return;
	for (int64_t give_up = time_mono_ms() + 20000;;) {
		struct pollfd fds[8];
		int timeout = -1, n = handler_pollfds(r->h, fds, 8, &timeout);

		if (timeout < 0 || timeout > 100)
			timeout = 100;
		poll(fds, (nfds_t)n, timeout);
		if (handler_step(r->h, time_mono_ms()) == 1)
			break;
		assert_true(time_mono_ms() < give_up);
	}
	r->o = handler_outcome(r->h);
}

static void
run_release(struct run *r)
{
	handler_free(r->h);
	config_release(&r->cfg);
}

/* The last request the server logged, parsed (caller deletes). */
static cJSON *
last_request(void)
{
	char *text = NULL, *line;
	cJSON *j;

	assert_int_equal(file_read(log_path, 1 << 20, &text, NULL), 0);
	size_t n = strlen(text);
	while (n > 0 && text[n - 1] == '\n')
		text[--n] = '\0';
	line = strrchr(text, '\n');
	j = cJSON_Parse(line != NULL ? line + 1 : text);
	free(text);
	assert_non_null(j);
	return j;
}

static const char *
field(const cJSON *j, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
	if (b != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* POST: the url's placeholders percent-encoded (an '&' in a value does not start another query
 * parameter), the body template filled, a ${ENV} header resolved when the request is made,
 * jobq's Content-Type and User-Agent; 200 gives a success with the body as the result. */
static void
test_post_request(void **state)
{
	struct run r;
	cJSON *req;

	setenv("JOBQ_TEST_HTTP_TOKEN", "s3cret-token-0123456789", 1);
	run_job(&r, "{\"q\":\"a b&c=d\",\"n\":3}",
	        "{\"types\": {\"t\": {\"http\": {\"url\": \"http://127.0.0.1:%d/echo?q={payload.q}"
	        "&id={job.id}\", \"headers\": {\"X-Token\": \"Bearer ${JOBQ_TEST_HTTP_TOKEN}\"}, "
	        "\"body\": {\"text\": \"{payload.q}\", \"n\": \"{payload.n}\", \"s\": \"job "
	        "{job.id} {{x}\"}}}}}",
	        port);
	assert_int_equal(r.start_rc, 0);
	assert_true(r.o->succeeded);
	assert_true(r.o->has_exit_code);
	assert_int_equal(r.o->exit_code, 200);
	assert_false(r.o->truncated);
	assert_string_equal(r.o->result, "{\"text\":\"a b&c=d\",\"n\":3,\"s\":\"job 42 {x}\"}");
	req = last_request();
	assert_string_equal(field(req, "method", NULL), "POST");
	assert_string_equal(field(req, "path", NULL), "/echo");
	assert_string_equal(field(req, "query", "q"), "a b&c=d");
	assert_string_equal(field(req, "query", "id"), "42");
	assert_string_equal(field(req, "headers", "x-token"), "Bearer s3cret-token-0123456789");
	assert_string_equal(field(req, "headers", "content-type"), "application/json");
	assert_non_null(field(req, "headers", "user-agent"));
	assert_memory_equal(field(req, "headers", "user-agent"), "jobq/", 5);
	cJSON_Delete(req);
	run_release(&r);
	unsetenv("JOBQ_TEST_HTTP_TOKEN");
}

/* Without a body template the payload is sent as it was enqueued; GET sends no body; a header
 * of the configuration replaces jobq's own. */
static void
test_payload_and_get(void **state)
{
	struct run r;
	cJSON *req;

	run_job(&r, "{ \"kept\" : [1, 2] }",
	        "{\"types\": {\"t\": {\"http\": {\"url\": \"http://127.0.0.1:%d/echo\", "
	        "\"headers\": {\"Content-Type\": \"text/x-test\"}}}}}",
	        port);
	assert_int_equal(r.start_rc, 0);
	assert_true(r.o->succeeded);
	req = last_request();
	assert_string_equal(field(req, "body", NULL), "{ \"kept\" : [1, 2] }");
	assert_string_equal(field(req, "headers", "content-type"), "text/x-test");
	cJSON_Delete(req);
	run_release(&r);

	run_job(&r, "{\"x\":1}",
	        "{\"types\": {\"t\": {\"http\": {\"url\": \"http://127.0.0.1:%d/echo\", "
	        "\"method\": \"GET\"}}}}",
	        port);
	assert_true(r.o->succeeded);
	assert_null(r.o->result); /* an empty body: no result */
	req = last_request();
	assert_string_equal(field(req, "method", NULL), "GET");
	assert_string_equal(field(req, "body", NULL), "");
	cJSON_Delete(req);
	run_release(&r);
}

/* A payload without a field a placeholder names: the handler does not start, the error names
 * the field. */
static void
test_missing_field(void **state)
{
	struct run r;

	run_job(&r, "{}",
	        "{\"types\": {\"t\": {\"http\": {\"url\": \"http://127.0.0.1:%d/echo?q="
	        "{payload.q}\"}}}}",
	        port);
	assert_int_equal(r.start_rc, -EINVAL);
	assert_non_null(strstr(r.err, "payload.q"));
	assert_null(r.h);
	config_release(&r.cfg);
}

/* The status of an answer: which are retried, which fail at once, and the error text. */
static void
test_status_classes(void **state)
{
	static const struct {
		int code, no_retry;
	} cases[] = {
	        {400, 1}, {401, 1}, {404, 1}, {409, 1}, {301, 1}, /* redirects are not followed */
	        {408, 0}, {429, 0}, {500, 0}, {502, 0}, {503, 0},
	};
	struct run r;
	char want[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_job(&r, "{}",
		        "{\"types\": {\"t\": {\"http\": {\"url\": \"http://127.0.0.1:%d/status/%d"
		        "?body=nope%%0A\"}}}}",
		        port, cases[i].code);
		assert_int_equal(r.start_rc, 0);
		assert_false(r.o->succeeded);
		assert_true(r.o->has_exit_code);
		assert_int_equal(r.o->exit_code, cases[i].code);
		assert_int_equal(r.o->no_retry, cases[i].no_retry);
		assert_int_equal(r.o->retry_after_ms, 0); /* no Retry-After: the type's backoff */
		snprintf(want, sizeof(want), "HTTP %d: nope", cases[i].code); /* no trailing \n */
		assert_string_equal(r.o->error, want);
		assert_int_equal(handler_quota(r.h, NULL), 0);
		run_release(&r);
	}
	/* 2xx other than 200 succeeds too; an empty error body gives only the status. */
	run_job(&r, "{}",
	        "{\"types\": {\"t\": {\"http\": {\"url\": \"http://127.0.0.1:%d/status/204\"}}}}",
	        port);
	assert_true(r.o->succeeded);
	assert_int_equal(r.o->exit_code, 204);
	run_release(&r);
	run_job(&r, "{}",
	        "{\"types\": {\"t\": {\"http\": {\"url\": \"http://127.0.0.1:%d/status/418\"}}}}",
	        port);
	assert_string_equal(r.o->error, "HTTP 418");
	run_release(&r);
}

/* Retry-After: a 429 with one pauses the job's pools (the quota) and asks for that delay; a
 * 503's is honoured without a quota; either is capped at backoff.max; a 404's is ignored. */
static void
test_retry_after(void **state)
{
	const char *reason = NULL;
	struct run r;
	int64_t quota;

	run_job(&r, "{}",
	        "{\"types\": {\"t\": {\"backoff\": {\"base\": \"1s\", \"max\": \"1h\"}, "
	        "\"http\": {\"url\": \"http://127.0.0.1:%d/status/429?retry_after=120\"}}}}",
	        port);
	assert_int_equal(r.o->exit_code, 429);
	assert_false(r.o->no_retry);
	assert_in_range(r.o->retry_after_ms, 115000, 120000);
	quota = handler_quota(r.h, &reason);
	assert_in_range(quota, r.before + 115000, time_now_ms() + 120000);
	assert_non_null(strstr(reason, "HTTP 429 with Retry-After (job 42)"));
	run_release(&r);

	run_job(&r, "{}",
	        "{\"types\": {\"t\": {\"backoff\": {\"base\": \"1s\", \"max\": \"1m\"}, "
	        "\"http\": {\"url\": \"http://127.0.0.1:%d/status/503?retry_after=7200\"}}}}",
	        port);
	assert_int_equal(r.o->exit_code, 503);
	assert_int_equal(r.o->retry_after_ms, 60000); /* capped at backoff.max */
	assert_int_equal(handler_quota(r.h, NULL), 0);
	run_release(&r);

	run_job(&r, "{}",
	        "{\"types\": {\"t\": {\"http\": {\"url\": \"http://127.0.0.1:%d/status/429?"
	        "retry_after=Wed,%%2021%%20Oct%%202015%%2007:28:00%%20GMT\"}}}}",
	        port);
	assert_int_equal(r.o->retry_after_ms, 0); /* a date in the past: at once */
	assert_int_equal(handler_quota(r.h, NULL), 0);
	run_release(&r);

	run_job(&r, "{}",
	        "{\"types\": {\"t\": {\"http\": {\"url\": \"http://127.0.0.1:%d/status/404?"
	        "retry_after=30\"}}}}",
	        port);
	assert_true(r.o->no_retry);
	assert_int_equal(r.o->retry_after_ms, 0);
	assert_int_equal(handler_quota(r.h, NULL), 0);
	run_release(&r);
}

/* output_max caps the result (the rest is not read, the outcome marked truncated);
 * stderr_max caps the start of an error body kept in the error. */
static void
test_size_limits(void **state)
{
	struct run r;

	run_job(&r, "{}",
	        "{\"output_max\": 1000, \"types\": {\"t\": {\"http\": {\"url\": "
	        "\"http://127.0.0.1:%d/big?bytes=1000\"}}}}",
	        port);
	assert_true(r.o->succeeded);
	assert_false(r.o->truncated);
	assert_int_equal(strlen(r.o->result), 1000);
	run_release(&r);

	run_job(&r, "{}",
	        "{\"output_max\": 1000, \"types\": {\"t\": {\"http\": {\"url\": "
	        "\"http://127.0.0.1:%d/big?bytes=3000000\"}}}}",
	        port);
	assert_true(r.o->succeeded);
	assert_true(r.o->truncated);
	assert_int_equal(strlen(r.o->result), 1000);
	run_release(&r);

	run_job(&r, "{}",
	        "{\"stderr_max\": 16, \"types\": {\"t\": {\"http\": {\"url\": "
	        "\"http://127.0.0.1:%d/status/500?body=0123456789abcdefTAIL\"}}}}",
	        port);
	assert_string_equal(r.o->error, "HTTP 500: 0123456789abcdef");
	run_release(&r);
}

/* A port nobody listens on: a failed attempt, retried, without a status. */
static void
test_connection_refused(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), closed;
	struct run r;

	/* A port that was free a moment ago, closed again: nothing listens there. */
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	closed = ntohs(a.sin_port);
	close(fd);
	run_job(&r, "{}",
	        "{\"types\": {\"t\": {\"http\": {\"url\": \"http://127.0.0.1:%d/echo\"}}}}",
	        closed);
	assert_int_equal(r.start_rc, 0);
	assert_false(r.o->succeeded);
	assert_false(r.o->has_exit_code);
	assert_false(r.o->no_retry);
	assert_non_null(r.o->error);
	assert_memory_equal(r.o->error, "request failed: ", 16);
	run_release(&r);
}

/* The type's timeout bounds the whole request: a failed attempt, retried, saying so. */
static void
test_timeout(void **state)
{
	struct run r;

	run_job(&r, "{}",
	        "{\"types\": {\"t\": {\"timeout\": \"300ms\", \"http\": {\"url\": "
	        "\"http://127.0.0.1:%d/slow?ms=5000\"}}}}",
	        port);
	assert_false(r.o->succeeded);
	assert_false(r.o->no_retry);
	assert_false(r.o->has_exit_code);
	assert_non_null(r.o->error);
	assert_memory_equal(r.o->error, "timed out after ", 16);
	run_release(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_post_request),       cmocka_unit_test(test_payload_and_get),
	        cmocka_unit_test(test_missing_field),      cmocka_unit_test(test_status_classes),
	        cmocka_unit_test(test_retry_after),        cmocka_unit_test(test_size_limits),
	        cmocka_unit_test(test_connection_refused), cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
