/* The output files of jobs (joblog.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dblocal.h"
#include "joblog.h"

static const char *const suffix[] = {"out", "err"};

int
joblog_dir(const char *db_path, char *out, size_t len)
{
	return db_local_path(db_path, ".logs", out, len);
}

void
joblog_name(int64_t id, enum joblog_stream s, int gen, char *out, size_t len)
{
	if (gen > 0)
		snprintf(out, len, "%" PRId64 ".%s.%d", id, suffix[s], gen);
	else
		snprintf(out, len, "%" PRId64 ".%s", id, suffix[s]);
}

int
joblog_parse(const char *name, int64_t *id, enum joblog_stream *s, int *gen)
{
	const char *p = name;
	int64_t v = 0;

	if (*p < '1' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (*p - '0');
	}
	if (strncmp(p, ".out", 4) == 0)
		*s = JOBLOG_OUT;
	else if (strncmp(p, ".err", 4) == 0)
		*s = JOBLOG_ERR;
	else
		return -EINVAL;
	p += 4;
	*gen = 0;
	if (p[0] == '.' && p[1] >= '1' && p[1] <= '9' && p[2] == '\0')
		*gen = p[1] - '0';
	else if (p[0] != '\0')
		return -EINVAL;
	*id = v;
	return 0;
}

int
joblog_dir_open(const char *dir, int create)
{
	struct stat st;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return errno == ELOOP || errno == ENOTDIR ? -EPERM : -errno;
	/* Another user's folder under that name (in /tmp, say) would get the output of our jobs. */
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

void
joblog_init(struct joblog *w)
{
	memset(w, 0, sizeof(*w));
	w->dirfd = -1;
	w->fd = -1;
}

/* Create the current file, replacing one of that name (a new inode, so followers notice). */
static int
start_file(struct joblog *w)
{
	char name[JOBLOG_NAME_MAX];

	joblog_name(w->id, w->stream, 0, name, sizeof(name));
	if (unlinkat(w->dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	w->fd = openat(w->dirfd, name,
	               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_APPEND, 0600);
	w->len = 0;
	return w->fd < 0 ? -errno : 0;
}

/* Shift name.N to name.N+1 (the last one kept falls off) and the current file to name.1. */
static int
rotate(struct joblog *w)
{
	char from[JOBLOG_NAME_MAX], to[JOBLOG_NAME_MAX];

	joblog_close(w);
	joblog_name(w->id, w->stream, w->keep, to, sizeof(to));
	unlinkat(w->dirfd, to, 0);
	for (int g = w->keep; g >= 1; g--) {
		joblog_name(w->id, w->stream, g - 1, from, sizeof(from));
		joblog_name(w->id, w->stream, g, to, sizeof(to));
		if (renameat(w->dirfd, from, w->dirfd, to) < 0 && errno != ENOENT)
			return -errno;
	}
	return start_file(w);
}

int
joblog_open(struct joblog *w, int dirfd, int64_t id, enum joblog_stream s, size_t max, int keep)
{
	char name[JOBLOG_NAME_MAX];
	int r;

	joblog_init(w);
	w->dirfd = dirfd;
	w->id = id;
	w->stream = s;
	w->max = max;
	w->keep = keep < 0 ? 0 : keep > JOBLOG_KEEP_MAX ? JOBLOG_KEEP_MAX : keep;
	if (max == 0 || dirfd < 0)
		return 0;
	/* An earlier attempt's files. The first attempt, the common case, finds none: then no
	 * rotated file can be there either (unless removed by hand: prune takes those). */
	joblog_name(id, s, 0, name, sizeof(name));
	if (unlinkat(dirfd, name, 0) == 0 || errno != ENOENT) {
		for (int g = 1; g <= JOBLOG_KEEP_MAX; g++) {
			joblog_name(id, s, g, name, sizeof(name));
			unlinkat(dirfd, name, 0);
		}
	}
	if ((r = start_file(w)) < 0)
		w->err = -r;
	return r;
}

int
joblog_write(struct joblog *w, const char *buf, size_t n)
{
	int r = 0;

	while (n > 0 && w->fd >= 0 && w->err == 0) {
		size_t room = w->max - w->len, k = n < room ? n : room;
		ssize_t m = k > 0 ? write(w->fd, buf, k) : 0;

		if (m < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		w->len += (size_t)m;
		buf += m;
		n -= (size_t)m;
		if (w->len >= w->max && (r = rotate(w)) < 0)
			break;
	}
	if (r < 0) {
		w->err = -r;
		joblog_close(w);
	}
	return r;
}

void
joblog_close(struct joblog *w)
{
	if (w != NULL && w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
}

void
joblog_remove(int dirfd, int64_t id)
{
	char name[JOBLOG_NAME_MAX];

	for (int s = JOBLOG_OUT; s <= JOBLOG_ERR; s++)
		for (int g = 0; g <= JOBLOG_KEEP_MAX; g++) {
			joblog_name(id, (enum joblog_stream)s, g, name, sizeof(name));
			unlinkat(dirfd, name, 0);
		}
}
