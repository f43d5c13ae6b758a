/* Running one process tree without a sandbox (isolation = none): the
 * kit's process runner (kit/kit_process.c, a shim that is the tree's
 * child subreaper), with this backend's environment and description; and
 * the pieces both ways of running share. The sandboxed way is
 * subprocess_boxrun.c.
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

int sp_spawn_run(sp_sandbox *s, const sp_spawn *sp, runbox_exec_outcome *out)
{
    if (s->box)
        return sp_box_run(s, sp, out);
    char **envp = sp_build_env(s);
    if (!envp)
        return s->b->host->fail(s->b->hctx, RUNBOX_ENOMEM, "out of memory");
    rbk_process p = {
        .backend = "subprocess",
        .host = s->b->host,
        .h = s->b->hctx,
        .argv = sp->argv,
        .envp = envp,
        .dir = s->dir,
        .code = sp->code,
        .code_len = sp->code_len,
        .limits = sp->limits,
        .drop_uid = geteuid() == 0 && s->b->run_uid != 0,
        .uid = s->b->run_uid,
        .gid = s->b->run_gid,
        .deadline = sp->deadline,
        .io = sp->io,
        .sink = sp->sink,
        .sink_userdata = sp->sink_ud,
    };
    int rc = rbk_process_run(&p, out);
    if (!rc)
        sp_describe(out->isolation, sizeof out->isolation, s->b);
    sp_free_env(envp);
    return rc;
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
