/*
 * SQL text for PostgreSQL: SQLite's parameters (?N, ?) turned into $N, and the parameters of a
 * PostgreSQL text counted, both outside string literals, quoted identifiers, comments and
 * dollar-quoted strings.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pg_internal.h"

static int
ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/* Copy the quoted text, comment or dollar-quoted string at *p to out (when not NULL) and
 * advance past it. Returns 1 if there was one, 0 otherwise. */
static int
skip_literal(const char **p, char **out)
{
	const char *s = *p, *e;
	char close;

	if (*s == '\'' || *s == '"') {
		close = *s;
		for (e = s + 1; *e != '\0'; e++) {
			if (*e == close && e[1] == close)
				e++; /* doubled: a quote inside */
			else if (*e == close)
				break;
		}
		e += *e != '\0';
	} else if (s[0] == '-' && s[1] == '-') {
		e = s + strcspn(s, "\n");
	} else if (s[0] == '/' && s[1] == '*') {
		e = strstr(s + 2, "*/");
		e = e != NULL ? e + 2 : s + strlen(s);
	} else if (s[0] == '$' && (s[1] == '$' || isalpha((unsigned char)s[1]) || s[1] == '_')) {
		/* $tag$ ... $tag$ (PostgreSQL text only) */
		const char *tag_end = s + 1 +
		                      strspn(s + 1, "abcdefghijklmnopqrstuvwxyz"
		                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		size_t tag;

		if (*tag_end != '$')
			return 0;
		tag = (size_t)(tag_end + 1 - s);
		for (e = tag_end + 1; *e != '\0' && strncmp(e, s, tag) != 0; e++)
			;
		e += *e != '\0' ? tag : 0;
	} else {
		return 0;
	}
	if (out != NULL) {
		memcpy(*out, s, (size_t)(e - s));
		*out += e - s;
	}
	*p = e;
	return 1;
}

/* Scan sql: translate (SQLite's ?N and ? into $N, into out) or only count PostgreSQL's $N.
 * Returns the largest parameter number. */
static int
scan_params(const char *sql, char *out, int translate)
{
	const char *p = sql;
	int max = 0;

	while (*p != '\0') {
		int n;

		if ((p == sql || !ident_char(p[-1])) && skip_literal(&p, out != NULL ? &out : NULL))
			continue;
		if (translate && *p == '?') {
			p++;
			if (isdigit((unsigned char)*p)) {
				n = (int)strtol(p, (char **)&p, 10);
			} else {
				n = max + 1;
			}
			if (n > max)
				max = n;
			if (out != NULL)
				out += sprintf(out, "$%d", n);
			continue;
		}
		if (!translate && *p == '$' && isdigit((unsigned char)p[1]) &&
		    (p == sql || !ident_char(p[-1]))) {
			n = (int)strtol(p + 1, NULL, 10);
			if (n > max)
				max = n;
		}
		if (out != NULL)
			*out++ = *p;
		p++;
	}
	if (out != NULL)
		*out = '\0';
	return max;
}

int
db_pg_translate(const char *sql, char **out, int *nparams)
{
	/* "?" becomes at most "$65535": the text grows at most sixfold. */
	if ((*out = malloc(strlen(sql) * 6 + 1)) == NULL)
		return -ENOMEM;
	*nparams = scan_params(sql, *out, 1);
	return 0;
}

int
db_pg_count_params(const char *sql)
{
	return scan_params(sql, NULL, 0);
}
