/* The http handler: the response read into the outcome (body, status, Retry-After, tokens). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/string.h>

#include "buf.h"
#include "curl_dl.h"
#include "duration.h"
#include "http_impl.h"
#include "joblog.h"
#include "log.h"
#include "mask.h"

size_t
http_on_body(char *data, size_t size, size_t nmemb, void *arg)
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
size_t
http_on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http *x = arg;
	size_t n = size * nmemb;

	http_header_retry(data, n, time_now_ms(), &x->retry_at);
	return n;
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

void
http_complete(struct http *x, CURL *easy, CURLcode rc)
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
		curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &spent);
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
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
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

void
http_save_logs(struct http *x)
{
	const char *e = x->h.outcome.error;

	if (x->resp.s != NULL && joblog_write(&x->log[0], x->resp.s, x->resp.len) < 0)
		log_warnx("job %" PRId64 ": cannot write its output file: %s", x->job_id,
		          strerror(x->log[0].err));
	if (e != NULL &&
	    (joblog_write(&x->log[1], e, strlen(e)) < 0 || joblog_write(&x->log[1], "\n", 1) < 0))
		log_warnx("job %" PRId64 ": cannot write its stderr file: %s", x->job_id,
		          strerror(x->log[1].err));
}
