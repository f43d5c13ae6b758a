/*
 * Setup's first run, Speed and scale, and Cost: latencies of print(1)
 * one-shot and in a session, throughput with threads sharing one context,
 * peak memory, and CPU/wall/price per execution.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "compare.h"

/* E2B's published compute rates, per second of a running sandbox, by the
 * vCPU and RAM its template allocates: the E2B documentation's "How do I
 * calculate the price of a sandbox?" (e2b.dev/docs/faq/calculate-sandbox-
 * price, published 2026-08-06, rates checked there against the pricing
 * page). */
#define CMP_E2B_PER_VCPU_SECOND 0.000014
#define CMP_E2B_PER_GIB_SECOND 0.0000045
#define CMP_E2B_PRICES_OF "2026-08-06"

/* What E2B bills a sandbox of this context by: its template's vCPUs and
 * MiB, from the backend's description of a sandbox. 0 when not known. */
static void cmp_e2b_size(runbox_context *ctx, double *cpus, double *mib)
{
    char *json = NULL;
    *cpus = *mib = 0;
    if (runbox_get_environment(ctx, &json) != RUNBOX_OK)
        return;
    cJSON *env = cJSON_Parse(json);
    const cJSON *e2b = cJSON_GetObjectItemCaseSensitive(env, "e2b");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e2b, "cpu_count");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e2b, "memory_mb");
    if (cJSON_IsNumber(c) && cJSON_IsNumber(m)) {
        *cpus = c->valuedouble;
        *mib = m->valuedouble;
    }
    cJSON_Delete(env);
    free(json);
}

static double cmp_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double cmp_percentile(double *v, size_t n, double p)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_cmp_double);
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    return v[(rank > n ? n : rank) - 1];
}

static void cmp_set_seconds(cmp_backend *b, cmp_row row, double s,
                            const char *evidence)
{
    char v[32];
    if (s < 0.1)
        snprintf(v, sizeof v, "%.1f ms", s * 1e3);
    else if (s < 10)
        snprintf(v, sizeof v, "%.0f ms", s * 1e3);
    else
        snprintf(v, sizeof v, "%.1f s", s);
    cmp_set(b, row, v, "%s", evidence);
}

/* The runbox process's peak RSS in KiB since the last reset. Linux resets
 * VmHWM when "5" is written to clear_refs; without that, the lifetime peak
 * (ru_maxrss) is all there is, and *reset says so. */
static long cmp_hwm_kib(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (fp && fgets(line, sizeof line, fp))
        if (!strncmp(line, "VmHWM:", 6))
            kib = strtol(line + 6, NULL, 10);
    if (fp)
        fclose(fp);
    if (kib < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = ru.ru_maxrss;
    }
    return kib;
}

static int cmp_hwm_reset(void)
{
    FILE *fp = fopen("/proc/self/clear_refs", "w");
    if (!fp)
        return -1;
    int ok = fputs("5", fp) >= 0;
    return fclose(fp) == 0 && ok ? 0 : -1;
}

static double cmp_host_cpu(void)
{
    struct rusage s, c;
    getrusage(RUSAGE_SELF, &s);
    getrusage(RUSAGE_CHILDREN, &c);
    double t = 0;
    const struct rusage *u[2] = {&s, &c};
    for (int i = 0; i < 2; i++)
        t += (double)u[i]->ru_utime.tv_sec + (double)u[i]->ru_utime.tv_usec / 1e6 +
             (double)u[i]->ru_stime.tv_sec + (double)u[i]->ru_stime.tv_usec / 1e6;
    return t;
}

/* ---- throughput: threads doing one-shot executions through one context ---- */

typedef struct cmp_pool {
    runbox_context *ctx;
    int left;   /* executions still to start */
    int failed; /* executions whose verdict was not ok */
} cmp_pool;

static void *cmp_worker(void *arg)
{
    cmp_pool *p = arg;
    runbox_exec_options opt = {.code = "print(1)\n"};
    while (__atomic_fetch_sub(&p->left, 1, __ATOMIC_SEQ_CST) > 0 &&
           !runbox_interrupted()) {
        runbox_result r;
        runbox_result_init(&r);
        if (runbox_execute(p->ctx, &opt, &r) || r.verdict != RUNBOX_VERDICT_OK)
            __atomic_fetch_add(&p->failed, 1, __ATOMIC_SEQ_CST);
        runbox_result_clear(&r);
    }
    return NULL;
}

static void cmp_throughput(const cmp_options *o, cmp_backend *b,
                           runbox_context *ctx, int threads, cmp_row row)
{
    char what[64];
    snprintf(what, sizeof what, "throughput with %d thread%s", threads,
             threads > 1 ? "s" : "");
    cmp_progress(&o->probe, b->name, what);
    int jobs = o->runs > 2 * threads ? o->runs : 2 * threads;
    cmp_pool p = {ctx, jobs, 0};
    pthread_t tid[8];
    int started = 0;
    double t0 = cmp_now();
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, cmp_worker, &p))
            break;
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    double dt = cmp_now() - t0;
    char v[32], tail[48] = "";
    snprintf(v, sizeof v, "%.1f/s", dt > 0 ? (jobs - p.failed) / dt : 0.0);
    if (p.failed)
        snprintf(tail, sizeof tail, "; %d not ok", p.failed);
    cmp_set(b, row, p.failed == jobs ? "error" : v, "%d one-shot print(1) by %d "
            "thread%s through one context in %.2f s%s", jobs, started,
            started == 1 ? "" : "s", dt, tail);
}

/* ---- samples ---- */

typedef struct cmp_samples {
    double *t;
    size_t n;
    int not_ok;
    double cpu;   /* sum of result cpu_seconds */
    int cpu_known;
    char first_problem[400];
} cmp_samples;

static int cmp_sample(cmp_samples *s, runbox_context *ctx, runbox_session *sess,
                      runbox_pool *pool)
{
    runbox_exec_options opt = {.code = "print(1)\n"};
    runbox_result r;
    runbox_result_init(&r);
    double t0 = cmp_now();
    int rc = sess ? runbox_session_execute(sess, &opt, &r)
             : pool ? runbox_pool_execute(pool, &opt, &r)
                    : runbox_execute(ctx, &opt, &r);
    s->t[s->n++] = cmp_now() - t0;
    if (rc || r.verdict != RUNBOX_VERDICT_OK) {
        if (!s->not_ok++)
            snprintf(s->first_problem, sizeof s->first_problem, "%s", cmp_describe(&r));
    }
    if (r.cpu_seconds >= 0)
        s->cpu += r.cpu_seconds, s->cpu_known++;
    runbox_result_clear(&r);
    return rc;
}

static void cmp_latency_rows(const cmp_options *o, cmp_backend *b,
                             cmp_samples *s, int warm)
{
    char ev[600];
    double *copy = malloc(s->n * sizeof *copy);
    if (!copy)
        return;
    memcpy(copy, s->t, s->n * sizeof *copy);
    snprintf(ev, sizeof ev, "%zu %s%s%s%s", s->n,
             warm == 2 ? "runs of print(1) in one session's resident "
                         "interpreter, after one warm-up"
             : warm ? "runs of print(1) in one session (a new interpreter "
                      "process each: no resident interpreter), after one warm-up"
                    : "one-shot runs of print(1), a fresh sandbox each",
             s->not_ok ? "; not ok: " : "", s->not_ok ? s->first_problem : "",
             o->runs < 20 && !warm ? "; p95 of few runs is close to the max" : "");
    if (warm) {
        cmp_set_seconds(b, CMP_SPEED_WARM_P50, cmp_percentile(copy, s->n, 50), ev);
    } else {
        cmp_set_seconds(b, CMP_SPEED_COLD_P50, cmp_percentile(copy, s->n, 50), ev);
        cmp_set_seconds(b, CMP_SPEED_COLD_P95, cmp_percentile(copy, s->n, 95), ev);
    }
    free(copy);
}

static void cmp_warm(const cmp_options *o, cmp_backend *b, runbox_context *ctx)
{
    cmp_progress(&o->probe, b->name, "warm runs (session)");
    runbox_session *sess = NULL;
    int rc = runbox_session_open(&sess, ctx);
    if (rc) {
        const char *msg = runbox_error_last();
        cmp_set(b, CMP_SPEED_WARM_P50, rc == RUNBOX_EUNSUPPORTED ? "no sessions"
                : "error", "%s", *msg ? msg : runbox_strerror(rc));
        return;
    }
    cmp_samples s = {.t = calloc((size_t)o->runs + 1, sizeof(double))};
    if (s.t) {
        cmp_sample(&s, ctx, sess, NULL); /* warm-up, not counted */
        s.n = 0;
        s.not_ok = 0;
        for (int i = 0; i < o->runs && !runbox_interrupted(); i++)
            cmp_sample(&s, ctx, sess, NULL);
        char caps[256];
        runbox_capabilities_str(runbox_context_capabilities(ctx), caps, sizeof caps);
        cmp_latency_rows(o, b, &s, strstr(caps, "interpreter") ? 2 : 1);
        b->warm = s.t;
        b->warm_count = s.n;
    }
    runbox_session_close(sess);
}

/* One-shot runs, each in a fresh sandbox a pool started ahead: the pool
 * (of 2) is full again before each run, as a pool sized for the rate is. */
static void cmp_pooled(const cmp_options *o, cmp_backend *b, runbox_context *ctx)
{
    cmp_progress(&o->probe, b->name, "pooled runs");
    runbox_pool *pool = NULL;
    runbox_pool_options po = {2, 0};
    int rc = runbox_pool_new(&pool, ctx, &po);
    cmp_samples s = {.t = calloc((size_t)o->runs, sizeof(double))};
    for (int i = 0; !rc && s.t && i < o->runs && !runbox_interrupted(); i++) {
        rc = runbox_pool_wait_ready(pool, po.size, 120);
        if (!rc)
            cmp_sample(&s, ctx, NULL, pool);
    }
    if (rc) {
        const char *msg = runbox_error_last();
        cmp_set(b, CMP_SPEED_POOLED_P50, "error", "%s", *msg ? msg : runbox_strerror(rc));
    } else if (s.n) {
        runbox_pool_stats st;
        runbox_pool_stats_get(pool, &st);
        char ev[700];
        snprintf(ev, sizeof ev, "%zu one-shot runs of print(1) through "
                 "runbox_pool_execute, each in a fresh sandbox started ahead by "
                 "a pool of %u (refilled before each run; %llu served from "
                 "it)%s%s", s.n, po.size, (unsigned long long)st.hits,
                 s.not_ok ? "; not ok: " : "", s.not_ok ? s.first_problem : "");
        cmp_set_seconds(b, CMP_SPEED_POOLED_P50, cmp_percentile(s.t, s.n, 50), ev);
    }
    free(s.t);
    runbox_pool_free(pool);
}

static void cmp_cost(const cmp_options *o, cmp_backend *b, const cmp_samples *s,
                     double host_cpu, runbox_context *ctx)
{
    double wall = 0;
    for (size_t i = 0; i < s->n; i++)
        wall += s->t[i];
    wall /= (double)(s->n ? s->n : 1);
    if (s->cpu_known == (int)s->n && s->n)
        cmp_set(b, CMP_COST_CPU, "", "the code's CPU time as the backend measured "
                "it (result cpu_seconds), mean of %zu one-shot runs", s->n);
    else
        cmp_set(b, CMP_COST_CPU, "", "the backend does not report the code's CPU "
                "time: CPU of runbox and its child processes on this host, per "
                "one-shot run (work done by a daemon or a remote machine is not "
                "visible here)");
    char v[48];
    double cpu = s->cpu_known == (int)s->n && s->n ? s->cpu / (double)s->n : host_cpu;
    snprintf(v, sizeof v, "%.3f s%s", cpu,
             s->cpu_known == (int)s->n && s->n ? "" : " (host side)");
    free(b->cells[CMP_COST_CPU].value);
    b->cells[CMP_COST_CPU].value = strdup(v);
    snprintf(v, sizeof v, "%.3f s", wall);
    cmp_set(b, CMP_COST_WALL, v, "mean wall time of %zu one-shot print(1) runs, "
            "measured around runbox_execute", s->n);
    /* For e2b, runbox_execute creates the sandbox, runs, and kills it:
     * its wall time is the sandbox's life from the creation request to the
     * kill's answer, which holds the part E2B bills. */
    double cpus = 0, mib = 0;
    int e2b = !strcmp(b->name, "e2b");
    if (e2b && o->e2b_price <= 0)
        cmp_e2b_size(ctx, &cpus, &mib);
    if (e2b && o->e2b_price > 0) {
        snprintf(v, sizeof v, "$%.7f (est.)", wall * o->e2b_price);
        cmp_set(b, CMP_COST_PRICE, v, "%.3f s of sandbox life per run (created "
                "to killed, the wall time of a one-shot run) x $%g per "
                "sandbox-second as given by --e2b-price-per-second", wall,
                o->e2b_price);
    } else if (e2b && cpus > 0 && mib > 0) {
        double rate = cpus * CMP_E2B_PER_VCPU_SECOND +
                      mib / 1024.0 * CMP_E2B_PER_GIB_SECOND;
        snprintf(v, sizeof v, "$%.7f (est.)", wall * rate);
        cmp_set(b, CMP_COST_PRICE, v, "%.3f s of sandbox life per run (created "
                "to killed: the wall time of a one-shot run, which spans the "
                "creation request to the kill's answer) x $%.7f per second = "
                "%g vCPU x $%g + %.2f GiB x $%g, the template's size as the E2B "
                "API reports it and E2B's published rates of " CMP_E2B_PRICES_OF
                " (e2b.dev/docs/faq/calculate-sandbox-price; "
                "--e2b-price-per-second overrides)", wall, rate, cpus,
                CMP_E2B_PER_VCPU_SECOND, mib / 1024.0, CMP_E2B_PER_GIB_SECOND);
    } else if (e2b) {
        cmp_set(b, CMP_COST_PRICE, "unknown", "the E2B API did not report the "
                "template's vCPUs and memory, which E2B bills by; give "
                "--e2b-price-per-second");
    } else {
        cmp_set(b, CMP_COST_PRICE, "$0 (own host)", "runs on hardware you already "
                "run; its cost is the CPU time above");
    }
}

void cmp_measure(const cmp_options *o, cmp_backend *b)
{
    char err[600];
    cmp_progress(&o->probe, b->name, "first run");
    runbox_context *ctx = NULL;
    runbox_result r;
    runbox_result_init(&r);
    double t0 = cmp_now();
    int rc = cmp_open(&ctx, &o->probe, b->name, NULL, err, sizeof err);
    if (rc) {
        cmp_set(b, CMP_SETUP_FIRST, "error", "%s", err);
        return;
    }
    runbox_exec_options first = {
        .code = "import resource\n"
                "print('RUNBOX_COMPARE', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"};
    rc = runbox_execute(ctx, &first, &r);
    double dt = cmp_now() - t0;
    long code_kib = -1;
    if (!rc && cmp_report_line(&r))
        code_kib = strtol(cmp_report_line(&r), NULL, 10);
    if (rc || code_kib < 0) {
        cmp_set(b, CMP_SETUP_FIRST, "error", "%s", cmp_describe(&r));
    } else {
        cmp_set_seconds(b, CMP_SETUP_FIRST, dt, "loading and opening the backend, "
                        "then one one-shot execution");
        char v[32];
        snprintf(v, sizeof v, "%.1f MiB", (double)code_kib / 1024.0);
        cmp_set(b, CMP_SPEED_CODE_RSS, v, "ru_maxrss of the interpreter that ran "
                "a one-line snippet, reported from inside the sandbox");
    }
    runbox_result_clear(&r);
    if (!(o->sections & CMP_SECTION_SPEED) || runbox_interrupted()) {
        runbox_context_free(ctx);
        return;
    }

    int hwm_reset = cmp_hwm_reset() == 0;
    long rss_before = cmp_hwm_kib();
    cmp_samples s = {.t = calloc((size_t)o->runs, sizeof(double))};
    if (!s.t) {
        runbox_context_free(ctx);
        return;
    }
    double cpu0 = cmp_host_cpu();
    for (int i = 0; i < o->runs && !runbox_interrupted(); i++) {
        char what[48];
        snprintf(what, sizeof what, "cold run %d/%d", i + 1, o->runs);
        cmp_progress(&o->probe, b->name, what);
        cmp_sample(&s, ctx, NULL, NULL);
    }
    double host_cpu = (cmp_host_cpu() - cpu0) / (double)(s.n ? s.n : 1);
    cmp_latency_rows(o, b, &s, 0);
    cmp_cost(o, b, &s, host_cpu, ctx);
    b->cold = s.t;
    b->cold_count = s.n;

    cmp_warm(o, b, ctx);
    cmp_pooled(o, b, ctx);
    static const struct { int threads; cmp_row row; } levels[] = {
        {1, CMP_SPEED_TPUT_1}, {2, CMP_SPEED_TPUT_2}, {8, CMP_SPEED_TPUT_8}};
    for (size_t i = 0; i < 3 && !runbox_interrupted(); i++)
        cmp_throughput(o, b, ctx, levels[i].threads, levels[i].row);

    long peak = cmp_hwm_kib();
    char v[32];
    snprintf(v, sizeof v, "%.1f MiB", (double)peak / 1024.0);
    cmp_set(b, CMP_SPEED_HOST_RSS, v, "%s of the runbox process over the cold, "
            "warm and threaded runs (%.1f MiB at their start); covers runbox and "
            "the backend's in-process state, not daemons, VMs or the code's own "
            "processes", hwm_reset ? "peak RSS (VmHWM, reset before)"
            : "lifetime peak RSS (ru_maxrss; VmHWM could not be reset)",
            (double)rss_before / 1024.0);
    runbox_context_free(ctx);
}
