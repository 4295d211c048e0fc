/*
 * The help of the command line: `jobq --help` / `jobq help` (the command list, built from the
 * table below), and `jobq help COMMAND` / `jobq COMMAND --help` (that command's entry).
 *
 * One entry per command, in the order `jobq help` lists them: a command added to main's table
 * adds its entry here (its usage, options, exit codes and one or two examples), and the man
 * page docs/jobq.1.scd, docs/cli.md and the completions in contrib/ name it too
 * (tests/e2e/e2e-help.sh checks all of them against `jobq help --commands`).
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"

struct help {
	const char *name;
	const char *group;    /* heading of the command list */
	const char *synopsis; /* left column of the command list */
	const char *summary;  /* right column: one line */
	const char *text;     /* the whole help: usage, what it does, options, exit, examples */
};

/* One string per line of help, as it prints. */
/* clang-format off */
static const char producers[] = "Producers", running[] = "Running jobs",
		  operators[] = "Operators", other[] = "Help";

static const struct help helps[] = {
	{"init", producers, "init", "create the database (and print its path)",
	 "usage: jobq init [--db PATH]\n"
	 "\n"
	 "Create the database (default: --db before the command, $JOBQ_DB, else ./jobq.db) with its\n"
	 "schema, mode 0600, and print its absolute path; 'PATH (exists)' when it was there already.\n"
	 "enqueue, claim and supervise create a database only when --db or JOBQ_DB names it or a\n"
	 "jobq.json sits beside it; elsewhere, run 'jobq init' first.\n"
	 "\n"
	 "Options:\n"
	 "      --db PATH          the database to create (as --db before the command)\n"
	 "      --json             print {\"database\": PATH, \"created\": true|false}\n"
	 "\n"
	 "Exit: 0 created or there; 64 usage; 66 cannot create or open it (no such folder, not a jobq\n"
	 "database); 69 newer schema; 74 I/O error; 75 locked; 77 not trusted; 78 bad configuration.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq init\n"
	 "  jobq init --db /var/lib/jobq/jobq.db --json\n"},

	{"migrate", producers, "migrate", "bring the database's schema up to date",
	 "usage: jobq migrate [--db PATH]\n"
	 "\n"
	 "Open the database (default: --db before the command, $JOBQ_DB, else ./jobq.db), which\n"
	 "migrates its schema to this jobq's version, and print 'schema version N'. Every command\n"
	 "migrates a database it opens, once, in one transaction, whoever comes first; this one only\n"
	 "does that, e.g. before starting the supervisors of several hosts on a newer jobq. It never\n"
	 "creates a database: 'jobq init' does.\n"
	 "\n"
	 "Options:\n"
	 "      --db PATH          the database (as --db before the command)\n"
	 "      --json             print {\"schema_version\": N}\n"
	 "\n"
	 "Exit: 0 migrated or up to date; 64 usage; 66 no database, or not a jobq database; 69 its\n"
	 "schema is newer than this jobq; 74 I/O error; 75 locked; 77 not trusted; 78 bad\n"
	 "configuration.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq migrate\n"
	 "  jobq migrate --db /var/lib/jobq/jobq.db --json\n"},

	{"enqueue", producers, "enqueue TYPE [JSON|-]",
	 "add a job (JSON argument, - for stdin, --jsonl for many)",
	 "usage: jobq enqueue TYPE [JSON|-] [OPTIONS]\n"
	 "       jobq enqueue TYPE --jsonl FILE|- [OPTIONS]\n"
	 "\n"
	 "Add a job of TYPE (one the configuration declares) whose payload is JSON: the argument,\n"
	 "stdin when it is '-', else {}. Prints the job id, or 'ID (existing)' when --unique found\n"
	 "the job already there. With --jsonl every non-blank line of FILE (- for stdin) is one job,\n"
	 "all added in one transaction or none; prints 'N jobs: FIRST-LAST' ('(M existing)' after it\n"
	 "when unique keys found jobs). A line that is an object with a \"payload\" member is an\n"
	 "envelope: {\"payload\": JSON, \"unique_key\", \"namespace\", \"priority\", \"run_at\" or\n"
	 "\"delay\", \"batch\", \"resources\", \"max_attempts\", \"timeout\"} (each optional, each\n"
	 "replacing the option of the same meaning for that line); any other line is a payload.\n"
	 "\n"
	 "Options:\n"
	 "  -n, --namespace NS     namespace (default 'default'; any UTF-8 up to 256 bytes)\n"
	 "  -p, --priority N       higher runs first (default: the type's, else 0)\n"
	 "  -d, --delay DUR        run no earlier than DUR from now (500ms, 10s, 5m, 2h, 1d)\n"
	 "      --run-at TIME      run no earlier than TIME (RFC 3339, or @UNIXSECONDS)\n"
	 "  -m, --max-attempts N   attempts before the job fails for good (default: the type's)\n"
	 "  -t, --timeout DUR      time limit of one attempt (default: the type's)\n"
	 "  -r, --resource TAG     also take pool TAG (or TAG:N units); repeatable\n"
	 "  -u, --unique KEY       do not add a second live job with this key\n"
	 "      --unique-for DUR   a job with the key created within DUR counts too, even finished\n"
	 "                         (with --unique, or for the unique_key of --jsonl envelopes)\n"
	 "  -b, --batch NAME       label the job(s) with a batch name (for wait, list, retry)\n"
	 "  -a, --after ID[,ID]    run only once these jobs have succeeded; cancelled when one\n"
	 "                         fails or is cancelled (repeatable; with --jsonl, every line)\n"
	 "      --on-batch-done TYPE  once every job of --batch has ended, enqueue one job of TYPE\n"
	 "                         with {\"batch\", \"counts\": {\"succeeded\", \"failed\",\n"
	 "                         \"cancelled\"}, \"total\"} as its payload\n"
	 "      --jsonl FILE|-     one job per line\n"
	 "      --no-envelope      with --jsonl: every line is a payload, an envelope's shape too\n"
	 "      --json             print {\"id\": N} (or {\"count\": N, \"first_id\": A, \"last_id\": B,\n"
	 "                         \"existing\": M})\n"
	 "\n"
	 "Exit: 0 added (or found by a unique key); 64 usage; 65 bad type (or one the configuration\n"
	 "does not declare), payload, line, envelope or --after job (named); 66 cannot open the\n"
	 "database, or none was named (--db, JOBQ_DB, a jobq.json beside it, or jobq init); 75 the\n"
	 "database is locked; 78 bad configuration.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq enqueue enrich '{\"url\": \"https://example.com/a\"}' --unique enrich:a --delay 10m\n"
	 "  jq -c '.[] | {url: .}' urls.json | jobq enqueue enrich --jsonl - --batch night1\n"
	 "  jobq enqueue publish '{}' --after 17,18\n"},

	{"supervise", running, "supervise",
	 "run the supervisor in the foreground (--workers N, --drain)",
	 "usage: jobq supervise [--workers N] [--drain]\n"
	 "\n"
	 "Run the supervisor of the database in the foreground: recover what a crash left, fork the\n"
	 "workers, run jobs under the policy until SIGTERM or SIGINT (running jobs get the grace\n"
	 "period, then are stopped and requeued). SIGHUP reloads the configuration (a bad one is\n"
	 "refused and the old one kept). One supervisor per database: a second exits 75.\n"
	 "\n"
	 "Options:\n"
	 "  -w, --workers N   number of worker processes (default: from the policy)\n"
	 "  -d, --drain       exit 0 once nothing is queued or running; exit 1 once nothing is\n"
	 "                    running and only jobs of types without a handler here are queued\n"
	 "\n"
	 "Exit: 0 stopped; 1 drained, but jobs no handler here runs are left queued; 66 cannot open\n"
	 "the database (or none was named: see jobq init); 69 newer schema; 73 cannot create the pid\n"
	 "file or the FIFO; 74 I/O error (also: job outcomes not recorded at a stop); 75 another\n"
	 "supervisor runs; 77 a file beside the database not trusted; 78 bad config.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq --db /var/lib/jobq/jobq.db supervise --workers 4\n"
	 "  jobq supervise --drain       # run what is queued, then exit\n"},

	{"reload", running, "reload", "make the running supervisor reload its configuration",
	 "usage: jobq reload [--json]\n"
	 "\n"
	 "Ask the supervisor of the database to reload its configuration (SIGHUP), as\n"
	 "'systemctl reload jobq' does: it takes a good file at once (its workers between two jobs)\n"
	 "and keeps the previous one when the file does not load; its log says which, once. The\n"
	 "supervisor is the one its runtime file (DB.runtime.json) names, checked by pid and start\n"
	 "time, so a pid reused by another process is never signalled.\n"
	 "\n"
	 "Prints 'reload requested: supervisor pid N'; --json prints {\"pid\": N}.\n"
	 "\n"
	 "Exit: 0 requested; 64 usage; 69 no supervisor runs for the database; 77 its runtime file is\n"
	 "not one jobq trusts.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq reload\n"
	 "  jobq --db /var/lib/jobq/jobq.db reload --json\n"},

	{"claim", running, "claim", "external workers: claim one job under the policy",
	 "usage: jobq claim [--type T]... [--lease DUR]\n"
	 "\n"
	 "Claim the best runnable job under the whole policy of the configuration (global, per-type\n"
	 "and pool limits, singletons, pauses, run_at, priority then age) and print it as one JSON\n"
	 "object (keys as in 'jobq show --json', with its fencing \"token\"), or 'null' when nothing\n"
	 "can be claimed. The job is running until 'jobq complete' or 'jobq fail'; renew its lease\n"
	 "(default: the configuration's \"lease\", 5m) with 'jobq heartbeat' or it is requeued.\n"
	 "\n"
	 "Options:\n"
	 "  -t, --type T       only jobs of type T (repeatable; default any type)\n"
	 "  -l, --lease DUR    lease of the claim (500ms, 10s, 5m, 2h)\n"
	 "\n"
	 "Exit: 0 claimed; 1 nothing to claim; 64 usage; 65 bad type name; 75 database locked;\n"
	 "78 bad configuration.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq claim --type research --lease 10m\n"
	 "  while job=$(jobq claim --type research); do ...; done\n"},

	{"heartbeat", running, "heartbeat ID --token T", "renew the lease of a claimed job",
	 "usage: jobq heartbeat ID --token T [--lease DUR] [--json]\n"
	 "\n"
	 "Renew the lease of claimed job ID (default: the configuration's \"lease\"). Reports when a\n"
	 "cancel was requested meanwhile: the worker should then stop and 'jobq fail' the job.\n"
	 "--json prints {\"id\": N, \"lease_until\": T, \"cancel_requested\": B}.\n"
	 "\n"
	 "Options:\n"
	 "      --token T      required: the token printed by 'jobq claim'\n"
	 "  -l, --lease DUR    the new lease, from now\n"
	 "\n"
	 "Exit: 0; 1 no such job; 64 usage; 75 the token is no longer current (the job was\n"
	 "recovered, finished or claimed again: stop working on it).\n"
	 "\n"
	 "Examples:\n"
	 "  jobq heartbeat 17 --token 6104325146830066 --lease 10m\n"
	 "  jobq heartbeat \"$id\" --token \"$token\" --json | jq .cancel_requested\n"},

	{"complete", running, "complete ID --token T", "finish a claimed job as succeeded",
	 "usage: jobq complete ID --token T [--result TEXT|-] [--tokens N] [--json]\n"
	 "\n"
	 "Finish claimed job ID as succeeded. The result (JSON, or any text; - reads stdin) is kept\n"
	 "with the job. --tokens N: the attempt spent N tokens, charged to the token budgets of the\n"
	 "pools it holds (\"tokens\" in the configuration). --json prints {\"id\": N, \"state\":\n"
	 "\"succeeded\"}.\n"
	 "\n"
	 "Options:\n"
	 "      --token T        required: the token printed by 'jobq claim'\n"
	 "      --result TEXT|-  the job's result (- reads it from stdin, up to output_max)\n"
	 "      --tokens N       tokens the attempt spent (0 to 1000000000000), charged to its pools\n"
	 "\n"
	 "Exit: 0; 1 no such job; 64 usage; 65 a result on stdin larger than output_max; 75 the\n"
	 "token is no longer current.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq complete 17 --token 2263738067246110 --result '{\"answer\": 42}'\n"
	 "  ./research <payload.json | jobq complete \"$id\" --token \"$token\" --result -\n"},

	{"fail", running, "fail ID --token T",
	 "finish a claimed attempt as failed (retried while attempts remain)",
	 "usage: jobq fail ID --token T [--error TEXT] [--temporary] [--tokens N] [--json]\n"
	 "\n"
	 "Finish the claimed attempt of job ID as failed. The attempt counts, and the job goes back\n"
	 "to the queue (after an exponential backoff with jitter) while attempts remain, else it is\n"
	 "failed. --temporary retries without counting the attempt; a job whose cancel was requested\n"
	 "becomes cancelled. --tokens N as for complete. Prints the job's new state ('job N: queued\n"
	 "(will be retried)', 'job N: failed', 'job N: cancelled'); --json prints {\"id\": N, \"state\":\n"
	 "\"queued\"|\"failed\"|\"cancelled\"}.\n"
	 "\n"
	 "Options:\n"
	 "      --token T      required: the token printed by 'jobq claim'\n"
	 "      --error TEXT   what went wrong, kept with the job\n"
	 "      --temporary    retry without counting the attempt\n"
	 "      --tokens N     tokens the attempt spent, charged to its pools (as for complete)\n"
	 "\n"
	 "Exit: 0; 1 no such job; 64 usage; 75 the token is no longer current.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq fail 17 --token 2759253923956828 --error 'research exited 3'\n"
	 "  jobq fail 17 --token 2759253923956828 --temporary    # rate limited: try again later\n"},

	{"status", operators, "status", "supervisor, counts, pools, running jobs (--batch NAME)",
	 "usage: jobq status [--batch NAME] [--json]\n"
	 "\n"
	 "The supervisor (running, stale or not running), job counts by state and by type, resource\n"
	 "pools (used / capacity, paused until; the sliding windows of their rates and token budgets:\n"
	 "used / limit per window, and when a full one frees), pauses in force, running jobs with\n"
	 "their elapsed time, the age of the oldest runnable queued job, and the schedules (how many,\n"
	 "the next to tick and when; 'jobq schedules' lists them). With --batch NAME the counts,\n"
	 "running jobs and oldest queued age are those of the batch (pools and pauses stay global).\n"
	 "workers_note says why the supervisor runs fewer workers than concurrency.global allows;\n"
	 "unhandled counts the queued jobs of types without a handler in this configuration;\n"
	 "blocked the queued jobs waiting for a parent (enqueue --after), of every batch. One line per\n"
	 "host (the hosts table: each supervisor's heartbeat, every 5 s): its workers and running\n"
	 "jobs, 'lost' when its last heartbeat is more than 15 s old (killed, or cut off).\n"
	 "\n"
	 "Options:\n"
	 "  -b, --batch NAME   counts, running jobs and oldest queued age of this batch\n"
	 "      --json         one JSON object (below)\n"
	 "\n"
	 "--json prints {\"supervisor\": {\"running\": B, \"pid\": N|null, \"stale\": B, \"started_at\": T|null,\n"
	 "\"workers\": N, \"workers_note\": S|null, \"worker_pids\": [N...]}, \"hosts\": [{\"id\": S,\n"
	 "\"pid\": N, \"workers\": N, \"running\": N, \"seen_at\": T, \"started_at\": T, \"live\": B,\n"
	 "\"version\": S|null}...], [\"batch\": NAME,]\n"
	 "\"counts\": {STATE: N}, \"blocked\": N, \"types\": {TYPE: {STATE: N}},\n"
	 "\"unhandled\": {TYPE: QUEUED}, \"resources\": {TAG: {\"capacity\": N, \"used\": N,\n"
	 "\"paused\": B, \"paused_until\": T|null, \"rate\": WINDOW|null, \"tokens\": WINDOW|null}},\n"
	 "\"paused\": [{\"kind\": K, \"name\": S|null, \"until\": T|null, \"reason\": S|null}...],\n"
	 "\"running\": [JOB...], \"oldest_queued_age_s\": N|null}, where WINDOW is {\"limit\": N,\n"
	 "\"window\": DUR, \"used\": N, \"frees_at\": T|null}.\n"
	 "\n"
	 "Exit: 0; 1 no job in the batch; 64 usage; 66 no database; 78 bad configuration.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq status\n"
	 "  jobq status --batch night1 --json | jq .counts\n"},

	{"list", operators, "list", "jobs by state, type, namespace, batch (--json, --jsonl)",
	 "usage: jobq list [--state S] [--type T] [--namespace NS] [--batch NAME] [--limit N]\n"
	 "                 [--json|--jsonl]\n"
	 "\n"
	 "Jobs as a table (ID TYPE STATE NS ATTEMPTS AGE SUMMARY), at most 100 unless --limit says\n"
	 "otherwise (--limit 0: all), or with --json an array of job objects, with --jsonl one job\n"
	 "object per line (JSON Lines, for streaming; both all jobs unless --limit). The summary is\n"
	 "the error of a failed job (its cause: the last line of its stderr), the result of a\n"
	 "succeeded one, else the payload.\n"
	 "\n"
	 "Options:\n"
	 "  -s, --state S          queued, running, succeeded, failed or cancelled\n"
	 "  -t, --type T           jobs of this type\n"
	 "  -n, --namespace NS     jobs of this namespace\n"
	 "  -b, --batch NAME       jobs of this batch\n"
	 "  -l, --limit N          at most N jobs (0: no limit)\n"
	 "      --json             an array of job objects (keys as in 'jobq show --json')\n"
	 "      --jsonl            one job object per line\n"
	 "\n"
	 "Exit: 0; 64 usage; 66 no database.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq list --batch night1 --state failed\n"
	 "  jobq list --state succeeded --jsonl | jq -c '[.id, .result]'\n"},

	{"show", operators, "show ID", "every field of one job",
	 "usage: jobq show ID [--json]\n"
	 "\n"
	 "Every field of job ID as 'key: value' lines, or with --json one object whose keys are the\n"
	 "data model's: id type namespace payload state priority run_at attempts max_attempts timeout\n"
	 "resources unique_key batch result error exit_code created_at started_at finished_at\n"
	 "orphans_reaped worker_pid pgid lease_until token cancel_requested truncated stderr host.\n"
	 "Times are RFC 3339 UTC strings or null; payload, and result when it is JSON and not\n"
	 "truncated, are embedded as JSON values. error is one line, the cause; stderr the tail of the\n"
	 "last attempt's stderr, kept whatever the outcome; truncated tells a result cut at\n"
	 "output_max; host the host id of the last claim (null before one). Beside them:\n"
	 "after, the job's parents (enqueue --after) as [{\"id\", \"state\"}], and blocked_by, the ids\n"
	 "of those that have not succeeded while it is queued (the human form prints both only when\n"
	 "the job has parents).\n"
	 "\n"
	 "Exit: 0; 1 no such job; 64 usage; 66 no database.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq show 17\n"
	 "  jobq show 17 --json | jq -r .stderr\n"},

	{"wait", operators, "wait ID...|--batch NAME", "block until done (--progress)",
	 "usage: jobq wait ID... [--progress] [--timeout DUR] [--json]\n"
	 "       jobq wait --batch NAME [--progress] [--timeout DUR] [--json]\n"
	 "\n"
	 "Block until every given job, or every job of the batch, is succeeded, failed or cancelled.\n"
	 "--progress draws a bar on stderr when it is a terminal\n"
	 "([#####.....] 120/400 done, 3 failed, 4.2/s, ETA 1m07s), else prints a plain line every\n"
	 "few seconds. At the end prints the counts; --json prints {\"total\": N, \"succeeded\": N,\n"
	 "\"failed\": N, \"cancelled\": N}.\n"
	 "\n"
	 "Options:\n"
	 "  -b, --batch NAME    every job of the batch\n"
	 "  -p, --progress      show progress\n"
	 "  -t, --timeout DUR   give up after DUR (exit 75)\n"
	 "\n"
	 "Exit: 0 all succeeded; 1 some failed or were cancelled, or a job or the batch does not\n"
	 "exist; 64 usage; 66 no database; 75 timed out.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq wait --batch night1 --progress\n"
	 "  jobq wait 17 18 --timeout 1h --json\n"},

	{"cancel", operators, "cancel ID...", "cancel jobs (or --type/--namespace/--batch)",
	 "usage: jobq cancel ID... [--json]\n"
	 "       jobq cancel [--type T] [--namespace NS] [--batch NAME] [--json]\n"
	 "\n"
	 "Cancel jobs: a queued job is cancelled at once; for a running job a cancel is requested:\n"
	 "its worker terminates the handler's process group (SIGTERM, then SIGKILL after the grace\n"
	 "period) and records it as cancelled. An external worker learns of it from 'jobq heartbeat'.\n"
	 "Filters combine (all must match).\n"
	 "\n"
	 "Options:\n"
	 "  -t, --type T           jobs of this type\n"
	 "  -n, --namespace NS     jobs of this namespace\n"
	 "  -b, --batch NAME       jobs of this batch\n"
	 "\n"
	 "Prints what was done; --json prints {\"cancelled\": N, \"cancel_requested\": M}.\n"
	 "\n"
	 "Exit: 0; 1 some of the given ids were not queued or running; 64 usage; 66 no database.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq cancel 17 18\n"
	 "  jobq cancel --batch night1 --type enrich\n"},

	{"retry", operators, "retry ID...", "put failed or cancelled jobs back in the queue",
	 "usage: jobq retry ID... [--json]\n"
	 "       jobq retry [--batch NAME] [--type T] [--namespace NS] [--state failed|cancelled]\n"
	 "\n"
	 "Put failed and cancelled jobs back in the queue (attempts reset, to run now). Filters\n"
	 "combine; --state limits the retry to failed or to cancelled jobs.\n"
	 "\n"
	 "Options:\n"
	 "  -b, --batch NAME       jobs of this batch\n"
	 "  -t, --type T           jobs of this type\n"
	 "  -n, --namespace NS     jobs of this namespace\n"
	 "  -s, --state S          failed or cancelled\n"
	 "\n"
	 "Prints the count; --json prints {\"retried\": N}.\n"
	 "\n"
	 "Exit: 0; 1 some of the given ids were not failed or cancelled; 64 usage; 66 no database.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq retry 17\n"
	 "  jobq retry --batch night1 --state failed\n"},

	{"pause", operators, "pause TYPE|--all", "stop claiming (or --resource TAG)",
	 "usage: jobq pause TYPE|--all|--resource TAG [--until TIME|--for DUR] [--reason TEXT]\n"
	 "\n"
	 "Stop claiming jobs of TYPE, of every type (--all), or jobs needing pool TAG, until resumed\n"
	 "or until TIME (RFC 3339 or @UNIXSECONDS) or for DUR (10s, 5m, 2h, 1d). Running jobs go on.\n"
	 "\n"
	 "Options:\n"
	 "      --all              everything\n"
	 "  -r, --resource TAG     a resource pool\n"
	 "      --until TIME       until this time (in the future)\n"
	 "      --for DUR          for this long\n"
	 "      --reason TEXT      shown by 'jobq status'\n"
	 "\n"
	 "--json prints {\"kind\": \"type\"|\"all\"|\"resource\", \"name\": S|null, \"until\": T|null}.\n"
	 "\n"
	 "Exit: 0; 64 usage; 65 bad type or tag name, or one the configuration does not declare;\n"
	 "66 no database.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq pause enrich --for 1h --reason quota\n"
	 "  jobq pause --resource claude-api --until 2030-01-01T00:00:00Z\n"},

	{"resume", operators, "resume TYPE|--all", "claim again",
	 "usage: jobq resume TYPE|--all|--resource TAG\n"
	 "\n"
	 "Lift a pause set by 'jobq pause' (or a pool pause set by a handler that hit a quota).\n"
	 "--all lifts the pause of everything set by 'pause --all'; pauses of single types and pools\n"
	 "stay.\n"
	 "\n"
	 "Options:\n"
	 "      --all              the pause of everything\n"
	 "  -r, --resource TAG     a resource pool\n"
	 "\n"
	 "--json prints {\"kind\": K, \"name\": S|null, \"resumed\": true|false}.\n"
	 "\n"
	 "Exit: 0 (also when nothing was paused); 64 usage; 65 bad name, or nothing paused under a\n"
	 "name the configuration does not declare; 66 no database.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq resume enrich\n"
	 "  jobq resume --resource claude-api\n"},

	{"prune", operators, "prune --older-than DUR", "delete finished jobs (--state, --batch)",
	 "usage: jobq prune --older-than DUR [--state succeeded|failed|cancelled]... [--batch NAME]\n"
	 "                  [--json]\n"
	 "\n"
	 "Delete finished jobs that finished more than DUR ago (10s, 5m, 2h, 1d); by default jobs of\n"
	 "every finished state, else of the --state(s) given; with --batch only the jobs of that\n"
	 "batch. Queued and running jobs are never deleted.\n"
	 "\n"
	 "Options:\n"
	 "  -o, --older-than DUR   required: finished more than DUR ago\n"
	 "  -s, --state S          succeeded, failed or cancelled; repeatable\n"
	 "  -b, --batch NAME       jobs of this batch\n"
	 "\n"
	 "Prints the count; --json prints {\"pruned\": N}.\n"
	 "\n"
	 "Exit: 0; 64 usage; 66 no database.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq prune --older-than 7d\n"
	 "  jobq prune --older-than 1d --state succeeded --batch night1\n"},

	{"logs", operators, "logs ID", "the output of a job's latest attempt (--follow, --stderr)",
	 "usage: jobq logs ID [--follow] [--stderr]\n"
	 "\n"
	 "The output of job ID's latest attempt as its handler wrote it: an exec command's stdout\n"
	 "(or with --stderr its stderr), an http response body (with --stderr its error), secrets\n"
	 "masked as in the result. Files rotated at logs.max come first, oldest first. A job whose\n"
	 "files are gone (pruned, \"logs\": false, or run before jobq kept them) prints its kept\n"
	 "result (or stderr tail) instead.\n"
	 "\n"
	 "Options:\n"
	 "  -f, --follow   print what is there, then what is written, until the job has ended\n"
	 "                 (succeeded, failed or cancelled); a retried attempt's output follows\n"
	 "                 the earlier one's, with a line '--- job ID attempt N ---' on stderr\n"
	 "  -e, --stderr   the stderr file instead of stdout\n"
	 "\n"
	 "Exit: 0 (--follow: once the job has ended, whatever its state); 1 no such job (or it was\n"
	 "pruned while followed); 64 usage; 66 no database; 74 cannot write the output; 77 the\n"
	 "folder of output files is not one jobq trusts.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq logs 17 --follow\n"
	 "  jobq logs 17 --stderr | tail -n 20\n"},

	{"top", operators, "top", "a live view of workers, pools, queues, batches (--once)",
	 "usage: jobq top [--once]\n"
	 "\n"
	 "A live full-screen view of the queue, redrawn every second and when the database changes:\n"
	 "the supervisor and its workers with the job each runs and for how long (jobs of external\n"
	 "workers too), resource pools (used / capacity, and their rate and token windows when\n"
	 "the configuration has some), the queue per type (queued, running),\n"
	 "the batches that have jobs left (done / total, failed, throughput over the last 5\n"
	 "minutes, and the time left at that rate) and the latest failed jobs. q quits.\n"
	 "\n"
	 "When stdout is not a terminal, or with --once, it prints one plain snapshot and exits.\n"
	 "\n"
	 "Options:\n"
	 "      --once     one snapshot, without escape sequences (also -1)\n"
	 "\n"
	 "Exit: 0; 64 usage; 66 no database; 78 bad configuration; 128+N after signal N (the\n"
	 "terminal restored first).\n"
	 "\n"
	 "Examples:\n"
	 "  jobq top\n"
	 "  jobq --db /var/lib/jobq/jobq.db top --once\n"},

	{"metrics", operators, "metrics", "the metrics in the Prometheus text format",
	 "usage: jobq metrics\n"
	 "\n"
	 "Print the metrics of the database in the Prometheus text format: jobs by type and\n"
	 "state, their attempts, orphans and durations (a histogram per type), pools' capacity\n"
	 "and use, pauses, the age of the oldest runnable job, and from the supervisor's runtime\n"
	 "file its workers, their restarts and the orphans it reaped (jobq_supervisor_up 0 when\n"
	 "none runs). A supervisor configured with \"metrics\": {\"listen\": \"127.0.0.1:9187\"}\n"
	 "serves the same at http://127.0.0.1:9187/metrics. For a textfile collector, write to a\n"
	 "temporary file and rename it.\n"
	 "\n"
	 "Exit: 0; 64 usage (--json too: the output is Prometheus text); 66 no database; 78 bad\n"
	 "config.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq metrics | grep ^jobq_jobs\n"
	 "  jobq metrics >jobq.prom.tmp && mv jobq.prom.tmp /var/lib/node_exporter/jobq.prom\n"},

	{"schedules", operators, "schedules", "the schedules of the configuration, last and next tick",
	 "usage: jobq schedules [--json]\n"
	 "\n"
	 "The schedules of the configuration (\"schedules\" in jobq.json): NAME, SPEC (the cron\n"
	 "expression or the interval), ZONE, TYPE, MISSED, LAST TICK (the tick of the last job a\n"
	 "schedule enqueued, and that job), NEXT TICK. The supervisor enqueues one job per tick. With\n"
	 "--json an array of {\"name\", \"cron\" or \"every\", \"timezone\", \"type\", \"missed\",\n"
	 "\"last_tick\", \"last_job\", \"next_tick\"} (times RFC 3339, null when none).\n"
	 "\n"
	 "Exit: 0; 64 usage; 66 no database; 78 bad configuration.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq schedules\n"
	 "  jobq schedules --json | jq -r '.[] | [.name, .next_tick] | @tsv'\n"},

	{"help", other, "help [COMMAND]", "the command list, or a command's usage and examples",
	 "usage: jobq help [COMMAND]\n"
	 "       jobq help --commands\n"
	 "\n"
	 "Without a command, the list of commands and the global options (as 'jobq --help'); with\n"
	 "one, its usage, options, exit codes and examples (as 'jobq COMMAND --help'). On stdout.\n"
	 "The manual pages say more: man 1 jobq, man 5 jobq.json.\n"
	 "\n"
	 "Options:\n"
	 "      --commands     the names of the commands, one per line (for scripts)\n"
	 "\n"
	 "Exit: 0; 64 unknown command or usage.\n"
	 "\n"
	 "Examples:\n"
	 "  jobq help enqueue\n"
	 "  jobq help --commands\n"},
};


#define NHELPS (sizeof(helps) / sizeof(helps[0]))

static const char usage_head[] =
	"usage: jobq [--db PATH] [--config PATH] [--json] [-q] [-v] COMMAND [ARGS...]\n"
	"\n"
	"A job queue in SQLite with a supervisor that runs jobs under a concurrency policy.\n";

static const char usage_tail[] =
	"\n"
	"Global options:\n"
	"  --db PATH        the database (default ./jobq.db, or $JOBQ_DB); only init, or a\n"
	"                   jobq.json beside it, creates ./jobq.db when neither names one\n"
	"  --config PATH    the configuration (default $JOBQ_CONFIG, else jobq.json beside the\n"
	"                   database, else one job at a time)\n"
	"  --json           machine-readable output (also accepted after the command)\n"
	"  -q, --quiet      print only data and errors\n"
	"  -v, --verbose    more detail\n"
	"  -h, --help       this help; 'jobq help COMMAND' or 'jobq COMMAND --help' for a command\n"
	"  -V, --version    the version\n"
	"\n"
	"Exit codes: 0 ok, 1 a job failed or was not found, 64 usage, 65 bad data, 66 cannot open,\n"
	"69 unavailable, 70 internal error, 74 I/O error, 75 temporary (retry), 77 refused (a file\n"
	"another user owns or may write), 78 configuration.\n"
	"\n"
	"More: man 1 jobq, man 5 jobq.json.\n";
/* clang-format on */

static const struct help *
help_find(const char *name)
{
	for (size_t i = 0; i < NHELPS; i++)
		if (strcmp(helps[i].name, name) == 0)
			return &helps[i];
	return NULL;
}

/* Whether a command is one users see (not the supervisor's `jobq worker`). */
static int
listed(const struct cli_command *cmd)
{
	return (cmd->flags & CLI_CMD_HIDDEN) == 0;
}

static const struct cli_command *
command_find(const char *name)
{
	for (size_t i = 0; i < cli_ncommands; i++)
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	return NULL;
}

void
cli_help_usage(FILE *f)
{
	const char *group = NULL;

	fputs(usage_head, f);
	for (size_t i = 0; i < NHELPS; i++) {
		if (command_find(helps[i].name) == NULL)
			continue; /* documented, not built: never listed */
		if (group == NULL || strcmp(group, helps[i].group) != 0) {
			group = helps[i].group;
			fprintf(f, "%s%s:\n", i == 0 ? "\n" : "", group);
		}
		fprintf(f, "  %-24s %s\n", helps[i].synopsis, helps[i].summary);
	}
	/* A command someone added without its help entry is still listed, bare (and the test of
	 * the help fails on it). */
	for (size_t i = 0, first = 1; i < cli_ncommands; i++) {
		if (!listed(&cli_commands[i]) || help_find(cli_commands[i].name) != NULL)
			continue;
		if (first)
			fputs("Other:\n", f);
		first = 0;
		fprintf(f, "  %s\n", cli_commands[i].name);
	}
	fputs(usage_tail, f);
}

void
cli_help_command(const char *name, const char *fallback)
{
	const struct help *h = help_find(name);

	if (h != NULL)
		fputs(h->text, stdout);
	else if (fallback != NULL)
		fputs(fallback, stdout);
	else
		printf("usage: jobq %s [ARGS...]\n", name);
}

int
cli_unknown_command(const char *arg)
{
	const char *names[64], *near;
	size_t n = 0;

	for (size_t i = 0; i < cli_ncommands && n < sizeof(names) / sizeof(names[0]); i++)
		if (listed(&cli_commands[i]))
			names[n++] = cli_commands[i].name;
	if ((near = cli_suggest(arg, names, n)) != NULL)
		return cli_usage_fail(NULL, "unknown command '%s' (did you mean '%s'?)",
		                      CLI_SHOWN(arg), near);
	return cli_usage_fail(NULL, "unknown command '%s'", CLI_SHOWN(arg));
}

enum { OPT_COMMANDS = CLI_OPT_JSON + 1 };

int
cmd_help(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"commands", no_argument, NULL, OPT_COMMANDS},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	const struct cli_command *cmd;
	int ch, names = 0;

	while ((ch = cli_getopt(c, argc, argv, ":hqv", opts, NULL)) != -1) {
		if (ch == OPT_COMMANDS)
			names = 1;
		else
			return cli_getopt_exit(ch);
	}
	if (argc - optind > 1)
		return cli_usage_fail("help", "help: one command at a time");
	if (names) {
		if (optind < argc)
			return cli_usage_fail("help", "help: --commands takes no command");
		for (size_t i = 0; i < cli_ncommands; i++)
			if (listed(&cli_commands[i]))
				printf("%s\n", cli_commands[i].name);
		return 0;
	}
	if (optind == argc) {
		cli_help_usage(stdout);
		return 0;
	}
	if ((cmd = command_find(argv[optind])) == NULL || !listed(cmd))
		return cli_unknown_command(argv[optind]);
	cli_help_command(cmd->name, NULL);
	return 0;
}
