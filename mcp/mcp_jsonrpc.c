/* JSON-RPC 2.0 framing for MCP: validation of incoming lines and the
 * shape of outgoing ones (see mcp.h). No I/O and no global state, so every
 * rule is testable on its own. */
#include <stdint.h>
#include <stdio.h>
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

size_t mcp_utf8_suffix_start(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return 0;
    size_t n = len - max;
    /* Forward over continuation bytes to the next character's start. */
    while (n < len && ((unsigned char)s[n] & 0xC0) == 0x80)
        n++;
    return n;
}

static char *mcp_jsonrpc_print(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* A new object {"jsonrpc":"2.0","id":id}, without "id" when id is NULL:
 * MCP ids are never null, and its schema leaves the id of an error about
 * an unreadable message out. */
static cJSON *mcp_jsonrpc_envelope(const cJSON *id)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    if (!id)
        return o;
    cJSON *idv = cJSON_Duplicate(id, 1);
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

static int mcp_hex4(const char *p, const char *end, unsigned *out)
{
    if (end - p < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

/* What the escapes of a JSON text hold that cJSON cannot represent: \u0000
 * (C strings end there) and lone UTF-16 surrogates (no character). With
 * fix, lone surrogates are rewritten in place as \uFFFD so that the rest
 * of the message can still be read. Backslashes appear only inside
 * strings, so no string tracking is needed. */
static void mcp_scan_escapes(char *s, size_t len, int fix, int *nul,
                             int *lone)
{
    char *end = s + len;
    for (char *p = s; p < end; p++) {
        if (*p != '\\')
            continue;
        if (p + 1 >= end)
            break;
        if (p[1] != 'u') {
            p++;
            continue;
        }
        unsigned v;
        if (!mcp_hex4(p + 2, end, &v)) {
            p++;
            continue;
        }
        if (v == 0)
            *nul = 1;
        unsigned low;
        if (v >= 0xD800 && v <= 0xDBFF && end - p >= 12 && p[6] == '\\' &&
            p[7] == 'u' && mcp_hex4(p + 8, end, &low) && low >= 0xDC00 &&
            low <= 0xDFFF) {
            p += 11; /* a proper pair */
            continue;
        }
        if (v >= 0xD800 && v <= 0xDFFF) {
            *lone = 1;
            if (fix)
                memcpy(p + 2, "FFFD", 4);
        }
        p += 5;
    }
}

/* The top-level id of an object whose text starts at s (maybe cut short):
 * walks the members at depth 1 until "id". Returns a new cJSON or NULL. */
static cJSON *mcp_id_from_head(const char *s, size_t len)
{
    const char *p = s, *end = s + len;
    while (p < end && strchr(" \t\r\n", *p))
        p++;
    if (p >= end || *p != '{')
        return NULL;
    int depth = 0, in_string = 0, expect_key = 0;
    const char *key = NULL;
    for (; p < end; p++) {
        char c = *p;
        if (in_string) {
            if (c == '\\')
                p++;
            else if (c == '"') {
                in_string = 0;
                if (key && depth == 1) {
                    size_t klen = (size_t)(p - key);
                    const char *q = p + 1;
                    while (q < end && strchr(" \t\r\n", *q))
                        q++;
                    if (q < end && *q == ':' && klen == 2 && !memcmp(key, "id", 2)) {
                        const char *v = q + 1, *vend = NULL;
                        cJSON *id = cJSON_ParseWithLengthOpts(v, (size_t)(end - v),
                                                              &vend, 0);
                        if (cJSON_IsString(id) || cJSON_IsNumber(id))
                            return id;
                        cJSON_Delete(id);
                        return NULL;
                    }
                }
                key = NULL;
            }
            continue;
        }
        if (c == '"') {
            in_string = 1;
            key = expect_key && depth == 1 ? p + 1 : NULL;
            expect_key = 0;
        } else if (c == '{' || c == '[') {
            depth++;
            expect_key = c == '{' && depth == 1;
        } else if (c == '}' || c == ']') {
            if (--depth <= 0)
                return NULL;
        } else if (c == ',' && depth == 1) {
            expect_key = 1;
        }
    }
    return NULL;
}

/* The top-level id from the end of an object's text: the last "id" member
 * whose text, closed by the object's own final brace, parses as the rest
 * of an object (a nested "id" leaves unbalanced braces behind). */
static cJSON *mcp_id_from_tail(const char *s, size_t len)
{
    while (len && strchr(" \t\r\n", s[len - 1]))
        len--;
    if (!len || s[len - 1] != '}')
        return NULL;
    int tries = 0;
    for (size_t i = len; i-- > 0 && tries < 16;) {
        if (s[i] != '"' || len - i < 5 || memcmp(s + i, "\"id\"", 4) ||
            (i > 0 && s[i - 1] == '\\'))
            continue;
        tries++;
        size_t n = len - i;
        char *buf = malloc(n + 2);
        if (!buf)
            return NULL;
        buf[0] = '{';
        memcpy(buf + 1, s + i, n);
        buf[n + 1] = '\0';
        cJSON *o = cJSON_ParseWithLengthOpts(buf, n + 2, NULL, 1);
        free(buf);
        cJSON *id = cJSON_DetachItemFromObjectCaseSensitive(o, "id");
        cJSON_Delete(o);
        if (cJSON_IsString(id) || cJSON_IsNumber(id))
            return id;
        cJSON_Delete(id);
    }
    return NULL;
}

/* An id that can be answered, read from text that did not parse whole. */
static cJSON *mcp_salvage_id(const char *head, size_t head_len,
                             const char *tail, size_t tail_len)
{
    cJSON *id = mcp_id_from_head(head, head_len);
    if (!id && tail)
        id = mcp_id_from_tail(tail, tail_len);
    /* A damaged id (repaired to U+FFFD) is not the client's. */
    if (id && (!mcp_jsonrpc_id_ok(id) ||
               (cJSON_IsString(id) && strstr(id->valuestring, "\xEF\xBF\xBD")))) {
        cJSON_Delete(id);
        id = NULL;
    }
    return id;
}

char *mcp_jsonrpc_too_long(const char *head, size_t head_len,
                           const char *tail, size_t tail_len, size_t max)
{
    cJSON *id = mcp_salvage_id(head, head_len, tail, tail_len);
    char why[160];
    snprintf(why, sizeof why, "%s: message longer than %zu MiB",
             id ? "Invalid Request" : "Parse error", max >> 20);
    char *line = mcp_jsonrpc_error(id, id ? MCP_INVALID_REQUEST : MCP_PARSE_ERROR,
                                   why);
    cJSON_Delete(id);
    return line;
}

/* A message that is not valid UTF-8 or holds lone surrogates: repaired
 * (U+FFFD) only to find whom to answer. A request is answered with
 * MCP_INVALID_PARAMS, or MCP_INVALID_REQUEST when its method itself was
 * damaged; a notification is dropped. */
static int mcp_jsonrpc_damaged(mcp_message *msg, const char *line, size_t len,
                               int bad_utf8, char **error_line)
{
    mcp_text fixed = {0};
    mcp_text_add_utf8(&fixed, line, len);
    if (fixed.failed) {
        free(fixed.data);
        return mcp_jsonrpc_reject(msg, error_line, NULL, MCP_INTERNAL_ERROR,
                                  "Internal error: out of memory");
    }
    int nul = 0, lone = 0;
    mcp_scan_escapes(fixed.data, fixed.len, 1, &nul, &lone);
    /* With require_null_terminated the length counts the NUL. */
    cJSON *root = cJSON_ParseWithLengthOpts(fixed.data, fixed.len + 1, NULL, 1);
    cJSON *id = NULL;
    int code = MCP_INVALID_PARAMS;
    if (cJSON_IsObject(root)) {
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(root, "id");
        const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
        int response = !method && (cJSON_GetObjectItemCaseSensitive(root, "result") ||
                                   cJSON_GetObjectItemCaseSensitive(root, "error"));
        /* An id that was itself damaged is not the client's: answer
         * without one. */
        if (rid && mcp_jsonrpc_id_ok(rid) &&
            !(cJSON_IsString(rid) && strstr(rid->valuestring, "\xEF\xBF\xBD")))
            id = cJSON_Duplicate(rid, 1);
        else if (rid)
            code = MCP_INVALID_REQUEST;
        if (!cJSON_IsString(method) || strstr(method->valuestring, "\xEF\xBF\xBD"))
            code = MCP_INVALID_REQUEST;
        if ((!rid && !response) || response) {
            /* A notification, or a response to us: nobody to answer. */
            cJSON_Delete(id);
            cJSON_Delete(root);
            free(fixed.data);
            mcp_message_clear(msg);
            return -1;
        }
    } else {
        id = mcp_salvage_id(fixed.data, fixed.len, fixed.data, fixed.len);
        code = MCP_PARSE_ERROR;
    }
    cJSON_Delete(root);
    free(fixed.data);
    const char *why =
        code == MCP_PARSE_ERROR
            ? (bad_utf8 ? "Parse error: the message is not valid UTF-8"
                        : "Parse error: not valid JSON")
        : bad_utf8 ? "Invalid params: the message is not valid UTF-8 (JSON "
                     "text must be); send the text as UTF-8"
                   : "Invalid params: a string holds a lone UTF-16 surrogate "
                     "escape (such as \\ud800), which is no character; send "
                     "the text as valid Unicode";
    if (code == MCP_INVALID_REQUEST)
        why = bad_utf8 ? "Invalid Request: the message is not valid UTF-8"
                       : "Invalid Request: the method holds a lone UTF-16 "
                         "surrogate";
    int rc = mcp_jsonrpc_reject(msg, error_line, id, code, why);
    cJSON_Delete(id);
    return rc;
}

int mcp_jsonrpc_parse(mcp_message *msg, const char *line, size_t len,
                      char **error_line)
{
    memset(msg, 0, sizeof *msg);
    *error_line = NULL;
    /* JSON text is UTF-8 (RFC 8259); ids and strings are echoed back, so
     * anything else would make our own output invalid. */
    if (!mcp_utf8_valid(line, len))
        return mcp_jsonrpc_damaged(msg, line, len, 1, error_line);
    int nul = 0, lone = 0;
    mcp_scan_escapes((char *)line, len, 0, &nul, &lone);
    if (lone)
        return mcp_jsonrpc_damaged(msg, line, len, 0, error_line);
    msg->has_nul = nul;
    const char *end = NULL;
    msg->root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (msg->root) {
        while (end < line + len && strchr(" \t\r\n", *end))
            end++;
        if (end != line + len) {
            cJSON *id = mcp_salvage_id(line, len, line, len);
            int rc = mcp_jsonrpc_reject(msg, error_line, id, MCP_PARSE_ERROR,
                                        "Parse error: text after the JSON value");
            cJSON_Delete(id);
            return rc;
        }
    }
    if (!msg->root) {
        cJSON *id = mcp_salvage_id(line, len, line, len);
        int rc = mcp_jsonrpc_reject(msg, error_line, id, MCP_PARSE_ERROR,
                                    "Parse error: not valid JSON");
        cJSON_Delete(id);
        return rc;
    }
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
