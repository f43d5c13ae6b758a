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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "docker_internal.h"

#define DOCKER_PUMP_TICK_MS 50
/* After the code was stopped from outside, how long to wait for the
 * stream to end before giving up on it. */
#define DOCKER_PUMP_GRACE_S 10.0
#define DOCKER_PUMP_RESTOP_S 1.0
/* How often p->touch runs while the code runs. */
#define DOCKER_PUMP_TOUCH_S 5.0
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

/* The stop request runs beside the pump: a kill blocks inside the engine
 * until the process is gone, and with an output flood that needs the
 * stream to be drained, which only the pump does. */
typedef struct docker_stopper {
    docker_pump *p;
    pthread_t thread;
    int started;
    int done; /* written by the thread, read under __atomic */
} docker_stopper;

static void *docker_stopper_main(void *arg)
{
    docker_stopper *s = arg;
    s->p->stop(s->p->stop_arg);
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Starts a stop unless one is still in flight; synchronously when no
 * thread can be made. */
static void docker_stopper_fire(docker_stopper *s)
{
    if (!s->p->stop)
        return;
    if (s->started) {
        if (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE))
            return;
        pthread_join(s->thread, NULL);
        s->started = 0;
    }
    s->done = 0;
    if (pthread_create(&s->thread, NULL, docker_stopper_main, s) == 0)
        s->started = 1;
    else
        s->p->stop(s->p->stop_arg);
}

static void docker_stopper_finish(docker_stopper *s)
{
    if (s->started)
        pthread_join(s->thread, NULL);
    s->started = 0;
}

static void docker_pump_stop(docker_pump *p, docker_stopper *s,
                             docker_stop_reason why, double *give_up_at)
{
    p->stopped = why;
    *give_up_at = p->host->now() + DOCKER_PUMP_GRACE_S;
    docker_stopper_fire(s);
}

/* Reads what is there, also what the TLS layer holds already decrypted
 * (poll does not see that). 0 = more may come, 1 = the stream ended. */
static int docker_pump_read(docker_pump *p, docker_engine *e,
                            docker_hijack *hj, docker_demux *demux, char *buf,
                            size_t size, int *rc)
{
    for (int i = 0; i < 64; i++) {
        size_t got = 0;
        CURLcode cc = curl_easy_recv(hj->curl, buf, size, &got);
        if (cc == CURLE_AGAIN)
            return 0;
        if (cc != CURLE_OK || got == 0)
            return 1; /* the stream ended: the process exited */
        *rc = docker_demux_feed(demux, buf, got, docker_pump_output, p);
        if (*rc == RUNBOX_EPROTO)
            *rc = p->host->fail(e->h, RUNBOX_EPROTO,
                                "Docker at %s sent a malformed output stream",
                                e->docker_host);
        if (*rc != RUNBOX_OK)
            return 1;
    }
    return 0;
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
    double touch_at = host->now() + DOCKER_PUMP_TOUCH_S;
    docker_stopper stopper = {.p = p};
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
                docker_pump_stop(p, &stopper, DOCKER_STOP_CANCELED, &give_up_at);
            else if (p->deadline > 0 && now >= p->deadline)
                docker_pump_stop(p, &stopper, DOCKER_STOP_TIMEOUT, &give_up_at);
            else if (p->touch && now >= touch_at) {
                touch_at = now + DOCKER_PUMP_TOUCH_S;
                p->touch(p->stop_arg);
            }
            restop_at = now + DOCKER_PUMP_RESTOP_S;
        } else if (now >= give_up_at) {
            break;
        } else if (now >= restop_at) {
            /* Still streaming: stop again (a fork bomb can outrun one
             * pass); harmless when the first one already worked. */
            restop_at = now + DOCKER_PUMP_RESTOP_S;
            docker_stopper_fire(&stopper);
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
        if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
            docker_pump_read(p, e, hj, &demux, buf, sizeof(buf), &rc))
            break;
    }
    docker_stopper_finish(&stopper);
    return rc;
}
