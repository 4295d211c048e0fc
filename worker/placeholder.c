/* Placeholders of exec argv elements and http urls and bodies. See placeholder.h. */
#include "placeholder.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* 1 when the payload text holds a \u0000 escape, which cJSON cuts strings at. */
static int
payload_has_nul(const struct job *job)
{
	return job->payload != NULL &&
	       text_json_nul(job->payload, strlen(job->payload), NULL, NULL, 0) >= 0;
}

void
placeholder_nul_error(const struct job *job, const char *who, char *err, size_t errlen)
{
	char path[128] = "payload";

	if (job->payload != NULL)
		text_json_nul(job->payload, strlen(job->payload), "payload", path, sizeof(path));
	snprintf(err, errlen,
	         "%s: %s contains \\u0000 (a NUL character), which no placeholder can pass on", who,
	         path);
}

int
placeholder_resolve(const char *name, size_t nlen, const struct job *job, const cJSON *payload,
                    struct placeholder *out)
{
	memset(out, 0, sizeof(*out));
#define IS(s) (nlen == sizeof(s) - 1 && memcmp(name, s, nlen) == 0)
	if (IS("job.id")) {
		out->num = job->id;
	} else if (IS("job.attempt")) {
		out->num = job->attempts;
	} else if (IS("job.type")) {
		out->text = job->type;
	} else if (IS("job.namespace")) {
		out->text = job->namespace;
	} else if (IS("payload")) {
		if (payload == NULL)
			return -ENOENT;
		if (payload_has_nul(job))
			return -EILSEQ;
		out->json = payload;
	} else if (nlen > 8 && memcmp(name, "payload.", 8) == 0) {
		const cJSON *v = payload;
		char key[256];

		if (payload_has_nul(job))
			return -EILSEQ;

		for (size_t off = 8; off < nlen;) {
			const char *dot = memchr(name + off, '.', nlen - off);
			size_t klen = dot != NULL ? (size_t)(dot - (name + off)) : nlen - off;

			if (klen == 0 || klen >= sizeof(key))
				return 0;
			memcpy(key, name + off, klen);
			key[klen] = '\0';
			v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, key) : NULL;
			if (v == NULL)
				return -ENOENT;
			off += klen + 1;
		}
		out->json = v;
	} else {
		return 0;
	}
#undef IS
	return 1;
}

int
placeholder_text(const struct placeholder *p, const char **text, char **tofree, char *num,
                 size_t numlen)
{
	*tofree = NULL;
	if (p->text != NULL) {
		*text = p->text;
	} else if (p->json == NULL) {
		snprintf(num, numlen, "%" PRId64, p->num);
		*text = num;
	} else if (cJSON_IsString(p->json)) {
		*text = p->json->valuestring;
	} else {
		if ((*tofree = cJSON_PrintUnformatted(p->json)) == NULL)
			return -ENOMEM;
		*text = *tofree;
	}
	return 0;
}

int
placeholder_expand(const char *tmpl, const struct job *job, const cJSON *payload,
                   int (*put)(struct buf *b, const char *text), struct buf *b, const char **bad,
                   size_t *badlen)
{
	char num[32];
	int r = buf_add(b, "", 0);

	for (const char *p = tmpl; r == 0 && *p != '\0';) {
		const char *open = strchr(p, '{'), *close, *text;
		char *tofree = NULL;
		struct placeholder ph;

		if (open == NULL) {
			r = buf_add(b, p, strlen(p));
			break;
		}
		if ((r = buf_add(b, p, (size_t)(open - p))) < 0)
			break;
		if (open[1] == '{') {
			r = buf_add(b, "{", 1);
			p = open + 2;
			continue;
		}
		if ((close = strchr(open, '}')) == NULL) {
			r = buf_add(b, open, strlen(open));
			break;
		}
		r = placeholder_resolve(open + 1, (size_t)(close - open - 1), job, payload, &ph);
		if (r == -ENOENT) {
			*bad = open + 1;
			*badlen = (size_t)(close - open - 1);
		} else if (r == 0) {
			/* not a placeholder ("${HOME}" in a bash -c script): kept as written */
			r = buf_add(b, open, (size_t)(close - open + 1));
		} else if (r > 0 &&
		           (r = placeholder_text(&ph, &text, &tofree, num, sizeof(num))) == 0) {
			r = put != NULL ? put(b, text) : buf_add(b, text, strlen(text));
		}
		free(tofree);
		p = close + 1;
	}
	return r;
}
