/*
 * What the benchmark programs share: a clock, fatal errors, fresh jobq databases, raw SQLite
 * connections configured as jobq configures its own (WAL, synchronous FULL or NORMAL as the
 * durability level says), policies built with config_parse(), and the "KEY VALUE" lines that
 * bench/run.sh turns into the table.
 *
 * The benchmarks include <sqlite3.h> on purpose: the raw SQLite baselines run the same rows and
 * the same transactions as jobq does, without jobq, on the same schema.
 */
#ifndef JOBQ_BENCH_COMMON_H
#define JOBQ_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "config.h"
#include "store.h"

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);

/* Print "bench: MESSAGE" to stderr and exit 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Remove a database and its -wal and -shm files; missing files are fine. */
void db_remove(const char *path);

/* Create a fresh jobq database at path (removing any old one): schema by store_open(). */
void db_create(const char *path);

/*
 * The durability level of the stores, libjobq handles and raw connections opened from now on:
 * 0 "full" (jobq's default, synchronous=FULL), 1 "fast" (synchronous=NORMAL). It starts from
 * $DURABILITY ("full" or "fast"; unset: full).
 */
void durability_set(int fast);
int durability_fast(void);
const char *durability_name(void);
/* Options for store_open(): create, at the current level. */
const struct store_opts *bench_store_opts(void);
/* The config path to give jobq_open() for a database at db_path: NULL (the default) for full; for
 * fast, a file db_path.json holding {"durability": "fast"}, written on first use. */
const char *bench_jobq_config(const char *db_path);

/* Open path with jobq's PRAGMAs (WAL, synchronous at the current level, temp_store MEMORY, busy
 * timeout). */
sqlite3 *raw_open(const char *path);
void raw_exec(sqlite3 *db, const char *sql);
sqlite3_stmt *raw_prepare(sqlite3 *db, const char *sql);
/* Step a statement to SQLITE_DONE (or one SQLITE_ROW, whose first column is returned) and reset
 * it; dies on error. Returns the first column of the row, or -1 when there was none. */
int64_t raw_step(sqlite3 *db, sqlite3_stmt *stmt);

/* Insert n queued jobs of type with payloads {"i":N} in one transaction, by one INSERT ...
 * SELECT over a recursive CTE: the quick way to fill a large database. */
void raw_fill(const char *path, const char *type, int64_t n);

/* Checkpoint and truncate the WAL so the database is one file (to copy it). */
void raw_checkpoint(const char *path);

/* Copy a file. */
void file_copy(const char *from, const char *to);

/* Parse a policy with config_parse(); dies on error. Release with config_release(). */
void policy(const char *json, struct config *cfg);

/* Median and mean of n values (v is sorted in place by median). */
double median(double *v, size_t n);
double mean(const double *v, size_t n);
/* The p-th percentile (0..100) of v, sorted in place. */
double percentile(double *v, size_t n, double p);

/* Outside the clock: wait until the jobq database open at db has no queued or running job (its
 * worker has finished the last one), looking every millisecond; dies after 10 s. */
void db_wait_idle(sqlite3 *db);

/* Remove dir's entries whose name starts with ',' (nq's job files: every nq job looks at all
 * earlier ones, so they are removed after each sample, outside the clock). NULL: nothing. */
void clean_dir(const char *dir);

/* Become a child subreaper (dies if it cannot): what a command leaves running (nq's job) comes
 * back to this process, for settle(). */
void subreaper(void);

/* Between two timed commands, outside the clock: reap every child left (blocking until the last
 * is gone), then sleep gap_ms for the work of servers that are not ours (tsp's, jobq's worker
 * finishing its job). */
void settle(long gap_ms);

/* The order of one round of interleaved commands: idx[0..n) a permutation of 0..n-1, a new one
 * from *seed at each call (the same sequence for the same seed). Shuffled, not rotated: under a
 * rotation (A B C, B C A, ...) A would still follow C in every round. */
void round_order(size_t *idx, size_t n, uint64_t *seed);

/* One result line on stdout: "KEY VALUE". */
void result(const char *key, double value);
/* The same for "PREFIX_NAME VALUE". */
void result_of(const char *prefix, const char *name, double value);

/*
 * One command of the interleaved benchmarks (bench_spawn, bench_submit): a list
 *   [--clean DIR] [--idle DB] KEY CMD [ARG...] [--- [--clean DIR] [--idle DB] KEY CMD...]...
 * where, after each timed run of KEY and outside the clock, --clean DIR removes nq's job files
 * (clean_dir()) and --idle DB waits for that jobq database's jobs to end (db_wait_idle()).
 */
struct bench_cmd {
	const char *key, *clean;
	sqlite3 *idle; /* NULL: none */
	char **argv;   /* NULL-terminated in place of the "---" that followed it */
};
/* Parse the command at argv[*i] into c and move *i past it. Returns 0, or -1 at the end of the
 * list; dies on a bad list. */
int bench_cmd_next(int argc, char **argv, int *i, struct bench_cmd *c);
/* After a run of c, outside the clock: its --clean and --idle. */
void bench_cmd_after(const struct bench_cmd *c);

/* An integer from the environment, or def. */
long env_long(const char *name, long def);

/* A store opened for claim benchmarks: its policy and a claim request owned by this process. */
struct lib {
	struct store *st;
	struct config cfg;
	struct claim_req req;
};
/* Open target (a SQLite path or a PostgreSQL conninfo) with policy_json; dies on error. */
void lib_open(struct lib *l, const char *target, const char *policy_json);
void lib_close(struct lib *l);
/* One claim: 1 claimed into j, 0 nothing claimable; dies on error. */
int lib_try_claim(struct lib *l, struct job *j);
/* Finish j as succeeded and release it; dies on error. */
void lib_finish(struct lib *l, struct job *j);

#endif
