/* Small file helpers: bounded reads, atomic writes, owner-only permissions. */
#ifndef JOBQ_FILEIO_H
#define JOBQ_FILEIO_H

#include <stddef.h>
#include <stdio.h>

/* Read a whole file ("-" is stdin) of at most max bytes into a NUL-terminated malloc'd buffer
 * (caller frees). Returns 0, -EFBIG if larger than max, or -errno. len_out may be NULL. */
int file_read(const char *path, size_t max, char **out, size_t *len_out);

/* Read all of fd (bounded by max) the same way. */
int fd_read_all(int fd, size_t max, char **out, size_t *len_out);

/* The same from offset 0 with pread(), leaving the descriptor's offset alone. */
int fd_pread_all(int fd, size_t max, char **out, size_t *len_out);

/* Write data to path atomically: a unique temporary file "path.tmp.XXXXXX" in the same folder,
 * mode 0600, fsync, rename over path, fsync of the folder. Readers see the old or the new file,
 * never a part. Returns 0 or -errno (the temporary file is removed on error). */
int file_write_atomic(const char *path, const char *data, size_t len);

/* The folder part of path into out ("." if none). Returns 0 or -ENAMETOOLONG. */
int path_dirname(const char *path, char *out, size_t len);

/* The absolute form of path: its folder resolved by realpath() (which must exist), the last
 * name kept as given (the file need not exist; a symbolic link there is not followed). The
 * supervisor exports this as JOBQ_DB; whoever looks for a job's processes must use it too.
 * Returns 0, -ENAMETOOLONG, -EISDIR (path ends in '/') or -errno of realpath(). */
int path_absolute(const char *path, char *out, size_t len);

/* Join dir and name into out. Returns 0 or -ENAMETOOLONG. */
int path_join(const char *dir, const char *name, char *out, size_t len);

/* Read one line of at most max bytes (without '\n') from fp into *buf (realloc'd as needed,
 * caller frees). Returns line length, -1 at EOF, -EILSEQ if the line holds a NUL byte (which a
 * C string would cut; checked first), -EMSGSIZE if longer than max, -errno on error. After
 * -EILSEQ and -EMSGSIZE the whole line has been consumed, so the next call reads the next line
 * and a caller's line count stays right. */
long line_read(FILE *fp, size_t max, char **buf, size_t *cap);

#endif
