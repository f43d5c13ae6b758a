/*
 * test_mcp_jsonrpc.c — the MCP server's wire layer without any backend:
 * line framing, JSON-RPC validation of malformed input, and the lifecycle
 * and routing rules of mcp_protocol.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mcp.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */
static cJSON *parse_reply(const char *reply)
{
    assert_non_null(reply);
    assert_null(strchr(reply, '\n')); /* one message, one line */
    cJSON *o = cJSON_Parse(reply);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "jsonrpc")->valuestring, "2.0");
    return o;
}

/* Asserts reply is an error with code; id_json is the expected id as
 * JSON text ("7", "\"a\""), or NULL when "id" must be left out (MCP ids
 * are never null). */
static void assert_error_reply(const char *reply, int code, const char *id_json)
{
    cJSON *o = parse_reply(reply);
    cJSON *e = cJSON_GetObjectItem(o, "error");
    assert_non_null(e);
    assert_null(cJSON_GetObjectItem(o, "result"));
    assert_int_equal(cJSON_GetObjectItem(e, "code")->valueint, code);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "message")));
    cJSON *idv = cJSON_GetObjectItem(o, "id");
    if (!id_json) {
        if (idv)
            fail_msg("an id where none may be: %s", reply);
    } else {
        assert_non_null(idv);
        char *id = cJSON_PrintUnformatted(idv);
        assert_string_equal(id, id_json);
        free(id);
    }
    cJSON_Delete(o);
}

/* Parsing must fail with code and id. */
static void expect_rejected(const char *line, int code, const char *id_json)
{
    mcp_message m;
    char *reply = NULL;
    assert_int_equal(mcp_jsonrpc_parse(&m, line, strlen(line), &reply), -1);
    assert_null(m.root);
    assert_error_reply(reply, code, id_json);
    free(reply);
}

static void parse_ok(mcp_message *m, const char *line)
{
    char *reply = NULL;
    int rc = mcp_jsonrpc_parse(m, line, strlen(line), &reply);
    if (rc)
        fail_msg("rejected %s: %s", line, reply ? reply : "(no reply)");
    assert_null(reply);
}

/* Runs one line through parse + protocol; returns the route, *reply set. */
static mcp_route route(mcp_protocol *p, const char *line, char **reply)
{
    mcp_message m;
    parse_ok(&m, line);
    mcp_route r = mcp_protocol_handle(p, &m, reply);
    mcp_message_clear(&m);
    return r;
}

static void init_protocol(mcp_protocol *p)
{
    char *reply = NULL;
    mcp_protocol_init(p);
    assert_int_equal(route(p, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":"
                              "\"initialize\",\"params\":{\"protocolVersion\":"
                              "\"2025-06-18\",\"capabilities\":{}}}", &reply),
                     MCP_ROUTE_DONE);
    free(reply);
    assert_true(p->initialized);
}

/* ------------------------------------------------------------------ */
/* JSON-RPC validation                                                 */
/* ------------------------------------------------------------------ */
static void test_not_json(void **state)
{
    (void)state;
    expect_rejected("hello", MCP_PARSE_ERROR, NULL);
    expect_rejected("{\"jsonrpc\":\"2.0\",", MCP_PARSE_ERROR, NULL);
    /* Broken JSON whose id can still be read is answered with that id, so
     * that the client does not wait for it forever. */
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} x",
                    MCP_PARSE_ERROR, "1");
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":\"q\",\"method\":\"ping\","
                    "\"params\":{\"a\":", MCP_PARSE_ERROR, "\"q\"");
    /* A nested "id" is not the request's. */
    expect_rejected("{\"params\":{\"id\":5,\"x\":[", MCP_PARSE_ERROR, NULL);
    /* Not UTF-8 in the id itself: the id is not the client's any more. */
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":\"\xff\",\"method\":\"ping\"}",
                    MCP_INVALID_REQUEST, NULL);
}

static void test_not_an_object(void **state)
{
    (void)state;
    expect_rejected("42", MCP_INVALID_REQUEST, NULL);
    expect_rejected("\"ping\"", MCP_INVALID_REQUEST, NULL);
    expect_rejected("null", MCP_INVALID_REQUEST, NULL);
    /* MCP 2025-06-18 removed batching: one Invalid Request, not an array. */
    expect_rejected("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
                    MCP_INVALID_REQUEST, NULL);
    expect_rejected("[]", MCP_INVALID_REQUEST, NULL);
}

/* Strings that C cannot carry or that are no text: a request whose id can
 * be read always gets an answer with it. */
static void test_damaged_strings(void **state)
{
    (void)state;
    /* Invalid UTF-8 (a stray byte, an overlong '/', an encoded surrogate)
     * inside the arguments: Invalid params, with the id. */
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
                    "\"params\":{\"name\":\"execute_code\",\"arguments\":{"
                    "\"code\":\"print('\xff')\"}}}", MCP_INVALID_PARAMS, "7");
    expect_rejected("{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":"
                    "{\"code\":\"\xc0\xaf\"},\"id\":\"late\"}",
                    MCP_INVALID_PARAMS, "\"late\"");
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\",\"params\":"
                    "{\"x\":\"\xed\xa0\x80\"}}", MCP_INVALID_PARAMS, "9");
    /* Lone surrogate escapes, high or low, anywhere in a string. */
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
                    "\"params\":{\"name\":\"execute_code\",\"arguments\":{"
                    "\"code\":\"x = '\\ud800'\"}}}", MCP_INVALID_PARAMS, "7");
    expect_rejected("{\"jsonrpc\":\"2.0\",\"params\":{\"c\":\"\\udc00\\ud800\"},"
                    "\"method\":\"ping\",\"id\":11}", MCP_INVALID_PARAMS, "11");
    /* ... in the method: the request itself is unreadable. */
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"pi\\ud800ng\"}",
                    MCP_INVALID_REQUEST, "8");
    expect_rejected("{\"id\":\"\xc0\xaf\"}", MCP_INVALID_REQUEST, NULL);
    /* A notification is never answered, damaged or not. */
    mcp_message m;
    char *reply = (char *)"unset";
    const char *note = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\","
                       "\"params\":{\"a\":\"\\ud800\"}}";
    assert_int_equal(mcp_jsonrpc_parse(&m, note, strlen(note), &reply), -1);
    assert_null(reply);
    /* A proper pair is one character, and \u0000 is flagged for the tools
     * to refuse (a C string would end there). */
    parse_ok(&m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":"
                 "{\"s\":\"\\ud83d\\ude00\"}}");
    assert_false(m.has_nul);
    assert_string_equal(cJSON_GetObjectItem(m.params, "s")->valuestring,
                        "\xf0\x9f\x98\x80");
    mcp_message_clear(&m);
    parse_ok(&m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":"
                 "{\"s\":\"a\\u0000b\"}}");
    assert_true(m.has_nul);
    mcp_message_clear(&m);
    parse_ok(&m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":"
                 "{\"s\":\"a\\\\u0000b\"}}"); /* an escaped backslash */
    assert_false(m.has_nul);
    mcp_message_clear(&m);
}

/* A message over the limit is answered from its two ends. */
static void test_too_long(void **state)
{
    (void)state;
    /* The TypeScript SDK writes the id last, after a huge params. */
    const char *tail = "xxxx\"}},\"jsonrpc\":\"2.0\",\"id\":42}";
    char *line = mcp_jsonrpc_too_long("{\"method\":\"tools/call\",\"params\":{",
                                      33, tail, strlen(tail), MCP_MAX_LINE);
    assert_error_reply(line, MCP_INVALID_REQUEST, "42");
    free(line);
    /* Written first. */
    const char *head = "{\"jsonrpc\":\"2.0\",\"id\":\"big\",\"method\":\"tools/call\","
                       "\"params\":{\"arguments\":{\"code\":\"xxxx";
    line = mcp_jsonrpc_too_long(head, strlen(head), "xx\"}}}", 6, MCP_MAX_LINE);
    assert_error_reply(line, MCP_INVALID_REQUEST, "\"big\"");
    free(line);
    /* Only a nested id in sight: no id. */
    tail = "xx\",\"id\":3}}}";
    line = mcp_jsonrpc_too_long("{\"params\":{\"a\":\"", 16, tail, strlen(tail),
                                MCP_MAX_LINE);
    assert_error_reply(line, MCP_PARSE_ERROR, NULL);
    free(line);
}

static void test_bad_envelope(void **state)
{
    (void)state;
    expect_rejected("{\"id\":3,\"method\":\"ping\"}", MCP_INVALID_REQUEST, "3");
    expect_rejected("{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"ping\"}",
                    MCP_INVALID_REQUEST, "3");
    expect_rejected("{\"jsonrpc\":2,\"id\":\"x\",\"method\":\"ping\"}",
                    MCP_INVALID_REQUEST, "\"x\"");
    /* ids are strings or integers; anything else cannot be echoed. */
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}",
                    MCP_INVALID_REQUEST, NULL);
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}",
                    MCP_INVALID_REQUEST, NULL);
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}",
                    MCP_INVALID_REQUEST, NULL);
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
                    MCP_INVALID_REQUEST, NULL);
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",
                    MCP_INVALID_REQUEST, NULL);
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":42}",
                    MCP_INVALID_REQUEST, "5");
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":5}", MCP_INVALID_REQUEST, "5");
    expect_rejected("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\","
                    "\"params\":\"x\"}", MCP_INVALID_REQUEST, "5");
}

static void test_kinds(void **state)
{
    (void)state;
    mcp_message m;
    parse_ok(&m, "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":\"tools/list\","
                 "\"params\":{}}");
    assert_int_equal(m.kind, MCP_MSG_REQUEST);
    assert_string_equal(m.method, "tools/list");
    assert_string_equal(m.id->valuestring, "r1");
    assert_true(cJSON_IsObject(m.params));
    mcp_message_clear(&m);

    parse_ok(&m, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    assert_int_equal(m.kind, MCP_MSG_NOTIFICATION);
    assert_null(m.id);
    assert_null(m.params);
    mcp_message_clear(&m);

    parse_ok(&m, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}");
    assert_int_equal(m.kind, MCP_MSG_RESPONSE);
    mcp_message_clear(&m);

    /* Surrounding white space and a CR are part of a valid line. */
    parse_ok(&m, " {\"jsonrpc\":\"2.0\",\"id\":-4,\"method\":\"ping\"} \r");
    assert_int_equal(m.kind, MCP_MSG_REQUEST);
    assert_int_equal(m.id->valueint, -4);
    mcp_message_clear(&m);
}

static void test_builders(void **state)
{
    (void)state;
    cJSON *id = cJSON_CreateString("a\"b");
    char *line = mcp_jsonrpc_error(id, MCP_INVALID_PARAMS, "multi\nline");
    assert_error_reply(line, MCP_INVALID_PARAMS, "\"a\\\"b\"");
    free(line);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "x", "1\n2");
    line = mcp_jsonrpc_result(id, r);
    cJSON *o = parse_reply(line);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "result"),
                                            "x")->valuestring, "1\n2");
    cJSON_Delete(o);
    free(line);
    line = mcp_jsonrpc_notification("notifications/progress", cJSON_CreateObject());
    o = parse_reply(line);
    assert_null(cJSON_GetObjectItem(o, "id"));
    assert_string_equal(cJSON_GetObjectItem(o, "method")->valuestring,
                        "notifications/progress");
    cJSON_Delete(o);
    free(line);

    /* Keys tell 1 from "1", as request ids must be told apart. */
    cJSON *n = cJSON_CreateNumber(1), *s = cJSON_CreateString("1");
    char *kn = mcp_jsonrpc_id_key(n), *ks = mcp_jsonrpc_id_key(s);
    assert_string_not_equal(kn, ks);
    free(kn);
    free(ks);
    cJSON_Delete(n);
    cJSON_Delete(s);
    cJSON_Delete(id);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(mcp_utf8_valid("plain", 5));
    assert_true(mcp_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    assert_false(mcp_utf8_valid("\xc3", 1));           /* cut short */
    assert_false(mcp_utf8_valid("\xe0\x80\xaf", 3));   /* overlong */
    assert_false(mcp_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(mcp_utf8_valid("\x80", 1));
    /* "é€" cut at 3 bytes keeps only é: never half a character. */
    assert_int_equal(mcp_utf8_prefix("\xc3\xa9\xe2\x82\xac", 5, 3), 2);
    assert_int_equal(mcp_utf8_prefix("\xc3\xa9\xe2\x82\xac", 5, 2), 2);
    assert_int_equal(mcp_utf8_prefix("abc", 3, 10), 3);
}

/* ------------------------------------------------------------------ */
/* Lifecycle and routing                                               */
/* ------------------------------------------------------------------ */
static void test_before_initialize(void **state)
{
    (void)state;
    mcp_protocol p;
    mcp_protocol_init(&p);
    char *reply = NULL;
    route(&p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", &reply);
    assert_error_reply(reply, MCP_INVALID_REQUEST, "1");
    free(reply);
    route(&p, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
              "\"params\":{\"name\":\"execute_code\"}}", &reply);
    assert_error_reply(reply, MCP_INVALID_REQUEST, "2");
    free(reply);
    /* ping is allowed at any time. */
    route(&p, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}", &reply);
    cJSON *o = parse_reply(reply);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(o, "result")));
    assert_int_equal(cJSON_GetObjectItem(o, "id")->valueint, 3);
    cJSON_Delete(o);
    free(reply);
    assert_false(p.initialized);
}

static const char *negotiate(const char *asked)
{
    static char got[32];
    mcp_protocol p;
    mcp_protocol_init(&p);
    char line[256], *reply = NULL;
    snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
             "\"initialize\",\"params\":{\"protocolVersion\":\"%s\","
             "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":"
             "\"1\"}}}", asked);
    route(&p, line, &reply);
    cJSON *o = parse_reply(reply);
    cJSON *r = cJSON_GetObjectItem(o, "result");
    assert_non_null(r);
    cJSON *info = cJSON_GetObjectItem(r, "serverInfo");
    assert_string_equal(cJSON_GetObjectItem(info, "name")->valuestring,
                        "python_executor");
    assert_string_equal(cJSON_GetObjectItem(info, "version")->valuestring,
                        RUNBOX_VERSION_STRING);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(
        cJSON_GetObjectItem(r, "capabilities"), "tools")));
    snprintf(got, sizeof got, "%s",
             cJSON_GetObjectItem(r, "protocolVersion")->valuestring);
    assert_string_equal(p.version, got);
    cJSON_Delete(o);
    free(reply);
    return got;
}

static void test_initialize(void **state)
{
    (void)state;
    assert_string_equal(negotiate("2025-11-25"), "2025-11-25");
    assert_string_equal(negotiate("2025-06-18"), "2025-06-18");
    assert_string_equal(negotiate("2025-03-26"), "2025-03-26"); /* SDK 1.11 */
    assert_string_equal(negotiate("2024-11-05"), "2024-11-05");
    /* Unknown (older or future) versions get our newest. */
    assert_string_equal(negotiate("2023-01-01"), mcp_protocol_versions[0]);
    assert_string_equal(negotiate("2099-12-31"), "2025-11-25");

    mcp_protocol p;
    mcp_protocol_init(&p);
    char *reply = NULL;
    route(&p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
              "\"params\":{}}", &reply);
    assert_error_reply(reply, MCP_INVALID_PARAMS, "1");
    free(reply);
    route(&p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
              "\"params\":[\"2025-06-18\"]}", &reply);
    assert_error_reply(reply, MCP_INVALID_PARAMS, "1");
    free(reply);
    assert_false(p.initialized);
    init_protocol(&p);
    route(&p, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\","
              "\"params\":{\"protocolVersion\":\"2025-06-18\"}}", &reply);
    assert_error_reply(reply, MCP_INVALID_REQUEST, "2");
    free(reply);
}

static void test_notifications_never_answered(void **state)
{
    (void)state;
    mcp_protocol p;
    init_protocol(&p);
    char *reply = (char *)"unset";
    assert_int_equal(route(&p, "{\"jsonrpc\":\"2.0\",\"method\":"
                               "\"notifications/initialized\"}", &reply),
                     MCP_ROUTE_DONE);
    assert_null(reply);
    assert_int_equal(route(&p, "{\"jsonrpc\":\"2.0\",\"method\":\"no/such\","
                               "\"params\":[1]}", &reply), MCP_ROUTE_DONE);
    assert_null(reply);
    /* The same unknown method as a request is answered. */
    route(&p, "{\"jsonrpc\":\"2.0\",\"id\":\"q\",\"method\":\"no/such\"}", &reply);
    assert_error_reply(reply, MCP_METHOD_NOT_FOUND, "\"q\"");
    free(reply);
    /* A response from the client needs nothing from us. */
    assert_int_equal(route(&p, "{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{"
                               "\"code\":1,\"message\":\"x\"}}", &reply),
                     MCP_ROUTE_DONE);
    assert_null(reply);
}

static void test_unknown_methods(void **state)
{
    (void)state;
    mcp_protocol p;
    char *reply = NULL;
    /* server/discover is answered at once, even before initialize, so that
     * newer clients fall back to initialize without waiting. */
    mcp_protocol_init(&p);
    route(&p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\"}",
          &reply);
    assert_error_reply(reply, MCP_METHOD_NOT_FOUND, "1");
    free(reply);
    init_protocol(&p);
    const char *methods[] = {"resources/list", "prompts/list", "Ping", "", NULL};
    for (int i = 0; methods[i]; i++) {
        char line[200];
        snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
                 "\"%s\"}", i, methods[i]);
        route(&p, line, &reply);
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        assert_error_reply(reply, MCP_METHOD_NOT_FOUND, id);
        free(reply);
    }
    /* A known method with positional params: invalid params. */
    route(&p, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\","
              "\"params\":[]}", &reply);
    assert_error_reply(reply, MCP_INVALID_PARAMS, "7");
    free(reply);
}

static void test_tools_list(void **state)
{
    (void)state;
    mcp_protocol p;
    init_protocol(&p);
    char *reply = NULL;
    route(&p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", &reply);
    cJSON *o = parse_reply(reply);
    cJSON *tools = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "result"), "tools");
    assert_int_equal(cJSON_GetArraySize(tools), 4);
    const char *names[] = {"execute_code", "install_package", "get_environment",
                           "close_session"};
    const char *required[] = {"code", "package", NULL, "session"};
    for (int i = 0; i < 4; i++) {
        cJSON *t = cJSON_GetArrayItem(tools, i);
        assert_string_equal(cJSON_GetObjectItem(t, "name")->valuestring, names[i]);
        assert_true(strlen(cJSON_GetObjectItem(t, "description")->valuestring) > 40);
        cJSON *in = cJSON_GetObjectItem(t, "inputSchema");
        cJSON *out = cJSON_GetObjectItem(t, "outputSchema");
        assert_string_equal(cJSON_GetObjectItem(in, "type")->valuestring, "object");
        assert_string_equal(cJSON_GetObjectItem(out, "type")->valuestring, "object");
        assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(in, "properties"),
                                            "session"));
        cJSON *req = cJSON_GetObjectItem(in, "required");
        if (required[i])
            assert_string_equal(cJSON_GetArrayItem(req, 0)->valuestring, required[i]);
        else
            assert_null(req);
        assert_true(cJSON_IsObject(cJSON_GetObjectItem(t, "annotations")));
        assert_true(mcp_schemas_known(names[i]));
    }
    /* get_environment only reads; close_session destroys state. */
    cJSON *env = cJSON_GetObjectItem(cJSON_GetArrayItem(tools, 2), "annotations");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(env, "readOnlyHint")));
    cJSON *close = cJSON_GetObjectItem(cJSON_GetArrayItem(tools, 3), "annotations");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(close, "readOnlyHint")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(close, "destructiveHint")));
    cJSON *exec = cJSON_GetObjectItem(cJSON_GetArrayItem(tools, 0), "annotations");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(exec, "destructiveHint")));
    assert_false(mcp_schemas_known("run_code"));
    cJSON_Delete(o);
    free(reply);
}

/* ------------------------------------------------------------------ */
/* Descriptions follow the backend                                     */
/* ------------------------------------------------------------------ */
static const char *const fake_languages[] = {"python", "bash", NULL};

static void fake_facts(void *userdata, mcp_facts *f)
{
    const mcp_facts *want = userdata;
    *f = *want;
}

/* tools/list and initialize as a client sees them for these facts. */
static cJSON *listed(const mcp_facts *want, char **instructions)
{
    mcp_protocol p;
    mcp_protocol_init(&p);
    p.facts = fake_facts;
    p.facts_userdata = (void *)want;
    char *reply = NULL;
    route(&p, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
              "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{}}}", &reply);
    cJSON *o = parse_reply(reply);
    *instructions = strdup(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "result"),
                                               "instructions")->valuestring);
    cJSON_Delete(o);
    free(reply);
    route(&p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", &reply);
    o = parse_reply(reply);
    free(reply);
    cJSON *tools = cJSON_DetachItemFromObject(cJSON_GetObjectItem(o, "result"),
                                              "tools");
    cJSON_Delete(o);
    return tools;
}

static const char *description(cJSON *tools, int i)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(tools, i), "description")->valuestring;
}

static void test_descriptions_follow_backend(void **state)
{
    (void)state;
    mcp_facts f = {0};
    f.available = 1;
    strcpy(f.backend, "fake");
    f.caps = RUNBOX_CAP_SESSIONS | RUNBOX_CAP_FILES | RUNBOX_CAP_INSTALL;
    f.languages = fake_languages;
    f.network = 0;
    f.timeout = 30;
    f.max_timeout = 120;
    f.session_idle = 300;
    f.max_sessions = 16;
    char *instr;
    cJSON *tools = listed(&f, &instr);
    /* Files persist, variables do not; no network: install refuses. */
    assert_non_null(strstr(description(tools, 0), "NOT variables"));
    assert_non_null(strstr(description(tools, 0), "Network: off"));
    assert_non_null(strstr(description(tools, 0), "at most 120 s"));
    assert_non_null(strstr(description(tools, 0), "5 min"));
    assert_non_null(strstr(description(tools, 1), "network = on"));
    assert_non_null(strstr(instr, "network = on"));
    assert_non_null(strstr(instr, "NOT variables"));
    cJSON *props = cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetArrayItem(tools, 0), "inputSchema"), "properties");
    cJSON *lang = cJSON_GetObjectItem(props, "language");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(lang, "enum")), 2);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(lang, "enum"), 1)->valuestring,
                        "bash");
    assert_string_equal(cJSON_GetObjectItem(lang, "default")->valuestring, "python");
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(props, "timeout"),
                                    "maximum")->valuedouble == 120);
    cJSON *exec = cJSON_GetObjectItem(cJSON_GetArrayItem(tools, 0), "annotations");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(exec, "openWorldHint")));
    cJSON_Delete(tools);
    free(instr);

    /* A resident interpreter keeps variables; the network makes install
     * usable. */
    f.caps |= RUNBOX_CAP_INTERPRETER | RUNBOX_CAP_RICH_RESULTS;
    f.network = 1;
    tools = listed(&f, &instr);
    assert_non_null(strstr(description(tools, 0), "variables, imports and functions"));
    assert_null(strstr(description(tools, 0), "NOT variables"));
    assert_non_null(strstr(description(tools, 0), "image content"));
    assert_null(strstr(description(tools, 1), "refuses"));
    assert_non_null(strstr(instr, "install_package adds"));
    cJSON_Delete(tools);
    free(instr);

    /* No sessions at all. */
    f.caps = RUNBOX_CAP_INSTALL;
    tools = listed(&f, &instr);
    assert_non_null(strstr(description(tools, 0), "no sessions"));
    assert_non_null(strstr(instr, "no sessions"));
    cJSON_Delete(tools);
    free(instr);

    /* A backend that cannot open says why. */
    memset(&f, 0, sizeof f);
    strcpy(f.error, "cannot open the docker backend: daemon down");
    tools = listed(&f, &instr);
    assert_non_null(strstr(description(tools, 0), "daemon down"));
    assert_non_null(strstr(instr, "daemon down"));
    cJSON_Delete(tools);
    free(instr);
}

/* ------------------------------------------------------------------ */
/* The text a model reads                                              */
/* ------------------------------------------------------------------ */
static void set_output(runbox_output *o, char c, size_t n)
{
    o->data = malloc(n + 1);
    memset(o->data, c, n);
    o->data[n] = '\0';
    o->len = n;
    o->total = n;
}

static char *model_text(const runbox_result *r, size_t limit)
{
    mcp_text t = {0};
    mcp_text_for_model(&t, NULL, r, limit);
    assert_false(t.failed);
    assert_true(mcp_utf8_valid(t.data, t.len));
    return t.data;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && !strcmp(s + n - k, tail);
}

static void test_text_keeps_the_end(void **state)
{
    (void)state;
    /* print('y' * 200_000) then raise ValueError('the important error'). */
    runbox_result r;
    runbox_result_init(&r);
    set_output(&r.out, 'y', 200001);
    r.out.data[0] = 'H';          /* the first byte ... */
    r.out.data[200000] = 'T';     /* ... and the last are both shown */
    r.err.data = strdup("Traceback (most recent call last):\n  File \"<cell>\", "
                        "line 2, in <module>\nValueError: the important error\n");
    r.err.len = r.err.total = strlen(r.err.data);
    r.error_name = strdup("ValueError");
    r.error_value = strdup("the important error");
    r.traceback = strdup("Traceback (most recent call last):\n  File \"<cell>\", "
                         "line 2, in <module>\nValueError: the important error\n");
    r.verdict = RUNBOX_VERDICT_ERROR;
    r.exit_code = 1;
    char *text = model_text(&r, 20000);
    assert_true(strlen(text) <= 20000);
    assert_true(strlen(text) > 15000); /* the room is used */
    assert_non_null(strstr(text, "200001 bytes written"));
    assert_non_null(strstr(text, "bytes left out here"));
    assert_non_null(strstr(text, "\nHyyy"));
    assert_non_null(strstr(text, "yyyT\n"));
    assert_non_null(strstr(text, "--- error ---"));
    assert_non_null(strstr(text, "ValueError: the important error"));
    assert_non_null(strstr(text, "line 2, in <module>"));
    assert_true(ends_with(text, "--- exit code 1 ---\n--- verdict: error ---\n"));
    free(text);

    /* Both streams huge, a small limit (raised to the minimum): the end is
     * still whole. */
    free(r.err.data);
    set_output(&r.err, 'e', 500000);
    text = model_text(&r, 10);
    assert_true(strlen(text) <= MCP_MIN_TEXT);
    assert_non_null(strstr(text, "ValueError: the important error"));
    assert_non_null(strstr(text, "--- stderr: 500000 bytes written"));
    assert_true(ends_with(text, "--- verdict: error ---\n"));
    free(text);
    runbox_result_clear(&r);
}

static void test_text_exit_details(void **state)
{
    (void)state;
    runbox_result r;
    runbox_result_init(&r);
    r.verdict = RUNBOX_VERDICT_EXIT_NONZERO;
    r.exit_code = 3;
    char *text = model_text(&r, 20000);
    assert_string_equal(text, "--- exit code 3 ---\n--- verdict: exit_nonzero ---\n");
    free(text);
    r.verdict = RUNBOX_VERDICT_SIGNALED;
    r.exit_code = -1;
    r.signal = 11;
    text = model_text(&r, 20000);
    assert_non_null(strstr(text, "killed by signal 11 (SIGSEGV)"));
    assert_true(ends_with(text, "--- verdict: signaled ---\n"));
    free(text);

    /* A fine run that printed little: just the output. The main value of a
     * final expression shows as Out:. */
    runbox_result_clear(&r);
    r.out.data = strdup("42\n");
    r.out.len = r.out.total = 3;
    text = model_text(&r, 20000);
    assert_string_equal(text, "42\n");
    free(text);
    r.rich = calloc(1, sizeof *r.rich);
    r.rich_count = 1;
    r.rich[0].mime = strdup("text/plain");
    r.rich[0].data = strdup("{'a': 1}");
    r.rich[0].len = 8;
    r.rich[0].is_main = 1;
    text = model_text(&r, 20000);
    assert_string_equal(text, "42\nOut: {'a': 1}\n");
    free(text);
    runbox_result_clear(&r);
}

static void test_tools_call_routing(void **state)
{
    (void)state;
    mcp_protocol p;
    init_protocol(&p);
    char *reply = NULL;
    static const char *const invalid[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
        "{\"name\":\"no_such_tool\",\"arguments\":{}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
        "{\"name\":7}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
        "{\"name\":\"execute_code\",\"arguments\":[\"print(1)\"]}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
        "{\"name\":\"execute_code\",\"arguments\":{},\"_meta\":{"
        "\"progressToken\":{}}}}",
        NULL};
    for (int i = 0; invalid[i]; i++) {
        assert_int_equal(route(&p, invalid[i], &reply), MCP_ROUTE_DONE);
        assert_error_reply(reply, MCP_INVALID_PARAMS, "1");
        free(reply);
    }
    /* Argument contents are the tool's business (isError results). */
    assert_int_equal(route(&p, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
                               "\"tools/call\",\"params\":{\"name\":"
                               "\"execute_code\",\"arguments\":{}}}", &reply),
                     MCP_ROUTE_TOOL_CALL);
    assert_null(reply);
    assert_int_equal(route(&p, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":"
                               "\"tools/call\",\"params\":{\"name\":"
                               "\"get_environment\",\"_meta\":{"
                               "\"progressToken\":5}}}", &reply),
                     MCP_ROUTE_TOOL_CALL);
    assert_null(reply);
}

static void test_cancel_routing(void **state)
{
    (void)state;
    mcp_protocol p;
    init_protocol(&p);
    char *reply = NULL;
    assert_int_equal(route(&p, "{\"jsonrpc\":\"2.0\",\"method\":"
                               "\"notifications/cancelled\",\"params\":{"
                               "\"requestId\":3,\"reason\":\"x\"}}", &reply),
                     MCP_ROUTE_CANCEL);
    assert_int_equal(route(&p, "{\"jsonrpc\":\"2.0\",\"method\":"
                               "\"notifications/cancelled\",\"params\":{"
                               "\"requestId\":\"a\"}}", &reply),
                     MCP_ROUTE_CANCEL);
    /* Malformed cancellations are ignored, never answered. */
    assert_int_equal(route(&p, "{\"jsonrpc\":\"2.0\",\"method\":"
                               "\"notifications/cancelled\",\"params\":{"
                               "\"requestId\":[3]}}", &reply), MCP_ROUTE_DONE);
    assert_null(reply);
    assert_int_equal(route(&p, "{\"jsonrpc\":\"2.0\",\"method\":"
                               "\"notifications/cancelled\"}", &reply),
                     MCP_ROUTE_DONE);
    assert_null(reply);
}

/* ------------------------------------------------------------------ */
/* Line framing                                                        */
/* ------------------------------------------------------------------ */
/* A reader over a temporary file holding data. */
static void reader_over(mcp_line_reader *r, const void *data, size_t len,
                        size_t max)
{
    FILE *fp = tmpfile();
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fflush(fp);
    int fd = dup(fileno(fp));
    fclose(fp);
    assert_true(fd >= 0);
    lseek(fd, 0, SEEK_SET);
    mcp_line_init(r, fd, max);
}

/* The next event: a line (returned, caller frees) or a status. */
static char *next_line(mcp_line_reader *r, mcp_line_status *st)
{
    const char *line;
    size_t len;
    for (;;) {
        *st = mcp_line_next(r, &line, &len);
        if (*st == MCP_LINE_OK) {
            assert_int_equal(strlen(line), len);
            return strdup(line);
        }
        if (*st == MCP_LINE_TOO_LONG)
            return NULL;
        if (r->eof)
            return NULL;
        assert_true(mcp_line_fill(r) >= 0);
    }
}

static void reader_done(mcp_line_reader *r)
{
    close(r->fd);
    mcp_line_free(r);
}

static void expect_line(mcp_line_reader *r, const char *want)
{
    mcp_line_status st;
    char *got = next_line(r, &st);
    assert_int_equal(st, MCP_LINE_OK);
    assert_string_equal(got, want);
    free(got);
}

static void test_lines(void **state)
{
    (void)state;
    mcp_line_reader r;
    const char data[] = "one\ntwo\r\n\nlast";
    reader_over(&r, data, sizeof data - 1, 100);
    expect_line(&r, "one");
    expect_line(&r, "two");
    expect_line(&r, "");
    expect_line(&r, "last"); /* no newline before end of input */
    mcp_line_status st;
    assert_null(next_line(&r, &st));
    assert_int_equal(st, MCP_LINE_NONE);
    reader_done(&r);
}

static void test_long_line_dropped(void **state)
{
    (void)state;
    /* Small limit: the long line is reported once and the next one read. */
    size_t n = 5000;
    char *data = malloc(n + 32);
    memset(data, 'x', n);
    strcpy(data + n, "\nafter\n");
    mcp_line_reader r;
    reader_over(&r, data, strlen(data), 1024);
    mcp_line_status st;
    assert_null(next_line(&r, &st));
    assert_int_equal(st, MCP_LINE_TOO_LONG);
    expect_line(&r, "after");
    reader_done(&r);

    /* A line exactly at the limit is kept. */
    memset(data, 'y', 1024);
    strcpy(data + 1024, "\n");
    reader_over(&r, data, 1025, 1024);
    mcp_line_status st2;
    char *got = next_line(&r, &st2);
    assert_int_equal(st2, MCP_LINE_OK);
    assert_int_equal(strlen(got), 1024);
    free(got);
    reader_done(&r);
    free(data);
}

static void test_huge_line_bounded(void **state)
{
    (void)state;
    /* Over the real limit: rejected, and memory stays near the limit
     * instead of growing with the line. */
    size_t n = MCP_MAX_LINE + 3 * 65536 + 17;
    char *data = malloc(n + 64);
    memset(data, '[', n);
    strcpy(data + n, "\n{\"jsonrpc\":\"2.0\"}\n");
    mcp_line_reader r;
    reader_over(&r, data, strlen(data), MCP_MAX_LINE);
    free(data);
    mcp_line_status st;
    assert_null(next_line(&r, &st));
    assert_int_equal(st, MCP_LINE_TOO_LONG);
    assert_true(r.cap <= 2 * (size_t)MCP_MAX_LINE + 2 * 65536);
    expect_line(&r, "{\"jsonrpc\":\"2.0\"}");
    assert_null(next_line(&r, &st));
    assert_int_equal(st, MCP_LINE_NONE);
    reader_done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_damaged_strings),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_bad_envelope),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_builders),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_before_initialize),
        cmocka_unit_test(test_initialize),
        cmocka_unit_test(test_notifications_never_answered),
        cmocka_unit_test(test_unknown_methods),
        cmocka_unit_test(test_tools_list),
        cmocka_unit_test(test_descriptions_follow_backend),
        cmocka_unit_test(test_text_keeps_the_end),
        cmocka_unit_test(test_text_exit_details),
        cmocka_unit_test(test_tools_call_routing),
        cmocka_unit_test(test_cancel_routing),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_long_line_dropped),
        cmocka_unit_test(test_huge_line_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
