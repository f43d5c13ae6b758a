/* runbox mcp: mcp_server_main (see mcp_server.h) and the stdio transport.
 *
 * On stdio the main thread reads stdin and answers everything that needs
 * no tool itself, so ping and tools/list stay fast while code runs; tool
 * calls go to the engine's worker threads. A mutex keeps each message on
 * one whole line of stdout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp.h"
#include "mcp_server.h"

typedef struct mcp_stdio {
    mcp_engine *engine;
    int out_fd;
    pthread_mutex_t out_lock;
    int out_broken;
    int wake[2]; /* self-pipe: signals and a broken stdout wake the loop */
} mcp_stdio;

static volatile sig_atomic_t mcp_signalled;
static int mcp_signal_fd = -1;

static void mcp_wake(int fd)
{
    ssize_t n = write(fd, "w", 1);
    (void)n; /* a full pipe already wakes the loop */
}

/* Writes one message and its newline, whole, and frees it. */
static void mcp_stdio_send(void *userdata, char *line)
{
    mcp_stdio *s = userdata;
    if (!line)
        return;
    pthread_mutex_lock(&s->out_lock);
    size_t len = strlen(line);
    line[len] = '\n'; /* the NUL is ours to overwrite; len + 1 bytes sent */
    const char *p = line;
    size_t left = len + 1;
    while (!s->out_broken && left) {
        ssize_t n = write(s->out_fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* The client is gone: nobody can read answers any more. */
            s->out_broken = 1;
            mcp_wake(s->wake[1]);
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    pthread_mutex_unlock(&s->out_lock);
    free(line);
}

static void mcp_stdio_close(void *userdata)
{
    (void)userdata; /* the stream stays open for the next message */
}

static void mcp_stdio_line(mcp_stdio *s, mcp_protocol *proto, const char *line,
                           size_t len)
{
    mcp_message m;
    char *reply = NULL;
    if (len == 0)
        return;
    if (mcp_jsonrpc_parse(&m, line, len, &reply)) {
        mcp_stdio_send(s, reply);
        return;
    }
    switch (mcp_protocol_handle(proto, &m, &reply)) {
    case MCP_ROUTE_TOOL_CALL:
        mcp_engine_start(s->engine, "", &m,
                         (mcp_sink){mcp_stdio_send, mcp_stdio_close, s});
        break;
    case MCP_ROUTE_CANCEL:
        mcp_engine_cancel(s->engine, "", &m);
        break;
    case MCP_ROUTE_DONE:
        if (!reply && m.kind == MCP_MSG_REQUEST)
            reply = mcp_jsonrpc_error(m.id, MCP_INTERNAL_ERROR,
                                      "Internal error: out of memory");
        mcp_stdio_send(s, reply);
        break;
    }
    mcp_message_clear(&m);
}

static void mcp_on_signal(int sig)
{
    (void)sig;
    mcp_signalled = 1;
    runbox_interrupt();
    if (mcp_signal_fd >= 0)
        mcp_wake(mcp_signal_fd);
}

static void mcp_install_signals(int wake_fd)
{
    mcp_signal_fd = wake_fd;
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
static void mcp_stdio_serve(mcp_stdio *s, mcp_runtime *rt)
{
    mcp_protocol proto;
    mcp_protocol_init(&proto);
    proto.facts = mcp_runtime_facts;
    proto.facts_userdata = rt;
    mcp_line_reader in;
    mcp_line_init(&in, STDIN_FILENO, MCP_MAX_LINE);
    int eof = 0;
    while (!eof && !mcp_signalled) {
        struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
        int n = poll(fds, 2, -1);
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
                if (st == MCP_LINE_TOO_LONG) {
                    const char *head, *tail;
                    size_t hl, tl;
                    mcp_line_dropped(&in, &head, &hl, &tail, &tl);
                    mcp_stdio_send(s, mcp_jsonrpc_too_long(head, hl, tail, tl,
                                                           MCP_MAX_LINE));
                } else {
                    mcp_stdio_line(s, &proto, line, len);
                }
            }
            eof = in.eof;
        }
    }
    mcp_line_free(&in);
}

/* The library's one exported symbol (see MCP_SERVER_MAIN). */
__attribute__((visibility("default")))
int mcp_server_main(runbox_config *cfg, const char *config_error,
                    const mcp_server_options *opt)
{
    mcp_stdio s;
    memset(&s, 0, sizeof s);
    s.out_fd = opt && opt->out_fd > 0 ? opt->out_fd : STDOUT_FILENO;
    if (pipe2(s.wake, O_CLOEXEC | O_NONBLOCK)) {
        runbox_config_free(cfg);
        fprintf(stderr, "runbox mcp: cannot create a pipe: %s\n", strerror(errno));
        return 125;
    }
    const char *backend = cfg && runbox_config_get(cfg, "backend")
                              ? runbox_config_get(cfg, "backend") : "unconfigured";
    char backend_name[64];
    snprintf(backend_name, sizeof backend_name, "%s", backend);
    mcp_runtime *rt = mcp_runtime_new(cfg, config_error);
    s.engine = rt ? mcp_engine_new(rt) : NULL;
    if (!s.engine) {
        fprintf(stderr, "runbox mcp: out of memory\n");
        mcp_runtime_free(rt);
        close(s.wake[0]);
        close(s.wake[1]);
        return 125;
    }
    pthread_mutex_init(&s.out_lock, NULL);
    mcp_install_signals(s.wake[1]);
    int rc = 0;
    if (opt && opt->http) {
        mcp_http_options ho = {opt->http, opt->token, opt->origins,
                               opt->port_file};
        rc = mcp_http_serve(s.engine, rt, &ho, s.wake[0]) ? 2 : 0;
    } else {
        fprintf(stderr, "runbox mcp: %s %s ready on stdio (backend %s, opened "
                "on first use)\n", MCP_SERVER_NAME, RUNBOX_VERSION_STRING,
                backend_name);
        mcp_stdio_serve(&s, rt);
    }
    /* Stops every call, waits for them, then closes the sandboxes. */
    mcp_engine_free(s.engine);
    mcp_runtime_free(rt);

    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    mcp_signal_fd = -1;
    close(s.wake[0]);
    close(s.wake[1]);
    pthread_mutex_destroy(&s.out_lock);
    return rc;
}
