/* The python_executor tools (see mcp.h and the descriptions in
 * mcp_schemas.c). Every outcome that concerns the call itself, from a
 * misspelt argument to a dead Docker daemon, is a tool result with
 * isError: the model reads it and can act, while protocol errors are for
 * broken clients. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

#define MCP_DEFAULT_SESSION "default"

/* A growable text buffer; on allocation failure it stays NULL. */
typedef struct mcp_text {
    char *data;
    size_t len, cap;
    int failed;
} mcp_text;

static void mcp_text_add(mcp_text *t, const char *s, size_t n)
{
    if (t->failed || n == 0)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->data, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->data = p;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void mcp_text_addf(mcp_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void mcp_text_addf(mcp_text *t, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        mcp_text_add(t, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Copies s with every invalid UTF-8 sequence and every NUL replaced by
 * U+FFFD, so that it can travel as a JSON string. */
static void mcp_text_add_utf8(mcp_text *t, const char *s, size_t n)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && (unsigned char)s[run] < 0x80 && s[run] != '\0')
            run++;
        mcp_text_add(t, s + i, run - i);
        i = run;
        if (i >= n)
            break;
        size_t len = (unsigned char)s[i] >= 0xF0 ? 4
                     : (unsigned char)s[i] >= 0xE0 ? 3 : 2;
        if (s[i] != '\0' && i + len <= n && mcp_utf8_valid(s + i, len)) {
            mcp_text_add(t, s + i, len);
            i += len;
        } else {
            mcp_text_add(t, replacement, 3);
            i++;
        }
    }
}

/* Makes every string in the tree valid UTF-8: sandbox output is
 * untrusted, and one bad byte would make the whole response invalid. */
static void mcp_json_repair_strings(cJSON *node)
{
    for (; node; node = node->next) {
        if (cJSON_IsString(node) && node->valuestring &&
            !mcp_utf8_valid(node->valuestring, strlen(node->valuestring))) {
            mcp_text t = {0};
            mcp_text_add_utf8(&t, node->valuestring, strlen(node->valuestring));
            if (t.data)
                cJSON_SetValuestring(node, t.data);
            free(t.data);
        }
        if (node->string && !mcp_utf8_valid(node->string, strlen(node->string))) {
            mcp_text t = {0};
            mcp_text_add_utf8(&t, node->string, strlen(node->string));
            if (t.data && !(node->type & cJSON_StringIsConst)) {
                free(node->string);
                node->string = t.data;
                t.data = NULL;
            }
            free(t.data);
        }
        mcp_json_repair_strings(node->child);
    }
}

/* {"content":[{"type":"text","text":...}],"isError":...} with an optional
 * structuredContent (consumed). The text is made valid UTF-8 and cut at
 * MCP_MAX_TEXT, saying so. */
static cJSON *mcp_tool_result(const char *text, size_t len, cJSON *structured,
                              int is_error)
{
    mcp_text t = {0};
    mcp_text_add_utf8(&t, text, len);
    if (!t.failed && t.len > MCP_MAX_TEXT) {
        size_t keep = mcp_utf8_prefix(t.data, t.len, MCP_MAX_TEXT);
        size_t total = t.len;
        t.len = keep;
        mcp_text_addf(&t, "\n[text cut at %zu of %zu bytes%s]\n", keep, total,
                      structured ? "; structuredContent holds the rest up to "
                                   "the output limit" : "");
    }
    cJSON *r = cJSON_CreateObject();
    cJSON *content = cJSON_AddArrayToObject(r, "content");
    cJSON *item = cJSON_CreateObject();
    if (!r || !content || !item || t.failed) {
        cJSON_Delete(item);
        cJSON_Delete(r);
        cJSON_Delete(structured);
        free(t.data);
        return NULL;
    }
    cJSON_AddStringToObject(item, "type", "text");
    cJSON_AddStringToObject(item, "text", t.data ? t.data : "");
    cJSON_AddItemToArray(content, item);
    free(t.data);
    if (structured) {
        mcp_json_repair_strings(structured);
        cJSON_AddItemToObject(r, "structuredContent", structured);
    }
    cJSON_AddBoolToObject(r, "isError", is_error);
    return r;
}

static cJSON *mcp_tool_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static cJSON *mcp_tool_fail(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return mcp_tool_result(buf, strlen(buf), NULL, 1);
}

/* ------------------------------------------------------------------ */
/* Arguments                                                           */
/* ------------------------------------------------------------------ */
/* Checks that args holds only the names in allowed (NULL-terminated);
 * writes the complaint into why. */
static int mcp_args_known(const cJSON *args, const char *const *allowed,
                          char *why, size_t size)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, args) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], a->string))
            i++;
        if (!allowed[i]) {
            snprintf(why, size, "unknown argument '%.60s' (this tool takes:",
                     a->string);
            for (i = 0; allowed[i]; i++) {
                strncat(why, " ", size - strlen(why) - 1);
                strncat(why, allowed[i], size - strlen(why) - 1);
            }
            strncat(why, ")", size - strlen(why) - 1);
            return 0;
        }
    }
    return 1;
}

/* A string argument: *out borrowed, NULL when absent and optional. */
static int mcp_arg_string(const cJSON *args, const char *name, int required,
                          const char **out, char *why, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
    *out = NULL;
    if (!v && !required)
        return 1;
    if (!cJSON_IsString(v)) {
        snprintf(why, size, v ? "argument '%s' must be a string"
                              : "missing required argument '%s' (a string)", name);
        return 0;
    }
    *out = v->valuestring;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Results                                                             */
/* ------------------------------------------------------------------ */
/* The typed result as a cJSON tree (structuredContent). */
static cJSON *mcp_result_json(const runbox_result *r)
{
    char *json = NULL;
    if (runbox_result_to_json(&json, r))
        return NULL;
    cJSON *o = cJSON_Parse(json);
    free(json);
    return o;
}

static void mcp_text_stream(mcp_text *t, const char *label,
                            const runbox_output *o)
{
    if (o->len == 0)
        return;
    if (t->len && t->data[t->len - 1] != '\n')
        mcp_text_add(t, "\n", 1);
    if (label)
        mcp_text_addf(t, "--- %s ---\n", label);
    mcp_text_add(t, o->data, o->len);
    if (o->truncated)
        mcp_text_addf(t, "\n[%s truncated by the output limit: %zu of %llu "
                      "bytes kept]\n", label ? label : "stdout", o->len,
                      (unsigned long long)o->total);
}

/* The text a model reads: stdout, then stderr, then the error, then the
 * verdict when the run did not simply succeed. */
static void mcp_text_result(mcp_text *t, const runbox_result *r)
{
    mcp_text_stream(t, NULL, &r->out);
    mcp_text_stream(t, "stderr", &r->err);
    if (t->len && t->data[t->len - 1] != '\n')
        mcp_text_add(t, "\n", 1);
    if (r->error_name) {
        /* Python prints the traceback to stderr already on most backends. */
        if (r->traceback && *r->traceback &&
            !(r->err.data && strstr(r->err.data, r->traceback)))
            mcp_text_addf(t, "--- traceback ---\n%s%s", r->traceback,
                          r->traceback[strlen(r->traceback) - 1] == '\n' ? "" : "\n");
        mcp_text_addf(t, "--- error ---\n%s: %s\n", r->error_name,
                      r->error_value ? r->error_value : "");
    }
    if (r->verdict != RUNBOX_VERDICT_OK)
        mcp_text_addf(t, "--- verdict: %s%s%s ---\n", runbox_verdict_name(r->verdict),
                      r->message[0] ? ": " : "", r->message);
    if (t->len == 0)
        mcp_text_add(t, "(no output)\n", 12);
}

static cJSON *mcp_run_result(const char *preface, const runbox_result *r)
{
    mcp_text t = {0};
    if (preface)
        mcp_text_add(&t, preface, strlen(preface));
    mcp_text_result(&t, r);
    cJSON *structured = mcp_result_json(r);
    cJSON *res = t.failed || !structured
                     ? NULL
                     : mcp_tool_result(t.data, t.len, structured, !r->success);
    if (!res)
        cJSON_Delete(structured);
    free(t.data);
    return res;
}

/* Where a call runs: a locked session when it names one, else the context
 * (a fresh sandbox per call). */
typedef struct mcp_target {
    mcp_session_ref *ref;
    runbox_context *ctx;
    runbox_session *session;
} mcp_target;

static int mcp_target_open(const mcp_tool_env *env, const char *session,
                           mcp_target *t, char *why, size_t size)
{
    memset(t, 0, sizeof *t);
    if (!session)
        return mcp_runtime_context(env->rt, &t->ctx, why, size);
    int rc = mcp_runtime_session_acquire(env->rt, session, env->cancel, &t->ref,
                                         why, size);
    if (!rc)
        t->session = mcp_session_ref_session(t->ref);
    return rc;
}

/* Unlocks the session. One whose sandbox died (an OOM-killed container,
 * an expired VM) is replaced on its next use instead of failing forever. */
static void mcp_target_close(const mcp_tool_env *env, mcp_target *t, int rc)
{
    mcp_runtime_session_release(env->rt, t->ref, rc == RUNBOX_EGONE);
}

#define MCP_GONE_NOTE "[the session's sandbox is gone; the next call with " \
                      "this session starts a fresh one]\n"

/* ------------------------------------------------------------------ */
/* Tools                                                               */
/* ------------------------------------------------------------------ */
static cJSON *mcp_execute_code(const mcp_tool_env *env, const cJSON *args)
{
    static const char *const allowed[] = {"code", "timeout", "language",
                                          "session", NULL};
    char why[512];
    const char *code, *language, *session;
    if (!mcp_args_known(args, allowed, why, sizeof why) ||
        !mcp_arg_string(args, "code", 1, &code, why, sizeof why) ||
        !mcp_arg_string(args, "language", 0, &language, why, sizeof why) ||
        !mcp_arg_string(args, "session", 0, &session, why, sizeof why))
        return mcp_tool_fail("execute_code: %s", why);
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(args, "timeout");
    if (timeout && (!cJSON_IsNumber(timeout) || !isfinite(timeout->valuedouble) ||
                    timeout->valuedouble <= 0))
        return mcp_tool_fail("execute_code: argument 'timeout' must be a "
                             "number of seconds greater than 0");

    runbox_exec_options opt = {0};
    opt.code = code;
    opt.code_len = strlen(code);
    opt.language = language;
    opt.timeout = timeout ? timeout->valuedouble : 0;
    opt.on_output = env->on_output;
    opt.userdata = env->userdata;
    opt.cancel = env->cancel;

    mcp_target t;
    int rc = mcp_target_open(env, session, &t, why, sizeof why);
    if (rc)
        return mcp_tool_fail("%s", why);
    runbox_result r;
    runbox_result_init(&r);
    rc = t.session ? runbox_session_execute(t.session, &opt, &r)
                   : runbox_execute(t.ctx, &opt, &r);
    mcp_target_close(env, &t, rc);
    const char *preface = rc == RUNBOX_EGONE ? MCP_GONE_NOTE : NULL;
    cJSON *res = mcp_run_result(preface, &r);
    runbox_result_clear(&r);
    return res;
}

static cJSON *mcp_install_package(const mcp_tool_env *env, const cJSON *args)
{
    static const char *const allowed[] = {"package", "session", NULL};
    char why[512];
    const char *spec, *session;
    if (!mcp_args_known(args, allowed, why, sizeof why) ||
        !mcp_arg_string(args, "package", 1, &spec, why, sizeof why) ||
        !mcp_arg_string(args, "session", 0, &session, why, sizeof why))
        return mcp_tool_fail("install_package: %s", why);
    if (runbox_package_spec_check(spec))
        return mcp_tool_fail("install_package: %s", runbox_error_last());
    if (!session)
        session = MCP_DEFAULT_SESSION;

    mcp_target t;
    int rc = mcp_target_open(env, session, &t, why, sizeof why);
    /* A backend without sessions installs into a fresh sandbox: useful
     * only where it keeps a package directory for every later run. */
    int sessionless = rc == RUNBOX_EUNSUPPORTED;
    if (sessionless)
        rc = mcp_target_open(env, NULL, &t, why, sizeof why);
    if (rc)
        return mcp_tool_fail("%s", why);
    runbox_exec_options opt = {0};
    opt.on_output = env->on_output;
    opt.userdata = env->userdata;
    opt.cancel = env->cancel;
    runbox_result r;
    runbox_result_init(&r);
    rc = t.session ? runbox_session_install_opt(t.session, spec, &opt, &r)
                   : runbox_install_package_opt(t.ctx, spec, &opt, &r);
    mcp_target_close(env, &t, rc);
    char preface[512];
    if (sessionless)
        snprintf(preface, sizeof preface, "This backend has no sessions: %s was "
                 "installed in a fresh sandbox, which only persists where the "
                 "backend keeps a package directory.\n", spec);
    else if (r.success)
        snprintf(preface, sizeof preface, "Installed %s into session \"%s\"; "
                 "pass \"session\": \"%s\" to execute_code to use it.\n",
                 spec, session, session);
    else
        snprintf(preface, sizeof preface, "Installing %s into session \"%s\" "
                 "failed.\n%s", spec, session, rc == RUNBOX_EGONE ? MCP_GONE_NOTE : "");
    cJSON *res = mcp_run_result(preface, &r);
    runbox_result_clear(&r);
    return res;
}

static cJSON *mcp_get_environment(const mcp_tool_env *env, const cJSON *args)
{
    static const char *const allowed[] = {"session", NULL};
    char why[512];
    const char *session;
    if (!mcp_args_known(args, allowed, why, sizeof why) ||
        !mcp_arg_string(args, "session", 0, &session, why, sizeof why))
        return mcp_tool_fail("get_environment: %s", why);
    mcp_target t;
    int rc = mcp_target_open(env, session, &t, why, sizeof why);
    if (rc)
        return mcp_tool_fail("%s", why);
    char *json = NULL;
    rc = t.session ? runbox_session_environment(t.session, &json)
                   : runbox_get_environment(t.ctx, &json);
    mcp_target_close(env, &t, rc);
    if (rc) {
        free(json);
        const char *msg = runbox_error_last();
        return mcp_tool_fail("get_environment failed: %s",
                             *msg ? msg : runbox_strerror(rc));
    }
    cJSON *o = cJSON_Parse(json);
    free(json);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return mcp_tool_fail("get_environment: the backend's answer is not a "
                             "JSON object");
    }
    mcp_json_repair_strings(o);
    char *text = cJSON_PrintUnformatted(o);
    cJSON *res = text ? mcp_tool_result(text, strlen(text), o, 0) : NULL;
    if (!text)
        cJSON_Delete(o);
    free(text);
    return res;
}

cJSON *mcp_tools_call(const mcp_tool_env *env, const char *name,
                      const cJSON *arguments)
{
    if (!strcmp(name, "execute_code"))
        return mcp_execute_code(env, arguments);
    if (!strcmp(name, "install_package"))
        return mcp_install_package(env, arguments);
    if (!strcmp(name, "get_environment"))
        return mcp_get_environment(env, arguments);
    return mcp_tool_fail("unknown tool %s", name);
}
