/*
 * The configuration file (JSON, read with cJSON): the concurrency policy, the job types and
 * their handlers, and supervisor settings. See docs/configuration.md for every key.
 */
#ifndef JOBQ_CONFIG_H
#define JOBQ_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "duration.h"
#include "names.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define CONFIG_DEFAULT_MAX_ATTEMPTS 3
#define CONFIG_DEFAULT_BACKOFF_BASE_MS 5000
#define CONFIG_DEFAULT_BACKOFF_MAX_MS 3600000
#define CONFIG_DEFAULT_LEASE_MS 300000
#define CONFIG_DEFAULT_GRACE_MS 10000
#define CONFIG_DEFAULT_OUTPUT_MAX (1024 * 1024)
#define CONFIG_DEFAULT_STDERR_MAX (64 * 1024)
#define CONFIG_DEFAULT_PAYLOAD_MAX (1024 * 1024)
#define CONFIG_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define CONFIG_SECRET_MIN 8     /* bytes: the shortest non-empty ${ENV} value of an http header */
#define CONFIG_ENV_NAME_MAX 255 /* bytes of the NAME of a ${NAME} in an http header */
#define CONFIG_WORKERS_MAX 256  /* workers of one supervisor (its table, the runtime file's) */
#define CONFIG_STR(x) CONFIG_STR_(x)
#define CONFIG_STR_(x) #x

/* One resource tag a job takes: a pool name and a number of units. */
struct tag {
	char name[NAME_TAG_MAX + 1];
	int units;
};

/* A named limit: concurrency.types.NAME or concurrency.resources.NAME. */
struct limit {
	char *name;
	int value;
};

enum handler_kind { HANDLER_NONE, HANDLER_EXEC, HANDLER_HTTP, HANDLER_BUILTIN };
enum builtin_kind { BUILTIN_NOOP, BUILTIN_SLEEP };

struct http_header {
	char *name;
	char *value; /* may hold ${ENV} references, expanded when the request is made (by the
	              * worker only: see config_check_env()) */
};

struct http_spec {
	char *url;    /* may hold {payload.KEY} placeholders, percent-encoded on use */
	char *method; /* "POST" by default */
	struct http_header *headers;
	size_t nheaders;
	char *body;                 /* JSON template text, or NULL: the payload is the body */
	int64_t connect_timeout_ms; /* CONFIG_DEFAULT_CONNECT_TIMEOUT_MS unless set */
	char *ca_bundle;            /* NULL: the system's */
	char *tokens_path;          /* "usage.total_tokens": where the response body says how many
	                             * tokens the request used (charged to the job's token budgets);
	                             * NULL: none */
};

struct type_config {
	char *name;
	enum handler_kind handler;
	char **exec_argv; /* NULL-terminated, for HANDLER_EXEC */
	size_t exec_argc;
	enum builtin_kind builtin;
	struct http_spec http;
	struct tag *resources; /* the type's own tags */
	size_t nresources;
	int singleton_namespace; /* "singleton": "namespace" */
	int64_t timeout_ms;      /* 0: none */
	int max_attempts;
	int64_t backoff_base_ms;
	int64_t backoff_max_ms;
	int64_t priority;
	char **env; /* "KEY=VALUE", NULL-terminated or NULL */
	size_t nenv;
	char **env_remove; /* names, NULL-terminated or NULL */
	size_t nenv_remove;
};

struct schedule; /* schedule.h */

struct config {
	char *path;                /* the file it came from, NULL for the built-in default */
	int global;                /* concurrency.global, default 1 */
	struct limit *type_limits; /* concurrency.types */
	size_t ntype_limits;
	struct limit *pools; /* concurrency.resources */
	size_t npools;
	/* "rates" and "tokens", parallel to pools (npools entries each; limit 0: none); NULL
	 * when no pool has one. */
	struct rate *pool_rates;  /* job starts per window */
	struct rate *pool_tokens; /* tokens reported per window */
	struct type_config *types;
	size_t ntypes;
	int workers;          /* 0: derived from the policy */
	int64_t grace_ms;     /* shutdown and cancel grace period */
	int64_t lease_ms;     /* lease of a claimed job */
	int synchronous_full; /* "durability": 1 "full" (the default), 0 "fast" */
	size_t payload_max;   /* "payload_max" bytes */
	size_t output_max;    /* "output_max": cap of stdout / http body kept as result */
	size_t stderr_max;    /* "stderr_max": cap of the stderr tail kept as error */
	size_t log_max;       /* "logs.max": bytes of an output file before rotation; 0: no files */
	int log_keep;         /* "logs.keep": rotated files kept per stream */
	char *metrics_listen; /* "metrics.listen": HOST:PORT of the supervisor's /metrics
	                       * endpoint (core/netaddr.h), NULL: none */
	int metrics_allow_remote;   /* "metrics.allow_remote": a non-loopback address is allowed */
	char *host;                 /* "host": this host's id (core/hostid.h), NULL: default */
	struct schedule *schedules; /* "schedules" (core/schedule.c) */
	size_t nschedules;
};

/* Fill cfg with the built-in default: global 1, no types. */
void config_init_default(struct config *cfg);

/*
 * Load and validate a config file into cfg (caller releases with config_release()).
 * On error returns -errno (-ENOENT, -EISDIR, -EFBIG, -EINVAL for invalid content, -ENOMEM) and
 * writes a one-line message into err naming the field path ("concurrency.types.enrich: must be
 * a positive integer", "invalid JSON near line 3", "cannot read: No such file or directory");
 * the message carries no file name: the caller adds "config 'PATH': ". A file jobq does not
 * trust (core/trust.h, TRUST_CODE) gives -EPERM, with a message that names it. Unknown and
 * duplicate keys are errors. The ${NAME} references of http header values are checked for syntax
 * only: whether they are set is config_check_env()'s business, asked only by the processes that
 * make requests. cfg is left released (the built-in default) on error.
 */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);

/* config_load() that also hands back the text it accepted (*text_out, *len_out; caller frees),
 * for a supervisor to give its workers exactly what it checked. */
int config_load_text(const char *path, struct config *cfg, char **text_out, size_t *len_out,
                     char *err, size_t errlen);

/* Parse the configuration text in the file open at fd, read from offset 0 with pread() (the
 * offset of a descriptor shared by several processes is left alone); name is for cfg->path. */
int config_load_fd(int fd, const char *name, struct config *cfg, char *err, size_t errlen);

/* Same, from NUL-terminated JSON text already in memory; name (may be NULL) becomes
 * cfg->path. A \u0000 escape in any string, a key too, is an error naming its field path
 * (config_load also refuses a raw NUL byte in the file, naming its line). */
int config_parse(const char *text, const char *name, struct config *cfg, char *err, size_t errlen);

/*
 * Find the config file: explicit (--config) if non-NULL, else $JOBQ_CONFIG, else "jobq.json" in
 * db_path's folder if it exists (none for a PostgreSQL target: name it with --config or
 * $JOBQ_CONFIG). Writes the path into out and returns 1, or returns 0 for
 * "use the built-in default", or -ENAMETOOLONG.
 */
int config_locate(const char *explicit_path, const char *db_path, char *out, size_t len);

/* Free what cfg holds and reset it to the built-in default; NULL and repeated calls are safe. */
void config_release(struct config *cfg);

/*
 * The secrets of http types: check that every ${NAME} the headers of cfg's http types refer to
 * is set in the environment now, and that each value is empty or at least CONFIG_SECRET_MIN
 * bytes long (a shorter secret cannot be masked in what is kept of a response without masking
 * ordinary text too). Only the process that makes requests needs them: the supervisor calls it
 * at start and on reload, the worker before each request; producers and operators never do.
 * Returns 0, or -ENOKEY with a message in err naming the field path, the type and the variable
 * ("types.chat.http.headers.Authorization: environment variable 'OPENAI_API_KEY' is not set
 * (type 'chat' needs it)"). config_type_check_env() checks one type (0 for a type without http).
 */
int config_check_env(const struct config *cfg, char *err, size_t errlen);
int config_type_check_env(const struct type_config *t, char *err, size_t errlen);

/* Lookups; NULL / -1 when absent. */
const struct type_config *config_type(const struct config *cfg, const char *type);
int config_type_limit(const struct config *cfg, const char *type); /* -1: no limit */
int config_pool(const struct config *cfg, const char *tag);        /* -1: no such pool */
int config_pool_index(const struct config *cfg, const char *tag);  /* in cfg->pools, or -1 */

/* Number of worker processes: cfg->workers if set, else the largest concurrency the policy
 * allows (global), capped by online CPUs * 4, memory / 64 MiB and 256, at least 1. */
int config_worker_count(const struct config *cfg);

/*
 * The same for a supervisor started with --workers workers_arg (0: not given), and why it runs
 * fewer workers than concurrency.global when it does (why gets "" otherwise): "global 12 capped
 * at 4 × 2 CPUs; set \"workers\" to run more", "global 12 capped at 3 by memory (192 MiB, 64
 * MiB per worker); ...", "global 3, but --workers 1", "global 3, but \"workers\": 2". why may
 * be NULL.
 */
int config_workers(const struct config *cfg, int workers_arg, char *why, size_t whylen);

/* 1 when jobs of type have a handler (exec, http, builtin) in cfg, else 0. */
int config_type_handled(const struct config *cfg, const char *type);

/*
 * May jobs of type be enqueued, or type be paused? 0 when cfg declares it (a key of "types",
 * with or without a handler, or of concurrency.types) or declares no type at all (the built-in
 * default: any type, for external workers); else -ENOENT with err holding "unknown type
 * 'enrch', did you mean 'enrich'? (known: enrich, story; declare a type without a handler for
 * external workers)". err may be NULL.
 */
int config_type_known(const struct config *cfg, const char *type, char *err, size_t errlen);

/* The same for a resource pool of concurrency.resources: "unknown resource 'gpus', did you
 * mean 'gpu'? (known: cpu, gpu)", "unknown resource 'gpu' (no pools in
 * concurrency.resources)". */
int config_pool_known(const struct config *cfg, const char *tag, char *err, size_t errlen);

#endif
