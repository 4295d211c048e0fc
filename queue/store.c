/*
 * The connection, whatever its backend (db.h): open and close, the statement cache,
 * transactions, error mapping and decoding of job rows. What is SQLite's own (the file checks,
 * PRAGMAs, the WAL) is in db_sqlite.c, PostgreSQL's in db_pg.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "dblocal.h"
#include "internal.h"
#include "store_metrics.h"

#define SQL_TEXT(id, text) [id] = text,
const char *const sql_text[SQL_NSTATEMENTS] = {SQL_STATEMENTS(SQL_TEXT)};
#undef SQL_TEXT

#define DEFAULT_BUSY_TIMEOUT_MS 5000

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
		reason = st->ops != NULL ? st->ops->errmsg(st, rc) : "unknown error";
		break;
	}
	return store_failx(st, store_errno(rc), "%s '%s': %s", what, st->path, reason);
}

struct db_stmt *
stmt_get(struct store *st, enum sql_id id)
{
	int rc;

	if (st->stmt[id] != NULL)
		return st->stmt[id];
	if ((rc = st->ops->prepare(st, id, &st->stmt[id])) != DB_OK) {
		if (store_fail(st, rc, "cannot prepare a statement on") == 0)
			st->errnum = st->fault.code = -EPROTO;
		st->stmt[id] = NULL;
	}
	return st->stmt[id];
}

/* A transaction step's outcome: 0, or the failure recorded (a driver may have recorded it
 * already and returned a negative errno). */
static int
tx_result(struct store *st, int rc, const char *what)
{
	if (rc == DB_OK || rc == DB_DONE)
		return 0;
	return rc < 0 ? rc : store_fail(st, rc, what);
}

int
tx_begin(struct store *st, const char *what)
{
	return tx_result(st, st->ops->begin(st), what);
}

int
tx_commit(struct store *st, const char *what)
{
	return tx_result(st, st->ops->commit(st), what);
}

void
tx_rollback(struct store *st)
{
	/* Keep the message of the failure that led here. */
	if (st->ops != NULL && st->ops->in_tx(st))
		(void)st->ops->rollback(st);
}

int
store_read_begin(struct store *st)
{
	return tx_result(st, st->ops->begin_read(st), "cannot read from");
}

void
store_read_end(struct store *st)
{
	if (st == NULL || st->ops == NULL || !st->ops->in_tx(st))
		return;
	(void)tx_commit(st, "cannot end a read of"); /* a read: nothing to lose */
}

static int
col_dup(struct db_stmt *stmt, int i, char **out)
{
	const char *s = db_col_text(stmt, i);
	int n = db_col_bytes(stmt, i);

	*out = NULL;
	if (s == NULL)
		return db_col_is_null(stmt, i) ? 0 : -ENOMEM;
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return -ENOMEM;
	memcpy(*out, s, (size_t)n);
	(*out)[n] = '\0';
	return 0;
}

int
job_from_row(struct db_stmt *stmt, struct job *job)
{
	enum job_state state = JOB_QUEUED;
	int r = 0;

	memset(job, 0, sizeof(*job));
	job->id = db_col_int(stmt, 0);
	r |= col_dup(stmt, 1, &job->type);
	r |= col_dup(stmt, 2, &job->namespace);
	r |= col_dup(stmt, 3, &job->payload);
	job_state_parse(db_col_text(stmt, 4), &state);
	job->state = state;
	job->priority = db_col_int(stmt, 5);
	job->run_at = db_col_int(stmt, 6);
	job->attempts = db_col_int(stmt, 7);
	job->max_attempts = db_col_int(stmt, 8);
	job->timeout_ms = db_col_int(stmt, 9);
	r |= col_dup(stmt, 10, &job->resources);
	r |= col_dup(stmt, 11, &job->units);
	r |= col_dup(stmt, 12, &job->unique_key);
	r |= col_dup(stmt, 13, &job->batch);
	r |= col_dup(stmt, 14, &job->result);
	r |= col_dup(stmt, 15, &job->error);
	job->has_exit_code = !db_col_is_null(stmt, 16);
	job->exit_code = (int)db_col_int(stmt, 16);
	job->created_at = db_col_int(stmt, 17);
	job->started_at = db_col_int(stmt, 18);
	job->finished_at = db_col_int(stmt, 19);
	job->orphans_reaped = db_col_int(stmt, 20);
	job->worker_pid = db_col_int(stmt, 21);
	job->worker_start = db_col_int(stmt, 22);
	job->pgid = db_col_int(stmt, 23);
	job->pgid_start = db_col_int(stmt, 24);
	job->lease_until = db_col_int(stmt, 25);
	job->token = db_col_int(stmt, 26);
	job->cancel_requested = (int)db_col_int(stmt, 27) != 0;
	r |= col_dup(stmt, 28, &job->stderr_tail);
	job->truncated = (int)db_col_int(stmt, 29) != 0;
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

/*
 * PostgreSQL targets: a URI, or a libpq conninfo that starts with one of its keywords and '='
 * ("host=/run/pg dbname=jobq"). A file path can hold '=' too, so anything else, a '/' before
 * the first '=' included, is a SQLite path.
 */
int
db_target_is_pg(const char *target)
{
	return db_local_is_pg(target); /* one rule: core/dblocal.c */
}

int
store_open(const char *path, const struct store_opts *opts, struct store **out, char *err,
           size_t errlen)
{
	static const struct store_opts defaults = {.create = 1};
	struct store *st = NULL;
	int r;

	*out = NULL;
	if (opts == NULL)
		opts = &defaults;
	if (path == NULL || *path == '\0') {
		if (err != NULL && errlen > 0)
			strlcpy(err, "cannot open database '': empty path", errlen);
		return -EINVAL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL || (st->path = strdup(path)) == NULL) {
		free(st);
		if (err != NULL && errlen > 0)
			strlcpy(err, "cannot open database: out of memory", errlen);
		return -ENOMEM;
	}
	st->ops = db_target_is_pg(path) ? &db_pg_ops : &db_sqlite_ops;
	st->busy_timeout_ms =
	        opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : DEFAULT_BUSY_TIMEOUT_MS;
	if ((r = st->ops->open(st, opts)) < 0) {
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
	if (st == NULL)
		return 0;
	return tx_result(st, st->ops->set_durability(st, fast), "cannot set the durability of");
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
	if (st->ops != NULL)
		st->ops->close(st);
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
	return st->ops->data_version(st);
}

int64_t
store_change_version(struct store *st)
{
	return st->ops->change_version(st);
}

uint64_t
store_vm_steps(const struct store *st)
{
	return st->vm_steps;
}

void
store_set_host(struct store *st, const char *host, int skip_own)
{
	if (st == NULL)
		return;
	strlcpy(st->host, host != NULL ? host : "", sizeof(st->host));
	st->skip_own_host = skip_own;
}

void
store_wake_others(struct store *st)
{
	(void)st->ops->notify(st); /* at the commit; a failure there fails the commit */
}
