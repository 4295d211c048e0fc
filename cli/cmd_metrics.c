/* jobq metrics: the Prometheus text of the database (supervisor/metrics.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "exitcode.h"
#include "metrics.h"
#include "runtime.h"

int
cmd_metrics(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
	struct runtime_info ri;
	char err[512], *text = NULL;
	size_t len = 0;
	int ch, r, have_rt;

	while ((ch = cli_getopt(c, argc, argv, ":hqv", opts, NULL)) != -1)
		return cli_getopt_exit(ch);
	if (optind < argc)
		return cli_usage_fail("metrics", "metrics: unexpected argument '%s'",
		                      CLI_SHOWN(argv[optind]));
	if (c->json)
		return cli_usage_fail("metrics", "metrics: --json: the output is Prometheus text");
	if ((r = cli_load_config(c)) != 0 || (r = cli_open_store(c, 1)) != 0)
		return r;
	have_rt = cli_runtime_read(c, &ri);
	if ((r = metrics_render(c->st, &c->cfg, have_rt > 0 ? &ri : NULL, &text, &len, err,
	                        sizeof(err))) < 0)
		return cli_fail(exitcode_from_errno(r), "cannot read the metrics: %s", err);
	fwrite(text, 1, len, stdout);
	free(text);
	return 0;
}
