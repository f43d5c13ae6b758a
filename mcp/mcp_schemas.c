/* The python_executor tools as tools/list describes them. The schemas are
 * JSON text so that they read like the documents clients receive. */
#include <string.h>

#include "mcp.h"

#define MCP_SESSION_PROPERTY                                                  \
    "\"session\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9_.-]{1,64}$\","  \
    "\"description\":\"Name of a persistent sandbox (created on first use, "   \
    "kept until the server stops). Calls with the same name share "            \
    "variables, files and installed packages.\"}"

/* The typed result of a run (runbox_result_to_json), for execute_code and
 * install_package alike. */
static const char mcp_result_schema[] =
    "{\"type\":\"object\","
    "\"properties\":{"
    "\"success\":{\"type\":\"boolean\",\"description\":\"ran to the end "
    "without error (verdict ok or truncated)\"},"
    "\"verdict\":{\"type\":\"string\",\"enum\":[\"ok\",\"error\","
    "\"exit_nonzero\",\"signaled\",\"timeout\",\"oom\",\"truncated\","
    "\"backend_failure\",\"canceled\"]},"
    "\"exit_code\":{\"type\":\"integer\"},"
    "\"signal\":{\"type\":\"integer\"},"
    "\"stdout\":{\"type\":\"string\"},"
    "\"stdout_base64\":{\"type\":\"string\",\"description\":\"exact bytes, "
    "present when stdout was not valid UTF-8\"},"
    "\"stdout_truncated\":{\"type\":\"boolean\"},"
    "\"stdout_bytes\":{\"type\":\"integer\"},"
    "\"stderr\":{\"type\":\"string\"},"
    "\"stderr_base64\":{\"type\":\"string\"},"
    "\"stderr_truncated\":{\"type\":\"boolean\"},"
    "\"stderr_bytes\":{\"type\":\"integer\"},"
    "\"error\":{\"type\":[\"object\",\"null\"],\"properties\":{"
    "\"name\":{\"type\":\"string\"},\"value\":{\"type\":\"string\"},"
    "\"traceback\":{\"type\":\"string\"}}},"
    "\"results\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"mime\":{\"type\":\"string\"},\"text\":{\"type\":"
    "\"string\"},\"base64\":{\"type\":\"string\"},\"main\":{\"type\":"
    "\"boolean\"}},\"required\":[\"mime\"]}},"
    "\"execution_count\":{\"type\":\"integer\"},"
    "\"wall_time\":{\"type\":\"number\"},"
    "\"cpu_time\":{\"type\":\"number\",\"description\":\"-1 when unknown\"},"
    "\"backend\":{\"type\":\"string\"},"
    "\"limits\":{\"type\":\"object\"},"
    "\"isolation\":{\"type\":\"string\"},"
    "\"message\":{\"type\":\"string\"}},"
    "\"required\":[\"success\",\"verdict\",\"exit_code\",\"stdout\","
    "\"stderr\",\"error\",\"backend\",\"wall_time\"]}";

static const char mcp_environment_schema[] =
    "{\"type\":\"object\","
    "\"properties\":{"
    "\"python\":{\"type\":\"string\",\"description\":\"interpreter version\"},"
    "\"implementation\":{\"type\":\"string\"},"
    "\"platform\":{\"type\":\"string\"},"
    "\"machine\":{\"type\":\"string\"},"
    "\"packages\":{\"type\":\"object\",\"additionalProperties\":{\"type\":"
    "\"string\"},\"description\":\"installed distribution -> version\"},"
    "\"backend\":{\"type\":\"string\"},"
    "\"capabilities\":{\"type\":\"string\"},"
    "\"limits\":{\"type\":\"object\"}},"
    "\"required\":[\"backend\"]}";

static const struct {
    const char *name;
    const char *title;
    const char *description;
    const char *input_schema;
    const char *output_schema;
} mcp_tools[] = {
    {"execute_code", "Execute code",
     "Run code in an isolated sandbox and return what it printed. Without "
     "`session` every call gets a fresh sandbox that is destroyed afterwards, "
     "so nothing carries over. With `session` (any name, e.g. \"default\") "
     "variables, files and installed packages persist across calls that pass "
     "the same name. The text lists stdout, then stderr, then the error "
     "(name, value, traceback) and the verdict when the run did not succeed; "
     "structuredContent holds the full typed result. Code that raises or "
     "exits non-zero gives isError true.",
     "{\"type\":\"object\",\"properties\":{"
     "\"code\":{\"type\":\"string\",\"description\":\"the program to run\"},"
     "\"timeout\":{\"type\":\"number\",\"exclusiveMinimum\":0,\"description\":"
     "\"wall-clock limit in seconds (default: the server's configured "
     "timeout)\"},"
     "\"language\":{\"type\":\"string\",\"default\":\"python\",\"description\":"
     "\"python (default); bash or sh where the backend offers them\"},"
     MCP_SESSION_PROPERTY "},"
     "\"required\":[\"code\"],\"additionalProperties\":false}",
     mcp_result_schema},
    {"install_package", "Install a Python package",
     "Install one Python package with pip. `package` is a name with an "
     "optional version specifier (\"numpy\", \"pandas>=2,<3\"); pip options, "
     "URLs and paths are refused. Packages live in a session: without "
     "`session` the package goes into the session named \"default\", so pass "
     "session \"default\" to execute_code to import it. The sandbox may have "
     "no network, in which case pip fails and says so.",
     "{\"type\":\"object\",\"properties\":{"
     "\"package\":{\"type\":\"string\",\"description\":\"PEP 508 name with an "
     "optional version, e.g. numpy>=1.26\"},"
     MCP_SESSION_PROPERTY "},"
     "\"required\":[\"package\"],\"additionalProperties\":false}",
     mcp_result_schema},
    {"get_environment", "Describe the sandbox environment",
     "Describe the sandbox: Python version, platform, installed packages, the "
     "backend and the limits in force. Without `session` this describes a "
     "fresh sandbox; with `session`, that session's sandbox (including the "
     "packages installed into it).",
     "{\"type\":\"object\",\"properties\":{" MCP_SESSION_PROPERTY "},"
     "\"additionalProperties\":false}",
     mcp_environment_schema},
};

#define MCP_TOOL_COUNT (sizeof mcp_tools / sizeof mcp_tools[0])

int mcp_schemas_known(const char *name)
{
    for (size_t i = 0; name && i < MCP_TOOL_COUNT; i++)
        if (!strcmp(name, mcp_tools[i].name))
            return 1;
    return 0;
}

cJSON *mcp_schemas_tools(void)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; list && i < MCP_TOOL_COUNT; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON *in = cJSON_Parse(mcp_tools[i].input_schema);
        cJSON *out = cJSON_Parse(mcp_tools[i].output_schema);
        if (!t || !in || !out) {
            cJSON_Delete(t);
            cJSON_Delete(in);
            cJSON_Delete(out);
            cJSON_Delete(list);
            return NULL;
        }
        cJSON_AddStringToObject(t, "name", mcp_tools[i].name);
        cJSON_AddStringToObject(t, "title", mcp_tools[i].title);
        cJSON_AddStringToObject(t, "description", mcp_tools[i].description);
        cJSON_AddItemToObject(t, "inputSchema", in);
        cJSON_AddItemToObject(t, "outputSchema", out);
        cJSON_AddItemToArray(list, t);
    }
    return list;
}
