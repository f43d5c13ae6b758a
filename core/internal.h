/*
 * internal.h — declarations shared by the files of the runbox library.
 * Not installed; applications and backends never see it.
 */
#ifndef RUNBOX_CORE_INTERNAL_H
#define RUNBOX_CORE_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>

#include "runbox/backend.h"
#include "runbox/runbox.h"

#define RUNBOX_API __attribute__((visibility("default")))

/* ---- errors (error.c) ---- */
/* Formats the thread's last error and returns status. */
int rb_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int rb_vfail(int status, const char *fmt, va_list ap);
void rb_error_clear(void);

/* ---- small helpers (util.c) ---- */
double rb_now(void); /* monotonic seconds */
char *rb_strdup(const char *s);
/* Appends to a growable string; returns 0 or RUNBOX_ENOMEM. */
typedef struct rb_buf {
    char *data;
    size_t len, cap;
} rb_buf;
int rb_buf_append(rb_buf *b, const void *data, size_t len);
int rb_buf_printf(rb_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rb_buf_free(rb_buf *b);

/* ---- configuration values (config_values.c) ---- */
typedef enum rb_value_type {
    RB_T_STRING,
    RB_T_DURATION, /* seconds, "90", "1.5", "2m", "1h" */
    RB_T_SIZE,     /* bytes, "512m", "1g", "4096" */
    RB_T_COUNT,    /* unsigned integer */
    RB_T_BOOL      /* on/off, true/false, yes/no, 1/0 */
} rb_value_type;
/* Parses text as type; on failure returns -1 and sets *why (static). */
int rb_parse_duration(const char *s, double *out, const char **why);
int rb_parse_size(const char *s, uint64_t *out, const char **why);
int rb_parse_count(const char *s, uint64_t *out, const char **why);
int rb_parse_bool(const char *s, int *out, const char **why);
int rb_value_check(rb_value_type t, const char *s, const char **why);

/* ---- configuration store (config.c) ---- */
/* The core's own keys: valid in [runbox]; the limit keys are also valid in
 * every backend section, where they override [runbox] for that backend. */
typedef struct rb_core_key {
    const char *name;
    rb_value_type type;
    const char *def;  /* default text, NULL = unset */
    int limit;        /* RUNBOX_LIMIT_* bit when this key is a limit */
    const char *help;
} rb_core_key;
extern const rb_core_key rb_core_keys[];
const rb_core_key *rb_core_key_find(const char *name);
/* May the key appear in a backend's section (limits, pool settings)? */
int rb_core_key_per_backend(const rb_core_key *k);

typedef struct rb_entry {
    char *key;    /* "timeout" or "docker.image" */
    char *value;
    runbox_config_source source;
    char *origin; /* "runbox.ini:3", "environment DOCKER_HOST", "flag" */
} rb_entry;

struct runbox_config {
    rb_entry *entries;
    size_t count, cap;
};

const rb_entry *rb_config_entry(const runbox_config *cfg, const char *key);
/* For backend `name`: the entry of "name.key" or, failing that or when the
 * [runbox] one has higher precedence, of "key" (a core key). */
const rb_entry *rb_config_lookup(const runbox_config *cfg, const char *backend,
                                 const char *key);
int rb_config_copy(runbox_config **out, const runbox_config *in);
int rb_config_put(runbox_config *cfg, const char *key, const char *value,
                  runbox_config_source src, const char *origin);
/* Validates every "backend.*" key against the backend's declared keys. */
int rb_config_check_backend(const runbox_config *cfg,
                            const runbox_backend *vt);
/* Effective limits for a backend, and which were set explicitly. */
int rb_config_limits(const runbox_config *cfg, const char *backend,
                     runbox_limits *out, uint32_t *explicit_bits);
/* Colon-separated extra backend dirs (config backend_path), or NULL. */
const char *rb_config_backend_path(const runbox_config *cfg);

/* ---- loader (loader.c) ---- */
typedef struct rb_loaded {
    char *name;
    char *path;
    runbox_backend vt; /* host-sized copy; slots the plugin lacks are NULL */
} rb_loaded;
/* Loads (once per process) the backend `name` or explicit path. */
int rb_backend_load(const rb_loaded **out, const char *name_or_path,
                    const runbox_config *cfg);
/* Calls cb for every runbox-*.so in the search path. */
typedef void (*rb_found_cb)(void *ud, const char *name, const char *path,
                            int duplicate_of_earlier);
void rb_backend_scan(const runbox_config *cfg, rb_found_cb cb, void *ud);
/* "a, b, c": the backends found, for error messages. Caller frees. */
char *rb_backend_names(const runbox_config *cfg);
/* Does a backend with this name exist on disk? */
int rb_backend_exists(const runbox_config *cfg, const char *name);

/* ---- declared settings and claims (settings.c) ---- */
const runbox_setting *rb_setting_find(const runbox_backend *vt, const char *key);
int rb_setting_value_check(const runbox_setting *s, const char *value,
                           const char **why);
const char *rb_setting_type_name(int type);
/* At load: every claimed capability has its slot; declared settings are
 * well-formed. RUNBOX_EBACKEND naming path otherwise. */
int rb_backend_claims_check(const runbox_backend *vt, const char *path);
int rb_host_config_duration(runbox_host_ctx *h, const char *key, double *out);
int rb_host_config_size(runbox_host_ctx *h, const char *key, uint64_t *out);
int rb_host_config_count(runbox_host_ctx *h, const char *key, uint64_t *out);
int rb_host_config_bool(runbox_host_ctx *h, const char *key, int *out);
int rb_host_config_list(runbox_host_ctx *h, const char *key, char ***out);

/* ---- host table (host.c) ---- */
struct runbox_host_ctx {
    const char *backend;       /* borrowed from the loaded vtable */
    const runbox_backend *vt;  /* the loaded (host-sized) vtable */
    const runbox_config *cfg;  /* borrowed, lives as long as the context */
};
extern const runbox_host rb_host;

/* The sink of one running call. The backend reaches it from the sandbox's
 * thread while the caller waits; when the caller gives up on the call,
 * rb_exec_io_detach cuts it from the caller's result and cancel flag, so a
 * backend that carries on writes into nothing. */
struct runbox_exec_io {
    pthread_mutex_t lock;
    runbox_result *result;     /* NULL once detached */
    uint64_t cap;              /* per-stream output cap, 0 = unlimited */
    runbox_output_cb on_output;
    void *userdata;
    const volatile int *cancel;
    int expired;               /* the deadline passed (atomic) */
    int detached;
    int exception_set;
};
void rb_exec_io_init(runbox_exec_io *io, runbox_result *r,
                     const runbox_exec_options *opt, uint64_t cap);
void rb_exec_io_detach(runbox_exec_io *io);
void rb_exec_io_fini(runbox_exec_io *io);

/* ---- the sandbox's thread (worker.c) ---- */
typedef struct rb_worker rb_worker;
typedef void (*rb_job_fn)(void *arg);
/* When the caller gives up on a call: grace seconds after the deadline
 * (where *expired is set) or after it sees a cancel (runbox_interrupt or
 * *cancel). */
typedef struct rb_watch {
    double deadline;            /* rb_now() time, 0 = none */
    double grace;
    const volatile int *cancel; /* or NULL */
    int *expired;               /* or NULL */
} rb_watch;
enum { RB_WORKER_DONE = 0, RB_WORKER_ABANDONED = 1, RB_WORKER_BUSY = 2 };
/* Starts the thread (every signal blocked). */
int rb_worker_new(rb_worker **w);
/* Runs fn(arg) on the worker and waits for it, or gives up as watch says
 * (NULL: waits). On giving up, detach(arg) runs while the job cannot
 * finish, and arg then belongs to the worker, which calls release(arg)
 * when fn returns. RB_WORKER_BUSY: a call given up on earlier is still
 * running; nothing was started. */
int rb_worker_run(rb_worker *w, rb_job_fn fn, void *arg,
                  void (*detach)(void *), void (*release)(void *),
                  const rb_watch *watch);
/* Runs fn(arg) as the worker's last job and lets the thread end; waits
 * for it unless the worker is stuck in a call given up on (then fn runs
 * whenever that call returns), or runbox_interrupt() was called and grace
 * passed. Releases the caller's handle either way. */
int rb_worker_finish(rb_worker *w, rb_job_fn fn, void *arg, double grace);

/* ---- contexts and pools (context.c, pool.c) ---- */
/* A one-shot sandbox made ahead of time (prestart) for a pool. */
int rb_sandbox_prestart(runbox_context *c, void **sandbox, double lifetime);
const runbox_backend *rb_context_backend_vt(const runbox_context *c);
runbox_host_ctx *rb_context_host_ctx(runbox_context *c);
/* runbox_execute with a sandbox from pool when one is ready. */
int rb_run_pooled(runbox_context *c, runbox_pool *pool,
                  const runbox_exec_options *opt, runbox_result *r);
/* A ready sandbox whose lifetime covers a run of run_seconds, now owned by
 * the caller, or NULL (counted as a miss). */
void *rb_pool_take(runbox_pool *p, double run_seconds);
/* Hands a used sandbox back to be destroyed in the background. */
void rb_pool_dispose(runbox_pool *p, void *sandbox);

/* ---- owners of leftovers (owner.c): host->owner_self/owner_gone ---- */
void rb_owner_self(char *buf, size_t size);
int rb_owner_gone(const char *owner);

/* ---- results (result.c, traceback.c) ---- */
int rb_result_set_exception(runbox_result *r, const char *name,
                            const char *value, const char *traceback);
/* Appends a rich value (copies mime and data). */
int rb_result_add_rich(runbox_result *r, const char *mime, const void *data,
                       size_t len, int is_main);
/* Fills error_* from a CPython traceback at the end of stderr. 1 if found. */
int rb_result_parse_python_traceback(runbox_result *r);
/* Turns verdict error with a SystemExit exception into the exit status
 * the code asked for (exit_nonzero, or ok for 0), as a plain interpreter
 * would exit; a non-numeric argument is written to stderr through io.
 * Returns 1 when it applied. For every backend whose code runs in a
 * resident interpreter that reports SystemExit as an exception. */
int rb_result_system_exit(runbox_result *r, runbox_exec_io *io);
/* Keeps a backend's limit verdict only when it agrees with the limits set:
 * a SIGXCPU "timeout" with no CPU limit (or far below it) is the code's own
 * signal, verdict signaled. Notes a likely memory limit on a MemoryError
 * without calling it oom (verdict_check.c). */
void rb_result_check_verdict(runbox_result *r);

/* ---- text encodings (text.c) ---- */
/* A valid UTF-8 copy: invalid sequences and NUL become U+FFFD. *lossy is
 * set when anything was replaced. Caller frees. */
char *rb_utf8_repair(const char *data, size_t len, int *lossy);
char *rb_base64_encode(const void *data, size_t len);
/* Decodes standard base64 (padding optional); caller frees *out. */
int rb_base64_decode(const char *text, void **out, size_t *len);

#endif
