/* The exec handler: the JOBQ_REPORT file, its private folder and what it reports. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "duration.h"
#include "exec_impl.h"
#include "fileio.h"
#include "reportdir.h"

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
const char *
exec_read_report(struct exec *x, int temporary)
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

/*
 * A report folder made ahead of its attempt, while the worker was idle (exec_report_prepare()):
 * the next attempt takes it instead of making one on its way to exec. On ext4 a mkdir in a
 * folder where many were removed scans for an inode not recently deleted, 175 us a job in a
 * worker's profile. Still one folder per attempt. "" when none.
 */
static char spare[4096];

/* Make a private folder for a JOBQ_REPORT, 0700: $TMPDIR (or /tmp)/jobq-report.PID.XXXXXX,
 * where PID is the worker's, so that the supervisor can remove the folder of a worker that was
 * killed (reportdir_cleanup()). */
static int
make_dir(char *dir, size_t len, char *err, size_t errlen)
{
	struct stat st;
	size_t n;
	const char *tmp = reportdir_parent(&n);

	if (n + sizeof("/" REPORTDIR_PREFIX "4294967295.XXXXXX") > len) {
		snprintf(err, errlen, "exec: TMPDIR is too long");
		return -ENAMETOOLONG;
	}
	/* A folder another user may change could have the job's folder replaced by a link to one
	 * of theirs after mkdtemp: the command would write there, the worker read their report and
	 * empty the folder the link points to. As the database's folder (core/trust.h): owned by
	 * this user or root, not writable by anyone unless sticky (/tmp). */
	snprintf(dir, len, "%.*s", (int)n, tmp);
	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "exec: cannot make a folder for JOBQ_REPORT in '%s': %s", dir,
		         strerror(errno));
		return -EIO;
	}
	if (!S_ISDIR(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    ((st.st_mode & S_IWOTH) != 0 && (st.st_mode & S_ISVTX) == 0)) {
		snprintf(err, errlen, "exec: refusing '%s' (TMPDIR) for JOBQ_REPORT: %s", dir,
		         !S_ISDIR(st.st_mode) ? "not a folder"
		         : st.st_uid != geteuid() && st.st_uid != 0
		                 ? "it belongs to another user, not to you or root"
		                 : "anyone may write it and it is not sticky");
		return -EIO; /* not -ENOENT or -EACCES: those read as "command not found" */
	}
	snprintf(dir, len, "%.*s/" REPORTDIR_PREFIX "%d.XXXXXX", (int)n, tmp, (int)getpid());
	if (mkdtemp(dir) == NULL) {
		snprintf(err, errlen, "exec: cannot make a folder for JOBQ_REPORT in '%.*s': %s",
		         (int)n, tmp, strerror(errno));
		return -EIO; /* not -ENOENT or -EACCES: those read as "command not found" */
	}
	return 0;
}

/* Is the spare still as made: a folder of ours, 0700 (not removed meanwhile, by a clean-up of
 * /tmp say)? Nobody else can have written into it. */
static int
spare_intact(void)
{
	struct stat st;

	return lstat(spare, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       (st.st_mode & 07777) == 0700;
}

int
exec_make_report(struct exec *x, char *err, size_t errlen)
{
	char dir[sizeof(spare)];
	int r;

	if (spare[0] != '\0' && spare_intact()) {
		memcpy(dir, spare, sizeof(dir));
		spare[0] = '\0';
	} else {
		exec_report_drop(); /* not as made: gone, or a mode a umask took (refuses links) */
		if ((r = make_dir(dir, sizeof(dir), err, errlen)) < 0)
			return r;
	}
	if ((x->report_dir = strdup(dir)) == NULL ||
	    asprintf(&x->report, "%s/job-%" PRId64 ".json", dir, x->job_id) < 0) {
		x->report = NULL;
		if (x->report_dir == NULL)
			reportdir_remove(dir);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

void
exec_report_prepare(void)
{
	char err[256];

	if (spare[0] == '\0' && make_dir(spare, sizeof(spare), err, sizeof(err)) < 0)
		spare[0] = '\0'; /* the attempt will try again, and say why it failed */
}

void
exec_report_drop(void)
{
	if (spare[0] != '\0')
		reportdir_remove(spare);
	spare[0] = '\0';
}
