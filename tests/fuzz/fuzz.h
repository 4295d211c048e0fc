/*
 * What the libFuzzer targets of tests/fuzz/ share. A broken property aborts, which libFuzzer
 * reports as a crash and saves the input, the same as a sanitizer's finding.
 */
#ifndef JOBQ_FUZZ_H
#define JOBQ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__,        \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* data[0..size) as a malloc'd C string (an embedded NUL ends it early, as it would in jobq). */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A message jobq prints or stores is one line: NUL-terminated within len, not empty, no control
 * byte but tab (which text_escape() keeps). Shown (escaped) on stderr when it is not. */
static inline int
fuzz_one_line(const char *msg, size_t len)
{
	size_t n = strnlen(msg, len), i;

	for (i = 0; i < n; i++) {
		if (((unsigned char)msg[i] < 0x20 && msg[i] != '\t') || msg[i] == 0x7f)
			break;
	}
	if (n > 0 && n < len && i == n)
		return 1;
	fprintf(stderr, "message: \"");
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)msg[i];

		if (ch < 0x20 || ch == 0x7f || ch == '\\' || ch == '"')
			fprintf(stderr, "\\x%02x", ch);
		else
			fputc(ch, stderr);
	}
	fprintf(stderr, "\"%s\n", n == len ? " (not NUL-terminated)" : "");
	return 0;
}

#endif
