/*
 * Database names as they may be shown: a PostgreSQL URI or libpq conninfo with its password
 * replaced by "***", so that `ps`, logs, `jobq status` and the runtime file never hold it.
 */
#ifndef JOBQ_CONNINFO_H
#define JOBQ_CONNINFO_H

#include <stddef.h>

/* The mask written in place of a password. */
#define CONNINFO_MASK "***"

/*
 * Copy in to out (len bytes, always NUL-terminated) with every password replaced by "***":
 * - a URI "postgresql://" or "postgres://": the password of the user info
 *   ("postgresql://user:PASS@host/db" -> "postgresql://user:***@host/db") and any "password"
 *   or "sslpassword" parameter of the query string (percent-encoded or not);
 * - a libpq conninfo "key=value ...": the value of every password and sslpassword key (the
 *   latter is the passphrase of the client's SSL key), bare or single-quoted
 *   with \' and \\ escapes ("password='a b\'c'" -> "password=***"), and a dbname that is itself
 *   a URI or a conninfo (libpq expands those), masked in turn;
 * - anything else (a SQLite path, or text that does not parse as a conninfo): unchanged.
 * Returns the number of passwords masked (0: out is in), or -ENOBUFS when out was too small (it
 * is then cut, and holds no byte of a password either).
 */
int conninfo_mask(const char *in, char *out, size_t len);

#endif
