/* MCP lifecycle and routing (see mcp.h): everything the server answers
 * without touching a backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

const char *const mcp_protocol_versions[] = {"2025-11-25", "2025-06-18",
                                             "2025-03-26", "2024-11-05", NULL};

int mcp_protocol_supported(const char *version)
{
    for (size_t i = 0; version && mcp_protocol_versions[i]; i++)
        if (!strcmp(version, mcp_protocol_versions[i]))
            return 1;
    return 0;
}

/* The backend's facts, or NULL when this connection has no source. */
static const mcp_facts *mcp_protocol_facts(const mcp_protocol *p, mcp_facts *f)
{
    if (!p->facts)
        return NULL;
    memset(f, 0, sizeof *f);
    p->facts(p->facts_userdata, f);
    return f;
}

void mcp_protocol_init(mcp_protocol *p)
{
    memset(p, 0, sizeof *p);
}

static mcp_route mcp_reply_error(char **reply, const mcp_message *m, int code,
                                 const char *message)
{
    *reply = mcp_jsonrpc_error(m->id, code, message);
    return MCP_ROUTE_DONE;
}

static mcp_route mcp_reply_result(char **reply, const mcp_message *m,
                                  cJSON *result)
{
    *reply = mcp_jsonrpc_result(m->id, result);
    return MCP_ROUTE_DONE;
}

static mcp_route mcp_initialize(mcp_protocol *p, const mcp_message *m,
                                char **reply)
{
    if (p->initialized)
        return mcp_reply_error(reply, m, MCP_INVALID_REQUEST,
                               "Invalid Request: already initialized");
    const cJSON *asked = cJSON_GetObjectItemCaseSensitive(m->params,
                                                          "protocolVersion");
    if (!cJSON_IsString(asked))
        return mcp_reply_error(reply, m, MCP_INVALID_PARAMS,
                               "Invalid params: initialize needs "
                               "protocolVersion (a string)");
    /* The client's version when we speak it, else our newest: the client
     * then decides whether it can live with that (lifecycle, "Version
     * Negotiation"). */
    const char *version = mcp_protocol_versions[0];
    for (size_t i = 0; mcp_protocol_versions[i]; i++)
        if (!strcmp(asked->valuestring, mcp_protocol_versions[i]))
            version = mcp_protocol_versions[i];
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "protocolVersion", version);
    cJSON *caps = cJSON_AddObjectToObject(r, "capabilities");
    cJSON_AddObjectToObject(caps, "tools");
    cJSON *info = cJSON_AddObjectToObject(r, "serverInfo");
    cJSON_AddStringToObject(info, "name", MCP_SERVER_NAME);
    cJSON_AddStringToObject(info, "version", RUNBOX_VERSION_STRING);
    mcp_facts f;
    char *instructions = mcp_schemas_instructions(mcp_protocol_facts(p, &f));
    if (instructions)
        cJSON_AddStringToObject(r, "instructions", instructions);
    free(instructions);
    if (!info || !instructions) {
        cJSON_Delete(r);
        return mcp_reply_result(reply, m, NULL);
    }
    p->initialized = 1;
    snprintf(p->version, sizeof p->version, "%s", version);
    return mcp_reply_result(reply, m, r);
}

static mcp_route mcp_tools_call_route(const mcp_message *m, char **reply)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(m->params, "name");
    if (!cJSON_IsString(name))
        return mcp_reply_error(reply, m, MCP_INVALID_PARAMS,
                               "Invalid params: tools/call needs name (a "
                               "string)");
    if (!mcp_schemas_known(name->valuestring)) {
        char msg[256];
        snprintf(msg, sizeof msg, "Unknown tool: %.120s (tools/list names "
                 "the tools)", name->valuestring);
        return mcp_reply_error(reply, m, MCP_INVALID_PARAMS, msg);
    }
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(m->params, "arguments");
    if (args && !cJSON_IsObject(args))
        return mcp_reply_error(reply, m, MCP_INVALID_PARAMS,
                               "Invalid params: arguments must be an object");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(m->params, "_meta");
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(meta, "progressToken");
    if ((meta && !cJSON_IsObject(meta)) ||
        (token && !cJSON_IsString(token) && !cJSON_IsNumber(token)))
        return mcp_reply_error(reply, m, MCP_INVALID_PARAMS,
                               "Invalid params: _meta.progressToken must be "
                               "a string or a number");
    return MCP_ROUTE_TOOL_CALL;
}

static mcp_route mcp_notification(const mcp_message *m)
{
    if (!strcmp(m->method, "notifications/cancelled")) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(m->params,
                                                           "requestId");
        /* A malformed cancellation is ignored, as the spec asks. */
        if (cJSON_IsString(id) || cJSON_IsNumber(id))
            return MCP_ROUTE_CANCEL;
    }
    return MCP_ROUTE_DONE;
}

mcp_route mcp_protocol_handle(mcp_protocol *p, const mcp_message *m,
                              char **reply)
{
    *reply = NULL;
    if (m->kind == MCP_MSG_RESPONSE)
        return MCP_ROUTE_DONE; /* we send no requests, so nothing waits */
    if (m->kind == MCP_MSG_NOTIFICATION)
        return mcp_notification(m);
    static const char *const known[] = {"initialize", "ping", "tools/list",
                                        "tools/call", NULL};
    int is_known = 0;
    for (size_t i = 0; known[i]; i++)
        is_known |= !strcmp(m->method, known[i]);
    if (!is_known) {
        char msg[256];
        snprintf(msg, sizeof msg, "Method not found: %.120s", m->method);
        return mcp_reply_error(reply, m, MCP_METHOD_NOT_FOUND, msg);
    }
    if (cJSON_IsArray(m->params))
        return mcp_reply_error(reply, m, MCP_INVALID_PARAMS,
                               "Invalid params: MCP params are an object");
    if (!strcmp(m->method, "ping"))
        return mcp_reply_result(reply, m, cJSON_CreateObject());
    if (!strcmp(m->method, "initialize"))
        return mcp_initialize(p, m, reply);
    if (!p->initialized)
        return mcp_reply_error(reply, m, MCP_INVALID_REQUEST,
                               "Invalid Request: server not initialized "
                               "(send initialize first)");
    if (!strcmp(m->method, "tools/list")) {
        cJSON *r = cJSON_CreateObject();
        mcp_facts f;
        cJSON *tools = mcp_schemas_tools(mcp_protocol_facts(p, &f));
        if (!r || !tools || !cJSON_AddItemToObject(r, "tools", tools)) {
            cJSON_Delete(tools);
            cJSON_Delete(r);
            return mcp_reply_result(reply, m, NULL);
        }
        return mcp_reply_result(reply, m, r);
    }
    return mcp_tools_call_route(m, reply);
}
