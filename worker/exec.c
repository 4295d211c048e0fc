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
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "duration.h"
#include "exec_impl.h"
#include "jobenv.h"
#include "joblog.h"
#include "proc.h"
#include "reportdir.h"
#include "text.h"

#define LEFTOVER_GRACE_MS 2000 /* TERM to KILL for what outlives a finished command */

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

static void
set_outcome(struct exec *x)
{
	struct job_outcome *o = &x->h.outcome;
	int code = proc_status_code(x->leader_status);
	char *line = NULL, what[200];
	size_t tail_cap = x->err_max + 1;

	exec_drain(x, &x->out_fd, 0);
	exec_drain(x, &x->err_fd, 1);
	x->out[x->out_len] = '\0';
	o->result = x->out_len > 0 ? x->out : NULL;
	o->truncated = x->out_truncated;
	/* The tail of stderr is kept whatever the outcome: a succeeded job's warnings count too */
	if (x->err_total > 0 && (x->errtail = malloc(tail_cap)) != NULL) {
		exec_tail_of_stderr(x, x->errtail);
		o->stderr_tail = x->errtail[0] != '\0' ? x->errtail : NULL;
	}
	o->has_exit_code = 1;
	o->exit_code = code;
	/* Stopped: the tokens spent so far count all the same. */
	if (x->stop != STOP_NONE && x->report != NULL)
		exec_read_report(x, 0);
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
				exec_read_report(x, 0);
		} else if (WIFSIGNALED(x->leader_status)) {
			snprintf(what, sizeof(what), "killed by signal %d",
			         WTERMSIG(x->leader_status));
		} else {
			const char *note = NULL;

			o->temporary = code == 75;
			if (x->report != NULL)
				note = exec_read_report(x, o->temporary);
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

	exec_feed_stdin(x);
	exec_drain(x, &x->out_fd, 0);
	exec_drain(x, &x->err_fd, 1);
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
		terminate(x, now,
		          x->grace_ms < LEFTOVER_GRACE_MS ? x->grace_ms : LEFTOVER_GRACE_MS);
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

	exec_close_fd(&x->in_fd);
	exec_close_fd(&x->out_fd);
	exec_close_fd(&x->err_fd);
	joblog_close(&x->log[0]);
	joblog_close(&x->log[1]);
	exec_close_fd(&x->log_dir);
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
        .pollfds = x_pollfds,
        .step = x_step,
        .stop = x_stop,
        .reaped = x_reaped,
        .free = x_free,
};

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

	if ((r = exec_build_argv(env, &argv, err, errlen)) < 0)
		return r;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		goto nomem;
	x->h.ops = &exec_ops;
	x->in_fd = x->out_fd = x->err_fd = x->log_dir = -1;
	joblog_init(&x->log[0]);
	joblog_init(&x->log[1]);
	x->job_id = env->job->id;
	x->backoff_max_ms = env->type->backoff_max_ms;
	if ((r = exec_make_report(x, err, errlen)) < 0)
		goto fail;
	if ((r = exec_build_envp(env, x->report, &envp)) < 0)
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
	        .argv = argv,
	        .envp = envp,
	        .stdin_fd = in[0],
	        .stdout_fd = o[1],
	        .stderr_fd = e[1],
	        .cwd = NULL,
	        .extra_fd = -1,
	};
	if ((r = proc_spawn(&sp, &x->pid)) < 0) {
		/* Under a service manager PATH is short (no ~/.local/bin, no npm's bin): say which
		 * one was searched. */
		if (r == -ENOENT && strchr(argv[0], '/') == NULL)
			snprintf(err, errlen, "exec '%s': command not found in PATH (%s)", argv[0],
			         exec_env_path(envp));
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
		x->timeout_at =
		        time_add(time_mono_ms(), x->timeout_ms); /* the row may hold any value */
	*pgid_out = x->pid;
	if (proc_start_time(x->pid, pgid_start_out) < 0)
		*pgid_start_out = 0;
	x->ref.pgid = x->pid;
	x->ref.pgid_start = *pgid_start_out;
	x->ref.own = 1; /* our child: its group is ours, whatever its environment */
	x->ref.env = x->ident.env;
	exec_feed_stdin(x);
	exec_free_vec(argv);
	exec_free_vec(envp);
	*out = &x->h;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	r = -ENOMEM;
fail:
	for (int i = 0; i < 2; i++) {
		exec_close_fd(&in[i]);
		exec_close_fd(&o[i]);
		exec_close_fd(&e[i]);
	}
	if (x != NULL)
		x_free(&x->h);
	exec_free_vec(argv);
	exec_free_vec(envp);
	return r;
}
