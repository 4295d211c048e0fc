/*
 * The http handler: one libcurl request per job through the multi interface, whose sockets and
 * timer join the worker's poll() loop, so a cancel or a shutdown aborts a request in flight at
 * once. One easy and one multi handle live for the whole worker process (curl_global_init once,
 * on the first http job; workers are exec'd fresh, so nothing of curl crosses a fork), which
 * keeps connections alive from one job to the next.
 *
 * 2xx: succeeded, the body (up to output_max) is the result. 408, 429, 5xx, connection errors
 * and timeouts: a failed attempt, retried, honouring Retry-After (seconds or an HTTP date)
 * within the type's backoff max; a 429 with Retry-After also pauses the job's pools until then
 * (handler_quota). Any other status: failed at once (no_retry). The status is kept as exit_code,
 * the start of an error body in error. Header values expanded from ${ENV} are secrets, resolved
 * here only (never by producers or operators): they are masked in whatever is kept of the
 * response, in their encoded forms too (mask.h), and never logged.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "buf.h"
#include "curl_dl.h"
#include "duration.h"
#include "handler_impl.h"
#include "http_impl.h"
#include "joblog.h"
#include "mask.h"

#define POLL_OVERFLOW_MS 10 /* more sockets than poll slots: look again soon */

/* One curl socket the multi handle wants watched (CURLMOPT_SOCKETFUNCTION). */
struct sock {
	curl_socket_t fd;
	int what; /* CURL_POLL_IN, _OUT, _INOUT */
};

/* What lives as long as the worker process: the handles, the sockets, the timer. */
static struct {
	int init; /* curl_global_init done, handles made */
	CURLM *multi;
	CURL *easy;
	struct sock *socks;
	size_t nsocks, capsocks;
	int64_t timer_at; /* monotonic ms when curl wants CURL_SOCKET_TIMEOUT; 0 none */
	int busy;         /* a job's transfer holds the easy handle */
} g;

/* ---- process-wide curl state ---- */

static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	size_t i;

	for (i = 0; i < g.nsocks && g.socks[i].fd != fd; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < g.nsocks)
			g.socks[i] = g.socks[--g.nsocks];
		return 0;
	}
	if (i == g.nsocks) {
		if (g.nsocks == g.capsocks) {
			size_t cap = g.capsocks > 0 ? g.capsocks * 2 : 4;
			struct sock *n = reallocarray(g.socks, cap, sizeof(*n));

			if (n == NULL)
				return -1;
			g.socks = n;
			g.capsocks = cap;
		}
		g.socks[g.nsocks++].fd = fd;
	}
	g.socks[i].what = what;
	return 0;
}

static int
on_timer(CURLM *multi, long ms, void *userp)
{
	int64_t now = time_mono_ms();

	/* 0 means "act now": keep it distinct from "no timer" (0) with a time in the past. */
	g.timer_at = ms < 0 ? 0 : (ms == 0 ? (now > 1 ? now - 1 : 1) : now + ms);
	return 0;
}

/* Every socket curl opens is close-on-exec: an exec handler of a later job must not inherit
 * a kept-alive connection. */
static curl_socket_t
on_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void
global_free(void)
{
	if (!g.init)
		return;
	if (g.busy)
		curl_multi_remove_handle(g.multi, g.easy);
	curl_easy_cleanup(g.easy);
	curl_multi_cleanup(g.multi);
	curl_global_cleanup();
	free(g.socks);
	memset(&g, 0, sizeof(g));
}

static int
global_init(char *err, size_t errlen)
{
	CURLMcode mc;

	if (g.init)
		return 0;
	if (curl_dl_load(err, errlen) < 0)
		return -ENOENT;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "http: cannot initialise libcurl");
		return -ENOMEM;
	}
	g.multi = curl_multi_init();
	g.easy = curl_easy_init();
	if (g.multi == NULL || g.easy == NULL) {
		snprintf(err, errlen, "http: cannot initialise libcurl");
		goto fail;
	}
	if ((mc = curl_multi_setopt(g.multi, CURLMOPT_SOCKETFUNCTION, on_socket)) != CURLM_OK ||
	    (mc = curl_multi_setopt(g.multi, CURLMOPT_TIMERFUNCTION, on_timer)) != CURLM_OK) {
		snprintf(err, errlen, "http: cannot set up libcurl: %s", curl_multi_strerror(mc));
		goto fail;
	}
	g.init = 1;
	atexit(global_free);
	return 0;
fail:
	curl_easy_cleanup(g.easy);
	curl_multi_cleanup(g.multi);
	curl_global_cleanup();
	memset(&g, 0, sizeof(g));
	return -ENOMEM;
}

/* ---- the transfer ---- */

#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		if ((rc = curl_easy_setopt(e, opt, val)) != CURLE_OK) {                            \
			snprintf(err, errlen, "http: cannot set %s: %s", #opt,                     \
			         curl_easy_strerror(rc));                                          \
			return rc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;                      \
		}                                                                                  \
	} while (0)

static int
set_options(struct http *x, const struct http_spec *spec, const char *m, char *err, size_t errlen)
{
	CURL *e = g.easy;
	CURLcode rc;

	curl_easy_reset(e);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(CURLOPT_URL, x->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (spec->ca_bundle != NULL)
		SETOPT(CURLOPT_CAINFO, spec->ca_bundle);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)spec->connect_timeout_ms);
	SETOPT(CURLOPT_TIMEOUT_MS, (long)x->timeout_ms);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
	SETOPT(CURLOPT_USERAGENT, "jobq/" JOBQ_VERSION);
	SETOPT(CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(CURLOPT_HTTPHEADER, x->headers);
	SETOPT(CURLOPT_WRITEFUNCTION, http_on_body);
	SETOPT(CURLOPT_WRITEDATA, x);
	SETOPT(CURLOPT_HEADERFUNCTION, http_on_header);
	SETOPT(CURLOPT_HEADERDATA, x);
	if (strcmp(m, "GET") == 0) {
		SETOPT(CURLOPT_HTTPGET, 1L);
	} else if (strcmp(m, "HEAD") == 0) {
		SETOPT(CURLOPT_NOBODY, 1L);
	} else {
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
		SETOPT(CURLOPT_POSTFIELDS, x->body);
		if (strcmp(m, "POST") != 0)
			SETOPT(CURLOPT_CUSTOMREQUEST, m);
	}
	return 0;
}

static void
detach(struct http *x)
{
	if (x->active) {
		curl_multi_remove_handle(g.multi, g.easy);
		x->active = 0;
		g.busy = 0;
	}
}

static struct pollfd
sock_pollfd(const struct sock *s)
{
	short events = 0;

	if (s->what & CURL_POLL_IN)
		events |= POLLIN;
	if (s->what & CURL_POLL_OUT)
		events |= POLLOUT;
	return (struct pollfd){.fd = s->fd, .events = events};
}

static int
h_pollfds(struct handler *h, struct pollfd *fds, int max, int *timeout_ms)
{
	struct http *x = (struct http *)h;
	int n = 0;

	if (!x->active)
		return 0;
	for (size_t i = 0; i < g.nsocks; i++) {
		if (n == max) {
			handler_deadline(time_mono_ms() + POLL_OVERFLOW_MS, timeout_ms);
			break;
		}
		fds[n++] = sock_pollfd(&g.socks[i]);
	}
	handler_deadline(g.timer_at, timeout_ms);
	return n;
}

static int
h_step(struct handler *h, int64_t now)
{
	struct http *x = (struct http *)h;
	struct pollfd fds[16];
	int running = 0, n = 0, left;
	CURLMsg *msg;

	if (!x->active)
		return h->done;
	/* The worker polled our sockets but keeps the revents: ask again without waiting. */
	for (size_t i = 0; i < g.nsocks && n < (int)(sizeof(fds) / sizeof(fds[0])); i++)
		fds[n++] = sock_pollfd(&g.socks[i]);
	if (n > 0 && poll(fds, (nfds_t)n, 0) > 0) {
		for (int i = 0; i < n; i++) {
			int ev = 0;

			if (fds[i].revents == 0)
				continue;
			if (fds[i].revents & (POLLIN | POLLHUP | POLLPRI))
				ev |= CURL_CSELECT_IN;
			if (fds[i].revents & POLLOUT)
				ev |= CURL_CSELECT_OUT;
			if (fds[i].revents & (POLLERR | POLLNVAL))
				ev |= CURL_CSELECT_ERR;
			curl_multi_socket_action(g.multi, fds[i].fd, ev, &running);
		}
	}
	if (g.timer_at > 0 && time_mono_ms() >= g.timer_at) {
		g.timer_at = 0;
		curl_multi_socket_action(g.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	while ((msg = curl_multi_info_read(g.multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE || msg->easy_handle != g.easy)
			continue;
		http_complete(x, g.easy, msg->data.result);
		http_save_logs(x);
		detach(x);
		return h->done = 1;
	}
	return 0;
}

static void
h_stop(struct handler *h, int cancel, int64_t grace_ms)
{
	struct http *x = (struct http *)h;

	detach(x); /* aborts the transfer; its connection is closed */
	h->outcome.cancelled = cancel;
	h->outcome.temporary = !cancel;
	h->outcome.error = cancel ? "cancelled" : "interrupted by shutdown";
	h->done = 1;
}

static void
h_free(struct handler *h)
{
	struct http *x = (struct http *)h;

	detach(x);
	if (g.init)
		curl_easy_reset(g.easy); /* drop the pointers into x; connections are kept */
	http_free_headers(x->headers);
	mask_release(&x->mask);
	free(x->url);
	free(x->body);
	buf_release(&x->resp);
	free(x->errtext);
	joblog_close(&x->log[0]);
	joblog_close(&x->log[1]);
	if (x->log_dir >= 0)
		close(x->log_dir);
	free(x->tokens_path);
	free(x);
}

static const struct handler_ops http_ops = {
        .pollfds = h_pollfds,
        .step = h_step,
        .stop = h_stop,
        .free = h_free,
};

int
http_start(const struct handler_env *env, struct handler **out, char *err, size_t errlen)
{
	const struct http_spec *spec = &env->type->http;
	const char *m = spec->method != NULL ? spec->method : "POST";
	cJSON *payload = NULL;
	struct http *x = NULL;
	CURLMcode mc;
	int r;

	/* The supervisor checked them at start: a worker whose environment lacks a secret fails
	 * the attempt (-ENOKEY: retried, the operator can fix it) and sends nothing. */
	if ((r = config_type_check_env(env->type, err, errlen)) < 0)
		return r;
	if ((r = global_init(err, errlen)) < 0)
		return r;
	if (g.busy) {
		snprintf(err, errlen, "http: another request of this worker is in flight");
		return -EBUSY;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	x->h.ops = &http_ops;
	x->log_dir = -1;
	joblog_init(&x->log[0]);
	joblog_init(&x->log[1]);
	x->job_id = env->job->id;
	x->backoff_max_ms = env->type->backoff_max_ms;
	x->resp_max = env->cfg->output_max;
	x->resp.max = x->resp_max + 1;
	x->err_max = env->cfg->stderr_max;
	x->timeout_ms = env->job->timeout_ms > 0 ? env->job->timeout_ms : env->type->timeout_ms;
	if (spec->tokens_path != NULL && (x->tokens_path = strdup(spec->tokens_path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto fail;
	}
	payload =
	        cJSON_ParseWithOpts(env->job->payload != NULL ? env->job->payload : "{}", NULL, 1);
	if ((r = http_expand(spec->url, env->job, payload, 1, "url", &x->url, err, errlen)) < 0)
		goto fail;
	if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 &&
	    (r = http_build_body(x, spec, env->job, payload, err, errlen)) < 0)
		goto fail;
	if ((r = http_build_headers(x, spec, err, errlen)) < 0 ||
	    (r = set_options(x, spec, m, err, errlen)) < 0)
		goto fail;
	if ((mc = curl_multi_add_handle(g.multi, g.easy)) != CURLM_OK) {
		snprintf(err, errlen, "http: cannot start the request: %s",
		         curl_multi_strerror(mc));
		r = mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
		goto fail;
	}
	x->active = 1;
	g.busy = 1;
	x->log_dir = handler_open_logs(env, x->log);
	cJSON_Delete(payload);
	*out = &x->h;
	return 0;
fail:
	cJSON_Delete(payload);
	h_free(&x->h);
	return r;
}
