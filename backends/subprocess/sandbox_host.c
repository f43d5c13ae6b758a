/* The sandbox from runbox's side: start its init, talk to it, end it.
 *
 * Creation: a raw clone into new user, pid, mount, ipc and uts namespaces
 * (runbox may be multithreaded, so no glibc fork and only
 * async-signal-safe calls in the child); the child keeps only its end of
 * the control socket, waits until runbox has written its id maps, and
 * execs runbox-subprocess-init with an empty environment. Nothing of
 * runbox survives that exec. Meanwhile a thread moves init into its
 * cgroups; no code runs before that move is over (sp_box_settle).
 *
 * No PR_SET_PDEATHSIG: it fires when the *thread* that cloned exits, and
 * a session may outlive the thread that opened it. init instead exits on
 * EOF of the control socket, which happens when runbox closes it or dies
 * in any way (the only copy is runbox's, close-on-exec).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "sandbox_cgroup.h"
#include "sandbox_proto.h"
#include "sandbox_uid.h"

#define SP_BOX_NS (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | \
                   CLONE_NEWUTS)
#define SP_BOX_MAX_EXITED 32

/* The sandbox's own files: its writable folders (one tmpfs). Everything
 * else inside is read-only system binds, /proc and the read-only root. */
static const char *const sp_box_writable[4] = {SBX_WORKDIR, "/tmp", "/var/tmp",
                                               "/dev/shm"};

struct sp_box {
    pid_t init;       /* host pid of the sandbox's init */
    int ctl;          /* our end of the control socket */
    int root;         /* O_PATH descriptor of the sandbox's root */
    int dirs[4];      /* O_PATH descriptors of its writable folders */
    uid_t uid;
    gid_t gid;
    int uid_lock;
    int has_cgroup;
    sp_cgroup cg;
    pthread_t mover;  /* moving init into cg, while moving (see settle) */
    int moving;
    int move_rc;
    int gone;         /* init ended or stopped answering */
    struct { int pid, status, cpu_hit; double cpu; } exited[SP_BOX_MAX_EXITED];
    int nexited;
};

static int sp_box_write(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -(n < 0 ? e : EIO);
}

static int sp_box_maps(pid_t pid, uid_t uid, gid_t gid)
{
    char path[64], map[64];
    int rc;
    /* A normal user must deny setgroups to map a gid; root keeps it so
     * that the child can drop root's supplementary groups itself. */
    snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
    if (geteuid() != 0 && (rc = sp_box_write(path, "deny")))
        return rc;
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
    if ((rc = sp_box_write(path, map)))
        return rc;
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
    return sp_box_write(path, map);
}

/* The child between clone and exec. */
static void sp_box_child(int sock, int devnull, const char *init_path, int root)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0 ||
        dup2(sock, SBX_CTL_FD) < 0)
        _exit(127);
    close_range(SBX_CTL_FD + 1, ~0U, 0);
    uint32_t op = 0;
    if (recv(SBX_CTL_FD, &op, sizeof op, 0) != sizeof op || op != SBX_GO)
        _exit(127);
    /* Become the mapped uid 0 (runbox as root still has host uid 0, which
     * the map does not contain). Raw calls: glibc's would try to signal
     * the threads of the process this one was cloned from. */
    if (root && syscall(SYS_setgroups, 0, NULL) < 0)
        _exit(127);
    if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
        _exit(127);
    char *const argv[] = {(char *)"runbox-subprocess-init", NULL};
    char *const envp[] = {NULL};
    execve(init_path, argv, envp);
    _exit(127);
}

static int sp_box_recv(sp_box *b, sbx_reply *r, int timeout_ms)
{
    struct pollfd pf = {b->ctl, POLLIN, 0};
    int n;
    while ((n = poll(&pf, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    if (n == 0)
        return -ETIMEDOUT;
    ssize_t got;
    while ((got = recv(b->ctl, r, sizeof *r, 0)) < 0 && errno == EINTR)
        ;
    if (got != sizeof *r) {
        b->gone = 1;
        return -EPIPE;
    }
    return 0;
}

static void sp_box_stash(sp_box *b, const sbx_reply *r)
{
    if (r->op != SBX_EXITED || b->nexited == SP_BOX_MAX_EXITED)
        return;
    b->exited[b->nexited].pid = r->pid;
    b->exited[b->nexited].status = r->status;
    b->exited[b->nexited].cpu = (double)r->cpu_usec / 1e6;
    b->exited[b->nexited].cpu_hit = r->err == 1;
    b->nexited++;
}

/* Waits for a reply of type op, keeping EXITED news for later. */
static int sp_box_await(sp_box *b, uint32_t op, sbx_reply *r, int timeout_ms)
{
    for (;;) {
        int rc = sp_box_recv(b, r, timeout_ms);
        if (rc)
            return rc;
        if (r->op == op)
            return 0;
        sp_box_stash(b, r);
    }
}

static void sp_box_describe_errno(char *err, size_t esize, const char *what, int e)
{
    snprintf(err, esize, "%s: %s", what, strerror(e));
}

static void *sp_box_move(void *arg)
{
    sp_box *b = arg;
    b->move_rc = sp_cgroup_enter(&b->cg, b->init);
    return NULL;
}

/* Moves init's children (started early, see sp_box_spawn_opts.early) to
 * init's cgroups; the second move is quick, the grace period just passed.
 * Only direct children: an early process starts nothing before the code
 * runs. */
static int sp_box_move_children(sp_box *b)
{
    char path[64], list[4096];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)b->init, (int)b->init);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, list, sizeof list - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    list[n] = '\0';
    char *save = NULL;
    for (char *t = strtok_r(list, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
        int rc = sp_cgroup_enter(&b->cg, (pid_t)atoi(t));
        if (rc && rc != -ESRCH) /* one that ended meanwhile needs no move */
            return rc;
    }
    return 0;
}

int sp_box_settle(sp_box *b, char *err, size_t esize)
{
    if (!b->moving)
        return 0;
    pthread_join(b->mover, NULL);
    b->moving = 0;
    int rc = b->move_rc ? b->move_rc : sp_box_move_children(b);
    if (rc) {
        b->gone = 1; /* its processes may be outside their limits */
        sp_box_describe_errno(err, esize, "cannot move the sandbox into its "
                              "cgroups", -rc);
    }
    return rc;
}

int sp_box_create(sp_box **out, const sp_box_config *c, char *err, size_t esize)
{
    sp_box *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, esize, "out of memory");
        return -ENOMEM;
    }
    b->init = -1;
    b->ctl = b->root = b->uid_lock = -1;
    for (int i = 0; i < 4; i++)
        b->dirs[i] = -1;
    b->uid = getuid();
    b->gid = getgid();
    int rc = 0;
    if (geteuid() == 0) {
        if ((rc = sp_uid_acquire(&b->uid, &b->uid_lock))) {
            sp_box_describe_errno(err, esize, "cannot reserve a host uid for the "
                                  "sandbox in /run/runbox-uids", -rc);
            goto fail;
        }
        b->gid = (gid_t)b->uid;
    }
    b->has_cgroup = sp_cgroup_create(&b->cg, c->memory_bytes, c->pids_max) == 0;

    int sv[2] = {-1, -1};
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        rc = -errno;
        sp_box_describe_errno(err, esize, "cannot make the sandbox's control "
                              "socket", errno);
        if (devnull >= 0)
            close(devnull);
        goto fail;
    }
    b->ctl = sv[0];
    /* The child's copy must not sit on 0-3, which it overwrites. */
    int high = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
    close(sv[1]);
    sv[1] = high;
    if (high < 0) {
        rc = -errno;
        sp_box_describe_errno(err, esize, "cannot make the sandbox's control "
                              "socket", errno);
        close(devnull);
        goto fail;
    }
    int root = geteuid() == 0;
    pid_t pid = (pid_t)syscall(SYS_clone, SP_BOX_NS | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid == 0)
        sp_box_child(sv[1], devnull, c->init_path, root);
    int e = errno;
    close(sv[1]);
    close(devnull);
    if (pid < 0) {
        rc = -e;
        snprintf(err, esize, "cannot create the sandbox's namespaces (%s): this "
                 "kernel or its settings refuse user namespaces "
                 "(kernel.unprivileged_userns_clone, user.max_user_namespaces, "
                 "an AppArmor or SELinux rule); runbox runs nothing without a "
                 "sandbox unless you set isolation = none in [subprocess]",
                 strerror(e));
        goto fail;
    }
    b->init = pid;
    if ((rc = sp_box_maps(pid, b->uid, b->gid))) {
        sp_box_describe_errno(err, esize, "cannot write the sandbox's uid map", -rc);
        goto fail;
    }
    uint32_t go = SBX_GO;
    char msg[20000];
    sbx_config cfg = {SBX_CONFIG, SBX_PROTO_VERSION, c->tmpfs_bytes, 0,
                      c->packages_dir ? 1 : 0};
    size_t len = sizeof cfg;
    for (size_t i = 0; i < 8 && c->binds[i]; i++) {
        size_t n = strlen(c->binds[i]) + 1;
        if (len + n + 4300 > sizeof msg)
            break;
        memcpy(msg + len, c->binds[i], n);
        len += n;
        cfg.nbinds++;
    }
    if (c->packages_dir) {
        size_t n = strlen(c->packages_dir) + 1;
        memcpy(msg + len, c->packages_dir, n);
        len += n;
    }
    memcpy(msg, &cfg, sizeof cfg);
    if (send(b->ctl, &go, sizeof go, MSG_NOSIGNAL) != sizeof go ||
        send(b->ctl, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
        rc = -EPIPE;
        snprintf(err, esize, "the sandbox's init ended before it started");
        goto fail;
    }
    /* Into the cgroups on a thread of its own: the first move waits for an
     * RCU grace period (~10 ms on cgroup v1), which then overlaps init
     * building the root and the interpreter starting (sp_box_settle). */
    if (b->has_cgroup) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 64 * 1024);
        b->moving = pthread_create(&b->mover, &a, sp_box_move, b) == 0;
        pthread_attr_destroy(&a);
        if (!b->moving && sp_cgroup_enter(&b->cg, pid))
            b->has_cgroup = 0;
    }
    sbx_reply r;
    rc = sp_box_await(b, SBX_READY, &r, 30000);
    if (rc) {
        snprintf(err, esize, "the sandbox's init (%s) %s", c->init_path,
                 rc == -ETIMEDOUT ? "did not answer within 30 s"
                                  : "could not start: is it installed and "
                                    "executable for this user?");
        goto fail;
    }
    if (r.err) {
        r.step[sizeof r.step - 1] = '\0';
        rc = -r.err;
        snprintf(err, esize, "the sandbox cannot %s: %s", r.step, strerror(r.err));
        goto fail;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/root", (int)pid);
    b->root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS};
    for (int i = 0; i < 4 && b->root >= 0; i++)
        if ((b->dirs[i] = (int)syscall(SYS_openat2, b->root, sp_box_writable[i] + 1,
                                       &how, sizeof how)) < 0)
            break;
    if (b->root < 0 || b->dirs[3] < 0) {
        rc = -errno;
        sp_box_describe_errno(err, esize, "cannot open the sandbox's root", errno);
        goto fail;
    }
    *out = b;
    return 0;
fail:
    sp_box_destroy(b);
    return rc ? rc : -EIO;
}

void sp_box_destroy(sp_box *b)
{
    if (!b)
        return;
    if (b->moving)
        pthread_join(b->mover, NULL);
    if (b->ctl >= 0)
        close(b->ctl);
    if (b->init > 0) {
        /* init's end is the pid namespace's end: every process in it is
         * gone once init has been reaped. */
        kill(b->init, SIGKILL);
        while (waitpid(b->init, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (b->root >= 0)
        close(b->root);
    for (int i = 0; i < 4; i++)
        if (b->dirs[i] >= 0)
            close(b->dirs[i]);
    if (b->has_cgroup)
        sp_cgroup_remove(&b->cg);
    else if (b->cg.memory[0] || b->cg.pids[0])
        sp_cgroup_remove(&b->cg);
    sp_uid_release(b->uid, b->uid_lock);
    free(b);
}

int sp_box_spawn(sp_box *b, const sp_box_spawn_opts *o, int *pid, char *err,
                 size_t esize)
{
    if (b->gone) {
        snprintf(err, esize, "the sandbox has ended (its init is gone)");
        return -EPIPE;
    }
    if (o->nfds > SBX_MAX_FDS) {
        snprintf(err, esize, "too many descriptors for one process");
        return -EINVAL;
    }
    int settled = o->early ? 0 : sp_box_settle(b, err, esize);
    if (settled)
        return settled;
    sbx_spawn h = {SBX_SPAWN, (o->network ? 0 : SBX_SPAWN_NET_OFF) |
                   (o->packages_rw ? SBX_SPAWN_PACKAGES_RW : 0), 0, 0,
                   (uint32_t)o->nfds, 0, o->cpu_seconds, o->as_bytes, o->nproc,
                   o->fsize_bytes, o->nofile};
    size_t len = sizeof h;
    for (const char *const *v = o->argv; *v; v++, h.argc++)
        len += strlen(*v) + 1;
    for (const char *const *v = o->envp; v && *v; v++, h.envc++)
        len += strlen(*v) + 1;
    if (len > SBX_MSG_MAX - 64) {
        snprintf(err, esize, "the command line and environment are too large "
                 "(%zu bytes, at most %d)", len, SBX_MSG_MAX - 64);
        return -E2BIG;
    }
    char *msg = malloc(len);
    if (!msg) {
        snprintf(err, esize, "out of memory");
        return -ENOMEM;
    }
    memcpy(msg, &h, sizeof h);
    size_t off = sizeof h;
    for (int k = 0; k < 2; k++)
        for (const char *const *v = k ? o->envp : o->argv; v && *v; v++) {
            size_t n = strlen(*v) + 1;
            memcpy(msg + off, *v, n);
            off += n;
        }
    char cbuf[CMSG_SPACE(sizeof(int) * SBX_MAX_FDS)];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {msg, len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (o->nfds) {
        m.msg_control = cbuf;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)o->nfds);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)o->nfds);
        memcpy(CMSG_DATA(cm), o->fds, sizeof(int) * (size_t)o->nfds);
    }
    ssize_t sent;
    while ((sent = sendmsg(b->ctl, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    int e = errno;
    free(msg);
    if (sent != (ssize_t)len) {
        if (e == EBADF || e == EINVAL) { /* the caller's descriptors */
            sp_box_describe_errno(err, esize, "cannot pass the descriptors", e);
            return -e;
        }
        b->gone = 1;
        sp_box_describe_errno(err, esize, "cannot reach the sandbox's init", e);
        return -EPIPE;
    }
    sbx_reply r;
    int rc = sp_box_await(b, SBX_SPAWNED, &r, 30000);
    if (rc) {
        b->gone = 1;
        snprintf(err, esize, "the sandbox's init %s", rc == -ETIMEDOUT
                 ? "did not answer within 30 s" : "ended unexpectedly");
        return rc;
    }
    if (r.err) {
        r.step[sizeof r.step - 1] = '\0';
        snprintf(err, esize, "cannot %s (%s) in the sandbox: %s", r.step,
                 o->argv[0], strerror(r.err));
        return -r.err;
    }
    *pid = r.pid;
    return 0;
}

int sp_box_fd(const sp_box *b)
{
    return b->gone ? -1 : b->ctl;
}

int sp_box_pump(sp_box *b)
{
    for (;;) {
        sbx_reply r;
        ssize_t got = recv(b->ctl, &r, sizeof r, MSG_DONTWAIT);
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (got != sizeof r) {
            b->gone = 1;
            return -EPIPE;
        }
        sp_box_stash(b, &r);
    }
}

int sp_box_exited(sp_box *b, int pid, int *status, double *cpu_seconds,
                  int *cpu_limit_hit)
{
    for (int i = 0; i < b->nexited; i++)
        if (b->exited[i].pid == pid) {
            *status = b->exited[i].status;
            *cpu_seconds = b->exited[i].cpu;
            if (cpu_limit_hit)
                *cpu_limit_hit = b->exited[i].cpu_hit;
            b->exited[i] = b->exited[--b->nexited];
            return 1;
        }
    return 0;
}

int sp_box_kill(sp_box *b, int keep)
{
    if (b->gone)
        return -EPIPE;
    sbx_kill k = {SBX_KILL, keep};
    if (send(b->ctl, &k, sizeof k, MSG_NOSIGNAL) != sizeof k) {
        b->gone = 1;
        return -EPIPE;
    }
    sbx_reply r;
    int rc = sp_box_await(b, SBX_KILLED, &r, 10000);
    if (rc) {
        b->gone = 1;
        return rc;
    }
    return r.status;
}

/* Parents are made one level at a time, each resolved inside base. */
static void sp_box_mkdirs(int base, char *rel)
{
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
                                      RESOLVE_NO_XDEV};
    for (char *slash = strchr(rel, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        char *name = strrchr(rel, '/');
        int pfd;
        if (name) {
            *name = '\0';
            pfd = (int)syscall(SYS_openat2, base, rel, &how, sizeof how);
            *name = '/';
            name++;
        } else {
            pfd = fcntl(base, F_DUPFD_CLOEXEC, 0);
            name = rel;
        }
        if (pfd >= 0) {
            mkdirat(pfd, name, 0755);
            close(pfd);
        }
        *slash = '/';
    }
}

int sp_box_open(sp_box *b, const char *path, int flags, int *fd)
{
    /* Which writable folder, and the path below it. */
    int base = b->dirs[0];
    const char *below = path;
    if (path[0] == '/') {
        base = -1;
        for (int i = 0; i < 4 && base < 0; i++) {
            size_t n = strlen(sp_box_writable[i]);
            if (!strncmp(path, sp_box_writable[i], n) &&
                (path[n] == '/' || !path[n])) {
                base = b->dirs[i];
                below = path[n] ? path + n + 1 : "";
            }
        }
        if (base < 0)
            return -EXDEV;
    }
    char rel[4200];
    snprintf(rel, sizeof rel, "%s", below[0] ? below : ".");
    /* As the sandbox's uid (this thread only): the tmpfs belongs to the
     * sandbox's user namespace, where root's uid does not exist, and what
     * runbox writes must belong to the code. */
    int root = geteuid() == 0;
    if (root) {
        setfsgid(b->gid);
        setfsuid(b->uid);
    }
    if (flags & O_CREAT)
        sp_box_mkdirs(base, rel);
    /* Inside the folder's own root: "..", absolute links and /proc magic
     * links planted by the code never lead out of it. */
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY),
                           .mode = (flags & O_CREAT) ? 0644 : 0,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
                                      RESOLVE_NO_XDEV};
    int f = (int)syscall(SYS_openat2, base, rel, &how, sizeof how);
    int e = errno;
    if (root) {
        setfsuid(0);
        setfsgid(0);
    }
    if (f < 0)
        return -e;
    *fd = f;
    return 0;
}

uid_t sp_box_uid(const sp_box *b)
{
    return b->uid;
}

gid_t sp_box_gid(const sp_box *b)
{
    return b->gid;
}

int sp_box_cgroup(const sp_box *b)
{
    return b->has_cgroup;
}

long sp_box_oom_kills(const sp_box *b)
{
    return b->has_cgroup ? sp_cgroup_oom_kills(&b->cg) : -1;
}
