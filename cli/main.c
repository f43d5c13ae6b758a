/* runbox: run untrusted code through interchangeable sandbox backends. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Subcommands living in optional files (mcp, compare) are weak, so a
 * build without them still links and says so. */
int cli_mcp(int argc, char **argv) __attribute__((weak));
int cli_compare(int argc, char **argv) __attribute__((weak));

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"run", cli_run, "run code (argument, -f FILE or stdin) and print its output"},
    {"install", cli_install, "install a Python package into a sandbox"},
    {"env", cli_env, "describe a sandbox: interpreter, platform, packages, limits"},
    {"backends", cli_backends, "list backends, their capabilities, and whether they work here"},
    {"config", cli_config_cmd, "print the effective settings and where each came from"},
    {"gc", cli_gc, "remove sandboxes that killed or crashed runbox processes left behind"},
    {"repl", cli_repl, "an interactive session in a terminal, printing values like a notebook"},
    {"mcp", NULL, "serve the python_executor tools over MCP (stdio, or --http)"},
    {"compare", NULL, "measure the backends side by side on this machine"},
    {"check", cli_check, "check that a backend keeps the contract (conformance kit)"},
};

static void usage(FILE *fp)
{
    fprintf(fp, "usage: runbox [--version] [--help] <command> [options]\n\n"
                "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(fp, "  %-9s %s\n", commands[i].name, commands[i].help);
    fprintf(fp, "\nCommon options: -b BACKEND, -t SECONDS, --config FILE.\n"
                "`runbox <command> --help` describes each command.\n");
}

FILE *cli_out;

int main(int argc, char **argv)
{
    /* Before anything can load a backend: fd 1 becomes stderr for the
     * rest of the process, runbox's output keeps the real stdout. */
    int out = runbox_reserve_stdout();
    cli_out = out >= 0 ? fdopen(out, "w") : NULL;
    if (!cli_out)
        cli_out = stdout;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(cli_out);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        fprintf(cli_out, "runbox %s\n", RUNBOX_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name))
            continue;
        int (*fn)(int, char **) = commands[i].fn;
        if (!fn && !strcmp(argv[1], "mcp"))
            fn = cli_mcp;
        if (!fn && !strcmp(argv[1], "compare"))
            fn = cli_compare;
        if (!fn) {
            fprintf(stderr, "runbox: '%s' is not part of this build\n", argv[1]);
            return 2;
        }
        return fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "runbox: unknown command '%s': run `runbox --help` for the "
                    "list\n", argv[1]);
    return 2;
}
