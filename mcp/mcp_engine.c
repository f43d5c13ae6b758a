/* Tool calls on worker threads (see mcp.h), for every transport. Each
 * call runs on its own thread and sends its messages through its sink; a
 * ticker thread sends progress to calls that asked for it and joins the
 * threads of finished calls.
 *
 * Once a call is cancelled (by the client or at shutdown) it is "silent":
 * neither progress nor a response follows, whatever output still arrives
 * while the sandbox stops. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp.h"

/* Calls running at once; more are refused until some end. */
#define MCP_MAX_CALLS 32
/* Progress notifications at most this often per call (seconds). */
#define MCP_PROGRESS_INTERVAL 1.0
#define MCP_PROGRESS_OUTPUT_INTERVAL 0.25
#define MCP_OWNER_MAX 64

typedef struct mcp_call {
    struct mcp_call *next;
    mcp_engine *engine;
    cJSON *request;      /* the request; id, params and token point into it */
    const cJSON *id;
    char *id_key;
    char owner[MCP_OWNER_MAX + 1];
    const cJSON *token;  /* _meta.progressToken, or NULL */
    int has_nul;
    mcp_sink sink;
    volatile int cancel; /* read by the core while the run goes on */
    /* Under engine->lock: */
    int silent;          /* cancelled by the client or shutdown: no answer */
    int answered;        /* no progress notifications after the answer */
    int finished;        /* the thread can be joined */
    unsigned progress;
    double started, last_progress;
    unsigned long long output_bytes;
    pthread_t thread;
} mcp_call;

struct mcp_engine {
    mcp_runtime *rt;
    pthread_mutex_t lock;
    mcp_call *calls;
    int call_count;
    pthread_t ticker;
    pthread_cond_t wake;
    int stopping;
};

static double mcp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One notifications/progress; under e->lock so that none follows the
 * call's answer or its cancellation. */
static void mcp_progress_send(mcp_call *c, double now)
{
    cJSON *p = cJSON_CreateObject();
    if (!p)
        return;
    cJSON_AddItemToObject(p, "progressToken", cJSON_Duplicate(c->token, 0));
    cJSON_AddNumberToObject(p, "progress", ++c->progress);
    char msg[128];
    snprintf(msg, sizeof msg, "running for %.0f s, %llu bytes of output",
             now - c->started, c->output_bytes);
    cJSON_AddStringToObject(p, "message", msg);
    c->last_progress = now;
    char *line = mcp_jsonrpc_notification("notifications/progress", p);
    if (line)
        c->sink.send(c->sink.userdata, line);
}

static void mcp_on_output(void *userdata, int stream, const char *data,
                          size_t len)
{
    (void)stream;
    (void)data;
    mcp_call *c = userdata;
    pthread_mutex_lock(&c->engine->lock);
    c->output_bytes += len;
    double now = mcp_now();
    if (!c->answered && !c->silent &&
        now - c->last_progress >= MCP_PROGRESS_OUTPUT_INTERVAL)
        mcp_progress_send(c, now);
    pthread_mutex_unlock(&c->engine->lock);
}

static void *mcp_call_main(void *arg)
{
    mcp_call *c = arg;
    mcp_engine *e = c->engine;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(c->request, "params");
    const char *name = cJSON_GetObjectItemCaseSensitive(params, "name")->valuestring;
    mcp_tool_env env = {e->rt, c->owner, &c->cancel,
                        c->token ? mcp_on_output : NULL, c, c->has_nul};
    cJSON *result = mcp_tools_call(&env, name,
                                   cJSON_GetObjectItemCaseSensitive(params, "arguments"));
    char *line = NULL;
    if (result)
        line = mcp_jsonrpc_result(c->id, result);
    else
        line = mcp_jsonrpc_error(c->id, MCP_INTERNAL_ERROR,
                                 "Internal error: out of memory");
    pthread_mutex_lock(&e->lock);
    /* A cancelled request gets no response (MCP cancellation). The check
     * and the send happen under the lock, so a cancel either comes first
     * (nothing sent) or finds the call answered. */
    if (!c->silent && line) {
        c->sink.send(c->sink.userdata, line);
        line = NULL;
    }
    c->answered = 1;
    pthread_mutex_unlock(&e->lock);
    free(line);
    c->sink.close(c->sink.userdata);
    pthread_mutex_lock(&e->lock);
    c->finished = 1;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

static void mcp_call_free(mcp_call *c)
{
    cJSON_Delete(c->request);
    free(c->id_key);
    free(c);
}

/* Joins the calls whose threads ended (all of them when all is set).
 * Called without e->lock. */
static void mcp_reap(mcp_engine *e, int all)
{
    for (;;) {
        mcp_call *done = NULL;
        pthread_mutex_lock(&e->lock);
        for (mcp_call **pp = &e->calls; *pp; pp = &(*pp)->next)
            if ((*pp)->finished || all) {
                done = *pp;
                *pp = done->next;
                e->call_count--;
                break;
            }
        pthread_mutex_unlock(&e->lock);
        if (!done)
            return;
        pthread_join(done->thread, NULL);
        mcp_call_free(done);
    }
}

/* Calls that asked for progress hear from us at least every interval,
 * even when the code prints nothing; finished calls are joined. */
static void *mcp_ticker_main(void *arg)
{
    mcp_engine *e = arg;
    pthread_mutex_lock(&e->lock);
    while (!e->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long ns = until.tv_nsec + 250L * 1000 * 1000;
        until.tv_sec += ns / 1000000000L;
        until.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&e->wake, &e->lock, &until);
        double now = mcp_now();
        for (mcp_call *c = e->calls; c; c = c->next)
            if (c->token && !c->answered && !c->silent &&
                now - c->last_progress >= MCP_PROGRESS_INTERVAL)
                mcp_progress_send(c, now);
        int any_finished = 0;
        for (mcp_call *c = e->calls; c; c = c->next)
            any_finished |= c->finished;
        if (any_finished && !e->stopping) {
            pthread_mutex_unlock(&e->lock);
            mcp_reap(e, 0);
            pthread_mutex_lock(&e->lock);
        }
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

mcp_engine *mcp_engine_new(mcp_runtime *rt)
{
    mcp_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->rt = rt;
    pthread_mutex_init(&e->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&e->ticker, NULL, mcp_ticker_main, e)) {
        pthread_mutex_destroy(&e->lock);
        pthread_cond_destroy(&e->wake);
        free(e);
        return NULL;
    }
    return e;
}

static mcp_call *mcp_find_call(mcp_engine *e, const char *owner,
                               const char *key)
{
    for (mcp_call *c = e->calls; c; c = c->next)
        if (!strcmp(c->id_key, key) && !strcmp(c->owner, owner))
            return c;
    return NULL;
}

/* Refuses a call at once: one error, then the sink closes. */
static void mcp_refuse(mcp_sink sink, const cJSON *id, int code,
                       const char *why)
{
    char *line = mcp_jsonrpc_error(id, code, why);
    if (line)
        sink.send(sink.userdata, line);
    sink.close(sink.userdata);
}

void mcp_engine_start(mcp_engine *e, const char *owner, mcp_message *m,
                      mcp_sink sink)
{
    mcp_call *c = calloc(1, sizeof *c);
    char *key = c ? mcp_jsonrpc_id_key(m->id) : NULL;
    if (!key) {
        free(c);
        mcp_refuse(sink, m->id, MCP_INTERNAL_ERROR, "Internal error: out of memory");
        return;
    }
    pthread_mutex_lock(&e->lock);
    const char *refusal = NULL;
    int code = MCP_INVALID_REQUEST;
    if (mcp_find_call(e, owner, key)) {
        refusal = "Invalid Request: a request with this id is still running";
    } else if (e->call_count >= MCP_MAX_CALLS) {
        refusal = "Internal error: too many tool calls running; retry when "
                  "some have finished";
        code = MCP_INTERNAL_ERROR;
    }
    pthread_mutex_unlock(&e->lock);
    if (refusal) {
        mcp_refuse(sink, m->id, code, refusal);
        free(key);
        free(c);
        return;
    }
    c->engine = e;
    c->request = m->root;
    m->root = NULL;
    c->id = m->id;
    c->id_key = key;
    c->has_nul = m->has_nul;
    c->sink = sink;
    snprintf(c->owner, sizeof c->owner, "%s", owner);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(m->params, "_meta");
    c->token = cJSON_GetObjectItemCaseSensitive(meta, "progressToken");
    c->started = c->last_progress = mcp_now();

    /* Workers leave SIGINT/SIGTERM to the thread that waits for them. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_mutex_lock(&e->lock);
    int rc = pthread_create(&c->thread, NULL, mcp_call_main, c);
    if (!rc) {
        c->next = e->calls;
        e->calls = c;
        e->call_count++;
    }
    pthread_mutex_unlock(&e->lock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        mcp_refuse(sink, c->id, MCP_INTERNAL_ERROR,
                   "Internal error: cannot start a thread");
        mcp_call_free(c);
    }
}

void mcp_engine_cancel(mcp_engine *e, const char *owner, const mcp_message *m)
{
    char *key = mcp_jsonrpc_id_key(
        cJSON_GetObjectItemCaseSensitive(m->params, "requestId"));
    if (!key)
        return;
    pthread_mutex_lock(&e->lock);
    mcp_call *c = mcp_find_call(e, owner, key);
    /* An unknown or finished request is ignored, as the spec allows. */
    if (c && !c->answered) {
        c->silent = 1;
        c->cancel = 1;
        fprintf(stderr, "runbox mcp: request %s cancelled by the client\n", key);
    }
    pthread_mutex_unlock(&e->lock);
    free(key);
}

void mcp_engine_cancel_owner(mcp_engine *e, const char *owner)
{
    pthread_mutex_lock(&e->lock);
    for (mcp_call *c = e->calls; c; c = c->next)
        if (!strcmp(c->owner, owner) && !c->answered) {
            c->silent = 1;
            c->cancel = 1;
        }
    pthread_mutex_unlock(&e->lock);
}

void mcp_engine_drain(mcp_engine *e)
{
    pthread_mutex_lock(&e->lock);
    int running = 0;
    /* Not silent: each call still answers (verdict canceled), so that a
     * client whose transport stays open (HTTP) is not left waiting. */
    for (mcp_call *c = e->calls; c; c = c->next)
        if (!c->finished) {
            c->cancel = 1;
            running++;
        }
    pthread_mutex_unlock(&e->lock);
    if (running) {
        fprintf(stderr, "runbox mcp: stopping %d running call%s\n", running,
                running == 1 ? "" : "s");
        /* Also stops what cancel flags cannot reach (sandbox start-up,
         * installs); the sandboxes are still destroyed by the runtime. */
        runbox_interrupt();
    }
    mcp_reap(e, 1);
}

void mcp_engine_free(mcp_engine *e)
{
    if (!e)
        return;
    mcp_engine_drain(e);
    pthread_mutex_lock(&e->lock);
    e->stopping = 1;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->ticker, NULL);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->wake);
    free(e);
}
