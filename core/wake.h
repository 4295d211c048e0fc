/*
 * Wake-ups through a FIFO next to the database ("DB.wake", 0600): the supervisor holds it open
 * for reading; anyone who commits work writes one byte without blocking. No supervisor, no
 * reader: the write side fails at once with ENXIO, which callers ignore.
 */
#ifndef JOBQ_WAKE_H
#define JOBQ_WAKE_H

#include <stddef.h>

/* The FIFO's path for db_path. Returns 0 or -ENAMETOOLONG. */
int wake_path(const char *db_path, char *out, size_t len);

/* Create (or reuse) the FIFO and open it for reading, non-blocking and close-on-exec (O_RDWR,
 * so that it never reports EOF). Refuses a symbolic link (-ELOOP), anything but a FIFO
 * (-EEXIST) and another user's FIFO (-EPERM). Returns the fd or -errno. */
int wake_open(const char *db_path);

/* What a wake-up is about: the supervisor wakes one idle worker for one new job, every idle
 * worker for more work (a bulk enqueue, a retry, a resume, freed capacity), and the busy ones
 * for a cancel (they look at their job's cancel request at once). */
#define WAKE_ONE 'e'
#define WAKE_ALL 'E'
#define WAKE_CANCEL 'c'

/* Write the byte what to the FIFO; never blocks, never writes into anything but a FIFO of this
 * user or root. Returns 0 (also when it was full already), or -errno (-ENXIO or -ENOENT: no
 * supervisor). */
int wake_notify(const char *db_path, char what);

#endif
