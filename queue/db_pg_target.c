/*
 * What a PostgreSQL target looks like in messages, `status` and logs (db_pg_display): the
 * target as given, its password (and sslpassword) replaced by "***" by core/conninfo.c as the
 * CLI shows it in its own messages. libpq parses the target, and the masked text again, so
 * that what is masked is what libpq would have read as a password.
 */
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

/* The secrets of a target: its password, and the passphrase of its client's SSL key. */
static const char *const secret_keys[] = {"password", "sslpassword"};

static int
is_secret(const char *key)
{
	return strcmp(key, secret_keys[0]) == 0 || strcmp(key, secret_keys[1]) == 0;
}

/* A conninfo of the parameters in opts, the secrets as ***: host, port, user, password and
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
				          is_secret(o->keyword) ? CONNINFO_MASK : o->val);
	for (const PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		int shown = 0;

		for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
			shown |= strcmp(o->keyword, first[i]) == 0;
		if (o->val != NULL && !shown)
			append_kv(out, cap, o->keyword,
			          is_secret(o->keyword) ? CONNINFO_MASK : o->val);
	}
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

/* Every secret that libpq reads in check (the masked text) is ***, and check has no secret
 * that opts (the target) lacks or lacks one it has. */
static int
secrets_masked(const PQconninfoOption *check, const PQconninfoOption *opts)
{
	for (size_t i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++) {
		const char *v = opt_val(check, secret_keys[i]);

		if (v == NULL ? opt_val(opts, secret_keys[i]) != NULL
		              : strcmp(v, CONNINFO_MASK) != 0)
			return 0;
	}
	return 1;
}

char *
db_pg_display(const char *target, char **why)
{
	PQconninfoOption *opts, *check = NULL;
	size_t cap = strlen(target) * 2 + 64;
	char *out;

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
	/* The target as given with its secrets masked as core/conninfo.c masks them (what the
	 * CLI and the supervisor show), also in a dbname that libpq expands; unless libpq would
	 * read that text another way (the check): then the parameters as libpq read them. */
	if ((out = malloc(cap)) != NULL &&
	    (conninfo_mask(target, out, cap) < 0 || (check = PQconninfoParse(out, NULL)) == NULL ||
	     !secrets_masked(check, opts))) {
		free(out);
		out = conninfo_masked(opts, cap);
	}
	PQconninfoFree(check);
	PQconninfoFree(opts);
	return out;
}
