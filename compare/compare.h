/*
 * compare.h — `runbox compare`: the setup guide's comparison table
 * (Setup, Security, Resource management, Speed and scale, Cost), measured
 * by the probes (probes/) and by timing runs through the public API.
 * Not thread-safe: one comparison at a time.
 */
#ifndef RUNBOX_COMPARE_H
#define RUNBOX_COMPARE_H

#include <stdio.h>

#include "probes.h"

/* Sections that can be switched off with --sections. */
enum {
    CMP_SECTION_SECURITY = 1 << 0,
    CMP_SECTION_RESOURCES = 1 << 1,
    CMP_SECTION_SPEED = 1 << 2, /* speed and cost: cost is derived from it */
    CMP_SECTION_ALL = 7
};

typedef enum cmp_format {
    CMP_FORMAT_TABLE,
    CMP_FORMAT_MARKDOWN,
    CMP_FORMAT_JSON,
    CMP_FORMAT_CSV
} cmp_format;

typedef struct cmp_options {
    probe_options probe; /* --config, -t (backend is set per column) */
    int runs;           /* --runs, cold and warm samples per backend */
    int sections;       /* CMP_SECTION_* */
    cmp_format format;
    const char *plot;   /* --plot FILE or NULL */
    double e2b_price;   /* $ per sandbox-second for the e2b estimate, 0 =
                           from the template's size at E2B's rates */
} cmp_options;

/* A growing list of columns. */
typedef struct cmp_list {
    cmp_backend *v;
    size_t n, cap;
} cmp_list;

/* compare_select.c: the columns: every backend found with cfg's search
 * path, or the comma-separated wanted list in its order (names that are
 * not backends become "not found" columns). 0 or a runbox status. */
int cmp_columns(const runbox_config *cfg, const char *wanted, cmp_list *cols);
void cmp_list_free(cmp_list *l);

/* compare_run.c: fills every row of every column, stopping early when
 * runbox_interrupted(). */
void cmp_run(const cmp_options *o, cmp_list *cols);

/* compare_measure.c: Setup's first run, Speed and scale, and Cost. */
void cmp_measure(const cmp_options *o, cmp_backend *b);
/* Nearest-rank percentile of n samples (sorted in place). */
double cmp_percentile(double *v, size_t n, double p);

/* compare_format.c */
int cmp_print(FILE *fp, const cmp_options *o, cmp_backend *bs, size_t n);

/* compare_plot.c: 0, or prints why and returns non-zero. */
int cmp_plot(const char *file, cmp_backend *bs, size_t n);

#endif
