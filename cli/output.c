/* Output of the command line: aligned tables, one-line summaries, ages, and jobs as JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "duration.h"
#include "output.h"
#include "text.h"

void
table_init(struct table *t, size_t ncols, const char *const *headers, const enum col_align *align)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->headers = headers;
	t->align = align;
}

int
table_add(struct table *t, const char *const *cells)
{
	if (t->oom)
		return -ENOMEM;
	if (t->nrows == t->cap) {
		size_t cap = t->cap == 0 ? 16 : t->cap * 2;
		char **n = reallocarray(t->cells, cap * t->ncols, sizeof(*n));

		if (n == NULL) {
			t->oom = 1;
			return -ENOMEM;
		}
		t->cells = n;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *s = text_escape_dup(cells[i] != NULL ? cells[i] : "-");

		if (s == NULL) {
			for (size_t j = 0; j < i; j++)
				free(t->cells[t->nrows * t->ncols + j]);
			t->oom = 1;
			return -ENOMEM;
		}
		t->cells[t->nrows * t->ncols + i] = s;
	}
	t->nrows++;
	return 0;
}

static void
print_cell(FILE *fp, const char *s, size_t width, enum col_align align, int last)
{
	size_t w = text_width(s);
	size_t pad = width > w ? width - w : 0;

	if (align == COL_RIGHT)
		fprintf(fp, "%*s", (int)pad, "");
	fputs(s, fp);
	if (align == COL_LEFT && !last)
		fprintf(fp, "%*s", (int)pad, "");
	fputs(last ? "\n" : "  ", fp);
}

int
table_print(const struct table *t, FILE *fp)
{
	size_t *width;

	if (t->oom)
		return -ENOMEM;
	if ((width = calloc(t->ncols, sizeof(*width))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < t->ncols; i++)
		width[i] = text_width(t->headers[i]);
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			size_t w = text_width(t->cells[r * t->ncols + i]);

			if (w > width[i])
				width[i] = w;
		}
	}
	for (size_t i = 0; i < t->ncols; i++)
		print_cell(fp, t->headers[i], width[i], t->align != NULL ? t->align[i] : COL_LEFT,
		           i + 1 == t->ncols);
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++)
			print_cell(fp, t->cells[r * t->ncols + i], width[i],
			           t->align != NULL ? t->align[i] : COL_LEFT, i + 1 == t->ncols);
	}
	free(width);
	return 0;
}

void
table_release(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

/* Decode one code point at s (a NUL-terminated string, not at its end): a byte that does not
 * start a well-formed UTF-8 character is one code point U+FFFD with *bad set. Returns its length
 * in bytes (>= 1). */
static size_t
utf8_next(const unsigned char *s, uint32_t *cp, int *bad)
{
	size_t n = text_utf8_decode((const char *)s, strnlen((const char *)s, 4), cp);

	*bad = n == 0;
	if (n == 0) {
		*cp = 0xFFFD;
		return 1;
	}
	return n;
}

char *
text_escape_dup(const char *s)
{
	size_t len = strlen(s);
	char *out;

	/* No character grows more than four times: a byte becomes at most "\xHH", a 2-byte C1
	 * control "\u0085", a 3-byte separator "\u2028". */
	if (len > (SIZE_MAX - 1) / 4 || (out = malloc(len * 4 + 1)) == NULL)
		return NULL;
	text_escape(s, len, out, len * 4 + 1, NULL);
	return out;
}

/* Write s[0..len) to fp escaped (text_escape). */
static void
put_escaped(FILE *fp, const char *s, size_t len)
{
	char buf[1024];
	size_t used, n;

	while (len > 0) {
		n = text_escape(s, len, buf, sizeof(buf), &used);
		if (used == 0)
			break; /* cannot happen: buf holds any escape */
		fwrite(buf, 1, n, fp);
		s += used;
		len -= used;
	}
}

/* Columns of one code point: 0 for controls, 2 for the common East Asian wide ranges. */
static size_t
cp_width(uint32_t c)
{
	if (text_is_control(c))
		return 0;
	if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) ||
	    (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
	    (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
	    (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
	    (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD))
		return 2;
	return 1;
}

size_t
text_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;
	uint32_t cp;
	int bad;

	while (*p != '\0') {
		p += utf8_next(p, &cp, &bad);
		w += cp_width(cp);
	}
	return w;
}

void
text_summary(const char *s, size_t width, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t o = 0, w = 0, cut = 0;
	int space = 0;

	if (len == 0)
		return;
	while (*p != '\0') {
		uint32_t cp;
		int bad; /* not UTF-8: shown as '?' */
		size_t n = utf8_next(p, &cp, &bad);
		size_t cw = cp_width(cp) + (space ? 1 : 0);

		if (cp == ' ' || cp == '\t' || text_is_control(cp)) {
			space = o > 0;
			p += n;
			continue;
		}
		if (w + cw > width || o + n + (space ? 1 : 0) + 4 > len) {
			/* does not fit: go back to the last point that leaves room for "..." */
			o = cut;
			if (o + 4 <= len) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (space)
			out[o++] = ' ';
		space = 0;
		if (bad) {
			out[o++] = '?';
		} else {
			memcpy(out + o, p, n);
			o += n;
		}
		w += cw;
		if (w + 3 <= width)
			cut = o;
		p += n;
	}
	out[o] = '\0';
}

void
format_age(int64_t ms, char *buf, size_t len)
{
	const char *sign = "";
	int64_t s;

	if (ms < 0) {
		sign = "-";
		ms = -ms;
	}
	s = ms / 1000;
	if (s < 60)
		snprintf(buf, len, "%s%" PRId64 "s", sign, s);
	else if (s < 3600)
		snprintf(buf, len, "%s%" PRId64 "m%" PRId64 "s", sign, s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%s%" PRId64 "h%" PRId64 "m", sign, s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%s%" PRId64 "d%" PRId64 "h", sign, s / 86400, s % 86400 / 3600);
}

int
json_add_int(cJSON *obj, const char *key, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cJSON_AddRawToObject(obj, key, buf) != NULL ? 0 : -ENOMEM;
}

int
json_add_time(cJSON *obj, const char *key, int64_t ms)
{
	char buf[40];

	if (ms == 0)
		return cJSON_AddNullToObject(obj, key) != NULL ? 0 : -ENOMEM;
	time_format_rfc3339(ms, buf, sizeof(buf));
	return cJSON_AddStringToObject(obj, key, buf) != NULL ? 0 : -ENOMEM;
}

int
json_add_string_or_null(cJSON *obj, const char *key, const char *s)
{
	if (s == NULL)
		return cJSON_AddNullToObject(obj, key) != NULL ? 0 : -ENOMEM;
	return cJSON_AddStringToObject(obj, key, s) != NULL ? 0 : -ENOMEM;
}

/* JSON text as a raw value, without white space outside strings; NULL when out of memory or
 * when the text holds raw control bytes (cJSON takes them inside strings, but printed raw they
 * would not be JSON). */
static cJSON *
raw_json(const char *text)
{
	char *copy;
	cJSON *v = NULL;

	if ((copy = strdup(text)) == NULL)
		return NULL;
	cJSON_Minify(copy);
	for (const char *p = copy; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20)
			goto out;
	}
	v = cJSON_CreateRaw(copy);
out:
	free(copy);
	return v;
}

int
json_add_text_or_json(cJSON *obj, const char *key, const char *text)
{
	cJSON *v;

	if (text == NULL)
		return cJSON_AddNullToObject(obj, key) != NULL ? 0 : -ENOMEM;
	/* JSON holding a \u0000 escape (a payload inserted by SQL, a command's output), which
	 * cJSON would cut at the NUL: the text as it is, else as a string. */
	if ((v = cJSON_ParseWithOpts(text, NULL, 1)) != NULL &&
	    text_json_nul(text, strlen(text), NULL, NULL, 0) >= 0) {
		cJSON_Delete(v);
		v = raw_json(text);
	}
	if (v == NULL)
		v = cJSON_CreateString(text);
	if (v == NULL)
		return -ENOMEM;
	if (!cJSON_AddItemToObject(obj, key, v)) {
		cJSON_Delete(v);
		return -ENOMEM;
	}
	return 0;
}

/* Add key: a non-zero integer, else null. */
static int
json_add_int_or_null(cJSON *obj, const char *key, int64_t v)
{
	if (v == 0)
		return cJSON_AddNullToObject(obj, key) != NULL ? 0 : -ENOMEM;
	return json_add_int(obj, key, v);
}

/* The job's own tags as an array ([] when none). */
static int
json_add_tags(cJSON *obj, const char *key, const char *tags)
{
	cJSON *v = NULL;

	if (tags != NULL && (v = cJSON_ParseWithOpts(tags, NULL, 1)) != NULL && !cJSON_IsArray(v)) {
		cJSON_Delete(v);
		v = NULL;
	}
	if (v == NULL && (v = cJSON_CreateArray()) == NULL)
		return -ENOMEM;
	if (!cJSON_AddItemToObject(obj, key, v)) {
		cJSON_Delete(v);
		return -ENOMEM;
	}
	return 0;
}

cJSON *
job_to_json(const struct job *j)
{
	cJSON *o = cJSON_CreateObject();
	char dur[32];
	int r = 0;

	if (o == NULL)
		return NULL;
	duration_format(j->timeout_ms, dur, sizeof(dur));
	r |= json_add_int(o, "id", j->id);
	r |= json_add_string_or_null(o, "type", j->type);
	r |= json_add_string_or_null(o, "namespace", j->namespace);
	r |= json_add_text_or_json(o, "payload", j->payload);
	r |= json_add_string_or_null(o, "state", job_state_name(j->state));
	r |= json_add_int(o, "priority", j->priority);
	r |= json_add_time(o, "run_at", j->run_at);
	r |= json_add_int(o, "attempts", j->attempts);
	r |= json_add_int(o, "max_attempts", j->max_attempts);
	r |= json_add_string_or_null(o, "timeout", j->timeout_ms > 0 ? dur : NULL);
	r |= json_add_tags(o, "resources", j->resources);
	r |= json_add_string_or_null(o, "unique_key", j->unique_key);
	r |= json_add_string_or_null(o, "batch", j->batch);
	/* A result cut at output_max is text, whatever it looks like: a cut JSON document that
	 * still parses ("12345" cut to "123") must not pass for the whole one. */
	if (j->truncated)
		r |= json_add_string_or_null(o, "result", j->result);
	else
		r |= json_add_text_or_json(o, "result", j->result);
	r |= json_add_string_or_null(o, "error", j->error);
	if (j->has_exit_code)
		r |= json_add_int(o, "exit_code", j->exit_code);
	else
		r |= cJSON_AddNullToObject(o, "exit_code") != NULL ? 0 : -ENOMEM;
	r |= json_add_time(o, "created_at", j->created_at);
	r |= json_add_time(o, "started_at", j->started_at);
	r |= json_add_time(o, "finished_at", j->finished_at);
	r |= json_add_int(o, "orphans_reaped", j->orphans_reaped);
	r |= json_add_int_or_null(o, "worker_pid", j->worker_pid);
	r |= json_add_int_or_null(o, "pgid", j->pgid);
	r |= json_add_time(o, "lease_until", j->lease_until);
	r |= json_add_int_or_null(o, "token", j->token);
	r |= cJSON_AddBoolToObject(o, "cancel_requested", j->cancel_requested) != NULL ? 0
	                                                                               : -ENOMEM;
	/* Keys added by schema version 2, after the first ones. */
	r |= cJSON_AddBoolToObject(o, "truncated", j->truncated) != NULL ? 0 : -ENOMEM;
	r |= json_add_string_or_null(o, "stderr", j->stderr_tail);
	/* Schema version 4. */
	r |= json_add_string_or_null(o, "host", j->host);
	if (r != 0) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/*
 * Write JSON text printed by cJSON, which escapes only the C0 controls: DEL, C1 controls, line
 * separators and bidirectional controls (text_is_control) become \uXXXX escapes of the same
 * characters, and a byte that is not UTF-8 (a command's raw output) becomes \ufffd, as any JSON
 * reader would show it. Outside strings cJSON writes ASCII only, so every byte changed here is
 * inside a string.
 */
static void
json_put(const char *s, FILE *fp)
{
	const char *run = s;

	while (*s != '\0') {
		uint32_t cp;
		size_t n;

		if ((unsigned char)*s < 0x7F) {
			s++;
			continue;
		}
		n = text_utf8_decode(s, strnlen(s, 4), &cp);
		if (n > 0 && !text_is_control(cp)) {
			s += n;
			continue;
		}
		fwrite(run, 1, (size_t)(s - run), fp);
		fprintf(fp, "\\u%04x", n > 0 ? (unsigned)cp : 0xFFFDu);
		s += n > 0 ? n : 1;
		run = s;
	}
	fputs(run, fp);
}

int
json_print(const cJSON *v)
{
	char *s = cJSON_PrintUnformatted(v);

	if (s == NULL)
		return -ENOMEM;
	json_put(s, stdout);
	fputc('\n', stdout);
	free(s);
	return 0;
}

int
json_print_item(const cJSON *v, int first)
{
	char *s = cJSON_PrintUnformatted(v);

	if (s == NULL)
		return -ENOMEM;
	if (!first)
		fputc(',', stdout);
	json_put(s, stdout);
	free(s);
	return 0;
}

/* "key: value", continuation lines of a multi-line value indented by two spaces (so no line of
 * a value can pass for a field), every other control character escaped (text_escape). */
static void
print_field(FILE *fp, const char *key, const char *value)
{
	fprintf(fp, "%s: ", key);
	if (value == NULL) {
		fputs("-\n", fp);
		return;
	}
	for (const char *p = value;;) {
		const char *nl = strchr(p, '\n');

		put_escaped(fp, p, nl != NULL ? (size_t)(nl - p) : strlen(p));
		fputc('\n', fp);
		if (nl == NULL || nl[1] == '\0')
			break;
		fputs("  ", fp);
		p = nl + 1;
	}
}

static void
print_int(FILE *fp, const char *key, int64_t v, int zero_is_none)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	print_field(fp, key, zero_is_none && v == 0 ? NULL : buf);
}

/* A time as RFC 3339 and, for people, how far from now ("5m3s ago", "in 2m"). */
static void
print_time(FILE *fp, const char *key, int64_t ms, int64_t now)
{
	char t[40], age[32], buf[96];

	if (ms == 0) {
		print_field(fp, key, NULL);
		return;
	}
	time_format_rfc3339(ms, t, sizeof(t));
	format_age(time_sub(now, ms), age, sizeof(age)); /* rows hold any value */
	if (ms <= now)
		snprintf(buf, sizeof(buf), "%s (%s ago)", t, age);
	else
		snprintf(buf, sizeof(buf), "%s (in %s)", t, age + 1);
	print_field(fp, key, buf);
}

void
job_print_human(const struct job *j, FILE *fp)
{
	int64_t now = time_now_ms();
	char dur[32];

	duration_format(j->timeout_ms, dur, sizeof(dur));
	print_int(fp, "id", j->id, 0);
	print_field(fp, "type", j->type);
	print_field(fp, "namespace", j->namespace);
	print_field(fp, "state", job_state_name(j->state));
	print_field(fp, "payload", j->payload);
	print_int(fp, "priority", j->priority, 0);
	print_time(fp, "run_at", j->run_at, now);
	print_int(fp, "attempts", j->attempts, 0);
	print_int(fp, "max_attempts", j->max_attempts, 0);
	print_field(fp, "timeout", j->timeout_ms > 0 ? dur : NULL);
	print_field(fp, "resources", j->resources);
	print_field(fp, "unique_key", j->unique_key);
	print_field(fp, "batch", j->batch);
	print_field(fp, "result", j->result);
	print_field(fp, "truncated", j->truncated ? "yes (cut at output_max)" : "no");
	print_field(fp, "error", j->error);
	print_field(fp, "stderr", j->stderr_tail);
	if (j->has_exit_code)
		print_int(fp, "exit_code", j->exit_code, 0);
	else
		print_field(fp, "exit_code", NULL);
	print_time(fp, "created_at", j->created_at, now);
	print_time(fp, "started_at", j->started_at, now);
	print_time(fp, "finished_at", j->finished_at, now);
	print_int(fp, "orphans_reaped", j->orphans_reaped, 0);
	print_field(fp, "host", j->host);
	print_int(fp, "worker_pid", j->worker_pid, 1);
	print_int(fp, "pgid", j->pgid, 1);
	print_time(fp, "lease_until", j->lease_until, now);
	print_int(fp, "token", j->token, 1);
	print_field(fp, "cancel_requested", j->cancel_requested ? "yes" : "no");
}
