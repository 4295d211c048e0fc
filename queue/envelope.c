/*
 * The JSONL envelope (envelope.h). Most lines of a bulk are plain payloads, so the line is only
 * parsed (with cJSON) when it could be an envelope: an object whose text holds "payload", or a
 * \u escape that could spell it. The payload itself is not taken from cJSON, which would turn
 * its numbers into doubles and rewrite its text: its span is found in the line and kept as
 * written.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <cjson/cJSON.h>

#include "duration.h"
#include "envelope.h"
#include "names.h"
#include "text.h"

#define PRIORITY_LIMIT 9007199254740992.0 /* 2^53: exact in a JSON reader's double */
#define ATTEMPTS_MAX 1000000

static const char *const keys[] = {
        "payload", "unique_key", "namespace",    "priority", "run_at", "delay",
        "batch",   "resources",  "max_attempts", "timeout",  "after",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int fail(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Could line be an envelope? An object whose text names "payload" (or has a \u escape, which
 * could spell the key). Cheap: no parse for a plain payload. */
static int
candidate(const char *line)
{
	line += strspn(line, " \t\r\n");
	return *line == '{' && (strstr(line, "\"payload\"") != NULL || strstr(line, "\\u") != NULL);
}

static const char *
skip_ws(const char *p)
{
	return p + strspn(p, " \t\r\n");
}

/* At a string's opening quote: the byte after its closing quote, or NULL. */
static const char *
skip_string(const char *p)
{
	for (p++; *p != '\0'; p++) {
		if (*p == '\\') {
			if (*++p == '\0')
				return NULL;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

/* At a value of text that parsed as JSON: the byte after it, or NULL. */
static const char *
skip_value(const char *p)
{
	size_t depth = 0;

	if (*p == '"')
		return skip_string(p);
	if (*p != '{' && *p != '[')
		return p + strcspn(p, ",}] \t\r\n");
	while (*p != '\0') {
		if (*p == '"') {
			if ((p = skip_string(p)) == NULL)
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

/* The text of the value of the index-th member of the object in line: [*start, *end). */
static int
member_span(const char *line, size_t index, const char **start, const char **end)
{
	const char *p = skip_ws(line);

	if (*p++ != '{')
		return -EINVAL;
	for (size_t i = 0;; i++) {
		p = skip_ws(p);
		if (*p != '"' || (p = skip_string(p)) == NULL)
			return -EINVAL;
		p = skip_ws(p);
		if (*p++ != ':')
			return -EINVAL;
		p = skip_ws(p);
		*start = p;
		if ((p = skip_value(p)) == NULL)
			return -EINVAL;
		if (i == index) {
			*end = p;
			return 0;
		}
		p = skip_ws(p);
		if (*p++ != ',')
			return -EINVAL;
	}
}

static int
get_string(const cJSON *v, const char *key, int nullable, const char **out, char *err,
           size_t errlen)
{
	if (nullable && cJSON_IsNull(v)) {
		*out = NULL;
		return 0;
	}
	if (!cJSON_IsString(v))
		return fail(err, errlen, "%s: must be a string%s", key, nullable ? " or null" : "");
	*out = v->valuestring;
	return 0;
}

static int
get_int(const cJSON *v, const char *key, double min, double max, int64_t *out, char *err,
        size_t errlen)
{
	double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;

	if (!isfinite(d) || floor(d) != d)
		return fail(err, errlen, "%s: must be an integer", key);
	if (d < min || d > max)
		return fail(err, errlen, "%s: must be an integer from %.0f to %.0f", key, min, max);
	*out = (int64_t)d;
	return 0;
}

static int
get_duration(const cJSON *v, const char *key, int64_t *out, char *err, size_t errlen)
{
	char buf[NAME_SHOWN_SIZE];
	int r;

	if (!cJSON_IsString(v))
		return fail(err, errlen, "%s: must be a duration string (500ms, 10s, 5m, 2h, 1d)",
		            key);
	if ((r = duration_parse(v->valuestring, out)) == -ERANGE)
		return fail(err, errlen,
		            "%s: invalid duration '%s': at most " DURATION_MAX_TEXT " (10 years)",
		            key, name_shown(v->valuestring, buf, sizeof(buf)));
	if (r < 0)
		return fail(err, errlen,
		            "%s: invalid duration '%s' (examples: 500ms, 10s, 5m, 2h, 1d)", key,
		            name_shown(v->valuestring, buf, sizeof(buf)));
	return 0;
}

static int
get_time(const cJSON *v, int64_t *out, char *err, size_t errlen)
{
	char buf[NAME_SHOWN_SIZE];
	int r;

	if (!cJSON_IsString(v))
		return fail(err, errlen,
		            "run_at: must be a time string (RFC 3339, or @UNIXSECONDS)");
	if ((r = time_parse_when(v->valuestring, out)) == -ERANGE)
		return fail(err, errlen,
		            "run_at: invalid time '%s': must be from "
		            "1970-01-01T00:00:00Z to " TIME_MAX_TEXT,
		            name_shown(v->valuestring, buf, sizeof(buf)));
	if (r < 0)
		return fail(err, errlen,
		            "run_at: invalid time '%s' (RFC 3339 with an offset, or "
		            "@UNIXSECONDS)",
		            name_shown(v->valuestring, buf, sizeof(buf)));
	return 0;
}

static int
get_tags(const cJSON *v, struct envelope *env, size_t *n, char *err, size_t errlen)
{
	char buf[NAME_SHOWN_SIZE];
	const cJSON *it;

	*n = 0;
	if (!cJSON_IsArray(v))
		return fail(err, errlen, "resources: must be an array of resource tags");
	cJSON_ArrayForEach(it, v)
	{
		if (*n == JOB_TAGS_MAX)
			return fail(err, errlen, "resources: at most %d tags", JOB_TAGS_MAX);
		if (!cJSON_IsString(it) ||
		    tag_parse(it->valuestring, env->tags[*n].name, &env->tags[*n].units) < 0)
			return fail(err, errlen,
			            "resources[%zu]: invalid resource tag '%s' (NAME or "
			            "NAME:N)",
			            *n,
			            cJSON_IsString(it)
			                    ? name_shown(it->valuestring, buf, sizeof(buf))
			                    : "(not a string)");
		(*n)++;
	}
	return 0;
}

/* Which of keys[] key is, or -1. */
static int
key_index(const char *key)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i], key) == 0)
			return (int)i;
	}
	return -1;
}

/* Check the members' names: only keys[], each once. *payload_at gets the payload's index. */
static int
check_keys(const cJSON *root, size_t *payload_at, char *err, size_t errlen)
{
	char known[256] = "", buf[NAME_SHOWN_SIZE];
	const cJSON *it;
	unsigned seen = 0;
	size_t i = 0;
	int k;

	cJSON_ArrayForEach(it, root)
	{
		if ((k = key_index(it->string)) < 0) {
			for (size_t j = 0; j < NKEYS; j++) {
				strlcat(known, j > 0 ? ", " : "", sizeof(known));
				strlcat(known, keys[j], sizeof(known));
			}
			return fail(err, errlen,
			            "unknown envelope key '%s' (known: %s; --no-envelope "
			            "takes every line as a payload)",
			            name_shown(it->string, buf, sizeof(buf)), known);
		}
		if (seen & (1u << k))
			return fail(err, errlen, "duplicate envelope key '%s'", keys[k]);
		seen |= 1u << k;
		if (k == 0)
			*payload_at = i;
		i++;
	}
	return 0;
}

/* Apply the members to spec (all checked before spec is changed). */
static int
apply(const cJSON *root, int64_t now, struct job_spec *spec, struct envelope *env, char *err,
      size_t errlen)
{
	struct job_spec s = *spec;
	const cJSON *v;
	int64_t ms = 0;
	size_t ntags = 0;
	int has_run_at = 0, has_delay = 0, r;

#define MEMBER(name) ((v = cJSON_GetObjectItemCaseSensitive(root, name)) != NULL)
	if (MEMBER("unique_key") &&
	    (r = get_string(v, "unique_key", 1, &s.unique_key, err, errlen)) < 0)
		return r;
	if (MEMBER("namespace") &&
	    (r = get_string(v, "namespace", 0, &s.namespace, err, errlen)) < 0)
		return r;
	if (MEMBER("batch") && (r = get_string(v, "batch", 1, &s.batch, err, errlen)) < 0)
		return r;
	if (MEMBER("priority") && (r = get_int(v, "priority", -PRIORITY_LIMIT, PRIORITY_LIMIT,
	                                       &s.priority, err, errlen)) < 0)
		return r;
	if (MEMBER("max_attempts") &&
	    (r = get_int(v, "max_attempts", 1, ATTEMPTS_MAX, &s.max_attempts, err, errlen)) < 0)
		return r;
	if (MEMBER("timeout")) {
		if ((r = get_duration(v, "timeout", &s.timeout_ms, err, errlen)) < 0)
			return r;
		if (s.timeout_ms <= 0)
			return fail(err, errlen, "timeout: must be more than 0");
	}
	if (MEMBER("run_at")) {
		if ((r = get_time(v, &s.run_at, err, errlen)) < 0)
			return r;
		has_run_at = 1;
	}
	if (MEMBER("delay")) {
		if ((r = get_duration(v, "delay", &ms, err, errlen)) < 0)
			return r;
		s.run_at = time_add(now, ms);
		has_delay = 1;
	}
	if (has_run_at && has_delay)
		return fail(err, errlen, "run_at and delay exclude each other");
	if (MEMBER("resources")) {
		if ((r = get_tags(v, env, &ntags, err, errlen)) < 0)
			return r;
		s.resources = env->tags;
		s.nresources = ntags;
	}
	if (MEMBER("after")) {
		const cJSON *it;
		int n = cJSON_GetArraySize(v), i = 0;

		if (!cJSON_IsArray(v) || n < 1 || n > STORE_AFTER_MAX)
			return fail(err, errlen, "after: must be an array of 1 to %d job ids",
			            STORE_AFTER_MAX);
		if ((env->after = calloc((size_t)n, sizeof(*env->after))) == NULL)
			return -ENOMEM;
		cJSON_ArrayForEach(it, v)
		{
			if ((r = get_int(it, "after", 1, PRIORITY_LIMIT, &env->after[i++], err,
			                 errlen)) < 0)
				return r;
		}
		s.after = env->after;
		s.nafter = (size_t)n;
	}
#undef MEMBER
	*spec = s;
	return 0;
}

int
envelope_parse(char *line, int64_t now, struct job_spec *spec, struct envelope *env, char *err,
               size_t errlen)
{
	const char *start = NULL, *end = NULL;
	char path[128];
	size_t payload_at = 0;
	long nul;
	cJSON *root;
	int r;

	env->root = NULL;
	env->after = NULL;
	if (!candidate(line))
		return 0;
	/* Not JSON (cJSON refuses it): a payload, which the store refuses with its byte. */
	if ((root = cJSON_ParseWithOpts(line, NULL, 1)) == NULL)
		return 0;
	if (!cJSON_IsObject(root) || cJSON_GetObjectItemCaseSensitive(root, "payload") == NULL) {
		cJSON_Delete(root);
		return 0;
	}
	if ((r = check_keys(root, &payload_at, err, errlen)) < 0)
		goto bad;
	if (member_span(line, payload_at, &start, &end) < 0) {
		r = fail(err, errlen, "invalid JSON");
		goto bad;
	}
	/* cJSON would have cut a string at a \u0000; one in the payload is the store's to name. */
	if ((nul = text_json_nul(line, strlen(line), NULL, path, sizeof(path))) >= 0 &&
	    (line + nul < start || line + nul >= end)) {
		r = fail(err, errlen,
		         "%s: contains \\u0000 (a NUL character, at byte %ld), which "
		         "jobq cannot take",
		         path, nul);
		goto bad;
	}
	if ((r = apply(root, now, spec, env, err, errlen)) < 0)
		goto bad;
	line[end - line] = '\0';
	spec->payload = start;
	env->root = root;
	return 1;
bad:
	cJSON_Delete(root);
	free(env->after);
	env->after = NULL;
	return r;
}

void
envelope_release(struct envelope *env)
{
	if (env == NULL)
		return;
	cJSON_Delete(env->root);
	env->root = NULL;
	free(env->after);
	env->after = NULL;
}
