/* The exec handler: the command's stdin (the payload), stdout (kept up to output_max) and
 * stderr (a ring of its last bytes), as they flow, into the output files too. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "exec_impl.h"
#include "joblog.h"
#include "log.h"

void
exec_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Read what a pipe has now. Returns 0 while open, 1 at EOF. */
int
exec_drain(struct exec *x, int *fd, int is_err)
{
	char buf[16384];

	while (*fd >= 0) {
		ssize_t n = read(*fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			exec_close_fd(fd);
			return 1;
		}
		if (n == 0) {
			exec_close_fd(fd);
			return 1;
		}
		if (joblog_write(&x->log[is_err], buf, (size_t)n) < 0)
			log_warnx("job %" PRId64
			          ": cannot write its %s file: %s (the rest is not kept)",
			          x->job_id, is_err ? "stderr" : "stdout",
			          strerror(x->log[is_err].err));
		if (!is_err) {
			size_t keep = x->out_max - x->out_len;
			if ((size_t)n < keep)
				keep = (size_t)n;
			else
				x->out_truncated |= (size_t)n > keep;
			memcpy(x->out + x->out_len, buf, keep);
			x->out_len += keep;
		} else if (x->err_max > 0) {
			for (ssize_t i = 0; i < n; i++)
				x->err[(x->err_total + (size_t)i) % x->err_max] = buf[i];
			x->err_total += (size_t)n;
		}
	}
	return 1;
}

void
exec_feed_stdin(struct exec *x)
{
	while (x->in_fd >= 0 && x->payload_off < x->payload_len) {
		ssize_t n = write(x->in_fd, x->payload + x->payload_off,
		                  x->payload_len - x->payload_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				exec_close_fd(&x->in_fd); /* EPIPE: the command does not read it */
			return;
		}
		x->payload_off += (size_t)n;
	}
	if (x->payload_off >= x->payload_len)
		exec_close_fd(&x->in_fd);
}

/* The last bytes of stderr, in order, without the final newline; buf holds err_max + 1. */
void
exec_tail_of_stderr(const struct exec *x, char *buf)
{
	size_t n = x->err_total < x->err_max ? x->err_total : x->err_max;
	size_t start = x->err_total < x->err_max ? 0 : x->err_total % x->err_max;

	for (size_t i = 0; i < n; i++)
		buf[i] = x->err[(start + i) % x->err_max];
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
}
