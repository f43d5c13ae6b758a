/* runbox-subprocess-init: pid 1 of a sandbox.
 *
 * Started by the backend with execve in fresh namespaces, so it holds
 * nothing of runbox: no memory, no descriptor but the control socket (fd 3)
 * and /dev/null on 0-2, an empty environment. It is not dumpable, so the
 * code (same host uid, but no capability in init's user namespace) can
 * neither read its /proc files nor its descriptors. It reaps every orphan,
 * reports the end of the processes it spawned, kills on request, and exits
 * when the control socket closes, which ends the pid namespace and so
 * every process in the sandbox, whatever killed runbox.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox_init.h"

#define MAX_TRACKED 256

static int ctl = SBX_CTL_FD;
static pid_t tracked[MAX_TRACKED];
/* CPU limits of tracked processes, on their exact CPU clocks. */
static struct {
    clockid_t clock;
    uint64_t limit_ns;
    int hit;
} cpu[MAX_TRACKED];
static const char *packages;
static struct sock_fprog filter = {0, (struct sock_filter *)sbx_filter_code};

static void sbx_send(uint32_t op, pid_t pid, int status, int err,
                     uint64_t cpu, const char *step)
{
    sbx_reply r;
    memset(&r, 0, sizeof r);
    r.op = op;
    r.pid = pid;
    r.status = status;
    r.err = err;
    r.cpu_usec = cpu;
    if (step)
        snprintf(r.step, sizeof r.step, "%s", step);
    if (send(ctl, &r, sizeof r, MSG_NOSIGNAL) != sizeof r)
        _exit(1); /* runbox is gone: exiting ends the sandbox */
}

static void sbx_reap(void)
{
    int st;
    struct rusage ru;
    pid_t pid;
    while ((pid = wait4(-1, &st, WNOHANG, &ru)) > 0)
        for (int i = 0; i < MAX_TRACKED; i++)
            if (tracked[i] == pid) {
                tracked[i] = 0;
                uint64_t us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
                              (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
                sbx_send(SBX_EXITED, pid, st, cpu[i].hit, us, NULL);
                cpu[i].limit_ns = 0;
                cpu[i].hit = 0;
                break;
            }
}

/* SIGKILLs every live process but init and keep; returns how many. */
static int sbx_kill_round(pid_t keep)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid <= 1 || pid == keep)
            continue;
        char path[64], buf[256];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[got] = '\0';
        char *rp = strrchr(buf, ')');
        /* Zombies and the dying wait only for their parent to reap them. */
        if (!rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X')
            continue;
        kill(pid, SIGKILL);
        n++;
    }
    closedir(d);
    return n;
}

static double sbx_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void sbx_kill_all(pid_t keep)
{
    double until = sbx_now() + 5;
    int left;
    /* Killed processes can still have forked: look again until a round
     * finds nothing (a fork bomb's members die faster than they fork). */
    while ((left = sbx_kill_round(keep)) > 0 && sbx_now() < until) {
        sbx_reap();
        usleep(200);
    }
    sbx_reap();
    sbx_send(SBX_KILLED, 0, left, 0, 0, NULL);
}

static void sbx_spawn_one(const sbx_spawn *req, size_t len, int *fds, int nfds)
{
    const char *step = "read the request";
    int err = EINVAL;
    char **vec = NULL;
    if ((int)req->nfds != nfds || req->argc == 0 || req->argc > 4096 ||
        req->envc > 4096)
        goto fail;
    vec = calloc(req->argc + req->envc + 2, sizeof *vec);
    if (!vec) {
        err = ENOMEM;
        goto fail;
    }
    const char *p = (const char *)(req + 1), *end = (const char *)req + len;
    for (uint32_t i = 0; i < req->argc + req->envc; i++) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        if (!z)
            goto fail;
        vec[i < req->argc ? i : i + 1] = (char *)p;
        p = z + 1;
    }
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0) {
        err = errno;
        step = "make a pipe";
        goto fail;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(ctl);
        close(ep[0]);
        sbx_plan plan = {req, vec, vec + req->argc + 1, fds, packages, &filter,
                         ep[1]};
        sbx_child_exec(&plan);
    }
    close(ep[1]);
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    nfds = 0;
    free(vec);
    vec = NULL;
    if (pid < 0) {
        close(ep[0]);
        err = errno;
        step = "fork";
        goto fail;
    }
    /* EOF: the exec worked (the pipe closed with it). */
    sbx_child_error ce;
    ssize_t n;
    while ((n = read(ep[0], &ce, sizeof ce)) < 0 && errno == EINTR)
        ;
    close(ep[0]);
    if (n == sizeof ce) {
        waitpid(pid, NULL, 0);
        ce.step[sizeof ce.step - 1] = '\0';
        sbx_send(SBX_SPAWNED, 0, 0, ce.err ? ce.err : EIO, 0, ce.step);
        return;
    }
    for (int i = 0; i < MAX_TRACKED; i++)
        if (!tracked[i]) {
            tracked[i] = pid;
            cpu[i].hit = 0;
            cpu[i].limit_ns = 0;
            if (req->cpu_seconds && clock_getcpuclockid(pid, &cpu[i].clock) == 0)
                cpu[i].limit_ns = req->cpu_seconds * 1000000000ull;
            break;
        }
    sbx_send(SBX_SPAWNED, pid, 0, 0, 0, NULL);
    return;
fail:
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    free(vec);
    sbx_send(SBX_SPAWNED, 0, 0, err, 0, step);
}

/* Kills the processes past their CPU limit; returns the poll timeout
 * until the next look (-1: no limit to watch). */
static int sbx_check_cpu(void)
{
    int watch = 0;
    for (int i = 0; i < MAX_TRACKED; i++) {
        if (!tracked[i] || !cpu[i].limit_ns || cpu[i].hit)
            continue;
        struct timespec t;
        if (clock_gettime(cpu[i].clock, &t) < 0)
            continue;
        uint64_t used = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
        if (used >= cpu[i].limit_ns) {
            kill(tracked[i], SIGKILL);
            cpu[i].hit = 1;
        } else {
            watch = 1;
        }
    }
    return watch ? 10 : -1;
}

/* Receives one message and its descriptors; 0 at EOF. */
static ssize_t sbx_recv(void *buf, size_t size, int *fds, int *nfds)
{
    char cbuf[CMSG_SPACE(sizeof(int) * SBX_MAX_FDS)];
    struct iovec iov = {buf, size};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf};
    ssize_t n;
    while ((n = recvmsg(ctl, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    *nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < k; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                if (*nfds < SBX_MAX_FDS)
                    fds[(*nfds)++] = fd;
                else
                    close(fd);
            }
        }
    return n;
}

static int sbx_setup(char *buf)
{
    int fds[SBX_MAX_FDS], nfds;
    ssize_t n = sbx_recv(buf, SBX_MSG_MAX, fds, &nfds);
    const sbx_config *c = (const sbx_config *)buf;
    if (n < (ssize_t)sizeof *c || c->op != SBX_CONFIG ||
        c->version != SBX_PROTO_VERSION || c->nbinds > 16) {
        sbx_send(SBX_READY, 0, 0, EPROTO, 0, "read the sandbox's configuration "
                 "(runbox and its init come from different builds)");
        return -1;
    }
    const char *strs[18];
    uint32_t count = c->nbinds + (c->has_packages ? 1 : 0);
    const char *p = (const char *)(c + 1), *end = buf + n;
    for (uint32_t i = 0; i < count; i++) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        if (!z) {
            sbx_send(SBX_READY, 0, 0, EPROTO, 0, "read the sandbox's configuration");
            return -1;
        }
        strs[i] = p;
        p = z + 1;
    }
    packages = c->has_packages ? strs[c->nbinds] : NULL;
    const char *step = NULL;
    filter.len = sbx_filter_len;
    if (sbx_root_build(c->tmpfs_bytes, strs, c->nbinds, packages, &step) < 0) {
        sbx_send(SBX_READY, 0, 0, errno ? errno : EIO, 0, step);
        return -1;
    }
    /* A cgroup namespace hides the host's cgroup paths; a UTS one the
     * host's name. Neither is needed for safety, so failures are fine. */
    unshare(CLONE_NEWCGROUP);
    sethostname("sandbox", 7);
    sbx_send(SBX_READY, 0, 0, 0, 0, NULL);
    return 0;
}

int main(void)
{
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    char *buf = malloc(SBX_MSG_MAX);
    if (sfd < 0 || !buf || sbx_setup(buf) < 0)
        return 1;
    for (;;) {
        struct pollfd pf[2] = {{ctl, POLLIN, 0}, {sfd, POLLIN, 0}};
        if (poll(pf, 2, sbx_check_cpu()) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (pf[1].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == sizeof si)
                ;
            sbx_reap();
        }
        if (!pf[0].revents)
            continue;
        int fds[SBX_MAX_FDS], nfds;
        ssize_t n = sbx_recv(buf, SBX_MSG_MAX, fds, &nfds);
        if (n <= 0)
            return 0; /* runbox closed the sandbox or died */
        uint32_t op = n >= 4 ? *(uint32_t *)buf : 0;
        if (op == SBX_SPAWN && n >= (ssize_t)sizeof(sbx_spawn)) {
            sbx_spawn_one((const sbx_spawn *)buf, (size_t)n, fds, nfds);
            continue;
        }
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        if (op == SBX_KILL && n >= (ssize_t)sizeof(sbx_kill))
            sbx_kill_all(((const sbx_kill *)buf)->keep);
    }
}
