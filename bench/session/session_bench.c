/* session_bench BACKEND ROUNDS: the resident interpreter of a session
 * (`x += 1` on one session, ROUNDS times) against cold one-shot runs of
 * the same code on the same backend, in one process. Prints p50/p90/min
 * in milliseconds per variant, the session's runs per second and the
 * cold/session ratio. Then a session's first call (opening it, which
 * makes its sandbox, plus the call that starts the interpreter) against
 * a cold run, interleaved round by round, and their ratio. Every run's result is checked (the counter must
 * really count), so a broken interpreter cannot look fast. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runbox/runbox.h"
#include "../bench_time.h"


static double report(const char *name, double *v, int n)
{
    bench_sort(v, n);
    printf("%-8s p50 %8.3f ms  p90 %8.3f ms  min %8.3f ms  (%d runs)\n", name,
           v[n / 2], v[(n * 9) / 10], v[0], n);
    return v[n / 2];
}

static int check(int rc, runbox_result *r, const char *want)
{
    int ok = rc == RUNBOX_OK && r->verdict == RUNBOX_VERDICT_OK &&
             (!want || (r->rich_count && !strcmp(r->rich[0].data, want)));
    if (!ok)
        fprintf(stderr, "session_bench: run failed (%s): %s %s\n",
                runbox_verdict_name(r->verdict), r->message, runbox_error_last());
    runbox_result_clear(r);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: session_bench BACKEND ROUNDS\n");
        return 2;
    }
    int rounds = atoi(argv[2]), cold_rounds = rounds < 20 ? rounds : 20;
    runbox_config *cfg = NULL;
    runbox_context *ctx = NULL;
    runbox_session *s = NULL;
    if (rounds < 1 || runbox_config_new(&cfg) || runbox_config_load(cfg, NULL) ||
        runbox_config_set(cfg, "backend", argv[1]) ||
        runbox_context_new(&ctx, cfg) || runbox_session_open(&s, ctx)) {
        fprintf(stderr, "session_bench: %s\n", runbox_error_last());
        return 1;
    }
    double *warm = calloc((size_t)rounds, sizeof *warm);
    double *cold = calloc((size_t)cold_rounds, sizeof *cold);
    runbox_result r;
    runbox_result_init(&r);
    runbox_exec_options o = {.code = "x = 0"};
    int bad = !warm || !cold || check(runbox_session_execute(s, &o, &r), &r, NULL);
    o.code = "x += 1\nx";
    char want[32];
    double t0 = bench_now();
    for (int i = 0; i < rounds && !bad; i++) {
        double t = bench_now();
        int rc = runbox_session_execute(s, &o, &r);
        warm[i] = (bench_now() - t) * 1e3;
        snprintf(want, sizeof want, "%d", i + 1);
        bad = check(rc, &r, want);
    }
    double total = bench_now() - t0;
    o.code = "x = 0\nx += 1\nx";
    for (int i = 0; i < cold_rounds && !bad; i++) {
        double t = bench_now();
        int rc = runbox_execute(ctx, &o, &r);
        cold[i] = (bench_now() - t) * 1e3;
        bad = check(rc, &r, "1");
    }
    if (!bad) {
        double w = report("session", warm, rounds);
        double c = report("cold", cold, cold_rounds);
        printf("session throughput %.0f runs/s\n", rounds / total);
        printf("cold/session p50 ratio %.1f\n", c / w);
    }
    runbox_session_close(s);
    /* First calls, each on a new session, each followed by a cold run so
     * that both see the same moment of the machine. Closing is not timed. */
    double *first = calloc((size_t)cold_rounds, sizeof *first);
    bad = bad || !first;
    for (int i = 0; i < cold_rounds && !bad; i++) {
        runbox_session *f = NULL;
        o.code = "x = 1\nx";
        double t = bench_now();
        int rc = runbox_session_open(&f, ctx);
        if (rc == RUNBOX_OK)
            rc = runbox_session_execute(f, &o, &r);
        first[i] = (bench_now() - t) * 1e3;
        bad = check(rc, &r, "1");
        runbox_session_close(f);
        o.code = "x = 0\nx += 1\nx";
        t = bench_now();
        rc = runbox_execute(ctx, &o, &r);
        cold[i] = (bench_now() - t) * 1e3;
        bad = bad || check(rc, &r, "1");
    }
    if (!bad) {
        double f = report("first", first, cold_rounds);
        double c = report("cold", cold, cold_rounds);
        printf("first-call/cold p50 ratio %.2f\n", f / c);
    }
    free(first);
    free(warm);
    free(cold);
    runbox_context_free(ctx);
    runbox_config_free(cfg);
    return bad ? 1 : 0;
}
