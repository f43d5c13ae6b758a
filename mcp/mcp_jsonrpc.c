/* JSON-RPC 2.0 framing for MCP: validation of incoming lines and the
 * shape of outgoing ones (see mcp.h). No I/O and no global state, so every
 * rule is testable on its own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

int mcp_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n + 1;
    }
    return 1;
}

size_t mcp_utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    /* Back up over continuation bytes to the start of the cut character. */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static char *mcp_jsonrpc_print(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* A new object {"jsonrpc":"2.0","id":id} (id null when NULL). */
static cJSON *mcp_jsonrpc_envelope(const cJSON *id)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    cJSON *idv = id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull();
    if (!idv || !cJSON_AddItemToObject(o, "id", idv)) {
        cJSON_Delete(idv);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *mcp_jsonrpc_result(const cJSON *id, cJSON *result)
{
    cJSON *o = mcp_jsonrpc_envelope(id);
    if (!o || !result || !cJSON_AddItemToObject(o, "result", result)) {
        cJSON_Delete(result);
        cJSON_Delete(o);
        return NULL;
    }
    return mcp_jsonrpc_print(o);
}

char *mcp_jsonrpc_error(const cJSON *id, int code, const char *message)
{
    cJSON *o = mcp_jsonrpc_envelope(id);
    cJSON *e = o ? cJSON_AddObjectToObject(o, "error") : NULL;
    if (!e) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddNumberToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    return mcp_jsonrpc_print(o);
}

char *mcp_jsonrpc_notification(const char *method, cJSON *params)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        cJSON_Delete(params);
        return NULL;
    }
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    cJSON_AddStringToObject(o, "method", method);
    if (params && !cJSON_AddItemToObject(o, "params", params)) {
        cJSON_Delete(params);
        cJSON_Delete(o);
        return NULL;
    }
    return mcp_jsonrpc_print(o);
}

char *mcp_jsonrpc_id_key(const cJSON *id)
{
    return cJSON_PrintUnformatted(id);
}

/* MCP narrows JSON-RPC ids to strings and integers (never null). */
static int mcp_jsonrpc_id_ok(const cJSON *id)
{
    if (cJSON_IsString(id))
        return 1;
    if (!cJSON_IsNumber(id))
        return 0;
    /* Integral and exact in a double (what JavaScript clients can send). */
    double v = id->valuedouble;
    return v >= -9007199254740991.0 && v <= 9007199254740991.0 &&
           v == (double)(long long)v;
}

void mcp_message_clear(mcp_message *msg)
{
    cJSON_Delete(msg->root);
    memset(msg, 0, sizeof *msg);
}

static int mcp_jsonrpc_reject(mcp_message *msg, char **error_line,
                              const cJSON *id, int code, const char *why)
{
    *error_line = mcp_jsonrpc_error(id, code, why);
    mcp_message_clear(msg);
    return -1;
}

int mcp_jsonrpc_parse(mcp_message *msg, const char *line, size_t len,
                      char **error_line)
{
    memset(msg, 0, sizeof *msg);
    *error_line = NULL;
    /* JSON text is UTF-8 (RFC 8259); ids and strings are echoed back, so
     * anything else would make our own output invalid. */
    if (!mcp_utf8_valid(line, len))
        return mcp_jsonrpc_reject(msg, error_line, NULL, MCP_PARSE_ERROR,
                                  "Parse error: the message is not valid UTF-8");
    const char *end = NULL;
    msg->root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (msg->root) {
        while (end < line + len && strchr(" \t\r\n", *end))
            end++;
        if (end != line + len)
            return mcp_jsonrpc_reject(msg, error_line, NULL, MCP_PARSE_ERROR,
                                      "Parse error: text after the JSON value");
    }
    if (!msg->root)
        return mcp_jsonrpc_reject(msg, error_line, NULL, MCP_PARSE_ERROR,
                                  "Parse error: not valid JSON");
    const cJSON *root = msg->root;
    if (cJSON_IsArray(root))
        return mcp_jsonrpc_reject(msg, error_line, NULL, MCP_INVALID_REQUEST,
                                  "Invalid Request: batches are not supported "
                                  "(MCP sends one message per line)");
    if (!cJSON_IsObject(root))
        return mcp_jsonrpc_reject(msg, error_line, NULL, MCP_INVALID_REQUEST,
                                  "Invalid Request: a message is a JSON object");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    int has_id = id != NULL;
    if (has_id && !mcp_jsonrpc_id_ok(id))
        return mcp_jsonrpc_reject(msg, error_line, NULL, MCP_INVALID_REQUEST,
                                  "Invalid Request: id must be a string or an "
                                  "integer");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "jsonrpc");
    if (!cJSON_IsString(version) || strcmp(version->valuestring, "2.0"))
        return mcp_jsonrpc_reject(msg, error_line, id, MCP_INVALID_REQUEST,
                                  "Invalid Request: \"jsonrpc\" must be \"2.0\"");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
    if (!method && has_id && (cJSON_GetObjectItemCaseSensitive(root, "result") ||
                              cJSON_GetObjectItemCaseSensitive(root, "error"))) {
        msg->kind = MCP_MSG_RESPONSE;
        msg->id = id;
        return 0;
    }
    if (!cJSON_IsString(method))
        return mcp_jsonrpc_reject(msg, error_line, id, MCP_INVALID_REQUEST,
                                  "Invalid Request: \"method\" must be a string");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
    if (params && !cJSON_IsObject(params) && !cJSON_IsArray(params))
        return mcp_jsonrpc_reject(msg, error_line, id, MCP_INVALID_REQUEST,
                                  "Invalid Request: \"params\" must be an object");
    msg->kind = has_id ? MCP_MSG_REQUEST : MCP_MSG_NOTIFICATION;
    msg->id = id;
    msg->method = method->valuestring;
    msg->params = params;
    return 0;
}
