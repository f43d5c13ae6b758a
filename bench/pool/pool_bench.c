/* pool_bench BACKEND ROUNDS POOL_SIZE: cold runbox_execute against a
 * pooled runbox_pool_execute of print(1) on one backend, in one process,
 * interleaved. Before each pooled run it waits until the pool is full
 * again: runs arrive no faster than the pool refills, which is the rate a
 * pool of this size is meant for. Prints one line per variant with the
 * median, p90 and min in milliseconds, then the pool's counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runbox/runbox.h"
#include "../bench_time.h"


static int run(runbox_context *ctx, runbox_pool *pool, double *ms)
{
    runbox_exec_options o = {0};
    o.code = "print(1)";
    runbox_result r;
    runbox_result_init(&r);
    double t0 = bench_now();
    int rc = pool ? runbox_pool_execute(pool, &o, &r) : runbox_execute(ctx, &o, &r);
    *ms = (bench_now() - t0) * 1e3;
    int ok = rc == RUNBOX_OK && r.verdict == RUNBOX_VERDICT_OK && r.out.data &&
             !strcmp(r.out.data, "1\n");
    if (!ok)
        fprintf(stderr, "pool_bench: run failed (%s): %s %s\n",
                runbox_verdict_name(r.verdict), r.message, runbox_error_last());
    runbox_result_clear(&r);
    return ok ? 0 : -1;
}

static void report(const char *name, double *v, int n)
{
    bench_sort(v, n);
    printf("%s p50 %.2f p90 %.2f min %.2f\n", name, v[n / 2], v[(n * 9) / 10],
           v[0]);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: pool_bench BACKEND ROUNDS POOL_SIZE\n");
        return 2;
    }
    int rounds = atoi(argv[2]);
    runbox_config *cfg = NULL;
    runbox_context *ctx = NULL;
    runbox_pool *pool = NULL;
    runbox_pool_options po = {(unsigned)atoi(argv[3]), 0};
    if (rounds < 1 || runbox_config_new(&cfg) ||
        runbox_config_load(cfg, NULL) ||
        runbox_config_set(cfg, "backend", argv[1]) ||
        runbox_context_new(&ctx, cfg) || runbox_pool_new(&pool, ctx, &po)) {
        fprintf(stderr, "pool_bench: %s\n", runbox_error_last());
        return 1;
    }
    double *cold = calloc((size_t)rounds, sizeof *cold);
    double *warm = calloc((size_t)rounds, sizeof *warm);
    double ms;
    int bad = !cold || !warm || run(ctx, NULL, &ms); /* warm the caches */
    for (int i = 0; i < rounds && !bad; i++) {
        if (runbox_pool_wait_ready(pool, po.size, 120)) {
            fprintf(stderr, "pool_bench: %s\n", runbox_error_last());
            bad = 1;
            break;
        }
        bad = run(ctx, pool, &warm[i]) || run(ctx, NULL, &cold[i]);
    }
    if (!bad) {
        report("cold", cold, rounds);
        report("pooled", warm, rounds);
        runbox_pool_stats s;
        runbox_pool_stats_get(pool, &s);
        printf("pool size %u created %llu hits %llu misses %llu\n", s.size,
               (unsigned long long)s.created, (unsigned long long)s.hits,
               (unsigned long long)s.misses);
    }
    free(cold);
    free(warm);
    runbox_pool_free(pool);
    runbox_context_free(ctx);
    runbox_config_free(cfg);
    return bad;
}
