/* The http handler: the request built from the type and the job (url, body, headers). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/string.h>

#include "buf.h"
#include "curl_dl.h"
#include "http_impl.h"
#include "mask.h"

/* A value of a url, percent-encoded. */
static int
put_escaped(struct buf *b, const char *text)
{
	char *esc = curl_easy_escape(NULL, text, 0);
	int r = esc != NULL ? buf_add(b, esc, strlen(esc)) : -ENOMEM;

	curl_free(esc);
	return r;
}

/*
 * Substitute the placeholders of tmpl; "{{" stands for "{", any other {...} is kept as written.
 * With encode, each value is percent-encoded (for a url). On error the message names what (the
 * "url" or "body").
 */
int
http_expand(const char *tmpl, const struct job *job, const cJSON *payload, int encode,
            const char *what, char **out, char *err, size_t errlen)
{
	struct buf b = {.max = URL_MAX_BYTES * (encode ? 1 : 16)};
	const char *bad = NULL;
	size_t badlen = 0;
	int r = placeholder_expand(tmpl, job, payload, encode ? put_escaped : NULL, &b, &bad,
	                           &badlen);

	if (r == -ENOENT) {
		snprintf(err, errlen, "http: the payload has no '%.*s' for the placeholder in %s",
		         (int)badlen, bad, what);
		r = -EINVAL;
	} else if (r == -EILSEQ) {
		placeholder_nul_error(job, "http", err, errlen);
		r = -EINVAL;
	} else if (r == -E2BIG) {
		snprintf(err, errlen, "http: the %s is longer than %zu bytes after substitution",
		         what, b.max - 1);
	} else if (r == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
	}
	if (r < 0) {
		buf_release(&b);
		return r;
	}
	*out = buf_detach(&b);
	return 0;
}

/* Put val (NULL: out of memory) in the place of item under parent, under item's key. */
static int
replace(cJSON *parent, cJSON *item, cJSON *val)
{
	if (val == NULL)
		return -ENOMEM;
	if (val->string != NULL && !(val->type & cJSON_StringIsConst))
		cJSON_free(val->string); /* a duplicate keeps the key of its source */
	val->string = NULL;
	val->type &= ~cJSON_StringIsConst;
	if (item->string != NULL) {
		if ((val->string = strdup(item->string)) == NULL) {
			cJSON_Delete(val);
			return -ENOMEM;
		}
	}
	if (!cJSON_ReplaceItemViaPointer(parent, item, val)) {
		cJSON_Delete(val);
		return -ENOMEM;
	}
	return 0;
}

/* Fill the placeholders inside the strings of the body template, in place. A string that is
 * exactly one placeholder becomes the value itself (a number stays a number, an object an
 * object); placeholders inside a longer string are replaced by their text. */
static int
fill_template(cJSON *node, const struct job *job, const cJSON *payload, char *err, size_t errlen)
{
	cJSON *it, *next;
	int r;

	if (cJSON_IsArray(node) || cJSON_IsObject(node)) {
		for (it = node->child; it != NULL; it = next) {
			next = it->next;
			if (cJSON_IsString(it)) {
				const char *s = it->valuestring;
				size_t n = strlen(s);
				struct placeholder ph;
				cJSON *val = NULL;

				if (n > 2 && s[0] == '{' && s[1] != '{' && s[n - 1] == '}' &&
				    memchr(s + 1, '{', n - 2) == NULL &&
				    memchr(s + 1, '}', n - 2) == NULL &&
				    (r = placeholder_resolve(s + 1, n - 2, job, payload, &ph)) !=
				            0) {
					if (r == -ENOENT) {
						snprintf(err, errlen,
						         "http: the payload has no '%.*s' for "
						         "the placeholder in body",
						         (int)(n - 2), s + 1);
						return -EINVAL;
					}
					if (r == -EILSEQ) {
						placeholder_nul_error(job, "http", err, errlen);
						return -EINVAL;
					}
					if (ph.json != NULL)
						val = cJSON_Duplicate(ph.json, 1);
					else if (ph.text != NULL)
						val = cJSON_CreateString(ph.text);
					else
						val = cJSON_CreateNumber((double)ph.num);
					if ((r = replace(node, it, val)) < 0) {
						snprintf(err, errlen, "out of memory");
						return r;
					}
					continue;
				}
				char *text = NULL;
				if ((r = http_expand(s, job, payload, 0, "body", &text, err,
				                     errlen)) < 0)
					return r;
				val = cJSON_CreateString(text);
				free(text);
				if ((r = replace(node, it, val)) < 0) {
					snprintf(err, errlen, "out of memory");
					return r;
				}
			} else if ((r = fill_template(it, job, payload, err, errlen)) < 0) {
				return r;
			}
		}
	}
	return 0;
}

int
http_fill_body(const char *tmpl, const struct job *job, const cJSON *payload, char **out, char *err,
               size_t errlen)
{
	cJSON *root, *wrap;
	int r;

	*out = NULL;
	if ((root = cJSON_ParseWithOpts(tmpl, NULL, 1)) == NULL) {
		snprintf(err, errlen, "http: the body template is not valid JSON");
		return -EINVAL;
	}
	/* Wrapped, so that a template which is one string can be filled like any other. */
	if ((wrap = cJSON_CreateArray()) == NULL || !cJSON_AddItemToArray(wrap, root)) {
		cJSON_Delete(wrap);
		cJSON_Delete(root);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((r = fill_template(wrap, job, payload, err, errlen)) < 0) {
		cJSON_Delete(wrap);
		return r;
	}
	*out = cJSON_PrintUnformatted(wrap->child);
	cJSON_Delete(wrap);
	if (*out == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int
http_build_body(struct http *x, const struct http_spec *spec, const struct job *job,
                const cJSON *payload, char *err, size_t errlen)
{
	int r;

	if (spec->body == NULL) {
		x->body = strdup(job->payload != NULL ? job->payload : "{}");
	} else if ((r = http_fill_body(spec->body, job, payload, &x->body, err, errlen)) < 0) {
		return r;
	}
	if (x->body == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	x->body_len = strlen(x->body);
	return 0;
}

/* Is header name (case-insensitive) among the type's headers? */
static int
has_header(const struct http_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->nheaders; i++)
		if (strcasecmp(spec->headers[i].name, name) == 0)
			return 1;
	return 0;
}

/* "Name: value" with ${ENV} expanded (a "$" not followed by "{" is literal); the values of the
 * variables are remembered as secrets. The line is wiped before it is freed. */
static int
header_line(struct http *x, const struct http_header *hd, char **out, char *err, size_t errlen)
{
	struct buf b = {.max = URL_MAX_BYTES};
	const char *s = hd->value;
	size_t head;
	int r;

	if ((r = buf_add(&b, hd->name, strlen(hd->name))) == 0)
		r = buf_add(&b, ": ", 2);
	head = b.len;
	while (r == 0 && *s != '\0') {
		const char *ref = strstr(s, "${"), *end, *val;
		char name[CONFIG_ENV_NAME_MAX + 1];
		size_t n;

		if (ref == NULL) {
			r = buf_add(&b, s, strlen(s));
			break;
		}
		if ((r = buf_add(&b, s, (size_t)(ref - s))) < 0)
			break;
		end = strchr(ref + 2, '}');
		n = end != NULL ? (size_t)(end - (ref + 2)) : 0;
		if (end == NULL || n == 0 || n >= sizeof(name)) {
			snprintf(err, errlen, "http: header '%s': invalid '${...}' reference",
			         hd->name);
			r = -EINVAL;
			break;
		}
		memcpy(name, ref + 2, n);
		name[n] = '\0';
		if ((val = getenv(name)) == NULL) {
			snprintf(err, errlen,
			         "http: header '%s': environment variable '%s' is not set",
			         hd->name, name);
			r = -EINVAL;
			break;
		}
		if ((r = mask_add(&x->mask, val, strlen(val))) < 0 ||
		    (r = buf_add(&b, val, strlen(val))) < 0)
			break;
		s = end + 1;
	}
	if (r == 0 && b.len == head) {
		/* "Name:" alone would make curl remove the header; "Name;" sends it empty. */
		b.len = head - 2;
		r = buf_add(&b, ";", 1);
	}
	if (r == -E2BIG)
		snprintf(err, errlen, "http: header '%s' is too long", hd->name);
	else if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (r < 0) {
		if (b.s != NULL)
			explicit_bzero(b.s, b.len);
		buf_release(&b);
		return r;
	}
	*out = buf_detach(&b);
	return 0;
}

void
http_free_headers(struct curl_slist *l)
{
	for (struct curl_slist *i = l; i != NULL; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

int
http_build_headers(struct http *x, const struct http_spec *spec, char *err, size_t errlen)
{
	struct curl_slist *n;
	int r;

	for (size_t i = 0; i < spec->nheaders; i++) {
		char *line = NULL;

		if ((r = header_line(x, &spec->headers[i], &line, err, errlen)) < 0)
			return r;
		n = curl_slist_append(x->headers, line);
		explicit_bzero(line, strlen(line));
		free(line);
		if (n == NULL)
			goto nomem;
		x->headers = n;
	}
	/* The body is JSON; no 100-continue round trip before sending it. */
	if (x->body != NULL && !has_header(spec, "Content-Type")) {
		if ((n = curl_slist_append(x->headers, "Content-Type: application/json")) == NULL)
			goto nomem;
		x->headers = n;
	}
	if (!has_header(spec, "Expect")) {
		if ((n = curl_slist_append(x->headers, "Expect:")) == NULL)
			goto nomem;
		x->headers = n;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}
