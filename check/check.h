/*
 * check.h — `runbox check BACKEND`: the conformance kit. Runs, through the
 * public API, the behaviours every backend must have (ok, non-zero exit,
 * raised error, timeout, output cap, empty and large code, unicode, binary
 * output, cancel) and, for each capability the backend claims, that it
 * holds (sessions keep files, files stay inside the sandbox, a claimed
 * memory or process limit stops a bomb, network control cuts the network).
 * The resource and isolation questions are the probes' (probes/), the
 * same ones `runbox compare` asks.
 *
 * Not thread-safe: one check run at a time.
 */
#ifndef RUNBOX_CHECK_H
#define RUNBOX_CHECK_H

#include "probes.h"

typedef enum check_status { CHECK_PASS, CHECK_FAIL, CHECK_SKIP } check_status;

/* Called once per check, in order, as soon as it is decided. */
typedef void (*check_report_fn)(void *userdata, check_status status,
                                const char *name, const char *detail);

typedef struct check_options {
    probe_options probe;   /* --config, -t */
    const char *backend;   /* a name or a path to a runbox-<name>.so */
    check_report_fn report;
    void *userdata;
    /* Skip the checks of what isolates the code (files stay inside the
     * sandbox, network off): for a backend pointed at a test double that
     * runs code on the host, where only the protocol can be checked. */
    int skip_isolation;
} check_options;

/* Runs every check against o->backend. Returns the number of failed
 * checks; a backend that cannot be opened is one failed check ("loads"). */
int check_run(const check_options *o);

/* check_basics.c / check_claims.c, called by check_run with an open
 * context (ctx) of the backend. */
typedef struct check_state {
    const check_options *o;
    runbox_context *ctx;
    uint64_t caps;
    int failures;
} check_state;

void check_report(check_state *s, check_status status, const char *name,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void check_basics(check_state *s);
void check_claims(check_state *s);

#endif
