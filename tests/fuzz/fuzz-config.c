/*
 * The configuration parser (core/config.c config_parse, what config_load runs on a file's
 * text). Properties: an error leaves the built-in default and one line naming what is wrong; a
 * configuration that parses holds what config.h promises (valid names, bounded durations and
 * limits, NULL-terminated vectors, types found by name), and what the handlers make of it
 * works: every exec argv element and http url substitutes, and the http body template (kept as
 * the text cJSON printed) parses again when the worker fills it.
 */
#include <errno.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "curl_dl.h"
#include "duration.h"
#include "fuzz.h"
#include "handler_impl.h"
#include "names.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	/* a url's placeholders are percent-encoded through libcurl */
	if (curl_dl_load(err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz-config: %s\n", err);
		abort();
	}
	return 0;
}

/* The handlers' substitutions on a type, for a job whose payload has one field. */
static void
check_handler(const struct type_config *t)
{
	struct job job = {.id = 1,
	                  .type = t->name,
	                  .namespace = "default",
	                  .attempts = 1,
	                  .payload = "{\"prompt\":\"hi\"}"};
	cJSON *payload = cJSON_Parse(job.payload);
	char *out = NULL, err[512] = "";
	int r;

	FUZZ_CHECK(payload != NULL);
	for (size_t i = 0; t->handler == HANDLER_EXEC && i < t->exec_argc; i++) {
		r = exec_substitute(t->exec_argv[i], &job, payload, &out, err, sizeof(err));
		FUZZ_CHECK(r == 0 || r == -EINVAL || r == -E2BIG);
		free(out);
		out = NULL;
	}
	if (t->handler == HANDLER_HTTP) {
		r = http_expand(t->http.url, &job, payload, 1, "url", &out, err, sizeof(err));
		FUZZ_CHECK(r == 0 || r == -EINVAL || r == -E2BIG);
		free(out);
		out = NULL;
	}
	if (t->handler == HANDLER_HTTP && t->http.body != NULL) {
		r = http_fill_body(t->http.body, &job, payload, &out, err, sizeof(err));
		FUZZ_CHECK(r == 0 || r == -EINVAL || r == -E2BIG);
		/* -EINVAL for a field the payload lacks, never for the template itself */
		FUZZ_CHECK(r != -EINVAL || strstr(err, "template is not valid JSON") == NULL);
		free(out);
	}
	cJSON_Delete(payload);
}

static void
check_vector(char **v, size_t n)
{
	FUZZ_CHECK(n == 0 || v != NULL);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(v[i] != NULL);
	FUZZ_CHECK(v == NULL || v[n] == NULL);
}

static void
check_config(const struct config *cfg)
{
	FUZZ_CHECK(cfg->global >= 1);
	FUZZ_CHECK(cfg->workers >= 0 && cfg->workers <= 256);
	FUZZ_CHECK(cfg->grace_ms >= 0 && cfg->grace_ms <= DURATION_MAX_MS);
	FUZZ_CHECK(cfg->lease_ms >= 1000 && cfg->lease_ms <= DURATION_MAX_MS);
	FUZZ_CHECK(cfg->payload_max > 0 && cfg->output_max > 0 && cfg->stderr_max > 0);
	FUZZ_CHECK(config_worker_count(cfg) >= 1);
	for (size_t i = 0; i < cfg->ntype_limits; i++) {
		FUZZ_CHECK(name_type_valid(cfg->type_limits[i].name));
		FUZZ_CHECK(cfg->type_limits[i].value >= 1);
	}
	for (size_t i = 0; i < cfg->npools; i++) {
		FUZZ_CHECK(name_tag_valid(cfg->pools[i].name));
		FUZZ_CHECK(config_pool(cfg, cfg->pools[i].name) == cfg->pools[i].value);
	}
	for (size_t i = 0; i < cfg->ntypes; i++) {
		const struct type_config *t = &cfg->types[i];

		FUZZ_CHECK(name_type_valid(t->name));
		FUZZ_CHECK(config_type(cfg, t->name) == t); /* names are unique */
		FUZZ_CHECK(t->timeout_ms >= 0 && t->timeout_ms <= DURATION_MAX_MS);
		FUZZ_CHECK(t->backoff_base_ms <= t->backoff_max_ms);
		FUZZ_CHECK(t->backoff_max_ms <= DURATION_MAX_MS);
		FUZZ_CHECK(t->max_attempts >= 1);
		if (t->handler == HANDLER_EXEC) {
			FUZZ_CHECK(t->exec_argc >= 1 && t->exec_argv[0][0] != '\0');
			check_vector(t->exec_argv, t->exec_argc);
		}
		if (t->handler == HANDLER_HTTP) {
			FUZZ_CHECK(t->http.url != NULL && t->http.method != NULL);
			for (size_t j = 0; j < t->http.nheaders; j++)
				FUZZ_CHECK(t->http.headers[j].name != NULL &&
				           t->http.headers[j].value != NULL);
		}
		for (size_t j = 0; j < t->nresources; j++) {
			int cap = config_pool(cfg, t->resources[j].name);

			FUZZ_CHECK(cap >= t->resources[j].units && t->resources[j].units >= 1);
		}
		check_handler(t);
		check_vector(t->env, t->nenv);
		check_vector(t->env_remove, t->nenv_remove);
		for (size_t j = 0; j < t->nenv; j++)
			FUZZ_CHECK(strchr(t->env[j], '=') != NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512], *text;
	int r;

	/* config_load refuses a file with a NUL byte or over CONFIG_MAX_BYTES before parsing. */
	if (size > CONFIG_MAX_BYTES || memchr(data, '\0', size) != NULL)
		return 0;
	text = fuzz_cstr(data, size);
	memset(err, 'x', sizeof(err));
	r = config_parse(text, "fuzz.json", &cfg, err, sizeof(err));
	if (r < 0) {
		FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
		FUZZ_CHECK(fuzz_one_line(err, sizeof(err)));
		/* left as the built-in default */
		FUZZ_CHECK(cfg.path == NULL && cfg.ntypes == 0 && cfg.npools == 0 &&
		           cfg.global == 1);
	} else {
		FUZZ_CHECK(r == 0 && cfg.path != NULL && strcmp(cfg.path, "fuzz.json") == 0);
		check_config(&cfg);
		/* Only the worker asks; here it must just answer with one line. */
		err[0] = '\0';
		if (config_check_env(&cfg, err, sizeof(err)) < 0)
			FUZZ_CHECK(fuzz_one_line(err, sizeof(err)));
	}
	config_release(&cfg);
	config_release(&cfg); /* repeated calls are safe */
	free(text);
	return 0;
}
