/*
 * A fast, allocation-free check that a payload is JSON, so a bulk enqueue does not pay for
 * building (and freeing) a cJSON tree per job. It accepts strict RFC 8259 text in UTF-8 and is
 * stricter than cJSON where cJSON is lenient (leading zeros, "1.", raw control characters), and
 * follows cJSON's limits where cJSON is stricter (nesting depth 1000, numbers of at most 63
 * characters, paired \u surrogates), so whatever passes here parses in every worker. It refuses
 * the escape \u0000: jobq's C strings, argv and environment cannot carry that NUL character.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

struct cursor {
	const unsigned char *p, *end;
};

static void
skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int
is_digit(struct cursor *c)
{
	return c->p < c->end && *c->p >= '0' && *c->p <= '9';
}

static int
literal(struct cursor *c, const char *word)
{
	for (; *word != '\0'; word++, c->p++) {
		if (c->p >= c->end || *c->p != (unsigned char)*word)
			return -1;
	}
	return 0;
}

static int
number(struct cursor *c)
{
	const unsigned char *start = c->p;

	if (*c->p == '-')
		c->p++;
	if (!is_digit(c))
		return -1;
	if (*c->p == '0')
		c->p++;
	else
		while (is_digit(c))
			c->p++;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (!is_digit(c))
			return -1;
		while (is_digit(c))
			c->p++;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (!is_digit(c))
			return -1;
		while (is_digit(c))
			c->p++;
	}
	if (c->p - start > JSON_NUMBER_MAX) {
		c->p = start;
		return -1;
	}
	return 0;
}

static int
hex4(struct cursor *c, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++, c->p++) {
		unsigned char h;

		if (c->p >= c->end)
			return -1;
		h = *c->p;
		if (h >= '0' && h <= '9')
			v = v * 16 + (h - '0');
		else if (h >= 'a' && h <= 'f')
			v = v * 16 + (h - 'a' + 10);
		else if (h >= 'A' && h <= 'F')
			v = v * 16 + (h - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* After a backslash. Returns 0, -1 not JSON, or -2 at \u0000 (the cursor back on its '\'). */
static int
escape(struct cursor *c)
{
	unsigned u, low;

	if (c->p >= c->end)
		return -1;
	switch (*c->p++) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		return 0;
	case 'u':
		if (hex4(c, &u) < 0)
			return -1;
		if (u == 0) {
			c->p -= 6;
			return -2;
		}
		if (u >= 0xDC00 && u <= 0xDFFF)
			return -1; /* a low surrogate alone */
		if (u < 0xD800 || u > 0xDBFF)
			return 0;
		if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
			return -1;
		c->p += 2;
		if (hex4(c, &low) < 0 || low < 0xDC00 || low > 0xDFFF)
			return -1;
		return 0;
	default:
		c->p--;
		return -1;
	}
}

/* One UTF-8 sequence of 2 to 4 bytes, well-formed (no overlong form, surrogate, > U+10FFFF). */
static int
utf8(struct cursor *c)
{
	const unsigned char *s = c->p;
	size_t left = (size_t)(c->end - s), n;
	uint32_t cp, min;

	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2, cp = s[0] & 0x1F, min = 0x80;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3, cp = s[0] & 0x0F, min = 0x800;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return -1;
	}
	if (left < n)
		return -1;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	c->p += n;
	return 0;
}

/* At the opening quote. Returns 0, -1 not JSON, or -2 at \u0000. */
static int
string(struct cursor *c)
{
	int r;

	c->p++;
	while (c->p < c->end) {
		unsigned char ch = *c->p;

		if (ch == '"') {
			c->p++;
			return 0;
		}
		if (ch == '\\') {
			c->p++;
			if ((r = escape(c)) < 0)
				return r;
		} else if (ch < 0x20) {
			return -1;
		} else if (ch < 0x80) {
			c->p++;
		} else if (utf8(c) < 0) {
			return -1;
		}
	}
	return -1;
}

enum expect { EXPECT_VALUE, EXPECT_KEY, EXPECT_AFTER };

int
json_check(const char *text, size_t len, size_t *where)
{
	struct cursor c = {(const unsigned char *)text, (const unsigned char *)text + len};
	/* The open containers: '{' or '['. */
	unsigned char stack[JSON_DEPTH_MAX];
	enum expect want = EXPECT_VALUE;
	size_t depth = 0;
	int r = 0;

	for (;;) {
		skip_ws(&c);
		if (want == EXPECT_AFTER) {
			if (depth == 0)
				break;
			if (c.p < c.end && *c.p == ',') {
				c.p++;
				want = stack[depth - 1] == '{' ? EXPECT_KEY : EXPECT_VALUE;
			} else if (c.p < c.end && *c.p == (stack[depth - 1] == '{' ? '}' : ']')) {
				c.p++;
				depth--;
			} else {
				r = -1;
				break;
			}
			continue;
		}
		if (c.p >= c.end) {
			r = -1;
			break;
		}
		if (want == EXPECT_KEY) {
			if (*c.p != '"') {
				r = -1;
				break;
			}
			if ((r = string(&c)) < 0)
				break;
			skip_ws(&c);
			if (c.p >= c.end || *c.p != ':') {
				r = -1;
				break;
			}
			c.p++;
			want = EXPECT_VALUE;
			continue;
		}
		/* A value. */
		want = EXPECT_AFTER;
		switch (*c.p) {
		case '{':
		case '[':
			if (depth == JSON_DEPTH_MAX) {
				r = -1;
				break;
			}
			stack[depth++] = *c.p++;
			skip_ws(&c);
			if (c.p < c.end && *c.p == (stack[depth - 1] == '{' ? '}' : ']')) {
				c.p++;
				depth--;
			} else {
				want = stack[depth - 1] == '{' ? EXPECT_KEY : EXPECT_VALUE;
			}
			break;
		case '"':
			r = string(&c);
			break;
		case 't':
			r = literal(&c, "true");
			break;
		case 'f':
			r = literal(&c, "false");
			break;
		case 'n':
			r = literal(&c, "null");
			break;
		default:
			r = number(&c);
			break;
		}
		if (r < 0)
			break;
	}
	if (r == 0 && c.p != c.end)
		r = -1;
	if (r < 0 && where != NULL)
		*where = (size_t)(c.p - (const unsigned char *)text);
	return r == -2 ? -EILSEQ : r < 0 ? -EINVAL : 0;
}

int
text_valid(const char *s, size_t max)
{
	struct cursor c;
	size_t len;

	if (s == NULL || (len = strnlen(s, max + 1)) == 0 || len > max)
		return 0;
	c.p = (const unsigned char *)s;
	c.end = c.p + len;
	while (c.p < c.end) {
		if (*c.p < 0x20 || *c.p == 0x7f)
			return 0;
		if (*c.p < 0x80)
			c.p++;
		else if (utf8(&c) < 0)
			return 0;
	}
	return 1;
}
