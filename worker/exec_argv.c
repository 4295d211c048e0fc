/* The exec handler: the command's argv (placeholders substituted) and environment. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "buf.h"
#include "exec_impl.h"
#include "jobenv.h"

/* Substitute {job.*} and {payload.KEY} in one argv element; "{{" stands for "{" and any
 * other {...} is kept as written. */
int
exec_substitute(const char *tmpl, const struct job *job, const cJSON *payload, char **out,
                char *err, size_t errlen)
{
	struct buf b = {.max = ARG_MAX_BYTES};
	const char *bad = NULL;
	size_t badlen = 0;
	int r = placeholder_expand(tmpl, job, payload, NULL, &b, &bad, &badlen);

	if (r == -ENOENT) {
		snprintf(err, errlen, "exec: the payload has no '%.*s' for the placeholder",
		         badlen > 8 ? (int)(badlen - 8) : 0, bad + 8);
		r = -EINVAL;
	} else if (r == -EILSEQ) {
		placeholder_nul_error(job, "exec", err, errlen);
		r = -EINVAL;
	} else if (r == -E2BIG) {
		snprintf(err, errlen, "exec: an argument is longer than %d bytes", ARG_MAX_BYTES);
	} else if (r == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
	}
	if (r < 0) {
		buf_release(&b);
		return r;
	}
	*out = buf_detach(&b);
	return 0;
}

void
exec_free_vec(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

int
exec_build_argv(const struct handler_env *env, char ***out, char *err, size_t errlen)
{
	const struct type_config *t = env->type;
	cJSON *payload = cJSON_ParseWithOpts(env->job->payload != NULL ? env->job->payload : "null",
	                                     NULL, 1);
	char **argv = calloc(t->exec_argc + 1, sizeof(char *));
	int r = 0;

	if (argv == NULL) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < t->exec_argc; i++)
		r = exec_substitute(t->exec_argv[i], env->job, payload, &argv[i], err, errlen);
	cJSON_Delete(payload);
	if (r < 0) {
		exec_free_vec(argv);
		return r;
	}
	*out = argv;
	return 0;
}

/* Is the variable NAME=... of entry e named in list (names, NULL-terminated)? */
static int
named(const char *e, char *const *list)
{
	size_t n = strcspn(e, "=");
	for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
		size_t m = strcspn(list[i], "=");
		if (m == n && strncmp(e, list[i], n) == 0)
			return 1;
	}
	return 0;
}

int
exec_build_envp(const struct handler_env *env, const char *report, char ***out)
{
	static char *const ours[] = {
	        JOBENV_JOB_ID, JOBENV_JOB_TYPE, JOBENV_NAMESPACE, JOBENV_ATTEMPT,
	        JOBENV_DB,     JOBENV_REPORT,   "JOBQ_CONFIG",    NULL};
	const struct type_config *t = env->type;
	const struct job *j = env->job;
	size_t nbase = 0, n = 0;
	char **envp;

	while (env->base_envp != NULL && env->base_envp[nbase] != NULL)
		nbase++;
	if ((envp = calloc(nbase + t->nenv + 8, sizeof(char *))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < nbase; i++) {
		const char *e = env->base_envp[i];
		if (named(e, ours) || named(e, t->env_remove) || named(e, t->env))
			continue;
		if ((envp[n++] = strdup(e)) == NULL)
			goto nomem;
	}
	for (size_t i = 0; i < t->nenv; i++)
		if ((envp[n++] = strdup(t->env[i])) == NULL)
			goto nomem;
	if (asprintf(&envp[n++], JOBENV_JOB_ID "=%" PRId64, j->id) < 0 ||
	    asprintf(&envp[n++], JOBENV_JOB_TYPE "=%s", j->type) < 0 ||
	    asprintf(&envp[n++], JOBENV_NAMESPACE "=%s", j->namespace) < 0 ||
	    asprintf(&envp[n++], JOBENV_ATTEMPT "=%" PRId64, j->attempts) < 0 ||
	    jobenv_db(env->db_path, &envp[n++]) < 0 ||
	    asprintf(&envp[n++], JOBENV_REPORT "=%s", report) < 0) {
		envp[n - 1] = NULL;
		goto nomem;
	}
	envp[n] = NULL;
	*out = envp;
	return 0;
nomem:
	exec_free_vec(envp);
	return -ENOMEM;
}

/* The PATH a command is looked up in: the job's environment's, else the worker's (proc.c). */
const char *
exec_env_path(char *const *envp)
{
	const char *path = NULL;

	for (char *const *e = envp; e != NULL && *e != NULL; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	if (path == NULL)
		path = getenv("PATH");
	return path != NULL ? path : "/usr/local/bin:/usr/bin:/bin";
}
