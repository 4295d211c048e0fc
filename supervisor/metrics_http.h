/*
 * The supervisor's metrics endpoint: a tiny HTTP/1.0 responder for GET /metrics, run from the
 * supervisor's poll() loop (no thread). Everything is non-blocking; at most
 * METRICS_HTTP_CLIENTS connections at a time (more wait in the listen backlog), a request of at
 * most METRICS_HTTP_REQUEST_MAX bytes, a client that does not send its request within
 * METRICS_HTTP_IDLE_MS, or stops reading the answer that long, is closed. One connection, one
 * request: every answer ends with the connection. The body is rendered at most once a second
 * (METRICS_HTTP_CACHE_MS), or once per ten times the last render took when that is longer,
 * whatever the scrape rate: a render reads the whole database while the loop waits.
 */
#ifndef JOBQ_METRICS_HTTP_H
#define JOBQ_METRICS_HTTP_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"

#define METRICS_HTTP_CLIENTS 8
#define METRICS_HTTP_REQUEST_MAX 4096
#define METRICS_HTTP_IDLE_MS 5000
#define METRICS_HTTP_LINGER_MS 1000
#define METRICS_HTTP_CACHE_MS 1000
#define METRICS_HTTP_POLLFDS (1 + METRICS_HTTP_CLIENTS)

enum metrics_client_state { MC_FREE, MC_READ, MC_WRITE, MC_LINGER };

struct metrics_client {
	enum metrics_client_state state;
	int fd;
	int64_t deadline; /* monotonic ms: closed when it passes */
	size_t rlen;      /* bytes of the request read */
	char req[METRICS_HTTP_REQUEST_MAX];
	char *resp; /* the answer being written (MC_WRITE), malloc'd */
	size_t rsize, roff;
};

/* The body of a 200 answer: *body malloc'd (the responder frees it). Returns 0 or -errno
 * (answered with 500, logged by the callback). */
typedef int (*metrics_http_render_fn)(void *ctx, char **body, size_t *len);

struct metrics_http {
	int fd;               /* the listening socket, -1: none */
	char listen[64];      /* the configured address ("127.0.0.1:0"), "" when none */
	struct netaddr bound; /* the address bound, the port chosen when 0 was asked */
	struct metrics_client c[METRICS_HTTP_CLIENTS];
	metrics_http_render_fn render;
	void *ctx;
	char *cache; /* the last body rendered, and when (monotonic ms) */
	size_t cache_len;
	int64_t cache_at;
	int64_t cache_ms; /* how long a body is served from memory */
	uint64_t served;  /* answers with a body, for the log at debug level */
};

/* An endpoint that listens nowhere yet, whose bodies come from render(ctx). */
void metrics_http_init(struct metrics_http *h, metrics_http_render_fn render, void *ctx);

/*
 * Listen on addr (a "metrics.listen" value, checked by the configuration), or stop listening
 * when addr is NULL or "". The same addr as now keeps the socket (and the port it picked);
 * another one is bound before the old socket is closed, so a failure leaves everything as it
 * was. Returns 0, or -errno with a one-line message in err ("cannot listen on
 * '127.0.0.1:9187': Address already in use").
 */
int metrics_http_listen(struct metrics_http *h, const char *addr, char *err, size_t errlen);

/* "127.0.0.1:43567" when listening, else "" (NETADDR_SHOWN_MAX bytes). */
const char *metrics_http_address(const struct metrics_http *h, char *out, size_t len);

/* Close the socket, every connection and the cache. Safe to call twice. */
void metrics_http_close(struct metrics_http *h);

/* Fill fds (room for METRICS_HTTP_POLLFDS) with what to poll; returns how many. */
int metrics_http_pollfds(const struct metrics_http *h, struct pollfd *fds);

/* Milliseconds from now until the next connection deadline, -1 when none. */
int64_t metrics_http_timeout(const struct metrics_http *h, int64_t now);

/* After poll(): serve the fds that metrics_http_pollfds() filled (n of them), and close the
 * connections whose deadline passed. */
void metrics_http_handle(struct metrics_http *h, const struct pollfd *fds, int n, int64_t now);

#endif
