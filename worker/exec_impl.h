/* The exec handler's parts (exec.c: the command's life, from spawn to reaping; exec_argv.c:
 * its argv and environment; exec_output.c: its stdin, stdout and stderr; exec_report.c: the
 * JOBQ_REPORT file). Internal to worker/. */
#ifndef JOBQ_EXEC_IMPL_H
#define JOBQ_EXEC_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "handler_impl.h"
#include "jobenv.h"
#include "joblog.h"
#include "proc.h"

#define ARG_MAX_BYTES (128 * 1024) /* one argv element after substitution */
#define REPORT_MAX 65536           /* bytes of JOBQ_REPORT read */

enum stop_reason { STOP_NONE, STOP_CANCEL, STOP_SHUTDOWN, STOP_TIMEOUT };

struct exec {
	struct handler h;
	pid_t pid;
	struct proc_job ref;       /* the group (pid + start time) and the attempt's environment */
	struct jobenv_ident ident; /* that environment (ref.env points into it) */
	int64_t job_id;
	int in_fd, out_fd, err_fd;
	const char *payload;
	size_t payload_len, payload_off;
	char *out; /* stdout, at most out_max bytes kept */
	size_t out_len, out_max;
	int out_truncated;
	char *err; /* ring of the last err_max bytes of stderr */
	size_t err_total, err_max;
	int leader_done, leader_status;
	enum stop_reason stop;
	int64_t timeout_ms, timeout_at;
	int64_t grace_ms;   /* TERM to KILL when stopping */
	int64_t kill_at;    /* monotonic ms: send SIGKILL then (0: not terminating) */
	int64_t give_up_at; /* after SIGKILL, stop waiting for the unkillable */
	int killed;
	char *errtext;          /* the error of the outcome */
	char *errtail;          /* the tail of stderr, kept with the job (outcome.stderr_tail) */
	char *report_dir;       /* private folder of JOBQ_REPORT, removed with the handler */
	char *report;           /* JOBQ_REPORT */
	int64_t backoff_max_ms; /* a reported retry_after is honoured up to this */
	int log_dir;            /* DB.logs, or -1 */
	struct joblog log[2];   /* the output files: stdout, stderr as read (joblog.h) */
};

/* Close *fd if open and set it to -1. */
void exec_close_fd(int *fd);

/* Read what the pipe *fd (stdout, or stderr with is_err) has now into x's buffers and output
 * files. Returns 0 while open, 1 at EOF (then *fd is closed). */
int exec_drain(struct exec *x, int *fd, int is_err);

/* Write what the command's stdin takes now of the payload; close it at the end (or EPIPE). */
void exec_feed_stdin(struct exec *x);

/* The last bytes of stderr, in order, without the final newline; buf holds err_max + 1. */
void exec_tail_of_stderr(const struct exec *x, char *buf);

/* The job's argv from the type's exec template (placeholders substituted) into *out
 * (exec_free_vec()). Returns 0, or -errno with a message in err. */
int exec_build_argv(const struct handler_env *env, char ***out, char *err, size_t errlen);

/* The job's environment into *out (exec_free_vec()): the worker's, minus the type's env_remove
 * and jobq's own names, plus the type's env and JOBQ_* (report: JOBQ_REPORT). Returns 0 or
 * -ENOMEM. */
int exec_build_envp(const struct handler_env *env, const char *report, char ***out);

/* The PATH a command is looked up in: envp's, else the worker's, else a default. */
const char *exec_env_path(char *const *envp);

/* Free a NULL-terminated vector of strings. NULL-safe. */
void exec_free_vec(char **v);

/* Make the job's private JOBQ_REPORT folder (x->report_dir, x->report), or take the one
 * exec_report_prepare() made. Returns 0, or -errno with a message in err (never -ENOENT or
 * -EACCES: those read as "command not found"). */
int exec_make_report(struct exec *x, char *err, size_t errlen);

/* Read the JOBQ_REPORT file at the end of an attempt into the outcome (tokens; after exit 75,
 * with temporary, the retry delay and the quota). Returns NULL, or a note for the error when
 * the report is there but unusable. */
const char *exec_read_report(struct exec *x, int temporary);

#endif
