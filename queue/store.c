/*
 * The connection: open (create, PRAGMAs, migrate), close, the statement cache, transactions,
 * error mapping and decoding of job rows.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "fileio.h"
#include "internal.h"
#include "trust.h"

#define SQL_TEXT(id, text) [id] = text,
static const char *const sql_text[SQL_NSTATEMENTS] = {SQL_STATEMENTS(SQL_TEXT)};
#undef SQL_TEXT

#define DEFAULT_BUSY_TIMEOUT_MS 5000
/* SQLite's own wal_autocheckpoint: a commit that leaves the WAL this long checkpoints it. */
#define WAL_CHECKPOINT_FRAMES 1000
/* A connection closing with a WAL longer than this checkpoints and empties it, when it is the
 * last one (see store_close()). */
#define WAL_KEEP_FRAMES 48

static const char *const state_names[JOB_NSTATES] = {
        [JOB_QUEUED] = "queued", [JOB_RUNNING] = "running",     [JOB_SUCCEEDED] = "succeeded",
        [JOB_FAILED] = "failed", [JOB_CANCELLED] = "cancelled",
};

const char *
job_state_name(enum job_state s)
{
	return (unsigned)s < JOB_NSTATES ? state_names[s] : "unknown";
}

int
job_state_parse(const char *s, enum job_state *out)
{
	for (int i = 0; s != NULL && i < JOB_NSTATES; i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum job_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

void
job_release(struct job *job)
{
	if (job == NULL)
		return;
	free(job->type);
	free(job->namespace);
	free(job->payload);
	free(job->resources);
	free(job->units);
	free(job->unique_key);
	free(job->batch);
	free(job->result);
	free(job->error);
	free(job->stderr_tail);
	free(job->host);
	memset(job, 0, sizeof(*job));
}

int
store_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_IOERR:
		return -EIO;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_NOTADB:
		return -EINVAL;
	case SQLITE_CORRUPT:
		return -EUCLEAN; /* a damaged file: an I/O error (74), not bad input */
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	default:
		return -EPROTO;
	}
}

int
store_failx(struct store *st, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
	st->errnum = err;
	st->fault.code = err;
	st->fault.kind = STORE_FAULT_OTHER;
	st->fault.byte = -1;
	return err;
}

int
store_fail(struct store *st, int rc, const char *what)
{
	const char *reason;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		reason = "database is locked";
		break;
	case SQLITE_NOTADB:
		reason = "not a jobq database";
		break;
	case SQLITE_CORRUPT:
		reason = "the database is corrupt (database disk image is malformed)";
		break;
	default:
		reason = st->db != NULL && sqlite3_errcode(st->db) == rc ? sqlite3_errmsg(st->db)
		                                                         : sqlite3_errstr(rc);
		break;
	}
	/* "disk I/O error" alone does not say that the disk is full (growing -shm on a full
	 * disk) or failing: add what the system said. */
	if (((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN) && st->db != NULL &&
	    sqlite3_system_errno(st->db) != 0)
		return store_failx(st, store_errno(rc), "%s '%s': %s (%s)", what, st->path, reason,
		                   strerror(sqlite3_system_errno(st->db)));
	return store_failx(st, store_errno(rc), "%s '%s': %s", what, st->path, reason);
}

sqlite3_stmt *
stmt_get(struct store *st, enum sql_id id)
{
	int rc;

	if (st->stmt[id] != NULL)
		return st->stmt[id];
	rc = sqlite3_prepare_v3(st->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[id],
	                        NULL);
	if (rc != SQLITE_OK) {
		if (store_fail(st, rc, "cannot prepare a statement on") == 0)
			st->errnum = st->fault.code = -EPROTO;
		st->stmt[id] = NULL;
	}
	return st->stmt[id];
}

void
stmt_done(struct store *st, sqlite3_stmt *stmt)
{
	if (stmt == NULL)
		return;
	st->vm_steps += (uint64_t)sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_VM_STEP, 1);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

int
bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
	return s != NULL ? sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC)
	                 : sqlite3_bind_null(stmt, i);
}

int
bind_int_or_null(sqlite3_stmt *stmt, int i, int64_t v)
{
	return v != 0 ? sqlite3_bind_int64(stmt, i, v) : sqlite3_bind_null(stmt, i);
}

/* Step a statement that takes no parameters and returns no row. */
static int
exec_cached(struct store *st, enum sql_id id, const char *what)
{
	sqlite3_stmt *stmt = stmt_get(st, id);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : store_fail(st, rc, what);
}

int
tx_begin(struct store *st, const char *what)
{
	return exec_cached(st, SQL_BEGIN, what);
}

int
tx_commit(struct store *st, const char *what)
{
	return exec_cached(st, SQL_COMMIT, what);
}

void
tx_rollback(struct store *st)
{
	if (st->db == NULL || sqlite3_get_autocommit(st->db))
		return;
	/* Keep the message of the failure that led here. */
	if (st->stmt[SQL_ROLLBACK] != NULL || stmt_get(st, SQL_ROLLBACK) != NULL) {
		sqlite3_step(st->stmt[SQL_ROLLBACK]);
		sqlite3_reset(st->stmt[SQL_ROLLBACK]);
	}
}

static int
col_dup(sqlite3_stmt *stmt, int i, char **out)
{
	const unsigned char *s = sqlite3_column_text(stmt, i);
	int n = sqlite3_column_bytes(stmt, i);

	*out = NULL;
	if (s == NULL)
		return sqlite3_column_type(stmt, i) == SQLITE_NULL ? 0 : -ENOMEM;
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return -ENOMEM;
	memcpy(*out, s, (size_t)n);
	(*out)[n] = '\0';
	return 0;
}

int
job_from_row(sqlite3_stmt *stmt, struct job *job)
{
	enum job_state state = JOB_QUEUED;
	int r = 0;

	memset(job, 0, sizeof(*job));
	job->id = sqlite3_column_int64(stmt, 0);
	r |= col_dup(stmt, 1, &job->type);
	r |= col_dup(stmt, 2, &job->namespace);
	r |= col_dup(stmt, 3, &job->payload);
	job_state_parse((const char *)sqlite3_column_text(stmt, 4), &state);
	job->state = state;
	job->priority = sqlite3_column_int64(stmt, 5);
	job->run_at = sqlite3_column_int64(stmt, 6);
	job->attempts = sqlite3_column_int64(stmt, 7);
	job->max_attempts = sqlite3_column_int64(stmt, 8);
	job->timeout_ms = sqlite3_column_int64(stmt, 9);
	r |= col_dup(stmt, 10, &job->resources);
	r |= col_dup(stmt, 11, &job->units);
	r |= col_dup(stmt, 12, &job->unique_key);
	r |= col_dup(stmt, 13, &job->batch);
	r |= col_dup(stmt, 14, &job->result);
	r |= col_dup(stmt, 15, &job->error);
	job->has_exit_code = sqlite3_column_type(stmt, 16) != SQLITE_NULL;
	job->exit_code = sqlite3_column_int(stmt, 16);
	job->created_at = sqlite3_column_int64(stmt, 17);
	job->started_at = sqlite3_column_int64(stmt, 18);
	job->finished_at = sqlite3_column_int64(stmt, 19);
	job->orphans_reaped = sqlite3_column_int64(stmt, 20);
	job->worker_pid = sqlite3_column_int64(stmt, 21);
	job->worker_start = sqlite3_column_int64(stmt, 22);
	job->pgid = sqlite3_column_int64(stmt, 23);
	job->pgid_start = sqlite3_column_int64(stmt, 24);
	job->lease_until = sqlite3_column_int64(stmt, 25);
	job->token = sqlite3_column_int64(stmt, 26);
	job->cancel_requested = sqlite3_column_int(stmt, 27) != 0;
	r |= col_dup(stmt, 28, &job->stderr_tail);
	job->truncated = sqlite3_column_int(stmt, 29) != 0;
	r |= col_dup(stmt, 30, &job->host);
	if (r != 0) {
		job_release(job);
		return -ENOMEM;
	}
	return 0;
}

int64_t
store_token(void)
{
	uint64_t t;

	/* At most 2^53 - 1: JSON readers that hold numbers as doubles (jq 1.6, JavaScript)
	 * read the token printed by `claim --json` back exactly. */
	do {
		arc4random_buf(&t, sizeof(t));
		t &= ((uint64_t)1 << 53) - 1;
	} while (t == 0);
	return (int64_t)t;
}

const char *
shown(const char *s, char *buf, size_t len)
{
	size_t i, n = 0, max = len > 52 ? 48 : len - 4;

	if (s == NULL)
		s = "";
	for (i = 0; s[i] != '\0' && n < max; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (s[i] != '\0') {
		/* Cut at a character boundary. */
		while (n > 0 && ((unsigned char)buf[n - 1] & 0xC0) == 0x80)
			n--;
		if (n > 0 && (unsigned char)buf[n - 1] >= 0xC0)
			n--;
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

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
 * After each commit of this connection: note the WAL's length, and checkpoint it (PASSIVE, as
 * SQLite's wal_autocheckpoint does, which this hook replaces) once it is long.
 */
static int
wal_committed(void *ctx, sqlite3 *db, const char *name, int frames)
{
	struct store *st = ctx;

	st->wal_frames = frames;
	if (frames >= WAL_CHECKPOINT_FRAMES)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
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
	struct timespec now, ts;
	int64_t ns, delay_us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
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

int
store_open(const char *path, const struct store_opts *opts, struct store **out, char *err,
           size_t errlen)
{
	static const struct store_opts defaults = {.create = 1};
	char canonical[PATH_MAX], why[512];
	struct store *st = NULL;
	int flags, rc, r;

	*out = NULL;
	if (opts == NULL)
		opts = &defaults;
	if (path == NULL || *path == '\0') {
		if (err != NULL && errlen > 0)
			strlcpy(err, "cannot open database '': empty path", errlen);
		return -EINVAL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		if (err != NULL && errlen > 0)
			strlcpy(err, "cannot open database: out of memory", errlen);
		return -ENOMEM;
	}
	/* One name for the file, whatever way it was named: SQLite derives -wal and -shm from it,
	 * the supervisor its lock, pid and wake-up files. */
	r = trust_resolve(path, TRUST_DATA, canonical, sizeof(canonical), why, sizeof(why));
	if ((st->path = strdup(r == 0 ? canonical : path)) == NULL) {
		free(st);
		if (err != NULL && errlen > 0)
			strlcpy(err, "cannot open database: out of memory", errlen);
		return -ENOMEM;
	}
	if (r == -EPERM) {
		r = store_failx(st, r, "cannot open database '%s': %s", st->path, why);
		goto out;
	}
	if ((r = open_files(st, opts)) < 0)
		goto out;
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
	if ((rc = sqlite3_open_v2(st->path, &st->db, flags, NULL)) != SQLITE_OK) {
		r = store_fail(st, rc, "cannot open database");
		goto out;
	}
	/* Short-lived processes (one `jobq enqueue`) would otherwise checkpoint and delete the WAL
	 * at close and recreate it at the next open: four syncs per command on a disk. The WAL
	 * is checkpointed as it grows (wal_autocheckpoint) by whoever writes. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	{
		int persist = 1;
		sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	}
	st->busy_timeout_ms =
	        opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : DEFAULT_BUSY_TIMEOUT_MS;
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
	if (r < 0) {
		if (err != NULL && errlen > 0)
			strlcpy(err, st->err, errlen);
		store_close(st);
		return r;
	}
	*out = st;
	return 0;
}

int
store_set_durability(struct store *st, int fast)
{
	int rc;

	if (st == NULL)
		return 0;
	rc = sqlite3_exec(st->db,
	                  fast ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL", NULL,
	                  NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_fail(st, rc, "cannot set the durability of");
}

void
store_set_busy_timeout(struct store *st, int ms)
{
	if (st != NULL)
		st->busy_timeout_ms = ms > 0 ? ms : DEFAULT_BUSY_TIMEOUT_MS;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->in_bulk)
		store_bulk_rollback(st);
	for (int i = 0; i < SQL_NSTATEMENTS; i++)
		sqlite3_finalize(st->stmt[i]);
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
	free(st->arena);
	free(st->path);
	free(st);
}

const char *
store_errmsg(const struct store *st)
{
	return st != NULL ? st->err : "";
}

struct store_fault
store_fault(const struct store *st)
{
	static const struct store_fault none = {0, STORE_FAULT_OTHER, -1};

	return st != NULL ? st->fault : none;
}

const char *
store_path(const struct store *st)
{
	return st->path;
}

int64_t
store_data_version(struct store *st)
{
	sqlite3_stmt *stmt = stmt_get(st, SQL_DATA_VERSION);
	int64_t v = -1;

	if (stmt == NULL)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return v;
}

uint64_t
store_vm_steps(const struct store *st)
{
	return st->vm_steps;
}
