/* The process runner of the backend kit: one process tree, watched.
 *
 *   backend thread ──fork──> shim (child subreaper) ──vfork──> code
 *
 * The shim is the child subreaper: orphans are re-parented to it and it
 * kills them until none is left, so that one SIGTERM to the shim ends
 * everything. It reports the code's status only once the tree is gone, so
 * the backend never waits on a pipe a grandchild still holds.
 *
 * The backend's thread may have every signal blocked (runbox runs calls on
 * such a thread): the code gets an empty mask before exec.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runbox/kit.h"

/* Failure messages from the about-to-exec side travel as an errno plus a
 * fixed step name, so that no formatting happens after fork. */
typedef struct rbk_setup_error {
    int err;
    char step[48];
} rbk_setup_error;

static void rbk_setup_fail(int fd, const char *step)
{
    rbk_setup_error e = {errno, ""};
    size_t n = strlen(step);
    memcpy(e.step, step, n < sizeof e.step - 1 ? n : sizeof e.step - 1);
    if (write(fd, &e, sizeof e) < 0) {
        /* nothing left to tell */
    }
    _exit(127);
}

static void rbk_set_limit(int resource, rlim_t soft, rlim_t hard)
{
    struct rlimit rl = {soft, hard};
    setrlimit(resource, &rl);
}

static void rbk_apply_rlimits(const runbox_limits *l)
{
    if (l->cpu_seconds > 0) {
        rlim_t s = (rlim_t)(l->cpu_seconds + 0.999);
        rbk_set_limit(RLIMIT_CPU, s, s + 1);
    }
    if (l->memory_bytes)
        rbk_set_limit(RLIMIT_AS, l->memory_bytes, l->memory_bytes);
    if (l->processes)
        rbk_set_limit(RLIMIT_NPROC, l->processes, l->processes);
    if (l->file_bytes)
        rbk_set_limit(RLIMIT_FSIZE, l->file_bytes, l->file_bytes);
    if (l->open_files)
        rbk_set_limit(RLIMIT_NOFILE, l->open_files, l->open_files);
    rbk_set_limit(RLIMIT_CORE, 0, 0);
}

typedef struct rbk_child_plan {
    const rbk_process *p;
    int out_w, err_w, code_fd, devnull, errpipe_w;
} rbk_child_plan;

/* The last steps before exec, in the process that becomes the code. Only
 * async-signal-safe calls: this runs right after vfork. */
static void rbk_become_code(const rbk_child_plan *c)
{
    const rbk_process *p = c->p;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setsid();
    if (dup2(c->devnull, 0) < 0 || dup2(c->out_w, 1) < 0 || dup2(c->err_w, 2) < 0)
        rbk_setup_fail(c->errpipe_w, "redirect output");
    if (c->code_fd >= 0 && dup2(c->code_fd, 3) < 0)
        rbk_setup_fail(c->errpipe_w, "pass the code");
    /* Everything else closes at exec; the error pipe stays usable until
     * then and closes by itself when exec succeeds. */
    syscall(SYS_close_range, c->code_fd >= 0 ? 4 : 3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (chdir(p->dir) < 0)
        rbk_setup_fail(c->errpipe_w, "enter the work directory");
    if (p->drop_uid) {
        if (syscall(SYS_setgroups, 0, NULL) < 0 ||
            syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0 ||
            syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
            rbk_setup_fail(c->errpipe_w, "drop privileges");
    }
    rbk_apply_rlimits(p->limits);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    execve(p->argv[0], (char *const *)p->argv, p->envp);
    rbk_setup_fail(c->errpipe_w, "start the interpreter");
}

/* Kills every child of this (subreaper) process until none is left. */
static void rbk_sweep_orphans(void)
{
    pid_t self = getpid();
    for (;;) {
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

/* The shim: starts the code as a child subreaper, waits, kills the whole
 * tree on SIGTERM or when the code ends, reports. */
static void rbk_shim_main(rbk_child_plan *c, int report_w)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_SETMASK, &set, NULL);
    /* vfork: the shim waits anyway until the code has exec'd. */
    pid_t top = vfork();
    if (top == 0)
        rbk_become_code(c);
    if (top < 0)
        rbk_setup_fail(c->errpipe_w, "start the code");
    close(c->errpipe_w);
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
    rbk_sweep_orphans();
    if (!killed && write(report_w, &st, sizeof st) != sizeof st)
        _exit(127);
    _exit(0);
}

int rbk_code_fd(const char *code, size_t len)
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

void rbk_close_pair(int fds[2])
{
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
}

/* fd 3 is the code's in the child: keep our pipes clear of it. */
int rbk_pipe_above_3(int fds[2])
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

static void rbk_deliver(const rbk_process *p, int stream, const char *data,
                        size_t len)
{
    if (p->sink)
        p->sink(p->sink_userdata, stream, data, len);
    else if (p->io)
        p->host->emit(p->io, stream, data, len);
}

int rbk_process_run(const rbk_process *p, runbox_exec_outcome *out)
{
    const runbox_host *host = p->host;
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, rep_p[2] = {-1, -1};
    int setup_p[2] = {-1, -1};
    int code_fd = -1, devnull = -1, rc = RUNBOX_OK;
    if (rbk_pipe_above_3(out_p) || rbk_pipe_above_3(err_p) ||
        rbk_pipe_above_3(rep_p) || rbk_pipe_above_3(setup_p) ||
        (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 ||
        (p->code && (code_fd = rbk_code_fd(p->code, p->code_len)) < 0)) {
        rc = host->fail(p->h, RUNBOX_EIO, "cannot set up the child's pipes: %s",
                        strerror(errno));
        goto done;
    }
    rbk_child_plan plan = {p, out_p[1], err_p[1], code_fd, devnull, setup_p[1]};
    /* The shim is asked with SIGTERM, so that it can sweep. */
    pid_t sup = fork();
    if (sup == 0)
        rbk_shim_main(&plan, rep_p[1]);
    if (sup < 0) {
        rc = host->fail(p->h, RUNBOX_EIO, "cannot fork: %s", strerror(errno));
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
        if (!kill_at && p->deadline > 0 && now >= p->deadline)
            timed_out = 1;
        if (!kill_at && p->io && host->cancelled(p->io))
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
        if (p->deadline > 0 && !kill_at) {
            double left = (p->deadline - now) * 1000;
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
                rbk_deliver(p, i + 1, buf, (size_t)got);
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
    /* The shim's rusage covers everything it reaped: the code too. */
    int st;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(sup, &st, 0, &ru) < 0 && errno == EINTR)
        ;
    out->cpu_seconds = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;

    rbk_setup_error se;
    if (!timed_out && !cancelled &&
        read(setup_p[0], &se, sizeof se) == sizeof se) {
        se.step[sizeof se.step - 1] = '\0';
        rc = host->fail(p->h, RUNBOX_EBACKEND, "%s backend cannot %s (%s): %s",
                        p->backend, se.step, p->argv[0], strerror(se.err));
        goto done;
    }
    if (!have_report && !timed_out && !cancelled) {
        rc = host->fail(p->h, RUNBOX_EBACKEND, "the process supervisor "
                        "died unexpectedly (status %d)", st);
        goto done;
    }
    /* RLIMIT_AS bounds each process, not the tree: not a memory limit. */
    const runbox_limits *l = p->limits;
    out->limits_applied = RUNBOX_LIMIT_WALL |
        (l->cpu_seconds > 0 ? RUNBOX_LIMIT_CPU : 0) |
        (l->processes ? RUNBOX_LIMIT_PROCESSES : 0) |
        (l->file_bytes ? RUNBOX_LIMIT_FILE_SIZE : 0) |
        (l->open_files ? RUNBOX_LIMIT_OPEN_FILES : 0);
    rbk_set_verdict(out, p->limits, wstatus, timed_out, cancelled);
done:
    rbk_close_pair(out_p);
    rbk_close_pair(err_p);
    rbk_close_pair(rep_p);
    rbk_close_pair(setup_p);
    if (code_fd >= 0)
        close(code_fd);
    if (devnull >= 0)
        close(devnull);
    return rc;
}

void rbk_set_verdict(runbox_exec_outcome *out, const runbox_limits *l,
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
