/* Wake-ups through a FIFO next to the database. See wake.h. */
#include "wake.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int
wake_path(const char *db_path, char *out, size_t len)
{
	int n = snprintf(out, len, "%s.wake", db_path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int
wake_open(const char *db_path)
{
	char path[4096];
	struct stat st;
	int fd, r;

	if ((r = wake_path(db_path, path, sizeof(path))) < 0)
		return r;
	if (mkfifo(path, 0600) != 0 && errno != EEXIST)
		return -errno;
	if ((fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) || st.st_uid != geteuid()) {
		r = S_ISFIFO(st.st_mode) ? -EPERM : -EEXIST; /* another user's FIFO, or no FIFO */
		close(fd);
		return r;
	}
	if (fchmod(fd, 0600) != 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int
wake_notify(const char *db_path, char what)
{
	char path[4096];
	struct stat st;
	int fd, r = 0;

	if ((r = wake_path(db_path, path, sizeof(path))) < 0)
		return r;
	if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) ||
	    (st.st_uid != geteuid() && st.st_uid != 0))
		r = -EINVAL; /* never write into anything else, nor into another user's FIFO */
	else if (write(fd, &what, 1) != 1 && errno != EAGAIN)
		r = -errno;
	close(fd);
	return r;
}
