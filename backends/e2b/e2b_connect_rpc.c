/*
 * e2b_connect_rpc.c — running processes in the sandbox through envd's
 * process.Process/Start, a Connect-protocol server stream (JSON codec), and
 * the install and environment operations built on it.
 *
 * Framing, both ways: 1 flag byte + 4-byte big-endian length + JSON. Flag
 * 0x00 is a message, 0x02 the end-of-stream message (always last; carries
 * an error on failure). Frames are split across curl chunks arbitrarily,
 * so bytes are buffered until a whole frame is there.
 *
 * Commands are given as cmd + args, never as a shell line: the package spec
 * of an install is one argv element and cannot be interpreted by a shell.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "e2b_internal.h"

#define E2B_FLAG_COMPRESSED 0x01
#define E2B_FLAG_END_STREAM 0x02
#define E2B_MAX_FRAME (64u * 1024 * 1024)

typedef struct e2b_stream {
    e2b_sandbox *sb;
    runbox_exec_io *io;
    e2b_buf *capture[3]; /* by stream number: 1 stdout, 2 stderr */
    e2b_buf pending;     /* bytes of an incomplete frame */
    int started, exited, eos;
    int exit_code;
    char error_code[32];  /* Connect error code from the end-of-stream */
    char error_msg[200];
    int failed;
    char why[200];
} e2b_stream;

static int e2b_stream_bad(e2b_stream *s, const char *why)
{
    snprintf(s->why, sizeof(s->why), "%s", why);
    s->failed = RUNBOX_EPROTO;
    return -1;
}

static int e2b_stream_output(e2b_stream *s, int stream, const char *b64)
{
    char *data;
    size_t len;
    if (e2b_base64_decode(b64, strlen(b64), &data, &len) != RUNBOX_OK)
        return e2b_stream_bad(s, "process output that is not base64");
    if (s->io)
        s->sb->st->host->emit(s->io, stream, data, len);
    int rc = s->capture[stream]
                 ? e2b_buf_append(s->capture[stream], data, len)
                 : RUNBOX_OK;
    free(data);
    if (rc != RUNBOX_OK) {
        s->failed = rc;
        snprintf(s->why, sizeof(s->why), "more output than memory");
        return -1;
    }
    return 0;
}

static void e2b_stream_end_of_stream(e2b_stream *s, const cJSON *msg)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(msg, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(err, "message");
    s->eos = 1;
    if (err)
        snprintf(s->error_code, sizeof(s->error_code), "%s",
                 cJSON_IsString(code) ? code->valuestring : "unknown");
    if (cJSON_IsString(m))
        snprintf(s->error_msg, sizeof(s->error_msg), "%s", m->valuestring);
}

static int e2b_stream_event(e2b_stream *s, const cJSON *msg)
{
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(msg, "event");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev, "data");
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(ev, "end");
    if (!cJSON_IsObject(ev))
        return e2b_stream_bad(s, "a process message without an event");
    if (cJSON_GetObjectItemCaseSensitive(ev, "start"))
        s->started = 1;
    if (data) {
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(data, "stdout");
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(data, "stderr");
        if (cJSON_IsString(out) && e2b_stream_output(s, 1, out->valuestring))
            return -1;
        if (cJSON_IsString(err) && e2b_stream_output(s, 2, err->valuestring))
            return -1;
    }
    if (end) {
        /* proto3 JSON omits zero values: no exitCode means 0. */
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(end, "exitCode");
        s->exit_code = cJSON_IsNumber(code) ? code->valueint : 0;
        s->exited = 1;
    }
    return 0;
}

static int e2b_stream_frame(e2b_stream *s, unsigned flags, const char *json,
                            size_t len)
{
    if (flags & E2B_FLAG_COMPRESSED)
        return e2b_stream_bad(s, "a compressed frame, which was not asked "
                                 "for");
    cJSON *msg = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(msg)) {
        cJSON_Delete(msg);
        return e2b_stream_bad(s, "a frame that is not a JSON object");
    }
    int rc = 0;
    if (flags & E2B_FLAG_END_STREAM)
        e2b_stream_end_of_stream(s, msg);
    else
        rc = e2b_stream_event(s, msg);
    cJSON_Delete(msg);
    return rc;
}

static int e2b_stream_feed(void *ud, const char *data, size_t len)
{
    e2b_stream *s = ud;
    if (e2b_buf_append(&s->pending, data, len) != RUNBOX_OK) {
        s->failed = RUNBOX_ENOMEM;
        snprintf(s->why, sizeof(s->why), "more data than memory");
        return -1;
    }
    size_t off = 0;
    while (s->pending.len - off >= 5) {
        const unsigned char *h = (const unsigned char *)s->pending.data + off;
        size_t n = (size_t)h[1] << 24 | (size_t)h[2] << 16 |
                   (size_t)h[3] << 8 | h[4];
        if (n > E2B_MAX_FRAME)
            return e2b_stream_bad(s, "a frame larger than 64 MiB");
        if (s->pending.len - off - 5 < n)
            break;
        if (s->eos)
            return e2b_stream_bad(s, "data after the end of the stream");
        if (e2b_stream_frame(s, h[0], (const char *)h + 5, n) != 0)
            return -1;
        off += 5 + n;
    }
    memmove(s->pending.data, s->pending.data + off, s->pending.len - off);
    s->pending.len -= off;
    return 0;
}

/* The request: one enveloped StartRequest. *len gets its size.
 *
 * Like the SDK's commands.run, the process is started by a login shell
 * (/bin/bash -l -c), so that it sees the PATH and environment the
 * template's profile sets up. Unlike a command line, argv stays argv: the
 * shell only runs `exec "$0" "$@"`, and the quoted expansions hand every
 * element over as one word, never parsed. */
static char *e2b_start_body(const char *const *argv, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *proc = cJSON_AddObjectToObject(root, "process");
    cJSON *args = cJSON_AddArrayToObject(proc, "args");
    cJSON_AddStringToObject(proc, "cmd", "/bin/bash");
    cJSON_AddItemToArray(args, cJSON_CreateString("-l"));
    cJSON_AddItemToArray(args, cJSON_CreateString("-c"));
    cJSON_AddItemToArray(args, cJSON_CreateString("exec \"$0\" \"$@\""));
    for (size_t i = 0; argv[i]; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(argv[i]));
    cJSON_AddFalseToObject(root, "stdin");
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json)
        return NULL;
    size_t n = strlen(json);
    char *body = malloc(n + 5);
    if (body) {
        body[0] = 0;
        body[1] = (char)(n >> 24);
        body[2] = (char)(n >> 16);
        body[3] = (char)(n >> 8);
        body[4] = (char)n;
        memcpy(body + 5, json, n);
        *len = n + 5;
    }
    free(json);
    return body;
}

/* Maps the outcome of a finished stream to a status. */
static int e2b_stream_status(e2b_sandbox *sb, const e2b_stream *s,
                             const char *cmd)
{
    const runbox_host *host = sb->st->host;
    runbox_host_ctx *h = sb->st->h;
    if (s->failed)
        return host->fail(h, s->failed,
                          "envd in E2B sandbox %s sent %s while running %s; "
                          "the result is incomplete, run it again",
                          sb->id, s->why, cmd);
    if (s->error_code[0] && (strcmp(s->error_code, "unavailable") == 0 ||
                             strcmp(s->error_code, "not_found") == 0) &&
        !s->started)
        return host->fail(h, RUNBOX_EGONE,
                          "the E2B sandbox %s is gone (it timed out or was "
                          "killed); start a new one",
                          sb->id);
    if (s->error_code[0] && !s->exited)
        return host->fail(h, RUNBOX_EBACKEND,
                          "envd in E2B sandbox %s could not run %s: [%s] %s",
                          sb->id, cmd, s->error_code, s->error_msg);
    if (!s->eos || !s->exited)
        return host->fail(h, RUNBOX_EPROTO,
                          "envd in E2B sandbox %s ended the stream of %s "
                          "before %s; the result is incomplete, run it again",
                          sb->id, cmd,
                          s->exited ? "its end-of-stream message"
                                    : "the process exited");
    return RUNBOX_OK;
}

int e2b_process_run(e2b_sandbox *sb, const char *const *argv,
                    runbox_exec_io *io, double deadline,
                    e2b_buf *capture_stdout, e2b_buf *capture_stderr,
                    int *exit_code, e2b_abort *aborted)
{
    const runbox_host *host = sb->st->host;
    double started = host->now();
    int rc0 = e2b_api_run_lifetime(sb, deadline);
    if (rc0 != RUNBOX_OK)
        return rc0;
    size_t body_len = 0;
    char *body = e2b_start_body(argv, &body_len);
    struct curl_slist *hdrs =
        curl_slist_append(NULL, "Connect-Protocol-Version: 1");
    struct curl_slist *l = hdrs ? curl_slist_append(hdrs,
                                                    "Keepalive-Ping-Interval: 50")
                                : NULL;
    if (l && sb->envd_legacy_user)
        l = curl_slist_append(hdrs, "Authorization: Basic dXNlcjo="); /* user: */
    if (l && deadline > 0) {
        /* envd stops the process itself when this passes, even if our
         * connection is gone. */
        char line[64];
        double ms = ceil((deadline - host->now()) * 1000.0);
        snprintf(line, sizeof(line), "Connect-Timeout-Ms: %.0f",
                 ms < 1 ? 1 : ms);
        l = curl_slist_append(hdrs, line);
    }
    if (!body || !l) {
        free(body);
        curl_slist_free_all(hdrs);
        e2b_api_idle_lifetime(sb);
        return host->fail(sb->st->h, RUNBOX_ENOMEM,
                          "out of memory while starting %s in E2B", argv[0]);
    }

    e2b_stream s = {.sb = sb, .io = io};
    s.capture[1] = capture_stdout;
    s.capture[2] = capture_stderr;
    e2b_request req = {
        .service = E2B_SVC_ENVD,
        .method = "POST",
        .path = "/process.Process/Start",
        .what = "running a process",
        .body = body,
        .body_len = body_len,
        .content_type = "application/connect+json",
        .expect_type = "application/connect+json",
        .extra_headers = hdrs,
        .on_data = e2b_stream_feed,
        .ud = &s,
        .deadline = deadline,
        .io = io,
    };
    e2b_response resp = {0};
    int rc = e2b_http(sb, &req, &resp);
    *aborted = resp.aborted;
    if (rc != RUNBOX_OK) {
        rc = e2b_sandbox_gone_check(sb, rc, "running a process");
    } else if (!resp.aborted) {
        if (resp.status / 100 != 2)
            rc = e2b_http_fail_status(sb, &req, &resp);
        else if (resp.wrong_type)
            /* What the SDK says: "[internal] unsupported content type". */
            rc = host->fail(sb->st->h, RUNBOX_EPROTO,
                            "envd in E2B sandbox %s answered %s with "
                            "Content-Type %s, not application/connect+json; "
                            "is E2B_SANDBOX_URL / e2b.sandbox_url an E2B "
                            "sandbox?",
                            sb->id, argv[0], resp.got_type);
        else if (strcmp(s.error_code, "deadline_exceeded") == 0 &&
                 deadline > 0 && host->now() >= deadline - 1)
            *aborted = E2B_ABORT_DEADLINE;
        else if (strcmp(s.error_code, "deadline_exceeded") == 0)
            /* envd's deadline is the one we sent; ending this early is
             * not our timeout and must not be reported as one. */
            rc = host->fail(sb->st->h, RUNBOX_EBACKEND,
                            "envd in E2B sandbox %s stopped %s with "
                            "deadline_exceeded after %.2f s, before the "
                            "run's deadline%s: %s",
                            sb->id, argv[0], host->now() - started,
                            deadline > 0 ? "" : " (none was set)",
                            s.error_msg[0] ? s.error_msg : "no details");
        else if ((rc = e2b_stream_status(sb, &s, argv[0])) == RUNBOX_OK)
            *exit_code = s.exit_code;
        else if (!s.eos)
            rc = e2b_sandbox_gone_check(sb, rc, "running a process");
    }
    e2b_api_idle_lifetime(sb);
    free(body);
    curl_slist_free_all(hdrs);
    e2b_buf_free(&s.pending);
    e2b_response_free(&resp);
    return rc;
}

int e2b_install(void *sandbox, const char *spec,
                const runbox_exec_request *req, runbox_exec_outcome *out)
{
    e2b_sandbox *sb = sandbox;
    if (sb->network_off)
        return sb->st->host->fail(
            sb->st->h, RUNBOX_EDENIED,
            "package install needs the network, and this E2B sandbox %s "
            "created without internet access: set network = on in [e2b] "
            "(or RUNBOX_E2B_NETWORK=on)",
            sb->id ? "was" : "would be");
    /* "--" ends pip's options: the spec is a requirement, whatever it
     * starts with (the core has validated it; this is belt and braces). */
    const char *const argv[] = {"python3", "-m", "pip", "install",
                                "--disable-pip-version-check", "--no-input",
                                "--", spec, NULL};
    int exit_code = 0, stop = 0;
    e2b_abort aborted = E2B_ABORT_NONE;
    e2b_outcome_init(sb, out);
    int rc = e2b_sandbox_ready(sb, req, out, &stop);
    if (rc != RUNBOX_OK || stop)
        return rc;
    rc = e2b_process_run(sb, argv, req->io, req->deadline, NULL, NULL,
                         &exit_code, &aborted);
    if (rc != RUNBOX_OK)
        return rc;
    if (aborted) {
        e2b_outcome_aborted(aborted, req, out);
        return RUNBOX_OK;
    }
    out->exit_code = exit_code;
    if (exit_code != 0) {
        out->verdict = RUNBOX_VERDICT_EXIT_NONZERO;
        snprintf(out->message, sizeof(out->message),
                 "pip install %s failed with exit status %d (see stderr)",
                 spec, exit_code);
    }
    return RUNBOX_OK;
}

/* Printed as one JSON line by the sandbox's python3; only data comes back,
 * and it is parsed as JSON, never evaluated. */
static const char e2b_env_probe[] =
    "import json, platform, sys\n"
    "try:\n"
    "    from importlib import metadata\n"
    "    pk = {d.metadata['Name']: d.version for d in metadata.distributions()"
    " if d.metadata['Name']}\n"
    "except Exception:\n"
    "    pk = {}\n"
    "print(json.dumps({'python': platform.python_version(),\n"
    "    'implementation': platform.python_implementation(),\n"
    "    'platform': platform.platform(), 'machine': platform.machine(),\n"
    "    'executable': sys.executable, 'packages': pk}))\n";

int e2b_environment(void *sandbox, char **json)
{
    e2b_sandbox *sb = sandbox;
    const runbox_host *host = sb->st->host;
    const char *const argv[] = {"python3", "-c", e2b_env_probe, NULL};
    e2b_buf out = {0}, err = {0};
    int exit_code = 0;
    e2b_abort aborted = E2B_ABORT_NONE;
    double deadline = host->now() + sb->st->request_timeout;
    int rc = e2b_api_create(sb, sb->st->request_timeout, deadline, NULL,
                            &aborted);
    if (rc == RUNBOX_OK && !aborted)
        rc = e2b_process_run(sb, argv, NULL, deadline, &out, &err,
                             &exit_code, &aborted);
    cJSON *env = NULL;
    if (rc == RUNBOX_OK && aborted)
        rc = host->fail(sb->st->h, RUNBOX_ETIMEOUT,
                        "describing the E2B sandbox %s took longer than "
                        "%g s; try again",
                        sb->id ? sb->id : "(not created)", sb->st->request_timeout);
    else if (rc == RUNBOX_OK && exit_code != 0)
        rc = host->fail(sb->st->h, RUNBOX_EBACKEND,
                        "python3 in E2B sandbox %s could not describe its "
                        "environment (exit %d): %.200s",
                        sb->id, exit_code, err.data ? err.data : "");
    else if (rc == RUNBOX_OK &&
             !cJSON_IsObject(env = cJSON_ParseWithLength(out.data, out.len)))
        rc = host->fail(sb->st->h, RUNBOX_EPROTO,
                        "the environment report of E2B sandbox %s is not "
                        "JSON: %.100s",
                        sb->id, out.data ? out.data : "");
    if (rc == RUNBOX_OK) {
        cJSON *e2b = cJSON_AddObjectToObject(env, "e2b");
        cJSON_AddStringToObject(e2b, "sandbox_id", sb->id);
        cJSON_AddStringToObject(e2b, "template", sb->st->template_id);
        cJSON_AddBoolToObject(e2b, "internet", !sb->network_off);
        e2b_api_describe(sb, e2b);
        char *text = cJSON_PrintUnformatted(env);
        size_t n = text ? strlen(text) + 1 : 0;
        *json = text ? host->alloc(n) : NULL;
        if (*json)
            memcpy(*json, text, n);
        else
            rc = host->fail(sb->st->h, RUNBOX_ENOMEM,
                            "out of memory while describing the sandbox");
        free(text);
    }
    cJSON_Delete(env);
    e2b_buf_free(&out);
    e2b_buf_free(&err);
    return rc;
}
