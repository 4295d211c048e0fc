/* Helpers shared by the subcommands: config and store opening, errors, option parsing. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "conninfo.h"
#include "dblocal.h"
#include "duration.h"
#include "exitcode.h"
#include "fileio.h"
#include "hostid.h"
#include "log.h"
#include "runtime.h"
#include "trust.h"

int
cli_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("jobq: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int
cli_usage_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("jobq: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd != NULL)
		fprintf(stderr, "\nTry 'jobq %s --help' for more information.\n", cmd);
	else
		fputs("\nTry 'jobq --help' for more information.\n", stderr);
	return EX_USAGE;
}

int
cli_load_config(struct cli *c)
{
	char err[512];
	int r;

	if (c->cfg_loaded)
		return 0;
	r = config_locate(c->config_arg, c->db_path, c->config_path, sizeof(c->config_path));
	if (r < 0)
		return cli_fail(EX_CONFIG, "config: path too long");
	if (r == 0) {
		config_init_default(&c->cfg);
	} else if ((r = config_load(c->config_path, &c->cfg, err, sizeof(err))) < 0) {
		if (r == -EPERM)
			return cli_fail(EX_NOPERM, "%s", err);
		return cli_fail(EX_CONFIG, "config '%s': %s", c->config_path, err);
	}
	c->cfg_loaded = 1;
	return 0;
}

int
cli_host_id(const struct cli *c, char *out, size_t len)
{
	if (hostid_get(c->cfg.host, out, len) < 0)
		return cli_fail(EX_USAGE,
		                "invalid %s '%s': must be 1 to %d characters of "
		                "[A-Za-z0-9._-]",
		                HOSTID_ENV, CLI_SHOWN(getenv(HOSTID_ENV)), HOSTID_MAX);
	return 0;
}

int
cli_open_store(struct cli *c, int readonly)
{
	struct store_opts o;
	struct stat sb;
	char err[512] = "";
	int r, pg = db_local_is_pg(c->db_path);

	if (c->st != NULL)
		return 0;
	memset(&o, 0, sizeof(o));
	o.create = !readonly;
	/* Every command that writes loads the config first; list, show and wait only read, and
	 * without a config take the default level, which a reader never needs. */
	o.durability_fast = c->cfg_loaded && !c->cfg.synchronous_full;
	/* Commands that only look or change existing jobs never create a database. */
	if (readonly && !pg && stat(c->db_path, &sb) < 0 && errno == ENOENT)
		return cli_fail(EX_NOINPUT, "cannot open database '%s': no such file", c->db_shown);
	if (!readonly && (r = cli_may_create(c)) != 0)
		return r;
	if ((r = store_open(c->db_path, &o, &c->st, err, sizeof(err))) < 0) {
		c->st = NULL;
		if (r == -ENOENT && readonly && !pg)
			return cli_fail(EX_NOINPUT, "cannot open database '%s': no such file",
			                c->db_shown);
		/* the store's message says what failed and names the database (masked: a message
		 * that holds a target with a password as given is not printed; one without a
		 * password is shown as given) */
		if (err[0] != '\0' && (!pg || strcmp(c->db_path, c->db_shown) == 0 ||
		                        strstr(err, c->db_path) == NULL))
			return cli_fail(exitcode_open(r), "%s", err);
		return cli_fail(exitcode_open(r), "cannot open database '%s': %s", c->db_shown,
		                strerror(-r));
	}
	char host[HOSTID_MAX + 1];
	if (hostid_get(c->cfg.host, host, sizeof(host)) == 0)
		store_set_host(c->st, host, 0); /* an invalid JOBQ_HOST is said by the commands using it */
	return 0;
}

int
cli_may_create(struct cli *c)
{
	char dir[4096], beside[4096];
	struct stat sb;

	if (c->db_named || db_local_is_pg(c->db_path) || stat(c->db_path, &sb) == 0 ||
	    errno != ENOENT)
		return 0; /* named, a server's, there, or an error for the store to report */
	if (path_dirname(c->db_path, dir, sizeof(dir)) == 0 &&
	    path_join(dir, "jobq.json", beside, sizeof(beside)) == 0 && stat(beside, &sb) == 0)
		return 0;
	return cli_fail(EX_NOINPUT,
	                "no database at '%s': name one with --db or JOBQ_DB, or create "
	                "it with 'jobq init'",
	                c->db_shown);
}

int
cli_set_db(struct cli *c, const char *db, int named)
{
	char why[512], base[4096];
	int r;

	if (*db == '\0')
		return cli_usage_fail(NULL, "--db: empty path");
	if (strlen(db) >= sizeof(c->db_path))
		return cli_usage_fail(NULL, "--db: path too long");
	c->db_named = named;
	if (db_local_is_pg(db)) {
		/* A server's database: passed to the store as given; its local files go to the
		 * state folder, which must be one jobq trusts. Messages never show the password. */
		strlcpy(c->db_path, db, sizeof(c->db_path));
		(void)conninfo_mask(db, c->db_shown, sizeof(c->db_shown));
		if ((r = db_local_base(db, 0, base, sizeof(base), why, sizeof(why))) == -EPERM)
			return cli_fail(EX_NOPERM, "%s", why);
		if (r < 0)
			return cli_fail(r == -EINVAL ? EX_CONFIG : EX_CANTCREAT,
			                "database '%s': no state folder for its local files: %s",
			                c->db_shown, why[0] != '\0' ? why : strerror(-r));
		return 0;
	}
	/* One name per database file (symbolic links resolved, each one checked): the supervisor's
	 * lock, pid and wake-up files and JOBQ_DB are derived from it. A folder that does not
	 * exist is left to the store to report. */
	if ((r = trust_resolve(db, TRUST_DATA, c->db_path, sizeof(c->db_path), why, sizeof(why))) ==
	    -EPERM)
		return cli_fail(EX_NOPERM, "%s", why);
	if (r < 0)
		strlcpy(c->db_path, db, sizeof(c->db_path));
	strlcpy(c->db_shown, c->db_path, sizeof(c->db_shown)); /* a file: nothing to mask */
	return 0;
}

int
cli_store_fail(struct cli *c, int r, const char *what)
{
	const char *msg = c->st != NULL ? store_errmsg(c->st) : NULL;

	if (msg == NULL || *msg == '\0')
		msg = strerror(r < 0 ? -r : r);
	return cli_fail(exitcode_from_errno(r), "%s: %s", what, msg);
}

/* Levenshtein distance of a and b (each cut at 64 bytes). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strnlen(a, 64), lb = strnlen(b, 64), row[65];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0], up;

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = diag + (a[i - 1] != b[j - 1]);

			up = row[j];
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

const char *
cli_suggest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, names[i]);

		/* a distance as large as the word itself is no resemblance ("ls" is not "rm") */
		if (d < best_d && d < strnlen(word, 64)) {
			best = names[i];
			best_d = d;
		}
	}
	return best;
}

/* The long option closest to arg ("--stae"), or NULL. */
static const char *
suggest_option(const char *arg, const struct option *longopts)
{
	const char *names[64];
	size_t n = 0;

	if (strncmp(arg, "--", 2) != 0 || longopts == NULL)
		return NULL;
	for (; longopts->name != NULL && n < sizeof(names) / sizeof(names[0]); longopts++)
		names[n++] = longopts->name;
	return cli_suggest(arg + 2, names, n);
}

/* The option that getopt_long just refused, as the user wrote it ("--name" or "-n"). */
static void
bad_option(char **argv, char *buf, size_t len)
{
	const char *arg = optind > 1 ? argv[optind - 1] : "";

	if (strncmp(arg, "--", 2) == 0) {
		name_shown(arg, buf, len);
		buf[strcspn(buf, "=")] = '\0';
	} else {
		snprintf(buf, len, "-%c", optopt > ' ' && optopt < 127 ? optopt : '?');
	}
}

int
cli_getopt(struct cli *c, int argc, char **argv, const char *shortopts,
           const struct option *longopts, const char *usage)
{
	char name[NAME_SHOWN_SIZE];
	int ch;

	opterr = 0;
	for (;;) {
		ch = getopt_long(argc, argv, shortopts, longopts, NULL);
		switch (ch) {
		case 'h':
			cli_help_command(argv[0], usage);
			return CLI_OPT_HELP;
		case 'q':
			c->quiet = 1;
			log_set_level(LOG_LVL_WARN);
			continue;
		case 'v':
			c->verbose = 1;
			log_set_level(LOG_LVL_DEBUG);
			continue;
		case CLI_OPT_JSON:
			c->json = 1;
			continue;
		case ':':
			bad_option(argv, name, sizeof(name));
			cli_usage_fail(argv[0], "%s: option '%s' needs a value", argv[0], name);
			return CLI_OPT_ERR;
		case '?': {
			const char *near;

			bad_option(argv, name, sizeof(name));
			if ((near = suggest_option(name, longopts)) != NULL)
				cli_usage_fail(argv[0],
				               "%s: unknown option '%s' (did you mean '--%s'?)",
				               argv[0], name, near);
			else
				cli_usage_fail(argv[0], "%s: unknown option '%s'", argv[0], name);
			return CLI_OPT_ERR;
		}
		default:
			return ch;
		}
	}
}

int
cli_getopt_exit(int ch)
{
	return ch == CLI_OPT_HELP ? CLI_EXIT_HELP : EX_USAGE;
}

int
cli_parse_int(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out)
{
	const char *digits = s[0] == '-' && min < 0 ? s + 1 : s;
	char *end;
	long long v;

	/* strtoll alone would take leading white space (" 5", "\t5") and a '+'. */
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*digits < '0' || *digits > '9' || *end != '\0' || errno != 0 || v < min || v > max)
		return cli_fail(EX_USAGE,
		                "invalid value '%s' for %s: must be an integer from %lld to %lld",
		                CLI_SHOWN(s), opt, (long long)min, (long long)max);
	*out = v;
	return 0;
}

int
cli_parse_duration(const char *opt, const char *s, int64_t *out_ms)
{
	int r = duration_parse(s, out_ms);

	if (r == -ERANGE)
		return cli_fail(EX_USAGE,
		                "invalid duration '%s' for %s: at most " DURATION_MAX_TEXT
		                " (10 years)",
		                CLI_SHOWN(s), opt);
	if (r < 0)
		return cli_fail(EX_USAGE,
		                "invalid duration '%s' for %s (examples: 500ms, 10s, 5m, 2h, 1d)",
		                CLI_SHOWN(s), opt);
	return 0;
}

int
cli_parse_time(const char *opt, const char *s, int64_t *out_ms)
{
	int r = time_parse_when(s, out_ms);

	if (r == -ERANGE)
		return cli_fail(EX_USAGE,
		                "invalid time '%s' for %s: must be from 1970-01-01T00:00:00Z "
		                "to " TIME_MAX_TEXT " (@0 to @%lld)",
		                CLI_SHOWN(s), opt, (long long)(TIME_MAX_MS / 1000));
	if (r < 0)
		return cli_fail(
		        EX_USAGE,
		        "invalid time '%s' for %s (RFC 3339 with an offset, or @UNIXSECONDS)",
		        CLI_SHOWN(s), opt);
	return 0;
}

int
cli_parse_id(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	/* Digits only: no leading space or sign, which strtoll alone would take. */
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v <= 0)
		return cli_fail(EX_USAGE, "invalid job id '%s': must be a positive integer",
		                CLI_SHOWN(s));
	*out = v;
	return 0;
}

int
cli_parse_ids(int argc, char **argv, int from, int64_t **ids, size_t *nids)
{
	int64_t *v;
	int r;

	*ids = NULL;
	*nids = 0;
	if (from >= argc)
		return 0;
	if ((v = reallocarray(NULL, (size_t)(argc - from), sizeof(*v))) == NULL)
		return cli_fail(EX_SOFTWARE, "out of memory");
	for (int i = from; i < argc; i++) {
		if ((r = cli_parse_id(argv[i], &v[i - from])) != 0) {
			free(v);
			return r;
		}
	}
	*ids = v;
	*nids = (size_t)(argc - from);
	return 0;
}

int
cli_finish_output(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		int e = errno;

		if (e == EPIPE)
			return code;
		fprintf(stderr, "jobq: cannot write output: %s\n", strerror(e));
		return code != 0 ? code : EX_IOERR;
	}
	return code;
}

int
cli_runtime_read(struct cli *c, struct runtime_info *ri)
{
	int r = runtime_read(c->db_path, ri);

	if (r < 0)
		fprintf(stderr, "jobq: warning: %s supervisor runtime file: %s\n",
		        r == -EPERM ? "ignoring the" : "unreadable",
		        r == -EPERM ? "not a file jobq trusts (another user's?)" : strerror(-r));
	return r > 0;
}
