/* The Streamable HTTP transport (MCP 2025-03-26 and later, see mcp.h),
 * on libmicrohttpd with one thread per connection.
 *
 * One endpoint, /mcp:
 *   POST    one JSON-RPC message. A notification or a response gets 202
 *           and no body; a tools/call gets a text/event-stream that
 *           carries its progress notifications and then its response;
 *           every other request gets one application/json response.
 *   GET     405: the server sends nothing unprompted.
 *   DELETE  ends the MCP session: its calls stop, its sandboxes close.
 * initialize starts an MCP session whose Mcp-Session-Id every later
 * request must carry (400 without, 404 for an unknown one). Each MCP
 * session has its own named sandboxes, so several agents can share one
 * server without seeing each other's state.
 *
 * Every request must carry the bearer token (401 otherwise) unless the
 * server runs without one, and a request whose Origin is not one of the
 * server's own (loopback) origins or an allowed one gets 403: a web page
 * cannot drive the server through the user's browser (DNS rebinding). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mcp.h"

#define MCP_HTTP_PATH "/mcp"
/* MCP sessions kept at once; a new one past this ends the least recently
 * used. */
#define MCP_HTTP_MAX_SESSIONS 64
#define MCP_HTTP_ID_LEN 32
#define MCP_HTTP_MAX_CONNECTIONS 64

typedef struct mcp_http_session {
    struct mcp_http_session *next;
    char id[MCP_HTTP_ID_LEN + 1];
    mcp_protocol proto;
    pthread_mutex_t lock; /* proto */
    int users;            /* requests using it (under srv->lock) */
    double last_seen;
} mcp_http_session;

typedef struct mcp_http {
    mcp_engine *engine;
    mcp_runtime *rt;
    const mcp_http_options *opt;
    char origin[3][80]; /* the server's own origins */
    pthread_mutex_t lock;
    mcp_http_session *sessions;
    int session_count;
    volatile int stopping;
} mcp_http;

/* The body of one request, bounded like a stdio line: beyond
 * MCP_MAX_LINE only its two ends are kept. */
typedef struct mcp_http_request {
    mcp_text body;
    int too_long;
    char head[MCP_LINE_KEEP];
    size_t head_len;
    char tail[MCP_LINE_KEEP];
    size_t tail_len;
} mcp_http_request;

/* The event stream of one tools/call: the engine's sink writes, the
 * response's reader drains. Freed by whichever of the two lets go last. */
typedef struct mcp_stream {
    mcp_http *srv;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    mcp_text pending;
    size_t sent;
    int closed;
    int refs;
} mcp_stream;

static double mcp_http_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Event streams                                                       */
/* ------------------------------------------------------------------ */
static void mcp_stream_unref(mcp_stream *st)
{
    pthread_mutex_lock(&st->lock);
    int last = --st->refs == 0;
    pthread_mutex_unlock(&st->lock);
    if (!last)
        return;
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->cond);
    free(st->pending.data);
    free(st);
}

static void mcp_stream_send(void *userdata, char *line)
{
    mcp_stream *st = userdata;
    pthread_mutex_lock(&st->lock);
    mcp_text_lit(&st->pending, "event: message\ndata: ");
    mcp_text_add(&st->pending, line, strlen(line));
    mcp_text_lit(&st->pending, "\n\n");
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->lock);
    free(line);
}

static void mcp_stream_close(void *userdata)
{
    mcp_stream *st = userdata;
    pthread_mutex_lock(&st->lock);
    st->closed = 1;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->lock);
    mcp_stream_unref(st);
}

/* libmicrohttpd asks for more of the response: wait for an event (this
 * connection has its own thread), the end, or the server stopping. */
static ssize_t mcp_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    mcp_stream *st = cls;
    pthread_mutex_lock(&st->lock);
    while (st->sent == st->pending.len && !st->closed && !st->srv->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&st->cond, &st->lock, &until);
    }
    ssize_t n;
    if (st->sent < st->pending.len) {
        size_t k = st->pending.len - st->sent;
        if (k > max)
            k = max;
        memcpy(buf, st->pending.data + st->sent, k);
        st->sent += k;
        if (st->sent == st->pending.len)
            st->sent = st->pending.len = 0; /* reuse the buffer */
        n = (ssize_t)k;
    } else {
        n = st->pending.failed ? MHD_CONTENT_READER_END_WITH_ERROR
                               : MHD_CONTENT_READER_END_OF_STREAM;
    }
    pthread_mutex_unlock(&st->lock);
    return n;
}

static void mcp_stream_free_cb(void *cls)
{
    mcp_stream_unref(cls);
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */
/* ------------------------------------------------------------------ */
static enum MHD_Result mcp_http_reply(struct MHD_Connection *c,
                                      unsigned status, const char *type,
                                      const char *body, const char *session)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (session)
        MHD_add_response_header(r, "Mcp-Session-Id", session);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"runbox mcp\"");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST, DELETE");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* A JSON-RPC message as the whole body (consumed). */
static enum MHD_Result mcp_http_json(struct MHD_Connection *c, unsigned status,
                                     char *line, const char *session)
{
    if (!line)
        return mcp_http_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
                              "out of memory\n", NULL);
    enum MHD_Result ok = mcp_http_reply(c, status, "application/json", line,
                                        session);
    free(line);
    return ok;
}

/* An HTTP-level refusal, with a JSON-RPC error body as the TypeScript SDK
 * server sends it (no id: the message was not looked at). */
static enum MHD_Result mcp_http_refuse(struct MHD_Connection *c,
                                       unsigned status, int code,
                                       const char *why)
{
    return mcp_http_json(c, status, mcp_jsonrpc_error(NULL, code, why), NULL);
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */
/* ------------------------------------------------------------------ */
static const char *mcp_header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static int mcp_origin_ok(const mcp_http *srv, const char *origin)
{
    if (!origin)
        return 1; /* not a browser: nothing to check */
    for (int i = 0; i < 3; i++)
        if (srv->origin[i][0] && !strcmp(origin, srv->origin[i]))
            return 1;
    for (const char *const *o = srv->opt->origins; o && *o; o++)
        if (!strcmp(origin, *o))
            return 1;
    return 0;
}

static int mcp_token_ok(const mcp_http *srv, const char *auth)
{
    const char *token = srv->opt->token;
    if (!token)
        return 1;
    if (!auth || strncasecmp(auth, "Bearer ", 7))
        return 0;
    auth += 7;
    while (*auth == ' ')
        auth++;
    size_t n = strlen(token);
    /* Equal length first (the length is no secret), then constant time. */
    return strlen(auth) == n && sodium_memcmp(auth, token, n) == 0;
}

static int mcp_accepts(const char *accept, const char *type)
{
    return !accept || strstr(accept, type) || strstr(accept, "*/*");
}

/* ------------------------------------------------------------------ */
/* Sessions                                                            */
/* ------------------------------------------------------------------ */
static mcp_http_session *mcp_session_get(mcp_http *srv, const char *id)
{
    pthread_mutex_lock(&srv->lock);
    mcp_http_session *s = srv->sessions;
    while (s && strcmp(s->id, id))
        s = s->next;
    if (s) {
        s->users++;
        s->last_seen = mcp_http_now();
    }
    pthread_mutex_unlock(&srv->lock);
    return s;
}

static void mcp_session_put(mcp_http *srv, mcp_http_session *s)
{
    pthread_mutex_lock(&srv->lock);
    s->users--;
    pthread_mutex_unlock(&srv->lock);
}

/* Ends an MCP session that was unlinked: its calls stop, its sandboxes
 * close, then it is freed once no request uses it. */
static void mcp_session_end(mcp_http *srv, mcp_http_session *s)
{
    mcp_engine_cancel_owner(srv->engine, s->id);
    mcp_runtime_close_owner(srv->rt, s->id);
    for (;;) {
        pthread_mutex_lock(&srv->lock);
        int busy = s->users;
        pthread_mutex_unlock(&srv->lock);
        if (!busy)
            break;
        usleep(10000);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static mcp_http_session *mcp_session_unlink(mcp_http *srv, const char *id)
{
    pthread_mutex_lock(&srv->lock);
    mcp_http_session *found = NULL;
    for (mcp_http_session **pp = &srv->sessions; *pp; pp = &(*pp)->next)
        if (!id || !strcmp((*pp)->id, id)) {
            found = *pp;
            *pp = found->next;
            srv->session_count--;
            break;
        }
    pthread_mutex_unlock(&srv->lock);
    return found;
}

/* A new session (not yet listed) for an initialize request. */
static mcp_http_session *mcp_session_new(mcp_http *srv)
{
    mcp_http_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    unsigned char raw[MCP_HTTP_ID_LEN / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(s->id, sizeof s->id, raw, sizeof raw);
    mcp_protocol_init(&s->proto);
    s->proto.facts = mcp_runtime_facts;
    s->proto.facts_userdata = srv->rt;
    pthread_mutex_init(&s->lock, NULL);
    s->last_seen = mcp_http_now();
    return s;
}

static void mcp_session_list(mcp_http *srv, mcp_http_session *s)
{
    mcp_http_session *evict = NULL;
    pthread_mutex_lock(&srv->lock);
    if (srv->session_count >= MCP_HTTP_MAX_SESSIONS) {
        mcp_http_session *old = NULL;
        for (mcp_http_session *e = srv->sessions; e; e = e->next)
            if (!old || e->last_seen < old->last_seen)
                old = e;
        if (old)
            evict = old;
    }
    s->next = srv->sessions;
    srv->sessions = s;
    srv->session_count++;
    pthread_mutex_unlock(&srv->lock);
    if (evict && (evict = mcp_session_unlink(srv, evict->id))) {
        fprintf(stderr, "runbox mcp: ending MCP session %.8s..., the least "
                "recently used of %d\n", evict->id, MCP_HTTP_MAX_SESSIONS);
        mcp_session_end(srv, evict);
    }
}

/* ------------------------------------------------------------------ */
/* POST                                                                */
/* ------------------------------------------------------------------ */
static enum MHD_Result mcp_http_post(mcp_http *srv, struct MHD_Connection *c,
                                     mcp_http_request *req)
{
    const char *type = mcp_header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!type || strncasecmp(type, "application/json", 16))
        return mcp_http_refuse(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                               MCP_INVALID_REQUEST, "Unsupported Media Type: "
                               "Content-Type must be application/json");
    const char *accept = mcp_header(c, MHD_HTTP_HEADER_ACCEPT);
    if (!mcp_accepts(accept, "application/json") ||
        !mcp_accepts(accept, "text/event-stream"))
        return mcp_http_refuse(c, MHD_HTTP_NOT_ACCEPTABLE, MCP_INVALID_REQUEST,
                               "Not Acceptable: Accept must list both "
                               "application/json and text/event-stream");
    if (req->too_long)
        return mcp_http_json(c, MHD_HTTP_CONTENT_TOO_LARGE,
                             mcp_jsonrpc_too_long(req->head, req->head_len,
                                                  req->tail, req->tail_len,
                                                  MCP_MAX_LINE), NULL);
    mcp_message m;
    char *error = NULL;
    if (mcp_jsonrpc_parse(&m, req->body.data ? req->body.data : "",
                          req->body.len, &error)) {
        if (!error)
            return mcp_http_reply(c, MHD_HTTP_ACCEPTED, "text/plain", "", NULL);
        return mcp_http_json(c, MHD_HTTP_BAD_REQUEST, error, NULL);
    }
    enum MHD_Result ok;
    const char *sid = mcp_header(c, "Mcp-Session-Id");
    int is_init = m.kind == MCP_MSG_REQUEST && !strcmp(m.method, "initialize");
    mcp_http_session *s = NULL;
    if (is_init) {
        s = mcp_session_new(srv);
        if (!s) {
            mcp_message_clear(&m);
            return mcp_http_refuse(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                   MCP_INTERNAL_ERROR, "out of memory");
        }
    } else if (!sid) {
        mcp_message_clear(&m);
        return mcp_http_refuse(c, MHD_HTTP_BAD_REQUEST, MCP_INVALID_REQUEST,
                               "Bad Request: Mcp-Session-Id header is "
                               "required (send initialize first)");
    } else if (!(s = mcp_session_get(srv, sid))) {
        mcp_message_clear(&m);
        return mcp_http_refuse(c, MHD_HTTP_NOT_FOUND, MCP_INVALID_REQUEST,
                               "Session not found: it ended or never "
                               "existed; initialize a new one");
    }
    const char *version = mcp_header(c, "MCP-Protocol-Version");
    if (!is_init && version && !mcp_protocol_supported(version)) {
        mcp_session_put(srv, s);
        mcp_message_clear(&m);
        char why[160];
        snprintf(why, sizeof why, "Bad Request: unsupported MCP-Protocol-Version "
                 "'%.40s' (supported: %s, %s, %s, %s)", version,
                 mcp_protocol_versions[0], mcp_protocol_versions[1],
                 mcp_protocol_versions[2], mcp_protocol_versions[3]);
        return mcp_http_refuse(c, MHD_HTTP_BAD_REQUEST, MCP_INVALID_REQUEST, why);
    }

    char *reply = NULL;
    pthread_mutex_lock(&s->lock);
    mcp_route route = mcp_protocol_handle(&s->proto, &m, &reply);
    int initialized = s->proto.initialized;
    pthread_mutex_unlock(&s->lock);

    if (route == MCP_ROUTE_TOOL_CALL) {
        mcp_stream *st = calloc(1, sizeof *st);
        struct MHD_Response *r = st ? MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, 16384, mcp_stream_read, st, mcp_stream_free_cb) : NULL;
        if (!r) {
            free(st);
            ok = mcp_http_json(c, MHD_HTTP_OK, mcp_jsonrpc_error(
                m.id, MCP_INTERNAL_ERROR, "Internal error: out of memory"), NULL);
        } else {
            st->srv = srv;
            st->refs = 2; /* the response and the engine's sink */
            pthread_mutex_init(&st->lock, NULL);
            pthread_cond_init(&st->cond, NULL);
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                    "text/event-stream");
            MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
            mcp_engine_start(srv->engine, s->id, &m,
                             (mcp_sink){mcp_stream_send, mcp_stream_close, st});
            ok = MHD_queue_response(c, MHD_HTTP_OK, r);
            MHD_destroy_response(r);
        }
    } else if (route == MCP_ROUTE_CANCEL) {
        mcp_engine_cancel(srv->engine, s->id, &m);
        ok = mcp_http_reply(c, MHD_HTTP_ACCEPTED, "text/plain", "", NULL);
    } else if (m.kind != MCP_MSG_REQUEST) {
        free(reply);
        ok = mcp_http_reply(c, MHD_HTTP_ACCEPTED, "text/plain", "", NULL);
    } else {
        if (!reply)
            reply = mcp_jsonrpc_error(m.id, MCP_INTERNAL_ERROR,
                                      "Internal error: out of memory");
        ok = mcp_http_json(c, MHD_HTTP_OK, reply, is_init && initialized ? s->id : NULL);
    }
    mcp_message_clear(&m);
    if (is_init) {
        if (initialized) {
            mcp_session_list(srv, s);
            fprintf(stderr, "runbox mcp: MCP session %.8s... started\n", s->id);
        } else {
            pthread_mutex_destroy(&s->lock);
            free(s);
        }
    } else {
        mcp_session_put(srv, s);
    }
    return ok;
}

/* ------------------------------------------------------------------ */
/* The request handler                                                 */
/* ------------------------------------------------------------------ */
static void mcp_request_keep_tail(mcp_http_request *req, const char *s, size_t n)
{
    if (n >= MCP_LINE_KEEP) {
        memcpy(req->tail, s + n - MCP_LINE_KEEP, MCP_LINE_KEEP);
        req->tail_len = MCP_LINE_KEEP;
        return;
    }
    size_t keep = req->tail_len + n > MCP_LINE_KEEP ? MCP_LINE_KEEP - n : req->tail_len;
    memmove(req->tail, req->tail + req->tail_len - keep, keep);
    memcpy(req->tail + keep, s, n);
    req->tail_len = keep + n;
}

static void mcp_request_add(mcp_http_request *req, const char *data, size_t n)
{
    if (!req->too_long && req->body.len + n <= MCP_MAX_LINE) {
        mcp_text_add(&req->body, data, n);
        return;
    }
    if (!req->too_long) {
        /* Over the limit: keep only the ends, to answer the id. */
        req->too_long = 1;
        req->head_len = req->body.len < MCP_LINE_KEEP ? req->body.len : MCP_LINE_KEEP;
        memcpy(req->head, req->body.data, req->head_len);
        mcp_request_keep_tail(req, req->body.data, req->body.len);
        free(req->body.data);
        req->body = (mcp_text){0};
    }
    mcp_request_keep_tail(req, data, n);
}

static enum MHD_Result mcp_http_handle(void *cls, struct MHD_Connection *c,
                                       const char *url, const char *method,
                                       const char *version,
                                       const char *upload, size_t *upload_size,
                                       void **state)
{
    (void)version;
    mcp_http *srv = cls;
    mcp_http_request *req = *state;
    if (!req) {
        /* The headers are in: refuse a stranger before reading any of the
         * body (up to 16 MiB) it sends. */
        if (strcmp(url, MCP_HTTP_PATH))
            return mcp_http_reply(c, MHD_HTTP_NOT_FOUND, "text/plain",
                                  "not found: the MCP endpoint is " MCP_HTTP_PATH "\n",
                                  NULL);
        if (!mcp_origin_ok(srv, mcp_header(c, "Origin")))
            return mcp_http_refuse(c, MHD_HTTP_FORBIDDEN, MCP_INVALID_REQUEST,
                                   "Forbidden: Origin not allowed (see runbox mcp "
                                   "--allow-origin)");
        if (!mcp_token_ok(srv, mcp_header(c, MHD_HTTP_HEADER_AUTHORIZATION)))
            return mcp_http_refuse(c, MHD_HTTP_UNAUTHORIZED, MCP_INVALID_REQUEST,
                                   "Unauthorized: send Authorization: Bearer "
                                   "<token> with the token runbox mcp printed or "
                                   "was given");
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        *state = req;
        return MHD_YES;
    }
    if (*upload_size) {
        mcp_request_add(req, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->body.failed)
        return mcp_http_refuse(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               MCP_INTERNAL_ERROR, "out of memory");
    if (!strcmp(method, "POST"))
        return mcp_http_post(srv, c, req);
    if (!strcmp(method, "DELETE")) {
        const char *sid = mcp_header(c, "Mcp-Session-Id");
        if (!sid)
            return mcp_http_refuse(c, MHD_HTTP_BAD_REQUEST, MCP_INVALID_REQUEST,
                                   "Bad Request: Mcp-Session-Id header is required");
        mcp_http_session *s = mcp_session_unlink(srv, sid);
        if (!s)
            return mcp_http_refuse(c, MHD_HTTP_NOT_FOUND, MCP_INVALID_REQUEST,
                                   "Session not found");
        fprintf(stderr, "runbox mcp: MCP session %.8s... ended by the client\n",
                s->id);
        mcp_session_end(srv, s);
        return mcp_http_reply(c, MHD_HTTP_OK, "text/plain", "", NULL);
    }
    /* GET would open a stream for messages the server starts on its own;
     * this server has none to send. */
    return mcp_http_refuse(c, MHD_HTTP_METHOD_NOT_ALLOWED, MCP_INVALID_REQUEST,
                           "Method Not Allowed: use POST (messages) or DELETE "
                           "(end the session)");
}

static void mcp_http_completed(void *cls, struct MHD_Connection *c,
                               void **state, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    mcp_http_request *req = *state;
    if (req) {
        free(req->body.data);
        free(req);
    }
    *state = NULL;
}

/* ------------------------------------------------------------------ */
/* Serving                                                             */
/* ------------------------------------------------------------------ */
/* Splits "host:port" or "[v6]:port". */
static int mcp_split_address(const char *address, char *host, size_t hsize,
                             char *port, size_t psize)
{
    const char *colon;
    if (address[0] == '[') {
        const char *close = strchr(address, ']');
        if (!close || close[1] != ':')
            return -1;
        snprintf(host, hsize, "%.*s", (int)(close - address - 1), address + 1);
        colon = close + 1;
    } else {
        colon = strrchr(address, ':');
        if (!colon)
            return -1;
        snprintf(host, hsize, "%.*s", (int)(colon - address), address);
    }
    snprintf(port, psize, "%s", colon + 1);
    return *host && *port && strspn(port, "0123456789") == strlen(port) ? 0 : -1;
}

int mcp_http_serve(mcp_engine *e, mcp_runtime *rt, const mcp_http_options *opt,
                   int wake_fd)
{
    char host[256], port[16];
    if (mcp_split_address(opt->address, host, sizeof host, port, sizeof port)) {
        fprintf(stderr, "runbox mcp: --http %s: give HOST:PORT, e.g. "
                "127.0.0.1:8765 (port 0 picks a free one)\n", opt->address);
        return -1;
    }
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai) {
        fprintf(stderr, "runbox mcp: --http %s: %s\n", opt->address,
                gai_strerror(gai));
        return -1;
    }
    if (sodium_init() < 0) {
        freeaddrinfo(ai);
        fprintf(stderr, "runbox mcp: libsodium failed to start\n");
        return -1;
    }
    mcp_http srv;
    memset(&srv, 0, sizeof srv);
    srv.engine = e;
    srv.rt = rt;
    srv.opt = opt;
    pthread_mutex_init(&srv.lock, NULL);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, mcp_http_handle, &srv,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_COMPLETED, mcp_http_completed, &srv,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
        /* Each connection is a thread and may buffer a 16 MiB message. */
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)MCP_HTTP_MAX_CONNECTIONS,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!d) {
        fprintf(stderr, "runbox mcp: cannot listen on %s (in use, or not an "
                "address of this machine)\n", opt->address);
        pthread_mutex_destroy(&srv.lock);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned bound = info ? info->port : 0;
    snprintf(srv.origin[0], sizeof srv.origin[0], "http://127.0.0.1:%u", bound);
    snprintf(srv.origin[1], sizeof srv.origin[1], "http://localhost:%u", bound);
    snprintf(srv.origin[2], sizeof srv.origin[2], "http://[::1]:%u", bound);
    if (opt->port_file) {
        FILE *f = fopen(opt->port_file, "w");
        if (f) {
            fprintf(f, "%u\n", bound);
            fclose(f);
        }
    }
    fprintf(stderr, "runbox mcp: %s %s ready on http://%s%s%s:%u" MCP_HTTP_PATH
            " (Streamable HTTP; %s)\n", MCP_SERVER_NAME, RUNBOX_VERSION_STRING,
            strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
            bound, opt->token ? "bearer token required" : "NO authentication");

    /* Until a signal writes to the wake pipe. */
    for (;;) {
        struct pollfd p = {wake_fd, POLLIN, 0};
        if (poll(&p, 1, -1) > 0)
            break;
    }
    /* Every call answers first (cancelled), then the event streams end,
     * so that connection threads end and clients are not left waiting. */
    mcp_engine_drain(e);
    srv.stopping = 1;
    mcp_http_session *s;
    while ((s = mcp_session_unlink(&srv, NULL)))
        mcp_session_end(&srv, s);
    MHD_stop_daemon(d);
    pthread_mutex_destroy(&srv.lock);
    return 0;
}
