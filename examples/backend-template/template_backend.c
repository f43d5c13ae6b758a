/*
 * template_backend.c — a complete runbox backend to start from: Python as
 * a plain process in a private work directory, with rlimits, the deadline,
 * cancel, streaming, sessions, confined files and the environment, all
 * from the backend kit (runbox/kit.h). It is NOT a sandbox: the code runs
 * as this user (as root: as nobody), sees the host's files and network.
 * Replace run_code's process with your isolation (a VM, a container, a
 * remote service) and keep the rest.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runbox/backend.h"
#include "runbox/kit.h"

/* Settings: the core checks, documents and defaults them. */
static const runbox_setting tpl_settings[] = {
    {"python", RUNBOX_SETTING_STRING, "python3", 0, "interpreter to run"},
    {"workdir", RUNBOX_SETTING_STRING, "/tmp", 0, "where work dirs are made"},
    {NULL, RUNBOX_SETTING_STRING, NULL, 0, NULL}};

typedef struct tpl_backend {
    const runbox_host *host;
    runbox_host_ctx *h;
    char python[4096];
    char workdir[4096];
    uid_t uid; /* who the code runs as: nobody when runbox is root */
    gid_t gid;
} tpl_backend;

typedef struct tpl_sandbox {
    tpl_backend *b;
    char dir[4200];
    runbox_limits limits;
} tpl_sandbox;

static int tpl_open(void **state, const runbox_host *host, runbox_host_ctx *h)
{
    tpl_backend *b = calloc(1, sizeof *b);
    if (!b)
        return host->fail(h, RUNBOX_ENOMEM, "out of memory");
    b->host = host;
    b->h = h;
    b->uid = geteuid() == 0 ? 65534 : geteuid();
    b->gid = geteuid() == 0 ? 65534 : getegid();
    snprintf(b->workdir, sizeof b->workdir, "%s", host->config_get(h, "workdir"));
    const char *py = host->config_get(h, "python");
    if (rbk_resolve_interpreter(py, geteuid() == 0, b->python, sizeof b->python)) {
        free(b);
        return host->config_error(h, "python", "no such interpreter");
    }
    *state = b;
    return RUNBOX_OK;
}

static void tpl_close(void *state) { free(state); }

static int tpl_probe(const runbox_host *host, runbox_host_ctx *h)
{
    char py[4096];
    if (rbk_resolve_interpreter(host->config_get(h, "python"), 0, py, sizeof py))
        return host->fail(h, RUNBOX_ENOTFOUND, "no python3 found: set python");
    return host->fail(h, RUNBOX_OK, "%s, no isolation (a template)", py);
}

static int tpl_create(void **out, void *state, const runbox_sandbox_opts *o)
{
    tpl_backend *b = state;
    tpl_sandbox *s = calloc(1, sizeof *s);
    if (!s)
        return b->host->fail(b->h, RUNBOX_ENOMEM, "out of memory");
    s->b = b;
    s->limits = o->limits;
    int e = rbk_workdir_create(b->workdir, b->uid, b->gid, s->dir, sizeof s->dir);
    if (e) {
        free(s);
        return b->host->fail(b->h, RUNBOX_EIO, "cannot make a work dir in %s: "
                             "%s", b->workdir, strerror(e));
    }
    *out = s;
    return RUNBOX_OK;
}

static void tpl_destroy(void *sandbox)
{
    tpl_sandbox *s = sandbox;
    rbk_workdir_remove(s->dir);
    free(s);
}

/* Runs code (fd 3) with the sandbox's limits and the request's deadline. */
static int run_code(tpl_sandbox *s, const char *code, size_t len, double deadline,
                    runbox_exec_io *io, rbk_sink_fn sink, void *ud,
                    runbox_exec_outcome *out)
{
    const char *argv[] = {s->b->python, "-s", "/proc/self/fd/3", NULL};
    char home[4300], path[4300];
    snprintf(home, sizeof home, "HOME=%s", s->dir);
    snprintf(path, sizeof path, "PYTHONPATH=%s", s->dir);
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
                    "PYTHONUNBUFFERED=1", home, path, NULL};
    rbk_process p = {.backend = "template", .host = s->b->host, .h = s->b->h,
                     .argv = argv, .envp = envp, .dir = s->dir, .code = code,
                     .code_len = len, .limits = &s->limits,
                     .drop_uid = geteuid() == 0, .uid = s->b->uid, .gid = s->b->gid,
                     .deadline = deadline, .io = io, .sink = sink,
                     .sink_userdata = ud};
    int rc = rbk_process_run(&p, out);
    if (!rc)
        snprintf(out->isolation, sizeof out->isolation, "none (template)");
    return rc;
}

static int tpl_exec(void *sandbox, const runbox_exec_request *req,
                    runbox_exec_outcome *out)
{
    return run_code(sandbox, req->code, req->code_len, req->deadline, req->io,
                    NULL, NULL, out);
}

typedef struct tpl_text {
    char *data;
    size_t len;
} tpl_text;

static void tpl_collect(void *ud, int stream, const char *data, size_t len)
{
    tpl_text *t = ud;
    char *p = stream == 1 ? realloc(t->data, t->len + len + 1) : NULL;
    if (!p)
        return;
    memcpy(p + t->len, data, len);
    t->data = p;
    t->len += len;
    p[t->len] = '\0';
}

static int tpl_environment(void *sandbox, char **json)
{
    tpl_sandbox *s = sandbox;
    tpl_text t = {0};
    runbox_exec_outcome oc;
    memset(&oc, 0, sizeof oc);
    const char *probe = rbk_python_environment_probe;
    int rc = run_code(s, probe, strlen(probe), s->b->host->now() + 30, NULL,
                      tpl_collect, &t, &oc);
    if (!rc && (oc.verdict != RUNBOX_VERDICT_OK || !t.data))
        rc = s->b->host->fail(s->b->h, RUNBOX_EBACKEND, "the environment probe "
                              "failed");
    char *copy = rc ? NULL : s->b->host->alloc(t.len + 1);
    if (copy)
        memcpy(copy, t.data, t.len + 1);
    free(t.data);
    if (!rc && !copy)
        rc = s->b->host->fail(s->b->h, RUNBOX_ENOMEM, "out of memory");
    *json = copy;
    return rc;
}

static int tpl_file_write(void *sandbox, const char *path, const void *data,
                          size_t len)
{
    tpl_sandbox *s = sandbox;
    int fd, rc = rbk_open_beneath(s->b->host, s->b->h, s->dir, path,
                                  O_WRONLY | O_CREAT | O_TRUNC, &fd);
    if (rc)
        return rc;
    rc = rbk_write_all(s->b->host, s->b->h, fd, path, data, len);
    if (!rc && fchown(fd, s->b->uid, s->b->gid) < 0 && geteuid() == 0)
        rc = s->b->host->fail(s->b->h, RUNBOX_EIO, "cannot hand %s over", path);
    close(fd);
    return rc;
}

static int tpl_file_read(void *sandbox, const char *path, void **data, size_t *len)
{
    tpl_sandbox *s = sandbox;
    int fd, rc = rbk_open_beneath(s->b->host, s->b->h, s->dir, path, O_RDONLY, &fd);
    if (rc)
        return rc;
    rc = rbk_read_all(s->b->host, s->b->h, fd, path, data, len);
    close(fd);
    return rc;
}

static const char *const tpl_languages[] = {"python", NULL};

static const runbox_backend tpl_vtable = {
    RUNBOX_BACKEND_INIT,
    .name = "template",
    .description = "a template: Python as a plain process, no isolation",
    /* Claim only what is enforced: runbox check verifies each claim.
     * RLIMIT_AS bounds one process, not the tree: no memory limit. */
    .capabilities = RUNBOX_CAP_SESSIONS | RUNBOX_CAP_FILES | RUNBOX_CAP_STREAMING |
                    RUNBOX_CAP_ENVIRONMENT | RUNBOX_CAP_LIMIT_CPU |
                    RUNBOX_CAP_LIMIT_PROCESSES | RUNBOX_CAP_LIMIT_FILE_SIZE |
                    RUNBOX_CAP_LIMIT_OPEN_FILES,
    .languages = tpl_languages,
    .probe = tpl_probe,
    .open = tpl_open,
    .close = tpl_close,
    .sandbox_create = tpl_create,
    .sandbox_destroy = tpl_destroy,
    .exec = tpl_exec,
    .environment = tpl_environment,
    .file_write = tpl_file_write,
    .file_read = tpl_file_read,
    .settings = tpl_settings,
};

RUNBOX_BACKEND_EXPORT int runbox_backend_init(const runbox_host *host,
                                              const runbox_backend **backend,
                                              char *why, size_t why_size)
{
    int rc = runbox_host_check(host, "template", why, why_size);
    if (!rc)
        *backend = &tpl_vtable;
    return rc;
}
