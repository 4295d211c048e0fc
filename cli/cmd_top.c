/*
 * jobq top: a live view of a queue. Each frame is built as lines of text from one read of the
 * database (and the supervisor's runtime file), then drawn over the previous one: cursor home,
 * each line followed by "clear to end of line", "clear to end of screen" after the last, on
 * the terminal's alternate screen; never a full clear, so nothing flickers. The frame is
 * redrawn every second, and sooner when the database changed (PRAGMA data_version, looked at
 * every 250 ms). q (or Q, or ^D) quits; SIGINT, SIGTERM and SIGHUP restore the terminal before
 * exiting. When stdout is not a terminal, or with --once, one plain snapshot is printed.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "cli.h"
#include "duration.h"
#include "output.h"
#include "runtime.h"
#include "store_hosts.h"

#define TOP_FAILURES 5            /* recent failures shown */
#define TOP_RATE_WINDOW_MS 300000 /* throughput: jobs ended in the last 5 minutes */
#define TOP_TICK_MS 250           /* how often the database is asked whether it changed */
#define TOP_FRAME_MS 1000         /* a frame at least this often (elapsed times move) */

/* The lines of one frame. */
struct frame {
	char **lines;
	size_t n, cap;
	int oom;
};

struct worker_row {
	int64_t pid;
	struct job *job; /* borrowed from the running list, NULL: idle */
};

struct top {
	struct cli *c;
	int64_t now;
	struct job *running;
	size_t nrunning, caprunning;
	struct table queue; /* TYPE QUEUED RUNNING */
	struct table batches;
	struct table failures;
	int64_t *pool_used;
	char hosts[512]; /* "web-1 2 running, web-2 lost": the hosts line */
	int nhosts, lost;
	int oom;
};

/* A host of the hosts table, for the hosts line. */
static int
on_host(const struct store_host *h, void *arg)
{
	struct top *t = arg;
	size_t len = strlen(t->hosts);
	int lost = time_sub(t->now, h->seen_at) > STORE_HOST_LOST_MS;

	t->nhosts++;
	t->lost += lost;
	if (lost)
		snprintf(t->hosts + len, sizeof(t->hosts) - len, "%s%s lost", len > 0 ? ", " : "",
		         h->id);
	else
		snprintf(t->hosts + len, sizeof(t->hosts) - len, "%s%s %" PRId64 " running",
		         len > 0 ? ", " : "", h->id, h->running);
	return 0;
}

static void add_line(struct frame *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
add_line(struct frame *f, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (f->n == f->cap) {
		size_t cap = f->cap > 0 ? f->cap * 2 : 64;
		char **n = reallocarray(f->lines, cap, sizeof(*n));

		if (n == NULL) {
			f->oom = 1;
			return;
		}
		f->lines = n;
		f->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		f->oom = 1;
		s = NULL;
	}
	va_end(ap);
	if (s != NULL)
		f->lines[f->n++] = s;
}

/* Append a printed table's lines (after an empty line) when it has rows. */
static void
add_table(struct frame *f, const struct table *t)
{
	char *buf = NULL, *save = NULL;
	size_t len = 0;
	FILE *fp;

	if (t->nrows == 0)
		return;
	if ((fp = open_memstream(&buf, &len)) == NULL) {
		f->oom = 1;
		return;
	}
	if (table_print(t, fp) < 0)
		f->oom = 1;
	fclose(fp);
	add_line(f, "%s", "");
	for (char *l = strtok_r(buf, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
		add_line(f, "%s", l);
	free(buf);
}

/* "USED/LIMIT per WINDOW" of pool i's rate or token window, "-" without one, with "(frees in
 * DUR)" while it is full. Returns 0 or a store error. */
static int
window_cell(struct cli *c, size_t i, enum rate_kind kind, const struct rate *lim, int64_t now,
            char *buf, size_t len)
{
	struct rate_use use;
	char per[32], wait[32];
	int r;

	if (lim == NULL || lim[i].limit == 0) {
		strlcpy(buf, "-", len);
		return 0;
	}
	if ((r = store_rate_use(c->st, &c->cfg, i, kind, now, &use)) < 0)
		return r;
	duration_format(lim[i].window_ms, per, sizeof(per));
	if (use.frees_at > now) {
		format_age(use.frees_at - now, wait, sizeof(wait));
		snprintf(buf, len, "%" PRId64 "/%" PRId64 " per %s (frees in %s)", use.used,
		         lim[i].limit, per, wait);
	} else {
		snprintf(buf, len, "%" PRId64 "/%" PRId64 " per %s", use.used, lim[i].limit, per);
	}
	return 0;
}

static void
frame_release(struct frame *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->lines[i]);
	free(f->lines);
	memset(f, 0, sizeof(*f));
}

static int
on_running(const struct job *j, void *arg)
{
	struct top *t = arg;
	struct job *n;

	if (t->nrunning == t->caprunning) {
		size_t cap = t->caprunning > 0 ? t->caprunning * 2 : 16;

		if ((n = reallocarray(t->running, cap, sizeof(*n))) == NULL) {
			t->oom = 1;
			return 1;
		}
		t->running = n;
		t->caprunning = cap;
	}
	/* The job is copied field by field: its strings are released by the caller. */
	n = &t->running[t->nrunning];
	memset(n, 0, sizeof(*n));
	n->id = j->id;
	n->attempts = j->attempts;
	n->max_attempts = j->max_attempts;
	n->started_at = j->started_at;
	n->worker_pid = j->worker_pid;
	n->type = strdup(j->type);
	n->namespace = strdup(j->namespace);
	n->batch = j->batch != NULL ? strdup(j->batch) : NULL;
	t->nrunning++;
	if (n->type == NULL || n->namespace == NULL || (j->batch != NULL && n->batch == NULL))
		t->oom = 1;
	return 0;
}

static void
on_live(const char *type, enum job_state state, int64_t n, void *arg)
{
	struct top *t = arg;
	char q[24] = "0", r[24] = "0";
	const char *row[] = {type, q, r};

	/* Queued rows come first, each type once; a running count joins its type's row. */
	if (state == JOB_RUNNING) {
		for (size_t i = 0; i < t->queue.nrows; i++) {
			char **cells = t->queue.cells + i * 3;
			if (strcmp(cells[0], type) == 0) {
				char *v;
				if (asprintf(&v, "%" PRId64, n) < 0) {
					t->oom = 1;
					return;
				}
				free(cells[2]);
				cells[2] = v;
				return;
			}
		}
		snprintf(r, sizeof(r), "%" PRId64, n);
	} else {
		snprintf(q, sizeof(q), "%" PRId64, n);
	}
	if (table_add(&t->queue, row) < 0)
		t->oom = 1;
}

static void
on_batch(const char *batch, const int64_t counts[JOB_NSTATES], int64_t ended, void *arg)
{
	struct top *t = arg;
	int64_t total = 0, left = counts[JOB_QUEUED] + counts[JOB_RUNNING];
	char name[80], done[48], failed[24], rate[32], eta[32];
	const char *row[] = {name, done, failed, rate, eta};

	for (int s = 0; s < JOB_NSTATES; s++)
		total += counts[s];
	text_summary(batch, 40, name, sizeof(name));
	snprintf(done, sizeof(done), "%" PRId64 "/%" PRId64, total - left, total);
	snprintf(failed, sizeof(failed), "%" PRId64, counts[JOB_FAILED]);
	/* per minute over the window */
	snprintf(rate, sizeof(rate), "%.1f", (double)ended * 60000.0 / TOP_RATE_WINDOW_MS);
	if (ended > 0)
		format_age((int64_t)((double)left * TOP_RATE_WINDOW_MS / (double)ended), eta,
		           sizeof(eta));
	else
		strlcpy(eta, "-", sizeof(eta));
	if (table_add(&t->batches, row) < 0)
		t->oom = 1;
}

static int
on_failed(const struct job *j, void *arg)
{
	struct top *t = arg;
	char id[24], ago[32], err[200];
	const char *row[] = {id, j->type, ago, err};

	snprintf(id, sizeof(id), "%" PRId64, j->id);
	format_age(time_sub(t->now, j->finished_at), ago, sizeof(ago));
	strlcat(ago, " ago", sizeof(ago));
	text_summary(j->error != NULL ? j->error : "-", 120, err, sizeof(err));
	if (table_add(&t->failures, row) < 0)
		t->oom = 1;
	return 0;
}

static void
top_release(struct top *t)
{
	for (size_t i = 0; i < t->nrunning; i++)
		job_release(&t->running[i]);
	free(t->running);
	free(t->pool_used);
	table_release(&t->queue);
	table_release(&t->batches);
	table_release(&t->failures);
	memset(t, 0, sizeof(*t));
}

/* One row of the worker table: the job j and who runs it. */
static void
job_row(struct table *tb, const struct top *t, const struct job *j)
{
	char wp[24], id[24], att[48], el[32], ns[80], b[80];
	const char *row[] = {wp, id, j->type, ns, att, el, b};

	if (j->worker_pid > 0)
		snprintf(wp, sizeof(wp), "%" PRId64, j->worker_pid);
	else
		strlcpy(wp, "external", sizeof(wp));
	snprintf(id, sizeof(id), "%" PRId64, j->id);
	snprintf(att, sizeof(att), "%" PRId64 "/%" PRId64, j->attempts, j->max_attempts);
	format_age(time_sub(t->now, j->started_at), el, sizeof(el));
	text_summary(j->namespace, 32, ns, sizeof(ns));
	text_summary(j->batch != NULL ? j->batch : "-", 32, b, sizeof(b));
	table_add(tb, row);
}

/* The worker rows: each worker of the runtime file with its job, or idle; then the jobs of
 * other owners (external workers, a supervisor that is gone), or every running job when no
 * supervisor runs. */
static void
add_workers(struct frame *f, struct top *t, const struct runtime_info *ri, int have_rt)
{
	static const char *const hdr[] = {"WORKER",  "JOB",     "TYPE", "NAMESPACE",
	                                  "ATTEMPT", "ELAPSED", "BATCH"};
	static const enum col_align al[] = {COL_RIGHT, COL_RIGHT, COL_LEFT, COL_LEFT,
	                                    COL_RIGHT, COL_RIGHT, COL_LEFT};
	int nworkers = have_rt && !ri->stale ? ri->nworker_pids : 0;
	char *shown = calloc(t->nrunning + 1, 1);
	struct table tb;

	if (shown == NULL) {
		f->oom = 1;
		return;
	}
	table_init(&tb, 7, hdr, al);
	for (int w = 0; w < nworkers; w++) {
		int found = 0;

		for (size_t i = 0; i < t->nrunning; i++) {
			if (!shown[i] && t->running[i].worker_pid == ri->worker_pids[w]) {
				job_row(&tb, t, &t->running[i]);
				shown[i] = found = 1;
			}
		}
		if (!found) {
			char wp[24];
			const char *row[] = {wp, "-", "idle", "-", "-", "-", "-"};

			snprintf(wp, sizeof(wp), "%d", (int)ri->worker_pids[w]);
			table_add(&tb, row);
		}
	}
	for (size_t i = 0; i < t->nrunning; i++)
		if (!shown[i])
			job_row(&tb, t, &t->running[i]);
	if (tb.oom)
		f->oom = 1;
	add_table(f, &tb);
	table_release(&tb);
	free(shown);
}

/* Read everything a frame shows and lay it out. Returns 0 or an exit code (printed). */
static int
build_frame(struct cli *c, struct frame *f)
{
	static const char *const queue_hdr[] = {"TYPE", "QUEUED", "RUNNING"};
	static const enum col_align queue_al[] = {COL_LEFT, COL_RIGHT, COL_RIGHT};
	static const char *const batch_hdr[] = {"BATCH", "DONE", "FAILED", "PER MIN", "ETA"};
	static const enum col_align batch_al[] = {COL_LEFT, COL_RIGHT, COL_RIGHT, COL_RIGHT,
	                                          COL_RIGHT};
	static const char *const fail_hdr[] = {"FAILED", "TYPE", "ENDED", "ERROR"};
	static const enum col_align fail_al[] = {COL_RIGHT, COL_LEFT, COL_RIGHT, COL_LEFT};
	static const char *const pool_hdr[] = {"POOL", "USED", "CAPACITY", "RATE", "TOKENS"};
	static const enum col_align pool_al[] = {COL_LEFT, COL_RIGHT, COL_RIGHT, COL_RIGHT,
	                                         COL_RIGHT};
	const struct config *cfg = &c->cfg;
	struct runtime_info ri;
	struct top t;
	char when[40], db[160];
	int r, have_rt, code = 0;

	memset(&t, 0, sizeof(t));
	t.c = c;
	t.now = time_now_ms();
	table_init(&t.queue, 3, queue_hdr, queue_al);
	table_init(&t.batches, 5, batch_hdr, batch_al);
	table_init(&t.failures, 4, fail_hdr, fail_al);
	memset(&ri, 0, sizeof(ri));
	if ((have_rt = runtime_read(c->db_path, &ri)) < 0)
		have_rt = 0;
	if ((t.pool_used = calloc(cfg->npools + 1, sizeof(*t.pool_used))) == NULL) {
		code = cli_fail(EX_OSERR, "out of memory");
		goto out;
	}
	if ((r = store_list_running(c->st, on_running, &t)) < 0 ||
	    (r = store_pool_usage(c->st, cfg, t.pool_used)) < 0 ||
	    (r = store_count_live(c->st, on_live, &t)) < 0 ||
	    (r = store_batch_progress(c->st, t.now - TOP_RATE_WINDOW_MS, on_batch, &t)) < 0 ||
	    (r = store_recent_failed(c->st, TOP_FAILURES, on_failed, &t)) < 0 ||
	    (r = store_hosts_list(c->st, on_host, &t)) < 0) {
		code = cli_store_fail(c, r, "cannot read the queue");
		goto out;
	}
	time_format_rfc3339(t.now, when, sizeof(when));
	text_summary(c->db_shown, 100, db, sizeof(db));
	add_line(f, "jobq top  %s  %s", db, when);
	if (!have_rt)
		add_line(f, "supervisor: not running");
	else if (ri.stale)
		add_line(f, "supervisor: not running (stale runtime file of pid %d)", (int)ri.pid);
	else
		add_line(f, "supervisor: pid %d, %d workers, %zu running jobs", (int)ri.pid,
		         ri.nworker_pids, t.nrunning);
	/* Other hosts, or a lost one: what the supervisor line cannot say. */
	if (t.nhosts > 1 || t.lost > 0)
		add_line(f, "hosts: %s", t.hosts);
	add_workers(f, &t, &ri, have_rt);
	if (cfg->npools > 0) {
		struct table pt;

		/* The rate and token windows only when the configuration has some (as status). */
		table_init(&pt, cfg->pool_rates != NULL || cfg->pool_tokens != NULL ? 5 : 3,
		           pool_hdr, pool_al);
		for (size_t i = 0; i < cfg->npools; i++) {
			char used[24], cap[24], rate[160], tokens[160];
			const char *row[] = {cfg->pools[i].name, used, cap, rate, tokens};

			snprintf(used, sizeof(used), "%" PRId64, t.pool_used[i]);
			snprintf(cap, sizeof(cap), "%d", cfg->pools[i].value);
			if ((r = window_cell(c, i, RATE_STARTS, cfg->pool_rates, t.now, rate,
			                     sizeof(rate))) < 0 ||
			    (r = window_cell(c, i, RATE_TOKENS, cfg->pool_tokens, t.now, tokens,
			                     sizeof(tokens))) < 0) {
				code = cli_store_fail(c, r, "cannot read the queue");
				table_release(&pt);
				goto out;
			}
			table_add(&pt, row);
		}
		add_table(f, &pt);
		f->oom |= pt.oom;
		table_release(&pt);
	}
	if (t.queue.nrows == 0)
		add_line(f, "%s", "");
	if (t.queue.nrows == 0)
		add_line(f, "queue: empty");
	add_table(f, &t.queue);
	add_table(f, &t.batches);
	add_table(f, &t.failures);
	if (t.oom || t.queue.oom || t.batches.oom || t.failures.oom || f->oom)
		code = cli_fail(EX_OSERR, "out of memory");
out:
	top_release(&t);
	return code;
}

/* ---- the terminal ---- */

struct term {
	int active;
	struct termios saved;
};

static void
term_restore(struct term *tm)
{
	if (!tm->active)
		return;
	/* show the cursor, leave the alternate screen */
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &tm->saved);
	tm->active = 0;
}

/* Keys without Enter and no echo; the alternate screen, the cursor hidden. */
static int
term_setup(struct term *tm)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &tm->saved) < 0)
		return -errno;
	raw = tm->saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VSUSP] = _POSIX_VDISABLE; /* ^Z would leave the terminal in this state */
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0)
		return -errno;
	tm->active = 1;
	fputs("\033[?1049h\033[?25l", stdout);
	return 0;
}

/* Print line cut at cols columns (a code point is a column: the cells are escaped, no
 * control characters are left in them). */
static void
put_cut(const char *line, size_t cols)
{
	size_t n = 0, col = 0;

	for (; line[n] != '\0'; n++) {
		if (((unsigned char)line[n] & 0xC0) != 0x80 && col++ == cols)
			break;
	}
	fwrite(line, 1, n, stdout);
}

/* Draw the frame over the last one: each line cut to the width, then "clear to end of line";
 * lines past the height are left out; "clear to end of screen" after the last. */
static int
draw(const struct frame *f)
{
	struct winsize ws;
	size_t rows = 24, cols = 80;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		rows = ws.ws_row;
		cols = ws.ws_col;
	}
	fputs("\033[H", stdout);
	for (size_t i = 0; i < f->n && i < rows; i++) {
		put_cut(f->lines[i], cols > 1 ? cols - 1 : cols);
		/* the last row ends without a newline: the screen would scroll */
		printf("\033[K%s", i + 1 < rows && i + 1 < f->n ? "\n" : "");
	}
	fputs("\033[J", stdout);
	return fflush(stdout) == 0 ? 0 : -errno;
}

static int
live(struct cli *c)
{
	struct term tm = {0};
	struct pollfd fds[2];
	sigset_t set;
	int sfd = -1, code = 0, quit = 0;
	int64_t version = -1, last = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return cli_fail(EX_OSERR, "cannot watch signals: %s", strerror(errno));
	if (term_setup(&tm) < 0) {
		close(sfd);
		return cli_fail(EX_OSERR, "cannot set up the terminal: %s", strerror(errno));
	}
	while (!quit && code == 0) {
		int64_t now = time_mono_ms(), v = store_data_version(c->st);
		int redraw = 0;

		if (v != version || now - last >= TOP_FRAME_MS) {
			struct frame f = {0};

			if ((code = build_frame(c, &f)) == 0 && draw(&f) < 0)
				code = EX_IOERR;
			frame_release(&f);
			version = v;
			last = now;
		}
		fds[0] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		fds[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
		if (code != 0 || poll(fds, 2, TOP_TICK_MS) <= 0)
			continue;
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGWINCH)
					redraw = 1;
				else
					code = 128 + (int)si.ssi_signo;
			}
		}
		if (fds[0].revents & (POLLIN | POLLHUP)) {
			char k[64];
			ssize_t n = read(STDIN_FILENO, k, sizeof(k));

			if (n <= 0)
				quit = 1; /* the terminal is gone, or ^D */
			for (ssize_t i = 0; i < n; i++)
				if (k[i] == 'q' || k[i] == 'Q' || k[i] == 4)
					quit = 1;
		}
		if (redraw)
			last = 0;
	}
	term_restore(&tm);
	close(sfd);
	return code;
}

int
cmd_top(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"once", no_argument, NULL, '1'}, CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
	struct frame f = {0};
	int ch, code, once = 0;

	while ((ch = cli_getopt(c, argc, argv, ":hqv1", opts, NULL)) != -1) {
		if (ch != '1')
			return cli_getopt_exit(ch);
		once = 1;
	}
	if (optind < argc)
		return cli_usage_fail("top", "top: unexpected argument '%s'",
		                      CLI_SHOWN(argv[optind]));
	if ((code = cli_load_config(c)) != 0 || (code = cli_open_store(c, 1)) != 0)
		return code;
	if (!once && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO))
		return live(c);
	if ((code = build_frame(c, &f)) == 0)
		for (size_t i = 0; i < f.n; i++)
			puts(f.lines[i]);
	frame_release(&f);
	return code;
}
