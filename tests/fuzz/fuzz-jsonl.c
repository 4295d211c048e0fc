/*
 * JSONL enqueue input (jobq enqueue TYPE --jsonl): the lines as cli/cmd_enqueue.c reads them
 * (core/fileio.c line_read, bounded by payload_max; blank lines skipped) and the validation
 * each line's payload goes through before it is stored (queue/ store_validate_spec, whose
 * payload check is json_check, the same prepare() as store_bulk_add). Properties: a line is a
 * C string of at most payload_max bytes without '\n'; an error is one line whose byte offset is
 * within the payload; a payload that passes parses with cJSON (what every worker does) and
 * holds no \u0000, and one that is refused for \u0000 has one that text_json_nul() finds.
 */
#include <errno.h>

#include <cjson/cJSON.h>

#include "fileio.h"
#include "fuzz.h"
#include "internal.h"
#include "store.h"
#include "text.h"

#define LINE_MAX_BYTES 4096 /* a small payload_max, so that over-long lines happen too */

static struct config cfg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char text[] =
	        "{\"concurrency\": {\"resources\": {\"gpu\": 2}},"
	        " \"payload_max\": 4096,"
	        " \"types\": {\"enrich\": {\"exec\": [\"true\"], \"resources\": [\"gpu\"]}}}";
	char err[256];

	if (config_parse(text, NULL, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz-jsonl: %s\n", err);
		abort();
	}
	return 0;
}

/* Only white space (cli/cmd_enqueue.c skips such a line). */
static int
blank(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

static void
check_payload(const char *line, size_t len)
{
	struct tag gpu = {.name = "gpu", .units = 1};
	struct job_spec spec = {.type = "enrich",
	                        .batch = "fuzz",
	                        .resources = &gpu,
	                        .nresources = 1,
	                        .payload = line};
	char err[512];
	size_t where = (size_t)-1;
	int r, rc;

	memset(err, 'x', sizeof(err));
	r = store_validate_spec(&cfg, &spec, err, sizeof(err));
	rc = json_check(line, len, &where);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	FUZZ_CHECK((r == 0) == (rc == 0)); /* the payload is the only variable part */
	if (r < 0) {
		FUZZ_CHECK(fuzz_one_line(err, sizeof(err)));
		FUZZ_CHECK(rc == -EINVAL || rc == -EILSEQ);
		FUZZ_CHECK(where <= len);
		if (rc == -EILSEQ)
			FUZZ_CHECK(text_json_nul(line, len, NULL, NULL, 0) == (long)where);
		return;
	}
	cJSON *root = cJSON_ParseWithOpts(line, NULL, 1);
	FUZZ_CHECK(root != NULL);
	cJSON_Delete(root);
	FUZZ_CHECK(text_json_nul(line, len, NULL, NULL, 0) == -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = NULL;
	size_t cap = 0;
	long n;
	FILE *fp;

	if (size == 0 || (fp = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	while ((n = line_read(fp, LINE_MAX_BYTES, &line, &cap)) != -1) {
		FUZZ_CHECK(n >= 0 || n == -EILSEQ || n == -EMSGSIZE);
		if (n < 0)
			continue; /* the command stops there ("line N: ..."); read on to fuzz more
			           */
		FUZZ_CHECK((size_t)n <= LINE_MAX_BYTES && strlen(line) == (size_t)n);
		FUZZ_CHECK(memchr(line, '\n', (size_t)n) == NULL);
		if (!blank(line))
			check_payload(line, (size_t)n);
	}
	fclose(fp);
	free(line);
	return 0;
}
