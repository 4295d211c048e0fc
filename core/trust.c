/* Which files jobq trusts: owners, modes, links. See trust.h. */
#include "trust.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "fileio.h"

#define LINKS_MAX 40 /* as the kernel's own limit on a path */

int
trust_refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EPERM;
}

/* "1001 (mallory)", or "1001" when the name is unknown. */
static void
user_name(uid_t uid, char *out, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, len, "%u (%s)", (unsigned)uid, pw.pw_name);
	else
		snprintf(out, len, "%u", (unsigned)uid);
}

/* The folder holding path: who owns it, and that the world cannot replace files in it. */
static int
check_dir(const char *path, struct stat *dst, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int r;

	if ((r = path_dirname(path, dir, sizeof(dir))) < 0)
		return r;
	if (stat(dir, dst) < 0)
		return -errno;
	if ((dst->st_mode & S_IWOTH) != 0 && (dst->st_mode & S_ISVTX) == 0)
		return trust_refuse(
		        err, errlen,
		        "refusing '%s': its folder '%s' is writable by anyone (mode %04o) and "
		        "not sticky, so anyone could replace it",
		        path, dir, (unsigned)(dst->st_mode & 07777));
	return 0;
}

static int
check_owner(const struct stat *st, const struct stat *dst, const char *path, const char *what,
            enum trust_kind kind, char *err, size_t errlen)
{
	char who[300];

	if (st->st_uid == geteuid() || st->st_uid == 0 ||
	    (kind == TRUST_DATA && st->st_uid == dst->st_uid))
		return 0;
	user_name(st->st_uid, who, sizeof(who));
	return trust_refuse(
	        err, errlen, "refusing %s'%s': it belongs to user %s, not to you or root%s", what,
	        path, who, kind == TRUST_DATA ? " (nor to the owner of its folder)" : "");
}

static int
check(const struct stat *st, const struct stat *dst, const char *path, enum trust_kind kind,
      char *err, size_t errlen)
{
	int r;

	if ((r = check_owner(st, dst, path, "", kind, err, errlen)) < 0)
		return r;
	if (kind == TRUST_CODE && (st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return trust_refuse(
		        err, errlen,
		        "refusing '%s': its group or others may write it (mode %04o); a "
		        "configuration names commands to run, so only its owner may write it",
		        path, (unsigned)(st->st_mode & 07777));
	if (kind == TRUST_DATA && (st->st_mode & S_IWOTH) != 0 && !S_ISDIR(st->st_mode))
		return trust_refuse(err, errlen, "refusing '%s': anyone may write it (mode %04o)",
		                    path, (unsigned)(st->st_mode & 07777));
	if (kind == TRUST_DATA && S_ISREG(st->st_mode) && st->st_nlink > 1)
		return trust_refuse(
		        err, errlen,
		        "refusing '%s': it has %lu names (hard links); a database must have one, "
		        "so that its lock and the files beside it are found by every name",
		        path, (unsigned long)st->st_nlink);
	return 0;
}

int
trust_stat(const struct stat *st, const char *path, enum trust_kind kind, char *err, size_t errlen)
{
	struct stat dst;
	int r;

	if ((r = check_dir(path, &dst, err, errlen)) < 0)
		return r;
	return check(st, &dst, path, kind, err, errlen);
}

int
trust_fd(int fd, const char *path, enum trust_kind kind, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return trust_stat(&st, path, kind, err, errlen);
}

int
trust_resolve(const char *path, enum trust_kind kind, char *out, size_t len, char *err,
              size_t errlen)
{
	char cur[PATH_MAX], next[PATH_MAX], target[PATH_MAX], dir[PATH_MAX];
	struct stat st, dst;
	int r, hops = 0;

	if ((r = path_absolute(path, cur, sizeof(cur))) < 0)
		return r;
	for (;;) {
		ssize_t n;

		if ((r = check_dir(cur, &dst, err, errlen)) < 0)
			return r;
		if (lstat(cur, &st) < 0) {
			if (errno != ENOENT)
				return -errno;
			if (hops > 0)
				return trust_refuse(
				        err, errlen,
				        "refusing '%s': a symbolic link to a missing file ('%s')",
				        path, cur);
			break; /* to be created: its folder is resolved, so is its name */
		}
		if (!S_ISLNK(st.st_mode)) {
			if ((r = check(&st, &dst, cur, kind, err, errlen)) < 0)
				return r;
			break;
		}
		if ((r = check_owner(&st, &dst, cur, "the symbolic link ", kind, err, errlen)) < 0)
			return r;
		if (++hops > LINKS_MAX)
			return -ELOOP;
		if ((n = readlink(cur, target, sizeof(target) - 1)) < 0)
			return -errno;
		target[n] = '\0';
		if (target[0] == '/') {
			strlcpy(next, target, sizeof(next));
		} else if ((r = path_dirname(cur, dir, sizeof(dir))) < 0 ||
		           (r = path_join(dir, target, next, sizeof(next))) < 0) {
			return r;
		}
		if ((r = path_absolute(next, cur, sizeof(cur))) < 0) {
			if (r == -ENOENT)
				return trust_refuse(
				        err, errlen,
				        "refusing '%s': a symbolic link to a missing file ('%s')",
				        path, next);
			return r;
		}
	}
	if (strlcpy(out, cur, len) >= len)
		return -ENAMETOOLONG;
	return 0;
}
