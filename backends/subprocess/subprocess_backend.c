/* The subprocess backend: runs code as a local child process.
 *
 * This is the reference backend: the smallest complete implementation of
 * backend.h. Read it first when writing your own. Configuration lives in
 * [subprocess]; the limits ([runbox] or [subprocess]) arrive in the
 * sandbox options. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox_cgroup.h"
#include "sandbox_proto.h"
#include "subprocess.h"

static const char *const sp_languages[] = {"python", "bash", "sh", NULL};
extern const runbox_setting sp_settings[]; /* subprocess_settings.c */
static const char *const sp_config_keys[] = {
    "python", "isolation", "workdir", "user", "packages_dir", "index_url",
    NULL};

/* ---- configuration ---- */

static unsigned sp_read_id(const char *path)
{
    unsigned id = 65534;
    FILE *fp = fopen(path, "r");
    if (fp) {
        if (fscanf(fp, "%u", &id) != 1)
            id = 65534;
        fclose(fp);
    }
    return id;
}

/* The init helper is installed beside this backend (build tree and
 * install alike): found from the .so's own path, not from PATH. */
static int sp_find_init(sp_backend *b)
{
    Dl_info info;
    if (!dladdr((void *)sp_find_init, &info) || !info.dli_fname)
        return -1;
    char so[PATH_MAX];
    if (!realpath(info.dli_fname, so))
        return -1;
    char *slash = strrchr(so, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    snprintf(b->init_path, sizeof b->init_path, "%.4000s/runbox-subprocess-init", so);
    return access(b->init_path, X_OK);
}

/* System folders are bound whole in every sandbox; an interpreter living
 * elsewhere (/opt, a virtual environment) gets its prefix bound too. */
static void sp_interpreter_binds(sp_backend *b)
{
    static const char *const sys[] = {"/usr/", "/bin/", "/sbin/", "/lib", NULL};
    char real[PATH_MAX];
    const char *paths[2] = {b->python, realpath(b->python, real) ? real : NULL};
    for (int i = 0; i < 2; i++) {
        b->binds[i][0] = '\0';
        if (!paths[i])
            continue;
        int system = 0;
        for (size_t k = 0; sys[k]; k++)
            system |= !strncmp(paths[i], sys[k], strlen(sys[k]));
        if (system)
            continue;
        /* <prefix>/bin/python3 -> <prefix> */
        snprintf(b->binds[i], sizeof b->binds[i], "%s", paths[i]);
        for (int up = 0; up < 2; up++) {
            char *s = strrchr(b->binds[i], '/');
            if (s && s != b->binds[i])
                *s = '\0';
        }
        if (i == 1 && !strcmp(b->binds[0], b->binds[1]))
            b->binds[1][0] = '\0';
    }
}

static int sp_read_config(sp_backend *b)
{
    const runbox_host *host = b->host;
    runbox_host_ctx *h = b->hctx;
    /* As root, the code runs as an unprivileged user: in a user namespace
     * its "root" maps to that user, without one it switches to it. */
    b->run_uid = getuid();
    b->run_gid = getgid();
    const char *v = host->config_get(h, "user");
    if (geteuid() == 0 && v && *v) {
        struct passwd *pw = getpwnam(v);
        if (!pw)
            return host->config_error(h, "user", "no such user");
        b->run_uid = pw->pw_uid;
        b->run_gid = pw->pw_gid;
    } else if (geteuid() == 0) {
        /* The kernel's own "nobody" (the overflow ids): no user database
         * lookup on every cold start. */
        b->run_uid = (uid_t)sp_read_id("/proc/sys/kernel/overflowuid");
        b->run_gid = (gid_t)sp_read_id("/proc/sys/kernel/overflowgid");
    }

    v = host->config_get(h, "python");
    const char *py = v && *v ? v : "python3";
    int rc = rbk_resolve_interpreter(py, b->run_uid != geteuid(), b->python,
                                    sizeof b->python);
    if (rc == RUNBOX_ENOTFOUND)
        return v ? host->config_error(h, "python", "no executable interpreter "
                                      "found that the sandbox user can run (give "
                                      "an absolute path to a real binary, not a "
                                      "shell shim)")
                 : host->fail(h, RUNBOX_ENOTFOUND, "no python3 executable "
                              "found in PATH: install python3 or set python "
                              "in [subprocess]");
    if (rc)
        return host->fail(h, rc, "out of memory");

    v = host->config_get(h, "isolation");
    if (!v || !strcmp(v, "auto"))
        b->isolation = SP_ISOLATION_AUTO;
    else if (!strcmp(v, "namespaces"))
        b->isolation = SP_ISOLATION_NAMESPACES;
    else if (!strcmp(v, "none"))
        b->isolation = SP_ISOLATION_NONE;
    else
        return host->config_error(h, "isolation", "expected auto, namespaces "
                                  "or none");

    if (b->isolation != SP_ISOLATION_NONE) {
        if (sp_find_init(b))
            return host->fail(h, RUNBOX_ENOTFOUND, "the sandbox helper %s is "
                              "missing or not executable: reinstall runbox, or "
                              "set isolation = none in [subprocess] to run "
                              "without a sandbox", b->init_path[0]
                              ? b->init_path : "runbox-subprocess-init");
        sp_interpreter_binds(b);
    }

    v = host->config_get(h, "workdir");
    const char *tmp = getenv("TMPDIR");
    snprintf(b->workdir_base, sizeof b->workdir_base, "%s",
             v && *v ? v : (tmp && *tmp ? tmp : "/tmp"));
    struct stat st;
    if (stat(b->workdir_base, &st) || !S_ISDIR(st.st_mode))
        return v ? host->config_error(h, "workdir", "not a directory")
                 : host->fail(h, RUNBOX_EIO, "temporary directory %s is "
                              "missing: set workdir in [subprocess]",
                              b->workdir_base);

    v = host->config_get(h, "packages_dir");
    if (v && *v) {
        if (v[0] != '/')
            return host->config_error(h, "packages_dir", "must be an absolute path");
        snprintf(b->packages_dir, sizeof b->packages_dir, "%s", v);
    }
    v = host->config_get(h, "index_url");
    if (v)
        snprintf(b->index_url, sizeof b->index_url, "%s", v);
    /* A local index must be visible inside the sandbox, read-only. */
    if (!strncmp(b->index_url, "file:///", 8))
        snprintf(b->binds[2], sizeof b->binds[2], "%s", b->index_url + 7);

    return RUNBOX_OK;
}

static void sp_close(void *state)
{
    free(state);
}

static int sp_open(void **state, const runbox_host *host, runbox_host_ctx *h)
{
    sp_backend *b = calloc(1, sizeof *b);
    if (!b)
        return host->fail(h, RUNBOX_ENOMEM, "out of memory");
    b->host = host;
    b->hctx = h;
    int rc = sp_read_config(b);
    if (rc) {
        sp_close(b);
        return rc;
    }
    /* Leftovers of runbox processes that were killed: empty cgroups. */
    if (b->isolation != SP_ISOLATION_NONE && geteuid() == 0)
        sp_cgroup_sweep();
    *state = b;
    return RUNBOX_OK;
}

static int sp_probe(const runbox_host *host, runbox_host_ctx *h)
{
    sp_backend b = {.host = host, .hctx = h};
    int rc = sp_read_config(&b);
    if (rc)
        return rc;
    if (b.isolation == SP_ISOLATION_NONE) {
        host->fail(h, RUNBOX_OK, "%s; isolation: NONE (configured): code runs "
                   "unsandboxed", b.python);
        return RUNBOX_OK;
    }
    /* Fail closed: without user namespaces nothing runs. */
    if (!sp_namespaces_available())
        return host->fail(h, RUNBOX_EUNSUPPORTED, "this kernel refuses user "
                          "namespaces, so the subprocess backend cannot "
                          "sandbox code; set isolation = none in [subprocess] "
                          "to run it unsandboxed");
    /* A usable backend may still leave a note for `runbox backends`. */
    host->fail(h, RUNBOX_OK, "%s; isolation: namespaces (sandbox: user, pid, "
               "mount, net, ipc namespaces, seccomp)", b.python);
    return RUNBOX_OK;
}

/* ---- sandboxes ---- */

static int sp_sandbox_create(void **out, void *state, const runbox_sandbox_opts *o)
{
    sp_backend *b = state;
    if ((o->limits_required & RUNBOX_LIMIT_NETWORK) && !o->limits.network &&
        b->isolation == SP_ISOLATION_NONE)
        return b->host->fail(b->hctx, RUNBOX_EUNSUPPORTED, "network = off "
                             "cannot be enforced without namespaces (isolation "
                             "= none here): allow the network or use the "
                             "docker backend");
    sp_sandbox *s = calloc(1, sizeof *s);
    if (!s)
        return b->host->fail(b->hctx, RUNBOX_ENOMEM, "out of memory");
    s->b = b;
    s->limits = o->limits;
    /* Members appended to the options are read only when present. */
    if (o->struct_size >= offsetof(runbox_sandbox_opts, env) + sizeof o->env)
        s->env = o->env;
    if (b->isolation == SP_ISOLATION_NONE) {
        int rc = sp_workdir_create(b, s->dir, sizeof s->dir);
        if (rc) {
            free(s);
            return rc;
        }
        *out = s;
        return RUNBOX_OK;
    }
    /* The tmpfs holds everything a run writes; with a cgroup its pages
     * count against the memory limit as well. */
    sp_box_config c = {
        .init_path = b->init_path,
        .tmpfs_bytes = o->limits.memory_bytes ? o->limits.memory_bytes : 1ull << 30,
        .binds = {NULL},
        .packages_dir = b->packages_dir[0] ? b->packages_dir : NULL,
        .memory_bytes = o->limits.memory_bytes,
        .pids_max = o->limits.processes ? o->limits.processes + 1 : 0};
    for (size_t i = 0, n = 0; i < 3; i++)
        if (b->binds[i][0])
            c.binds[n++] = b->binds[i];
    char err[700];
    int e = sp_box_create(&s->box, &c, err, sizeof err);
    if (e) {
        free(s);
        return b->host->fail(b->hctx, e == -ENOSYS || e == -EPERM || e == -EINVAL ||
                             e == -ENOSPC ? RUNBOX_EUNSUPPORTED : RUNBOX_EBACKEND,
                             "subprocess backend: %s", err);
    }
    snprintf(s->dir, sizeof s->dir, "%s", SBX_WORKDIR);
    s->oneshot = o->oneshot;
    /* For a pool: the interpreter starts now and waits for the code. */
    if (o->oneshot && o->struct_size >= offsetof(runbox_sandbox_opts, prestart) +
                                            sizeof o->prestart && o->prestart) {
        int rc = sp_interp_prestart(s);
        if (rc) {
            sp_interp_free(s);
            sp_box_destroy(s->box);
            free(s);
            return rc;
        }
        s->prestarted = 1;
    }
    *out = s;
    return RUNBOX_OK;
}

static void sp_sandbox_destroy(void *sandbox)
{
    sp_sandbox *s = sandbox;
    if (!s)
        return;
    if (s->box) {
        sp_interp_free(s);
        sp_box_destroy(s->box);
        free(s);
        return;
    }
    if (sp_workdir_remove(s->dir))
        s->b->host->log(s->b->hctx, RUNBOX_LOG_WARN, "could not remove all of "
                        "%s", s->dir);
    free(s);
}

typedef struct sp_emit_ctx {
    const runbox_host *host;
    runbox_exec_io *io;
} sp_emit_ctx;

static void sp_to_host(void *ud, int stream, const char *data, size_t len)
{
    sp_emit_ctx *c = ud;
    c->host->emit(c->io, stream, data, len);
}

static int sp_exec(void *sandbox, const runbox_exec_request *req,
                   runbox_exec_outcome *out)
{
    sp_sandbox *s = sandbox;
    const char *argv[6];
    size_t n = 0;
    if (!strcmp(req->language, "python")) {
        argv[n++] = s->b->python;
        argv[n++] = "-s"; /* no user site-packages of the host */
    } else {
        argv[n++] = !strcmp(req->language, "bash") ? "/bin/bash" : "/bin/sh";
    }
    argv[n++] = "/proc/self/fd/3"; /* the sealed memfd holding the code */
    argv[n] = NULL;
    sp_emit_ctx ec = {s->b->host, req->io};
    /* Python in a box goes through the resident interpreter: kept by a
     * session, prestarted by a pool, or started for this one run. */
    if (s->box && !strcmp(req->language, "python")) {
        s->prestarted = 0;
        return sp_interp_exec(s, req, !s->oneshot, out);
    }
    sp_spawn sp = {argv, req->code, req->code_len, req->limits.network, 0,
                   &req->limits, req->deadline, sp_to_host, &ec, req->io};
    return sp_spawn_run(s, &sp, out);
}

static int sp_sandbox_check(void *sandbox)
{
    sp_sandbox *s = sandbox;
    return s->box && s->prestarted ? sp_interp_check(s) : RUNBOX_OK;
}

/* pip runs with an argument list (never a shell) into the sandbox's own
 * package folder, or the configured persistent one. It needs the network
 * (an index), so it runs without the network namespace. */
static int sp_install(void *sandbox, const char *spec,
                      const runbox_exec_request *req, runbox_exec_outcome *out)
{
    sp_sandbox *s = sandbox;
    char target[4200];
    if (s->b->packages_dir[0])
        snprintf(target, sizeof target, "%s", s->b->packages_dir);
    else
        snprintf(target, sizeof target, "%s/.packages", s->dir);
    const char *argv[16];
    size_t n = 0;
    argv[n++] = s->b->python;
    argv[n++] = "-m";
    argv[n++] = "pip";
    argv[n++] = "install";
    argv[n++] = "--no-input";
    argv[n++] = "--target";
    argv[n++] = target;
    if (s->b->index_url[0]) {
        argv[n++] = "--index-url";
        argv[n++] = s->b->index_url;
    }
    argv[n++] = "--";
    argv[n++] = spec;
    argv[n] = NULL;
    sp_emit_ctx ec = {s->b->host, req->io};
    runbox_limits lim = req->limits;
    lim.network = 1;
    sp_spawn sp = {argv, NULL, 0, 1, 1, &lim, req->deadline, sp_to_host, &ec,
                   req->io};
    return sp_spawn_run(s, &sp, out);
}

typedef struct sp_capture {
    char *data;
    size_t len;
    size_t cap;
} sp_capture;

static void sp_capture_sink(void *ud, int stream, const char *data, size_t len)
{
    sp_capture *c = ud;
    if (stream != 1 || c->len + len > (8u << 20))
        return;
    if (c->len + len + 1 > c->cap) {
        size_t cap = (c->len + len + 1) * 2;
        char *p = realloc(c->data, cap);
        if (!p)
            return;
        c->data = p;
        c->cap = cap;
    }
    memcpy(c->data + c->len, data, len);
    c->len += len;
    c->data[c->len] = '\0';
}

/* The probe is the kit's (rbk_python_environment_probe). */
static int sp_environment(void *sandbox, char **json)
{
    sp_sandbox *s = sandbox;
    const char *argv[] = {s->b->python, "-s", "/proc/self/fd/3", NULL};
    sp_capture cap = {0};
    runbox_limits lim = s->limits;
    double deadline = s->b->host->now() + 30;
    sp_spawn sp = {argv, rbk_python_environment_probe,
                   strlen(rbk_python_environment_probe),
                   0, 0, &lim, deadline, sp_capture_sink, &cap, NULL};
    runbox_exec_outcome oc;
    memset(&oc, 0, sizeof oc);
    int rc = sp_spawn_run(s, &sp, &oc);
    if (!rc && (oc.verdict != RUNBOX_VERDICT_OK || !cap.data))
        rc = s->b->host->fail(s->b->hctx, RUNBOX_EBACKEND, "the environment "
                              "probe failed in the sandbox (%s)",
                              oc.message[0] ? oc.message : "no output");
    if (rc) {
        free(cap.data);
        return rc;
    }
    /* Add what only the host knows: the isolation the runs get. */
    char *end = strrchr(cap.data, '}');
    if (!end) {
        free(cap.data);
        return s->b->host->fail(s->b->hctx, RUNBOX_EPROTO, "the environment "
                                "probe printed no JSON");
    }
    *end = '\0';
    size_t size = cap.len + sizeof oc.isolation + 64;
    char *outjs = s->b->host->alloc(size);
    if (outjs)
        snprintf(outjs, size, "%s, \"isolation\": \"%s\"}", cap.data, oc.isolation);
    free(cap.data);
    if (!outjs)
        return s->b->host->fail(s->b->hctx, RUNBOX_ENOMEM, "out of memory");
    *json = outjs;
    return RUNBOX_OK;
}

/* ---- files ---- */

/* Opens path beneath the work directory: a relative path, or an absolute
 * one inside it. RESOLVE_BENEATH stops "..", absolute symlinks and links
 * planted by the code from reaching the host's files. */
/* In a sandbox: the path names a file of the sandbox's own tmpfs. */
static int sp_open_in_box(sp_sandbox *s, const char *path, int flags, int *fd)
{
    int e = -sp_box_open(s->box, path, flags, fd);
    if (!e)
        return RUNBOX_OK;
    if (e == ENOENT)
        return s->b->host->fail(s->b->hctx, RUNBOX_ENOTFOUND, "no file %s in "
                                "the sandbox", path);
    return s->b->host->fail(s->b->hctx, e == EXDEV ? RUNBOX_EINVAL : RUNBOX_EIO,
                            "cannot open %s in the sandbox: %s", path, e == EXDEV
                            ? "the file API reaches only the sandbox's own "
                              "files: relative paths (in /sandbox), /tmp, "
                              "/var/tmp, /dev/shm" : strerror(e));
}

static int sp_open_beneath(sp_sandbox *s, const char *path, int flags, int *fd)
{
    if (s->box)
        return sp_open_in_box(s, path, flags, fd);
    return rbk_open_beneath(s->b->host, s->b->hctx, s->dir, path, flags, fd);
}

static int sp_file_write(void *sandbox, const char *path, const void *data,
                         size_t len)
{
    sp_sandbox *s = sandbox;
    int fd, rc = sp_open_beneath(s, path, O_WRONLY | O_CREAT | O_TRUNC, &fd);
    if (rc)
        return rc;
    rc = rbk_write_all(s->b->host, s->b->hctx, fd, path, data, len);
    if (!rc && !s->box && geteuid() == 0 &&
        fchown(fd, s->b->run_uid, s->b->run_gid) < 0) {
        /* still readable by the code; writable only if the owner matters */
    }
    close(fd);
    return rc;
}

static int sp_file_read(void *sandbox, const char *path, void **data, size_t *len)
{
    sp_sandbox *s = sandbox;
    int fd, rc = sp_open_beneath(s, path, O_RDONLY, &fd);
    if (rc)
        return rc;
    rc = rbk_read_all(s->b->host, s->b->hctx, fd, path, data, len);
    close(fd);
    return rc;
}

/* With isolation = none every call is a new plain python3 process (there
 * is no box whose init could keep and police a resident interpreter), so
 * a session keeps files but not variables, no rich values are reported,
 * and the network cannot be switched off: the context must not claim it. */
static uint64_t sp_capabilities_of(void *state)
{
    const sp_backend *b = state;
    if (b->isolation != SP_ISOLATION_NONE)
        return UINT64_MAX;
    return ~(uint64_t)(RUNBOX_CAP_INTERPRETER | RUNBOX_CAP_RICH_RESULTS |
                       RUNBOX_CAP_NETWORK_CONTROL);
}

static const runbox_backend sp_vtable = {
    .abi_version = RUNBOX_BACKEND_ABI,
    .struct_size = sizeof(runbox_backend),
    .name = "subprocess",
    .description = "a process on this machine in a sandbox of Linux "
                   "namespaces, seccomp and (as root) cgroups",
    .capabilities = RUNBOX_CAP_SESSIONS | RUNBOX_CAP_FILES |
                    RUNBOX_CAP_STREAMING | RUNBOX_CAP_NETWORK_CONTROL |
                    RUNBOX_CAP_INSTALL | RUNBOX_CAP_ENVIRONMENT |
                    RUNBOX_CAP_INTERPRETER | RUNBOX_CAP_RICH_RESULTS |
                    RUNBOX_CAP_LIMIT_CPU | RUNBOX_CAP_LIMIT_MEMORY |
                    RUNBOX_CAP_LIMIT_PROCESSES | RUNBOX_CAP_LIMIT_FILE_SIZE |
                    RUNBOX_CAP_LIMIT_OPEN_FILES,
    .languages = sp_languages,
    .config_keys = sp_config_keys,
    .settings = sp_settings,
    .secret_keys = NULL,
    .probe = sp_probe,
    .open = sp_open,
    .close = sp_close,
    .sandbox_create = sp_sandbox_create,
    .sandbox_destroy = sp_sandbox_destroy,
    .exec = sp_exec,
    .install = sp_install,
    .environment = sp_environment,
    .file_write = sp_file_write,
    .file_read = sp_file_read,
    .sandbox_check = sp_sandbox_check,
    .capabilities_of = sp_capabilities_of,
};

RUNBOX_BACKEND_EXPORT int runbox_backend_init(const runbox_host *host,
                                              const runbox_backend **backend,
                                              char *why, size_t why_size)
{
    int rc = runbox_host_check(host, "subprocess", why, why_size);
    if (rc != RUNBOX_OK)
        return rc;
    *backend = &sp_vtable;
    return RUNBOX_OK;
}
