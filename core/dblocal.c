/* Where a queue's local files live. See dblocal.h. */
#include "dblocal.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>
#include <sha2.h>

#include "conninfo.h"
#include "trust.h"

#define PAIRS_MAX 64   /* conninfo pairs hashed; a longer one is hashed as masked */
#define VALUE_MAX 1024 /* one conninfo value, unescaped */

/* Text appended into a fixed buffer, cut at its end (over set) but always NUL-terminated. */
struct out {
	char *s;
	size_t len, cap;
	int over;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->cap == 0)
		return;
	if (o->len + n >= o->cap) {
		n = o->cap - 1 - o->len;
		o->over = 1;
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static int
is_secret(const char *key, size_t n)
{
	return (n == 8 && strncmp(key, "password", 8) == 0) ||
	       (n == 11 && strncmp(key, "sslpassword", 11) == 0);
}

/* The length of "postgresql://" or "postgres://" at the start of s, else 0. */
static size_t
uri_scheme(const char *s)
{
	if (strncmp(s, "postgresql://", 13) == 0)
		return 13;
	if (strncmp(s, "postgres://", 11) == 0)
		return 11;
	return 0;
}

int
db_local_is_pg(const char *target)
{
	/* The keywords a conninfo starts with; a file "hosts=2.db" stays a file. */
	static const char *const keys[] = {"host",
	                                   "hostaddr",
	                                   "port",
	                                   "dbname",
	                                   "user",
	                                   "password",
	                                   "service",
	                                   "passfile",
	                                   "sslmode",
	                                   "options",
	                                   "connect_timeout",
	                                   "application_name",
	                                   "target_session_attrs"};
	size_t n;

	if (target == NULL)
		return 0;
	if (uri_scheme(target) > 0)
		return 1;
	while (isspace((unsigned char)*target))
		target++;
	n = strcspn(target, "= \t/");
	if (target[n] == '/' || n == 0)
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strlen(keys[i]) == n && strncmp(target, keys[i], n) == 0) {
			const char *p = target + n;

			while (*p == ' ' || *p == '\t')
				p++;
			return *p == '=';
		}
	}
	return 0;
}

/*
 * A URI without its secrets, for the hash: the password of the user info and the
 * password/sslpassword parameters removed, the scheme written "postgresql://".
 */
static void
uri_normal(const char *s, struct out *o)
{
	size_t skip = uri_scheme(s), auth = strcspn(s + skip, "/?");
	const char *a = s + skip, *at = NULL, *q;

	puts_(o, "postgresql://");
	for (const char *p = a; p < a + auth; p++)
		if (*p == '@')
			at = p; /* the last one: a password's '@' should be %40, but may not be */
	if (at != NULL) {
		const char *colon = memchr(a, ':', (size_t)(at - a));
		put(o, a, (size_t)((colon != NULL ? colon : at) - a));
		a = at;
	}
	if ((q = strchr(a, '?')) == NULL) {
		puts_(o, a);
		return;
	}
	put(o, a, (size_t)(q - a));
	for (const char *p = q + 1, *sep = "?"; *p != '\0';) {
		size_t n = strcspn(p, "&"), k = strcspn(p, "=&");

		if (!is_secret(p, k)) {
			puts_(o, sep);
			sep = "&";
			put(o, p, n);
		}
		p += n + (p[n] == '&');
	}
}

/* One "key = value" of a libpq conninfo: its key, its value unescaped into val, and where the
 * value's text starts and ends in s. Returns the position after it, or NULL at the end or on a
 * syntax error (*bad set). */
struct pair {
	const char *key;
	size_t klen;
	char val[VALUE_MAX];
	const char *vbeg, *vend;
};

static const char *
conn_next(const char *p, struct pair *pr, int *bad)
{
	size_t n = 0;

	*bad = 0;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
		p++;
	if (*p == '\0')
		return NULL;
	pr->key = p;
	while (*p != '\0' && *p != '=' && *p != ' ' && *p != '\t' && *p != '\n')
		p++;
	pr->klen = (size_t)(p - pr->key);
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p++ != '=' || pr->klen == 0) {
		*bad = 1;
		return NULL;
	}
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	pr->vbeg = p;
	if (*p == '\'') {
		for (p++; *p != '\'' && *p != '\0'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (n + 1 < sizeof(pr->val))
				pr->val[n++] = *p;
		}
		if (*p != '\'') {
			*bad = 1;
			return NULL;
		}
		p++;
	} else {
		for (; *p != '\0' && *p != ' ' && *p != '\t' && *p != '\n'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (n + 1 < sizeof(pr->val))
				pr->val[n++] = *p;
		}
	}
	pr->val[n] = '\0';
	pr->vend = p;
	return p;
}

/* A conninfo with the values of its secrets replaced by "***"; from a syntax error on, the
 * rest is "***" too (it could hold a password that libpq would read another way). For the hash
 * of a conninfo that conn_normal() cannot take. */
static void
conn_mask(const char *s, struct out *o)
{
	struct pair pr;
	const char *p = s, *next;
	int bad;

	while ((next = conn_next(p, &pr, &bad)) != NULL) {
		if (is_secret(pr.key, pr.klen)) {
			put(o, p, (size_t)(pr.vbeg - p));
			puts_(o, "***");
		} else {
			put(o, p, (size_t)(next - p));
		}
		p = next;
	}
	if (bad) {
		puts_(o, p == s ? "" : " ");
		puts_(o, "***");
	} else {
		puts_(o, p);
	}
}

static int
pair_cmp(const void *a, const void *b)
{
	const struct pair *x = *(struct pair *const *)a, *y = *(struct pair *const *)b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = strncmp(x->key, y->key, n);

	if (c != 0 || x->klen != y->klen)
		return c != 0 ? c : x->klen < y->klen ? -1 : 1;
	return x < y ? -1 : x > y; /* stable: the later of two equal keys sorts last */
}

/* A conninfo as what it means, for the hash: its pairs but the secrets, the last of each key,
 * sorted by key, each "key='value'" (quotes and backslashes escaped). Returns 0, or -EINVAL
 * when it cannot be parsed or has too many pairs (then hash the masked text). */
static int
conn_normal(const char *s, struct out *o)
{
	struct pair *pairs, *sorted[PAIRS_MAX];
	const char *p = s;
	int n = 0, bad = 0, r = 0;

	if ((pairs = calloc(PAIRS_MAX, sizeof(*pairs))) == NULL)
		return -ENOMEM;
	while (n < PAIRS_MAX && (p = conn_next(p, &pairs[n], &bad)) != NULL)
		if (!is_secret(pairs[n].key, pairs[n].klen))
			n++;
	if (bad || p != NULL) {
		r = -EINVAL;
		goto out;
	}
	for (int i = 0; i < n; i++)
		sorted[i] = &pairs[i];
	qsort(sorted, (size_t)n, sizeof(sorted[0]), pair_cmp);
	for (int i = 0; i < n; i++) {
		if (i + 1 < n && sorted[i + 1]->klen == sorted[i]->klen &&
		    strncmp(sorted[i + 1]->key, sorted[i]->key, sorted[i]->klen) == 0)
			continue; /* libpq takes the last */
		put(o, sorted[i]->key, sorted[i]->klen);
		puts_(o, "='");
		for (const char *v = sorted[i]->val; *v != '\0'; v++) {
			if (*v == '\'' || *v == '\\')
				puts_(o, "\\");
			put(o, v, 1);
		}
		puts_(o, "' ");
	}
out:
	free(pairs);
	return r;
}

int
db_local_state_dir(char *out, size_t len)
{
	const char *env = getenv("JOBQ_STATE_DIR"), *home;
	struct passwd pw, *res = NULL;
	char pwbuf[1024];
	int n;

	if (env != NULL && *env != '\0')
		return strlcpy(out, env, len) < len ? 0 : -ENAMETOOLONG;
	if ((env = getenv("XDG_STATE_HOME")) != NULL && env[0] == '/')
		n = snprintf(out, len, "%s/jobq", env);
	else if (geteuid() == 0)
		n = snprintf(out, len, "/var/lib/jobq");
	else {
		if ((home = getenv("HOME")) == NULL || home[0] != '/') {
			if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &res) != 0 ||
			    res == NULL || pw.pw_dir == NULL || pw.pw_dir[0] != '/')
				return -ENOENT;
			home = pw.pw_dir;
		}
		n = snprintf(out, len, "%s/.local/state/jobq", home);
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Make dir and its missing parents, 0700. Returns 0 or -errno. */
static int
mkdirs(const char *dir)
{
	char p[4096];
	size_t n = strlcpy(p, dir, sizeof(p));

	if (n >= sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

/* The state folder dir, when it exists, is one jobq trusts: this user's own folder (not a
 * link), that nobody else may write, in a folder nobody else may replace it in. */
static int
check_state_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(st.st_mode))
		return trust_refuse(err, errlen, "refusing the state folder '%s': a symbolic link",
		                    dir);
	if (!S_ISDIR(st.st_mode))
		return trust_refuse(err, errlen, "refusing the state folder '%s': not a folder",
		                    dir);
	if (st.st_uid != geteuid())
		return trust_refuse(
		        err, errlen,
		        "refusing the state folder '%s': it belongs to user %u, not to you", dir,
		        (unsigned)st.st_uid);
	if ((st.st_mode & 022) != 0)
		return trust_refuse(
		        err, errlen,
		        "refusing the state folder '%s': its group or others may write it "
		        "(mode %04o)",
		        dir, (unsigned)(st.st_mode & 07777));
	return trust_stat(&st, dir, TRUST_DATA, err, errlen);
}

int
db_local_base(const char *db, int flags, char *out, size_t len, char *err, size_t errlen)
{
	char dir[4096], masked[8192], norm[8192], hex[SHA256_DIGEST_STRING_LENGTH];
	struct out o = {.s = norm, .cap = sizeof(norm)};
	int r, n;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (!db_local_is_pg(db))
		return strlcpy(out, db, len) < len ? 0 : -ENAMETOOLONG;
	if ((r = db_local_state_dir(dir, sizeof(dir))) < 0)
		return r;
	if (dir[0] != '/') {
		trust_refuse(err, errlen, "JOBQ_STATE_DIR '%s': not an absolute path", dir);
		return -EINVAL;
	}
	if ((r = check_state_dir(dir, err, errlen)) < 0)
		return r;
	if ((flags & DB_LOCAL_CREATE) && (r = mkdirs(dir)) < 0) {
		trust_refuse(err, errlen, "cannot create the state folder '%s': %s", dir,
		             strerror(-r));
		return r;
	}
	/* Without the password, then normalised: a hash never keeps a secret in reach of a
	 * dictionary, a changed password is still the same queue, and so is the target shown in
	 * messages (libjobq wakes the supervisor of store_path(), which is masked). Masking first
	 * also takes the passwords conninfo_mask() finds nested in a dbname. */
	if (conninfo_mask(db, masked, sizeof(masked)) < 0)
		return -ENAMETOOLONG;
	norm[0] = '\0';
	if (uri_scheme(masked) > 0)
		uri_normal(masked, &o);
	else if (conn_normal(masked, &o) < 0) {
		o.len = 0;
		o.over = 0;
		conn_mask(masked, &o);
	}
	if (o.over)
		return -ENAMETOOLONG;
	SHA256Data((const unsigned char *)norm, o.len, hex);
	n = snprintf(out, len, "%s/pg-%.16s", dir, hex);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int
db_local_path(const char *db, const char *suffix, char *out, size_t len)
{
	char base[4096];
	int n, r;

	if ((r = db_local_base(db, 0, base, sizeof(base), NULL, 0)) < 0)
		return r;
	n = snprintf(out, len, "%s%s", base, suffix);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
