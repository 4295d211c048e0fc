/*
 * The power-loss VFS of test-powerloss.c: a shim over SQLite's unix VFS that records, per file,
 * the writes since the file's last xSync and, after the Nth xWrite or xSync (pl.crash_at),
 * undoes those not covered by a sync (optionally keeping a random subset, re-applied in order)
 * and fails every later call. Included by one test file, so its functions are static; cmocka and
 * <sqlite3.h> must be included first.
 */
#ifndef JOBQ_POWERLOSS_VFS_H
#define JOBQ_POWERLOSS_VFS_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a PRNG (splitmix64): the same seed gives the same workload and crash point ---- */

static uint64_t
rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint64_t
rnd(uint64_t *s, uint64_t n)
{
	return n > 0 ? rnd_next(s) % n : 0;
}

/* ---- the shim ---- */

/* One change not yet covered by a sync of its file. */
struct pl_op {
	int trunc;              /* 0: a write, 1: a truncate */
	int64_t off;            /* write: offset; truncate: the new size */
	int64_t len;            /* write: bytes written */
	sqlite3_int64 old_size; /* the file's size before */
	unsigned char *old;     /* write: the bytes it overwrote (those below old_size);
	                         * truncate: the tail it cut */
	unsigned char *new;     /* write: the bytes written */
};

struct pl_file {
	sqlite3_file base;
	sqlite3_file *real; /* NULL once closed */
	char *path;         /* copy, for undo after close */
	struct pl_op *ops;
	size_t nops, cap;
	struct pl_file *next; /* every file that has pending changes or is open */
	int open;
};

static struct {
	sqlite3_vfs vfs;
	sqlite3_vfs *real;
	long events;   /* xWrite and xSync calls so far */
	long syncs;    /* xSync calls so far */
	long crash_at; /* lose power after this event; 0: never */
	int dead;
	int keep_some; /* keep each unsynced write with probability 1/2 */
	uint64_t rng;
	struct pl_file *files;
	long lost_ops, kept_ops;
} pl;

static void
op_free(struct pl_op *op)
{
	free(op->old);
	free(op->new);
}

static void
file_drop_ops(struct pl_file *f)
{
	for (size_t i = 0; i < f->nops; i++)
		op_free(&f->ops[i]);
	f->nops = 0;
}

static int
file_push(struct pl_file *f, const struct pl_op *op)
{
	if (f->nops == f->cap) {
		size_t cap = f->cap > 0 ? f->cap * 2 : 16;
		struct pl_op *ops = realloc(f->ops, cap * sizeof(*ops));

		if (ops == NULL)
			return -1;
		f->ops = ops;
		f->cap = cap;
	}
	f->ops[f->nops++] = *op;
	return 0;
}

/* The raw file operations used to undo and redo: through the real sqlite3_file while it is
 * open, through a descriptor of our own once SQLite has closed it. */
struct raw_io {
	struct pl_file *f;
	int fd;
};

static int
raw_write(struct raw_io *io, const void *buf, int64_t len, int64_t off)
{
	if (len <= 0)
		return 0;
	if (io->f->open)
		return io->f->real->pMethods->xWrite(io->f->real, buf, (int)len, off) == SQLITE_OK
		               ? 0
		               : -1;
	return pwrite(io->fd, buf, (size_t)len, off) == (ssize_t)len ? 0 : -1;
}

static int
raw_truncate(struct raw_io *io, int64_t size)
{
	if (io->f->open)
		return io->f->real->pMethods->xTruncate(io->f->real, size) == SQLITE_OK ? 0 : -1;
	return ftruncate(io->fd, size);
}

/* Power loss for one file: undo every pending change in reverse order; with keep_some, then
 * redo, in order, the ones the disk happened to keep. */
static void
file_lose_power(struct pl_file *f)
{
	struct raw_io io = {f, -1};
	char *keep;

	if (f->nops == 0)
		return;
	if (!f->open && (io.fd = open(f->path, O_RDWR | O_CLOEXEC)) < 0)
		return; /* unlinked: its content no longer matters */
	if ((keep = calloc(f->nops, 1)) == NULL)
		fail_msg("out of memory");
	for (size_t i = f->nops; i-- > 0;) {
		struct pl_op *op = &f->ops[i];
		int r;

		if (op->trunc && op->old_size > op->off) {
			r = raw_write(&io, op->old, op->old_size - op->off, op->off);
		} else if (op->trunc) {
			r = raw_truncate(&io, op->old_size);
		} else {
			int64_t below = op->old_size - op->off;

			below = below < 0 ? 0 : below > op->len ? op->len : below;
			r = raw_write(&io, op->old, below, op->off);
			if (r == 0 && op->off + op->len > op->old_size)
				r = raw_truncate(&io, op->old_size);
		}
		if (r < 0)
			fail_msg("power loss: cannot undo a write to '%s'", f->path);
		keep[i] = pl.keep_some && rnd(&pl.rng, 2) == 1;
	}
	for (size_t i = 0; i < f->nops; i++) {
		struct pl_op *op = &f->ops[i];

		if (!keep[i]) {
			pl.lost_ops++;
			continue;
		}
		pl.kept_ops++;
		if ((op->trunc ? raw_truncate(&io, op->off)
		               : raw_write(&io, op->new, op->len, op->off)) < 0)
			fail_msg("power loss: cannot redo a write to '%s'", f->path);
	}
	free(keep);
	if (io.fd >= 0)
		close(io.fd);
	file_drop_ops(f);
}

static void
lose_power(void)
{
	pl.dead = 1;
	for (struct pl_file *f = pl.files; f != NULL; f = f->next)
		file_lose_power(f);
}

/* Count an xWrite or xSync that succeeded; the power goes right after the chosen one. */
static void
event(void)
{
	if (++pl.events == pl.crash_at)
		lose_power();
}

static void
unlink_file(struct pl_file *f)
{
	for (struct pl_file **p = &pl.files; *p != NULL; p = &(*p)->next) {
		if (*p == f) {
			*p = f->next;
			break;
		}
	}
	file_drop_ops(f);
	free(f->ops);
	free(f->path);
}

#define REAL(f) (((struct pl_file *)(f))->real)

static int
x_close(sqlite3_file *file)
{
	struct pl_file *f = (struct pl_file *)file;
	int rc = f->real->pMethods->xClose(f->real);

	f->open = 0;
	if (f->nops > 0 && f->path != NULL) {
		/* Unsynced writes outlive the handle: keep them for a later power loss, in a copy,
		 * since SQLite frees this structure. */
		struct pl_file *keep = calloc(1, sizeof(*keep));

		if (keep == NULL)
			fail_msg("out of memory");
		*keep = *f;
		keep->real = NULL;
		for (struct pl_file **p = &pl.files; *p != NULL; p = &(*p)->next) {
			if (*p == f) {
				*p = keep;
				break;
			}
		}
		return rc;
	}
	unlink_file(f);
	return rc;
}

static int
x_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
	if (pl.dead)
		return SQLITE_IOERR_READ;
	return REAL(file)->pMethods->xRead(REAL(file), buf, amt, off);
}

static int
x_write(sqlite3_file *file, const void *buf, int amt, sqlite3_int64 off)
{
	struct pl_file *f = (struct pl_file *)file;
	struct pl_op op = {.off = off, .len = amt};
	int rc;

	if (pl.dead)
		return SQLITE_IOERR_WRITE;
	if ((rc = f->real->pMethods->xFileSize(f->real, &op.old_size)) != SQLITE_OK)
		return rc;
	op.old = malloc((size_t)amt);
	op.new = malloc((size_t)amt);
	if (op.old == NULL || op.new == NULL)
		fail_msg("out of memory");
	memcpy(op.new, buf, (size_t)amt);
	if (off < op.old_size) {
		rc = f->real->pMethods->xRead(f->real, op.old, amt, off);
		if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) {
			op_free(&op);
			return rc;
		}
	}
	if ((rc = f->real->pMethods->xWrite(f->real, buf, amt, off)) != SQLITE_OK) {
		op_free(&op);
		return rc;
	}
	if (file_push(f, &op) < 0)
		fail_msg("out of memory");
	event();
	return SQLITE_OK;
}

static int
x_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct pl_file *f = (struct pl_file *)file;
	struct pl_op op = {.trunc = 1, .off = size};
	int rc;

	if (pl.dead)
		return SQLITE_IOERR_TRUNCATE;
	if ((rc = f->real->pMethods->xFileSize(f->real, &op.old_size)) != SQLITE_OK)
		return rc;
	if (op.old_size > size) {
		if ((op.old = malloc((size_t)(op.old_size - size))) == NULL)
			fail_msg("out of memory");
		rc = f->real->pMethods->xRead(f->real, op.old, (int)(op.old_size - size), size);
		if (rc != SQLITE_OK) {
			op_free(&op);
			return rc;
		}
	}
	if ((rc = f->real->pMethods->xTruncate(f->real, size)) != SQLITE_OK) {
		op_free(&op);
		return rc;
	}
	if (file_push(f, &op) < 0)
		fail_msg("out of memory");
	return SQLITE_OK;
}

/* The disk model: a sync makes the file's writes durable. The real fsync is skipped, since the
 * shim is the disk here (and a run then costs no real syncs). */
static int
x_sync(sqlite3_file *file, int flags)
{
	struct pl_file *f = (struct pl_file *)file;

	if (pl.dead)
		return SQLITE_IOERR_FSYNC;
	file_drop_ops(f);
	pl.syncs++;
	event();
	return SQLITE_OK;
}

static int
x_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	if (pl.dead)
		return SQLITE_IOERR_FSTAT;
	return REAL(file)->pMethods->xFileSize(REAL(file), size);
}

static int
x_lock(sqlite3_file *file, int lock)
{
	if (pl.dead)
		return SQLITE_IOERR_LOCK;
	return REAL(file)->pMethods->xLock(REAL(file), lock);
}

static int
x_unlock(sqlite3_file *file, int lock)
{
	return REAL(file)->pMethods->xUnlock(REAL(file), lock);
}

static int
x_check_reserved(sqlite3_file *file, int *out)
{
	if (pl.dead)
		return SQLITE_IOERR_CHECKRESERVEDLOCK;
	return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out);
}

static int
x_file_control(sqlite3_file *file, int op, void *arg)
{
	return REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}

static int
x_sector_size(sqlite3_file *file)
{
	return REAL(file)->pMethods->xSectorSize(REAL(file));
}

static int
x_device_characteristics(sqlite3_file *file)
{
	return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file));
}

static int
x_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
	if (pl.dead)
		return SQLITE_IOERR_SHMMAP;
	return REAL(file)->pMethods->xShmMap(REAL(file), page, size, extend, out);
}

static int
x_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	return REAL(file)->pMethods->xShmLock(REAL(file), offset, n, flags);
}

static void
x_shm_barrier(sqlite3_file *file)
{
	REAL(file)->pMethods->xShmBarrier(REAL(file));
}

static int
x_shm_unmap(sqlite3_file *file, int delete_flag)
{
	return REAL(file)->pMethods->xShmUnmap(REAL(file), delete_flag);
}

/* Version 2: no xFetch, so SQLite never reads through a memory map the shim cannot see. */
static const sqlite3_io_methods pl_io = {
        .iVersion = 2,
        .xClose = x_close,
        .xRead = x_read,
        .xWrite = x_write,
        .xTruncate = x_truncate,
        .xSync = x_sync,
        .xFileSize = x_file_size,
        .xLock = x_lock,
        .xUnlock = x_unlock,
        .xCheckReservedLock = x_check_reserved,
        .xFileControl = x_file_control,
        .xSectorSize = x_sector_size,
        .xDeviceCharacteristics = x_device_characteristics,
        .xShmMap = x_shm_map,
        .xShmLock = x_shm_lock,
        .xShmBarrier = x_shm_barrier,
        .xShmUnmap = x_shm_unmap,
};

static int
v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	struct pl_file *f = (struct pl_file *)file;
	int rc;

	memset(f, 0, sizeof(*f));
	if (pl.dead)
		return SQLITE_CANTOPEN;
	f->real = (sqlite3_file *)(f + 1);
	if ((rc = pl.real->xOpen(pl.real, name, f->real, flags, out_flags)) != SQLITE_OK)
		return rc;
	if (name != NULL && (f->path = strdup(name)) == NULL)
		fail_msg("out of memory");
	f->open = 1;
	f->next = pl.files;
	pl.files = f;
	f->base.pMethods = &pl_io;
	return SQLITE_OK;
}

static int
v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	if (pl.dead)
		return SQLITE_IOERR_DELETE;
	return pl.real->xDelete(pl.real, name, sync_dir);
}

static int
v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return pl.real->xAccess(pl.real, name, flags, out);
}

static int
v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return pl.real->xFullPathname(pl.real, name, n, out);
}

static int
v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return pl.real->xRandomness(pl.real, n, out);
}

static int
v_sleep(sqlite3_vfs *vfs, int us)
{
	return pl.real->xSleep(pl.real, us);
}

static int
v_current_time(sqlite3_vfs *vfs, double *out)
{
	return pl.real->xCurrentTime(pl.real, out);
}

static int
v_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return pl.real->xGetLastError(pl.real, n, out);
}

static int
v_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return pl.real->xCurrentTimeInt64(pl.real, out);
}

/* Register the shim as the default VFS (once), or make the unix VFS the default again. */
static void
shim_default(int on)
{
	static int registered;

	if (!registered) {
		pl.real = sqlite3_vfs_find("unix");
		assert_non_null(pl.real);
		pl.vfs = (sqlite3_vfs){
		        .iVersion = 2,
		        .szOsFile = (int)sizeof(struct pl_file) + pl.real->szOsFile,
		        .mxPathname = pl.real->mxPathname,
		        .zName = "powerloss",
		        .xOpen = v_open,
		        .xDelete = v_delete,
		        .xAccess = v_access,
		        .xFullPathname = v_full_pathname,
		        .xRandomness = v_randomness,
		        .xSleep = v_sleep,
		        .xCurrentTime = v_current_time,
		        .xGetLastError = v_last_error,
		        .xCurrentTimeInt64 = v_current_time64,
		};
		registered = 1;
	}
	assert_int_equal(sqlite3_vfs_register(on ? &pl.vfs : pl.real, 1), SQLITE_OK);
}

/* A new run: no files, no crash yet. */
static void
shim_reset(long crash_at, int keep_some, uint64_t seed)
{
	while (pl.files != NULL) {
		struct pl_file *f = pl.files;
		int owned = !f->open; /* an open one is SQLite's (left open by a failed test) */

		unlink_file(f);
		if (owned)
			free(f);
	}
	pl.events = pl.syncs = 0;
	pl.crash_at = crash_at;
	pl.dead = 0;
	pl.keep_some = keep_some;
	pl.rng = seed ^ 0x5eed;
	pl.lost_ops = pl.kept_ops = 0;
}

#endif
