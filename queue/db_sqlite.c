/*
 * The SQLite backend of db.h: the embedded default. A database is one file (and its -wal and
 * -shm), checked before SQLite opens it; writers are serialised by BEGIN IMMEDIATE; the WAL is
 * checkpointed by whoever writes and emptied by the last connection to close it. Its schema and
 * migrations are in schema.c (schema_migrate).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "duration.h"
#include "fileio.h"
#include "internal.h"
#include "trust.h"

/* SQLite's own wal_autocheckpoint: a commit that leaves the WAL this long checkpoints it. */
#define WAL_CHECKPOINT_FRAMES 1000
/* How long a checkpoint may wait for the other connections (wal_committed()), and how much
 * further the WAL grows before the next try when it could not restart the WAL. */
#define WAL_RESTART_WAIT_MS 20
#define WAL_RESTART_RETRY_FRAMES 250
/* A connection closing with a WAL longer than this checkpoints and empties it, when it is the
 * last one (see lite_close()). */
#define WAL_KEEP_FRAMES 48

/* A prepared statement: db.h's part, then SQLite's. */
struct lite_stmt {
	struct db_stmt base;
	sqlite3_stmt *stmt;
	/* An INSERT ... RETURNING id stepped without the clause (below): the ids of the rows it
	 * inserted, next to return (0: not run yet) up to last; cur the current row's. */
	int returning;
	int64_t next, last, cur;
};

/*
 * INSERT ... RETURNING id (SQL_INSERT, SQL_INSERT_MANY) is the text both backends share, but
 * SQLite's RETURNING builds an ephemeral table for every execution: +33,000 instructions per
 * one-row insert, +5,000 per row of the 32-row one (a bulk enqueue took 23% more instructions,
 * one with unique keys 59%). The SQLite driver prepares these statements without the clause
 * and returns the same rows itself: the rows one INSERT adds to jobs get consecutive ids
 * (INTEGER PRIMARY KEY AUTOINCREMENT, each the largest so far plus one), the last one
 * sqlite3_last_insert_rowid(), so they are last - changes + 1 ... last. No row when nothing was
 * inserted (ON CONFLICT DO NOTHING).
 */
#define RETURNING_ID " RETURNING id"

static inline sqlite3_stmt *
S(struct db_stmt *s)
{
	return ((struct lite_stmt *)s)->stmt;
}

static const char *const tx_text[LITE_NTX] = {
        [LITE_BEGIN] = "BEGIN IMMEDIATE",
        [LITE_BEGIN_READ] = "BEGIN",
        [LITE_COMMIT] = "COMMIT",
        [LITE_ROLLBACK] = "ROLLBACK",
        [LITE_DATA_VERSION] = "PRAGMA data_version",
};

/* Why the database cannot be opened: a missing or unwritable folder, or another reason. */
static int
open_errno(const char *path)
{
	char dir[PATH_MAX];
	struct stat sb;

	if (path_dirname(path, dir, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	if (stat(dir, &sb) < 0)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -EACCES;
	if (!S_ISDIR(sb.st_mode))
		return -ENOENT;
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return -EISDIR;
	if (access(dir, W_OK | X_OK) < 0)
		return -EACCES;
	if (access(path, F_OK) == 0 && access(path, R_OK | W_OK) < 0)
		return -EACCES;
	return -ENOENT;
}

/*
 * Check one of the database's files before SQLite opens it, creating it (mode 0600) when create
 * is set and it is missing: no symbolic link, a regular file, one jobq trusts (core/trust.h). An
 * existing file is only looked at, never opened: closing a descriptor of a file drops every
 * POSIX lock this process holds on it, SQLite's included (another connection of this process may
 * have it open). Returns 0, or a negative errno with the message set (-ENOENT when it is missing
 * and not to be created).
 */
static int
check_file(struct store *st, const char *path, int create, struct stat *out)
{
	char why[512];
	int fd, r = 0, tries = 0;

again:
	if (lstat(path, out) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			return store_failx(st, -errno, "cannot open database '%s': %s", path,
			                   strerror(errno));
		if (!create)
			return -ENOENT;
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		          0600);
		if (fd < 0 && errno == EEXIST && tries++ == 0)
			goto again; /* another process created it just now */
		if (fd < 0) {
			int e = errno;

			r = e == EACCES || e == EPERM ? -EACCES
			    : e == EROFS              ? -EROFS
			                              : open_errno(path);
			return store_failx(st, r, "cannot open database '%s': %s", path,
			                   strerror(e));
		}
		/* The umask may have narrowed the mode: SQLite gives -wal and -shm this one. */
		if (fchmod(fd, 0600) < 0 || fstat(fd, out) < 0)
			r = store_failx(st, -errno, "cannot create '%s': %s", path,
			                strerror(errno));
		close(fd);
		if (r < 0)
			unlink(path);
		return r;
	}
	if (S_ISLNK(out->st_mode))
		return store_failx(st, -EPERM,
		                   "cannot open database '%s': refusing '%s': a symbolic link",
		                   st->path, path);
	if (!S_ISREG(out->st_mode))
		return store_failx(st, S_ISDIR(out->st_mode) ? -EISDIR : -EINVAL,
		                   "cannot open database '%s': not a regular file", path);
	if (trust_stat(out, path, TRUST_DATA, why, sizeof(why)) < 0)
		return store_failx(st, -EPERM, "cannot open database '%s': %s", st->path, why);
	return 0;
}

/*
 * The database file and its -wal and -shm, checked before SQLite opens them: no symbolic link,
 * one name, an owner jobq trusts. SQLite itself opens every file with O_NOFOLLOW, so a link
 * planted where it would create -wal or -shm makes the open fail; what must be caught here is a
 * regular file another user planted there, which SQLite would write the database's pages into.
 */
static int
open_files(struct store *st, const struct store_opts *opts)
{
	static const char *const suffixes[] = {"-wal", "-shm"};
	char side[PATH_MAX];
	struct stat sb;
	int r;

	for (int i = 0; i < 2; i++) {
		if (snprintf(side, sizeof(side), "%s%s", st->path, suffixes[i]) >=
		    (int)sizeof(side))
			return store_failx(st, -ENAMETOOLONG, "cannot open database '%s': %s",
			                   st->path, strerror(ENAMETOOLONG));
		if ((r = check_file(st, side, 0, &sb)) < 0 && r != -ENOENT)
			return r;
	}
	if ((r = check_file(st, st->path, opts->create, &sb)) == -ENOENT)
		return store_failx(st, open_errno(st->path), "cannot open database '%s': %s",
		                   st->path, strerror(ENOENT));
	return r;
}

/*
 * WAL with synchronous=FULL syncs the WAL at each commit, so what a caller was told is done (an
 * enqueue, a result, a cancel) survives power loss; NORMAL ("fast") syncs only around
 * checkpoints. Either keeps a checkpoint safe: the WAL is synced before it copies pages into the
 * database, the database after. tests/unit/test-powerloss.c checks both.
 */
static int
set_pragmas(struct store *st, const struct store_opts *opts)
{
	static const char normal[] = "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; "
	                             "PRAGMA temp_store = MEMORY; " RECURSIVE_TRIGGERS;
	static const char full[] = "PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF; "
	                           "PRAGMA temp_store = MEMORY; " RECURSIVE_TRIGGERS;
	int rc;

	if ((rc = sqlite3_exec(st->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL)) != SQLITE_OK)
		return store_fail(st, rc, "cannot open database");
	rc = sqlite3_exec(st->db, opts->durability_fast ? normal : full, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_fail(st, rc, "cannot open database");
}

/*
 * After each commit of this connection: note the WAL's length, and checkpoint it once it is long
 * (this hook replaces SQLite's wal_autocheckpoint).
 *
 * SQLite's own checkpoint is PASSIVE, and it only starts the WAL over from its beginning when a
 * writer begins while every frame is checkpointed and no other connection reads. Two workers
 * taking turns at the write lock are never both out of the way: the WAL then grew without end
 * (44 MB in a drain of 20,000 jobs), and since it stayed past the threshold every commit ran a
 * checkpoint of its own, with a sync of the WAL and one of the database (9,000 in that drain).
 * A RESTART checkpoint takes the write lock and waits until the readers have left the WAL, so
 * the next writer starts it over. It waits WAL_RESTART_WAIT_MS at most, so a long reader
 * (`jobq list` of a million jobs) cannot stall the writers; when it could not restart, the next
 * try is WAL_RESTART_RETRY_FRAMES later, not at every commit.
 */
static int
wal_committed(void *ctx, sqlite3 *db, const char *name, int frames)
{
	struct store *st = ctx;
	int rc;

	if (frames < st->wal_frames || frames < WAL_CHECKPOINT_FRAMES)
		st->wal_retry_frames = 0; /* started over, by this connection or another */
	st->wal_frames = frames;
	if (frames < WAL_CHECKPOINT_FRAMES || frames < st->wal_retry_frames)
		return SQLITE_OK;
	st->busy_cap_ns = time_mono_ns() + (int64_t)WAL_RESTART_WAIT_MS * 1000000;
	rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	st->busy_cap_ns = 0;
	st->wal_retry_frames = rc == SQLITE_OK ? 0 : frames + WAL_RESTART_RETRY_FRAMES;
	return SQLITE_OK;
}

/*
 * SQLite's own busy handler sleeps 1, 2, 5, 10 ms... between tries: fine for a human, but a write
 * transaction of a worker lasts tens of microseconds, so two workers taking turns would spend
 * most of their time asleep. Wait 20 us first, doubling up to 1 ms, until the timeout.
 */
static int
busy_wait(void *ctx, int count)
{
	struct store *st = ctx;
	struct timespec ts;
	int64_t ns = time_mono_ns(), delay_us;

	if (st->busy_cap_ns != 0 && ns >= st->busy_cap_ns)
		return 0;
	if (count == 0)
		st->busy_since_ns = ns;
	else if (ns - st->busy_since_ns >= (int64_t)st->busy_timeout_ms * 1000000)
		return 0;
	delay_us = count < 6 ? 20LL << count : 1000;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)delay_us * 1000;
	nanosleep(&ts, NULL);
	return 1;
}

int
store_single_thread(void)
{
	if (sqlite3_config(SQLITE_CONFIG_SINGLETHREAD) != SQLITE_OK ||
	    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
		return -EBUSY;
	return 0;
}

static int
lite_open(struct store *st, const struct store_opts *opts)
{
	char canonical[PATH_MAX], why[512];
	int flags, rc, r, persist = 1;

	/* One name for the file, whatever way it was named: SQLite derives -wal and -shm from it,
	 * the supervisor its lock, pid and wake-up files. */
	r = trust_resolve(st->path, TRUST_DATA, canonical, sizeof(canonical), why, sizeof(why));
	if (r == 0) {
		char *p = strdup(canonical);

		if (p == NULL)
			return store_failx(st, -ENOMEM, "cannot open database: out of memory");
		free(st->path);
		st->path = p;
	}
	if (r == -EPERM)
		return store_failx(st, r, "cannot open database '%s': %s", st->path, why);
	if ((r = open_files(st, opts)) < 0)
		return r;
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
	if ((rc = sqlite3_open_v2(st->path, &st->db, flags, NULL)) != SQLITE_OK) {
		r = store_fail(st, rc, "cannot open database");
		goto out;
	}
	/* Short-lived processes (one `jobq enqueue`) would otherwise checkpoint and delete the WAL
	 * at close and recreate it at the next open: four syncs per command on a disk. The WAL
	 * is checkpointed as it grows (wal_committed()) by whoever writes. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	sqlite3_busy_handler(st->db, busy_wait, st);
	sqlite3_wal_hook(st->db, wal_committed, st);
	/* Two processes opening a new database at once: switching it to WAL can report it busy
	 * without waiting in the busy handler, so the whole set-up is tried again until the busy
	 * timeout. */
	for (int64_t waited_us = 0;; waited_us += 1000) {
		if ((r = set_pragmas(st, opts)) == 0)
			r = schema_migrate(st);
		if (r != -EBUSY || waited_us >= (int64_t)st->busy_timeout_ms * 1000)
			break;
		usleep(1000);
	}
out:
	if (r == -ENOENT && st->db != NULL)
		r = open_errno(st->path);
	return r;
}

static void
lite_finalize(struct db_stmt *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(S(s));
	free(s);
}

static void
lite_close(struct store *st)
{
	for (int i = 0; i < SQL_NSTATEMENTS; i++) {
		lite_finalize(st->stmt[i]);
		st->stmt[i] = NULL;
	}
	for (int i = 0; i < LITE_NTX; i++) {
		sqlite3_finalize(st->lite_tx[i]);
		st->lite_tx[i] = NULL;
	}
	/*
	 * The WAL is kept across processes, but only a connection that stays open remembers how
	 * much of it was checkpointed: the next process to open the database alone reads the whole
	 * WAL to rebuild its index, and a checkpoint by a short process is never followed by a
	 * write that would start the WAL over. Without a long-lived process (no supervisor),
	 * one `jobq enqueue` after another grew the WAL without end, each reading all of it
	 * (14 MB and 11 ms after some thousand enqueues). So a connection that leaves a long WAL
	 * checkpoints and empties it at close, which SQLite does only when no other connection
	 * has the database open; a short one stays, to spare the syncs of a checkpoint.
	 */
	if (st->db != NULL && st->wal_frames > WAL_KEEP_FRAMES) {
		sqlite3_exec(st->db, "PRAGMA journal_size_limit = 0", NULL, NULL, NULL);
		sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
	}
	sqlite3_close(st->db);
	st->db = NULL;
}

static int
lite_prepare(struct store *st, enum sql_id id, struct db_stmt **out)
{
	int returning = id == SQL_INSERT || id == SQL_INSERT_MANY;
	const char *text = sql_text[id];
	size_t len = strlen(text);
	struct lite_stmt *s;
	int rc;

	*out = NULL;
	if (returning) {
		size_t cut = sizeof(RETURNING_ID) - 1;

		if (len < cut || strcmp(text + len - cut, RETURNING_ID) != 0)
			return SQLITE_INTERNAL; /* sql.h and this file disagree */
		len -= cut;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return SQLITE_NOMEM;
	rc = sqlite3_prepare_v3(st->db, text, (int)len, SQLITE_PREPARE_PERSISTENT, &s->stmt, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s->stmt);
		free(s);
		return rc;
	}
	s->base.ops = &db_sqlite_ops;
	s->returning = returning;
	s->base.st = st;
	s->base.id = id;
	*out = &s->base;
	return SQLITE_OK;
}

static int
lite_bind_int(struct db_stmt *s, int i, int64_t v)
{
	return sqlite3_bind_int64(S(s), i, v);
}

static int
lite_bind_text(struct db_stmt *s, int i, const char *t)
{
	return sqlite3_bind_text(S(s), i, t, -1, SQLITE_STATIC);
}

static int
lite_bind_null(struct db_stmt *s, int i)
{
	return sqlite3_bind_null(S(s), i);
}

/* The next row of an INSERT ... RETURNING id without the clause: its id. */
static int
returning_step(struct lite_stmt *l)
{
	int64_t n;
	int rc;

	if (l->next == 0) {
		if ((rc = sqlite3_step(l->stmt)) != SQLITE_DONE)
			return rc;
		n = sqlite3_changes(l->base.st->db);
		l->last = n > 0 ? sqlite3_last_insert_rowid(l->base.st->db) : 0;
		l->next = n > 0 ? l->last - n + 1 : 1;
	}
	if (l->next > l->last)
		return SQLITE_DONE;
	l->cur = l->next++;
	return SQLITE_ROW;
}

static int
lite_step(struct db_stmt *s)
{
	struct lite_stmt *l = (struct lite_stmt *)s;

	return l->returning ? returning_step(l) : sqlite3_step(l->stmt);
}

static int64_t
lite_col_int(struct db_stmt *s, int i)
{
	struct lite_stmt *l = (struct lite_stmt *)s;

	return l->returning ? l->cur : sqlite3_column_int64(l->stmt, i);
}

static double
lite_col_double(struct db_stmt *s, int i)
{
	return sqlite3_column_double(S(s), i);
}

static const char *
lite_col_text(struct db_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(S(s), i);
}

static int
lite_col_bytes(struct db_stmt *s, int i)
{
	return sqlite3_column_bytes(S(s), i);
}

static int
lite_col_is_null(struct db_stmt *s, int i)
{
	return sqlite3_column_type(S(s), i) == SQLITE_NULL;
}

/* Also adds the statement's VM steps to the connection's (store_vm_steps). */
static void
lite_reset(struct db_stmt *s)
{
	struct lite_stmt *l = (struct lite_stmt *)s;
	sqlite3_stmt *stmt = l->stmt;

	l->next = l->last = l->cur = 0;
	s->st->vm_steps += (uint64_t)sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_VM_STEP, 1);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

static int64_t
lite_changes(struct store *st)
{
	return sqlite3_changes(st->db);
}

/* One of the cached statements without parameters (prepared on first use): SQLITE_OK, or the
 * result code of the prepare. */
static int
tx_stmt(struct store *st, int which, sqlite3_stmt **out)
{
	int rc = SQLITE_OK;

	if (st->lite_tx[which] == NULL)
		rc = sqlite3_prepare_v3(st->db, tx_text[which], -1, SQLITE_PREPARE_PERSISTENT,
		                        &st->lite_tx[which], NULL);
	*out = st->lite_tx[which];
	return rc;
}

/* Step one of them that returns no row: SQLITE_OK, or the result code. */
static int
exec_tx(struct store *st, int which)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = tx_stmt(st, which, &stmt)) != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
lite_begin(struct store *st)
{
	return exec_tx(st, LITE_BEGIN);
}

static int
lite_begin_read(struct store *st)
{
	return exec_tx(st, LITE_BEGIN_READ);
}

static int
lite_commit(struct store *st)
{
	return exec_tx(st, LITE_COMMIT);
}

static int
lite_rollback(struct store *st)
{
	return exec_tx(st, LITE_ROLLBACK);
}

static int
lite_in_tx(struct store *st)
{
	return st->db != NULL && !sqlite3_get_autocommit(st->db);
}

/* "disk I/O error" alone does not say that the disk is full (growing -shm on a full disk) or
 * failing: add what the system said. */
static const char *
lite_errmsg(struct store *st, int rc)
{
	static __thread char buf[STORE_ERR_MAX];
	const char *msg;

	if (st->db == NULL)
		return sqlite3_errstr(rc);
	msg = sqlite3_errcode(st->db) == rc ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
	if (((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN) &&
	    sqlite3_system_errno(st->db) != 0) {
		snprintf(buf, sizeof(buf), "%s (%s)", msg, strerror(sqlite3_system_errno(st->db)));
		return buf;
	}
	return msg;
}

static int
lite_set_durability(struct store *st, int fast)
{
	int rc = sqlite3_exec(st->db,
	                      fast ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL",
	                      NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_fail(st, rc, "cannot set the durability of");
}

static int64_t
lite_data_version(struct store *st)
{
	sqlite3_stmt *stmt;
	int64_t v = -1;

	if (tx_stmt(st, LITE_DATA_VERSION, &stmt) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return v;
}

/* The wake-up FIFO of core/wake.c serves. */
static int
lite_wait_fd(struct store *st)
{
	(void)st;
	return -1;
}

/* Waiters are woken through the FIFO by whoever enqueued. */
static int
lite_notify(struct store *st)
{
	(void)st;
	return 0;
}

const struct db_ops db_sqlite_ops = {
        .name = "sqlite",
        .open = lite_open,
        .close = lite_close,
        .prepare = lite_prepare,
        .finalize = lite_finalize,
        .bind_int = lite_bind_int,
        .bind_text = lite_bind_text,
        .bind_null = lite_bind_null,
        .step = lite_step,
        .col_int = lite_col_int,
        .col_double = lite_col_double,
        .col_text = lite_col_text,
        .col_bytes = lite_col_bytes,
        .col_is_null = lite_col_is_null,
        .reset = lite_reset,
        .changes = lite_changes,
        .begin = lite_begin,
        .begin_read = lite_begin_read,
        .commit = lite_commit,
        .rollback = lite_rollback,
        .in_tx = lite_in_tx,
        .errmsg = lite_errmsg,
        .migrate = schema_migrate,
        .set_durability = lite_set_durability,
        .data_version = lite_data_version,
        .change_version = lite_data_version,
        .wait_fd = lite_wait_fd,
        .notify = lite_notify,
};
