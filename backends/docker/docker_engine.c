/*
 * docker_engine.c — HTTP to the Docker Engine API over libcurl: where the
 * daemon is (unix socket or tcp), API version negotiation, errors a user
 * can act on, and hijacked (upgraded) connections for attach/exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "docker_internal.h"

/* How long a hijacked request may take to answer with its headers. */
#define DOCKER_HIJACK_HEADER_TIMEOUT_MS 30000

int docker_engine_open(docker_engine *e, const runbox_host *host,
                       runbox_host_ctx *h, const docker_endpoint *ep)
{
    memset(e, 0, sizeof(*e));
    e->host = host;
    e->h = h;
    const char *docker_host = ep->host && *ep->host ? ep->host : DOCKER_DEFAULT_HOST;
    e->docker_host = strdup(docker_host);
    if (!e->docker_host)
        return host->fail(h, RUNBOX_ENOMEM, "out of memory");
    e->tls = ep->tls;
    e->verify = ep->verify;
    if ((ep->ca && !(e->ca = strdup(ep->ca))) ||
        (ep->cert && !(e->cert = strdup(ep->cert))) ||
        (ep->key && !(e->key = strdup(ep->key)))) {
        docker_engine_close(e);
        return host->fail(h, RUNBOX_ENOMEM, "out of memory");
    }

    if (strncmp(docker_host, "unix://", 7) == 0 && docker_host[7]) {
        e->socket_path = strdup(docker_host + 7);
        /* With a unix socket the URL's host part only fills Host:. */
        e->base_url = strdup("http://docker");
    } else if (strncmp(docker_host, "tcp://", 6) == 0 && docker_host[6]) {
        /* tcp://h:p: HTTPS when TLS is asked for (DOCKER_TLS_VERIFY or a
         * context with TLS material), plain HTTP otherwise. */
        if (asprintf(&e->base_url, "%s://%s", e->tls ? "https" : "http",
                     docker_host + 6) < 0)
            e->base_url = NULL;
        size_t n = e->base_url ? strlen(e->base_url) : 0;
        if (n && e->base_url[n - 1] == '/')
            e->base_url[n - 1] = '\0';
    } else {
        int rc = host->config_error(h, "host",
                                    "expected unix:///path/to/docker.sock or "
                                    "tcp://HOST:PORT");
        docker_engine_close(e);
        return rc;
    }
    if (!e->base_url || (strncmp(docker_host, "unix://", 7) == 0 &&
                         !e->socket_path)) {
        docker_engine_close(e);
        return host->fail(h, RUNBOX_ENOMEM, "out of memory");
    }
    return RUNBOX_OK;
}

void docker_engine_close(docker_engine *e)
{
    free(e->docker_host);
    free(e->socket_path);
    free(e->base_url);
    free(e->ca);
    free(e->cert);
    free(e->key);
    e->docker_host = e->socket_path = e->base_url = NULL;
    e->ca = e->cert = e->key = NULL;
}

/* Where and how to connect, on any handle (requests and hijacks). */
static void docker_engine_setopts(docker_engine *e, CURL *curl)
{
    if (e->socket_path)
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, e->socket_path);
    if (!e->tls)
        return;
    if (e->ca)
        curl_easy_setopt(curl, CURLOPT_CAINFO, e->ca);
    if (e->cert) {
        curl_easy_setopt(curl, CURLOPT_SSLCERT, e->cert);
        curl_easy_setopt(curl, CURLOPT_SSLKEY, e->key);
    }
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, e->verify ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, e->verify ? 2L : 0L);
}

int docker_conn_open(docker_conn *c, docker_engine *e)
{
    memset(c, 0, sizeof(*c));
    c->engine = e;
    c->curl = curl_easy_init();
    if (!c->curl)
        return e->host->fail(e->h, RUNBOX_ENOMEM, "curl_easy_init failed");
    return RUNBOX_OK;
}

void docker_conn_close(docker_conn *c)
{
    if (c->curl)
        curl_easy_cleanup(c->curl);
    c->curl = NULL;
}

void docker_response_clear(docker_response *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* Why a connection failed, in words that say what to do. */
static int docker_transport_error(docker_engine *e, CURL *curl, CURLcode cc,
                                  const char *errbuf, double timeout_s)
{
    const runbox_host *host = e->host;
    long os_errno = 0;
    curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);

    if (cc == CURLE_ABORTED_BY_CALLBACK)
        return host->fail(e->h, RUNBOX_ECANCELED, "cancelled");
    if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CONNECT_ERROR ||
        cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CACERT_BADFILE ||
        cc == CURLE_SSL_CIPHER || cc == CURLE_USE_SSL_FAILED)
        return host->fail(e->h, RUNBOX_EAUTH,
                          "TLS to Docker at %s failed: %s — check that "
                          "DOCKER_CERT_PATH (cert_path) holds the engine's "
                          "ca.pem and a client cert.pem/key.pem it accepts",
                          e->docker_host,
                          errbuf && *errbuf ? errbuf : curl_easy_strerror(cc));
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return host->fail(e->h, RUNBOX_ETIMEOUT,
                          "Docker at %s did not answer within %.0f s",
                          e->docker_host, timeout_s);
    if (os_errno == EACCES && e->socket_path) {
        struct stat st;
        const char *group = "docker";
        unsigned mode = 0;
        if (stat(e->socket_path, &st) == 0) {
            struct group *g = getgrgid(st.st_gid);
            if (g)
                group = g->gr_name;
            mode = st.st_mode & 0777;
        }
        return host->fail(e->h, RUNBOX_EAUTH,
                          "cannot reach Docker at %s: permission denied "
                          "(socket group '%s', mode %03o) — add this user to "
                          "the '%s' group or run as root",
                          e->docker_host, group, mode, group);
    }
    if (os_errno == ECONNREFUSED)
        return host->fail(e->h, RUNBOX_EUNAVAILABLE,
                          "cannot reach Docker at %s: connection refused — "
                          "is dockerd running?", e->docker_host);
    if (os_errno == ENOENT)
        return host->fail(e->h, RUNBOX_EUNAVAILABLE,
                          "cannot reach Docker at %s: no such socket — is "
                          "dockerd running?", e->docker_host);
    return host->fail(e->h, RUNBOX_EUNAVAILABLE,
                      "cannot reach Docker at %s: %s — is dockerd running?",
                      e->docker_host,
                      errbuf && *errbuf ? errbuf : curl_easy_strerror(cc));
}

typedef struct docker_sink {
    docker_response *resp;
    docker_chunk_cb cb;
    void *cb_arg;
    int cb_status;
} docker_sink;

static size_t docker_on_body(char *data, size_t size, size_t n, void *arg)
{
    docker_sink *s = arg;
    size_t len = size * n;
    if (s->cb) {
        s->cb_status = s->cb(s->cb_arg, data, len);
        return s->cb_status == RUNBOX_OK ? len : 0;
    }
    char *grown = realloc(s->resp->body, s->resp->len + len + 1);
    if (!grown)
        return 0;
    memcpy(grown + s->resp->len, data, len);
    s->resp->body = grown;
    s->resp->len += len;
    grown[s->resp->len] = '\0';
    return len;
}

static int docker_on_progress(void *arg, curl_off_t a, curl_off_t b,
                              curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    docker_conn *conn = arg;
    return conn->should_abort && conn->should_abort(conn->abort_arg);
}

/* Sets everything a request needs on the (reset) handle. The handle keeps
 * its connection cache across curl_easy_reset, so a sandbox's successive
 * requests reuse one connection. */
static int docker_prepare(docker_conn *c, const char *method,
                          const char *path, int with_prefix,
                          struct curl_slist **headers, char *errbuf)
{
    docker_engine *e = c->engine;
    CURL *curl = c->curl;
    char *url = NULL;
    curl_easy_reset(curl);
    if (asprintf(&url, "%s%s%s", e->base_url, with_prefix ? e->api_prefix : "",
                 path) < 0)
        return e->host->fail(e->h, RUNBOX_ENOMEM, "out of memory");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    free(url);
    docker_engine_setopts(e, curl);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, docker_on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, c);
    /* Large archive uploads must not wait for a 100-continue. */
    *headers = curl_slist_append(*headers, "Expect:");
    return RUNBOX_OK;
}

static int docker_perform(docker_conn *c, const char *method,
                          const char *path, int with_prefix,
                          const char *content_type, const void *body,
                          size_t len, double timeout_s, docker_sink *sink,
                          long *status)
{
    docker_engine *e = c->engine;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    int rc = docker_prepare(c, method, path, with_prefix, &headers, errbuf);
    if (rc != RUNBOX_OK)
        return rc;
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(body ? len : 0));
        char ct[96];
        snprintf(ct, sizeof(ct), "Content-Type: %s",
                 content_type ? content_type : "application/json");
        headers = curl_slist_append(headers, ct);
    }
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, docker_on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, sink);
    if (timeout_s > 0)
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));

    CURLcode cc = curl_easy_perform(c->curl);
    curl_slist_free_all(headers);
    /* errbuf is on this stack: the handle must not keep pointing at it. */
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
    if (cc == CURLE_WRITE_ERROR && sink->cb && sink->cb_status != RUNBOX_OK)
        return sink->cb_status;
    if (cc != CURLE_OK)
        return docker_transport_error(e, c->curl, cc, errbuf, timeout_s);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
    return RUNBOX_OK;
}

int docker_request(docker_conn *c, const char *method, const char *path,
                   const char *content_type, const void *body, size_t len,
                   double timeout_s, docker_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    docker_sink sink = {.resp = resp};
    int rc = docker_perform(c, method, path, 1, content_type, body, len,
                            timeout_s, &sink, &resp->status);
    if (rc != RUNBOX_OK)
        docker_response_clear(resp);
    return rc;
}

int docker_request_json(docker_conn *c, const char *method, const char *path,
                        cJSON *body, double timeout_s, docker_response *resp)
{
    char *text = NULL;
    if (body) {
        text = cJSON_PrintUnformatted(body);
        cJSON_Delete(body);
        if (!text)
            return c->engine->host->fail(c->engine->h, RUNBOX_ENOMEM,
                                         "out of memory");
    }
    int rc = docker_request(c, method, path, "application/json", text,
                            text ? strlen(text) : 0, timeout_s, resp);
    free(text);
    return rc;
}

int docker_request_stream(docker_conn *c, const char *method,
                          const char *path, docker_chunk_cb cb, void *arg,
                          long *status)
{
    docker_sink sink = {.cb = cb, .cb_arg = arg};
    return docker_perform(c, method, path, 1, NULL, NULL, 0, 0, &sink, status);
}

int docker_api_error(docker_engine *e, const docker_response *r,
                     const char *what)
{
    const char *message = NULL;
    cJSON *doc = r->body ? cJSON_Parse(r->body) : NULL;
    cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "message");
    if (cJSON_IsString(m))
        message = m->valuestring;
    else if (r->body && r->len)
        message = r->body;
    int status;
    switch (r->status) {
    case 401:
    case 403: status = RUNBOX_EAUTH; break;
    case 404: status = RUNBOX_ENOTFOUND; break;
    case 429:
    case 502:
    case 503: status = RUNBOX_EUNAVAILABLE; break;
    default: status = RUNBOX_EBACKEND; break;
    }
    /* Docker's own message says what went wrong better than we could. */
    status = e->host->fail(e->h, status, "Docker: %s: %s (HTTP %ld)", what,
                           message ? message : "no message", r->status);
    cJSON_Delete(doc);
    return status;
}

int docker_call_json(docker_conn *c, const char *method, const char *path,
                     cJSON *body, double timeout_s, long expect,
                     const char *what, cJSON **doc, long *http_status)
{
    docker_response r;
    int rc = docker_request_json(c, method, path, body, timeout_s, &r);
    if (http_status)
        *http_status = rc == RUNBOX_OK ? r.status : 0;
    if (rc != RUNBOX_OK)
        return rc;
    if (r.status != expect)
        rc = docker_api_error(c->engine, &r, what);
    else if (doc && !(*doc = cJSON_Parse(r.body ? r.body : "")))
        rc = c->engine->host->fail(c->engine->h, RUNBOX_EPROTO,
                                   "Docker: %s: the answer is not JSON", what);
    docker_response_clear(&r);
    return rc;
}

int docker_engine_negotiate(docker_conn *c)
{
    docker_engine *e = c->engine;
    docker_response r = {0};
    docker_sink sink = {.resp = &r};
    int rc = docker_perform(c, "GET", "/version", 0, NULL, NULL, 0, 10, &sink,
                            &r.status);
    if (rc != RUNBOX_OK)
        return rc;
    if (r.status != 200) {
        rc = docker_api_error(e, &r, "GET /version");
        docker_response_clear(&r);
        return rc;
    }
    cJSON *doc = cJSON_Parse(r.body);
    cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "ApiVersion");
    cJSON *minv = cJSON_GetObjectItemCaseSensitive(doc, "MinAPIVersion");
    int major = 0, minor = 0, min_major = 0, min_minor = 0;
    if (!cJSON_IsString(v) ||
        sscanf(v->valuestring, "%d.%d", &major, &minor) != 2) {
        cJSON_Delete(doc);
        docker_response_clear(&r);
        return e->host->fail(e->h, RUNBOX_EPROTO,
                             "Docker at %s: GET /version has no ApiVersion",
                             e->docker_host);
    }
    if (cJSON_IsString(minv))
        sscanf(minv->valuestring, "%d.%d", &min_major, &min_minor);
    /* Podman answers the Docker API too, and says so only here. */
    cJSON *comp;
    e->podman = 0;
    cJSON_ArrayForEach(comp, cJSON_GetObjectItemCaseSensitive(doc, "Components")) {
        cJSON *name = cJSON_GetObjectItemCaseSensitive(comp, "Name");
        if (cJSON_IsString(name) && strcmp(name->valuestring, "Podman Engine") == 0)
            e->podman = 1;
    }
    cJSON_Delete(doc);
    docker_response_clear(&r);

    if (major > DOCKER_API_VERSION_MAJOR ||
        (major == DOCKER_API_VERSION_MAJOR && minor > DOCKER_API_VERSION_MINOR)) {
        major = DOCKER_API_VERSION_MAJOR;
        minor = DOCKER_API_VERSION_MINOR;
    }
    if (min_major > major || (min_major == major && min_minor > minor))
        return e->host->fail(e->h, RUNBOX_EUNAVAILABLE,
                             "Docker at %s needs API %d.%d or newer; runbox "
                             "speaks up to %d.%d", e->docker_host, min_major,
                             min_minor, DOCKER_API_VERSION_MAJOR,
                             DOCKER_API_VERSION_MINOR);
    if (major < 1 || (major == 1 && minor < 25))
        return e->host->fail(e->h, RUNBOX_EUNAVAILABLE,
                             "Docker at %s speaks API %d.%d; runbox needs "
                             "1.25 or newer (upgrade the engine)",
                             e->docker_host, major, minor);
    snprintf(e->api_prefix, sizeof(e->api_prefix), "/v%d.%d", major, minor);
    return RUNBOX_OK;
}

int docker_engine_identify(docker_conn *c)
{
    docker_engine *e = c->engine;
    cJSON *info = NULL;
    e->rootless = e->cgroup_v1 = 0;
    if (e->podman) {
        /* Podman's compatible /info does not say "rootless"; its own
         * /libpod/info does. */
        int rc = docker_call_json(c, "GET", "/libpod/info", NULL, 10, 200,
                                  "reading Podman's description", &info, NULL);
        if (rc != RUNBOX_OK)
            return rc;
        cJSON *host = cJSON_GetObjectItemCaseSensitive(info, "host");
        cJSON *sec = cJSON_GetObjectItemCaseSensitive(host, "security");
        e->rootless = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sec, "rootless"));
        cJSON *cg = cJSON_GetObjectItemCaseSensitive(host, "cgroupVersion");
        e->cgroup_v1 = cJSON_IsString(cg) && strcmp(cg->valuestring, "v1") == 0;
        cJSON_Delete(info);
        return RUNBOX_OK;
    }
    int rc = docker_call_json(c, "GET", "/info", NULL, 10, 200,
                              "reading the engine's description", &info, NULL);
    if (rc != RUNBOX_OK)
        return rc;
    /* Docker lists "name=rootless" when it runs as a normal user. */
    cJSON *opt;
    cJSON_ArrayForEach(opt, cJSON_GetObjectItemCaseSensitive(info, "SecurityOptions"))
        if (cJSON_IsString(opt) && strstr(opt->valuestring, "name=rootless"))
            e->rootless = 1;
    cJSON *cg = cJSON_GetObjectItemCaseSensitive(info, "CgroupVersion");
    e->cgroup_v1 = cJSON_IsString(cg) && strcmp(cg->valuestring, "1") == 0;
    cJSON_Delete(info);
    return RUNBOX_OK;
}

int docker_engine_ping(docker_conn *c)
{
    docker_response r = {0};
    docker_sink sink = {.resp = &r};
    int rc = docker_perform(c, "GET", "/_ping", 0, NULL, NULL, 0, 2, &sink,
                            &r.status);
    if (rc == RUNBOX_OK && r.status != 200)
        rc = docker_api_error(c->engine, &r, "GET /_ping");
    docker_response_clear(&r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Hijacked connections                                                */
/* ------------------------------------------------------------------ */
/* libcurl has no HTTP upgrade to a raw stream, so the connection is made
 * with CURLOPT_CONNECT_ONLY (which handles the unix socket and tcp forms
 * alike) and the request is written and its headers read by hand. */

static int docker_wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n;
    do
        n = poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    return n;
}

static int docker_hijack_send(docker_hijack *hj, const char *buf, size_t len)
{
    while (len) {
        size_t sent = 0;
        CURLcode cc = curl_easy_send(hj->curl, buf, len, &sent);
        if (cc == CURLE_AGAIN) {
            if (docker_wait_fd(hj->fd, POLLOUT, DOCKER_HIJACK_HEADER_TIMEOUT_MS) <= 0)
                return -1;
            continue;
        }
        if (cc != CURLE_OK)
            return -1;
        buf += sent;
        len -= sent;
    }
    return 0;
}

int docker_hijack_open(docker_engine *e, docker_hijack *hj, const char *path,
                       const char *json_body)
{
    const runbox_host *host = e->host;
    char errbuf[CURL_ERROR_SIZE] = "";
    memset(hj, 0, sizeof(*hj));
    hj->fd = -1;
    hj->curl = curl_easy_init();
    if (!hj->curl)
        return host->fail(e->h, RUNBOX_ENOMEM, "curl_easy_init failed");
    curl_easy_setopt(hj->curl, CURLOPT_URL, e->base_url);
    docker_engine_setopts(e, hj->curl);
    curl_easy_setopt(hj->curl, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(hj->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(hj->curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(hj->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    CURLcode cc = curl_easy_perform(hj->curl);
    /* The handle outlives this frame (send/recv on the stream), and curl
     * writes into its error buffer on a failed recv: no pointer to errbuf
     * may stay behind. */
    curl_easy_setopt(hj->curl, CURLOPT_ERRORBUFFER, NULL);
    if (cc != CURLE_OK) {
        int rc = docker_transport_error(e, hj->curl, cc, errbuf, 5);
        docker_hijack_close(hj);
        return rc;
    }
    curl_socket_t sock;
    curl_easy_getinfo(hj->curl, CURLINFO_ACTIVESOCKET, &sock);
    hj->fd = (int)sock;
    /* A child this process starts must not inherit the stream: a keeper's
     * attach would then outlive runbox, and the keeper with it. */
    fcntl(hj->fd, F_SETFD, FD_CLOEXEC);

    char *req = NULL;
    size_t body_len = json_body ? strlen(json_body) : 0;
    int n = asprintf(&req,
                     "POST %s%s HTTP/1.1\r\nHost: docker\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n%s",
                     e->api_prefix, path, body_len, json_body ? json_body : "");
    if (n < 0) {
        docker_hijack_close(hj);
        return host->fail(e->h, RUNBOX_ENOMEM, "out of memory");
    }
    int bad = docker_hijack_send(hj, req, (size_t)n);
    free(req);
    if (bad) {
        docker_hijack_close(hj);
        return host->fail(e->h, RUNBOX_EIO, "Docker at %s: sending %s failed",
                          e->docker_host, path);
    }

    /* Read up to the end of the headers; whatever follows is stream data. */
    size_t cap = 4096, have = 0;
    char *buf = malloc(cap + 1);
    char *end = NULL;
    while (buf && !end) {
        if (have == cap) {
            char *g = cap < (1u << 20) ? realloc(buf, cap * 2 + 1) : NULL;
            if (!g)
                break;
            buf = g;
            cap *= 2;
        }
        size_t got = 0;
        cc = curl_easy_recv(hj->curl, buf + have, cap - have, &got);
        if (cc == CURLE_AGAIN) {
            if (docker_wait_fd(hj->fd, POLLIN, DOCKER_HIJACK_HEADER_TIMEOUT_MS) <= 0)
                break;
            continue;
        }
        if (cc != CURLE_OK || got == 0)
            break;
        have += got;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    long status = 0;
    if (!end || sscanf(buf, "HTTP/1.%*d %ld", &status) != 1) {
        free(buf);
        docker_hijack_close(hj);
        return host->fail(e->h, RUNBOX_EPROTO,
                          "Docker at %s: no valid answer to POST %s",
                          e->docker_host, path);
    }
    if (status != 101 && status != 200) {
        /* An error comes as a normal response whose body has the message;
         * the body may still be in flight, so wait for it briefly. */
        size_t hdr = (size_t)(end + 4 - buf);
        while (have < cap && docker_wait_fd(hj->fd, POLLIN, 200) > 0) {
            size_t got = 0;
            if (curl_easy_recv(hj->curl, buf + have, cap - have, &got) != CURLE_OK ||
                got == 0)
                break;
            have += got;
            buf[have] = '\0';
            if (strchr(buf + hdr, '}'))
                break;
        }
        docker_response r = {.status = status, .body = strdup(buf + hdr)};
        r.len = r.body ? strlen(r.body) : 0;
        /* Chunked encoding puts a size line before the JSON. */
        char *brace = r.body ? strchr(r.body, '{') : NULL;
        if (brace && brace != r.body) {
            memmove(r.body, brace, strlen(brace) + 1);
            r.len = strlen(r.body);
        }
        free(buf);
        docker_hijack_close(hj);
        char what[160];
        snprintf(what, sizeof(what), "POST %s", path);
        int rc = docker_api_error(e, &r, what);
        docker_response_clear(&r);
        return rc;
    }
    size_t hdr = (size_t)(end + 4 - buf);
    hj->pending_len = have - hdr;
    memmove(buf, buf + hdr, hj->pending_len);
    hj->pending = buf;
    return RUNBOX_OK;
}

void docker_hijack_close(docker_hijack *hj)
{
    if (hj->curl)
        curl_easy_cleanup(hj->curl);
    free(hj->pending);
    memset(hj, 0, sizeof(*hj));
    hj->fd = -1;
}
