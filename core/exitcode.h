/* Exit codes (sysexits.h) and the mapping from negative errno values. */
#ifndef JOBQ_EXITCODE_H
#define JOBQ_EXITCODE_H

#include <sysexits.h>

#define JOBQ_EX_OK 0
#define JOBQ_EX_FAILED 1 /* a job failed, not found, partly done */

/*
 * Map a negative errno returned by core/ or queue/ to the documented exit code:
 * -EINVAL/-EBADMSG/-EMSGSIZE/-EILSEQ 65, -ENOENT (file) 66, -EBUSY/-EAGAIN/-ESTALE/-EEXIST 75,
 * -ENOSPC/-EIO/-EROFS/-EACCES/-EUCLEAN (a corrupt database) 74, -ENOTSUP and -EHOSTUNREACH (a
 * database server that cannot be reached) 69, -EPERM (a file not trusted) 77, -ESRCH (no such
 * job) 1, anything else 70.
 */
int exitcode_from_errno(int neg_errno);

/* The exit code of a database that could not be opened: 75 locked (or a server briefly
 * unavailable), 74 disk full or failing or read-only or corrupt, 70 out of memory, 69 a newer
 * schema or a server that cannot be reached, 77 a file jobq does not trust, else 66 (missing,
 * not a jobq database, no permission). */
int exitcode_open(int neg_errno);

#endif
