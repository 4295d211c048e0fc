/*
 * The PostgreSQL SQL of jobq against a real server (tests/pg/check-sql.sh starts one):
 *
 * 1. the schema (queue/schema_pg.c): created once, twice is a no-op, several processes at
 *    once migrate once, a newer version is refused (-ENOTSUP), a database with other tables
 *    too (-EINVAL);
 * 2. every statement of queue/sql.h in its final PostgreSQL text (sql_pg.h's, else the SQLite
 *    text with ?N / ? turned into $N as the driver does) is PREPAREd: it parses, every
 *    parameter gets a type, it takes the same parameters as the SQLite text, and every column
 *    of its result is text or an integer (the driver reads integers with strtoll), double only
 *    where the C code reads one;
 * 3. the statements that do something different on the two backends run on sample data on
 *    both PostgreSQL and SQLite (a database made by `jobq init`), with the same parameters,
 *    and the jobs they leave must be the same, besides explicit checks of the expected values.
 *
 * usage: check-sql CONNINFO SQLITE_DB   (CONNINFO of a superuser's database of a throwaway
 * cluster: the checker creates and drops its own databases in it)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "db_pg.h"
#include "internal.h"
#include "sql_pg.h"

/* ---- what the driver provides to schema_pg.c, over one libpq connection ---- */

static PGconn *conn_of_store; /* the connection of the one store of this process */

int
store_failx(struct store *st, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
	st->errnum = err;
	return err;
}

int
db_pg_exec(struct store *st, const char *sql)
{
	PGresult *res = PQexec(conn_of_store, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
	int r = ok ? 0
	           : store_failx(st, -EIO, "cannot open database '%s': %s", st->path,
	                         PQresultErrorMessage(res));

	PQclear(res);
	return r;
}

int
db_pg_query_int(struct store *st, const char *sql, int64_t *out)
{
	PGresult *res = PQexec(conn_of_store, sql);
	int r = 0;

	*out = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		r = store_failx(st, -EIO, "cannot open database '%s': %s", st->path,
		                PQresultErrorMessage(res));
	else if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		*out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return r;
}

/* ---- the statements ---- */

#define NAME(id, text) [id] = #id,
#define TEXT(id, text) [id] = text,
static const char *const names[SQL_NSTATEMENTS] = {SQL_STATEMENTS(NAME)};
static const char *const lite_text[SQL_NSTATEMENTS] = {SQL_STATEMENTS(TEXT)};
static const char *const pg_override[SQL_NSTATEMENTS] = {SQL_PG_STATEMENTS(TEXT)};
/* The parameters of each prepared statement (PostgreSQL's count): the checks may bind more, as
 * jobq's code does (filters bind all seven), and the extra ones are dropped as the driver
 * drops them (SQLITE_RANGE). */
static int pg_nparams[SQL_NSTATEMENTS];

/* The driver's transaction statements (db_ops.begin...), not prepared by id on PostgreSQL. */
static int
is_tx_statement(enum sql_id id)
{
	static const char *const tx[] = {"SQL_BEGIN", "SQL_COMMIT", "SQL_ROLLBACK",
	                                 "SQL_BEGIN_READ", "SQL_DATA_VERSION"};

	for (size_t i = 0; i < sizeof(tx) / sizeof(tx[0]); i++)
		if (strcmp(names[id], tx[i]) == 0)
			return 1;
	return 0;
}

/* SQLite's parameters turned into PostgreSQL's, as the driver does: ?N -> $N, a bare ? -> $k
 * (one more than the largest number so far), outside quotes. *nparams: the largest number. */
static char *
translate(const char *s, int *nparams)
{
	size_t len = strlen(s);
	char *out = malloc(len * 4 + 1), *o = out;
	char quote = 0;
	int max = 0;

	if (out == NULL)
		abort();
	for (const char *p = s; *p != '\0'; p++) {
		if (quote != 0) {
			if (*p == quote)
				quote = 0;
			*o++ = *p;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
			*o++ = *p;
		} else if (*p == '?') {
			int n;

			if (p[1] >= '0' && p[1] <= '9') {
				n = (int)strtol(p + 1, (char **)&p, 10);
				p--;
			} else {
				n = max + 1;
			}
			if (n > max)
				max = n;
			o += sprintf(o, "$%d", n);
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	*nparams = max;
	return out;
}

static char *
pg_text(enum sql_id id, int *lite_params)
{
	char *t = translate(lite_text[id], lite_params);

	if (pg_override[id] != NULL) {
		free(t);
		return strdup(pg_override[id]);
	}
	return t;
}

/* ---- reporting ---- */

static int failures, checks;

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	failures++;
}

static void
expect_str(const char *what, const char *got, const char *want)
{
	checks++;
	if ((got == NULL) != (want == NULL) || (got != NULL && strcmp(got, want) != 0))
		fail("%s: got '%s', want '%s'", what, got != NULL ? got : "(null)",
		     want != NULL ? want : "(null)");
}

static void
expect_int(const char *what, long long got, long long want)
{
	checks++;
	if (got != want)
		fail("%s: got %lld, want %lld", what, got, want);
}

/* ---- PostgreSQL helpers ---- */

static PGconn *
pg_connect(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "check-sql: cannot connect to '%s': %s", conninfo,
		        PQerrorMessage(c));
		exit(1);
	}
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

static void
pg_do(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail("%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
}

/* The rows of a query, each row's columns joined by '|', rows by ';'. Caller frees. */
static char *
pg_rows(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	size_t cap = 64, len = 0;
	char *out = malloc(cap);

	out[0] = '\0';
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fail("%s: %s", sql, PQresultErrorMessage(res));
		PQclear(res);
		return out;
	}
	for (int r = 0; r < PQntuples(res); r++)
		for (int k = 0; k < PQnfields(res); k++) {
			const char *v = PQgetisnull(res, r, k) ? "NULL" : PQgetvalue(res, r, k);
			size_t need = len + strlen(v) + 3;

			if (need > cap && (out = realloc(out, cap = need * 2)) == NULL)
				abort();
			len += (size_t)sprintf(out + len, "%s%s",
			                       r > 0 && k == 0 ? ";"
			                       : k > 0         ? "|"
			                                       : "",
			                       v);
		}
	PQclear(res);
	return out;
}

static void
pg_expect(PGconn *c, const char *what, const char *sql, const char *want)
{
	char *got = pg_rows(c, sql);

	expect_str(what, got, want);
	free(got);
}

/* ---- 1. the schema ---- */

static int
migrate(const char *conninfo, char *err, size_t errlen)
{
	struct store st;
	int r;

	memset(&st, 0, sizeof(st));
	st.path = (char *)"the check's database";
	conn_of_store = pg_connect(conninfo);
	r = schema_pg_migrate(&st);
	if (err != NULL)
		snprintf(err, errlen, "%s", st.err);
	PQfinish(conn_of_store);
	conn_of_store = NULL;
	return r;
}

static char *
db_conninfo(const char *base, const char *db)
{
	char *s = malloc(strlen(base) + strlen(db) + 16);

	sprintf(s, "%s dbname=%s", base, db);
	return s;
}

static void
fresh_db(PGconn *admin, const char *db)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	pg_do(admin, sql);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	pg_do(admin, sql);
}

/* The checker's databases, named after its pid: two checks may share a cluster. */
static char db_race[64], db_other[64], db_check[64];

static void
check_schema(PGconn *admin, const char *base)
{
	char *race = db_conninfo(base, db_race);
	char *other = db_conninfo(base, db_other);
	char sql[128];
	char err[STORE_ERR_MAX];
	PGconn *c;
	int r, ok = 1;

	/* Four processes migrate one empty database at once: each gets 0, and one schema. */
	fresh_db(admin, db_race);
	for (int i = 0; i < 4; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(migrate(race, err, sizeof(err)) == 0 ? 0 : (printf("%s\n", err), 1));
	}
	for (int i = 0; i < 4; i++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ok = 0;
	}
	expect_int("4 concurrent migrations succeed", ok, 1);
	c = pg_connect(race);
	pg_expect(c, "schema version", "SELECT value FROM jobq_meta", "4");
	pg_expect(c, "one jobs table",
	          "SELECT count(*) FROM pg_class WHERE relname = 'jobs' AND relkind = 'r'", "1");
	expect_int("migrating again is a no-op", migrate(race, NULL, 0), 0);
	/* A newer schema is refused. */
	pg_do(c, "UPDATE jobq_meta SET value = '5' WHERE key = 'schema_version'");
	r = migrate(race, err, sizeof(err));
	expect_int("a newer schema: -ENOTSUP", r, -ENOTSUP);
	checks++;
	if (strstr(err, "schema version 5 is newer than this jobq (4)") == NULL)
		fail("newer schema message: '%s'", err);
	PQfinish(c);

	/* Tables of something else and no jobq_meta: not a jobq database, left alone. */
	fresh_db(admin, db_other);
	c = pg_connect(other);
	pg_do(c, "CREATE TABLE accounts (id int)");
	r = migrate(other, err, sizeof(err));
	expect_int("other tables: -EINVAL", r, -EINVAL);
	checks++;
	if (strstr(err, "not a jobq database") == NULL)
		fail("not a jobq database message: '%s'", err);
	pg_expect(c, "no jobq table created in it", "SELECT to_regclass('jobs') IS NULL", "t");
	PQfinish(c);
	/* A step that fails leaves nothing behind. */
	c = pg_connect(other);
	pg_do(c, "DROP TABLE accounts");
	pg_do(c, "CREATE FUNCTION jobq_job_pruned() RETURNS int LANGUAGE sql AS 'SELECT 1'");
	r = migrate(other, err, sizeof(err));
	expect_int("a failed step: an error", r < 0, 1);
	pg_expect(c, "a failed step: rolled back", "SELECT to_regclass('jobs') IS NULL", "t");
	pg_do(c, "DROP FUNCTION jobq_job_pruned()");
	expect_int("then it migrates", migrate(other, NULL, 0), 0);
	PQfinish(c);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", db_race);
	pg_do(admin, sql);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", db_other);
	pg_do(admin, sql);
	free(race);
	free(other);
}

/* ---- 2. every statement ---- */

/* The columns allowed to be double: what the C code reads with col_double. */
static int
double_ok(enum sql_id id, int col)
{
	return strcmp(names[id], "SQL_METRICS_JOBS") == 0 && (col == 3 || col == 4 || col == 6);
}

#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT4 23
#define OID_TEXT 25
#define OID_FLOAT8 701
#define OID_UNKNOWN 705
#define OID_NUMERIC 1700

static void
check_prepare(PGconn *c)
{
	for (int id = 0; id < SQL_NSTATEMENTS; id++) {
		int lite_params;
		char *text;
		PGresult *res;

		if (is_tx_statement((enum sql_id)id))
			continue;
		text = pg_text((enum sql_id)id, &lite_params);
		checks++;
		res = PQprepare(c, names[id], text, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			fail("%s does not prepare: %s  text: %s", names[id],
			     PQresultErrorMessage(res), text);
			PQclear(res);
			free(text);
			continue;
		}
		PQclear(res);
		res = PQdescribePrepared(c, names[id]);
		pg_nparams[id] = PQnparams(res);
		if (PQnparams(res) != lite_params)
			fail("%s: %d parameters on PostgreSQL, %d on SQLite", names[id],
			     PQnparams(res), lite_params);
		for (int i = 0; i < PQnparams(res); i++)
			if (PQparamtype(res, i) == OID_UNKNOWN)
				fail("%s: parameter $%d has no type", names[id], i + 1);
		for (int k = 0; k < PQnfields(res); k++) {
			Oid t = PQftype(res, k);

			if (t == OID_INT8 || t == OID_INT4 || t == OID_TEXT ||
			    (t == OID_FLOAT8 && double_ok((enum sql_id)id, k)))
				continue;
			fail("%s: column %d (%s) has type oid %u (%s)", names[id], k,
			     PQfname(res, k), t,
			     t == OID_NUMERIC ? "numeric"
			     : t == OID_BOOL  ? "boolean"
			                      : "not an integer");
		}
		PQclear(res);
		free(text);
	}
}

/* ---- 3. the same statements on both backends ---- */

/* Times that are "now" on each side (a trigger's or a default's: 13 digits, after 2020) become
 * NOW, in place. */
static void
normalise(char *s)
{
	char *o = s;

	for (char *p = s; *p != '\0';) {
		size_t n = strspn(p, "0123456789");

		if (n == 13 && (p == s || p[-1] == '|' || p[-1] == ';') &&
		    strncmp(p, "16", 2) >= 0) {
			o += sprintf(o, "NOW");
			p += n;
		} else if (n > 0) {
			memmove(o, p, n);
			o += n;
			p += n;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
}

struct both {
	PGconn *pg;
	sqlite3 *lite;
	sqlite3_stmt *lite_stmt[SQL_NSTATEMENTS];
};

/* Run statement id on both with params: "i123" an integer, "tabc" text, NULL null. Returns the
 * PostgreSQL rows as pg_rows() does and checks SQLite's are the same. Caller frees. */
static char *
run(struct both *b, enum sql_id id, int n, const char *const *params)
{
	const char *pv[32];
	char *got, *lite;
	size_t cap = 256, len = 0;
	PGresult *res;
	sqlite3_stmt *s;
	int rc;

	for (int i = 0; i < n; i++)
		pv[i] = params[i] != NULL ? params[i] + 1 : NULL;
	res = PQexecPrepared(b->pg, names[id], n < pg_nparams[id] ? n : pg_nparams[id], pv, NULL,
	                     NULL, 0);
	got = malloc(cap);
	got[0] = '\0';
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		fail("%s on PostgreSQL: %s", names[id], PQresultErrorMessage(res));
	} else {
		for (int r = 0; r < PQntuples(res); r++)
			for (int k = 0; k < PQnfields(res); k++) {
				const char *v =
				        PQgetisnull(res, r, k) ? "NULL" : PQgetvalue(res, r, k);

				if (len + strlen(v) + 3 > cap &&
				    (got = realloc(got, cap = (len + strlen(v)) * 2 + 3)) == NULL)
					abort();
				len += (size_t)sprintf(got + len, "%s%s",
				                       r > 0 && k == 0 ? ";"
				                       : k > 0         ? "|"
				                                       : "",
				                       v);
			}
		if (PQcmdTuples(res)[0] != '\0' && PQnfields(res) == 0)
			len += (size_t)sprintf(got + len, "changes=%s", PQcmdTuples(res));
	}
	PQclear(res);

	if ((s = b->lite_stmt[id]) == NULL &&
	    sqlite3_prepare_v2(b->lite, lite_text[id], -1, &b->lite_stmt[id], NULL) != SQLITE_OK) {
		fail("%s on SQLite: %s", names[id], sqlite3_errmsg(b->lite));
		return got;
	}
	s = b->lite_stmt[id];
	for (int i = 0; i < n && i < sqlite3_bind_parameter_count(s); i++) {
		if (params[i] == NULL)
			sqlite3_bind_null(s, i + 1);
		else if (params[i][0] == 'i')
			sqlite3_bind_int64(s, i + 1, strtoll(params[i] + 1, NULL, 10));
		else
			sqlite3_bind_text(s, i + 1, params[i] + 1, -1, SQLITE_TRANSIENT);
	}
	cap = 256;
	len = 0;
	lite = malloc(cap);
	lite[0] = '\0';
	for (int r = 0; (rc = sqlite3_step(s)) == SQLITE_ROW; r++)
		for (int k = 0; k < sqlite3_column_count(s); k++) {
			char num[32];
			const char *v;

			if (sqlite3_column_type(s, k) == SQLITE_NULL)
				v = "NULL";
			else if (sqlite3_column_type(s, k) == SQLITE_FLOAT)
				v = (snprintf(num, sizeof(num), "%.17g",
				              sqlite3_column_double(s, k)),
				     num);
			else
				v = (const char *)sqlite3_column_text(s, k);
			if (len + strlen(v) + 3 > cap &&
			    (lite = realloc(lite, cap = (len + strlen(v)) * 2 + 3)) == NULL)
				abort();
			len += (size_t)sprintf(lite + len, "%s%s",
			                       r > 0 && k == 0 ? ";"
			                       : k > 0         ? "|"
			                                       : "",
			                       v);
		}
	if (rc != SQLITE_DONE)
		fail("%s on SQLite: %s", names[id], sqlite3_errmsg(b->lite));
	else if (sqlite3_column_count(s) == 0)
		sprintf(lite + len, "changes=%d", sqlite3_changes(b->lite));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	normalise(got);
	normalise(lite);
	checks++;
	if (strcmp(got, lite) != 0)
		fail("%s: PostgreSQL gave '%s', SQLite '%s'", names[id], got, lite);
	free(lite);
	return got;
}

#define P(...) ((const char *const[]){__VA_ARGS__})
#define NP(...) (int)(sizeof(P(__VA_ARGS__)) / sizeof(const char *))
#define RUN(b, id, ...) free(run(b, id, NP(__VA_ARGS__), P(__VA_ARGS__)))
#define RUN0(b, id) free(run(b, id, 0, NULL))

/* Both databases' jobs, compared: the columns the triggers and statements write, times only as
 * set or not (they are "now" on each side). */
#define JOBS_STATE                                                                                 \
	"SELECT id, type, state, attempts, blockers, cancelled_by, error, watch, batch, payload, " \
	"unique_key, finished_at IS NULL, run_at IS NULL FROM jobs ORDER BY id"

static char *
lite_rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	size_t cap = 256, len = 0;
	char *out = malloc(cap);
	int rc;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		fail("%s on SQLite: %s", sql, sqlite3_errmsg(db));
		return out;
	}
	for (int r = 0; (rc = sqlite3_step(s)) == SQLITE_ROW; r++)
		for (int k = 0; k < sqlite3_column_count(s); k++) {
			const char *v = sqlite3_column_type(s, k) == SQLITE_NULL
			                        ? "NULL"
			                        : (const char *)sqlite3_column_text(s, k);

			if (len + strlen(v) + 3 > cap &&
			    (out = realloc(out, cap = (len + strlen(v)) * 2 + 3)) == NULL)
				abort();
			len += (size_t)sprintf(out + len, "%s%s",
			                       r > 0 && k == 0 ? ";"
			                       : k > 0         ? "|"
			                                       : "",
			                       v);
		}
	if (rc != SQLITE_DONE)
		fail("%s on SQLite: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return out;
}

/* PostgreSQL prints booleans t/f, SQLite 1/0. */
static void
same_jobs(struct both *b, const char *what)
{
	char *pg = pg_rows(b->pg, "SELECT id, type, state, attempts, blockers, cancelled_by, "
	                          "error, watch, batch, payload, unique_key, "
	                          "(finished_at IS NULL)::int, (run_at IS NULL)::int FROM jobs "
	                          "ORDER BY id");
	char *lite = lite_rows(b->lite, JOBS_STATE);

	checks++;
	if (strcmp(pg, lite) != 0)
		fail("%s: the jobs differ\n  PostgreSQL: %s\n  SQLite:     %s", what, pg, lite);
	free(pg);
	free(lite);
}

#define INS(b, type, key, batch)                                                                   \
	RUN(b, SQL_INSERT, "t" type, "tdefault", "t{}", "i0", "i1000", "i3", NULL, NULL, key,      \
	    batch, "i1000")

/* Insert a job on both; its id as a parameter ("iN"), in buf. */
static const char *
ins(struct both *b, const char *type, const char *key, const char *batch, char *buf, size_t len)
{
	char *id = run(
	        b, SQL_INSERT, 11,
	        P(type, "tdefault", "t{}", "i0", "i1000", "i3", NULL, NULL, key, batch, "i1000"));

	snprintf(buf, len, "i%s", id);
	free(id);
	return buf;
}

/* A job claimed (token 7) and finished as state. */
static void
claim_finish(struct both *b, const char *id, const char *state)
{
	free(run(b, SQL_CLAIM, 8, P(id, "i2000", "i1", "i1", "i9999", "i7", NULL, "thost-a")));
	RUN(b, SQL_FINISH, id, "i7", state, NULL, NULL, NULL, "i0", "i3000", NULL, "i0");
}

/* child waits for parent (what deps.c does for enqueue --after of a live parent). */
static void
dep(struct both *b, const char *parent, const char *child, const char *nparents)
{
	RUN(b, SQL_DEP_ADD, parent, child);
	RUN(b, SQL_DEP_BLOCK, child, nparents);
	RUN(b, SQL_DEP_WATCH_PARENT, parent);
}

static void
check_semantics(struct both *b)
{
	/* Dependencies: 1 <- 2 <- 3 (3 waits for 2, 2 for 1). */
	INS(b, "a", NULL, NULL);
	INS(b, "a", NULL, NULL);
	INS(b, "a", NULL, NULL);
	dep(b, "i1", "i2", "i1");
	dep(b, "i2", "i3", "i1");
	claim_finish(b, "i1", "tfailed");
	same_jobs(b, "a parent failed");
	pg_expect(b->pg, "descendants cancelled by the parent",
	          "SELECT id, state, cancelled_by, error FROM jobs WHERE id > 1 ORDER BY id",
	          "2|cancelled|1|dependency 1 failed;3|cancelled|1|dependency 1 failed");
	RUN(b, SQL_RETRY_ID, NULL, NULL, NULL, "i1", NULL, "i-1", "i5000");
	same_jobs(b, "the parent retried");
	pg_expect(b->pg, "the chain came back, blocked",
	          "SELECT id, state, blockers, cancelled_by FROM jobs ORDER BY id",
	          "1|queued|0|NULL;2|queued|1|NULL;3|queued|1|NULL");
	claim_finish(b, "i1", "tsucceeded");
	claim_finish(b, "i2", "tsucceeded");
	same_jobs(b, "the chain succeeded");
	pg_expect(b->pg, "the last child is ready", "SELECT blockers FROM jobs WHERE id = 3", "0");

	/* Two parents: 6 waits for 4 and 5. 4 fails (6 cancelled), 5 fails; retrying 4 leaves 6
	 * cancelled (5 failed); retrying 5 brings it back, waiting for both. */
	INS(b, "b", NULL, NULL);
	INS(b, "b", NULL, NULL);
	INS(b, "b", NULL, NULL);
	RUN(b, SQL_DEP_ADD, "i4", "i6");
	RUN(b, SQL_DEP_ADD, "i5", "i6");
	RUN(b, SQL_DEP_BLOCK, "i6", "i2");
	RUN(b, SQL_DEP_WATCH_PARENT, "i4");
	RUN(b, SQL_DEP_WATCH_PARENT, "i5");
	claim_finish(b, "i4", "tfailed");
	claim_finish(b, "i5", "tfailed");
	RUN(b, SQL_RETRY_ID, NULL, NULL, NULL, "i4", NULL, "i-1", "i5000");
	same_jobs(b, "one of two failed parents retried");
	pg_expect(b->pg, "the child stays cancelled", "SELECT state FROM jobs WHERE id = 6",
	          "cancelled");
	RUN(b, SQL_RETRY_ID, NULL, NULL, NULL, "i5", NULL, "i-1", "i5000");
	same_jobs(b, "both parents retried");
	pg_expect(b->pg, "the child waits for both",
	          "SELECT state, blockers FROM jobs WHERE id = 6", "queued|2");
	/* The child itself retried while a parent has failed: straight back to cancelled. */
	claim_finish(b, "i4", "tfailed");
	RUN(b, SQL_RETRY_ALL, NULL, NULL, NULL, NULL, "tcancelled", "i-1", "i5000");
	same_jobs(b, "a cancelled child retried while its parent failed");
	RUN(b, SQL_DEP_CANCEL_NEW, "i5", "i4", "i5100", "tfailed");
	RUN(b, SQL_DEP_PARENTS, "i6");
	RUN(b, SQL_DEP_CHILDREN, "i4");
	RUN0(b, SQL_COUNT_BLOCKED);

	/* A batch callback fires once, when the last live job ends, whichever way. */
	RUN(b, SQL_BATCH_CALLBACK, "tb1", "tdone", "tdefault", "i0", "i3", NULL, "i1000");
	INS(b, "c", NULL, "tb1"); /* 7 */
	INS(b, "c", NULL, "tb1"); /* 8 */
	INS(b, "c", NULL, "tb1"); /* 9 */
	INS(b, "c", NULL, "tb1"); /* 10 */
	claim_finish(b, "i7", "tsucceeded");
	claim_finish(b, "i8", "tfailed");
	RUN(b, SQL_CANCEL_QUEUED_BATCH, NULL, NULL, "tb1", NULL, NULL, "i-1", "i6000");
	same_jobs(b, "a batch ended");
	pg_expect(b->pg, "one callback job", "SELECT type, payload FROM jobs WHERE type = 'done'",
	          "done|{\"batch\":\"b1\",\"counts\":{\"succeeded\":1,\"failed\":1,"
	          "\"cancelled\":2},\"total\":4}");
	RUN(b, SQL_BATCH_CALLBACK_GET, "tb1");
	RUN(b, SQL_RETRY_BATCH, NULL, NULL, "tb1", NULL, NULL, "i-1", "i7000");
	RUN(b, SQL_CANCEL_QUEUED_BATCH, NULL, NULL, "tb1", NULL, NULL, "i-1", "i8000");
	same_jobs(b, "the batch ended again");
	pg_expect(b->pg, "still one callback job", "SELECT count(*) FROM jobs WHERE type = 'done'",
	          "1");
	RUN(b, SQL_BATCH_PROGRESS, "i0");
	RUN(b, SQL_COUNT_BY_TYPE_BATCH, "tb1");

	/* A parent and its child ended by one statement (cancel --batch). */
	INS(b, "d", NULL, "tb2"); /* 12 */
	INS(b, "d", NULL, "tb2"); /* 13 */
	dep(b, "i12", "i13", "i1");
	RUN(b, SQL_CANCEL_QUEUED_BATCH, NULL, NULL, "tb2", NULL, NULL, "i-1", "i6000");
	same_jobs(b, "a parent and its child cancelled by one statement");
	RUN(b, SQL_RETRY_ID, NULL, NULL, NULL, "i12", NULL, "i-1", "i7000");
	same_jobs(b, "that parent retried");

	/* A chain (e1 <- e2 <- e3), a diamond (e4 waits for e1 and f) and an outsider (f), in a
	 * batch with a callback, cancelled and retried by type, by batch, by id. */
	{
		char e1[32], e2[32], e3[32], e4[32], f[32];

		RUN(b, SQL_BATCH_CALLBACK, "tb3", "tdone3", "tdefault", "i0", "i3", NULL, "i1000");
		ins(b, "te", NULL, "tb3", e1, sizeof(e1));
		ins(b, "te", NULL, "tb3", e2, sizeof(e2));
		ins(b, "te", NULL, "tb3", e3, sizeof(e3));
		ins(b, "te", NULL, "tb3", e4, sizeof(e4));
		ins(b, "tf", NULL, NULL, f, sizeof(f));
		dep(b, e1, e2, "i1");
		dep(b, e2, e3, "i1");
		RUN(b, SQL_DEP_ADD, e1, e4);
		RUN(b, SQL_DEP_ADD, f, e4);
		RUN(b, SQL_DEP_BLOCK, e4, "i2");
		RUN(b, SQL_DEP_WATCH_PARENT, e1);
		RUN(b, SQL_DEP_WATCH_PARENT, f);
		RUN(b, SQL_CANCEL_QUEUED_ALL, "te", NULL, NULL, NULL, NULL, "i-1", "i6500");
		same_jobs(b, "a chain and a diamond cancelled by type");
		pg_expect(
		        b->pg, "the first one's cascade cancelled the others",
		        "SELECT state, (cancelled_by IS NOT NULL)::int FROM jobs WHERE type = 'e' "
		        "ORDER BY id",
		        "cancelled|0;cancelled|1;cancelled|1;cancelled|1");
		pg_expect(b->pg, "the callback of b3 fired",
		          "SELECT count(*) FROM jobs WHERE type = 'done3'", "1");
		RUN(b, SQL_RETRY_ALL, "te", NULL, NULL, NULL, "tcancelled", "i-1", "i6600");
		same_jobs(b, "and retried by type");
		RUN(b, SQL_CANCEL_QUEUED_BATCH, NULL, NULL, "tb3", NULL, NULL, "i-1", "i6700");
		RUN(b, SQL_RETRY_ID, NULL, NULL, NULL, e1, NULL, "i-1", "i6800");
		same_jobs(b, "cancelled by batch, the root retried");
		claim_finish(b, f, "tfailed");
		RUN(b, SQL_CANCEL_QUEUED_BATCH, NULL, NULL, "tb3", NULL, NULL, "i-1", "i6900");
		same_jobs(b, "the batch over again");
		pg_expect(b->pg, "the diamond's child stays with its failed parent",
		          "SELECT state, error FROM jobs WHERE type = 'e' ORDER BY id DESC LIMIT 1",
		          "cancelled|dependency 18 failed");
	}

	/* Retry and unique keys: a job whose key is live again in another job stays failed; of
	 * two with one key, the first comes back. */
	{
		char k1[32], k2a[32], k2b[32], want[96], sql[128];

		ins(b, "tu", "tk", NULL, k1, sizeof(k1));
		claim_finish(b, k1, "tfailed");
		ins(b, "tu", "tk", NULL, want, sizeof(want)); /* live with k */
		RUN(b, SQL_RETRY_ID, NULL, NULL, NULL, k1, NULL, "i-1", "i9000");
		same_jobs(b, "retry with the key live elsewhere");
		snprintf(sql, sizeof(sql), "SELECT state FROM jobs WHERE id = %s", k1 + 1);
		pg_expect(b->pg, "the retried job stays failed", sql, "failed");
		ins(b, "tu", "tk2", NULL, k2a, sizeof(k2a));
		claim_finish(b, k2a, "tfailed");
		ins(b, "tu", "tk2", NULL, k2b, sizeof(k2b));
		claim_finish(b, k2b, "tfailed");
		RUN(b, SQL_RETRY_ALL, "tu", NULL, NULL, NULL, NULL, "i-1", "i9100");
		same_jobs(b, "retry of two jobs with one key");
		snprintf(want, sizeof(want), "%s|queued;%s|failed", k2a + 1, k2b + 1);
		pg_expect(b->pg, "the first of the two came back",
		          "SELECT id, state FROM jobs WHERE unique_key = 'k2' ORDER BY id", want);
		/* The same by batch, the first failed, the second cancelled. */
		ins(b, "tu", "tk3", "tb4", k2a, sizeof(k2a));
		claim_finish(b, k2a, "tfailed");
		ins(b, "tu", "tk3", "tb4", k2b, sizeof(k2b));
		RUN(b, SQL_CANCEL_QUEUED_ID, NULL, NULL, NULL, k2b, NULL, "i-1", "i9200");
		RUN(b, SQL_RETRY_BATCH, NULL, NULL, "tb4", NULL, NULL, "i-1", "i9300");
		same_jobs(b, "retry by batch of two jobs with one key");
	}
	RUN(b, SQL_UNIQUE_LIVE, "tk2");
	RUN(b, SQL_UNIQUE_RECENT, "tk", "i0");
	INS(b, "u", "tk2", NULL); /* conflicts: no row, no error */

	/* Filters, limits, counts. */
	RUN(b, SQL_LIST_ALL_ASC, NULL, NULL, NULL, NULL, NULL, "i-1");
	RUN(b, SQL_LIST_ALL_DESC, "tu", NULL, NULL, NULL, NULL, "i2");
	RUN(b, SQL_LIST_BATCH_ASC, NULL, NULL, "tb1", NULL, "tcancelled", "i-1");
	RUN(b, SQL_LIST_ID, NULL, NULL, NULL, "i3", NULL, "i-1");
	RUN(b, SQL_COUNT_ALL, NULL, "tdefault", NULL, NULL, NULL);
	RUN(b, SQL_COUNT_BATCH, NULL, NULL, "tb1", NULL, NULL);
	RUN(b, SQL_COUNT_ID, NULL, NULL, NULL, "i2", NULL);
	RUN0(b, SQL_COUNT_LIVE);
	RUN0(b, SQL_COUNT_BY_TYPE);
	RUN(b, SQL_RECENT_FAILED, "i3");
	RUN0(b, SQL_TYPE_FIRST);
	RUN(b, SQL_TYPE_NEXT, "ta");
	RUN(b, SQL_TYPE_HEAD, "tu", "i0");
	RUN(b, SQL_OLDEST_QUEUED_BATCH, "tb1", "i99999");

	/* Pauses: a quota pause never shortens one in force. */
	RUN(b, SQL_PAUSE, "ttype", "ta", "i100", "tquota");
	RUN(b, SQL_PAUSE_LONGER, "ttype", "ta", "i50", "tshorter");
	RUN(b, SQL_PAUSES_ACTIVE, "i0");
	RUN(b, SQL_PAUSE_LONGER, "ttype", "ta", "i200", "tlonger");
	RUN(b, SQL_PAUSE_LONGER, "ttype", "ta", NULL, "tuntil resumed");
	RUN(b, SQL_PAUSE_LONGER, "ttype", "ta", "i300", "tlater");
	RUN(b, SQL_PAUSE, "tall", "tall", "i10", NULL);
	pg_expect(b->pg, "pauses", "SELECT kind, name, until, reason FROM pauses ORDER BY kind",
	          "all|all|10|NULL;type|a|NULL|until resumed");
	RUN(b, SQL_PAUSES_ACTIVE, "i20");
	RUN(b, SQL_PAUSES_EXPIRE, "i20");
	RUN(b, SQL_RESUME, "ttype", "ta");

	/* Rates. */
	RUN(b, SQL_RATE_ADD, "tgpu", "tstart", "i1", "i1", "i100", "i1");
	RUN(b, SQL_RATE_ADD, "tgpu", "tstart", "i2", "i1", "i200", "i2");
	RUN(b, SQL_RATE_ADD, "tgpu", "ttokens", "i500", "i500", "i200", "i2");
	RUN(b, SQL_RATE_LAST, "tgpu", "tstart");
	RUN(b, SQL_RATE_FIRST_ABOVE, "tgpu", "tstart", "i1");
	RUN(b, SQL_RATE_USED, "tgpu", "ttokens", "i0");
	RUN(b, SQL_RATE_USED, "tgpu", "tstart", "i150");
	RUN(b, SQL_RATE_USED, "tnone", "tstart", "i0");
	RUN(b, SQL_RATE_PRUNE, "tgpu", "tstart", "i150", "i2");

	/* Claim, heartbeat, requeue, fence, running. */
	free(run(b, SQL_CLAIM, 8, P("i3", "i2000", "i1", "i1", "i9999", "i8", "t{}", "thost-b")));
	RUN(b, SQL_HEARTBEAT, "i3", "i8", "i10000");
	RUN(b, SQL_SET_PGID, "i3", "i8", "i42", "i43");
	RUN(b, SQL_JOB_FENCE, "i3");
	RUN0(b, SQL_RUNNING_USAGE);
	RUN0(b, SQL_RUNNING_JOBS);
	RUN(b, SQL_RATE_JOB_UNITS, "i3", "i8");
	RUN(b, SQL_CANCEL_RUNNING_ID, NULL, NULL, NULL, "i3", NULL);
	RUN(b, SQL_REQUEUE, "i3", "i8", "i1", "i100", NULL, "terr", "i1", "i0", NULL, "i0");
	RUN(b, SQL_FAIL_QUEUED, "i3", "tbad", "i3100");
	RUN(b, SQL_GET, "i3");
	RUN(b, SQL_EXISTS, "i3");
	same_jobs(b, "claims and finishes");

	/* Metrics: totals as doubles, the histogram's buckets as integers. */
	RUN(b, SQL_METRICS_JOBS, "i0", "i1", "i5", "i10", "i50", "i100", "i500", "i1000", "i2000",
	    "i5000", "i10000", "i60000", "i600000");

	/* Schedules. */
	RUN(b, SQL_SCHEDULE_SET, "tnightly", "i10", "i10", "i3", "i11");
	RUN(b, SQL_SCHEDULE_SET, "tnightly", "i20", NULL, NULL, "i21");
	RUN(b, SQL_SCHEDULE_GET, "tnightly");

	/* A batch name that JSON must escape, in the callback's payload. */
	RUN(b, SQL_BATCH_CALLBACK, "tq\"\\\xc3\xa9/", "tdone", "tdefault", "i0", "i3", NULL,
	    "i1000");
	{
		char q[32];

		ins(b, "tq", NULL, "tq\"\\\xc3\xa9/", q, sizeof(q));
		RUN(b, SQL_CANCEL_QUEUED_ID, NULL, NULL, NULL, q, NULL, "i-1", "i6000");
		same_jobs(b, "the callback of a batch with a quote, a backslash, an accent");
	}

	/* The next id is the one the next insert takes, on both, even after an insert that did
	 * nothing (the conflict above). */
	{
		char *next = run(b, SQL_NEXT_ID, 0, NULL);
		char *got;

		INS(b, "n", NULL, NULL);
		got = pg_rows(b->pg, "SELECT max(id) FROM jobs");
		expect_str("SQL_NEXT_ID is the next id", got, next);
		free(next);
		free(got);
	}

	/* Prune takes the edges of what it deletes. */
	RUN(b, SQL_PRUNE_ALL, NULL, NULL, NULL, NULL, NULL, "i-1", "i99999");
	RUN(b, SQL_PRUNE_ID, NULL, NULL, NULL, "i6", NULL, "i-1", "i99999");
	same_jobs(b, "pruned");
	{
		static const char dangling[] =
		        "SELECT parent, child FROM job_deps WHERE parent NOT IN "
		        "(SELECT id FROM jobs) OR child NOT IN (SELECT id FROM "
		        "jobs) ORDER BY parent, child";
		char *pg = pg_rows(b->pg, dangling), *lite = lite_rows(b->lite, dangling);

		expect_str("the edges of pruned jobs: as on SQLite", pg, lite);
		free(pg);
		free(lite);
	}
}

/* A chain of n jobs, each waiting for the one before: fail the first, retry it. The retry
 * brings the chain back, or (deep: past the server's stack) fails as a whole. */
static void
check_chain(PGconn *c, int n, int deep)
{
	char sql[512], want[64];

	pg_do(c, "TRUNCATE jobs, job_deps, batch_callbacks");
	snprintf(sql, sizeof(sql),
	         "INSERT INTO jobs (id, type, watch, blockers) SELECT g, 'chain', "
	         "CASE WHEN g = 1 THEN 1 WHEN g = %d THEN 2 ELSE 3 END, "
	         "CASE WHEN g = 1 THEN 0 ELSE 1 END FROM generate_series(1, %d) g",
	         n, n);
	pg_do(c, sql);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO job_deps SELECT g, g + 1 FROM generate_series(1, %d) g", n - 1);
	pg_do(c, sql);
	/* by a session whose search_path does not name jobq's schema */
	pg_do(c, "SET search_path = pg_catalog");
	pg_do(c, "UPDATE public.jobs SET state = 'failed' WHERE id = 1");
	pg_do(c, "RESET search_path");
	snprintf(want, sizeof(want), "%d", n - 1);
	pg_expect(c, "a chain cancelled", "SELECT count(*) FROM jobs WHERE state = 'cancelled'",
	          want);
	if (deep) {
		PGresult *res = PQexec(c, "UPDATE jobs SET state = 'queued' WHERE id = 1");

		checks++;
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			fail("a chain of %d brought back: the depth limit is higher, say so in "
			     "docs/schema.md",
			     n);
		PQclear(res);
		pg_expect(c, "a chain too deep: nothing changed",
		          "SELECT count(*) FROM jobs WHERE state = 'queued'", "0");
		return;
	}
	pg_do(c, "UPDATE jobs SET state = 'queued' WHERE id = 1");
	snprintf(want, sizeof(want), "%d", n);
	pg_expect(c, "a chain brought back", "SELECT count(*) FROM jobs WHERE state = 'queued'",
	          want);
}

int
main(int argc, char **argv)
{
	struct both b;
	char *base, *check, sql[128];
	PGconn *admin;
	char *msg = NULL;

	if (argc != 3) {
		fprintf(stderr, "usage: check-sql CONNINFO SQLITE_DB\n");
		return 64;
	}
	admin = pg_connect(argv[1]);
	/* The cluster's conninfo without dbname, for the databases of the checks. */
	base = strdup(argv[1]);
	if (strstr(base, "dbname=") != NULL)
		*strstr(base, "dbname=") = '\0';

	snprintf(db_race, sizeof(db_race), "jobq_check_race_%d", (int)getpid());
	snprintf(db_other, sizeof(db_other), "jobq_check_other_%d", (int)getpid());
	snprintf(db_check, sizeof(db_check), "jobq_check_%d", (int)getpid());
	check_schema(admin, base);

	fresh_db(admin, db_check);
	check = db_conninfo(base, db_check);
	expect_int("migrate a new database", migrate(check, NULL, 0), 0);
	memset(&b, 0, sizeof(b));
	b.pg = pg_connect(check);
	check_prepare(b.pg);

	if (sqlite3_open(argv[2], &b.lite) != SQLITE_OK ||
	    sqlite3_exec(b.lite, "PRAGMA recursive_triggers = ON", NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "check-sql: cannot open '%s'\n", argv[2]);
		return 1;
	}
	check_semantics(&b);
	check_chain(b.pg, 100, 0);
	check_chain(b.pg, 400, 0);
	check_chain(b.pg, 2000, 1);

	for (int i = 0; i < SQL_NSTATEMENTS; i++)
		sqlite3_finalize(b.lite_stmt[i]);
	sqlite3_close(b.lite);
	PQfinish(b.pg);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", db_check);
	pg_do(admin, sql);
	PQfinish(admin);
	free(base);
	free(check);
	printf("%d checks, %d failures\n", checks, failures);
	return failures == 0 ? 0 : 1;
}
