/* Option handling and error reporting shared by the subcommands. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_common_option(cli_common *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char **slot = NULL;
    if (!strcmp(a, "-b") || !strcmp(a, "--backend"))
        slot = &c->backend;
    else if (!strcmp(a, "-t") || !strcmp(a, "--timeout"))
        slot = &c->timeout;
    else if (!strcmp(a, "--config") || !strcmp(a, "-c"))
        slot = &c->config_path;
    else if (!strncmp(a, "--backend=", 10)) { c->backend = a + 10; return 1; }
    else if (!strncmp(a, "--timeout=", 10)) { c->timeout = a + 10; return 1; }
    else if (!strncmp(a, "--config=", 9)) { c->config_path = a + 9; return 1; }
    if (!slot)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "runbox: %s needs a value\n", a);
        return -1;
    }
    *slot = argv[++*i];
    return 1;
}

runbox_config *cli_config(const cli_common *c)
{
    runbox_config *cfg = NULL;
    int rc = runbox_config_new(&cfg);
    if (!rc)
        rc = runbox_config_load(cfg, c->config_path);
    if (!rc && c->backend)
        rc = runbox_config_set(cfg, "backend", c->backend);
    if (!rc && c->timeout)
        rc = runbox_config_set(cfg, "timeout", c->timeout);
    if (rc) {
        cli_error(rc, NULL);
        runbox_config_free(cfg);
        return NULL;
    }
    return cfg;
}

runbox_config *cli_config_no_pool(const cli_common *c)
{
    runbox_config *cfg = cli_config(c);
    if (cfg && runbox_config_set(cfg, "pool_size", "0")) {
        cli_error(RUNBOX_ECONFIG, NULL);
        runbox_config_free(cfg);
        return NULL;
    }
    return cfg;
}

int cli_error(int status, const char *what)
{
    const char *msg = runbox_error_last();
    if (what)
        fprintf(stderr, "runbox: %s: %s\n", what, *msg ? msg : runbox_strerror(status));
    else
        fprintf(stderr, "runbox: %s\n", *msg ? msg : runbox_strerror(status));
    return cli_exit_status(status);
}

int cli_exit_status(int status)
{
    /* A rejected or missing credential is fixed in the configuration, as
     * a bad setting is; so is a backend name that does not exist or a
     * request the backend cannot serve. Everything else is the backend
     * failing. */
    switch (status) {
    case RUNBOX_ECONFIG:
    case RUNBOX_EINVAL:
    case RUNBOX_EAUTH:
    case RUNBOX_ENOTFOUND:
    case RUNBOX_EUNSUPPORTED:
        return 2;
    default:
        return 125;
    }
}

void cli_print_stream(void *ud, int stream, const char *data, size_t len)
{
    (void)ud;
    FILE *fp = stream == 1 ? cli_out : stderr;
    fwrite(data, 1, len, fp);
    fflush(fp);
}

/* For verdict error: the exception, unless the backend's own stderr
 * (already streamed) carried it, as a plain interpreter's does. Kernel
 * backends (e2b) report it only as data. */
void cli_print_exception(const runbox_result *r)
{
    if (r->verdict != RUNBOX_VERDICT_ERROR || !r->error_name)
        return;
    const char *tb = r->traceback && *r->traceback ? r->traceback : NULL;
    if (tb && r->err.data && memmem(r->err.data, r->err.len, tb, strlen(tb)))
        return;
    fflush(cli_out);
    if (tb) {
        fputs(tb, stderr);
        if (tb[strlen(tb) - 1] != '\n')
            fputc('\n', stderr);
        /* Some tracebacks stop before the exception line itself. */
        if (!strstr(tb, r->error_name))
            fprintf(stderr, "%s: %s\n", r->error_name,
                    r->error_value ? r->error_value : "");
    } else {
        fprintf(stderr, "%s%s%s\n", r->error_name,
                r->error_value && *r->error_value ? ": " : "",
                r->error_value ? r->error_value : "");
    }
}

/* The first signal asks every run to stop (sandboxes are cleaned up); a
 * second one means "now": the user gave up waiting, whatever a backend
 * is doing. */
static void cli_on_signal(int sig)
{
    static volatile sig_atomic_t seen;
    if (seen++)
        _exit(128 + sig);
    runbox_interrupt();
}

void cli_handle_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler ? handler : cli_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

char *cli_read_all(FILE *fp, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0)
            break;
        if (n + 1 >= cap) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                return NULL;
            }
            buf = p;
            cap *= 2;
        }
    }
    if (!buf || ferror(fp)) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int cli_parse_common_only(cli_common *common, int argc, char **argv,
                          const char *help, int *json)
{
    for (int i = 1; i < argc; i++) {
        int c = cli_common_option(common, argc, argv, &i);
        if (c < 0)
            return 2;
        if (c)
            continue;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, cli_out);
            return 0;
        }
        if (json && !strcmp(argv[i], "--json")) {
            *json = 1;
            continue;
        }
        fprintf(stderr, "runbox %s: unexpected argument '%s'\n%s", argv[0],
                argv[i], help);
        return 2;
    }
    return -1;
}
