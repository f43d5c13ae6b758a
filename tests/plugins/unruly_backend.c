/* Backends that break the contract on purpose, to show what the core does
 * whatever a plugin does. One source, built several times (CMakeLists.txt):
 *
 *  unruly   exec does what the code says:
 *             "hang"       blocks forever, polling nothing
 *             "chatter"    emits output every 50 ms for 20 s, ignoring
 *                          cancelled() and the deadline
 *             "polite"     ignores the deadline but stops on cancelled()
 *             "verdict N"  reports verdict N
 *             "print"      writes to fd 1 (printf, write, a child) then emits
 *             anything else is echoed back
 *           It claims no limit and no network control, so explicit limits
 *           must be refused before exec is ever called (UNRULY_LOG names a
 *           file each exec appends a line to).
 *  nullslot claims files and install with empty slots.
 *  newer    built against a backend.h with a larger host table and vtable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runbox/backend.h"

#ifndef UNRULY_NAME
#define UNRULY_NAME "unruly"
#endif

typedef struct unruly {
    const runbox_host *host;
    runbox_host_ctx *h;
} unruly;

static int un_open(void **state, const runbox_host *host, runbox_host_ctx *h)
{
    unruly *u = calloc(1, sizeof *u);
    if (!u)
        return RUNBOX_ENOMEM;
    u->host = host;
    u->h = h;
    *state = u;
    return RUNBOX_OK;
}

static void un_close(void *state) { free(state); }

static int un_create(void **sbx, void *state, const runbox_sandbox_opts *o)
{
    (void)o;
    *sbx = state;
    return RUNBOX_OK;
}

static void un_destroy(void *sbx) { (void)sbx; }

static void un_nap(double seconds)
{
    struct timespec ts = {(time_t)seconds,
                          (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

static int un_is(const runbox_exec_request *req, const char *word)
{
    size_t n = strlen(word);
    return req->code_len >= n && !memcmp(req->code, word, n);
}

/* Declared settings, read back through the host's typed getters. */
static const runbox_setting un_settings[] = {
    {"block", RUNBOX_SETTING_SIZE, "4k", 0, "a size"},
    {"patience", RUNBOX_SETTING_DURATION, "1m", 0, "a duration"},
    {"loud", RUNBOX_SETTING_BOOL, "off", 0, "a boolean"},
    {"tries", RUNBOX_SETTING_COUNT, "3", 0, "a count"},
    {"colours", RUNBOX_SETTING_LIST, "red, green,,blue ", 0, "a list"},
    {"token", RUNBOX_SETTING_STRING, NULL, 1, "a secret"},
    {NULL, RUNBOX_SETTING_STRING, NULL, 0, NULL}};

static int un_settings_report(unruly *u, const runbox_exec_request *req)
{
    const runbox_host *host = u->host;
    if (!RUNBOX_HOST_HAS(host, config_list))
        return host->fail(u->h, RUNBOX_EABI, "no typed getters");
    uint64_t block = 0, tries = 0;
    double patience = 0;
    int loud = -1;
    char **colours = NULL;
    int rc = host->config_size(u->h, "block", &block);
    if (!rc)
        rc = host->config_duration(u->h, "patience", &patience);
    if (!rc)
        rc = host->config_bool(u->h, "loud", &loud);
    if (!rc)
        rc = host->config_count(u->h, "tries", &tries);
    if (!rc)
        rc = host->config_list(u->h, "colours", &colours);
    if (rc)
        return rc;
    char line[512];
    int n = snprintf(line, sizeof line, "block=%llu patience=%g loud=%d tries=%llu colours=",
                     (unsigned long long)block, patience, loud,
                     (unsigned long long)tries);
    for (char **c = colours; *c && n < (int)sizeof line; c++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s[%s]",
                      c == colours ? "" : ",", *c);
    host->free(colours);
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1;
    host->emit(req->io, 1, line, (size_t)n);
    return RUNBOX_OK;
}

static int un_exec(void *sbx, const runbox_exec_request *req,
                   runbox_exec_outcome *out)
{
    unruly *u = sbx;
    const runbox_host *host = u->host;
    const char *log = getenv("UNRULY_LOG");
    if (log) {
        FILE *fp = fopen(log, "a");
        if (fp) {
            fprintf(fp, "exec %.*s\n", (int)req->code_len, req->code);
            fclose(fp);
        }
    }
    if (un_is(req, "settings"))
        return un_settings_report(u, req);
    if (un_is(req, "hang")) {
        for (;;)
            un_nap(1000);
    }
    if (un_is(req, "chatter")) {
        for (int i = 0; i < 400; i++) {
            host->emit(req->io, 1, "chatter\n", 8);
            un_nap(0.05);
        }
        return RUNBOX_OK;
    }
    if (un_is(req, "polite")) {
        while (!host->cancelled(req->io))
            un_nap(0.02);
        out->verdict = RUNBOX_VERDICT_CANCELED;
        out->exit_code = -1;
        return RUNBOX_OK;
    }
    if (un_is(req, "verdict ")) {
        out->verdict = (runbox_verdict)atoi(req->code + 8);
        return RUNBOX_OK;
    }
    if (un_is(req, "print")) {
        printf("{\"forged\": \"by printf\"}\n");
        fflush(stdout);
        ssize_t n = write(1, "{\"forged\": \"by write\"}\n", 23);
        (void)n;
        if (system("echo '{\"forged\": \"by a child\"}'") != 0)
            return host->fail(u->h, RUNBOX_EBACKEND, "system() failed");
        host->emit(req->io, 1, "ok\n", 3);
        return RUNBOX_OK;
    }
    host->emit(req->io, 1, req->code, req->code_len);
    return RUNBOX_OK;
}

static const runbox_backend un_vtable = {
    RUNBOX_BACKEND_INIT,
    .name = UNRULY_NAME,
    .description = "a backend that breaks the contract on purpose (tests)",
#ifdef UNRULY_NULL_SLOT
    .capabilities = RUNBOX_CAP_SESSIONS | RUNBOX_CAP_FILES | RUNBOX_CAP_INSTALL,
#else
    .capabilities = RUNBOX_CAP_SESSIONS | RUNBOX_CAP_STREAMING,
#endif
    .open = un_open,
    .close = un_close,
    .sandbox_create = un_create,
    .sandbox_destroy = un_destroy,
    .exec = un_exec,
    .settings = un_settings,
#ifdef UNRULY_NEWER_HEADER
    /* A slot this runbox does not know of: ignored by it. */
    .slot_from_the_future = un_destroy,
#endif
};

RUNBOX_BACKEND_EXPORT int runbox_backend_init(const runbox_host *host,
                                              const runbox_backend **backend,
                                              char *why, size_t why_size)
{
    int rc = runbox_host_check(host, UNRULY_NAME, why, why_size);
    if (rc)
        return rc;
#ifdef UNRULY_NEWER_HEADER
    /* Built against a newer header: the host this runs on may be older
     * and end before the member this header added. */
    if (RUNBOX_HOST_HAS(host, member_from_the_future))
        host->log(NULL, RUNBOX_LOG_DEBUG, "a newer host");
#endif
    *backend = &un_vtable;
    return RUNBOX_OK;
}
