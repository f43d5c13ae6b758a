/* runbox compare: options, backend discovery, and the order of the work. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compare.h"

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
    [CMP_SPEED_TPUT_1] = {"Speed and scale", "throughput, 1 thread", "speed.throughput_1"},
    [CMP_SPEED_TPUT_2] = {"Speed and scale", "throughput, 2 threads", "speed.throughput_2"},
    [CMP_SPEED_TPUT_8] = {"Speed and scale", "throughput, 8 threads", "speed.throughput_8"},
    [CMP_SPEED_HOST_RSS] = {"Speed and scale", "peak RSS, runbox process", "speed.host_peak_rss"},
    [CMP_SPEED_CODE_RSS] = {"Speed and scale", "peak RSS, the code", "speed.code_peak_rss"},
    [CMP_COST_CPU] = {"Cost", "CPU per execution", "cost.cpu_s"},
    [CMP_COST_WALL] = {"Cost", "wall per execution", "cost.wall_s"},
    [CMP_COST_PRICE] = {"Cost", "price per execution", "cost.price"},
};

static const char compare_help[] =
    "usage: runbox compare [-b NAME,NAME,...] [--runs N] [--format FMT]\n"
    "                      [--plot FILE] [--config FILE] [options]\n"
    "Measures the backends side by side on this machine, row by row as the\n"
    "setup guide's comparison table: Setup, Security, Resource management,\n"
    "Speed and scale, Cost. Every answer comes from code run inside the\n"
    "backend; a backend that cannot work here is listed with the reason.\n\n"
    "  -b, --backend LIST   backends to compare (default: every one found)\n"
    "      --runs N         cold and warm samples per backend (default 10)\n"
    "      --format FMT     table (default), markdown, json or csv\n"
    "      --plot FILE      also write a latency chart (PNG, needs gnuplot)\n"
    "      --sections LIST  security,resources,speed (default: all; setup\n"
    "                       is always shown, cost comes with speed)\n"
    "      --e2b-price-per-second USD\n"
    "                       price of one sandbox-second for the e2b cost\n"
    "                       estimate (default 0.000014, 1 vCPU; check the\n"
    "                       current E2B pricing and override it)\n"
    "      --config FILE    configuration file (default ./runbox.ini)\n"
    "  -t, --timeout SECS   wall-clock limit for the speed runs\n\n"
    "Progress goes to stderr on a terminal; the result goes to stdout.\n"
    "Exit status 0 when the comparison ran (skipped backends included),\n"
    "2 for a usage error, 1 when the plot could not be written.\n";

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

void cmp_progress(const cmp_options *o, const char *backend, const char *what)
{
    if (!o->progress)
        return;
    if (!backend)
        fprintf(stderr, "\r\033[K");
    else
        fprintf(stderr, "\r\033[Kcompare: %s: %s", backend, what);
    fflush(stderr);
}

runbox_config *cmp_config(const cmp_options *o, const char *name,
                          const char *const *overrides, char *err,
                          size_t err_size)
{
    runbox_config *cfg = NULL;
    int rc = runbox_config_new(&cfg);
    if (!rc)
        rc = runbox_config_load(cfg, o->common.config_path);
    if (!rc)
        rc = runbox_config_set(cfg, "backend", name);
    if (!rc && o->common.timeout)
        rc = runbox_config_set(cfg, "timeout", o->common.timeout);
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

int cmp_open(runbox_context **ctx, const cmp_options *o, const char *name,
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

/* ---- discovery ---- */

typedef struct cmp_list {
    cmp_backend *v;
    size_t n, cap;
} cmp_list;

static cmp_backend *cmp_find(cmp_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name))
            return &l->v[i];
    return NULL;
}

static cmp_backend *cmp_add(cmp_list *l, const char *name)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        cmp_backend *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    cmp_backend *b = &l->v[l->n++];
    memset(b, 0, sizeof *b);
    b->name = strdup(name);
    return b;
}

/* The search path may hold the same backend twice (build tree and
 * RUNBOX_BACKEND_PATH); the first one found is the one runbox uses. */
static void cmp_on_backend(void *ud, const runbox_backend_info *info)
{
    cmp_list *l = ud;
    if (!info->name || cmp_find(l, info->name))
        return;
    cmp_backend *b = cmp_add(l, info->name);
    if (!b)
        return;
    b->path = info->path ? strdup(info->path) : NULL;
    b->usable = info->usable && !info->load_error;
    const char *note = info->load_error ? info->load_error : info->why;
    b->note = note ? strdup(note) : NULL;
    b->description = info->description ? strdup(info->description) : NULL;
}

static void cmp_backend_free(cmp_backend *b)
{
    for (int r = 0; r < CMP_ROW_COUNT; r++) {
        free(b->cells[r].value);
        free(b->cells[r].evidence);
    }
    free(b->name);
    free(b->path);
    free(b->note);
    free(b->description);
    free(b->cold);
    free(b->warm);
}

/* Picks the columns: every backend found, or the -b list in its order,
 * with names that are not backends listed as "not found". */
static int cmp_select(cmp_list *out, cmp_list *found, const char *wanted)
{
    if (!wanted) {
        *out = *found;
        memset(found, 0, sizeof *found);
        return 0;
    }
    char *copy = strdup(wanted), *save = NULL;
    if (!copy)
        return -1;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (!*t || cmp_find(out, t))
            continue;
        cmp_backend *src = cmp_find(found, t), *b = cmp_add(out, t);
        if (!b)
            break;
        if (src) {
            free(b->name);
            *b = *src;
            memset(src, 0, sizeof *src);
            src->name = strdup(t); /* keeps cmp_find working on found */
            continue;
        }
        size_t len = 64;
        for (size_t i = 0; i < found->n; i++)
            len += strlen(found->v[i].name) + 2;
        b->note = malloc(len);
        if (b->note) {
            strcpy(b->note, "not found: no backend of that name; found: ");
            for (size_t i = 0; i < found->n; i++)
                strcat(strcat(b->note, i ? ", " : ""), found->v[i].name);
            if (!found->n)
                strcat(b->note, "none (set RUNBOX_BACKEND_PATH)");
        }
    }
    free(copy);
    return 0;
}

static int cmp_parse_sections(const char *s, int *out)
{
    *out = 0;
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return -1;
    int rc = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "security"))
            *out |= CMP_SECTION_SECURITY;
        else if (!strcmp(t, "resources"))
            *out |= CMP_SECTION_RESOURCES;
        else if (!strcmp(t, "speed") || !strcmp(t, "cost"))
            *out |= CMP_SECTION_SPEED;
        else if (!strcmp(t, "all"))
            *out |= CMP_SECTION_ALL;
        else
            rc = -1;
    }
    free(copy);
    return rc;
}

static int cmp_parse(cmp_options *o, const char **wanted, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(compare_help, stdout);
            return 0;
        }
        /* -b takes a list here, so it is not the common single backend. */
        if (!strcmp(a, "-b") || !strcmp(a, "--backend") || !strcmp(a, "--runs") ||
            !strcmp(a, "--format") || !strcmp(a, "--plot") ||
            !strcmp(a, "--sections") || !strcmp(a, "--e2b-price-per-second")) {
            if (!v) {
                fprintf(stderr, "runbox compare: %s needs a value\n", a);
                return 2;
            }
            i++;
            char *end = NULL;
            if (a[1] == 'b' || !strcmp(a, "--backend")) {
                *wanted = v;
            } else if (!strcmp(a, "--runs")) {
                long n = strtol(v, &end, 10);
                if (*end || n < 1 || n > 10000) {
                    fprintf(stderr, "runbox compare: --runs wants 1..10000\n");
                    return 2;
                }
                o->runs = (int)n;
            } else if (!strcmp(a, "--format")) {
                static const char *names[] = {"table", "markdown", "json", "csv"};
                size_t k = 0;
                while (k < 4 && strcmp(v, names[k]))
                    k++;
                if (k == 4) {
                    fprintf(stderr, "runbox compare: --format is table, markdown, "
                                    "json or csv\n");
                    return 2;
                }
                o->format = (cmp_format)k;
            } else if (!strcmp(a, "--plot")) {
                o->plot = v;
            } else if (!strcmp(a, "--sections")) {
                if (cmp_parse_sections(v, &o->sections)) {
                    fprintf(stderr, "runbox compare: --sections takes security, "
                                    "resources, speed (comma-separated)\n");
                    return 2;
                }
            } else {
                o->e2b_price = strtod(v, &end);
                if (*end || o->e2b_price < 0) {
                    fprintf(stderr, "runbox compare: --e2b-price-per-second wants "
                                    "a number of dollars\n");
                    return 2;
                }
            }
            continue;
        }
        int c = cli_common_option(&o->common, argc, argv, &i);
        if (c < 0)
            return 2;
        if (!c) {
            fprintf(stderr, "runbox compare: unexpected argument '%s' (see "
                            "runbox compare --help)\n", a);
            return 2;
        }
    }
    return -1;
}

int cli_compare(int argc, char **argv)
{
    cmp_options o = {.runs = 10, .sections = CMP_SECTION_ALL,
                     .format = CMP_FORMAT_TABLE, .e2b_price = 0.000014};
    const char *wanted = NULL;
    int rc = cmp_parse(&o, &wanted, argc, argv);
    if (rc >= 0)
        return rc;
    o.progress = isatty(2);

    runbox_config *cfg = cli_config(&o.common);
    if (!cfg)
        return 2;
    cli_handle_signals(NULL);
    cmp_list found = {0}, cols = {0};
    cmp_progress(&o, "backends", "probing");
    rc = runbox_backends_list(cfg, cmp_on_backend, &found);
    runbox_config_free(cfg);
    if (rc) {
        cmp_progress(&o, NULL, NULL);
        return cli_error(rc, "compare");
    }
    cmp_select(&cols, &found, wanted);

    for (size_t i = 0; i < cols.n && !runbox_interrupted(); i++) {
        cmp_backend *b = &cols.v[i];
        const char *note = b->note && *b->note ? b->note : NULL;
        const char *what = b->description ? b->description : "";
        if (!b->usable) {
            /* The reason up to its first colon is short enough for a cell. */
            char brief[64];
            snprintf(brief, sizeof brief, "%s", note ? note : "unusable here");
            brief[strcspn(brief, ":")] = '\0';
            cmp_set(b, CMP_SETUP_STATUS, "skipped", "%s", note ? note : "");
            cmp_set(b, CMP_SETUP_FOUND, b->path ? brief : "not found", "%s%s%s",
                    what, *what ? "; " : "", note ? note : "");
            continue;
        }
        cmp_set(b, CMP_SETUP_STATUS, "ready", "%s", b->path ? b->path : "");
        cmp_set(b, CMP_SETUP_FOUND, note ? note : "found (its probe gave no note)",
                "%s%s%s", what, *what ? "; " : "",
                note ? note : "the backend's probe found what it needs");
        cmp_measure(&o, b); /* first: the code's peak RSS is clean then */
        if (o.sections & CMP_SECTION_SECURITY)
            cmp_probe_security(&o, b);
        if (o.sections & CMP_SECTION_RESOURCES)
            cmp_probe_resources(&o, b);
    }
    cmp_progress(&o, NULL, NULL);
    int status = 0;
    if (runbox_interrupted()) {
        fprintf(stderr, "runbox compare: interrupted; partial results\n");
        status = 130;
    }
    cmp_print(stdout, &o, cols.v, cols.n);
    fflush(stdout);
    if (o.plot && cmp_plot(o.plot, cols.v, cols.n) && !status)
        status = 1;
    for (size_t i = 0; i < cols.n; i++)
        cmp_backend_free(&cols.v[i]);
    for (size_t i = 0; i < found.n; i++)
        cmp_backend_free(&found.v[i]);
    free(cols.v);
    free(found.v);
    return status;
}
