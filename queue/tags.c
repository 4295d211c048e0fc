/* Resource tag sets: merging, the canonical JSON form, and a small parser for it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "names.h"
#include "tags.h"

int
tagset_add(struct tagset *ts, const char *name, int units)
{
	size_t i;
	int c = 1;

	/* Kept sorted by name: find the place. */
	for (i = 0; i < ts->n && (c = strcmp(ts->tag[i].name, name)) < 0; i++)
		;
	if (i < ts->n && c == 0) {
		if (units > TAG_UNITS_MAX - ts->tag[i].units)
			return -ERANGE;
		ts->tag[i].units += units;
		return 0;
	}
	if (ts->n == TAGSET_MAX)
		return -E2BIG;
	memmove(&ts->tag[i + 1], &ts->tag[i], (ts->n - i) * sizeof(ts->tag[0]));
	strlcpy(ts->tag[i].name, name, sizeof(ts->tag[i].name));
	ts->tag[i].units = units;
	ts->n++;
	return 0;
}

static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return s;
}

int
tagset_parse(struct tagset *ts, const char *text)
{
	const char *s = text;

	ts->n = 0;
	if (text == NULL)
		return 0;
	s = skip_ws(s);
	if (*s++ != '[')
		return -EINVAL;
	s = skip_ws(s);
	if (*s == ']')
		return *skip_ws(s + 1) == '\0' ? 0 : -EINVAL;
	for (;;) {
		char tag[NAME_TAG_MAX + 16], name[NAME_TAG_MAX + 1];
		const char *end;
		int units, r;

		/* A tag never holds a quote or a backslash, so no escape needs decoding. */
		if (*s++ != '"' || (end = strpbrk(s, "\"\\")) == NULL || *end != '"' ||
		    (size_t)(end - s) >= sizeof(tag))
			return -EINVAL;
		memcpy(tag, s, (size_t)(end - s));
		tag[end - s] = '\0';
		if (tag_parse(tag, name, &units) < 0)
			return -EINVAL;
		if ((r = tagset_add(ts, name, units)) < 0)
			return r;
		s = skip_ws(end + 1);
		if (*s == ']')
			return *skip_ws(s + 1) == '\0' ? 0 : -EINVAL;
		if (*s++ != ',')
			return -EINVAL;
		s = skip_ws(s);
	}
}

size_t
tagset_format(const struct tagset *ts, char *buf, size_t len)
{
	size_t n = 0;

	n += (size_t)snprintf(buf + n, len - n, "[");
	for (size_t i = 0; i < ts->n && n < len; i++) {
		if (ts->tag[i].units == 1)
			n += (size_t)snprintf(buf + n, len - n, "%s\"%s\"", i > 0 ? "," : "",
			                      ts->tag[i].name);
		else
			n += (size_t)snprintf(buf + n, len - n, "%s\"%s:%d\"", i > 0 ? "," : "",
			                      ts->tag[i].name, ts->tag[i].units);
	}
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, "]");
	return n < len ? n : len - 1;
}
