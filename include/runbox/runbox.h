/*
 * runbox.h — the application API of runbox.
 *
 * runbox runs untrusted code through an execution backend chosen by
 * configuration (e2b, docker, subprocess, or a third-party plugin).
 * Applications include this header only; backend authors read backend.h.
 *
 * Conventions (the same everywhere in this header):
 *  - Functions return an int status: RUNBOX_OK (0) or a negative
 *    RUNBOX_E* code. Code that raised an exception or exited non-zero is
 *    *data in the result*, not a failed call.
 *  - Out-parameters come first. Objects made by runbox_x_new()/open() belong
 *    to the caller and are released by the matching _free()/_close(), which
 *    accepts NULL. Getters return borrowed pointers valid until the owner is
 *    freed or changed.
 *  - When a call fails, runbox_error_last() returns a one-line message for
 *    the calling thread that says what failed and what to do.
 *
 * Stability: this header follows the library's soname. Within one major
 * version, functions and enum values are only added, never renumbered.
 */
#ifndef RUNBOX_RUNBOX_H
#define RUNBOX_RUNBOX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RUNBOX_VERSION_MAJOR 0
#define RUNBOX_VERSION_MINOR 1
#define RUNBOX_VERSION_PATCH 0
#define RUNBOX_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ */
/* Status codes. Fixed values, never renumbered.                       */
/* ------------------------------------------------------------------ */
typedef enum runbox_status {
    RUNBOX_OK = 0,
    RUNBOX_EINVAL = -1,       /* a bad argument from the caller */
    RUNBOX_ENOMEM = -2,       /* out of memory on the host */
    RUNBOX_ECONFIG = -3,      /* bad configuration (file, line and key named) */
    RUNBOX_ENOTFOUND = -4,    /* no such backend, file or session */
    RUNBOX_EABI = -5,         /* a backend built for another ABI */
    RUNBOX_EUNSUPPORTED = -6, /* the backend lacks the capability asked for */
    RUNBOX_EBACKEND = -7,     /* the backend failed; not worth retrying as is */
    RUNBOX_EUNAVAILABLE = -8, /* retryable: daemon down, 429/503, capacity */
    RUNBOX_EAUTH = -9,        /* credentials missing or rejected */
    RUNBOX_ETIMEOUT = -10,    /* a request to the backend timed out */
    RUNBOX_EGONE = -11,       /* the sandbox no longer exists */
    RUNBOX_ECANCELED = -12,   /* the caller cancelled (or SIGINT/SIGTERM) */
    RUNBOX_EIO = -13,         /* local I/O failed (pipe, file, socket) */
    RUNBOX_EPROTO = -14,      /* malformed or truncated answer from a backend */
    RUNBOX_EDENIED = -15      /* refused by policy: bad package spec, network off */
} runbox_status;

/* Static English text for a status ("backend not found"). Never NULL. */
const char *runbox_strerror(int status);
/* The enum name without prefix ("ENOTFOUND"). Never NULL. */
const char *runbox_err_name(int status);
/* The calling thread's last error message; "" when none. Borrowed, valid
 * until the next failing runbox call on this thread. Thread-safe. */
const char *runbox_error_last(void);

/* ------------------------------------------------------------------ */
/* Limits: one vocabulary on every backend.                            */
/* ------------------------------------------------------------------ */
/* A zero field means "no limit of this kind". */
typedef struct runbox_limits {
    double wall_seconds;    /* whole-run deadline, enforced by runbox: at
                               the deadline the backend is told to stop;
                               one that has not stopped `grace` seconds
                               later is given up on (backend_failure) */
    double cpu_seconds;     /* CPU time of the code */
    uint64_t memory_bytes;  /* memory (address space or cgroup limit) */
    uint32_t processes;     /* processes/threads the code may have */
    uint64_t file_bytes;    /* largest file the code may write */
    uint32_t open_files;    /* open file descriptors */
    uint64_t output_bytes;  /* per stream (stdout, stderr) kept in results */
    int network;            /* 1 = network allowed, 0 = off */
} runbox_limits;

/* Bits of runbox_result.limits_applied: which limits were really enforced. */
enum {
    RUNBOX_LIMIT_WALL = 1u << 0,
    RUNBOX_LIMIT_CPU = 1u << 1,
    RUNBOX_LIMIT_MEMORY = 1u << 2,
    RUNBOX_LIMIT_PROCESSES = 1u << 3,
    RUNBOX_LIMIT_FILE_SIZE = 1u << 4,
    RUNBOX_LIMIT_OPEN_FILES = 1u << 5,
    RUNBOX_LIMIT_OUTPUT = 1u << 6,
    RUNBOX_LIMIT_NETWORK = 1u << 7 /* network was switched off */
};

/* ------------------------------------------------------------------ */
/* Results                                                             */
/* ------------------------------------------------------------------ */
typedef enum runbox_verdict {
    RUNBOX_VERDICT_OK = 0,          /* ran to the end, exit 0, no exception */
    RUNBOX_VERDICT_ERROR,           /* the code raised (error_name is set) */
    RUNBOX_VERDICT_EXIT_NONZERO,    /* exited with a non-zero status */
    RUNBOX_VERDICT_SIGNALED,        /* killed by a signal it did not ask for */
    RUNBOX_VERDICT_TIMEOUT,         /* the wall or CPU limit ended it (runbox's
                                       clock, or SIGXCPU under a CPU limit) */
    RUNBOX_VERDICT_OOM,             /* the kernel killed it for memory, as the
                                       backend saw (cgroup OOM kill, Docker's
                                       OOMKilled); a MemoryError is ERROR */
    RUNBOX_VERDICT_TRUNCATED,       /* ran fine, but output hit the cap */
    RUNBOX_VERDICT_BACKEND_FAILURE, /* the sandbox or backend failed; see message */
    RUNBOX_VERDICT_CANCELED         /* the caller stopped it */
} runbox_verdict;

/* "ok", "error", "exit_nonzero", "signaled", "timeout", "oom", "truncated",
 * "backend_failure", "canceled". Never NULL. */
const char *runbox_verdict_name(runbox_verdict v);
/* Inverse of runbox_verdict_name; RUNBOX_EINVAL for an unknown name. */
int runbox_verdict_parse(runbox_verdict *out, const char *name);

/* One captured stream. data is NUL-terminated for convenience but may hold
 * NUL bytes and invalid UTF-8: use len. total counts every byte the code
 * wrote, including what the cap dropped. */
typedef struct runbox_output {
    char *data;
    size_t len;
    uint64_t total;
    int truncated;
} runbox_output;

/* A rich value (a plot, an expression's value) keyed by MIME type, as the
 * E2B code interpreter reports them. Images are raw bytes, not base64. */
typedef struct runbox_rich {
    char *mime;
    char *data;
    size_t len;
    int is_main; /* the value of the last expression */
} runbox_rich;

#define RUNBOX_MESSAGE_SIZE 512

/* The typed result of one execution, identical for every backend.
 * Caller-owned: zero it (or runbox_result_init) before first use, and
 * release its buffers with runbox_result_clear(). Not thread-safe. */
typedef struct runbox_result {
    runbox_verdict verdict;
    int success;        /* verdict is OK or TRUNCATED: the guide's `success` */
    int exit_code;      /* -1 when unknown (killed, backend failure) */
    int signal;         /* the signal that ended it, or 0 */
    runbox_output out;  /* stdout */
    runbox_output err;  /* stderr */
    char *error_name;   /* "ZeroDivisionError", or NULL */
    char *error_value;  /* "division by zero", or NULL */
    char *traceback;    /* or NULL */
    runbox_rich *rich;
    size_t rich_count;
    int execution_count;   /* interpreter counter, 0 when none */
    double wall_seconds;   /* measured by runbox around the whole run */
    double cpu_seconds;    /* of the code, when the backend knows; else -1 */
    char backend[32];
    runbox_limits limits;  /* the limits requested */
    uint32_t limits_applied; /* RUNBOX_LIMIT_* bits really enforced */
    char isolation[96];    /* e.g. "namespaces(user,pid,net,mount,ipc)" */
    char message[RUNBOX_MESSAGE_SIZE]; /* why, for BACKEND_FAILURE/TIMEOUT/... */
    /* On a backend with RUNBOX_CAP_INTERPRETER, a session's interpreter
     * generation after this run: 1 for the first interpreter, changed
     * whenever it ended (the code exited or crashed, a timeout could not
     * interrupt it, runbox killed it) and a fresh one took over. Two
     * results of one session with the same value ran in the same
     * interpreter, so its variables persisted between them; a changed
     * value means they were lost. 0 when not tracked (one-shot runs,
     * backends without the capability). */
    uint64_t state_epoch;
} runbox_result;

void runbox_result_init(runbox_result *r);
/* Frees every buffer and re-initialises. Accepts NULL. */
void runbox_result_clear(runbox_result *r);

/* The JSON form of a result (one object; see README "Result JSON").
 * Output that is not valid UTF-8 or holds NUL bytes is given as text with
 * U+FFFD replacements plus an exact base64 copy ("stdout_base64"), so the
 * JSON is always valid and the round trip is exact.
 * *json is caller-owned, free() it. RUNBOX_ENOMEM. Thread-safe. */
int runbox_result_to_json(char **json, const runbox_result *r);
/* Parses runbox_result_to_json's output into r (which must be initialised;
 * it is cleared first). RUNBOX_EPROTO on malformed input. */
int runbox_result_from_json(runbox_result *r, const char *json);

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */
/* Precedence, highest first: runbox_config_set (command-line flags) >
 * environment > .env in the working directory > INI file > defaults.
 * Keys are "name" for [runbox] settings and "section.name" for a backend's
 * section ("docker.image"). Not thread-safe while being changed; a context
 * copies what it needs, so a config may be freed after runbox_context_new. */
typedef struct runbox_config runbox_config;

typedef enum runbox_config_source {
    RUNBOX_SRC_DEFAULT = 0,
    RUNBOX_SRC_FILE,
    RUNBOX_SRC_DOTENV,
    RUNBOX_SRC_ENV,
    RUNBOX_SRC_FLAG
} runbox_config_source;

int runbox_config_new(runbox_config **cfg);
void runbox_config_free(runbox_config *cfg);
/* Loads, in order, the INI file (path, or when NULL ./runbox.ini then
 * $XDG_CONFIG_HOME/runbox/config.ini or ~/.config/runbox/config.ini), then
 * ./.env, then the environment. An explicit path that does not exist,
 * a malformed line, an unknown key or a bad value is RUNBOX_ECONFIG with a
 * message naming the file, the line and the key. */
int runbox_config_load(runbox_config *cfg, const char *path);
/* Sets key as a command-line flag would (highest precedence). Validated as
 * a file value would be. RUNBOX_ECONFIG for an unknown key or bad value. */
int runbox_config_set(runbox_config *cfg, const char *key, const char *value);
/* The effective value or NULL. Borrowed. */
const char *runbox_config_get(const runbox_config *cfg, const char *key);
/* The effective value of a [runbox] setting as a number: seconds for a
 * duration, bytes for a size, the count, or 0/1 for a switch (the default
 * when unset). RUNBOX_EINVAL for an unknown or string setting,
 * RUNBOX_ECONFIG for a value that does not parse (the message says where
 * it came from). */
int runbox_config_get_number(const runbox_config *cfg, const char *key,
                             double *out);
/* Calls cb for every effective setting, sorted by key, with where it came
 * from ("runbox.ini:3", "environment E2B_API_KEY", "default", ...) and the
 * value with secrets masked. */
typedef void (*runbox_config_entry_cb)(void *userdata, const char *key,
                                       const char *shown_value,
                                       const char *origin);
void runbox_config_foreach(const runbox_config *cfg, runbox_config_entry_cb cb,
                           void *userdata);
/* One setting as `runbox config` shows it. Strings are borrowed for the
 * duration of the callback. */
typedef struct runbox_setting_info {
    const char *key;           /* "timeout", "docker.image" */
    const char *value;         /* effective value, secrets masked; NULL =
                                  unset and no default */
    const char *origin;        /* "runbox.ini:3", "environment DOCKER_HOST",
                                  "command line", "default", "unset" */
    const char *default_value; /* NULL when there is none */
    const char *type;          /* "string", "duration", "size", "count",
                                  "bool", "list", "limit" */
    const char *doc;           /* one line, "" when the backend gave none */
    int secret;
} runbox_setting_info;
typedef void (*runbox_setting_cb)(void *userdata, const runbox_setting_info *s);
/* Calls cb for every setting of backend (loading it): those it declares,
 * with their defaults, whether set or not, then limits set in its section;
 * backend NULL: the core's own settings. RUNBOX_ENOTFOUND and the loader's
 * errors for a backend that cannot be loaded. */
int runbox_config_describe(const runbox_config *cfg, const char *backend,
                           runbox_setting_cb cb, void *userdata);
/* Checks every backend section present against the keys that backend
 * declares (loading it); runbox_context_new checks only the chosen one. */
int runbox_config_validate_all(const runbox_config *cfg);

/* ------------------------------------------------------------------ */
/* Context: one backend opened from a configuration.                   */
/* ------------------------------------------------------------------ */
/* Thread-safe: several threads may execute through one context at once. */
typedef struct runbox_context runbox_context;

/* Loads the configured backend (config key "backend"), checks its ABI,
 * validates its config section and opens it. NULL cfg = defaults+env.
 * Errors: RUNBOX_ENOTFOUND (lists the backends that exist), RUNBOX_EABI,
 * RUNBOX_ECONFIG, RUNBOX_EAUTH (e.g. no API key), RUNBOX_EUNAVAILABLE
 * (e.g. daemon down), RUNBOX_EBACKEND. */
int runbox_context_new(runbox_context **ctx, const runbox_config *cfg);
/* Closes the backend; every session must be closed first. Accepts NULL. */
void runbox_context_free(runbox_context *ctx);
/* Borrowed name of the backend ("subprocess"). */
const char *runbox_context_backend(const runbox_context *ctx);
/* RUNBOX_CAP_* bits, defined in runbox/backend.h (include it to test
 * them). */
uint64_t runbox_context_capabilities(const runbox_context *ctx);
/* The limits that executions get unless a request overrides the timeout. */
const runbox_limits *runbox_context_limits(const runbox_context *ctx);
/* The languages the backend runs, NULL-terminated, the default first
 * (never NULL: {"python"} for a backend that names none). Borrowed, valid
 * while ctx is open. */
const char *const *runbox_context_languages(const runbox_context *ctx);

/* Called with output as the code produces it, before any cap is applied to
 * the stored copy (the callback sees at most the cap too). stream is 1 for
 * stdout, 2 for stderr. Runs on the sandbox's thread (one runbox starts per
 * sandbox) while the calling thread waits in the call; never after the
 * call returned, never concurrently with itself for one run. */
typedef void (*runbox_output_cb)(void *userdata, int stream, const char *data,
                                 size_t len);

/* What to run. Zero-initialise, then set code. */
typedef struct runbox_exec_options {
    const char *code;         /* required */
    size_t code_len;          /* 0 = strlen(code) */
    const char *language;     /* "python" (default), "bash", "sh", ... */
    double timeout;           /* seconds; 0 = the configured timeout */
    runbox_output_cb on_output;
    void *userdata;
    /* Optional: when *cancel becomes non-zero (from any thread or a signal
     * handler) the run is stopped and the verdict is CANCELED. */
    const volatile int *cancel;
} runbox_exec_options;

/* Runs code in a fresh sandbox that is destroyed afterwards.
 * Returns RUNBOX_OK whenever the code ran, whatever its verdict; a failure
 * of the backend returns its status AND fills r (verdict BACKEND_FAILURE or
 * CANCELED, message set). r must be initialised. */
int runbox_execute(runbox_context *ctx, const runbox_exec_options *opt,
                   runbox_result *r);

/* Installs a package spec (PEP 508 name with an optional version
 * specifier, e.g. "numpy>=1.26") in a fresh sandbox and reports pip's
 * output in r. Only useful on backends configured with a persistent package
 * directory; use a session otherwise. RUNBOX_EDENIED for a refused spec. */
int runbox_install_package(runbox_context *ctx, const char *spec,
                           runbox_result *r);

/* As runbox_install_package, with opt's timeout, cancel flag and output
 * callback (its code and language are ignored). opt may be NULL. */
int runbox_install_package_opt(runbox_context *ctx, const char *spec,
                               const runbox_exec_options *opt,
                               runbox_result *r);

/* Describes a fresh sandbox as JSON: interpreter version, platform,
 * installed packages, backend name, limits in force. *json caller-owned. */
int runbox_get_environment(runbox_context *ctx, char **json);

/* Checks a package spec without touching any backend. RUNBOX_OK or
 * RUNBOX_EDENIED with a message saying why. Thread-safe. */
int runbox_package_spec_check(const char *spec);

/* Stops every execution in this process (all contexts): for SIGINT/SIGTERM
 * handlers. Async-signal-safe. Sandboxes are still cleaned up by the
 * threads that run them. */
void runbox_interrupt(void);
/* Non-zero once runbox_interrupt() was called. */
int runbox_interrupted(void);

/* Keeps the process's standard output for the application: moves it to a
 * private descriptor (close-on-exec, above 2) and points fd 1 at stderr,
 * so that whatever a backend, a library it uses or a child it starts
 * writes to fd 1 or stdout lands on stderr instead of in the
 * application's output. Write the application's own output (results,
 * JSON, a protocol) to the returned descriptor, e.g. through
 * fdopen(fd, "w"). Call it early, before loading backends. Returns the
 * same descriptor on every call, or -1 with errno when fd 1 was not open.
 * Thread-safe. */
int runbox_reserve_stdout(void);

/* ------------------------------------------------------------------ */
/* Sessions: one sandbox kept across executions.                       */
/* ------------------------------------------------------------------ */
/* Files written and packages installed persist until the session closes.
 * On a backend with RUNBOX_CAP_INTERPRETER, Python variables, imports and
 * functions persist too, in one resident interpreter, for as long as it
 * lives: result.state_epoch says when it had to be restarted. A timeout or
 * cancel first interrupts the code (KeyboardInterrupt, state kept); code
 * that does not stop within a second, or that exits, ends the interpreter.
 * Processes the code leaves behind are killed after each execution.
 * Thread-safety: calls on one session are serialized (a second thread
 * waits for the first call to end); runbox_session_close must not race
 * with other calls on the same session. RUNBOX_EUNSUPPORTED when the
 * backend has no RUNBOX_CAP_SESSIONS. */
typedef struct runbox_session runbox_session;

int runbox_session_open(runbox_session **s, runbox_context *ctx);
/* Destroys the sandbox. Accepts NULL. */
void runbox_session_close(runbox_session *s);
int runbox_session_execute(runbox_session *s, const runbox_exec_options *opt,
                           runbox_result *r);
int runbox_session_install(runbox_session *s, const char *spec,
                           runbox_result *r);
/* As runbox_session_install, with opt's timeout, cancel flag and output
 * callback (its code and language are ignored). opt may be NULL. */
int runbox_session_install_opt(runbox_session *s, const char *spec,
                               const runbox_exec_options *opt,
                               runbox_result *r);
int runbox_session_environment(runbox_session *s, char **json);
/* Files inside the sandbox; a relative path is relative to the sandbox's
 * work directory. read: *data caller-owned (free()), NUL-terminated, *len
 * excludes the NUL. RUNBOX_ENOTFOUND for a missing file. */
int runbox_session_write_file(runbox_session *s, const char *path,
                              const void *data, size_t len);
int runbox_session_read_file(runbox_session *s, const char *path, void **data,
                             size_t *len);

/* ------------------------------------------------------------------ */
/* Pools: fresh sandboxes started ahead of time for one-shot runs.     */
/* ------------------------------------------------------------------ */
/* A pool keeps `size` fresh, never-used sandboxes started in the
 * background (the expensive part: a container started, an interpreter
 * loaded, a cloud sandbox created). runbox_pool_execute takes one, runs
 * the code in it and destroys it afterwards (in the background); the pool
 * then starts a replacement. A sandbox is never handed out twice. A
 * waiting sandbox older than max_age, or one the backend reports dead, is
 * destroyed and replaced. When the pool is empty (runs came faster than it
 * refills) a run gets a cold sandbox, exactly as runbox_execute without a
 * pool. After runbox_interrupt() the pool destroys what it holds and
 * starts nothing more. runbox_pool_free destroys everything.
 *
 * Every pooled sandbox is asked for a lifetime (max_age + the context's
 * timeout + 10 s) after which it ends by itself even if this process is
 * killed (e2b: the sandbox's lifetime, cut to the run's timeout + 30 s
 * when its run starts; docker: the deadline the container's init
 * enforces). Independently of it, a waiting
 * subprocess sandbox dies with runbox and a waiting docker container
 * exits when runbox's end of its input closes. A run whose timeout would
 * outlast a waiting sandbox's lifetime gets a cold sandbox instead.
 *
 * Setting pool_size (and pool_max_age) in the configuration makes
 * runbox_context_new create one such pool that runbox_execute uses.
 *
 * Thread-safety: every function here may be called from several threads
 * at once on one pool; the pool runs its own background threads. The pool
 * borrows its context: free the pool before the context. */
typedef struct runbox_pool runbox_pool;

typedef struct runbox_pool_options {
    unsigned size;  /* sandboxes kept ready, 1..64 */
    double max_age; /* seconds a ready sandbox may wait; 0 = 300 */
} runbox_pool_options;

/* Starts filling at once and returns without waiting. RUNBOX_EINVAL for a
 * bad size or age, RUNBOX_ENOMEM, or a thread that could not start. */
int runbox_pool_new(runbox_pool **pool, runbox_context *ctx,
                    const runbox_pool_options *opt);
/* Stops the background threads and destroys every sandbox the pool
 * holds or still has to dispose of. Runs in progress must have returned.
 * Accepts NULL. */
void runbox_pool_free(runbox_pool *pool);
/* As runbox_execute, in a sandbox from the pool when one is ready. */
int runbox_pool_execute(runbox_pool *pool, const runbox_exec_options *opt,
                        runbox_result *r);

typedef struct runbox_pool_stats {
    unsigned size;       /* configured */
    unsigned ready;      /* started, waiting for a run */
    unsigned starting;   /* being started now */
    uint64_t created;    /* sandboxes started since the pool was made */
    uint64_t hits;       /* runs served from the pool */
    uint64_t misses;     /* runs that found it empty (got a cold sandbox) */
    uint64_t expired;    /* replaced for age */
    uint64_t dead;       /* replaced because the backend said it died */
    uint64_t failures;   /* starts that failed (retried with a back-off) */
} runbox_pool_stats;
/* A consistent snapshot. */
void runbox_pool_stats_get(runbox_pool *pool, runbox_pool_stats *st);
/* Waits until at least n sandboxes are ready, or timeout seconds passed.
 * RUNBOX_OK, or RUNBOX_EUNAVAILABLE on timeout (with the last start
 * failure's message when there was one), RUNBOX_ECANCELED after
 * runbox_interrupt(). */
int runbox_pool_wait_ready(runbox_pool *pool, unsigned n, double timeout);
/* The pool runbox_context_new made from pool_size, or NULL. Borrowed. */
runbox_pool *runbox_context_pool(runbox_context *ctx);

/* Removes what runbox processes of this machine left behind when they
 * ended without cleaning up (killed with SIGKILL, crashed): containers,
 * cloud sandboxes still running under their name. Leftovers of runbox
 * processes that still run, of other machines or containers, and anything
 * runbox did not create are left alone. *removed (may be NULL) counts what
 * was removed now. RUNBOX_EUNSUPPORTED when the backend cannot list its
 * leftovers; a backend's failure to list them is its status. Thread-safe
 * with executions on the same context. */
int runbox_context_reap(runbox_context *ctx, unsigned *removed);

/* ------------------------------------------------------------------ */
/* Discovery                                                           */
/* ------------------------------------------------------------------ */
typedef struct runbox_backend_info {
    const char *name;
    const char *path;        /* the .so it was loaded from */
    const char *description;
    uint64_t capabilities;   /* RUNBOX_CAP_* */
    int usable;              /* the backend's probe says it can work here */
    const char *why;         /* when not usable, or a note when usable */
    const char *load_error;  /* non-NULL when the file could not be loaded */
} runbox_backend_info;

typedef void (*runbox_backend_info_cb)(void *userdata,
                                       const runbox_backend_info *info);
/* Finds every backend in the search path (see README), probes each with
 * cfg, and calls cb once per file found, sorted by name. */
int runbox_backends_list(const runbox_config *cfg, runbox_backend_info_cb cb,
                         void *userdata);
/* A comma-separated list of capability names for bits ("sessions,files"). */
void runbox_capabilities_str(uint64_t caps, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* RUNBOX_RUNBOX_H */
