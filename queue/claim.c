/*
 * The policy-aware claim, in one write transaction (BEGIN IMMEDIATE), so every limit holds for
 * every claimer of the database.
 *
 * Its cost depends on neither the queue depth nor the number of jobs the policy blocks:
 * 1. usage: the running rows (bounded by the limits) give the jobs per type, the units held
 *    per pool (from each row's units column, written at claim time) and, for singleton types,
 *    the busy namespaces;
 * 2. the pauses in force;
 * 3. the distinct queued types, by a loose index scan over jobs_ready (one seek per type); a
 *    type at its limit, paused, or whose own tags do not fit is skipped whole, so a million
 *    jobs behind "enrich: 1" cost one seek;
 * 4. for every other type, its queued jobs in claim order (priority, run_at, id) until the
 *    first that fits: its own tags and the type's all fit (all or nothing), its namespace is
 *    free when the type is singleton. Rows not yet due end a priority level at once: the walk
 *    jumps to the next lower priority, so delayed jobs are never stepped over one by one;
 * 5. the best candidate across types (priority, then run_at, then id) is marked running.
 * A pool with a rate or a token budget also needs room in its sliding window (queue/rate.c,
 * read once per claim and pool when first asked); a full one counts as a full pool, and the
 * time it frees joins next_run_at. The start is charged to its rate window with the claim.
 * What can still be stepped over are ready jobs blocked one by one (a busy singleton
 * namespace, a full pool that only some jobs' own tags take) ahead of the first that fits.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "duration.h"
#include "internal.h"
#include "rate.h"
#include "tags.h"

/* Jobs with an invalid resources column failed per claim, at most. */
#define INVALID_MAX 16

struct strlist {
	char **v;
	size_t n, cap;
};

struct type_use {
	char *type;
	int running;
	struct strlist namespaces; /* busy namespaces, for singleton types */
};

struct usage {
	int total;
	struct type_use *types;
	size_t ntypes, cap;
	int64_t *pool_used; /* per cfg->pools index (pool_usage_add) */
};

struct pauses {
	int all;
	struct strlist types, pools;
	int64_t next_end; /* earliest end of a pause in force, 0 none */
};

struct candidate {
	int found;
	int64_t id, priority, run_at;
	char units[TAGSET_JSON_MAX];
	int has_units;
};

struct invalid {
	int64_t id;
	char error[160];
};

struct claim {
	struct store *st;
	const struct config *cfg;
	int64_t now, next; /* next: earliest future run_at seen, 0 none */
	struct usage use;
	struct pauses pauses;
	/* The type being walked. */
	const struct type_config *tc;
	const struct type_use *tuse;
	struct tagset type_tags;
	struct candidate best, cur;
	struct invalid invalid[INVALID_MAX];
	size_t ninvalid;
	struct rate_view rates; /* the pools' rate and token windows (rate.c) */
	int rate_err;           /* < 0: reading a window failed */
};

enum verdict { ROW_ACCEPT, ROW_FUTURE, ROW_BLOCKED, ROW_INVALID };

static int
strlist_add(struct strlist *l, const char *s)
{
	char *copy;

	if (l->n == l->cap) {
		size_t cap = l->cap > 0 ? l->cap * 2 : 8;
		char **v = reallocarray(l->v, cap, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if ((copy = strdup(s)) == NULL)
		return -ENOMEM;
	l->v[l->n++] = copy;
	return 0;
}

static int
strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], s) == 0)
			return 1;
	}
	return 0;
}

static void
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static struct type_use *
type_use_find(const struct usage *u, const char *type)
{
	for (size_t i = 0; i < u->ntypes; i++) {
		if (strcmp(u->types[i].type, type) == 0)
			return &u->types[i];
	}
	return NULL;
}

static struct type_use *
type_use_get(struct usage *u, const char *type)
{
	struct type_use *t = type_use_find(u, type);

	if (t != NULL)
		return t;
	if (u->ntypes == u->cap) {
		size_t cap = u->cap > 0 ? u->cap * 2 : 8;
		struct type_use *v = reallocarray(u->types, cap, sizeof(*v));

		if (v == NULL)
			return NULL;
		u->types = v;
		u->cap = cap;
	}
	t = &u->types[u->ntypes];
	memset(t, 0, sizeof(*t));
	if ((t->type = strdup(type)) == NULL)
		return NULL;
	u->ntypes++;
	return t;
}

static void
claim_release(struct claim *c)
{
	for (size_t i = 0; i < c->use.ntypes; i++) {
		free(c->use.types[i].type);
		strlist_free(&c->use.types[i].namespaces);
	}
	free(c->use.types);
	free(c->use.pool_used);
	strlist_free(&c->pauses.types);
	strlist_free(&c->pauses.pools);
	rate_view_release(&c->rates);
}

/* Step 1: what the running jobs hold. */
static int
load_usage(struct claim *c)
{
	struct db_stmt *stmt = stmt_get(c->st, SQL_RUNNING_USAGE);
	int rc = DB_DONE, r = 0;

	if (stmt == NULL)
		return c->st->errnum;
	if (c->cfg->npools > 0 &&
	    (c->use.pool_used = calloc(c->cfg->npools, sizeof(*c->use.pool_used))) == NULL)
		r = -ENOMEM;
	while (r == 0 && (rc = db_step(stmt)) == DB_ROW) {
		const char *type = db_col_text(stmt, 0);
		const char *ns = db_col_text(stmt, 1);
		const struct type_config *tc;
		struct type_use *tu;

		c->use.total++;
		if (type == NULL || (tu = type_use_get(&c->use, type)) == NULL) {
			r = type == NULL ? 0 : -ENOMEM;
			continue;
		}
		tu->running++;
		tc = config_type(c->cfg, type);
		if (tc != NULL && tc->singleton_namespace && ns != NULL &&
		    !strlist_has(&tu->namespaces, ns) && strlist_add(&tu->namespaces, ns) < 0)
			r = -ENOMEM;
		pool_usage_add(c->cfg, db_col_text(stmt, 2), c->use.pool_used);
	}
	stmt_done(c->st, stmt);
	if (r < 0)
		return store_failx(c->st, r, "cannot claim from '%s': out of memory", c->st->path);
	return rc == DB_DONE ? 0 : store_fail(c->st, rc, "cannot claim from");
}

/* Step 2: the pauses in force. */
static int
load_pauses(struct claim *c)
{
	struct db_stmt *stmt = stmt_get(c->st, SQL_PAUSES_ACTIVE);
	int rc = DB_DONE, r = 0;

	if (stmt == NULL)
		return c->st->errnum;
	db_bind_int(stmt, 1, c->now);
	while (r == 0 && (rc = db_step(stmt)) == DB_ROW) {
		const char *kind = db_col_text(stmt, 0);
		const char *name = db_col_text(stmt, 1);
		int64_t until = db_col_int(stmt, 2);

		if (kind == NULL || name == NULL)
			continue;
		if (until > 0 && (c->pauses.next_end == 0 || until < c->pauses.next_end))
			c->pauses.next_end = until;
		if (strcmp(kind, "all") == 0)
			c->pauses.all = 1;
		else if (strcmp(kind, "type") == 0)
			r = strlist_add(&c->pauses.types, name);
		else if (strcmp(kind, "resource") == 0)
			r = strlist_add(&c->pauses.pools, name);
	}
	stmt_done(c->st, stmt);
	if (r < 0)
		return store_failx(c->st, r, "cannot claim from '%s': out of memory", c->st->path);
	return rc == DB_DONE ? 0 : store_fail(c->st, rc, "cannot claim from");
}

static void saw_future(struct claim *c, int64_t run_at);

/* Whether pool index p has room in its rate and token windows; when not, the time it frees
 * is a time to look again. */
static int
rate_fits(struct claim *c, int p)
{
	int64_t frees_at;
	int r = rate_room(c->st, c->cfg, &c->rates, p, c->now, &frees_at);

	if (r < 0 && c->rate_err == 0)
		c->rate_err = r;
	if (r == 0)
		saw_future(c, frees_at);
	return r > 0;
}

/* Whether units of pool fit now; 0 also when the pool is paused or its rate or token window
 * is full. */
static int
pool_fits(struct claim *c, const char *pool, int units)
{
	int p = config_pool_index(c->cfg, pool);

	if (p < 0 || strlist_has(&c->pauses.pools, pool))
		return 0;
	return c->use.pool_used[p] + units <= c->cfg->pools[p].value && rate_fits(c, p);
}

/* Set up the walk of one type; 0 when the type as a whole cannot run now. */
static int
type_open(struct claim *c, const char *type)
{
	int limit = config_type_limit(c->cfg, type);

	c->tc = config_type(c->cfg, type);
	c->tuse = type_use_find(&c->use, type);
	if (limit >= 0 && c->tuse != NULL && c->tuse->running >= limit)
		return 0;
	if (strlist_has(&c->pauses.types, type))
		return 0;
	c->type_tags.n = 0;
	for (size_t i = 0; c->tc != NULL && i < c->tc->nresources; i++) {
		const struct tag *t = &c->tc->resources[i];

		if (!pool_fits(c, t->name, t->units) ||
		    tagset_add(&c->type_tags, t->name, t->units) < 0)
			return 0;
	}
	return 1;
}

static enum verdict
invalid(struct claim *c, int64_t id, const char *msg)
{
	struct invalid *inv;

	for (size_t i = 0; i < c->ninvalid; i++) {
		if (c->invalid[i].id == id)
			return ROW_INVALID;
	}
	if (c->ninvalid == INVALID_MAX)
		return ROW_BLOCKED;
	inv = &c->invalid[c->ninvalid++];
	inv->id = id;
	strlcpy(inv->error, msg, sizeof(inv->error));
	return ROW_INVALID;
}

/* Judge one queued row (columns type, id, namespace, resources, priority, run_at) of the type
 * being walked; on ROW_ACCEPT c->cur holds it. */
static enum verdict
judge(struct claim *c, struct db_stmt *stmt)
{
	int64_t id = db_col_int(stmt, 1);
	const char *ns = db_col_text(stmt, 2);
	const char *res = db_col_text(stmt, 3);
	struct tagset all;
	char msg[160];
	int r;

	c->cur.id = id;
	c->cur.priority = db_col_int(stmt, 4);
	c->cur.run_at = db_col_int(stmt, 5);
	if (c->cur.run_at > c->now)
		return ROW_FUTURE;
	if (c->tc != NULL && c->tc->singleton_namespace && c->tuse != NULL && ns != NULL &&
	    strlist_has(&c->tuse->namespaces, ns))
		return ROW_BLOCKED;
	if (res == NULL) {
		c->cur.has_units = c->type_tags.n > 0;
		if (c->cur.has_units)
			tagset_format(&c->type_tags, c->cur.units, sizeof(c->cur.units));
		return ROW_ACCEPT;
	}
	if ((r = tagset_parse(&all, res)) < 0)
		return invalid(c, id, "invalid resources (expected a JSON array of tags)");
	for (size_t i = 0; i < c->type_tags.n; i++) {
		if (tagset_add(&all, c->type_tags.tag[i].name, c->type_tags.tag[i].units) < 0)
			return invalid(c, id, "invalid resources (too many units)");
	}
	for (size_t i = 0; i < all.n; i++) {
		int cap = config_pool(c->cfg, all.tag[i].name);

		if (cap < 0) {
			snprintf(msg, sizeof(msg),
			         "unknown resource '%s' (not in concurrency.resources)",
			         all.tag[i].name);
			return invalid(c, id, msg);
		}
		if (all.tag[i].units > cap) {
			snprintf(msg, sizeof(msg),
			         "resource '%s' takes %d units but pool '%s' has a capacity of %d",
			         all.tag[i].name, all.tag[i].units, all.tag[i].name, cap);
			return invalid(c, id, msg);
		}
		if (!pool_fits(c, all.tag[i].name, all.tag[i].units))
			return ROW_BLOCKED;
	}
	c->cur.has_units = all.n > 0;
	if (c->cur.has_units)
		tagset_format(&all, c->cur.units, sizeof(c->cur.units));
	return ROW_ACCEPT;
}

static void
offer(struct claim *c)
{
	struct candidate *b = &c->best, *n = &c->cur;

	if (!b->found || n->priority > b->priority ||
	    (n->priority == b->priority &&
	     (n->run_at < b->run_at || (n->run_at == b->run_at && n->id < b->id)))) {
		*b = *n;
		b->found = 1;
	}
}

static void
saw_future(struct claim *c, int64_t run_at)
{
	if (c->next == 0 || run_at < c->next)
		c->next = run_at;
}

/* Step 4: walk the queued jobs of one type (opened with type_open) in claim order. */
static int
walk_type(struct claim *c, const char *type)
{
	struct db_stmt *stmt = stmt_get(c->st, SQL_TYPE_HEAD);
	int rc;

	if (stmt == NULL)
		return c->st->errnum;
	db_bind_text(stmt, 1, type);
	db_bind_int(stmt, 2, INT64_MAX);
	while ((rc = db_step(stmt)) == DB_ROW) {
		enum verdict v = judge(c, stmt);

		if (v == ROW_ACCEPT) {
			offer(c);
			break;
		}
		if (v == ROW_FUTURE) {
			/* The rest of this priority level is later still: go one level down. */
			saw_future(c, c->cur.run_at);
			if (c->cur.priority == INT64_MIN)
				break;
			stmt_done(c->st, stmt);
			db_bind_text(stmt, 1, type);
			db_bind_int(stmt, 2, c->cur.priority - 1);
		}
	}
	stmt_done(c->st, stmt);
	return rc == DB_ROW || rc == DB_DONE ? 0 : store_fail(c->st, rc, "cannot claim from");
}

/* Step 3: every distinct queued type, one seek each; the row found is the type's first job. */
static int
walk_all_types(struct claim *c)
{
	struct db_stmt *stmt = stmt_get(c->st, SQL_TYPE_FIRST);
	char *type = NULL;
	int rc = DB_DONE, r = 0;

	while (stmt != NULL && (rc = db_step(stmt)) == DB_ROW) {
		enum verdict v = ROW_BLOCKED;
		int open;

		free(type);
		if ((type = strdup(db_col_text(stmt, 0))) == NULL) {
			r = store_failx(c->st, -ENOMEM, "cannot claim from '%s': out of memory",
			                c->st->path);
			break;
		}
		if ((open = type_open(c, type)) && (v = judge(c, stmt)) == ROW_ACCEPT)
			offer(c);
		stmt_done(c->st, stmt);
		/* Its first job does not fit now: walk the type. */
		if (open && v != ROW_ACCEPT && (r = walk_type(c, type)) < 0)
			break;
		if ((stmt = stmt_get(c->st, SQL_TYPE_NEXT)) != NULL)
			db_bind_text(stmt, 1, type);
	}
	if (stmt == NULL)
		r = c->st->errnum;
	else if (r == 0 && rc != DB_DONE)
		r = store_fail(c->st, rc, "cannot claim from");
	stmt_done(c->st, stmt);
	free(type);
	return r;
}

/* Jobs whose resources can never fit are failed, so they do not block their type forever. */
static int
fail_invalid(struct claim *c)
{
	struct db_stmt *stmt;

	for (size_t i = 0; i < c->ninvalid; i++) {
		int rc;

		if ((stmt = stmt_get(c->st, SQL_FAIL_QUEUED)) == NULL)
			return c->st->errnum;
		db_bind_int(stmt, 1, c->invalid[i].id);
		db_bind_text(stmt, 2, c->invalid[i].error);
		db_bind_int(stmt, 3, c->now);
		rc = db_step(stmt);
		stmt_done(c->st, stmt);
		if (rc != DB_DONE)
			return store_fail(c->st, rc, "cannot claim from");
	}
	return 0;
}

/* The claimed job starts in the rate windows of its pools. Returns 1, or < 0 (out released). */
static int
charge_start(struct claim *c, struct job *out)
{
	int r = rate_charge_start(c->st, c->cfg, &c->rates, out->units, out->id, c->now);

	if (r < 0)
		job_release(out);
	return r < 0 ? r : 1;
}

/* Step 5: mark the chosen job running. Returns 1, or 0 if it was not queued after all. */
static int
take(struct claim *c, const struct claim_req *req, struct job *out)
{
	struct db_stmt *stmt = stmt_get(c->st, SQL_CLAIM);
	int64_t lease = req->lease_ms > 0 ? req->lease_ms : c->cfg->lease_ms;
	int rc, r = 0;

	if (stmt == NULL)
		return c->st->errnum;
	if (lease <= 0)
		lease = CONFIG_DEFAULT_LEASE_MS;
	db_bind_int(stmt, 1, c->best.id);
	db_bind_int(stmt, 2, c->now);
	bind_int_or_null(stmt, 3, req->owner_pid);
	bind_int_or_null(stmt, 4, (int64_t)req->owner_start);
	db_bind_int(stmt, 5, time_add(c->now, lease));
	db_bind_int(stmt, 6, store_token());
	db_bind_text(stmt, 7, c->best.has_units ? c->best.units : NULL);
	db_bind_text(stmt, 8, req->host);
	if ((rc = db_step(stmt)) == DB_ROW)
		r = job_from_row(stmt, out) < 0 ? -ENOMEM : 1;
	stmt_done(c->st, stmt);
	if (r == -ENOMEM)
		return store_failx(c->st, r, "cannot claim from '%s': out of memory", c->st->path);
	if (rc != DB_ROW && rc != DB_DONE)
		return store_fail(c->st, rc, "cannot claim from");
	return r;
}

int
claim_in_tx(struct store *st, const struct config *cfg, const struct claim_req *req,
            struct job *out, int64_t *next_run_at)
{
	struct claim *c;
	int r;

	memset(out, 0, sizeof(*out));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return store_failx(st, -ENOMEM, "cannot claim from '%s': out of memory", st->path);
	c->st = st;
	c->cfg = cfg;
	c->now = req->now > 0 ? req->now : time_now_ms();
	if ((r = load_usage(c)) < 0 || (r = load_pauses(c)) < 0)
		goto out;
	if (c->pauses.all || c->use.total >= (cfg->global > 0 ? cfg->global : 1))
		goto out;
	if (req->types != NULL) {
		for (size_t i = 0; i < req->ntypes && r == 0; i++) {
			if (type_open(c, req->types[i]))
				r = walk_type(c, req->types[i]);
		}
	} else {
		r = walk_all_types(c);
	}
	if (r == 0 && c->rate_err < 0)
		r = c->rate_err;
	if (r == 0)
		r = fail_invalid(c);
	if (r == 0 && c->best.found && (r = take(c, req, out)) == 1)
		r = charge_start(c, out);
out:
	if (next_run_at != NULL) {
		int64_t next = c->next;

		if (c->pauses.next_end > 0 && (next == 0 || c->pauses.next_end < next))
			next = c->pauses.next_end;
		*next_run_at = next;
	}
	claim_release(c);
	free(c);
	return r;
}

int
store_claim(struct store *st, const struct config *cfg, const struct claim_req *req,
            struct job *out, int64_t *next_run_at)
{
	int r;

	if ((r = tx_begin(st, "cannot claim from")) < 0)
		return r;
	r = claim_in_tx(st, cfg, req, out, next_run_at);
	if (r >= 0) {
		int c = tx_commit(st, "cannot claim from");

		if (c < 0) {
			if (r == 1)
				job_release(out);
			r = c;
		}
	}
	if (r < 0)
		tx_rollback(st);
	return r;
}
