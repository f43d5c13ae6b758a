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
    char **env;        /* pass_env resolved: "NAME=value", NULL-terminated */
    runbox_pool *pool; /* made from pool_size, or NULL */
};

struct runbox_session {
    runbox_context *ctx;
    void *sandbox;
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

RUNBOX_API int runbox_context_new(runbox_context **out, const runbox_config *cfg)
{
    if (!out)
        return rb_fail(RUNBOX_EINVAL, "runbox_context_new: out is NULL");
    *out = NULL;
    runbox_context *c = calloc(1, sizeof *c);
    if (!c)
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
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
    if (!rc)
        rc = rb_config_check_backend(c->cfg, &c->b->vt);
    if (!rc)
        rc = rb_config_limits(c->cfg, c->b->name, &c->limits, &c->required);
    if (!rc)
        rc = rb_pass_env(c);
    if (!rc) {
        c->hctx.backend = c->b->name;
        c->hctx.cfg = c->cfg;
        rb_error_clear();
        rc = c->b->vt.open(&c->state, &rb_host, &c->hctx);
        if (rc && !runbox_error_last()[0])
            rb_fail(rc, "backend %s failed to open: %s", c->b->name,
                    runbox_strerror(rc));
    }
    int opened = !rc;
    if (!rc)
        rc = rb_context_pool_from_config(c);
    if (rc) {
        if (opened)
            c->b->vt.close(c->state);
        rb_free_env(c->env);
        runbox_config_free(c->cfg);
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
    runbox_pool_free(c->pool);
    c->b->vt.close(c->state);
    rb_free_env(c->env);
    runbox_config_free(c->cfg);
    free(c);
}

RUNBOX_API const char *runbox_context_backend(const runbox_context *c)
{
    return c ? c->b->name : NULL;
}

RUNBOX_API uint64_t runbox_context_capabilities(const runbox_context *c)
{
    return c ? c->b->vt.capabilities : 0;
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
    if (c->b->vt.capabilities & cap)
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

static int rb_sandbox_new(runbox_context *c, void **sandbox, int oneshot)
{
    return rb_sandbox_make(c, sandbox, oneshot, 0, 0);
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

RUNBOX_API runbox_pool *runbox_context_pool(runbox_context *c)
{
    return c ? c->pool : NULL;
}

/* Destroys a one-shot sandbox (NULL: nothing) without losing the message
 * of the call that failed (rc) to whatever the backend logs meanwhile. */
static void rb_sandbox_drop(runbox_context *c, void *sandbox, int rc)
{
    if (!sandbox)
        return;
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", runbox_error_last());
    c->b->vt.sandbox_destroy(sandbox);
    if (rc)
        rb_fail(rc, "%s", saved);
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

/* Runs code (or, with spec, an install) in sandbox, or in a fresh one-shot
 * sandbox when sandbox is NULL (from pool when it has one ready), and turns
 * the outcome into a result. */
static int rb_run(runbox_context *c, runbox_pool *pool, void *sandbox,
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
    void *own = NULL, *pooled = NULL;
    if (!rc && !sandbox && pool && !spec)
        sandbox = pooled = rb_pool_take(pool, r->limits.wall_seconds);
    if (!rc && !sandbox) {
        rc = rb_sandbox_new(c, &own, 1);
        sandbox = own;
    }
    runbox_exec_outcome oc;
    memset(&oc, 0, sizeof oc);
    oc.abi_version = RUNBOX_BACKEND_ABI;
    oc.struct_size = sizeof oc;
    oc.cpu_seconds = -1;
    runbox_exec_io io;
    rb_exec_io_init(&io, r, opt, r->limits.output_bytes);
    if (!rc) {
        runbox_exec_request req = {
            .abi_version = RUNBOX_BACKEND_ABI,
            .struct_size = sizeof req,
            .code = spec ? NULL : opt->code,
            .code_len = spec ? 0 : (opt->code_len ? opt->code_len : strlen(opt->code)),
            .language = lang,
            .limits = r->limits,
            .deadline = r->limits.wall_seconds > 0 ? t0 + r->limits.wall_seconds : 0,
            .io = &io,
        };
        rb_error_clear();
        rc = spec ? c->b->vt.install(sandbox, spec, &req, &oc)
                  : c->b->vt.exec(sandbox, &req, &oc);
        if (rc && !runbox_error_last()[0])
            rb_fail(rc, "%s backend failed: %s", c->b->name, runbox_strerror(rc));
    }
    rb_sandbox_drop(c, own, rc);
    if (pooled) /* destroyed in the background: off the caller's clock */
        rb_pool_dispose(pool, pooled);
    r->wall_seconds = rb_now() - t0;
    /* Also after a failure: a backend that had to restart its interpreter
     * says so. */
    r->state_epoch = oc.state_epoch;
    if (rc) {
        r->verdict = rc == RUNBOX_ECANCELED ? RUNBOX_VERDICT_CANCELED
                                            : RUNBOX_VERDICT_BACKEND_FAILURE;
        r->success = 0;
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
    snprintf(r->isolation, sizeof r->isolation, "%s", oc.isolation);
    snprintf(r->message, sizeof r->message, "%s", oc.message);
    if (!spec && !io.exception_set && r->verdict == RUNBOX_VERDICT_EXIT_NONZERO &&
        !strcmp(lang, "python"))
        io.exception_set = rb_result_parse_python_traceback(r);
    if (io.exception_set && (r->verdict == RUNBOX_VERDICT_OK ||
                             r->verdict == RUNBOX_VERDICT_EXIT_NONZERO))
        r->verdict = RUNBOX_VERDICT_ERROR;
    rb_result_system_exit(r, &io);
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

static int rb_install(runbox_context *c, void *sandbox, const char *spec,
                      const runbox_exec_options *given, runbox_result *r)
{
    int rc = runbox_package_spec_check(spec);
    if (!rc)
        rc = rb_need(c, RUNBOX_CAP_INSTALL, "installing packages");
    if (rc) {
        runbox_result_clear(r);
        snprintf(r->backend, sizeof r->backend, "%s", c->b->name);
        r->verdict = RUNBOX_VERDICT_BACKEND_FAILURE;
        snprintf(r->message, sizeof r->message, "%s", runbox_error_last());
        return rc;
    }
    runbox_exec_options opt = {0};
    if (given) {
        opt.timeout = given->timeout;
        opt.on_output = given->on_output;
        opt.userdata = given->userdata;
        opt.cancel = given->cancel;
    }
    return rb_run(c, NULL, sandbox, &opt, spec, r);
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

static int rb_environment(runbox_context *c, void *sandbox, char **json)
{
    int rc = rb_need(c, RUNBOX_CAP_ENVIRONMENT, "describing its environment");
    void *own = NULL;
    if (!rc && !sandbox) {
        rc = rb_sandbox_new(c, &own, 1);
        sandbox = own;
    }
    char *raw = NULL;
    if (!rc) {
        rb_error_clear();
        rc = c->b->vt.environment(sandbox, &raw);
        if (rc && !runbox_error_last()[0])
            rb_fail(rc, "%s backend could not describe its environment",
                    c->b->name);
    }
    rb_sandbox_drop(c, own, rc);
    if (rc)
        return rc;
    cJSON *o = cJSON_Parse(raw);
    free(raw);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return rb_fail(RUNBOX_EPROTO, "%s backend described its environment "
                       "with malformed JSON", c->b->name);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(o, "backend");
    cJSON_AddStringToObject(o, "backend", c->b->name);
    char caps[256];
    runbox_capabilities_str(c->b->vt.capabilities, caps, sizeof caps);
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
    if (!x)
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    x->ctx = c;
    pthread_mutex_init(&x->lock, NULL);
    if ((rc = rb_sandbox_new(c, &x->sandbox, 0))) {
        pthread_mutex_destroy(&x->lock);
        free(x);
        return rc;
    }
    *s = x;
    return RUNBOX_OK;
}

RUNBOX_API void runbox_session_close(runbox_session *s)
{
    if (!s)
        return;
    s->ctx->b->vt.sandbox_destroy(s->sandbox);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

RUNBOX_API int runbox_session_execute(runbox_session *s,
                                      const runbox_exec_options *opt,
                                      runbox_result *r)
{
    if (!s || !opt || !r)
        return rb_fail(RUNBOX_EINVAL, "runbox_session_execute: NULL argument");
    pthread_mutex_lock(&s->lock);
    int rc = rb_run(s->ctx, NULL, s->sandbox, opt, NULL, r);
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
    int rc = rb_install(s->ctx, s->sandbox, spec, opt, r);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

RUNBOX_API int runbox_session_environment(runbox_session *s, char **json)
{
    if (!s || !json)
        return rb_fail(RUNBOX_EINVAL, "runbox_session_environment: NULL argument");
    pthread_mutex_lock(&s->lock);
    int rc = rb_environment(s->ctx, s->sandbox, json);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

RUNBOX_API int runbox_session_write_file(runbox_session *s, const char *path,
                                         const void *data, size_t len)
{
    if (!s || !path || (!data && len))
        return rb_fail(RUNBOX_EINVAL, "runbox_session_write_file: NULL argument");
    int rc = rb_need(s->ctx, RUNBOX_CAP_FILES, "files");
    if (rc)
        return rc;
    rb_error_clear();
    pthread_mutex_lock(&s->lock);
    rc = s->ctx->b->vt.file_write(s->sandbox, path, data ? data : "", len);
    pthread_mutex_unlock(&s->lock);
    if (rc && !runbox_error_last()[0])
        rb_fail(rc, "cannot write %s in the sandbox: %s", path, runbox_strerror(rc));
    return rc;
}

RUNBOX_API int runbox_session_read_file(runbox_session *s, const char *path,
                                        void **data, size_t *len)
{
    if (!s || !path || !data || !len)
        return rb_fail(RUNBOX_EINVAL, "runbox_session_read_file: NULL argument");
    int rc = rb_need(s->ctx, RUNBOX_CAP_FILES, "files");
    if (rc)
        return rc;
    rb_error_clear();
    void *raw = NULL;
    size_t n = 0;
    pthread_mutex_lock(&s->lock);
    rc = s->ctx->b->vt.file_read(s->sandbox, path, &raw, &n);
    pthread_mutex_unlock(&s->lock);
    if (rc) {
        if (!runbox_error_last()[0])
            rb_fail(rc, "cannot read %s in the sandbox: %s", path,
                    runbox_strerror(rc));
        return rc;
    }
    /* Promise the caller a NUL terminator whatever the backend gave. */
    char *buf = malloc(n + 1);
    if (!buf) {
        free(raw);
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    }
    if (n)
        memcpy(buf, raw, n);
    buf[n] = '\0';
    free(raw);
    *data = buf;
    *len = n;
    return RUNBOX_OK;
}
