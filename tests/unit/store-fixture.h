/*
 * Shared fixture of the queue tests (test-store, test-claim, test-libjobq): every case runs in
 * its own temporary folder holding q.db, removed afterwards; helpers to build configs and
 * specs. Included by one test file each, so its functions are static.
 */
#ifndef JOBQ_STORE_FIXTURE_H
#define JOBQ_STORE_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "duration.h"
#include "store.h"

/* SQL that takes a version 4 database back to version 3 (what version 4 added goes). */
#define V4_DOWN "DROP TABLE hosts; ALTER TABLE jobs DROP COLUMN host; PRAGMA user_version = 3;"

/* SQL that takes a version 4 database back to version 2 (what versions 4 and 3 added goes). */
#define V3_DOWN                                                                                    \
	V4_DOWN                                                                                    \
	"DROP TABLE rate_events;"                                                                  \
	"DROP TRIGGER jobs_watch; DROP TRIGGER job_events_do; DROP TRIGGER jobs_deps_prune;"       \
	"DROP TABLE job_events; DROP TABLE job_deps; DROP TABLE batch_callbacks;"                  \
	"DROP TABLE schedules; DROP INDEX jobs_blocked; DROP INDEX jobs_ready;"                    \
	"ALTER TABLE jobs DROP COLUMN blockers; ALTER TABLE jobs DROP COLUMN cancelled_by;"        \
	"ALTER TABLE jobs DROP COLUMN watch;"                                                      \
	"CREATE INDEX jobs_ready ON jobs (type, priority DESC, run_at, id) WHERE state = "         \
	"'queued';"                                                                                \
	"PRAGMA user_version = 2;"

struct fx {
	char dir[64];
	char db[PATH_MAX];
	struct store *st;
	struct config cfg;
};

static void
fx_rmtree(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) < 0 && (errno == EISDIR || errno == EPERM))
			fx_rmtree(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Run SQL on a separate connection to path. */
static inline void
sql(const char *path, const char *text)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("sql '%s': %s", text, msg);
	sqlite3_close(db);
}

/* One integer from a query on a separate connection to path (-1: no row). */
static inline int64_t
sql_int(const char *path, const char *text)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, text, -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

/* cmocka setup: a temporary folder, the built-in config, q.db opened. */
static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512];

	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/jobq-test-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->db, sizeof(f->db), "%s/q.db", f->dir);
	config_init_default(&f->cfg);
	if (store_open(f->db, NULL, &f->st, err, sizeof(err)) < 0) {
		fprintf(stderr, "fx_setup: %s\n", err);
		fx_rmtree(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f == NULL)
		return 0;
	store_close(f->st);
	config_release(&f->cfg);
	fx_rmtree(f->dir);
	free(f);
	return 0;
}

/* Replace the fixture's config with the JSON text (fails the test on error). */
static void
fx_config(struct fx *f, const char *json)
{
	char err[512];

	config_release(&f->cfg);
	if (config_parse(json, "test", &f->cfg, err, sizeof(err)) < 0)
		fail_msg("config: %s", err);
}

/* A path in the fixture's folder (static buffer). */
static const char *
fx_path(const struct fx *f, const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return path;
}

/* Enqueue a job of type with optional namespace/tags ("a,b:2"); returns its id. */
static int64_t
fx_add(struct fx *f, const char *type, const char *ns, const char *tags, int64_t priority)
{
	struct tag t[16];
	struct job_spec spec = {.type = type, .namespace = ns, .priority = priority};
	char buf[256], *save = NULL;
	int64_t id = 0;
	int r;

	if (tags != NULL) {
		snprintf(buf, sizeof(buf), "%s", tags);
		for (char *s = strtok_r(buf, ",", &save); s != NULL;
		     s = strtok_r(NULL, ",", &save)) {
			assert_int_equal(
			        tag_parse(s, t[spec.nresources].name, &t[spec.nresources].units),
			        0);
			spec.nresources++;
		}
		spec.resources = t;
	}
	r = store_enqueue(f->st, &f->cfg, &spec, &id, NULL);
	if (r < 0)
		fail_msg("enqueue %s: %s", type, store_errmsg(f->st));
	return id;
}

/* Claim one job (any type) at now; returns 1/0 and fills job (release it). */
static int
fx_claim(struct fx *f, struct job *job, int64_t now)
{
	struct claim_req req = {.now = now};
	int r = store_claim(f->st, &f->cfg, &req, job, NULL);

	if (r < 0)
		fail_msg("claim: %s", store_errmsg(f->st));
	return r;
}

/* Finish a claimed job as succeeded. */
static void
fx_succeed(struct fx *f, const struct job *job)
{
	struct job_outcome o = {.succeeded = 1};
	int r = store_finish(f->st, &f->cfg, job->id, job->token, &o);

	if (r != JOB_SUCCEEDED)
		fail_msg("finish %lld: %d %s", (long long)job->id, r, store_errmsg(f->st));
}

/* The state of job id. */
static enum job_state
fx_state(struct fx *f, int64_t id)
{
	struct job job;
	enum job_state s;

	assert_int_equal(store_get(f->st, id, &job), 0);
	s = job.state;
	job_release(&job);
	return s;
}

#endif
