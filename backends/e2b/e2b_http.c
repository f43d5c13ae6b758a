/*
 * e2b_http.c — one HTTP exchange with E2B: URLs, headers, retries, and the
 * mapping of HTTP and transport failures to runbox statuses and messages.
 *
 * curl is driven through a multi handle polled every 100 ms rather than
 * curl_easy_perform, so that a deadline or a cancellation is noticed
 * promptly even while the server sends nothing (curl_easy_perform may sleep
 * a whole second between progress callbacks).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "e2b_internal.h"

#define E2B_MAX_RETRIES 3
#define E2B_MAX_ERROR_BODY (64 * 1024)
#define E2B_POLL_MS 100

int e2b_buf_append(e2b_buf *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return RUNBOX_ENOMEM;
        b->data = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return RUNBOX_OK;
}

void e2b_buf_free(e2b_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void e2b_response_free(e2b_response *resp)
{
    e2b_buf_free(&resp->body);
}

char *e2b_url_escape(const char *s)
{
    return curl_easy_escape(NULL, s, 0);
}

int e2b_base64_decode(const char *in, size_t in_len, char **out,
                      size_t *out_len)
{
    /* Jupyter wraps long base64 lines and some encoders drop the padding
     * or use the URL-safe alphabet: try each variant, ignoring whitespace. */
    static const int variants[] = {
        sodium_base64_VARIANT_ORIGINAL,
        sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
        sodium_base64_VARIANT_URLSAFE,
        sodium_base64_VARIANT_URLSAFE_NO_PADDING,
    };
    size_t cap = in_len / 4 * 3 + 4;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return RUNBOX_ENOMEM;
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        size_t n = 0;
        const char *end = NULL;
        if (sodium_base642bin(buf, cap, in, in_len, " \r\n\t", &n, &end,
                              variants[i]) == 0 &&
            end == in + in_len) {
            buf[n] = '\0';
            *out = (char *)buf;
            *out_len = n;
            return RUNBOX_OK;
        }
    }
    free(buf);
    return RUNBOX_EPROTO;
}

/* ------------------------------------------------------------------ */
/* URL and headers                                                     */
/* ------------------------------------------------------------------ */

static int e2b_service_port(e2b_service svc)
{
    return svc == E2B_SVC_ENVD ? E2B_ENVD_PORT : E2B_INTERPRETER_PORT;
}

/* The base URL of a service, malloc'ed. The data plane lives at
 * https://<port>-<id>.<domain> unless sandbox_url sends it all to one
 * place (as E2B_SANDBOX_URL does for the SDK). */
static char *e2b_base_url(const e2b_sandbox *sb, e2b_service svc)
{
    const e2b_state *st = sb->st;
    if (svc == E2B_SVC_API)
        return strdup(st->api_url);
    if (st->sandbox_url)
        return strdup(st->sandbox_url);
    size_t n = strlen(sb->id) + strlen(sb->domain) + 32;
    char *url = malloc(n);
    if (url)
        snprintf(url, n, "https://%d-%s.%s", e2b_service_port(svc), sb->id,
                 sb->domain);
    return url;
}

/* Appends "name: value" (or a whole line when value is NULL); returns 0
 * when out of memory, after which *list is left for the caller to free. */
static int e2b_add_header(struct curl_slist **list, const char *name,
                          const char *value)
{
    char line[1024];
    int n = value ? snprintf(line, sizeof(line), "%s: %s", name, value)
                  : snprintf(line, sizeof(line), "%s", name);
    struct curl_slist *l = n >= 0 && (size_t)n < sizeof(line)
                               ? curl_slist_append(*list, line)
                               : NULL;
    if (l)
        *list = l;
    return l != NULL;
}

/* The headers the official SDK sends, so that both the real per-port hosts
 * and a single E2B_SANDBOX_URL-style server route the request. Values were
 * checked for control characters when configured or received. */
static struct curl_slist *e2b_headers(const e2b_sandbox *sb,
                                      const e2b_request *req)
{
    struct curl_slist *list = NULL;
    int ok = 1;
    char port[16];
    if (req->service == E2B_SVC_API) {
        ok &= e2b_add_header(&list, "X-API-KEY", sb->st->api_key);
    } else {
        snprintf(port, sizeof(port), "%d", e2b_service_port(req->service));
        ok &= e2b_add_header(&list, "E2b-Sandbox-Id", sb->id);
        ok &= e2b_add_header(&list, "E2b-Sandbox-Port", port);
        if (sb->access_token)
            ok &= e2b_add_header(&list, "X-Access-Token", sb->access_token);
        if (req->service == E2B_SVC_INTERPRETER && sb->traffic_token)
            ok &= e2b_add_header(&list, "E2B-Traffic-Access-Token",
                                 sb->traffic_token);
    }
    if (req->content_type)
        ok &= e2b_add_header(&list, "Content-Type", req->content_type);
    ok &= e2b_add_header(&list, "User-Agent", "runbox/" RUNBOX_VERSION_STRING);
    /* curl would otherwise wait for "100 Continue" on large bodies. */
    ok &= e2b_add_header(&list, "Expect:", NULL);
    for (const struct curl_slist *e = req->extra_headers; e; e = e->next)
        ok &= e2b_add_header(&list, e->data, NULL);
    if (!ok) {
        curl_slist_free_all(list);
        return NULL;
    }
    return list;
}

int e2b_is_name(const char *s, const char *extra, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!isalnum((unsigned char)s[n]) && !strchr(extra, s[n]))
            return 0;
    return n > 0 && n <= max;
}

/* ------------------------------------------------------------------ */
/* One transfer                                                        */
/* ------------------------------------------------------------------ */

typedef struct e2b_xfer {
    e2b_sandbox *sb;
    const e2b_request *req;
    e2b_response *resp;
    long retry_after; /* -1 = absent or not an integer */
    int streaming;    /* 2xx and the request streams */
    int status_known;
} e2b_xfer;

static double e2b_request_timeout(const e2b_sandbox *sb,
                                  const e2b_request *req)
{
    return req->timeout > 0 ? req->timeout : sb->st->request_timeout;
}

static e2b_abort e2b_should_abort(const e2b_xfer *x)
{
    const runbox_host *host = x->sb->st->host;
    if (x->req->io && host->cancelled(x->req->io))
        return E2B_ABORT_CANCELED;
    if (x->req->deadline > 0 && host->now() >= x->req->deadline)
        return E2B_ABORT_DEADLINE;
    return E2B_ABORT_NONE;
}

static int e2b_xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                           curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    e2b_xfer *x = ud;
    e2b_abort why = e2b_should_abort(x);
    if (why != E2B_ABORT_NONE)
        x->resp->aborted = why;
    return why != E2B_ABORT_NONE;
}

static size_t e2b_write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    e2b_xfer *x = ud;
    size_t n = size * nmemb;
    if (!x->status_known) {
        curl_easy_getinfo(x->sb->curl, CURLINFO_RESPONSE_CODE,
                          &x->resp->status);
        x->status_known = 1;
        x->streaming = x->req->on_data && x->resp->status / 100 == 2;
        if (x->streaming && x->req->expect_type) {
            /* Like the SDK: a stream of another type is not a stream we
             * can read (a proxy's page, a server speaking plain JSON). */
            const char *ct = NULL;
            size_t n = strlen(x->req->expect_type);
            curl_easy_getinfo(x->sb->curl, CURLINFO_CONTENT_TYPE, &ct);
            if (!ct || strncasecmp(ct, x->req->expect_type, n) != 0 ||
                (ct[n] && ct[n] != ';' && ct[n] != ' ')) {
                snprintf(x->resp->got_type, sizeof(x->resp->got_type), "%s",
                         ct ? ct : "none");
                x->resp->wrong_type = 1;
                x->resp->stopped = 1;
                return 0;
            }
        }
    }
    if (x->streaming) {
        if (x->req->on_data(x->req->ud, data, n) == 0)
            return n;
        x->resp->stopped = 1;
        return 0;
    }
    if (x->resp->status / 100 != 2 &&
        x->resp->body.len + n > E2B_MAX_ERROR_BODY)
        return n; /* an error page: the start is enough */
    return e2b_buf_append(&x->resp->body, data, n) == RUNBOX_OK ? n : 0;
}

static size_t e2b_header_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    e2b_xfer *x = ud;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        /* Like the SDK, honour only delta-seconds, never an HTTP date. */
        const char *p = data + sizeof(name) - 1;
        while (p < data + n && (*p == ' ' || *p == '\t'))
            p++;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        while (end < data + n && isspace((unsigned char)*end))
            end++;
        x->retry_after =
            (end == data + n && end != p && !errno && v >= 0) ? v : -1;
    }
    return n;
}

static void e2b_set_method(CURL *c, const e2b_request *req)
{
    if (req->mime) {
        curl_easy_setopt(c, CURLOPT_MIMEPOST, req->mime);
    } else if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    }
}

static void e2b_transfer(e2b_xfer *x, const char *url,
                         struct curl_slist *headers)
{
    e2b_sandbox *sb = x->sb;
    const e2b_request *req = x->req;
    CURL *c = sb->curl;
    long timeout_ms = (long)(e2b_request_timeout(sb, req) * 1000.0);

    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->resp->curl_error);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, e2b_write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, e2b_header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, e2b_xferinfo_cb);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (req->on_data) {
        /* A stream may run as long as its deadline; the interpreter sends
         * keepalive lines every 5 s, so silence longer than the request
         * timeout means the peer is dead. */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                         (long)e2b_request_timeout(sb, req) + 1);
    } else {
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    }
    e2b_set_method(c, req);

    x->resp->curl_code = CURLE_OK;
    if (curl_multi_add_handle(sb->multi, c) != CURLM_OK) {
        x->resp->curl_code = CURLE_OUT_OF_MEMORY;
        return;
    }
    int running = 1;
    while (running) {
        if (curl_multi_perform(sb->multi, &running) != CURLM_OK)
            break;
        if (!running)
            break;
        e2b_abort why = e2b_should_abort(x);
        if (why != E2B_ABORT_NONE) {
            x->resp->aborted = why;
            break;
        }
        curl_multi_poll(sb->multi, NULL, 0, E2B_POLL_MS, NULL);
    }
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(sb->multi, &left)))
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == c)
            x->resp->curl_code = msg->data.result;
    if (running && !x->resp->aborted)
        x->resp->curl_code = CURLE_RECV_ERROR;
    curl_multi_remove_handle(sb->multi, c);
    if (x->resp->curl_code == CURLE_ABORTED_BY_CALLBACK && x->resp->aborted)
        x->resp->curl_code = CURLE_OK;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->resp->status);
}

/* Sleeps up to seconds, waking early on cancellation or deadline. */
static e2b_abort e2b_wait(e2b_xfer *x, double seconds)
{
    double until = x->sb->st->host->now() + seconds;
    while (x->sb->st->host->now() < until) {
        e2b_abort why = e2b_should_abort(x);
        if (why != E2B_ABORT_NONE)
            return why;
        struct timespec ts = {0, E2B_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    return E2B_ABORT_NONE;
}

/* A transport failure where the request may not have been processed:
 * nothing was sent, or the connection dropped before any answer. */
static int e2b_transport_retryable(CURLcode cc)
{
    return cc == CURLE_GOT_NOTHING || cc == CURLE_SEND_ERROR ||
           cc == CURLE_RECV_ERROR || cc == CURLE_PARTIAL_FILE;
}

int e2b_http(e2b_sandbox *sb, const e2b_request *req, e2b_response *resp)
{
    const runbox_host *host = sb->st->host;
    double started = host->now();
    char *base = e2b_base_url(sb, req->service);
    struct curl_slist *headers = e2b_headers(sb, req);
    char *url = NULL;
    if (base && headers) {
        size_t n = strlen(base) + strlen(req->path) + 1;
        if ((url = malloc(n)))
            snprintf(url, n, "%s%s", base, req->path);
    }
    free(base);
    if (!url) {
        curl_slist_free_all(headers);
        return host->fail(sb->st->h, RUNBOX_ENOMEM,
                          "out of memory while %s", req->what);
    }

    e2b_xfer x = {.sb = sb, .req = req, .resp = resp};
    for (int attempt = 0;; attempt++) {
        e2b_buf_free(&resp->body);
        resp->status = 0;
        resp->curl_error[0] = '\0';
        x.retry_after = -1;
        x.streaming = x.status_known = 0;
        e2b_transfer(&x, url, headers);
        if (resp->aborted || attempt >= E2B_MAX_RETRIES || x.streaming)
            break;

        double wait = -1;
        if (resp->curl_code != CURLE_OK) {
            if (req->idempotent && e2b_transport_retryable(resp->curl_code))
                wait = 0.2 * (1 << attempt);
        } else if (resp->status == 429 && req->service == E2B_SVC_API) {
            wait = (double)x.retry_after; /* -1 when absent: no retry */
        } else if (resp->status >= 500 &&
                   (req->idempotent ||
                    (req->retry_503 && resp->status == 503))) {
            wait = x.retry_after >= 0 ? (double)x.retry_after
                                      : 0.25 * (1 << attempt);
        }
        /* Retries must fit in the request timeout, as the SDK's do. */
        if (wait < 0 ||
            host->now() + wait - started > e2b_request_timeout(sb, req))
            break;
        host->log(sb->st->h, RUNBOX_LOG_DEBUG,
                  "e2b: retrying %s %s in %.1f s (HTTP %ld, curl %d)",
                  req->method, req->path, wait, resp->status,
                  (int)resp->curl_code);
        if ((resp->aborted = e2b_wait(&x, wait)) != E2B_ABORT_NONE)
            break;
    }
    curl_slist_free_all(headers);
    free(url);
    if (resp->aborted || resp->stopped || resp->curl_code == CURLE_OK)
        return RUNBOX_OK;
    if (req->quiet)
        return RUNBOX_EUNAVAILABLE;
    return e2b_http_fail_transfer(sb, req, resp);
}

/* ------------------------------------------------------------------ */
/* Failure messages                                                    */
/* ------------------------------------------------------------------ */

static const char *e2b_service_name(e2b_service svc)
{
    switch (svc) {
    case E2B_SVC_API:
        return "E2B API";
    case E2B_SVC_ENVD:
        return "E2B sandbox daemon (envd)";
    default:
        return "E2B code interpreter";
    }
}

int e2b_http_fail_transfer(e2b_sandbox *sb, const e2b_request *req,
                           const e2b_response *resp)
{
    const runbox_host *host = sb->st->host;
    runbox_host_ctx *h = sb->st->h;
    const char *why = curl_easy_strerror(resp->curl_code);
    char *base = e2b_base_url(sb, req->service);
    const char *where = base ? base : "?";
    int rc;
    switch (resp->curl_code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
        if (req->service == E2B_SVC_API)
            rc = host->fail(h, RUNBOX_EUNAVAILABLE,
                            "cannot reach the E2B API at %s: %s; check the "
                            "network and E2B_API_URL / e2b.api_url",
                            where, why);
        else
            rc = host->fail(h, RUNBOX_EUNAVAILABLE,
                            "cannot reach the %s of sandbox %s at %s: %s; "
                            "check the network and E2B_SANDBOX_URL / "
                            "e2b.sandbox_url",
                            e2b_service_name(req->service), sb->id, where,
                            why);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        rc = host->fail(h, RUNBOX_ETIMEOUT,
                        "the %s at %s did not answer in time while %s (%s); "
                        "try again or raise e2b.request_timeout%s",
                        e2b_service_name(req->service), where, req->what,
                        resp->curl_error[0] ? resp->curl_error : why,
                        req->service == E2B_SVC_API && !req->idempotent
                            ? " (a sandbox it may have created anyway "
                              "expires at its lifetime)"
                            : "");
        break;
    case CURLE_OUT_OF_MEMORY:
        rc = host->fail(h, RUNBOX_ENOMEM, "out of memory while %s",
                        req->what);
        break;
    default:
        if (req->service == E2B_SVC_API)
            rc = host->fail(h, RUNBOX_EUNAVAILABLE,
                            "the connection to the E2B API at %s failed "
                            "while %s: %s; try again%s",
                            where, req->what, why,
                            req->idempotent
                                ? ""
                                : " (a sandbox it may have created expires "
                                  "by its timeout)");
        else
            rc = host->fail(h, RUNBOX_EPROTO,
                            "the connection to the %s of sandbox %s dropped "
                            "while %s: %s; the result is incomplete, run it "
                            "again",
                            e2b_service_name(req->service), sb->id, req->what,
                            why);
        break;
    }
    free(base);
    return rc;
}

/* The readable text of an HTML error page (a proxy's "502 Bad Gateway"):
 * its <title>, or else its text with the tags removed, whitespace
 * collapsed. */
static void e2b_html_text(const char *html, size_t len, char *buf, size_t size)
{
    const char *end = html + len;
    const char *t = strcasestr(html, "<title>");
    const char *te = t ? strcasestr(t, "</title>") : NULL;
    if (t && te && te - t > 7) {
        html = t + 7;
        end = te;
    }
    size_t o = 0;
    int in_tag = 0, space = 1;
    for (const char *p = html; p < end && o + 1 < size; p++) {
        char c = *p;
        if (c == '<') {
            in_tag = 1;
            continue;
        }
        if (c == '>')
            in_tag = 0, c = ' '; /* a tag separates words */
        else if (in_tag)
            continue;
        if (isspace((unsigned char)c)) {
            if (!space && o)
                buf[o++] = ' ';
            space = 1;
        } else {
            buf[o++] = c;
            space = 0;
        }
    }
    while (o && buf[o - 1] == ' ')
        o--;
    buf[o] = '\0';
}

/* The useful part of an error body: the JSON "message" if any, the text of
 * an HTML page, else the text itself (first line, bounded), into buf. */
static void e2b_error_text(const e2b_response *resp, char *buf, size_t size)
{
    snprintf(buf, size, "no details");
    if (!resp->body.data || !resp->body.len)
        return;
    cJSON *j = cJSON_ParseWithLength(resp->body.data, resp->body.len);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    const char *start = resp->body.data + strspn(resp->body.data, " \t\r\n");
    if (cJSON_IsString(m) && m->valuestring[0]) {
        snprintf(buf, size, "%s", m->valuestring);
    } else if (*start == '<') {
        e2b_html_text(start, resp->body.len - (size_t)(start - resp->body.data),
                      buf, size > 201 ? 201 : size);
        if (!buf[0])
            snprintf(buf, size, "an HTML page without text");
    } else {
        size_t n = strcspn(resp->body.data, "\r\n");
        snprintf(buf, size, "%.*s", (int)(n > 200 ? 200 : n),
                 resp->body.data);
    }
    cJSON_Delete(j);
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
}

int e2b_http_fail_status(e2b_sandbox *sb, const e2b_request *req,
                         const e2b_response *resp)
{
    const runbox_host *host = sb->st->host;
    runbox_host_ctx *h = sb->st->h;
    char text[256];
    long s = resp->status;
    e2b_error_text(resp, text, sizeof(text));
    int data_plane = req->service != E2B_SVC_API;

    if (s == 401 || s == 403) {
        if (!data_plane)
            return host->fail(h, RUNBOX_EAUTH,
                              "E2B rejected the API key (HTTP %ld): %s; "
                              "check E2B_API_KEY",
                              s, text);
        return host->fail(h, RUNBOX_EAUTH,
                          "the E2B sandbox %s rejected its access token "
                          "(HTTP %ld) while %s: %s",
                          sb->id, s, req->what, text);
    }
    /* E2B's edge proxy answers 502 for a sandbox that no longer exists;
     * the API and the interpreter say 404. */
    if ((data_plane && s == 502) ||
        (s == 404 && req->service != E2B_SVC_ENVD && sb->id))
        return e2b_api_gone(sb);
    if (s == 429)
        return host->fail(h, RUNBOX_EUNAVAILABLE,
                          "E2B is rate limiting requests (HTTP 429) while "
                          "%s: %s; try again later",
                          req->what, text);
    if (s == 503 || s == 504)
        return host->fail(h, RUNBOX_EUNAVAILABLE,
                          "E2B is busy (HTTP %ld) while %s: %s; try again "
                          "later",
                          s, req->what, text);
    return host->fail(h, RUNBOX_EBACKEND,
                      "the %s answered HTTP %ld while %s: %s",
                      e2b_service_name(req->service), s, req->what, text);
}

void e2b_outcome_init(const e2b_sandbox *sb, runbox_exec_outcome *out)
{
    snprintf(out->isolation, sizeof(out->isolation),
             "e2b microVM (Firecracker), template %s", sb->st->template_id);
    /* The deadline is ours; the network switch was applied at creation. */
    out->limits_applied = RUNBOX_LIMIT_WALL |
                          (sb->network_off ? RUNBOX_LIMIT_NETWORK : 0);
}

void e2b_outcome_aborted(e2b_abort why, const runbox_exec_request *req,
                         runbox_exec_outcome *out)
{
    out->exit_code = -1;
    if (why == E2B_ABORT_CANCELED) {
        out->verdict = RUNBOX_VERDICT_CANCELED;
        snprintf(out->message, sizeof(out->message),
                 "cancelled; the code in the E2B sandbox was interrupted");
    } else {
        out->verdict = RUNBOX_VERDICT_TIMEOUT;
        snprintf(out->message, sizeof(out->message),
                 "timed out after %g s; the code in the E2B sandbox was "
                 "interrupted",
                 req->limits.wall_seconds);
    }
}
