/*
 * jobq logs: a job's output files (core/joblog.h), printed, or followed as they grow until the
 * job has ended. And the part of prune that removes the files of pruned jobs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "joblog.h"
#include "log.h"

#define FOLLOW_POLL_MS 100 /* how often --follow looks at the file and the job */

static int
is_final(enum job_state s)
{
	return s == JOB_SUCCEEDED || s == JOB_FAILED || s == JOB_CANCELLED;
}

/* Open name in the folder dirfd for reading: a regular file only, no link, never blocking (a
 * FIFO put there). Returns an fd or -1. */
static int
open_file(int dirfd, const char *name)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Copy what fd has now to stdout. Returns 0, or 74 when stdout cannot be written. */
static int
copy_out(int fd)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 0; /* a file we cannot read further: what was there is printed */
		}
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return cli_fail(EX_IOERR, "cannot write the output: %s", strerror(errno));
	}
	if (fflush(stdout) != 0)
		return cli_fail(EX_IOERR, "cannot write the output: %s", strerror(errno));
	return 0;
}

/* Print the rotated files of the stream, oldest first. */
static int
print_rotated(int dirfd, int64_t id, enum joblog_stream s)
{
	char name[JOBLOG_NAME_MAX];
	int code = 0;

	for (int g = JOBLOG_KEEP_MAX; g >= 1 && code == 0; g--) {
		int fd;

		joblog_name(id, s, g, name, sizeof(name));
		if ((fd = open_file(dirfd, name)) >= 0) {
			code = copy_out(fd);
			close(fd);
		}
	}
	return code;
}

/* The folder of output files: its fd, -1 when there is none (yet), or < -1 an exit code as
 * -code after printing why. */
static int
open_dir(struct cli *c)
{
	char dir[4096];
	int fd;

	if (joblog_dir(c->db_path, dir, sizeof(dir)) < 0)
		return -cli_fail(EX_USAGE, "the database path is too long");
	if ((fd = joblog_dir_open(dir, 0)) == -ENOENT)
		return -1;
	if (fd == -EPERM)
		return -cli_fail(77, "refusing '%s': not a folder of yours that only you may write",
		                 dir);
	if (fd < 0)
		return -cli_fail(EX_NOINPUT, "cannot open '%s': %s", dir, strerror(-fd));
	return fd;
}

/* Print the job's kept output (no follow). */
static int
print_once(struct cli *c, const struct job *j, enum joblog_stream s)
{
	char name[JOBLOG_NAME_MAX];
	int dirfd, fd = -1, code = 0;

	if ((dirfd = open_dir(c)) < -1)
		return -dirfd;
	joblog_name(j->id, s, 0, name, sizeof(name));
	if (dirfd >= 0 && (fd = open_file(dirfd, name)) >= 0) {
		if ((code = print_rotated(dirfd, j->id, s)) == 0)
			code = copy_out(fd);
		close(fd);
	} else {
		/* No file: what the database kept, if the job has run. */
		const char *kept = s == JOBLOG_OUT ? j->result : j->stderr_tail;

		if (kept != NULL) {
			if (!c->quiet)
				fprintf(stderr,
				        "jobq: job %" PRId64 ": no output file, printing its "
				        "kept %s\n",
				        j->id, s == JOBLOG_OUT ? "result" : "stderr tail");
			size_t n = strlen(kept);
			if (fwrite(kept, 1, n, stdout) != n ||
			    (n > 0 && kept[n - 1] != '\n' && putchar('\n') == EOF))
				code = cli_fail(EX_IOERR, "cannot write the output: %s",
				                strerror(errno));
		}
	}
	if (dirfd >= 0)
		close(dirfd);
	return code;
}

struct follow {
	int dirfd;
	int fd; /* the current file being followed, or -1 */
	dev_t dev;
	ino_t ino;
	int64_t attempt; /* the job's attempts when fd was opened */
	int first;       /* nothing opened yet: print the rotated files first */
};

/* After the followed file was rotated: when it was rotated more than once since it was last
 * read (it is NAME.k, k > 1), the files written since, NAME.k-1 ... NAME.1, oldest first. */
static int
print_missed(const struct follow *f, int64_t id, enum joblog_stream s)
{
	char name[JOBLOG_NAME_MAX];
	struct stat st;
	int k = 0, code = 0;

	for (int g = 1; g <= JOBLOG_KEEP_MAX && k == 0; g++) {
		joblog_name(id, s, g, name, sizeof(name));
		if (fstatat(f->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == f->dev &&
		    st.st_ino == f->ino)
			k = g;
	}
	for (int g = k - 1; g >= 1 && code == 0; g--) {
		int fd;

		joblog_name(id, s, g, name, sizeof(name));
		if ((fd = open_file(f->dirfd, name)) >= 0) {
			code = copy_out(fd);
			close(fd);
		}
	}
	return code;
}

/* Read what the followed file has, switching to a new file under the name (a rotation, or a
 * new attempt) after the old one's end. Returns 0 or an exit code. */
static int
follow_step(struct cli *c, struct follow *f, const struct job *j, enum joblog_stream s)
{
	char name[JOBLOG_NAME_MAX];
	struct stat st;
	int code;

	if (f->dirfd < 0 && (f->dirfd = open_dir(c)) < -1)
		return -f->dirfd;
	if (f->dirfd < 0)
		return 0;
	joblog_name(j->id, s, 0, name, sizeof(name));
	for (int rounds = 0; rounds < 64; rounds++) {
		if (f->fd >= 0 && (code = copy_out(f->fd)) != 0)
			return code;
		if (fstatat(f->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (f->fd >= 0 && st.st_dev == f->dev && st.st_ino == f->ino))
			return 0; /* no file (yet), or still the same one: all of it printed */
		/* A new file under the name: the old one has ended (it was rotated, or a new
		 * attempt started); it is read to its end here. */
		if (f->fd >= 0) {
			/* written between the read above and the look at the name */
			code = copy_out(f->fd);
			close(f->fd);
			f->fd = -1;
			if (code != 0 || (code = print_missed(f, j->id, s)) != 0)
				return code;
		}
		if ((f->fd = open_file(f->dirfd, name)) < 0)
			return 0;
		if (fstat(f->fd, &st) == 0) {
			f->dev = st.st_dev;
			f->ino = st.st_ino;
		}
		if (f->first && (code = print_rotated(f->dirfd, j->id, s)) != 0)
			return code;
		/* The job was read before the file appeared: a new attempt's file comes after the
		 * claim that counted it committed, so read its attempts again (a rotation keeps
		 * them). Without this, an attempt that started in between went unmarked. */
		int64_t attempts = j->attempts;
		struct job now;
		if (!f->first && store_get(c->st, j->id, &now) == 0) {
			attempts = now.attempts;
			job_release(&now);
		}
		if (!f->first && attempts != f->attempt && !c->quiet)
			fprintf(stderr, "--- job %" PRId64 " attempt %" PRId64 " ---\n", j->id,
			        attempts);
		f->first = 0;
		f->attempt = attempts;
	}
	return 0;
}

static int
follow(struct cli *c, int64_t id, enum joblog_stream s)
{
	struct follow f = {.dirfd = -1, .fd = -1, .first = 1};
	struct job j;
	int r, code = 0, done = 0;

	while (code == 0 && !done) {
		/* The state first: the handler writes everything before the job's end commits, so
		 * after an ended state the files hold all there will be. */
		if ((r = store_get(c->st, id, &j)) == -ESRCH) {
			code = cli_fail(1, "job %" PRId64 ": not found (pruned?)", id);
			break;
		}
		if (r < 0) {
			code = cli_store_fail(c, r, "cannot read the job");
			break;
		}
		done = is_final(j.state);
		code = follow_step(c, &f, &j, s);
		/* Ended without a file ("logs": false, a builtin job): what the database kept. */
		if (done && code == 0 && f.first)
			code = print_once(c, &j, s);
		job_release(&j);
		if (!done && code == 0)
			poll(NULL, 0, FOLLOW_POLL_MS);
	}
	if (f.fd >= 0)
		close(f.fd);
	if (f.dirfd >= 0)
		close(f.dirfd);
	return code;
}

int
cmd_logs(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"follow", no_argument, NULL, 'f'},
	        {"stderr", no_argument, NULL, 'e'},
	        CLI_COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	enum joblog_stream s = JOBLOG_OUT;
	struct job j;
	int64_t id;
	int ch, r, code, follow_it = 0;

	while ((ch = cli_getopt(c, argc, argv, ":hqvfe", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			follow_it = 1;
			break;
		case 'e':
			s = JOBLOG_ERR;
			break;
		default:
			return cli_getopt_exit(ch);
		}
	}
	if (optind >= argc)
		return cli_usage_fail("logs", "logs: missing job ID");
	if (optind + 1 < argc)
		return cli_usage_fail("logs", "logs: one job ID at a time ('%s' is one too many)",
		                      CLI_SHOWN(argv[optind + 1]));
	if ((code = cli_parse_id(argv[optind], &id)) != 0)
		return code;
	if ((code = cli_open_store(c, 1)) != 0)
		return code;
	if ((r = store_get(c->st, id, &j)) == -ESRCH)
		return cli_fail(1, "job %" PRId64 ": not found", id);
	if (r < 0)
		return cli_store_fail(c, r, "cannot read the job");
	code = follow_it ? follow(c, id, s) : print_once(c, &j, s);
	job_release(&j);
	return code;
}

void
cli_logs_prune(struct cli *c)
{
	char dir[4096];
	struct dirent *e;
	DIR *d;
	int fd;

	if (joblog_dir(c->db_path, dir, sizeof(dir)) < 0 || (fd = joblog_dir_open(dir, 0)) < 0)
		return; /* none, or not ours: nothing of ours to remove */
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		enum joblog_stream s;
		int64_t id;
		int gen;

		/* Any file of a job gone from the database: all of its files go (ids are never
		 * used again). */
		if (joblog_parse(e->d_name, &id, &s, &gen) < 0)
			continue;
		if (store_job_exists(c->st, id) == 0)
			joblog_remove(dirfd(d), id);
	}
	closedir(d);
}
