/* The identity of a job's processes in their environment. See jobenv.h. */
#include "jobenv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "conninfo.h"

int
jobenv_db(const char *db, char **out)
{
	char shown[JOBENV_DB_MAX];

	conninfo_mask(db, shown, sizeof(shown)); /* a cut name still identifies, unmasked never */
	if (asprintf(out, JOBENV_DB "=%s", shown) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int
jobenv_ident_init(struct jobenv_ident *w, int64_t id, int64_t attempt, const char *db)
{
	int n = 0;

	snprintf(w->id, sizeof(w->id), JOBENV_JOB_ID "=%" PRId64, id);
	snprintf(w->attempt, sizeof(w->attempt), JOBENV_ATTEMPT "=%" PRId64, attempt);
	w->env[n++] = w->id;
	if (attempt > 0)
		w->env[n++] = w->attempt;
	w->env[n] = NULL;
	if (jobenv_db(db, &w->db) < 0) {
		w->env[0] = NULL; /* no environment scan rather than a partial one */
		return -ENOMEM;
	}
	w->env[n++] = w->db;
	w->env[n] = NULL;
	return 0;
}

void
jobenv_ident_release(struct jobenv_ident *w)
{
	if (w == NULL)
		return;
	free(w->db);
	w->db = NULL;
	w->env[0] = NULL;
}
