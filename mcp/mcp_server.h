/*
 * mcp_server.h — the entry point of the MCP server library (runbox-mcp),
 * what `runbox mcp` calls once it has parsed its command line. Everything
 * else of the server is internal (mcp.h).
 */
#ifndef RUNBOX_MCP_SERVER_H
#define RUNBOX_MCP_SERVER_H

#include "runbox/runbox.h"

/* Serves the python_executor tools over MCP on standard input and output
 * until end of input, SIGINT/SIGTERM, or a closed stdout; then stops every
 * call and closes every sandbox. Takes cfg (NULL when loading failed:
 * config_error says why, the server still starts and every tool call
 * reports it). Installs handlers for SIGINT and SIGTERM and ignores
 * SIGPIPE. Returns the process exit status (0, or 125 when the server
 * could not start). Call once per process. */
int mcp_server_main(runbox_config *cfg, const char *config_error);

#endif
