/* jobq supervise, the hidden jobq worker, and the wake-up of a running supervisor. */
#include "cli.h"
#include "runtime.h"

void
cli_notify_supervisor(struct cli *c)
{
	(void)runtime_wake(c->db_path);
}

int
cmd_supervise(struct cli *c, int argc, char **argv)
{
	return cli_fail(69, "supervise: not built yet");
}

int
cmd_worker(struct cli *c, int argc, char **argv)
{
	return cli_fail(69, "worker: not built yet");
}
