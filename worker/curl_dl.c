/* libcurl through dlopen(). See curl_dl.h. */
#define CURL_DL_IMPLEMENTATION
#include "curl_dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

/* The soname of libcurl 7.16 and later (Debian's libcurl4); overridable for tests. */
#ifndef CURL_DL_SONAME
#define CURL_DL_SONAME "libcurl.so.4"
#endif

struct curl_dl curl_dl;

int
curl_dl_load(char *err, size_t errlen)
{
	static void *lib;
	void *h;

	if (lib != NULL)
		return 0;
	if ((h = dlopen(CURL_DL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "http: cannot load libcurl: %s", dlerror());
		return -ENOENT;
	}
#define CURL_DL_LOAD(ret, name, args)                                                              \
	if ((*(void **)&curl_dl.name = dlsym(h, "curl_" #name)) == NULL) {                         \
		snprintf(err, errlen, "http: libcurl has no curl_" #name);                         \
		dlclose(h);                                                                        \
		return -ENOENT;                                                                    \
	}
	CURL_DL_FUNCS(CURL_DL_LOAD)
#undef CURL_DL_LOAD
	lib = h;
	return 0;
}
