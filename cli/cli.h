/* Shared state and helpers of the jobq command line. */
#ifndef JOBQ_CLI_H
#define JOBQ_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "names.h"
#include "store.h"

struct cli {
	const char *prog;       /* "jobq" */
	char db_path[4096];     /* --db, $JOBQ_DB, else ./jobq.db; a PostgreSQL target as given */
	char db_shown[4096];    /* db_path as messages name it: a password masked (conninfo_mask) */
	int db_named;           /* by --db or $JOBQ_DB, not the default ./jobq.db */
	const char *config_arg; /* --config or $JOBQ_CONFIG, may be NULL */
	char config_path[4096]; /* resolved file, "" for the built-in default */
	struct config cfg;      /* loaded by cli_load_config() */
	int cfg_loaded;
	struct store *st; /* opened by cli_open_store() */
	char *self_exe;   /* absolute path of this binary (/proc/self/exe), for re-exec; set
	                   * by main for the commands that re-execute (supervise, worker) */
	int json;         /* --json (before or after the command) */
	int quiet;        /* -q: no confirmations on stdout, errors only on stderr */
	int verbose;      /* -v: more detail (log level debug) */
	int argc0;        /* main's argc and argv, for setproctitle_init() */
	char **argv0;
};

/* Values cli_getopt() returns besides option characters. */
#define CLI_OPT_HELP (-10) /* --help was printed: exit 0 */
#define CLI_OPT_ERR (-11)  /* a usage error was printed: exit 64 */
#define CLI_OPT_JSON 1000  /* long-only options of every command start here */

/* The options every command accepts after its name: --json, --quiet, --verbose, --help. */
#define CLI_COMMON_OPTIONS                                                                         \
	{"json", no_argument, NULL, CLI_OPT_JSON}, {"quiet", no_argument, NULL, 'q'},              \
	        {"verbose", no_argument, NULL, 'v'},                                               \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/*
 * getopt_long for a subcommand (argv[0] is its name). shortopts must start with ":" and hold
 * "hqv". Handles -h/--help (prints the command's entry of cli/help.c to stdout, else usage when
 * it has none; returns CLI_OPT_HELP), --json, -q, -v, unknown
 * options and missing arguments (prints a one-line error and a hint, returns CLI_OPT_ERR).
 * Returns the option character, or -1 at the end (optind is then the first operand).
 */
int cli_getopt(struct cli *c, int argc, char **argv, const char *shortopts,
               const struct option *longopts, const char *usage);

/* What a command returns after printing its --help: not an exit status; main exits 0. It lets
 * option parsers in helper functions stop the command with a non-zero return. */
#define CLI_EXIT_HELP 256

/* The return for a CLI_OPT_HELP / CLI_OPT_ERR of cli_getopt(): CLI_EXIT_HELP or 64. */
int cli_getopt_exit(int ch);

/* The name among names[0..n) closest to word, for a "did you mean" hint: Levenshtein distance
 * at most 2 and less than the word's length (the first of equals), or NULL. */
const char *cli_suggest(const char *word, const char *const *names, size_t n);

/* Print "jobq: MESSAGE" and a hint naming `jobq CMD --help` on stderr; returns 64. */
int cli_usage_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A user string (an argument, an option value, a name) to quote in a message: cut at 64 bytes
 * with "...", control bytes as '?' (name_shown()). The text lives until the end of the
 * enclosing block; every message that quotes user input goes through it. */
#define CLI_SHOWN(s) name_shown((s), (char[NAME_SHOWN_SIZE]){0}, NAME_SHOWN_SIZE)

/* Strict parsers for option values. Each prints "jobq: invalid ... 'VALUE' for OPT" and
 * returns 64 on error, 0 on success. Integers and ids are plain decimal digits (a '-' first
 * where min < 0): no space, no '+', no other base; leading zeros are fine ("05" is 5).
 * Durations are at most DURATION_MAX_MS (3650d), times from 1970 to the end of year 9999. */
int cli_parse_int(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out);
int cli_parse_duration(const char *opt, const char *s, int64_t *out_ms);
int cli_parse_time(const char *opt, const char *s, int64_t *out_ms);
/* A job id (a positive integer); the message names it as a job id. */
int cli_parse_id(const char *s, int64_t *out);

/* Parse the job ids argv[from..argc-1] into a malloc'd array (caller frees). Returns 0 or an
 * exit code (64 bad id, 70 out of memory). */
int cli_parse_ids(int argc, char **argv, int from, int64_t **ids, size_t *nids);

/* Flush stdout; on a write error (e.g. disk full, closed pipe) print it and return 74, else
 * code. */
int cli_finish_output(int code);

/* Load the config (lookup order of DESIGN.md) into c->cfg. On error prints the one-line message
 * and returns 78 (EX_CONFIG); 0 on success. */
int cli_load_config(struct cli *c);

/* Open the store (creating the database unless readonly, when cli_may_create() allows it).
 * Prints the error and returns the exit code (66, 74, 75, 69) on failure; 0 on success. */
int cli_open_store(struct cli *c, int readonly);

/*
 * Before a command creates the database: 0 when it exists, or when the user named it (--db,
 * $JOBQ_DB) or a jobq.json sits beside it; otherwise prints "no database at 'PATH': name one
 * with --db or JOBQ_DB, or create it with 'jobq init'" and returns 66. A cron job run in / must
 * not leave a /jobq.db behind.
 */
int cli_may_create(struct cli *c);

/* Set c->db_path from a --db value or $JOBQ_DB (the canonical absolute name, see trust.h; a
 * PostgreSQL target as given, its state folder checked: core/dblocal.h), c->db_shown and
 * c->db_named. Prints the error and returns its exit code (64, 77), or 0. */
int cli_set_db(struct cli *c, const char *db, int named);

/* This host's id (core/hostid.h: $JOBQ_HOST, else the loaded config's "host", else the
 * hostname) into out (HOSTID_MAX + 1 bytes). Prints the error and returns 64 when $JOBQ_HOST
 * is not a valid host id, else 0. Call after cli_load_config(). */
int cli_host_id(const struct cli *c, char *out, size_t len);

/* Print "jobq: MESSAGE" on stderr (printf format) and return code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Map a store error to its exit code and print it with context ("cannot claim: ..."). */
int cli_store_fail(struct cli *c, int r, const char *what);

/* The supervisor's runtime file of c's database (core/runtime.h) for a report: 1 read, 0 none.
 * One that cannot be read or is not trusted is named in a warning on stderr and counts as none. */
struct runtime_info;
int cli_runtime_read(struct cli *c, struct runtime_info *ri);

/* One command of main's table (cli/main.c), in the order of main's dispatch. */
struct cli_command {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	int flags; /* CLI_CMD_* */
};
#define CLI_CMD_SELF_EXE 1 /* needs c->self_exe */
#define CLI_CMD_HIDDEN 2   /* not listed nor suggested, no help: the supervisor's `jobq worker` */
#define CLI_CMD_LONG 4     /* a long-lived process: no prefault_memory() */
extern const struct cli_command cli_commands[];
extern const size_t cli_ncommands;

/* cli/help.c: the help of every command, one table entry each. */
/* `jobq --help`, `jobq help`: the usage, the commands by group, the global options. */
void cli_help_usage(FILE *f);
/* `jobq help NAME`, `jobq NAME --help`: the command's entry on stdout; fallback (when not
 * NULL) for a command that has none. */
void cli_help_command(const char *name, const char *fallback);
/* "jobq: unknown command 'X' (did you mean 'Y'?)" and the hint on stderr; returns 64. */
int cli_unknown_command(const char *arg);
/* Subcommands: argv[0] is the subcommand name; return the exit code. */
int cmd_enqueue(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_list(struct cli *c, int argc, char **argv);
int cmd_show(struct cli *c, int argc, char **argv);
int cmd_cancel(struct cli *c, int argc, char **argv);
int cmd_retry(struct cli *c, int argc, char **argv);
int cmd_pause(struct cli *c, int argc, char **argv);
int cmd_resume(struct cli *c, int argc, char **argv);
int cmd_prune(struct cli *c, int argc, char **argv);
int cmd_claim(struct cli *c, int argc, char **argv);
int cmd_heartbeat(struct cli *c, int argc, char **argv);
int cmd_complete(struct cli *c, int argc, char **argv);
int cmd_fail(struct cli *c, int argc, char **argv);
int cmd_wait(struct cli *c, int argc, char **argv);
int cmd_supervise(struct cli *c, int argc, char **argv); /* cmd_supervise.c */
int cmd_reload(struct cli *c, int argc, char **argv);    /* cmd_supervise.c */
int cmd_worker(struct cli *c, int argc, char **argv);    /* hidden: a supervised worker */
int cmd_init(struct cli *c, int argc, char **argv);      /* cmd_init.c */
int cmd_migrate(struct cli *c, int argc, char **argv);   /* cmd_init.c */
int cmd_help(struct cli *c, int argc, char **argv);      /* help.c */
int cmd_logs(struct cli *c, int argc, char **argv);      /* cmd_logs.c */
int cmd_top(struct cli *c, int argc, char **argv);       /* cmd_top.c */

/* After a prune: remove the output files (DB.logs) of the jobs no longer in the database.
 * Best effort: a folder that is missing or not ours is left alone. cmd_logs.c. */
void cli_logs_prune(struct cli *c);
int cmd_metrics(struct cli *c, int argc, char **argv);   /* cmd_metrics.c */
int cmd_schedules(struct cli *c, int argc, char **argv); /* cmd_schedules.c */
/* jobq show: print the parents of j (after, blocked_by) as lines, or add them to obj (--json:
 * "after": [{"id", "state"}], "blocked_by": [ids]). Returns 0 or an exit code. */
struct cJSON;
struct job;
int cli_show_parents(struct cli *c, const struct job *j, struct cJSON *obj);
/* jobq status: "schedules: N, next: NAME at TIME" when the configuration has schedules. */
void cli_print_next_tick(struct cli *c, int64_t now);

/* After a commit that made work runnable or cancelled a running job: tell a running supervisor
 * (best effort, never blocks, never fails the command). Implemented in cmd_supervise.c. */
void cli_notify_supervisor(struct cli *c, char what); /* WAKE_ONE, WAKE_ALL, WAKE_CANCEL */

#endif
