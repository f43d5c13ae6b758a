/* runbox mcp: parses the command line and hands over to the MCP server
 * library (mcp/). */
#include <stdio.h>

#include "cli.h"
#include "mcp_server.h"

static const char mcp_help[] =
    "usage: runbox mcp [options]\n"
    "Serves the python_executor tools (execute_code, install_package,\n"
    "get_environment) over the Model Context Protocol on standard input and\n"
    "output, for Claude Desktop, Claude Code, Cursor and other MCP clients.\n"
    "The backend is opened on the first tool call. Logs go to stderr.\n\n"
    "  -b, --backend NAME   backend (default from config: e2b)\n"
    "  -t, --timeout SECS   default wall-clock limit per execution\n"
    "      --config FILE    configuration file (default ./runbox.ini)\n";

int cli_mcp(int argc, char **argv)
{
    cli_common common = {0};
    int rc = cli_parse_common_only(&common, argc, argv, mcp_help, NULL);
    if (rc >= 0)
        return rc;
    /* A broken configuration must not stop the server from starting: the
     * client would only see a dead process. Tool calls report it. */
    runbox_config *cfg = cli_config(&common);
    char config_error[RUNBOX_MESSAGE_SIZE] = "";
    if (!cfg)
        snprintf(config_error, sizeof config_error, "%s", runbox_error_last());
    return mcp_server_main(cfg, config_error);
}
