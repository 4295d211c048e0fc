/*
 * Recovery: the one place that decides a running job is lost and takes it back, for the
 * supervisor (leases and dead workers), `jobq claim` (leases) and `jobq cancel` without a
 * supervisor (dead workers of the jobs it cancels).
 *
 * It runs in two steps so that the write lock is held only for the writes:
 * 1. scan, outside any write transaction: read the running jobs and decide which are lost,
 *    reading /proc for their owners (store_owner_gone);
 * 2. apply, in one write transaction: re-read each of them and take it back only if it is
 *    still the same attempt (same token, same owner) and, when its lease was the reason, the
 *    lease is still expired (a heartbeat in between renewed it). A dead process does not come
 *    back, and a new claim has a new token, so nothing decided in step 1 can be stale in 2.
 * Once the transaction has committed, on_lost is called with each job taken back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "duration.h"
#include "internal.h"
#include "proc.h"

int
store_owner_gone(const struct job *job)
{
	/* An external claimer records no pid: only its lease counts. */
	if (job->worker_pid <= 0)
		return 0;
	return !proc_alive((pid_t)job->worker_pid, (uint64_t)job->worker_start);
}

int
store_job_is_local(const struct job *job, const char *host)
{
	return host == NULL || job->host == NULL || strcmp(job->host, host) == 0;
}

/* Step 1's verdict on one running job. */
static enum job_lost
lost_why(const struct job *job, int what, int64_t now, const char *host)
{
	if ((what & RECOVER_OWNERS) != 0 && store_job_is_local(job, host) &&
	    store_owner_gone(job))
		return JOB_OWNER_GONE;
	if ((what & RECOVER_LEASES) != 0 && job->lease_until > 0 && job->lease_until < now)
		return JOB_LEASE_EXPIRED;
	return JOB_NOT_LOST;
}

struct scan_ctx {
	struct recover_scan *s;
	int what;
	int64_t now;
	const char *host;
	int oom;
};

static int
on_running(const struct job *job, void *arg)
{
	struct scan_ctx *c = arg;
	struct recover_scan *s = c->s;
	enum job_lost why = lost_why(job, c->what, c->now, c->host);

	if (why == JOB_NOT_LOST || job->state != JOB_RUNNING)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap > 0 ? s->cap * 2 : 16;
		struct recover_item *v = reallocarray(s->v, cap, sizeof(*v));

		if (v == NULL) {
			c->oom = 1;
			return 1;
		}
		s->v = v;
		s->cap = cap;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
	s->v[s->n].id = job->id;
	s->v[s->n].token = job->token;
	s->v[s->n].worker_pid = job->worker_pid;
	s->v[s->n].worker_start = job->worker_start;
	s->v[s->n].why = why;
	s->n++;
	return 0;
}

void
recover_scan_release(struct recover_scan *s)
{
	for (size_t i = 0; s != NULL && i < s->n; i++)
		job_release(&s->v[i].job);
	if (s != NULL)
		free(s->v);
}

int
recover_scan(struct store *st, const struct recover_req *req, int64_t now, struct recover_scan *out)
{
	struct scan_ctx c = {.s = out, .what = req->what, .now = now, .host = req->host};
	int r;

	memset(out, 0, sizeof(*out));
	if (req->f != NULL) {
		struct job_filter running = *req->f;

		running.state = JOB_RUNNING;
		running.limit = 0;
		r = store_list(st, &running, on_running, &c);
	} else {
		r = store_list_running(st, on_running, &c);
	}
	if (r >= 0 && c.oom)
		r = store_failx(st, -ENOMEM, "cannot recover jobs in '%s': out of memory",
		                st->path);
	return r < 0 ? r : (int)out->n;
}

/* Take one job back: cancelled if its cancel was requested, failed if it had no attempt left,
 * else queued again at its own run_at, keeping its place in line (the attempt counted). */
static int
take_back(struct store *st, const struct job *j, int64_t now)
{
	static const struct job_outcome lost = {.error = "worker lost"};
	static const struct job_outcome cancelled = {.error = "cancelled"};

	if (j->cancel_requested)
		return finish_row(st, j->id, j->token, JOB_CANCELLED, &cancelled, cancelled.error,
		                  now);
	if (j->attempts >= j->max_attempts)
		return finish_row(st, j->id, j->token, JOB_FAILED, &lost, lost.error, now);
	return requeue_row(st, j->id, j->token, j->attempts, j->run_at, &lost, lost.error);
}

int
recover_apply(struct store *st, int64_t now, struct recover_scan *s)
{
	int count = 0, r;

	if ((r = tx_begin(st, "cannot recover jobs in")) < 0)
		return r;
	for (size_t i = 0; i < s->n && r >= 0; i++) {
		struct recover_item *it = &s->v[i];
		struct job *j = &it->job;

		if ((r = store_get(st, it->id, j)) == -ESRCH) {
			r = 0; /* deleted meanwhile (by SQL) */
			it->why = JOB_NOT_LOST;
			continue;
		}
		if (r < 0)
			break;
		/* The same attempt of the same owner, and still lost for the reason seen. */
		if (j->state != JOB_RUNNING || j->token != it->token ||
		    j->worker_pid != it->worker_pid || j->worker_start != it->worker_start ||
		    (it->why == JOB_LEASE_EXPIRED &&
		     !(j->lease_until > 0 && j->lease_until < now))) {
			it->why = JOB_NOT_LOST;
			continue;
		}
		if ((r = take_back(st, j, now)) >= 0)
			count++;
	}
	if (r >= 0 && count > 0)
		store_wake_others(st);
	if (r >= 0)
		r = tx_commit(st, "cannot recover jobs in");
	if (r < 0) {
		tx_rollback(st);
		return r;
	}
	return count;
}

int
store_recover(struct store *st, const struct recover_req *req)
{
	struct recover_scan s;
	int64_t now = req->now > 0 ? req->now : time_now_ms();
	int r;

	if ((r = recover_scan(st, req, now, &s)) > 0)
		r = recover_apply(st, now, &s);
	/* After the commit: nothing is killed for a job that stays running because the requeue
	 * failed (a full disk), and the caller's kills hold no lock. */
	for (size_t i = 0; r > 0 && req->on_lost != NULL && i < s.n; i++)
		if (s.v[i].why != JOB_NOT_LOST)
			req->on_lost(&s.v[i].job, s.v[i].why, req->ctx);
	recover_scan_release(&s);
	return r;
}
