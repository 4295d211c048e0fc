/*
 * The exec handler: the type's argv (placeholders substituted, no shell) in its own process
 * group, the payload on stdin, stdout kept (capped) as the result, the tail of stderr (capped)
 * kept with the job. When the command ends, is cancelled or times out, everything it started
 * is terminated (SIGTERM, grace, SIGKILL) and reaped: the group, the children the worker got
 * back as subreaper (double forks, setsid) and whatever carries the job's environment.
 *
 * JOBQ_REPORT names a fresh file in a private (0700) folder made for the job: a command that
 * meets a quota writes {"retry_after": "30m"} (a duration, an RFC 3339 time or a number of
 * seconds) there and exits 75; the job is retried after that and its pools are paused until
 * then (handler_quota). Whatever the outcome, {"tokens": N} there is what the attempt spent,
 * charged to the token budgets of the job's pools (outcome.tokens).
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "buf.h"
#include "duration.h"
#include "fileio.h"
#include "handler_impl.h"
#include "jobenv.h"
#include "joblog.h"
#include "log.h"
#include "proc.h"
#include "reportdir.h"
#include "text.h"

#define ARG_MAX_BYTES (128 * 1024) /* one argv element after substitution */
#define LEFTOVER_GRACE_MS 2000     /* TERM to KILL for what outlives a finished command */
#define REPORT_MAX 65536           /* bytes of JOBQ_REPORT read */

enum stop_reason { STOP_NONE, STOP_CANCEL, STOP_SHUTDOWN, STOP_TIMEOUT };

struct exec {
	struct handler h;
	pid_t pid;
	struct proc_job ref;      /* the group (pid + start time) and the attempt's environment */
	struct jobenv_ident ident; /* that environment (ref.env points into it) */
	int64_t job_id;
	int in_fd, out_fd, err_fd;
	const char *payload;
	size_t payload_len, payload_off;
	char *out;                /* stdout, at most out_max bytes kept */
	size_t out_len, out_max;
	int out_truncated;
	char *err;                /* ring of the last err_max bytes of stderr */
	size_t err_total, err_max;
	int leader_done, leader_status;
	enum stop_reason stop;
	int64_t timeout_ms, timeout_at;
	int64_t grace_ms;         /* TERM to KILL when stopping */
	int64_t kill_at;          /* monotonic ms: send SIGKILL then (0: not terminating) */
	int64_t give_up_at;       /* after SIGKILL, stop waiting for the unkillable */
	int killed;
	char *errtext;            /* the error of the outcome */
	char *errtail;            /* the tail of stderr, kept with the job (outcome.stderr_tail) */
	char *report_dir;         /* private folder of JOBQ_REPORT, removed with the handler */
	char *report;             /* JOBQ_REPORT */
	int64_t backoff_max_ms;   /* a reported retry_after is honoured up to this */
	int log_dir;              /* DB.logs, or -1 */
	struct joblog log[2];     /* the output files: stdout, stderr as read (joblog.h) */
};

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Read what a pipe has now. Returns 0 while open, 1 at EOF. */
static int
drain(struct exec *x, int *fd, int is_err)
{
	char buf[16384];

	while (*fd >= 0) {
		ssize_t n = read(*fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			close_fd(fd);
			return 1;
		}
		if (n == 0) {
			close_fd(fd);
			return 1;
		}
		if (joblog_write(&x->log[is_err], buf, (size_t)n) < 0)
			log_warnx("job %" PRId64 ": cannot write its %s file: %s (the rest is not kept)",
				  x->job_id, is_err ? "stderr" : "stdout", strerror(x->log[is_err].err));
		if (!is_err) {
			size_t keep = x->out_max - x->out_len;
			if ((size_t)n < keep)
				keep = (size_t)n;
			else
				x->out_truncated |= (size_t)n > keep;
			memcpy(x->out + x->out_len, buf, keep);
			x->out_len += keep;
		} else if (x->err_max > 0) {
			for (ssize_t i = 0; i < n; i++)
				x->err[(x->err_total + (size_t)i) % x->err_max] = buf[i];
			x->err_total += (size_t)n;
		}
	}
	return 1;
}

static void
feed_stdin(struct exec *x)
{
	while (x->in_fd >= 0 && x->payload_off < x->payload_len) {
		ssize_t n = write(x->in_fd, x->payload + x->payload_off,
				  x->payload_len - x->payload_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				close_fd(&x->in_fd); /* EPIPE: the command does not read it */
			return;
		}
		x->payload_off += (size_t)n;
	}
	if (x->payload_off >= x->payload_len)
		close_fd(&x->in_fd);
}

static int
x_pollfds(struct handler *h, struct pollfd *fds, int max, int *timeout_ms)
{
	struct exec *x = (struct exec *)h;
	int n = 0;

	if (x->in_fd >= 0 && n < max)
		fds[n++] = (struct pollfd){.fd = x->in_fd, .events = POLLOUT};
	if (x->out_fd >= 0 && n < max)
		fds[n++] = (struct pollfd){.fd = x->out_fd, .events = POLLIN};
	if (x->err_fd >= 0 && n < max)
		fds[n++] = (struct pollfd){.fd = x->err_fd, .events = POLLIN};
	if (x->stop == STOP_NONE && !x->leader_done)
		handler_deadline(x->timeout_at, timeout_ms);
	handler_deadline(x->kill_at, timeout_ms);
	handler_deadline(x->give_up_at, timeout_ms);
	/* While terminating, look again soon: leftovers that die are reaped through SIGCHLD, but
	 * processes that are not our children can only be seen by looking. */
	if (x->kill_at > 0 || x->killed)
		handler_deadline(time_mono_ms() + 100, timeout_ms);
	return n;
}

/* Anything of the job still alive: its group, or a child of this worker. */
static int
leftovers(const struct exec *x)
{
	pid_t kids[4];

	if (proc_kill_group(x->pid, x->ref.pgid_start, 0) == 0)
		return 1;
	return proc_children(kids, 4) > 0;
}

static void
terminate(struct exec *x, int64_t now, int64_t grace_ms)
{
	if (x->kill_at > 0 || x->killed)
		return;
	struct proc_job group_only = x->ref;

	group_only.env = NULL;
	proc_kill_job(&x->ref, 1, SIGTERM);
	proc_kill_job(&group_only, 1, SIGCONT); /* a stopped process must see its TERM */
	x->kill_at = time_add(now, grace_ms > 0 ? grace_ms : 1);
}

/* The last bytes of stderr, in order, without the final newline; buf holds err_max + 1. */
static void
tail_of_stderr(const struct exec *x, char *buf)
{
	size_t n = x->err_total < x->err_max ? x->err_total : x->err_max;
	size_t start = x->err_total < x->err_max ? 0 : x->err_total % x->err_max;

	for (size_t i = 0; i < n; i++)
		buf[i] = x->err[(start + i) % x->err_max];
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
}

const char *
exec_report_parse(const char *text, int64_t now, int64_t *ms_out)
{
	cJSON *root = NULL;
	const cJSON *v;
	const char *note = NULL;
	int64_t ms = -1, t;

	*ms_out = -1;
	if ((root = cJSON_ParseWithOpts(text, NULL, 1)) == NULL || !cJSON_IsObject(root)) {
		note = "JOBQ_REPORT is not a JSON object";
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "retry_after");
	if (v == NULL)
		goto out;
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9)
		ms = (int64_t)(v->valuedouble * 1000);
	else if (cJSON_IsString(v) && duration_parse(v->valuestring, &ms) == 0)
		;
	else if (cJSON_IsString(v) && time_parse_rfc3339(v->valuestring, &t) == 0)
		ms = t > now ? t - now : 0;
	else
		ms = -1;
	if (ms < 0) {
		note = "JOBQ_REPORT retry_after is not a duration, an RFC 3339 time or seconds";
		goto out;
	}
	*ms_out = ms;
out:
	cJSON_Delete(root);
	return note;
}

const char *
exec_report_tokens(const char *text, int64_t *tokens_out)
{
	cJSON *root = NULL;
	const cJSON *v;
	const char *note = NULL;

	*tokens_out = 0;
	if ((root = cJSON_ParseWithOpts(text, NULL, 1)) == NULL || !cJSON_IsObject(root)) {
		note = "JOBQ_REPORT is not a JSON object";
		goto out;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "tokens")) == NULL)
		goto out;
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= EXEC_TOKENS_MAX &&
	    v->valuedouble == (double)(int64_t)v->valuedouble)
		*tokens_out = (int64_t)v->valuedouble;
	else
		note = "JOBQ_REPORT tokens is not an integer from 0 to 10^12";
out:
	cJSON_Delete(root);
	return note;
}

/*
 * The JOBQ_REPORT file at the end of an attempt: {"tokens": N} is charged whatever the outcome;
 * after exit 75 (temporary) a retry_after becomes the delay of the retry and the end of the
 * pause of the job's pools. Returns NULL, or a note for the error when the report is there but
 * unusable.
 */
static const char *
read_report(struct exec *x, int temporary)
{
	struct job_outcome *o = &x->h.outcome;
	char *text = NULL;
	const char *note, *tnote;
	int64_t now = time_now_ms(), ms;
	struct stat st;
	int fd;

	/* Non-blocking and no symlink: a FIFO or a link planted there cannot stall the worker. */
	if ((fd = open(x->report, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)) < 0)
		return errno == ENOENT ? NULL : "JOBQ_REPORT unreadable";
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > REPORT_MAX ||
	    fd_read_all(fd, REPORT_MAX, &text, NULL) < 0) {
		close(fd);
		return "JOBQ_REPORT unreadable";
	}
	close(fd);
	tnote = exec_report_tokens(text, &o->tokens);
	if (!temporary) {
		free(text);
		return tnote;
	}
	note = exec_report_parse(text, now, &ms);
	free(text);
	if (note != NULL || ms < 0)
		return note != NULL ? note : tnote;
	o->retry_after_ms = handler_clamp_retry(ms, x->backoff_max_ms);
	if (o->retry_after_ms > 0) {
		x->h.quota_until = time_add(now, o->retry_after_ms);
		snprintf(x->h.quota_reason, sizeof(x->h.quota_reason),
			 "exit 75 with retry_after in JOBQ_REPORT (job %" PRId64 ")", x->job_id);
	}
	return NULL;
}

static void
set_outcome(struct exec *x)
{
	struct job_outcome *o = &x->h.outcome;
	int code = proc_status_code(x->leader_status);
	char *line = NULL, what[200];
	size_t tail_cap = x->err_max + 1;

	drain(x, &x->out_fd, 0);
	drain(x, &x->err_fd, 1);
	x->out[x->out_len] = '\0';
	o->result = x->out_len > 0 ? x->out : NULL;
	o->truncated = x->out_truncated;
	/* The tail of stderr is kept whatever the outcome: a succeeded job's warnings matter too. */
	if (x->err_total > 0 && (x->errtail = malloc(tail_cap)) != NULL) {
		tail_of_stderr(x, x->errtail);
		o->stderr_tail = x->errtail[0] != '\0' ? x->errtail : NULL;
	}
	o->has_exit_code = 1;
	o->exit_code = code;
	/* Stopped: the tokens spent so far count all the same. */
	if (x->stop != STOP_NONE && x->report != NULL)
		read_report(x, 0);
	switch (x->stop) {
	case STOP_CANCEL:
		o->cancelled = 1;
		snprintf(what, sizeof(what), "cancelled");
		break;
	case STOP_SHUTDOWN:
		o->temporary = 1;
		snprintf(what, sizeof(what), "interrupted by shutdown");
		break;
	case STOP_TIMEOUT: {
		char d[32];
		duration_format(x->timeout_ms, d, sizeof(d));
		snprintf(what, sizeof(what), "timed out after %s", d);
		break;
	}
	case STOP_NONE:
		if (code == 0) {
			o->succeeded = 1;
			what[0] = '\0';
			/* A bad tokens value of a job that succeeded is ignored (docs). */
			if (x->report != NULL)
				read_report(x, 0);
		} else if (WIFSIGNALED(x->leader_status)) {
			snprintf(what, sizeof(what), "killed by signal %d",
				 WTERMSIG(x->leader_status));
		} else {
			const char *note = NULL;

			o->temporary = code == 75;
			if (x->report != NULL)
				note = read_report(x, o->temporary);
			snprintf(what, sizeof(what), "exit status %d%s%s%s", code,
				 note != NULL ? " (" : "", note != NULL ? note : "",
				 note != NULL ? ")" : "");
		}
		break;
	}
	if (o->succeeded)
		return;
	/* The error is one line: what happened and the cause, which a command writes last (its
	 * first lines are often a banner: "starting job 487 ..."); the whole tail is in stderr. */
	if (o->stderr_tail != NULL && (line = malloc(tail_cap)) != NULL &&
	    text_last_line(o->stderr_tail, strlen(o->stderr_tail), line, tail_cap) > 0) {
		if (asprintf(&x->errtext, "%s: %s", what, line) < 0)
			x->errtext = NULL;
	} else {
		x->errtext = strdup(what);
	}
	free(line);
	o->error = x->errtext != NULL ? x->errtext : "failed";
}

static int
x_step(struct handler *h, int64_t now)
{
	struct exec *x = (struct exec *)h;

	feed_stdin(x);
	drain(x, &x->out_fd, 0);
	drain(x, &x->err_fd, 1);
	if (x->stop == STOP_NONE && !x->leader_done && x->timeout_at > 0 && now >= x->timeout_at) {
		x->stop = STOP_TIMEOUT;
		terminate(x, now, x->grace_ms);
	}
	if (x->leader_done && x->kill_at == 0 && !x->killed) {
		/* The command is over: what it left behind goes now. The fast path, nothing left,
		 * costs one kill(2) and one read of /proc. */
		if (!leftovers(x)) {
			set_outcome(x);
			return h->done = 1;
		}
		terminate(x, now, x->grace_ms < LEFTOVER_GRACE_MS ? x->grace_ms : LEFTOVER_GRACE_MS);
	}
	if (x->kill_at > 0 && now >= x->kill_at) {
		proc_kill_job(&x->ref, 1, SIGKILL);
		x->kill_at = 0;
		x->killed = 1;
		x->give_up_at = now + 5000;
	}
	if (x->leader_done && (x->kill_at > 0 || x->killed)) {
		if (!leftovers(x) || (x->give_up_at > 0 && now >= x->give_up_at)) {
			set_outcome(x);
			return h->done = 1;
		}
		if (x->killed) { /* late arrivals (children reparented after the KILL) */
			struct proc_job group_only = x->ref;
			group_only.env = NULL;
			proc_kill_job(&group_only, 1, SIGKILL);
		}
	}
	return 0;
}

static void
x_stop(struct handler *h, int cancel, int64_t grace_ms)
{
	struct exec *x = (struct exec *)h;

	if (x->stop == STOP_NONE)
		x->stop = cancel ? STOP_CANCEL : STOP_SHUTDOWN;
	terminate(x, time_mono_ms(), grace_ms);
}

static int
x_reaped(struct handler *h, pid_t pid, int status)
{
	struct exec *x = (struct exec *)h;

	if (pid == x->pid) {
		x->leader_done = 1;
		x->leader_status = status;
	} else {
		h->outcome.orphans_reaped++;
	}
	return 1; /* the worker runs one job: every child it reaps is this job's */
}

static void
x_free(struct handler *h)
{
	struct exec *x = (struct exec *)h;

	close_fd(&x->in_fd);
	close_fd(&x->out_fd);
	close_fd(&x->err_fd);
	joblog_close(&x->log[0]);
	joblog_close(&x->log[1]);
	close_fd(&x->log_dir);
	free(x->out);
	free(x->err);
	free(x->errtext);
	free(x->errtail);
	jobenv_ident_release(&x->ident);
	if (x->report_dir != NULL)
		reportdir_remove(x->report_dir);
	free(x->report);
	free(x->report_dir);
	free(x);
}

static const struct handler_ops exec_ops = {
	.pollfds = x_pollfds, .step = x_step, .stop = x_stop, .reaped = x_reaped, .free = x_free,
};

/* Substitute {job.*} and {payload.KEY} in one argv element; "{{" stands for "{" and any
 * other {...} is kept as written. */
int
exec_substitute(const char *tmpl, const struct job *job, const cJSON *payload, char **out,
		char *err, size_t errlen)
{
	struct buf b = {.max = ARG_MAX_BYTES};
	char num[32];
	int r = buf_add(&b, "", 0);

	for (const char *p = tmpl; r == 0 && *p != '\0';) {
		const char *open = strchr(p, '{');
		if (open == NULL) {
			r = buf_add(&b, p, strlen(p));
			break;
		}
		if ((r = buf_add(&b, p, (size_t)(open - p))) < 0)
			break;
		if (open[1] == '{') {
			r = buf_add(&b, "{", 1);
			p = open + 2;
			continue;
		}
		const char *close = strchr(open, '}');
		const char *val;
		char *tofree;
		if (close == NULL) {
			r = buf_add(&b, open, strlen(open));
			break;
		}
		struct placeholder ph;
		tofree = NULL;
		r = placeholder_resolve(open + 1, (size_t)(close - open - 1), job, payload, &ph);
		if (r == -ENOENT) {
			int n = (int)(close - open - 1) > 8 ? (int)(close - open - 9) : 0;
			snprintf(err, errlen, "exec: the payload has no '%.*s' for the placeholder",
				 n, open + 9);
			r = -EINVAL;
		} else if (r == -EILSEQ) {
			placeholder_nul_error(job, "exec", err, errlen);
			r = -EINVAL;
		} else if (r == 0) {
			/* not a placeholder ("${HOME}" in a bash -c script): kept as written */
			r = buf_add(&b, open, (size_t)(close - open + 1));
		} else if ((r = placeholder_text(&ph, &val, &tofree, num, sizeof(num))) == 0) {
			r = buf_add(&b, val, strlen(val));
		}
		free(tofree);
		p = close + 1;
	}
	if (r == -E2BIG)
		snprintf(err, errlen, "exec: an argument is longer than %d bytes", ARG_MAX_BYTES);
	else if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (r < 0) {
		buf_release(&b);
		return r;
	}
	*out = buf_detach(&b);
	return 0;
}

static void
free_vec(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static int
build_argv(const struct handler_env *env, char ***out, char *err, size_t errlen)
{
	const struct type_config *t = env->type;
	cJSON *payload = cJSON_ParseWithOpts(env->job->payload != NULL ? env->job->payload : "null",
					     NULL, 1);
	char **argv = calloc(t->exec_argc + 1, sizeof(char *));
	int r = 0;

	if (argv == NULL) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < t->exec_argc; i++)
		r = exec_substitute(t->exec_argv[i], env->job, payload, &argv[i], err, errlen);
	cJSON_Delete(payload);
	if (r < 0) {
		free_vec(argv);
		return r;
	}
	*out = argv;
	return 0;
}

/* Is the variable NAME=... of entry e named in list (names, NULL-terminated)? */
static int
named(const char *e, char *const *list)
{
	size_t n = strcspn(e, "=");
	for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
		size_t m = strcspn(list[i], "=");
		if (m == n && strncmp(e, list[i], n) == 0)
			return 1;
	}
	return 0;
}

static int
build_envp(const struct handler_env *env, const char *report, char ***out)
{
	static char *const ours[] = {JOBENV_JOB_ID, JOBENV_JOB_TYPE, JOBENV_NAMESPACE,
				     JOBENV_ATTEMPT, JOBENV_DB, JOBENV_REPORT, "JOBQ_CONFIG", NULL};
	const struct type_config *t = env->type;
	const struct job *j = env->job;
	size_t nbase = 0, n = 0;
	char **envp;

	while (env->base_envp != NULL && env->base_envp[nbase] != NULL)
		nbase++;
	if ((envp = calloc(nbase + t->nenv + 8, sizeof(char *))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < nbase; i++) {
		const char *e = env->base_envp[i];
		if (named(e, ours) || named(e, t->env_remove) || named(e, t->env))
			continue;
		if ((envp[n++] = strdup(e)) == NULL)
			goto nomem;
	}
	for (size_t i = 0; i < t->nenv; i++)
		if ((envp[n++] = strdup(t->env[i])) == NULL)
			goto nomem;
	if (asprintf(&envp[n++], JOBENV_JOB_ID "=%" PRId64, j->id) < 0 ||
	    asprintf(&envp[n++], JOBENV_JOB_TYPE "=%s", j->type) < 0 ||
	    asprintf(&envp[n++], JOBENV_NAMESPACE "=%s", j->namespace) < 0 ||
	    asprintf(&envp[n++], JOBENV_ATTEMPT "=%" PRId64, j->attempts) < 0 ||
	    asprintf(&envp[n++], JOBENV_DB "=%s", env->db_path) < 0 ||
	    asprintf(&envp[n++], JOBENV_REPORT "=%s", report) < 0) {
		envp[n - 1] = NULL;
		goto nomem;
	}
	envp[n] = NULL;
	*out = envp;
	return 0;
nomem:
	free_vec(envp);
	return -ENOMEM;
}

/* The PATH a command is looked up in: the job's environment's, else the worker's (proc.c). */
static const char *
env_path(char *const *envp)
{
	const char *path = NULL;

	for (char *const *e = envp; e != NULL && *e != NULL; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	if (path == NULL)
		path = getenv("PATH");
	return path != NULL ? path : "/usr/local/bin:/usr/bin:/bin";
}

/* A private folder for the job's JOBQ_REPORT, 0700: $TMPDIR (or /tmp)/jobq-report.PID.XXXXXX,
 * where PID is the worker's, so that the supervisor can remove the folder of a worker that was
 * killed (reportdir_cleanup()). */
static int
make_report(struct exec *x, char *err, size_t errlen)
{
	char dir[4096];
	struct stat st;
	size_t n;
	const char *tmp = reportdir_parent(&n);

	if (n + sizeof("/" REPORTDIR_PREFIX "4294967295.XXXXXX") > sizeof(dir)) {
		snprintf(err, errlen, "exec: TMPDIR is too long");
		return -ENAMETOOLONG;
	}
	/* A folder another user may change could have the job's folder replaced by a link to one
	 * of theirs after mkdtemp: the command would write there, the worker read their report and
	 * empty the folder the link points to. As the database's folder (core/trust.h): owned by
	 * this user or root, not writable by anyone unless sticky (/tmp). */
	snprintf(dir, sizeof(dir), "%.*s", (int)n, tmp);
	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "exec: cannot make a folder for JOBQ_REPORT in '%s': %s", dir,
			 strerror(errno));
		return -EIO;
	}
	if (!S_ISDIR(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    ((st.st_mode & S_IWOTH) != 0 && (st.st_mode & S_ISVTX) == 0)) {
		snprintf(err, errlen,
			 "exec: refusing '%s' (TMPDIR) for JOBQ_REPORT: %s", dir,
			 !S_ISDIR(st.st_mode) ? "not a folder"
			 : st.st_uid != geteuid() && st.st_uid != 0
				 ? "it belongs to another user, not to you or root"
				 : "anyone may write it and it is not sticky");
		return -EIO; /* not -ENOENT or -EACCES: those read as "command not found" */
	}
	snprintf(dir, sizeof(dir), "%.*s/" REPORTDIR_PREFIX "%d.XXXXXX", (int)n, tmp, (int)getpid());
	if (mkdtemp(dir) == NULL) {
		snprintf(err, errlen, "exec: cannot make a folder for JOBQ_REPORT in '%.*s': %s",
			 (int)n, tmp, strerror(errno));
		return -EIO; /* not -ENOENT or -EACCES: those read as "command not found" */
	}
	if ((x->report_dir = strdup(dir)) == NULL ||
	    asprintf(&x->report, "%s/job-%" PRId64 ".json", dir, x->job_id) < 0) {
		x->report = NULL;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int
pipe_pair(int fds[2])
{
	return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno;
}

int
exec_start(const struct handler_env *env, struct handler **out, pid_t *pgid_out,
	   uint64_t *pgid_start_out, char *err, size_t errlen)
{
	const struct config *cfg = env->cfg;
	struct exec *x = NULL;
	char **argv = NULL, **envp = NULL;
	int in[2] = {-1, -1}, o[2] = {-1, -1}, e[2] = {-1, -1};
	int r;

	if ((r = build_argv(env, &argv, err, errlen)) < 0)
		return r;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		goto nomem;
	x->h.ops = &exec_ops;
	x->in_fd = x->out_fd = x->err_fd = x->log_dir = -1;
	joblog_init(&x->log[0]);
	joblog_init(&x->log[1]);
	x->job_id = env->job->id;
	x->backoff_max_ms = env->type->backoff_max_ms;
	if ((r = make_report(x, err, errlen)) < 0)
		goto fail;
	if ((r = build_envp(env, x->report, &envp)) < 0)
		goto nomem;
	x->out_max = cfg->output_max;
	x->err_max = cfg->stderr_max;
	if (jobenv_ident_init(&x->ident, env->job->id, env->job->attempts, env->db_path) < 0 ||
	    (x->out = malloc(x->out_max + 1)) == NULL ||
	    (x->err_max > 0 && (x->err = malloc(x->err_max)) == NULL))
		goto nomem;
	x->payload = env->job->payload != NULL ? env->job->payload : "";
	x->payload_len = strlen(x->payload);
	x->grace_ms = cfg->grace_ms;
	x->timeout_ms = env->job->timeout_ms > 0 ? env->job->timeout_ms : env->type->timeout_ms;
	x->log_dir = handler_open_logs(env, x->log);

	if ((r = pipe_pair(in)) < 0 || (r = pipe_pair(o)) < 0 || (r = pipe_pair(e)) < 0) {
		snprintf(err, errlen, "exec: cannot make a pipe: %s", strerror(-r));
		goto fail;
	}
	struct proc_spawn sp = {
		.argv = argv, .envp = envp, .stdin_fd = in[0], .stdout_fd = o[1],
		.stderr_fd = e[1], .cwd = NULL, .extra_fd = -1,
	};
	if ((r = proc_spawn(&sp, &x->pid)) < 0) {
		/* Under a service manager PATH is short (no ~/.local/bin, no npm's bin): say which
		 * one was searched. */
		if (r == -ENOENT && strchr(argv[0], '/') == NULL)
			snprintf(err, errlen, "exec '%s': command not found in PATH (%s)", argv[0],
				 env_path(envp));
		else
			snprintf(err, errlen, "exec '%s': %s", argv[0],
				 r == -ENOENT ? "command not found" : strerror(-r));
		goto fail;
	}
	close(in[0]);
	close(o[1]);
	close(e[1]);
	in[0] = o[1] = e[1] = -1;
	x->in_fd = in[1];
	x->out_fd = o[0];
	x->err_fd = e[0];
	fcntl(x->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(x->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(x->err_fd, F_SETFL, O_NONBLOCK);
	if (x->timeout_ms > 0)
		x->timeout_at = time_add(time_mono_ms(), x->timeout_ms); /* the row may hold any value */
	*pgid_out = x->pid;
	if (proc_start_time(x->pid, pgid_start_out) < 0)
		*pgid_start_out = 0;
	x->ref.pgid = x->pid;
	x->ref.pgid_start = *pgid_start_out;
	x->ref.own = 1; /* our child: its group is ours, whatever its environment */
	x->ref.env = x->ident.env;
	feed_stdin(x);
	free_vec(argv);
	free_vec(envp);
	*out = &x->h;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	r = -ENOMEM;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&o[i]);
		close_fd(&e[i]);
	}
	if (x != NULL)
		x_free(&x->h);
	free_vec(argv);
	free_vec(envp);
	return r;
}
