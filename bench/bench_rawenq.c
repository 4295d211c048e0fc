/*
 * The floor of a one-job enqueue process: a program linked with SQLite alone that opens the
 * database as jobq does (WAL; synchronous FULL, or NORMAL with DURABILITY=fast, as jobq's
 * "durability"), inserts one row of the same columns and exits. Measured beside `jobq enqueue`
 * and /bin/true to tell process start, SQLite and jobq's own work apart.
 *
 * usage: bench_rawenq DB TYPE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

int
main(int argc, char **argv)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	struct timespec ts;
	const char *level = getenv("DURABILITY");
	long long now;
	int rc;

	if (argc != 3)
		return 64;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		return 66;
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db,
	                  level != NULL && strcmp(level, "fast") == 0
	                          ? "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
	                          : "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;",
	                  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(
		        db,
		        "INSERT INTO jobs (type, namespace, payload, priority, run_at, "
		        "max_attempts, timeout, resources, unique_key, batch, created_at) "
		        "VALUES (?1, 'default', '{}', 0, ?2, 3, NULL, NULL, NULL, NULL, ?2)",
		        -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(stmt, 1, argv[2], -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 2, now);
		rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	if (rc == SQLITE_OK)
		printf("%lld\n", (long long)sqlite3_last_insert_rowid(db));
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : 70;
}
