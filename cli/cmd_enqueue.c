/* jobq enqueue: one job from an argument or stdin, or many from JSONL in one transaction. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "cli.h"
#include "buf.h"
#include "envelope.h"
#include "wake.h"
#include "duration.h"
#include "fileio.h"
#include "names.h"

enum {
	OPT_RUN_AT = CLI_OPT_JSON + 1,
	OPT_JSONL,
	OPT_UNIQUE_FOR,
	OPT_NO_ENVELOPE,
	OPT_ON_BATCH_DONE
};

struct enqueue_args {
	struct job_spec spec;
	struct tag *tags;
	size_t ntags;
	const char *jsonl;
	const char *json;
	int64_t delay_ms;
	int has_delay;
	int has_run_at;
	int no_envelope;
	int64_t *after; /* --after */
	size_t nafter;
	const char *on_batch_done; /* --on-batch-done */
};

/* --after ID[,ID...] adds to a->after. */
static int
add_after(struct enqueue_args *a, const char *arg)
{
	char *copy = strdup(arg), *save = NULL;
	int code = 0;

	if (copy == NULL)
		return cli_fail(EX_OSERR, "out of memory");
	for (char *t = strtok_r(copy, ",", &save); t != NULL && code == 0;
	     t = strtok_r(NULL, ",", &save)) {
		int64_t *n, id;

		if ((code = cli_parse_id(t, &id)) != 0) {
			break;
		} else if (a->nafter >= STORE_AFTER_MAX) {
			code = cli_fail(EX_USAGE, "--after: at most %d jobs", STORE_AFTER_MAX);
		} else if ((n = reallocarray(a->after, a->nafter + 1, sizeof(*n))) == NULL) {
			code = cli_fail(EX_OSERR, "out of memory");
		} else {
			a->after = n;
			a->after[a->nafter++] = id;
		}
	}
	if (code == 0 && a->nafter == 0)
		code = cli_fail(EX_USAGE, "--after needs a job id");
	free(copy);
	return code;
}

static int
add_tag(struct enqueue_args *a, const char *s)
{
	struct tag *n;

	if ((n = reallocarray(a->tags, a->ntags + 1, sizeof(*n))) == NULL)
		return cli_fail(EX_OSERR, "out of memory");
	a->tags = n;
	if (tag_parse(s, n[a->ntags].name, &n[a->ntags].units) < 0)
		return cli_fail(EX_USAGE,
		                "invalid resource tag '%s' for --resource: must be NAME or NAME:N "
		                "(NAME [a-z0-9][a-z0-9_.-]{0,63}, N 1 to 1000000)",
		                CLI_SHOWN(s));
	a->ntags++;
	return 0;
}

static int
parse_args(struct cli *c, int argc, char **argv, struct enqueue_args *a)
{
	static const struct option opts[] = {
	        {"namespace", required_argument, NULL, 'n'},
	        {"priority", required_argument, NULL, 'p'},
	        {"delay", required_argument, NULL, 'd'},
	        {"run-at", required_argument, NULL, OPT_RUN_AT},
	        {"max-attempts", required_argument, NULL, 'm'},
	        {"timeout", required_argument, NULL, 't'},
	        {"resource", required_argument, NULL, 'r'},
	        {"unique", required_argument, NULL, 'u'},
	        {"batch", required_argument, NULL, 'b'},
	        {"jsonl", required_argument, NULL, OPT_JSONL},
	        {"unique-for", required_argument, NULL, OPT_UNIQUE_FOR},
	        {"no-envelope", no_argument, NULL, OPT_NO_ENVELOPE},
	        {"after", required_argument, NULL, 'a'},
	        {"on-batch-done", required_argument, NULL, OPT_ON_BATCH_DONE},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	int ch, r;

	while ((ch = cli_getopt(c, argc, argv, ":hqvn:p:d:m:t:r:u:b:a:", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			a->spec.namespace = optarg;
			break;
		case 'p':
			if ((r = cli_parse_int("--priority", optarg, INT64_MIN / 2, INT64_MAX / 2,
			                       &a->spec.priority)) != 0)
				return r;
			break;
		case 'd':
			if ((r = cli_parse_duration("--delay", optarg, &a->delay_ms)) != 0)
				return r;
			a->has_delay = 1;
			break;
		case OPT_RUN_AT:
			if ((r = cli_parse_time("--run-at", optarg, &a->spec.run_at)) != 0)
				return r;
			a->has_run_at = 1;
			break;
		case 'm':
			if ((r = cli_parse_int("--max-attempts", optarg, 1, 1000000,
			                       &a->spec.max_attempts)) != 0)
				return r;
			break;
		case 't':
			if ((r = cli_parse_duration("--timeout", optarg, &a->spec.timeout_ms)) != 0)
				return r;
			if (a->spec.timeout_ms <= 0)
				return cli_fail(EX_USAGE,
				                "invalid duration '%s' for --timeout: must be "
				                "more than 0",
				                CLI_SHOWN(optarg));
			break;
		case 'r':
			if ((r = add_tag(a, optarg)) != 0)
				return r;
			break;
		case 'u':
			a->spec.unique_key = optarg;
			break;
		case 'b':
			a->spec.batch = optarg;
			break;
		case OPT_JSONL:
			a->jsonl = optarg;
			break;
		case OPT_UNIQUE_FOR:
			if ((r = cli_parse_duration("--unique-for", optarg,
			                            &a->spec.unique_for_ms)) != 0)
				return r;
			break;
		case OPT_NO_ENVELOPE:
			a->no_envelope = 1;
			break;
		case 'a':
			if ((r = add_after(a, optarg)) != 0)
				return r;
			break;
		case OPT_ON_BATCH_DONE:
			a->on_batch_done = optarg;
			break;
		default:
			return cli_getopt_exit(ch);
		}
	}
	if (optind >= argc)
		return cli_usage_fail("enqueue", "enqueue: missing TYPE");
	a->spec.type = argv[optind++];
	if (optind < argc)
		a->json = argv[optind++];
	if (optind < argc)
		return cli_usage_fail("enqueue", "enqueue: unexpected argument '%s'",
		                      CLI_SHOWN(argv[optind]));
	if (a->has_delay && a->has_run_at)
		return cli_usage_fail("enqueue",
		                      "enqueue: --delay and --run-at exclude each other");
	if (a->jsonl != NULL && a->json != NULL)
		return cli_usage_fail("enqueue",
		                      "enqueue: a JSON argument and --jsonl exclude each "
		                      "other");
	if (a->jsonl != NULL && a->spec.unique_key != NULL)
		return cli_usage_fail(
		        "enqueue", "enqueue: --unique names one job; it cannot be used "
		                   "with --jsonl (give each line its unique_key in an envelope)");
	if (a->jsonl == NULL && a->spec.unique_key == NULL && a->spec.unique_for_ms > 0)
		return cli_usage_fail("enqueue", "enqueue: --unique-for needs --unique (or --jsonl "
		                                 "lines with a unique_key)");
	if (a->jsonl == NULL && a->no_envelope)
		return cli_usage_fail("enqueue", "enqueue: --no-envelope is for --jsonl");
	if (!name_type_valid(a->spec.type))
		return cli_fail(EX_DATAERR,
		                "invalid type name '%s': must match "
		                "[a-z0-9][a-z0-9_-]{0,63}",
		                CLI_SHOWN(a->spec.type));
	if (a->on_batch_done != NULL && a->spec.batch == NULL)
		return cli_usage_fail("enqueue", "enqueue: --on-batch-done needs --batch");
	a->spec.resources = a->tags;
	a->spec.nresources = a->ntags;
	a->spec.after = a->after;
	a->spec.nafter = a->nafter;
	return 0;
}

/* Only white space (a blank line, or an empty stdin). */
static int
blank(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

/* The payload of a single job: the argument; stdin only when it is '-' (a producer in a
 * `while read` loop keeps its input); none ({}) without one. */
static int
read_payload(struct cli *c, struct enqueue_args *a, char **owned)
{
	const char *nul;
	size_t len = 0;
	int r;

	*owned = NULL;
	if (a->json == NULL || strcmp(a->json, "-") != 0) {
		a->spec.payload = a->json;
		return 0;
	}
	if ((r = fd_read_all(STDIN_FILENO, c->cfg.payload_max, owned, &len)) < 0) {
		if (r == -EFBIG)
			return cli_fail(EX_DATAERR, "payload exceeds %zu bytes",
			                c->cfg.payload_max);
		return cli_fail(EX_IOERR, "cannot read the payload from stdin: %s", strerror(-r));
	}
	/* A C string would end at it: refused rather than cut. */
	if ((nul = memchr(*owned, '\0', len)) != NULL)
		return cli_fail(EX_DATAERR, "payload: contains a NUL byte (at byte %zu)",
		                (size_t)(nul - *owned));
	if (!blank(*owned))
		a->spec.payload = *owned;
	return 0;
}

static int
enqueue_one(struct cli *c, struct enqueue_args *a)
{
	char err[512] = "", *owned = NULL;
	int64_t id = 0;
	int existing = 0, r, code;

	if ((code = read_payload(c, a, &owned)) != 0)
		goto out;
	if (store_validate_spec(&c->cfg, &a->spec, err, sizeof(err)) < 0) {
		code = cli_fail(EX_DATAERR, "%s", err);
		goto out;
	}
	if ((code = cli_open_store(c, 0)) != 0)
		goto out;
	if (a->on_batch_done != NULL) {
		/* The callback and the job in one transaction: the batch cannot end between. */
		if ((r = store_bulk_begin(c->st)) == 0 &&
		    ((r = store_batch_on_done(c->st, &c->cfg, a->spec.batch, a->on_batch_done,
		                              a->spec.namespace)) < 0 ||
		     (r = store_bulk_add(c->st, &c->cfg, &a->spec, &id, &existing)) < 0 ||
		     (r = store_bulk_commit(c->st)) < 0))
			store_bulk_rollback(c->st);
	} else {
		r = store_enqueue(c->st, &c->cfg, &a->spec, &id, &existing);
	}
	if (r < 0) {
		code = cli_store_fail(c, r, "cannot enqueue");
		goto out;
	}
	if (!existing)
		cli_notify_supervisor(c, WAKE_ONE);
	if (c->json)
		printf(existing ? "{\"id\":%" PRId64 ",\"existing\":true}\n"
		                : "{\"id\":%" PRId64 "}\n",
		       id);
	else
		printf(existing ? "%" PRId64 " (existing)\n" : "%" PRId64 "\n", id);
	code = 0;
out:
	free(owned);
	return code;
}

/*
 * Lines of a JSONL input. A regular file is read as the transaction goes; a pipe or terminal is
 * read whole first, so a slow producer never holds the database's write lock while it thinks.
 */
struct lines {
	FILE *fp;
	int owned_fp;
	char *buf; /* line_read buffer (streaming) */
	size_t cap;
	struct buf all; /* whole input, lines NUL-terminated (buffered) */
	size_t pos;
	int buffered;
	long lineno;
};

/* The next non-blank line into *line (valid until the next call). Returns 1, 0 at the end, or
 * -errno (-EMSGSIZE: the line at l->lineno is longer than max). */
static int
lines_next(struct lines *l, size_t max, char **line)
{
	long n;

	for (;;) {
		if (l->buffered) {
			if (l->pos >= l->all.len)
				return 0;
			*line = l->all.s + l->pos;
			l->pos += strlen(*line) + 1;
			l->lineno++;
		} else {
			n = line_read(l->fp, max, &l->buf, &l->cap);
			if (n == -1)
				return 0;
			l->lineno++;
			if (n < 0)
				return (int)n;
			*line = l->buf;
		}
		if (!blank(*line))
			return 1;
	}
}

static void
lines_release(struct lines *l)
{
	if (l->owned_fp && l->fp != NULL)
		fclose(l->fp);
	free(l->buf);
	buf_release(&l->all);
}

/* Read a pipe whole into l->all. Returns 0 or -errno; -EMSGSIZE names l->lineno. */
static int
lines_slurp(struct lines *l, size_t max)
{
	long n;

	while ((n = line_read(l->fp, max, &l->buf, &l->cap)) != -1) {
		l->lineno++;
		if (n < 0)
			return (int)n;
		if (buf_add(&l->all, l->buf, (size_t)n + 1) < 0)
			return -ENOMEM;
	}
	l->lineno = 0;
	l->buffered = 1;
	return 0;
}

static int
line_error(struct cli *c, const char *name, struct lines *l, int r)
{
	if (r == -EMSGSIZE)
		return cli_fail(EX_DATAERR, "line %ld: payload exceeds %zu bytes", l->lineno,
		                c->cfg.payload_max);
	if (r == -EILSEQ)
		return cli_fail(EX_DATAERR, "line %ld: contains a NUL byte", l->lineno);
	if (r == -ENOMEM)
		return cli_fail(EX_OSERR, "out of memory");
	return cli_fail(EX_IOERR, "cannot read '%s': %s", strcmp(name, "-") == 0 ? "stdin" : name,
	                strerror(-r));
}

/* A line the store refused: its payload, or a field an envelope set. An invalid payload is
 * named by its byte in the line (its payload starts at byte offset of it): "line 3: invalid
 * JSON (at byte 6)". */
static int
bad_line(struct cli *c, long lineno, size_t offset)
{
	struct store_fault f = store_fault(c->st);

	if (f.kind == STORE_FAULT_PAYLOAD_JSON && f.byte >= 0)
		return cli_fail(EX_DATAERR, "line %ld: invalid JSON (at byte %llu)", lineno,
		                (unsigned long long)f.byte + offset);
	return cli_fail(EX_DATAERR, "line %ld: %s", lineno, store_errmsg(c->st));
}

static int
enqueue_bulk(struct cli *c, struct enqueue_args *a)
{
	struct lines l;
	struct stat sb;
	int64_t id = 0, first = 0, last = 0, count = 0, found = 0, now = time_now_ms();
	int existing = 0, r, code = 0, began = 0, stored = 0;
	char *line = NULL, err[512] = "";
	size_t offset = 0;

	memset(&l, 0, sizeof(l));
	/* What is common to every line (namespace, tags) is checked once, before any line. */
	if (store_validate_spec(&c->cfg, &a->spec, err, sizeof(err)) < 0)
		return cli_fail(EX_DATAERR, "%s", err);
	if (strcmp(a->jsonl, "-") == 0) {
		l.fp = stdin;
	} else if ((l.fp = fopen(a->jsonl, "re")) == NULL) {
		/* A path is quoted whole, unless it is too long to be one. */
		return cli_fail(EX_NOINPUT, "cannot open '%s': %s",
		                errno == ENAMETOOLONG ? CLI_SHOWN(a->jsonl) : a->jsonl,
		                strerror(errno));
	} else {
		l.owned_fp = 1;
	}
	if (fstat(fileno(l.fp), &sb) == 0 && !S_ISREG(sb.st_mode) &&
	    (r = lines_slurp(&l, c->cfg.payload_max)) < 0) {
		code = line_error(c, a->jsonl, &l, r);
		goto out;
	}
	if ((code = cli_open_store(c, 0)) != 0)
		goto out;
	if ((r = store_bulk_begin(c->st)) < 0) {
		code = cli_store_fail(c, r, "cannot enqueue");
		goto out;
	}
	began = 1;
	if (a->on_batch_done != NULL &&
	    (r = store_batch_on_done(c->st, &c->cfg, a->spec.batch, a->on_batch_done,
	                             a->spec.namespace)) < 0) {
		code = cli_store_fail(c, r, "cannot enqueue");
		goto out;
	}
	while ((r = lines_next(&l, c->cfg.payload_max, &line)) == 1) {
		struct job_spec spec = a->spec;
		struct envelope env;
		int e = 0;

		spec.payload = line;
		if (!a->no_envelope &&
		    (e = envelope_parse(line, now, &spec, &env, err, sizeof(err))) < 0) {
			code = e == -ENOMEM ? cli_fail(EX_OSERR, "out of memory")
			                    : cli_fail(EX_DATAERR, "line %ld: %s", l.lineno, err);
			goto out;
		}
		offset = (size_t)(spec.payload - line);
		r = store_bulk_add(c->st, &c->cfg, &spec, &id, &existing);
		if (e > 0)
			envelope_release(&env);
		if (r < 0) {
			stored = 1; /* the store's error, not the input's */
			break;
		}
		if (existing) {
			found++;
			continue;
		}
		if (count++ == 0)
			first = id;
		last = id;
	}
	if (r < 0) {
		/* A disk I/O error while adding a line is the database's: "cannot read 'FILE'"
		 * would blame the input. */
		if (stored && r == -EINVAL)
			code = bad_line(c, l.lineno, offset);
		else if (!stored || r == -EMSGSIZE || r == -EILSEQ)
			code = line_error(c, a->jsonl, &l, r);
		else
			code = cli_store_fail(c, r, "cannot enqueue");
		goto out;
	}
	if ((r = store_bulk_commit(c->st)) < 0) {
		code = cli_store_fail(c, r, "cannot enqueue");
		goto out;
	}
	began = 0;
	if (count > 0)
		cli_notify_supervisor(c, WAKE_ALL);
	/* Only the jobs added count; those a unique key found are "existing" (the key is left
	 * out when there are none, as {"id": N} of one job has no "existing"). */
	if (c->json && count > 0)
		printf("{\"count\":%" PRId64 ",\"first_id\":%" PRId64 ",\"last_id\":%" PRId64,
		       count, first, last);
	else if (c->json)
		printf("{\"count\":0,\"first_id\":null,\"last_id\":null");
	else if (count > 0)
		printf("%" PRId64 " %s: %" PRId64 "-%" PRId64, count, count == 1 ? "job" : "jobs",
		       first, last);
	else
		printf("0 jobs");
	if (found > 0 && c->json)
		printf(",\"existing\":%" PRId64, found);
	else if (found > 0)
		printf(" (%" PRId64 " existing)", found);
	fputs(c->json ? "}\n" : "\n", stdout);
out:
	if (began)
		store_bulk_rollback(c->st);
	lines_release(&l);
	return code;
}

int
cmd_enqueue(struct cli *c, int argc, char **argv)
{
	struct enqueue_args a;
	int code;

	memset(&a, 0, sizeof(a));
	if ((code = parse_args(c, argc, argv, &a)) != 0)
		goto out;
	if ((code = cli_load_config(c)) != 0)
		goto out;
	if (a.has_delay)
		a.spec.run_at = time_add(time_now_ms(), a.delay_ms);
	if (a.jsonl != NULL)
		code = enqueue_bulk(c, &a);
	else
		code = enqueue_one(c, &a);
out:
	free(a.tags);
	free(a.after);
	return code;
}
