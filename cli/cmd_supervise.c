/* jobq supervise, the hidden jobq worker, jobq reload, and waking a running supervisor. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/string.h>
#include <bsd/unistd.h>

#include "cli.h"
#include "dblocal.h"
#include "conninfo.h"
#include "fileio.h"
#include "hostid.h"
#include "log.h"
#include "proc.h"
#include "runtime.h"
#include "supervisor.h"
#include "wake.h"
#include "worker.h"

extern char **environ;

void
cli_notify_supervisor(struct cli *c, char what)
{
	(void)wake_notify(c->db_path, what);
}

/* The log of a supervisor and its workers: each line starts with the time, unless stderr is
 * the journal, which stamps lines itself. */
static void
log_foreground(void)
{
	log_use_timestamps(!log_stderr_is_journal());
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
	char db[PATH_MAX], cfg[PATH_MAX] = "", host[HOSTID_MAX + 1];
	struct supervisor_opts o = {.self_exe = c->self_exe, .host = host};
	int64_t workers = 0;
	int ch, code, r;

	while ((ch = cli_getopt(c, argc, argv, ":hqvw:d", opts, NULL)) != -1) {
		switch (ch) {
		case 'w':
			if ((code = cli_parse_int("--workers", optarg, 1, CONFIG_WORKERS_MAX,
			                          &workers)) != 0)
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
	if ((code = cli_load_config(c)) != 0 || (code = cli_host_id(c, host, sizeof(host))) != 0 ||
	    (code = cli_may_create(c)) != 0)
		return code;
	if (db_local_is_pg(c->db_path)) {
		strlcpy(db, c->db_path, sizeof(db)); /* a server's: as given (cli_set_db) */
	} else if ((r = path_absolute(c->db_path, db, sizeof(db))) < 0) {
		return cli_fail(EX_NOINPUT, "cannot open database '%s': %s", c->db_shown,
		                strerror(-r));
	}
	if (c->config_path[0] != '\0' && realpath(c->config_path, cfg) == NULL)
		return cli_fail(EX_CONFIG, "config '%s': %s", c->config_path, strerror(errno));
	o.db_path = db;
	o.config_path = cfg;
	o.workers = (int)workers;
	log_foreground();
	o.verbose = c->verbose;
	o.quiet = c->quiet;
	title_init(c);
	/* At once: the command line may hold a PostgreSQL password (the supervisor's own title
	 * comes once its workers run). */
	setproctitle("supervisor: starting, %s", c->db_shown);
	return supervisor_run(&o);
}

int
cmd_worker(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"index", required_argument, NULL, 'i'},
	        {"config-fd", required_argument, NULL, 'c'},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	char db[PATH_MAX], cfg[PATH_MAX] = "";
	struct worker_opts o = {.ctl_fd = 3, .config_fd = -1};
	int64_t index = 1, cfd = -1;
	int ch, code;

	while ((ch = cli_getopt(c, argc, argv, ":hqvi:c:", opts,
	                        "usage: jobq worker --index N [--config-fd FD] (started by jobq "
	                        "supervise)\n")) != -1) {
		if (ch == 'i')
			code = cli_parse_int("--index", optarg, 1, 4096, &index);
		else if (ch == 'c')
			code = cli_parse_int("--config-fd", optarg, 0, 1024, &cfd);
		else
			return cli_getopt_exit(ch);
		if (code != 0)
			return code;
	}
	o.config_fd = (int)cfd;
	log_foreground();
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

int
cmd_reload(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
	struct runtime_info ri;
	int ch, r;

	while ((ch = cli_getopt(c, argc, argv, ":hqv", opts, NULL)) != -1)
		return cli_getopt_exit(ch);
	if (optind < argc)
		return cli_usage_fail("reload", "reload: unexpected argument '%s'",
		                      CLI_SHOWN(argv[optind]));
	if ((r = runtime_read(c->db_path, &ri)) == -EPERM)
		return cli_fail(EX_NOPERM,
		                "refusing the runtime file of '%s': not a file jobq trusts "
		                "(another user's?)",
		                c->db_shown);
	if (r < 0)
		return cli_fail(EX_UNAVAILABLE, "cannot read the runtime file of '%s': %s",
		                c->db_shown, strerror(-r));
	if (r == 0)
		return cli_fail(EX_UNAVAILABLE, "no supervisor is running for '%s'", c->db_shown);
	if (ri.stale || (r = proc_signal(ri.pid, ri.pid_start, SIGHUP)) == -ESRCH)
		return cli_fail(EX_UNAVAILABLE,
		                "no supervisor is running for '%s' (stale runtime "
		                "file: pid %ld is gone)",
		                c->db_shown, (long)ri.pid);
	if (r < 0)
		return cli_fail(r == -EPERM ? EX_NOPERM : EX_OSERR,
		                "cannot signal the supervisor (pid %ld): %s", (long)ri.pid,
		                strerror(-r));
	if (c->json)
		printf("{\"pid\":%ld}\n", (long)ri.pid);
	else if (!c->quiet)
		printf("reload requested: supervisor pid %ld\n", (long)ri.pid);
	return 0;
}
