/* Text fit for a terminal or a log line, and NUL characters hidden in JSON text. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

size_t
text_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c, min;
	size_t n;

	if (len == 0)
		return 0;
	c = u[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xC2 && c <= 0xDF) {
		n = 2, c &= 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3, c &= 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (u[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

/* Length of the prefix of s[0..len) that is well-formed UTF-8 without a NUL byte. */
static size_t
utf8_span(const char *s, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if ((unsigned char)s[i] - 1u < 0x7Fu) { /* 1..0x7F: ASCII, the common case */
			i++;
			continue;
		}
		if ((n = text_utf8_decode(s + i, len - i, &cp)) == 0 || cp == 0)
			break;
		i += n;
	}
	return i;
}

int
text_utf8_repair(const char *s, size_t len, char **out, size_t *outlen)
{
	static const char fffd[] = "\xEF\xBF\xBD";
	size_t i = utf8_span(s, len), o;
	char *d;

	*out = NULL;
	*outlen = 0;
	if (i == len)
		return 0;
	if (len > (SIZE_MAX - 1) / 3 || (d = malloc(3 * len + 1)) == NULL)
		return -ENOMEM;
	memcpy(d, s, i);
	o = i;
	while (i < len) {
		size_t good;

		memcpy(d + o, fffd, 3); /* s[i] is a stray, cut or NUL byte */
		o += 3;
		i++;
		good = utf8_span(s + i, len - i);
		memcpy(d + o, s + i, good);
		o += good;
		i += good;
	}
	d[o] = '\0';
	*out = d;
	*outlen = o;
	return 1;
}

int
text_is_control(uint32_t cp)
{
	if (cp == '\t')
		return 0;
	return cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0x200E || cp == 0x200F ||
	       (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t
text_escape(const char *s, size_t len, char *out, size_t outlen, size_t *used)
{
	size_t i = 0, o = 0;

	if (outlen == 0) {
		if (used != NULL)
			*used = 0;
		return 0;
	}
	while (i < len) {
		char esc[TEXT_ESCAPE_MAX + 1];
		const char *piece = esc;
		size_t n, in;
		uint32_t cp;

		if ((in = text_utf8_decode(s + i, len - i, &cp)) == 0) {
			/* not UTF-8 (or a NUL byte, which decodes as U+0000 but is 1 byte) */
			in = 1;
			n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)s[i]);
		} else if (!text_is_control(cp)) {
			piece = s + i;
			n = in;
		} else if (cp == '\n') {
			n = (size_t)snprintf(esc, sizeof(esc), "\\n");
		} else if (cp == '\r') {
			n = (size_t)snprintf(esc, sizeof(esc), "\\r");
		} else if (cp < 0x80) {
			n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", (unsigned)cp);
		} else {
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
		}
		if (o + n + 1 > outlen)
			break;
		memcpy(out + o, piece, n);
		o += n;
		i += in;
	}
	out[o] = '\0';
	if (used != NULL)
		*used = i;
	return o;
}

/* Containers followed deeper than this (cJSON's own nesting limit) are not told apart. */
#define NUL_DEPTH_MAX 1000
/* Steps of the path kept; deeper ones end the path with "...". */
#define NUL_PATH_STEPS 64
#define NUL_PATH_BUF 512

struct json_path {
	char buf[NUL_PATH_BUF];
	size_t len;
};

static void
path_set(struct json_path *p, size_t len)
{
	p->len = len < sizeof(p->buf) ? len : sizeof(p->buf) - 1;
	p->buf[p->len] = '\0';
}

/* Append n bytes of s, escaped (a key may hold raw controls: cJSON takes them); a path too
 * long for the buffer is cut. */
static void
path_add(struct json_path *p, const char *s, size_t n)
{
	p->len += text_escape(s, n, p->buf + p->len, sizeof(p->buf) - p->len, NULL);
}

static void
path_index(struct json_path *p, size_t mark, size_t index)
{
	char step[32];

	path_set(p, mark);
	snprintf(step, sizeof(step), "[%zu]", index);
	path_add(p, step, strlen(step));
}

/* The string whose opening quote is at s: its end (after the closing quote, or end) and the
 * offset in json of its first \u0000 escape, or -1. */
static const char *
scan_string(const char *s, const char *end, const char *json, long *nul)
{
	*nul = -1;
	for (s++; s < end; s++) {
		if (*s == '"')
			return s + 1;
		if (*s != '\\')
			continue;
		if (end - s >= 6 && memcmp(s + 1, "u0000", 5) == 0 && *nul < 0)
			*nul = (long)(s - json);
		s++; /* the escaped character ("\\", "\""): never the end of the string */
	}
	return end;
}

long
text_json_nul(const char *json, size_t len, const char *root, char *path, size_t pathlen)
{
	const char *p = json, *end = json + len;
	unsigned char kind[NUL_DEPTH_MAX]; /* '{' or '[' */
	size_t mark[NUL_PATH_STEPS];       /* path length of each container itself */
	size_t index[NUL_PATH_STEPS];      /* element of each array */
	struct json_path jp;
	size_t depth = 0, deep = 0; /* deep: containers beyond NUL_DEPTH_MAX */
	int want_key = 0;
	long nul = -1;

	/* The fast answer for nearly every text. */
	if (len < 6 || memmem(json, len, "\\u0000", 6) == NULL)
		return -1;
	path_set(&jp, 0);
	path_add(&jp, root != NULL ? root : "", root != NULL ? strlen(root) : 0);
	while (p < end && nul < 0) {
		switch (*p) {
		case '{':
		case '[':
			if (depth == NUL_DEPTH_MAX) {
				deep++;
				p++;
				break;
			}
			if (depth < NUL_PATH_STEPS) {
				mark[depth] = jp.len;
				index[depth] = 0;
			}
			kind[depth++] = (unsigned char)*p;
			want_key = *p == '{';
			if (*p == '[' && depth <= NUL_PATH_STEPS)
				path_index(&jp, mark[depth - 1], 0);
			p++;
			break;
		case '}':
		case ']':
			if (deep > 0) {
				deep--;
			} else if (depth > 0) {
				depth--;
				if (depth < NUL_PATH_STEPS)
					path_set(&jp, mark[depth]);
			}
			want_key = 0;
			p++;
			break;
		case ',':
			if (deep == 0 && depth > 0 && depth <= NUL_PATH_STEPS) {
				if (kind[depth - 1] == '[')
					path_index(&jp, mark[depth - 1], ++index[depth - 1]);
				else
					path_set(&jp, mark[depth - 1]);
			}
			want_key = deep == 0 && depth > 0 && kind[depth - 1] == '{';
			p++;
			break;
		case ':':
			want_key = 0;
			p++;
			break;
		case '"': {
			const char *start = p;

			p = scan_string(p, end, json, &nul);
			if (want_key && deep == 0 && depth > 0 && depth <= NUL_PATH_STEPS) {
				size_t klen = (size_t)(p - start);

				/* the key without its quotes (a cut one has no closing quote) */
				klen = klen >= 2 && start[klen - 1] == '"' ? klen - 2 : klen - 1;
				path_set(&jp, mark[depth - 1]);
				if (jp.len > 0)
					path_add(&jp, ".", 1);
				path_add(&jp, start + 1, klen);
			}
			want_key = 0;
			break;
		}
		default:
			p++;
			break;
		}
	}
	if (nul >= 0 && path != NULL && pathlen > 0) {
		if (depth > NUL_PATH_STEPS || deep > 0)
			path_add(&jp, "...", 3);
		snprintf(path, pathlen, "%s", jp.buf);
	}
	return nul;
}

/* Length of the terminal escape sequence at s (s[0] is ESC), at most n bytes: CSI (ESC [ ...
 * final byte), OSC (ESC ] ... BEL or ESC \), or ESC and one more byte. */
static size_t
escape_len(const char *s, size_t n)
{
	size_t i;

	if (n < 2)
		return n;
	if (s[1] == '[') {
		for (i = 2; i < n && ((unsigned char)s[i] < 0x40 || (unsigned char)s[i] > 0x7E);
		     i++)
			;
		return i < n ? i + 1 : n;
	}
	if (s[1] == ']') {
		for (i = 2; i < n; i++) {
			if (s[i] == '\a')
				return i + 1;
			if (s[i] == '\033' && i + 1 < n && s[i + 1] == '\\')
				return i + 2;
		}
		return n;
	}
	return 2;
}

/* A code point that makes a line worth showing: a letter, not a digit, a mark of punctuation,
 * a box-drawing or block character of a progress bar, a braille spinner or an emoji. */
static int
is_wordy(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
	if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7)
		return 0;
	if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
	    (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0x1F000 && cp <= 0x1FAFF))
		return 0;
	return 1;
}

size_t
text_last_line(const char *s, size_t len, char *out, size_t outlen)
{
	size_t start = 0, best_off = 0, best_len = 0, any_off = 0, any_len = 0, n = 0;
	int have_best = 0;

	if (outlen == 0)
		return 0;
	/* Each line of s: find its first and last visible bytes, and whether it holds a word. */
	while (start < len) {
		size_t end = start, first = SIZE_MAX, last = 0;
		int wordy = 0;

		while (end < len && s[end] != '\n' && s[end] != '\r')
			end++;
		for (size_t i = start; i < end;) {
			uint32_t cp;
			size_t k;

			if (s[i] == '\033') {
				i += escape_len(s + i, end - i);
				continue;
			}
			if ((k = text_utf8_decode(s + i, end - i, &cp)) == 0) {
				k = 1;
				cp = 0xFFFD;
			}
			if (cp != ' ' && cp != '\t' && cp != 0xA0 && !text_is_control(cp)) {
				if (first == SIZE_MAX)
					first = i;
				last = i + k;
				wordy |= is_wordy(cp);
			}
			i += k;
		}
		if (first != SIZE_MAX) {
			any_off = first;
			any_len = last - first;
			if (wordy) {
				best_off = first;
				best_len = last - first;
				have_best = 1;
			}
		}
		start = end + 1;
	}
	if (!have_best) {
		best_off = any_off;
		best_len = any_len;
	}
	/* Copy it without its escape sequences, cut at a character boundary. */
	for (size_t i = best_off; i < best_off + best_len;) {
		uint32_t cp;
		size_t k;

		if (s[i] == '\033') {
			i += escape_len(s + i, best_off + best_len - i);
			continue;
		}
		if ((k = text_utf8_decode(s + i, best_off + best_len - i, &cp)) == 0)
			k = 1;
		if (n + k >= outlen)
			break;
		memcpy(out + n, s + i, k);
		n += k;
		i += k;
	}
	out[n] = '\0';
	return n;
}
