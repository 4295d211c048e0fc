/*
 * Masking of secrets (mask.h). Each form is matched at every position of the text through a
 * decoder (as is, JSON-unescaping, percent-decoding) one unit at a time, so a form is found
 * whatever mix of escaped and plain characters the server wrote, without building decoded copies
 * of the text. Matches are first marked in a bitmap over the original text, then masked, so one
 * match never hides another that overlaps it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "mask.h"

#define ESCAPE_MAX 6 /* \uXXXX */

struct mask_form {
	unsigned char *text;
	size_t len;
	int lead, trail; /* base64: a character before / after it carries bits of the secret */
};

enum decoding { DEC_RAW, DEC_JSON, DEC_PERCENT };

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
mask_init(struct mask *m)
{
	memset(m, 0, sizeof(*m));
}

void
mask_release(struct mask *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nforms; i++) {
		explicit_bzero(m->forms[i].text, m->forms[i].len);
		free(m->forms[i].text);
	}
	free(m->forms);
	mask_init(m);
}

static int
add_form(struct mask *m, const unsigned char *text, size_t len, int lead, int trail)
{
	struct mask_form *n;

	if (len == 0)
		return 0;
	for (size_t i = 0; i < m->nforms; i++) {
		if (m->forms[i].len == len && memcmp(m->forms[i].text, text, len) == 0)
			return 0;
	}
	if ((n = reallocarray(m->forms, m->nforms + 1, sizeof(*n))) == NULL)
		return -ENOMEM;
	m->forms = n;
	if ((n[m->nforms].text = malloc(len)) == NULL)
		return -ENOMEM;
	memcpy(n[m->nforms].text, text, len);
	n[m->nforms].len = len;
	n[m->nforms].lead = lead;
	n[m->nforms].trail = trail;
	m->first[text[0]] = 1;
	m->nforms++;
	return 0;
}

/* Base64 of in[0..n) into out (4 * ceil(n / 3) bytes, padded with '='). */
static void
b64_encode(const unsigned char *in, size_t n, unsigned char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64_std[v >> 18];
		out[o++] = b64_std[(v >> 12) & 63];
		out[o++] = b64_std[(v >> 6) & 63];
		out[o++] = b64_std[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		out[o++] = b64_std[v >> 18];
		out[o++] = b64_std[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64_std[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
}

/*
 * The base64 forms of secret when it starts `phase` bytes into a 3-byte group of a larger blob:
 * the characters that depend on the secret alone. With phase 1 the character before them holds 4
 * of its bits, with phase 2 two; when the secret does not end a group, the character after holds
 * some too (lead, trail). Both alphabets.
 */
static int
add_base64(struct mask *m, const char *secret, size_t len, size_t phase)
{
	static const size_t skip[3] = {0, 2, 3};
	size_t total = phase + len, end, n = 4 * ((total + 2) / 3);
	unsigned char *in = NULL, *out = NULL;
	int r = 0;

	end = 4 * (total / 3) + (total % 3 == 0 ? 0 : total % 3 == 1 ? 1 : 2);
	if (end < skip[phase] + MASK_FORM_MIN)
		return 0;
	if ((in = calloc(total, 1)) == NULL || (out = malloc(n)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(in + phase, secret, len);
	b64_encode(in, total, out);
	if ((r = add_form(m, out + skip[phase], end - skip[phase], phase > 0, total % 3 != 0)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	r = add_form(m, out + skip[phase], end - skip[phase], phase > 0, total % 3 != 0);
out:
	if (in != NULL)
		explicit_bzero(in, total);
	if (out != NULL)
		explicit_bzero(out, n);
	free(in);
	free(out);
	return r;
}

static int
add_hex(struct mask *m, const char *secret, size_t len, const char *digits)
{
	unsigned char *out;
	int r;

	if (len * 2 < MASK_FORM_MIN)
		return 0;
	if ((out = malloc(len * 2)) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = (unsigned char)digits[(unsigned char)secret[i] >> 4];
		out[2 * i + 1] = (unsigned char)digits[(unsigned char)secret[i] & 15];
	}
	r = add_form(m, out, len * 2, 0, 0);
	explicit_bzero(out, len * 2);
	free(out);
	return r;
}

int
mask_add(struct mask *m, const char *secret, size_t len)
{
	int r;

	if (len == 0)
		return 0;
	if ((r = add_form(m, (const unsigned char *)secret, len, 0, 0)) < 0)
		return r;
	for (size_t phase = 0; phase < 3; phase++) {
		if ((r = add_base64(m, secret, len, phase)) < 0)
			return r;
	}
	if ((r = add_hex(m, secret, len, "0123456789abcdef")) < 0 ||
	    (r = add_hex(m, secret, len, "0123456789ABCDEF")) < 0)
		return r;
	return 0;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The code unit of the \uXXXX at s[i..n): -1 if there is none, -2 if s ends inside it. */
static long
json_u(const unsigned char *s, size_t i, size_t n)
{
	long v = 0;

	if (i >= n)
		return -2;
	if (s[i] != '\\')
		return -1;
	if (i + 1 >= n)
		return -2;
	if (s[i + 1] != 'u')
		return -1;
	for (size_t k = i + 2; k < i + ESCAPE_MAX; k++) {
		int h;

		if (k >= n)
			return -2;
		if ((h = hexval(s[k])) < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

static size_t
utf8(long cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decode the unit of s at i (< n) as dec reads it: 1 to 4 bytes into out, their number in *nout.
 * Returns the unit's length in s, or 0 when s ends inside an escape. Something that only looks
 * like an escape ("%zz", "\q") is read as it is, one byte.
 */
static size_t
unit(enum decoding dec, const unsigned char *s, size_t i, size_t n, unsigned char *out,
     size_t *nout)
{
	long cp, lo;
	size_t len = ESCAPE_MAX;
	int hi, low;

	*nout = 1;
	out[0] = s[i];
	if (dec == DEC_PERCENT && s[i] == '%') {
		if (i + 1 >= n)
			return 0;
		if ((hi = hexval(s[i + 1])) < 0)
			return 1;
		if (i + 2 >= n)
			return 0;
		if ((low = hexval(s[i + 2])) < 0)
			return 1;
		out[0] = (unsigned char)(hi << 4 | low);
		return 3;
	}
	if (dec != DEC_JSON || s[i] != '\\')
		return 1;
	if (i + 1 >= n)
		return 0;
	switch (s[i + 1]) {
	case '"':
	case '\\':
	case '/':
		out[0] = s[i + 1];
		return 2;
	case 'b':
		out[0] = '\b';
		return 2;
	case 'f':
		out[0] = '\f';
		return 2;
	case 'n':
		out[0] = '\n';
		return 2;
	case 'r':
		out[0] = '\r';
		return 2;
	case 't':
		out[0] = '\t';
		return 2;
	case 'u':
		break;
	default:
		return 1;
	}
	if ((cp = json_u(s, i, n)) == -2)
		return 0;
	if (cp < 0)
		return 1;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if ((lo = json_u(s, i + ESCAPE_MAX, n)) == -2)
			return 0;
		if (lo >= 0xdc00 && lo <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			len = 2 * ESCAPE_MAX;
		}
	}
	*nout = utf8(cp, out);
	return len;
}

/*
 * The length of s, from i, that form f fills as dec reads it: > 0 for a whole match; with cut,
 * n - i when s ends after at least MASK_PREFIX_MIN bytes of f (or inside an escape after them);
 * else 0.
 */
static size_t
match(enum decoding dec, const unsigned char *s, size_t i, size_t n, const struct mask_form *f,
      int cut)
{
	unsigned char out[4];
	size_t j = 0, at = i, k, nout;

	while (j < f->len) {
		if (at >= n || (k = unit(dec, s, at, n, out, &nout)) == 0)
			return cut && j >= MASK_PREFIX_MIN ? n - i : 0;
		if (nout > f->len - j || memcmp(out, f->text + j, nout) != 0)
			return 0;
		j += nout;
		at += k;
	}
	return at - i;
}

static int
b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '-' || c == '_';
}

/* The length of the JSON escape whose backslash is s[e] (2, 6 for \uXXXX, less where s ends),
 * or 0 when s[e] starts none (not a backslash, or itself escaped). */
static size_t
escape_at(const unsigned char *s, size_t n, size_t e)
{
	size_t k = e;

	if (s[e] != '\\')
		return 0;
	while (k > 0 && s[k - 1] == '\\')
		k--;
	if ((e - k) % 2 != 0)
		return 0;
	if (e + 1 < n && s[e + 1] == 'u')
		return e + ESCAPE_MAX <= n ? ESCAPE_MAX : n - e;
	return e + 2 <= n ? 2 : 1;
}

/* Mark s[a..b), a match of f, widened to the base64 characters that carry bits of the secret and
 * to whole JSON escapes: "\*" would make JSON text invalid. */
static void
mark(unsigned char *bits, const unsigned char *s, size_t n, size_t a, size_t b,
     const struct mask_form *f)
{
	if (f->lead && a > 0 && b64_char(s[a - 1]))
		a--;
	if (f->trail && b < n && b64_char(s[b]))
		b++;
	for (size_t e = a > ESCAPE_MAX ? a - ESCAPE_MAX : 0; e < a; e++) {
		size_t len = escape_at(s, n, e);

		if (len > 0 && e + len > a) {
			a = e;
			break;
		}
	}
	for (size_t e = b > ESCAPE_MAX ? b - ESCAPE_MAX : 0; e < b; e++) {
		size_t len = escape_at(s, n, e);

		if (len > 0 && e + len > b) {
			b = e + len;
			break;
		}
	}
	for (size_t i = a; i < b; i++)
		bits[i / 8] |= (unsigned char)(1u << (i % 8));
}

int
mask_apply(const struct mask *m, char *text, size_t n, int cut)
{
	const unsigned char *s = (const unsigned char *)text;
	unsigned char *bits;

	if (m == NULL || m->nforms == 0 || text == NULL || n == 0)
		return 0;
	if ((bits = calloc(n / 8 + 1, 1)) == NULL) {
		memset(text, '*', n);
		return -ENOMEM;
	}
	for (enum decoding dec = DEC_RAW; dec <= DEC_PERCENT; dec++) {
		/* Without an escape the decoded text is the text: its matches are found already. */
		if ((dec == DEC_JSON && memchr(s, '\\', n) == NULL) ||
		    (dec == DEC_PERCENT && memchr(s, '%', n) == NULL))
			continue;
		for (size_t i = 0; i < n; i++) {
			unsigned char out[4];
			size_t nout, len;

			if (unit(dec, s, i, n, out, &nout) == 0 || !m->first[out[0]])
				continue;
			for (size_t k = 0; k < m->nforms; k++) {
				const struct mask_form *f = &m->forms[k];

				if (f->text[0] == out[0] && (len = match(dec, s, i, n, f, cut)) > 0)
					mark(bits, s, n, i, i + len, f);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (bits[i / 8] & (1u << (i % 8)))
			text[i] = '*';
	}
	free(bits);
	return 0;
}
