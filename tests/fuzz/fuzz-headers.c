/*
 * HTTP response headers (worker/http_response.c http_header_retry, what the libcurl header callback
 * runs on each line): Retry-After as delay-seconds or an HTTP date, a status line resetting
 * it. The input is a response head; each line (with its CRLF, not NUL-terminated, in a buffer
 * of its exact size, as libcurl hands it) goes through in order. Properties: nothing is read
 * past a line; the value is left alone, reset to 0, or a time within [now, TIME_MAX_MS] for
 * seconds (capped at 999999999 s) and within (0, TIME_MAX_MS] for a date.
 */
#include <strings.h>

#include "curl_dl.h"
#include "duration.h"
#include "fuzz.h"
#include "handler_impl.h"

#define NOW INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */
#define UNSET INT64_C(-7)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	/* an HTTP date goes through curl_getdate */
	if (curl_dl_load(err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz-headers: %s\n", err);
		abort();
	}
	return 0;
}

/* A Retry-After whose value (blanks and CRLF around it cut) is all digits: now + that many
 * seconds, at most 999999999. */
static void
check_seconds(const char *line, size_t n, int64_t before, int64_t retry_at)
{
	size_t v = 12, end = n;
	int64_t secs = 0;

	if (n <= 12 || strncasecmp(line, "retry-after:", 12) != 0)
		return;
	while (v < n && (line[v] == ' ' || line[v] == '\t'))
		v++;
	while (end > v && (line[end - 1] == ' ' || line[end - 1] == '\t' || line[end - 1] == '\r' ||
	                   line[end - 1] == '\n'))
		end--;
	if (end == v || end - v >= 128) {
		FUZZ_CHECK(retry_at == before); /* empty or too long: ignored */
		return;
	}
	for (size_t i = v; i < end; i++) {
		if (line[i] < '0' || line[i] > '9')
			return;
		secs = end - v > 9 ? 999999999 : secs * 10 + (line[i] - '0');
	}
	FUZZ_CHECK(retry_at == NOW + secs * 1000);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t retry_at = UNSET;

	for (size_t off = 0; off < size;) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t n = nl != NULL ? (size_t)(nl - (data + off)) + 1 : size - off;
		char *line = malloc(n > 0 ? n : 1);
		int64_t before = retry_at;

		FUZZ_CHECK(line != NULL);
		memcpy(line, data + off, n);
		http_header_retry(line, n, NOW, &retry_at);
		if (retry_at != before && retry_at != 0)
			FUZZ_CHECK(retry_at > 0 && retry_at <= TIME_MAX_MS);
		check_seconds(line, n, before, retry_at);
		free(line);
		off += n;
	}
	return 0;
}
