/* The http handler's parts (http.c: the transfer; http_request.c: building the request;
 * http_response.c: reading the response into the outcome). Internal to worker/. */
#ifndef JOBQ_HTTP_IMPL_H
#define JOBQ_HTTP_IMPL_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "handler_impl.h"
#include "joblog.h"
#include "mask.h"

#define URL_MAX_BYTES (64 * 1024) /* a url after substitution */

/* One job's request: the handler's state. */
struct http {
	struct handler h;
	int active; /* the easy handle is in the multi handle */
	struct curl_slist *headers;
	char *url;
	char *body; /* request body (NULL: none) */
	size_t body_len;
	struct buf resp; /* response body, at most resp_max bytes kept (resp.max = resp_max + 1) */
	size_t resp_max;
	int resp_cut;     /* the body was longer than resp_max */
	int64_t retry_at; /* wall ms from the last response's Retry-After; 0 none */
	struct mask mask; /* ${ENV} values sent in headers */
	int64_t job_id;
	int64_t backoff_max_ms; /* Retry-After is honoured up to this */
	int64_t timeout_ms;     /* the job's or the type's; 0 none */
	size_t err_max;         /* how much of an error body goes into the error */
	char *errtext;          /* the outcome's error */
	char *tokens_path; /* the type's http.tokens_path (a copy: a reload may come), or NULL */
	char errbuf[CURL_ERROR_SIZE];
	int log_dir;          /* DB.logs, or -1 */
	struct joblog log[2]; /* the output files: the masked body and error (joblog.h) */
};

/* The request body into x->body: the payload as it was enqueued, or spec's template filled.
 * Returns 0, or -errno with a message in err. */
int http_build_body(struct http *x, const struct http_spec *spec, const struct job *job,
                    const struct cJSON *payload, char *err, size_t errlen);

/* The request headers into x->headers (their ${ENV} values resolved and added to x->mask),
 * with Content-Type and an empty Expect unless spec sets them. Returns 0, or -errno with a
 * message in err. */
int http_build_headers(struct http *x, const struct http_spec *spec, char *err, size_t errlen);

/* Free a header list, its secrets zeroed first. NULL-safe. */
void http_free_headers(struct curl_slist *l);

/* libcurl's CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION, arg the struct http. */
size_t http_on_body(char *data, size_t size, size_t nmemb, void *arg);
size_t http_on_header(char *data, size_t size, size_t nmemb, void *arg);

/* The transfer of easy ended with rc: fill x's outcome (the body masked first). */
void http_complete(struct http *x, CURL *easy, CURLcode rc);

/* The masked body and error into the output files, once the transfer is over. */
void http_save_logs(struct http *x);

#endif
