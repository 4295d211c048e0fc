/*
 * The configuration file: JSON read with cJSON, validated completely, copied into struct config.
 * Every error is one line naming the field path ("types.x.timeout: invalid duration 'soon' ...");
 * unknown keys are errors. The cJSON tree never outlives config_parse().
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <cjson/cJSON.h>

#include "config.h"
#include "dblocal.h"
#include "joblog.h"
#include "duration.h"
#include "fileio.h"
#include "hostid.h"
#include "names.h"
#include "netaddr.h"
#include "schedule.h"
#include "text.h"
#include "trust.h"

#define LIMIT_MAX 1000000 /* largest concurrency limit, pool capacity, attempt count, rate */
#define TOKENS_MAX 1000000000000LL /* largest token budget per window */
#define TOKENS_PATH_MAX 256
#define BYTES_MAX (1024L * 1024 * 1024) /* payload_max, output_max, stderr_max */
#define PRIORITY_MAX 9007199254740992.0 /* 2^53: every integer up to it is exact in a double */
#define HEADER_NAME_MAX 128
#define PATH_BUF 512

/* Where errors go while parsing. */
struct ctx {
	char *err;
	size_t errlen;
};

/* Write "path: message" into ctx->err; returns -EINVAL so callers can `return fail(...)`. */
static int fail(struct ctx *c, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
fail(struct ctx *c, const char *path, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err != NULL && c->errlen > 0) {
		if (path != NULL && *path != '\0')
			snprintf(c->err, c->errlen, "%s: %s", path, msg);
		else
			snprintf(c->err, c->errlen, "%s", msg);
	}
	return -EINVAL;
}

/*
 * A user string made safe to quote in a one-line message: control bytes become '?', and it is
 * cut at 64 bytes with "...". out must hold 72 bytes.
 */
static const char *
shown(const char *s, char *out, size_t len)
{
	size_t i, o = 0;

	for (i = 0; s[i] != '\0' && o + 4 < len && i < 64; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[o++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	if (s[i] != '\0' && o + 4 <= len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

#define SHOWN(s) shown((s), (char[72]){0}, 72)

/* Child paths: "parent.key" ("key" at the top level) and "parent[i]"; cut if too long. */
static void
path_key(char *out, size_t len, const char *parent, const char *key)
{
	out[0] = '\0';
	if (parent != NULL && *parent != '\0') {
		strlcpy(out, parent, len);
		strlcat(out, ".", len);
	}
	strlcat(out, key, len);
}

static void
path_index(char *out, size_t len, const char *parent, int i)
{
	char idx[16];

	snprintf(idx, sizeof(idx), "[%d]", i);
	strlcpy(out, parent, len);
	strlcat(out, idx, len);
}

static int
in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++) {
		if (strcmp(s, *list) == 0)
			return 1;
	}
	return 0;
}

/* obj is an object whose keys are all in allowed (NULL: any key) and none repeats. */
static int
check_object(struct ctx *c, const cJSON *obj, const char *path, const char *const *allowed)
{
	const cJSON *it, *prev;

	if (!cJSON_IsObject(obj))
		return fail(c, path, "must be an object");
	cJSON_ArrayForEach(it, obj)
	{
		if (allowed != NULL && !in_list(it->string, allowed)) {
			if (*path == '\0')
				return fail(c, NULL, "unknown top-level key '%s'",
				            SHOWN(it->string));
			return fail(c, path, "unknown key '%s'", SHOWN(it->string));
		}
		for (prev = obj->child; prev != it; prev = prev->next) {
			if (strcmp(prev->string, it->string) == 0)
				return fail(c, *path != '\0' ? path : "top level",
				            "duplicate key '%s'", SHOWN(it->string));
		}
	}
	return 0;
}

/* An integral JSON number in [min, max]. */
static int
get_int(struct ctx *c, const cJSON *v, const char *path, double min, double max, const char *what,
        int64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return fail(c, path, "must be %s", what);
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < min || d > max)
		return fail(c, path, "must be %s", what);
	*out = (int64_t)d;
	return 0;
}

static int
get_positive(struct ctx *c, const cJSON *v, const char *path, int *out)
{
	int64_t n = 0; /* gcc -O3 cannot see get_int() sets it on 0 */
	int r = get_int(c, v, path, 1, LIMIT_MAX, "a positive integer", &n);

	if (r == 0)
		*out = (int)n;
	return r;
}

static int
get_duration(struct ctx *c, const cJSON *v, const char *path, int64_t *out)
{
	if (!cJSON_IsString(v))
		return fail(c, path, "must be a duration string such as \"30s\" or \"1h30m\"");
	if (duration_parse(v->valuestring, out) == -ERANGE)
		return fail(c, path,
		            "duration '%s' is too long (at most " DURATION_MAX_TEXT ", 10 years)",
		            SHOWN(v->valuestring));
	if (duration_parse(v->valuestring, out) < 0)
		return fail(c, path,
		            "invalid duration '%s' (expected e.g. 500ms, 10s, 5m, 2h, 1d, 1h30m)",
		            SHOWN(v->valuestring));
	return 0;
}

/* A byte count: a positive integer, or a string "N", "NK"/"NKiB", "NM"/"NMiB", "NG"/"NGiB". */
static int
get_bytes(struct ctx *c, const cJSON *v, const char *path, size_t *out)
{
	static const char what[] = "a positive number of bytes (e.g. 65536 or \"64KiB\")";
	int64_t n = 0;

	if (cJSON_IsNumber(v)) {
		int r = get_int(c, v, path, 1, (double)BYTES_MAX, what, &n);

		if (r < 0)
			return r;
	} else if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		int64_t mult = 1;

		if (*s < '0' || *s > '9')
			return fail(c, path, "must be %s", what);
		for (; *s >= '0' && *s <= '9'; s++) {
			n = n * 10 + (*s - '0');
			if (n > BYTES_MAX)
				return fail(c, path, "must be at most %ld bytes", BYTES_MAX);
		}
		if (strcmp(s, "K") == 0 || strcmp(s, "KiB") == 0)
			mult = 1024;
		else if (strcmp(s, "M") == 0 || strcmp(s, "MiB") == 0)
			mult = 1024 * 1024;
		else if (strcmp(s, "G") == 0 || strcmp(s, "GiB") == 0)
			mult = 1024 * 1024 * 1024;
		else if (*s != '\0' && strcmp(s, "B") != 0)
			return fail(c, path, "must be %s", what);
		if (n == 0)
			return fail(c, path, "must be %s", what);
		if (n > BYTES_MAX / mult)
			return fail(c, path, "must be at most %ld bytes", BYTES_MAX);
		n *= mult;
	} else {
		return fail(c, path, "must be %s", what);
	}
	*out = (size_t)n;
	return 0;
}

static int
get_string(struct ctx *c, const cJSON *v, const char *path, const char **out)
{
	if (!cJSON_IsString(v))
		return fail(c, path, "must be a string");
	*out = v->valuestring;
	return 0;
}

/* strdup into *out, -ENOMEM on failure. */
static int
dup_into(char **out, const char *s)
{
	if ((*out = strdup(s)) == NULL)
		return -ENOMEM;
	return 0;
}

static int
env_name_valid(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (s++; *s != '\0'; s++) {
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	}
	return 1;
}

/* RFC 9110 token characters, as used by header names and methods. */
static int
token_valid(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		unsigned char ch = (unsigned char)*s;

		if (n >= max)
			return 0;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch) != NULL))
			return 0;
	}
	return n > 0;
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	}
	return 0;
}

/* concurrency.types or concurrency.resources: NAME -> positive integer. */
static int
parse_limits(struct ctx *c, const cJSON *obj, const char *path, int is_type, struct limit **out,
             size_t *nout)
{
	char p[PATH_BUF];
	const cJSON *it;
	int n = cJSON_GetArraySize(obj), r;

	if ((r = check_object(c, obj, path, NULL)) < 0)
		return r;
	if (n == 0)
		return 0;
	if ((*out = calloc((size_t)n, sizeof(**out))) == NULL)
		return -ENOMEM;
	cJSON_ArrayForEach(it, obj)
	{
		struct limit *l = &(*out)[*nout];

		if (is_type && !name_type_valid(it->string))
			return fail(c, path,
			            "invalid type name '%s' (expected [a-z0-9][a-z0-9_-]{0,63})",
			            SHOWN(it->string));
		if (!is_type && !name_tag_valid(it->string))
			return fail(
			        c, path,
			        "invalid resource name '%s' (expected [a-z0-9][a-z0-9_.-]{0,63})",
			        SHOWN(it->string));
		path_key(p, sizeof(p), path, it->string);
		if ((r = get_positive(c, it, p, &l->value)) < 0)
			return r;
		if ((r = dup_into(&l->name, it->string)) < 0)
			return r;
		(*nout)++;
	}
	return 0;
}

/*
 * "rates" or "tokens": POOL -> "N/WINDOW" for pools of concurrency.resources, into *out
 * (npools entries, limit 0 for a pool without one).
 */
static int
parse_rates(struct ctx *c, const cJSON *obj, const char *path, int64_t max,
            const struct config *cfg, struct rate **out)
{
	char p[PATH_BUF], known[PATH_BUF];
	const cJSON *it;
	int r;

	if ((r = check_object(c, obj, path, NULL)) < 0)
		return r;
	if (cJSON_GetArraySize(obj) == 0)
		return 0;
	if ((*out = calloc(cfg->npools > 0 ? cfg->npools : 1, sizeof(**out))) == NULL)
		return -ENOMEM;
	cJSON_ArrayForEach(it, obj)
	{
		int i = config_pool_index(cfg, it->string);

		path_key(p, sizeof(p), path, it->string);
		if (i < 0) {
			config_pool_known(cfg, it->string, known, sizeof(known));
			return fail(c, p,
			            "%s: a rate or token budget applies to a pool declared in "
			            "concurrency.resources",
			            known);
		}
		if (!cJSON_IsString(it))
			return fail(c, p, "must be a string such as \"500/min\" or \"5/2s\"");
		r = rate_parse(it->valuestring, max, &(*out)[i]);
		if (r == -ERANGE)
			return fail(c, p,
			            "'%s' is out of range (at most %lld per window, a window "
			            "of at most 1d)",
			            SHOWN(it->valuestring), (long long)max);
		if (r < 0)
			return fail(c, p,
			            "invalid rate '%s' (expected N/s, N/min, N/h or "
			            "N/DURATION, such as \"500/min\" or \"5/2s\")",
			            SHOWN(it->valuestring));
	}
	return 0;
}

static int
parse_concurrency(struct ctx *c, const cJSON *obj, struct config *cfg)
{
	static const char *const keys[] = {"global", "types", "resources", NULL};
	const cJSON *v;
	int r;

	if ((r = check_object(c, obj, "concurrency", keys)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "global")) != NULL &&
	    (r = get_positive(c, v, "concurrency.global", &cfg->global)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "types")) != NULL &&
	    (r = parse_limits(c, v, "concurrency.types", 1, &cfg->type_limits,
	                      &cfg->ntype_limits)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "resources")) != NULL &&
	    (r = parse_limits(c, v, "concurrency.resources", 0, &cfg->pools, &cfg->npools)) < 0)
		return r;
	return 0;
}

/* A non-empty array of strings into a NULL-terminated malloc'd vector. */
static int
parse_string_array(struct ctx *c, const cJSON *arr, const char *path, int allow_empty, char ***out,
                   size_t *nout)
{
	char p[PATH_BUF];
	const cJSON *it;
	int n, i = 0, r;

	if (!cJSON_IsArray(arr) || (!allow_empty && cJSON_GetArraySize(arr) == 0))
		return fail(c, path,
		            allow_empty ? "must be an array of strings"
		                        : "must be a non-empty array of strings");
	n = cJSON_GetArraySize(arr);
	if ((*out = calloc((size_t)n + 1, sizeof(char *))) == NULL)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr)
	{
		path_index(p, sizeof(p), path, i);
		if (!cJSON_IsString(it))
			return fail(c, p, "must be a string");
		if ((r = dup_into(&(*out)[i], it->valuestring)) < 0)
			return r;
		(*nout)++;
		i++;
	}
	return 0;
}

static int
parse_exec(struct ctx *c, const cJSON *v, const char *path, struct type_config *t)
{
	int r;

	if ((r = parse_string_array(c, v, path, 0, &t->exec_argv, &t->exec_argc)) < 0)
		return r;
	if (t->exec_argv[0][0] == '\0') {
		char p[PATH_BUF];

		path_index(p, sizeof(p), path, 0);
		return fail(c, p, "the command must not be empty");
	}
	return 0;
}

/*
 * Every ${NAME} in value must be well formed. Whether the variables are set is not looked at
 * here: only the process that makes the request needs them (config_check_env()), never a
 * producer or an operator.
 */
static int
check_env_refs(struct ctx *c, const char *value, const char *path)
{
	const char *s = value;

	while ((s = strstr(s, "${")) != NULL) {
		const char *end = strchr(s + 2, '}');
		char name[CONFIG_ENV_NAME_MAX + 1];
		size_t n;

		if (end == NULL)
			return fail(c, path, "unterminated '${' reference");
		n = (size_t)(end - (s + 2));
		if (n == 0 || n >= sizeof(name))
			return fail(c, path, "invalid '${...}' reference");
		memcpy(name, s + 2, n);
		name[n] = '\0';
		if (!env_name_valid(name))
			return fail(c, path, "invalid environment variable name '%s'", SHOWN(name));
		s = end + 1;
	}
	return 0;
}

static int
url_valid(const char *u)
{
	const char *host;

	if (strncasecmp(u, "http://", 7) == 0)
		host = u + 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		host = u + 8;
	else
		return 0;
	if (*host == '\0' || *host == '/')
		return 0;
	for (; *u != '\0'; u++) {
		if ((unsigned char)*u <= 0x20 || *u == 0x7f)
			return 0;
	}
	return 1;
}

static int
parse_http(struct ctx *c, const cJSON *obj, const char *path, struct http_spec *h)
{
	static const char *const keys[] = {
	        "url",       "method",      "headers", "body", "connect_timeout",
	        "ca_bundle", "tokens_path", NULL};
	char p[PATH_BUF], hp[PATH_BUF];
	const cJSON *v, *it;
	const char *s = NULL;
	int r;

	if ((r = check_object(c, obj, path, keys)) < 0)
		return r;
	path_key(p, sizeof(p), path, "url");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "url")) == NULL)
		return fail(c, path, "missing 'url'");
	if ((r = get_string(c, v, p, &s)) < 0)
		return r;
	if (!url_valid(s))
		return fail(c, p, "must be an http:// or https:// URL, got '%s'", SHOWN(s));
	if ((r = dup_into(&h->url, s)) < 0)
		return r;

	s = "POST";
	path_key(p, sizeof(p), path, "method");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "method")) != NULL) {
		if ((r = get_string(c, v, p, &s)) < 0)
			return r;
		if (!token_valid(s, 32))
			return fail(c, p, "invalid method '%s'", SHOWN(s));
	}
	if ((r = dup_into(&h->method, s)) < 0)
		return r;

	path_key(p, sizeof(p), path, "headers");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "headers")) != NULL) {
		int n = cJSON_GetArraySize(v);

		if ((r = check_object(c, v, p, NULL)) < 0)
			return r;
		if (n > 0 && (h->headers = calloc((size_t)n, sizeof(*h->headers))) == NULL)
			return -ENOMEM;
		cJSON_ArrayForEach(it, v)
		{
			struct http_header *hd = &h->headers[h->nheaders];

			if (!token_valid(it->string, HEADER_NAME_MAX))
				return fail(c, p, "invalid header name '%s'", SHOWN(it->string));
			path_key(hp, sizeof(hp), p, it->string);
			if ((r = get_string(c, it, hp, &s)) < 0)
				return r;
			if (has_control(s))
				return fail(c, hp, "must not contain control characters");
			if ((r = check_env_refs(c, s, hp)) < 0)
				return r;
			if ((r = dup_into(&hd->name, it->string)) < 0 ||
			    (r = dup_into(&hd->value, s)) < 0)
				return r;
			h->nheaders++;
		}
	}

	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "body")) != NULL) {
		/* Kept as its JSON text: the handler fills {payload.KEY} placeholders in it. */
		if ((h->body = cJSON_PrintUnformatted(v)) == NULL)
			return -ENOMEM;
	}

	path_key(p, sizeof(p), path, "connect_timeout");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "connect_timeout")) != NULL &&
	    (r = get_duration(c, v, p, &h->connect_timeout_ms)) < 0)
		return r;

	path_key(p, sizeof(p), path, "ca_bundle");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "ca_bundle")) != NULL) {
		if ((r = get_string(c, v, p, &s)) < 0)
			return r;
		if (*s == '\0')
			return fail(c, p, "must not be empty");
		if ((r = dup_into(&h->ca_bundle, s)) < 0)
			return r;
	}

	path_key(p, sizeof(p), path, "tokens_path");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "tokens_path")) != NULL) {
		if ((r = get_string(c, v, p, &s)) < 0)
			return r;
		if (*s == '\0' || *s == '.' || s[strlen(s) - 1] == '.' || strstr(s, "..") != NULL ||
		    strlen(s) > TOKENS_PATH_MAX || has_control(s))
			return fail(c, p,
			            "invalid path '%s' (expected keys joined by dots, such as "
			            "\"usage.total_tokens\")",
			            SHOWN(s));
		if ((r = dup_into(&h->tokens_path, s)) < 0)
			return r;
	}
	return 0;
}

static int
parse_type_resources(struct ctx *c, const cJSON *arr, const char *path, const struct config *cfg,
                     struct type_config *t)
{
	char p[PATH_BUF];
	const cJSON *it;
	int i = 0, r;

	if (!cJSON_IsArray(arr))
		return fail(c, path, "must be an array of resource tags");
	if (cJSON_GetArraySize(arr) == 0)
		return 0;
	if ((t->resources = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*t->resources))) == NULL)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr)
	{
		struct tag *tag = &t->resources[t->nresources];
		int cap;

		path_index(p, sizeof(p), path, i++);
		if (!cJSON_IsString(it))
			return fail(c, p, "must be a string");
		if ((r = tag_parse(it->valuestring, tag->name, &tag->units)) < 0)
			return fail(c, p, "invalid resource tag '%s' (expected NAME or NAME:N)",
			            SHOWN(it->valuestring));
		if ((cap = config_pool(cfg, tag->name)) < 0)
			return fail(c, p, "unknown resource '%s' (not in concurrency.resources)",
			            tag->name);
		if (tag->units > cap)
			return fail(c, p, "'%s' takes %d units but pool '%s' has a capacity of %d",
			            SHOWN(it->valuestring), tag->units, tag->name, cap);
		for (size_t j = 0; j < t->nresources; j++) {
			if (strcmp(t->resources[j].name, tag->name) == 0)
				return fail(c, p, "duplicate resource '%s'", tag->name);
		}
		t->nresources++;
	}
	return 0;
}

static int
parse_env(struct ctx *c, const cJSON *obj, const char *path, struct type_config *t)
{
	char p[PATH_BUF];
	const cJSON *it;
	int r;

	if ((r = check_object(c, obj, path, NULL)) < 0)
		return r;
	if ((t->env = calloc((size_t)cJSON_GetArraySize(obj) + 1, sizeof(char *))) == NULL)
		return -ENOMEM;
	cJSON_ArrayForEach(it, obj)
	{
		if (!env_name_valid(it->string))
			return fail(c, path,
			            "invalid variable name '%s' (expected [A-Za-z_][A-Za-z0-9_]*)",
			            SHOWN(it->string));
		path_key(p, sizeof(p), path, it->string);
		if (!cJSON_IsString(it))
			return fail(c, p, "must be a string");
		if (asprintf(&t->env[t->nenv], "%s=%s", it->string, it->valuestring) < 0) {
			t->env[t->nenv] = NULL;
			return -ENOMEM;
		}
		t->nenv++;
	}
	return 0;
}

static int
parse_env_remove(struct ctx *c, const cJSON *arr, const char *path, struct type_config *t)
{
	char p[PATH_BUF];
	int r;

	if ((r = parse_string_array(c, arr, path, 1, &t->env_remove, &t->nenv_remove)) < 0)
		return r;
	for (size_t i = 0; i < t->nenv_remove; i++) {
		if (!env_name_valid(t->env_remove[i])) {
			path_index(p, sizeof(p), path, (int)i);
			return fail(c, p,
			            "invalid variable name '%s' (expected [A-Za-z_][A-Za-z0-9_]*)",
			            SHOWN(t->env_remove[i]));
		}
	}
	return 0;
}

static int
parse_backoff(struct ctx *c, const cJSON *obj, const char *path, struct type_config *t)
{
	static const char *const keys[] = {"base", "max", NULL};
	char p[PATH_BUF];
	const cJSON *v;
	int r;

	if ((r = check_object(c, obj, path, keys)) < 0)
		return r;
	path_key(p, sizeof(p), path, "base");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "base")) != NULL &&
	    (r = get_duration(c, v, p, &t->backoff_base_ms)) < 0)
		return r;
	path_key(p, sizeof(p), path, "max");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "max")) != NULL &&
	    (r = get_duration(c, v, p, &t->backoff_max_ms)) < 0)
		return r;
	if (t->backoff_base_ms > t->backoff_max_ms)
		return fail(c, path, "base must not exceed max");
	return 0;
}

static int
parse_type(struct ctx *c, const cJSON *obj, const char *path, const struct config *cfg,
           struct type_config *t)
{
	static const char *const keys[] = {"exec",      "http",    "builtin",      "resources",
	                                   "singleton", "timeout", "max_attempts", "backoff",
	                                   "priority",  "env",     "env_remove",   NULL};
	char p[PATH_BUF];
	const cJSON *v;
	int r, nhandlers = 0;

	if ((r = check_object(c, obj, path, keys)) < 0)
		return r;
	nhandlers += cJSON_GetObjectItemCaseSensitive(obj, "exec") != NULL;
	nhandlers += cJSON_GetObjectItemCaseSensitive(obj, "http") != NULL;
	nhandlers += cJSON_GetObjectItemCaseSensitive(obj, "builtin") != NULL;
	if (nhandlers > 1)
		return fail(c, path, "exactly one of exec, http, builtin");

	path_key(p, sizeof(p), path, "exec");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "exec")) != NULL) {
		t->handler = HANDLER_EXEC;
		if ((r = parse_exec(c, v, p, t)) < 0)
			return r;
	}
	path_key(p, sizeof(p), path, "http");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "http")) != NULL) {
		t->handler = HANDLER_HTTP;
		if ((r = parse_http(c, v, p, &t->http)) < 0)
			return r;
	}
	path_key(p, sizeof(p), path, "builtin");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "builtin")) != NULL) {
		t->handler = HANDLER_BUILTIN;
		if (cJSON_IsString(v) && strcmp(v->valuestring, "noop") == 0)
			t->builtin = BUILTIN_NOOP;
		else if (cJSON_IsString(v) && strcmp(v->valuestring, "sleep") == 0)
			t->builtin = BUILTIN_SLEEP;
		else
			return fail(c, p, "must be \"noop\" or \"sleep\"");
	}

	path_key(p, sizeof(p), path, "resources");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "resources")) != NULL &&
	    (r = parse_type_resources(c, v, p, cfg, t)) < 0)
		return r;

	path_key(p, sizeof(p), path, "singleton");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "singleton")) != NULL) {
		if (!cJSON_IsString(v) || strcmp(v->valuestring, "namespace") != 0)
			return fail(c, p, "must be \"namespace\"");
		t->singleton_namespace = 1;
	}

	path_key(p, sizeof(p), path, "timeout");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "timeout")) != NULL &&
	    (r = get_duration(c, v, p, &t->timeout_ms)) < 0)
		return r;

	path_key(p, sizeof(p), path, "max_attempts");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "max_attempts")) != NULL &&
	    (r = get_positive(c, v, p, &t->max_attempts)) < 0)
		return r;

	path_key(p, sizeof(p), path, "backoff");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "backoff")) != NULL &&
	    (r = parse_backoff(c, v, p, t)) < 0)
		return r;

	path_key(p, sizeof(p), path, "priority");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "priority")) != NULL &&
	    (r = get_int(c, v, p, -PRIORITY_MAX, PRIORITY_MAX, "an integer", &t->priority)) < 0)
		return r;

	path_key(p, sizeof(p), path, "env");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "env")) != NULL &&
	    (r = parse_env(c, v, p, t)) < 0)
		return r;

	path_key(p, sizeof(p), path, "env_remove");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "env_remove")) != NULL &&
	    (r = parse_env_remove(c, v, p, t)) < 0)
		return r;
	return 0;
}

static void
type_defaults(struct type_config *t)
{
	t->max_attempts = CONFIG_DEFAULT_MAX_ATTEMPTS;
	t->backoff_base_ms = CONFIG_DEFAULT_BACKOFF_BASE_MS;
	t->backoff_max_ms = CONFIG_DEFAULT_BACKOFF_MAX_MS;
	t->http.connect_timeout_ms = CONFIG_DEFAULT_CONNECT_TIMEOUT_MS;
}

static int
parse_types(struct ctx *c, const cJSON *obj, struct config *cfg)
{
	char p[PATH_BUF];
	const cJSON *it;
	int n = cJSON_GetArraySize(obj), r;

	if ((r = check_object(c, obj, "types", NULL)) < 0)
		return r;
	if (n == 0)
		return 0;
	if ((cfg->types = calloc((size_t)n, sizeof(*cfg->types))) == NULL)
		return -ENOMEM;
	cJSON_ArrayForEach(it, obj)
	{
		struct type_config *t = &cfg->types[cfg->ntypes];

		if (!name_type_valid(it->string))
			return fail(c, "types",
			            "invalid type name '%s' (expected [a-z0-9][a-z0-9_-]{0,63})",
			            SHOWN(it->string));
		/* Counted before parsing so config_release() frees a half-filled entry. */
		cfg->ntypes++;
		type_defaults(t);
		if ((r = dup_into(&t->name, it->string)) < 0)
			return r;
		path_key(p, sizeof(p), "types", it->string);
		if ((r = parse_type(c, it, p, cfg, t)) < 0)
			return r;
	}
	return 0;
}

/* "logs": false (no output files), or {"max": BYTES, "keep": N}. */
static int
parse_logs(struct ctx *c, const cJSON *v, struct config *cfg)
{
	static const char *const keys[] = {"max", "keep", NULL};
	const cJSON *it;
	int64_t n = 0;
	int r;

	if (cJSON_IsFalse(v)) {
		cfg->log_max = 0;
		return 0;
	}
	if (!cJSON_IsObject(v))
		return fail(c, "logs", "must be an object {\"max\": BYTES, \"keep\": N} or false");
	if ((r = check_object(c, v, "logs", keys)) < 0)
		return r;
	if ((it = cJSON_GetObjectItemCaseSensitive(v, "max")) != NULL &&
	    (r = get_bytes(c, it, "logs.max", &cfg->log_max)) < 0)
		return r;
	if ((it = cJSON_GetObjectItemCaseSensitive(v, "keep")) != NULL) {
		if ((r = get_int(c, it, "logs.keep", 0, JOBLOG_KEEP_MAX, "an integer from 0 to 9",
		                 &n)) < 0)
			return r;
		cfg->log_keep = (int)n;
	}
	return 0;
}

/* "metrics": {"listen": "127.0.0.1:9187", "allow_remote": false}: the supervisor's Prometheus
 * endpoint. Only a loopback address unless allow_remote is true: the metrics name types, pools
 * and batch sizes, and the endpoint has no authentication. */
static int
parse_metrics(struct ctx *c, const cJSON *obj, struct config *cfg)
{
	static const char *const keys[] = {"listen", "allow_remote", NULL};
	const cJSON *v;
	const char *s = NULL;
	char why[160];
	struct netaddr a;
	int r;

	if (!cJSON_IsObject(obj))
		return fail(c, "metrics",
		            "must be an object (e.g. {\"listen\": \"127.0.0.1:9187\"})");
	if ((r = check_object(c, obj, "metrics", keys)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "allow_remote")) != NULL) {
		if (!cJSON_IsBool(v))
			return fail(c, "metrics.allow_remote", "must be true or false");
		cfg->metrics_allow_remote = cJSON_IsTrue(v);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "listen")) == NULL)
		return 0;
	if ((r = get_string(c, v, "metrics.listen", &s)) < 0)
		return r;
	if (netaddr_parse(s, &a, why, sizeof(why)) < 0)
		return fail(c, "metrics.listen", "%s", why);
	if (!cfg->metrics_allow_remote && !netaddr_is_loopback(&a))
		return fail(c, "metrics.listen",
		            "'%s' is not a loopback address (127.0.0.1, [::1]); "
		            "set \"allow_remote\": true to listen on it",
		            s);
	return dup_into(&cfg->metrics_listen, s);
}

static int
parse_root(struct ctx *c, const cJSON *root, struct config *cfg)
{
	static const char *const keys[] = {"concurrency", "types",      "workers",     "grace",
	                                   "lease",       "durability", "payload_max", "output_max",
	                                   "stderr_max",  "logs",       "rates",       "tokens",
	                                   "metrics",     "schedules",  "host",        NULL};
	const cJSON *v;
	int64_t n = 0;
	int r;

	if (!cJSON_IsObject(root))
		return fail(c, NULL, "the configuration must be a JSON object");
	if ((r = check_object(c, root, "", keys)) < 0)
		return r;
	/* Pools first: types refer to them. */
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "concurrency")) != NULL &&
	    (r = parse_concurrency(c, v, cfg)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "rates")) != NULL &&
	    (r = parse_rates(c, v, "rates", LIMIT_MAX, cfg, &cfg->pool_rates)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "tokens")) != NULL &&
	    (r = parse_rates(c, v, "tokens", TOKENS_MAX, cfg, &cfg->pool_tokens)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "types")) != NULL &&
	    (r = parse_types(c, v, cfg)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "workers")) != NULL) {
		if ((r = get_int(c, v, "workers", 1, CONFIG_WORKERS_MAX,
		                 "a positive integer (at most " CONFIG_STR(CONFIG_WORKERS_MAX) ")",
		                 &n)) < 0)
			return r;
		cfg->workers = (int)n;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "grace")) != NULL &&
	    (r = get_duration(c, v, "grace", &cfg->grace_ms)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "lease")) != NULL) {
		if ((r = get_duration(c, v, "lease", &cfg->lease_ms)) < 0)
			return r;
		if (cfg->lease_ms < 1000)
			return fail(c, "lease", "must be at least 1s");
	}
	/* "normal" is the name "fast" had before "full" became the default. */
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "durability")) != NULL) {
		if (cJSON_IsString(v) && strcmp(v->valuestring, "full") == 0)
			cfg->synchronous_full = 1;
		else if (cJSON_IsString(v) && (strcmp(v->valuestring, "fast") == 0 ||
		                               strcmp(v->valuestring, "normal") == 0))
			cfg->synchronous_full = 0;
		else
			return fail(c, "durability", "must be \"full\" or \"fast\"");
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "payload_max")) != NULL &&
	    (r = get_bytes(c, v, "payload_max", &cfg->payload_max)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "output_max")) != NULL &&
	    (r = get_bytes(c, v, "output_max", &cfg->output_max)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "stderr_max")) != NULL &&
	    (r = get_bytes(c, v, "stderr_max", &cfg->stderr_max)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "logs")) != NULL &&
	    (r = parse_logs(c, v, cfg)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "metrics")) != NULL &&
	    (r = parse_metrics(c, v, cfg)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "host")) != NULL) {
		const char *h = NULL;
		if ((r = get_string(c, v, "host", &h)) < 0)
			return r;
		if (!hostid_valid(h))
			return fail(c, "host", "must be 1 to 64 characters of [A-Za-z0-9._-]");
		if ((r = dup_into(&cfg->host, h)) < 0)
			return r;
	}
	/* Last: a schedule names a type and is bounded by payload_max. */
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "schedules")) != NULL &&
	    (r = schedules_parse(v, cfg, &cfg->schedules, &cfg->nschedules, c->err, c->errlen)) < 0)
		return r;
	return 0;
}

void
config_init_default(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->global = 1;
	cfg->grace_ms = CONFIG_DEFAULT_GRACE_MS;
	cfg->lease_ms = CONFIG_DEFAULT_LEASE_MS;
	cfg->synchronous_full = 1;
	cfg->payload_max = CONFIG_DEFAULT_PAYLOAD_MAX;
	cfg->output_max = CONFIG_DEFAULT_OUTPUT_MAX;
	cfg->stderr_max = CONFIG_DEFAULT_STDERR_MAX;
	cfg->log_max = JOBLOG_DEFAULT_MAX;
	cfg->log_keep = JOBLOG_DEFAULT_KEEP;
}

static void
free_vector(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
type_release(struct type_config *t)
{
	free(t->name);
	free_vector(t->exec_argv, t->exec_argc);
	free(t->http.url);
	free(t->http.method);
	for (size_t i = 0; i < t->http.nheaders; i++) {
		free(t->http.headers[i].name);
		free(t->http.headers[i].value);
	}
	free(t->http.headers);
	cJSON_free(t->http.body);
	free(t->http.ca_bundle);
	free(t->http.tokens_path);
	free(t->resources);
	free_vector(t->env, t->nenv);
	free_vector(t->env_remove, t->nenv_remove);
}

void
config_release(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	for (size_t i = 0; i < cfg->ntype_limits; i++)
		free(cfg->type_limits[i].name);
	free(cfg->type_limits);
	for (size_t i = 0; i < cfg->npools; i++)
		free(cfg->pools[i].name);
	free(cfg->pools);
	free(cfg->pool_rates);
	free(cfg->pool_tokens);
	for (size_t i = 0; i < cfg->ntypes; i++)
		type_release(&cfg->types[i]);
	free(cfg->types);
	free(cfg->metrics_listen);
	free(cfg->host);
	schedules_release(cfg->schedules, cfg->nschedules);
	config_init_default(cfg);
}

/* 1-based line of the byte at end within text. */
static int
line_of(const char *text, const char *end)
{
	int line = 1;

	for (const char *s = text; s < end && *s != '\0'; s++) {
		if (*s == '\n')
			line++;
	}
	return line;
}

int
config_parse(const char *text, const char *name, struct config *cfg, char *err, size_t errlen)
{
	struct ctx c = {err, errlen};
	const char *end = NULL;
	cJSON *root = NULL;
	char path[PATH_BUF];
	long nul;
	int r;

	config_init_default(cfg);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((root = cJSON_ParseWithOpts(text, &end, 1)) == NULL) {
		r = fail(&c, NULL, "invalid JSON near line %d",
		         line_of(text, end != NULL ? end : text));
		goto out;
	}
	/* cJSON would cut the string there: an argv element, a variable, a header, a name. */
	if ((nul = text_json_nul(text, strlen(text), NULL, path, sizeof(path))) >= 0) {
		r = fail(&c, *path != '\0' ? path : "top level",
		         "contains \\u0000 (a NUL character, line %d), which jobq cannot pass on",
		         line_of(text, text + nul));
		goto out;
	}
	if (name != NULL && (r = dup_into(&cfg->path, name)) < 0)
		goto out;
	r = parse_root(&c, root, cfg);
out:
	if (r == -ENOMEM)
		fail(&c, NULL, "out of memory");
	if (r < 0)
		config_release(cfg);
	cJSON_Delete(root);
	return r;
}

int
config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	return config_load_text(path, cfg, NULL, NULL, err, errlen);
}

int
config_load_fd(int fd, const char *name, struct config *cfg, char *err, size_t errlen)
{
	struct ctx c = {err, errlen};
	char *text = NULL;
	int r;

	config_init_default(cfg);
	if ((r = fd_pread_all(fd, CONFIG_MAX_BYTES, &text, NULL)) < 0) {
		fail(&c, NULL, "cannot read: %s", strerror(-r));
		return r;
	}
	r = config_parse(text, name, cfg, err, errlen);
	free(text);
	return r;
}

int
config_load_text(const char *path, struct config *cfg, char **text_out, size_t *len_out, char *err,
                 size_t errlen)
{
	struct ctx c = {err, errlen};
	char *text = NULL, real[PATH_MAX];
	const char *nul;
	size_t len = 0;
	int r;

	config_init_default(cfg);
	/* A configuration names the commands jobq runs: only its user or root may own it. */
	if ((r = trust_resolve(path, TRUST_CODE, real, sizeof(real), err, errlen)) == -EPERM)
		return r;
	if ((r = file_read(r == 0 ? real : path, CONFIG_MAX_BYTES, &text, &len)) < 0) {
		if (r == -EFBIG)
			fail(&c, NULL, "larger than %d bytes", CONFIG_MAX_BYTES);
		else
			fail(&c, NULL, "cannot read: %s", strerror(-r));
		return r;
	}
	/* The parser would stop at it and take what came before. */
	if ((nul = memchr(text, '\0', len)) != NULL)
		r = fail(&c, NULL, "contains a NUL byte (line %d)", line_of(text, nul));
	else
		r = config_parse(text, path, cfg, err, errlen);
	if (r == 0 && text_out != NULL) {
		*text_out = text;
		*len_out = len;
		return 0;
	}
	free(text);
	return r;
}

int
config_locate(const char *explicit_path, const char *db_path, char *out, size_t len)
{
	const char *env = getenv("JOBQ_CONFIG");
	char dir[PATH_MAX];
	struct stat st;
	int r;

	if (explicit_path != NULL && *explicit_path != '\0')
		return strlcpy(out, explicit_path, len) < len ? 1 : -ENAMETOOLONG;
	if (env != NULL && *env != '\0')
		return strlcpy(out, env, len) < len ? 1 : -ENAMETOOLONG;
	if (db_path != NULL && db_local_is_pg(db_path)) {
		out[0] = '\0'; /* a server's database has no folder to look beside */
		return 0;
	}
	if ((r = path_dirname(db_path != NULL ? db_path : "jobq.db", dir, sizeof(dir))) < 0)
		return r;
	if ((r = path_join(dir, "jobq.json", out, len)) < 0)
		return r;
	if (stat(out, &st) == 0)
		return 1;
	out[0] = '\0';
	return 0;
}

const struct type_config *
config_type(const struct config *cfg, const char *type)
{
	for (size_t i = 0; i < cfg->ntypes; i++) {
		if (strcmp(cfg->types[i].name, type) == 0)
			return &cfg->types[i];
	}
	return NULL;
}

int
config_type_limit(const struct config *cfg, const char *type)
{
	for (size_t i = 0; i < cfg->ntype_limits; i++) {
		if (strcmp(cfg->type_limits[i].name, type) == 0)
			return cfg->type_limits[i].value;
	}
	return -1;
}

int
config_pool_index(const struct config *cfg, const char *tag)
{
	for (size_t i = 0; i < cfg->npools; i++) {
		if (strcmp(cfg->pools[i].name, tag) == 0)
			return (int)i;
	}
	return -1;
}

int
config_pool(const struct config *cfg, const char *tag)
{
	int i = config_pool_index(cfg, tag);

	return i >= 0 ? cfg->pools[i].value : -1;
}

int
config_type_check_env(const struct type_config *t, char *err, size_t errlen)
{
	struct ctx c = {err, errlen};
	char p[PATH_BUF];

	if (t->handler != HANDLER_HTTP)
		return 0;
	for (size_t i = 0; i < t->http.nheaders; i++) {
		const struct http_header *hd = &t->http.headers[i];
		const char *s = hd->value, *end, *val;
		char name[CONFIG_ENV_NAME_MAX + 1];
		size_t n;

		/* The syntax was checked when the file was parsed (check_env_refs). */
		while ((s = strstr(s, "${")) != NULL && (end = strchr(s + 2, '}')) != NULL) {
			n = (size_t)(end - (s + 2));
			if (n == 0 || n >= sizeof(name))
				break;
			memcpy(name, s + 2, n);
			name[n] = '\0';
			s = end + 1;
			if ((val = getenv(name)) != NULL &&
			    (val[0] == '\0' || strlen(val) >= CONFIG_SECRET_MIN))
				continue;
			snprintf(p, sizeof(p), "types.%s.http.headers.%s", t->name, hd->name);
			if (val == NULL)
				fail(&c, p,
				     "environment variable '%s' is not set (type '%s' needs it)",
				     name, t->name);
			else
				fail(&c, p,
				     "environment variable '%s' (type '%s') holds %zu bytes: a "
				     "secret must be empty or at least %d bytes long, a shorter "
				     "one cannot be masked",
				     name, t->name, strlen(val), CONFIG_SECRET_MIN);
			return -ENOKEY;
		}
	}
	return 0;
}

int
config_check_env(const struct config *cfg, char *err, size_t errlen)
{
	int r;

	for (size_t i = 0; i < cfg->ntypes; i++) {
		if ((r = config_type_check_env(&cfg->types[i], err, errlen)) < 0)
			return r;
	}
	return 0;
}

int
config_workers(const struct config *cfg, int workers_arg, char *why, size_t whylen)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long pages = sysconf(_SC_PHYS_PAGES), pagesize = sysconf(_SC_PAGESIZE);
	long global = cfg->global > 0 ? cfg->global : 1, n = global;
	char buf[160] = "";

	if (workers_arg > 0 || cfg->workers > 0) {
		n = workers_arg > 0 ? workers_arg : cfg->workers;
		if (n > CONFIG_WORKERS_MAX)
			n = CONFIG_WORKERS_MAX;
		if (n < global && workers_arg > 0)
			snprintf(buf, sizeof(buf), "global %ld, but --workers %ld", global, n);
		else if (n < global)
			snprintf(buf, sizeof(buf), "global %ld, but \"workers\": %ld", global, n);
		goto out;
	}
	if (cpus > 0 && n > cpus * 4) {
		n = cpus * 4;
		snprintf(buf, sizeof(buf), "global %ld capped at 4 × %ld CPU%s", global, cpus,
		         cpus == 1 ? "" : "s");
	}
	if (pages > 0 && pagesize > 0) {
		long long by_mem = (long long)pages * pagesize / (64LL * 1024 * 1024);

		if (by_mem >= 1 && n > by_mem) {
			n = (long)by_mem;
			snprintf(buf, sizeof(buf),
			         "global %ld capped at %ld by memory (%lld MiB, 64 MiB per worker)",
			         global, n, (long long)pages * pagesize / (1024 * 1024));
		}
	}
	if (n > CONFIG_WORKERS_MAX) {
		n = CONFIG_WORKERS_MAX;
		snprintf(buf, sizeof(buf),
		         "global %ld capped at %d, the most workers a supervisor runs", global,
		         CONFIG_WORKERS_MAX);
	}
	if (buf[0] != '\0')
		strlcat(buf, "; set \"workers\" to run more", sizeof(buf));
out:
	if (why != NULL && whylen > 0)
		strlcpy(why, buf, whylen);
	return n < 1 ? 1 : (int)n;
}

int
config_worker_count(const struct config *cfg)
{
	return config_workers(cfg, 0, NULL, 0);
}

int
config_type_handled(const struct config *cfg, const char *type)
{
	const struct type_config *t = config_type(cfg, type);

	return t != NULL && t->handler != HANDLER_NONE;
}

/*
 * "unknown WHAT 'name'[, did you mean 'x'?] (known: a, b, ...; tail)" into err, or, with no
 * names, "unknown WHAT 'name' (none)". Returns -ENOENT (-ENOMEM: a shorter message).
 */
static int
unknown_name(const char *what, const char *name, const char *const *names, size_t n,
             const char *none, const char *tail, char *err, size_t errlen)
{
	char shown_name[72], list[256] = ""; /* the whole message fits in 512 bytes */
	const char *close = name_closest(name, names, n);
	size_t i;

	if (err == NULL || errlen == 0)
		return -ENOENT;
	for (i = 0; i < n; i++) {
		if (strlen(list) + strlen(names[i]) + 8 >= sizeof(list)) {
			strlcat(list, ", ...", sizeof(list));
			break;
		}
		if (i > 0)
			strlcat(list, ", ", sizeof(list));
		strlcat(list, names[i], sizeof(list));
	}
	shown(name, shown_name, sizeof(shown_name));
	snprintf(err, errlen, "unknown %s '%s'%s%s%s (%s%s%s%s)", what, shown_name,
	         close != NULL ? ", did you mean '" : "", close != NULL ? close : "",
	         close != NULL ? "'?" : "", n > 0 ? "known: " : none, n > 0 ? list : "",
	         tail != NULL && n > 0 ? "; " : "", tail != NULL && n > 0 ? tail : "");
	return -ENOENT;
}

int
config_type_known(const struct config *cfg, const char *type, char *err, size_t errlen)
{
	const char **names;
	size_t n = 0;
	int r;

	if (cfg->ntypes + cfg->ntype_limits == 0 || config_type(cfg, type) != NULL ||
	    config_type_limit(cfg, type) >= 0)
		return 0;
	if ((names = reallocarray(NULL, cfg->ntypes + cfg->ntype_limits, sizeof(*names))) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "unknown type (out of memory)");
		return -ENOENT;
	}
	for (size_t i = 0; i < cfg->ntypes; i++)
		names[n++] = cfg->types[i].name;
	for (size_t i = 0; i < cfg->ntype_limits; i++) {
		if (config_type(cfg, cfg->type_limits[i].name) == NULL)
			names[n++] = cfg->type_limits[i].name;
	}
	r = unknown_name("type", type, names, n, "",
	                 "declare a type without a handler for "
	                 "external workers",
	                 err, errlen);
	free(names);
	return r;
}

int
config_pool_known(const struct config *cfg, const char *tag, char *err, size_t errlen)
{
	const char **names;
	int r;

	if (config_pool(cfg, tag) >= 0)
		return 0;
	if (cfg->npools == 0)
		return unknown_name("resource", tag, NULL, 0, "no pools in concurrency.resources",
		                    NULL, err, errlen);
	if ((names = reallocarray(NULL, cfg->npools, sizeof(*names))) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "unknown resource (out of memory)");
		return -ENOENT;
	}
	for (size_t i = 0; i < cfg->npools; i++)
		names[i] = cfg->pools[i].name;
	r = unknown_name("resource", tag, names, cfg->npools, "", NULL, err, errlen);
	free(names);
	return r;
}
