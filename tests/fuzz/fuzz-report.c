/*
 * The JOBQ_REPORT file of an exec command that exited 75 (worker/exec_report.c exec_report_parse,
 * the text read_report() reads). Properties: a note or a delay, never both; the delay is >= 0 and
 * bounded by what each form allows; clamped to the type's backoff max and added to now, it
 * stays within [now, now + backoff max]. Its tokens (exec_report_tokens, read whatever the exit):
 * a note and 0, or a count from 0 to 10^12.
 */
#include <errno.h>

#include "duration.h"
#include "fuzz.h"
#include "handler_impl.h"

#define NOW INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */
#define REPORT_MAX 65536           /* worker/exec_impl.h: no more is read */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t backoff_max[] = {0, 1000, CONFIG_DEFAULT_BACKOFF_MAX_MS,
	                                      DURATION_MAX_MS};
	char *text;
	const char *note;
	int64_t ms = 42, until, tokens = 42;

	if (size > REPORT_MAX)
		return 0;
	text = fuzz_cstr(data, size);
	note = exec_report_parse(text, NOW, &ms);
	if (note != NULL) {
		FUZZ_CHECK(ms == -1 && fuzz_one_line(note, strlen(note) + 1));
	} else if (ms != -1) {
		/* seconds below 1e9, a duration, or a time up to 9999-12-31 */
		FUZZ_CHECK(ms >= 0 && ms <= TIME_MAX_MS - NOW);
		for (size_t i = 0; i < sizeof(backoff_max) / sizeof(backoff_max[0]); i++) {
			int64_t c = handler_clamp_retry(ms, backoff_max[i]);

			FUZZ_CHECK(c >= 0 && c <= backoff_max[i] && c <= ms);
			until = time_add(NOW, c);
			FUZZ_CHECK(until >= NOW && until <= TIME_MAX_MS);
		}
	}
	note = exec_report_tokens(text, &tokens);
	FUZZ_CHECK(tokens >= 0 && tokens <= (int64_t)EXEC_TOKENS_MAX);
	FUZZ_CHECK(note == NULL || (tokens == 0 && fuzz_one_line(note, strlen(note) + 1)));
	free(text);
	return 0;
}
