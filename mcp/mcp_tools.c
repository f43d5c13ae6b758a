/* The python_executor tools (see mcp.h and the descriptions in
 * mcp_schemas.c). Every outcome that concerns the call itself, from a
 * misspelt argument to a dead Docker daemon, is a tool result with
 * isError: the model reads it and can act, while protocol errors are for
 * broken clients. */
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

#define MCP_DEFAULT_SESSION "default"

/* {"content":[{"type":"text","text":...}],"isError":...} with an optional
 * structuredContent (consumed). The text is made valid UTF-8 and cut in
 * its middle to limit bytes. */
static cJSON *mcp_tool_result(const char *text, size_t len, size_t limit,
                              cJSON *structured, int is_error)
{
    mcp_text t = {0};
    mcp_text_trimmed(&t, text, len, limit);
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
    return mcp_tool_result(buf, strlen(buf), sizeof buf, NULL, 1);
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

static int mcp_is_image(const char *mime)
{
    return mime && (!strcmp(mime, "image/png") || !strcmp(mime, "image/jpeg") ||
                    !strcmp(mime, "image/svg+xml"));
}

/* Figures as MCP image content (base64 taken from the typed result's
 * copy), and SVG also as its markup for clients that take only PNG and
 * JPEG images. The lines naming the figures go into the text. */
static void mcp_add_figures(cJSON *content, mcp_text *t,
                            const runbox_result *r, const cJSON *structured,
                            size_t limit)
{
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(structured, "results");
    int n = 0;
    for (size_t i = 0; i < r->rich_count; i++) {
        const runbox_rich *x = &r->rich[i];
        if (!mcp_is_image(x->mime))
            continue;
        /* runbox_result_to_json keeps the order of r->rich. */
        const cJSON *typed = cJSON_GetArrayItem(results, (int)i);
        const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(typed, "base64");
        mcp_text_addf(t, "[figure %d: %s, %zu bytes, sent as image content]\n",
                      ++n, x->mime, x->len);
        /* Text-like values (SVG) are kept as text in the typed result. */
        char *own = NULL;
        if (!cJSON_IsString(b64)) {
            size_t n = sodium_base64_ENCODED_LEN(x->len, sodium_base64_VARIANT_ORIGINAL);
            own = malloc(n);
            if (own)
                sodium_bin2base64(own, n, (const unsigned char *)x->data, x->len,
                                  sodium_base64_VARIANT_ORIGINAL);
        }
        const char *data = own ? own : cJSON_IsString(b64) ? b64->valuestring : NULL;
        if (data) {
            cJSON *img = cJSON_CreateObject();
            cJSON_AddStringToObject(img, "type", "image");
            cJSON_AddStringToObject(img, "data", data);
            cJSON_AddStringToObject(img, "mimeType", x->mime);
            cJSON_AddItemToArray(content, img);
        }
        free(own);
        if (!strcmp(x->mime, "image/svg+xml")) {
            mcp_text svg = {0};
            mcp_text_addf(&svg, "SVG source of figure %d:\n", n);
            mcp_text_trimmed(&svg, x->data, x->len, limit / 2);
            cJSON *txt = cJSON_CreateObject();
            cJSON_AddStringToObject(txt, "type", "text");
            cJSON_AddStringToObject(txt, "text", svg.data ? svg.data : "");
            cJSON_AddItemToArray(content, txt);
            free(svg.data);
        }
    }
}

static cJSON *mcp_run_result(const mcp_tool_env *env, const char *preface,
                             const runbox_result *r)
{
    size_t limit = mcp_runtime_text_limit(env->rt);
    cJSON *structured = mcp_result_json(r);
    mcp_text t = {0};
    mcp_text_for_model(&t, preface, r, limit);
    cJSON *res = t.failed || !structured
                     ? NULL
                     : mcp_tool_result(t.data, t.len, limit + 1024,
                                       cJSON_Duplicate(structured, 1),
                                       !r->success);
    free(t.data);
    cJSON *content = cJSON_GetObjectItemCaseSensitive(res, "content");
    if (content && r->rich_count) {
        mcp_text figures = {0};
        cJSON *extra = cJSON_CreateArray();
        mcp_add_figures(extra, &figures, r, structured, limit);
        if (figures.len) {
            /* The figure lines join the text, before the images. */
            cJSON *first = cJSON_GetArrayItem(content, 0);
            cJSON *text = cJSON_GetObjectItemCaseSensitive(first, "text");
            mcp_text joined = {0};
            mcp_text_add(&joined, figures.data, figures.len);
            mcp_text_add(&joined, text->valuestring, strlen(text->valuestring));
            if (!joined.failed)
                cJSON_SetValuestring(text, joined.data);
            free(joined.data);
        }
        cJSON *it;
        while ((it = cJSON_DetachItemFromArray(extra, 0)))
            cJSON_AddItemToArray(content, it);
        cJSON_Delete(extra);
        free(figures.data);
    }
    cJSON_Delete(structured);
    return res;
}

/* Where a call runs: a locked session when it names one, else the context
 * (a fresh sandbox per call). */
typedef struct mcp_target {
    mcp_session_ref *ref;
    runbox_context *ctx;
    runbox_session *session;
    const char *note; /* why a known session name starts afresh, or "" */
} mcp_target;

static int mcp_target_open(const mcp_tool_env *env, const char *session,
                           mcp_target *t, char *why, size_t size)
{
    memset(t, 0, sizeof *t);
    t->note = "";
    if (!session)
        return mcp_runtime_context(env->rt, &t->ctx, why, size);
    int rc = mcp_runtime_session_acquire(env->rt, env->owner, session,
                                         env->cancel, &t->ref, &t->note, why,
                                         size);
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

#define MCP_NUL_REFUSAL                                                      \
    "%s: the request holds a NUL character (\\u0000) in a string, which "    \
    "cannot be passed on (the text would be cut there). Remove it; to "      \
    "produce a NUL byte, write it as an escape in the code itself (\"\\\\x00\" " \
    "or chr(0) in Python)."

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
    if (env->has_nul)
        return mcp_tool_fail(MCP_NUL_REFUSAL, "execute_code");
    mcp_facts f;
    mcp_runtime_facts(env->rt, &f);
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(args, "timeout");
    if (timeout && (!cJSON_IsNumber(timeout) || !isfinite(timeout->valuedouble) ||
                    timeout->valuedouble <= 0))
        return mcp_tool_fail("execute_code: argument 'timeout' must be a "
                             "number of seconds greater than 0");
    if (timeout && f.available && timeout->valuedouble > f.max_timeout)
        return mcp_tool_fail("execute_code: timeout %g s is over this server's "
                             "maximum of %g s (setting max_timeout); ask for "
                             "less, or split the work into shorter calls",
                             timeout->valuedouble, f.max_timeout);

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
    const char *preface = rc == RUNBOX_EGONE ? MCP_GONE_NOTE : t.note;
    cJSON *res = mcp_run_result(env, *preface ? preface : NULL, &r);
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
    if (env->has_nul)
        return mcp_tool_fail(MCP_NUL_REFUSAL, "install_package");
    if (runbox_package_spec_check(spec))
        return mcp_tool_fail("install_package: %s", runbox_error_last());
    /* Without the network pip can only fail, slowly (retries): say so at
     * once, whatever the backend. */
    mcp_facts f;
    mcp_runtime_facts(env->rt, &f);
    if (f.available && !(f.caps & RUNBOX_CAP_INSTALL))
        return mcp_tool_fail("install_package: the %s backend cannot install "
                             "packages", f.backend);
    if (f.available && !f.network)
        return mcp_tool_fail("install_package: %s was not installed: the "
                             "sandboxes of this server (%s backend) have no "
                             "network, so pip could download nothing. To "
                             "install packages, set network = on (runbox.ini "
                             "[runbox] or [%s], or RUNBOX_NETWORK=on) and "
                             "restart the server.", spec, f.backend, f.backend);
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
    char preface[1024];
    if (sessionless)
        snprintf(preface, sizeof preface, "This backend has no sessions: %s was "
                 "installed in a fresh sandbox, which only persists where the "
                 "backend keeps a package directory.\n", spec);
    else if (r.success)
        snprintf(preface, sizeof preface, "%sInstalled %s into session \"%s\"; "
                 "pass \"session\": \"%s\" to execute_code to use it.\n",
                 t.note, spec, session, session);
    else
        snprintf(preface, sizeof preface, "%sInstalling %s into session \"%s\" "
                 "failed.\n%s", t.note, spec, session,
                 rc == RUNBOX_EGONE ? MCP_GONE_NOTE : "");
    cJSON *res = mcp_run_result(env, preface, &r);
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
    cJSON *res = text ? mcp_tool_result(text, strlen(text),
                                        mcp_runtime_text_limit(env->rt), o, 0)
                      : NULL;
    if (!text)
        cJSON_Delete(o);
    free(text);
    return res;
}

static cJSON *mcp_close_session(const mcp_tool_env *env, const cJSON *args)
{
    static const char *const allowed[] = {"session", NULL};
    char why[512];
    const char *session;
    if (!mcp_args_known(args, allowed, why, sizeof why) ||
        !mcp_arg_string(args, "session", 1, &session, why, sizeof why))
        return mcp_tool_fail("close_session: %s", why);
    int rc = mcp_runtime_session_close(env->rt, env->owner, session,
                                       env->cancel, why, sizeof why);
    if (rc && rc != RUNBOX_ENOTFOUND)
        return mcp_tool_fail("close_session: %s", why);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "session", session);
    cJSON_AddBoolToObject(o, "closed", rc == RUNBOX_OK);
    char text[256];
    if (rc == RUNBOX_OK)
        snprintf(text, sizeof text, "Closed session \"%s\": its sandbox is "
                 "gone; the name starts a fresh one when used again.\n", session);
    else
        snprintf(text, sizeof text, "No session named \"%s\" was open; nothing "
                 "to close.\n", session);
    return mcp_tool_result(text, strlen(text), sizeof text, o, 0);
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
    if (!strcmp(name, "close_session"))
        return mcp_close_session(env, arguments);
    return mcp_tool_fail("unknown tool %s", name);
}
