/* Many threads through one context, as runbox.h allows: one-shot runs,
 * sessions (each used by one thread), a warm pool shared by all, and
 * contexts opened at once from one configuration. Every answer is checked
 * (each thread prints its own numbers), and the run is meant to be clean
 * under ThreadSanitizer (scripts/test.d/80-tsan.sh) and ASan's leak check.
 *
 * Usage: test_concurrency BACKEND [THREADS] [ROUNDS] [KEY=VALUE...]
 * Configuration comes from the environment as for any runbox program
 * (RUNBOX_DOCKER_IMAGE sets docker.image; E2B_* for e2b). Not cmocka:
 * its assertions are not thread-safe. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runbox/backend.h" /* RUNBOX_CAP_* */
#include "runbox/runbox.h"

typedef struct shared {
    const char *backend;
    runbox_config *cfg;
    runbox_context *ctx;
    runbox_pool *pool;
    int rounds;
    int sessions; /* the backend has RUNBOX_CAP_SESSIONS */
    atomic_int done, failed;
} shared;

typedef struct worker {
    shared *sh;
    int id;
} worker;

static void fail(shared *sh, int id, const char *what, const runbox_result *r,
                 int rc)
{
    atomic_fetch_add(&sh->failed, 1);
    fprintf(stderr, "thread %d: %s: status %s, verdict %s, out '%.80s', "
            "message '%s', last error '%s'\n", id, what, runbox_err_name(rc),
            r ? runbox_verdict_name(r->verdict) : "-",
            r && r->out.data ? r->out.data : "", r ? r->message : "",
            runbox_error_last());
}

/* Runs code, expects stdout == want. */
static void expect(shared *sh, int id, const char *what, int rc,
                   runbox_result *r, const char *want)
{
    if (rc != RUNBOX_OK || r->verdict != RUNBOX_VERDICT_OK || !r->out.data ||
        strcmp(r->out.data, want))
        fail(sh, id, what, r, rc);
    else
        atomic_fetch_add(&sh->done, 1);
    runbox_result_clear(r);
}

static void *work(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    char code[128], want[64];
    runbox_result r;
    runbox_result_init(&r);
    for (int round = 0; round < sh->rounds; round++) {
        int n = w->id * 1000 + round;
        snprintf(code, sizeof code, "print(%d)", n);
        snprintf(want, sizeof want, "%d\n", n);
        runbox_exec_options opt = {.code = code, .timeout = 60};
        expect(sh, w->id, "one-shot run", runbox_execute(sh->ctx, &opt, &r), &r, want);

        if (sh->pool)
            expect(sh, w->id, "pool run", runbox_pool_execute(sh->pool, &opt, &r),
                   &r, want);

        if (sh->sessions) {
            runbox_session *s = NULL;
            int rc = runbox_session_open(&s, sh->ctx);
            if (rc != RUNBOX_OK) {
                fail(sh, w->id, "session open", NULL, rc);
                continue;
            }
            snprintf(code, sizeof code, "open('t%d', 'w').write('%d')", w->id, n);
            opt.code = code;
            rc = runbox_session_execute(s, &opt, &r);
            if (rc != RUNBOX_OK || r.verdict != RUNBOX_VERDICT_OK)
                fail(sh, w->id, "session write", &r, rc);
            runbox_result_clear(&r);
            snprintf(code, sizeof code, "print(open('t%d').read())", w->id);
            expect(sh, w->id, "session read back", runbox_session_execute(s, &opt, &r),
                   &r, want);
            runbox_session_close(s);
        }

        /* A context of its own, opened while others run. */
        runbox_context *mine = NULL;
        int rc = runbox_context_new(&mine, sh->cfg);
        if (rc != RUNBOX_OK)
            fail(sh, w->id, "context_new", NULL, rc);
        runbox_context_free(mine);

        char *json = NULL;
        runbox_result_init(&r);
        r.verdict = RUNBOX_VERDICT_OK;
        if (runbox_result_to_json(&json, &r) != RUNBOX_OK ||
            runbox_package_spec_check("numpy>=1.26") != RUNBOX_OK)
            fail(sh, w->id, "thread-safe helpers", NULL, RUNBOX_OK);
        free(json);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s BACKEND [THREADS] [ROUNDS] [KEY=VALUE...]\n", argv[0]);
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 6;
    shared sh = {.backend = argv[1], .rounds = argc > 3 ? atoi(argv[3]) : 3};
    const char *image = getenv("RUNBOX_DOCKER_IMAGE");
    if (runbox_config_new(&sh.cfg) || runbox_config_load(sh.cfg, NULL) ||
        runbox_config_set(sh.cfg, "backend", sh.backend) ||
        (image && !strcmp(sh.backend, "docker") &&
         runbox_config_set(sh.cfg, "docker.image", image))) {
        fprintf(stderr, "config: %s\n", runbox_error_last());
        return 1;
    }
    for (int i = 4; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq)
            *eq = '\0';
        if (!eq || runbox_config_set(sh.cfg, argv[i], eq + 1)) {
            fprintf(stderr, "config %s: %s\n", argv[i], runbox_error_last());
            return 1;
        }
    }
    if (runbox_context_new(&sh.ctx, sh.cfg)) {
        fprintf(stderr, "context for %s: %s\n", sh.backend, runbox_error_last());
        return 1;
    }
    sh.sessions = (runbox_context_capabilities(sh.ctx) & RUNBOX_CAP_SESSIONS) != 0;
    runbox_pool_options po = {.size = 2, .max_age = 60};
    if (runbox_pool_new(&sh.pool, sh.ctx, &po) != RUNBOX_OK) {
        fprintf(stderr, "pool: %s (runs without one)\n", runbox_error_last());
        sh.pool = NULL;
    }
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    worker *w = calloc((size_t)threads, sizeof *w);
    if (!t || !w)
        return 1;
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){&sh, i + 1};
        if (pthread_create(&t[i], NULL, work, &w[i])) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    runbox_pool_free(sh.pool);
    runbox_context_free(sh.ctx);
    runbox_config_free(sh.cfg);
    free(t);
    free(w);
    int per_round = 1 + (sh.pool != NULL) + sh.sessions;
    int want = threads * sh.rounds * per_round;
    printf("%s: %d threads x %d rounds: %d of %d checked runs right, %d failures\n",
           argv[1], threads, sh.rounds, atomic_load(&sh.done), want,
           atomic_load(&sh.failed));
    return atomic_load(&sh.failed) || atomic_load(&sh.done) != want;
}
