/*
 * backend.h — the contract between runbox and an execution backend.
 *
 * For backend authors only; applications include runbox.h. backends/README.md
 * tells the same contract in prose, and examples/backend-template/ is a
 * working backend to start from.
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
 *  - Within one ABI, members are only ever appended. The core reads a
 *    plugin's member only when the plugin's struct_size covers it, and
 *    treats a missing slot as NULL. A plugin does the same with host
 *    structs: RUNBOX_HOST_HAS(host, member) before using a member newer
 *    than the first ABI-1 table, so that a plugin built against a newer
 *    header still loads on an older runbox (runbox_host_check asks only
 *    for the members every ABI-1 runbox has).
 *  - Status codes are runbox.h's RUNBOX_E* values.
 *
 * What the core checks, whatever the plugin does (so a plugin cannot
 * break runbox's promises to its users):
 *  - at load: the ABI, the vtable's size, the required slots, a slot for
 *    every capability claimed (files: file_write and file_read; install;
 *    environment), and the declared settings (their defaults must parse);
 *  - before any call: a limit the user set explicitly (cpu_time, memory,
 *    processes, file_size, open_files, network = off) needs the matching
 *    capability, else the request is refused (RUNBOX_EUNSUPPORTED);
 *  - during exec/install: at req->deadline the core makes host->cancelled()
 *    return non-zero; a call that has not returned `grace` seconds (a core
 *    setting, default 10) after the deadline or a cancel is given up on:
 *    the caller gets backend_failure naming the backend, and the call may
 *    run on, cut from the caller (its output goes nowhere, its sandbox is
 *    destroyed when it returns);
 *  - after exec: a verdict outside runbox_verdict becomes backend_failure;
 *  - output: the application's stdout is not the process's fd 1 when it
 *    uses runbox_reserve_stdout (the runbox command does): what a backend
 *    prints lands on stderr. Do not print; use host->log.
 *
 * Threads and signals: open/close are called once per context. Every call
 * on one sandbox (sandbox_create, exec, install, environment, file_*,
 * sandbox_destroy) runs on one thread runbox starts for that sandbox and
 * ends after sandbox_destroy, so PR_SET_PDEATHSIG set by a child forked in
 * any of them fires only when the sandbox is gone or runbox dies. That
 * thread has EVERY signal blocked: a child you fork inherits the blocked
 * mask and must reset it (sigprocmask) and the dispositions of the signals
 * it relies on before it execs code, or the code runs with SIGINT, SIGTERM
 * and others blocked. Calls on different sandboxes run concurrently on
 * different threads; calls on one sandbox never overlap. probe may run at
 * any time, on any thread.
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
    /* Non-zero when the run must stop now: the caller cancelled, SIGINT or
     * SIGTERM reached the process, or req->deadline passed. Poll it at
     * least every 100 ms while waiting, then stop the code and return
     * (verdict TIMEOUT when the deadline passed, CANCELED otherwise; the
     * core turns CANCELED into TIMEOUT when the deadline caused it). */
    int (*cancelled)(runbox_exec_io *io);

    /* --- Appended members: check RUNBOX_HOST_HAS(host, member) first. --- */

    /* Typed settings. The effective value of key (as config_get, the
     * declared default when unset), parsed the way the core parses its own
     * settings: durations "90", "1.5", "2m", "1h" (seconds); sizes "4096",
     * "512k", "1g" (bytes); counts; booleans on/off, true/false, yes/no,
     * 1/0; lists "a, b,c" (comma-separated, blanks trimmed, empty items
     * dropped). RUNBOX_OK; RUNBOX_ENOTFOUND when unset without a default;
     * RUNBOX_ECONFIG for a bad value, with a message naming where it came
     * from. config_list: *out is one host->alloc block (free it with
     * host->free), a NULL-terminated array of strings. */
    int (*config_duration)(runbox_host_ctx *h, const char *key, double *out);
    int (*config_size)(runbox_host_ctx *h, const char *key, uint64_t *out);
    int (*config_count)(runbox_host_ctx *h, const char *key, uint64_t *out);
    int (*config_bool)(runbox_host_ctx *h, const char *key, int *out);
    int (*config_list)(runbox_host_ctx *h, const char *key, char ***out);
    /* Owners of leftovers. */
    /* Names this process for what a backend leaves outside it (container
     * labels, cloud sandbox metadata): "<boot id>/<pid namespace>/<pid>/
     * <start time>", at most 127 bytes, NUL-terminated, into buf. */
    void (*owner_self)(char *buf, size_t size);
    /* 1 when owner (an owner_self text, maybe of another process) names a
     * process of this machine boot and pid namespace that has ended; 0 when
     * it runs or cannot be judged from here (another machine or container,
     * a malformed text). Never guesses "gone". */
    int (*owner_gone)(const char *owner);
    /* New members are appended here. */
} runbox_host;

/* Bytes of runbox_host up to and including member m. */
#define RUNBOX_HOST_SIZE_TO(m) \
    (offsetof(runbox_host, m) + sizeof(((runbox_host *)0)->m))
/* Does host have member m? An older runbox's table may end before it. */
#define RUNBOX_HOST_HAS(host, m) \
    ((host)->struct_size >= RUNBOX_HOST_SIZE_TO(m) && (host)->m != NULL)
/* The members every runbox of this ABI has (up to cancelled). */
#define RUNBOX_HOST_BASE_SIZE RUNBOX_HOST_SIZE_TO(cancelled)

/* Options for a new sandbox. */
typedef struct runbox_sandbox_opts {
    uint32_t abi_version;
    uint32_t struct_size;
    /* Non-zero: the sandbox serves exactly one exec/install and is then
     * destroyed, so the backend may defer or merge work (e.g. create the
     * container together with the run). Zero: a session sandbox. */
    int oneshot;
    /* Limits for everything run in it; network applies at creation. These
     * are the context's limits. An exec's own request carries the same
     * limits except wall_seconds, which is that run's timeout: enforce
     * cpu, memory, processes, file and open-file limits from these (the
     * sandbox's), the deadline from the request. */
    runbox_limits limits;
    /* RUNBOX_LIMIT_* bits the user set explicitly (not defaults). The core
     * already refused those the backend declares no capability for; a
     * backend that finds here it cannot enforce one after all (say, no
     * namespaces on this host) must refuse with RUNBOX_EUNSUPPORTED and say
     * which setting to change. Defaults it cannot enforce are simply not
     * reported in limits_applied. */
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
    runbox_limits limits; /* the sandbox's limits, with wall_seconds = this
                             run's timeout (see runbox_sandbox_opts) */
    double deadline;      /* host->now() value by which the run must end,
                             0 = none. The backend stops the code then
                             (verdict TIMEOUT); the core also raises
                             cancelled() then, and gives up on the call
                             `grace` seconds later. */
    runbox_exec_io *io;   /* pass to host->emit & co. */
} runbox_exec_request;

/* What the backend reports back. Zeroed by the core (verdict OK,
 * exit_code 0, cpu_seconds -1) before the call. */
typedef struct runbox_exec_outcome {
    uint32_t abi_version;
    uint32_t struct_size;
    runbox_verdict verdict; /* OK, EXIT_NONZERO, SIGNALED, TIMEOUT, OOM,
                               ERROR, CANCELED. The core derives ERROR from
                               a Python traceback and TRUNCATED itself. A
                               value outside the enum is backend_failure. */
    /* The code's exit status when it exited. After TIMEOUT, OOM or
     * CANCELED, when the backend killed the code: exit_code -1 and signal
     * the signal it was killed with (SIGKILL), 0 if unknown. */
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

/* One setting a backend reads from its config section ([name] key = value,
 * or RUNBOX_<NAME>_<KEY> in the environment). The core validates values
 * against type, supplies the default, masks secrets in `runbox config` and
 * documents them in `runbox backends --settings NAME`. */
typedef enum runbox_setting_type {
    RUNBOX_SETTING_STRING = 0,
    RUNBOX_SETTING_DURATION, /* seconds: "90", "1.5", "2m", "1h" */
    RUNBOX_SETTING_SIZE,     /* bytes: "4096", "512k", "1g" */
    RUNBOX_SETTING_COUNT,    /* unsigned integer */
    RUNBOX_SETTING_BOOL,     /* on/off, true/false, yes/no, 1/0 */
    RUNBOX_SETTING_LIST      /* comma-separated */
} runbox_setting_type;

typedef struct runbox_setting {
    const char *name;          /* the key; NULL ends the array */
    runbox_setting_type type;
    const char *default_value; /* as it would be written in the file; NULL
                                  = unset (config_get returns NULL) */
    int secret;                /* masked when shown, never passed to code */
    const char *doc;           /* one line: what it does, its unit */
} runbox_setting;

/* The vtable. A backend returns a pointer to a static one. */
typedef struct runbox_backend {
    uint32_t abi_version; /* RUNBOX_BACKEND_ABI */
    uint32_t struct_size; /* sizeof(runbox_backend) as the plugin saw it */
    const char *name;     /* must equal the <name> in runbox-<name>.so */
    const char *description;
    uint64_t capabilities;               /* RUNBOX_CAP_* */
    const char *const *languages;        /* NULL-terminated; first = default */
    const char *const *config_keys;      /* keys accepted in [name], NULL-term.
                                            (older form of settings; both
                                            may be given) */
    const char *const *secret_keys;      /* subset masked in `runbox config`
                                            and never passed to code */

    /* Can the backend work on this machine with this configuration?
     * Cheap and side-effect free (no sandbox). RUNBOX_OK, or a status and a
     * message via host->fail ("no Docker daemon at ..."). A usable backend
     * gives its note (what it found: "Docker 24.0 at /var/run/docker.sock")
     * the same way: host->fail(h, RUNBOX_OK, "...") records the message and
     * returns RUNBOX_OK. Optional. */
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
    /* Files inside the sandbox. path is as the user gave it: relative to
     * the sandbox's work directory, or absolute inside the sandbox's file
     * system; never a host path. write creates missing parent directories
     * and replaces the file. Anything the code left in the sandbox (a
     * symbolic link to /etc/shadow, a link out of the work dir) must not
     * lead outside the sandbox: resolve inside it (openat2 RESOLVE_IN_ROOT
     * or an equivalent), or refuse with RUNBOX_EDENIED. */
    int (*file_write)(void *sandbox, const char *path, const void *data,
                      size_t len);
    /* *data from host->alloc, *len bytes; RUNBOX_ENOTFOUND if missing. */
    int (*file_read)(void *sandbox, const char *path, void **data,
                     size_t *len);

    /* --- Appended slots, each read only when struct_size covers it. --- */

    /* Is a sandbox made with prestart still usable? Called by the pool
     * while the sandbox waits (never during another call on it), so it
     * must be cheap: no network round trip where one can be avoided.
     * RUNBOX_OK, or a status (RUNBOX_EGONE) when the sandbox is known dead;
     * the pool then destroys it and makes another. Optional. */
    int (*sandbox_check)(void *sandbox);
    /* The backend's settings, ended by a NULL name; or NULL. Keys given
     * here are accepted in [name] besides config_keys. */
    const runbox_setting *settings;
    /* Removes what runbox processes of this machine left behind when they
     * ended without cleaning up (killed, crashed): containers, cloud
     * sandboxes whose owner host->owner_gone says has ended. *removed
     * counts them. RUNBOX_OK, or a status when the leftovers could not be
     * listed. A backend may do the same in open. Optional. */
    int (*reap)(void *state, unsigned *removed);
    /* What this opened state can really do, when its configuration takes
     * away some of the declared capabilities (subprocess with isolation =
     * none runs each call in a new process, so it keeps no resident
     * interpreter). Called once after open; the core ANDs the answer with
     * capabilities, so it can only narrow them, and every later check,
     * runbox_context_capabilities and what the MCP server tells models
     * follow it. Optional: NULL = capabilities as declared. */
    uint64_t (*capabilities_of)(void *state);
    /* New slots are appended here. */
} runbox_backend;

/* Fills a vtable's version fields:
 *   static const runbox_backend vt = {RUNBOX_BACKEND_INIT, .name = ...}; */
#define RUNBOX_BACKEND_INIT \
    .abi_version = RUNBOX_BACKEND_ABI, .struct_size = sizeof(runbox_backend)

/* For runbox_backend_init: is the host table one this backend can use?
 * Same ABI, and at least needed bytes of it (RUNBOX_HOST_SIZE_TO(the
 * newest member the backend cannot do without)). Returns RUNBOX_OK, or
 * RUNBOX_EABI with the reason written to why. Inline, so a backend gets
 * it without linking anything of runbox's. */
static inline int runbox_host_require(const runbox_host *host,
                                      const char *backend, size_t needed,
                                      char *why, size_t why_size)
{
    if (host && host->abi_version == RUNBOX_BACKEND_ABI &&
        host->struct_size >= needed)
        return RUNBOX_OK;
    if (why && why_size)
        snprintf(why, why_size,
                 "the %s backend was built for backend ABI %u and needs a "
                 "host table of %u bytes; this runbox offers ABI %u, %u "
                 "bytes: use a newer runbox, or rebuild the backend against "
                 "this runbox's backend.h", backend, RUNBOX_BACKEND_ABI,
                 (unsigned)needed, host ? host->abi_version : 0u,
                 host ? host->struct_size : 0u);
    return RUNBOX_EABI;
}

/* runbox_host_require for a backend that uses only the members every
 * runbox of this ABI has; newer members it checks with RUNBOX_HOST_HAS. */
static inline int runbox_host_check(const runbox_host *host, const char *backend,
                                    char *why, size_t why_size)
{
    return runbox_host_require(host, backend, RUNBOX_HOST_BASE_SIZE, why,
                               why_size);
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
