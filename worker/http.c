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
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/string.h>

#include "curl_dl.h"
#include "buf.h"
#include "duration.h"
#include "handler_impl.h"
#include "joblog.h"
#include "log.h"
#include "mask.h"

#define URL_MAX_BYTES (64 * 1024) /* a url after substitution */
#define POLL_OVERFLOW_MS 10       /* more sockets than poll slots: look again soon */

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

struct http {
	struct handler h;
	int active; /* the easy handle is in the multi handle */
	struct curl_slist *headers;
	char *url;
	char *body; /* request body (NULL: none) */
	size_t body_len;
	struct buf resp;  /* response body, at most resp_max bytes kept (resp.max = resp_max + 1) */
	size_t resp_max;
	int resp_cut;     /* the body was longer than resp_max */
	int64_t retry_at; /* wall ms from the last response's Retry-After; 0 none */
	struct mask mask; /* ${ENV} values sent in headers */
	int64_t job_id;
	int64_t backoff_max_ms; /* Retry-After is honoured up to this */
	int64_t timeout_ms;     /* the job's or the type's; 0 none */
	size_t err_max;         /* how much of an error body goes into the error */
	char *errtext;          /* the outcome's error */
	char *tokens_path;      /* the type's http.tokens_path (a copy: a reload may come), or NULL */
	char errbuf[CURL_ERROR_SIZE];
	int log_dir;            /* DB.logs, or -1 */
	struct joblog log[2];   /* the output files: the masked body and error (joblog.h) */
};

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

/*
 * Substitute the placeholders of tmpl; "{{" stands for "{", any other {...} is kept as written.
 * With encode, each value is percent-encoded (for a url). On error the message names what (the
 * "url" or "body").
 */
int
http_expand(const char *tmpl, const struct job *job, const cJSON *payload, int encode,
	    const char *what, char **out, char *err, size_t errlen)
{
	struct buf b = {.max = URL_MAX_BYTES * (encode ? 1 : 16)};
	char num[32];
	int r = buf_add(&b, "", 0);

	for (const char *p = tmpl; r == 0 && *p != '\0';) {
		const char *open = strchr(p, '{'), *close, *text;
		char *tofree = NULL, *esc = NULL;
		struct placeholder ph;

		if (open == NULL) {
			r = buf_add(&b, p, strlen(p));
			break;
		}
		if ((r = buf_add(&b, p, (size_t)(open - p))) < 0)
			break;
		if (open[1] == '{') {
			r = buf_add(&b, "{", 1);
			p = open + 2;
			continue;
		}
		if ((close = strchr(open, '}')) == NULL) {
			r = buf_add(&b, open, strlen(open));
			break;
		}
		r = placeholder_resolve(open + 1, (size_t)(close - open - 1), job, payload, &ph);
		if (r == 0) {
			r = buf_add(&b, open, (size_t)(close - open + 1));
		} else if (r == -ENOENT) {
			snprintf(err, errlen,
			         "http: the payload has no '%.*s' for the placeholder in %s",
			         (int)(close - open - 1), open + 1, what);
			r = -EINVAL;
		} else if (r == -EILSEQ) {
			placeholder_nul_error(job, "http", err, errlen);
			r = -EINVAL;
		} else if ((r = placeholder_text(&ph, &text, &tofree, num, sizeof(num))) == 0) {
			if (encode && (esc = curl_easy_escape(NULL, text, 0)) == NULL)
				r = -ENOMEM;
			else
				r = buf_add(&b, encode ? esc : text, strlen(encode ? esc : text));
		}
		curl_free(esc);
		free(tofree);
		p = close + 1;
	}
	if (r == -E2BIG)
		snprintf(err, errlen, "http: the %s is longer than %zu bytes after substitution",
		         what, b.max - 1);
	else if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (r < 0) {
		buf_release(&b);
		return r;
	}
	*out = buf_detach(&b);
	return 0;
}

/* Put val (NULL: out of memory) in the place of item under parent, under item's key. */
static int
replace(cJSON *parent, cJSON *item, cJSON *val)
{
	if (val == NULL)
		return -ENOMEM;
	if (val->string != NULL && !(val->type & cJSON_StringIsConst))
		cJSON_free(val->string); /* a duplicate keeps the key of its source */
	val->string = NULL;
	val->type &= ~cJSON_StringIsConst;
	if (item->string != NULL) {
		if ((val->string = strdup(item->string)) == NULL) {
			cJSON_Delete(val);
			return -ENOMEM;
		}
	}
	if (!cJSON_ReplaceItemViaPointer(parent, item, val)) {
		cJSON_Delete(val);
		return -ENOMEM;
	}
	return 0;
}

/* Fill the placeholders inside the strings of the body template, in place. A string that is
 * exactly one placeholder becomes the value itself (a number stays a number, an object an
 * object); placeholders inside a longer string are replaced by their text. */
static int
fill_template(cJSON *node, const struct job *job, const cJSON *payload, char *err, size_t errlen)
{
	cJSON *it, *next;
	int r;

	if (cJSON_IsArray(node) || cJSON_IsObject(node)) {
		for (it = node->child; it != NULL; it = next) {
			next = it->next;
			if (cJSON_IsString(it)) {
				const char *s = it->valuestring;
				size_t n = strlen(s);
				struct placeholder ph;
				cJSON *val = NULL;

				if (n > 2 && s[0] == '{' && s[1] != '{' && s[n - 1] == '}' &&
				    memchr(s + 1, '{', n - 2) == NULL &&
				    memchr(s + 1, '}', n - 2) == NULL &&
				    (r = placeholder_resolve(s + 1, n - 2, job, payload, &ph)) != 0) {
					if (r == -ENOENT) {
						snprintf(err, errlen,
						         "http: the payload has no '%.*s' for "
						         "the placeholder in body",
						         (int)(n - 2), s + 1);
						return -EINVAL;
					}
					if (r == -EILSEQ) {
						placeholder_nul_error(job, "http", err, errlen);
						return -EINVAL;
					}
					if (ph.json != NULL)
						val = cJSON_Duplicate(ph.json, 1);
					else if (ph.text != NULL)
						val = cJSON_CreateString(ph.text);
					else
						val = cJSON_CreateNumber((double)ph.num);
					if ((r = replace(node, it, val)) < 0) {
						snprintf(err, errlen, "out of memory");
						return r;
					}
					continue;
				}
				char *text = NULL;
				if ((r = http_expand(s, job, payload, 0, "body", &text, err,
				                     errlen)) < 0)
					return r;
				val = cJSON_CreateString(text);
				free(text);
				if ((r = replace(node, it, val)) < 0) {
					snprintf(err, errlen, "out of memory");
					return r;
				}
			} else if ((r = fill_template(it, job, payload, err, errlen)) < 0) {
				return r;
			}
		}
	}
	return 0;
}

int
http_fill_body(const char *tmpl, const struct job *job, const cJSON *payload, char **out,
	       char *err, size_t errlen)
{
	cJSON *root, *wrap;
	int r;

	*out = NULL;
	if ((root = cJSON_ParseWithOpts(tmpl, NULL, 1)) == NULL) {
		snprintf(err, errlen, "http: the body template is not valid JSON");
		return -EINVAL;
	}
	/* Wrapped, so that a template which is one string can be filled like any other. */
	if ((wrap = cJSON_CreateArray()) == NULL || !cJSON_AddItemToArray(wrap, root)) {
		cJSON_Delete(wrap);
		cJSON_Delete(root);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((r = fill_template(wrap, job, payload, err, errlen)) < 0) {
		cJSON_Delete(wrap);
		return r;
	}
	*out = cJSON_PrintUnformatted(wrap->child);
	cJSON_Delete(wrap);
	if (*out == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* The request body: the payload as it was enqueued, or the filled template. */
static int
build_body(struct http *x, const struct http_spec *spec, const struct job *job,
           const cJSON *payload, char *err, size_t errlen)
{
	int r;

	if (spec->body == NULL) {
		x->body = strdup(job->payload != NULL ? job->payload : "{}");
	} else if ((r = http_fill_body(spec->body, job, payload, &x->body, err, errlen)) < 0) {
		return r;
	}
	if (x->body == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	x->body_len = strlen(x->body);
	return 0;
}

/* Is header name (case-insensitive) among the type's headers? */
static int
has_header(const struct http_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->nheaders; i++)
		if (strcasecmp(spec->headers[i].name, name) == 0)
			return 1;
	return 0;
}

/* "Name: value" with ${ENV} expanded (a "$" not followed by "{" is literal); the values of the
 * variables are remembered as secrets. The line is wiped before it is freed. */
static int
header_line(struct http *x, const struct http_header *hd, char **out, char *err, size_t errlen)
{
	struct buf b = {.max = URL_MAX_BYTES};
	const char *s = hd->value;
	size_t head;
	int r;

	if ((r = buf_add(&b, hd->name, strlen(hd->name))) == 0)
		r = buf_add(&b, ": ", 2);
	head = b.len;
	while (r == 0 && *s != '\0') {
		const char *ref = strstr(s, "${"), *end, *val;
		char name[CONFIG_ENV_NAME_MAX + 1];
		size_t n;

		if (ref == NULL) {
			r = buf_add(&b, s, strlen(s));
			break;
		}
		if ((r = buf_add(&b, s, (size_t)(ref - s))) < 0)
			break;
		end = strchr(ref + 2, '}');
		n = end != NULL ? (size_t)(end - (ref + 2)) : 0;
		if (end == NULL || n == 0 || n >= sizeof(name)) {
			snprintf(err, errlen, "http: header '%s': invalid '${...}' reference",
			         hd->name);
			r = -EINVAL;
			break;
		}
		memcpy(name, ref + 2, n);
		name[n] = '\0';
		if ((val = getenv(name)) == NULL) {
			snprintf(err, errlen,
			         "http: header '%s': environment variable '%s' is not set",
			         hd->name, name);
			r = -EINVAL;
			break;
		}
		if ((r = mask_add(&x->mask, val, strlen(val))) < 0 ||
		    (r = buf_add(&b, val, strlen(val))) < 0)
			break;
		s = end + 1;
	}
	if (r == 0 && b.len == head) {
		/* "Name:" alone would make curl remove the header; "Name;" sends it empty. */
		b.len = head - 2;
		r = buf_add(&b, ";", 1);
	}
	if (r == -E2BIG)
		snprintf(err, errlen, "http: header '%s' is too long", hd->name);
	else if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (r < 0) {
		if (b.s != NULL)
			explicit_bzero(b.s, b.len);
		buf_release(&b);
		return r;
	}
	*out = buf_detach(&b);
	return 0;
}

static void
free_headers(struct curl_slist *l)
{
	for (struct curl_slist *i = l; i != NULL; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

static int
build_headers(struct http *x, const struct http_spec *spec, char *err, size_t errlen)
{
	struct curl_slist *n;
	int r;

	for (size_t i = 0; i < spec->nheaders; i++) {
		char *line = NULL;

		if ((r = header_line(x, &spec->headers[i], &line, err, errlen)) < 0)
			return r;
		n = curl_slist_append(x->headers, line);
		explicit_bzero(line, strlen(line));
		free(line);
		if (n == NULL)
			goto nomem;
		x->headers = n;
	}
	/* The body is JSON; no 100-continue round trip before sending it. */
	if (x->body != NULL && !has_header(spec, "Content-Type")) {
		if ((n = curl_slist_append(x->headers, "Content-Type: application/json")) == NULL)
			goto nomem;
		x->headers = n;
	}
	if (!has_header(spec, "Expect")) {
		if ((n = curl_slist_append(x->headers, "Expect:")) == NULL)
			goto nomem;
		x->headers = n;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* ---- the transfer ---- */

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http *x = arg;
	size_t n = size * nmemb, keep = x->resp_max - x->resp.len;

	if (n > keep)
		x->resp_cut = 1;
	else
		keep = n;
	if (buf_add(&x->resp, data, keep) < 0)
		return 0; /* CURLE_WRITE_ERROR */
	/* Past the cap: stop reading (CURLE_WRITE_ERROR with resp_cut set, a complete answer). */
	return x->resp_cut ? 0 : n;
}

void
http_header_retry(const char *data, size_t n, int64_t now, int64_t *retry_at)
{
	static const char name[] = "retry-after:";
	char val[128];

	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		*retry_at = 0; /* a new response (after a 1xx, say) */
		return;
	}
	if (n <= sizeof(name) - 1 || strncasecmp(data, name, sizeof(name) - 1) != 0)
		return;
	size_t off = sizeof(name) - 1, len;
	while (off < n && (data[off] == ' ' || data[off] == '\t'))
		off++;
	len = n - off;
	while (len > 0 && (data[off + len - 1] == '\r' || data[off + len - 1] == '\n' ||
	                   data[off + len - 1] == ' ' || data[off + len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(val))
		return;
	memcpy(val, data + off, len);
	val[len] = '\0';
	if (strspn(val, "0123456789") == len) {
		int64_t s = len > 9 ? 999999999 : strtoll(val, NULL, 10);
		*retry_at = time_add(now, s * 1000);
	} else {
		time_t t = curl_getdate(val, NULL);
		if (t > 0)
			*retry_at = t < TIME_MAX_MS / 1000 ? (int64_t)t * 1000 : TIME_MAX_MS;
	}
}

/* Retry-After: delay-seconds or an HTTP date. */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http *x = arg;
	size_t n = size * nmemb;

	http_header_retry(data, n, time_now_ms(), &x->retry_at);
	return n;
}

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
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_WRITEDATA, x);
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
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

/* Curl errors that a retry cannot fix: the configuration is wrong. */
static int
permanent(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_TOO_MANY_REDIRECTS:
		return 1;
	default:
		return 0;
	}
}

static void set_error(struct http *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_error(struct http *x, const char *fmt, ...)
{
	va_list ap;

	free(x->errtext);
	va_start(ap, fmt);
	if (vasprintf(&x->errtext, fmt, ap) < 0)
		x->errtext = NULL;
	va_end(ap);
	if (x->errtext != NULL)
		mask_apply(&x->mask, x->errtext, strlen(x->errtext), 0);
	x->h.outcome.error = x->errtext != NULL ? x->errtext : "failed";
}

int
http_tokens(const char *body, size_t len, const char *path, int64_t *out)
{
	cJSON *root;
	const cJSON *v;
	char key[257];
	int r = -ENOENT;

	*out = 0;
	if (body == NULL || (root = cJSON_ParseWithLength(body, len)) == NULL)
		return -EINVAL;
	v = root;
	for (const char *s = path; v != NULL;) {
		size_t n = strcspn(s, ".");

		if (n == 0 || n >= sizeof(key)) {
			v = NULL;
			break;
		}
		memcpy(key, s, n);
		key[n] = '\0';
		if (cJSON_IsObject(v))
			v = cJSON_GetObjectItemCaseSensitive(v, key);
		else if (cJSON_IsArray(v) && strspn(key, "0123456789") == n && n < 9)
			v = cJSON_GetArrayItem(v, atoi(key));
		else
			v = NULL;
		if (s[n] == '\0')
			break;
		s += n + 1;
	}
	if (v != NULL) {
		r = -EINVAL;
		if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= HTTP_TOKENS_MAX &&
		    v->valuedouble == (double)(int64_t)v->valuedouble) {
			*out = (int64_t)v->valuedouble;
			r = 0;
		}
	}
	cJSON_Delete(root);
	return r;
}

/* The transfer ended with rc: fill the outcome. */
static void
complete(struct http *x, CURLcode rc)
{
	struct job_outcome *o = &x->h.outcome;
	long status = 0;

	if (rc == CURLE_WRITE_ERROR && x->resp_cut)
		rc = CURLE_OK; /* we stopped reading at output_max */
	/* Before anything is taken from it; a body cut at output_max may end inside a secret. */
	if (x->resp.s != NULL)
		mask_apply(&x->mask, x->resp.s, x->resp.len, x->resp_cut);
	if (rc != CURLE_OK) {
		const char *why = x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(rc);
		curl_off_t spent = 0;

		/* The total timeout, or only the connection's (an error like any other)? */
		curl_easy_getinfo(g.easy, CURLINFO_TOTAL_TIME_T, &spent);
		if (rc == CURLE_OPERATION_TIMEDOUT && x->timeout_ms > 0 &&
		    spent / 1000 >= x->timeout_ms - 20) {
			char d[32];
			duration_format(x->timeout_ms, d, sizeof(d));
			set_error(x, "timed out after %s", d);
		} else {
			set_error(x, "request failed: %s", why);
		}
		o->no_retry = permanent(rc);
		return;
	}
	curl_easy_getinfo(g.easy, CURLINFO_RESPONSE_CODE, &status);
	o->has_exit_code = 1;
	o->exit_code = (int)status;
	/* Whatever the status: a server that says what a request spent has charged it. A body cut
	 * at output_max, not JSON, or without the path charges nothing. */
	if (x->tokens_path != NULL && !x->resp_cut)
		http_tokens(x->resp.s, x->resp.len, x->tokens_path, &o->tokens);
	if (status >= 200 && status < 300) {
		o->succeeded = 1;
		o->result = x->resp.len > 0 ? x->resp.s : NULL;
		o->truncated = x->resp_cut;
		return;
	}
	/* The start of the error body, without trailing white space. */
	size_t n = x->resp.len < x->err_max ? x->resp.len : x->err_max;
	while (n > 0 && strchr(" \t\r\n", x->resp.s[n - 1]) != NULL)
		n--;
	if (n > 0)
		set_error(x, "HTTP %ld: %.*s", status, (int)n, x->resp.s);
	else
		set_error(x, "HTTP %ld", status);
	if (status == 408 || status == 429 || (status >= 500 && status < 600)) {
		if (x->retry_at > 0) {
			int64_t now = time_now_ms();
			o->retry_after_ms =
			        handler_clamp_retry(x->retry_at - now, x->backoff_max_ms);
			if (status == 429 && o->retry_after_ms > 0) {
				x->h.quota_until = time_add(now, o->retry_after_ms);
				snprintf(x->h.quota_reason, sizeof(x->h.quota_reason),
				         "HTTP 429 with Retry-After (job %" PRId64 ")", x->job_id);
			}
		}
	} else {
		o->no_retry = 1;
	}
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

/* The masked body and error into the output files, once the transfer is over. */
static void
save_logs(struct http *x)
{
	const char *e = x->h.outcome.error;

	if (x->resp.s != NULL && joblog_write(&x->log[0], x->resp.s, x->resp.len) < 0)
		log_warnx("job %" PRId64 ": cannot write its output file: %s", x->job_id,
		          strerror(x->log[0].err));
	if (e != NULL && (joblog_write(&x->log[1], e, strlen(e)) < 0 ||
	                  joblog_write(&x->log[1], "\n", 1) < 0))
		log_warnx("job %" PRId64 ": cannot write its stderr file: %s", x->job_id,
		          strerror(x->log[1].err));
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
		complete(x, msg->data.result);
		save_logs(x);
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
	free_headers(x->headers);
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
	    (r = build_body(x, spec, env->job, payload, err, errlen)) < 0)
		goto fail;
	if ((r = build_headers(x, spec, err, errlen)) < 0 ||
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
