/* Exit codes: the one table from negative errno values to sysexits.h codes. */
#include <errno.h>

#include "exitcode.h"

int
exitcode_from_errno(int neg_errno)
{
	int e = neg_errno < 0 ? -neg_errno : neg_errno;

	if (neg_errno == 0)
		return JOBQ_EX_OK;
	switch (e) {
	case ESRCH:
		return JOBQ_EX_FAILED;
	case EINVAL:
	case EBADMSG:
	case EMSGSIZE:
	case EILSEQ:
		return EX_DATAERR;
	case ENOENT:
		return EX_NOINPUT;
	case EBUSY:
	case EAGAIN:
	case ESTALE:
	case EEXIST:
		return EX_TEMPFAIL;
	case ENOSPC:
	case EIO:
	case EROFS:
	case EACCES:
	case EUCLEAN: /* a corrupt database */
		return EX_IOERR;
	case ENOTSUP:
	case EHOSTUNREACH: /* a database server that cannot be reached */
		return EX_UNAVAILABLE;
	case EPERM:
		return EX_NOPERM; /* a file jobq does not trust (core/trust.h) */
	default:
		return EX_SOFTWARE;
	}
}

int
exitcode_open(int neg_errno)
{
	int code = exitcode_from_errno(neg_errno);

	if (neg_errno == -EACCES)
		return EX_NOINPUT; /* not ours to read or write: "cannot open" */
	if (neg_errno == -ENOMEM)
		return EX_SOFTWARE; /* out of memory: not the database's fault */
	if (code == EX_TEMPFAIL || code == EX_IOERR || code == EX_UNAVAILABLE || code == EX_NOPERM)
		return code;
	return EX_NOINPUT;
}
