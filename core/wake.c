/* Wake-ups through a FIFO next to the database. See wake.h. */
#include "wake.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dblocal.h"

int
wake_path(const char *db_path, char *out, size_t len)
{
	return db_local_path(db_path, ".wake", out, len);
}

int
wake_open(const char *db_path)
{
	char path[4096];
	struct stat st;
	int fd, r;

	if ((r = wake_path(db_path, path, sizeof(path))) < 0)
		return r;
	if (mkfifo(path, 0600) != 0 && errno != EEXIST)
		return -errno;
	if ((fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) || st.st_uid != geteuid()) {
		r = S_ISFIFO(st.st_mode) ? -EPERM : -EEXIST; /* another user's FIFO, or no FIFO */
		close(fd);
		return r;
	}
	if (fchmod(fd, 0600) != 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int
wake_notify(const char *db_path, char what)
{
	char path[4096];
	struct stat st;
	int fd, r = 0;

	if ((r = wake_path(db_path, path, sizeof(path))) < 0)
		return r;
	if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) ||
	    (st.st_uid != geteuid() && st.st_uid != 0))
		r = -EINVAL; /* never write into anything else, nor into another user's FIFO */
	else if (write(fd, &what, 1) != 1 && errno != EAGAIN)
		r = -errno;
	close(fd);
	return r;
}

int
wake_listen_open(struct wake_listener *l, const char *db_path)
{
	int r;

	l->armed = 0;
	l->ep = -1;
	if ((l->fifo = wake_open(db_path)) < 0)
		return l->fifo;
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		r = -errno;
		wake_listen_close(l);
		return r;
	}
	return 0;
}

int
wake_listen_arm(struct wake_listener *l, int on)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = l->fifo};

	if (l->ep < 0 || on == l->armed)
		return 0;
	/* EPOLLEXCLUSIVE is only for EPOLL_CTL_ADD: disarming removes the FIFO from the set. */
	if (epoll_ctl(l->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, l->fifo, &ev) < 0)
		return -errno;
	l->armed = on;
	return 0;
}

ssize_t
wake_listen_read(struct wake_listener *l, char *buf, size_t len)
{
	ssize_t n = read(l->fifo, buf, len);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	return n;
}

int
wake_listen_watch(struct wake_listener *l, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int
wake_listen_poll(struct wake_listener *l, struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct epoll_event ev[8];
	int n, ready = 0;

	if ((n = epoll_wait(l->ep, ev, 8, timeout)) < 0)
		return -1;
	for (nfds_t j = 0; j < nfds; j++)
		fds[j].revents = 0;
	for (int i = 0; i < n; i++) {
		int fd = ev[i].data.fd == l->fifo ? l->ep : ev[i].data.fd;

		for (nfds_t j = 0; j < nfds; j++) {
			if (fds[j].fd != fd)
				continue;
			ready += fds[j].revents == 0;
			/* EPOLLIN, EPOLLERR, EPOLLHUP have the values of their poll() twins */
			fds[j].revents |= (short)(ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP));
		}
	}
	return ready;
}

void
wake_listen_close(struct wake_listener *l)
{
	if (l == NULL)
		return;
	if (l->ep >= 0)
		close(l->ep);
	if (l->fifo >= 0)
		close(l->fifo);
	l->ep = l->fifo = -1;
	l->armed = 0;
}
