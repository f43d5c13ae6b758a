/* Python through runbox's resident interpreter (interp/runbox_driver.py)
 * in a sandbox.h box: a session keeps one interpreter process across its
 * calls, so a call costs a frame each way instead of a process start; a
 * one-shot run starts one for its single call.
 *
 * The interpreter's fd 0 and 1 are the frame channel (it moves them off
 * 0-2 before the code runs, giving the code /dev/null and pipes of its
 * own), fd 2 its own stderr. Everything runbox concludes comes from the
 * box's init, not from the interpreter: the clock decides timeouts, init's
 * EXITED report the interpreter's end and exit status, init kills what a
 * call left behind (sparing the interpreter) and the cgroup counts OOM
 * kills. Every end of an interpreter moves the session's state epoch on. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "interp.h"
#include "subprocess.h"

struct sp_interp {
    int running;
    int pid;            /* inside the box */
    int to_fd;          /* frames to the interpreter */
    int from_fd;        /* frames from it */
    int err_fd;         /* its own stderr */
    interp_stream stream;
    uint64_t epoch;     /* 0 until the first interpreter starts */
    interp_tail stderr_tail;
};

/* After a hard stop, how long init may take to report the end. */
#define SP_INTERP_KILL_WAIT_S 5.0

static void sp_interp_close_fds(sp_interp *in)
{
    int *fds[] = {&in->to_fd, &in->from_fd, &in->err_fd};
    for (size_t i = 0; i < 3; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}

int sp_interp_pid(const sp_sandbox *s)
{
    return s->interp && s->interp->running ? s->interp->pid : 0;
}

void sp_interp_free(sp_sandbox *s)
{
    if (!s->interp)
        return;
    sp_interp_close_fds(s->interp);
    interp_stream_free(&s->interp->stream);
    free(s->interp);
    s->interp = NULL;
}

/* Forgets the interpreter (its state is lost). */
static void sp_interp_retire(sp_sandbox *s)
{
    sp_interp *in = s->interp;
    sp_interp_close_fds(in);
    interp_stream_free(&in->stream);
    if (in->running)
        in->epoch++;
    in->running = 0;
}

/* The interpreter ended (or was killed): forget it, kill what it left. */
static void sp_interp_lost(sp_sandbox *s)
{
    sp_interp_retire(s);
    sp_box_kill(s->box, 0);
}

static int sp_interp_start(sp_sandbox *s, const runbox_limits *l)
{
    const runbox_host *host = s->b->host;
    sp_interp *in = s->interp;
    int to_p[2] = {-1, -1}, from_p[2] = {-1, -1}, err_p[2] = {-1, -1};
    int code_fd = -1, rc = RUNBOX_OK;
    char **envp = sp_build_env(s);
    if (!envp)
        return host->fail(s->b->hctx, RUNBOX_ENOMEM, "out of memory");
    if (rbk_pipe_above_3(to_p) || rbk_pipe_above_3(from_p) || rbk_pipe_above_3(err_p)) {
        rc = host->fail(s->b->hctx, RUNBOX_EIO, "cannot set up the interpreter's "
                        "pipes: %s", strerror(errno));
        goto done;
    }
    /* The driver as bytecode where the build could compile it (fd 3): no
     * 16 KB of source to compile at every start. */
    code_fd = interp_driver_code_len
                      ? rbk_code_fd((const char *)interp_driver_code,
                                    interp_driver_code_len)
                      : -1;
    const char *argv[] = {s->b->python, "-I", "-c",
                          code_fd >= 0 ? INTERP_DRIVER_BOOT : interp_driver_source,
                          NULL};
    int cg = sp_box_cgroup(s->box);
    int fds[4] = {to_p[0], from_p[1], err_p[1], code_fd};
    /* No CPU rlimit: it would count every call of the session together;
     * the interpreter applies a per-call one itself. */
    sp_box_spawn_opts o = {
        .argv = argv, .envp = (const char *const *)envp, .fds = fds,
        .nfds = code_fd >= 0 ? 4 : 3,
        .network = l->network, .as_bytes = cg ? 0 : l->memory_bytes,
        .nproc = l->processes, .fsize_bytes = l->file_bytes,
        .nofile = l->open_files, .early = 1};
    char err[600];
    int e = sp_box_spawn(s->box, &o, &in->pid, err, sizeof err);
    if (e) {
        rc = host->fail(s->b->hctx, RUNBOX_EBACKEND, "subprocess backend: %s", err);
        goto done;
    }
    in->to_fd = to_p[1];
    in->from_fd = from_p[0];
    in->err_fd = err_p[0];
    to_p[1] = from_p[0] = err_p[0] = -1;
    fcntl(in->to_fd, F_SETFL, fcntl(in->to_fd, F_GETFL) | O_NONBLOCK);
    interp_stream_init(&in->stream, host);
    in->stderr_tail.len = 0;
    in->stderr_tail.text[0] = '\0';
    in->running = 1;
    if (!in->epoch)
        in->epoch = 1;
done:
    rbk_close_pair(to_p);
    rbk_close_pair(from_p);
    rbk_close_pair(err_p);
    if (code_fd >= 0)
        close(code_fd);
    sp_free_env(envp);
    return rc;
}

typedef struct sp_interp_call {
    int stopped;  /* 1 timeout, 2 cancel */
    int killed;   /* the interpreter was killed */
    int ended;    /* init reported its end */
    int wstatus;
    double cpu;
} sp_interp_call;

/* Sends out[0..len) while relaying frames, until the call's D frame or
 * the interpreter's end. */
static int sp_interp_pump(sp_sandbox *s, const runbox_exec_request *req,
                          const char *out, size_t len, int interrupt_first,
                          sp_interp_call *c)
{
    const runbox_host *host = s->b->host;
    sp_interp *in = s->interp;
    char *queue = malloc(len + 5);
    if (!queue)
        return host->fail(s->b->hctx, RUNBOX_ENOMEM, "out of memory");
    memcpy(queue, out, len);
    size_t sent = 0, queued = len;
    double give_up_at = 0;
    int rc = RUNBOX_OK, err_open = 1, from_open = 1;
    char buf[65536];
    while (rc == RUNBOX_OK && !in->stream.done && !c->ended) {
        double now = host->now();
        if (!c->stopped) {
            if (req->io && host->cancelled(req->io))
                c->stopped = 2;
            else if (req->deadline > 0 && now >= req->deadline)
                c->stopped = 1;
            if (c->stopped && interrupt_first) {
                interp_frame_header((unsigned char *)queue + queued, 'I', 0);
                queued += 5;
                give_up_at = now + INTERP_GRACE_S;
            } else if (c->stopped) {
                c->killed = 1;
                sp_box_kill(s->box, 0);
                give_up_at = now + SP_INTERP_KILL_WAIT_S;
            }
        } else if (now >= give_up_at) {
            if (c->killed)
                break;
            c->killed = 1;
            sp_box_kill(s->box, 0);
            give_up_at = now + SP_INTERP_KILL_WAIT_S;
        }
        int timeout = 100;
        double until = !c->stopped ? req->deadline : give_up_at;
        if (until > 0) {
            double left = (until - now) * 1000;
            if (left < timeout)
                timeout = left < 1 ? 1 : (int)left + 1;
        }
        struct pollfd pf[4] = {{from_open ? in->from_fd : -1, POLLIN, 0},
                               {err_open ? in->err_fd : -1, POLLIN, 0},
                               {sp_box_fd(s->box), POLLIN, 0},
                               {sent < queued ? in->to_fd : -1, POLLOUT, 0}};
        int n = poll(pf, 4, timeout);
        if (n < 0 && errno != EINTR) {
            rc = host->fail(s->b->hctx, RUNBOX_EIO, "poll: %s", strerror(errno));
            break;
        }
        if (n <= 0)
            continue;
        if (pf[3].revents) {
            ssize_t did = write(in->to_fd, queue + sent, queued - sent);
            if (did > 0)
                sent += (size_t)did;
            else if (did < 0 && errno != EAGAIN && errno != EINTR)
                queued = sent; /* the interpreter is gone */
        }
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t got = read(in->from_fd, buf, sizeof buf);
            if (got > 0)
                rc = interp_stream_feed(&in->stream, buf, (size_t)got);
            else if (got == 0 || errno != EINTR) {
                from_open = 0; /* it ended: init reports how */
                pf[2].revents = POLLIN;
            }
        }
        if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t got = read(in->err_fd, buf, sizeof buf);
            if (got > 0)
                interp_tail_add(&in->stderr_tail, buf, (size_t)got);
            else if (got == 0 || errno != EINTR)
                err_open = 0;
        }
        if (pf[2].revents) {
            int gone = sp_box_pump(s->box) < 0;
            if (sp_box_exited(s->box, in->pid, &c->wstatus, &c->cpu, NULL))
                c->ended = 1;
            else if (gone) {
                rc = host->fail(s->b->hctx, RUNBOX_EBACKEND, "the sandbox's "
                                "init ended unexpectedly; the run was lost");
                break;
            }
        }
    }
    free(queue);
    /* Frames the interpreter wrote before it ended (its last output). */
    while (rc == RUNBOX_OK && c->ended) {
        ssize_t got = read(in->from_fd, buf, sizeof buf);
        if (got <= 0)
            break;
        rc = interp_stream_feed(&in->stream, buf, (size_t)got);
    }
    return rc;
}

static int sp_interp_alloc(sp_sandbox *s)
{
    if (s->interp)
        return RUNBOX_OK;
    s->interp = calloc(1, sizeof *s->interp);
    if (!s->interp)
        return s->b->host->fail(s->b->hctx, RUNBOX_ENOMEM, "out of memory");
    s->interp->to_fd = s->interp->from_fd = s->interp->err_fd = -1;
    return RUNBOX_OK;
}

int sp_interp_prestart(sp_sandbox *s)
{
    int rc = sp_interp_alloc(s);
    return rc ? rc : sp_interp_start(s, &s->limits);
}

int sp_interp_check(sp_sandbox *s)
{
    sp_interp *in = s->interp;
    if (!in || !in->running)
        return RUNBOX_EGONE;
    int status;
    double cpu;
    if (sp_box_pump(s->box) < 0 || sp_box_exited(s->box, in->pid, &status, &cpu, NULL)) {
        in->running = 0;
        return RUNBOX_EGONE;
    }
    /* A waiting interpreter is silent: anything on its streams (or their
     * end) means it is not waiting any more. */
    struct pollfd pf[2] = {{in->from_fd, POLLIN, 0}, {in->err_fd, POLLIN, 0}};
    return poll(pf, 2, 0) != 0 ? RUNBOX_EGONE : RUNBOX_OK;
}

int sp_interp_exec(sp_sandbox *s, const runbox_exec_request *req, int session,
                   runbox_exec_outcome *out)
{
    const runbox_host *host = s->b->host;
    const runbox_limits *l = &req->limits;
    int rc = sp_interp_alloc(s);
    if (rc)
        return rc;
    sp_interp *in = s->interp;
    if (!in->running)
        rc = sp_interp_start(s, l);
    if (rc)
        return rc;
    /* The interpreter started while the sandbox moved into its cgroups;
     * the code runs only once that is over. */
    char err[600];
    if (sp_box_settle(s->box, err, sizeof err))
        return host->fail(s->b->hctx, RUNBOX_EBACKEND, "subprocess backend: %s", err);
    long oom_before = sp_box_oom_kills(s->box);
    interp_stream_begin(&in->stream, req->io);

    char limits[64];
    int lim_len = l->cpu_seconds > 0
        ? snprintf(limits + 5, sizeof limits - 5, "%.3f",
                   l->cpu_seconds) : 0;
    size_t pre = lim_len > 0 ? (size_t)lim_len + 5 : 0;
    if (pre)
        interp_frame_header((unsigned char *)limits, 'L', (uint32_t)lim_len);
    char *frame = malloc(pre + 5 + req->code_len);
    if (!frame)
        return host->fail(s->b->hctx, RUNBOX_ENOMEM, "out of memory");
    memcpy(frame, limits, pre);
    interp_frame_header((unsigned char *)frame + pre, 'C', (uint32_t)req->code_len);
    memcpy(frame + pre + 5, req->code, req->code_len);
    sp_interp_call c = {0};
    rc = sp_interp_pump(s, req, frame, pre + 5 + req->code_len, session, &c);
    free(frame);

    int cg = sp_box_cgroup(s->box);
    out->limits_applied = RUNBOX_LIMIT_WALL |
        (l->memory_bytes && cg ? RUNBOX_LIMIT_MEMORY : 0) |
        (l->processes ? RUNBOX_LIMIT_PROCESSES : 0) |
        (l->file_bytes ? RUNBOX_LIMIT_FILE_SIZE : 0) |
        (l->open_files ? RUNBOX_LIMIT_OPEN_FILES : 0) |
        (!l->network ? RUNBOX_LIMIT_NETWORK : 0);
    snprintf(out->isolation, sizeof out->isolation,
             "sandbox(userns,pid,mount,%sseccomp), host uid %u, %s",
             l->network ? "" : "net,", (unsigned)sp_box_uid(s->box),
             cg ? "cgroup memory+pids" : "no cgroup: memory per process");
    if (rc == RUNBOX_EPROTO) {
        rc = host->fail(s->b->hctx, RUNBOX_EPROTO, "the interpreter sent a "
                        "malformed frame (%s); it was stopped%s%s%s", in->stream.error,
                        session ? " and the session's variables are lost" : "",
                        in->stderr_tail.len ? "; its stderr ends: " : "",
                        in->stderr_tail.text);
        sp_interp_lost(s);
        runbox_outcome_set_state_epoch(out, session ? in->epoch : 0);
        return rc;
    }
    if (rc)
        return rc;
    if (in->stream.done && !c.ended) {
        /* Ended normally or by the KeyboardInterrupt: a session keeps the
         * interpreter and its variables, and init kills whatever the call
         * left. A one-shot sandbox is destroyed next (it serves one exec),
         * which ends everything in it at once. */
        if (session)
            sp_box_kill(s->box, in->pid);
        out->execution_count = in->stream.execution_count;
        out->verdict = RUNBOX_VERDICT_OK;
        if (c.stopped) {
            out->verdict = c.stopped == 1 ? RUNBOX_VERDICT_TIMEOUT
                                          : RUNBOX_VERDICT_CANCELED;
            out->exit_code = -1;
            out->signal = SIGINT;
            char why[64];
            if (c.stopped == 1)
                snprintf(why, sizeof why, "wall-clock limit of %gs reached",
                         l->wall_seconds);
            else
                snprintf(why, sizeof why, "cancelled");
            snprintf(out->message, sizeof out->message, "%s: the code was "
                     "interrupted (KeyboardInterrupt) and stopped; %s", why,
                     session ? "the session's variables are kept"
                             : "nothing else was running");
        }
        long oom_after = sp_box_oom_kills(s->box);
        if (oom_before >= 0 && oom_after > oom_before && !out->message[0])
            snprintf(out->message, sizeof out->message, "memory limit reached: "
                     "the kernel's OOM killer ended %ld process%s of the run",
                     oom_after - oom_before, oom_after - oom_before == 1 ? "" : "es");
        else if (in->stream.memory_error && l->memory_bytes && !cg &&
                 !out->message[0])
            sp_memory_error_note(out, l->memory_bytes);
        if (!session) /* a one-shot interpreter serves one call */
            sp_interp_retire(s);
        runbox_outcome_set_state_epoch(out, session ? in->epoch : 0);
        return RUNBOX_OK;
    }
    /* The interpreter ended: it exited, crashed, or runbox killed it. */
    if (!c.ended) {
        sp_box_kill(s->box, 0);
        sp_box_pump(s->box);
        if (!sp_box_exited(s->box, in->pid, &c.wstatus, &c.cpu, NULL))
            c.wstatus = SIGKILL;
    }
    out->cpu_seconds = c.cpu;
    rbk_set_verdict(out, l, c.wstatus, c.stopped == 1, c.stopped == 2);
    long oom_after = sp_box_oom_kills(s->box);
    if (!c.stopped && oom_before >= 0 && oom_after > oom_before &&
        WIFSIGNALED(c.wstatus) && WTERMSIG(c.wstatus) == SIGKILL) {
        out->verdict = RUNBOX_VERDICT_OOM;
        snprintf(out->message, sizeof out->message, "memory limit of %llu "
                 "bytes reached: the kernel's OOM killer ended the interpreter",
                 (unsigned long long)l->memory_bytes);
    }
    if (session) {
        size_t n = strlen(out->message);
        if (c.killed)
            snprintf(out->message + n, sizeof out->message - n, "%sit did not "
                     "stop within %.3g s of the KeyboardInterrupt; the "
                     "interpreter was restarted and the session's variables "
                     "are lost", n ? "; " : "", INTERP_GRACE_S);
        else
            snprintf(out->message + n, sizeof out->message - n, "%sthe "
                     "interpreter ended; the session's variables are lost",
                     n ? "; " : "");
    }
    sp_interp_lost(s);
    runbox_outcome_set_state_epoch(out, session ? in->epoch : 0);
    return RUNBOX_OK;
}
