/*
 * compare.h — `runbox compare`: the setup guide's comparison table
 * (Setup, Security, Resource management, Speed and scale, Cost), measured
 * by probes run inside each backend through the public API.
 *
 * Every cell holds a short value for the table and the evidence behind it.
 * Nothing here is assumed about a backend: a row the probe could not
 * measure says so in its value ("skipped", "unsupported", "error").
 */
#ifndef RUNBOX_CLI_COMPARE_H
#define RUNBOX_CLI_COMPARE_H

#include <stddef.h>

#include "cli.h"

/* The rows, in the order of the guide's table. */
typedef enum cmp_row {
    CMP_SETUP_STATUS,
    CMP_SETUP_FOUND,
    CMP_SETUP_FIRST,
    CMP_SEC_FILE,
    CMP_SEC_ENV,
    CMP_SEC_LOOPBACK,
    CMP_SEC_NETWORK,
    CMP_SEC_ROOT,
    CMP_SEC_CAPS,
    CMP_RES_TIMEOUT,
    CMP_RES_MEMORY,
    CMP_RES_PROCESSES,
    CMP_RES_OUTPUT,
    CMP_SPEED_COLD_P50,
    CMP_SPEED_COLD_P95,
    CMP_SPEED_WARM_P50,
    CMP_SPEED_TPUT_1,
    CMP_SPEED_TPUT_2,
    CMP_SPEED_TPUT_8,
    CMP_SPEED_HOST_RSS,
    CMP_SPEED_CODE_RSS,
    CMP_COST_CPU,
    CMP_COST_WALL,
    CMP_COST_PRICE,
    CMP_ROW_COUNT
} cmp_row;

typedef struct cmp_row_def {
    const char *section; /* "Security" */
    const char *label;   /* "reads a host file" */
    const char *key;     /* "security.host_file" (json, csv) */
} cmp_row_def;

extern const cmp_row_def cmp_rows[CMP_ROW_COUNT];

/* Sections that can be switched off with --sections. */
enum {
    CMP_SECTION_SECURITY = 1 << 0,
    CMP_SECTION_RESOURCES = 1 << 1,
    CMP_SECTION_SPEED = 1 << 2, /* speed and cost: cost is derived from it */
    CMP_SECTION_ALL = 7
};

typedef struct cmp_cell {
    char *value;    /* short, for the table; NULL = not measured */
    char *evidence; /* what was observed; may be NULL */
} cmp_cell;

typedef struct cmp_backend {
    char *name;
    char *path;
    char *note;   /* the probe's note or why, or the load error */
    char *description;
    int usable;   /* 1 = measured; 0 = listed with its reason */
    cmp_cell cells[CMP_ROW_COUNT];
    double *cold; /* per-run latencies in seconds, for --plot */
    size_t cold_count;
    double *warm;
    size_t warm_count;
} cmp_backend;

typedef enum cmp_format {
    CMP_FORMAT_TABLE,
    CMP_FORMAT_MARKDOWN,
    CMP_FORMAT_JSON,
    CMP_FORMAT_CSV
} cmp_format;

typedef struct cmp_options {
    cli_common common;  /* --config, -t (backend is set per column) */
    int runs;           /* --runs, cold and warm samples per backend */
    int sections;       /* CMP_SECTION_* */
    cmp_format format;
    const char *plot;   /* --plot FILE or NULL */
    double e2b_price;   /* $ per sandbox-second, for the e2b estimate */
    int progress;       /* stderr is a terminal */
} cmp_options;

/* Sets a cell (value and evidence are printf-style; evidence may be NULL). */
void cmp_set(cmp_backend *b, cmp_row row, const char *value,
             const char *evidence_fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "\r<text>" on a terminal, nothing on a pipe; NULL clears the line. */
void cmp_progress(const cmp_options *o, const char *backend, const char *what);

/* A configuration for backend name with extra key/value pairs applied as
 * flags (NULL-terminated), or NULL with the error in *err. */
runbox_config *cmp_config(const cmp_options *o, const char *name,
                          const char *const *overrides, char *err,
                          size_t err_size);

/* Opens a context for backend name with cmp_config's overrides. 0, or a
 * status with the message in err. */
int cmp_open(runbox_context **ctx, const cmp_options *o, const char *name,
             const char *const *overrides, char *err, size_t err_size);
/* The text after "RUNBOX_COMPARE " on the last such line of the code's
 * stdout (the probes' report), or NULL. Borrowed from r. */
const char *cmp_report_line(const runbox_result *r);
/* A one-line description of a result that did not report: verdict,
 * message, last line of stderr. Static buffer; one thread. */
const char *cmp_describe(const runbox_result *r);

/* compare_probes.c: the Security and Resource management rows. */
void cmp_probe_security(const cmp_options *o, cmp_backend *b);
void cmp_probe_resources(const cmp_options *o, cmp_backend *b);

/* compare_measure.c: Setup's first run, Speed and scale, and Cost. */
void cmp_measure(const cmp_options *o, cmp_backend *b);
/* Nearest-rank percentile of n samples (sorted in place). */
double cmp_percentile(double *v, size_t n, double p);

/* compare_format.c */
int cmp_print(FILE *fp, const cmp_options *o, cmp_backend *bs, size_t n);

/* compare_plot.c: 0, or prints why and returns non-zero. */
int cmp_plot(const char *file, cmp_backend *bs, size_t n);

#endif
