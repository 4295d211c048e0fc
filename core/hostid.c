/* The host id. See hostid.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "hostid.h"

static int
id_byte(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

int
hostid_valid(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (n >= HOSTID_MAX || !id_byte((unsigned char)s[n]))
			return 0;
	return n > 0;
}

void
hostid_sanitise(const char *in, char *out, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return;
	for (; in != NULL && in[n] != '\0' && n < HOSTID_MAX && n + 1 < len; n++)
		out[n] = id_byte((unsigned char)in[n]) ? in[n] : '-';
	out[n] = '\0';
	if (n == 0)
		strlcpy(out, "localhost", len);
}

int
hostid_get(const char *configured, char *out, size_t len)
{
	const char *env = getenv(HOSTID_ENV);
	char name[256];

	if (env != NULL && env[0] != '\0') {
		if (!hostid_valid(env))
			return -EINVAL;
		strlcpy(out, env, len);
		return 0;
	}
	if (configured != NULL) {
		strlcpy(out, configured, len);
		return 0;
	}
	if (gethostname(name, sizeof(name)) < 0)
		name[0] = '\0';
	name[sizeof(name) - 1] = '\0'; /* gethostname need not terminate a cut name */
	hostid_sanitise(name, out, len);
	return 0;
}
