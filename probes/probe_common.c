/* Shared pieces of the probes: the rows, cells, and opening a backend
 * with a probe's settings. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes.h"

const cmp_row_def cmp_rows[CMP_ROW_COUNT] = {
    [CMP_SETUP_STATUS] = {"Setup", "status", "setup.status"},
    [CMP_SETUP_FOUND] = {"Setup", "needs / found", "setup.found"},
    [CMP_SETUP_FIRST] = {"Setup", "first run (open + run)", "setup.first_run_s"},
    [CMP_SEC_FILE] = {"Security", "reads a host file", "security.host_file"},
    [CMP_SEC_ENV] = {"Security", "sees a host env variable", "security.host_env"},
    [CMP_SEC_LOOPBACK] = {"Security", "reaches a host loopback port", "security.host_loopback"},
    [CMP_SEC_NETWORK] = {"Security", "reaches the network", "security.network"},
    [CMP_SEC_ROOT] = {"Security", "runs as root", "security.root"},
    [CMP_SEC_CAPS] = {"Security", "has capabilities", "security.capabilities"},
    [CMP_RES_TIMEOUT] = {"Resource management", "wall timeout enforced", "resources.timeout"},
    [CMP_RES_MEMORY] = {"Resource management", "memory limit enforced", "resources.memory"},
    [CMP_RES_PROCESSES] = {"Resource management", "process limit enforced", "resources.processes"},
    [CMP_RES_OUTPUT] = {"Resource management", "output capped", "resources.output"},
    [CMP_SPEED_COLD_P50] = {"Speed and scale", "cold start p50", "speed.cold_p50_s"},
    [CMP_SPEED_COLD_P95] = {"Speed and scale", "cold start p95", "speed.cold_p95_s"},
    [CMP_SPEED_WARM_P50] = {"Speed and scale", "warm p50 (session)", "speed.warm_p50_s"},
    [CMP_SPEED_POOLED_P50] = {"Speed and scale", "pooled fresh run p50", "speed.pooled_p50_s"},
    [CMP_SPEED_TPUT_1] = {"Speed and scale", "throughput, 1 thread", "speed.throughput_1"},
    [CMP_SPEED_TPUT_2] = {"Speed and scale", "throughput, 2 threads", "speed.throughput_2"},
    [CMP_SPEED_TPUT_8] = {"Speed and scale", "throughput, 8 threads", "speed.throughput_8"},
    [CMP_SPEED_HOST_RSS] = {"Speed and scale", "peak RSS, runbox process", "speed.host_peak_rss"},
    [CMP_SPEED_CODE_RSS] = {"Speed and scale", "peak RSS, the code", "speed.code_peak_rss"},
    [CMP_COST_CPU] = {"Cost", "CPU per execution", "cost.cpu_s"},
    [CMP_COST_WALL] = {"Cost", "wall per execution", "cost.wall_s"},
    [CMP_COST_PRICE] = {"Cost", "price per execution", "cost.price"},
};

void cmp_set(cmp_backend *b, cmp_row row, const char *value,
             const char *evidence_fmt, ...)
{
    cmp_cell *c = &b->cells[row];
    free(c->value);
    free(c->evidence);
    c->value = strdup(value);
    c->evidence = NULL;
    if (evidence_fmt) {
        va_list ap;
        va_start(ap, evidence_fmt);
        if (vasprintf(&c->evidence, evidence_fmt, ap) < 0)
            c->evidence = NULL;
        va_end(ap);
    }
}

void cmp_progress(const probe_options *o, const char *backend, const char *what)
{
    if (!o->progress)
        return;
    if (!backend)
        fprintf(stderr, "\r\033[K");
    else
        fprintf(stderr, "\r\033[Kcompare: %s: %s", backend, what);
    fflush(stderr);
}

static const char *const gvisor_settings[] = {"docker.runtime", "runsc", NULL};

static const struct {
    const char *column, *backend;
    const char *const *settings;
} cmp_variants[] = {
    {"docker+gvisor", "docker", gvisor_settings},
};

const char *const cmp_variant_columns[] = {"docker+gvisor", NULL};

const char *cmp_column_backend(const char *column, const char *const **settings)
{
    for (size_t i = 0; i < sizeof cmp_variants / sizeof cmp_variants[0]; i++)
        if (!strcmp(column, cmp_variants[i].column)) {
            *settings = cmp_variants[i].settings;
            return cmp_variants[i].backend;
        }
    *settings = NULL;
    return column;
}

runbox_config *cmp_config(const probe_options *o, const char *name,
                          const char *const *overrides, char *err,
                          size_t err_size)
{
    runbox_config *cfg = NULL;
    int rc = runbox_config_new(&cfg);
    if (!rc)
        rc = runbox_config_load(cfg, o->config_path);
    const char *const *variant = NULL;
    if (!rc)
        rc = runbox_config_set(cfg, "backend", cmp_column_backend(name, &variant));
    for (size_t i = 0; !rc && variant && variant[i]; i += 2)
        rc = runbox_config_set(cfg, variant[i], variant[i + 1]);
    /* A cold run must be cold: a configured pool (pool_size) would hand
     * the probes and the cold rows started sandboxes. The pooled row makes
     * a pool of its own. */
    if (!rc)
        rc = runbox_config_set(cfg, "pool_size", "0");
    if (!rc && o->timeout)
        rc = runbox_config_set(cfg, "timeout", o->timeout);
    for (size_t i = 0; !rc && o->overrides && o->overrides[i]; i += 2)
        rc = runbox_config_set(cfg, o->overrides[i], o->overrides[i + 1]);
    for (size_t i = 0; !rc && overrides && overrides[i]; i += 2)
        rc = runbox_config_set(cfg, overrides[i], overrides[i + 1]);
    if (rc) {
        const char *msg = runbox_error_last();
        snprintf(err, err_size, "%s", *msg ? msg : runbox_strerror(rc));
        runbox_config_free(cfg);
        return NULL;
    }
    return cfg;
}

int cmp_open(runbox_context **ctx, const probe_options *o, const char *name,
             const char *const *overrides, char *err, size_t err_size)
{
    *ctx = NULL;
    runbox_config *cfg = cmp_config(o, name, overrides, err, err_size);
    if (!cfg)
        return RUNBOX_ECONFIG;
    int rc = runbox_context_new(ctx, cfg);
    runbox_config_free(cfg);
    if (rc) {
        const char *msg = runbox_error_last();
        snprintf(err, err_size, "%s", *msg ? msg : runbox_strerror(rc));
    }
    return rc;
}

const char *cmp_report_line(const runbox_result *r)
{
    static const char tag[] = "RUNBOX_COMPARE ";
    const char *found = NULL;
    for (const char *p = r->out.data; p && (p = strstr(p, tag)); p++)
        if (p == r->out.data || p[-1] == '\n')
            found = p + sizeof tag - 1;
    return found;
}

const char *cmp_describe(const runbox_result *r)
{
    static char buf[800];
    const char *err = r->err.data ? r->err.data : "";
    size_t len = r->err.len;
    while (len && (err[len - 1] == '\n' || err[len - 1] == ' '))
        len--;
    size_t start = len;
    while (start && err[start - 1] != '\n')
        start--;
    snprintf(buf, sizeof buf, "verdict %s%s%.300s%s%.*s", runbox_verdict_name(r->verdict),
             r->message[0] ? ": " : "", r->message, len ? "; stderr: " : "",
             (int)(len - start > 160 ? 160 : len - start), err + start);
    return buf;
}
