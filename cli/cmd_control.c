/* jobq cancel, retry, pause, resume, prune: the operator's levers. */
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "cli.h"
#include "hostid.h"
#include "dblocal.h"
#include "fileio.h"
#include "jobenv.h"
#include "wake.h"
#include "duration.h"
#include "names.h"
#include "output.h"
#include "proc.h"
#include "runtime.h"

/* Selection by ids or by filters, shared by cancel and retry. */
struct selection {
	struct job_filter f;
	int64_t *ids;
	size_t nids;
	int filtered; /* a --type/--namespace/--batch/--state was given */
};

/* Parse the operands as ids; exactly one of ids or filters must be given. */
static int
selection_finish(struct selection *s, const char *cmd, int argc, char **argv)
{
	int code;

	if ((code = cli_parse_ids(argc, argv, optind, &s->ids, &s->nids)) != 0)
		return code;
	if (s->nids > 0 && s->filtered)
		return cli_usage_fail(cmd, "%s: give job ids or filters, not both", cmd);
	if (s->nids == 0 && !s->filtered)
		return cli_usage_fail(cmd, "%s: which jobs? give job ids or filters", cmd);
	s->f.ids = s->ids;
	s->f.nids = s->nids;
	return 0;
}

/* How many of the ids the database does not hold; with say, "job N: not found" for each. */
static size_t
count_missing(struct cli *c, const int64_t *ids, size_t nids, int say)
{
	size_t missing = 0;

	for (size_t i = 0; i < nids; i++) {
		struct job j;

		if (store_get(c->st, ids[i], &j) == -ESRCH) {
			if (say)
				cli_fail(1, "job %" PRId64 ": not found", ids[i]);
			missing++;
		}
		job_release(&j);
	}
	return missing;
}

/* 1 when a change by ids touched none of them and none exists: only errors are printed. */
static int
all_missing(struct cli *c, const struct selection *s, int64_t n)
{
	return s->nids > 0 && n == 0 && count_missing(c, s->ids, s->nids, 0) == s->nids;
}

/* The exit of a change by ids that touched n of them: 0 when all; else 1, after naming the ids
 * not found and counting the others ("1 of 2 jobs were not failed or cancelled"). */
static int
report_partial(struct cli *c, const struct selection *s, int64_t n, const char *not_what)
{
	size_t missing, other;

	if (s->nids == 0 || (size_t)n >= s->nids)
		return 0;
	missing = count_missing(c, s->ids, s->nids, 1);
	other = s->nids - (size_t)n > missing ? s->nids - (size_t)n - missing : 0;
	if (other > 0)
		cli_fail(1, "%zu of %zu jobs were not %s", other, s->nids, not_what);
	return 1;
}

/* ---- cancel ---- */

/* With no supervisor to act, the running jobs cancelled whose recorded owner is dead are taken
 * back here by the store's recovery (they become cancelled), then what they left running is
 * killed: their process group (if the leader is still the recorded one) and whatever carries
 * their identity in the environment. */
struct ownerless {
	const char *db;
	const char *host; /* this host's id: only its jobs' processes are killed */
	int64_t cancelled;
};

static void
kill_left(const struct job *j, enum job_lost why, void *arg)
{
	struct ownerless *o = arg;
	struct jobenv_ident w;

	(void)why;
	if (!store_job_is_local(j, o->host))
		return; /* another host's: its processes are not here */
	jobenv_ident_init(&w, j->id, 0, o->db); /* ENOMEM: no env scan */
	struct proc_job pj = {
	        .pgid = (pid_t)j->pgid, .pgid_start = (uint64_t)j->pgid_start, .env = w.env};
	proc_kill_job(&pj, 0, SIGKILL);
	jobenv_ident_release(&w);
	o->cancelled += j->cancel_requested != 0;
}

/* Returns how many running jobs were cancelled at once (their owner was gone). */
static int64_t
cancel_ownerless(struct cli *c, const struct job_filter *f)
{
	struct runtime_info ri;
	char db[PATH_MAX];
	char host[HOSTID_MAX + 1];
	struct ownerless o = {.db = db, .host = host};
	struct recover_req req = {
	        .what = RECOVER_OWNERS, .f = f, .on_lost = kill_left, .ctx = &o, .host = host};

	memset(&ri, 0, sizeof(ri));
	if (cli_host_id(c, host, sizeof(host)) != 0)
		return 0; /* an invalid JOBQ_HOST: said already; no process of this host is touched */
	if (runtime_read(c->db_path, &ri) == 1 && !ri.stale)
		return 0; /* the supervisor acts on the request */
	/* the same absolute path the supervisor exported as JOBQ_DB (main made it canonical) */
	if (db_local_is_pg(c->db_path) || path_absolute(c->db_path, db, sizeof(db)) < 0)
		strlcpy(db, c->db_path, sizeof(db));
	(void)store_recover(c->st, &req);
	return o.cancelled;
}

int
cmd_cancel(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"type", required_argument, NULL, 't'},
	        {"namespace", required_argument, NULL, 'n'},
	        {"batch", required_argument, NULL, 'b'},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	struct selection s;
	int64_t n, running = 0, now_done = 0;
	int ch, code;

	memset(&s, 0, sizeof(s));
	s.f.state = -1;
	while ((ch = cli_getopt(c, argc, argv, ":hqvt:n:b:", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			s.f.type = optarg;
			break;
		case 'n':
			s.f.namespace = optarg;
			break;
		case 'b':
			s.f.batch = optarg;
			break;
		default:
			return cli_getopt_exit(ch);
		}
		s.filtered = 1;
	}
	if ((code = selection_finish(&s, "cancel", argc, argv)) != 0)
		goto out;
	if ((code = cli_load_config(c)) != 0 || (code = cli_open_store(c, 1)) != 0)
		goto out;
	if ((n = store_cancel(c->st, &s.f, &running)) < 0) {
		code = cli_store_fail(c, (int)n, "cannot cancel");
		goto out;
	}
	if (running > 0) {
		cli_notify_supervisor(c, WAKE_CANCEL);
		now_done = cancel_ownerless(c, &s.f);
	}
	if (c->json) {
		printf("{\"cancelled\":%" PRId64 ",\"cancel_requested\":%" PRId64 "}\n",
		       n - running + now_done, running - now_done);
	} else if (!c->quiet && !all_missing(c, &s, n)) {
		printf("cancelled %" PRId64 " job%s", n - running + now_done,
		       n - running + now_done == 1 ? "" : "s");
		if (running - now_done > 0)
			printf("; cancel requested for %" PRId64 " running job%s",
			       running - now_done, running - now_done == 1 ? "" : "s");
		putchar('\n');
	}
	code = report_partial(c, &s, n, "queued or running");
out:
	free(s.ids);
	return code;
}

/* ---- retry ---- */

int
cmd_retry(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"type", required_argument, NULL, 't'},
	        {"namespace", required_argument, NULL, 'n'},
	        {"batch", required_argument, NULL, 'b'},
	        {"state", required_argument, NULL, 's'},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	struct selection s;
	enum job_state st;
	int64_t n;
	int ch, code;

	memset(&s, 0, sizeof(s));
	s.f.state = -1;
	while ((ch = cli_getopt(c, argc, argv, ":hqvt:n:b:s:", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			s.f.type = optarg;
			break;
		case 'n':
			s.f.namespace = optarg;
			break;
		case 'b':
			s.f.batch = optarg;
			break;
		case 's':
			if (job_state_parse(optarg, &st) < 0 ||
			    (st != JOB_FAILED && st != JOB_CANCELLED))
				return cli_usage_fail("retry",
				                      "retry: invalid state '%s': failed or "
				                      "cancelled",
				                      CLI_SHOWN(optarg));
			s.f.state = (int)st;
			break;
		default:
			return cli_getopt_exit(ch);
		}
		s.filtered = 1;
	}
	if ((code = selection_finish(&s, "retry", argc, argv)) != 0)
		goto out;
	if ((code = cli_load_config(c)) != 0 || (code = cli_open_store(c, 1)) != 0)
		goto out;
	if ((n = store_retry(c->st, &s.f)) < 0) {
		code = cli_store_fail(c, (int)n, "cannot retry");
		goto out;
	}
	if (n > 0)
		cli_notify_supervisor(c, WAKE_ALL);
	if (c->json)
		printf("{\"retried\":%" PRId64 "}\n", n);
	else if (!c->quiet && !all_missing(c, &s, n))
		printf("retried %" PRId64 " job%s\n", n, n == 1 ? "" : "s");
	code = report_partial(c, &s, n, "failed or cancelled");
out:
	free(s.ids);
	return code;
}

/* ---- pause / resume ---- */

enum { OPT_ALL = CLI_OPT_JSON + 1, OPT_UNTIL, OPT_FOR, OPT_REASON };

static const char *
kind_name(enum pause_kind k)
{
	return k == PAUSE_ALL ? "all" : k == PAUSE_TYPE ? "type" : "resource";
}

/* Shared parsing of what to pause or resume. */
static int
pause_target(const char *cmd, int all, const char *resource, int argc, char **argv,
             enum pause_kind *kind, const char **name)
{
	int given = (all ? 1 : 0) + (resource != NULL ? 1 : 0) + (optind < argc ? 1 : 0);

	if (given != 1 || argc - optind > 1)
		return cli_usage_fail(cmd, "%s: give one of TYPE, --all or --resource TAG", cmd);
	if (all) {
		*kind = PAUSE_ALL;
		*name = "";
	} else if (resource != NULL) {
		*kind = PAUSE_RESOURCE;
		*name = resource;
		if (!name_tag_valid(resource))
			return cli_fail(EX_DATAERR,
			                "invalid resource name '%s': must match "
			                "[a-z0-9][a-z0-9_.-]{0,63}",
			                CLI_SHOWN(resource));
	} else {
		*kind = PAUSE_TYPE;
		*name = argv[optind];
		if (!name_type_valid(*name))
			return cli_fail(EX_DATAERR,
			                "invalid type name '%s': must match "
			                "[a-z0-9][a-z0-9_-]{0,63}",
			                CLI_SHOWN(*name));
	}
	return 0;
}

/* A type or pool the configuration does not know: 65, naming the known ones (a typo must not
 * pause nothing and say "paused"). */
static int
check_known(struct cli *c, enum pause_kind kind, const char *name)
{
	char err[640];

	if (kind == PAUSE_TYPE && config_type_known(&c->cfg, name, err, sizeof(err)) < 0)
		return cli_fail(EX_DATAERR, "%s", err);
	if (kind == PAUSE_RESOURCE && config_pool_known(&c->cfg, name, err, sizeof(err)) < 0)
		return cli_fail(EX_DATAERR, "%s", err);
	return 0;
}

int
cmd_pause(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"all", no_argument, NULL, OPT_ALL},
	        {"resource", required_argument, NULL, 'r'},
	        {"until", required_argument, NULL, OPT_UNTIL},
	        {"for", required_argument, NULL, OPT_FOR},
	        {"reason", required_argument, NULL, OPT_REASON},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	const char *resource = NULL, *reason = NULL, *name;
	enum pause_kind kind;
	int64_t until = 0, dur = 0;
	int ch, code, all = 0, has_until = 0, has_for = 0, r;
	char t[40];

	while ((ch = cli_getopt(c, argc, argv, ":hqvr:", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_ALL:
			all = 1;
			break;
		case 'r':
			resource = optarg;
			break;
		case OPT_UNTIL:
			if ((code = cli_parse_time("--until", optarg, &until)) != 0)
				return code;
			has_until = 1;
			break;
		case OPT_FOR:
			if ((code = cli_parse_duration("--for", optarg, &dur)) != 0)
				return code;
			if (dur <= 0)
				return cli_fail(EX_USAGE,
				                "invalid duration '%s' for --for: must be "
				                "more than 0",
				                CLI_SHOWN(optarg));
			has_for = 1;
			break;
		case OPT_REASON:
			reason = optarg;
			break;
		default:
			return cli_getopt_exit(ch);
		}
	}
	if (has_until && has_for)
		return cli_usage_fail("pause", "pause: --until and --for exclude each other");
	if ((code = pause_target("pause", all, resource, argc, argv, &kind, &name)) != 0)
		return code;
	if (has_for)
		until = time_add(time_now_ms(), dur);
	if (has_until && until <= time_now_ms())
		return cli_fail(EX_USAGE, "pause: --until is in the past");
	if ((code = cli_load_config(c)) != 0 || (code = check_known(c, kind, name)) != 0 ||
	    (code = cli_open_store(c, 1)) != 0)
		return code;
	if ((r = store_pause(c->st, kind, name, until, reason)) < 0)
		return cli_store_fail(c, r, "cannot pause");
	if (until > 0)
		time_format_rfc3339(until, t, sizeof(t));
	if (c->json)
		printf("{\"kind\":\"%s\",\"name\":%s%s%s,\"until\":%s%s%s}\n", kind_name(kind),
		       kind == PAUSE_ALL ? "" : "\"", kind == PAUSE_ALL ? "null" : name,
		       kind == PAUSE_ALL ? "" : "\"", until > 0 ? "\"" : "", until > 0 ? t : "null",
		       until > 0 ? "\"" : "");
	else if (!c->quiet)
		printf("paused %s%s%s%s until %s\n",
		       kind == PAUSE_ALL ? "everything" : kind_name(kind),
		       kind == PAUSE_ALL ? "" : " '", name, kind == PAUSE_ALL ? "" : "'",
		       until > 0 ? t : "resumed");
	return 0;
}

int
cmd_resume(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"all", no_argument, NULL, OPT_ALL},
	        {"resource", required_argument, NULL, 'r'},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	const char *resource = NULL, *name;
	enum pause_kind kind;
	int ch, code, all = 0, r;

	while ((ch = cli_getopt(c, argc, argv, ":hqvr:", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_ALL:
			all = 1;
			break;
		case 'r':
			resource = optarg;
			break;
		default:
			return cli_getopt_exit(ch);
		}
	}
	if ((code = pause_target("resume", all, resource, argc, argv, &kind, &name)) != 0)
		return code;
	if ((code = cli_load_config(c)) != 0 || (code = cli_open_store(c, 1)) != 0)
		return code;
	if ((r = store_resume(c->st, kind, name)) < 0)
		return cli_store_fail(c, r, "cannot resume");
	/* A pause of a type or pool the configuration no longer names can still be lifted. */
	if (r == 0 && (code = check_known(c, kind, name)) != 0)
		return code;
	if (r > 0)
		cli_notify_supervisor(c, WAKE_ALL);
	if (c->json)
		printf("{\"kind\":\"%s\",\"name\":%s%s%s,\"resumed\":%s}\n", kind_name(kind),
		       kind == PAUSE_ALL ? "" : "\"", kind == PAUSE_ALL ? "null" : name,
		       kind == PAUSE_ALL ? "" : "\"", r > 0 ? "true" : "false");
	else if (!c->quiet)
		printf("%s %s%s%s%s\n", r > 0 ? "resumed" : "not paused:",
		       kind == PAUSE_ALL ? "everything" : kind_name(kind),
		       kind == PAUSE_ALL ? "" : " '", name, kind == PAUSE_ALL ? "" : "'");
	return 0;
}

/* ---- prune ---- */

int
cmd_prune(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"older-than", required_argument, NULL, 'o'},
	        {"state", required_argument, NULL, 's'},
	        {"batch", required_argument, NULL, 'b'},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	struct job_filter f;
	int states[JOB_NSTATES] = {0}, nstates = 0, has_age = 0, ch, code;
	int64_t age = 0, n, total = 0;
	enum job_state st;
	const char *batch = NULL;

	while ((ch = cli_getopt(c, argc, argv, ":hqvo:s:b:", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			batch = optarg;
			break;
		case 'o':
			if ((code = cli_parse_duration("--older-than", optarg, &age)) != 0)
				return code;
			has_age = 1;
			break;
		case 's':
			if (job_state_parse(optarg, &st) < 0 || st == JOB_QUEUED ||
			    st == JOB_RUNNING)
				return cli_usage_fail("prune",
				                      "prune: invalid state '%s': succeeded, "
				                      "failed or cancelled",
				                      CLI_SHOWN(optarg));
			if (!states[st]++)
				nstates++;
			break;
		default:
			return cli_getopt_exit(ch);
		}
	}
	if (!has_age)
		return cli_usage_fail("prune", "prune: --older-than DUR is required");
	if (optind < argc)
		return cli_usage_fail("prune", "prune: unexpected argument '%s'",
		                      CLI_SHOWN(argv[optind]));
	if ((code = cli_load_config(c)) != 0 || (code = cli_open_store(c, 1)) != 0)
		return code;
	memset(&f, 0, sizeof(f));
	f.batch = batch;
	f.finished_before = time_add(time_now_ms(), -age);
	if (f.finished_before <= 0)
		f.finished_before = 1;
	for (int s = 0; s < JOB_NSTATES; s++) {
		if (nstates > 0 && !states[s])
			continue;
		if (nstates == 0 && s > 0)
			break;
		f.state = nstates > 0 ? s : -1;
		if ((n = store_prune(c->st, &f)) < 0)
			return cli_store_fail(c, (int)n, "cannot prune");
		total += n;
	}
	cli_logs_prune(c);
	if (c->json)
		printf("{\"pruned\":%" PRId64 "}\n", total);
	else if (!c->quiet)
		printf("pruned %" PRId64 " job%s\n", total, total == 1 ? "" : "s");
	return 0;
}
