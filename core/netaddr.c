/* Numeric HOST:PORT addresses. See netaddr.h. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "names.h"

/* The text of the address, made safe to quote (names.h). */
#define SHOWN(s) name_shown((s), (char[NAME_SHOWN_SIZE]){0}, NAME_SHOWN_SIZE)

static int why_fail(char *why, size_t whylen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
why_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Decimal 0..65535, digits only. Returns the port or -1. */
static int
parse_port(const char *s)
{
	long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v <= 65535 ? (int)v : -1;
}

int
netaddr_parse(const char *s, struct netaddr *out, char *why, size_t whylen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = s;
	size_t hlen;
	int port;

	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0')
		return why_fail(why, whylen, "empty (e.g. %s)", "127.0.0.1:9187");
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return why_fail(why, whylen,
			                "'%s': an IPv6 address is written [ADDRESS]:PORT",
			                SHOWN(s));
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return why_fail(why, whylen, "'%s': missing :PORT (e.g. 127.0.0.1:9187)",
			                SHOWN(s));
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			return why_fail(why, whylen,
			                "'%s': an IPv6 address is written [ADDRESS]:PORT",
			                SHOWN(s));
		hlen = (size_t)(colon - s);
	}
	if ((port = parse_port(colon + 1)) < 0)
		return why_fail(why, whylen, "invalid port '%s' (0 to 65535; 0 picks a free one)",
		                SHOWN(colon + 1));
	if (hlen == 0 || hlen >= sizeof(host))
		return why_fail(why, whylen,
		                "'%s': not a numeric address (e.g. 127.0.0.1 or [::1])", SHOWN(s));
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (*s == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->ss;
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return why_fail(why, whylen, "'%s': not a numeric IPv6 address",
			                SHOWN(host));
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&out->ss;
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return why_fail(why, whylen,
			                "'%s' is not a numeric address (e.g. 127.0.0.1 or [::1])",
			                SHOWN(host));
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*a4);
	}
	return 0;
}

int
netaddr_is_loopback(const struct netaddr *a)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a->ss;
		return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct in6_addr *x = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(x) ||
		       (IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127);
	}
	return 0;
}

int
netaddr_port(const struct netaddr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return 0;
}

const char *
netaddr_format(const struct netaddr *a, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (a->ss.ss_family == AF_INET &&
	    inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr, host,
	              sizeof(host)) != NULL)
		snprintf(out, len, "%s:%d", host, netaddr_port(a));
	else if (a->ss.ss_family == AF_INET6 &&
	         inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, host,
	                   sizeof(host)) != NULL)
		snprintf(out, len, "[%s]:%d", host, netaddr_port(a));
	else
		snprintf(out, len, "?");
	return out;
}
