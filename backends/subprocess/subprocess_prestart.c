/* Pooled sandboxes: the interpreter is started ahead of the code.
 *
 * A one-shot run costs the box (its init, root and cgroup) and then the
 * interpreter's own start; a pool pays both before the code is known. The
 * interpreter runs a short stub that waits on fd 3 for the code (a socket
 * whose other end runbox keeps), then runs it as `python3 -s
 * /proc/self/fd/3` would: same __main__, file name, argv, sys.path (set by
 * PYTHONSAFEPATH and PYTHONPATH as for a cold run), the same traceback
 * without the stub's frame, exit status 1 on an uncaught exception. The
 * box serves this one run and is destroyed afterwards, like any one-shot
 * sandbox: nothing of one run can reach the next. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "subprocess.h"

/* The code comes back to fd 3 as a memfd so that /proc/self/fd/3 reads
 * it as in a cold run (tracebacks quote its lines, inspect finds them). */
static const char sp_stub_py[] =
    "def _runbox_stub(sys, os):\n"
    "    with open(3, 'rb') as f:\n"
    "        src = f.read()\n"
    "    fd = os.memfd_create('code')\n"
    "    os.write(fd, src)\n"
    "    if fd != 3:\n"
    "        os.dup2(fd, 3, inheritable=False)\n"
    "        os.close(fd)\n"
    "    g = sys.modules['__main__'].__dict__\n"
    "    del g['_runbox_stub']\n"
    "    g['__file__'] = sys.argv[0] = '/proc/self/fd/3'\n"
    "    del sys.argv[1:]\n"
    "    tb_skip = 1\n"
    "    try:\n"
    "        code = compile(src, '/proc/self/fd/3', 'exec')\n"
    "        tb_skip = 0\n"
    "        del src\n"
    "        exec(code, g)\n"
    "    except SystemExit:\n"
    "        raise\n"
    "    except BaseException as e:\n"
    "        tb = None if tb_skip else e.__traceback__.tb_next\n"
    "        sys.excepthook(type(e), e, e.with_traceback(tb).__traceback__)\n"
    "        sys.exit(1)\n"
    "_runbox_stub(__import__('sys'), __import__('os'))\n";

int sp_prestart(sp_sandbox *s)
{
    const runbox_host *host = s->b->host;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        return host->fail(s->b->hctx, RUNBOX_EIO, "socketpair: %s",
                          strerror(errno));
    s->pre = calloc(1, sizeof *s->pre);
    if (!s->pre) {
        close(sv[0]);
        close(sv[1]);
        return host->fail(s->b->hctx, RUNBOX_ENOMEM, "out of memory");
    }
    const char *argv[] = {s->b->python, "-s", "-c", sp_stub_py, NULL};
    sp_spawn sp = {argv, NULL, 0, s->limits.network, 0, &s->limits, 0, NULL,
                   NULL, NULL};
    int rc = sp_box_start(s, &sp, sv[1], s->pre);
    close(sv[1]);
    if (rc) {
        close(sv[0]);
        free(s->pre);
        s->pre = NULL;
        return rc;
    }
    s->pre_code = sv[0];
    s->prestarted = 1;
    return RUNBOX_OK;
}

/* Writes all of the code, then EOF. A stub that died makes the write
 * fail; its end is then reported by sp_box_finish as it happened. */
static void sp_prestart_send(int fd, const char *code, size_t len)
{
    while (len) {
        ssize_t n = send(fd, code, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        code += n;
        len -= (size_t)n;
    }
    shutdown(fd, SHUT_WR);
}

int sp_prestart_exec(sp_sandbox *s, const runbox_exec_request *req,
                     sp_sink_fn sink, void *sink_ud, runbox_exec_outcome *out)
{
    sp_prestart_send(s->pre_code, req->code, req->code_len);
    close(s->pre_code);
    s->pre_code = -1;
    s->prestarted = 0; /* used once */
    sp_spawn sp = {NULL, NULL, 0, s->limits.network, 0, &req->limits,
                   req->deadline, sink, sink_ud, req->io};
    sp_box_proc *p = s->pre;
    s->pre = NULL;
    int rc = sp_box_finish(s, &sp, p, out);
    free(p);
    return rc;
}

int sp_prestart_check(sp_sandbox *s)
{
    if (!s->prestarted)
        return RUNBOX_OK;
    int status;
    double cpu;
    if (sp_box_pump(s->box) < 0 ||
        sp_box_exited(s->box, s->pre->pid, &status, &cpu, NULL))
        return RUNBOX_EGONE;
    /* The stub prints nothing before its code: output means trouble. */
    struct pollfd pf[2] = {{s->pre->out_fd, POLLIN, 0}, {s->pre->err_fd, POLLIN, 0}};
    return poll(pf, 2, 0) != 0 ? RUNBOX_EGONE : RUNBOX_OK;
}

void sp_prestart_drop(sp_sandbox *s)
{
    if (s->pre_code >= 0 && s->prestarted)
        close(s->pre_code);
    if (s->pre) {
        if (s->pre->out_fd >= 0)
            close(s->pre->out_fd);
        if (s->pre->err_fd >= 0)
            close(s->pre->err_fd);
        free(s->pre);
        s->pre = NULL;
    }
    s->prestarted = 0;
    s->pre_code = -1;
}
