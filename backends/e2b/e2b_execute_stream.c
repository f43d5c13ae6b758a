/*
 * e2b_execute_stream.c — POST /execute on the code interpreter and its
 * newline-delimited JSON answer, parsed as it arrives.
 *
 * Chunk boundaries are arbitrary, so bytes are collected until a '\n' and
 * each complete line is handled at once: stdout/stderr reach the caller
 * while the code is still running. The real server always ends with an
 * end_of_execution line; a body that ends without one was cut off (the
 * connection dropped, the proxy gave up) and is reported as EPROTO rather
 * than passed off as a complete run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "e2b_internal.h"

/* Bounds one line (a large base64 image fits easily) so that a server that
 * never sends '\n' cannot exhaust memory. */
#define E2B_MAX_LINE (256u * 1024 * 1024)

typedef struct e2b_ndjson {
    e2b_sandbox *sb;
    const runbox_exec_request *req;
    runbox_exec_outcome *out;
    e2b_buf line;
    e2b_buf prepared; /* the line as given to cJSON */
    int ended;        /* end_of_execution seen */
    int raised;       /* an error line seen */
    int kernel_died;  /* the interpreter said it died (DeadKernelError) */
    int failed;       /* a runbox status when a line could not be handled */
    char why[200];    /* what was wrong with the stream */
} e2b_ndjson;

/* The code interpreter's short keys and the MIME types they stand for;
 * binary formats arrive base64-encoded. */
static const struct {
    const char *key;
    const char *mime;
    int base64;
} e2b_rich_keys[] = {
    {"text", "text/plain", 0},
    {"html", "text/html", 0},
    {"markdown", "text/markdown", 0},
    {"svg", "image/svg+xml", 0},
    {"png", "image/png", 1},
    {"jpeg", "image/jpeg", 1},
    {"pdf", "application/pdf", 1},
    {"latex", "text/latex", 0},
    {"javascript", "application/javascript", 0},
    {"json", "application/json", 0},
    {"data", "e2b/data", 0},
    {"chart", "e2b/chart", 0},
};

static int e2b_ndjson_bad(e2b_ndjson *p, const char *what, const char *line,
                          size_t len)
{
    snprintf(p->why, sizeof(p->why), "%s: %.*s%s", what,
             (int)(len > 80 ? 80 : len), line, len > 80 ? "..." : "");
    for (char *c = p->why; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';
    p->failed = RUNBOX_EPROTO;
    return -1;
}

static int e2b_ndjson_oom(e2b_ndjson *p)
{
    p->failed = RUNBOX_ENOMEM;
    snprintf(p->why, sizeof(p->why), "out of memory");
    return -1;
}

/* One rich value: decoded when binary, serialised when an object. Strings
 * keep every byte (a NUL included); see e2b_json_text.c. */
static int e2b_rich_add(e2b_ndjson *p, const char *mime, const cJSON *v,
                        int base64, int is_main)
{
    const runbox_host *host = p->sb->st->host;
    char *data = NULL, *text = NULL;
    size_t len = 0;
    int rc = RUNBOX_OK;
    if (cJSON_IsNull(v))
        return 0;
    if (cJSON_IsString(v) && base64) {
        const char *s = v->valuestring;
        if (e2b_base64_decode(s, strlen(s), &data, &len) != RUNBOX_OK) {
            snprintf(p->why, sizeof(p->why),
                     "the %s result is not valid base64", mime);
            p->failed = RUNBOX_EPROTO;
            return -1;
        }
    } else if (cJSON_IsString(v)) {
        data = e2b_json_unmark(v->valuestring, E2B_UNMARK_BYTES, &len);
    } else {
        text = cJSON_PrintUnformatted(v);
        data = text ? e2b_json_unmark(text, E2B_UNMARK_ESCAPE, &len) : NULL;
        free(text);
    }
    if (!data)
        return e2b_ndjson_oom(p);
    rc = host->add_rich(p->req->io, mime, data, len, is_main);
    free(data);
    return rc == RUNBOX_OK ? 0 : -1;
}

static int e2b_result(e2b_ndjson *p, const cJSON *msg)
{
    int is_main = cJSON_IsTrue(
        cJSON_GetObjectItemCaseSensitive(msg, "is_main_result"));
    for (size_t i = 0; i < sizeof(e2b_rich_keys) / sizeof(e2b_rich_keys[0]);
         i++) {
        const cJSON *v =
            cJSON_GetObjectItemCaseSensitive(msg, e2b_rich_keys[i].key);
        if (v && e2b_rich_add(p, e2b_rich_keys[i].mime, v,
                              e2b_rich_keys[i].base64, is_main) != 0)
            return -1;
    }
    /* Other MIME types come under "extra", keyed by their own name. */
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(msg, "extra");
    const cJSON *v;
    cJSON_ArrayForEach(v, extra)
    {
        if (v->string && strchr(v->string, '/') &&
            e2b_rich_add(p, v->string, v, 0, is_main) != 0)
            return -1;
    }
    return 0;
}

static const char *e2b_str(const cJSON *msg, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An error field as valid UTF-8 text (NUL and lone surrogates become
 * U+FFFD), or NULL when absent. *oom is set when memory ran out. */
static char *e2b_text_field(const cJSON *msg, const char *key, int *oom)
{
    const char *s = e2b_str(msg, key);
    char *t = s ? e2b_json_unmark(s, E2B_UNMARK_TEXT, NULL) : NULL;
    if (s && !t)
        *oom = 1;
    return t;
}

/* The code raised. A record without a name (some server-side failures
 * send null) is named after the traceback's last "Name: value" line, or
 * "UnknownError", so that a result never says its error is null. */
static int e2b_error_record(e2b_ndjson *p, const cJSON *msg)
{
    int oom = 0;
    char *name = e2b_text_field(msg, "name", &oom);
    char *value = e2b_text_field(msg, "value", &oom);
    char *tb = e2b_text_field(msg, "traceback", &oom);
    char fallback[128] = "UnknownError";
    if ((!name || !*name) && tb) {
        /* The last non-empty line, up to its first ':'. */
        const char *end = tb + strlen(tb);
        while (end > tb && (end[-1] == '\n' || end[-1] == ' '))
            end--;
        const char *start = end;
        while (start > tb && start[-1] != '\n')
            start--;
        size_t n = strcspn(start, ":\n");
        if (n && n < sizeof(fallback)) {
            memcpy(fallback, start, n);
            fallback[n] = '\0';
            if (!e2b_is_name(fallback, "._", sizeof(fallback) - 1))
                snprintf(fallback, sizeof(fallback), "UnknownError");
        }
    }
    p->raised = 1;
    /* Only ever makes runbox assume the state was lost, never kept. */
    if (name && !strcmp(name, "DeadKernelError"))
        p->kernel_died = 1;
    if (!oom)
        p->sb->st->host->set_exception(p->req->io,
                                        name && *name ? name : fallback,
                                        value, tb);
    free(name);
    free(value);
    free(tb);
    return oom ? e2b_ndjson_oom(p) : 0;
}

static int e2b_ndjson_line(e2b_ndjson *p, const char *line, size_t len)
{
    const runbox_host *host = p->sb->st->host;
    if (strspn(line, " \t\r") == len)
        return 0; /* the real server never sends blank lines; harmless */
    if (e2b_json_prepare(line, len, &p->prepared) != RUNBOX_OK)
        return e2b_ndjson_oom(p);
    cJSON *msg = cJSON_ParseWithLength(p->prepared.data, p->prepared.len);
    const char *type = e2b_str(msg, "type");
    if (!type) {
        cJSON_Delete(msg);
        return e2b_ndjson_bad(p, "a malformed line", line, len);
    }
    int rc = 0;
    if (strcmp(type, "stdout") == 0 || strcmp(type, "stderr") == 0) {
        const char *text = e2b_str(msg, "text");
        size_t n = 0;
        char *bytes = text ? e2b_json_unmark(text, E2B_UNMARK_BYTES, &n)
                           : NULL;
        if (text && !bytes)
            rc = e2b_ndjson_oom(p);
        else if (bytes)
            host->emit(p->req->io, type[3] == 'o' ? 1 : 2, bytes, n);
        free(bytes);
    } else if (strcmp(type, "result") == 0) {
        rc = e2b_result(p, msg);
    } else if (strcmp(type, "error") == 0) {
        rc = e2b_error_record(p, msg);
    } else if (strcmp(type, "number_of_executions") == 0) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(msg,
                                                          "execution_count");
        if (cJSON_IsNumber(n))
            p->out->execution_count = n->valueint;
    } else if (strcmp(type, "end_of_execution") == 0) {
        p->ended = 1;
    }
    /* keepalive and unknown types carry nothing for us. */
    cJSON_Delete(msg);
    return rc;
}

static int e2b_ndjson_feed(void *ud, const char *data, size_t len)
{
    e2b_ndjson *p = ud;
    while (len) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (p->line.len + take > E2B_MAX_LINE)
            return e2b_ndjson_bad(p, "a line longer than 256 MiB", data,
                                  take);
        if (e2b_buf_append(&p->line, data, take) != RUNBOX_OK) {
            p->failed = RUNBOX_ENOMEM;
            snprintf(p->why, sizeof(p->why), "out of memory");
            return -1;
        }
        if (!nl)
            break;
        int rc = e2b_ndjson_line(p, p->line.data, p->line.len);
        p->line.len = 0;
        if (rc != 0)
            return rc;
        data += take + 1;
        len -= take + 1;
    }
    return 0;
}

static char *e2b_execute_body(const runbox_exec_request *req)
{
    char *code = malloc(req->code_len + 1);
    if (!code)
        return NULL;
    memcpy(code, req->code, req->code_len);
    code[req->code_len] = '\0';
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "code", code);
    cJSON_AddStringToObject(root, "language",
                            req->language ? req->language : "python");
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    free(code);
    return body;
}

int e2b_execute(void *sandbox, const runbox_exec_request *req,
                runbox_exec_outcome *out)
{
    e2b_sandbox *sb = sandbox;
    const runbox_host *host = sb->st->host;
    /* Refused before any sandbox exists. */
    if (memchr(req->code, '\0', req->code_len))
        return host->fail(sb->st->h, RUNBOX_EINVAL,
                          "the code holds a NUL byte, which the E2B code "
                          "interpreter cannot receive; remove it");
    int stop = 0;
    e2b_outcome_init(sb, out);
    int rc0 = e2b_sandbox_ready(sb, req, out, &stop);
    if (rc0 == RUNBOX_OK && !stop)
        rc0 = e2b_api_run_lifetime(sb, req->deadline);
    if (rc0 != RUNBOX_OK || stop)
        return rc0;
    char *body = e2b_execute_body(req);
    if (!body) {
        e2b_api_idle_lifetime(sb);
        return host->fail(sb->st->h, RUNBOX_ENOMEM,
                          "out of memory while sending code to E2B");
    }

    e2b_ndjson p = {.sb = sb, .req = req, .out = out};
    e2b_request hreq = {
        .service = E2B_SVC_INTERPRETER,
        .method = "POST",
        .path = "/execute",
        .what = "running the code",
        .body = body,
        .body_len = strlen(body),
        .content_type = "application/json",
        .on_data = e2b_ndjson_feed,
        .ud = &p,
        .deadline = req->deadline,
        .io = req->io,
    };
    e2b_response resp = {0};
    int rc = e2b_http(sb, &hreq, &resp);
    free(body);
    if (rc != RUNBOX_OK) {
        /* e2b_http recorded why; a dropped connection may be the sandbox
         * ending (its lifetime): then say so. */
        rc = e2b_sandbox_gone_check(sb, rc, "running the code");
    } else if (resp.aborted) {
        e2b_outcome_aborted(resp.aborted, req, out);
    } else if (resp.status / 100 != 2) {
        rc = e2b_http_fail_status(sb, &hreq, &resp);
    } else {
        /* A final line without '\n' still counts, as it does for the SDK. */
        if (!p.failed && !p.ended && p.line.len)
            e2b_ndjson_line(&p, p.line.data, p.line.len);
        if (p.failed)
            rc = host->fail(sb->st->h, p.failed,
                            "the E2B code interpreter of sandbox %s sent "
                            "%s; the result is incomplete, run it again",
                            sb->id, p.why);
        else if (!p.ended)
            rc = e2b_sandbox_gone_check(
                sb,
                host->fail(sb->st->h, RUNBOX_EPROTO,
                           "the E2B code interpreter of sandbox %s stopped "
                           "answering before the end of the execution; the "
                           "result is incomplete, run it again",
                           sb->id),
                "running the code");
    }
    if (rc == RUNBOX_OK && p.raised)
        out->verdict = RUNBOX_VERDICT_ERROR;
    if (sb->session) {
        /* E2B's code interpreter keeps one Python kernel per context for
         * the sandbox's life. What runbox sees of it: a run it cut short
         * (the kernel may have been interrupted or restarted) or one the
         * kernel reported dying in starts a new state epoch; a sandbox's
         * word can only ever make that happen sooner. */
        if (!sb->state_epoch)
            sb->state_epoch = 1;
        if (rc != RUNBOX_OK || resp.aborted || !p.ended || p.kernel_died)
            sb->state_epoch++;
        runbox_outcome_set_state_epoch(out, sb->state_epoch);
    }
    e2b_api_idle_lifetime(sb);
    e2b_buf_free(&p.line);
    e2b_buf_free(&p.prepared);
    e2b_response_free(&resp);
    return rc;
}
