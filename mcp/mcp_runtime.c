/* The backend behind the tools (see mcp.h): a context opened lazily, so
 * that the server starts and answers initialize even when the backend is
 * misconfigured or its daemon is down, and the named sessions.
 *
 * Sessions hold sandboxes (containers, VMs), so they are bounded: one
 * unused for session_idle seconds is closed by a reaper thread, and when
 * MCP_MAX_SESSIONS are open the least recently used idle one makes room.
 * Either way the name is remembered with why it was closed, so that the
 * next call with it can tell the model its state is gone.
 *
 * Locking: rt->lock guards the list, the counters, each entry's users,
 * last_used and note, and an entry's session while users is 0; a call
 * holds the entry's `use` mutex (users > 0) while it works on the
 * session. Sandboxes are always closed outside rt->lock. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp.h"

#define MCP_SESSION_NAME_MAX 64
#define MCP_OWNER_MAX 64
#define MCP_MAX_SESSION_NAMES (4 * MCP_MAX_SESSIONS)
/* How long describing the tools waits for the backend to open. */
#define MCP_FACTS_WAIT 10.0

struct mcp_session_ref {
    struct mcp_session_ref *next;
    char owner[MCP_OWNER_MAX + 1];
    char name[MCP_SESSION_NAME_MAX + 1];
    runbox_session *session; /* NULL until opened, or after a close */
    pthread_mutex_t use;     /* held by the one call using the session */
    int users;               /* calls holding or waiting for use */
    double last_used;
    const char *note;        /* why a used name starts afresh, or NULL */
};

struct mcp_runtime {
    runbox_config *cfg;
    char config_error[RUNBOX_MESSAGE_SIZE];
    pthread_mutex_t ctx_lock;
    runbox_context *ctx;
    pthread_mutex_t lock;
    mcp_session_ref *sessions;
    int open_count;
    int name_count;
    /* Settings, read once. */
    double session_idle, max_timeout;
    size_t text_limit;
    /* The backend is opened in the background from the start: opening can
     * take long (Docker reaps what crashed runs left), and initialize must
     * not wait for it past a client's timeout. */
    pthread_t opener;
    int opener_started, opener_done;
    double started;
    /* The idle reaper. */
    pthread_t reaper;
    int reaper_started;
    pthread_cond_t wake;
    int stopping;
};

static double mcp_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mcp_setting(const runbox_config *cfg, const char *key, double def)
{
    double v;
    return cfg && runbox_config_get_number(cfg, key, &v) == RUNBOX_OK ? v : def;
}

static void *mcp_reaper_main(void *arg)
{
    mcp_runtime *rt = arg;
    pthread_mutex_lock(&rt->lock);
    while (!rt->stopping) {
        /* Check a few times per idle period, at least once a second. */
        double step = rt->session_idle / 4 < 1 ? rt->session_idle / 4 : 1;
        if (step < 0.05)
            step = 0.05;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long ns = until.tv_nsec + (long)(step * 1e9);
        until.tv_sec += ns / 1000000000L;
        until.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&rt->wake, &rt->lock, &until);
        if (rt->stopping)
            break;
        pthread_mutex_unlock(&rt->lock);
        mcp_runtime_reap_idle(rt);
        pthread_mutex_lock(&rt->lock);
    }
    pthread_mutex_unlock(&rt->lock);
    return NULL;
}

static void *mcp_opener_main(void *arg)
{
    mcp_runtime *rt = arg;
    runbox_context *ctx;
    char msg[RUNBOX_MESSAGE_SIZE];
    mcp_runtime_context(rt, &ctx, msg, sizeof msg);
    pthread_mutex_lock(&rt->lock);
    rt->opener_done = 1;
    pthread_cond_broadcast(&rt->wake);
    pthread_mutex_unlock(&rt->lock);
    return NULL;
}

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
    rt->session_idle = mcp_setting(cfg, "session_idle", 300);
    rt->max_timeout = mcp_setting(cfg, "max_timeout", 600);
    double limit = mcp_setting(cfg, "mcp_text_limit", 20000);
    rt->text_limit = limit < MCP_MIN_TEXT ? MCP_MIN_TEXT : (size_t)limit;
    pthread_mutex_init(&rt->ctx_lock, NULL);
    pthread_mutex_init(&rt->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rt->wake, &ca);
    pthread_condattr_destroy(&ca);
    rt->started = mcp_mono();
    if (rt->session_idle > 0)
        rt->reaper_started = !pthread_create(&rt->reaper, NULL, mcp_reaper_main, rt);
    rt->opener_started = !pthread_create(&rt->opener, NULL, mcp_opener_main, rt);
    return rt;
}

void mcp_runtime_free(mcp_runtime *rt)
{
    if (!rt)
        return;
    if (rt->opener_started)
        pthread_join(rt->opener, NULL);
    if (rt->reaper_started) {
        pthread_mutex_lock(&rt->lock);
        rt->stopping = 1;
        pthread_cond_broadcast(&rt->wake);
        pthread_mutex_unlock(&rt->lock);
        pthread_join(rt->reaper, NULL);
    }
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
    pthread_cond_destroy(&rt->wake);
    free(rt);
}

int mcp_runtime_context(mcp_runtime *rt, runbox_context **ctx, char *msg,
                        size_t size)
{
    pthread_mutex_lock(&rt->ctx_lock);
    int rc = RUNBOX_OK;
    if (!rt->ctx && !rt->cfg) {
        rc = RUNBOX_ECONFIG;
        /* Bounded so that the text fits a result message with its prefix
         * (GCC's -Wformat-truncation in Release builds). */
        snprintf(msg, size, "configuration error: %.480s", rt->config_error);
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

void mcp_runtime_facts(void *userdata, mcp_facts *f)
{
    mcp_runtime *rt = userdata;
    runbox_context *ctx;
    memset(f, 0, sizeof *f);
    f->max_sessions = MCP_MAX_SESSIONS;
    f->session_idle = rt->session_idle;
    /* Wait a little for the background opening, never long: a client
     * times out initialize (60 s in the TypeScript SDK). */
    pthread_mutex_lock(&rt->lock);
    double until = mcp_mono() + MCP_FACTS_WAIT;
    while (rt->opener_started && !rt->opener_done && mcp_mono() < until) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&rt->wake, &rt->lock, &ts);
    }
    int pending = rt->opener_started && !rt->opener_done;
    pthread_mutex_unlock(&rt->lock);
    if (pending) {
        snprintf(f->error, sizeof f->error, "the backend is still starting "
                 "(%.0f s so far); tool calls wait for it",
                 mcp_mono() - rt->started);
        return;
    }
    if (mcp_runtime_context(rt, &ctx, f->error, sizeof f->error))
        return;
    const runbox_limits *lim = runbox_context_limits(ctx);
    f->available = 1;
    snprintf(f->backend, sizeof f->backend, "%s", runbox_context_backend(ctx));
    f->caps = runbox_context_capabilities(ctx);
    f->languages = runbox_context_languages(ctx);
    /* A backend that cannot switch the network off (subprocess with
     * isolation = none) gives the code the network whatever was asked. */
    f->network = lim->network ||
                 !(f->caps & RUNBOX_CAP_NETWORK_CONTROL);
    f->timeout = lim->wall_seconds;
    /* A configured default above the maximum is still allowed to be asked
     * for explicitly. */
    f->max_timeout = rt->max_timeout > f->timeout ? rt->max_timeout : f->timeout;
}

size_t mcp_runtime_text_limit(mcp_runtime *rt)
{
    return rt->text_limit;
}

static int mcp_session_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > MCP_SESSION_NAME_MAX)
        return 0;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789_.-") == n;
}

static mcp_session_ref *mcp_session_find(mcp_runtime *rt, const char *owner,
                                         const char *name)
{
    for (mcp_session_ref *s = rt->sessions; s; s = s->next)
        if (!strcmp(s->name, name) && !strcmp(s->owner, owner))
            return s;
    return NULL;
}

static void mcp_session_unlink(mcp_runtime *rt, mcp_session_ref *victim)
{
    for (mcp_session_ref **pp = &rt->sessions; *pp; pp = &(*pp)->next)
        if (*pp == victim) {
            *pp = victim->next;
            rt->name_count--;
            pthread_mutex_destroy(&victim->use);
            free(victim);
            return;
        }
}

/* The entry for (owner, name), created when new; NULL when there are too
 * many names (entries without a sandbox are forgotten first) or no
 * memory. Under rt->lock. */
static mcp_session_ref *mcp_session_entry(mcp_runtime *rt, const char *owner,
                                          const char *name)
{
    mcp_session_ref *s = mcp_session_find(rt, owner, name);
    if (s)
        return s;
    if (rt->name_count >= MCP_MAX_SESSION_NAMES) {
        mcp_session_ref *old = NULL;
        for (mcp_session_ref *e = rt->sessions; e; e = e->next)
            if (!e->session && !e->users)
                old = e; /* the list is newest first: the last is oldest */
        if (!old)
            return NULL;
        mcp_session_unlink(rt, old);
    }
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->owner, sizeof s->owner, "%s", owner);
    snprintf(s->name, sizeof s->name, "%s", name);
    pthread_mutex_init(&s->use, NULL);
    s->next = rt->sessions;
    rt->sessions = s;
    rt->name_count++;
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

/* Takes the sandbox away from an unused entry (under rt->lock); the
 * caller closes it outside the lock. */
static runbox_session *mcp_session_detach(mcp_runtime *rt, mcp_session_ref *s,
                                          const char *note)
{
    runbox_session *gone = s->session;
    s->session = NULL;
    s->note = note;
    rt->open_count--;
    return gone;
}

static const char mcp_note_evicted[] =
    "[this session had been closed to make room for a newer one (the least "
    "recently used goes first): its variables, files and packages are gone; "
    "this call started it afresh]\n";

/* Reserves one open session, evicting the least recently used idle one
 * when all are taken. */
static int mcp_session_reserve(mcp_runtime *rt, mcp_session_ref *self,
                               char *msg, size_t size)
{
    runbox_session *evicted = NULL;
    pthread_mutex_lock(&rt->lock);
    if (rt->open_count >= MCP_MAX_SESSIONS) {
        mcp_session_ref *lru = NULL;
        for (mcp_session_ref *e = rt->sessions; e; e = e->next)
            if (e != self && e->session && !e->users &&
                (!lru || e->last_used < lru->last_used))
                lru = e;
        if (lru) {
            fprintf(stderr, "runbox mcp: closing session '%s', the least "
                    "recently used, to open '%s'\n", lru->name, self->name);
            evicted = mcp_session_detach(rt, lru, mcp_note_evicted);
        }
    }
    int full = rt->open_count >= MCP_MAX_SESSIONS;
    if (!full)
        rt->open_count++;
    pthread_mutex_unlock(&rt->lock);
    runbox_session_close(evicted);
    if (full) {
        snprintf(msg, size, "all %d sessions are busy running calls: wait "
                 "for one to finish, or reuse one of their names",
                 MCP_MAX_SESSIONS);
        return RUNBOX_EUNAVAILABLE;
    }
    return RUNBOX_OK;
}

static int mcp_session_open(mcp_runtime *rt, mcp_session_ref *s, char *msg,
                            size_t size)
{
    runbox_context *ctx = NULL;
    int rc = mcp_runtime_context(rt, &ctx, msg, size);
    if (!rc)
        rc = mcp_session_reserve(rt, s, msg, size);
    if (rc)
        return rc;
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

/* Drops a hold taken with users++ (after unlocking use, if it was
 * locked). */
static void mcp_session_drop_user(mcp_runtime *rt, mcp_session_ref *s)
{
    pthread_mutex_lock(&rt->lock);
    s->users--;
    s->last_used = mcp_mono();
    pthread_mutex_unlock(&rt->lock);
}

int mcp_runtime_session_acquire(mcp_runtime *rt, const char *owner,
                                const char *name, const volatile int *cancel,
                                mcp_session_ref **ref, const char **note,
                                char *msg, size_t size)
{
    *ref = NULL;
    *note = "";
    if (!mcp_session_name_ok(name)) {
        snprintf(msg, size, "invalid session name '%.80s': use 1 to %d "
                 "letters, digits, '_', '.' or '-'", name, MCP_SESSION_NAME_MAX);
        return RUNBOX_EINVAL;
    }
    pthread_mutex_lock(&rt->lock);
    mcp_session_ref *s = mcp_session_entry(rt, owner, name);
    if (s)
        s->users++;
    pthread_mutex_unlock(&rt->lock);
    if (!s) {
        snprintf(msg, size, "too many session names in use (%d): reuse one, "
                 "or close some with close_session", MCP_MAX_SESSION_NAMES);
        return RUNBOX_EUNAVAILABLE;
    }
    int rc = mcp_session_lock(s, cancel);
    if (rc) {
        mcp_session_drop_user(rt, s);
        snprintf(msg, size, "cancelled while waiting for session '%s'", name);
        return rc;
    }
    if (!s->session) {
        rc = mcp_session_open(rt, s, msg, size);
        if (rc) {
            pthread_mutex_unlock(&s->use);
            mcp_session_drop_user(rt, s);
            return rc;
        }
        pthread_mutex_lock(&rt->lock);
        *note = s->note ? s->note : "";
        s->note = NULL;
        pthread_mutex_unlock(&rt->lock);
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
    mcp_session_drop_user(rt, ref);
}

int mcp_runtime_session_close(mcp_runtime *rt, const char *owner,
                              const char *name, const volatile int *cancel,
                              char *msg, size_t size)
{
    if (!mcp_session_name_ok(name)) {
        snprintf(msg, size, "invalid session name '%.80s'", name);
        return RUNBOX_EINVAL;
    }
    pthread_mutex_lock(&rt->lock);
    mcp_session_ref *s = mcp_session_find(rt, owner, name);
    if (s && !s->session && !s->users) {
        mcp_session_unlink(rt, s); /* nothing open: forget the name */
        s = NULL;
    } else if (s) {
        s->users++;
    }
    pthread_mutex_unlock(&rt->lock);
    if (!s) {
        snprintf(msg, size, "no session named '%s' is open", name);
        return RUNBOX_ENOTFOUND;
    }
    int rc = mcp_session_lock(s, cancel);
    if (rc) {
        mcp_session_drop_user(rt, s);
        snprintf(msg, size, "cancelled while waiting for session '%s'", name);
        return rc;
    }
    runbox_session *gone = NULL;
    pthread_mutex_lock(&rt->lock);
    if (s->session)
        gone = mcp_session_detach(rt, s, NULL);
    pthread_mutex_unlock(&rt->lock);
    runbox_session_close(gone);
    pthread_mutex_unlock(&s->use);
    mcp_session_drop_user(rt, s);
    if (!gone) {
        snprintf(msg, size, "no session named '%s' is open", name);
        return RUNBOX_ENOTFOUND;
    }
    return RUNBOX_OK;
}

void mcp_runtime_close_owner(mcp_runtime *rt, const char *owner)
{
    mcp_session_ref *mine[MCP_MAX_SESSION_NAMES];
    int n = 0;
    pthread_mutex_lock(&rt->lock);
    for (mcp_session_ref *s = rt->sessions; s && n < MCP_MAX_SESSION_NAMES;
         s = s->next)
        if (!strcmp(s->owner, owner)) {
            s->users++;
            mine[n++] = s;
        }
    pthread_mutex_unlock(&rt->lock);
    for (int i = 0; i < n; i++) {
        mcp_session_ref *s = mine[i];
        pthread_mutex_lock(&s->use); /* the owner's calls were cancelled */
        runbox_session *gone = NULL;
        pthread_mutex_lock(&rt->lock);
        if (s->session)
            gone = mcp_session_detach(rt, s, NULL);
        pthread_mutex_unlock(&rt->lock);
        runbox_session_close(gone);
        pthread_mutex_unlock(&s->use);
        pthread_mutex_lock(&rt->lock);
        if (--s->users == 0)
            mcp_session_unlink(rt, s);
        pthread_mutex_unlock(&rt->lock);
    }
}

static const char mcp_note_idle[] =
    "[this session had been closed after being unused for session_idle "
    "seconds: its variables, files and packages are gone; this call started "
    "it afresh]\n";

int mcp_runtime_reap_idle(mcp_runtime *rt)
{
    if (rt->session_idle <= 0)
        return 0;
    runbox_session *gone[MCP_MAX_SESSIONS];
    int n = 0;
    double now = mcp_mono();
    pthread_mutex_lock(&rt->lock);
    for (mcp_session_ref *s = rt->sessions; s && n < MCP_MAX_SESSIONS; s = s->next)
        if (s->session && !s->users && now - s->last_used >= rt->session_idle) {
            fprintf(stderr, "runbox mcp: closing session '%s', unused for "
                    "%.0f s\n", s->name, now - s->last_used);
            gone[n++] = mcp_session_detach(rt, s, mcp_note_idle);
        }
    pthread_mutex_unlock(&rt->lock);
    for (int i = 0; i < n; i++)
        runbox_session_close(gone[i]);
    return n;
}
