/* A growable byte buffer. See buf.h. */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
buf_add(struct buf *b, const void *s, size_t n)
{
	size_t need = b->len + n + 1;

	if (need < n || (b->max > 0 && need > b->max))
		return -E2BIG;
	if (need > b->cap) {
		size_t cap = b->cap > 0 ? b->cap : 64;
		char *ns;

		while (cap < need)
			cap = cap <= SIZE_MAX / 2 ? cap * 2 : need;
		if (b->max > 0 && cap > b->max)
			cap = b->max;
		if ((ns = realloc(b->s, cap)) == NULL)
			return -ENOMEM;
		b->s = ns;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

char *
buf_detach(struct buf *b)
{
	char *s = b->s;

	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void
buf_release(struct buf *b)
{
	if (b == NULL)
		return;
	free(buf_detach(b));
}
