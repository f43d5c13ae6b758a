/*
 * docker_keeper.c — a session's keeper container is tied to the runbox
 * process that made it.
 *
 * The keeper (docker_init_py in "keep" mode) ends when its stdin ends.
 * runbox attaches to it before start and holds that attach connection
 * for the session's whole life without sending anything; the container is
 * made with StdinOnce, so the engine closes the keeper's stdin when the
 * connection goes. runbox closes it after removing the container; when
 * runbox dies instead (SIGKILL, crash), the kernel closes it, and the
 * container ends at once rather than after idle_timeout.
 *
 * Before any code may run, the keeper must have made itself non-dumpable
 * (so that the code, same uid, can neither ptrace it nor open its stdin
 * through /proc/1/fd and so hold it open) and be watching its stdin. It
 * says so with one byte on stdout; runbox waits for that byte before the
 * first exec. A keeper that dies first (no python3 in the image, say) is
 * reported with what it printed.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "docker_sandbox.h"

/* How long the keeper may take from start to its ready byte (a python
 * start on a loaded machine, or gVisor's). */
#define DOCKER_KEEPER_READY_S 60.0

typedef struct docker_keeper_wait {
    int ready;        /* the ready byte arrived on stdout */
    interp_tail said; /* anything else: a broken init's traceback */
} docker_keeper_wait;

static int docker_keeper_frame(void *arg, int stream, const char *data,
                               size_t len)
{
    docker_keeper_wait *w = arg;
    if (stream == 1 && len && data[0] == DOCKER_KEEPER_READY[0]) {
        w->ready = 1;
        data++, len--;
    }
    if (len)
        interp_tail_add(&w->said, data, len);
    return RUNBOX_OK;
}

/* Reads the keeper's attach stream until its ready byte; RUNBOX_OK, or a
 * recorded failure when it ended or stayed silent. */
static int docker_keeper_await(docker_sandbox *sb, docker_hijack *hj)
{
    docker_state *st = sb->st;
    docker_keeper_wait w;
    memset(&w, 0, sizeof(w));
    docker_demux demux;
    docker_demux_init(&demux);
    int rc = docker_demux_feed(&demux, hj->pending, hj->pending_len,
                               docker_keeper_frame, &w);
    double until = st->host->now() + DOCKER_KEEPER_READY_S;
    int ended = 0;
    char buf[4096];
    while (rc == RUNBOX_OK && !w.ready && !ended) {
        double left = until - st->host->now();
        if (left <= 0)
            break;
        struct pollfd pfd = {.fd = hj->fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR)
            break;
        /* TLS may hold decrypted bytes poll does not see: read anyway. */
        size_t got = 0;
        CURLcode cc = curl_easy_recv(hj->curl, buf, sizeof(buf), &got);
        if (cc == CURLE_AGAIN)
            continue;
        if (cc != CURLE_OK || got == 0)
            ended = 1;
        else
            rc = docker_demux_feed(&demux, buf, got, docker_keeper_frame, &w);
    }
    if (w.ready)
        return RUNBOX_OK;
    return st->host->fail(st->h, RUNBOX_EBACKEND,
                          "the session's container (image %s) %s before its "
                          "init was ready%s%s — the image needs python3 on "
                          "PATH", st->cfg.image,
                          ended ? "ended" : "stayed silent for 60 s",
                          w.said.len ? "; it printed: " : "", w.said.text);
}

int docker_keeper_start(docker_sandbox *sb)
{
    docker_state *st = sb->st;
    cJSON *spec = docker_container_spec(&st->cfg, &st->engine, &st->owner, DOCKER_KEEPER,
                                        &sb->limits, sb->network, sb->env,
                                        st->cfg.idle_timeout, NULL,
                                        &sb->keeper_applied);
    if (!spec)
        return st->host->fail(st->h, RUNBOX_ENOMEM, "out of memory");
    int rc = docker_container_create(&sb->conn, &st->cfg, spec, &sb->keeper_id);
    if (rc == RUNBOX_OK)
        rc = docker_attach_start(sb, sb->keeper_id, &sb->keeper_hj);
    if (rc == RUNBOX_OK) {
        rc = docker_keeper_await(sb, &sb->keeper_hj);
        free(sb->keeper_hj.pending); /* never read again */
        sb->keeper_hj.pending = NULL;
        sb->keeper_hj.pending_len = 0;
    }
    if (rc != RUNBOX_OK && sb->keeper_id) {
        /* No half-made keeper stays: a later call makes a new one. */
        docker_container_remove(&sb->conn, sb->keeper_id);
        free(sb->keeper_id);
        sb->keeper_id = NULL;
    }
    if (rc != RUNBOX_OK)
        docker_hijack_close(&sb->keeper_hj);
    return rc;
}
