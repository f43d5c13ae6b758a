/*
 * mcp_server.h — the entry point of the MCP server library (runbox-mcp),
 * what `runbox mcp` calls once it has parsed its command line. Everything
 * else of the server is internal (mcp.h).
 */
#ifndef RUNBOX_MCP_SERVER_H
#define RUNBOX_MCP_SERVER_H

#include "runbox/runbox.h"

/* How to serve. Zero-initialised means stdio on fd 1. */
typedef struct mcp_server_options {
    /* Streamable HTTP on this address ("127.0.0.1:8080"; port 0 picks a
     * free one) instead of stdio. */
    const char *http;
    /* HTTP: the bearer token every request must carry; NULL serves
     * without authentication (the caller decides; runbox mcp generates a
     * token unless told --no-auth). */
    const char *token;
    /* HTTP: Origin values allowed besides the server's own loopback
     * origins; NULL-terminated, may be NULL. */
    const char *const *origins;
    /* HTTP: file to write the bound port to, or NULL. */
    const char *port_file;
    /* stdio: where messages go (0 = fd 1). A caller that moved fd 1
     * elsewhere, so that nothing else can write into the protocol, passes
     * the private descriptor here. */
    int out_fd;
} mcp_server_options;

/* Serves the python_executor tools over MCP until end of input (stdio),
 * SIGINT/SIGTERM, or a closed stdout; then stops every call and closes
 * every sandbox. Takes cfg (NULL when loading failed: config_error says
 * why, the server still starts and every tool call reports it). opt may
 * be NULL (stdio). Installs handlers for SIGINT and SIGTERM and ignores
 * SIGPIPE. Returns the process exit status: 0, 2 when the HTTP address
 * cannot be used, 125 when the server could not start. Call once per
 * process. */
int mcp_server_main(runbox_config *cfg, const char *config_error,
                    const mcp_server_options *opt);

/* `runbox mcp` does not link this library: it loads it (dlopen of
 * MCP_SERVER_LIBRARY, found through the command's RUNPATH) and looks up
 * MCP_SERVER_MAIN, so that every other command starts without it. */
#define MCP_SERVER_LIBRARY "librunbox-mcp.so.0"
#define MCP_SERVER_MAIN "mcp_server_main"
typedef int mcp_server_main_fn(runbox_config *cfg, const char *config_error,
                               const mcp_server_options *opt);

#endif
