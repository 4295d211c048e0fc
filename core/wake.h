/*
 * Wake-ups through a FIFO next to the database ("DB.wake", 0600; a PostgreSQL queue's is in the
 * state folder of core/dblocal.h): the supervisor holds it open
 * for reading; anyone who commits work writes one byte without blocking. No supervisor, no
 * reader: the write side fails at once with ENXIO, which callers ignore.
 */
#ifndef JOBQ_WAKE_H
#define JOBQ_WAKE_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

/* The FIFO's path for db_path: "DB.wake", or in the state folder for a PostgreSQL queue
 * (core/dblocal.h). Returns 0, -ENAMETOOLONG or -EPERM (a state folder jobq does not trust). */
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

/*
 * An idle worker's own wait for wake-ups, without the supervisor in between: the FIFO in an
 * epoll set with EPOLLEXCLUSIVE while the listener is armed. Every armed listener waits on the
 * same pipe, and a byte written wakes one of them, not all (no thundering herd) — of those
 * blocked in epoll_wait() (wake_listen_poll()): a process that poll()s the epoll descriptor
 * is woken whatever the flag says. A byte nobody read stays in the FIFO, and arming finds it at
 * once (level-triggered). A busy worker disarms, since an armed listener that does not read
 * would take the wake-up from the others.
 */
struct wake_listener {
	int fifo; /* the FIFO, opened as wake_open() does; -1 */
	int ep;   /* the epoll set: what to poll() for POLLIN; -1 */
	int armed;
};

/* Open the listener, disarmed. Returns 0 or -errno (l is then closed). */
int wake_listen_open(struct wake_listener *l, const char *db_path);

/* Arm (on) or disarm the listener; a no-op when it is so already. Returns 0 or -errno. */
int wake_listen_arm(struct wake_listener *l, int on);

/* Read the pending bytes (WAKE_ONE...) into buf. Returns their number, 0 when another listener
 * took them, or -errno. */
ssize_t wake_listen_read(struct wake_listener *l, char *buf, size_t len);

/* Add fd to the set for wake_listen_poll() (POLLIN), for good. Returns 0 or -errno. */
int wake_listen_watch(struct wake_listener *l, int fd);

/* poll() for an armed listener: fds may hold l->ep (standing for the FIFO) and fds added with
 * wake_listen_watch(), nothing else. Blocks in epoll_wait() and fills in the revents. Returns
 * what poll() would (-1 with errno on failure). */
int wake_listen_poll(struct wake_listener *l, struct pollfd *fds, nfds_t nfds, int timeout);

/* Close the listener; NULL or a closed one is a no-op. */
void wake_listen_close(struct wake_listener *l);

#endif
