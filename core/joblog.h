/*
 * The output files of jobs: DB.logs/ beside the database (0700), one file per job and stream,
 * named from the job id only ("41.out", "41.err"; rotated ones "41.out.1", "41.out.2"...), 0600.
 * A handler writes what the command prints as it reads it; each new attempt starts the files
 * anew (a new inode: a reader that follows sees the change). A file that reaches its cap is
 * rotated: "41.out" becomes "41.out.1" (older ones shift up, the one past keep is removed) and
 * a new "41.out" is started. Knows nothing of jobs beyond their ids.
 */
#ifndef JOBQ_JOBLOG_H
#define JOBQ_JOBLOG_H

#include <stddef.h>
#include <stdint.h>

#define JOBLOG_DEFAULT_MAX (1024 * 1024) /* bytes of one file before it is rotated */
#define JOBLOG_DEFAULT_KEEP 1            /* rotated files kept per stream */
#define JOBLOG_KEEP_MAX 9
#define JOBLOG_NAME_MAX 40 /* "9223372036854775807.out.9" and its NUL fit */

enum joblog_stream { JOBLOG_OUT, JOBLOG_ERR };

/* The folder of db_path's output files: "DB.logs" (a PostgreSQL queue's: in the state folder,
 * core/dblocal.h). Returns 0, -ENAMETOOLONG or -EPERM (a state folder jobq does not trust). */
int joblog_dir(const char *db_path, char *out, size_t len);

/* The name of job id's stream file, gen 0 the current one, 1..JOBLOG_KEEP_MAX the rotated. */
void joblog_name(int64_t id, enum joblog_stream s, int gen, char *out, size_t len);

/* Parse a name made by joblog_name(). Returns 0 or -EINVAL (anything else in the folder). */
int joblog_parse(const char *name, int64_t *id, enum joblog_stream *s, int *gen);

/*
 * Open the folder dir: with create, made 0700 when missing. It must be a folder (not a link)
 * of this user that nobody else may write. Returns an fd (O_CLOEXEC; caller closes) or -errno
 * (-ENOENT missing, -EPERM not one jobq trusts).
 */
int joblog_dir_open(const char *dir, int create);

/* A stream file being written. Starts zeroed with fd -1 (joblog_init). */
struct joblog {
	int dirfd; /* borrowed */
	int fd;
	int64_t id;
	enum joblog_stream stream;
	size_t max; /* bytes per file; 0: no files */
	int keep;
	size_t len; /* bytes in the current file */
	int err;    /* errno of the first failure: nothing more is written */
};

void joblog_init(struct joblog *w);

/* Start job id's stream anew in the folder open at dirfd (its older files removed), 0600.
 * max 0 writes nothing. Returns 0 or -errno (then w->err is set and writes do nothing). */
int joblog_open(struct joblog *w, int dirfd, int64_t id, enum joblog_stream s, size_t max,
                int keep);

/* Append buf[0..n), rotating at w->max. Returns 0, or -errno of the first failure (reported
 * once: later calls return 0 and write nothing). */
int joblog_write(struct joblog *w, const char *buf, size_t n);

/* Close the current file; NULL-safe and repeatable. */
void joblog_close(struct joblog *w);

/* Remove job id's files (both streams, every generation) from the folder open at dirfd. */
void joblog_remove(int dirfd, int64_t id);

#endif
