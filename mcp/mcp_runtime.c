/* The backend behind the tools (see mcp.h): a context opened lazily, so
 * that the server starts and answers initialize even when the backend is
 * misconfigured or its daemon is down, and the named sessions. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp.h"

/* Sessions each hold a sandbox (a container, a VM): bound how many a
 * client can keep alive at once. */
#define MCP_MAX_SESSIONS 16
#define MCP_SESSION_NAME_MAX 64
#define MCP_MAX_SESSION_NAMES (4 * MCP_MAX_SESSIONS)

struct mcp_session_ref {
    struct mcp_session_ref *next;
    char name[MCP_SESSION_NAME_MAX + 1];
    runbox_session *session; /* NULL until opened, or after a discard */
    pthread_mutex_t use;     /* held by the one call using the session */
};

struct mcp_runtime {
    runbox_config *cfg;
    char config_error[RUNBOX_MESSAGE_SIZE];
    pthread_mutex_t ctx_lock;
    runbox_context *ctx;
    pthread_mutex_t lock; /* the list and open_count */
    mcp_session_ref *sessions;
    int open_count;
};

mcp_runtime *mcp_runtime_new(runbox_config *cfg, const char *config_error)
{
    mcp_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        runbox_config_free(cfg);
        return NULL;
    }
    rt->cfg = cfg;
    snprintf(rt->config_error, sizeof rt->config_error, "%s",
             config_error && *config_error ? config_error
                                           : "the configuration could not be loaded");
    pthread_mutex_init(&rt->ctx_lock, NULL);
    pthread_mutex_init(&rt->lock, NULL);
    return rt;
}

void mcp_runtime_free(mcp_runtime *rt)
{
    if (!rt)
        return;
    while (rt->sessions) {
        mcp_session_ref *s = rt->sessions;
        rt->sessions = s->next;
        runbox_session_close(s->session);
        pthread_mutex_destroy(&s->use);
        free(s);
    }
    runbox_context_free(rt->ctx);
    runbox_config_free(rt->cfg);
    pthread_mutex_destroy(&rt->ctx_lock);
    pthread_mutex_destroy(&rt->lock);
    free(rt);
}

int mcp_runtime_context(mcp_runtime *rt, runbox_context **ctx, char *msg,
                        size_t size)
{
    pthread_mutex_lock(&rt->ctx_lock);
    int rc = RUNBOX_OK;
    if (!rt->ctx && !rt->cfg) {
        rc = RUNBOX_ECONFIG;
        snprintf(msg, size, "configuration error: %s", rt->config_error);
    } else if (!rt->ctx) {
        /* Not cached on failure: a daemon that comes up later is used. */
        rc = runbox_context_new(&rt->ctx, rt->cfg);
        if (rc) {
            const char *why = runbox_error_last();
            const char *name = runbox_config_get(rt->cfg, "backend");
            snprintf(msg, size, "cannot open the %s backend: %s",
                     name ? name : "configured",
                     *why ? why : runbox_strerror(rc));
            rt->ctx = NULL;
        }
    }
    *ctx = rt->ctx;
    pthread_mutex_unlock(&rt->ctx_lock);
    return rc;
}

static int mcp_session_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > MCP_SESSION_NAME_MAX)
        return 0;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789_.-") == n;
}

/* The entry for name, created when new (NULL when there are too many
 * names or no memory). Entries live until the server stops. Under
 * rt->lock. */
static mcp_session_ref *mcp_session_entry(mcp_runtime *rt, const char *name)
{
    int count = 0;
    for (mcp_session_ref *s = rt->sessions; s; s = s->next, count++)
        if (!strcmp(s->name, name))
            return s;
    if (count >= MCP_MAX_SESSION_NAMES)
        return NULL;
    mcp_session_ref *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->name, sizeof s->name, "%s", name);
    pthread_mutex_init(&s->use, NULL);
    s->next = rt->sessions;
    rt->sessions = s;
    return s;
}

/* Waits for the session, giving up when the caller is cancelled. */
static int mcp_session_lock(mcp_session_ref *s, const volatile int *cancel)
{
    for (;;) {
        if ((cancel && *cancel) || runbox_interrupted())
            return RUNBOX_ECANCELED;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int e = pthread_mutex_timedlock(&s->use, &until);
        if (e == 0)
            return RUNBOX_OK;
        if (e != ETIMEDOUT)
            return RUNBOX_EBACKEND;
    }
}

static int mcp_session_open(mcp_runtime *rt, mcp_session_ref *s, char *msg,
                            size_t size)
{
    runbox_context *ctx = NULL;
    int rc = mcp_runtime_context(rt, &ctx, msg, size);
    if (rc)
        return rc;
    pthread_mutex_lock(&rt->lock);
    int full = rt->open_count >= MCP_MAX_SESSIONS;
    if (!full)
        rt->open_count++;
    pthread_mutex_unlock(&rt->lock);
    if (full) {
        snprintf(msg, size, "too many sessions (%d are open): reuse one of "
                 "their names", MCP_MAX_SESSIONS);
        return RUNBOX_EUNAVAILABLE;
    }
    rc = runbox_session_open(&s->session, ctx);
    if (rc) {
        const char *why = runbox_error_last();
        snprintf(msg, size, "cannot open session '%s': %s", s->name,
                 *why ? why : runbox_strerror(rc));
        s->session = NULL;
        pthread_mutex_lock(&rt->lock);
        rt->open_count--;
        pthread_mutex_unlock(&rt->lock);
    }
    return rc;
}

int mcp_runtime_session_acquire(mcp_runtime *rt, const char *name,
                                const volatile int *cancel,
                                mcp_session_ref **ref, char *msg,
                                size_t size)
{
    *ref = NULL;
    if (!mcp_session_name_ok(name)) {
        snprintf(msg, size, "invalid session name '%.80s': use 1 to %d "
                 "letters, digits, '_', '.' or '-'", name, MCP_SESSION_NAME_MAX);
        return RUNBOX_EINVAL;
    }
    pthread_mutex_lock(&rt->lock);
    mcp_session_ref *s = mcp_session_entry(rt, name);
    pthread_mutex_unlock(&rt->lock);
    if (!s) {
        snprintf(msg, size, "too many session names in use (%d): reuse one",
                 MCP_MAX_SESSION_NAMES);
        return RUNBOX_EUNAVAILABLE;
    }
    int rc = mcp_session_lock(s, cancel);
    if (rc) {
        snprintf(msg, size, "cancelled while waiting for session '%s'", name);
        return rc;
    }
    if (!s->session) {
        rc = mcp_session_open(rt, s, msg, size);
        if (rc) {
            pthread_mutex_unlock(&s->use);
            return rc;
        }
    }
    *ref = s;
    return RUNBOX_OK;
}

runbox_session *mcp_session_ref_session(mcp_session_ref *ref)
{
    return ref->session;
}

void mcp_runtime_session_release(mcp_runtime *rt, mcp_session_ref *ref,
                                 int discard)
{
    if (!ref)
        return;
    if (discard && ref->session) {
        runbox_session_close(ref->session);
        ref->session = NULL;
        pthread_mutex_lock(&rt->lock);
        rt->open_count--;
        pthread_mutex_unlock(&rt->lock);
    }
    pthread_mutex_unlock(&ref->use);
}
