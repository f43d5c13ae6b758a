/* Warm pools: fresh sandboxes started ahead of time by background workers,
 * each handed out once and destroyed after its run (see runbox.h).
 *
 * Everything the pool holds is in three places, all under one mutex: the
 * ready list (oldest first), the trash (used or unwanted sandboxes waiting
 * to be destroyed) and the workers' hands (a sandbox being started or
 * checked). Slow backend calls (create, destroy, check) run outside the
 * lock; a member being checked is marked so that no run takes it then,
 * which keeps backend.h's promise that calls on one sandbox never overlap. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define RB_POOL_MAX_SIZE 64
#define RB_POOL_DEFAULT_AGE 300.0
/* Slack between a pooled sandbox's own end and the latest run it takes:
 * the requests around the run, and a slow engine. */
#define RB_POOL_MARGIN 10.0
/* How often a worker looks at the clock and the interrupt flag. */
#define RB_POOL_TICK 0.1
/* A waiting member is checked for life at most this often. */
#define RB_POOL_CHECK_EVERY 0.5

typedef struct rb_member {
    void *sandbox;
    double born;
    double checked;
    int checking;
    struct rb_member *next;
} rb_member;

struct runbox_pool {
    runbox_context *ctx;
    unsigned size;
    double max_age;
    double lifetime; /* passed to the backend; 0 = the backend's rule */
    pthread_mutex_t mu;
    pthread_cond_t work;  /* workers: something to do */
    pthread_cond_t ready; /* waiters: a member became ready */
    rb_member *head;      /* ready, oldest first */
    unsigned nready, starting;
    void **trash;
    size_t ntrash, cap_trash;
    int closing;
    double retry_at, backoff;
    char last_error[RUNBOX_MESSAGE_SIZE];
    runbox_pool_stats stats;
    pthread_t threads[2];
    unsigned nthreads;
};

static int rb_pool_stopping(const runbox_pool *p)
{
    return p->closing || runbox_interrupted();
}

static void rb_timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, double secs)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long ns = ts.tv_nsec + (long)(secs * 1e9);
    ts.tv_sec += ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    pthread_cond_timedwait(cv, mu, &ts);
}

/* Under the lock. A full trash would only mean destroying inline. */
static int rb_trash_push(runbox_pool *p, void *sandbox)
{
    if (p->ntrash == p->cap_trash) {
        size_t cap = p->cap_trash ? p->cap_trash * 2 : 8;
        void **t = realloc(p->trash, cap * sizeof *t);
        if (!t)
            return -1;
        p->trash = t;
        p->cap_trash = cap;
    }
    p->trash[p->ntrash++] = sandbox;
    pthread_cond_signal(&p->work);
    return 0;
}

/* Under the lock: unlinks m from the ready list. */
static void rb_unlink(runbox_pool *p, rb_member *m)
{
    for (rb_member **at = &p->head; *at; at = &(*at)->next)
        if (*at == m) {
            *at = m->next;
            p->nready--;
            return;
        }
}

/* One unit of work, picked under the lock and done outside it: destroy
 * trash, replace an expired member, start a missing one, or check one for
 * life. Returns 0 when there was nothing to do. */
static int rb_pool_step(runbox_pool *p)
{
    const runbox_backend *vt = rb_context_backend_vt(p->ctx);
    double now = rb_now();
    if (p->ntrash) {
        void *sb = p->trash[--p->ntrash];
        pthread_mutex_unlock(&p->mu);
        vt->sandbox_destroy(sb);
        pthread_mutex_lock(&p->mu);
        return 1;
    }
    int stopping = rb_pool_stopping(p);
    for (rb_member *m = p->head; m; m = m->next) {
        if (m->checking || (!stopping && now - m->born <= p->max_age))
            continue;
        rb_unlink(p, m);
        if (!stopping)
            p->stats.expired++;
        pthread_mutex_unlock(&p->mu);
        vt->sandbox_destroy(m->sandbox);
        free(m);
        pthread_mutex_lock(&p->mu);
        return 1;
    }
    if (stopping)
        return 0;
    if (p->nready + p->starting < p->size && now >= p->retry_at) {
        p->starting++;
        pthread_mutex_unlock(&p->mu);
        void *sb = NULL;
        rb_error_clear();
        int rc = rb_sandbox_prestart(p->ctx, &sb, p->lifetime);
        char why[RUNBOX_MESSAGE_SIZE];
        snprintf(why, sizeof why, "%s", runbox_error_last());
        rb_member *m = rc ? NULL : calloc(1, sizeof *m);
        pthread_mutex_lock(&p->mu);
        p->starting--;
        if (rc || !m || rb_pool_stopping(p)) {
            if (rc) {
                p->stats.failures++;
                p->backoff = p->backoff ? p->backoff * 2 : 0.5;
                if (p->backoff > 30)
                    p->backoff = 30;
                p->retry_at = rb_now() + p->backoff;
                snprintf(p->last_error, sizeof p->last_error, "%s",
                         why[0] ? why : runbox_strerror(rc));
                rb_host.log(rb_context_host_ctx(p->ctx), RUNBOX_LOG_WARN,
                            "pool: could not start a sandbox (retrying in "
                            "%.1f s): %s", p->backoff, p->last_error);
            }
            free(m);
            if (sb && rb_trash_push(p, sb)) {
                pthread_mutex_unlock(&p->mu);
                vt->sandbox_destroy(sb);
                pthread_mutex_lock(&p->mu);
            }
            return 1;
        }
        p->backoff = 0;
        p->last_error[0] = '\0';
        m->sandbox = sb;
        m->born = m->checked = rb_now();
        rb_member **at = &p->head;
        while (*at)
            at = &(*at)->next;
        *at = m;
        p->nready++;
        p->stats.created++;
        pthread_cond_broadcast(&p->ready);
        return 1;
    }
    if (!vt->sandbox_check)
        return 0;
    for (rb_member *m = p->head; m; m = m->next) {
        if (m->checking || now - m->checked < RB_POOL_CHECK_EVERY)
            continue;
        m->checking = 1;
        pthread_mutex_unlock(&p->mu);
        int rc = vt->sandbox_check(m->sandbox);
        pthread_mutex_lock(&p->mu);
        m->checking = 0;
        m->checked = rb_now();
        pthread_cond_broadcast(&p->ready); /* a run may wait for this check */
        if (rc) {
            rb_unlink(p, m);
            p->stats.dead++;
            pthread_mutex_unlock(&p->mu);
            vt->sandbox_destroy(m->sandbox);
            free(m);
            pthread_mutex_lock(&p->mu);
        }
        return 1;
    }
    return 0;
}

static void *rb_pool_worker(void *arg)
{
    runbox_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (rb_pool_step(p))
            continue;
        if (p->closing)
            break;
        /* Interrupted: everything is gone; wait for runbox_pool_free. */
        rb_timed_wait(&p->work, &p->mu, RB_POOL_TICK);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

RUNBOX_API int runbox_pool_new(runbox_pool **out, runbox_context *ctx,
                               const runbox_pool_options *opt)
{
    if (!out || !ctx || !opt)
        return rb_fail(RUNBOX_EINVAL, "runbox_pool_new: NULL argument");
    *out = NULL;
    if (opt->size < 1 || opt->size > RB_POOL_MAX_SIZE)
        return rb_fail(RUNBOX_EINVAL, "pool size %u is out of range: use 1 "
                       "to %d", opt->size, RB_POOL_MAX_SIZE);
    if (opt->max_age < 0 || opt->max_age != opt->max_age)
        return rb_fail(RUNBOX_EINVAL, "pool max age must be a positive "
                       "number of seconds (0 = %g)", RB_POOL_DEFAULT_AGE);
    runbox_pool *p = calloc(1, sizeof *p);
    if (!p)
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    p->ctx = ctx;
    p->size = opt->size;
    p->stats.size = opt->size;
    p->max_age = opt->max_age > 0 ? opt->max_age : RB_POOL_DEFAULT_AGE;
    double timeout = runbox_context_limits(ctx)->wall_seconds;
    p->lifetime = timeout > 0 ? p->max_age + timeout + RB_POOL_MARGIN : 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, &ca);
    pthread_cond_init(&p->ready, &ca);
    pthread_condattr_destroy(&ca);
    /* The workers take no signals: SIGINT/SIGTERM must reach the thread
     * that waits for input, and the pool learns of them through
     * runbox_interrupted(). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    unsigned want = p->size > 1 ? 2 : 1;
    int err = 0;
    while (p->nthreads < want &&
           !(err = pthread_create(&p->threads[p->nthreads], NULL,
                                  rb_pool_worker, p)))
        p->nthreads++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!p->nthreads) {
        runbox_pool_free(p);
        return rb_fail(RUNBOX_EBACKEND, "could not start the pool's thread: "
                       "%s", strerror(err));
    }
    *out = p;
    return RUNBOX_OK;
}

RUNBOX_API void runbox_pool_free(runbox_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    /* Workers empty the pool before they leave; this covers a pool whose
     * threads never started. */
    pthread_mutex_lock(&p->mu);
    while (rb_pool_step(p))
        ;
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->ready);
    free(p->trash);
    free(p);
}

void *rb_pool_take(runbox_pool *p, double run_seconds)
{
    const runbox_backend *vt = rb_context_backend_vt(p->ctx);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        rb_member *m = p->head;
        double now = rb_now();
        int checking = 0;
        while (m && (m->checking || (p->lifetime > 0 &&
                     m->born + p->lifetime < now + run_seconds + RB_POOL_MARGIN))) {
            checking |= m->checking;
            m = m->next;
        }
        /* A life check is one quick backend call; waiting for it beats a
         * cold start, which is what a miss costs. */
        if (!m && checking && !rb_pool_stopping(p)) {
            rb_timed_wait(&p->ready, &p->mu, RB_POOL_TICK);
            continue;
        }
        if (!m || rb_pool_stopping(p)) {
            p->stats.misses++;
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        rb_unlink(p, m);
        pthread_cond_signal(&p->work); /* start its replacement */
        pthread_mutex_unlock(&p->mu);
        void *sb = m->sandbox;
        int expired = now - m->born > p->max_age;
        int dead = !expired && vt->sandbox_check && vt->sandbox_check(sb);
        free(m);
        pthread_mutex_lock(&p->mu);
        if (!expired && !dead) {
            p->stats.hits++;
            pthread_mutex_unlock(&p->mu);
            return sb;
        }
        if (expired)
            p->stats.expired++;
        else
            p->stats.dead++;
        if (rb_trash_push(p, sb)) {
            pthread_mutex_unlock(&p->mu);
            vt->sandbox_destroy(sb);
            pthread_mutex_lock(&p->mu);
        }
    }
}

void rb_pool_dispose(runbox_pool *p, void *sandbox)
{
    pthread_mutex_lock(&p->mu);
    int full = rb_trash_push(p, sandbox);
    pthread_mutex_unlock(&p->mu);
    if (full)
        rb_context_backend_vt(p->ctx)->sandbox_destroy(sandbox);
}

RUNBOX_API int runbox_pool_execute(runbox_pool *p, const runbox_exec_options *opt,
                                   runbox_result *r)
{
    if (!p || !opt || !r)
        return rb_fail(RUNBOX_EINVAL, "runbox_pool_execute: NULL argument");
    return rb_run_pooled(p->ctx, p, opt, r);
}

RUNBOX_API void runbox_pool_stats_get(runbox_pool *p, runbox_pool_stats *st)
{
    if (!st)
        return;
    memset(st, 0, sizeof *st);
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    *st = p->stats;
    st->ready = p->nready;
    st->starting = p->starting;
    pthread_mutex_unlock(&p->mu);
}

RUNBOX_API int runbox_pool_wait_ready(runbox_pool *p, unsigned n, double timeout)
{
    if (!p)
        return rb_fail(RUNBOX_EINVAL, "runbox_pool_wait_ready: NULL pool");
    if (n > p->size)
        n = p->size;
    double until = rb_now() + timeout;
    int rc = RUNBOX_OK;
    pthread_mutex_lock(&p->mu);
    while (p->nready < n) {
        if (rb_pool_stopping(p)) {
            rc = RUNBOX_ECANCELED;
            break;
        }
        double left = until - rb_now();
        if (left <= 0) {
            rc = RUNBOX_EUNAVAILABLE;
            break;
        }
        rb_timed_wait(&p->ready, &p->mu, left < RB_POOL_TICK ? left : RB_POOL_TICK);
    }
    char why[RUNBOX_MESSAGE_SIZE];
    snprintf(why, sizeof why, "%s", p->last_error);
    unsigned have = p->nready;
    pthread_mutex_unlock(&p->mu);
    if (rc == RUNBOX_ECANCELED)
        return rb_fail(rc, "the pool stopped (interrupted or closing)");
    if (rc)
        return rb_fail(rc, "the pool has %u of %u sandboxes ready after "
                       "%.3g s%s%s", have, n, timeout, why[0] ? "; last "
                       "failure: " : "", why);
    return RUNBOX_OK;
}
