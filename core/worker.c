/* The thread every call on one sandbox runs on, and the watch that lets the
 * caller give up on a call the backend does not end.
 *
 * Why a thread per sandbox, not the caller's: a backend is foreign code.
 * If its exec never returns, the caller's thread would be lost with it,
 * and with it the promise that the wall-clock limit is enforced by runbox.
 * Running the call on a thread runbox owns lets the caller wait with a
 * clock, raise cancelled() at the deadline and walk away after a grace.
 * One thread for the sandbox's whole life (create, every call, destroy)
 * rather than one per call keeps what a backend ties to "the thread that
 * made it" (PR_SET_PDEATHSIG of a child forked in sandbox_create, thread
 * locals) alive as long as the sandbox.
 *
 * The thread runs with every signal blocked: signals are the
 * application's business (its handlers run on its threads). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* The core raises cancelled() this long after the deadline: a backend
 * that enforces the deadline itself (most do) reports its own timeout,
 * with its own message, rather than racing the core's. */
#define RB_DEADLINE_SLACK 0.5

struct rb_worker {
    pthread_mutex_t lock;
    pthread_cond_t cond;       /* CLOCK_MONOTONIC */
    pthread_t thread;
    rb_job_fn job;             /* the job to run, NULL when idle */
    void *arg;
    void (*release)(void *);   /* frees arg when the caller gave up */
    int busy;                  /* job running */
    int done;                  /* the job handed over has finished */
    int abandoned;             /* the caller gave up on the running job */
    rb_job_fn last;            /* the final job (destroy), then exit */
    void *last_arg;
    int finishing;
    int refs;                  /* caller + thread */
};

static void rb_worker_unref(rb_worker *w)
{
    pthread_mutex_lock(&w->lock);
    int left = --w->refs;
    pthread_mutex_unlock(&w->lock);
    if (left)
        return;
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static void *rb_worker_main(void *p)
{
    rb_worker *w = p;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->job && !w->finishing)
            pthread_cond_wait(&w->cond, &w->lock);
        if (w->job) {
            rb_job_fn fn = w->job;
            void *arg = w->arg;
            w->busy = 1;
            pthread_mutex_unlock(&w->lock);
            fn(arg);
            pthread_mutex_lock(&w->lock);
            w->busy = 0;
            w->job = NULL;
            if (w->abandoned) {
                /* Nobody waits for this result: it is ours to free. */
                void (*release)(void *) = w->release;
                w->abandoned = 0;
                pthread_mutex_unlock(&w->lock);
                if (release)
                    release(arg);
                pthread_mutex_lock(&w->lock);
            } else {
                w->done = 1;
            }
            pthread_cond_broadcast(&w->cond);
            continue;
        }
        rb_job_fn last = w->last;
        void *last_arg = w->last_arg;
        pthread_mutex_unlock(&w->lock);
        if (last)
            last(last_arg);
        pthread_mutex_lock(&w->lock);
        w->last = NULL;
        w->finishing = 2; /* the final job ran */
        pthread_cond_broadcast(&w->cond);
        break;
    }
    pthread_mutex_unlock(&w->lock);
    rb_worker_unref(w);
    return NULL;
}

int rb_worker_new(rb_worker **out)
{
    rb_worker *w = calloc(1, sizeof *w);
    if (!w)
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->lock, NULL);
    w->refs = 2;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&w->thread, NULL, rb_worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return rb_fail(RUNBOX_EBACKEND, "cannot start a thread for the "
                       "sandbox: %s", strerror(err));
    }
    pthread_detach(w->thread);
    *out = w;
    return RUNBOX_OK;
}

static struct timespec rb_abs_in(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long ns = ts.tv_nsec + (long)(seconds * 1e9);
    ts.tv_sec += ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    return ts;
}

static int rb_watch_cancelled(const rb_watch *watch)
{
    return runbox_interrupted() || (watch->cancel && *watch->cancel);
}

int rb_worker_run(rb_worker *w, rb_job_fn fn, void *arg,
                  void (*detach)(void *), void (*release)(void *),
                  const rb_watch *watch)
{
    pthread_mutex_lock(&w->lock);
    if (w->busy || w->job || w->finishing) {
        pthread_mutex_unlock(&w->lock);
        return RB_WORKER_BUSY;
    }
    w->job = fn;
    w->arg = arg;
    w->release = release;
    w->done = 0;
    pthread_cond_broadcast(&w->cond);
    /* The give-up time: the deadline (or the first sight of a cancel)
     * plus the grace. The cancel flags cannot wake us (a signal handler
     * sets them), so they are polled. */
    double give_up = 0;
    int result = RB_WORKER_DONE;
    while (!w->done) {
        double now = rb_now();
        if (!give_up && watch) {
            if (watch->deadline > 0 && now >= watch->deadline + RB_DEADLINE_SLACK) {
                if (watch->expired)
                    __atomic_store_n(watch->expired, 1, __ATOMIC_SEQ_CST);
                give_up = now + watch->grace;
            } else if (rb_watch_cancelled(watch)) {
                give_up = now + watch->grace;
            }
        }
        if (give_up && now >= give_up) {
            if (detach)
                detach(arg); /* under w->lock: the job cannot finish now */
            w->abandoned = 1;
            result = RB_WORKER_ABANDONED;
            break;
        }
        double wait = 0.05;
        double at = watch ? watch->deadline + RB_DEADLINE_SLACK : 0;
        if (watch && watch->deadline > 0 && !give_up && at > now && at - now < wait)
            wait = at - now;
        struct timespec ts = rb_abs_in(wait > 0.001 ? wait : 0.001);
        pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    }
    w->done = 0;
    pthread_mutex_unlock(&w->lock);
    return result;
}

int rb_worker_finish(rb_worker *w, rb_job_fn fn, void *arg, double grace)
{
    pthread_mutex_lock(&w->lock);
    w->last = fn;
    w->last_arg = arg;
    w->finishing = 1;
    pthread_cond_broadcast(&w->cond);
    /* A worker still inside a call the caller gave up on runs the final
     * job whenever that call returns; nobody waits for it. */
    int stuck = w->busy;
    double give_up = 0;
    while (!stuck && w->finishing != 2) {
        if (!give_up && runbox_interrupted())
            give_up = rb_now() + grace;
        if (give_up && rb_now() >= give_up) {
            stuck = 1;
            break;
        }
        struct timespec ts = rb_abs_in(0.05);
        pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    }
    pthread_mutex_unlock(&w->lock);
    rb_worker_unref(w);
    return stuck ? RB_WORKER_ABANDONED : RB_WORKER_DONE;
}
