/* Running one process tree without a sandbox (isolation = none), and
 * the pieces both ways of running share.
 *
 *   runbox thread ──fork──> shim (child subreaper) ──vfork──> code
 *
 * The shim is the child subreaper: orphans are re-parented to it and it
 * kills them until none is left, so that one SIGTERM to the shim ends
 * everything. It reports the code's status only once the tree is gone, so
 * runbox never waits on a pipe a grandchild still holds. The sandboxed
 * way is subprocess_boxrun.c.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "subprocess.h"

#define SP_NS_FLAGS (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC)

/* Failure messages from the about-to-exec side travel as an errno plus a
 * fixed step name, so that no formatting happens after clone. */
typedef struct sp_setup_error {
    int err;
    char step[48];
} sp_setup_error;

static void sp_setup_fail(int fd, const char *step)
{
    sp_setup_error e = {errno, ""};
    size_t n = strlen(step);
    memcpy(e.step, step, n < sizeof e.step - 1 ? n : sizeof e.step - 1);
    if (write(fd, &e, sizeof e) < 0) {
        /* nothing left to tell */
    }
    _exit(127);
}

static void sp_set_limit(int resource, rlim_t soft, rlim_t hard)
{
    struct rlimit rl = {soft, hard};
    setrlimit(resource, &rl);
}

static void sp_apply_rlimits(const runbox_limits *l)
{
    if (l->cpu_seconds > 0) {
        rlim_t s = (rlim_t)(l->cpu_seconds + 0.999);
        sp_set_limit(RLIMIT_CPU, s, s + 1);
    }
    if (l->memory_bytes)
        sp_set_limit(RLIMIT_AS, l->memory_bytes, l->memory_bytes);
    if (l->processes)
        sp_set_limit(RLIMIT_NPROC, l->processes, l->processes);
    if (l->file_bytes)
        sp_set_limit(RLIMIT_FSIZE, l->file_bytes, l->file_bytes);
    if (l->open_files)
        sp_set_limit(RLIMIT_NOFILE, l->open_files, l->open_files);
    sp_set_limit(RLIMIT_CORE, 0, 0);
}

typedef struct sp_child_plan {
    const sp_sandbox *s;
    const sp_spawn *sp;
    char *const *envp;
    int out_w, err_w, code_fd, devnull, errpipe_w;
    int drop_uid;  /* switch to run_uid/run_gid (no namespaces, as root) */
} sp_child_plan;

/* The last steps before exec, in the process that becomes the code. Only
 * async-signal-safe calls: this may run right after clone. */
static void sp_become_code(const sp_child_plan *p)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setsid();
    if (dup2(p->devnull, 0) < 0 || dup2(p->out_w, 1) < 0 || dup2(p->err_w, 2) < 0)
        sp_setup_fail(p->errpipe_w, "redirect output");
    if (p->code_fd >= 0 && dup2(p->code_fd, 3) < 0)
        sp_setup_fail(p->errpipe_w, "pass the code");
    /* Everything else closes at exec; the error pipe stays usable until
     * then and closes by itself when exec succeeds. */
    syscall(SYS_close_range, p->code_fd >= 0 ? 4 : 3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (chdir(p->s->dir) < 0)
        sp_setup_fail(p->errpipe_w, "enter the work directory");
    if (p->drop_uid) {
        uid_t u = p->s->b->run_uid;
        gid_t g = p->s->b->run_gid;
        if (syscall(SYS_setgroups, 0, NULL) < 0 ||
            syscall(SYS_setresgid, g, g, g) < 0 || syscall(SYS_setresuid, u, u, u) < 0)
            sp_setup_fail(p->errpipe_w, "drop privileges");
    }
    sp_apply_rlimits(p->sp->limits);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    execve(p->sp->argv[0], (char *const *)p->sp->argv, p->envp);
    sp_setup_fail(p->errpipe_w, "start the interpreter");
}

/* Kills every child of this (subreaper) process until none is left. */
static void sp_sweep_orphans(void)
{
    pid_t self = getpid();
    for (;;) {
        /* Usually nothing is left: then there is no /proc walk at all. */
        int st;
        pid_t r = waitpid(-1, &st, WNOHANG);
        if (r < 0 && errno == ECHILD)
            return;
        if (r > 0)
            continue;
        DIR *d = opendir("/proc");
        while (d) {
            struct dirent *de = readdir(d);
            if (!de)
                break;
            if (de->d_name[0] < '1' || de->d_name[0] > '9')
                continue;
            char path[300], buf[512];
            snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            ssize_t n = read(fd, buf, sizeof buf - 1);
            close(fd);
            if (n <= 0)
                continue;
            buf[n] = '\0';
            /* Field 4 (ppid) follows the parenthesised command name. */
            char *rp = strrchr(buf, ')');
            int ppid = 0;
            if (rp && sscanf(rp + 1, " %*c %d", &ppid) == 1 && ppid == self)
                kill(atoi(de->d_name), SIGKILL);
        }
        if (d)
            closedir(d);
        usleep(1000); /* let the killed die before looking again */
    }
}

/* The shim (no namespaces): starts the code as a child subreaper, waits,
 * kills the whole tree on SIGTERM or when the code ends, reports. */
static void sp_shim_main(sp_child_plan *p, int report_w)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    p->drop_uid = geteuid() == 0 && p->s->b->run_uid != 0;
    /* vfork: the shim waits anyway until the code has exec'd. */
    pid_t top = vfork();
    if (top == 0)
        sp_become_code(p);
    if (top < 0)
        sp_setup_fail(p->errpipe_w, "start the code");
    close(p->errpipe_w);
    int st = 0, killed = 0;
    for (;;) {
        pid_t r;
        int done = 0;
        while ((r = waitpid(-1, &st, WNOHANG)) > 0)
            if (r == top) {
                done = 1;
                break;
            }
        if (done || (r < 0 && errno == ECHILD))
            break;
        if (sigwaitinfo(&set, NULL) == SIGTERM && !killed) {
            killed = 1;
            kill(-top, SIGKILL);
            kill(top, SIGKILL);
        }
    }
    kill(-top, SIGKILL);
    sp_sweep_orphans();
    if (!killed && write(report_w, &st, sizeof st) != sizeof st)
        _exit(127);
    _exit(0);
}

int sp_code_fd(const char *code, size_t len)
{
    int fd = memfd_create("runbox-code", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, code + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    /* Sealed: the code cannot rewrite its own source under the tracebacks. */
    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* The environment of the code: nothing of the host's but what the core
 * passes (pass_env). Built before fork, where allocating is safe. */
char **sp_build_env(const sp_sandbox *s)
{
    const sp_backend *b = s->b;
    size_t n = 0;
    while (s->env && s->env[n])
        n++;
    char **env = calloc(n + 12, sizeof *env);
    if (!env)
        return NULL;
    size_t i = 0;
    /* Imports resolve in the work directory (as with python -c), then in
     * the installed packages; PYTHONSAFEPATH drops the script's own
     * directory, which for the code's memfd would be "/". */
    char pypath[13000];
    snprintf(pypath, sizeof pypath, "PYTHONPATH=%s:%s/.packages%s%s", s->dir,
             s->dir, b->packages_dir[0] ? ":" : "", b->packages_dir);
    char home[4200], tmp[4200];
    snprintf(home, sizeof home, "HOME=%s", s->dir);
    snprintf(tmp, sizeof tmp, "TMPDIR=%s", s->box ? "/tmp" : s->dir);
    const char *fixed[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
                           "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1",
                           "PYTHONSAFEPATH=1",
                           "PIP_DISABLE_PIP_VERSION_CHECK=1", home, tmp, pypath};
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        env[i++] = strdup(fixed[k]);
    for (size_t k = 0; k < n; k++)
        env[i++] = strdup(s->env[k]);
    env[i] = NULL;
    for (size_t k = 0; k < i; k++)
        if (!env[k]) {
            for (size_t j = 0; j < i; j++)
                free(env[j]);
            free(env);
            return NULL;
        }
    return env;
}

void sp_free_env(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

/* Loud on purpose: every result of an unsandboxed run says so. */
static void sp_describe(char *buf, size_t size, const sp_backend *b)
{
    if (geteuid() == 0 && b->run_uid != 0)
        snprintf(buf, size, "NONE: not sandboxed (isolation = none), uid %u, "
                 "host files and network", (unsigned)b->run_uid);
    else
        snprintf(buf, size, "NONE: not sandboxed (isolation = none), runs as "
                 "you, host files and network");
}

void sp_close_pair(int fds[2])
{
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
}

/* fd 3 is the code's in the child: keep our pipes clear of it. */
int sp_pipe_above_3(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    for (int i = 0; i < 2; i++)
        if (fds[i] <= 3) {
            int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
            close(fds[i]);
            fds[i] = fd;
            if (fd < 0)
                return -1;
        }
    return 0;
}

int sp_spawn_run(sp_sandbox *s, const sp_spawn *sp, runbox_exec_outcome *out)
{
    if (s->box)
        return sp_box_run(s, sp, out);
    const runbox_host *host = s->b->host;
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, rep_p[2] = {-1, -1};
    int setup_p[2] = {-1, -1};
    int code_fd = -1, devnull = -1, rc = RUNBOX_OK;
    char **envp = sp_build_env(s);
    if (!envp)
        return host->fail(s->b->hctx, RUNBOX_ENOMEM, "out of memory");
    if (sp_pipe_above_3(out_p) || sp_pipe_above_3(err_p) ||
        sp_pipe_above_3(rep_p) || sp_pipe_above_3(setup_p) ||
        (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 ||
        (sp->code && (code_fd = sp_code_fd(sp->code, sp->code_len)) < 0)) {
        rc = host->fail(s->b->hctx, RUNBOX_EIO, "cannot set up the child's "
                        "pipes: %s", strerror(errno));
        goto done;
    }
    sp_child_plan plan = {s, sp, envp, out_p[1], err_p[1], code_fd, devnull,
                          setup_p[1], 0};
    /* The shim is asked with SIGTERM, so that it can sweep. */
    pid_t sup = fork();
    if (sup == 0)
        sp_shim_main(&plan, rep_p[1]);
    if (sup < 0) {
        rc = host->fail(s->b->hctx, RUNBOX_EIO, "cannot fork: %s",
                        strerror(errno));
        goto done;
    }
    close(out_p[1]);
    close(err_p[1]);
    close(rep_p[1]);
    close(setup_p[1]);
    out_p[1] = err_p[1] = rep_p[1] = setup_p[1] = -1;

    int wstatus = 0, have_report = 0, report_eof = 0, out_open = 1, err_open = 1;
    int timed_out = 0, cancelled = 0;
    double kill_at = 0, report_at = 0;
    char buf[65536];
    while (!(report_eof && !out_open && !err_open)) {
        double now = host->now();
        if (!kill_at && sp->deadline > 0 && now >= sp->deadline)
            timed_out = 1;
        if (!kill_at && sp->io && host->cancelled(sp->io))
            cancelled = 1;
        if ((timed_out || cancelled) && !kill_at) {
            kill(sup, SIGTERM);
            kill_at = now;
        }
        if (kill_at && now - kill_at > 2.0)
            kill(sup, SIGKILL); /* the shim itself is stuck */
        /* The tree is gone once reported; give stray buffered output a
         * moment, never an unbounded wait. */
        if (report_eof && report_at && now - report_at > 0.5)
            break;
        int timeout = 100;
        if (sp->deadline > 0 && !kill_at) {
            double left = (sp->deadline - now) * 1000;
            if (left < timeout)
                timeout = left < 1 ? 1 : (int)left;
        }
        struct pollfd fds[3] = {{out_open ? out_p[0] : -1, POLLIN, 0},
                                {err_open ? err_p[0] : -1, POLLIN, 0},
                                {report_eof ? -1 : rep_p[0], POLLIN, 0}};
        int n = poll(fds, 3, timeout);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(fds[i].fd, buf, sizeof buf);
            if (got > 0)
                sp->sink(sp->sink_ud, i + 1, buf, (size_t)got);
            else if (got == 0 || errno != EINTR) {
                if (i == 0) out_open = 0; else err_open = 0;
            }
        }
        if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (read(rep_p[0], &wstatus, sizeof wstatus) == sizeof wstatus)
                have_report = 1;
            report_eof = 1;
            report_at = host->now();
        }
    }
    /* The supervisor's rusage covers everything it reaped: the code too. */
    int st;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(sup, &st, 0, &ru) < 0 && errno == EINTR)
        ;
    out->cpu_seconds = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;

    sp_setup_error se;
    if (!timed_out && !cancelled &&
        read(setup_p[0], &se, sizeof se) == sizeof se) {
        se.step[sizeof se.step - 1] = '\0';
        rc = host->fail(s->b->hctx, RUNBOX_EBACKEND, "subprocess backend "
                        "cannot %s (%s): %s", se.step, sp->argv[0],
                        strerror(se.err));
        goto done;
    }
    if (!have_report && !timed_out && !cancelled) {
        rc = host->fail(s->b->hctx, RUNBOX_EBACKEND, "the process supervisor "
                        "died unexpectedly (status %d)", st);
        goto done;
    }
    sp_describe(out->isolation, sizeof out->isolation, s->b);
    /* RLIMIT_AS bounds each process, not the tree: not a memory limit. */
    const runbox_limits *l = sp->limits;
    out->limits_applied = RUNBOX_LIMIT_WALL |
        (l->cpu_seconds > 0 ? RUNBOX_LIMIT_CPU : 0) |
        (l->processes ? RUNBOX_LIMIT_PROCESSES : 0) |
        (l->file_bytes ? RUNBOX_LIMIT_FILE_SIZE : 0) |
        (l->open_files ? RUNBOX_LIMIT_OPEN_FILES : 0);
    sp_set_verdict(out, sp->limits, wstatus, timed_out, cancelled);
done:
    sp_close_pair(out_p);
    sp_close_pair(err_p);
    sp_close_pair(rep_p);
    sp_close_pair(setup_p);
    if (code_fd >= 0)
        close(code_fd);
    if (devnull >= 0)
        close(devnull);
    sp_free_env(envp);
    return rc;
}

void sp_set_verdict(runbox_exec_outcome *out, const runbox_limits *l,
                    int wstatus, int timed_out, int cancelled)
{
    out->exit_code = -1;
    if (timed_out) {
        out->verdict = RUNBOX_VERDICT_TIMEOUT;
        out->signal = SIGKILL;
        snprintf(out->message, sizeof out->message, "wall-clock limit of %gs "
                 "reached; the whole process tree was killed",
                 l->wall_seconds);
    } else if (cancelled) {
        out->verdict = RUNBOX_VERDICT_CANCELED;
        out->signal = SIGKILL;
        snprintf(out->message, sizeof out->message, "cancelled; the whole "
                 "process tree was killed");
    } else if (WIFEXITED(wstatus)) {
        out->exit_code = WEXITSTATUS(wstatus);
        out->verdict = out->exit_code ? RUNBOX_VERDICT_EXIT_NONZERO
                                      : RUNBOX_VERDICT_OK;
    } else if (WIFSIGNALED(wstatus)) {
        out->signal = WTERMSIG(wstatus);
        out->verdict = RUNBOX_VERDICT_SIGNALED;
        if (out->signal == SIGXCPU ||
            (out->signal == SIGKILL && l->cpu_seconds > 0 &&
             out->cpu_seconds >= l->cpu_seconds)) {
            out->verdict = RUNBOX_VERDICT_TIMEOUT;
            snprintf(out->message, sizeof out->message, "CPU time limit of "
                     "%gs reached", l->cpu_seconds);
        }
    }
}

int sp_namespaces_available(void)
{
    static int cached = -1;
    if (cached >= 0)
        return cached;
    pid_t pid = fork();
    if (pid == 0)
        _exit(unshare(SP_NS_FLAGS | CLONE_NEWNET) == 0 ? 0 : 1);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return cached = 0;
    return cached = WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
