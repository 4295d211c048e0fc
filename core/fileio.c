/* Small file helpers: bounded reads, atomic writes, path pieces, bounded line reads. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "fileio.h"

static int read_bounded(int fd, int positional, size_t max, char **out, size_t *len_out);

int
fd_read_all(int fd, size_t max, char **out, size_t *len_out)
{
	return read_bounded(fd, 0, max, out, len_out);
}

int
fd_pread_all(int fd, size_t max, char **out, size_t *len_out)
{
	return read_bounded(fd, 1, max, out, len_out);
}

static int
read_bounded(int fd, int positional, size_t max, char **out, size_t *len_out)
{
	size_t cap = 4096, len = 0;
	char *buf = NULL;
	int r;

	if (max < cap - 1)
		cap = max + 2; /* room for one byte past max (to see it) and the NUL */
	if ((buf = malloc(cap)) == NULL)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			size_t ncap = cap * 2;
			char *nbuf;

			if (ncap > max + 2)
				ncap = max + 2;
			if (ncap <= cap) {
				r = -EFBIG;
				goto fail;
			}
			if ((nbuf = realloc(buf, ncap)) == NULL) {
				r = -ENOMEM;
				goto fail;
			}
			buf = nbuf;
			cap = ncap;
		}
		n = positional ? pread(fd, buf + len, cap - len - 1, (off_t)len)
		               : read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = -EFBIG;
			goto fail;
		}
	}
	buf[len] = '\0';
	*out = buf;
	if (len_out != NULL)
		*len_out = len;
	return 0;
fail:
	free(buf);
	return r;
}

int
file_read(const char *path, size_t max, char **out, size_t *len_out)
{
	struct stat st;
	int fd, r;

	if (strcmp(path, "-") == 0)
		return fd_read_all(STDIN_FILENO, max, out, len_out);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > (uintmax_t)max) {
		r = -EFBIG;
		goto out;
	}
	r = fd_read_all(fd, max, out, len_out);
out:
	close(fd);
	return r;
}

static int
write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int
file_write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd = -1, dfd, r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if ((r = path_dirname(path, dir, sizeof(dir))) < 0)
		return r;
	/* mkostemp creates the file 0600 with O_EXCL, in path's own folder so rename is atomic. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return -errno;
	if (fchmod(fd, 0600) < 0 || (r = write_all(fd, data, len)) < 0 || fsync(fd) < 0) {
		r = r < 0 ? r : -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	/* Make the rename itself durable; a failure here leaves a complete file, so ignore it. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

int
path_dirname(const char *path, char *out, size_t len)
{
	size_t n = strlen(path);

	/* Drop trailing slashes, then the last component, then the slashes before it. */
	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0) {
		if (len < 2)
			return -ENAMETOOLONG;
		memcpy(out, ".", 2);
		return 0;
	}
	if (n + 1 > len)
		return -ENAMETOOLONG;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

int
path_join(const char *dir, const char *name, char *out, size_t len)
{
	size_t dl = strlen(dir);
	int w;

	if (dl > 0 && dir[dl - 1] == '/')
		w = snprintf(out, len, "%s%s", dir, name);
	else if (dl == 0)
		w = snprintf(out, len, "%s", name);
	else
		w = snprintf(out, len, "%s/%s", dir, name);
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	return 0;
}

long
line_read(FILE *fp, size_t max, char **buf, size_t *cap)
{
	size_t n = 0;
	int c, too_long = 0, any = 0, nul = 0;
	long r;

	errno = 0;
	flockfile(fp);
	while ((c = getc_unlocked(fp)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (c == '\0')
			nul = 1;
		if (nul)
			continue; /* read on to the line's end: the next call reads the next line */
		if (too_long || n >= max) {
			too_long = 1;
			continue;
		}
		if (*buf == NULL || n + 2 > *cap) {
			size_t ncap = *cap < 64 ? 128 : *cap * 2;
			char *nbuf;

			if (ncap > max + 1)
				ncap = max + 1; /* n < max here, so n + 2 still fits */
			if ((nbuf = realloc(*buf, ncap)) == NULL) {
				funlockfile(fp);
				return -ENOMEM;
			}
			*buf = nbuf;
			*cap = ncap;
		}
		(*buf)[n++] = (char)c;
	}
	if (c == EOF && ferror(fp)) {
		r = errno != 0 ? -errno : -EIO;
		funlockfile(fp);
		return r;
	}
	funlockfile(fp);
	if (!any)
		return -1;
	if (nul)
		return -EILSEQ;
	if (too_long)
		return -EMSGSIZE;
	if (*buf == NULL) {
		if ((*buf = malloc(1)) == NULL)
			return -ENOMEM;
		*cap = 1;
	}
	(*buf)[n] = '\0';
	return (long)n;
}

int
path_absolute(const char *path, char *out, size_t len)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;

	if (slash == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (slash == path)
		strlcpy(dir, "/", sizeof(dir));
	else if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	else
		strlcpy(dir, path, (size_t)(slash - path) + 1);
	if (realpath(dir, real) == NULL)
		return -errno;
	if (*base == '\0')
		return -EISDIR;
	int n = snprintf(out, len, "%s%s%s", real, strcmp(real, "/") == 0 ? "" : "/", base);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
