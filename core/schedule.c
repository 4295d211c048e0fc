/* Schedules: parsing the configuration's "schedules" and planning their ticks (schedule.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "duration.h"
#include "names.h"
#include "schedule.h"
#include "text.h"

#define PAYLOAD_TEXT_MAX (1024 * 1024)

static int fail(char *err, size_t errlen, const char *name, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static int
fail(char *err, size_t errlen, const char *name, const char *field, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "schedules.%s%s%s: %s", name, field != NULL ? "." : "",
		         field != NULL ? field : "", msg);
	return -EINVAL;
}

static int
get_duration(const cJSON *v, const char *name, const char *field, int64_t *out, char *err,
             size_t errlen)
{
	if (!cJSON_IsString(v) || duration_parse(v->valuestring, out) < 0)
		return fail(err, errlen, name, field,
		            "must be a duration string such as \"15m\" (at most " DURATION_MAX_TEXT
		            ")");
	return 0;
}

static int
parse_one(const cJSON *obj, const struct config *cfg, struct schedule *s, char *err, size_t errlen)
{
	static const char *const keys[] = {"cron",         "every",      "timezone", "type",
	                                   "payload",      "namespace",  "priority", "missed",
	                                   "missed_after", "missed_max", NULL};
	const char *name = s->name;
	const cJSON *v, *it;
	char msg[256];
	int r;

	if (!cJSON_IsObject(obj))
		return fail(err, errlen, name, NULL, "must be an object");
	cJSON_ArrayForEach(it, obj)
	{
		int known = 0;

		for (int i = 0; keys[i] != NULL; i++)
			known |= strcmp(it->string, keys[i]) == 0;
		if (!known)
			return fail(err, errlen, name, NULL, "unknown key '%.64s'", it->string);
	}
	v = cJSON_GetObjectItemCaseSensitive(obj, "cron");
	it = cJSON_GetObjectItemCaseSensitive(obj, "every");
	if ((v == NULL) == (it == NULL))
		return fail(err, errlen, name, NULL, "needs exactly one of \"cron\" and \"every\"");
	if (v != NULL) {
		if (!cJSON_IsString(v))
			return fail(err, errlen, name, "cron",
			            "must be a string such as \"0 2 * * *\"");
		if (cron_parse(v->valuestring, &s->cron, msg, sizeof(msg)) < 0)
			return fail(err, errlen, name, "cron", "%s", msg);
		s->is_cron = 1;
		if ((s->spec = strdup(v->valuestring)) == NULL)
			return -ENOMEM;
	} else {
		if ((r = get_duration(it, name, "every", &s->every_ms, err, errlen)) < 0)
			return r;
		if (s->every_ms < SCHEDULE_EVERY_MIN_MS)
			return fail(err, errlen, name, "every", "must be at least 1s");
		if ((s->spec = strdup(it->valuestring)) == NULL)
			return -ENOMEM;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "timezone")) != NULL) {
		if (!cJSON_IsString(v))
			return fail(err, errlen, name, "timezone",
			            "must be a string such as "
			            "\"Europe/Paris\"");
		if ((r = cron_zone_check(v->valuestring)) < 0)
			return fail(err, errlen, name, "timezone",
			            "unknown time zone '%.64s' (expected an IANA name such as "
			            "\"Europe/Paris\" from the system's time zone database)",
			            v->valuestring);
		if (!s->is_cron)
			return fail(err, errlen, name, "timezone",
			            "only applies to \"cron\" (an interval is in absolute time)");
	}
	if ((s->zone = strdup(v != NULL ? v->valuestring : "UTC")) == NULL)
		return -ENOMEM;
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "type")) == NULL || !cJSON_IsString(v))
		return fail(err, errlen, name, "type", "must be the job type to enqueue");
	if (!name_type_valid(v->valuestring))
		return fail(err, errlen, name, "type",
		            "invalid type name '%.64s' (expected [a-z0-9][a-z0-9_-]{0,63})",
		            v->valuestring);
	if (config_type_known(cfg, v->valuestring, msg, sizeof(msg)) < 0)
		return fail(err, errlen, name, "type", "%s", msg);
	if ((s->type = strdup(v->valuestring)) == NULL)
		return -ENOMEM;
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "payload")) != NULL) {
		if ((s->payload = cJSON_PrintUnformatted(v)) == NULL)
			return -ENOMEM;
		if (strlen(s->payload) >
		    (cfg->payload_max > 0 ? cfg->payload_max : PAYLOAD_TEXT_MAX))
			return fail(err, errlen, name, "payload", "is larger than payload_max");
	} else if ((s->payload = strdup("{}")) == NULL) {
		return -ENOMEM;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "namespace")) != NULL) {
		if (!cJSON_IsString(v) || !name_namespace_valid(v->valuestring))
			return fail(err, errlen, name, "namespace",
			            "must be 1 to %d bytes of UTF-8 without control characters",
			            NAME_TEXT_MAX);
		if ((s->namespace = strdup(v->valuestring)) == NULL)
			return -ENOMEM;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "priority")) != NULL) {
		if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble ||
		    v->valuedouble > 9007199254740992.0 || v->valuedouble < -9007199254740992.0)
			return fail(err, errlen, name, "priority", "must be an integer");
		s->priority = (int64_t)v->valuedouble;
		s->has_priority = 1;
	}
	s->missed = MISSED_ONCE;
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "missed")) != NULL) {
		if (cJSON_IsString(v) && strcmp(v->valuestring, "skip") == 0)
			s->missed = MISSED_SKIP;
		else if (cJSON_IsString(v) && strcmp(v->valuestring, "once") == 0)
			s->missed = MISSED_ONCE;
		else if (cJSON_IsString(v) && strcmp(v->valuestring, "all") == 0)
			s->missed = MISSED_ALL;
		else
			return fail(err, errlen, name, "missed",
			            "must be \"skip\", \"once\" or \"all\"");
	}
	s->missed_after_ms = SCHEDULE_MISSED_AFTER_MS;
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "missed_after")) != NULL) {
		if ((r = get_duration(v, name, "missed_after", &s->missed_after_ms, err, errlen)) <
		    0)
			return r;
		if (s->missed_after_ms < 1000)
			return fail(err, errlen, name, "missed_after", "must be at least 1s");
	}
	s->missed_max = SCHEDULE_MISSED_MAX;
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "missed_max")) != NULL) {
		if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble ||
		    v->valuedouble < 1 || v->valuedouble > SCHEDULE_MISSED_MAX_LIMIT)
			return fail(err, errlen, name, "missed_max",
			            "must be an integer from 1 to %d", SCHEDULE_MISSED_MAX_LIMIT);
		s->missed_max = (int)v->valuedouble;
	}
	return 0;
}

int
schedules_parse(const struct cJSON *obj, const struct config *cfg, struct schedule **out, size_t *n,
                char *err, size_t errlen)
{
	struct schedule *s = NULL;
	const cJSON *it;
	size_t count = 0, i = 0;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (!cJSON_IsObject(obj)) {
		snprintf(err, errlen, "schedules: must be an object of named schedules");
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, obj) count++;
	if (count == 0)
		return 0;
	if (count > 1000) {
		snprintf(err, errlen, "schedules: at most 1000 schedules");
		return -EINVAL;
	}
	if ((s = calloc(count, sizeof(*s))) == NULL)
		return -ENOMEM;
	cJSON_ArrayForEach(it, obj)
	{
		if (!name_type_valid(it->string)) {
			char shown[72];

			text_escape(it->string, strlen(it->string), shown, sizeof(shown), NULL);
			snprintf(err, errlen,
			         "schedules: invalid schedule name '%s' (expected "
			         "[a-z0-9][a-z0-9_-]{0,63})",
			         shown);
			r = -EINVAL;
			break;
		}
		if ((s[i].name = strdup(it->string)) == NULL) {
			r = -ENOMEM;
			break;
		}
		i++;
		if ((r = parse_one(it, cfg, &s[i - 1], err, errlen)) < 0)
			break;
	}
	if (r < 0) {
		schedules_release(s, i);
		return r;
	}
	*out = s;
	*n = count;
	return 0;
}

void
schedules_release(struct schedule *s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(s[i].name);
		free(s[i].spec);
		free(s[i].zone);
		free(s[i].type);
		cJSON_free(s[i].payload);
		free(s[i].namespace);
	}
	free(s);
}

int
schedule_next(const struct schedule *s, int64_t after, int64_t *out)
{
	if (s->is_cron)
		return cron_next(&s->cron, s->zone, after, out);
	*out = time_add(after, s->every_ms);
	return 0;
}

#define DUE_CAP SCHEDULE_PLAN_MAX

/* The due ticks (last < t <= now), oldest first, the newest DUE_CAP of them in due[]; returns
 * how many there are in all (or -errno), *newest the newest one. */
static int64_t
due_ticks(const struct schedule *s, int64_t last, int64_t now, int64_t *due, size_t *kept,
          int64_t *newest)
{
	int64_t total = 0, t = last;

	*kept = 0;
	*newest = 0;
	if (!s->is_cron) {
		int64_t k = (now - last) / s->every_ms, from = k > DUE_CAP ? k - DUE_CAP : 0;

		for (int64_t i = from + 1; i <= k; i++)
			due[(*kept)++] = last + i * s->every_ms;
		*newest = k > 0 ? last + k * s->every_ms : 0;
		return k;
	}
	/* At most a year and a bit of a long downtime is walked. */
	if (now - t > 400LL * 86400000)
		t = now - 400LL * 86400000;
	for (;;) {
		int64_t next;
		int r;

		if ((r = cron_next(&s->cron, s->zone, t, &next)) == -ERANGE ||
		    (r == 0 && next > now))
			break;
		if (r < 0)
			return r;
		t = next;
		if (*kept == DUE_CAP) {
			memmove(due, due + 1, (DUE_CAP - 1) * sizeof(*due));
			(*kept)--;
		}
		due[(*kept)++] = t;
		*newest = t;
		total++;
	}
	return total;
}

int
schedule_plan(const struct schedule *s, int64_t last, int64_t now, struct schedule_plan *p)
{
	int64_t due[DUE_CAP], total, newest, missed_total;
	size_t kept, nmissed = 0, take;

	memset(p, 0, sizeof(*p));
	p->new_last = last;
	if (last <= 0) {
		/* First sight: an interval starts now, a cron expression at its next tick. */
		p->new_last = now;
		if (!s->is_cron)
			p->ticks[p->n++] = now;
		return 0;
	}
	if (last >= now)
		return 0;
	if ((total = due_ticks(s, last, now, due, &kept, &newest)) < 0)
		return (int)total;
	if (total == 0)
		return 0;
	p->new_last = newest;
	/* due[0..nmissed) were missed, due[nmissed..kept) are on time (the newest). */
	while (nmissed < kept && now - due[nmissed] > s->missed_after_ms)
		nmissed++;
	missed_total = total - (int64_t)(kept - nmissed);
	take = 0;
	if (s->missed == MISSED_ALL)
		take = nmissed < (size_t)s->missed_max ? nmissed : (size_t)s->missed_max;
	else if (s->missed == MISSED_ONCE && nmissed == kept && nmissed > 0)
		take = 1;
	for (size_t i = nmissed - take; i < kept; i++)
		p->ticks[p->n++] = due[i];
	p->skipped = missed_total - (int64_t)take;
	return 0;
}
