/*
 * Payload placeholders (worker/): placeholder_resolve / placeholder_text, the exec argv
 * substitution (exec_substitute), the http url and body string expansion (http_expand) and
 * the body template fill (http_fill_body). The input is a payload (JSON text, up to the first
 * newline) and a template (the rest): an argv element, a url, or a body template.
 * Properties: results are C strings within their caps; a template without '{' comes out as
 * written; an error comes with a one-line message; a filled body is JSON (cJSON parses it)
 * without \u0000 when neither the payload nor the template has one.
 */
#include <errno.h>

#include <cjson/cJSON.h>

#include "curl_dl.h"
#include "fuzz.h"
#include "handler_impl.h"
#include "text.h"

#define ARG_MAX_BYTES (128 * 1024) /* worker/exec_impl.h */
#define URL_MAX_BYTES (64 * 1024)  /* worker/http_impl.h */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	/* http_expand with encode percent-encodes through libcurl */
	if (curl_dl_load(err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz-placeholders: %s\n", err);
		abort();
	}
	return 0;
}

static void
check_error(int r, const char *err, size_t errlen)
{
	FUZZ_CHECK(r == -EINVAL || r == -E2BIG || r == -ENOMEM);
	FUZZ_CHECK(err[0] != '\0' && strnlen(err, errlen) < errlen);
}

static void
check_resolve(const char *tmpl, const struct job *job, const cJSON *payload)
{
	struct placeholder ph;
	const char *text;
	char *tofree = NULL, num[32];
	int r = placeholder_resolve(tmpl, strlen(tmpl), job, payload, &ph);

	FUZZ_CHECK(r == 1 || r == 0 || r == -ENOENT || r == -EILSEQ);
	if (r != 1)
		return;
	FUZZ_CHECK(placeholder_text(&ph, &text, &tofree, num, sizeof(num)) == 0);
	FUZZ_CHECK(text != NULL);
	free(tofree);
}

static void
check_exec(const char *tmpl, const struct job *job, const cJSON *payload)
{
	char *out = NULL, err[512] = "";
	int r = exec_substitute(tmpl, job, payload, &out, err, sizeof(err));

	if (r < 0) {
		check_error(r, err, sizeof(err));
		FUZZ_CHECK(r != -E2BIG || strlen(tmpl) + 1 > ARG_MAX_BYTES || strchr(tmpl, '{'));
		return;
	}
	FUZZ_CHECK(out != NULL && strlen(out) < ARG_MAX_BYTES);
	if (strchr(tmpl, '{') == NULL)
		FUZZ_CHECK(strcmp(out, tmpl) == 0);
	free(out);
}

static void
check_expand(const char *tmpl, const struct job *job, const cJSON *payload, int encode)
{
	char *out = NULL, err[512] = "";
	int r = http_expand(tmpl, job, payload, encode, encode ? "url" : "body", &out, err,
	                    sizeof(err));

	if (r < 0) {
		check_error(r, err, sizeof(err));
		return;
	}
	FUZZ_CHECK(out != NULL && strlen(out) < (size_t)URL_MAX_BYTES * (encode ? 1 : 16));
	if (strchr(tmpl, '{') == NULL)
		FUZZ_CHECK(strcmp(out, tmpl) == 0);
	free(out);
}

/* How deep arrays and objects nest in JSON text (brackets inside strings not counted). */
static int
depth_of(const char *s)
{
	int depth = 0, max = 0, in_string = 0;

	for (; *s != '\0'; s++) {
		if (in_string && *s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '"')
			in_string = !in_string;
		else if (!in_string && (*s == '[' || *s == '{') && ++depth > max)
			max = depth;
		else if (!in_string && (*s == ']' || *s == '}'))
			depth--;
	}
	return max;
}

static void
check_body(const char *tmpl, const struct job *job, const cJSON *payload, int nul)
{
	char *out = NULL, err[512] = "";
	cJSON *back;
	int r = http_fill_body(tmpl, job, payload, &out, err, sizeof(err));

	if (r < 0) {
		FUZZ_CHECK(out == NULL);
		check_error(r, err, sizeof(err));
		return;
	}
	FUZZ_CHECK(out != NULL);
	/* JSON, which cJSON parses unless a deep value went into a deep template (each may nest
	 * 1000 deep, cJSON's limit; the sum is still JSON) */
	back = cJSON_ParseWithOpts(out, NULL, 1);
	FUZZ_CHECK(back != NULL || depth_of(out) > 1000);
	cJSON_Delete(back);
	if (!nul)
		FUZZ_CHECK(text_json_nul(out, strlen(out), NULL, NULL, 0) == -1);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t plen = nl != NULL ? (size_t)(nl - data) : size;
	char *ptext = fuzz_cstr(data, plen);
	char *tmpl = fuzz_cstr(nl != NULL ? nl + 1 : data + size, nl != NULL ? size - plen - 1 : 0);
	struct job job = {
	        .id = 42, .type = "enrich", .namespace = "ns/1", .attempts = 2, .payload = ptext};
	/* as the handlers parse it: exec from "null", http from "{}" when there is none */
	cJSON *payload = cJSON_ParseWithOpts(ptext, NULL, 1);
	/* The config refuses a template holding \u0000 (config_parse); a payload may hold one
	 * only when written by SQL, and placeholders then refuse it. */
	int nul = text_json_nul(ptext, strlen(ptext), NULL, NULL, 0) >= 0 ||
	          text_json_nul(tmpl, strlen(tmpl), NULL, NULL, 0) >= 0;

	check_resolve(tmpl, &job, payload);
	check_exec(tmpl, &job, payload);
	check_expand(tmpl, &job, payload, 0);
	check_expand(tmpl, &job, payload, 1);
	check_body(tmpl, &job, payload, nul);
	cJSON_Delete(payload);
	free(ptext);
	free(tmpl);
	return 0;
}
