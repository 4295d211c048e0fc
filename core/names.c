/* Validation of type names, namespaces and resource tags; path-safe slugs of any string. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "names.h"
#include "text.h"

static int
is_lower_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9][a-z0-9 + extra]{0,max-1} */
static int
name_valid(const char *s, const char *extra, size_t max)
{
	size_t i;

	if (s == NULL || !is_lower_alnum((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= max)
			return 0;
		if (!is_lower_alnum(c) && strchr(extra, c) == NULL)
			return 0;
	}
	return 1;
}

int
name_type_valid(const char *s)
{
	return name_valid(s, "_-", NAME_TYPE_MAX);
}

int
name_tag_valid(const char *s)
{
	return name_valid(s, "_.-", NAME_TAG_MAX);
}

int
name_namespace_valid(const char *s)
{
	size_t n, i = 0;

	if (s == NULL || *s == '\0')
		return 0;
	n = strnlen(s, NAME_TEXT_MAX + 1);
	if (n > NAME_TEXT_MAX)
		return 0;
	while (i < n) {
		uint32_t cp;
		size_t len = text_utf8_decode(s + i, n - i, &cp);

		if (len == 0)
			return 0;
		/* C0, DEL and C1 controls. */
		if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			return 0;
		i += len;
	}
	return 1;
}

int
tag_parse(const char *s, char *name_out, int *units_out)
{
	const char *colon;
	size_t nlen;
	long units = 1;

	if (s == NULL)
		return -EINVAL;
	colon = strchr(s, ':');
	nlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
	if (nlen == 0 || nlen > NAME_TAG_MAX)
		return -EINVAL;
	if (colon != NULL) {
		const char *p = colon + 1;

		if (*p < '1' || *p > '9')
			return -EINVAL;
		units = 0;
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			units = units * 10 + (*p - '0');
			if (units > 1000000)
				return -EINVAL;
		}
	}
	char name[NAME_TAG_MAX + 1];
	memcpy(name, s, nlen);
	name[nlen] = '\0';
	if (!name_tag_valid(name))
		return -EINVAL;
	memcpy(name_out, name, nlen + 1);
	*units_out = (int)units;
	return 0;
}

/* FNV-1a, 32 bits. */
static uint32_t
fnv1a32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

#define SLUG_PREFIX_MAX 48

void
name_slug(const char *s, char *out, size_t len)
{
	char buf[SLUG_PREFIX_MAX + 1 + 8 + 1];
	size_t i, o = 0;

	if (len == 0)
		return;
	if (s == NULL)
		s = "";
	for (i = 0; s[i] != '\0' && o < SLUG_PREFIX_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || c == '_' || (c == '-' && o > 0);

		buf[o++] = keep ? (char)c : '_';
	}
	if (o == 0)
		buf[o++] = '_';
	snprintf(buf + o, sizeof(buf) - o, "-%08x", fnv1a32(s));
	strlcpy(out, buf, len);
}

#define SHOWN_MAX 64

const char *
name_shown(const char *s, char *out, size_t len)
{
	size_t i, o = 0, max;

	if (len == 0)
		return out;
	if (s == NULL)
		s = "";
	/* Room for the text, "..." and the NUL. */
	max = len < 4 ? 0 : len - 4 < SHOWN_MAX ? len - 4 : SHOWN_MAX;
	for (i = 0; s[i] != '\0' && o < max; i++) {
		unsigned char c = (unsigned char)s[i];

		out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (s[i] != '\0') {
		/* Not in the middle of a character: drop a last one that is not whole. */
		size_t lead = o;

		while (lead > 0 && o - lead < 3 && ((unsigned char)out[lead - 1] & 0xC0) == 0x80)
			lead--;
		if (lead > 0 && (unsigned char)out[lead - 1] >= 0xC0) {
			unsigned char c = (unsigned char)out[lead - 1];
			size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;

			if (o - (lead - 1) < need)
				o = lead - 1;
		}
		if (len >= 4) {
			memcpy(out + o, "...", 3);
			o += 3;
		}
	}
	out[o] = '\0';
	return out;
}

/* Optimal string alignment distance of a and b (insertions, deletions, substitutions and
 * swaps of two neighbours each cost 1), or limit + 1 once it exceeds limit. Names are short:
 * both at most NAME_CLOSEST_MAX bytes, longer ones are never close. */
#define NAME_CLOSEST_MAX 64
static size_t
osa_distance(const char *a, const char *b, size_t limit)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[NAME_CLOSEST_MAX + 1][NAME_CLOSEST_MAX + 1];

	if (la > NAME_CLOSEST_MAX || lb > NAME_CLOSEST_MAX)
		return limit + 1;
	if ((la > lb ? la - lb : lb - la) > limit)
		return limit + 1;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1, v = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb] <= limit ? d[la][lb] : limit + 1;
}

const char *
name_closest(const char *s, const char *const *names, size_t n)
{
	size_t len = s != NULL ? strlen(s) : 0, limit, best = SIZE_MAX;
	const char *found = NULL;

	if (len == 0)
		return NULL;
	/* One typo in a short name, two from 6 bytes on, three from 12; none in 3 bytes or fewer,
	 * where one letter makes another word. */
	limit = len <= 3 ? 0 : len < 6 ? 1 : len < 12 ? 2 : 3;
	if (limit == 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t dist;

		if (names[i] == NULL || strcmp(names[i], s) == 0)
			continue;
		if ((dist = osa_distance(s, names[i], limit)) <= limit && dist < best) {
			best = dist;
			found = names[i];
		}
	}
	return found;
}
