/* The host table handed to backends, and the output sink of a running
 * execution. Capping lives here, once, so that every backend keeps memory
 * bounded however much the code prints. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static volatile sig_atomic_t rb_interrupt_flag;

RUNBOX_API void runbox_interrupt(void) { rb_interrupt_flag = 1; }
RUNBOX_API int runbox_interrupted(void) { return rb_interrupt_flag != 0; }

static int rb_log_threshold(void)
{
    const char *v = getenv("RUNBOX_LOG");
    if (!v)
        return RUNBOX_LOG_WARN;
    if (!strcasecmp(v, "error")) return RUNBOX_LOG_ERROR;
    if (!strcasecmp(v, "info")) return RUNBOX_LOG_INFO;
    if (!strcasecmp(v, "debug")) return RUNBOX_LOG_DEBUG;
    return RUNBOX_LOG_WARN;
}

static void rb_host_log(runbox_host_ctx *h, runbox_log_level level,
                        const char *fmt, ...)
{
    if ((int)level > rb_log_threshold())
        return;
    static const char *names[] = {"error", "warning", "info", "debug"};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "runbox[%s] %s: %s\n", h && h->backend ? h->backend : "core",
            names[level], msg);
}

static int rb_host_fail(runbox_host_ctx *h, int status, const char *fmt, ...)
{
    (void)h;
    va_list ap;
    va_start(ap, fmt);
    rb_vfail(status, fmt, ap);
    va_end(ap);
    return status;
}

static const char *rb_host_config_get(runbox_host_ctx *h, const char *key)
{
    const rb_entry *e = rb_config_lookup(h->cfg, h->backend, key);
    if (e)
        return e->value;
    const runbox_setting *s = rb_setting_find(h->vt, key);
    return s ? s->default_value : NULL;
}

static int rb_host_config_error(runbox_host_ctx *h, const char *key,
                                const char *fmt, ...)
{
    const rb_entry *e = rb_config_lookup(h->cfg, h->backend, key);
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return rb_fail(RUNBOX_ECONFIG, "%s: [%s] %s = '%s': %s",
                   e ? e->origin : "default", h->backend, key,
                   e ? e->value : "", why);
}

static int rb_host_emit(runbox_exec_io *io, int stream, const void *data,
                        size_t len)
{
    if (!io || (stream != 1 && stream != 2))
        return RUNBOX_EINVAL;
    pthread_mutex_lock(&io->lock);
    if (!io->result) { /* the caller gave up on this call */
        pthread_mutex_unlock(&io->lock);
        return RUNBOX_OK;
    }
    runbox_output *o = stream == 1 ? &io->result->out : &io->result->err;
    o->total += len;
    size_t keep = len;
    if (io->cap && o->len + keep > io->cap) {
        keep = o->len < io->cap ? (size_t)(io->cap - o->len) : 0;
        o->truncated = 1;
    }
    char *p = keep ? realloc(o->data, o->len + keep + 1) : NULL;
    if (keep && !p)
        o->truncated = 1;
    if (p) {
        memcpy(p + o->len, data, keep);
        o->data = p;
        o->len += keep;
        o->data[o->len] = '\0';
        /* Under the lock, so the caller never returns while its callback
         * still runs. */
        if (io->on_output)
            io->on_output(io->userdata, stream, p + o->len - keep, keep);
    }
    pthread_mutex_unlock(&io->lock);
    return RUNBOX_OK;
}

static int rb_host_set_exception(runbox_exec_io *io, const char *name,
                                 const char *value, const char *traceback)
{
    pthread_mutex_lock(&io->lock);
    int rc = RUNBOX_OK;
    if (io->result) {
        io->exception_set = 1;
        rc = rb_result_set_exception(io->result, name, value, traceback);
    }
    pthread_mutex_unlock(&io->lock);
    return rc;
}

int rb_result_add_rich(runbox_result *r, const char *mime, const void *data,
                       size_t len, int is_main)
{
    runbox_rich *p = realloc(r->rich, (r->rich_count + 1) * sizeof *p);
    if (!p)
        return RUNBOX_ENOMEM;
    r->rich = p;
    runbox_rich *x = &p[r->rich_count];
    x->mime = strdup(mime ? mime : "application/octet-stream");
    x->data = malloc(len + 1);
    if (!x->mime || !x->data) {
        free(x->mime);
        free(x->data);
        return RUNBOX_ENOMEM;
    }
    memcpy(x->data, data, len);
    x->data[len] = '\0';
    x->len = len;
    x->is_main = is_main;
    r->rich_count++;
    return RUNBOX_OK;
}

static int rb_host_add_rich(runbox_exec_io *io, const char *mime,
                            const void *data, size_t len, int is_main)
{
    pthread_mutex_lock(&io->lock);
    int rc = io->result ? rb_result_add_rich(io->result, mime, data, len, is_main)
                        : RUNBOX_OK;
    pthread_mutex_unlock(&io->lock);
    return rc;
}

/* True at the deadline too: the core enforces the wall-clock limit even
 * for a backend that does not watch req->deadline itself. */
static int rb_host_cancelled(runbox_exec_io *io)
{
    if (rb_interrupt_flag)
        return 1;
    if (!io)
        return 0;
    if (__atomic_load_n(&io->expired, __ATOMIC_SEQ_CST))
        return 1;
    pthread_mutex_lock(&io->lock);
    int stop = io->detached || (io->cancel && *io->cancel);
    pthread_mutex_unlock(&io->lock);
    return stop;
}

const runbox_host rb_host = {
    .abi_version = RUNBOX_BACKEND_ABI,
    .struct_size = sizeof(runbox_host),
    .alloc = malloc,
    .realloc = realloc,
    .free = free,
    .log = rb_host_log,
    .fail = rb_host_fail,
    .config_get = rb_host_config_get,
    .config_error = rb_host_config_error,
    .now = rb_now,
    .emit = rb_host_emit,
    .set_exception = rb_host_set_exception,
    .add_rich = rb_host_add_rich,
    .cancelled = rb_host_cancelled,
    .config_duration = rb_host_config_duration,
    .config_size = rb_host_config_size,
    .config_count = rb_host_config_count,
    .config_bool = rb_host_config_bool,
    .config_list = rb_host_config_list,
    .owner_self = rb_owner_self,
    .owner_gone = rb_owner_gone,
};

void rb_exec_io_init(runbox_exec_io *io, runbox_result *r,
                     const runbox_exec_options *opt, uint64_t cap)
{
    memset(io, 0, sizeof *io);
    pthread_mutex_init(&io->lock, NULL);
    io->result = r;
    io->cap = cap;
    if (opt) {
        io->on_output = opt->on_output;
        io->userdata = opt->userdata;
        io->cancel = opt->cancel;
    }
}

void rb_exec_io_detach(runbox_exec_io *io)
{
    pthread_mutex_lock(&io->lock);
    io->result = NULL;
    io->cancel = NULL;
    io->on_output = NULL;
    io->detached = 1;
    pthread_mutex_unlock(&io->lock);
}

void rb_exec_io_fini(runbox_exec_io *io)
{
    pthread_mutex_destroy(&io->lock);
}
