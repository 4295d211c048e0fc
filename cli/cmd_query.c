/* jobq list, show: the jobs queued, running and done (status: cmd_status.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "cli.h"
#include "duration.h"
#include "output.h"

enum { OPT_JSONL = CLI_OPT_JSON + 1 };

/* ---- list ---- */

struct list_ctx {
	struct cli *c;
	int64_t now;
	int64_t shown;
	int64_t limit; /* 0: none */
	int jsonl;     /* --jsonl: one object per line, no array */
	int more;      /* a row beyond the limit exists */
	struct table t;
	int err;
};

static int
list_row(const struct job *j, void *arg)
{
	struct list_ctx *l = arg;
	const char *text;
	char id[24], att[48], age[32], ns[80], body[256], sum[320];
	const char *row[] = {id, j->type, job_state_name(j->state), ns, att, age, sum};

	if (l->limit > 0 && l->shown >= l->limit) {
		l->more = 1;
		return 1;
	}
	l->shown++;
	if (l->c->json) {
		cJSON *o = job_to_json(j);

		if (o == NULL ||
		    (l->jsonl ? json_print(o) : json_print_item(o, l->shown == 1)) < 0) {
			cJSON_Delete(o);
			l->err = -ENOMEM;
			return 1;
		}
		cJSON_Delete(o);
		return 0;
	}
	snprintf(id, sizeof(id), "%" PRId64, j->id);
	snprintf(att, sizeof(att), "%" PRId64 "/%" PRId64, j->attempts, j->max_attempts);
	format_age(time_sub(l->now, j->created_at), age, sizeof(age)); /* rows hold any value */
	text_summary(j->namespace, 24, ns, sizeof(ns));
	if ((j->state == JOB_FAILED || j->state == JOB_CANCELLED || j->state == JOB_QUEUED) &&
	    j->error != NULL)
		text = j->error;
	else if (j->state == JOB_SUCCEEDED && j->result != NULL)
		text = j->result;
	else
		text = j->payload;
	text_summary(text, 60, body, sizeof(body));
	if (j->state == JOB_QUEUED && j->run_at > l->now) {
		char in[32];

		format_age(j->run_at - l->now, in, sizeof(in));
		snprintf(sum, sizeof(sum), "(in %s) %s", in, body);
	} else {
		strlcpy(sum, body, sizeof(sum));
	}
	if (table_add(&l->t, row) < 0) {
		l->err = -ENOMEM;
		return 1;
	}
	return 0;
}

int
cmd_list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"state", required_argument, NULL, 's'},
	        {"type", required_argument, NULL, 't'},
	        {"namespace", required_argument, NULL, 'n'},
	        {"batch", required_argument, NULL, 'b'},
	        {"limit", required_argument, NULL, 'l'},
	        {"jsonl", no_argument, NULL, OPT_JSONL},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	static const char *const hdr[] = {"ID",       "TYPE", "STATE",  "NS",
	                                  "ATTEMPTS", "AGE",  "SUMMARY"};
	static const enum col_align al[] = {COL_RIGHT, COL_LEFT,  COL_LEFT, COL_LEFT,
	                                    COL_RIGHT, COL_RIGHT, COL_LEFT};
	struct job_filter f;
	struct list_ctx l;
	enum job_state st;
	int64_t limit = -1;
	int ch, r, code, jsonl = 0;

	memset(&f, 0, sizeof(f));
	f.state = -1;
	while ((ch = cli_getopt(c, argc, argv, ":hqvs:t:n:b:l:", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_JSONL:
			jsonl = 1;
			break;
		case 's':
			if (job_state_parse(optarg, &st) < 0)
				return cli_usage_fail("list",
				                      "list: invalid state '%s': queued, running, "
				                      "succeeded, failed or cancelled",
				                      CLI_SHOWN(optarg));
			f.state = (int)st;
			break;
		case 't':
			f.type = optarg;
			break;
		case 'n':
			f.namespace = optarg;
			break;
		case 'b':
			f.batch = optarg;
			break;
		case 'l':
			if ((code = cli_parse_int("--limit", optarg, 0, INT64_MAX - 1, &limit)) !=
			    0)
				return code;
			break;
		default:
			return cli_getopt_exit(ch);
		}
	}
	if (optind < argc)
		return cli_usage_fail("list", "list: unexpected argument '%s'",
		                      CLI_SHOWN(argv[optind]));
	if ((code = cli_open_store(c, 1)) != 0)
		return code;

	memset(&l, 0, sizeof(l));
	l.c = c;
	l.now = time_now_ms();
	if (jsonl)
		c->json = l.jsonl = 1;
	l.limit = limit >= 0 ? limit : c->json ? 0 : 100;
	/* one more than shown tells whether the list was cut */
	f.limit = l.limit > 0 ? l.limit + 1 : 0;
	table_init(&l.t, 7, hdr, al);
	if (c->json && !l.jsonl)
		fputs("[", stdout);
	r = store_list(c->st, &f, list_row, &l);
	if (r < 0) {
		code = cli_store_fail(c, r, "cannot list jobs");
		goto out;
	}
	if (l.err == 0 && c->json) {
		if (!l.jsonl)
			fputs("]\n", stdout);
	} else if (l.err == 0 && l.shown == 0)
		printf("no jobs\n");
	else if (l.err == 0)
		l.err = table_print(&l.t, stdout);
	if (l.err < 0) {
		code = cli_fail(EX_OSERR, "out of memory");
		goto out;
	}
	if (l.more && !c->json && !c->quiet)
		fprintf(stderr,
		        "jobq: showing the first %" PRId64 " jobs; --limit N or --limit 0 for "
		        "more\n",
		        l.limit);
	code = 0;
out:
	table_release(&l.t);
	return code;
}

/* ---- show ---- */

int
cmd_show(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
	struct job j;
	int64_t id;
	int ch, r, code;

	while ((ch = cli_getopt(c, argc, argv, ":hqv", opts, NULL)) != -1)
		return cli_getopt_exit(ch);
	if (optind >= argc)
		return cli_usage_fail("show", "show: missing job ID");
	if (optind + 1 < argc)
		return cli_usage_fail("show", "show: one job ID at a time ('%s' is one too many)",
		                      CLI_SHOWN(argv[optind + 1]));
	if ((code = cli_parse_id(argv[optind], &id)) != 0)
		return code;
	if ((code = cli_open_store(c, 1)) != 0)
		return code;
	memset(&j, 0, sizeof(j));
	if ((r = store_get(c->st, id, &j)) == -ESRCH)
		return cli_fail(1, "job %" PRId64 ": not found", id);
	if (r < 0)
		return cli_store_fail(c, r, "cannot read the job");
	if (c->json) {
		cJSON *o = job_to_json(&j);

		if (o == NULL)
			code = cli_fail(EX_OSERR, "out of memory");
		else if ((code = cli_show_parents(c, &j, o)) == 0 && json_print(o) < 0)
			code = cli_fail(EX_OSERR, "out of memory");
		cJSON_Delete(o);
	} else {
		job_print_human(&j, stdout);
		code = cli_show_parents(c, &j, NULL);
	}
	job_release(&j);
	return code;
}
