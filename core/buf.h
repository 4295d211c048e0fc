/*
 * A growable byte buffer, kept NUL-terminated, with an optional limit. The one used wherever
 * jobq builds text of unknown length (an exec argument, an http url, body or header, a
 * response, a bulk enqueue's input).
 */
#ifndef JOBQ_BUF_H
#define JOBQ_BUF_H

#include <stddef.h>

struct buf {
	char *s;    /* NULL until the first add; then s[len] == '\0' */
	size_t len; /* bytes held, without the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* at most this many bytes with the NUL (0: no limit) */
};

/* Append s[0..n) (may hold NULs; n 0 allocates an empty string). Returns 0, -E2BIG when
 * len + n + 1 would pass max (nothing appended), or -ENOMEM. */
int buf_add(struct buf *b, const void *s, size_t n);

/* Give up the text: returns s (NULL if nothing was ever added; the caller frees it) and
 * leaves b empty. */
char *buf_detach(struct buf *b);

/* Free the text; b is empty again (max kept). NULL-safe. */
void buf_release(struct buf *b);

#endif
