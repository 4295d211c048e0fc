/* Masking passwords in database names. See conninfo.h; the syntax is libpq's ("Connection
 * Strings" in the PostgreSQL manual; conninfo_parse and conninfo_uri_parse in fe-connect.c). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"

#define VALUE_MAX 4096 /* a dbname value expanded as a nested conninfo */

/* An output buffer that cuts rather than overflows, remembering that it did. */
struct out {
	char *p;
	size_t len, n;
	int cut, masked;
};

static void
put(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (o->n + 1 >= o->len) {
			o->cut = 1;
			break;
		}
		o->p[o->n++] = s[i];
	}
	if (o->len > 0)
		o->p[o->n] = '\0';
}

static void
put_mask(struct out *o)
{
	put(o, CONNINFO_MASK, strlen(CONNINFO_MASK));
	o->masked++;
}

static int
is_uri(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

static int
hex(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Whether the query parameter name k (n bytes, percent-encoded or not) is want. */
static int
uri_key_is(const char *k, size_t n, const char *want)
{
	size_t m = 0, wn = strlen(want);

	for (size_t i = 0; i < n; i++, m++) {
		int c = (unsigned char)k[i];
		if (c == '%' && i + 2 < n && isxdigit((unsigned char)k[i + 1]) &&
		    isxdigit((unsigned char)k[i + 2])) {
			c = hex((unsigned char)k[i + 1]) * 16 + hex((unsigned char)k[i + 2]);
			i += 2;
		}
		if (m >= wn || c != want[m])
			return 0;
	}
	return m == wn;
}

/* "password", or "sslpassword" (the passphrase of the client's SSL key): both secrets. */
static int
uri_key_is_password(const char *k, size_t n)
{
	return uri_key_is(k, n, "password") || uri_key_is(k, n, "sslpassword");
}

/* A URI: the password of the user info, and the values of "password" query parameters. libpq
 * ends the user info at the first '@' before any '/'; a password holding a raw '@' or '/' (it
 * should be percent-encoded) must not show either, so the mask runs from the first ':' to the
 * last '@' before the query string: it may hide more than libpq's password, never less. */
static void
mask_uri(const char *s, struct out *o)
{
	const char *auth = strstr(s, "://") + 3, *p, *q, *at = NULL;

	for (p = auth; *p != '\0' && *p != '?'; p++)
		if (*p == '@')
			at = p;
	if (at != NULL) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon != NULL) {
			put(o, s, (size_t)(colon + 1 - s));
			put_mask(o);
			s = at;
		}
	}
	if ((q = strchr(s, '?')) == NULL) {
		put(o, s, strlen(s));
		return;
	}
	put(o, s, (size_t)(q + 1 - s));
	for (p = q + 1;;) {
		size_t n = strcspn(p, "&"), k = strcspn(p, "=&");
		if (k < n && uri_key_is_password(p, k)) {
			put(o, p, k + 1);
			put_mask(o);
		} else {
			put(o, p, n);
		}
		if (p[n] == '\0')
			break;
		put(o, "&", 1);
		p += n + 1;
	}
}

static void mask_any(const char *s, struct out *o);

/* One conninfo value at *sp: bare (up to white space, with \ escapes) or single-quoted (with \'
 * and \\). Its text unescaped goes to val (cut at len), *sp past it. -EINVAL: an unterminated
 * quote. */
static int
read_value(const char **sp, char *val, size_t len)
{
	const char *s = *sp;
	size_t n = 0;
	int quoted = *s == '\'';

	if (quoted)
		s++;
	for (;;) {
		if (*s == '\0') {
			if (quoted)
				return -EINVAL;
			break;
		}
		if (!quoted && isspace((unsigned char)*s))
			break;
		if (quoted && *s == '\'') {
			s++;
			break;
		}
		if (*s == '\\' && s[1] != '\0')
			s++;
		if (n + 1 < len)
			val[n++] = *s;
		s++;
	}
	val[n] = '\0';
	*sp = s;
	return 0;
}

/* A conninfo "key = value ...": -EINVAL when s does not parse as one (o is then unused). */
static int
mask_conninfo(const char *s, struct out *o)
{
	const char *p = s;
	int pairs = 0;

	/* A first pass checks the syntax: keys are [A-Za-z_]+, each followed by '='. */
	for (;;) {
		char val[8];
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		if (!isalpha((unsigned char)*p) && *p != '_')
			return -EINVAL;
		while (isalpha((unsigned char)*p) || *p == '_')
			p++;
		while (isspace((unsigned char)*p))
			p++;
		if (*p++ != '=')
			return -EINVAL;
		while (isspace((unsigned char)*p))
			p++;
		if (read_value(&p, val, sizeof(val)) < 0)
			return -EINVAL;
		pairs++;
	}
	if (pairs == 0)
		return -EINVAL;
	for (p = s;;) {
		const char *key, *start;
		size_t klen;
		char *val;

		start = p;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0') {
			put(o, start, (size_t)(p - start));
			return 0;
		}
		key = p;
		while (isalpha((unsigned char)*p) || *p == '_')
			p++;
		klen = (size_t)(p - key);
		while (isspace((unsigned char)*p))
			p++;
		p++; /* '=' */
		while (isspace((unsigned char)*p))
			p++;
		put(o, start, (size_t)(p - start));
		start = p;
		if ((val = malloc(VALUE_MAX)) == NULL) {
			o->cut = 1; /* shown as cut: nothing after the key */
			return 0;
		}
		read_value(&p, val, VALUE_MAX);
		if ((klen == 8 && strncmp(key, "password", 8) == 0) ||
		    (klen == 11 && strncmp(key, "sslpassword", 11) == 0)) {
			put_mask(o);
		} else if (klen == 6 && strncmp(key, "dbname", 6) == 0 &&
		           (is_uri(val) || strchr(val, '=') != NULL)) {
			/* libpq expands such a dbname: mask it as a whole, then quote it. */
			char *inner = malloc(VALUE_MAX);
			struct out io = {.p = inner, .len = VALUE_MAX};

			if (inner == NULL) {
				free(val);
				o->cut = 1;
				return 0;
			}
			inner[0] = '\0';
			mask_any(val, &io);
			if (io.masked == 0) {
				put(o, start, (size_t)(p - start));
			} else {
				put(o, "'", 1);
				for (const char *c = inner; *c != '\0'; c++) {
					if (*c == '\'' || *c == '\\')
						put(o, "\\", 1);
					put(o, c, 1);
				}
				put(o, "'", 1);
				o->masked += io.masked;
			}
			o->cut |= io.cut;
			free(inner);
		} else {
			put(o, start, (size_t)(p - start));
		}
		free(val);
	}
}

static void
mask_any(const char *s, struct out *o)
{
	size_t n0 = o->n;

	if (is_uri(s)) {
		mask_uri(s, o);
		return;
	}
	if (strchr(s, '=') != NULL && mask_conninfo(s, o) == 0)
		return;
	o->n = n0;
	if (o->len > 0)
		o->p[o->n] = '\0';
	/* A URI behind a prefix (a path made absolute by mistake, "/srv/postgresql://..."). */
	const char *u = strstr(s, "postgresql://"), *u2 = strstr(s, "postgres://");
	if (u == NULL || (u2 != NULL && u2 < u))
		u = u2;
	if (u != NULL) {
		put(o, s, (size_t)(u - s));
		mask_uri(u, o);
		return;
	}
	/* Not a conninfo after all: a path, shown as it is, or a broken conninfo such as
	 * "host=h password='x" (libpq refuses it), shown up to its "password =". */
	for (const char *p = s; *s != '/' && (p = strstr(p, "password")) != NULL; p++) {
		const char *e = p + 8;
		while (isspace((unsigned char)*e))
			e++;
		if (*e == '=') {
			put(o, s, (size_t)(e + 1 - s));
			put_mask(o);
			return;
		}
	}
	put(o, s, strlen(s));
}

int
conninfo_mask(const char *in, char *out, size_t len)
{
	struct out o = {.p = out, .len = len};

	if (len == 0)
		return -ENOBUFS;
	out[0] = '\0';
	mask_any(in != NULL ? in : "", &o);
	return o.cut ? -ENOBUFS : o.masked;
}
