/*
 * probes.h — questions put to a backend by running code inside it through
 * the public API: may the code read a host file, see the host's
 * environment, reach the host or the network, is it root, are the wall
 * time, memory, processes and output limited. `runbox compare` and
 * `runbox check` both ask them.
 *
 * Every answer is a cell: a short value and the evidence behind it.
 * Nothing here is assumed about a backend: a question the probe could not
 * answer says so in its value ("skipped", "unsupported", "error").
 *
 * Not thread-safe: one backend is probed at a time (cmp_describe has a
 * static buffer).
 */
#ifndef RUNBOX_PROBES_H
#define RUNBOX_PROBES_H

#include <stddef.h>

#include "runbox/runbox.h"

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
    CMP_SPEED_POOLED_P50,
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

/* What every probe needs to open a backend. */
typedef struct probe_options {
    const char *config_path; /* --config FILE or NULL */
    const char *timeout;     /* -t SECONDS or NULL */
    int progress;            /* stderr is a terminal */
    const char *const *overrides; /* key, value, ..., NULL: applied to every
                                     backend opened, before a probe's own;
                                     or NULL */
} probe_options;

/* Sets a cell (value and evidence are printf-style; evidence may be NULL). */
void cmp_set(cmp_backend *b, cmp_row row, const char *value,
             const char *evidence_fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "\r<text>" on a terminal, nothing on a pipe; NULL clears the line. */
void cmp_progress(const probe_options *o, const char *backend, const char *what);

/* A column that is a backend with settings of its own: "docker+gvisor" is
 * the docker backend with runtime = runsc. Returns the backend's name and
 * sets *settings to the column's key/value pairs (NULL-terminated), or,
 * for a plain backend name, returns it with *settings NULL. */
const char *cmp_column_backend(const char *column, const char *const **settings);
/* The variant columns, NULL-terminated, for listing them by default. */
extern const char *const cmp_variant_columns[];

/* A configuration for column name (a backend, or a variant above) with
 * extra key/value pairs applied as flags (NULL-terminated), or NULL with
 * the error in *err. */
runbox_config *cmp_config(const probe_options *o, const char *name,
                          const char *const *overrides, char *err,
                          size_t err_size);

/* Opens a context for backend name with cmp_config's overrides. 0, or a
 * status with the message in err. */
int cmp_open(runbox_context **ctx, const probe_options *o, const char *name,
             const char *const *overrides, char *err, size_t err_size);
/* The text after "RUNBOX_COMPARE " on the last such line of the code's
 * stdout (the probes' report), or NULL. Borrowed from r. */
const char *cmp_report_line(const runbox_result *r);
/* A one-line description of a result that did not report: verdict,
 * message, last line of stderr. Static buffer; one thread. */
const char *cmp_describe(const runbox_result *r);

/* probe_isolation.c: the Security and Resource management rows. */
void cmp_probe_security(const probe_options *o, cmp_backend *b);
void cmp_probe_resources(const probe_options *o, cmp_backend *b);

#endif
