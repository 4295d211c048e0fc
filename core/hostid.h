/*
 * The host id: what names a machine (its supervisor, and the claims made there) in the hosts
 * table, jobs.host, `jobq status` and `jobq show`. $JOBQ_HOST, else the configuration's "host",
 * else the hostname made safe (hostid_sanitise). 1 to HOSTID_MAX bytes of [A-Za-z0-9._-].
 */
#ifndef JOBQ_HOSTID_H
#define JOBQ_HOSTID_H

#include <stddef.h>

#define HOSTID_MAX 64
#define HOSTID_ENV "JOBQ_HOST"

/* 1 if s is 1 to HOSTID_MAX bytes of [A-Za-z0-9._-], else 0 (NULL: 0). */
int hostid_valid(const char *s);

/* A valid host id from any string (a hostname): every other byte becomes '-', cut at HOSTID_MAX
 * bytes; "" or NULL gives "localhost". out holds at least HOSTID_MAX + 1 bytes. */
void hostid_sanitise(const char *in, char *out, size_t len);

/* The host id in force: $JOBQ_HOST when set and not empty, else configured (the "host" key,
 * checked when the file was read) when not NULL, else the sanitised hostname. Returns 0, or
 * -EINVAL when $JOBQ_HOST is not a valid host id (out then holds nothing useful). */
int hostid_get(const char *configured, char *out, size_t len);

#endif
