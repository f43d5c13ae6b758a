/*
 * backend.h — the contract between runbox and an execution backend.
 *
 * For backend authors only; applications include runbox.h.
 *
 * A backend is a shared object named runbox-<name>.so that exports exactly
 * one symbol, runbox_backend_init (build with -fvisibility=hidden and mark
 * the entry RUNBOX_BACKEND_EXPORT). It never links against the runbox
 * library: everything it needs from the core (memory, logging, errors,
 * configuration, the output sink of a running execution) comes through the
 * runbox_host table handed to it.
 *
 * ABI rules (the promise to binary plugins):
 *  - Every struct that crosses the boundary starts with abi_version and
 *    struct_size. RUNBOX_BACKEND_ABI changes only on an incompatible
 *    change; the loader refuses a plugin built for another ABI.
 *  - Within one ABI, members are only ever appended. Each appended member
 *    says "since struct_size covers it". The core reads a plugin's member
 *    only when the plugin's struct_size covers it, and treats a missing
 *    slot as NULL; a plugin must do the same with host structs.
 *  - Status codes are runbox.h's RUNBOX_E* values.
 *
 * Threading: open/close are called once per context, from one thread.
 * Sandbox calls on *different* sandboxes may run concurrently on different
 * threads; calls on one sandbox never overlap. probe may run at any time.
 */
#ifndef RUNBOX_BACKEND_H
#define RUNBOX_BACKEND_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "runbox.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RUNBOX_BACKEND_ABI 1u
#define RUNBOX_BACKEND_EXPORT __attribute__((visibility("default")))
#define RUNBOX_BACKEND_ENTRY "runbox_backend_init"

/* Capabilities a backend declares. The core refuses, with a clear error,
 * a request that needs a capability the backend lacks. */
enum {
    RUNBOX_CAP_SESSIONS = 1u << 0,    /* sandbox_create without oneshot works */
    RUNBOX_CAP_FILES = 1u << 1,       /* file_write / file_read */
    RUNBOX_CAP_STREAMING = 1u << 2,   /* emits output while the code runs */
    RUNBOX_CAP_NETWORK_CONTROL = 1u << 3, /* can switch the network off */
    RUNBOX_CAP_INSTALL = 1u << 4,     /* install */
    RUNBOX_CAP_ENVIRONMENT = 1u << 5, /* environment */
    RUNBOX_CAP_INTERPRETER = 1u << 6, /* a session keeps a resident
                                         interpreter: variables, imports
                                         and functions persist across its
                                         executions until it ends (see
                                         state_epoch) */
    RUNBOX_CAP_RICH_RESULTS = 1u << 7, /* reports rich values (images, ...) */
    /* Limits the backend can enforce (RUNBOX_LIMIT_* shifted by 16). */
    RUNBOX_CAP_LIMIT_CPU = (uint64_t)RUNBOX_LIMIT_CPU << 16,
    RUNBOX_CAP_LIMIT_MEMORY = (uint64_t)RUNBOX_LIMIT_MEMORY << 16,
    RUNBOX_CAP_LIMIT_PROCESSES = (uint64_t)RUNBOX_LIMIT_PROCESSES << 16,
    RUNBOX_CAP_LIMIT_FILE_SIZE = (uint64_t)RUNBOX_LIMIT_FILE_SIZE << 16,
    RUNBOX_CAP_LIMIT_OPEN_FILES = (uint64_t)RUNBOX_LIMIT_OPEN_FILES << 16
};

typedef enum runbox_log_level {
    RUNBOX_LOG_ERROR = 0,
    RUNBOX_LOG_WARN = 1,
    RUNBOX_LOG_INFO = 2,
    RUNBOX_LOG_DEBUG = 3
} runbox_log_level;

/* Opaque to backends. A runbox_host_ctx lives from probe/open until close;
 * a runbox_exec_io lives for one exec/install call. */
typedef struct runbox_host_ctx runbox_host_ctx;
typedef struct runbox_exec_io runbox_exec_io;

/* The host table: how a backend reaches the core. Every function is
 * thread-safe. Pointers stay valid until the backend is closed. */
typedef struct runbox_host {
    uint32_t abi_version;
    uint32_t struct_size;

    /* Memory that crosses the boundary (environment JSON, file_read data)
     * must come from alloc/realloc; the core frees it with free. */
    void *(*alloc)(size_t size);
    void *(*realloc)(void *p, size_t size);
    void (*free)(void *p);

    /* Logs to runbox's log (stderr, filtered by RUNBOX_LOG). */
    void (*log)(runbox_host_ctx *h, runbox_log_level level, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));
    /* Records the message the caller will see for a failing call and
     * returns status, so a backend can `return host->fail(h, RUNBOX_EAUTH,
     * "E2B_API_KEY not configured: ...")`. Say what failed and what to do. */
    int (*fail)(runbox_host_ctx *h, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* The effective value of a key in this backend's config section
     * ("image" reads [docker] image), falling back to the [runbox] value of
     * the same key for shared settings. NULL when unset. Borrowed. */
    const char *(*config_get)(runbox_host_ctx *h, const char *key);
    /* For a bad value: records "<origin>: [section] key = value: <why>"
     * (origin names the file and line, or the environment variable) and
     * returns RUNBOX_ECONFIG. */
    int (*config_error)(runbox_host_ctx *h, const char *key, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));

    /* Monotonic clock, seconds. */
    double (*now)(void);

    /* --- for one running execution --- */
    /* Output as the code produces it; stream 1 = stdout, 2 = stderr. The
     * core applies the output cap, keeps memory bounded and feeds the
     * caller's streaming callback. Returns RUNBOX_OK; never fails the run. */
    int (*emit)(runbox_exec_io *io, int stream, const void *data, size_t len);
    /* The code raised: name, value and traceback (any may be NULL). */
    int (*set_exception)(runbox_exec_io *io, const char *name,
                         const char *value, const char *traceback);
    /* A rich value by MIME type; data is raw bytes (decode base64 first). */
    int (*add_rich)(runbox_exec_io *io, const char *mime, const void *data,
                    size_t len, int is_main);
    /* Non-zero when the run must stop now (caller cancelled, SIGINT or
     * SIGTERM to the process). Poll it at least every 100 ms while waiting,
     * then stop the code and return with verdict CANCELED. */
    int (*cancelled)(runbox_exec_io *io);
} runbox_host;

/* Options for a new sandbox. */
typedef struct runbox_sandbox_opts {
    uint32_t abi_version;
    uint32_t struct_size;
    /* Non-zero: the sandbox serves exactly one exec/install and is then
     * destroyed, so the backend may defer or merge work (e.g. create the
     * container together with the run). Zero: a session sandbox. */
    int oneshot;
    /* Limits for everything run in it; network applies at creation. */
    runbox_limits limits;
    /* RUNBOX_LIMIT_* bits the user set explicitly (not defaults). A backend
     * that cannot enforce one of them must refuse with RUNBOX_EUNSUPPORTED
     * and say which setting to change; defaults it cannot enforce are simply
     * not reported in limits_applied. */
    uint32_t limits_required;
    /* NULL-terminated "NAME=value" strings the code's environment must
     * hold besides the backend's own (the host variables named by the
     * pass_env setting), or NULL. Borrowed until sandbox_destroy. Nothing
     * else of the host's environment may reach the code. */
    const char *const *env;
    /* --- since struct_size covers them (pools) --- */
    /* Non-zero: the sandbox is made ahead of time for a pool (oneshot is
     * set too). Do now everything that does not need the code (start the
     * container, the interpreter), so that exec only hands the code over.
     * Its one exec may come minutes later and from another thread; limits
     * are the context's, the request's differ only in wall_seconds. */
    int prestart;
    /* Seconds after its creation by which the sandbox must end by itself,
     * even when runbox is gone (SIGKILL), or 0 for the backend's own rule.
     * A pool sets it to its max age plus the run's timeout and a margin. A
     * backend that cannot enforce it says so in its README. */
    double lifetime;
} runbox_sandbox_opts;

/* One execution. Borrowed for the duration of the call. */
typedef struct runbox_exec_request {
    uint32_t abi_version;
    uint32_t struct_size;
    const char *code;     /* may hold any bytes; not NUL-terminated */
    size_t code_len;
    const char *language; /* one of the backend's languages */
    runbox_limits limits; /* wall_seconds here is the run's timeout */
    double deadline;      /* host->now() value by which the run must end,
                             0 = none. The backend stops the code then. */
    runbox_exec_io *io;   /* pass to host->emit & co. */
} runbox_exec_request;

/* What the backend reports back. Zeroed by the core (verdict OK,
 * exit_code 0, cpu_seconds -1) before the call. */
typedef struct runbox_exec_outcome {
    uint32_t abi_version;
    uint32_t struct_size;
    runbox_verdict verdict; /* OK, EXIT_NONZERO, SIGNALED, TIMEOUT, OOM,
                               ERROR, CANCELED. The core derives ERROR from
                               a Python traceback and TRUNCATED itself. */
    int exit_code;
    int signal;
    double cpu_seconds;      /* -1 when unknown */
    uint32_t limits_applied; /* RUNBOX_LIMIT_* really enforced */
    int execution_count;
    char isolation[96];      /* what isolated the run, for the result */
    char message[RUNBOX_MESSAGE_SIZE]; /* a note for the user (why it timed out) */
    /* Since struct_size covers it (write it only then): for a backend with
     * RUNBOX_CAP_INTERPRETER, the session's interpreter generation after
     * the run, starting at 1 and changed whenever the interpreter ended or
     * was restarted (its variables lost). Take it from what the backend
     * observed (the process ended, it killed it), never from the sandbox's
     * word. 0 = not tracked (one-shot runs, other backends). */
    uint64_t state_epoch;
} runbox_exec_outcome;

/* Sets out->state_epoch when the core's outcome has the member (a core
 * built against an older backend.h passes a smaller struct). */
static inline void runbox_outcome_set_state_epoch(runbox_exec_outcome *out,
                                                  uint64_t epoch)
{
    if (out->struct_size >= offsetof(runbox_exec_outcome, state_epoch) +
                                sizeof out->state_epoch)
        out->state_epoch = epoch;
}

/* The vtable. A backend returns a pointer to a static one. */
typedef struct runbox_backend {
    uint32_t abi_version; /* RUNBOX_BACKEND_ABI */
    uint32_t struct_size; /* sizeof(runbox_backend) as the plugin saw it */
    const char *name;     /* must equal the <name> in runbox-<name>.so */
    const char *description;
    uint64_t capabilities;               /* RUNBOX_CAP_* */
    const char *const *languages;        /* NULL-terminated; first = default */
    const char *const *config_keys;      /* keys accepted in [name], NULL-term. */
    const char *const *secret_keys;      /* subset masked in `runbox config`
                                            and never passed to code */

    /* Can the backend work on this machine with this configuration?
     * Cheap and side-effect free (no sandbox). RUNBOX_OK, or a status and a
     * message via host->fail ("no Docker daemon at ..."). Optional. */
    int (*probe)(const runbox_host *host, runbox_host_ctx *h);

    /* Reads and checks configuration (host->config_get/config_error), and
     * may clean up leftovers of crashed runs. *state is the backend's. */
    int (*open)(void **state, const runbox_host *host, runbox_host_ctx *h);
    /* Releases state; every sandbox was destroyed before. */
    void (*close)(void *state);

    /* Makes a sandbox. Errors via host->fail. */
    int (*sandbox_create)(void **sandbox, void *state,
                          const runbox_sandbox_opts *opts);
    /* Destroys it and everything in it; must not fail visibly. Called on
     * every path, also after cancellation. */
    void (*sandbox_destroy)(void *sandbox);

    /* Runs req in the sandbox. Returns RUNBOX_OK when the code ran (its
     * verdict goes in *out), or a status when the backend failed. */
    int (*exec)(void *sandbox, const runbox_exec_request *req,
                runbox_exec_outcome *out);

    /* Optional slots: NULL when the capability is not declared. */
    /* pip-installs spec (already validated by the core) into the sandbox;
     * req carries io, limits and deadline, code is NULL. */
    int (*install)(void *sandbox, const char *spec,
                   const runbox_exec_request *req, runbox_exec_outcome *out);
    /* *json (host->alloc) describes the sandbox: {"python":..,"platform":..,
     * "packages":{name:version},...}; the core adds backend and limits. */
    int (*environment)(void *sandbox, char **json);
    int (*file_write)(void *sandbox, const char *path, const void *data,
                      size_t len);
    /* *data from host->alloc, *len bytes; RUNBOX_ENOTFOUND if missing. */
    int (*file_read)(void *sandbox, const char *path, void **data,
                     size_t *len);
    /* --- since struct_size covers it --- */
    /* Is a sandbox made with prestart still usable? Called by the pool
     * while the sandbox waits (never during another call on it), so it
     * must be cheap: no network round trip where one can be avoided.
     * RUNBOX_OK, or a status (RUNBOX_EGONE) when the sandbox is known dead;
     * the pool then destroys it and makes another. Optional. */
    int (*sandbox_check)(void *sandbox);
    /* New slots are appended here, each gated on struct_size. */
} runbox_backend;

/* For runbox_backend_init: is the host table one this backend can use
 * (same ABI, and every member this header declares is there)? Returns
 * RUNBOX_OK, or RUNBOX_EABI with the reason written to why. Inline, so a
 * backend gets it without linking anything of runbox's. */
static inline int runbox_host_check(const runbox_host *host, const char *backend,
                                    char *why, size_t why_size)
{
    if (host && host->abi_version == RUNBOX_BACKEND_ABI &&
        host->struct_size >= sizeof(runbox_host))
        return RUNBOX_OK;
    if (why && why_size)
        snprintf(why, why_size,
                 "the %s backend was built for backend ABI %u with a "
                           "%u-byte host table; this runbox offers ABI %u, "
                           "%u bytes: rebuild the backend against this "
                           "runbox's backend.h", backend, RUNBOX_BACKEND_ABI,
                           (unsigned)sizeof(runbox_host),
                           host ? host->abi_version : 0u,
                           host ? host->struct_size : 0u);
    return RUNBOX_EABI;
}

/* The one exported symbol. Checks what the backend needs from the process
 * (libraries, host ABI) and returns the vtable. On refusal returns a
 * status and writes the reason to why (NUL-terminated, at most why_size). */
typedef int (*runbox_backend_init_fn)(const runbox_host *host,
                                      const runbox_backend **backend,
                                      char *why, size_t why_size);

#ifdef __cplusplus
}
#endif
#endif /* RUNBOX_BACKEND_H */
