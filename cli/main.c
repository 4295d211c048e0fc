/* jobq: global options, then one subcommand. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/string.h>

#include "cli.h"
#include "log.h"
#include "prefault.h"
#include "trust.h"

/* The commands; their help is cli/help.c's table, one entry each. */
const struct cli_command cli_commands[] = {
        {"enqueue", cmd_enqueue, 0},
        {"supervise", cmd_supervise, CLI_CMD_SELF_EXE | CLI_CMD_LONG},
        {"status", cmd_status, 0},
        {"list", cmd_list, 0},
        {"show", cmd_show, 0},
        {"cancel", cmd_cancel, 0},
        {"retry", cmd_retry, 0},
        {"wait", cmd_wait, 0},
        {"pause", cmd_pause, 0},
        {"resume", cmd_resume, 0},
        {"prune", cmd_prune, 0},
        {"claim", cmd_claim, 0},
        {"heartbeat", cmd_heartbeat, 0},
        {"complete", cmd_complete, 0},
        {"fail", cmd_fail, 0},
        {"reload", cmd_reload, 0},
        {"init", cmd_init, 0},
        {"migrate", cmd_migrate, 0},
        {"help", cmd_help, 0},
        {"logs", cmd_logs, 0},
        {"top", cmd_top, 0},
        {"metrics", cmd_metrics, 0},
        {"schedules", cmd_schedules, 0},
        /* a supervised worker */
        {"worker", cmd_worker, CLI_CMD_SELF_EXE | CLI_CMD_HIDDEN | CLI_CMD_LONG},
};
const size_t cli_ncommands = sizeof(cli_commands) / sizeof(cli_commands[0]);

enum { OPT_DB = CLI_OPT_JSON + 1, OPT_CONFIG };

/* A one-job `jobq enqueue` peaks near 230 KB of heap (SQLite's page cache and schema, jobq's
 * statements) and 60 KB of stack: made present at once (core/prefault.h). */
enum { PREFAULT_HEAP = 256 * 1024, PREFAULT_STACK = 64 * 1024 };

/* Fill c->self_exe from /proc/self/exe. Returns 0 or an exit code. */
static int
find_self_exe(struct cli *c)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n < 0)
		return cli_fail(EX_OSERR, "cannot find this program: /proc/self/exe: %s",
		                strerror(errno));
	buf[n] = '\0';
	if ((c->self_exe = strdup(buf)) == NULL)
		return cli_fail(EX_OSERR, "out of memory");
	return 0;
}

/* An unknown command (opts NULL) or global option: say so, with the closest name when one is
 * near ("did you mean 'status'?"). */
static int
unknown(const char *arg, const struct option *opts)
{
	const char *names[16], *near;
	char shown[NAME_SHOWN_SIZE], *eq;
	size_t n = 0;

	if (opts == NULL)
		return cli_unknown_command(arg);
	name_shown(arg, shown, sizeof(shown));
	if ((eq = strchr(shown, '=')) != NULL)
		*eq = '\0';
	for (; opts->name != NULL && n < sizeof(names) / sizeof(names[0]); opts++)
		names[n++] = opts->name;
	if (strncmp(shown, "--", 2) == 0 && (near = cli_suggest(shown + 2, names, n)) != NULL)
		return cli_usage_fail(NULL, "unknown option '%s' (did you mean '--%s'?)", shown,
		                      near);
	return cli_usage_fail(NULL, "unknown option '%s'", shown);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"db", required_argument, NULL, OPT_DB},
	        {"config", required_argument, NULL, OPT_CONFIG},
	        {"json", no_argument, NULL, CLI_OPT_JSON},
	        {"quiet", no_argument, NULL, 'q'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	struct cli c;
	const char *db = getenv("JOBQ_DB");
	const struct cli_command *cmd = NULL;
	int ch, code, db_named = db != NULL && *db != '\0';

	/* Every jobq process uses SQLite from its one thread. */
	(void)store_single_thread();
	memset(&c, 0, sizeof(c));
	c.prog = "jobq";
	c.argc0 = argc;
	c.argv0 = argv;
	config_init_default(&c.cfg);
	if (db == NULL || *db == '\0')
		db = "jobq.db";
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:hqvV", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_DB:
			db = optarg;
			db_named = 1;
			break;
		case OPT_CONFIG:
			c.config_arg = optarg;
			break;
		case CLI_OPT_JSON:
			c.json = 1;
			break;
		case 'q':
			c.quiet = 1;
			break;
		case 'v':
			c.verbose = 1;
			break;
		case 'h':
			cli_help_usage(stdout);
			return cli_finish_output(0);
		case 'V':
			printf("jobq %s\n", JOBQ_VERSION);
			return cli_finish_output(0);
		case ':':
			return cli_usage_fail(NULL, "option '%s' needs a value",
			                      CLI_SHOWN(argv[optind - 1]));
		default:
			if (optopt > ' ' && optopt < 127 && strncmp(argv[optind - 1], "--", 2) != 0)
				return cli_usage_fail(NULL, "unknown option '-%c'", optopt);
			return unknown(argv[optind - 1], opts);
		}
	}
	if (optind >= argc) {
		cli_help_usage(stderr);
		return EX_USAGE;
	}
	for (size_t i = 0; i < cli_ncommands; i++) {
		if (strcmp(argv[optind], cli_commands[i].name) == 0)
			cmd = &cli_commands[i];
	}
	if (cmd == NULL)
		return unknown(argv[optind], NULL);
	/* Before the process's first malloc (none above), or it would do little. */
	if (!(cmd->flags & CLI_CMD_LONG))
		(void)prefault_memory(PREFAULT_HEAP, PREFAULT_STACK);
	if ((code = cli_set_db(&c, db, db_named)) != 0)
		return code;
	log_init(argv[0], c.verbose ? LOG_LVL_DEBUG : c.quiet ? LOG_LVL_WARN : LOG_LVL_INFO);
	if ((cmd->flags & CLI_CMD_SELF_EXE) && (code = find_self_exe(&c)) != 0)
		return code;

	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: a full re-initialisation for the subcommand's own options */
	code = cmd->fn(&c, argc, argv);
	if (code == CLI_EXIT_HELP)
		code = 0;

	store_close(c.st);
	config_release(&c.cfg);
	free(c.self_exe);
	return cli_finish_output(code);
}
