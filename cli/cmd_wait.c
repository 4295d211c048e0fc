/* jobq wait: block until jobs (by id or batch) are finished, with an optional progress bar. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "duration.h"
#include "output.h"

#define WAIT_POLL_MIN_MS 10
#define WAIT_POLL_MAX_MS 200
#define PLAIN_EVERY_MS 5000
#define TTY_EVERY_MS 500
#define BAR_WIDTH 20

struct progress {
	int tty;
	int64_t start_mono;
	int64_t start_done;
	int64_t last_print;
	int64_t last_done;
	int drawn;
};

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* "4s", "1m07s", "2h05m" */
static void
format_eta(int64_t s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
}

static void
progress_line(struct progress *p, const int64_t n[JOB_NSTATES], int final)
{
	int64_t total = 0, done = n[JOB_SUCCEEDED] + n[JOB_FAILED] + n[JOB_CANCELLED];
	int64_t now = time_mono_ms(), elapsed = now - p->start_mono;
	double rate = 0;
	char eta[32] = "-", bar[BAR_WIDTH + 1], extra[48] = "";

	for (int i = 0; i < JOB_NSTATES; i++)
		total += n[i];
	if (!final) {
		int64_t since = now - p->last_print;

		/* a terminal: redraw on news (at most 10 times a second) and every half second
		 * for the rate; otherwise a plain line every few seconds */
		if (p->tty && !(since >= TTY_EVERY_MS || (done != p->last_done && since >= 100)))
			return;
		if (!p->tty && since < PLAIN_EVERY_MS)
			return;
	}
	p->last_print = now;
	p->last_done = done;
	if (elapsed > 0)
		rate = (double)(done - p->start_done) * 1000.0 / (double)elapsed;
	if (done >= total)
		format_eta(0, eta, sizeof(eta));
	else if (rate > 0)
		format_eta((int64_t)((double)(total - done) / rate + 0.5), eta, sizeof(eta));
	for (int i = 0; i < BAR_WIDTH; i++)
		bar[i] = total > 0 && (int64_t)i * total < done * BAR_WIDTH ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	if (n[JOB_CANCELLED] > 0)
		snprintf(extra, sizeof(extra), ", %" PRId64 " cancelled", n[JOB_CANCELLED]);
	fprintf(stderr,
	        "%s[%s] %" PRId64 "/%" PRId64 " done, %" PRId64 " failed%s, %.1f/s, ETA %s%s",
	        p->tty ? "\r" : "", bar, done, total, n[JOB_FAILED], extra, rate, eta,
	        p->tty ? "\033[K" : "\n");
	if (p->tty && final)
		fputc('\n', stderr);
	fflush(stderr);
	p->drawn = 1;
}

/* Check that every given id exists. Returns 0 or exit 1 naming the first missing one. */
static int
check_ids(struct cli *c, const struct job_filter *f)
{
	struct job j;
	int r;

	for (size_t i = 0; i < f->nids; i++) {
		memset(&j, 0, sizeof(j));
		if ((r = store_get(c->st, f->ids[i], &j)) == -ESRCH)
			return cli_fail(1, "job %" PRId64 ": not found", f->ids[i]);
		if (r < 0)
			return cli_store_fail(c, r, "cannot read the job");
		job_release(&j);
	}
	return 0;
}

static int
wait_loop(struct cli *c, const struct job_filter *f, int show, int64_t timeout_ms,
          int64_t n[JOB_NSTATES])
{
	struct progress p;
	int64_t deadline = timeout_ms > 0 ? time_add(time_mono_ms(), timeout_ms) : 0;
	int64_t version = -1, v, poll = WAIT_POLL_MIN_MS, total;
	int r;

	memset(&p, 0, sizeof(p));
	p.tty = isatty(STDERR_FILENO);
	p.start_mono = time_mono_ms();
	p.start_done = -1;
	for (;;) {
		v = store_data_version(c->st);
		if (v != version || v < 0) {
			version = v;
			if ((r = store_count(c->st, f, n)) < 0)
				return cli_store_fail(c, r, "cannot count the jobs");
			poll = WAIT_POLL_MIN_MS;
		}
		total = 0;
		for (int i = 0; i < JOB_NSTATES; i++)
			total += n[i];
		if (p.start_done < 0)
			p.start_done = n[JOB_SUCCEEDED] + n[JOB_FAILED] + n[JOB_CANCELLED];
		if (f->nids == 0 && total == 0)
			return cli_fail(1, "batch '%s': no jobs", CLI_SHOWN(f->batch));
		if (f->nids > 0 && (size_t)total < f->nids && (r = check_ids(c, f)) != 0)
			return r;
		if (n[JOB_QUEUED] + n[JOB_RUNNING] == 0) {
			if (show)
				progress_line(&p, n, 1);
			return 0;
		}
		if (show)
			progress_line(&p, n, 0);
		if (deadline > 0 && time_mono_ms() >= deadline) {
			if (show && p.tty && p.drawn)
				fputc('\n', stderr);
			return cli_fail(EX_TEMPFAIL,
			                "wait: timed out: %" PRId64 " of %" PRId64
			                " jobs not finished",
			                n[JOB_QUEUED] + n[JOB_RUNNING], total);
		}
		sleep_ms(poll);
		poll = poll * 3 / 2 > WAIT_POLL_MAX_MS ? WAIT_POLL_MAX_MS : poll * 3 / 2;
	}
}

int
cmd_wait(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"batch", required_argument, NULL, 'b'},
	        {"progress", no_argument, NULL, 'p'},
	        {"timeout", required_argument, NULL, 't'},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	struct job_filter f;
	int64_t *ids = NULL, n[JOB_NSTATES], timeout = 0;
	size_t nids = 0;
	int ch, code, show = 0;

	memset(&f, 0, sizeof(f));
	f.state = -1;
	while ((ch = cli_getopt(c, argc, argv, ":hqvb:pt:", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			f.batch = optarg;
			break;
		case 'p':
			show = 1;
			break;
		case 't':
			if ((code = cli_parse_duration("--timeout", optarg, &timeout)) != 0)
				return code;
			break;
		default:
			return cli_getopt_exit(ch);
		}
	}
	if ((code = cli_parse_ids(argc, argv, optind, &ids, &nids)) != 0)
		return code;
	if ((nids > 0) == (f.batch != NULL)) {
		free(ids);
		return cli_usage_fail("wait", "wait: give job ids or --batch NAME");
	}
	f.ids = ids;
	f.nids = nids;
	if ((code = cli_open_store(c, 1)) != 0)
		goto out;
	if ((code = wait_loop(c, &f, show, timeout, n)) != 0)
		goto out;
	if (c->json)
		printf("{\"total\":%" PRId64 ",\"succeeded\":%" PRId64 ",\"failed\":%" PRId64
		       ",\"cancelled\":%" PRId64 "}\n",
		       n[JOB_SUCCEEDED] + n[JOB_FAILED] + n[JOB_CANCELLED], n[JOB_SUCCEEDED],
		       n[JOB_FAILED], n[JOB_CANCELLED]);
	else if (!c->quiet)
		printf("%" PRId64 " job%s: %" PRId64 " succeeded, %" PRId64 " failed, %" PRId64
		       " cancelled\n",
		       n[JOB_SUCCEEDED] + n[JOB_FAILED] + n[JOB_CANCELLED],
		       n[JOB_SUCCEEDED] + n[JOB_FAILED] + n[JOB_CANCELLED] == 1 ? "" : "s",
		       n[JOB_SUCCEEDED], n[JOB_FAILED], n[JOB_CANCELLED]);
	code = n[JOB_FAILED] + n[JOB_CANCELLED] > 0 ? 1 : 0;
out:
	free(ids);
	return code;
}
