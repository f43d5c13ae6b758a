/* runbox run / runbox install. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char run_help[] =
    "usage: runbox run [options] [CODE]\n"
    "Runs CODE (or -f FILE, or standard input) in a fresh sandbox.\n\n"
    "  -b, --backend NAME   backend (default from config: e2b)\n"
    "  -t, --timeout SECS   wall-clock limit\n"
    "  -l, --language LANG  python (default), bash, sh, ... as the backend offers\n"
    "  -f, --file FILE      read the code from FILE ('-' = stdin)\n"
    "      --json           print the typed result as one JSON object\n"
    "      --config FILE    configuration file (default ./runbox.ini)\n\n"
    "Output streams live unless --json. Exit status: the code's own exit\n"
    "status; 1 if it raised; 124 timeout; 137 out of memory; 128+N killed by\n"
    "signal N; 130 cancelled; 125 backend failure; 2 usage, config or\n"
    "credential error (e.g. a rejected API key). A raised exception's\n"
    "traceback goes to stderr whatever the backend. The code may exit 124 or\n"
    "137 itself: --json's verdict tells a real timeout or oom apart.\n";

static int exit_status(const runbox_result *r)
{
    switch (r->verdict) {
    case RUNBOX_VERDICT_OK:
    case RUNBOX_VERDICT_TRUNCATED: return 0;
    case RUNBOX_VERDICT_ERROR: return r->exit_code > 0 ? r->exit_code : 1;
    case RUNBOX_VERDICT_EXIT_NONZERO: return r->exit_code > 0 ? r->exit_code : 1;
    case RUNBOX_VERDICT_SIGNALED: return 128 + r->signal;
    case RUNBOX_VERDICT_TIMEOUT: return 124;
    case RUNBOX_VERDICT_OOM: return 137;
    case RUNBOX_VERDICT_CANCELED: return 130;
    case RUNBOX_VERDICT_BACKEND_FAILURE: return 125;
    }
    return 125;
}

/* Prints the result: JSON, or on stderr the exception of verdict error or
 * a one-line note when the verdict is not visible in the output itself. */
static int report(const runbox_result *r, int json)
{
    if (json) {
        char *text = NULL;
        if (runbox_result_to_json(&text, r) == RUNBOX_OK) {
            fprintf(cli_out, "%s\n", text);
            free(text);
        }
    } else if (r->verdict == RUNBOX_VERDICT_ERROR) {
        cli_print_exception(r);
    } else if (r->verdict != RUNBOX_VERDICT_OK &&
               r->verdict != RUNBOX_VERDICT_ERROR &&
               r->verdict != RUNBOX_VERDICT_EXIT_NONZERO) {
        fprintf(stderr, "runbox: %s%s%s\n", runbox_verdict_name(r->verdict),
                r->message[0] ? ": " : "", r->message);
    }
    return exit_status(r);
}

int cli_run(int argc, char **argv)
{
    cli_common common = {0};
    const char *file = NULL, *language = NULL, *code_arg = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        int c = cli_common_option(&common, argc, argv, &i);
        if (c < 0)
            return 2;
        if (c)
            continue;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(run_help, cli_out);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if ((!strcmp(a, "-f") || !strcmp(a, "--file") ||
                    !strcmp(a, "-l") || !strcmp(a, "--language")) && i + 1 < argc) {
            if (a[1] == 'f' || a[2] == 'f')
                file = argv[++i];
            else
                language = argv[++i];
        } else if (a[0] == '-' && a[1] && strcmp(a, "--")) {
            fprintf(stderr, "runbox run: unknown option %s (see runbox run --help)\n", a);
            return 2;
        } else {
            if (!strcmp(a, "--") && i + 1 < argc)
                a = argv[++i];
            if (code_arg) {
                fprintf(stderr, "runbox run: give the code as one argument (quote it)\n");
                return 2;
            }
            code_arg = a;
        }
    }
    size_t len = 0;
    char *code = NULL;
    if (code_arg && file) {
        fprintf(stderr, "runbox run: give code either as an argument or with -f, not both\n");
        return 2;
    }
    if (code_arg) {
        code = strdup(code_arg);
        len = code ? strlen(code) : 0;
    } else {
        FILE *fp = !file || !strcmp(file, "-") ? stdin : fopen(file, "rb");
        if (!fp) {
            fprintf(stderr, "runbox run: cannot read %s: %s\n", file, strerror(errno));
            return 2;
        }
        if (fp == stdin && isatty(0))
            fprintf(stderr, "runbox run: reading code from the terminal; end with Ctrl-D\n");
        code = cli_read_all(fp, &len);
        if (fp != stdin)
            fclose(fp);
    }
    if (!code) {
        fprintf(stderr, "runbox run: cannot read the code\n");
        return 2;
    }
    runbox_config *cfg = cli_config_no_pool(&common);
    if (!cfg) {
        free(code);
        return 2;
    }
    cli_handle_signals(NULL);
    runbox_context *ctx = NULL;
    int rc = runbox_context_new(&ctx, cfg);
    runbox_config_free(cfg);
    if (rc) {
        free(code);
        return cli_error(rc, NULL);
    }
    runbox_exec_options opt = {0};
    opt.code = code;
    opt.code_len = len;
    opt.language = language;
    if (!json)
        opt.on_output = cli_print_stream;
    runbox_result r;
    runbox_result_init(&r);
    rc = runbox_execute(ctx, &opt, &r);
    int status;
    if (rc && rc != RUNBOX_ECANCELED && !json)
        status = cli_error(rc, NULL);
    else
        status = report(&r, json);
    /* Also when the result is printed as JSON: a request the backend
     * cannot serve (language, limit) is a usage error. */
    if (rc && rc != RUNBOX_ECANCELED && json)
        status = cli_exit_status(rc);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
    free(code);
    return status;
}

static const char install_help[] =
    "usage: runbox install [options] PACKAGE\n"
    "Installs PACKAGE (a name with an optional version, e.g. numpy>=1.26)\n"
    "with pip inside a fresh sandbox and prints pip's output. Packages persist\n"
    "only where the backend keeps a package directory (subprocess:\n"
    "packages_dir); agents use sessions (runbox mcp) to keep them.\n"
    "Options: -b BACKEND, -t SECONDS, --config FILE, --json.\n";

int cli_install(int argc, char **argv)
{
    cli_common common = {0};
    const char *spec = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        int c = cli_common_option(&common, argc, argv, &i);
        if (c < 0)
            return 2;
        if (c)
            continue;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(install_help, cli_out);
            return 0;
        }
        if (!strcmp(argv[i], "--json")) {
            json = 1;
            continue;
        }
        if (spec) {
            fprintf(stderr, "runbox install: one package at a time\n");
            return 2;
        }
        spec = argv[i];
    }
    if (!spec) {
        fputs(install_help, stderr);
        return 2;
    }
    if (runbox_package_spec_check(spec))
        return cli_error(RUNBOX_EINVAL, "install");
    runbox_config *cfg = cli_config_no_pool(&common);
    if (!cfg)
        return 2;
    cli_handle_signals(NULL);
    runbox_context *ctx = NULL;
    int rc = runbox_context_new(&ctx, cfg);
    runbox_config_free(cfg);
    if (rc)
        return cli_error(rc, NULL);
    runbox_result r;
    runbox_result_init(&r);
    rc = runbox_install_package(ctx, spec, &r);
    int status;
    if (rc && rc != RUNBOX_ECANCELED)
        status = cli_error(rc, NULL);
    else {
        if (!json) {
            fwrite(r.out.data ? r.out.data : "", 1, r.out.len, cli_out);
            fwrite(r.err.data ? r.err.data : "", 1, r.err.len, stderr);
        }
        status = report(&r, json);
    }
    if (rc && rc != RUNBOX_ECANCELED && json)
        status = cli_exit_status(rc);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
    return status;
}
