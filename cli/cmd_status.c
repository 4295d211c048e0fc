/* jobq status: the supervisor, the counts by state and type, the pools, the pauses, the running
 * jobs and the oldest queued job's age. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "cli.h"
#include "duration.h"
#include "output.h"
#include "runtime.h"
#include "store_hosts.h"

enum { OPT_BATCH = CLI_OPT_JSON + 1 };

struct type_counts {
	char *type;
	int64_t counts[JOB_NSTATES];
};

struct pause_entry {
	enum pause_kind kind;
	char *name;
	int64_t until;
	char *reason;
};

struct host_entry {
	char id[72], version[32];
	pid_t pid;
	int workers;
	int64_t running, seen_at, started_at;
};

struct status_ctx {
	struct cli *c;
	const char *batch; /* --batch: NULL for every job */
	int64_t now;
	struct type_counts *types;
	size_t ntypes;
	struct pause_entry *pauses;
	size_t npauses;
	int64_t *pool_used;                       /* per c->cfg.pools */
	struct rate_use *pool_rate, *pool_tokens; /* per c->cfg.pools: their windows */
	cJSON *running;                           /* --json: job objects */
	struct table run_table;
	int64_t blocked;          /* queued jobs waiting for a parent (of every batch) */
	struct host_entry *hosts; /* the hosts table (store_hosts.h) */
	size_t nhosts;
	int oom;
};

/* A host is live when its supervisor's heartbeat is at most STORE_HOST_LOST_MS old. */
static int
host_live(const struct status_ctx *s, int64_t seen_at)
{
	return time_sub(s->now, seen_at) <= STORE_HOST_LOST_MS;
}

static int
on_host(const struct store_host *h, void *arg)
{
	struct status_ctx *s = arg;
	struct host_entry *n, *e;

	if ((n = reallocarray(s->hosts, s->nhosts + 1, sizeof(*n))) == NULL)
		return -ENOMEM;
	s->hosts = n;
	e = &s->hosts[s->nhosts++];
	memset(e, 0, sizeof(*e));
	strlcpy(e->id, h->id, sizeof(e->id));
	strlcpy(e->version, h->version != NULL ? h->version : "", sizeof(e->version));
	e->pid = h->pid;
	e->workers = h->workers;
	e->running = h->running;
	e->seen_at = h->seen_at;
	e->started_at = h->started_at;
	return 0;
}

static cJSON *
hosts_json(const struct status_ctx *s)
{
	cJSON *a = cJSON_CreateArray();
	int r = 0;

	for (size_t i = 0; a != NULL && r == 0 && i < s->nhosts; i++) {
		const struct host_entry *e = &s->hosts[i];
		cJSON *o = cJSON_CreateObject();

		if (o == NULL || !cJSON_AddItemToArray(a, o)) {
			cJSON_Delete(o);
			r = -ENOMEM;
			break;
		}
		r |= json_add_string_or_null(o, "id", e->id);
		r |= json_add_int(o, "pid", e->pid);
		r |= json_add_int(o, "workers", e->workers);
		r |= json_add_int(o, "running", e->running);
		r |= json_add_time(o, "seen_at", e->seen_at);
		r |= json_add_time(o, "started_at", e->started_at);
		r |= cJSON_AddBoolToObject(o, "live", host_live(s, e->seen_at)) != NULL ? 0
		                                                                        : -ENOMEM;
		r |= json_add_string_or_null(o, "version",
		                             e->version[0] != '\0' ? e->version : NULL);
	}
	if (r != 0) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

/* One line per host: "host: ID, pid N, W workers, R running, seen AGE ago", or for one whose
 * heartbeat stopped "..., lost: last seen AGE ago". */
static void
print_hosts(const struct status_ctx *s)
{
	for (size_t i = 0; i < s->nhosts; i++) {
		const struct host_entry *e = &s->hosts[i];
		char age[32];

		format_age(time_sub(s->now, e->seen_at), age, sizeof(age));
		printf("host: %s, pid %ld, %d worker%s, %" PRId64 " running, %s%s ago\n", e->id,
		       (long)e->pid, e->workers, e->workers == 1 ? "" : "s", e->running,
		       host_live(s, e->seen_at) ? "seen " : "lost: last seen ", age);
	}
}

static void
on_type(const char *type, const int64_t counts[JOB_NSTATES], void *arg)
{
	struct status_ctx *s = arg;
	struct type_counts *n;

	if ((n = reallocarray(s->types, s->ntypes + 1, sizeof(*n))) == NULL) {
		s->oom = 1;
		return;
	}
	s->types = n;
	if ((n[s->ntypes].type = strdup(type)) == NULL) {
		s->oom = 1;
		return;
	}
	memcpy(n[s->ntypes].counts, counts, sizeof(n[s->ntypes].counts));
	s->ntypes++;
}

static void
on_pause(enum pause_kind kind, const char *name, int64_t until, const char *reason, void *arg)
{
	struct status_ctx *s = arg;
	struct pause_entry *n;

	if ((n = reallocarray(s->pauses, s->npauses + 1, sizeof(*n))) == NULL) {
		s->oom = 1;
		return;
	}
	s->pauses = n;
	n += s->npauses;
	n->kind = kind;
	n->until = until;
	n->name = strdup(name != NULL ? name : "");
	n->reason = reason != NULL ? strdup(reason) : NULL;
	if (n->name == NULL || (reason != NULL && n->reason == NULL)) {
		free(n->name);
		free(n->reason);
		s->oom = 1;
		return;
	}
	s->npauses++;
}

static int
on_running(const struct job *j, void *arg)
{
	struct status_ctx *s = arg;

	if (s->batch != NULL && (j->batch == NULL || strcmp(j->batch, s->batch) != 0))
		return 0;
	if (s->c->json) {
		cJSON *o = job_to_json(j);

		if (o == NULL || !cJSON_AddItemToArray(s->running, o)) {
			cJSON_Delete(o);
			s->oom = 1;
		}
	} else {
		char id[24], att[48], pid[24], elapsed[32], lease[40], ns[80];
		const char *row[] = {id, j->type, ns, att, pid, elapsed, lease};

		snprintf(id, sizeof(id), "%" PRId64, j->id);
		snprintf(att, sizeof(att), "%" PRId64 "/%" PRId64, j->attempts, j->max_attempts);
		if (j->worker_pid > 0)
			snprintf(pid, sizeof(pid), "%" PRId64, j->worker_pid);
		else
			strlcpy(pid, "external", sizeof(pid));
		format_age(time_sub(s->now, j->started_at), elapsed, sizeof(elapsed));
		if (j->lease_until == 0) {
			strlcpy(lease, "-", sizeof(lease));
		} else if (j->lease_until >= s->now) {
			strlcpy(lease, "in ", sizeof(lease));
			format_age(time_sub(j->lease_until, s->now), lease + 3, sizeof(lease) - 3);
		} else {
			format_age(time_sub(s->now, j->lease_until), lease, sizeof(lease));
			strlcat(lease, " ago (expired)", sizeof(lease));
		}
		if (j->cancel_requested)
			strlcat(lease, ", cancelling", sizeof(lease));
		text_summary(j->namespace, 32, ns, sizeof(ns));
		if (table_add(&s->run_table, row) < 0)
			s->oom = 1;
	}
	return 0;
}

static const char *
pause_kind_name(enum pause_kind k)
{
	return k == PAUSE_ALL ? "all" : k == PAUSE_TYPE ? "type" : "resource";
}

/* When pool `tag` is paused: its until (0: until resumed), or -1 when it is not paused. */
static int64_t
pool_paused_until(const struct status_ctx *s, const char *tag)
{
	for (size_t i = 0; i < s->npauses; i++) {
		if (s->pauses[i].kind == PAUSE_RESOURCE && strcmp(s->pauses[i].name, tag) == 0)
			return s->pauses[i].until;
	}
	return -1;
}

static cJSON *
counts_json(const int64_t counts[JOB_NSTATES])
{
	cJSON *o = cJSON_CreateObject();

	for (int i = 0; o != NULL && i < JOB_NSTATES; i++) {
		if (json_add_int(o, job_state_name((enum job_state)i), counts[i]) < 0) {
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

static int
add_item(cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL)
		return -ENOMEM;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	return 0;
}

/* Type i has queued jobs that no handler of the configuration runs: a supervisor of this
 * configuration never runs them (external workers, or a type misspelt through SQL). */
static int
unhandled_queued(const struct status_ctx *s, size_t i)
{
	return s->types[i].counts[JOB_QUEUED] > 0 &&
	       !config_type_handled(&s->c->cfg, s->types[i].type);
}

static cJSON *
supervisor_json(int have_rt, const struct runtime_info *ri)
{
	cJSON *o = cJSON_CreateObject();
	int r = 0;

	if (o == NULL)
		return NULL;
	r |= cJSON_AddBoolToObject(o, "running", have_rt && !ri->stale) != NULL ? 0 : -ENOMEM;
	if (have_rt)
		r |= json_add_int(o, "pid", ri->pid);
	else
		r |= cJSON_AddNullToObject(o, "pid") != NULL ? 0 : -ENOMEM;
	r |= cJSON_AddBoolToObject(o, "stale", have_rt && ri->stale) != NULL ? 0 : -ENOMEM;
	r |= json_add_time(o, "started_at", have_rt ? ri->started_at : 0);
	r |= json_add_int(o, "workers", have_rt && !ri->stale ? ri->workers : 0);
	r |= json_add_string_or_null(
	        o, "workers_note",
	        have_rt && !ri->stale && ri->workers_note[0] != '\0' ? ri->workers_note : NULL);
	cJSON *pids = cJSON_AddArrayToObject(o, "worker_pids");
	r |= pids != NULL ? 0 : -ENOMEM;
	for (int i = 0; pids != NULL && have_rt && !ri->stale && i < ri->nworker_pids; i++) {
		cJSON *n = cJSON_CreateNumber(ri->worker_pids[i]);
		if (n == NULL || !cJSON_AddItemToArray(pids, n)) {
			cJSON_Delete(n);
			r = -ENOMEM;
		}
	}
	if (r != 0) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static void print_until(int64_t until, int64_t now, char *buf, size_t len);

/* "rate" / "tokens" of pool i: {"limit", "window", "used", "frees_at"}, or null. */
static int
add_window(cJSON *pool, const char *key, const struct rate *limits, size_t i,
           const struct rate_use *use)
{
	cJSON *w;
	char d[32];
	int r = 0;

	if (limits == NULL || limits[i].limit == 0)
		return cJSON_AddNullToObject(pool, key) != NULL ? 0 : -ENOMEM;
	if ((r = add_item(pool, key, w = cJSON_CreateObject())) != 0)
		return r;
	duration_format(limits[i].window_ms, d, sizeof(d));
	r |= json_add_int(w, "limit", limits[i].limit);
	r |= cJSON_AddStringToObject(w, "window", d) != NULL ? 0 : -ENOMEM;
	r |= json_add_int(w, "used", use->used);
	r |= json_add_time(w, "frees_at", use->frees_at);
	return r;
}

/* Read the rate and token windows of every pool that has one. */
static int
load_windows(struct status_ctx *s)
{
	const struct config *cfg = &s->c->cfg;
	int r;

	for (size_t i = 0; i < cfg->npools; i++) {
		if ((r = store_rate_use(s->c->st, cfg, i, RATE_STARTS, s->now, &s->pool_rate[i])) <
		            0 ||
		    (r = store_rate_use(s->c->st, cfg, i, RATE_TOKENS, s->now,
		                        &s->pool_tokens[i])) < 0)
			return r;
	}
	return 0;
}

/* The table of the pools' rate and token windows, when any pool has one. */
static int
print_windows(const struct status_ctx *s)
{
	static const char *const hdr[] = {"POOL", "LIMIT", "USED", "PER", "FREES"};
	static const enum col_align al[] = {COL_LEFT, COL_LEFT, COL_RIGHT, COL_RIGHT, COL_LEFT};
	const struct config *cfg = &s->c->cfg;
	struct table t;
	int r;

	if (cfg->pool_rates == NULL && cfg->pool_tokens == NULL)
		return 0;
	table_init(&t, 5, hdr, al);
	for (size_t i = 0; i < cfg->npools; i++) {
		for (int k = 0; k < 2; k++) {
			const struct rate *lim = k == 0 ? cfg->pool_rates : cfg->pool_tokens;
			const struct rate_use *use = k == 0 ? &s->pool_rate[i] : &s->pool_tokens[i];
			char used[48], per[32], frees[96];
			const char *row[] = {cfg->pools[i].name, k == 0 ? "rate" : "tokens", used,
			                     per, frees};

			if (lim == NULL || lim[i].limit == 0)
				continue;
			snprintf(used, sizeof(used), "%" PRId64 "/%" PRId64, use->used,
			         lim[i].limit);
			duration_format(lim[i].window_ms, per, sizeof(per));
			if (use->frees_at > 0)
				print_until(use->frees_at, s->now, frees, sizeof(frees));
			else
				strlcpy(frees, "-", sizeof(frees));
			table_add(&t, row);
		}
	}
	putchar('\n');
	r = table_print(&t, stdout);
	table_release(&t);
	return r;
}

static int
status_json(struct status_ctx *s, int have_rt, const struct runtime_info *ri,
            const int64_t counts[JOB_NSTATES], int64_t oldest)
{
	const struct config *cfg = &s->c->cfg;
	cJSON *root = cJSON_CreateObject(), *types = NULL, *res = NULL, *paused = NULL;
	cJSON *unhandled = NULL;
	int r = 0;

	if (root == NULL)
		return -ENOMEM;
	r |= add_item(root, "supervisor", supervisor_json(have_rt, ri));
	r |= add_item(root, "hosts", hosts_json(s));
	if (s->batch != NULL)
		r |= json_add_string_or_null(root, "batch", s->batch);
	r |= add_item(root, "counts", counts_json(counts));
	r |= json_add_int(root, "blocked", s->blocked);
	r |= add_item(root, "types", types = cJSON_CreateObject());
	for (size_t i = 0; r == 0 && i < s->ntypes; i++)
		r |= add_item(types, s->types[i].type, counts_json(s->types[i].counts));
	r |= add_item(root, "unhandled", unhandled = cJSON_CreateObject());
	for (size_t i = 0; r == 0 && i < s->ntypes; i++) {
		if (unhandled_queued(s, i))
			r |= json_add_int(unhandled, s->types[i].type,
			                  s->types[i].counts[JOB_QUEUED]);
	}
	r |= add_item(root, "resources", res = cJSON_CreateObject());
	for (size_t i = 0; r == 0 && i < cfg->npools; i++) {
		cJSON *p = cJSON_CreateObject();
		int64_t until = pool_paused_until(s, cfg->pools[i].name);

		if ((r |= add_item(res, cfg->pools[i].name, p)) != 0)
			break;
		r |= json_add_int(p, "capacity", cfg->pools[i].value);
		r |= json_add_int(p, "used", s->pool_used[i]);
		r |= cJSON_AddBoolToObject(p, "paused", until >= 0) != NULL ? 0 : -ENOMEM;
		r |= json_add_time(p, "paused_until", until > 0 ? until : 0);
		r |= add_window(p, "rate", cfg->pool_rates, i, &s->pool_rate[i]);
		r |= add_window(p, "tokens", cfg->pool_tokens, i, &s->pool_tokens[i]);
	}
	r |= add_item(root, "paused", paused = cJSON_CreateArray());
	for (size_t i = 0; r == 0 && i < s->npauses; i++) {
		cJSON *p = cJSON_CreateObject();

		if (p == NULL || !cJSON_AddItemToArray(paused, p)) {
			cJSON_Delete(p);
			r = -ENOMEM;
			break;
		}
		r |= cJSON_AddStringToObject(p, "kind", pause_kind_name(s->pauses[i].kind)) != NULL
		             ? 0
		             : -ENOMEM;
		r |= json_add_string_or_null(
		        p, "name", s->pauses[i].kind == PAUSE_ALL ? NULL : s->pauses[i].name);
		r |= json_add_time(p, "until", s->pauses[i].until);
		r |= json_add_string_or_null(p, "reason", s->pauses[i].reason);
	}
	if (r == 0) {
		r |= add_item(root, "running", s->running);
		s->running = NULL;
	}
	if (oldest >= 0)
		r |= json_add_int(root, "oldest_queued_age_s", oldest / 1000);
	else
		r |= cJSON_AddNullToObject(root, "oldest_queued_age_s") != NULL ? 0 : -ENOMEM;
	if (r == 0)
		r = json_print(root);
	cJSON_Delete(root);
	return r;
}

static void
print_supervisor(const struct status_ctx *s, int have_rt, const struct runtime_info *ri)
{
	char up[32];

	if (!have_rt) {
		printf("supervisor: not running\n");
	} else if (ri->stale) {
		printf("supervisor: not running (stale runtime file: pid %ld is gone)\n",
		       (long)ri->pid);
	} else {
		format_age(time_sub(s->now, ri->started_at), up, sizeof(up));
		printf("supervisor: running, pid %ld, %d worker%s%s%s%s, up %s\n", (long)ri->pid,
		       ri->workers, ri->workers == 1 ? "" : "s",
		       ri->workers_note[0] != '\0' ? " (" : "", ri->workers_note,
		       ri->workers_note[0] != '\0' ? ")" : "", up);
		if (ri->nworker_pids > 0) {
			printf("workers:");
			for (int i = 0; i < ri->nworker_pids; i++)
				printf(" %ld", (long)ri->worker_pids[i]);
			printf(" (the RUNNING table shows the job of each busy one)\n");
		}
	}
}

static void
print_until(int64_t until, int64_t now, char *buf, size_t len)
{
	char t[40], in[32];

	if (until == 0) {
		strlcpy(buf, "until resumed", len);
		return;
	}
	time_format_rfc3339(until, t, sizeof(t));
	format_age(time_sub(until, now), in, sizeof(in));
	snprintf(buf, len, "%s (in %s)", t, in);
}

static int
status_human(struct status_ctx *s, int have_rt, const struct runtime_info *ri,
             const int64_t counts[JOB_NSTATES], int64_t oldest)
{
	static const char *const type_hdr[] = {"TYPE",      "QUEUED", "RUNNING",
	                                       "SUCCEEDED", "FAILED", "CANCELLED"};
	static const enum col_align type_al[] = {COL_LEFT,  COL_RIGHT, COL_RIGHT,
	                                         COL_RIGHT, COL_RIGHT, COL_RIGHT};
	static const char *const pool_hdr[] = {"POOL", "USED", "CAPACITY", "PAUSED UNTIL"};
	static const enum col_align pool_al[] = {COL_LEFT, COL_RIGHT, COL_RIGHT, COL_LEFT};
	static const char *const pause_hdr[] = {"PAUSED", "NAME", "UNTIL", "REASON"};
	const struct config *cfg = &s->c->cfg;
	struct table t;
	char age[32];
	int r = 0;

	print_supervisor(s, have_rt, ri);
	print_hosts(s);
	if (s->batch != NULL) {
		char name[160];

		text_summary(s->batch, 120, name, sizeof(name));
		printf("batch: %s\n", name);
	}
	printf("jobs: %" PRId64 " queued, %" PRId64 " running, %" PRId64 " succeeded, %" PRId64
	       " failed, %" PRId64 " cancelled\n",
	       counts[JOB_QUEUED], counts[JOB_RUNNING], counts[JOB_SUCCEEDED], counts[JOB_FAILED],
	       counts[JOB_CANCELLED]);
	if (s->blocked > 0)
		printf("blocked: %" PRId64 " queued job%s wait%s for a parent (--after)\n",
		       s->blocked, s->blocked == 1 ? "" : "s", s->blocked == 1 ? "s" : "");
	if (oldest >= 0) {
		format_age(oldest, age, sizeof(age));
		printf("oldest queued: %s\n", age);
	}
	cli_print_next_tick(s->c, s->now);
	if (s->ntypes > 0) {
		table_init(&t, 6, type_hdr, type_al);
		for (size_t i = 0; i < s->ntypes; i++) {
			char n[JOB_NSTATES][24];
			const char *row[] = {s->types[i].type, n[0], n[1], n[2], n[3], n[4]};

			for (int k = 0; k < JOB_NSTATES; k++)
				snprintf(n[k], sizeof(n[k]), "%" PRId64, s->types[i].counts[k]);
			table_add(&t, row);
		}
		putchar('\n');
		r |= table_print(&t, stdout);
		table_release(&t);
		size_t n = 0;
		for (size_t i = 0; i < s->ntypes; i++) {
			char shown[NAME_SHOWN_SIZE];

			if (unhandled_queued(s, i))
				printf("%s%s",
				       n++ == 0 ? "no handler in this configuration: " : ", ",
				       name_shown(s->types[i].type, shown, sizeof(shown)));
		}
		if (n > 0)
			printf(" (external workers: jobq claim --type TYPE)\n");
	}
	if (cfg->npools > 0) {
		table_init(&t, 4, pool_hdr, pool_al);
		for (size_t i = 0; i < cfg->npools; i++) {
			char used[24], cap[24], until[96];
			const char *row[] = {cfg->pools[i].name, used, cap, until};
			int64_t u = pool_paused_until(s, cfg->pools[i].name);

			snprintf(used, sizeof(used), "%" PRId64, s->pool_used[i]);
			snprintf(cap, sizeof(cap), "%d", cfg->pools[i].value);
			if (u < 0)
				strlcpy(until, "-", sizeof(until));
			else
				print_until(u, s->now, until, sizeof(until));
			table_add(&t, row);
		}
		putchar('\n');
		r |= table_print(&t, stdout);
		table_release(&t);
		r |= print_windows(s);
	}
	if (s->npauses > 0) {
		table_init(&t, 4, pause_hdr, NULL);
		for (size_t i = 0; i < s->npauses; i++) {
			char until[96], reason[80], name[80];
			const char *row[] = {pause_kind_name(s->pauses[i].kind), name, until,
			                     reason};

			text_summary(s->pauses[i].kind == PAUSE_ALL ? "-" : s->pauses[i].name, 40,
			             name, sizeof(name));
			print_until(s->pauses[i].until, s->now, until, sizeof(until));
			text_summary(s->pauses[i].reason != NULL ? s->pauses[i].reason : "-", 60,
			             reason, sizeof(reason));
			table_add(&t, row);
		}
		putchar('\n');
		r |= table_print(&t, stdout);
		table_release(&t);
	}
	if (s->run_table.nrows > 0) {
		putchar('\n');
		r |= table_print(&s->run_table, stdout);
	}
	return r;
}

int
cmd_status(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"batch", required_argument, NULL, 'b'}, CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
	static const char *const run_hdr[] = {"RUNNING", "TYPE",    "NAMESPACE", "ATTEMPT",
	                                      "WORKER",  "ELAPSED", "LEASE"};
	static const enum col_align run_al[] = {COL_RIGHT, COL_LEFT,  COL_LEFT, COL_RIGHT,
	                                        COL_RIGHT, COL_RIGHT, COL_LEFT};
	struct status_ctx s;
	struct runtime_info ri;
	struct job_filter all;
	int64_t counts[JOB_NSTATES], oldest, total = 0;
	const char *batch = NULL;
	int ch, r, have_rt, code = 0;

	while ((ch = cli_getopt(c, argc, argv, ":hqvb:", opts, NULL)) != -1) {
		if (ch != 'b')
			return cli_getopt_exit(ch);
		batch = optarg;
	}
	if (optind < argc)
		return cli_usage_fail("status", "status: unexpected argument '%s'",
		                      CLI_SHOWN(argv[optind]));
	if ((code = cli_load_config(c)) != 0 || (code = cli_open_store(c, 1)) != 0)
		return code;

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.batch = batch;
	s.now = time_now_ms();
	table_init(&s.run_table, 7, run_hdr, run_al);
	memset(&all, 0, sizeof(all));
	all.state = -1;
	all.batch = batch;
	memset(&ri, 0, sizeof(ri));
	have_rt = cli_runtime_read(c, &ri);
	if ((s.pool_used = calloc(c->cfg.npools + 1, sizeof(*s.pool_used))) == NULL ||
	    (s.pool_rate = calloc(c->cfg.npools + 1, sizeof(*s.pool_rate))) == NULL ||
	    (s.pool_tokens = calloc(c->cfg.npools + 1, sizeof(*s.pool_tokens))) == NULL ||
	    (c->json && (s.running = cJSON_CreateArray()) == NULL)) {
		code = cli_fail(EX_OSERR, "out of memory");
		goto out;
	}
	if ((r = store_count(c->st, &all, counts)) < 0 ||
	    (r = store_count_by_type_batch(c->st, batch, on_type, &s)) < 0 ||
	    (r = store_list_pauses(c->st, s.now, on_pause, &s)) < 0 ||
	    (r = store_list_running(c->st, on_running, &s)) < 0 ||
	    (r = store_pool_usage(c->st, &c->cfg, s.pool_used)) < 0 || /* pools are global */
	    (r = load_windows(&s)) < 0 || (r = store_hosts_list(c->st, on_host, &s)) < 0) {
		code = cli_store_fail(c, r, "cannot read the status");
		goto out;
	}
	for (int i = 0; i < JOB_NSTATES; i++)
		total += counts[i];
	if (batch != NULL && total == 0) {
		code = cli_fail(1, "batch '%s': no jobs", CLI_SHOWN(batch));
		goto out;
	}
	oldest = store_oldest_queued_age_batch(c->st, batch, s.now);
	if ((s.blocked = store_count_blocked(c->st)) < 0) {
		code = cli_store_fail(c, (int)s.blocked, "cannot read the status");
		goto out;
	}
	if (s.oom) {
		code = cli_fail(EX_OSERR, "out of memory");
		goto out;
	}
	if (c->json)
		r = status_json(&s, have_rt, &ri, counts, oldest);
	else
		r = status_human(&s, have_rt, &ri, counts, oldest);
	if (r < 0)
		code = cli_fail(EX_OSERR, "out of memory");
out:
	for (size_t i = 0; i < s.ntypes; i++)
		free(s.types[i].type);
	free(s.types);
	for (size_t i = 0; i < s.npauses; i++) {
		free(s.pauses[i].name);
		free(s.pauses[i].reason);
	}
	free(s.pauses);
	free(s.pool_used);
	free(s.pool_rate);
	free(s.pool_tokens);
	cJSON_Delete(s.running);
	free(s.hosts);
	table_release(&s.run_table);
	return code;
}
