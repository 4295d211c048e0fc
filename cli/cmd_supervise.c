/* jobq supervise, the hidden jobq worker, and the wake-up of a running supervisor. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/string.h>
#include <bsd/unistd.h>

#include "cli.h"
#include "fileio.h"
#include "runtime.h"
#include "supervisor.h"
#include "wake.h"
#include "worker.h"

extern char **environ;

static const char supervise_usage[] =
	"usage: jobq supervise [--workers N] [--drain]\n"
	"\n"
	"Run the supervisor of the database in the foreground: recover what a crash left, fork the\n"
	"workers, run jobs under the policy until SIGTERM or SIGINT (running jobs get the grace\n"
	"period, then are stopped and requeued). SIGHUP reloads the configuration (a bad one is\n"
	"refused and the old one kept). One supervisor per database: a second exits 75.\n"
	"\n"
	"Options:\n"
	"  -w, --workers N   number of worker processes (default: from the policy)\n"
	"  -d, --drain       exit 0 once nothing is queued or running\n"
	"\n"
	"Exit: 0 stopped; 66 cannot open the database; 69 newer schema; 73 cannot create the pid file\n"
	"or the FIFO; 74 I/O error (also: job outcomes not recorded at a stop); 75 another supervisor\n"
	"runs; 77 a file beside the database not trusted; 78 bad config.\n";

void
cli_notify_supervisor(struct cli *c, char what)
{
	(void)wake_notify(c->db_path, what);
}

/* Set up the process title; the strings of argv may be overwritten by it afterwards. */
static void
title_init(struct cli *c)
{
	if (c->argv0 == NULL)
		return;
	setproctitle_init(c->argc0, c->argv0, environ);
}

int
cmd_supervise(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"workers", required_argument, NULL, 'w'},
		{"drain", no_argument, NULL, 'd'},
		CLI_COMMON_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	char db[PATH_MAX], cfg[PATH_MAX] = "";
	struct supervisor_opts o = {.self_exe = c->self_exe};
	int64_t workers = 0;
	int ch, code, r;

	while ((ch = cli_getopt(c, argc, argv, ":hqvw:d", opts, supervise_usage)) != -1) {
		switch (ch) {
		case 'w':
			if ((code = cli_parse_int("--workers", optarg, 1, 256, &workers)) != 0)
				return code;
			break;
		case 'd':
			o.drain = 1;
			break;
		default:
			return cli_getopt_exit(ch);
		}
	}
	if (optind < argc)
		return cli_usage_fail("supervise", "unexpected argument '%s'",
				      CLI_SHOWN(argv[optind]));
	if ((code = cli_load_config(c)) != 0)
		return code;
	if ((r = path_absolute(c->db_path, db, sizeof(db))) < 0)
		return cli_fail(EX_NOINPUT, "cannot open database '%s': %s", c->db_path,
				strerror(-r));
	if (c->config_path[0] != '\0' && realpath(c->config_path, cfg) == NULL)
		return cli_fail(EX_CONFIG, "config '%s': %s", c->config_path, strerror(errno));
	o.db_path = db;
	o.config_path = cfg;
	o.workers = (int)workers;
	o.verbose = c->verbose;
	o.quiet = c->quiet;
	title_init(c);
	return supervisor_run(&o);
}

int
cmd_worker(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"index", required_argument, NULL, 'i'},
		CLI_COMMON_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	char db[PATH_MAX], cfg[PATH_MAX] = "";
	struct worker_opts o = {.ctl_fd = 3};
	int64_t index = 1;
	int ch, code;

	while ((ch = cli_getopt(c, argc, argv, ":hqvi:", opts,
				"usage: jobq worker --index N (started by jobq supervise)\n")) != -1) {
		if (ch != 'i')
			return cli_getopt_exit(ch);
		if ((code = cli_parse_int("--index", optarg, 1, 4096, &index)) != 0)
			return code;
	}
	if (strlcpy(db, c->db_path, sizeof(db)) >= sizeof(db))
		return cli_fail(EX_USAGE, "--db: path too long");
	if (c->config_arg != NULL && strlcpy(cfg, c->config_arg, sizeof(cfg)) >= sizeof(cfg))
		return cli_fail(EX_USAGE, "--config: path too long");
	o.db_path = db;
	o.config_path = cfg;
	o.index = (int)index;
	title_init(c);
	return worker_run(&o);
}
