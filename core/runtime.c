/* The supervisor's runtime file and wake-up FIFO. See runtime.h. */
#include "runtime.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bsd/string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dblocal.h"
#include "duration.h"
#include "fileio.h"
#include "proc.h"
#include "trust.h"

#define RUNTIME_MAX (64 * 1024)

int
runtime_path(const char *db_path, const char *suffix, char *out, size_t len)
{
	return db_local_path(db_path, suffix, out, len);
}

static int
get_string(const cJSON *root, const char *key, char *out, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!cJSON_IsString(v) || strlcpy(out, v->valuestring, len) >= len)
		return -EINVAL;
	return 0;
}

static int
get_number(const cJSON *root, const char *key, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!cJSON_IsNumber(v))
		return -EINVAL;
	*out = v->valuedouble;
	return 0;
}

int
runtime_read(const char *db_path, struct runtime_info *out)
{
	char path[4096], started[64];
	char *text = NULL;
	cJSON *root = NULL;
	struct stat st;
	double ver, pid, workers, start;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = runtime_path(db_path, ".runtime.json", path, sizeof(path))) < 0)
		return r;
	/* Planted by another user, it would name a supervisor that is not there. */
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode) || trust_stat(&st, path, TRUST_DATA, NULL, 0) < 0)
		return -EPERM;
	if ((r = file_read(path, RUNTIME_MAX, &text, NULL)) < 0)
		return r == -ENOENT ? 0 : -EINVAL;
	r = -EINVAL;
	if ((root = cJSON_ParseWithOpts(text, NULL, 1)) == NULL)
		goto out;
	if (get_number(root, "schema_version", &ver) < 0 || ver != RUNTIME_SCHEMA_VERSION)
		goto out;
	if (get_number(root, "pid", &pid) < 0 || get_number(root, "workers", &workers) < 0 ||
	    get_number(root, "pid_start", &start) < 0 ||
	    get_string(root, "database", out->database, sizeof(out->database)) < 0 ||
	    get_string(root, "wake", out->wake, sizeof(out->wake)) < 0 ||
	    get_string(root, "started_at", started, sizeof(started)) < 0 ||
	    time_parse_rfc3339(started, &out->started_at) < 0)
		goto out;
	out->schema_version = (int)ver;
	out->pid = (pid_t)pid;
	out->pid_start = (uint64_t)start;
	out->workers = (int)workers;
	/* Optional: written since issue 12; null or absent when the workers cover the policy. */
	const cJSON *note = cJSON_GetObjectItemCaseSensitive(root, "workers_note");
	if (cJSON_IsString(note))
		strlcpy(out->workers_note, note->valuestring, sizeof(out->workers_note));
	const cJSON *pids = cJSON_GetObjectItemCaseSensitive(root, "worker_pids"), *p;
	cJSON_ArrayForEach(p, pids)
	{
		if (cJSON_IsNumber(p) && out->nworker_pids < CONFIG_WORKERS_MAX)
			out->worker_pids[out->nworker_pids++] = (pid_t)p->valuedouble;
	}
	double d;
	if (get_number(root, "worker_restarts", &d) == 0 && d >= 0)
		out->worker_restarts = (int64_t)d;
	if (get_number(root, "orphans_reaped", &d) == 0 && d >= 0)
		out->orphans_reaped = (int64_t)d;
	if (get_string(root, "metrics", out->metrics, sizeof(out->metrics)) < 0)
		out->metrics[0] = '\0';
	if (get_string(root, "host", out->host, sizeof(out->host)) < 0)
		out->host[0] = '\0';
	out->stale = !proc_alive(out->pid, out->pid_start);
	r = 1;
out:
	cJSON_Delete(root);
	free(text);
	return r;
}

int
runtime_write(const char *db_path, const struct runtime_info *info)
{
	char path[4096], started[64];
	char *text = NULL;
	cJSON *root;
	int r = -ENOMEM;

	if ((r = runtime_path(db_path, ".runtime.json", path, sizeof(path))) < 0)
		return r;
	if ((root = cJSON_CreateObject()) == NULL)
		return -ENOMEM;
	time_format_rfc3339(info->started_at, started, sizeof(started));
	r = -ENOMEM;
	if (cJSON_AddNumberToObject(root, "schema_version", RUNTIME_SCHEMA_VERSION) == NULL ||
	    cJSON_AddNumberToObject(root, "pid", info->pid) == NULL ||
	    cJSON_AddNumberToObject(root, "pid_start", (double)info->pid_start) == NULL ||
	    cJSON_AddStringToObject(root, "started_at", started) == NULL ||
	    cJSON_AddStringToObject(root, "database", info->database) == NULL ||
	    cJSON_AddNumberToObject(root, "workers", info->workers) == NULL ||
	    (info->workers_note[0] != '\0'
	             ? cJSON_AddStringToObject(root, "workers_note", info->workers_note)
	             : cJSON_AddNullToObject(root, "workers_note")) == NULL ||
	    cJSON_AddStringToObject(root, "wake", info->wake) == NULL ||
	    cJSON_AddNumberToObject(root, "worker_restarts", (double)info->worker_restarts) ==
	            NULL ||
	    cJSON_AddNumberToObject(root, "orphans_reaped", (double)info->orphans_reaped) == NULL ||
	    (info->metrics[0] != '\0' ? cJSON_AddStringToObject(root, "metrics", info->metrics)
	                              : cJSON_AddNullToObject(root, "metrics")) == NULL ||
	    (info->host[0] != '\0' ? cJSON_AddStringToObject(root, "host", info->host)
	                           : cJSON_AddNullToObject(root, "host")) == NULL)
		goto out;
	cJSON *pids = cJSON_AddArrayToObject(root, "worker_pids");
	for (int i = 0; pids != NULL && i < info->nworker_pids; i++) {
		cJSON *n = cJSON_CreateNumber(info->worker_pids[i]);
		if (n == NULL || !cJSON_AddItemToArray(pids, n)) {
			cJSON_Delete(n);
			goto out;
		}
	}
	if (pids == NULL || (text = cJSON_Print(root)) == NULL)
		goto out;
	r = file_write_atomic(path, text, strlen(text));
out:
	cJSON_free(text);
	cJSON_Delete(root);
	return r;
}

void
runtime_remove(const char *db_path)
{
	char path[4096];

	if (runtime_path(db_path, ".runtime.json", path, sizeof(path)) == 0)
		unlink(path);
}
