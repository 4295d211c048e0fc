/* Memory made present up front, for short processes on hosts where a page fault is dear. */
#ifndef JOBQ_PREFAULT_H
#define JOBQ_PREFAULT_H

#include <stddef.h>

/*
 * Grow malloc's heap by about heap bytes and have the kernel fill those pages, and the stack
 * bytes below the caller's frame, each in one madvise(MADV_POPULATE_WRITE): the mallocs and
 * calls that follow land on present pages instead of faulting one page at a time. Call it
 * before the process's first malloc: on a heap already in use it populates only what the heap
 * grows by during the call, often nothing. Leaves malloc's M_TOP_PAD at heap (later growths
 * come in steps of that size) and, as any mallopt() does, its mmap threshold fixed at 128 KB:
 * for short processes, not for daemons. Best effort: returns the bytes made present, 0 where
 * the kernel (before Linux 5.14) or the build (a sanitizer's allocator) does not allow it.
 */
size_t prefault_memory(size_t heap, size_t stack);

#endif
