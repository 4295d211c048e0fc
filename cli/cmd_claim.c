/* jobq claim, heartbeat, complete, fail: external workers in any language. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "cli.h"
#include "wake.h"
#include "duration.h"
#include "fileio.h"
#include "hostid.h"
#include "names.h"
#include "output.h"

enum { OPT_TOKEN = CLI_OPT_JSON + 1, OPT_RESULT, OPT_ERROR, OPT_TEMPORARY, OPT_TOKENS };

/* The most tokens one attempt reports (as JOBQ_REPORT and http.tokens_path). */
#define TOKENS_REPORT_MAX 1000000000000LL

int
cmd_claim(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"type", required_argument, NULL, 't'},
	        {"lease", required_argument, NULL, 'l'},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	struct claim_req req;
	struct job j;
	char host[HOSTID_MAX + 1];
	const char **types = NULL;
	size_t ntypes = 0;
	int64_t lease = 0;
	int ch, r, code = 0;
	cJSON *o;

	memset(&req, 0, sizeof(req));
	memset(&j, 0, sizeof(j));
	while ((ch = cli_getopt(c, argc, argv, ":hqvt:l:", opts, NULL)) != -1) {
		switch (ch) {
		case 't': {
			const char **n;

			if (!name_type_valid(optarg)) {
				code = cli_fail(EX_DATAERR,
				                "invalid type name '%s': must match "
				                "[a-z0-9][a-z0-9_-]{0,63}",
				                CLI_SHOWN(optarg));
				goto out;
			}
			if ((n = reallocarray(types, ntypes + 1, sizeof(*n))) == NULL) {
				code = cli_fail(EX_OSERR, "out of memory");
				goto out;
			}
			types = n;
			types[ntypes++] = optarg;
			break;
		}
		case 'l':
			if ((code = cli_parse_duration("--lease", optarg, &lease)) != 0)
				goto out;
			if (lease <= 0) {
				code = cli_fail(EX_USAGE,
				                "invalid duration '%s' for --lease: must be "
				                "more than 0",
				                CLI_SHOWN(optarg));
				goto out;
			}
			break;
		default:
			code = cli_getopt_exit(ch);
			goto out;
		}
	}
	if (optind < argc) {
		code = cli_usage_fail("claim",
		                      "claim: unexpected argument '%s' (types are given with "
		                      "--type)",
		                      CLI_SHOWN(argv[optind]));
		goto out;
	}
	if ((code = cli_load_config(c)) != 0 || (code = cli_host_id(c, host, sizeof(host))) != 0 ||
	    (code = cli_open_store(c, 0)) != 0)
		goto out;
	req.host = host; /* where the claimer runs, as a supervisor's worker records it */
	req.types = types;
	req.ntypes = ntypes;
	req.lease_ms = lease;
	req.owner_pid = 0; /* an external claimer: only its lease keeps the job */
	/* With no supervisor, expired leases would never be given back: every claimer recovers
	 * them first (a cheap read of the running jobs). */
	if ((r = store_recover(c->st, &(struct recover_req){.what = RECOVER_LEASES})) < 0) {
		code = cli_store_fail(c, r, "cannot claim");
		goto out;
	}
	if ((r = store_claim(c->st, &c->cfg, &req, &j, NULL)) < 0) {
		code = cli_store_fail(c, r, "cannot claim");
		goto out;
	}
	if (r == 0) {
		printf("null\n");
		code = 1;
		goto out;
	}
	if ((o = job_to_json(&j)) == NULL || json_print(o) < 0)
		code = cli_fail(EX_OSERR, "out of memory");
	else if (fflush(stdout) != 0 || ferror(stdout))
		code = cli_fail(EX_IOERR, "cannot write the claimed job: %s", strerror(errno));
	if (code != 0) {
		/* Nobody has the token: give the job back now, its attempt not counted, rather
		 * than leave it running until its lease expires. */
		struct job_outcome back = {
		        .temporary = 1,
		        .requeue_now = 1,
		        .error = "claimed, but the claim could not be written out"};

		if (store_finish(c->st, &c->cfg, j.id, j.token, &back) < 0)
			cli_fail(code, "job %" PRId64 " stays claimed until its lease expires: %s",
			         j.id, store_errmsg(c->st));
	}
	cJSON_Delete(o);
out:
	job_release(&j);
	free(types);
	return code;
}

/* Common arguments of heartbeat, complete and fail: ID and a required --token. */
struct token_args {
	int64_t id;
	int64_t token;
	int has_token;
	int64_t lease;
	const char *result;
	const char *error;
	int temporary;
	int64_t tokens;
};

#define TOKEN_OPTION                                                                               \
	{                                                                                          \
		"token", required_argument, NULL, OPT_TOKEN                                        \
	}

static const struct option heartbeat_opts[] = {
        TOKEN_OPTION,
        {"lease", required_argument, NULL, 'l'},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
};

static const struct option complete_opts[] = {
        TOKEN_OPTION,
        {"result", required_argument, NULL, OPT_RESULT},
        {"tokens", required_argument, NULL, OPT_TOKENS},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
};

static const struct option fail_opts[] = {
        TOKEN_OPTION,
        {"error", required_argument, NULL, OPT_ERROR},
        {"temporary", no_argument, NULL, OPT_TEMPORARY},
        {"tokens", required_argument, NULL, OPT_TOKENS},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
};

static int
parse_token_args(struct cli *c, int argc, char **argv, const char *shortopts,
                 const struct option *opts, const char *usage, struct token_args *a)
{
	const char *cmd = argv[0];
	int ch, code;

	memset(a, 0, sizeof(*a));
	while ((ch = cli_getopt(c, argc, argv, shortopts, opts, usage)) != -1) {
		switch (ch) {
		case OPT_TOKEN:
			if ((code = cli_parse_int("--token", optarg, 1, INT64_MAX, &a->token)) != 0)
				return code;
			a->has_token = 1;
			break;
		case 'l':
			if ((code = cli_parse_duration("--lease", optarg, &a->lease)) != 0)
				return code;
			if (a->lease <= 0)
				return cli_fail(EX_USAGE,
				                "invalid duration '%s' for --lease: must be "
				                "more than 0",
				                CLI_SHOWN(optarg));
			break;
		case OPT_RESULT:
			a->result = optarg;
			break;
		case OPT_ERROR:
			a->error = optarg;
			break;
		case OPT_TEMPORARY:
			a->temporary = 1;
			break;
		case OPT_TOKENS:
			if ((code = cli_parse_int("--tokens", optarg, 0, TOKENS_REPORT_MAX,
			                          &a->tokens)) != 0)
				return code;
			break;
		default:
			return cli_getopt_exit(ch);
		}
	}
	if (optind >= argc)
		return cli_usage_fail(cmd, "%s: missing job ID", cmd);
	if (optind + 1 < argc)
		return cli_usage_fail(cmd, "%s: unexpected argument '%s'", cmd,
		                      CLI_SHOWN(argv[optind + 1]));
	if ((code = cli_parse_id(argv[optind], &a->id)) != 0)
		return code;
	if (!a->has_token)
		return cli_usage_fail(cmd,
		                      "%s: --token T is required (the token printed by 'jobq "
		                      "claim')",
		                      cmd);
	return 0;
}

/* The error of a fenced call on job id. */
static int
fenced_fail(struct cli *c, int r, int64_t id, const char *what)
{
	if (r == -ESTALE)
		return cli_fail(EX_TEMPFAIL, "job %" PRId64 ": token is no longer current", id);
	if (r == -ESRCH)
		return cli_fail(1, "job %" PRId64 ": not found", id);
	return cli_store_fail(c, r, what);
}

int
cmd_heartbeat(struct cli *c, int argc, char **argv)
{
	struct token_args a;
	int code, r, cancel = 0;
	int64_t lease, until;
	char t[40];

	if ((code = parse_token_args(c, argc, argv, ":hqvl:", heartbeat_opts, NULL, &a)) != 0)
		return code;
	if ((code = cli_load_config(c)) != 0 || (code = cli_open_store(c, 1)) != 0)
		return code;
	lease = a.lease > 0 ? a.lease : c->cfg.lease_ms;
	if ((r = store_heartbeat(c->st, a.id, a.token, lease, &cancel)) < 0)
		return fenced_fail(c, r, a.id, "cannot renew the lease");
	until = time_add(time_now_ms(), lease);
	time_format_rfc3339(until, t, sizeof(t));
	if (c->json)
		printf("{\"id\":%" PRId64 ",\"lease_until\":\"%s\",\"cancel_requested\":%s}\n",
		       a.id, t, cancel ? "true" : "false");
	else if (!c->quiet || cancel)
		printf("job %" PRId64 ": lease renewed until %s%s\n", a.id, t,
		       cancel ? "; cancel requested" : "");
	return 0;
}

/* Finish job a->id with outcome o and print its new state. */
static int
finish(struct cli *c, const struct token_args *a, const struct job_outcome *o)
{
	int r;

	if ((r = store_finish(c->st, &c->cfg, a->id, a->token, o)) < 0)
		return fenced_fail(c, r, a->id, "cannot finish the job");
	cli_notify_supervisor(c, WAKE_ALL); /* capacity freed */
	if (c->json)
		printf("{\"id\":%" PRId64 ",\"state\":\"%s\"}\n", a->id,
		       job_state_name((enum job_state)r));
	else if (!c->quiet)
		printf("job %" PRId64 ": %s%s\n", a->id, job_state_name((enum job_state)r),
		       r == JOB_QUEUED ? " (will be retried)" : "");
	return 0;
}

int
cmd_complete(struct cli *c, int argc, char **argv)
{
	struct token_args a;
	struct job_outcome o;
	char *text = NULL;
	int code, r;

	if ((code = parse_token_args(c, argc, argv, ":hqv", complete_opts, NULL, &a)) != 0)
		return code;
	if ((code = cli_load_config(c)) != 0)
		return code;
	memset(&o, 0, sizeof(o));
	o.succeeded = 1;
	o.result = a.result;
	o.tokens = a.tokens;
	if (a.result != NULL && strcmp(a.result, "-") == 0) {
		if ((r = fd_read_all(STDIN_FILENO, c->cfg.output_max, &text, NULL)) < 0)
			return cli_fail(r == -EFBIG ? EX_DATAERR : EX_IOERR,
			                "cannot read the result from stdin: %s",
			                r == -EFBIG ? "larger than output_max" : strerror(-r));
		o.result = text;
	}
	if ((code = cli_open_store(c, 1)) == 0)
		code = finish(c, &a, &o);
	free(text);
	return code;
}

int
cmd_fail(struct cli *c, int argc, char **argv)
{
	struct token_args a;
	struct job_outcome o;
	int code;

	if ((code = parse_token_args(c, argc, argv, ":hqv", fail_opts, NULL, &a)) != 0)
		return code;
	if ((code = cli_load_config(c)) != 0 || (code = cli_open_store(c, 1)) != 0)
		return code;
	memset(&o, 0, sizeof(o));
	o.succeeded = 0;
	o.error = a.error;
	o.temporary = a.temporary;
	o.tokens = a.tokens;
	return finish(c, &a, &o);
}
