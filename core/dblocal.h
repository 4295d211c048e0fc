/*
 * Where a queue's local files live. A SQLite queue keeps them beside its database file
 * ("q.db.wake", "q.db.pid", "q.db.runtime.json", "q.db.logs/"); a PostgreSQL queue has no local
 * file to stand beside, so they go to a per-user state folder, one name per queue derived from
 * the connection target with its password removed:
 *
 *     $JOBQ_STATE_DIR, else $XDG_STATE_HOME/jobq, else ~/.local/state/jobq (/var/lib/jobq for
 *     root), holding pg-<16 hex digits of a SHA-256>.wake, .pid, .runtime.json, .logs/
 *
 * so that the one supervisor of this host takes the lock, and the workers, producers and
 * operators of this host find its wake-up FIFO and runtime file (docs/operations.md). The state
 * folder is 0700 and must be this user's: a symbolic link or another user's folder is refused.
 */
#ifndef JOBQ_DBLOCAL_H
#define JOBQ_DBLOCAL_H

#include <stddef.h>

/* Is target a PostgreSQL connection URI ("postgresql://", "postgres://") or a libpq conninfo
 * (it starts with "KEY=" for a common libpq keyword: host, hostaddr, port, dbname, user,
 * password, service, passfile, sslmode, options, connect_timeout, application_name,
 * target_session_attrs)? Anything else is a SQLite path ("hosts=2.db", "./host=x"). The rule
 * of queue/'s db_target_is_pg(), which the store's choice of backend follows. */
int db_local_is_pg(const char *target);

/* The per-user state folder ($JOBQ_STATE_DIR...) into out. Returns 0, -ENAMETOOLONG, or -ENOENT
 * when there is no home to put it in. Neither creates nor checks it. */
int db_local_state_dir(char *out, size_t len);

#define DB_LOCAL_CREATE 1 /* db_local_base: create the state folder (0700) when missing */

/*
 * The base of db's local file names, to which ".wake", ".pid", ".runtime.json" and ".logs" are
 * appended: a SQLite path itself (byte for byte), or <state folder>/pg-<hash> for PostgreSQL,
 * the hash taken of the target without its password (targets that differ only by password, or
 * "***" for it, share a base). For PostgreSQL the state folder is checked when it exists (a
 * symbolic link, not a folder, another user's, or writable by group or others: -EPERM with the
 * reason in err when err is not NULL) and made, with its parents, when flags has
 * DB_LOCAL_CREATE. The target shown in messages is core/conninfo.h's conninfo_mask(). Returns 0 or
 * -errno (-ENAMETOOLONG, -EPERM, -EINVAL: a relative $JOBQ_STATE_DIR, or a mkdir error).
 */
int db_local_base(const char *db, int flags, char *out, size_t len, char *err, size_t errlen);

/* db_local_base() (no flags, no message) with suffix appended: the path of one of the queue's
 * local files (".wake", ".logs", ".pid", ".runtime.json"). Returns 0 or -errno. */
int db_local_path(const char *db, const char *suffix, char *out, size_t len);

#endif
