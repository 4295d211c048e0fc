/*
 * Prefaulting for short processes. On a virtual machine a page fault can cost 10 us or more,
 * while MADV_POPULATE_WRITE (Linux 5.14) makes a range present in one system call at under a
 * microsecond a page. A `jobq enqueue` would otherwise fault in its heap (SQLite's page cache
 * and schema, jobq's statements) and its stack one page at a time: about 65 faults of its 176.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prefault.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Under AddressSanitizer malloc is ASan's (no brk heap) and the stack is watched: do nothing. */
#if defined(__SANITIZE_ADDRESS__)
#define PREFAULT_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define PREFAULT_OFF 1
#endif
#endif

#ifdef PREFAULT_OFF
size_t
prefault_memory(size_t heap, size_t stack)
{
	(void)heap;
	(void)stack;
	return 0;
}
#else
/* Populate [lo, hi) rounded out to whole pages. Returns the bytes populated, 0 on an error
 * (EINVAL before Linux 5.14, ENOMEM past the end of a mapping). */
static size_t
populate(uintptr_t lo, uintptr_t hi)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

	lo &= ~(page - 1);
	hi = (hi + page - 1) & ~(page - 1);
	if (hi <= lo || madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE) < 0)
		return 0;
	return hi - lo;
}

size_t
prefault_memory(size_t heap, size_t stack)
{
	uintptr_t here = (uintptr_t)&heap;
	void *before, *after, *p;
	size_t done = 0;

	/* glibc's main heap grows by brk, by the request plus M_TOP_PAD: the range the break
	 * moves by during this one malloc is new heap and nothing else's. */
#ifdef M_TOP_PAD
	if (heap > 0 && heap <= INT32_MAX && mallopt(M_TOP_PAD, (int)heap) == 1 &&
	    (before = sbrk(0)) != (void *)-1 && (p = malloc(1)) != NULL) {
		free(p);
		if ((after = sbrk(0)) != (void *)-1 && after > before)
			done += populate((uintptr_t)before, (uintptr_t)after);
	}
#else
	(void)before, (void)after, (void)p; /* not glibc's malloc */
#endif
	/* The stack below this frame: at exec the kernel maps 128 KB and more below the
	 * arguments, so a smaller range stays inside the mapping. */
	if (stack > 0 && here > stack)
		done += populate(here - stack, here);
	return done;
}
#endif
