/* The one JSON form of a result (cJSON), used by `runbox run --json`, the
 * MCP server and `runbox compare`. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *rb_limit_names[] = {"wall", "cpu", "memory", "processes",
                                       "file_size", "open_files", "output",
                                       "network"};

static int rb_add_output(cJSON *o, const char *name, const runbox_output *out)
{
    int lossy = 0;
    char *text = rb_utf8_repair(out->data ? out->data : "", out->len, &lossy);
    if (!text)
        return RUNBOX_ENOMEM;
    cJSON_AddStringToObject(o, name, text);
    free(text);
    char key[64];
    if (lossy) {
        char *b64 = rb_base64_encode(out->data, out->len);
        if (!b64)
            return RUNBOX_ENOMEM;
        snprintf(key, sizeof key, "%s_base64", name);
        cJSON_AddStringToObject(o, key, b64);
        free(b64);
    }
    snprintf(key, sizeof key, "%s_truncated", name);
    cJSON_AddBoolToObject(o, key, out->truncated);
    snprintf(key, sizeof key, "%s_bytes", name);
    cJSON_AddNumberToObject(o, key, (double)out->total);
    return RUNBOX_OK;
}

cJSON *rb_limits_json(const runbox_limits *l, uint32_t applied);
cJSON *rb_limits_json(const runbox_limits *l, uint32_t applied)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "timeout", l->wall_seconds);
    cJSON_AddNumberToObject(o, "cpu_time", l->cpu_seconds);
    cJSON_AddNumberToObject(o, "memory", (double)l->memory_bytes);
    cJSON_AddNumberToObject(o, "processes", l->processes);
    cJSON_AddNumberToObject(o, "file_size", (double)l->file_bytes);
    cJSON_AddNumberToObject(o, "open_files", l->open_files);
    cJSON_AddNumberToObject(o, "output_limit", (double)l->output_bytes);
    cJSON_AddBoolToObject(o, "network", l->network);
    cJSON *a = cJSON_AddArrayToObject(o, "applied");
    for (unsigned i = 0; i < 8; i++)
        if (applied & (1u << i))
            cJSON_AddItemToArray(a, cJSON_CreateString(rb_limit_names[i]));
    return o;
}

RUNBOX_API int runbox_result_to_json(char **json, const runbox_result *r)
{
    if (!json || !r)
        return rb_fail(RUNBOX_EINVAL, "runbox_result_to_json: NULL argument");
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    cJSON_AddBoolToObject(o, "success", r->success);
    cJSON_AddStringToObject(o, "verdict", runbox_verdict_name(r->verdict));
    cJSON_AddNumberToObject(o, "exit_code", r->exit_code);
    cJSON_AddNumberToObject(o, "signal", r->signal);
    int rc = rb_add_output(o, "stdout", &r->out);
    if (!rc)
        rc = rb_add_output(o, "stderr", &r->err);
    if (r->error_name) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "name", r->error_name);
        cJSON_AddStringToObject(e, "value", r->error_value ? r->error_value : "");
        cJSON_AddStringToObject(e, "traceback", r->traceback ? r->traceback : "");
    } else {
        cJSON_AddNullToObject(o, "error");
    }
    cJSON *rich = cJSON_AddArrayToObject(o, "results");
    for (size_t i = 0; !rc && i < r->rich_count; i++) {
        const runbox_rich *x = &r->rich[i];
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "mime", x->mime);
        int lossy = 0;
        char *text = NULL;
        /* Text types travel as text; anything else (images) as base64. */
        if (!strncmp(x->mime, "text/", 5) || strstr(x->mime, "json") ||
            strstr(x->mime, "svg") || strstr(x->mime, "javascript"))
            text = rb_utf8_repair(x->data, x->len, &lossy);
        if (text && !lossy) {
            cJSON_AddStringToObject(item, "text", text);
        } else {
            char *b64 = rb_base64_encode(x->data, x->len);
            if (b64)
                cJSON_AddStringToObject(item, "base64", b64);
            free(b64);
        }
        free(text);
        cJSON_AddBoolToObject(item, "main", x->is_main);
        cJSON_AddItemToArray(rich, item);
    }
    cJSON_AddNumberToObject(o, "execution_count", r->execution_count);
    cJSON_AddNumberToObject(o, "state_epoch", (double)r->state_epoch);
    cJSON_AddNumberToObject(o, "wall_time", r->wall_seconds);
    cJSON_AddNumberToObject(o, "cpu_time", r->cpu_seconds);
    cJSON_AddStringToObject(o, "backend", r->backend);
    cJSON_AddItemToObject(o, "limits", rb_limits_json(&r->limits, r->limits_applied));
    cJSON_AddStringToObject(o, "isolation", r->isolation);
    cJSON_AddStringToObject(o, "message", r->message);
    *json = rc ? NULL : cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (rc || !*json)
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    return RUNBOX_OK;
}

static const char *rb_jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double rb_jnum(const cJSON *o, const char *k, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* A number that must fit the C type it is stored in: converting an
 * out-of-range double is undefined behaviour, and such a value cannot have
 * come from runbox_result_to_json. [lo, hi) bounds; *bad names the first
 * key out of range, and def is used in its place. */
#define RB_INT_RANGE -2147483648.0, 2147483648.0
#define RB_U32_RANGE 0.0, 4294967296.0
#define RB_U64_RANGE 0.0, 18446744073709551616.0
static double rb_jnum_in(const cJSON *o, const char *k, double def,
                         double lo, double hi, const char **bad)
{
    double v = rb_jnum(o, k, def);
    if (v >= lo && v < hi)
        return v;
    if (!*bad)
        *bad = k;
    return def;
}

static int rb_jbool(const cJSON *o, const char *k)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static int rb_read_output(const cJSON *o, const char *name, runbox_output *out,
                          const char **bad)
{
    char key[64];
    snprintf(key, sizeof key, "%s_base64", name);
    const char *b64 = rb_jstr(o, key), *text = rb_jstr(o, name);
    if (b64) {
        void *data;
        size_t len;
        if (rb_base64_decode(b64, &data, &len))
            return RUNBOX_EPROTO;
        out->data = data;
        out->len = len;
    } else if (text) {
        out->data = strdup(text);
        out->len = strlen(text);
        if (!out->data)
            return RUNBOX_ENOMEM;
    } else {
        return RUNBOX_EPROTO;
    }
    snprintf(key, sizeof key, "%s_truncated", name);
    out->truncated = rb_jbool(o, key);
    snprintf(key, sizeof key, "%s_bytes", name);
    out->total = (uint64_t)rb_jnum_in(o, key, (double)out->len, RB_U64_RANGE, bad);
    return RUNBOX_OK;
}

RUNBOX_API int runbox_result_from_json(runbox_result *r, const char *json)
{
    if (!r || !json)
        return rb_fail(RUNBOX_EINVAL, "runbox_result_from_json: NULL argument");
    runbox_result_clear(r);
    cJSON *o = cJSON_Parse(json);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return rb_fail(RUNBOX_EPROTO, "result JSON is not an object");
    }
    int rc = RUNBOX_OK;
    const char *bad = NULL; /* a number out of its type's range */
    if (runbox_verdict_parse(&r->verdict, rb_jstr(o, "verdict")))
        rc = rb_fail(RUNBOX_EPROTO, "result JSON has no valid verdict");
    r->success = rb_jbool(o, "success");
    r->exit_code = (int)rb_jnum_in(o, "exit_code", -1, RB_INT_RANGE, &bad);
    r->signal = (int)rb_jnum_in(o, "signal", 0, RB_INT_RANGE, &bad);
    if (!rc && (rb_read_output(o, "stdout", &r->out, &bad) ||
                rb_read_output(o, "stderr", &r->err, &bad)))
        rc = rb_fail(RUNBOX_EPROTO, "result JSON has a bad stdout or stderr");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (!rc && cJSON_IsObject(e))
        rb_result_set_exception(r, rb_jstr(e, "name"), rb_jstr(e, "value"),
                                rb_jstr(e, "traceback"));
    const cJSON *rich = cJSON_GetObjectItemCaseSensitive(o, "results"), *it;
    cJSON_ArrayForEach(it, rich) {
        if (rc)
            break;
        const char *text = rb_jstr(it, "text"), *b64 = rb_jstr(it, "base64");
        void *data = NULL;
        size_t len = 0;
        if (text) {
            data = strdup(text);
            len = strlen(text);
        } else if (!b64 || rb_base64_decode(b64, &data, &len)) {
            rc = rb_fail(RUNBOX_EPROTO, "result JSON has a bad rich value");
            break;
        }
        if (data)
            rb_result_add_rich(r, rb_jstr(it, "mime"), data, len,
                               rb_jbool(it, "main"));
        free(data);
    }
    r->execution_count = (int)rb_jnum_in(o, "execution_count", 0, RB_INT_RANGE, &bad);
    r->state_epoch = (uint64_t)rb_jnum_in(o, "state_epoch", 0, RB_U64_RANGE, &bad);
    r->wall_seconds = rb_jnum(o, "wall_time", 0);
    r->cpu_seconds = rb_jnum(o, "cpu_time", -1);
    const char *s = rb_jstr(o, "backend");
    snprintf(r->backend, sizeof r->backend, "%s", s ? s : "");
    s = rb_jstr(o, "isolation");
    snprintf(r->isolation, sizeof r->isolation, "%s", s ? s : "");
    s = rb_jstr(o, "message");
    snprintf(r->message, sizeof r->message, "%s", s ? s : "");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "limits");
    if (cJSON_IsObject(l)) {
        r->limits.wall_seconds = rb_jnum(l, "timeout", 0);
        r->limits.cpu_seconds = rb_jnum(l, "cpu_time", 0);
        r->limits.memory_bytes = (uint64_t)rb_jnum_in(l, "memory", 0, RB_U64_RANGE, &bad);
        r->limits.processes = (uint32_t)rb_jnum_in(l, "processes", 0, RB_U32_RANGE, &bad);
        r->limits.file_bytes = (uint64_t)rb_jnum_in(l, "file_size", 0, RB_U64_RANGE, &bad);
        r->limits.open_files = (uint32_t)rb_jnum_in(l, "open_files", 0, RB_U32_RANGE, &bad);
        r->limits.output_bytes = (uint64_t)rb_jnum_in(l, "output_limit", 0, RB_U64_RANGE, &bad);
        r->limits.network = rb_jbool(l, "network");
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(l, "applied"))
            for (unsigned i = 0; i < 8; i++)
                if (cJSON_IsString(a) && !strcmp(a->valuestring, rb_limit_names[i]))
                    r->limits_applied |= 1u << i;
    }
    cJSON_Delete(o);
    if (!rc && bad)
        rc = rb_fail(RUNBOX_EPROTO, "result JSON has \"%s\" out of range",
                     bad);
    if (rc)
        runbox_result_clear(r);
    return rc;
}
