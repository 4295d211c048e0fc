/* The Prometheus text of a database. See metrics.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "metrics.h"
#include "store_metrics.h"
#include "text.h"

#define LABEL_MAX 200 /* bytes of a label value kept; a longer one is cut and given a hash */
#define POOLS_MAX 1000
#define PAUSES_MAX 1000
#define OTHER "_other"

/* The finished states whose durations the histogram counts. */
enum { TIMED_SUCCEEDED, TIMED_FAILED, TIMED_N };
static const enum job_state timed_state[TIMED_N] = {JOB_SUCCEEDED, JOB_FAILED};

struct tstat {
	char *type;
	int64_t jobs[JOB_NSTATES];
	int64_t attempts[JOB_NSTATES];
	int64_t orphans;
	int64_t timed[TIMED_N];
	double ms[TIMED_N];
	int64_t le[TIMED_N][STORE_METRICS_BUCKETS];
};

struct pstat {
	char *name;
	int64_t capacity; /* -1: not a pool of the configuration */
	int64_t used;
};

struct pause {
	enum pause_kind kind;
	char *name;
};

struct gather {
	struct tstat *t;
	size_t nt, tcap;
	struct tstat other; /* the types past METRICS_TYPES_MAX, summed */
	int has_other;
	struct pstat *p;
	size_t np, pcap;
	struct pause *pause;
	size_t npause, pausecap;
	int oom;
};

/* Grow *v (n used, *cap allocated, elements of size) by one zeroed element; NULL when out of
 * memory. */
static void *
push(void **v, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		size_t c = *cap > 0 ? *cap * 2 : 16;
		void *nv = reallocarray(*v, c, size);
		if (nv == NULL)
			return NULL;
		*v = nv;
		*cap = c;
	}
	char *e = (char *)*v + *n * size;
	memset(e, 0, size);
	(*n)++;
	return e;
}

static struct tstat *
type_add(struct gather *g, const char *type)
{
	struct tstat *t;

	if (g->nt >= METRICS_TYPES_MAX) {
		g->has_other = 1;
		return &g->other;
	}
	if ((t = push((void **)&g->t, &g->nt, &g->tcap, sizeof(*t))) == NULL)
		return NULL;
	if ((t->type = strdup(type)) == NULL) {
		g->nt--;
		return NULL;
	}
	return t;
}

static struct tstat *
type_find(struct gather *g, const char *type)
{
	for (size_t i = 0; i < g->nt; i++)
		if (strcmp(g->t[i].type, type) == 0)
			return &g->t[i];
	return NULL;
}

static void
on_row(const struct store_metrics_row *row, void *ctx)
{
	struct gather *g = ctx;
	struct tstat *t;

	/* Rows come by type: a new type follows the last one. */
	if (g->nt > 0 && strcmp(g->t[g->nt - 1].type, row->type) == 0)
		t = &g->t[g->nt - 1];
	else if ((t = type_add(g, row->type)) == NULL) {
		g->oom = 1;
		return;
	}
	t->jobs[row->state] += row->jobs;
	t->attempts[row->state] += row->attempts;
	t->orphans += row->orphans_reaped;
	for (int k = 0; k < TIMED_N; k++) {
		if (row->state != timed_state[k])
			continue;
		t->timed[k] += row->timed;
		t->ms[k] += row->duration_ms;
		for (int b = 0; b < STORE_METRICS_BUCKETS; b++)
			t->le[k][b] += row->le[b];
	}
}

static struct pstat *
pool_get(struct gather *g, const char *name, int create)
{
	struct pstat *p;

	for (size_t i = 0; i < g->np; i++)
		if (strcmp(g->p[i].name, name) == 0)
			return &g->p[i];
	if (!create || g->np >= POOLS_MAX)
		return NULL;
	if ((p = push((void **)&g->p, &g->np, &g->pcap, sizeof(*p))) == NULL ||
	    (p->name = strdup(name)) == NULL) {
		if (p != NULL)
			g->np--;
		g->oom = 1;
		return NULL;
	}
	p->capacity = -1;
	return p;
}

static void
on_pool(const char *pool, int64_t used, void *ctx)
{
	struct pstat *p = pool_get(ctx, pool, 1);

	if (p != NULL)
		p->used += used;
}

static void
on_pause(enum pause_kind kind, const char *name, int64_t until, const char *reason, void *ctx)
{
	struct gather *g = ctx;
	struct pause *p;

	if (g->npause >= PAUSES_MAX || name == NULL)
		return;
	if ((p = push((void **)&g->pause, &g->npause, &g->pausecap, sizeof(*p))) == NULL ||
	    (p->name = strdup(name)) == NULL) {
		if (p != NULL)
			g->npause--;
		g->oom = 1;
		return;
	}
	p->kind = kind;
}

static int
by_type(const void *a, const void *b)
{
	return strcmp(((const struct tstat *)a)->type, ((const struct tstat *)b)->type);
}

static int
by_pool(const void *a, const void *b)
{
	return strcmp(((const struct pstat *)a)->name, ((const struct pstat *)b)->name);
}

/* The types and pools of the configuration, with nothing counted yet, show as zeros. */
static void
add_configured(struct gather *g, const struct config *cfg)
{
	for (size_t i = 0; i < cfg->ntypes + cfg->ntype_limits && !g->oom; i++) {
		const char *name = i < cfg->ntypes ? cfg->types[i].name
		                                   : cfg->type_limits[i - cfg->ntypes].name;
		if (type_find(g, name) == NULL && g->nt < METRICS_TYPES_MAX &&
		    type_add(g, name) == NULL)
			g->oom = 1;
	}
	for (size_t i = 0; i < cfg->npools && !g->oom; i++) {
		struct pstat *p = pool_get(g, cfg->pools[i].name, 1);
		if (p != NULL)
			p->capacity = cfg->pools[i].value;
	}
}

static void
gather_release(struct gather *g)
{
	for (size_t i = 0; i < g->nt; i++)
		free(g->t[i].type);
	free(g->t);
	for (size_t i = 0; i < g->np; i++)
		free(g->p[i].name);
	free(g->p);
	for (size_t i = 0; i < g->npause; i++)
		free(g->pause[i].name);
	free(g->pause);
}

/* FNV-1a, 32 bits: tells apart label values cut at the same place. */
static uint32_t
fnv1a32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/*
 * A label value: a type or pool name is any text a producer wrote by SQL. It is made printable
 * UTF-8 first (text_escape(): controls and bytes that are not UTF-8 become "\x1b"-like text),
 * cut at LABEL_MAX bytes with "..." and a hash, then escaped for the format (\\ and \").
 */
static void
label_value(FILE *f, const char *s)
{
	char esc[LABEL_MAX + 1];
	size_t len = strlen(s), used, n = text_escape(s, len, esc, sizeof(esc), &used);

	for (size_t i = 0; i < n; i++) {
		if (esc[i] == '\\' || esc[i] == '"')
			fputc('\\', f);
		fputc(esc[i], f);
	}
	if (used < len)
		fprintf(f, "...%08" PRIx32, fnv1a32(s));
}

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{key="value"} (one label) or name{type="...",state="..."}; the value of the sample
 * follows. */
static void
sample1(FILE *f, const char *name, const char *key, const char *value)
{
	fprintf(f, "%s{%s=\"", name, key);
	label_value(f, value);
	fputs("\"} ", f);
}

static void
sample_ts(FILE *f, const char *name, const char *type, enum job_state s, const char *more)
{
	fprintf(f, "%s{type=\"", name);
	label_value(f, type);
	fprintf(f, "\",state=\"%s\"%s} ", job_state_name(s), more != NULL ? more : "");
}

static void
write_jobs(FILE *f, const struct gather *g)
{
	static const int64_t bounds[STORE_METRICS_BUCKETS] = STORE_METRICS_BOUNDS_MS;
	size_t n = g->nt + (size_t)g->has_other;

#define EACH_TYPE(t) for (size_t i_ = 0; i_ < n && ((t) = i_ < g->nt ? &g->t[i_] : &g->other); i_++)
	const struct tstat *t;

	family(f, "jobq_jobs", "gauge", "Jobs in the database, by type and state.");
	EACH_TYPE(t)
	for (int s = 0; s < JOB_NSTATES; s++) {
		sample_ts(f, "jobq_jobs", t->type, s, NULL);
		fprintf(f, "%" PRId64 "\n", t->jobs[s]);
	}
	family(f, "jobq_job_attempts", "gauge",
	       "Attempts made by the jobs in the database (their attempts summed), by type and "
	       "state.");
	EACH_TYPE(t)
	for (int s = 0; s < JOB_NSTATES; s++) {
		sample_ts(f, "jobq_job_attempts", t->type, s, NULL);
		fprintf(f, "%" PRId64 "\n", t->attempts[s]);
	}
	family(f, "jobq_job_orphans_reaped", "gauge",
	       "Processes that the jobs in the database left behind, killed and reaped by their "
	       "worker, by type.");
	EACH_TYPE(t)
	{
		sample1(f, "jobq_job_orphans_reaped", "type", t->type);
		fprintf(f, "%" PRId64 "\n", t->orphans);
	}
	family(f, "jobq_job_duration_seconds", "histogram",
	       "Duration of the last attempt of the succeeded and failed jobs in the database, by "
	       "type and state.");
	EACH_TYPE(t)
	for (int k = 0; k < TIMED_N; k++) {
		char le[48];
		for (int b = 0; b < STORE_METRICS_BUCKETS; b++) {
			snprintf(le, sizeof(le), ",le=\"%g\"", (double)bounds[b] / 1000.0);
			sample_ts(f, "jobq_job_duration_seconds_bucket", t->type, timed_state[k],
			          le);
			fprintf(f, "%" PRId64 "\n", t->le[k][b]);
		}
		sample_ts(f, "jobq_job_duration_seconds_bucket", t->type, timed_state[k],
		          ",le=\"+Inf\"");
		fprintf(f, "%" PRId64 "\n", t->timed[k]);
		sample_ts(f, "jobq_job_duration_seconds_sum", t->type, timed_state[k], NULL);
		fprintf(f, "%.3f\n", t->ms[k] / 1000.0);
		sample_ts(f, "jobq_job_duration_seconds_count", t->type, timed_state[k], NULL);
		fprintf(f, "%" PRId64 "\n", t->timed[k]);
	}
#undef EACH_TYPE
}

static void
write_policy(FILE *f, const struct gather *g, const struct config *cfg)
{
	static const char *const kinds[] = {"all", "type", "resource"};

	family(f, "jobq_pool_capacity", "gauge",
	       "Units of a resource pool (concurrency.resources), by pool.");
	for (size_t i = 0; i < g->np; i++) {
		if (g->p[i].capacity < 0)
			continue;
		sample1(f, "jobq_pool_capacity", "pool", g->p[i].name);
		fprintf(f, "%" PRId64 "\n", g->p[i].capacity);
	}
	family(f, "jobq_pool_used", "gauge", "Units of a pool held by running jobs, by pool.");
	for (size_t i = 0; i < g->np; i++) {
		sample1(f, "jobq_pool_used", "pool", g->p[i].name);
		fprintf(f, "%" PRId64 "\n", g->p[i].used);
	}
	family(f, "jobq_concurrency_global", "gauge",
	       "At most this many jobs run at once (concurrency.global).");
	fprintf(f, "jobq_concurrency_global %d\n", cfg->global);
	family(f, "jobq_concurrency_type", "gauge",
	       "At most this many jobs of a type run at once (concurrency.types), by type.");
	for (size_t i = 0; i < cfg->ntype_limits; i++) {
		sample1(f, "jobq_concurrency_type", "type", cfg->type_limits[i].name);
		fprintf(f, "%d\n", cfg->type_limits[i].value);
	}
	family(f, "jobq_paused", "gauge",
	       "1 for each pause in force (jobq pause, or a quota), by kind (all, type, resource) "
	       "and name.");
	for (size_t i = 0; i < g->npause; i++) {
		fprintf(f, "jobq_paused{kind=\"%s\",name=\"", kinds[g->pause[i].kind]);
		label_value(f, g->pause[i].name);
		fputs("\"} 1\n", f);
	}
}

static void
write_supervisor(FILE *f, const struct runtime_info *ri)
{
	int up = ri != NULL && !ri->stale;

	family(f, "jobq_supervisor_up", "gauge", "1 when a supervisor runs for the database.");
	fprintf(f, "jobq_supervisor_up %d\n", up);
	if (!up)
		return;
	family(f, "jobq_supervisor_start_time_seconds", "gauge",
	       "When the supervisor started, in seconds since the epoch.");
	fprintf(f, "jobq_supervisor_start_time_seconds %.3f\n", (double)ri->started_at / 1000.0);
	family(f, "jobq_workers", "gauge", "Worker processes the supervisor runs for the policy.");
	fprintf(f, "jobq_workers %d\n", ri->workers);
	family(f, "jobq_workers_running", "gauge", "Worker processes alive now.");
	fprintf(f, "jobq_workers_running %d\n", ri->nworker_pids);
	family(f, "jobq_worker_restarts_total", "counter",
	       "Workers restarted after they died, since the supervisor started.");
	fprintf(f, "jobq_worker_restarts_total %" PRId64 "\n", ri->worker_restarts);
	family(f, "jobq_supervisor_orphans_reaped_total", "counter",
	       "Processes left by dead workers' jobs that the supervisor reaped, since it "
	       "started.");
	fprintf(f, "jobq_supervisor_orphans_reaped_total %" PRId64 "\n", ri->orphans_reaped);
}

int
metrics_render(struct store *st, const struct config *cfg, const struct runtime_info *ri,
               char **out, size_t *len, char *err, size_t errlen)
{
	struct gather g;
	int64_t oldest = -1, now = time_now_ms();
	int64_t *used;
	char *text = NULL;
	size_t size = 0;
	FILE *f = NULL;
	int r;

	*out = NULL;
	*len = 0;
	memset(&g, 0, sizeof(g));
	g.other.type = OTHER;
	if ((used = calloc(cfg->npools + 1, sizeof(*used))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* Pool use is counted by the store's one rule (store_pool_usage), as the claim sees it. */
	if ((r = store_read_begin(st)) == 0 && (r = store_metrics_jobs(st, on_row, &g)) == 0 &&
	    (r = store_pool_usage(st, cfg, used)) == 0 &&
	    (r = store_list_pauses(st, now, on_pause, &g)) >= 0) {
		r = 0;
		oldest = store_oldest_queued_age(st, now);
		for (size_t i = 0; i < cfg->npools; i++)
			on_pool(cfg->pools[i].name, used[i], &g);
	}
	store_read_end(st);
	free(used);
	if (r < 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		goto out;
	}
	add_configured(&g, cfg);
	if (g.oom || (f = open_memstream(&text, &size)) == NULL) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (g.nt > 1)
		qsort(g.t, g.nt, sizeof(g.t[0]), by_type);
	if (g.np > 1)
		qsort(g.p, g.np, sizeof(g.p[0]), by_pool);
	write_jobs(f, &g);
	family(f, "jobq_queue_oldest_age_seconds", "gauge",
	       "Age of the oldest queued job that could run now (0 when none).");
	fprintf(f, "jobq_queue_oldest_age_seconds %.3f\n",
	        oldest > 0 ? (double)oldest / 1000.0 : 0.0);
	write_policy(f, &g, cfg);
	write_supervisor(f, ri);
	family(f, "jobq_build_info", "gauge", "The jobq version, as a label.");
	fprintf(f, "jobq_build_info{version=\"%s\"} 1\n", JOBQ_VERSION);
	if (ferror(f) || fclose(f) != 0) {
		f = NULL;
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	f = NULL;
	*out = text;
	*len = size;
	text = NULL;
out:
	if (f != NULL)
		fclose(f);
	free(text);
	gather_release(&g);
	return r;
}
