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
	n = strnlen(s, NAME_NAMESPACE_MAX + 1);
	if (n > NAME_NAMESPACE_MAX)
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
