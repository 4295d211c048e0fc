/*
 * The PostgreSQL backend of db.h, through libpq. One connection per struct store, used by one
 * thread. Statements are prepared once per connection under a name of their own and executed
 * with text parameters and text results (PQexecPrepared); the server infers the parameters'
 * types (sql_pg.h adds casts where it cannot). A write transaction is BEGIN and a
 * transaction-level advisory lock (DB_PG_WRITE_LOCK), so writers on every host take turns as
 * SQLite's BEGIN IMMEDIATE makes them; lock_timeout, kept at the store's busy timeout, turns a
 * long wait into SQLITE_BUSY as SQLite's busy timeout does.
 *
 * Failures are mapped onto SQLite's result codes (sqlstate_rc) so that store_fail() and
 * store_errno() serve both backends. A connection lost outside a transaction is made again at
 * the next call (PQreset), with its prepared statements, LISTEN and settings; inside one, every
 * call fails with SQLITE_BUSY until the caller rolls back, and tries again at its next tick.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pg_lib.h"

#include "db_pg.h"
#include "duration.h"
#include "hostid.h"
#include "db_pg_internal.h"
#include "internal.h"
#include "sql_pg.h"
#include "text.h"

/* How long a connection may take when the target sets no connect_timeout. */
#define CONNECT_TIMEOUT_MS 10000
/* A session left idle inside a transaction this long is ended by the server, which releases
 * the writers' lock: a host cut off from the network (or powered off) in the middle of a
 * transaction, whose socket the server would otherwise keep for hours, stops every other host
 * from writing for at most this long. jobq's transactions take milliseconds. */
#define IDLE_IN_TX_TIMEOUT_MS 10000
/* How long after a failed reconnection the next one is tried. */
#define RECONNECT_PAUSE_MS 1000

#define PG_TEXT(id, text) [id] = text,
static const char *const sql_pg_text[SQL_NSTATEMENTS] = {SQL_PG_STATEMENTS(PG_TEXT)};
#undef PG_TEXT

/* The statements run in pages (sql_pg.h, SQL_PG_WALKED). */
#define WALK_KEYS_MAX 4
struct walked {
	const char *first, *next;
	int first_rows, page_rows;
	int keys[WALK_KEYS_MAX]; /* the last row's columns that NEXT takes, -1 ends */
};
#define PG_WALK(id, first, first_rows, next, page_rows, ...)                                       \
	[id] = {first, next, first_rows, page_rows, {__VA_ARGS__, -1}},
static const struct walked walked[SQL_NSTATEMENTS] = {SQL_PG_WALKED(PG_WALK)};
#undef PG_WALK

struct db_pg {
	PGconn *conn;
	unsigned gen;        /* connections made: a statement prepared on an older one is gone */
	unsigned serial;     /* for statement names, unique per connection */
	int in_tx;           /* begun and not yet committed or rolled back (by us) */
	int notify;          /* NOTIFY at the commit */
	int listening;       /* LISTEN issued on this connection */
	int fast;            /* synchronous_commit off */
	int lock_timeout_ms; /* the session's lock_timeout; -1 unknown */
	int64_t changes;     /* rows of the last INSERT, UPDATE, DELETE or MERGE */
	int64_t version;     /* notifications from other connections, and reconnects */
	int64_t all_version; /* the same, this host's own wake-ups counted even when skipped */
	int64_t retry_at_ms; /* no reconnection before (monotonic ms), after a failed one */
	int rc;              /* the last failure's result code, and its message */
	char msg[STORE_ERR_MAX];
};

struct pg_stmt {
	struct db_stmt base;
	char name[32];
	char *text;   /* PostgreSQL's text */
	int nparams;  /* the largest $N */
	unsigned gen; /* the connection it was prepared on; 0 none */
	const char **values;
	char (*num)[24]; /* the text of integer parameters */
	char **fixed;    /* text parameters made UTF-8 (text_utf8_repair), owned; else NULL */
	PGresult *res;   /* the rows, once executed */
	int row, nrows;  /* row: rows read so far (the current one is row - 1) */
	/* A statement run in pages: its rows so far filled a page of `limit` rows, and `next`
	 * (prepared on first need) gives the following page. */
	const struct walked *walk;
	int limit;
	struct pg_stmt *next;
};

static inline struct pg_stmt *
P(struct db_stmt *s)
{
	return (struct pg_stmt *)s;
}

/* ---- errors ---- */

/* SQLSTATEs (or their class, two characters) and the SQLite result code each maps to. */
static const struct {
	const char *state;
	int rc;
} sqlstates[] = {
        /* briefly unavailable: the caller tries again (exit 75) */
        {"57P03", SQLITE_BUSY}, /* cannot_connect_now: starting up, shutting down */
        {"57P01", SQLITE_BUSY}, /* admin_shutdown: the server is stopping */
        {"57P02", SQLITE_BUSY}, /* crash_shutdown */
        {"53300", SQLITE_BUSY}, /* too_many_connections */
        {"40001", SQLITE_BUSY}, /* serialization_failure */
        {"40P01", SQLITE_BUSY}, /* deadlock_detected */
        {"55P03", SQLITE_BUSY}, /* lock_not_available: lock_timeout */
        {"57014", SQLITE_BUSY}, /* query_canceled: statement_timeout */
        {"08", SQLITE_BUSY},    /* connection_exception */
        {"23", SQLITE_CONSTRAINT},  {"53100", SQLITE_FULL}, /* disk_full */
        {"53200", SQLITE_NOMEM},                            /* out_of_memory */
        {"42501", SQLITE_PERM},                             /* insufficient_privilege */
        {"28", SQLITE_AUTH},        /* invalid_authorization_specification */
        {"3D000", SQLITE_CANTOPEN}, /* invalid_catalog_name: no such database */
        {"25006", SQLITE_READONLY}, /* read_only_sql_transaction: a standby */
        {"58030", SQLITE_IOERR},    /* io_error */
        {"XX001", SQLITE_CORRUPT},  /* data_corrupted */
        {"XX002", SQLITE_CORRUPT},  /* index_corrupted */
};

static int
sqlstate_rc(const char *state)
{
	if (state == NULL)
		return SQLITE_ERROR;
	for (size_t i = 0; i < sizeof(sqlstates) / sizeof(sqlstates[0]); i++)
		if (strncmp(state, sqlstates[i].state, strlen(sqlstates[i].state)) == 0)
			return sqlstates[i].rc;
	return SQLITE_ERROR;
}

/* Copy the first line of s into pg's message, without a trailing period or blanks. */
static void
set_msg(struct db_pg *pg, const char *s)
{
	size_t n;

	if (s == NULL || *s == '\0')
		s = "unknown error";
	n = strcspn(s, "\n");
	if (n >= sizeof(pg->msg))
		n = sizeof(pg->msg) - 1;
	memcpy(pg->msg, s, n);
	while (n > 0 && (pg->msg[n - 1] == ' ' || pg->msg[n - 1] == '\t'))
		n--;
	pg->msg[n] = '\0';
}

static int
fail_with(struct db_pg *pg, int rc, const char *msg)
{
	pg->rc = rc;
	set_msg(pg, msg);
	return rc;
}

/* Record the failure of res (NULL: the connection's) and return its result code. A connection
 * that broke is SQLITE_BUSY: the caller tries again, on a new one. */
static int
fail_res(struct db_pg *pg, const PGresult *res)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	/* An error without a SQLSTATE is libpq's own. After an immediate shutdown of the server
	 * it is "server closed the connection unexpectedly" while the connection still says
	 * CONNECTION_OK: reading once more makes libpq see the end of it. */
	if (state == NULL && PQstatus(pg->conn) == CONNECTION_OK)
		(void)PQconsumeInput(pg->conn);
	/* A FATAL error ends the session too (idle_in_transaction_session_timeout, a server
	 * shutting down): the next call connects again. */
	if (PQstatus(pg->conn) == CONNECTION_BAD)
		return fail_with(pg, SQLITE_BUSY,
		                 primary != NULL ? primary
		                 : res != NULL   ? PQresultErrorMessage(res)
		                                 : PQerrorMessage(pg->conn));
	if (state != NULL)
		return fail_with(pg, sqlstate_rc(state), primary);
	if (res == NULL)
		return fail_with(pg, SQLITE_NOMEM, "out of memory");
	return fail_with(pg, SQLITE_ERROR, PQresultErrorMessage(res));
}

/* Run sql (no parameters); a result code. */
static int
exec_simple(struct db_pg *pg, const char *sql)
{
	PGresult *res = PQexec(pg->conn, sql);
	ExecStatusType s = PQresultStatus(res);
	int rc = DB_OK;

	if (res == NULL || (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK))
		rc = fail_res(pg, res);
	PQclear(res);
	return rc;
}

/* "NOTIFY jobq, 'HOST'" (then suffix) into out: the payload names this host (store_set_host),
 * so that its own supervisor, told by the wake-up FIFO already, skips it (pg_data_version). A
 * host id is 1 to 64 bytes of [A-Za-z0-9._-] (core/hostid.h), checked again here, so it needs
 * no quoting; any other value sends no payload. */
static const char *
notify_sql(struct store *st, const char *suffix, char *out, size_t len)
{
	snprintf(out, len, "NOTIFY " DB_PG_CHANNEL ", '%s'%s",
	         hostid_valid(st->host) ? st->host : "", suffix);
	return out;
}

/* ---- connecting ---- */

static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* NOTICEs and WARNINGs are not ours to print: library code */
}

/* The target's connect_timeout (or PGCONNECT_TIMEOUT) in ms, else CONNECT_TIMEOUT_MS. */
static int
connect_timeout_ms(PGconn *conn)
{
	PQconninfoOption *opts = PQconninfo(conn), *o;
	int ms = CONNECT_TIMEOUT_MS;

	for (o = opts; o != NULL && o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "connect_timeout") == 0 && o->val != NULL &&
		    atoi(o->val) > 0)
			ms = atoi(o->val) * 1000;
	}
	PQconninfoFree(opts);
	return ms;
}

/* Drive a connection started with PQconnectStartParams (reset 0) or PQresetStart (1) to its
 * end, polling its socket, within the connect timeout. Returns 0, or -1 with the reason in
 * PQerrorMessage (or -ETIMEDOUT). */
static int
connect_wait(PGconn *conn, int reset)
{
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	int64_t deadline = time_mono_ms() + connect_timeout_ms(conn);

	if (PQstatus(conn) == CONNECTION_BAD)
		return -1;
	for (;;) {
		struct pollfd pfd;
		int64_t left;

		if (ps == PGRES_POLLING_OK)
			return 0;
		if (ps == PGRES_POLLING_FAILED)
			return -1;
		/* The socket can change between calls (another host or address). */
		pfd.fd = PQsocket(conn);
		pfd.events = ps == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		if (pfd.fd < 0)
			return -1;
		if ((left = deadline - time_mono_ms()) <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -1;
		ps = reset ? PQresetPoll(conn) : PQconnectPoll(conn);
	}
}

/*
 * Why a connection failed, as a negative errno and the server's (or libpq's) one-line reason.
 * libpq keeps no SQLSTATE of a failed connection, but with PQERRORS_VERBOSE its message holds
 * the server's "FATAL:  3D000: database ... does not exist": the code of the last one counts
 * (several hosts or addresses may have been tried). No code: the server was not reached.
 */
static int
connect_errno(struct db_pg *pg, int timed_out)
{
	const char *e = PQerrorMessage(pg->conn), *code = NULL;
	int rc;

	for (const char *p = e; (p = strstr(p, ":  ")) != NULL; p++) {
		const char *c = p + 3;

		if (strspn(c, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") >= 5 && c[5] == ':' &&
		    c[6] == ' ')
			code = c;
	}
	if (code != NULL) {
		char state[6];

		memcpy(state, code, 5);
		state[5] = '\0';
		rc = fail_with(pg, sqlstate_rc(state), code + 7);
		return rc == SQLITE_BUSY ? -EBUSY : store_errno(rc);
	}
	if (timed_out) {
		fail_with(pg, SQLITE_BUSY, "timeout expired");
		return -EHOSTUNREACH;
	}
	/* "connection to server at ... failed: " names the host: keep it, it is no secret. */
	if (PQconnectionNeedsPassword(pg->conn)) {
		fail_with(pg, SQLITE_AUTH, e);
		return -EACCES;
	}
	fail_with(pg, SQLITE_CANTOPEN, e);
	return -EHOSTUNREACH;
}

/* After every connection: the session's settings and LISTEN, again. Prepared statements of an
 * older connection are gone (their gen differs). A result code. */
static int
session_setup(struct db_pg *pg)
{
	char sql[128];

	pg->gen++;
	pg->serial = 0;
	pg->lock_timeout_ms = -1;
	pg->in_tx = 0;
	pg->notify = 0;
	snprintf(sql, sizeof(sql), "SET idle_in_transaction_session_timeout = %d%s%s",
	         IDLE_IN_TX_TIMEOUT_MS, pg->fast ? "; SET synchronous_commit = off" : "",
	         pg->listening ? "; LISTEN " DB_PG_CHANNEL : "");
	return exec_simple(pg, sql);
}

/* Make the connection again, once: outside a transaction only. After a failed try, calls
 * fail at once (busy, with that try's reason) for RECONNECT_PAUSE_MS: a loop's many calls in
 * one tick make one try, not one each. A result code. */
static int
reconnect(struct store *st)
{
	struct db_pg *pg = st->pg;
	int64_t now = time_mono_ms();
	int r;

	if (now < pg->retry_at_ms)
		return pg->rc = SQLITE_BUSY; /* pg->msg: the last try's reason */
	if (PQresetStart(pg->conn) == 0 || (r = connect_wait(pg->conn, 1)) != 0) {
		pg->retry_at_ms = time_mono_ms() + RECONNECT_PAUSE_MS;
		return fail_with(pg, SQLITE_BUSY, PQerrorMessage(pg->conn));
	}
	pg->retry_at_ms = 0;
	pg->version++; /* notifications may have been missed meanwhile */
	return session_setup(pg);
}

/* The connection, ready for a call: made again when it was lost outside a transaction; inside
 * one, SQLITE_BUSY (the transaction is gone; the caller rolls back and tries again). */
static int
ready(struct store *st)
{
	struct db_pg *pg = st->pg;

	if (PQstatus(pg->conn) == CONNECTION_OK)
		return DB_OK;
	if (pg->in_tx)
		return fail_with(pg, SQLITE_BUSY, "the connection to the server was lost");
	return reconnect(st);
}

/* The session's lock_timeout to the store's busy timeout, when it differs; outside a
 * transaction (begin sets it with its BEGIN). */
static int
sync_timeout(struct store *st)
{
	struct db_pg *pg = st->pg;
	char sql[64];
	int rc;

	if (pg->in_tx || pg->lock_timeout_ms == st->busy_timeout_ms)
		return DB_OK;
	snprintf(sql, sizeof(sql), "SET lock_timeout = %d", st->busy_timeout_ms);
	if ((rc = exec_simple(pg, sql)) == DB_OK)
		pg->lock_timeout_ms = st->busy_timeout_ms;
	return rc;
}

int
db_pg_connect(struct store *st, const struct store_opts *opts)
{
	/* Before dbname, the target's own values win; after it, ours. TCP keepalives notice a
	 * server gone silent (a network cut) in about 25 s instead of the system's 2 hours. */
	static const char *const keys[] = {"keepalives_idle",
	                                   "keepalives_interval",
	                                   "keepalives_count",
	                                   "dbname",
	                                   "fallback_application_name",
	                                   "client_encoding",
	                                   NULL};
	const char *vals[] = {"10", "5", "3", st->path, "jobq", "UTF8", NULL};
	struct db_pg *pg;
	char *display, *why = NULL;
	int r;

	if ((pg = st->pg = calloc(1, sizeof(*pg))) == NULL)
		return store_failx(st, -ENOMEM, "cannot open database: out of memory");
	if (pq_load(pg->msg, sizeof(pg->msg)) < 0)
		return store_failx(st, -ENOTSUP,
		                   "cannot open database: PostgreSQL's client library is not "
		                   "installed (Debian: libpq5): %s",
		                   pg->msg);
	pg->fast = opts != NULL && opts->durability_fast;
	if ((display = db_pg_display(st->path, &why)) == NULL) {
		/* Not named: the target may hold a password that could not be found in it. */
		if (why == NULL)
			return store_failx(st, -ENOMEM, "cannot open database: out of memory");
		set_msg(pg, why);
		PQfreemem(why);
		return store_failx(st, -EINVAL,
		                   "cannot open database: not a PostgreSQL connection string: %s",
		                   pg->msg);
	}
	/* libpq has copied what it needs: only the display form stays. */
	pg->conn = PQconnectStartParams(keys, vals, 1);
	explicit_bzero(st->path, strlen(st->path));
	free(st->path);
	st->path = display;
	if (pg->conn == NULL)
		return store_failx(st, -ENOMEM, "cannot open database '%s': out of memory",
		                   st->path);
	PQsetNoticeProcessor(pg->conn, quiet, NULL);
	PQsetErrorVerbosity(pg->conn, PQERRORS_VERBOSE);
	if ((r = connect_wait(pg->conn, 0)) != 0) {
		r = connect_errno(pg, r == -ETIMEDOUT);
		return store_failx(st, r, "cannot open database '%s': %s", st->path, pg->msg);
	}
	if ((r = session_setup(pg)) != DB_OK)
		return store_fail(st, r, "cannot open database");
	return 0;
}

static int
pg_open(struct store *st, const struct store_opts *opts)
{
	int r;

	if ((r = db_pg_connect(st, opts)) < 0)
		return r;
	return st->ops->migrate(st);
}

static void pg_finalize(struct db_stmt *s);

static void
pg_close(struct store *st)
{
	for (int i = 0; i < SQL_NSTATEMENTS; i++) {
		pg_finalize(st->stmt[i]);
		st->stmt[i] = NULL;
	}
	if (st->pg != NULL && st->pg->conn != NULL)
		PQfinish(st->pg->conn);
	free(st->pg);
	st->pg = NULL;
}

/* ---- statements ---- */

/* PQprepare stmt on the current connection. A result code. */
static int
stmt_prepare(struct db_pg *pg, struct pg_stmt *s)
{
	PGresult *res;
	int rc = DB_OK;

	snprintf(s->name, sizeof(s->name), "jq%d_%u", (int)s->base.id, ++pg->serial);
	res = PQprepare(pg->conn, s->name, s->text, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = fail_res(pg, res);
	else
		s->gen = pg->gen;
	PQclear(res);
	return rc;
}

static int
stmt_new(struct store *st, enum sql_id id, char *text, int nparams, struct db_stmt **out)
{
	struct pg_stmt *s = calloc(1, sizeof(*s));
	size_t n = nparams > 0 ? (size_t)nparams : 1;
	int rc;

	*out = NULL;
	if (s == NULL || (s->values = calloc(n, sizeof(*s->values))) == NULL ||
	    (s->num = calloc(n, sizeof(*s->num))) == NULL ||
	    (s->fixed = calloc(n, sizeof(*s->fixed))) == NULL) {
		if (s != NULL) {
			free(s->values);
			free(s->num);
		}
		free(s);
		free(text);
		return fail_with(st->pg, SQLITE_NOMEM, "out of memory");
	}
	s->base.ops = &db_pg_ops;
	s->base.st = st;
	s->base.id = id;
	s->text = text;
	s->nparams = nparams;
	/* Prepared now when the connection is up, so that a bad text fails here as in SQLite;
	 * else (or on a later connection) at its first step. */
	if (PQstatus(st->pg->conn) == CONNECTION_OK && (rc = stmt_prepare(st->pg, s)) != DB_OK) {
		pg_finalize(&s->base);
		return rc;
	}
	*out = &s->base;
	return DB_OK;
}

/* A statement of PostgreSQL's text (copied), with its $N counted. */
static int
stmt_from_text(struct store *st, enum sql_id id, const char *text, struct db_stmt **out)
{
	char *copy = strdup(text);

	if (copy == NULL) {
		*out = NULL;
		return fail_with(st->pg, SQLITE_NOMEM, "out of memory");
	}
	return stmt_new(st, id, copy, db_pg_count_params(copy), out);
}

int
db_pg_prepare_text(struct store *st, const char *text, struct db_stmt **out)
{
	return stmt_from_text(st, SQL_NSTATEMENTS, text, out);
}

static int
pg_prepare(struct store *st, enum sql_id id, struct db_stmt **out)
{
	char *text;
	int n, rc;

	if (walked[id].first != NULL) {
		if ((rc = stmt_from_text(st, id, walked[id].first, out)) == DB_OK)
			P(*out)->walk = &walked[id];
		return rc;
	}
	if (sql_pg_text[id] != NULL)
		return stmt_from_text(st, id, sql_pg_text[id], out);
	if (db_pg_translate(sql_text[id], &text, &n) < 0) {
		*out = NULL;
		return fail_with(st->pg, SQLITE_NOMEM, "out of memory");
	}
	return stmt_new(st, id, text, n, out);
}

static void
pg_finalize(struct db_stmt *stmt)
{
	struct pg_stmt *s = P(stmt);

	/* The server's copy goes with the connection (names are never reused on one). */
	if (s == NULL)
		return;
	pg_finalize(s->next != NULL ? &s->next->base : NULL);
	PQclear(s->res);
	free(s->text);
	free(s->values);
	free(s->num);
	for (int i = 0; s->fixed != NULL && i < s->nparams; i++)
		free(s->fixed[i]);
	free(s->fixed);
	free(s);
}

/* Parameter i (0-based) set to v: a copy it owned is freed. */
static void
set_value(struct pg_stmt *s, int i, const char *v)
{
	free(s->fixed[i]);
	s->fixed[i] = NULL;
	s->values[i] = v;
}

static int
pg_bind_int(struct db_stmt *stmt, int i, int64_t v)
{
	struct pg_stmt *s = P(stmt);

	if (i < 1 || i > s->nparams)
		return SQLITE_RANGE;
	snprintf(s->num[i - 1], sizeof(s->num[i - 1]), "%lld", (long long)v);
	set_value(s, i - 1, s->num[i - 1]);
	return DB_OK;
}

/* PostgreSQL's TEXT holds UTF-8 only: text that is not (a command's raw output in a result, an
 * error or a stderr tail) is bound with U+FFFD for each byte that is not part of a character,
 * where SQLite keeps the bytes; the server would refuse it, and a job's end with it, forever. */
static int
pg_bind_text(struct db_stmt *stmt, int i, const char *t)
{
	struct pg_stmt *s = P(stmt);
	char *fixed = NULL;
	size_t len;

	if (i < 1 || i > s->nparams)
		return SQLITE_RANGE;
	if (t != NULL && text_utf8_repair(t, strlen(t), &fixed, &len) < 0)
		return fail_with(stmt->st->pg, SQLITE_NOMEM, "out of memory");
	set_value(s, i - 1, fixed != NULL ? fixed : t);
	s->fixed[i - 1] = fixed;
	return DB_OK;
}

static int
pg_bind_null(struct db_stmt *stmt, int i)
{
	return pg_bind_text(stmt, i, NULL);
}

/* Did the command change rows (INSERT, UPDATE, DELETE, MERGE)? */
static int
changes_rows(const char *status)
{
	return strncmp(status, "INSERT ", 7) == 0 || strncmp(status, "UPDATE ", 7) == 0 ||
	       strncmp(status, "DELETE ", 7) == 0 || strncmp(status, "MERGE ", 6) == 0;
}

/* Execute s with its parameters: its rows (or command status) into s->res. */
static int
stmt_exec(struct store *st, struct pg_stmt *s)
{
	struct db_pg *pg = st->pg;
	PGresult *res;
	ExecStatusType status;
	int rc;

	if ((rc = ready(st)) != DB_OK || (rc = sync_timeout(st)) != DB_OK)
		return rc;
	if (s->gen != pg->gen && (rc = stmt_prepare(pg, s)) != DB_OK)
		return rc;
	res = PQexecPrepared(pg->conn, s->name, s->nparams, s->values, NULL, NULL, 0);
	status = PQresultStatus(res);
	if (res == NULL || (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)) {
		rc = fail_res(pg, res);
		PQclear(res);
		return rc;
	}
	if (changes_rows(PQcmdStatus(res)))
		pg->changes = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(s->res);
	s->res = res;
	s->row = 0;
	s->nrows = PQntuples(res);
	return DB_OK;
}

/* The page after the last row of s (a walked statement whose page was full): its own
 * parameters, then the last row's key columns; the new rows replace the old in s. */
static int
next_page(struct store *st, struct pg_stmt *s)
{
	const struct walked *w = s->walk;
	struct pg_stmt *n = s->next;
	int rc, nkeys = 0;

	while (nkeys < WALK_KEYS_MAX && w->keys[nkeys] >= 0)
		nkeys++;
	if (n == NULL) {
		struct db_stmt *out;

		if ((rc = stmt_from_text(st, s->base.id, w->next, &out)) != DB_OK)
			return rc;
		s->next = n = P(out);
		if (n->nparams != s->nparams + nkeys)
			return fail_with(
			        st->pg, SQLITE_ERROR,
			        "a walked statement's next page takes the wrong parameters");
	}
	for (int i = 0; i < s->nparams; i++)
		n->values[i] = s->values[i];
	for (int k = 0; k < nkeys; k++) {
		int col = w->keys[k], row = s->nrows - 1;
		char *num = n->num[s->nparams + k];

		/* The keys are integers: the previous page's text fits (it is cleared below). */
		if (col >= PQnfields(s->res) || PQgetisnull(s->res, row, col) ||
		    PQgetlength(s->res, row, col) >= (int)sizeof(n->num[0]))
			return fail_with(st->pg, SQLITE_ERROR,
			                 "a walked statement's key is not an integer");
		memcpy(num, PQgetvalue(s->res, row, col),
		       (size_t)PQgetlength(s->res, row, col) + 1);
		n->values[s->nparams + k] = num;
	}
	if ((rc = stmt_exec(st, n)) != DB_OK)
		return rc;
	/* n's rows become s's, read from the first. */
	PQclear(s->res);
	s->res = n->res;
	s->nrows = n->nrows;
	s->row = 0;
	s->limit = w->page_rows;
	n->res = NULL;
	return DB_OK;
}

static int
pg_step(struct db_stmt *stmt)
{
	struct pg_stmt *s = P(stmt);
	struct store *st = stmt->st;
	int rc;

	if (s->res == NULL) {
		if ((rc = stmt_exec(st, s)) != DB_OK)
			return rc;
		s->limit = s->walk != NULL ? s->walk->first_rows : 0;
	}
	if (s->row == s->nrows && s->limit > 0 && s->nrows == s->limit &&
	    (rc = next_page(st, s)) != DB_OK)
		return rc;
	if (s->row < s->nrows) {
		s->row++;
		return DB_ROW;
	}
	return DB_DONE;
}

/* The text of column i of the current row, NULL for NULL or none. */
static const char *
cell(struct db_stmt *stmt, int i)
{
	struct pg_stmt *s = P(stmt);

	if (s->res == NULL || s->row < 1 || s->row > s->nrows || i < 0 || i >= PQnfields(s->res) ||
	    PQgetisnull(s->res, s->row - 1, i))
		return NULL;
	return PQgetvalue(s->res, s->row - 1, i);
}

static int64_t
pg_col_int(struct db_stmt *stmt, int i)
{
	const char *v = cell(stmt, i);
	char *end;
	long long n;

	if (v == NULL)
		return 0;
	if (v[0] == 't' && v[1] == '\0')
		return 1;
	if (v[0] == 'f' && v[1] == '\0')
		return 0;
	n = strtoll(v, &end, 10);
	if (*end == '.' || *end == 'e' || *end == 'E') /* numeric or double: as SQLite casts */
		return (int64_t)strtod(v, NULL);
	return n;
}

static double
pg_col_double(struct db_stmt *stmt, int i)
{
	const char *v = cell(stmt, i);

	if (v == NULL)
		return 0;
	if ((v[0] == 't' || v[0] == 'f') && v[1] == '\0')
		return v[0] == 't';
	return strtod(v, NULL);
}

static const char *
pg_col_text(struct db_stmt *stmt, int i)
{
	return cell(stmt, i);
}

static int
pg_col_bytes(struct db_stmt *stmt, int i)
{
	const char *v = cell(stmt, i);

	return v != NULL ? PQgetlength(P(stmt)->res, P(stmt)->row - 1, i) : 0;
}

static int
pg_col_is_null(struct db_stmt *stmt, int i)
{
	return cell(stmt, i) == NULL;
}

static void
pg_reset(struct db_stmt *stmt)
{
	struct pg_stmt *s = P(stmt);

	PQclear(s->res);
	s->res = NULL;
	s->row = s->nrows = s->limit = 0;
	for (int i = 0; i < s->nparams; i++)
		set_value(s, i, NULL);
}

static int64_t
pg_changes(struct store *st)
{
	return st->pg->changes;
}

/* ---- transactions ---- */

static int
pg_in_tx(struct store *st)
{
	struct db_pg *pg = st->pg;

	if (pg == NULL)
		return 0;
	switch (PQtransactionStatus(pg->conn)) {
	case PQTRANS_IDLE:
		return 0;
	case PQTRANS_UNKNOWN: /* the connection is lost: what we began */
		return pg->in_tx;
	default:
		return 1;
	}
}

/* ROLLBACK whatever is open, forgetting what it set. keep: the failure that led here stays
 * the one recorded. */
static int
end_tx(struct db_pg *pg, int keep)
{
	char msg[sizeof(pg->msg)];
	int rc = DB_OK, saved = pg->rc;

	pg->in_tx = 0;
	pg->notify = 0;
	pg->lock_timeout_ms = -1; /* a SET inside the transaction is undone */
	if (keep)
		memcpy(msg, pg->msg, sizeof(msg));
	if (PQstatus(pg->conn) == CONNECTION_OK && PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
		rc = exec_simple(pg, "ROLLBACK");
	if (keep) {
		pg->rc = saved;
		memcpy(pg->msg, msg, sizeof(msg));
	}
	return rc;
}

/* Open a transaction with begin (one or more statements), setting lock_timeout in the same
 * round trip. A connection found lost is made again and the BEGIN sent once more: nothing was
 * done on the old one. */
static int
begin_with(struct store *st, const char *begin)
{
	struct db_pg *pg = st->pg;
	char sql[256];
	int rc;

	if (pg_in_tx(st))
		return fail_with(pg, SQLITE_ERROR,
		                 "cannot start a transaction within a transaction");
	for (int tries = 0;; tries++) {
		if ((rc = ready(st)) != DB_OK)
			return rc;
		if (pg->lock_timeout_ms != st->busy_timeout_ms)
			snprintf(sql, sizeof(sql), "SET lock_timeout = %d; %s", st->busy_timeout_ms,
			         begin);
		else
			snprintf(sql, sizeof(sql), "%s", begin);
		if ((rc = exec_simple(pg, sql)) == DB_OK) {
			pg->in_tx = 1;
			pg->notify = 0;
			pg->lock_timeout_ms = st->busy_timeout_ms;
			return DB_OK;
		}
		if (PQstatus(pg->conn) != CONNECTION_BAD || tries > 0) {
			end_tx(pg, 1);
			return rc;
		}
		pg->in_tx = 0;
	}
}

static int
pg_begin(struct store *st)
{
	return begin_with(st, "BEGIN; SELECT pg_advisory_xact_lock(" DB_PG_WRITE_LOCK ")");
}

static int
pg_begin_read(struct store *st)
{
	return begin_with(st, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
}

static int
pg_commit(struct store *st)
{
	struct db_pg *pg = st->pg;
	PGresult *res;
	int rc = DB_OK;

	if (PQstatus(pg->conn) != CONNECTION_OK) {
		pg->in_tx = 0;
		return fail_with(pg, SQLITE_BUSY,
		                 "the connection to the server was lost: the "
		                 "transaction was rolled back");
	}
	switch (PQtransactionStatus(pg->conn)) {
	case PQTRANS_IDLE:
		pg->in_tx = 0;
		return fail_with(pg, SQLITE_ERROR, "cannot commit - no transaction is active");
	case PQTRANS_INERROR:
		/* PostgreSQL ends a transaction at its first error, where SQLite fails only the
		 * statement: a caller that went on must not believe it committed. */
		end_tx(pg, 0);
		return fail_with(pg, SQLITE_ABORT,
		                 "the transaction was rolled back after an earlier error");
	default:
		break;
	}
	char sql[192];
	res = PQexec(pg->conn,
	             pg->notify ? notify_sql(st, "; COMMIT", sql, sizeof(sql)) : "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = fail_res(pg, res);
		if (PQstatus(pg->conn) == CONNECTION_BAD)
			fail_with(pg, SQLITE_BUSY,
			          "the connection to the server was lost during the "
			          "commit: the transaction may not have committed");
	} else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		rc = fail_with(pg, SQLITE_ABORT, "the transaction was rolled back");
	}
	PQclear(res);
	pg->in_tx = 0;
	pg->notify = 0;
	if (rc != DB_OK)
		end_tx(pg, 1);
	return rc;
}

static int
pg_rollback(struct store *st)
{
	return end_tx(st->pg, 0);
}

static const char *
pg_errmsg(struct store *st, int rc)
{
	struct db_pg *pg = st->pg;

	if (pg != NULL && (rc & 0xff) == (pg->rc & 0xff) && pg->msg[0] != '\0')
		return pg->msg;
	return sqlite3_errstr(rc);
}

static int
pg_migrate(struct store *st)
{
	return schema_pg_migrate(st);
}

static int
pg_set_durability(struct store *st, int fast)
{
	struct db_pg *pg = st->pg;
	int rc;

	pg->fast = fast; /* kept for the next connection */
	if ((rc = ready(st)) != DB_OK)
		return rc;
	/* full: the server's (or role's) own level, "on" unless its administrator chose another */
	return exec_simple(pg, fast ? "SET synchronous_commit = off" : "RESET synchronous_commit");
}

/* LISTEN once per connection (session_setup repeats it on a new one), outside a transaction:
 * one rolled back would undo it. Never connects again itself: the caller's next real call
 * does. */
static void
listen_start(struct store *st)
{
	struct db_pg *pg = st->pg;

	if (pg->listening || pg_in_tx(st) || PQstatus(pg->conn) != CONNECTION_OK)
		return;
	if (exec_simple(pg, "LISTEN " DB_PG_CHANNEL) == DB_OK)
		pg->listening = 1;
}

/* Read the notifications received, from other connections only (as PRAGMA data_version counts
 * other connections' commits): version counts those not of this host when it skips its own
 * (it has the FIFO), all_version all of them. A connection found lost counts too: the caller
 * looks again, and its next call connects again. */
static void
pg_drain(struct store *st)
{
	struct db_pg *pg = st->pg;
	PGnotify *n;

	listen_start(st);
	if (PQstatus(pg->conn) != CONNECTION_OK || PQconsumeInput(pg->conn) == 0) {
		pg->version++;
		pg->all_version++;
		return;
	}
	while ((n = PQnotifies(pg->conn)) != NULL) {
		if (n->be_pid != PQbackendPID(pg->conn)) {
			pg->all_version++;
			if (!st->skip_own_host || strcmp(n->extra, st->host) != 0)
				pg->version++;
		}
		PQfreemem(n);
	}
}

static int64_t
pg_data_version(struct store *st)
{
	pg_drain(st);
	return st->pg->version;
}

static int64_t
pg_change_version(struct store *st)
{
	pg_drain(st);
	return st->pg->all_version;
}

/* The connection's socket, LISTENing: readable when a notification may have come. It changes
 * when the connection is made again: ask before each poll(), after data_version has drained
 * what libpq read already. -1 while there is no connection. */
static int
pg_wait_fd(struct store *st)
{
	listen_start(st);
	return PQstatus(st->pg->conn) == CONNECTION_OK ? PQsocket(st->pg->conn) : -1;
}

static int
pg_notify(struct store *st)
{
	struct db_pg *pg = st->pg;
	int rc;

	if (pg_in_tx(st)) {
		pg->notify = 1; /* sent with the COMMIT: delivered at commit anyway */
		return DB_OK;
	}
	if ((rc = ready(st)) != DB_OK)
		return rc;
	char sql[192];
	return exec_simple(pg, notify_sql(st, "", sql, sizeof(sql)));
}

const struct db_ops db_pg_ops = {
        .name = "postgresql",
        .insert_in_tx = 1,
        .open = pg_open,
        .close = pg_close,
        .prepare = pg_prepare,
        .finalize = pg_finalize,
        .bind_int = pg_bind_int,
        .bind_text = pg_bind_text,
        .bind_null = pg_bind_null,
        .step = pg_step,
        .col_int = pg_col_int,
        .col_double = pg_col_double,
        .col_text = pg_col_text,
        .col_bytes = pg_col_bytes,
        .col_is_null = pg_col_is_null,
        .reset = pg_reset,
        .changes = pg_changes,
        .begin = pg_begin,
        .begin_read = pg_begin_read,
        .commit = pg_commit,
        .rollback = pg_rollback,
        .in_tx = pg_in_tx,
        .errmsg = pg_errmsg,
        .migrate = pg_migrate,
        .set_durability = pg_set_durability,
        .data_version = pg_data_version,
        .change_version = pg_change_version,
        .wait_fd = pg_wait_fd,
        .notify = pg_notify,
};

int
db_pg_backend_pid(struct store *st)
{
	return st->pg != NULL ? PQbackendPID(st->pg->conn) : 0;
}

/* ---- for schema_pg.c (db_pg.h) ---- */

/* No reconnection here: the migration's statements belong to its one transaction. */
static int
connected(struct store *st)
{
	if (PQstatus(st->pg->conn) == CONNECTION_OK)
		return DB_OK;
	return fail_with(st->pg, SQLITE_BUSY, "the connection to the server was lost");
}

int
db_pg_exec(struct store *st, const char *sql)
{
	int rc;

	if ((rc = connected(st)) == DB_OK)
		rc = exec_simple(st->pg, sql);
	return rc == DB_OK ? 0 : store_fail(st, rc, "cannot open database");
}

int
db_pg_query_int(struct store *st, const char *sql, int64_t *out)
{
	PGresult *res;
	int rc;

	*out = 0;
	if ((rc = connected(st)) != DB_OK)
		return store_fail(st, rc, "cannot open database");
	res = PQexec(st->pg->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = fail_res(st->pg, res);
		PQclear(res);
		return store_fail(st, rc, "cannot open database");
	}
	if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
		*out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}
