/* The python_executor tools as tools/list describes them. The fixed parts
 * of the schemas are JSON text so that they read like the documents
 * clients receive; descriptions, the language enum, the timeout maximum
 * and the hints follow the backend's facts, so that a model is never told
 * that something persists, or works, where it does not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

#define MCP_SESSION_PROPERTY                                                  \
    "\"session\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9_.-]{1,64}$\","  \
    "\"description\":\"Name of a persistent sandbox (created on first use). " \
    "Calls with the same name share its state, as the tool's description "      \
    "says.\"}"

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
    "\"results\":{\"type\":\"array\",\"description\":\"rich values: the "
    "final expression (main) and figures; images also come as image "
    "content\",\"items\":{\"type\":\"object\","
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

static const char mcp_close_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"session\":{\"type\":\"string\"},\"closed\":{\"type\":\"boolean\"}},"
    "\"required\":[\"session\",\"closed\"]}";

static const char *const mcp_tool_names[] = {"execute_code", "install_package",
                                             "get_environment", "close_session",
                                             NULL};

int mcp_schemas_known(const char *name)
{
    for (size_t i = 0; name && mcp_tool_names[i]; i++)
        if (!strcmp(name, mcp_tool_names[i]))
            return 1;
    return 0;
}

static int mcp_has(const mcp_facts *f, uint64_t cap)
{
    return f && f->available && (f->caps & cap);
}

/* What a session keeps between calls on this backend. */
static const char *mcp_persists(const mcp_facts *f)
{
    if (!f || !f->available)
        return "what the backend keeps (variables where it runs one "
               "interpreter per session, files where it keeps the sandbox)";
    if (!(f->caps & RUNBOX_CAP_SESSIONS))
        return NULL;
    if (f->caps & RUNBOX_CAP_INTERPRETER)
        return (f->caps & RUNBOX_CAP_FILES)
                   ? "variables, imports and functions (one interpreter keeps "
                     "running), files and installed packages"
                   : "variables, imports and functions (one interpreter keeps "
                     "running) and installed packages";
    return (f->caps & RUNBOX_CAP_FILES)
               ? "files and installed packages, but NOT variables: every call "
                 "starts a new interpreter, so keep state in files (e.g. "
                 "pickle) to carry it over"
               : "installed packages only: every call starts a new "
                 "interpreter, so variables and files do not carry over";
}

static void mcp_add_duration(mcp_text *t, double secs)
{
    if (secs > 120 && (long)secs % 60 == 0 && secs == (long)secs)
        mcp_text_addf(t, "%ld min", (long)secs / 60);
    else
        mcp_text_addf(t, "%g s", secs);
}

/* Why install_package cannot work here, or NULL when it can. */
static const char *mcp_install_blocker(const mcp_facts *f)
{
    if (!f || !f->available)
        return NULL;
    if (!(f->caps & RUNBOX_CAP_INSTALL))
        return "this backend cannot install packages";
    if (!f->network)
        return "the sandboxes have no network, so pip could download "
               "nothing: set network = on (in runbox.ini, or RUNBOX_NETWORK=on) "
               "and restart the server to install packages";
    return NULL;
}

static void mcp_describe_backend(mcp_text *t, const mcp_facts *f)
{
    if (!f)
        return;
    if (!f->available) {
        mcp_text_lit(t, " The backend is not available yet (");
        mcp_text_trimmed(t, f->error, strlen(f->error), 300);
        mcp_text_lit(t, "); calls report why.");
        return;
    }
    mcp_text_addf(t, " Backend: %s. Network: %s.", f->backend,
                  f->network ? "on" : "off (no internet from the code)");
}

static char *mcp_execute_description(const mcp_facts *f)
{
    mcp_text t = {0};
    mcp_text_lit(&t, "Run code in an isolated sandbox and return what it "
                 "printed.");
    mcp_describe_backend(&t, f);
    if (f && f->available) {
        mcp_text_lit(&t, " Timeout: ");
        mcp_add_duration(&t, f->timeout);
        mcp_text_lit(&t, " by default, at most ");
        mcp_add_duration(&t, f->max_timeout);
        mcp_text_lit(&t, ".");
    }
    const char *persists = mcp_persists(f);
    if (!persists) {
        mcp_text_addf(&t, " This backend has no sessions: every call gets a "
                      "fresh sandbox, destroyed afterwards, and `session` is "
                      "refused.");
    } else {
        mcp_text_addf(&t, " Without `session` every call gets a fresh sandbox "
                      "that is destroyed afterwards, so nothing carries over. "
                      "With `session` (any name, e.g. \"default\") calls that "
                      "pass the same name share %s.", persists);
        if (f && f->available && f->session_idle > 0) {
            mcp_text_lit(&t, " A session unused for ");
            mcp_add_duration(&t, f->session_idle);
            mcp_text_lit(&t, " is closed");
        } else {
            mcp_text_lit(&t, " Sessions stay");
        }
        mcp_text_addf(&t, "; at most %d are open (opening another closes the "
                      "least recently used); close_session ends one.",
                      f && f->max_sessions ? f->max_sessions : MCP_MAX_SESSIONS);
    }
    mcp_text_addf(&t, " The text shows stdout, stderr%s, then always at the "
                  "end the error (name, value, traceback), the exit code or "
                  "signal, and the verdict; long output is cut in the middle "
                  "(byte counts given) and structuredContent holds the full "
                  "typed result.%s Code that raises or exits non-zero gives "
                  "isError true.",
                  !f || mcp_has(f, RUNBOX_CAP_RICH_RESULTS)
                      ? " and the value of a final expression (Out: ...)" : "",
                  !f || mcp_has(f, RUNBOX_CAP_RICH_RESULTS)
                      ? " Figures (PNG, JPEG, SVG) come as image content." : "");
    return t.failed ? (free(t.data), NULL) : t.data;
}

static char *mcp_install_description(const mcp_facts *f)
{
    mcp_text t = {0};
    mcp_text_lit(&t, "Install one Python package with pip. `package` is a name "
                 "with an optional version specifier (\"numpy\", "
                 "\"pandas>=2,<3\"); pip options, URLs, paths and archive "
                 "file names are refused. Packages live in a session: without "
                 "`session` the package goes into the session named "
                 "\"default\", so pass session \"default\" to execute_code to "
                 "import it.");
    const char *blocker = mcp_install_blocker(f);
    if (blocker)
        mcp_text_addf(&t, " On this server it refuses at once: %s.", blocker);
    else if (!f || !f->available)
        mcp_text_lit(&t, " It needs the sandbox to have network access.");
    mcp_describe_backend(&t, f);
    return t.failed ? (free(t.data), NULL) : t.data;
}

char *mcp_schemas_instructions(const mcp_facts *f)
{
    mcp_text t = {0};
    mcp_text_lit(&t, "Runs code (Python by default) in isolated sandboxes "
                 "with execute_code.");
    mcp_describe_backend(&t, f);
    const char *persists = mcp_persists(f);
    if (persists)
        mcp_text_addf(&t, " Pass the same `session` name to keep %s; "
                      "close_session ends a session.", persists);
    else
        mcp_text_lit(&t, " Every call starts fresh (no sessions).");
    const char *blocker = mcp_install_blocker(f);
    if (blocker)
        mcp_text_addf(&t, " install_package refuses: %s.", blocker);
    else
        mcp_text_lit(&t, " install_package adds PyPI packages to a session.");
    return t.failed ? (free(t.data), NULL) : t.data;
}

/* The execute_code input schema: the language enum and the timeout
 * maximum come from the facts. */
static cJSON *mcp_execute_input(const mcp_facts *f)
{
    cJSON *in = cJSON_Parse(
        "{\"type\":\"object\",\"properties\":{"
        "\"code\":{\"type\":\"string\",\"description\":\"the program to run\"},"
        "\"timeout\":{\"type\":\"number\",\"exclusiveMinimum\":0,\"description\":"
        "\"wall-clock limit in seconds (default: the server's configured "
        "timeout)\"},"
        "\"language\":{\"type\":\"string\",\"description\":\"the language of "
        "the code\"}," MCP_SESSION_PROPERTY "},"
        "\"required\":[\"code\"],\"additionalProperties\":false}");
    cJSON *props = cJSON_GetObjectItemCaseSensitive(in, "properties");
    if (f && f->available && props) {
        cJSON *lang = cJSON_GetObjectItemCaseSensitive(props, "language");
        cJSON *e = cJSON_AddArrayToObject(lang, "enum");
        for (const char *const *l = f->languages; e && l && *l; l++)
            cJSON_AddItemToArray(e, cJSON_CreateString(*l));
        if (f->languages && f->languages[0])
            cJSON_AddStringToObject(lang, "default", f->languages[0]);
        if (f->max_timeout > 0)
            cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(props, "timeout"),
                                    "maximum", f->max_timeout);
    }
    return in;
}

static cJSON *mcp_annotations(int read_only, int destructive, int idempotent,
                              int open_world)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddBoolToObject(a, "readOnlyHint", read_only);
    if (!read_only) {
        cJSON_AddBoolToObject(a, "destructiveHint", destructive);
        cJSON_AddBoolToObject(a, "idempotentHint", idempotent);
    }
    cJSON_AddBoolToObject(a, "openWorldHint", open_world);
    return a;
}

static int mcp_add_tool(cJSON *list, const char *name, const char *title,
                        char *description, cJSON *input, const char *output,
                        cJSON *annotations)
{
    cJSON *t = cJSON_CreateObject();
    cJSON *out = cJSON_Parse(output);
    int ok = t && description && input && out && annotations;
    if (ok) {
        cJSON_AddStringToObject(t, "name", name);
        cJSON_AddStringToObject(t, "title", title);
        cJSON_AddStringToObject(t, "description", description);
        cJSON_AddItemToObject(t, "inputSchema", input);
        cJSON_AddItemToObject(t, "outputSchema", out);
        cJSON_AddItemToObject(annotations, "title", cJSON_CreateString(title));
        cJSON_AddItemToObject(t, "annotations", annotations);
        cJSON_AddItemToArray(list, t);
    } else {
        cJSON_Delete(t);
        cJSON_Delete(input);
        cJSON_Delete(out);
        cJSON_Delete(annotations);
    }
    free(description);
    return ok;
}

cJSON *mcp_schemas_tools(const mcp_facts *f)
{
    cJSON *list = cJSON_CreateArray();
    int net = !f || !f->available || f->network;
    /* The code can only change its own sandbox, never the host: not
     * destructive. It reaches the outside world only with the network. */
    int ok = list &&
        mcp_add_tool(list, "execute_code", "Execute code",
                     mcp_execute_description(f), mcp_execute_input(f),
                     mcp_result_schema, mcp_annotations(0, 0, 0, net)) &&
        mcp_add_tool(list, "install_package", "Install a Python package",
                     mcp_install_description(f),
                     cJSON_Parse("{\"type\":\"object\",\"properties\":{"
                                 "\"package\":{\"type\":\"string\",\"description\":"
                                 "\"PEP 508 name with an optional version, e.g. "
                                 "numpy>=1.26\"}," MCP_SESSION_PROPERTY "},"
                                 "\"required\":[\"package\"],"
                                 "\"additionalProperties\":false}"),
                     mcp_result_schema, mcp_annotations(0, 0, 1, net)) &&
        mcp_add_tool(list, "get_environment", "Describe the sandbox environment",
                     strdup("Describe the sandbox: interpreter version, "
                            "platform, installed packages, the backend and the "
                            "limits in force. Without `session` this describes "
                            "a fresh sandbox; with `session`, that session's "
                            "sandbox (including the packages installed into it)."),
                     cJSON_Parse("{\"type\":\"object\",\"properties\":{"
                                 MCP_SESSION_PROPERTY "},"
                                 "\"additionalProperties\":false}"),
                     mcp_environment_schema, mcp_annotations(1, 0, 1, 0)) &&
        mcp_add_tool(list, "close_session", "Close a session",
                     strdup("Close a session: its sandbox is destroyed with "
                            "everything in it (variables, files, packages). "
                            "The name can be used again and then starts "
                            "fresh. Closing a session that is not open is "
                            "not an error (closed: false)."),
                     cJSON_Parse("{\"type\":\"object\",\"properties\":{"
                                 MCP_SESSION_PROPERTY "},"
                                 "\"required\":[\"session\"],"
                                 "\"additionalProperties\":false}"),
                     mcp_close_schema, mcp_annotations(0, 1, 1, 0));
    if (!ok) {
        cJSON_Delete(list);
        return NULL;
    }
    return list;
}
