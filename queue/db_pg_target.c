/*
 * What a PostgreSQL target looks like in messages, `status` and logs (db_pg_display): the
 * target as given, any password replaced by "***" as core/conninfo.c shows it in the CLI's own
 * messages. libpq parses the target first, so what is masked is what libpq would have read as
 * the password.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"
#include "db_pg_lib.h"

#include "db_pg_internal.h"

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Append "key=value" to out (len bytes), quoting value as a conninfo does. */
static void
append_kv(char *out, size_t len, const char *key, const char *value)
{
	size_t n = strlen(out);
	int quote = *value == '\0';

	for (const char *p = value; *p != '\0'; p++)
		quote |= is_space(*p) || *p == '\'' || *p == '\\';
	n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s=%s", n > 0 ? " " : "", key,
	                      quote ? "'" : "");
	for (const char *p = value; *p != '\0' && n + 3 < len; p++) {
		if (*p == '\'' || *p == '\\')
			out[n++] = '\\';
		out[n++] = *p;
	}
	if (n + 2 < len) {
		if (quote)
			out[n++] = '\'';
		out[n] = '\0';
	}
}

/* A conninfo of the parameters in opts, the password as ***: host, port, user, password and
 * dbname first. */
static char *
conninfo_masked(const PQconninfoOption *opts, size_t cap)
{
	static const char *const first[] = {"host", "hostaddr", "port",
	                                    "user", "password", "dbname"};
	char *out = calloc(1, cap);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
		for (const PQconninfoOption *o = opts; o->keyword != NULL; o++)
			if (o->val != NULL && strcmp(o->keyword, first[i]) == 0)
				append_kv(out, cap, o->keyword,
				          strcmp(o->keyword, "password") == 0 ? "***" : o->val);
	for (const PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		int shown = 0;

		for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
			shown |= strcmp(o->keyword, first[i]) == 0;
		if (o->val != NULL && !shown)
			append_kv(out, cap, o->keyword, o->val);
	}
	return out;
}

static int
hex(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Is the URI query key [k, k + n) "password", percent-decoded? */
static int
is_password_key(const char *k, size_t n)
{
	static const char want[] = "password";
	size_t j = 0;

	for (size_t i = 0; i < n; i++, j++) {
		int c = (unsigned char)k[i];

		if (c == '%' && i + 2 < n && hex(k[i + 1]) >= 0 && hex(k[i + 2]) >= 0) {
			c = hex(k[i + 1]) * 16 + hex(k[i + 2]);
			i += 2;
		}
		if (j >= sizeof(want) - 1 || c != want[j])
			return 0;
	}
	return j == sizeof(want) - 1;
}

/* A URI with the password of its user part and of its query ("password=") replaced by ***,
 * as libpq splits them (conninfo_uri_parse_options). */
static char *
uri_masked(const char *uri)
{
	const char *p = strstr(uri, "://") + 3, *q, *at;
	size_t cap = strlen(uri) * 4 + 16, n;
	char *out = malloc(cap);

	if (out == NULL)
		return NULL;
	n = (size_t)(p - uri);
	memcpy(out, uri, n);
	for (at = p; *at != '\0' && *at != '@' && *at != '/'; at++)
		;
	if (*at == '@') {
		const char *colon = memchr(p, ':', (size_t)(at - p));

		if (colon != NULL) {
			memcpy(out + n, p, (size_t)(colon + 1 - p));
			n += (size_t)(colon + 1 - p);
			memcpy(out + n, "***", 3);
			n += 3;
			p = at;
		}
	}
	if ((q = strchr(p, '?')) == NULL)
		q = p + strlen(p);
	memcpy(out + n, p, (size_t)(q - p));
	n += (size_t)(q - p);
	while (*q != '\0') {
		const char *key = q + 1, *end = key + strcspn(key, "&"), *eq;

		out[n++] = *q; /* '?' or '&' */
		eq = memchr(key, '=', (size_t)(end - key));
		if (eq != NULL && is_password_key(key, (size_t)(eq - key))) {
			memcpy(out + n, key, (size_t)(eq + 1 - key));
			n += (size_t)(eq + 1 - key);
			memcpy(out + n, "***", 3);
			n += 3;
		} else {
			memcpy(out + n, key, (size_t)(end - key));
			n += (size_t)(end - key);
		}
		q = end;
	}
	out[n] = '\0';
	return out;
}

static const char *
opt_val(const PQconninfoOption *opts, const char *key)
{
	for (const PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, key) == 0)
			return o->val;
	return NULL;
}

/* libpq's complaint about a target quotes the piece it could not read, which may be a
 * password ("invalid percent-encoded token: \"pa%zz\""): every quoted piece becomes ***. */
static void
redact_quoted(char *why)
{
	char *open, *close;

	for (char *p = why; (open = strchr(p, '"')) != NULL && (close = strchr(open + 1, '"'));) {
		size_t rest = strlen(close);

		if (close - open - 1 < 3)
			break; /* no room to write *** over it: cut the message there */
		memcpy(open + 1, "***", 3);
		memmove(open + 4, close, rest + 1);
		p = open + 5;
	}
	if (open != NULL)
		*open = '\0';
}

/* A conninfo as given with its passwords masked as core/conninfo.c masks them (what the CLI
 * and the supervisor show): also one in a dbname that libpq expands. Unless libpq would read
 * that text another way (the check), then the conninfo as libpq read it, with ***. */
static char *
conninfo_shown(const char *target, const PQconninfoOption *opts)
{
	size_t cap = strlen(target) * 2 + 64;
	PQconninfoOption *check = NULL;
	const char *pw;
	char *out = malloc(cap);

	if (out == NULL)
		return NULL;
	if (conninfo_mask(target, out, cap) >= 0 && (check = PQconninfoParse(out, NULL)) != NULL &&
	    ((pw = opt_val(check, "password")) == NULL ? opt_val(opts, "password") == NULL
	                                               : strcmp(pw, CONNINFO_MASK) == 0)) {
		PQconninfoFree(check);
		return out;
	}
	PQconninfoFree(check);
	free(out);
	return conninfo_masked(opts, cap);
}

char *
db_pg_display(const char *target, char **why)
{
	PQconninfoOption *opts, *check = NULL;
	const char *pw;
	char *out = NULL;

	if (why != NULL)
		*why = NULL;
	if (pq_load(NULL, 0) < 0)
		return NULL;
	if ((opts = PQconninfoParse(target, why)) == NULL) {
		/* A target that may hold a password: a user part, or a password parameter. */
		if (why != NULL && *why != NULL &&
		    (strchr(target, '@') != NULL || strcasestr(target, "password") != NULL))
			redact_quoted(*why);
		return NULL;
	}
	if (strncmp(target, "postgresql://", 13) != 0 && strncmp(target, "postgres://", 11) != 0) {
		out = conninfo_shown(target, opts);
	} else if (opt_val(opts, "password") == NULL) {
		out = strdup(target);
	} else {
		/* The URI as given, but with ***: unless libpq would read it another way, which
		 * the check catches, and the conninfo form serves. */
		out = uri_masked(target);
		if (out != NULL && (check = PQconninfoParse(out, NULL)) != NULL &&
		    (pw = opt_val(check, "password")) != NULL && strcmp(pw, "***") != 0) {
			free(out);
			out = NULL;
		}
		if (out == NULL || check == NULL)
			free(out), out = conninfo_masked(opts, strlen(target) * 2 + 64);
		PQconninfoFree(check);
	}
	PQconninfoFree(opts);
	return out;
}
