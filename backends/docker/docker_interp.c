/*
 * docker_interp.c — Python runs through runbox's resident interpreter
 * (interp/runbox_driver.py): in a session it is one long-lived exec in the
 * keeper whose hijacked stream stays open across calls, so a call costs a
 * frame each way instead of an exec; a one-shot run starts it as the
 * container's command.
 *
 * What runbox believes comes from the engine, not from the driver: the
 * clock decides timeouts, the end of the stream and the exec's (or
 * container's) exit status decide that the interpreter ended, and every
 * end of an interpreter moves the session's state epoch on.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_sandbox.h"

/* After a hard stop, how long the stream may take to end. */
#define DOCKER_INTERP_KILL_WAIT_S 10.0
#define DOCKER_INTERP_TICK_MS 50

typedef struct docker_interp_call {
    docker_sandbox *sb;
    docker_hijack *hj;
    docker_demux *demux;
    interp_stream *stream;
    int (*stop)(docker_sandbox *sb); /* kill the interpreter */
    int interrupt_first;             /* sessions: KeyboardInterrupt first */
    /* What happened. */
    docker_stop_reason stopped;
    int killed; /* the interpreter was killed from outside */
    int ended;  /* its stream ended */
} docker_interp_call;

static int docker_interp_frame(void *arg, int stream, const char *data,
                               size_t len)
{
    docker_interp_call *c = arg;
    if (stream == 1)
        return interp_stream_feed(c->stream, data, len);
    /* The driver's own stderr: only a broken driver writes there (the
     * code's fd 2 is a pipe it relays). Kept for the failure message. */
    interp_tail_add(&c->sb->interp.stderr_tail, data, len);
    return RUNBOX_OK;
}

/* Sends out[0..len) while reading, until the call's D frame, the end of
 * the stream, or (after a stop) the kill wait runs out. */
static int docker_interp_pump(docker_interp_call *c, const runbox_exec_request *req,
                              const char *out, size_t len)
{
    const runbox_host *host = c->sb->st->host;
    docker_engine *e = &c->sb->st->engine;
    docker_hijack *hj = c->hj;
    char *queue = malloc(len + 5);
    if (!queue)
        return host->fail(c->sb->st->h, RUNBOX_ENOMEM, "out of memory");
    memcpy(queue, out, len);
    size_t sent = 0, queued = len;
    double give_up_at = 0;
    int rc = RUNBOX_OK;
    char buf[65536];
    while (rc == RUNBOX_OK && !c->stream->done) {
        double now = host->now();
        if (c->stopped == DOCKER_STOP_NONE) {
            if (req->io && host->cancelled(req->io))
                c->stopped = DOCKER_STOP_CANCELED;
            else if (req->deadline > 0 && now >= req->deadline)
                c->stopped = DOCKER_STOP_TIMEOUT;
            if (c->stopped != DOCKER_STOP_NONE && c->interrupt_first) {
                interp_frame_header((unsigned char *)queue + queued, 'I', 0);
                queued += 5;
                give_up_at = now + INTERP_GRACE_S;
            } else if (c->stopped != DOCKER_STOP_NONE) {
                c->killed = 1;
                c->stop(c->sb);
                give_up_at = now + DOCKER_INTERP_KILL_WAIT_S;
            }
        } else if (now >= give_up_at) {
            if (c->killed)
                break; /* the stream never ended: the caller drops it */
            c->killed = 1;
            c->stop(c->sb);
            give_up_at = now + DOCKER_INTERP_KILL_WAIT_S;
        }
        int timeout_ms = DOCKER_INTERP_TICK_MS;
        double until = c->stopped == DOCKER_STOP_NONE ? req->deadline : give_up_at;
        if (until > 0) {
            double left_ms = (until - now) * 1000.0;
            if (left_ms < timeout_ms)
                timeout_ms = left_ms < 0 ? 0 : (int)left_ms + 1;
        }
        struct pollfd pfd = {.fd = hj->fd,
                             .events = (short)(POLLIN | (sent < queued ? POLLOUT : 0))};
        int n = poll(&pfd, 1, timeout_ms);
        if (n < 0 && errno != EINTR) {
            rc = host->fail(e->h, RUNBOX_EIO, "poll on the Docker stream: %s",
                            strerror(errno));
            break;
        }
        if (n <= 0)
            continue;
        if (sent < queued && (pfd.revents & POLLOUT)) {
            size_t did = 0;
            CURLcode cc = curl_easy_send(hj->curl, queue + sent, queued - sent, &did);
            if (cc == CURLE_OK)
                sent += did;
            else if (cc != CURLE_AGAIN)
                queued = sent; /* the interpreter is gone; read what is left */
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            size_t got = 0;
            CURLcode cc = curl_easy_recv(hj->curl, buf, sizeof(buf), &got);
            if (cc == CURLE_AGAIN)
                continue;
            if (cc != CURLE_OK || got == 0) {
                c->ended = 1;
                break;
            }
            rc = docker_demux_feed(c->demux, buf, got, docker_interp_frame, c);
        }
    }
    free(queue);
    return rc;
}

static int docker_interp_stop_session(docker_sandbox *sb)
{
    sb->conn.should_abort = NULL; /* a stop must not be cut short by a cancel */
    /* The keeper kills every other process: the interpreter and whatever
     * the code started. */
    return docker_container_kill(&sb->conn, sb->keeper_id, "USR1");
}

static int docker_interp_stop_container(docker_sandbox *sb)
{
    sb->conn.should_abort = NULL;
    return docker_stop_run(sb);
}

/* Ends the attach stream and state of one interpreter (a session's, or
 * the one-shot run's own local one). */
static void docker_interp_release(docker_interp *di)
{
    if (!di->running)
        return;
    docker_hijack_close(&di->hj);
    interp_stream_free(&di->stream);
    free(di->exec_id);
    di->exec_id = NULL;
    di->running = 0;
}

void docker_interp_close(docker_sandbox *sb)
{
    docker_interp_release(&sb->interp);
}

void docker_interp_lost(docker_sandbox *sb)
{
    if (!sb->interp.running)
        return;
    docker_interp_close(sb);
    sb->interp.epoch++;
}

static int docker_interp_start(docker_sandbox *sb)
{
    docker_state *st = sb->st;
    docker_interp *di = &sb->interp;
    const char *argv[] = {"python3", "-I", "-c", interp_driver_source,
                          INTERP_ARG_SWEEP, NULL};
    int rc = docker_sandbox_keeper(sb);
    if (rc == RUNBOX_OK)
        rc = docker_exec_create(&sb->conn, &st->cfg, sb->keeper_id, argv,
                                sb->env, 1, &di->exec_id);
    if (rc != RUNBOX_OK)
        return rc;
    char path[256];
    snprintf(path, sizeof(path), "/exec/%s/start", di->exec_id);
    rc = docker_hijack_open(&st->engine, &di->hj, path,
                            "{\"Detach\":false,\"Tty\":false}");
    if (rc != RUNBOX_OK) {
        free(di->exec_id);
        di->exec_id = NULL;
        return rc;
    }
    docker_demux_init(&di->demux);
    interp_stream_init(&di->stream, st->host);
    di->stderr_tail.len = 0;
    di->stderr_tail.text[0] = '\0';
    di->running = 1;
    if (!di->epoch)
        di->epoch = 1;
    return RUNBOX_OK;
}

/* The note for a run whose interpreter ended or was killed. */
static void docker_interp_note(const docker_interp_call *c, int session,
                               runbox_exec_outcome *out)
{
    size_t n = strlen(out->message);
    const char *lost = session ? "; the interpreter was restarted and the "
                                 "session's variables are lost" : "";
    if (c->killed)
        snprintf(out->message + n, sizeof(out->message) - n,
                 "%sit did not stop within %.3g s of the KeyboardInterrupt%s",
                 n ? "; " : "", INTERP_GRACE_S, lost);
    else if (session)
        snprintf(out->message + n, sizeof(out->message) - n,
                 "%sthe interpreter ended (exit status %d)%s", n ? "; " : "",
                 out->exit_code, lost);
}

int docker_interp_exec(docker_sandbox *sb, const runbox_exec_request *req,
                       runbox_exec_outcome *out, docker_ending *end)
{
    docker_state *st = sb->st;
    int session = !(sb->oneshot && !sb->keeper_id);
    docker_interp one = {0};
    docker_interp *di = session ? &sb->interp : &one;
    docker_interp_call c = {.sb = sb, .hj = &di->hj, .demux = &di->demux,
                            .stream = &di->stream};
    int rc = RUNBOX_OK;
    if (session) {
        c.stop = docker_interp_stop_session;
        c.interrupt_first = 1;
        if (!di->running)
            rc = docker_interp_start(sb);
        end->applied = sb->keeper_applied;
    } else {
        /* A container whose command is the interpreter: the one a pool
         * started for this sandbox, or a fresh one. */
        c.stop = docker_interp_stop_container;
        if (sb->prestarted) {
            di->hj = sb->pre_hj;
            end->applied = sb->pre_applied;
            sb->prestarted = 0; /* used once: a second run makes its own */
        } else {
            double life = 0;
            if (req->deadline > 0)
                life = req->deadline - st->host->now() + DOCKER_DEADLINE_GRACE_S;
            rc = docker_run_start(sb, DOCKER_RUN_DRIVER, &req->limits, NULL,
                                  life, &di->hj, &end->applied);
        }
        if (rc == RUNBOX_OK) {
            di->running = 1;
            docker_demux_init(&di->demux);
            interp_stream_init(&di->stream, st->host);
        }
    }
    if (rc == RUNBOX_OK) {
        interp_stream_begin(&di->stream, req->io);
        rc = docker_demux_feed(&di->demux, di->hj.pending, di->hj.pending_len,
                               docker_interp_frame, &c);
        free(di->hj.pending);
        di->hj.pending = NULL;
        di->hj.pending_len = 0;
    }
    if (rc == RUNBOX_OK) {
        /* A session's interpreter applies a CPU limit per run itself (the
         * container's ulimit would count every run together). */
        char limits[64] = "";
        int lim_len = 0;
        if (session && req->limits.cpu_seconds > 0)
            lim_len = snprintf(limits + 5, sizeof(limits) - 5,
                               "%.3f", req->limits.cpu_seconds);
        if (lim_len > 0)
            interp_frame_header((unsigned char *)limits, 'L', (uint32_t)lim_len);
        size_t pre = lim_len > 0 ? (size_t)lim_len + 5 : 0;
        size_t len = pre + req->code_len + 5;
        char *frame = malloc(len);
        if (!frame)
            rc = st->host->fail(st->h, RUNBOX_ENOMEM, "out of memory");
        else {
            memcpy(frame, limits, pre);
            interp_frame_header((unsigned char *)frame + pre, 'C',
                                (uint32_t)req->code_len);
            memcpy(frame + pre + 5, req->code, req->code_len);
            rc = docker_interp_pump(&c, req, frame, len);
            free(frame);
        }
    }
    end->stopped = c.stopped;
    sb->io = NULL; /* the code is done; only bookkeeping is left */
    sb->conn.should_abort = NULL;
    if (rc == RUNBOX_EPROTO && di->stream.error[0]) {
        /* A stream runbox cannot trust any more: end that interpreter. */
        c.stop(sb);
        rc = st->host->fail(st->h, RUNBOX_EPROTO,
                            "the interpreter sent a malformed frame (%s); it "
                            "was stopped%s%s%s",
                            di->stream.error,
                            session ? " and the session's variables are lost" : "",
                            di->stderr_tail.len ? "; its stderr ends: " : "",
                            di->stderr_tail.text);
    }
    if (!session) {
        int ended = c.ended;
        docker_interp_release(di); /* the local one: sb->interp is unused */
        if (rc == RUNBOX_OK && c.stream->done && c.stopped == DOCKER_STOP_NONE) {
            out->execution_count = di->stream.execution_count;
            docker_outcome(sb, req, end, out);
            return RUNBOX_OK;
        }
        if (rc == RUNBOX_OK && ended && c.stopped == DOCKER_STOP_NONE) {
            double timeout = 30;
            if (req->deadline > 0)
                timeout += req->deadline - st->host->now();
            rc = docker_container_wait(&sb->conn, sb->run_id, timeout, &end->status);
            if (rc == RUNBOX_OK && end->status > 128 && end->applied.memory)
                rc = docker_container_state(&sb->conn, sb->run_id, &end->oom, NULL);
        }
        if (rc == RUNBOX_OK)
            docker_outcome(sb, req, end, out);
        return rc;
    }
    if (rc == RUNBOX_OK && c.stream->done) {
        /* The call ended normally or with the KeyboardInterrupt: the
         * interpreter and its variables are still there. */
        out->execution_count = di->stream.execution_count;
        docker_outcome(sb, req, end, out);
        if (c.stopped != DOCKER_STOP_NONE) {
            out->signal = SIGINT;
            snprintf(out->message, sizeof(out->message),
                     "%s: the code was interrupted (KeyboardInterrupt) and "
                     "stopped; the session's variables are kept",
                     c.stopped == DOCKER_STOP_TIMEOUT ? "time limit reached"
                                                      : "cancelled");
        }
        runbox_outcome_set_state_epoch(out, di->epoch);
        return RUNBOX_OK;
    }
    /* The interpreter ended (exited, crashed, was killed) or broke. */
    if (rc == RUNBOX_OK && c.ended && !c.killed)
        rc = docker_exec_exit_code(&sb->conn, di->exec_id, &end->status);
    if (rc == RUNBOX_OK && !c.killed && end->status == 128 + SIGKILL &&
        end->applied.memory)
        end->oom = docker_keeper_oom_killed(sb);
    docker_interp_lost(sb);
    /* Whatever the dead interpreter started goes before the next call.
     * After a stop the keeper is already killing; otherwise it is told to
     * only when something is left, because a kill order it handles late
     * would hit the next call's interpreter. */
    if (c.killed || rc == RUNBOX_EPROTO)
        docker_keeper_quiet(sb);
    else if (docker_keeper_processes(sb) > 1 &&
             docker_container_kill(&sb->conn, sb->keeper_id, "USR1") == RUNBOX_OK)
        docker_keeper_quiet(sb);
    if (rc == RUNBOX_OK) {
        docker_outcome(sb, req, end, out);
        docker_interp_note(&c, 1, out);
    }
    runbox_outcome_set_state_epoch(out, di->epoch);
    return rc;
}
