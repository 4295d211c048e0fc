/* jobq schedules: the configuration's schedules and what the database remembers of them; and
 * the dependencies that jobq show prints. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "duration.h"
#include "output.h"
#include "schedule.h"

static const char *
missed_name(enum schedule_missed m)
{
	return m == MISSED_SKIP ? "skip" : m == MISSED_ONCE ? "once" : "all";
}

/* The next tick of s at now for a store state: what the supervisor will fire next. */
static int64_t
next_tick(const struct schedule *s, const struct schedule_state *ss, int64_t now)
{
	int64_t next = 0;

	if (ss->last_tick == 0)
		return s->is_cron ? (schedule_next(s, now, &next) == 0 ? next : 0) : now;
	if (schedule_next(s, ss->last_tick, &next) < 0)
		return 0;
	return next;
}

int
cmd_schedules(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
	static const char *const headers[] = {"NAME",   "SPEC",      "ZONE",     "TYPE",
	                                      "MISSED", "LAST TICK", "NEXT TICK"};
	static const enum col_align align[] = {COL_LEFT, COL_LEFT, COL_LEFT, COL_LEFT,
	                                       COL_LEFT, COL_LEFT, COL_LEFT};
	int64_t now = time_now_ms();
	struct table t;
	cJSON *arr = NULL;
	int ch, r, code = 0;

	while ((ch = cli_getopt(c, argc, argv, ":hqv", opts, NULL)) != -1)
		return cli_getopt_exit(ch);
	if (optind < argc)
		return cli_usage_fail("schedules", "schedules: unexpected argument '%s'",
		                      CLI_SHOWN(argv[optind]));
	if ((code = cli_load_config(c)) != 0)
		return code;
	if ((code = cli_open_store(c, 1)) != 0)
		return code;
	table_init(&t, 7, headers, align);
	if (c->json && (arr = cJSON_CreateArray()) == NULL)
		return cli_fail(EX_OSERR, "out of memory");
	for (size_t i = 0; i < c->cfg.nschedules; i++) {
		const struct schedule *s = &c->cfg.schedules[i];
		struct schedule_state ss;
		int64_t next;
		char last[80], nxt[40], spec[300];

		if ((r = store_schedule_get(c->st, s->name, &ss)) < 0) {
			code = cli_store_fail(c, r, "cannot read the schedules");
			goto out;
		}
		next = next_tick(s, &ss, now);
		if (c->json) {
			cJSON *o = cJSON_CreateObject();

			if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
			    cJSON_AddStringToObject(o, "name", s->name) == NULL ||
			    cJSON_AddStringToObject(o, s->is_cron ? "cron" : "every", s->spec) ==
			            NULL ||
			    cJSON_AddStringToObject(o, "timezone", s->zone) == NULL ||
			    cJSON_AddStringToObject(o, "type", s->type) == NULL ||
			    cJSON_AddStringToObject(o, "missed", missed_name(s->missed)) == NULL ||
			    json_add_time(o, "last_tick", ss.fired_tick) < 0 ||
			    (ss.last_job > 0
			             ? json_add_int(o, "last_job", ss.last_job)
			             : (cJSON_AddNullToObject(o, "last_job") == NULL ? -1 : 0)) <
			            0 ||
			    json_add_time(o, "next_tick", next) < 0) {
				code = cli_fail(EX_OSERR, "out of memory");
				goto out;
			}
			continue;
		}
		snprintf(spec, sizeof(spec), s->is_cron ? "cron %s" : "every %s", s->spec);
		if (ss.fired_tick > 0) {
			char when[40];

			time_format_rfc3339(ss.fired_tick, when, sizeof(when));
			snprintf(last, sizeof(last), "%s (job %" PRId64 ")", when, ss.last_job);
		} else {
			snprintf(last, sizeof(last), "-");
		}
		if (next > 0)
			time_format_rfc3339(next, nxt, sizeof(nxt));
		else
			snprintf(nxt, sizeof(nxt), "-");
		{
			const char *row[] = {
			        s->name, spec, s->zone, s->type, missed_name(s->missed), last, nxt};

			if (table_add(&t, row) < 0) {
				code = cli_fail(EX_OSERR, "out of memory");
				goto out;
			}
		}
	}
	if (c->json) {
		if (json_print(arr) < 0)
			code = cli_fail(EX_OSERR, "out of memory");
	} else if (c->cfg.nschedules == 0) {
		if (!c->quiet)
			printf("no schedules (add \"schedules\" to the configuration)\n");
	} else if (table_print(&t, stdout) < 0) {
		code = cli_fail(EX_OSERR, "out of memory");
	}
out:
	cJSON_Delete(arr);
	table_release(&t);
	return code;
}

void
cli_print_next_tick(struct cli *c, int64_t now)
{
	const struct schedule *first = NULL;
	int64_t best = 0;
	char when[40];

	for (size_t i = 0; i < c->cfg.nschedules; i++) {
		const struct schedule *s = &c->cfg.schedules[i];
		struct schedule_state ss;
		int64_t next;

		if (store_schedule_get(c->st, s->name, &ss) < 0)
			return;
		next = next_tick(s, &ss, now);
		if (next > 0 && (first == NULL || next < best)) {
			first = s;
			best = next;
		}
	}
	if (c->cfg.nschedules == 0)
		return;
	if (first == NULL) {
		printf("schedules: %zu (jobq schedules)\n", c->cfg.nschedules);
		return;
	}
	time_format_rfc3339(best, when, sizeof(when));
	printf("schedules: %zu, next: %s at %s (jobq schedules)\n", c->cfg.nschedules, first->name,
	       when);
}

/* ---- jobq show: the parents of a job ---- */

struct parents {
	cJSON *after, *blocked;
	int queued; /* the job is queued: parents not succeeded block it */
	char text[512], blocked_text[512];
	int oom;
};

static void
on_parent(int64_t id, enum job_state state, void *ctx)
{
	struct parents *p = ctx;
	size_t len = strlen(p->text), blen = strlen(p->blocked_text);
	int blocks = p->queued && state != JOB_SUCCEEDED;

	snprintf(p->text + len, sizeof(p->text) - len, "%s%" PRId64 " (%s)", len > 0 ? ", " : "",
	         id, job_state_name(state));
	if (blocks)
		snprintf(p->blocked_text + blen, sizeof(p->blocked_text) - blen, "%s%" PRId64,
		         blen > 0 ? ", " : "", id);
	if (p->after != NULL) {
		cJSON *o = cJSON_CreateObject();

		if (o == NULL || !cJSON_AddItemToArray(p->after, o) ||
		    cJSON_AddNumberToObject(o, "id", (double)id) == NULL ||
		    cJSON_AddStringToObject(o, "state", job_state_name(state)) == NULL)
			p->oom = 1;
		if (blocks && !cJSON_AddItemToArray(p->blocked, cJSON_CreateNumber((double)id)))
			p->oom = 1;
	}
}

int
cli_show_parents(struct cli *c, const struct job *j, cJSON *obj)
{
	struct parents p;
	int r;

	memset(&p, 0, sizeof(p));
	p.queued = j->state == JOB_QUEUED;
	if (obj != NULL && ((p.after = cJSON_AddArrayToObject(obj, "after")) == NULL ||
	                    (p.blocked = cJSON_AddArrayToObject(obj, "blocked_by")) == NULL))
		return cli_fail(EX_OSERR, "out of memory");
	if ((r = store_job_parents(c->st, j->id, on_parent, &p)) < 0)
		return cli_store_fail(c, r, "cannot read the job");
	if (p.oom)
		return cli_fail(EX_OSERR, "out of memory");
	if (obj == NULL && r > 0) {
		printf("after: %s\n", p.text);
		if (p.blocked_text[0] != '\0')
			printf("blocked_by: %s\n", p.blocked_text);
	}
	return 0;
}
