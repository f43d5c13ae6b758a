/*
 * docker_pump.c — drives one hijacked attach/exec stream: writes the code
 * to the process's stdin, half-closes so that it sees EOF, and relays the
 * demultiplexed output to host->emit as it arrives, while watching the
 * deadline and the cancel flag.
 *
 * One poll loop does both directions so that a process which prints before
 * it has read all its input can never deadlock against us, and so that the
 * deadline and cancel checks run at least every DOCKER_PUMP_TICK_MS.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "docker_internal.h"

#define DOCKER_PUMP_TICK_MS 50
/* After the code was stopped from outside, how long to wait for the
 * stream to end before giving up on it. */
#define DOCKER_PUMP_GRACE_S 10.0
#define DOCKER_PUMP_RESTOP_S 1.0
/* Collected output (environment JSON, pip's messages) is small; anything
 * beyond this is dropped rather than held. */
#define DOCKER_PUMP_COLLECT_MAX (8u << 20)

static int docker_pump_output(void *arg, int stream, const char *data,
                              size_t len)
{
    docker_pump *p = arg;
    if (p->io) {
        p->host->emit(p->io, stream, data, len);
        return RUNBOX_OK;
    }
    if (p->collected_len + len > DOCKER_PUMP_COLLECT_MAX)
        return RUNBOX_OK;
    char *g = realloc(p->collected, p->collected_len + len + 1);
    if (!g)
        return RUNBOX_ENOMEM;
    memcpy(g + p->collected_len, data, len);
    p->collected = g;
    p->collected_len += len;
    g[p->collected_len] = '\0';
    return RUNBOX_OK;
}

static void docker_pump_stop(docker_pump *p, docker_stop_reason why,
                             double *give_up_at)
{
    p->stopped = why;
    *give_up_at = p->host->now() + DOCKER_PUMP_GRACE_S;
    if (p->stop)
        p->stop(p->stop_arg);
}

int docker_pump_run(docker_pump *p, docker_engine *e, docker_hijack *hj)
{
    const runbox_host *host = p->host;
    docker_demux demux;
    docker_demux_init(&demux);
    int rc = docker_demux_feed(&demux, hj->pending, hj->pending_len,
                               docker_pump_output, p);
    size_t sent = 0;
    int write_open = 1;
    double give_up_at = 0, restop_at = 0;
    char buf[65536];

    while (rc == RUNBOX_OK) {
        if (write_open && sent == p->input_len) {
            /* EOF on the code's stdin: the engine closes it in turn. */
            shutdown(hj->fd, SHUT_WR);
            write_open = 0;
        }
        double now = host->now();
        if (p->stopped == DOCKER_STOP_NONE) {
            if (p->io && host->cancelled(p->io))
                docker_pump_stop(p, DOCKER_STOP_CANCELED, &give_up_at);
            else if (p->deadline > 0 && now >= p->deadline)
                docker_pump_stop(p, DOCKER_STOP_TIMEOUT, &give_up_at);
            restop_at = now + DOCKER_PUMP_RESTOP_S;
        } else if (now >= give_up_at) {
            break;
        } else if (now >= restop_at) {
            /* Still streaming: stop again (a fork bomb can outrun one
             * pass); harmless when the first one already worked. */
            restop_at = now + DOCKER_PUMP_RESTOP_S;
            if (p->stop)
                p->stop(p->stop_arg);
        }
        if (p->stopped != DOCKER_STOP_NONE && write_open) {
            shutdown(hj->fd, SHUT_WR);
            write_open = 0;
        }

        int timeout_ms = DOCKER_PUMP_TICK_MS;
        if (p->stopped == DOCKER_STOP_NONE && p->deadline > 0) {
            double left_ms = (p->deadline - now) * 1000.0;
            if (left_ms < timeout_ms)
                timeout_ms = left_ms < 0 ? 0 : (int)left_ms + 1;
        }
        struct pollfd pfd = {.fd = hj->fd,
                             .events = (short)(POLLIN | (write_open ? POLLOUT : 0))};
        int n = poll(&pfd, 1, timeout_ms);
        if (n < 0 && errno != EINTR) {
            rc = host->fail(e->h, RUNBOX_EIO, "poll on the Docker stream: %s",
                            strerror(errno));
            break;
        }
        if (n <= 0)
            continue;

        if (write_open && (pfd.revents & POLLOUT)) {
            size_t chunk = p->input_len - sent, did = 0;
            if (chunk > 65536)
                chunk = 65536;
            CURLcode cc = curl_easy_send(hj->curl, p->input + sent, chunk, &did);
            if (cc == CURLE_OK)
                sent += did;
            else if (cc != CURLE_AGAIN)
                write_open = 0; /* the process is gone; read what it left */
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            size_t got = 0;
            CURLcode cc = curl_easy_recv(hj->curl, buf, sizeof(buf), &got);
            if (cc == CURLE_AGAIN)
                continue;
            if (cc != CURLE_OK || got == 0)
                break; /* the stream ended: the process exited */
            rc = docker_demux_feed(&demux, buf, got, docker_pump_output, p);
            if (rc == RUNBOX_EPROTO)
                rc = host->fail(e->h, RUNBOX_EPROTO,
                                "Docker at %s sent a malformed output stream",
                                e->docker_host);
        }
    }
    return rc;
}
