/* runbox mcp: the python_executor tool server on stdio (see mcp.h).
 *
 * The main thread reads stdin and answers everything that needs no
 * backend itself, so ping and tools/list stay fast while code runs. Every
 * tools/call runs on its own thread; a mutex keeps each response on one
 * whole line of stdout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcp.h"
#include "mcp_server.h"

/* Calls running at once; more are refused (as tool errors) until some end. */
#define MCP_MAX_CALLS 32
/* Progress notifications at most this often per call (seconds). */
#define MCP_PROGRESS_INTERVAL 1.0
#define MCP_PROGRESS_OUTPUT_INTERVAL 0.25

typedef struct mcp_server mcp_server;

typedef struct mcp_call {
    struct mcp_call *next;
    mcp_server *srv;
    cJSON *request;      /* the request; id, params and token point into it */
    const cJSON *id;
    char *id_key;
    const cJSON *token;  /* _meta.progressToken, or NULL */
    volatile int cancel; /* read by the core while the run goes on */
    /* Under srv->lock: */
    int silent;          /* cancelled by the client or shutdown: no answer */
    int answered;        /* no progress notifications after the answer */
    int finished;        /* the thread can be joined */
    unsigned progress;
    double started, last_progress;
    unsigned long long output_bytes;
    pthread_t thread;
} mcp_call;

struct mcp_server {
    mcp_runtime *rt;
    pthread_mutex_t out_lock;
    int out_broken;
    pthread_mutex_t lock;
    mcp_call *calls;
    int call_count;
    int wake[2]; /* self-pipe: signals and finished calls wake the loop */
};

static volatile sig_atomic_t mcp_signalled;
static int mcp_signal_fd = -1;

static double mcp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void mcp_wake(mcp_server *s)
{
    ssize_t n = write(s->wake[1], "w", 1);
    (void)n; /* a full pipe already wakes the loop */
}

/* Writes one message and its newline, whole, and frees it. */
static void mcp_send(mcp_server *s, char *line)
{
    if (!line)
        return;
    pthread_mutex_lock(&s->out_lock);
    size_t len = strlen(line);
    line[len] = '\n'; /* the NUL is ours to overwrite; len + 1 bytes sent */
    const char *p = line;
    size_t left = len + 1;
    while (!s->out_broken && left) {
        ssize_t n = write(STDOUT_FILENO, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* The client is gone: nobody can read answers any more. */
            s->out_broken = 1;
            mcp_wake(s);
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    pthread_mutex_unlock(&s->out_lock);
    free(line);
}

/* One notifications/progress; under s->lock so that none follows the
 * call's answer. */
static void mcp_progress_send(mcp_call *c, double now)
{
    cJSON *p = cJSON_CreateObject();
    if (!p)
        return;
    cJSON_AddItemToObject(p, "progressToken", cJSON_Duplicate(c->token, 0));
    cJSON_AddNumberToObject(p, "progress", ++c->progress);
    char msg[128];
    snprintf(msg, sizeof msg, "running for %.0f s, %llu bytes of output",
             now - c->started, c->output_bytes);
    cJSON_AddStringToObject(p, "message", msg);
    c->last_progress = now;
    mcp_send(c->srv, mcp_jsonrpc_notification("notifications/progress", p));
}

static void mcp_on_output(void *userdata, int stream, const char *data,
                          size_t len)
{
    (void)stream;
    (void)data;
    mcp_call *c = userdata;
    pthread_mutex_lock(&c->srv->lock);
    c->output_bytes += len;
    double now = mcp_now();
    if (!c->answered && now - c->last_progress >= MCP_PROGRESS_OUTPUT_INTERVAL)
        mcp_progress_send(c, now);
    pthread_mutex_unlock(&c->srv->lock);
}

/* Calls that asked for progress hear from us at least every interval,
 * even when the code prints nothing. */
static void mcp_progress_tick(mcp_server *s)
{
    double now = mcp_now();
    pthread_mutex_lock(&s->lock);
    for (mcp_call *c = s->calls; c; c = c->next)
        if (c->token && !c->answered && !c->silent &&
            now - c->last_progress >= MCP_PROGRESS_INTERVAL)
            mcp_progress_send(c, now);
    pthread_mutex_unlock(&s->lock);
}

static void *mcp_call_main(void *arg)
{
    mcp_call *c = arg;
    mcp_server *s = c->srv;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(c->request, "params");
    const char *name = cJSON_GetObjectItemCaseSensitive(params, "name")->valuestring;
    mcp_tool_env env = {s->rt, &c->cancel, c->token ? mcp_on_output : NULL, c};
    cJSON *result = mcp_tools_call(&env, name,
                                   cJSON_GetObjectItemCaseSensitive(params, "arguments"));
    pthread_mutex_lock(&s->lock);
    int silent = c->silent;
    c->answered = 1;
    pthread_mutex_unlock(&s->lock);
    /* A cancelled request gets no response (MCP cancellation). */
    if (silent)
        cJSON_Delete(result);
    else if (result)
        mcp_send(s, mcp_jsonrpc_result(c->id, result));
    else
        mcp_send(s, mcp_jsonrpc_error(c->id, MCP_INTERNAL_ERROR,
                                      "Internal error: out of memory"));
    pthread_mutex_lock(&s->lock);
    c->finished = 1;
    pthread_mutex_unlock(&s->lock);
    mcp_wake(s);
    return NULL;
}

static void mcp_call_free(mcp_call *c)
{
    cJSON_Delete(c->request);
    free(c->id_key);
    free(c);
}

/* Joins the calls whose threads ended (all of them when wait is set). */
static void mcp_reap(mcp_server *s, int wait)
{
    for (;;) {
        mcp_call *done = NULL;
        pthread_mutex_lock(&s->lock);
        for (mcp_call **pp = &s->calls; *pp; pp = &(*pp)->next)
            if ((*pp)->finished || wait) {
                done = *pp;
                *pp = done->next;
                s->call_count--;
                break;
            }
        pthread_mutex_unlock(&s->lock);
        if (!done)
            return;
        pthread_join(done->thread, NULL);
        mcp_call_free(done);
    }
}

static mcp_call *mcp_find_call(mcp_server *s, const char *key)
{
    for (mcp_call *c = s->calls; c; c = c->next)
        if (!strcmp(c->id_key, key))
            return c;
    return NULL;
}

static void mcp_cancel(mcp_server *s, const mcp_message *m)
{
    char *key = mcp_jsonrpc_id_key(
        cJSON_GetObjectItemCaseSensitive(m->params, "requestId"));
    if (!key)
        return;
    pthread_mutex_lock(&s->lock);
    mcp_call *c = mcp_find_call(s, key);
    /* An unknown or finished request is ignored, as the spec allows. */
    if (c && !c->answered) {
        c->silent = 1;
        c->cancel = 1;
        fprintf(stderr, "runbox mcp: request %s cancelled by the client\n", key);
    }
    pthread_mutex_unlock(&s->lock);
    free(key);
}

/* Starts a worker thread for a tools/call; takes msg->root. */
static void mcp_start_call(mcp_server *s, mcp_message *m)
{
    mcp_call *c = calloc(1, sizeof *c);
    char *key = c ? mcp_jsonrpc_id_key(m->id) : NULL;
    if (!key) {
        free(c);
        mcp_send(s, mcp_jsonrpc_error(m->id, MCP_INTERNAL_ERROR,
                                      "Internal error: out of memory"));
        return;
    }
    pthread_mutex_lock(&s->lock);
    const char *refusal = NULL;
    int code = MCP_INVALID_REQUEST;
    if (mcp_find_call(s, key)) {
        refusal = "Invalid Request: a request with this id is still running";
    } else if (s->call_count >= MCP_MAX_CALLS) {
        refusal = "Internal error: too many tool calls running; retry when "
                  "some have finished";
        code = MCP_INTERNAL_ERROR;
    }
    pthread_mutex_unlock(&s->lock);
    if (refusal) {
        mcp_send(s, mcp_jsonrpc_error(m->id, code, refusal));
        free(key);
        free(c);
        return;
    }
    c->srv = s;
    c->request = m->root;
    m->root = NULL;
    c->id = m->id;
    c->id_key = key;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(m->params, "_meta");
    c->token = cJSON_GetObjectItemCaseSensitive(meta, "progressToken");
    c->started = c->last_progress = mcp_now();

    /* Workers leave SIGINT/SIGTERM to the main thread, whose poll() they
     * must interrupt. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_mutex_lock(&s->lock);
    int rc = pthread_create(&c->thread, NULL, mcp_call_main, c);
    if (!rc) {
        c->next = s->calls;
        s->calls = c;
        s->call_count++;
    }
    pthread_mutex_unlock(&s->lock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        mcp_send(s, mcp_jsonrpc_error(c->id, MCP_INTERNAL_ERROR,
                                      "Internal error: cannot start a thread"));
        mcp_call_free(c);
    }
}

static void mcp_handle_line(mcp_server *s, mcp_protocol *proto,
                            const char *line, size_t len)
{
    mcp_message m;
    char *reply = NULL;
    if (len == 0)
        return;
    if (mcp_jsonrpc_parse(&m, line, len, &reply)) {
        mcp_send(s, reply);
        return;
    }
    switch (mcp_protocol_handle(proto, &m, &reply)) {
    case MCP_ROUTE_TOOL_CALL:
        mcp_start_call(s, &m);
        break;
    case MCP_ROUTE_CANCEL:
        mcp_cancel(s, &m);
        break;
    case MCP_ROUTE_DONE:
        if (!reply && m.kind == MCP_MSG_REQUEST)
            reply = mcp_jsonrpc_error(m.id, MCP_INTERNAL_ERROR,
                                      "Internal error: out of memory");
        mcp_send(s, reply);
        break;
    }
    mcp_message_clear(&m);
}

static void mcp_on_signal(int sig)
{
    (void)sig;
    mcp_signalled = 1;
    runbox_interrupt();
    if (mcp_signal_fd >= 0) {
        ssize_t n = write(mcp_signal_fd, "s", 1);
        (void)n;
    }
}

static void mcp_install_signals(mcp_server *s)
{
    mcp_signal_fd = s->wake[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mcp_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A client that goes away must not kill us mid-write. */
    signal(SIGPIPE, SIG_IGN);
}

/* Reads and answers until end of input, a signal, or a closed stdout. */
static void mcp_serve(mcp_server *s)
{
    mcp_protocol proto;
    mcp_protocol_init(&proto);
    mcp_line_reader in;
    mcp_line_init(&in, STDIN_FILENO, MCP_MAX_LINE);
    int eof = 0;
    while (!eof && !mcp_signalled) {
        struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
        int n = poll(fds, 2, (int)(MCP_PROGRESS_INTERVAL * 1000 / 4));
        if (n < 0 && errno != EINTR)
            break;
        if (fds[1].revents) {
            char drain[64];
            while (read(s->wake[0], drain, sizeof drain) > 0)
                ;
        }
        pthread_mutex_lock(&s->out_lock);
        int broken = s->out_broken;
        pthread_mutex_unlock(&s->out_lock);
        if (broken || mcp_signalled)
            break;
        if (n > 0 && fds[0].revents) {
            long got = mcp_line_fill(&in);
            if (got < 0 && errno != EINTR && errno != EAGAIN)
                in.eof = 1; /* a broken stdin ends the session like EOF */
            const char *line;
            size_t len;
            mcp_line_status st;
            while ((st = mcp_line_next(&in, &line, &len)) != MCP_LINE_NONE) {
                if (st == MCP_LINE_TOO_LONG)
                    mcp_send(s, mcp_jsonrpc_error(NULL, MCP_INVALID_REQUEST,
                                                  "Invalid Request: message "
                                                  "longer than 16 MiB"));
                else
                    mcp_handle_line(s, &proto, line, len);
            }
            eof = in.eof;
        }
        mcp_reap(s, 0);
        mcp_progress_tick(s);
    }
    mcp_line_free(&in);
}

/* Stops every call, waits for them, and closes the sandboxes. */
static void mcp_shutdown(mcp_server *s)
{
    pthread_mutex_lock(&s->lock);
    int running = s->call_count;
    for (mcp_call *c = s->calls; c; c = c->next) {
        c->silent = 1;
        c->cancel = 1;
    }
    pthread_mutex_unlock(&s->lock);
    if (running) {
        fprintf(stderr, "runbox mcp: stopping %d running call%s\n", running,
                running == 1 ? "" : "s");
        /* Also stops what cancel flags cannot reach (sandbox start-up,
         * installs); the sandboxes are still destroyed below. */
        runbox_interrupt();
    }
    mcp_reap(s, 1);
    mcp_runtime_free(s->rt);
    s->rt = NULL;
}

int mcp_server_main(runbox_config *cfg, const char *config_error)
{
    mcp_server s;
    memset(&s, 0, sizeof s);
    if (pipe2(s.wake, O_CLOEXEC | O_NONBLOCK)) {
        runbox_config_free(cfg);
        fprintf(stderr, "runbox mcp: cannot create a pipe: %s\n", strerror(errno));
        return 125;
    }
    s.rt = mcp_runtime_new(cfg, config_error);
    if (!s.rt) {
        fprintf(stderr, "runbox mcp: out of memory\n");
        close(s.wake[0]);
        close(s.wake[1]);
        return 125;
    }
    pthread_mutex_init(&s.out_lock, NULL);
    pthread_mutex_init(&s.lock, NULL);
    mcp_install_signals(&s);
    fprintf(stderr, "runbox mcp: %s %s ready on stdio (backend %s, opened on "
            "first use)\n", MCP_SERVER_NAME, RUNBOX_VERSION_STRING,
            cfg && runbox_config_get(cfg, "backend")
                ? runbox_config_get(cfg, "backend") : "unconfigured");

    mcp_serve(&s);
    mcp_shutdown(&s);

    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    mcp_signal_fd = -1;
    close(s.wake[0]);
    close(s.wake[1]);
    pthread_mutex_destroy(&s.out_lock);
    pthread_mutex_destroy(&s.lock);
    return 0;
}
