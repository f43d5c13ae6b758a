/*
 * cli.h — shared pieces of the runbox command. The command is a thin
 * client of librunbox: every subcommand parses its options, builds a
 * configuration and calls the public API.
 */
#ifndef RUNBOX_CLI_H
#define RUNBOX_CLI_H

#include <stdio.h>

#include "runbox/runbox.h"

/* Where runbox's own output goes (results, --json, listings): a private
 * descriptor for the standard output the command was given, while fd 1 of
 * the process points at stderr, so that nothing a backend prints can mix
 * into it (runbox_reserve_stdout). Set by main before any command runs. */
extern FILE *cli_out;

/* Options every subcommand that opens a backend accepts. */
typedef struct cli_common {
    const char *config_path; /* --config FILE */
    const char *backend;     /* -b NAME */
    const char *timeout;     /* -t SECONDS */
} cli_common;

/* Tries to consume argv[*i] (and its value) as a common option. Returns 1
 * if consumed, 0 if not a common option, -1 on a usage error (printed). */
int cli_common_option(cli_common *c, int argc, char **argv, int *i);
/* Loads the configuration with the common options applied as flags.
 * Prints the error and returns NULL on failure. */
runbox_config *cli_config(const cli_common *c);
/* As cli_config, for a command that runs once and exits (run, install,
 * env, repl): a pool (pool_size) would only start sandboxes for nothing,
 * so it is switched off. */
runbox_config *cli_config_no_pool(const cli_common *c);
/* Prints "runbox: <message>" for status to stderr; returns the exit code
 * for a failed call (cli_exit_status). */
int cli_error(int status, const char *what);
/* The exit status for a failed call's status: 2 when the request itself
 * was wrong (configuration, usage, credentials, no such backend, something
 * the backend cannot do), 125 for a backend failure. */
int cli_exit_status(int status);
/* Installs handler (NULL: one that interrupts running executions on the
 * first SIGINT/SIGTERM and exits at once, status 128+N, on the second)
 * for SIGINT and SIGTERM, and ignores SIGPIPE. */
void cli_handle_signals(void (*handler)(int));
/* Parses a command line that takes only the common options, --help and
 * (when json is non-NULL) --json. Returns -1 to go on, else the exit
 * status to return (0 after --help, 2 on a usage error, printed). */
int cli_parse_common_only(cli_common *common, int argc, char **argv,
                          const char *help, int *json);
/* A runbox_output_cb that writes stream 1 to stdout, 2 to stderr. */
void cli_print_stream(void *ud, int stream, const char *data, size_t len);
/* For verdict error: prints the exception to stderr, unless the stderr
 * already streamed carried its traceback. */
void cli_print_exception(const runbox_result *r);
/* Is text (the lines typed so far, '\n'-separated) unfinished code that
 * needs another line? See `runbox repl --help` for the rule. */
int cli_repl_incomplete(const char *text);
/* Reads all of a stream; caller frees. NULL on error. */
char *cli_read_all(FILE *fp, size_t *len);
/* dlopen of one of the command's private libraries from its folder next
 * to the command (private_lib.c), or NULL with the reason in why. */
void *cli_load_private(const char *name, char *why, size_t size);

int cli_run(int argc, char **argv);
int cli_install(int argc, char **argv);
int cli_gc(int argc, char **argv);
int cli_env(int argc, char **argv);
int cli_backends(int argc, char **argv);
int cli_config_cmd(int argc, char **argv);
int cli_mcp(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_repl(int argc, char **argv);
int cli_check(int argc, char **argv);

#endif
