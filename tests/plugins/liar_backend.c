/* A backend that claims what it does not do: sessions (each run starts in
 * a fresh empty folder, so nothing persists), files (read and written at
 * the path given, on the host, outside any sandbox) and a memory limit
 * (none is set). The core cannot see a lie at load; `runbox check` must
 * catch each one. It runs python3 with no isolation at all: a test
 * fixture, never a backend to use. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runbox/backend.h"

typedef struct liar {
    const runbox_host *host;
    runbox_host_ctx *h;
} liar;

static int li_open(void **state, const runbox_host *host, runbox_host_ctx *h)
{
    liar *l = calloc(1, sizeof *l);
    if (!l)
        return RUNBOX_ENOMEM;
    l->host = host;
    l->h = h;
    *state = l;
    return RUNBOX_OK;
}

static void li_close(void *state) { free(state); }

static int li_create(void **sbx, void *state, const runbox_sandbox_opts *o)
{
    (void)o;
    *sbx = state;
    return RUNBOX_OK;
}

static void li_destroy(void *sbx) { (void)sbx; }

static int li_exec(void *sbx, const runbox_exec_request *req,
                   runbox_exec_outcome *out)
{
    liar *l = sbx;
    char dir[] = "/tmp/runbox-liar-XXXXXX";
    char *code = strndup(req->code, req->code_len);
    int pipes[2][2] = {{-1, -1}, {-1, -1}};
    if (!code || !mkdtemp(dir) || pipe2(pipes[0], O_CLOEXEC) || pipe2(pipes[1], O_CLOEXEC)) {
        free(code);
        return l->host->fail(l->h, RUNBOX_EIO, "liar: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(pipes[0][1], 1);
        dup2(pipes[1][1], 2);
        if (chdir(dir) == 0)
            execlp("python3", "python3", "-c", code, (char *)NULL);
        _exit(127);
    }
    close(pipes[0][1]);
    close(pipes[1][1]);
    free(code);
    struct pollfd fds[2] = {{pipes[0][0], POLLIN, 0}, {pipes[1][0], POLLIN, 0}};
    int open_fds = 2, killed = 0;
    while (open_fds) {
        if (!killed && (l->host->cancelled(req->io) ||
                        (req->deadline > 0 && l->host->now() > req->deadline))) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        if (poll(fds, 2, 100) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            char buf[4096];
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                l->host->emit(req->io, i + 1, buf, (size_t)n);
            } else {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    char rm[64];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    if (system(rm) != 0)
        l->host->log(l->h, RUNBOX_LOG_WARN, "could not remove %s", dir);
    if (killed) {
        out->verdict = req->deadline > 0 && l->host->now() > req->deadline
                           ? RUNBOX_VERDICT_TIMEOUT : RUNBOX_VERDICT_CANCELED;
        out->exit_code = -1;
        out->signal = SIGKILL;
    } else if (WIFEXITED(status)) {
        out->exit_code = WEXITSTATUS(status);
        out->verdict = out->exit_code ? RUNBOX_VERDICT_EXIT_NONZERO : RUNBOX_VERDICT_OK;
    } else {
        out->exit_code = -1;
        out->signal = WTERMSIG(status);
        out->verdict = RUNBOX_VERDICT_SIGNALED;
    }
    out->limits_applied = RUNBOX_LIMIT_MEMORY; /* the lie */
    return RUNBOX_OK;
}

static int li_write(void *sbx, const char *path, const void *data, size_t len)
{
    liar *l = sbx;
    FILE *fp = fopen(path, "wb"); /* the host's file system */
    if (!fp || fwrite(data, 1, len, fp) != len) {
        if (fp)
            fclose(fp);
        return l->host->fail(l->h, RUNBOX_EIO, "liar: %s: %s", path, strerror(errno));
    }
    fclose(fp);
    return RUNBOX_OK;
}

static int li_read(void *sbx, const char *path, void **data, size_t *len)
{
    liar *l = sbx;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return l->host->fail(l->h, RUNBOX_ENOTFOUND, "liar: %s: %s", path,
                             strerror(errno));
    char *buf = l->host->alloc(1 << 20);
    size_t n = buf ? fread(buf, 1, 1 << 20, fp) : 0;
    fclose(fp);
    if (!buf)
        return RUNBOX_ENOMEM;
    *data = buf;
    *len = n;
    return RUNBOX_OK;
}

static const char *const li_languages[] = {"python", NULL};

static const runbox_backend li_vtable = {
    RUNBOX_BACKEND_INIT,
    .name = "liar",
    .description = "claims sessions, files and a memory limit; keeps none (tests)",
    .capabilities = RUNBOX_CAP_SESSIONS | RUNBOX_CAP_FILES | RUNBOX_CAP_STREAMING |
                    RUNBOX_CAP_LIMIT_MEMORY,
    .languages = li_languages,
    .open = li_open,
    .close = li_close,
    .sandbox_create = li_create,
    .sandbox_destroy = li_destroy,
    .exec = li_exec,
    .file_write = li_write,
    .file_read = li_read,
};

RUNBOX_BACKEND_EXPORT int runbox_backend_init(const runbox_host *host,
                                              const runbox_backend **backend,
                                              char *why, size_t why_size)
{
    int rc = runbox_host_check(host, "liar", why, why_size);
    if (!rc)
        *backend = &li_vtable;
    return rc;
}
