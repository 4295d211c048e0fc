/*
 * Which files jobq trusts. A file another local user planted or can change must never steer
 * jobq: a configuration names the commands jobq runs, a database names the processes it kills.
 * The rules (docs/operations.md, "Who may own the files"):
 *
 * - the configuration (TRUST_CODE) belongs to you (the effective user) or root, and nobody else
 *   may write it (no group or world write bit), like sshd's StrictModes;
 * - the database, its -wal and -shm, and the pid, runtime and wake-up files beside it
 *   (TRUST_DATA) belong to you, root, or the owner of the folder they are in (a producer of
 *   another user writes into the queue of the folder's owner), the world may not write them,
 *   and a database has one name only (one hard link);
 * - a folder that holds them is not writable by the world unless it is sticky (/tmp), where
 *   nobody can replace another user's file;
 * - a symbolic link is followed only when it belongs to a user the file itself could belong to,
 *   and never to a missing file (that would make jobq create a file where the link points).
 */
#ifndef JOBQ_TRUST_H
#define JOBQ_TRUST_H

#include <stddef.h>
#include <sys/stat.h>

enum trust_kind {
	TRUST_DATA, /* database and the files beside it */
	TRUST_CODE, /* the configuration */
};

/*
 * Check the file open at fd (path only names it in messages): its owner, its mode and, for
 * TRUST_DATA, that it has one name. The folder of path is looked up for its owner. Returns 0,
 * or -EPERM with a one-line reason ("'PATH' belongs to user 1001, not to you or root") in err.
 */
int trust_fd(int fd, const char *path, enum trust_kind kind, char *err, size_t errlen);

/* The same check on a stat() result of the file at path. */
int trust_stat(const struct stat *st, const char *path, enum trust_kind kind, char *err,
               size_t errlen);

/*
 * The canonical absolute name of path (symbolic links resolved, each link checked as above, the
 * folder checked), so that every name derived from it (-wal, .pid, .wake) is the same for every
 * way of naming the file. The file need not exist (its folder must). Returns 0; -EPERM with the
 * reason in err; -ENOENT (or another -errno) when the folder cannot be resolved, and then out is
 * left unset: the caller reports the missing file in its own words.
 */
/* Write the formatted reason into err (NULL or errlen 0: none) and return -EPERM: how every check
 * of a file or folder jobq refuses says why. */
int trust_refuse(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

int trust_resolve(const char *path, enum trust_kind kind, char *out, size_t len, char *err,
                  size_t errlen);

#endif
