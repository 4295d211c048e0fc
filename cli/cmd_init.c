/* jobq init: create the database where the user says, the one way besides --db, JOBQ_DB or a
 * jobq.json beside it that a database comes to exist (see cli_may_create()). jobq migrate: bring
 * a database's schema to this jobq's version. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "cli.h"
#include "output.h"
#include "store.h"

enum { OPT_DB = CLI_OPT_JSON + 1 };

int
cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"db", required_argument, NULL, OPT_DB},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	struct stat sb;
	cJSON *o = NULL;
	int ch, code, existed;

	while ((ch = cli_getopt(c, argc, argv, ":hqv", opts, NULL)) != -1) {
		if (ch != OPT_DB)
			return cli_getopt_exit(ch);
		if ((code = cli_set_db(c, optarg, 1)) != 0)
			return code;
	}
	if (optind < argc)
		return cli_usage_fail("init", "init: unexpected argument '%s'",
		                      CLI_SHOWN(argv[optind]));
	existed = stat(c->db_path, &sb) == 0;
	c->db_named = 1; /* named by this command */
	if ((code = cli_load_config(c)) != 0 || (code = cli_open_store(c, 0)) != 0)
		return code;
	if (!c->json) {
		printf("%s%s\n", c->db_shown, existed ? " (exists)" : "");
		return 0;
	}
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "database", c->db_shown) == NULL ||
	    cJSON_AddBoolToObject(o, "created", !existed) == NULL) {
		cJSON_Delete(o);
		return cli_fail(EX_OSERR, "out of memory");
	}
	code = json_print(o) < 0 ? cli_fail(EX_OSERR, "out of memory") : 0;
	cJSON_Delete(o);
	return code;
}

/* Opening a database migrates it (queue/schema.c: every step above its version, in one write
 * transaction, done once when several processes open it at once): so does this command, and
 * then says the version. */
int
cmd_migrate(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"db", required_argument, NULL, OPT_DB},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	cJSON *o = NULL;
	int ch, code;

	while ((ch = cli_getopt(c, argc, argv, ":hqv", opts, NULL)) != -1) {
		if (ch != OPT_DB)
			return cli_getopt_exit(ch);
		if ((code = cli_set_db(c, optarg, 1)) != 0)
			return code;
	}
	if (optind < argc)
		return cli_usage_fail("migrate", "migrate: unexpected argument '%s'",
		                      CLI_SHOWN(argv[optind]));
	/* It never creates one: a missing database is a typo, not a request (jobq init is). */
	if ((code = cli_load_config(c)) != 0 || (code = cli_open_store(c, 1)) != 0)
		return code;
	if (!c->json) {
		printf("schema version %d\n", STORE_SCHEMA_VERSION);
		return 0;
	}
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddNumberToObject(o, "schema_version", STORE_SCHEMA_VERSION) == NULL) {
		cJSON_Delete(o);
		return cli_fail(EX_OSERR, "out of memory");
	}
	code = json_print(o) < 0 ? cli_fail(EX_OSERR, "out of memory") : 0;
	cJSON_Delete(o);
	return code;
}
