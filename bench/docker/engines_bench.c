/* engines_bench ROUNDS NAME=KEY=VALUE,KEY=VALUE ...: for each named
 * variant of the docker backend's configuration, the median of ROUNDS cold
 * runs (runbox_execute: a container per run) and of ROUNDS runs in one
 * session (runbox_session_execute: an exec per run) of print(1), all in
 * one process and interleaved round by round so that every variant sees
 * the same machine. The first variant is the baseline: every other line
 * gives its ratio to it. Used by bench/docker/engines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runbox/runbox.h"
#include "../bench_time.h"

#define MAX_VARIANTS 8


static double median(double *v, int n)
{
    bench_sort(v, n);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct variant {
    char name[64];
    runbox_context *ctx;
    runbox_session *session;
    double *cold, *warm;
} variant;

static int timed(variant *v, int in_session, double *ms)
{
    runbox_exec_options o = {.code = "print(1)", .timeout = 60};
    runbox_result r;
    runbox_result_init(&r);
    double t0 = bench_now();
    int rc = in_session ? runbox_session_execute(v->session, &o, &r)
                        : runbox_execute(v->ctx, &o, &r);
    *ms = (bench_now() - t0) * 1000;
    int ok = rc == RUNBOX_OK && r.verdict == RUNBOX_VERDICT_OK;
    if (!ok)
        fprintf(stderr, "engines_bench %s: run failed: %s %s\n", v->name,
                runbox_error_last(), r.message);
    runbox_result_clear(&r);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc - 2 > MAX_VARIANTS) {
        fprintf(stderr, "usage: engines_bench ROUNDS NAME=K=V,K=V ...\n");
        return 2;
    }
    int rounds = atoi(argv[1]), n = argc - 2;
    variant vs[MAX_VARIANTS] = {0};
    for (int i = 0; i < n; i++) {
        variant *v = &vs[i];
        char *spec = strdup(argv[i + 2]), *eq = strchr(spec, '=');
        if (!eq)
            return fprintf(stderr, "bad variant %s\n", spec), 2;
        *eq = '\0';
        snprintf(v->name, sizeof v->name, "%s", spec);
        runbox_config *cfg = NULL;
        runbox_config_new(&cfg);
        runbox_config_set(cfg, "backend", "docker");
        char *save = NULL;
        for (char *kv = strtok_r(eq + 1, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            char *e = strchr(kv, '=');
            if (!e)
                continue;
            *e = '\0';
            if (runbox_config_set(cfg, kv, e + 1) != RUNBOX_OK)
                return fprintf(stderr, "%s: %s\n", v->name, runbox_error_last()), 2;
        }
        free(spec);
        if (runbox_context_new(&v->ctx, cfg) != RUNBOX_OK ||
            runbox_session_open(&v->session, v->ctx) != RUNBOX_OK)
            return fprintf(stderr, "%s: %s\n", v->name, runbox_error_last()), 1;
        runbox_config_free(cfg);
        v->cold = calloc((size_t)rounds, sizeof(double));
        v->warm = calloc((size_t)rounds, sizeof(double));
        double ms;
        timed(v, 0, &ms); /* warm-up: image cache, first connection */
        timed(v, 1, &ms);
    }
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < n; i++)
            if (timed(&vs[i], 0, &vs[i].cold[r]) || timed(&vs[i], 1, &vs[i].warm[r]))
                return 1;
    double base_cold = 0, base_warm = 0;
    printf("%-14s %12s %8s %14s %8s\n", "variant", "cold ms", "ratio", "session ms",
           "ratio");
    for (int i = 0; i < n; i++) {
        double c = median(vs[i].cold, rounds), w = median(vs[i].warm, rounds);
        if (i == 0)
            base_cold = c, base_warm = w;
        printf("%-14s %12.1f %7.2fx %14.1f %7.2fx\n", vs[i].name, c, c / base_cold,
               w, w / base_warm);
        runbox_session_close(vs[i].session);
        runbox_context_free(vs[i].ctx);
        free(vs[i].cold);
        free(vs[i].warm);
    }
    return 0;
}
