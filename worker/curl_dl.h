/*
 * libcurl, loaded with dlopen() on the first http job instead of linked: libcurl pulls in some
 * 35 shared libraries (TLS, LDAP, Kerberos, SSH...), which would make every `jobq` process —
 * an enqueue from a shell loop, the supervisor, a worker that only runs commands — take several
 * milliseconds more to start and several MiB more memory. Only workers that run http jobs pay.
 *
 * Include after <curl/curl.h> in the files that call curl (worker/http.c, http_request.c,
 * http_response.c): the names below then go through the table filled by curl_dl_load().
 */
#ifndef JOBQ_CURL_DL_H
#define JOBQ_CURL_DL_H

#include <stddef.h>

#include <curl/curl.h>

#define CURL_DL_FUNCS(X)                                                                           \
	X(CURLcode, global_init, (long))                                                           \
	X(void, global_cleanup, (void))                                                            \
	X(CURL *, easy_init, (void))                                                               \
	X(void, easy_cleanup, (CURL *))                                                            \
	X(void, easy_reset, (CURL *))                                                              \
	X(CURLcode, easy_setopt, (CURL *, CURLoption, ...))                                        \
	X(CURLcode, easy_getinfo, (CURL *, CURLINFO, ...))                                         \
	X(const char *, easy_strerror, (CURLcode))                                                 \
	X(char *, easy_escape, (CURL *, const char *, int))                                        \
	X(void, free, (void *))                                                                    \
	X(time_t, getdate, (const char *, const time_t *))                                         \
	X(struct curl_slist *, slist_append, (struct curl_slist *, const char *))                  \
	X(void, slist_free_all, (struct curl_slist *))                                             \
	X(CURLM *, multi_init, (void))                                                             \
	X(CURLMcode, multi_cleanup, (CURLM *))                                                     \
	X(CURLMcode, multi_setopt, (CURLM *, CURLMoption, ...))                                    \
	X(CURLMcode, multi_add_handle, (CURLM *, CURL *))                                          \
	X(CURLMcode, multi_remove_handle, (CURLM *, CURL *))                                       \
	X(CURLMcode, multi_socket_action, (CURLM *, curl_socket_t, int, int *))                    \
	X(CURLMsg *, multi_info_read, (CURLM *, int *))                                            \
	X(const char *, multi_strerror, (CURLMcode))

struct curl_dl {
#define CURL_DL_FIELD(ret, name, args) ret(*name) args;
	CURL_DL_FUNCS(CURL_DL_FIELD)
#undef CURL_DL_FIELD
};

extern struct curl_dl curl_dl;

/* Load libcurl (once). Returns 0, or -ENOENT with the loader's message in err. */
int curl_dl_load(char *err, size_t errlen);

#ifndef CURL_DL_IMPLEMENTATION
/* curl.h may define these as type-checking macros: every call goes through the table. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init curl_dl.global_init
#define curl_global_cleanup curl_dl.global_cleanup
#define curl_easy_init curl_dl.easy_init
#define curl_easy_cleanup curl_dl.easy_cleanup
#define curl_easy_reset curl_dl.easy_reset
#define curl_easy_setopt curl_dl.easy_setopt
#define curl_easy_getinfo curl_dl.easy_getinfo
#define curl_easy_strerror curl_dl.easy_strerror
#define curl_easy_escape curl_dl.easy_escape
#define curl_free curl_dl.free
#define curl_getdate curl_dl.getdate
#define curl_slist_append curl_dl.slist_append
#define curl_slist_free_all curl_dl.slist_free_all
#define curl_multi_init curl_dl.multi_init
#define curl_multi_cleanup curl_dl.multi_cleanup
#define curl_multi_setopt curl_dl.multi_setopt
#define curl_multi_add_handle curl_dl.multi_add_handle
#define curl_multi_remove_handle curl_dl.multi_remove_handle
#define curl_multi_socket_action curl_dl.multi_socket_action
#define curl_multi_info_read curl_dl.multi_info_read
#define curl_multi_strerror curl_dl.multi_strerror
#endif

#endif
