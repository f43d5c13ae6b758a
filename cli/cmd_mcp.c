/* runbox mcp: parses the command line and hands over to the MCP server
 * library (mcp/). */
#include <dlfcn.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mcp_server.h"

#define MCP_MAX_ORIGINS 16

static const char mcp_help[] =
    "usage: runbox mcp [options]\n"
    "Serves the python_executor tools (execute_code, install_package,\n"
    "get_environment, close_session) over the Model Context Protocol, for\n"
    "Claude Desktop, Claude Code, Cursor and other MCP clients. The backend\n"
    "is opened on first use. Logs go to stderr.\n\n"
    "  -b, --backend NAME     backend (default from config: e2b)\n"
    "  -t, --timeout SECS     default wall-clock limit per execution\n"
    "      --config FILE      configuration file (default ./runbox.ini)\n\n"
    "Transport (default: stdio, one JSON-RPC message per line):\n"
    "      --http HOST:PORT   serve Streamable HTTP at http://HOST:PORT/mcp\n"
    "                         instead (port 0 picks a free one). Every request\n"
    "                         must carry Authorization: Bearer TOKEN, where\n"
    "                         TOKEN comes from RUNBOX_MCP_TOKEN or\n"
    "      --token-file FILE  (its first line); with neither, a random token\n"
    "                         is generated and printed on stderr.\n"
    "      --no-auth          serve HTTP without a token (anyone who can\n"
    "                         reach the port can run code)\n"
    "      --allow-origin O   also accept requests whose Origin header is O\n"
    "                         (repeatable; the server's own loopback origins\n"
    "                         are always accepted, others get 403)\n"
    "      --port-file FILE   write the bound port to FILE\n\n"
    "Settings ([runbox] in runbox.ini, or RUNBOX_<NAME>): max_timeout (largest\n"
    "timeout a call may ask for, default 600), session_idle (close a session\n"
    "unused this long, default 300, 0 = never), mcp_text_limit (characters of\n"
    "text a result shows the model, default 20000), network (install_package\n"
    "needs it on).\n";

/* The first line of path, or NULL (printed). Caller frees. */
static char *mcp_read_token(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "runbox mcp: cannot read --token-file %s: %s\n", path,
                strerror(errno));
        return NULL;
    }
    char buf[512] = "";
    char *ok = fgets(buf, sizeof buf, f);
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!ok || strlen(buf) < 16) {
        fprintf(stderr, "runbox mcp: --token-file %s: the first line must hold "
                "a token of at least 16 characters\n", path);
        return NULL;
    }
    return strdup(buf);
}

/* A new random token: 32 bytes as 64 hex digits. */
static char *mcp_new_token(void)
{
    if (sodium_init() < 0)
        return NULL;
    unsigned char raw[32];
    char *hex = malloc(sizeof raw * 2 + 1);
    if (!hex)
        return NULL;
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof raw * 2 + 1, raw, sizeof raw);
    return hex;
}

int cli_mcp(int argc, char **argv)
{
    cli_common common = {0};
    mcp_server_options opt = {0};
    const char *origins[MCP_MAX_ORIGINS + 1] = {0};
    int norigins = 0, no_auth = 0;
    const char *token_file = NULL;
    for (int i = 1; i < argc; i++) {
        int c = cli_common_option(&common, argc, argv, &i);
        if (c < 0)
            return 2;
        if (c)
            continue;
        const char *a = argv[i];
        const char **slot = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(mcp_help, stdout);
            return 0;
        } else if (!strcmp(a, "--no-auth")) {
            no_auth = 1;
            continue;
        } else if (!strcmp(a, "--http")) {
            slot = &opt.http;
        } else if (!strcmp(a, "--token-file")) {
            slot = &token_file;
        } else if (!strcmp(a, "--port-file")) {
            slot = &opt.port_file;
        } else if (!strcmp(a, "--allow-origin")) {
            if (norigins == MCP_MAX_ORIGINS) {
                fprintf(stderr, "runbox mcp: at most %d --allow-origin\n",
                        MCP_MAX_ORIGINS);
                return 2;
            }
            slot = &origins[norigins++];
        }
        if (!slot) {
            fprintf(stderr, "runbox mcp: unexpected argument '%s'\n%s", a, mcp_help);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "runbox mcp: %s needs a value\n", a);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!opt.http && (no_auth || token_file || norigins || opt.port_file)) {
        fprintf(stderr, "runbox mcp: --no-auth, --token-file, --allow-origin "
                "and --port-file go with --http\n");
        return 2;
    }
    if (no_auth && token_file) {
        fprintf(stderr, "runbox mcp: --no-auth and --token-file exclude each "
                "other\n");
        return 2;
    }
    char *token = NULL;
    if (opt.http && !no_auth) {
        const char *env = getenv("RUNBOX_MCP_TOKEN");
        if (token_file)
            token = mcp_read_token(token_file);
        else if (env && *env)
            token = strlen(env) >= 16 ? strdup(env) : NULL;
        else if ((token = mcp_new_token()))
            fprintf(stderr, "runbox mcp: bearer token (send as Authorization: "
                    "Bearer <token>): %s\n", token);
        if (!token) {
            fprintf(stderr, "runbox mcp: no usable token (RUNBOX_MCP_TOKEN "
                    "must hold at least 16 characters)\n");
            return 2;
        }
    }
    opt.token = token;
    opt.origins = origins;
    /* A broken configuration must not stop the server from starting: the
     * client would only see a dead process. Tool calls report it. */
    runbox_config *cfg = cli_config(&common);
    char config_error[RUNBOX_MESSAGE_SIZE] = "";
    if (!cfg)
        snprintf(config_error, sizeof config_error, "%s", runbox_error_last());
    /* JSON-RPC goes out through runbox's own stdout: fd 1 is stderr, so
     * a backend that prints cannot corrupt the protocol. */
    fflush(cli_out);
    opt.out_fd = runbox_reserve_stdout();
    int rc = 125;
    char why[512] = "";
    void *lib = cli_load_private(MCP_SERVER_LIBRARY, why, sizeof why);
    mcp_server_main_fn *serve = lib ? (mcp_server_main_fn *)dlsym(lib, MCP_SERVER_MAIN)
                                    : NULL;
    if (serve) {
        rc = serve(cfg, config_error, &opt); /* takes cfg */
    } else {
        fprintf(stderr, "runbox mcp: cannot load the MCP server (%s): %s; "
                "reinstall runbox\n", MCP_SERVER_LIBRARY, lib ? dlerror() : why);
        runbox_config_free(cfg);
    }
    if (token)
        sodium_memzero(token, strlen(token));
    free(token);
    return rc;
}
