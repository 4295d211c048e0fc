/* The supervisor's HTTP/1.0 metrics responder. See metrics_http.h. */
#include "metrics_http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/string.h>

#include "duration.h"
#include "log.h"
#include "metrics.h"

void
metrics_http_init(struct metrics_http *h, metrics_http_render_fn render, void *ctx)
{
	memset(h, 0, sizeof(*h));
	h->fd = -1;
	for (int i = 0; i < METRICS_HTTP_CLIENTS; i++)
		h->c[i].fd = -1;
	h->render = render;
	h->ctx = ctx;
	h->cache_ms = METRICS_HTTP_CACHE_MS;
}

static void
client_close(struct metrics_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->resp);
	c->fd = -1;
	c->resp = NULL;
	c->state = MC_FREE;
}

void
metrics_http_close(struct metrics_http *h)
{
	for (int i = 0; i < METRICS_HTTP_CLIENTS; i++)
		client_close(&h->c[i]);
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	h->listen[0] = '\0';
	free(h->cache);
	h->cache = NULL;
	h->cache_len = 0;
}

/* A listening socket on a, non-blocking and close-on-exec; the port chosen goes into *bound. */
static int
open_listener(const struct netaddr *a, struct netaddr *bound)
{
	int fd, one = 1, r;

	if ((fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	/* A restarted supervisor binds the port again at once, while the old connections of the
	 * previous one are in TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 || listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*bound = *a;
	if (getsockname(fd, (struct sockaddr *)&bound->ss, &bound->len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int
metrics_http_listen(struct metrics_http *h, const char *addr, char *err, size_t errlen)
{
	struct netaddr a, bound;
	char why[160];
	int fd;

	if (addr == NULL)
		addr = "";
	if (strcmp(addr, h->listen) == 0 && (h->fd >= 0 || *addr == '\0'))
		return 0;
	if (*addr == '\0') {
		metrics_http_close(h);
		return 0;
	}
	if (strlen(addr) >= sizeof(h->listen) || netaddr_parse(addr, &a, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "metrics.listen: invalid address");
		return -EINVAL;
	}
	if ((fd = open_listener(&a, &bound)) < 0) {
		snprintf(err, errlen, "metrics.listen: cannot listen on '%s': %s", addr,
		         strerror(-fd));
		return fd;
	}
	metrics_http_close(h);
	h->fd = fd;
	h->bound = bound;
	strlcpy(h->listen, addr, sizeof(h->listen));
	return 0;
}

const char *
metrics_http_address(const struct metrics_http *h, char *out, size_t len)
{
	if (h->fd < 0) {
		if (len > 0)
			out[0] = '\0';
		return out;
	}
	return netaddr_format(&h->bound, out, len);
}

int
metrics_http_pollfds(const struct metrics_http *h, struct pollfd *fds)
{
	int n = 0, room = 0;

	for (int i = 0; i < METRICS_HTTP_CLIENTS; i++) {
		const struct metrics_client *c = &h->c[i];
		if (c->state == MC_FREE) {
			room = 1;
			continue;
		}
		fds[n++] = (struct pollfd){.fd = c->fd,
		                           .events = c->state == MC_WRITE ? POLLOUT : POLLIN};
	}
	/* Full: further connections wait in the backlog until one ends. */
	if (h->fd >= 0 && room)
		fds[n++] = (struct pollfd){.fd = h->fd, .events = POLLIN};
	return n;
}

int64_t
metrics_http_timeout(const struct metrics_http *h, int64_t now)
{
	int64_t next = -1;

	for (int i = 0; i < METRICS_HTTP_CLIENTS; i++) {
		if (h->c[i].state == MC_FREE)
			continue;
		int64_t left = h->c[i].deadline > now ? h->c[i].deadline - now : 0;
		if (next < 0 || left < next)
			next = left;
	}
	return next;
}

static void
accept_clients(struct metrics_http *h, int64_t now)
{
	for (int i = 0; i < METRICS_HTTP_CLIENTS; i++) {
		struct metrics_client *c = &h->c[i];
		int fd;

		if (c->state != MC_FREE)
			continue;
		if ((fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("metrics: accept");
			return;
		}
		c->fd = fd;
		c->state = MC_READ;
		c->rlen = 0;
		c->deadline = now + METRICS_HTTP_IDLE_MS;
	}
}

/* The body of a 200 answer, rendered at most once per h->cache_ms. Returns 0 or -errno. */
static int
body(struct metrics_http *h, int64_t now, const char **out, size_t *len)
{
	char *text = NULL;
	size_t n = 0;
	int r;

	if (h->cache == NULL || now - h->cache_at >= h->cache_ms) {
		int64_t t0 = time_mono_ms(), took;
		if ((r = h->render(h->ctx, &text, &n)) < 0)
			return r;
		free(h->cache);
		h->cache = text;
		h->cache_len = n;
		h->cache_at = now;
		/* The loop waits while a render reads the database: at most a tenth of its time. */
		took = time_mono_ms() - t0;
		h->cache_ms = took * 10 > METRICS_HTTP_CACHE_MS ? took * 10 : METRICS_HTTP_CACHE_MS;
		if (took > 100)
			log_debug("metrics: rendered in %" PRId64
			          " ms, served from memory for %" PRId64 " ms",
			          took, h->cache_ms);
	}
	*out = h->cache;
	*len = h->cache_len;
	return 0;
}

/* Build the answer to the request in c->req (its head ends at c->rlen, or it was too long:
 * too_long) and switch the client to writing it. */
static void
answer(struct metrics_http *h, struct metrics_client *c, int too_long, int64_t now)
{
	static const char allowed[] = "Allow: GET, HEAD\r\n";
	const char *status = "200 OK", *extra = "", *text = NULL, *type = METRICS_CONTENT_TYPE;
	char method[8] = "", target[64] = "", version[16] = "", msg[128];
	size_t len = 0;
	char *resp = NULL;
	FILE *f;
	size_t size = 0;
	int head = 0;

	c->req[c->rlen < sizeof(c->req) ? c->rlen : sizeof(c->req) - 1] = '\0';
	if (too_long) {
		status = "431 Request Header Fields Too Large";
	} else if (sscanf(c->req, "%7[A-Z] %63[^ \r\n] %15[^ \r\n]", method, target, version) !=
	                   3 ||
	           strncmp(version, "HTTP/1.", 7) != 0 || target[0] != '/') {
		status = "400 Bad Request";
	} else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		status = "405 Method Not Allowed";
		extra = allowed;
	} else if (strcmp(target, "/metrics") != 0 && strncmp(target, "/metrics?", 9) != 0) {
		status = "404 Not Found";
	} else if (body(h, now, &text, &len) < 0) {
		status = "500 Internal Server Error";
	} else {
		head = strcmp(method, "HEAD") == 0;
		h->served++;
	}
	if (text == NULL) {
		type = "text/plain; charset=utf-8";
		snprintf(msg, sizeof(msg), "%s%s\n", status,
		         strncmp(status, "404", 3) == 0 ? ": the metrics are at /metrics" : "");
		text = msg;
		len = strlen(msg);
	}
	if ((f = open_memstream(&resp, &size)) == NULL) {
		client_close(c);
		return;
	}
	fprintf(f,
	        "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
	        "Connection: close\r\n\r\n",
	        status, type, len, extra);
	if (!head)
		fwrite(text, 1, len, f);
	if (ferror(f) || fclose(f) != 0) {
		free(resp);
		client_close(c);
		return;
	}
	c->resp = resp;
	c->rsize = size;
	c->roff = 0;
	c->state = MC_WRITE;
	c->deadline = now + METRICS_HTTP_IDLE_MS;
}

/* The end of a request's head: a blank line. */
static int
head_complete(const struct metrics_client *c)
{
	for (size_t i = 0; i + 1 < c->rlen; i++) {
		if (c->req[i] == '\n' &&
		    (c->req[i + 1] == '\n' ||
		     (c->req[i + 1] == '\r' && i + 2 < c->rlen && c->req[i + 2] == '\n')))
			return 1;
	}
	return 0;
}

static void
on_readable(struct metrics_http *h, struct metrics_client *c, int64_t now)
{
	char discard[1024];
	ssize_t n;

	if (c->state == MC_LINGER) {
		/* What the client still sends after the answer is read and dropped, so that closing
		 * does not reset the connection before it has read the answer. */
		while ((n = read(c->fd, discard, sizeof(discard))) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			client_close(c);
		return;
	}
	n = read(c->fd, c->req + c->rlen, sizeof(c->req) - 1 - c->rlen);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		client_close(c);
		return;
	}
	if (n < 0)
		return;
	c->rlen += (size_t)n;
	if (head_complete(c))
		answer(h, c, 0, now);
	else if (c->rlen >= sizeof(c->req) - 1)
		answer(h, c, 1, now);
}

static void
on_writable(struct metrics_client *c, int64_t now)
{
	ssize_t n = send(c->fd, c->resp + c->roff, c->rsize - c->roff, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			client_close(c);
		return;
	}
	c->roff += (size_t)n;
	c->deadline = now + METRICS_HTTP_IDLE_MS; /* progress */
	if (c->roff < c->rsize)
		return;
	free(c->resp);
	c->resp = NULL;
	shutdown(c->fd, SHUT_WR);
	c->state = MC_LINGER;
	c->deadline = now + METRICS_HTTP_LINGER_MS;
}

void
metrics_http_handle(struct metrics_http *h, const struct pollfd *fds, int n, int64_t now)
{
	for (int k = 0; k < n; k++) {
		if (fds[k].revents == 0)
			continue;
		if (fds[k].fd == h->fd) {
			accept_clients(h, now);
			continue;
		}
		for (int i = 0; i < METRICS_HTTP_CLIENTS; i++) {
			struct metrics_client *c = &h->c[i];
			if (c->state == MC_FREE || c->fd != fds[k].fd)
				continue;
			if (c->state == MC_WRITE && (fds[k].revents & POLLOUT))
				on_writable(c, now);
			else if (c->state != MC_WRITE && (fds[k].revents & (POLLIN | POLLHUP)))
				on_readable(h, c, now);
			else if (fds[k].revents & (POLLERR | POLLHUP | POLLNVAL))
				client_close(c);
			break;
		}
	}
	for (int i = 0; i < METRICS_HTTP_CLIENTS; i++)
		if (h->c[i].state != MC_FREE && now >= h->c[i].deadline)
			client_close(&h->c[i]);
}
