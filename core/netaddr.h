/* Numeric socket addresses of the form HOST:PORT, for listening sockets (the supervisor's
 * metrics endpoint): "127.0.0.1:9187", "[::1]:0". No name resolution: a name in a configuration
 * would make its meaning depend on the resolver at the moment of a reload. */
#ifndef JOBQ_NETADDR_H
#define JOBQ_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Room for any netaddr_format() result: "[" 45 "]:" 5 and the NUL. */
#define NETADDR_SHOWN_MAX 56

struct netaddr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/*
 * Parse "A.B.C.D:PORT" or "[IPV6]:PORT" (PORT 0 to 65535, decimal, 0: any free port) into out.
 * Returns 0, or -EINVAL with a reason in why (may be NULL): "missing :PORT", "invalid port
 * '99999'", "'localhost' is not a numeric address (e.g. 127.0.0.1 or [::1])"...
 */
int netaddr_parse(const char *s, struct netaddr *out, char *why, size_t whylen);

/* 1 when the address is a loopback one (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104), else 0. */
int netaddr_is_loopback(const struct netaddr *a);

/* "127.0.0.1:43567" or "[::1]:43567" into out (NETADDR_SHOWN_MAX bytes hold any); returns out. */
const char *netaddr_format(const struct netaddr *a, char *out, size_t len);

/* The port, in host order. */
int netaddr_port(const struct netaddr *a);

#endif
