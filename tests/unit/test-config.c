/* Unit tests of core/config.c: the whole format, defaults, every error message and its path. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <cmocka.h>

#include "config.h"
#include "fileio.h"

/* Test JSON is written with ' for " to stay readable; this turns it into real JSON (static). */
static const char *
q(const char *s)
{
	static char buf[8192];
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < sizeof(buf); i++)
		buf[i] = s[i] == '\'' ? '"' : s[i];
	buf[i] = '\0';
	return buf;
}

static int
setup(void **state)
{
	char *dir = strdup("/tmp/jobq-test-config-XXXXXX");

	if (dir == NULL || mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	unsetenv("JOBQ_CONFIG");
	return 0;
}

static int
teardown(void **state)
{
	char *dir = *state, path[PATH_MAX];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dir);
	unsetenv("JOBQ_CONFIG");
	return 0;
}

static void
parse_ok(const char *json, struct config *cfg)
{
	char err[512] = "";

	if (config_parse(q(json), "test.json", cfg, err, sizeof(err)) != 0)
		fail_msg("config rejected: %s\n%s", err, q(json));
}

static void
assert_error(const char *json, const char *want)
{
	struct config cfg;
	char err[512] = "";
	int r = config_parse(q(json), "test.json", &cfg, err, sizeof(err));

	if (r != -EINVAL)
		fail_msg("config accepted (%d), want error '%s':\n%s", r, want, q(json));
	if (strcmp(err, want) != 0)
		fail_msg("config error\n  got:  %s\n  want: %s\nfor: %s", err, want, q(json));
	/* Left released: the built-in default, nothing allocated. */
	assert_null(cfg.path);
	assert_null(cfg.types);
	assert_int_equal(cfg.ntypes, 0);
	assert_null(cfg.pools);
	assert_int_equal(cfg.global, 1);
	config_release(&cfg);
}

static void
test_default(void **state)
{
	struct config cfg;

	config_init_default(&cfg);
	assert_null(cfg.path);
	assert_int_equal(cfg.global, 1);
	assert_int_equal(cfg.ntypes, 0);
	assert_int_equal(cfg.npools, 0);
	assert_int_equal(cfg.ntype_limits, 0);
	assert_int_equal(cfg.workers, 0);
	assert_int_equal(cfg.grace_ms, CONFIG_DEFAULT_GRACE_MS);
	assert_int_equal(cfg.lease_ms, CONFIG_DEFAULT_LEASE_MS);
	assert_int_equal(cfg.synchronous_full, 1);
	assert_int_equal(cfg.payload_max, CONFIG_DEFAULT_PAYLOAD_MAX);
	assert_int_equal(cfg.output_max, CONFIG_DEFAULT_OUTPUT_MAX);
	assert_int_equal(cfg.stderr_max, CONFIG_DEFAULT_STDERR_MAX);
	assert_null(config_type(&cfg, "x"));
	assert_int_equal(config_type_limit(&cfg, "x"), -1);
	assert_int_equal(config_pool(&cfg, "x"), -1);
	assert_int_equal(config_worker_count(&cfg), 1);
	config_release(&cfg);
	config_release(&cfg); /* twice is harmless */
	config_release(NULL);

	/* An empty object is the default too. */
	parse_ok("{}", &cfg);
	assert_string_equal(cfg.path, "test.json");
	assert_int_equal(cfg.global, 1);
	assert_int_equal(cfg.ntypes, 0);
	assert_int_equal(cfg.synchronous_full, 1);
	config_release(&cfg);

	/* The opt-out, under its name and under the name it had when it was the default. */
	parse_ok("{'durability': 'fast'}", &cfg);
	assert_int_equal(cfg.synchronous_full, 0);
	config_release(&cfg);
	parse_ok("{'durability': 'normal'}", &cfg);
	assert_int_equal(cfg.synchronous_full, 0);
	config_release(&cfg);
}

static void
test_design_example(void **state)
{
	struct config cfg;
	const struct type_config *t;

	parse_ok("{'concurrency': {'global': 1, 'types': {'enrich': 1, 'research': 2},"
	         " 'resources': {'ollama': 1, 'claude-api': 3, 'cpu': 2}},"
	         " 'types': {"
	         "  'story': {'exec': ['story-gen'], 'resources': ['ollama']},"
	         "  'enrich': {'exec': ['claude', '-p', '{payload.prompt}'],"
	         "   'resources': ['claude-api'], 'singleton': 'namespace', 'timeout': '15m',"
	         "   'max_attempts': 3}}}",
	         &cfg);
	assert_int_equal(cfg.global, 1);
	assert_int_equal(cfg.ntype_limits, 2);
	assert_int_equal(config_type_limit(&cfg, "enrich"), 1);
	assert_int_equal(config_type_limit(&cfg, "research"), 2);
	assert_int_equal(config_type_limit(&cfg, "story"), -1);
	assert_int_equal(cfg.npools, 3);
	assert_int_equal(config_pool(&cfg, "ollama"), 1);
	assert_int_equal(config_pool(&cfg, "claude-api"), 3);
	assert_int_equal(config_pool(&cfg, "cpu"), 2);
	assert_int_equal(config_pool(&cfg, "gpu"), -1);
	assert_int_equal(cfg.ntypes, 2);

	t = config_type(&cfg, "story");
	assert_non_null(t);
	assert_string_equal(t->name, "story");
	assert_int_equal(t->handler, HANDLER_EXEC);
	assert_int_equal(t->exec_argc, 1);
	assert_string_equal(t->exec_argv[0], "story-gen");
	assert_null(t->exec_argv[1]);
	assert_int_equal(t->nresources, 1);
	assert_string_equal(t->resources[0].name, "ollama");
	assert_int_equal(t->resources[0].units, 1);
	assert_int_equal(t->singleton_namespace, 0);
	/* Per-type defaults. */
	assert_int_equal(t->timeout_ms, 0);
	assert_int_equal(t->max_attempts, CONFIG_DEFAULT_MAX_ATTEMPTS);
	assert_int_equal(t->backoff_base_ms, CONFIG_DEFAULT_BACKOFF_BASE_MS);
	assert_int_equal(t->backoff_max_ms, CONFIG_DEFAULT_BACKOFF_MAX_MS);
	assert_int_equal(t->priority, 0);
	assert_null(t->env);
	assert_int_equal(t->nenv, 0);
	assert_null(t->env_remove);

	t = config_type(&cfg, "enrich");
	assert_non_null(t);
	assert_int_equal(t->exec_argc, 3);
	assert_string_equal(t->exec_argv[2], "{payload.prompt}");
	assert_null(t->exec_argv[3]);
	assert_int_equal(t->singleton_namespace, 1);
	assert_int_equal(t->timeout_ms, 15 * 60000);
	assert_int_equal(t->max_attempts, 3);
	assert_null(config_type(&cfg, "research")); /* a limit without a type is fine */
	config_release(&cfg);
}

static void
test_full(void **state)
{
	struct config cfg;
	const struct type_config *t;

	setenv("JOBQ_TEST_KEY", "sekret", 1);
	parse_ok("{'concurrency': {'global': 4, 'types': {'chat': 2},"
	         "  'resources': {'openai': 3, 'cpu': 4}},"
	         " 'types': {"
	         "  'chat': {'http': {'url': 'https://api.example.com/v1/chat/completions',"
	         "     'headers': {'Authorization': 'Bearer ${JOBQ_TEST_KEY}',"
	         "                 'Content-Type': 'application/json'},"
	         "     'body': {'model': 'm', 'messages': [{'role': 'user',"
	         "              'content': '{payload.prompt}'}], 'n': 1, 'stream': false},"
	         "     'connect_timeout': '5s', 'ca_bundle': '/etc/ssl/certs/ca.pem'},"
	         "   'resources': ['openai', 'cpu:2'], 'timeout': '2m', 'max_attempts': 5,"
	         "   'backoff': {'base': '1s', 'max': '10m'}, 'priority': -7},"
	         "  'get': {'http': {'url': 'http://127.0.0.1:8080/x?id={payload.id}',"
	         "     'method': 'GET'}},"
	         "  'noop': {'builtin': 'noop', 'priority': 10},"
	         "  'sleep': {'builtin': 'sleep'},"
	         "  'script': {'exec': ['/bin/sh-free', 'a b', ''], 'env': {'MODE': 'fast',"
	         "    'EMPTY': ''}, 'env_remove': ['HOME', 'OPENAI_API_KEY']},"
	         "  'external': {'resources': ['cpu:4']}},"
	         " 'workers': 3, 'grace': '30s', 'lease': '2m', 'durability': 'full',"
	         " 'payload_max': 2048, 'output_max': '2MiB', 'stderr_max': '16K'}",
	         &cfg);
	unsetenv("JOBQ_TEST_KEY");

	assert_int_equal(cfg.global, 4);
	assert_int_equal(cfg.workers, 3);
	assert_int_equal(config_worker_count(&cfg), 3);
	assert_int_equal(cfg.grace_ms, 30000);
	assert_int_equal(cfg.lease_ms, 120000);
	assert_int_equal(cfg.synchronous_full, 1);
	assert_int_equal(cfg.payload_max, 2048);
	assert_int_equal(cfg.output_max, 2 * 1024 * 1024);
	assert_int_equal(cfg.stderr_max, 16 * 1024);
	assert_int_equal(cfg.ntypes, 6);
	/* Types keep the file's order. */
	assert_string_equal(cfg.types[0].name, "chat");
	assert_string_equal(cfg.types[5].name, "external");

	t = config_type(&cfg, "chat");
	assert_int_equal(t->handler, HANDLER_HTTP);
	assert_string_equal(t->http.url, "https://api.example.com/v1/chat/completions");
	assert_string_equal(t->http.method, "POST");
	assert_int_equal(t->http.nheaders, 2);
	assert_string_equal(t->http.headers[0].name, "Authorization");
	/* Kept unexpanded: the secret is read when the request is made, never stored. */
	assert_string_equal(t->http.headers[0].value, "Bearer ${JOBQ_TEST_KEY}");
	assert_string_equal(t->http.headers[1].name, "Content-Type");
	assert_string_equal(t->http.body,
	                    q("{'model':'m','messages':[{'role':'user',"
	                      "'content':'{payload.prompt}'}],'n':1,'stream':false}"));
	assert_int_equal(t->http.connect_timeout_ms, 5000);
	assert_string_equal(t->http.ca_bundle, "/etc/ssl/certs/ca.pem");
	assert_int_equal(t->nresources, 2);
	assert_string_equal(t->resources[1].name, "cpu");
	assert_int_equal(t->resources[1].units, 2);
	assert_int_equal(t->timeout_ms, 120000);
	assert_int_equal(t->max_attempts, 5);
	assert_int_equal(t->backoff_base_ms, 1000);
	assert_int_equal(t->backoff_max_ms, 600000);
	assert_int_equal(t->priority, -7);

	t = config_type(&cfg, "get");
	assert_string_equal(t->http.method, "GET");
	assert_int_equal(t->http.nheaders, 0);
	assert_null(t->http.headers);
	assert_null(t->http.body);
	assert_null(t->http.ca_bundle);
	assert_int_equal(t->http.connect_timeout_ms, CONFIG_DEFAULT_CONNECT_TIMEOUT_MS);

	t = config_type(&cfg, "noop");
	assert_int_equal(t->handler, HANDLER_BUILTIN);
	assert_int_equal(t->builtin, BUILTIN_NOOP);
	assert_int_equal(t->priority, 10);
	t = config_type(&cfg, "sleep");
	assert_int_equal(t->handler, HANDLER_BUILTIN);
	assert_int_equal(t->builtin, BUILTIN_SLEEP);

	t = config_type(&cfg, "script");
	assert_int_equal(t->handler, HANDLER_EXEC);
	assert_int_equal(t->exec_argc, 3);
	assert_string_equal(t->exec_argv[1], "a b");
	assert_string_equal(t->exec_argv[2], "");
	assert_int_equal(t->nenv, 2);
	assert_string_equal(t->env[0], "MODE=fast");
	assert_string_equal(t->env[1], "EMPTY=");
	assert_null(t->env[2]);
	assert_int_equal(t->nenv_remove, 2);
	assert_string_equal(t->env_remove[0], "HOME");
	assert_string_equal(t->env_remove[1], "OPENAI_API_KEY");
	assert_null(t->env_remove[2]);

	/* No handler: claimed only by external workers. */
	t = config_type(&cfg, "external");
	assert_int_equal(t->handler, HANDLER_NONE);
	assert_int_equal(t->resources[0].units, 4);
	config_release(&cfg);
}

static void
test_errors_top(void **state)
{
	assert_error("[]", "the configuration must be a JSON object");
	assert_error("42", "the configuration must be a JSON object");
	assert_error("{'workrs': 2}", "unknown top-level key 'workrs'");
	assert_error("{'workers': 2, 'workers': 3}", "top level: duplicate key 'workers'");
	assert_error("{'workers': 0}", "workers: must be a positive integer (at most 256)");
	assert_error("{'workers': 1.5}", "workers: must be a positive integer (at most 256)");
	assert_error("{'workers': '2'}", "workers: must be a positive integer (at most 256)");
	assert_error("{'workers': 5000}", "workers: must be a positive integer (at most 256)");
	assert_error("{'grace': 10}",
	             "grace: must be a duration string such as \"30s\" or \"1h30m\"");
	assert_error("{'grace': '10'}",
	             "grace: invalid duration '10' (expected e.g. 500ms, 10s, 5m, 2h, 1d, 1h30m)");
	assert_error("{'lease': '500ms'}", "lease: must be at least 1s");
	assert_error("{'durability': 'FULL'}", "durability: must be \"full\" or \"fast\"");
	assert_error("{'durability': 'off'}", "durability: must be \"full\" or \"fast\"");
	assert_error("{'durability': true}", "durability: must be \"full\" or \"fast\"");
	assert_error("{'payload_max': 0}",
	             "payload_max: must be a positive number of bytes (e.g. 65536 or \"64KiB\")");
	assert_error("{'output_max': '12 MiB'}",
	             "output_max: must be a positive number of bytes (e.g. 65536 or \"64KiB\")");
	assert_error("{'stderr_max': '1TiB'}",
	             "stderr_max: must be a positive number of bytes (e.g. 65536 or \"64KiB\")");
	assert_error("{'stderr_max': '2G'}", "stderr_max: must be at most 1073741824 bytes");
	assert_error("{'payload_max': -1}",
	             "payload_max: must be a positive number of bytes (e.g. 65536 or \"64KiB\")");
	assert_error("{'concurrency': 3}", "concurrency: must be an object");
	assert_error("{'types': []}", "types: must be an object");
}

static void
test_errors_concurrency(void **state)
{
	assert_error("{'concurrency': {'global': 0}}",
	             "concurrency.global: must be a positive integer");
	assert_error("{'concurrency': {'global': -1}}",
	             "concurrency.global: must be a positive integer");
	assert_error("{'concurrency': {'global': 2.5}}",
	             "concurrency.global: must be a positive integer");
	assert_error("{'concurrency': {'global': '2'}}",
	             "concurrency.global: must be a positive integer");
	assert_error("{'concurrency': {'global': 1e12}}",
	             "concurrency.global: must be a positive integer");
	assert_error("{'concurrency': {'global': null}}",
	             "concurrency.global: must be a positive integer");
	assert_error("{'concurrency': {'types': {'enrich': 0}}}",
	             "concurrency.types.enrich: must be a positive integer");
	assert_error("{'concurrency': {'types': {'enrich': '1'}}}",
	             "concurrency.types.enrich: must be a positive integer");
	assert_error("{'concurrency': {'types': {'Enrich': 1}}}",
	             "concurrency.types: invalid type name 'Enrich' (expected "
	             "[a-z0-9][a-z0-9_-]{0,63})");
	assert_error("{'concurrency': {'types': {'a': 1, 'a': 2}}}",
	             "concurrency.types: duplicate key 'a'");
	assert_error("{'concurrency': {'types': []}}", "concurrency.types: must be an object");
	assert_error("{'concurrency': {'resources': {'cpu': 0}}}",
	             "concurrency.resources.cpu: must be a positive integer");
	assert_error("{'concurrency': {'resources': {'cpu:2': 2}}}",
	             "concurrency.resources: invalid resource name 'cpu:2' (expected "
	             "[a-z0-9][a-z0-9_.-]{0,63})");
	assert_error("{'concurrency': {'resources': {'': 2}}}",
	             "concurrency.resources: invalid resource name '' (expected "
	             "[a-z0-9][a-z0-9_.-]{0,63})");
	assert_error("{'concurrency': {'globl': 2}}", "concurrency: unknown key 'globl'");
}

static void
test_errors_types(void **state)
{
	assert_error("{'types': {'x': {'exce': ['a']}}}", "types.x: unknown key 'exce'");
	assert_error("{'types': {'x': []}}", "types.x: must be an object");
	assert_error("{'types': {'X': {}}}",
	             "types: invalid type name 'X' (expected [a-z0-9][a-z0-9_-]{0,63})");
	assert_error("{'types': {'../x': {}}}",
	             "types: invalid type name '../x' (expected [a-z0-9][a-z0-9_-]{0,63})");
	assert_error("{'types': {'x': {}, 'x': {}}}", "types: duplicate key 'x'");
	assert_error("{'types': {'x': {'exec': ['a'], 'builtin': 'noop'}}}",
	             "types.x: exactly one of exec, http, builtin");
	assert_error("{'types': {'x': {'exec': ['a'], 'http': {'url': 'http://h'}}}}",
	             "types.x: exactly one of exec, http, builtin");
	assert_error("{'types': {'x': {'exec': []}}}",
	             "types.x.exec: must be a non-empty array of strings");
	assert_error("{'types': {'x': {'exec': 'claude -p'}}}",
	             "types.x.exec: must be a non-empty array of strings");
	assert_error("{'types': {'x': {'exec': ['a', 2]}}}", "types.x.exec[1]: must be a string");
	assert_error("{'types': {'x': {'exec': ['']}}}",
	             "types.x.exec[0]: the command must not be empty");
	assert_error("{'types': {'x': {'builtin': 'nop'}}}",
	             "types.x.builtin: must be \"noop\" or \"sleep\"");
	assert_error("{'types': {'x': {'builtin': 1}}}",
	             "types.x.builtin: must be \"noop\" or \"sleep\"");
	assert_error("{'types': {'x': {'singleton': 'type'}}}",
	             "types.x.singleton: must be \"namespace\"");
	assert_error(
	        "{'types': {'x': {'timeout': '15'}}}",
	        "types.x.timeout: invalid duration '15' (expected e.g. 500ms, 10s, 5m, 2h, 1d, "
	        "1h30m)");
	assert_error("{'types': {'x': {'max_attempts': 0}}}",
	             "types.x.max_attempts: must be a positive integer");
	assert_error("{'types': {'x': {'backoff': {'base': '10s', 'max': '1s'}}}}",
	             "types.x.backoff: base must not exceed max");
	assert_error("{'types': {'x': {'backoff': {'base': '10s', 'min': '1s'}}}}",
	             "types.x.backoff: unknown key 'min'");
	assert_error("{'types': {'x': {'backoff': {'max': 'never'}}}}",
	             "types.x.backoff.max: invalid duration 'never' (expected e.g. 500ms, 10s, 5m, "
	             "2h, 1d, 1h30m)");
	assert_error("{'types': {'x': {'backoff': '5s'}}}", "types.x.backoff: must be an object");
	/* Durations are at most 3650d (issue 14: a huge backoff gave a negative run_at). */
	assert_error("{'types': {'x': {'backoff': {'base': '1s', 'max': '106751991166d'}}}}",
	             "types.x.backoff.max: duration '106751991166d' is too long (at most 3650d, "
	             "10 years)");
	assert_error("{'types': {'x': {'timeout': '3651d'}}}",
	             "types.x.timeout: duration '3651d' is too long (at most 3650d, 10 years)");
	assert_error("{'lease': '106751991166d'}",
	             "lease: duration '106751991166d' is too long (at most 3650d, 10 years)");
	assert_error(
	        "{'grace': '9223372036854775807ms'}",
	        "grace: duration '9223372036854775807ms' is too long (at most 3650d, 10 years)");
	assert_error("{'types': {'x': {'priority': 1.5}}}", "types.x.priority: must be an integer");
	assert_error("{'types': {'x': {'priority': '1'}}}", "types.x.priority: must be an integer");
	assert_error("{'types': {'x': {'priority': 1e300}}}",
	             "types.x.priority: must be an integer");
	assert_error("{'types': {'x': {'env': {'1X': 'a'}}}}",
	             "types.x.env: invalid variable name '1X' (expected [A-Za-z_][A-Za-z0-9_]*)");
	assert_error("{'types': {'x': {'env': {'A=B': 'a'}}}}",
	             "types.x.env: invalid variable name 'A=B' (expected [A-Za-z_][A-Za-z0-9_]*)");
	assert_error("{'types': {'x': {'env': {'A': 1}}}}", "types.x.env.A: must be a string");
	assert_error("{'types': {'x': {'env': ['A=1']}}}", "types.x.env: must be an object");
	assert_error("{'types': {'x': {'env_remove': ['HOME', 'BAD-NAME']}}}",
	             "types.x.env_remove[1]: invalid variable name 'BAD-NAME' (expected "
	             "[A-Za-z_][A-Za-z0-9_]*)");
	assert_error("{'types': {'x': {'env_remove': 'HOME'}}}",
	             "types.x.env_remove: must be an array of strings");
	assert_error("{'types': {'x': {'env_remove': [null]}}}",
	             "types.x.env_remove[0]: must be a string");
}

static void
test_errors_resources(void **state)
{
	assert_error("{'types': {'story': {'resources': ['gpu']}}}",
	             "types.story.resources[0]: unknown resource 'gpu' (not in "
	             "concurrency.resources)");
	assert_error("{'concurrency': {'resources': {'cpu': 2}},"
	             " 'types': {'story': {'resources': ['cpu', 'gpu:1']}}}",
	             "types.story.resources[1]: unknown resource 'gpu' (not in "
	             "concurrency.resources)");
	assert_error("{'concurrency': {'resources': {'cpu': 2}},"
	             " 'types': {'story': {'resources': ['cpu:3']}}}",
	             "types.story.resources[0]: 'cpu:3' takes 3 units but pool 'cpu' has a "
	             "capacity of 2");
	assert_error("{'concurrency': {'resources': {'cpu': 2}},"
	             " 'types': {'story': {'resources': ['cpu:0']}}}",
	             "types.story.resources[0]: invalid resource tag 'cpu:0' (expected NAME or "
	             "NAME:N)");
	assert_error(
	        "{'concurrency': {'resources': {'cpu': 2}},"
	        " 'types': {'story': {'resources': ['CPU']}}}",
	        "types.story.resources[0]: invalid resource tag 'CPU' (expected NAME or NAME:N)");
	assert_error("{'concurrency': {'resources': {'cpu': 2}},"
	             " 'types': {'story': {'resources': ['cpu', 'cpu:2']}}}",
	             "types.story.resources[1]: duplicate resource 'cpu'");
	assert_error("{'concurrency': {'resources': {'cpu': 2}},"
	             " 'types': {'story': {'resources': [2]}}}",
	             "types.story.resources[0]: must be a string");
	assert_error("{'concurrency': {'resources': {'cpu': 2}},"
	             " 'types': {'story': {'resources': 'cpu'}}}",
	             "types.story.resources: must be an array of resource tags");
}

static void
test_errors_http(void **state)
{
	unsetenv("JOBQ_TEST_UNSET");
	setenv("JOBQ_TEST_SET", "v", 1);
	assert_error("{'types': {'x': {'http': {}}}}", "types.x.http: missing 'url'");
	assert_error("{'types': {'x': {'http': 'http://h'}}}", "types.x.http: must be an object");
	assert_error("{'types': {'x': {'http': {'url': 1}}}}",
	             "types.x.http.url: must be a string");
	assert_error("{'types': {'x': {'http': {'url': 'ftp://h/x'}}}}",
	             "types.x.http.url: must be an http:// or https:// URL, got 'ftp://h/x'");
	assert_error("{'types': {'x': {'http': {'url': 'http://'}}}}",
	             "types.x.http.url: must be an http:// or https:// URL, got 'http://'");
	assert_error("{'types': {'x': {'http': {'url': 'http://h/a b'}}}}",
	             "types.x.http.url: must be an http:// or https:// URL, got 'http://h/a b'");
	assert_error("{'types': {'x': {'http': {'url': 'http://h', 'verb': 'GET'}}}}",
	             "types.x.http: unknown key 'verb'");
	assert_error("{'types': {'x': {'http': {'url': 'http://h', 'method': 'PO ST'}}}}",
	             "types.x.http.method: invalid method 'PO ST'");
	assert_error("{'types': {'x': {'http': {'url': 'http://h', 'method': ''}}}}",
	             "types.x.http.method: invalid method ''");
	/* The syntax of ${...} is checked for everyone, set or not (config_check_env() is for
	 * whether they are set). */
	assert_error("{'types': {'x': {'http': {'url': 'http://h',"
	             " 'headers': {'A': 'Bearer ${JOBQ_TEST_SET'}}}}}",
	             "types.x.http.headers.A: unterminated '${' reference");
	assert_error("{'types': {'x': {'http': {'url': 'http://h',"
	             " 'headers': {'A': '${JOBQ_TEST_UNSET} ${JOBQ_TEST_UNSET'}}}}}",
	             "types.x.http.headers.A: unterminated '${' reference");
	assert_error("{'types': {'x': {'http': {'url': 'http://h', 'headers': {'A': '${}'}}}}}",
	             "types.x.http.headers.A: invalid '${...}' reference");
	assert_error("{'types': {'x': {'http': {'url': 'http://h',"
	             " 'headers': {'A': '${A-B}'}}}}}",
	             "types.x.http.headers.A: invalid environment variable name 'A-B'");
	assert_error("{'types': {'x': {'http': {'url': 'http://h', 'headers': {'A B': 'v'}}}}}",
	             "types.x.http.headers: invalid header name 'A B'");
	assert_error("{'types': {'x': {'http': {'url': 'http://h', 'headers': {'A': 1}}}}}",
	             "types.x.http.headers.A: must be a string");
	assert_error("{'types': {'x': {'http': {'url': 'http://h',"
	             " 'headers': {'A': 'a\\r\\nInjected: 1'}}}}}",
	             "types.x.http.headers.A: must not contain control characters");
	assert_error("{'types': {'x': {'http': {'url': 'http://h', 'headers': ['A: b']}}}}",
	             "types.x.http.headers: must be an object");
	assert_error("{'types': {'x': {'http': {'url': 'http://h', 'connect_timeout': 5}}}}",
	             "types.x.http.connect_timeout: must be a duration string such as \"30s\" or "
	             "\"1h30m\"");
	assert_error("{'types': {'x': {'http': {'url': 'http://h', 'ca_bundle': ''}}}}",
	             "types.x.http.ca_bundle: must not be empty");
	unsetenv("JOBQ_TEST_SET");

	/* "$" alone and "$NAME" without braces are plain text. */
	struct config cfg;
	parse_ok("{'types': {'x': {'http': {'url': 'http://h', 'headers': {'A': 'a$b $C $'}}}}}",
	         &cfg);
	assert_string_equal(cfg.types[0].http.headers[0].value, "a$b $C $");
	config_release(&cfg);
}

/* ${NAME} in http headers: loading never needs the variables (producers and operators load the
 * file too); config_check_env() says whether the process that makes requests has them. */
static void
test_check_env(void **state)
{
	static const char json[] =
	        "{'types': {'run': {'exec': ['x'], 'env': {'K': '${JOBQ_TEST_UNSET}'}},"
	        " 'ping': {'builtin': 'noop'},"
	        " 'chat': {'http': {'url': 'http://h', 'headers': {'X-Plain': '$NOT ${}x',"
	        "   'Authorization': 'Bearer ${JOBQ_TEST_KEY}', 'X-Both': "
	        "'${JOBQ_TEST_KEY}:${JOBQ_TEST_KEY2}'}}}}}";
	struct config cfg;
	char err[512] = "";

	unsetenv("JOBQ_TEST_KEY");
	unsetenv("JOBQ_TEST_KEY2");
	unsetenv("JOBQ_TEST_UNSET");
	/* '${}x' is refused as syntax; drop it to parse. */
	assert_error(json, "types.chat.http.headers.X-Plain: invalid '${...}' reference");
	char ok[sizeof(json)];
	strcpy(ok, json);
	memcpy(strstr(ok, "${}x"), "{}xx", 4);
	parse_ok(ok, &cfg);
	assert_string_equal(config_type(&cfg, "chat")->http.headers[1].value,
	                    "Bearer ${JOBQ_TEST_KEY}");

	assert_int_equal(config_check_env(&cfg, err, sizeof(err)), -ENOKEY);
	assert_string_equal(err, "types.chat.http.headers.Authorization: environment variable "
	                         "'JOBQ_TEST_KEY' is not set (type 'chat' needs it)");
	setenv("JOBQ_TEST_KEY", "a-long-enough-key", 1);
	assert_int_equal(config_check_env(&cfg, err, sizeof(err)), -ENOKEY);
	assert_string_equal(err, "types.chat.http.headers.X-Both: environment variable "
	                         "'JOBQ_TEST_KEY2' is not set (type 'chat' needs it)");
	/* Too short to be masked: refused; empty: nothing to hide, accepted. */
	setenv("JOBQ_TEST_KEY2", "1234567", 1);
	assert_int_equal(config_check_env(&cfg, err, sizeof(err)), -ENOKEY);
	assert_string_equal(err, "types.chat.http.headers.X-Both: environment variable "
	                         "'JOBQ_TEST_KEY2' (type 'chat') holds 7 bytes: a secret must be "
	                         "empty or at least 8 bytes long, a shorter one cannot be masked");
	setenv("JOBQ_TEST_KEY2", "12345678", 1);
	assert_int_equal(config_check_env(&cfg, err, sizeof(err)), 0);
	setenv("JOBQ_TEST_KEY2", "", 1);
	err[0] = '\0';
	assert_int_equal(config_check_env(&cfg, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	/* One type at a time: those without http headers need nothing (exec env is literal). */
	assert_int_equal(config_type_check_env(config_type(&cfg, "run"), err, sizeof(err)), 0);
	assert_int_equal(config_type_check_env(config_type(&cfg, "ping"), err, sizeof(err)), 0);
	unsetenv("JOBQ_TEST_KEY");
	assert_int_equal(config_type_check_env(config_type(&cfg, "run"), err, sizeof(err)), 0);
	assert_int_equal(config_type_check_env(config_type(&cfg, "chat"), err, sizeof(err)),
	                 -ENOKEY);
	config_release(&cfg);
	unsetenv("JOBQ_TEST_KEY2");

	/* The built-in default has no types. */
	config_init_default(&cfg);
	assert_int_equal(config_check_env(&cfg, err, sizeof(err)), 0);
}

static void
test_invalid_json(void **state)
{
	assert_error("", "invalid JSON near line 1");
	assert_error("{", "invalid JSON near line 1");
	assert_error("{\n'workers': 2,\n'grace': '1s'\n,}", "invalid JSON near line 4");
	assert_error("{\n  'types': {\n    'x': {'exec': ['a',]}\n  }\n}",
	             "invalid JSON near line 3");
	assert_error("{} trailing", "invalid JSON near line 1");
	assert_error("{}\n\n\nx", "invalid JSON near line 4");
}

static void
test_hostile_names_in_messages(void **state)
{
	struct config cfg;
	char err[512];
	char json[4096];

	/* A key with a newline and a very long key: the message stays one short line. */
	snprintf(json, sizeof(json), "{\"types\": {\"a\\nb\": {}}}");
	assert_int_equal(config_parse(json, NULL, &cfg, err, sizeof(err)), -EINVAL);
	assert_null(strchr(err, '\n'));
	assert_string_equal(err,
	                    "types: invalid type name 'a?b' (expected [a-z0-9][a-z0-9_-]{0,63})");

	memset(json, 0, sizeof(json));
	strcpy(json, "{\"");
	memset(json + 2, 'k', 3000);
	strcat(json, "\": 1}");
	assert_int_equal(config_parse(json, NULL, &cfg, err, sizeof(err)), -EINVAL);
	assert_true(strlen(err) < 120);
	assert_non_null(strstr(err, "...'"));

	/* A small error buffer is cut, not overrun. */
	char small[10];
	assert_int_equal(config_parse(q("{'workers': 0}"), NULL, &cfg, small, sizeof(small)),
	                 -EINVAL);
	assert_string_equal(small, "workers: ");
	assert_int_equal(config_parse(q("{'workers': 0}"), NULL, &cfg, NULL, 0), -EINVAL);
}

/* A \u0000 escape anywhere (cJSON would cut the string at it) names its field path; a raw NUL
 * byte in the file names its line. */
static void
test_nul(void **state)
{
	char path[PATH_MAX], err[512];
	struct config cfg;

	assert_error("{'types': {'t': {'exec': ['echo', 'a\\u0000b']}}}",
	             "types.t.exec[1]: contains \\u0000 (a NUL character, line 1), which jobq "
	             "cannot pass on");
	assert_error("{'types': {'t': {'exec': ['\\u0000echo']}}}",
	             "types.t.exec[0]: contains \\u0000 (a NUL character, line 1), which jobq "
	             "cannot pass on");
	assert_error("{'types': {'t': {'exec': ['echo'],\n 'env': {'X': 'v\\u0000w'}}}}",
	             "types.t.env.X: contains \\u0000 (a NUL character, line 2), which jobq cannot "
	             "pass on");
	assert_error(
	        "{'types': {'t': {'exec': ['echo'], 'env_remove': ['HOME', 'A\\u0000']}}}",
	        "types.t.env_remove[1]: contains \\u0000 (a NUL character, line 1), which jobq "
	        "cannot pass on");
	assert_error("{'types': {'t\\u0000x': {'exec': ['echo']}}}",
	             "types.t\\u0000x: contains \\u0000 (a NUL character, line 1), which jobq "
	             "cannot pass on");
	assert_error("{'types': {'t': {'http': {'url': 'http://h/\\u0000'}}}}",
	             "types.t.http.url: contains \\u0000 (a NUL character, line 1), which jobq "
	             "cannot pass on");
	assert_error("{'types': {'t': {'http': {'url': 'http://h/',"
	             " 'headers': {'A': 'b\\u0000'}}}}}",
	             "types.t.http.headers.A: contains \\u0000 (a NUL character, line 1), which "
	             "jobq cannot pass on");
	assert_error("{'types': {'t': {'http': {'url': 'http://h/',"
	             " 'body': {'k': [1, '\\u0000']}}}}}",
	             "types.t.http.body.k[1]: contains \\u0000 (a NUL character, line 1), which "
	             "jobq cannot pass on");
	assert_error("{'durability': 'full\\u0000'}",
	             "durability: contains \\u0000 (a NUL character, line 1), which jobq cannot "
	             "pass on");
	assert_error("{'x\\u0000': 1}",
	             "x\\u0000: contains \\u0000 (a NUL character, line 1), which jobq cannot pass "
	             "on");
	/* An escaped backslash before "u0000" is text. */
	parse_ok("{'types': {'t': {'exec': ['echo', 'C:\\\\u0000']}}}", &cfg);
	assert_string_equal(cfg.types[0].exec_argv[1], "C:\\u0000");
	config_release(&cfg);

	/* A raw NUL byte: after it the parser would see the end of the text. */
	static const char raw[] = "{\"workers\": 2}\n\n\0{\"junk\"";
	assert_int_equal(path_join(*state, "jobq.json", path, sizeof(path)), 0);
	assert_int_equal(file_write_atomic(path, raw, sizeof(raw) - 1), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "contains a NUL byte (line 3)");
	assert_null(cfg.path);
}

static void
test_load_file(void **state)
{
	char path[PATH_MAX], err[512];
	struct config cfg;

	assert_int_equal(path_join(*state, "jobq.json", path, sizeof(path)), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "cannot read: No such file or directory");

	const char *text = q("{'concurrency': {'global': 3}}");
	assert_int_equal(file_write_atomic(path, text, strlen(text)), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.path, path);
	assert_int_equal(cfg.global, 3);
	config_release(&cfg);
	assert_null(cfg.path);

	text = q("{'concurrency': {'global': 0}}");
	assert_int_equal(file_write_atomic(path, text, strlen(text)), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "concurrency.global: must be a positive integer");
	assert_null(cfg.path);

	/* Larger than CONFIG_MAX_BYTES. */
	char *big = malloc(CONFIG_MAX_BYTES + 2);
	assert_non_null(big);
	memset(big, ' ', CONFIG_MAX_BYTES + 1);
	big[0] = '{';
	big[CONFIG_MAX_BYTES] = '}';
	big[CONFIG_MAX_BYTES + 1] = '\0';
	assert_int_equal(file_write_atomic(path, big, CONFIG_MAX_BYTES + 1), 0);
	free(big);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EFBIG);
	assert_string_equal(err, "larger than 1048576 bytes");

	assert_int_equal(config_load(*state, &cfg, err, sizeof(err)), -EISDIR);
}

static void
test_locate(void **state)
{
	char out[PATH_MAX], db[PATH_MAX], want[PATH_MAX];

	assert_int_equal(path_join(*state, "q.db", db, sizeof(db)), 0);
	assert_int_equal(path_join(*state, "jobq.json", want, sizeof(want)), 0);

	/* Nothing: the built-in default. */
	assert_int_equal(config_locate(NULL, db, out, sizeof(out)), 0);
	/* jobq.json beside the database. */
	assert_int_equal(file_write_atomic(want, "{}", 2), 0);
	assert_int_equal(config_locate(NULL, db, out, sizeof(out)), 1);
	assert_string_equal(out, want);
	/* $JOBQ_CONFIG wins over it, even if that file does not exist (config_load says so). */
	setenv("JOBQ_CONFIG", "/nonexistent/from-env.json", 1);
	assert_int_equal(config_locate(NULL, db, out, sizeof(out)), 1);
	assert_string_equal(out, "/nonexistent/from-env.json");
	/* --config wins over both. */
	assert_int_equal(config_locate("cli.json", db, out, sizeof(out)), 1);
	assert_string_equal(out, "cli.json");
	/* An empty $JOBQ_CONFIG counts as unset. */
	setenv("JOBQ_CONFIG", "", 1);
	assert_int_equal(config_locate(NULL, db, out, sizeof(out)), 1);
	assert_string_equal(out, want);
	unsetenv("JOBQ_CONFIG");
	/* Too long for out. */
	char small[8];
	assert_int_equal(config_locate("a-long-name.json", db, small, sizeof(small)),
	                 -ENAMETOOLONG);
	/* A database in the current folder: ./jobq.json. */
	assert_int_equal(config_locate(NULL, "jobq-no-such-db-here.db", out, sizeof(out)),
	                 access("./jobq.json", F_OK) == 0 ? 1 : 0);
}

static void
test_worker_count(void **state)
{
	struct config cfg;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	parse_ok("{'concurrency': {'global': 2}}", &cfg);
	assert_int_equal(config_worker_count(&cfg), cpus * 4 >= 2 ? 2 : cpus * 4);
	config_release(&cfg);

	/* A large global is capped by the machine. */
	parse_ok("{'concurrency': {'global': 1000000}}", &cfg);
	int n = config_worker_count(&cfg);
	assert_true(n >= 1);
	assert_true(n <= cpus * 4);
	config_release(&cfg);

	parse_ok("{'workers': 7, 'concurrency': {'global': 1}}", &cfg);
	assert_int_equal(config_worker_count(&cfg), 7);
	config_release(&cfg);
}

/* Why fewer workers than concurrency.global (issue 12, item 6). */
static void
test_workers_note(void **state)
{
	struct config cfg;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char why[160], want[160];

	/* Above 4 x CPUs: capped, and said so. */
	parse_ok("{'concurrency': {'global': 100000}}", &cfg);
	int n = config_workers(&cfg, 0, why, sizeof(why));
	assert_int_equal(n, config_worker_count(&cfg));
	assert_true(n <= 256);
	if (cpus * 4 <= 256 && n == cpus * 4) {
		snprintf(want, sizeof(want),
		         "global 100000 capped at 4 × %ld CPU%s; set \"workers\" to "
		         "run more",
		         cpus, cpus == 1 ? "" : "s");
		assert_string_equal(why, want);
	} else {
		assert_non_null(strstr(why, "global 100000 capped at "));
	}
	/* --workers and "workers" below global; above it, nothing to say. */
	assert_int_equal(config_workers(&cfg, 3, why, sizeof(why)), 3);
	assert_string_equal(why, "global 100000, but --workers 3");
	config_release(&cfg);
	parse_ok("{'workers': 2, 'concurrency': {'global': 5}}", &cfg);
	assert_int_equal(config_workers(&cfg, 0, why, sizeof(why)), 2);
	assert_string_equal(why, "global 5, but \"workers\": 2");
	assert_int_equal(config_workers(&cfg, 9, why, sizeof(why)), 9);
	assert_string_equal(why, "");
	assert_int_equal(config_workers(&cfg, 0, NULL, 0), 2);
	config_release(&cfg);
	parse_ok("{'concurrency': {'global': 1}}", &cfg);
	assert_int_equal(config_workers(&cfg, 0, why, sizeof(why)), 1);
	assert_string_equal(why, "");
	config_release(&cfg);
}

/* Which types and pools producers and pause may name (issue 12, item 1). */
static void
test_known_names(void **state)
{
	struct config cfg;
	char err[512];

	/* No type declared (the built-in default, or a file without any): every type goes. */
	config_init_default(&cfg);
	assert_int_equal(config_type_known(&cfg, "anything", err, sizeof(err)), 0);
	assert_int_equal(config_pool_known(&cfg, "gpu", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "unknown resource 'gpu' (no pools in concurrency.resources)");
	assert_int_equal(config_type_handled(&cfg, "anything"), 0);
	config_release(&cfg);

	parse_ok("{'concurrency': {'types': {'limited': 1, 'enrich': 2}, 'resources': {'cpu': 2, "
	         "'gpu': 1}}, 'types': {'enrich': {'builtin': 'noop'}, 'ext': {}}}",
	         &cfg);
	assert_int_equal(config_type_known(&cfg, "enrich", err, sizeof(err)), 0);
	assert_int_equal(config_type_known(&cfg, "ext", err, sizeof(err)), 0);
	assert_int_equal(config_type_known(&cfg, "limited", NULL, 0), 0);
	assert_int_equal(config_type_known(&cfg, "enrch", err, sizeof(err)), -ENOENT);
	assert_string_equal(err,
	                    "unknown type 'enrch', did you mean 'enrich'? (known: enrich, ext, "
	                    "limited; declare a type without a handler for external workers)");
	assert_int_equal(config_type_known(&cfg, "zzz", NULL, 0), -ENOENT);
	assert_int_equal(config_type_known(&cfg, "zzz\x1b[2J", err, sizeof(err)), -ENOENT);
	assert_null(strchr(err, '\x1b'));
	assert_int_equal(config_type_handled(&cfg, "enrich"), 1);
	assert_int_equal(config_type_handled(&cfg, "ext"), 0);
	assert_int_equal(config_type_handled(&cfg, "limited"), 0);
	assert_int_equal(config_pool_known(&cfg, "gpu", err, sizeof(err)), 0);
	assert_int_equal(config_pool_known(&cfg, "gpus", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "unknown resource 'gpus', did you mean 'gpu'? (known: cpu, gpu)");
	/* A short buffer gets a cut message, never an overrun. */
	assert_int_equal(config_type_known(&cfg, "enrch", err, 12), -ENOENT);
	assert_int_equal(strlen(err), 11);
	config_release(&cfg);

	/* Many types: the list is cut, the message stays one bounded line. */
	char big[20000] = "{\"types\": {";
	for (int i = 0; i < 300; i++) {
		char one[64];
		snprintf(one, sizeof(one), "%s\"type-number-%03d\": {}", i > 0 ? ", " : "", i);
		strlcat(big, one, sizeof(big));
	}
	strlcat(big, "}}", sizeof(big));
	assert_int_equal(config_parse(big, "test.json", &cfg, err, sizeof(err)), 0);
	assert_int_equal(config_type_known(&cfg, "type-numbr-007", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "did you mean 'type-number-007'?"));
	assert_non_null(strstr(err, ", ...; declare a type"));
	config_release(&cfg);
}

static void
test_bytes_forms(void **state)
{
	struct config cfg;

	parse_ok("{'payload_max': '1M', 'output_max': '512', 'stderr_max': '3KiB'}", &cfg);
	assert_int_equal(cfg.payload_max, 1024 * 1024);
	assert_int_equal(cfg.output_max, 512);
	assert_int_equal(cfg.stderr_max, 3072);
	config_release(&cfg);
	parse_ok("{'payload_max': '1GiB', 'output_max': '7B', 'stderr_max': 1073741824}", &cfg);
	assert_int_equal(cfg.payload_max, 1024 * 1024 * 1024);
	assert_int_equal(cfg.output_max, 7);
	assert_int_equal(cfg.stderr_max, 1024 * 1024 * 1024);
	config_release(&cfg);
}

static void
test_logs(void **state)
{
	struct config cfg;

	parse_ok("{}", &cfg);
	assert_int_equal(cfg.log_max, 1024 * 1024);
	assert_int_equal(cfg.log_keep, 1);
	config_release(&cfg);
	parse_ok("{'logs': {'max': '4MiB', 'keep': 0}}", &cfg);
	assert_int_equal(cfg.log_max, 4 * 1024 * 1024);
	assert_int_equal(cfg.log_keep, 0);
	config_release(&cfg);
	parse_ok("{'logs': {'keep': 9}}", &cfg);
	assert_int_equal(cfg.log_max, 1024 * 1024);
	assert_int_equal(cfg.log_keep, 9);
	config_release(&cfg);
	parse_ok("{'logs': false}", &cfg);
	assert_int_equal(cfg.log_max, 0);
	config_release(&cfg);
	assert_error("{'logs': true}",
	             "logs: must be an object {\"max\": BYTES, \"keep\": N} or false");
	assert_error("{'logs': {'keep': 10}}", "logs.keep: must be an integer from 0 to 9");
	assert_error("{'logs': {'keep': -1}}", "logs.keep: must be an integer from 0 to 9");
	assert_error("{'logs': {'max': 0}}",
	             "logs.max: must be a positive number of bytes (e.g. 65536 or \"64KiB\")");
	assert_error("{'logs': {'size': 1}}", "logs: unknown key 'size'");
}

/* "metrics": a numeric loopback address unless allow_remote, any port 0 to 65535. */
static void
test_metrics(void **state)
{
	struct config cfg;

	parse_ok("{}", &cfg);
	assert_null(cfg.metrics_listen);
	config_release(&cfg);
	parse_ok("{'metrics': {'listen': '127.0.0.1:9187'}}", &cfg);
	assert_string_equal(cfg.metrics_listen, "127.0.0.1:9187");
	assert_int_equal(cfg.metrics_allow_remote, 0);
	config_release(&cfg);
	parse_ok("{'metrics': {'listen': '[::1]:0'}}", &cfg);
	assert_string_equal(cfg.metrics_listen, "[::1]:0");
	config_release(&cfg);
	parse_ok("{'metrics': {'listen': '127.8.9.10:65535'}}", &cfg);
	config_release(&cfg);
	parse_ok("{'metrics': {'listen': '0.0.0.0:9187', 'allow_remote': true}}", &cfg);
	assert_int_equal(cfg.metrics_allow_remote, 1);
	config_release(&cfg);
	parse_ok("{'metrics': {}}", &cfg);
	assert_null(cfg.metrics_listen);
	config_release(&cfg);
	assert_error("{'metrics': {'listen': '0.0.0.0:9187'}}",
	             "metrics.listen: '0.0.0.0:9187' is not a loopback address (127.0.0.1, [::1]); "
	             "set \"allow_remote\": true to listen on it");
	assert_error("{'metrics': {'listen': '[::]:9187', 'allow_remote': false}}",
	             "metrics.listen: '[::]:9187' is not a loopback address (127.0.0.1, [::1]); "
	             "set \"allow_remote\": true to listen on it");
	assert_error("{'metrics': {'listen': 'localhost:9187'}}",
	             "metrics.listen: 'localhost' is not a numeric address (e.g. 127.0.0.1 or "
	             "[::1])");
	assert_error("{'metrics': {'listen': '127.0.0.1'}}",
	             "metrics.listen: '127.0.0.1': missing :PORT (e.g. 127.0.0.1:9187)");
	assert_error("{'metrics': {'listen': '127.0.0.1:65536'}}",
	             "metrics.listen: invalid port '65536' (0 to 65535; 0 picks a free one)");
	assert_error("{'metrics': {'listen': '127.0.0.1:+80'}}",
	             "metrics.listen: invalid port '+80' (0 to 65535; 0 picks a free one)");
	assert_error("{'metrics': {'listen': '::1:9187'}}",
	             "metrics.listen: '::1:9187': an IPv6 address is written [ADDRESS]:PORT");
	assert_error("{'metrics': {'listen': ''}}", "metrics.listen: empty (e.g. 127.0.0.1:9187)");
	assert_error("{'metrics': {'listen': 9187}}", "metrics.listen: must be a string");
	assert_error("{'metrics': {'listen': '127.0.0.1:1', 'allow_remote': 1}}",
	             "metrics.allow_remote: must be true or false");
	assert_error("{'metrics': {'port': 9187}}", "metrics: unknown key 'port'");
	assert_error("{'metrics': '127.0.0.1:9187'}",
	             "metrics: must be an object (e.g. {\"listen\": \"127.0.0.1:9187\"})");
}

/* "host": this host's id (core/hostid.h), checked as JOBQ_HOST is. */
static void
test_host(void **state)
{
	struct config cfg;

	parse_ok("{'host': 'web-1.example_org'}", &cfg);
	assert_string_equal(cfg.host, "web-1.example_org");
	config_release(&cfg);
	assert_null(cfg.host);
	parse_ok("{}", &cfg);
	assert_null(cfg.host);
	config_release(&cfg);
	assert_error("{'host': 'a b'}", "host: must be 1 to 64 characters of [A-Za-z0-9._-]");
	assert_error("{'host': ''}", "host: must be 1 to 64 characters of [A-Za-z0-9._-]");
	assert_error("{'host': 7}", "host: must be a string");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_host, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_default, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_logs, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_design_example, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_full, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_errors_top, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_errors_concurrency, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_errors_types, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_errors_resources, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_errors_http, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_check_env, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_invalid_json, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hostile_names_in_messages, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_nul, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_load_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_locate, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_worker_count, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_workers_note, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_known_names, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bytes_forms, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
