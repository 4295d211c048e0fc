/*
 * Enqueue: validation of a job spec against the config, one job in its own transaction, and
 * bulk enqueue (many jobs in one transaction, all or nothing).
 *
 * A bulk enqueue buffers jobs without a unique key and writes them SQL_BULK_ROWS at a time
 * with one multi-row INSERT: SQLite's cost per INSERT statement (opening a cursor on the table
 * and on each index, evaluating the partial index conditions) then falls on 32 rows instead of
 * one, which nearly doubles the rate. Ids are known before the rows are written: inside the
 * write transaction nobody else inserts, and AUTOINCREMENT gives max(seq, max(id)) + 1.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "deps.h"
#include "internal.h"
#include "names.h"
#include "tags.h"
#include "text.h"

#define UNIQUE_KEY_MAX 1024
/* Flush a bulk early when its buffered text passes this many bytes. */
#define BULK_ARENA_FLUSH (4 * 1024 * 1024)

/* A validated job, ready to bind. Strings point into the spec, or into resources. */
struct prepared {
	const char *type, *namespace, *payload, *unique_key, *batch, *res;
	size_t type_len, namespace_len, payload_len, resources_len;
	int64_t priority, run_at, max_attempts, timeout_ms, created_at;
	int64_t unique_since; /* > 0: a job with the key created since then counts as existing */
	enum store_fault_kind fault; /* why prepare() refused it, as data (store_fault()) */
	int64_t fault_byte;
	const int64_t *after; /* parents (issue 10): attached after the insert, see deps.c */
	size_t nafter;
	char resources[TAGSET_JSON_MAX];
	int has_resources;
};

/* Check the job's own tags and, with its type's, every pool's capacity; write the canonical
 * JSON of the job's own tags. */
static int
prepare_tags(const struct config *cfg, const struct type_config *tc, const struct job_spec *spec,
             struct prepared *p, char *err, size_t errlen)
{
	struct tagset own = {.n = 0};
	char buf[64];

	if (spec->nresources == 0)
		return 0;
	if (spec->resources == NULL || spec->nresources > JOB_TAGS_MAX) {
		snprintf(err, errlen, "too many resource tags (at most %d)", JOB_TAGS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < spec->nresources; i++) {
		const struct tag *t = &spec->resources[i];

		if (!name_tag_valid(t->name) || t->units < 1 || t->units > TAG_UNITS_MAX) {
			snprintf(err, errlen, "invalid resource tag '%s' (expected NAME or NAME:N)",
			         shown(t->name, buf, sizeof(buf)));
			return -EINVAL;
		}
		if (config_pool(cfg, t->name) < 0) {
			snprintf(err, errlen,
			         "unknown resource '%s' (not in concurrency.resources)", t->name);
			return -EINVAL;
		}
		if (tagset_add(&own, t->name, t->units) < 0) {
			snprintf(err, errlen, "resource '%s' takes too many units", t->name);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < own.n; i++) {
		const struct tag *t = &own.tag[i];
		int cap = config_pool(cfg, t->name), of_type = 0;

		for (size_t j = 0; tc != NULL && j < tc->nresources; j++) {
			if (strcmp(tc->resources[j].name, t->name) == 0)
				of_type += tc->resources[j].units;
		}
		if (t->units > cap) {
			snprintf(err, errlen,
			         "resource '%s' takes %d units but pool '%s' has a capacity of %d",
			         t->name, t->units, t->name, cap);
			return -EINVAL;
		}
		if (t->units + of_type > cap) {
			snprintf(err, errlen,
			         "resource '%s': the job takes %d units and its type '%s' %d, more "
			         "than the capacity of %d",
			         t->name, t->units, tc->name, of_type, cap);
			return -EINVAL;
		}
	}
	p->resources_len = tagset_format(&own, p->resources, sizeof(p->resources));
	p->res = p->resources;
	p->has_resources = 1;
	return 0;
}

static int
prepare(const struct config *cfg, const struct job_spec *spec, int64_t now, struct prepared *p,
        char *err, size_t errlen)
{
	size_t payload_max = cfg->payload_max > 0 ? cfg->payload_max : CONFIG_DEFAULT_PAYLOAD_MAX;
	const struct type_config *tc;
	size_t where = 0;
	char buf[64];
	int r;

	memset(p, 0, offsetof(struct prepared, resources));
	p->has_resources = 0;
	if (spec->type == NULL || !name_type_valid(spec->type)) {
		snprintf(err, errlen, "invalid type name '%s' (expected [a-z0-9][a-z0-9_-]{0,63})",
		         shown(spec->type, buf, sizeof(buf)));
		return -EINVAL;
	}
	/* A misspelt type would wait forever for a handler nobody declared. */
	if (config_type_known(cfg, spec->type, err, errlen) < 0)
		return -EINVAL;
	p->type = spec->type;
	p->type_len = strlen(spec->type);
	p->namespace = spec->namespace != NULL ? spec->namespace : "default";
	if (!name_namespace_valid(p->namespace)) {
		snprintf(err, errlen,
		         "invalid namespace '%s' (expected 1 to %d bytes of UTF-8 without control "
		         "characters)",
		         shown(p->namespace, buf, sizeof(buf)), NAME_TEXT_MAX);
		return -EINVAL;
	}
	p->namespace_len = strlen(p->namespace);
	p->payload = spec->payload != NULL ? spec->payload : "{}";
	p->payload_len = strlen(p->payload);
	if (p->payload_len > payload_max) {
		snprintf(err, errlen, "payload is %zu bytes, larger than payload_max (%zu bytes)",
		         p->payload_len, payload_max);
		return -EINVAL;
	}
	if ((r = json_check(p->payload, p->payload_len, &where)) == -EILSEQ) {
		/* Every producer (the CLI, libjobq) comes through here: none stores a NUL that a
		 * handler's argv or environment would cut. */
		char path[128];

		text_json_nul(p->payload, p->payload_len, "payload", path, sizeof(path));
		snprintf(err, errlen,
		         "%s: contains \\u0000 (a NUL character, at byte %zu), which jobq cannot "
		         "pass to a handler",
		         path, where);
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(err, errlen, "payload is not valid JSON (at byte %zu)", where);
		p->fault = STORE_FAULT_PAYLOAD_JSON;
		p->fault_byte = (int64_t)where;
		return -EINVAL;
	}
	if (spec->unique_key != NULL && !text_valid(spec->unique_key, UNIQUE_KEY_MAX)) {
		snprintf(err, errlen,
		         "invalid unique key '%s' (expected 1 to %d bytes of UTF-8 without control "
		         "characters)",
		         shown(spec->unique_key, buf, sizeof(buf)), UNIQUE_KEY_MAX);
		return -EINVAL;
	}
	p->unique_key = spec->unique_key;
	if (spec->unique_for_ms < 0 || spec->unique_for_ms > DURATION_MAX_MS) {
		snprintf(err, errlen,
		         "unique_for must be from 0 to " DURATION_MAX_TEXT " (10 years)");
		return -EINVAL;
	}
	if (spec->unique_key != NULL && spec->unique_for_ms > 0)
		p->unique_since = now - spec->unique_for_ms;
	if (spec->batch != NULL && !text_valid(spec->batch, NAME_TEXT_MAX)) {
		snprintf(err, errlen,
		         "invalid batch name '%s' (expected 1 to %d bytes of UTF-8 without control "
		         "characters)",
		         shown(spec->batch, buf, sizeof(buf)), NAME_TEXT_MAX);
		return -EINVAL;
	}
	p->batch = spec->batch;
	if (spec->max_attempts < 0 || spec->timeout_ms < 0 || spec->run_at < 0) {
		snprintf(err, errlen, "%s must not be negative",
		         spec->max_attempts < 0 ? "max_attempts"
		         : spec->timeout_ms < 0 ? "timeout"
		                                : "run_at");
		return -EINVAL;
	}
	/* Bounded like every time and duration, so that no later sum can overflow. */
	if (spec->timeout_ms > DURATION_MAX_MS || spec->run_at > TIME_MAX_MS) {
		snprintf(err, errlen, "%s",
		         spec->timeout_ms > DURATION_MAX_MS
		                 ? "timeout must be at most " DURATION_MAX_TEXT " (10 years)"
		                 : "run_at must be at most " TIME_MAX_TEXT);
		return -EINVAL;
	}
	tc = config_type(cfg, spec->type);
	p->priority = spec->priority != 0 || tc == NULL ? spec->priority : tc->priority;
	p->run_at = spec->run_at > 0 ? spec->run_at : now;
	p->max_attempts = spec->max_attempts > 0 ? spec->max_attempts
	                  : tc != NULL           ? tc->max_attempts
	                                         : CONFIG_DEFAULT_MAX_ATTEMPTS;
	p->timeout_ms = spec->timeout_ms;
	p->created_at = now;
	if ((r = deps_check(spec->after, spec->nafter, err, errlen)) < 0)
		return r;
	p->after = spec->after;
	p->nafter = spec->nafter;
	return prepare_tags(cfg, tc, spec, p, err, errlen);
}

/* Record the refusal of a job by prepare() (its message is in st->err already). */
static int
refused(struct store *st, const struct prepared *p, int r)
{
	st->errnum = r;
	st->fault.code = r;
	st->fault.kind = p->fault;
	st->fault.byte = p->fault == STORE_FAULT_OTHER ? -1 : p->fault_byte;
	return r;
}

int
store_validate_spec(const struct config *cfg, const struct job_spec *spec, char *err, size_t errlen)
{
	struct prepared p;
	char scratch[8];

	if (err == NULL || errlen == 0) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	err[0] = '\0';
	return prepare(cfg, spec, time_now_ms(), &p, err, errlen);
}

/* Bind one row's parameters starting at parameter base + 1. */
static void
bind_row(struct db_stmt *stmt, int base, const struct prepared *p)
{
	db_bind_text(stmt, base + 1, p->type);
	db_bind_text(stmt, base + 2, p->namespace);
	db_bind_text(stmt, base + 3, p->payload);
	db_bind_int(stmt, base + 4, p->priority);
	db_bind_int(stmt, base + 5, p->run_at);
	db_bind_int(stmt, base + 6, p->max_attempts);
	bind_int_or_null(stmt, base + 7, p->timeout_ms);
	db_bind_text(stmt, base + 8, p->has_resources ? p->res : NULL);
	db_bind_text(stmt, base + 9, p->unique_key);
	db_bind_text(stmt, base + 10, p->batch);
	db_bind_int(stmt, base + 11, p->created_at);
}

/* The id of the live (queued or running) job holding unique_key: 1 found, 0 none, < 0 error. */
static int
unique_live(struct store *st, const char *unique_key, int64_t *id_out)
{
	struct db_stmt *live = stmt_get(st, SQL_UNIQUE_LIVE);
	int rc;

	if (live == NULL)
		return st->errnum;
	db_bind_text(live, 1, unique_key);
	if ((rc = db_step(live)) == DB_ROW)
		*id_out = db_col_int(live, 0);
	stmt_done(st, live);
	if (rc == DB_ROW)
		return 1;
	return rc == DB_DONE ? 0 : store_fail(st, rc, "cannot enqueue into");
}

/* The newest job holding unique_key created at or after since, in any state: 1 found, 0 none,
 * < 0 error. */
static int
unique_recent(struct store *st, const char *unique_key, int64_t since, int64_t *id_out)
{
	struct db_stmt *recent = stmt_get(st, SQL_UNIQUE_RECENT);
	int rc;

	if (recent == NULL)
		return st->errnum;
	db_bind_text(recent, 1, unique_key);
	db_bind_int(recent, 2, since);
	if ((rc = db_step(recent)) == DB_ROW)
		*id_out = db_col_int(recent, 0);
	stmt_done(st, recent);
	if (rc == DB_ROW)
		return 1;
	return rc == DB_DONE ? 0 : store_fail(st, rc, "cannot enqueue into");
}

/*
 * Insert one job now. With a unique key that is live in another job, or (p->unique_since) held
 * by one created since then, return that job's id with *existing = 1. Must run inside a
 * transaction when p->unique_key is set: the look-up and the INSERT are one write.
 *
 * The live job is looked up before the INSERT: an upsert that does nothing still takes the
 * next AUTOINCREMENT value (and writes sqlite_sequence), so a duplicate enqueue would burn an
 * id and break the run of consecutive ids of a bulk. Inside the write transaction nobody can
 * insert between the look-up and the INSERT; the ON CONFLICT clause stays as the safety net.
 */
static int
insert_one(struct store *st, const struct prepared *p, int64_t *id_out, int *existing)
{
	struct db_stmt *ins;
	int rc, r, inserted = 0;

	*existing = 0;
	if (p->unique_key != NULL) {
		if ((r = unique_live(st, p->unique_key, id_out)) == 0 && p->unique_since > 0)
			r = unique_recent(st, p->unique_key, p->unique_since, id_out);
		if (r != 0) {
			*existing = r > 0;
			return r < 0 ? r : 0;
		}
	}
	if ((ins = stmt_get(st, SQL_INSERT)) == NULL)
		return st->errnum;
	bind_row(ins, 0, p);
	if ((rc = db_step(ins)) == DB_ROW) {
		inserted = 1;
		*id_out = db_col_int(ins, 0);
		rc = db_step(ins);
	}
	stmt_done(st, ins);
	if (rc != DB_DONE)
		return store_fail(st, rc, "cannot enqueue into");
	if (inserted)
		return p->nafter > 0 ? deps_attach(st, *id_out, p->after, p->nafter) : 0;
	return store_failx(st, -EPROTO,
	                   "cannot enqueue into '%s': unique key conflict without a live job",
	                   st->path);
}

int
store_enqueue(struct store *st, const struct config *cfg, const struct job_spec *spec,
              int64_t *id_out, int *existing)
{
	struct prepared p;
	int64_t id = 0;
	int ex = 0, r;

	if (st->in_bulk)
		return store_bulk_add(st, cfg, spec, id_out, existing);
	if ((r = prepare(cfg, spec, time_now_ms(), &p, st->err, sizeof(st->err))) < 0)
		return refused(st, &p, r);
	/* Without a unique key or parents the INSERT is its own (autocommit) transaction, unless
	 * the backend wants every insert under the writers' lock (db_ops.insert_in_tx). */
	int tx = p.unique_key != NULL || p.nafter > 0 || st->ops->insert_in_tx;
	if (tx && (r = tx_begin(st, "cannot enqueue into")) < 0)
		return r;
	if ((r = insert_one(st, &p, &id, &ex)) == 0 && tx) {
		store_wake_others(st);
		r = tx_commit(st, "cannot enqueue into");
	}
	if (r < 0) {
		tx_rollback(st);
		return r;
	}
	if (id_out != NULL)
		*id_out = id;
	if (existing != NULL)
		*existing = ex;
	return 0;
}

static void
bulk_reset(struct store *st)
{
	st->nrows = 0;
	st->arena_len = 0;
}

/* Copy n bytes of s and a NUL into the arena; returns the offset or -ENOMEM. */
static int64_t
arena_put(struct store *st, const char *s, size_t n)
{
	size_t off = st->arena_len;

	if (st->arena_cap - st->arena_len < n + 1) {
		size_t cap = st->arena_cap > 0 ? st->arena_cap : 64 * 1024;
		char *a;

		while (cap - st->arena_len < n + 1)
			cap *= 2;
		if ((a = realloc(st->arena, cap)) == NULL)
			return -ENOMEM;
		st->arena = a;
		st->arena_cap = cap;
	}
	memcpy(st->arena + off, s, n);
	st->arena[off + n] = '\0';
	st->arena_len += n + 1;
	return (int64_t)off;
}

static int
buffer_row(struct store *st, const struct prepared *p)
{
	struct bulk_row *row = &st->rows[st->nrows];
	int64_t type, ns, payload, res = 0, batch = 0;

	if ((type = arena_put(st, p->type, p->type_len)) < 0 ||
	    (ns = arena_put(st, p->namespace, p->namespace_len)) < 0 ||
	    (payload = arena_put(st, p->payload, p->payload_len)) < 0 ||
	    (p->has_resources && (res = arena_put(st, p->resources, p->resources_len)) < 0) ||
	    (p->batch != NULL && (batch = arena_put(st, p->batch, strlen(p->batch))) < 0))
		return store_failx(st, -ENOMEM, "cannot enqueue into '%s': out of memory",
		                   st->path);
	row->type = (size_t)type;
	row->namespace = (size_t)ns;
	row->payload = (size_t)payload;
	row->resources = (size_t)res;
	row->batch = (size_t)batch;
	row->has_resources = p->has_resources;
	row->has_batch = p->batch != NULL;
	row->priority = p->priority;
	row->run_at = p->run_at;
	row->max_attempts = p->max_attempts;
	row->timeout_ms = p->timeout_ms;
	row->created_at = p->created_at;
	st->nrows++;
	return 0;
}

/* The prepared form of a buffered row, pointing into the arena. */
static void
row_prepared(const struct store *st, const struct bulk_row *row, struct prepared *p)
{
	p->type = st->arena + row->type;
	p->type_len = strlen(p->type);
	p->namespace = st->arena + row->namespace;
	p->namespace_len = strlen(p->namespace);
	p->payload = st->arena + row->payload;
	p->payload_len = strlen(p->payload);
	p->has_resources = row->has_resources;
	p->res = row->has_resources ? st->arena + row->resources : NULL;
	p->resources_len = row->has_resources ? strlen(p->res) : 0;
	p->unique_key = NULL;
	p->batch = row->has_batch ? st->arena + row->batch : NULL;
	p->priority = row->priority;
	p->run_at = row->run_at;
	p->max_attempts = row->max_attempts;
	p->timeout_ms = row->timeout_ms;
	p->created_at = row->created_at;
}

static void
bind_buffered(const struct store *st, struct db_stmt *stmt, int base, const struct bulk_row *row)
{
	struct prepared p;

	row_prepared(st, row, &p);
	bind_row(stmt, base, &p);
}

/* Step an INSERT ... RETURNING id to its end; each id must be the next of expect's run. */
static int
insert_ids(struct db_stmt *stmt, int64_t *expect, int64_t n, int *consecutive)
{
	int64_t got = 0, lo = INT64_MAX, hi = INT64_MIN;
	int rc;

	while ((rc = db_step(stmt)) == DB_ROW) {
		int64_t id = db_col_int(stmt, 0);

		lo = id < lo ? id : lo;
		hi = id > hi ? id : hi;
		got++;
	}
	/* Ids are distinct (the primary key): n of them from expect to expect + n - 1 are the
	 * run, whatever order they came back in. */
	if (rc == DB_DONE && (got != n || lo != *expect || hi != *expect + n - 1))
		*consecutive = 0;
	*expect += n;
	return rc;
}

/* Write the buffered rows; their ids were handed out as next_id - nrows ... next_id - 1. */
static int
bulk_flush(struct store *st)
{
	int64_t expect = st->next_id - (int64_t)st->nrows;
	struct db_stmt *stmt;
	int rc = DB_DONE, consecutive = 1;

	if (st->nrows == SQL_BULK_ROWS) {
		if ((stmt = stmt_get(st, SQL_INSERT_MANY)) == NULL)
			return st->errnum;
		for (size_t i = 0; i < st->nrows; i++)
			bind_buffered(st, stmt, (int)i * SQL_INSERT_PARAMS, &st->rows[i]);
		rc = insert_ids(stmt, &expect, SQL_BULK_ROWS, &consecutive);
		stmt_done(st, stmt);
	} else {
		if ((stmt = stmt_get(st, SQL_INSERT)) == NULL)
			return st->errnum;
		for (size_t i = 0; i < st->nrows && rc == DB_DONE && consecutive; i++) {
			bind_buffered(st, stmt, 0, &st->rows[i]);
			rc = insert_ids(stmt, &expect, 1, &consecutive);
			stmt_done(st, stmt);
		}
	}
	bulk_reset(st);
	if (rc != DB_DONE)
		return store_fail(st, rc, "cannot enqueue into");
	if (!consecutive)
		return store_failx(st, -EPROTO,
		                   "cannot enqueue into '%s': job ids are not consecutive",
		                   st->path);
	return 0;
}

/* The id the next inserted job gets (inside the write transaction). */
static int
read_next_id(struct store *st)
{
	struct db_stmt *stmt = stmt_get(st, SQL_NEXT_ID);
	int rc;

	if (stmt == NULL)
		return st->errnum;
	if ((rc = db_step(stmt)) == DB_ROW)
		st->next_id = db_col_int(stmt, 0);
	stmt_done(st, stmt);
	return rc == DB_ROW ? 0 : store_fail(st, rc, "cannot enqueue into");
}

int
store_bulk_begin(struct store *st)
{
	int r;

	if (st->in_bulk)
		return store_failx(st, -EINVAL, "a bulk enqueue is already open on '%s'", st->path);
	if ((r = tx_begin(st, "cannot enqueue into")) < 0)
		return r;
	if ((r = read_next_id(st)) < 0) {
		tx_rollback(st);
		return r;
	}
	bulk_reset(st);
	st->in_bulk = 1;
	return 0;
}

int
store_bulk_add(struct store *st, const struct config *cfg, const struct job_spec *spec,
               int64_t *id_out, int *existing)
{
	struct prepared p;
	int64_t id = 0;
	int ex = 0, r;

	if (!st->in_bulk)
		return store_failx(st, -EINVAL, "no bulk enqueue is open on '%s'", st->path);
	if ((r = prepare(cfg, spec, time_now_ms(), &p, st->err, sizeof(st->err))) < 0)
		return refused(st, &p, r);
	if (p.unique_key != NULL || p.nafter > 0) {
		/* Unique keys and parents are resolved one by one, in order. */
		if ((r = bulk_flush(st)) < 0 || (r = insert_one(st, &p, &id, &ex)) < 0 ||
		    (r = read_next_id(st)) < 0)
			return r;
	} else {
		if ((r = buffer_row(st, &p)) < 0)
			return r;
		id = st->next_id++;
		if ((st->nrows == SQL_BULK_ROWS || st->arena_len > BULK_ARENA_FLUSH) &&
		    (r = bulk_flush(st)) < 0)
			return r;
	}
	if (id_out != NULL)
		*id_out = id;
	if (existing != NULL)
		*existing = ex;
	return 0;
}

int
store_bulk_commit(struct store *st)
{
	int r;

	if (!st->in_bulk)
		return store_failx(st, -EINVAL, "no bulk enqueue is open on '%s'", st->path);
	if ((r = bulk_flush(st)) == 0) {
		store_wake_others(st);
		r = tx_commit(st, "cannot enqueue into");
	}
	if (r < 0)
		tx_rollback(st);
	st->in_bulk = 0;
	bulk_reset(st);
	return r;
}

void
store_bulk_rollback(struct store *st)
{
	if (st == NULL || !st->in_bulk)
		return;
	tx_rollback(st);
	st->in_bulk = 0;
	bulk_reset(st);
}
