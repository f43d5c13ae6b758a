/* echo_backend.c — a minimal runbox backend to copy.
 *
 * It "runs" code by echoing it back, a line at a time, honouring the
 * run's deadline and cancellation. Replace the body of echo_exec with your
 * sandbox and keep the rest: the vtable, the host-ABI check in the entry
 * point, configuration through the host table, and a sandbox that is
 * always released by sandbox_destroy.
 *
 * Build:   cc -shared -fPIC -fvisibility=hidden -I<prefix>/include \
 *             -o runbox-echo.so echo_backend.c
 * Use:     RUNBOX_BACKEND_PATH=$PWD runbox run -b echo 'hello'
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <runbox/backend.h>

typedef struct echo_state {
    const runbox_host *host;
    runbox_host_ctx *h;
    char prefix[64]; /* [echo] prefix = ... */
} echo_state;

typedef struct echo_sandbox {
    echo_state *state;
} echo_sandbox;

static const char *const echo_languages[] = {"python", "text", NULL};
static const char *const echo_keys[] = {"prefix", NULL};

static int echo_open(void **out, const runbox_host *host, runbox_host_ctx *h)
{
    echo_state *s = host->alloc(sizeof *s);
    if (!s)
        return host->fail(h, RUNBOX_ENOMEM, "out of memory");
    memset(s, 0, sizeof *s);
    s->host = host;
    s->h = h;
    const char *prefix = host->config_get(h, "prefix");
    if (prefix && strlen(prefix) >= sizeof s->prefix) {
        host->free(s);
        return host->config_error(h, "prefix", "at most %zu characters",
                                  sizeof s->prefix - 1);
    }
    snprintf(s->prefix, sizeof s->prefix, "%s", prefix ? prefix : "");
    *out = s;
    return RUNBOX_OK;
}

static void echo_close(void *state)
{
    echo_state *s = state;
    s->host->free(s);
}

static int echo_sandbox_create(void **out, void *state, const runbox_sandbox_opts *o)
{
    echo_state *s = state;
    /* Refuse what cannot be honoured, rather than ignore it. */
    if (o->limits_required & RUNBOX_LIMIT_NETWORK)
        return s->host->fail(s->h, RUNBOX_EUNSUPPORTED, "the echo backend "
                             "cannot switch the network off");
    echo_sandbox *x = s->host->alloc(sizeof *x);
    if (!x)
        return s->host->fail(s->h, RUNBOX_ENOMEM, "out of memory");
    x->state = s;
    *out = x;
    return RUNBOX_OK;
}

static void echo_sandbox_destroy(void *sandbox)
{
    echo_sandbox *x = sandbox;
    x->state->host->free(x);
}

static int echo_exec(void *sandbox, const runbox_exec_request *req,
                     runbox_exec_outcome *out)
{
    echo_sandbox *x = sandbox;
    const runbox_host *host = x->state->host;
    const char *p = req->code, *end = req->code + req->code_len;
    while (p < end) {
        if (host->cancelled(req->io)) {
            out->verdict = RUNBOX_VERDICT_CANCELED;
            return RUNBOX_OK;
        }
        if (req->deadline && host->now() > req->deadline) {
            out->verdict = RUNBOX_VERDICT_TIMEOUT;
            snprintf(out->message, sizeof out->message, "echo ran out of time");
            return RUNBOX_OK;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        host->emit(req->io, 1, x->state->prefix, strlen(x->state->prefix));
        host->emit(req->io, 1, p, n);
        p += n;
    }
    out->verdict = RUNBOX_VERDICT_OK;
    out->exit_code = 0;
    out->limits_applied = RUNBOX_LIMIT_WALL;
    snprintf(out->isolation, sizeof out->isolation, "none (echo)");
    return RUNBOX_OK;
}

static const runbox_backend echo_vtable = {
    .abi_version = RUNBOX_BACKEND_ABI,
    .struct_size = sizeof(runbox_backend),
    .name = "echo",
    .description = "echoes the code back (a template for new backends)",
    .capabilities = RUNBOX_CAP_STREAMING,
    .languages = echo_languages,
    .config_keys = echo_keys,
    .open = echo_open,
    .close = echo_close,
    .sandbox_create = echo_sandbox_create,
    .sandbox_destroy = echo_sandbox_destroy,
    .exec = echo_exec,
};

RUNBOX_BACKEND_EXPORT int runbox_backend_init(const runbox_host *host,
                                              const runbox_backend **backend,
                                              char *why, size_t why_size)
{
    /* Use only a host table with every member this backend was built with. */
    int rc = runbox_host_check(host, "echo", why, why_size);
    if (rc != RUNBOX_OK)
        return rc;
    *backend = &echo_vtable;
    return RUNBOX_OK;
}
