/* Contexts, one-shot executions and sessions: the dispatcher between the
 * application API and a backend's vtable. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct runbox_context {
    runbox_config *cfg; /* private copy: backends borrow from it */
    const rb_loaded *b;
    runbox_host_ctx hctx;
    void *state;
    runbox_limits limits;
    uint32_t required; /* limits set explicitly */
    uint64_t caps;     /* vt.capabilities, as the opened state narrowed them */
    char **env;        /* pass_env resolved: "NAME=value", NULL-terminated */
    runbox_pool *pool; /* made from pool_size, or NULL */
    double grace;      /* how long a backend may take to stop */
    /* The application's reference plus one per live sandbox thread: a
     * sandbox stuck in a call runbox gave up on keeps the backend open
     * until that call returns (it is destroyed, then the last one closes). */
    pthread_mutex_t ref_lock;
    int refs;
};

/* One sandbox and the thread that makes every call on it. Freed by its
 * thread's last job, after the backend destroyed the sandbox. */
typedef struct rb_sandbox {
    runbox_context *ctx;
    rb_worker *worker;
    void *sandbox; /* the backend's, NULL until created */
} rb_sandbox;

struct runbox_session {
    rb_sandbox *sb;
    /* Serializes calls: backend.h promises a backend that calls on one
     * sandbox never overlap, and a resident interpreter runs one thing at
     * a time. */
    pthread_mutex_t lock;
};

static void rb_free_env(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

/* pass_env names host variables the code may see; their values are taken
 * now, once, so every sandbox of the context sees the same. Unset names
 * are skipped. */
static int rb_pass_env(runbox_context *c)
{
    const rb_entry *e = rb_config_lookup(c->cfg, c->b->name, "pass_env");
    if (!e || !*e->value)
        return RUNBOX_OK;
    char *names = strdup(e->value), *save = NULL;
    size_t n = 0;
    c->env = calloc(strlen(e->value) / 2 + 2, sizeof *c->env);
    if (!names || !c->env) {
        free(names);
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    }
    for (char *name = strtok_r(names, ", ", &save); name;
         name = strtok_r(NULL, ", ", &save)) {
        const char *value = getenv(name);
        if (!value)
            continue;
        if (asprintf(&c->env[n], "%s=%s", name, value) < 0) {
            c->env[n] = NULL;
            free(names);
            return rb_fail(RUNBOX_ENOMEM, "out of memory");
        }
        n++;
    }
    free(names);
    return RUNBOX_OK;
}

/* pool_size > 0 in the configuration: the context keeps a pool that
 * runbox_execute uses. */
static int rb_context_pool_from_config(runbox_context *c)
{
    const rb_entry *size = rb_config_lookup(c->cfg, c->b->name, "pool_size");
    const rb_entry *age = rb_config_lookup(c->cfg, c->b->name, "pool_max_age");
    uint64_t n = 0;
    double secs = 0;
    const char *why;
    if (size && rb_parse_count(size->value, &n, &why))
        return rb_fail(RUNBOX_ECONFIG, "%s: pool_size = '%s': %s",
                       size->origin, size->value, why);
    if (age && rb_parse_duration(age->value, &secs, &why))
        return rb_fail(RUNBOX_ECONFIG, "%s: pool_max_age = '%s': %s",
                       age->origin, age->value, why);
    if (!n)
        return RUNBOX_OK;
    if (n > 64)
        return rb_fail(RUNBOX_ECONFIG, "%s: pool_size = '%s': at most 64 "
                       "sandboxes can be kept ready", size->origin, size->value);
    runbox_pool_options po = {(unsigned)n, secs};
    return runbox_pool_new(&c->pool, c, &po);
}

/* Limits the user set explicitly need a backend that can enforce them:
 * refused here, before any call, whatever the backend would do. The wall
 * clock and the output cap are the core's own. Checked against the
 * declared capabilities before open, and again after it against what the
 * opened backend says it can do here (capabilities_of: a rootless Docker
 * engine on cgroup v1 sets no memory limit). */
static int rb_check_limits(const runbox_context *c)
{
    int narrowed = c->caps != c->b->vt.capabilities;
    static const struct {
        uint32_t limit;
        uint64_t cap;
        const char *key;
    } need[] = {
        {RUNBOX_LIMIT_CPU, RUNBOX_CAP_LIMIT_CPU, "cpu_time"},
        {RUNBOX_LIMIT_MEMORY, RUNBOX_CAP_LIMIT_MEMORY, "memory"},
        {RUNBOX_LIMIT_PROCESSES, RUNBOX_CAP_LIMIT_PROCESSES, "processes"},
        {RUNBOX_LIMIT_FILE_SIZE, RUNBOX_CAP_LIMIT_FILE_SIZE, "file_size"},
        {RUNBOX_LIMIT_OPEN_FILES, RUNBOX_CAP_LIMIT_OPEN_FILES, "open_files"},
        {RUNBOX_LIMIT_NETWORK, RUNBOX_CAP_NETWORK_CONTROL, "network"},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        if (!(c->required & need[i].limit) || (c->caps & need[i].cap))
            continue;
        const rb_entry *e = rb_config_lookup(c->cfg, c->b->name, need[i].key);
        if (narrowed && (c->b->vt.capabilities & need[i].cap))
            return rb_fail(RUNBOX_EUNSUPPORTED, "%s: %s = %s: the %s backend "
                           "cannot enforce this limit with its current "
                           "settings or engine (see its README); unset it "
                           "or choose a backend that can",
                           e ? e->origin : "setting", need[i].key,
                           e ? e->value : "?", c->b->name);
        return rb_fail(RUNBOX_EUNSUPPORTED, "%s: %s = %s: the %s backend "
                       "cannot enforce this limit (it declares no %s "
                       "capability); unset it or choose a backend that "
                       "can (runbox backends lists them)",
                       e ? e->origin : "setting", need[i].key,
                       e ? e->value : "?", c->b->name,
                       need[i].limit == RUNBOX_LIMIT_NETWORK
                           ? "network-control" : "limit");
    }
    return RUNBOX_OK;
}

static int rb_grace(runbox_context *c)
{
    const rb_entry *e = rb_config_lookup(c->cfg, c->b->name, "grace");
    const char *why = NULL;
    if (rb_parse_duration(e ? e->value : "10", &c->grace, &why))
        return rb_fail(RUNBOX_ECONFIG, "%s: grace = '%s': %s",
                       e ? e->origin : "default", e ? e->value : "", why);
    return RUNBOX_OK;
}

static void rb_context_unref(runbox_context *c)
{
    pthread_mutex_lock(&c->ref_lock);
    int left = --c->refs;
    pthread_mutex_unlock(&c->ref_lock);
    if (left)
        return;
    if (c->state || c->b)
        c->b->vt.close(c->state);
    rb_free_env(c->env);
    runbox_config_free(c->cfg);
    pthread_mutex_destroy(&c->ref_lock);
    free(c);
}

RUNBOX_API int runbox_context_new(runbox_context **out, const runbox_config *cfg)
{
    if (!out)
        return rb_fail(RUNBOX_EINVAL, "runbox_context_new: out is NULL");
    *out = NULL;
    runbox_context *c = calloc(1, sizeof *c);
    if (!c)
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    pthread_mutex_init(&c->ref_lock, NULL);
    c->refs = 1;
    int rc;
    if (cfg) {
        rc = rb_config_copy(&c->cfg, cfg) ? rb_fail(RUNBOX_ENOMEM, "out of memory")
                                          : RUNBOX_OK;
    } else {
        rc = runbox_config_new(&c->cfg);
        if (!rc)
            rc = runbox_config_load(c->cfg, NULL);
    }
    if (!rc)
        rc = rb_backend_load(&c->b, runbox_config_get(c->cfg, "backend"), c->cfg);
    if (!rc) {
        c->caps = c->b->vt.capabilities;
        rc = rb_config_check_backend(c->cfg, &c->b->vt);
    }
    if (!rc)
        rc = rb_config_limits(c->cfg, c->b->name, &c->limits, &c->required);
    if (!rc)
        rc = rb_check_limits(c);
    if (!rc)
        rc = rb_grace(c);
    if (!rc)
        rc = rb_pass_env(c);
    if (!rc) {
        c->hctx.backend = c->b->name;
        c->hctx.vt = &c->b->vt;
        c->hctx.cfg = c->cfg;
        rb_error_clear();
        rc = c->b->vt.open(&c->state, &rb_host, &c->hctx);
        if (rc && !runbox_error_last()[0])
            rb_fail(rc, "backend %s failed to open: %s", c->b->name,
                    runbox_strerror(rc));
    }
    int opened = !rc;
    if (!rc && c->b->vt.capabilities_of) {
        c->caps &= c->b->vt.capabilities_of(c->state);
        rc = rb_check_limits(c);
    }
    if (!rc)
        rc = rb_context_pool_from_config(c);
    if (rc) {
        if (opened)
            c->b->vt.close(c->state);
        rb_free_env(c->env);
        runbox_config_free(c->cfg);
        pthread_mutex_destroy(&c->ref_lock);
        free(c);
        return rc;
    }
    *out = c;
    return RUNBOX_OK;
}

RUNBOX_API void runbox_context_free(runbox_context *c)
{
    if (!c)
        return;
    /* The pool's sandboxes first: its threads use the context. */
    runbox_pool_free(c->pool);
    c->pool = NULL;
    rb_context_unref(c);
}

RUNBOX_API const char *runbox_context_backend(const runbox_context *c)
{
    return c ? c->b->name : NULL;
}

RUNBOX_API uint64_t runbox_context_capabilities(const runbox_context *c)
{
    return c ? c->caps : 0;
}

RUNBOX_API const runbox_limits *runbox_context_limits(const runbox_context *c)
{
    return c ? &c->limits : NULL;
}

RUNBOX_API const char *const *runbox_context_languages(const runbox_context *c)
{
    static const char *const python_only[] = {"python", NULL};
    if (!c || !c->b->vt.languages || !c->b->vt.languages[0])
        return python_only;
    return c->b->vt.languages;
}

static int rb_need(const runbox_context *c, uint64_t cap, const char *what)
{
    if (c->caps & cap)
        return RUNBOX_OK;
    return rb_fail(RUNBOX_EUNSUPPORTED, "the %s backend does not support %s; "
                   "choose another backend (runbox backends lists them)",
                   c->b->name, what);
}

static int rb_sandbox_make(runbox_context *c, void **sandbox, int oneshot,
                           int prestart, double lifetime)
{
    runbox_sandbox_opts so = {RUNBOX_BACKEND_ABI, sizeof so, oneshot,
                              c->limits, c->required,
                              (const char *const *)c->env, prestart, lifetime};
    rb_error_clear();
    int rc = c->b->vt.sandbox_create(sandbox, c->state, &so);
    if (rc && !runbox_error_last()[0])
        rb_fail(rc, "%s backend could not create a sandbox: %s", c->b->name,
                runbox_strerror(rc));
    return rc;
}

int rb_sandbox_prestart(runbox_context *c, void **sandbox, double lifetime)
{
    return rb_sandbox_make(c, sandbox, 1, 1, lifetime);
}

const runbox_backend *rb_context_backend_vt(const runbox_context *c)
{
    return &c->b->vt;
}

runbox_host_ctx *rb_context_host_ctx(runbox_context *c)
{
    return &c->hctx;
}

RUNBOX_API int runbox_context_reap(runbox_context *c, unsigned *removed)
{
    unsigned n = 0;
    if (removed)
        *removed = 0;
    if (!c)
        return rb_fail(RUNBOX_EINVAL, "runbox_context_reap: NULL context");
    if (!c->b->vt.reap)
        return rb_fail(RUNBOX_EUNSUPPORTED, "the %s backend cannot list what "
                       "crashed runs left behind", c->b->name);
    rb_error_clear();
    int rc = c->b->vt.reap(c->state, &n);
    if (rc && !runbox_error_last()[0])
        rb_fail(rc, "%s backend could not remove leftovers: %s", c->b->name,
                runbox_strerror(rc));
    if (removed)
        *removed = n;
    return rc;
}

RUNBOX_API runbox_pool *runbox_context_pool(runbox_context *c)
{
    return c ? c->pool : NULL;
}

static int rb_language_ok(const runbox_context *c, const char *lang)
{
    const char *const *l = c->b->vt.languages;
    if (!l || !*l)
        return !strcmp(lang, "python");
    for (; *l; l++)
        if (!strcmp(*l, lang))
            return 1;
    return 0;
}

/* ---- calls on the sandbox's thread ---- */

typedef enum rb_op {
    RB_OP_CREATE,  /* sandbox_create only (a session) */
    RB_OP_EXEC,
    RB_OP_INSTALL,
    RB_OP_ENVIRONMENT,
    RB_OP_WRITE,
    RB_OP_READ
} rb_op;

/* Everything a backend call may touch, in memory of its own: when the
 * caller gives up, the call (and the backend) may run on and must find
 * nothing of the caller's. */
typedef struct rb_call {
    rb_sandbox *sb;
    rb_op op;
    int oneshot;              /* create the sandbox first */
    char *code;               /* copies */
    char *language;
    char *spec;
    char *path;
    void *data;               /* write: a copy; read/environment: the answer */
    size_t len;
    runbox_exec_request req;
    runbox_exec_outcome oc;
    runbox_exec_io io;
    int rc;
    char msg[1024];           /* the backend's message (thread-local there) */
} rb_call;

static void rb_call_free(void *p)
{
    rb_call *call = p;
    if (!call)
        return;
    free(call->code);
    free(call->language);
    free(call->spec);
    free(call->path);
    free(call->data);
    rb_exec_io_fini(&call->io);
    free(call);
}

static void rb_call_detach(void *p)
{
    rb_exec_io_detach(&((rb_call *)p)->io);
}

static int rb_create(rb_sandbox *sb, int oneshot)
{
    runbox_context *c = sb->ctx;
    runbox_sandbox_opts so = {RUNBOX_BACKEND_ABI, sizeof so, oneshot,
                              c->limits, c->required,
                              (const char *const *)c->env, 0, 0};
    int rc = c->b->vt.sandbox_create(&sb->sandbox, c->state, &so);
    if (rc) {
        sb->sandbox = NULL;
        if (!runbox_error_last()[0])
            rb_fail(rc, "%s backend could not create a sandbox: %s",
                    c->b->name, runbox_strerror(rc));
    }
    return rc;
}

/* Runs on the sandbox's thread. */
static void rb_call_main(void *p)
{
    rb_call *call = p;
    rb_sandbox *sb = call->sb;
    const runbox_backend *vt = &sb->ctx->b->vt;
    rb_error_clear();
    int rc = RUNBOX_OK;
    if (call->op == RB_OP_CREATE || (call->oneshot && !sb->sandbox))
        rc = rb_create(sb, call->oneshot);
    if (!rc) {
        switch (call->op) {
        case RB_OP_CREATE:
            break;
        case RB_OP_EXEC:
            rc = vt->exec(sb->sandbox, &call->req, &call->oc);
            break;
        case RB_OP_INSTALL:
            rc = vt->install(sb->sandbox, call->spec, &call->req, &call->oc);
            break;
        case RB_OP_ENVIRONMENT: {
            char *json = NULL;
            rc = vt->environment(sb->sandbox, &json);
            call->data = json;
            break;
        }
        case RB_OP_WRITE:
            rc = vt->file_write(sb->sandbox, call->path,
                                call->data ? call->data : "", call->len);
            break;
        case RB_OP_READ:
            free(call->data);
            call->data = NULL;
            rc = vt->file_read(sb->sandbox, call->path, &call->data, &call->len);
            break;
        }
    }
    call->rc = rc;
    snprintf(call->msg, sizeof call->msg, "%s", rc ? runbox_error_last() : "");
}

/* The last job of a sandbox's thread. */
static void rb_sandbox_final(void *p)
{
    rb_sandbox *sb = p;
    if (sb->sandbox)
        sb->ctx->b->vt.sandbox_destroy(sb->sandbox);
    rb_context_unref(sb->ctx);
    free(sb);
}

static int rb_sandbox_open(runbox_context *c, rb_sandbox **out)
{
    rb_sandbox *sb = calloc(1, sizeof *sb);
    if (!sb)
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    int rc = rb_worker_new(&sb->worker);
    if (rc) {
        free(sb);
        return rc;
    }
    sb->ctx = c;
    pthread_mutex_lock(&c->ref_lock);
    c->refs++;
    pthread_mutex_unlock(&c->ref_lock);
    *out = sb;
    return RUNBOX_OK;
}

/* Destroys the sandbox on its thread; returns at once when that thread is
 * stuck in a call runbox gave up on (it destroys it when the call returns). */
static void rb_sandbox_close(rb_sandbox *sb)
{
    if (!sb)
        return;
    double grace = sb->ctx->grace;
    rb_worker_finish(sb->worker, rb_sandbox_final, sb, grace);
}

/* Runs call on sb's thread; 0, or a status with the message set, as the
 * backend's own call would. *given_up is set when the caller gave up (the
 * call then belongs to the thread). */
static int rb_call_run(rb_sandbox *sb, rb_call *call, const rb_watch *watch,
                       int *given_up)
{
    runbox_context *c = sb->ctx;
    call->sb = sb;
    *given_up = 0;
    int w = rb_worker_run(sb->worker, rb_call_main, call, rb_call_detach,
                          rb_call_free, watch);
    if (w == RB_WORKER_BUSY)
        return rb_fail(RUNBOX_EBACKEND, "the %s backend is still inside an "
                       "earlier call on this session that runbox gave up on; "
                       "close the session and open a new one", c->b->name);
    if (w == RB_WORKER_ABANDONED) {
        *given_up = 1;
        int timed_out = watch && __atomic_load_n(&call->io.expired,
                                                 __ATOMIC_SEQ_CST);
        return rb_fail(RUNBOX_EBACKEND, "the %s backend did not end the call "
                       "within %gs of %s; runbox gave up on it (the backend "
                       "may leave its sandbox behind until the call returns)",
                       c->b->name, watch ? watch->grace : 0,
                       timed_out ? "its deadline" : "the cancel");
    }
    if (call->rc)
        rb_fail(call->rc, "%s", call->msg[0] ? call->msg
                : runbox_strerror(call->rc));
    return call->rc;
}

static rb_call *rb_call_new(rb_op op)
{
    rb_call *call = calloc(1, sizeof *call);
    if (!call)
        return NULL;
    call->op = op;
    rb_exec_io_init(&call->io, NULL, NULL, 0);
    return call;
}

static int rb_failed_result(runbox_context *c, runbox_result *r, int rc)
{
    runbox_result_clear(r);
    snprintf(r->backend, sizeof r->backend, "%s", c->b->name);
    r->verdict = RUNBOX_VERDICT_BACKEND_FAILURE;
    snprintf(r->message, sizeof r->message, "%s", runbox_error_last());
    return rc;
}

/* Runs code (or, with spec, an install) in sb, or in a fresh one-shot
 * sandbox when sb is NULL, and turns the outcome into a result. */
static int rb_run(runbox_context *c, runbox_pool *pool, rb_sandbox *sb,
                  const runbox_exec_options *opt, const char *spec,
                  runbox_result *r)
{
    runbox_result_clear(r);
    snprintf(r->backend, sizeof r->backend, "%s", c->b->name);
    r->limits = c->limits;
    if (opt && opt->timeout > 0)
        r->limits.wall_seconds = opt->timeout;
    const char *lang = opt && opt->language ? opt->language
                       : (c->b->vt.languages && c->b->vt.languages[0]
                              ? c->b->vt.languages[0] : "python");
    int rc = RUNBOX_OK;
    if (!spec && (!opt || !opt->code))
        rc = rb_fail(RUNBOX_EINVAL, "no code to run");
    else if (!spec && !rb_language_ok(c, lang)) {
        rb_buf known = {0};
        for (const char *const *l = c->b->vt.languages; l && *l; l++)
            rb_buf_printf(&known, "%s%s", known.len ? ", " : "", *l);
        rc = rb_fail(RUNBOX_EUNSUPPORTED, "the %s backend cannot run %s code; "
                     "it runs: %s", c->b->name, lang,
                     known.data ? known.data : "python");
        rb_buf_free(&known);
    }
    else if (runbox_interrupted() || (opt && opt->cancel && *opt->cancel))
        rc = rb_fail(RUNBOX_ECANCELED, "cancelled before the run started");
    double t0 = rb_now();
    rb_sandbox *own = NULL;
    void *pooled = NULL;
    if (!rc && !sb && pool && !spec)
        pooled = rb_pool_take(pool, r->limits.wall_seconds);
    if (!rc && !sb) {
        rc = rb_sandbox_open(c, &own);
        sb = own;
        if (own)
            own->sandbox = pooled; /* made ahead by the pool, or NULL */
        else if (pooled)
            rb_pool_dispose(pool, pooled);
    }
    rb_call *call = NULL;
    if (!rc) {
        call = rb_call_new(spec ? RB_OP_INSTALL : RB_OP_EXEC);
        size_t code_len = spec ? 0 : (opt->code_len ? opt->code_len : strlen(opt->code));
        if (call) {
            call->oneshot = own != NULL;
            call->language = strdup(lang);
            call->spec = spec ? strdup(spec) : NULL;
            call->code = spec ? NULL : malloc(code_len + 1);
            if (call->code) {
                memcpy(call->code, opt->code, code_len);
                call->code[code_len] = '\0';
            }
        }
        if (!call || !call->language || (spec && !call->spec) ||
            (!spec && !call->code)) {
            rb_call_free(call);
            call = NULL;
            rc = rb_fail(RUNBOX_ENOMEM, "out of memory");
        } else {
            rb_exec_io_init(&call->io, r, opt, r->limits.output_bytes);
            call->oc.abi_version = RUNBOX_BACKEND_ABI;
            call->oc.struct_size = sizeof call->oc;
            call->oc.cpu_seconds = -1;
            call->req = (runbox_exec_request){
                .abi_version = RUNBOX_BACKEND_ABI,
                .struct_size = sizeof call->req,
                .code = call->code,
                .code_len = code_len,
                .language = call->language,
                .limits = r->limits,
                .deadline = r->limits.wall_seconds > 0 ? t0 + r->limits.wall_seconds : 0,
                .io = &call->io,
            };
        }
    }
    int given_up = 0;
    if (!rc) {
        rb_watch watch = {call->req.deadline, c->grace, opt ? opt->cancel : NULL,
                          &call->io.expired};
        rc = rb_call_run(sb, call, &watch, &given_up);
        if (rc && !given_up)
            rb_fail(rc, "%s", runbox_error_last()[0] ? runbox_error_last()
                    : runbox_strerror(rc));
    }
    /* A pooled sandbox goes back to the pool to be destroyed in the
     * background, off the caller's clock; unless its thread is stuck in a
     * call given up on, which destroys it when the call returns. */
    if (own && pooled && !given_up)
        own->sandbox = NULL;
    rb_sandbox_close(own);
    if (pooled && !given_up)
        rb_pool_dispose(pool, pooled);
    r->wall_seconds = rb_now() - t0;
    int expired = call && !given_up &&
                  __atomic_load_n(&call->io.expired, __ATOMIC_SEQ_CST);
    runbox_exec_outcome oc;
    if (call && !given_up)
        oc = call->oc;
    else
        memset(&oc, 0, sizeof oc);
    int exception_set = call && !given_up && call->io.exception_set;
    if (!given_up)
        rb_call_free(call);
    /* The core's deadline ended a backend that stopped on cancelled():
     * that is the wall-clock limit at work, not a caller's cancel. */
    if (expired && (rc == RUNBOX_ECANCELED ||
                    (!rc && oc.verdict == RUNBOX_VERDICT_CANCELED))) {
        rc = RUNBOX_OK;
        memset(&oc, 0, sizeof oc);
        oc.verdict = RUNBOX_VERDICT_TIMEOUT;
        oc.exit_code = -1;
        oc.cpu_seconds = -1;
        snprintf(oc.message, sizeof oc.message, "wall-clock limit of %gs "
                 "reached", r->limits.wall_seconds);
    }
    if (!rc && (oc.verdict < RUNBOX_VERDICT_OK ||
                oc.verdict > RUNBOX_VERDICT_CANCELED))
        rc = rb_fail(RUNBOX_EBACKEND, "the %s backend reported verdict %d, "
                     "which is not a runbox verdict", c->b->name,
                     (int)oc.verdict);
    /* Also after a failure: a backend that had to restart its interpreter
     * says so. */
    r->state_epoch = oc.state_epoch;
    if (rc) {
        r->verdict = rc == RUNBOX_ECANCELED ? RUNBOX_VERDICT_CANCELED
                                            : RUNBOX_VERDICT_BACKEND_FAILURE;
        r->success = 0;
        r->exit_code = -1;
        snprintf(r->message, sizeof r->message, "%s", runbox_error_last());
        return rc;
    }
    r->verdict = oc.verdict;
    r->exit_code = oc.exit_code;
    r->signal = oc.signal;
    r->cpu_seconds = oc.cpu_seconds;
    r->limits_applied = oc.limits_applied;
    r->execution_count = oc.execution_count;
    r->state_epoch = oc.state_epoch;
    snprintf(r->isolation, sizeof r->isolation, "%.*s",
             (int)sizeof oc.isolation - 1, oc.isolation);
    snprintf(r->message, sizeof r->message, "%.*s",
             (int)sizeof oc.message - 1, oc.message);
    if (!spec && !exception_set && r->verdict == RUNBOX_VERDICT_EXIT_NONZERO &&
        !strcmp(lang, "python"))
        exception_set = rb_result_parse_python_traceback(r);
    if (exception_set && (r->verdict == RUNBOX_VERDICT_OK ||
                          r->verdict == RUNBOX_VERDICT_EXIT_NONZERO))
        r->verdict = RUNBOX_VERDICT_ERROR;
    /* The call's own io is gone: the same sink, anew, for what the
     * core adds to the output. */
    runbox_exec_io post;
    rb_exec_io_init(&post, r, opt, r->limits.output_bytes);
    rb_result_system_exit(r, &post);
    rb_exec_io_fini(&post);
    rb_result_check_verdict(r);
    if (r->verdict == RUNBOX_VERDICT_OK && (r->out.truncated || r->err.truncated))
        r->verdict = RUNBOX_VERDICT_TRUNCATED;
    if (r->limits.output_bytes)
        r->limits_applied |= RUNBOX_LIMIT_OUTPUT;
    r->success = r->verdict == RUNBOX_VERDICT_OK ||
                 r->verdict == RUNBOX_VERDICT_TRUNCATED;
    if (r->verdict == RUNBOX_VERDICT_CANCELED) {
        if (!r->message[0])
            snprintf(r->message, sizeof r->message, "cancelled");
        return rb_fail(RUNBOX_ECANCELED, "%s", r->message);
    }
    return RUNBOX_OK;
}

RUNBOX_API int runbox_execute(runbox_context *c, const runbox_exec_options *opt,
                              runbox_result *r)
{
    if (!c || !opt || !r)
        return rb_fail(RUNBOX_EINVAL, "runbox_execute: NULL argument");
    return rb_run(c, c->pool, NULL, opt, NULL, r);
}

int rb_run_pooled(runbox_context *c, runbox_pool *pool,
                  const runbox_exec_options *opt, runbox_result *r)
{
    return rb_run(c, pool, NULL, opt, NULL, r);
}

static int rb_install(runbox_context *c, rb_sandbox *sb, const char *spec,
                      const runbox_exec_options *given, runbox_result *r)
{
    int rc = runbox_package_spec_check(spec);
    if (!rc)
        rc = rb_need(c, RUNBOX_CAP_INSTALL, "installing packages");
    if (rc)
        return rb_failed_result(c, r, rc);
    runbox_exec_options opt = {0};
    if (given) {
        opt.timeout = given->timeout;
        opt.on_output = given->on_output;
        opt.userdata = given->userdata;
        opt.cancel = given->cancel;
    }
    return rb_run(c, NULL, sb, &opt, spec, r);
}

RUNBOX_API int runbox_install_package(runbox_context *c, const char *spec,
                                      runbox_result *r)
{
    return runbox_install_package_opt(c, spec, NULL, r);
}

RUNBOX_API int runbox_install_package_opt(runbox_context *c, const char *spec,
                                          const runbox_exec_options *opt,
                                          runbox_result *r)
{
    if (!c || !r)
        return rb_fail(RUNBOX_EINVAL, "runbox_install_package: NULL argument");
    return rb_install(c, NULL, spec, opt, r);
}

cJSON *rb_limits_json(const runbox_limits *l, uint32_t applied);

/* Calls other than exec and install have no deadline of their own: they
 * are bounded by the configured timeout, and by a cancel. */
static rb_watch rb_plain_watch(const runbox_context *c)
{
    rb_watch w = {0, c->grace, NULL, NULL};
    if (c->limits.wall_seconds > 0)
        w.deadline = rb_now() + c->limits.wall_seconds;
    return w;
}

/* Runs a call that has no io in sb, or in a fresh one-shot sandbox. On
 * success *callp holds the finished call (caller frees). */
static int rb_simple_call(runbox_context *c, rb_sandbox *sb, rb_call *call,
                          rb_call **done)
{
    rb_sandbox *own = NULL;
    int rc = RUNBOX_OK;
    *done = NULL;
    if (!sb) {
        rc = rb_sandbox_open(c, &own);
        sb = own;
        call->oneshot = 1;
    }
    int given_up = 0;
    if (!rc) {
        rb_watch watch = rb_plain_watch(c);
        rc = rb_call_run(sb, call, &watch, &given_up);
    }
    if (!given_up) {
        if (rc)
            rb_call_free(call);
        else
            *done = call;
    }
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", runbox_error_last());
    rb_sandbox_close(own);
    if (rc)
        rb_fail(rc, "%s", saved);
    return rc;
}

static int rb_environment(runbox_context *c, rb_sandbox *sb, char **json)
{
    int rc = rb_need(c, RUNBOX_CAP_ENVIRONMENT, "describing its environment");
    if (rc)
        return rc;
    rb_call *call = rb_call_new(RB_OP_ENVIRONMENT), *done = NULL;
    if (!call)
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    rc = rb_simple_call(c, sb, call, &done);
    if (rc)
        return rc;
    cJSON *o = cJSON_Parse(done->data);
    rb_call_free(done);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return rb_fail(RUNBOX_EPROTO, "%s backend described its environment "
                       "with malformed JSON", c->b->name);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(o, "backend");
    cJSON_AddStringToObject(o, "backend", c->b->name);
    char caps[256];
    runbox_capabilities_str(c->caps, caps, sizeof caps);
    cJSON_AddStringToObject(o, "capabilities", caps);
    cJSON_AddItemToObject(o, "limits", rb_limits_json(&c->limits, 0));
    *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return *json ? RUNBOX_OK : rb_fail(RUNBOX_ENOMEM, "out of memory");
}

RUNBOX_API int runbox_get_environment(runbox_context *c, char **json)
{
    if (!c || !json)
        return rb_fail(RUNBOX_EINVAL, "runbox_get_environment: NULL argument");
    return rb_environment(c, NULL, json);
}

/* ---- sessions ---- */

RUNBOX_API int runbox_session_open(runbox_session **s, runbox_context *c)
{
    if (!s || !c)
        return rb_fail(RUNBOX_EINVAL, "runbox_session_open: NULL argument");
    *s = NULL;
    int rc = rb_need(c, RUNBOX_CAP_SESSIONS, "sessions");
    if (rc)
        return rc;
    runbox_session *x = calloc(1, sizeof *x);
    rb_call *call = rb_call_new(RB_OP_CREATE);
    if (!x || !call) {
        free(x);
        rb_call_free(call);
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    }
    rc = rb_sandbox_open(c, &x->sb);
    int given_up = 0;
    if (!rc) {
        rb_watch watch = rb_plain_watch(c);
        rc = rb_call_run(x->sb, call, &watch, &given_up);
    }
    if (!given_up)
        rb_call_free(call);
    if (rc) {
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", runbox_error_last());
        rb_sandbox_close(x->sb);
        free(x);
        return rb_fail(rc, "%s", saved);
    }
    pthread_mutex_init(&x->lock, NULL);
    *s = x;
    return RUNBOX_OK;
}

RUNBOX_API void runbox_session_close(runbox_session *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    rb_sandbox_close(s->sb);
    free(s);
}

RUNBOX_API int runbox_session_execute(runbox_session *s,
                                      const runbox_exec_options *opt,
                                      runbox_result *r)
{
    if (!s || !opt || !r)
        return rb_fail(RUNBOX_EINVAL, "runbox_session_execute: NULL argument");
    pthread_mutex_lock(&s->lock);
    int rc = rb_run(s->sb->ctx, NULL, s->sb, opt, NULL, r);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

RUNBOX_API int runbox_session_install(runbox_session *s, const char *spec,
                                      runbox_result *r)
{
    return runbox_session_install_opt(s, spec, NULL, r);
}

RUNBOX_API int runbox_session_install_opt(runbox_session *s, const char *spec,
                                          const runbox_exec_options *opt,
                                          runbox_result *r)
{
    if (!s || !r)
        return rb_fail(RUNBOX_EINVAL, "runbox_session_install: NULL argument");
    pthread_mutex_lock(&s->lock);
    int rc = rb_install(s->sb->ctx, s->sb, spec, opt, r);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

RUNBOX_API int runbox_session_environment(runbox_session *s, char **json)
{
    if (!s || !json)
        return rb_fail(RUNBOX_EINVAL, "runbox_session_environment: NULL argument");
    pthread_mutex_lock(&s->lock);
    int rc = rb_environment(s->sb->ctx, s->sb, json);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

RUNBOX_API int runbox_session_write_file(runbox_session *s, const char *path,
                                         const void *data, size_t len)
{
    if (!s || !path || (!data && len))
        return rb_fail(RUNBOX_EINVAL, "runbox_session_write_file: NULL argument");
    int rc = rb_need(s->sb->ctx, RUNBOX_CAP_FILES, "files");
    if (rc)
        return rc;
    rb_call *call = rb_call_new(RB_OP_WRITE), *done = NULL;
    if (call) {
        call->path = strdup(path);
        call->data = malloc(len ? len : 1);
        call->len = len;
    }
    if (!call || !call->path || !call->data) {
        rb_call_free(call);
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    }
    if (len)
        memcpy(call->data, data, len);
    pthread_mutex_lock(&s->lock);
    rc = rb_simple_call(s->sb->ctx, s->sb, call, &done);
    pthread_mutex_unlock(&s->lock);
    rb_call_free(done);
    if (rc && !runbox_error_last()[0])
        rb_fail(rc, "cannot write %s in the sandbox: %s", path, runbox_strerror(rc));
    return rc;
}

RUNBOX_API int runbox_session_read_file(runbox_session *s, const char *path,
                                        void **data, size_t *len)
{
    if (!s || !path || !data || !len)
        return rb_fail(RUNBOX_EINVAL, "runbox_session_read_file: NULL argument");
    int rc = rb_need(s->sb->ctx, RUNBOX_CAP_FILES, "files");
    if (rc)
        return rc;
    rb_call *call = rb_call_new(RB_OP_READ), *done = NULL;
    if (call)
        call->path = strdup(path);
    if (!call || !call->path) {
        rb_call_free(call);
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&s->lock);
    rc = rb_simple_call(s->sb->ctx, s->sb, call, &done);
    pthread_mutex_unlock(&s->lock);
    if (rc) {
        if (!runbox_error_last()[0])
            rb_fail(rc, "cannot read %s in the sandbox: %s", path,
                    runbox_strerror(rc));
        return rc;
    }
    /* Promise the caller a NUL terminator whatever the backend gave. */
    size_t n = done->len;
    char *buf = malloc(n + 1);
    if (!buf) {
        rb_call_free(done);
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    }
    if (n)
        memcpy(buf, done->data, n);
    buf[n] = '\0';
    rb_call_free(done);
    *data = buf;
    *len = n;
    return RUNBOX_OK;
}
