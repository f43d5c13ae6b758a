/* runbox compare: options and the order of the work. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "compare.h"

static const char compare_help[] =
    "usage: runbox compare [-b NAME,NAME,...] [--runs N] [--format FMT]\n"
    "                      [--plot FILE] [--config FILE] [options]\n"
    "Measures the backends side by side on this machine, row by row as the\n"
    "setup guide's comparison table: Setup, Security, Resource management,\n"
    "Speed and scale, Cost. Every answer comes from code run inside the\n"
    "backend; a backend that cannot work here is listed with the reason.\n\n"
    "  -b, --backend LIST   backends to compare (default: every one found,\n"
    "                       then docker+gvisor when docker is found: the\n"
    "                       docker backend with runtime = runsc, listed with\n"
    "                       the reason when the engine has no runsc)\n"
    "      --runs N         cold and warm samples per backend (default 10)\n"
    "      --format FMT     table (default), markdown, json or csv\n"
    "      --plot FILE      also write a latency chart (PNG, needs gnuplot)\n"
    "      --sections LIST  security,resources,speed (default: all; setup\n"
    "                       is always shown, cost comes with speed)\n"
    "      --e2b-price-per-second USD\n"
    "                       price of one sandbox-second for the e2b cost\n"
    "                       estimate (default: the template's vCPUs and RAM,\n"
    "                       as the E2B API reports them, at E2B's published\n"
    "                       rates of 2026-08-06)\n"
    "      --config FILE    configuration file (default ./runbox.ini)\n"
    "  -t, --timeout SECS   wall-clock limit for the speed runs\n\n"
    "Progress goes to stderr on a terminal; the result goes to stdout.\n"
    "Exit status 0 when the comparison ran (skipped backends included),\n"
    "2 for a usage error, 1 when the plot could not be written.\n";

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

static int cmp_parse(cmp_options *o, cli_common *common, const char **wanted, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(compare_help, cli_out);
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
        int c = cli_common_option(common, argc, argv, &i);
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
                     .format = CMP_FORMAT_TABLE, .e2b_price = 0};
    const char *wanted = NULL;
    cli_common common = {0};
    int rc = cmp_parse(&o, &common, &wanted, argc, argv);
    if (rc >= 0)
        return rc;
    o.probe.progress = isatty(2);
    o.probe.config_path = common.config_path;
    o.probe.timeout = common.timeout;

    runbox_config *cfg = cli_config(&common);
    if (!cfg)
        return 2;
    cli_handle_signals(NULL);
    cmp_list cols = {0};
    cmp_progress(&o.probe, "backends", "probing");
    rc = cmp_columns(cfg, wanted, &cols);
    runbox_config_free(cfg);
    if (rc) {
        cmp_progress(&o.probe, NULL, NULL);
        return cli_error(rc, "compare");
    }
    cmp_run(&o, &cols);
    cmp_progress(&o.probe, NULL, NULL);
    int status = 0;
    if (runbox_interrupted()) {
        fprintf(stderr, "runbox compare: interrupted; partial results\n");
        status = 130;
    }
    cmp_print(cli_out, &o, cols.v, cols.n);
    fflush(cli_out);
    if (o.plot && cmp_plot(o.plot, cols.v, cols.n) && !status)
        status = 1;
    cmp_list_free(&cols);
    return status;
}
