/* runbox check: parses the command line, runs the conformance kit
 * (check/) and prints one line per check. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"

static const char check_help[] =
    "usage: runbox check BACKEND [--config FILE] [-t SECONDS] [--skip-isolation]\n"
    "Runs the conformance checks on BACKEND (a name, or a path to a\n"
    "runbox-<name>.so): the behaviours every backend must have (ok, exit\n"
    "status, raised error, stderr, empty, large, unicode and binary output,\n"
    "cancel, timeout, output cap) and, for each capability it claims, that\n"
    "the claim holds (sessions keep files, files stay inside the sandbox, a\n"
    "memory or process limit stops a bomb, network off cuts the network).\n"
    "One line per check: ok, FAIL or skip (not claimed), and what was seen.\n\n"
    "  --skip-isolation   skip what isolates the code (files stay inside,\n"
    "                     network off): for a backend aimed at a test double\n"
    "                     that runs code on the host\n\n"
    "Exit status: 0 when every check passed, 1 when one failed, 2 for a\n"
    "usage error.\n";

typedef struct check_tally {
    int passed, failed, skipped;
} check_tally;

static void print_check(void *ud, check_status st, const char *name,
                        const char *detail)
{
    check_tally *t = ud;
    static const char *const words[] = {"ok  ", "FAIL", "skip"};
    if (st == CHECK_PASS)
        t->passed++;
    else if (st == CHECK_FAIL)
        t->failed++;
    else
        t->skipped++;
    fprintf(cli_out, "%s %s: %s\n", words[st], name, detail);
    fflush(cli_out);
}

int cli_check(int argc, char **argv)
{
    cli_common common = {0};
    const char *backend = NULL;
    int skip_isolation = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--skip-isolation")) {
            skip_isolation = 1;
            continue;
        }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(check_help, cli_out);
            return 0;
        }
        int c = cli_common_option(&common, argc, argv, &i);
        if (c < 0)
            return 2;
        if (c)
            continue;
        if (argv[i][0] == '-' || backend) {
            fprintf(stderr, "runbox check: unexpected argument '%s' (see "
                            "runbox check --help)\n", argv[i]);
            return 2;
        }
        backend = argv[i];
    }
    if (!backend)
        backend = common.backend;
    if (!backend) {
        fputs(check_help, stderr);
        return 2;
    }
    cli_handle_signals(NULL);
    check_tally t = {0};
    check_options o = {{common.config_path, common.timeout, isatty(2), NULL},
                       backend, print_check, &t, skip_isolation};
    check_run(&o);
    fprintf(cli_out, "%d passed, %d failed, %d skipped\n", t.passed, t.failed,
            t.skipped);
    if (runbox_interrupted())
        return 130;
    return t.failed ? 1 : 0;
}
