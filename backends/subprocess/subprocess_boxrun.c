/* Running one execution in the sandbox (sandbox.h) and judging its end.
 *
 * The code gets /dev/null, two pipes and its source as a sealed memfd on
 * fd 3; nothing else of runbox. When the code's process ends, everything
 * else it started is killed before the result is reported, so no
 * grandchild can hold the pipes or outlive the run. An OOM verdict comes
 * only from the cgroup's own count of OOM kills; a MemoryError under the
 * per-process address-space limit is the code's error, with a note.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "subprocess.h"

typedef struct sp_watch {
    sp_sink_fn sink;
    void *ud;
    int memory_error; /* "MemoryError" seen on stderr */
} sp_watch;

static void sp_watch_sink(sp_watch *w, int stream, const char *data, size_t len)
{
    if (stream == 2 && memmem(data, len, "MemoryError", 11))
        w->memory_error = 1;
    w->sink(w->ud, stream, data, len);
}

static void sp_box_describe(char *buf, size_t size, const sp_box *box, int network)
{
    snprintf(buf, size, "sandbox(userns,pid,mount,%sseccomp), host uid %u%s, %s",
             network ? "" : "net,", (unsigned)sp_box_uid(box),
             geteuid() == 0 ? "" : " (yours)",
             sp_box_cgroup(box) ? "cgroup memory+pids"
                                : "no cgroup: memory per process");
}

/* Starts sp's process in the box with code_fd (or, when -1, a memfd of
 * sp->code) as its fd 3. On success p holds it and the read ends of its
 * output pipes, for sp_box_finish. */
int sp_box_start(sp_sandbox *s, const sp_spawn *sp, int code_fd, sp_box_proc *p)
{
    const runbox_host *host = s->b->host;
    const runbox_limits *l = sp->limits;
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
    int own_code = -1, devnull = -1, rc = RUNBOX_OK;
    p->pid = 0;
    p->out_fd = p->err_fd = -1;
    char **envp = sp_build_env(s);
    if (!envp)
        return host->fail(s->b->hctx, RUNBOX_ENOMEM, "out of memory");
    if (code_fd < 0 && sp->code &&
        (code_fd = own_code = rbk_code_fd(sp->code, sp->code_len)) < 0) {
        rc = host->fail(s->b->hctx, RUNBOX_EIO, "cannot set up the child's "
                        "pipes: %s", strerror(errno));
        goto done;
    }
    if (rbk_pipe_above_3(out_p) || rbk_pipe_above_3(err_p) ||
        (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        rc = host->fail(s->b->hctx, RUNBOX_EIO, "cannot set up the child's "
                        "pipes: %s", strerror(errno));
        goto done;
    }
    int cg = sp_box_cgroup(s->box);
    int fds[4] = {devnull, out_p[1], err_p[1], code_fd};
    sp_box_spawn_opts o = {
        .argv = sp->argv, .envp = (const char *const *)envp, .fds = fds,
        .nfds = code_fd >= 0 ? 4 : 3, .network = sp->network,
        .packages_rw = sp->packages_rw,
        .cpu_seconds = l->cpu_seconds > 0 ? (uint64_t)(l->cpu_seconds + 0.999) : 0,
        /* With a cgroup the limit covers the whole sandbox; without, the
         * address-space limit at least bounds each process. */
        .as_bytes = cg ? 0 : l->memory_bytes, .nproc = l->processes,
        .fsize_bytes = l->file_bytes, .nofile = l->open_files};
    p->oom_before = sp_box_oom_kills(s->box);
    char err[600];
    int e = sp_box_spawn(s->box, &o, &p->pid, err, sizeof err);
    close(out_p[1]);
    close(err_p[1]);
    out_p[1] = err_p[1] = -1;
    if (e) {
        rc = host->fail(s->b->hctx, RUNBOX_EBACKEND, "subprocess backend: %s", err);
        goto done;
    }
    p->out_fd = out_p[0];
    p->err_fd = err_p[0];
    out_p[0] = err_p[0] = -1;
done:
    rbk_close_pair(out_p);
    rbk_close_pair(err_p);
    if (own_code >= 0)
        close(own_code);
    if (devnull >= 0)
        close(devnull);
    sp_free_env(envp);
    return rc;
}

void sp_memory_error_note(runbox_exec_outcome *out, uint64_t limit)
{
    snprintf(out->message, sizeof out->message, "MemoryError: the "
             "per-process address-space limit (RLIMIT_AS, %llu bytes) was "
             "probably reached; no cgroup counts this sandbox's memory "
             "here, so memory is not listed as applied",
             (unsigned long long)limit);
}

/* Relays the output of the process sp_box_start started until it and
 * everything it started have ended (or the deadline or a cancel ended
 * them), then judges how it ended. Closes p's descriptors. */
int sp_box_finish(sp_sandbox *s, const sp_spawn *sp, sp_box_proc *p,
                  runbox_exec_outcome *out)
{
    const runbox_host *host = s->b->host;
    const runbox_limits *l = sp->limits;
    int out_p[2] = {p->out_fd, -1}, err_p[2] = {p->err_fd, -1};
    int pid = p->pid, rc = RUNBOX_OK;
    int cg = sp_box_cgroup(s->box);
    long oom_before = p->oom_before;
    p->out_fd = p->err_fd = -1;

    sp_watch w = {sp->sink, sp->sink_ud, 0};
    int wstatus = 0, ended = 0, out_open = 1, err_open = 1;
    int timed_out = 0, cancelled = 0, cpu_hit = 0;
    double cpu = 0, ended_at = 0;
    char buf[65536];
    while (!(ended && !out_open && !err_open)) {
        double now = host->now();
        if (!ended && sp->deadline > 0 && now >= sp->deadline)
            timed_out = 1;
        if (!ended && sp->io && host->cancelled(sp->io))
            cancelled = 1;
        if (!ended && (timed_out || cancelled)) {
            sp_box_kill(s->box, sp_interp_pid(s));
            if (!sp_box_exited(s->box, pid, &wstatus, &cpu, &cpu_hit))
                wstatus = SIGKILL; /* init gone: so is the code */
            ended = 1;
            ended_at = now;
        }
        /* Everything is killed once the code ended; a moment for output
         * still in the pipes, never an unbounded wait. */
        if (ended && now - ended_at > 0.5)
            break;
        int timeout = 100;
        if (sp->deadline > 0 && !ended) {
            double left = (sp->deadline - now) * 1000;
            if (left < timeout)
                timeout = left < 1 ? 1 : (int)left;
        }
        struct pollfd pf[3] = {{out_open ? out_p[0] : -1, POLLIN, 0},
                               {err_open ? err_p[0] : -1, POLLIN, 0},
                               {ended ? -1 : sp_box_fd(s->box), POLLIN, 0}};
        int n = poll(pf, 3, timeout);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(pf[i].fd, buf, sizeof buf);
            if (got > 0)
                sp_watch_sink(&w, i + 1, buf, (size_t)got);
            else if (got == 0 || errno != EINTR) {
                if (i == 0) out_open = 0; else err_open = 0;
            }
        }
        if (!ended && (pf[2].revents || pf[2].fd < 0)) {
            int gone = sp_box_pump(s->box) < 0;
            if (sp_box_exited(s->box, pid, &wstatus, &cpu, &cpu_hit) || gone) {
                if (gone) {
                    rc = host->fail(s->b->hctx, RUNBOX_EBACKEND, "the sandbox's "
                                    "init ended unexpectedly; the run was lost");
                    goto done;
                }
                /* The code's tree goes with it (setsid or not). */
                sp_box_kill(s->box, sp_interp_pid(s));
                ended = 1;
                ended_at = host->now();
            }
        }
    }
    out->cpu_seconds = cpu;
    sp_box_describe(out->isolation, sizeof out->isolation, s->box, sp->network);
    out->limits_applied = RUNBOX_LIMIT_WALL |
        (l->cpu_seconds > 0 ? RUNBOX_LIMIT_CPU : 0) |
        (l->memory_bytes && cg ? RUNBOX_LIMIT_MEMORY : 0) |
        (l->processes ? RUNBOX_LIMIT_PROCESSES : 0) |
        (l->file_bytes ? RUNBOX_LIMIT_FILE_SIZE : 0) |
        (l->open_files ? RUNBOX_LIMIT_OPEN_FILES : 0) |
        (!sp->network ? RUNBOX_LIMIT_NETWORK : 0);
    rbk_set_verdict(out, l, wstatus, timed_out, cancelled);
    if (cpu_hit && !timed_out && !cancelled) {
        /* init's word, from the exact clock: not something code can fake */
        out->verdict = RUNBOX_VERDICT_TIMEOUT;
        snprintf(out->message, sizeof out->message, "CPU time limit of %gs "
                 "reached (%.2fs used); the whole process tree was killed",
                 l->cpu_seconds, cpu);
    }
    long oom_after = sp_box_oom_kills(s->box);
    if (oom_before >= 0 && oom_after > oom_before) {
        if (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL && !timed_out &&
            !cancelled) {
            out->verdict = RUNBOX_VERDICT_OOM;
            snprintf(out->message, sizeof out->message, "memory limit of %llu "
                     "bytes reached: the kernel's OOM killer ended the code "
                     "(the sandbox's cgroup counted %ld OOM kill%s)",
                     (unsigned long long)l->memory_bytes, oom_after - oom_before,
                     oom_after - oom_before == 1 ? "" : "s");
        } else if (!out->message[0]) {
            snprintf(out->message, sizeof out->message, "memory limit reached: "
                     "the kernel's OOM killer ended %ld process%s of the run",
                     oom_after - oom_before, oom_after - oom_before == 1 ? "" : "es");
        }
    } else if (w.memory_error && l->memory_bytes && !cg && !out->message[0]) {
        sp_memory_error_note(out, l->memory_bytes);
    }
done:
    rbk_close_pair(out_p);
    rbk_close_pair(err_p);
    return rc;
}

int sp_box_run(sp_sandbox *s, const sp_spawn *sp, runbox_exec_outcome *out)
{
    sp_box_proc p;
    int rc = sp_box_start(s, sp, -1, &p);
    return rc ? rc : sp_box_finish(s, sp, &p, out);
}
