/* The report folders of exec jobs and their removal. See reportdir.h. */
#include "reportdir.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"

const char *
reportdir_parent(size_t *len)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	*len = strlen(tmp);
	while (*len > 1 && tmp[*len - 1] == '/')
		(*len)--;
	return tmp;
}

/*
 * Remove the report folder NAME of the folder open at parent, and the files the command left in
 * it (one level). Never through a symbolic link, and only a folder of this user: whoever may
 * write the parent could have put something else under that name since it was made (and the
 * command itself may have), and following a link there would delete another folder's files.
 */
static void
remove_report_at(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	unlinkat(parent, name, AT_REMOVEDIR); /* a link put there meanwhile: ENOTDIR */
}

void
reportdir_remove(const char *dir)
{
	const char *slash = strrchr(dir, '/');
	char parent[4096];
	size_t n;
	int fd;

	if (slash == NULL || (n = (size_t)(slash - dir)) >= sizeof(parent))
		return;
	memcpy(parent, dir, n);
	parent[n > 0 ? n : 1] = '\0';
	if (n == 0)
		parent[0] = '/';
	if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	remove_report_at(fd, slash + 1);
	close(fd);
}

void
reportdir_cleanup(pid_t worker)
{
	char prefix[64];
	size_t n, plen, base = sizeof(REPORTDIR_PREFIX) - 1;
	const char *tmp = reportdir_parent(&n);
	char parent[4096];
	DIR *d;
	struct dirent *e;

	if (n >= sizeof(parent))
		return;
	memcpy(parent, tmp, n);
	parent[n] = '\0';
	plen = worker > 0 ? (size_t)snprintf(prefix, sizeof(prefix), REPORTDIR_PREFIX "%d.",
	                                     (int)worker)
	                  : (size_t)snprintf(prefix, sizeof(prefix), REPORTDIR_PREFIX);
	if ((d = opendir(parent)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (strncmp(e->d_name, prefix, plen) != 0)
			continue;
		if (worker > 0 && strlen(e->d_name) != plen + 6)
			continue;
		if (worker <= 0) { /* any worker's that is gone: "jobq-report.PID.XXXXXX" */
			char *end;
			long pid = strtol(e->d_name + base, &end, 10);
			if (pid <= 0 || *end != '.' || strlen(end) != 7 ||
			    proc_alive((pid_t)pid, 0))
				continue;
		}
		/* ours only: a folder (not a link) of this user, as mkdtemp made it */
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
			continue;
		remove_report_at(dirfd(d), e->d_name);
	}
	closedir(d);
}
