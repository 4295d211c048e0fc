/* libpq, loaded on first use (db_pg_lib.h). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define DB_PG_LIB_FILL
#include "db_pg_lib.h"

/* The soname of every libpq since PostgreSQL 8.2; Debian's libpq5. */
#define LIBPQ "libpq.so.5"

struct pq_lib pq_lib;

static int loaded;           /* 1 loaded, -1 failed */
static char load_error[256]; /* why it failed */

static void
load(void)
{
	/* RTLD_LOCAL: its symbols serve only through pq_lib. Never closed: a connection's
	 * memory belongs to it until the process ends. */
	void *h = dlopen(LIBPQ, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		snprintf(load_error, sizeof(load_error), "%s", dlerror());
		loaded = -1;
		return;
	}
#define PQ_RESOLVE(name)                                                                           \
	if (loaded == 0 && (*(void **)&pq_lib.name = dlsym(h, #name)) == NULL) {                   \
		snprintf(load_error, sizeof(load_error), "%s: no %s", LIBPQ, #name);               \
		loaded = -1;                                                                       \
	}
	PQ_FUNCTIONS(PQ_RESOLVE)
#undef PQ_RESOLVE
	if (loaded == 0)
		loaded = 1;
}

int
pq_load(char *why, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, load);
	if (loaded < 0 && why != NULL && len > 0)
		snprintf(why, len, "%s", load_error);
	return loaded > 0 ? 0 : -ENOTSUP;
}
