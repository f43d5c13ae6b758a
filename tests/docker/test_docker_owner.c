/*
 * test_docker_owner.c — a session's container ends with the runbox
 * process that owns it: a child process holds a docker session and is
 * SIGKILLed (no chance to clean up), idle between calls or in the middle
 * of a call whose code left a daemon behind; its keeper container must be
 * gone within seconds, long before the session's idle_timeout.
 *
 * The child runs in a UTS namespace of its own with a hostname of its
 * own, so that no other runbox on this machine (which removes the
 * containers of dead runbox processes of its host when it opens docker)
 * can do the work for the keeper: only the container's own end removes
 * it. Every check is scoped to the child's pid label.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "docker_test_util.h"

/* How long the keeper may take to go after its owner died: the engine's
 * attach teardown and container removal on a loaded, shared machine. The
 * session's idle_timeout (default 1800 s) is what it was before. */
#define GONE_WITHIN_S 20.0

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The code tries to get hold of the keeper's stdin, which would let it
 * keep the container alive after runbox is gone (a second writer on the
 * pipe hides the end of the engine's). What it opens it closes again, so
 * that where it can (gVisor, see below) the rest of the test still sees
 * the keeper end. */
static const char grab_stdin_py[] =
    "import errno, os\n"
    "res = []\n"
    "for flags in (os.O_WRONLY, os.O_RDONLY):\n"
    "    try:\n"
    "        os.close(os.open('/proc/1/fd/0', flags))\n"
    "        res.append('opened')\n"
    "    except OSError as e:\n"
    "        res.append(errno.errorcode.get(e.errno, str(e.errno)))\n"
    "print(' '.join(res))\n";

/* A daemon (setsid, double fork, SIGTERM/SIGHUP ignored) carrying mark on
 * its command line, then the call itself sleeps. */
static const char daemon_py[] =
    "import os, signal, sys, time\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "        signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
    "        os.execvp(sys.executable, [sys.executable, '-c',\n"
    "                  'import time; time.sleep(600)', '%s'])\n"
    "    os._exit(0)\n"
    "time.sleep(0.5)\n"
    "print('running', flush=True)\n"
    "time.sleep(600)\n";

typedef struct child_io {
    int fd;
    int told;
} child_io;

static void child_say(int fd, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (write(fd, line, (size_t)n) < 0)
        _exit(3);
}

static void child_output(void *userdata, int stream,
                         const char *data, size_t len)
{
    child_io *io = userdata;
    (void)stream;
    if (!io->told && len && memmem(data, len, "running", 7)) {
        io->told = 1;
        child_say(io->fd, "running");
    }
}

/* The child: a session, the stdin grab, then idle (pause) or in a call
 * that never ends. It reports on fd and waits for its SIGKILL. */
static void child_main(int fd, runbox_config *cfg, int mid_call,
                       const char *mark)
{
    char name[64];
    snprintf(name, sizeof(name), "rbkeeper-test-%ld", (long)getpid());
    int own_host = unshare(CLONE_NEWUTS) == 0 &&
                   sethostname(name, strlen(name)) == 0;
    runbox_context *ctx = NULL;
    runbox_session *s = NULL;
    if (runbox_context_new(&ctx, cfg) != RUNBOX_OK ||
        runbox_session_open(&s, ctx) != RUNBOX_OK) {
        child_say(fd, "error: %s", runbox_error_last());
        _exit(1);
    }
    runbox_result r;
    runbox_result_init(&r);
    runbox_exec_options o = {.code = grab_stdin_py, .timeout = 60};
    if (runbox_session_execute(s, &o, &r) != RUNBOX_OK ||
        r.verdict != RUNBOX_VERDICT_OK) {
        child_say(fd, "error: %s %s", r.message, runbox_error_last());
        _exit(1);
    }
    char said[256];
    snprintf(said, sizeof(said), "%s", r.out.data ? r.out.data : "");
    said[strcspn(said, "\n")] = '\0';
    child_say(fd, "ready %s grab=%s", own_host ? "own-host" : "shared-host", said);
    runbox_result_clear(&r);
    if (!mid_call) {
        for (;;)
            pause();
    }
    char code[2048];
    snprintf(code, sizeof(code), daemon_py, mark);
    child_io io = {.fd = fd};
    runbox_exec_options call = {.code = code, .timeout = 600,
                                .on_output = child_output, .userdata = &io};
    runbox_session_execute(s, &call, &r);
    child_say(fd, "error: the call ended: %s", r.message);
    _exit(1);
}

/* One line from the child, or fail after timeout_s. */
static void read_line(int fd, char *line, size_t size, double timeout_s)
{
    size_t have = 0;
    double until = now_s() + timeout_s;
    while (have < size - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)((until - now_s()) * 1000);
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        ssize_t n = read(fd, line + have, 1);
        if (n <= 0)
            break;
        if (line[have] == '\n')
            break;
        have++;
    }
    line[have] = '\0';
}

/* Processes of this machine whose command line holds mark. */
static int marked_processes(const char *mark)
{
    DIR *d = opendir("/proc");
    int found = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], buf[4096];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        int f = open(path, O_RDONLY);
        if (f < 0)
            continue;
        ssize_t n = read(f, buf, sizeof(buf));
        close(f);
        if (n > 0 && memmem(buf, (size_t)n, mark, strlen(mark)))
            found++;
    }
    if (d)
        closedir(d);
    return found;
}

static void owner_killed(int mid_call)
{
    /* Skips or fails (CI) without an engine or the image. */
    runbox_context_free(dt_context(NULL));
    runbox_config *cfg = dt_config(NULL);
    char mark[64];
    snprintf(mark, sizeof(mark), "rbkeeper-mark-%ld-%d", (long)getpid(), mid_call);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        child_main(fds[1], cfg, mid_call, mark);
    }
    close(fds[1]);
    runbox_config_free(cfg);

    char line[1024];
    read_line(fds[0], line, sizeof(line), 180);
    print_message("child %ld: %s\n", (long)child, line);
    int ok = !strncmp(line, "ready ", 6);
    if (ok && strstr(line, "shared-host"))
        print_message("note: no UTS namespace here, so another runbox on "
                      "this machine may remove the container too\n");
    /* The code could not open the keeper's stdin, either way: pid 1 is
     * non-dumpable. gVisor's /proc does not apply that to /proc/1/fd: a
     * known gap (README), expected until it does. */
    const char *rt = dt_runtime();
    if (ok && rt && !strcmp(rt, "runsc")) {
        ok = strstr(line, "grab=opened opened") != NULL;
        print_message("%s\n", ok ? "known gap on runsc: the code can open the "
                      "keeper's stdin and so hold its container until idle_timeout"
                      : "runsc now refuses /proc/1/fd: update the docker README");
    } else if (ok) {
        ok = !strstr(line, "opened") && strstr(line, "grab=E");
    }
    if (ok && mid_call) {
        read_line(fds[0], line, sizeof(line), 120);
        ok = !strcmp(line, "running");
        if (!ok)
            print_message("child %ld: %s\n", (long)child, line);
    }
    char *id = ok ? dt_container_of((long)child) : NULL;
    if (ok && !mid_call) {
        /* An idle owner keeps its session. */
        sleep(2);
        ok = dt_count_running_of((long)child) == 1;
        if (!ok)
            snprintf(line, sizeof(line), "the session's container ended while "
                     "its owner lived");
    }
    /* The daemon is a process of this kernel, except under gVisor, whose
     * processes live in its own kernel: there the container's end is the
     * proof. */
    int host_procs = !(rt && !strcmp(rt, "runsc"));
    if (ok && mid_call && host_procs && marked_processes(mark) == 0) {
        ok = 0;
        snprintf(line, sizeof(line), "the code's daemon is not running");
    }

    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(fds[0]);
    if (!ok || !id) {
        free(id);
        fail_msg("the child's session did not get ready: %s",
                 !ok ? line : "no running container of the child");
    }
    double t0 = now_s();
    while (dt_count_containers_of((long)child) > 0 && now_s() - t0 < GONE_WITHIN_S)
        usleep(100 * 1000);
    double took = now_s() - t0;
    int left = dt_count_containers_of((long)child);
    if (left) {
        /* Not ours to leave behind: remove it, then fail. */
        char path[256], *body = NULL;
        snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
        dt_api("DELETE", path, NULL, &body);
        free(body);
    }
    free(id);
    if (left)
        fail_msg("the killed runbox's session container still ran %.0f s "
                 "after its SIGKILL", GONE_WITHIN_S);
    print_message("keeper container gone %.1f s after its owner's SIGKILL\n", took);
    if (host_procs)
        assert_int_equal(marked_processes(mark), 0);
}

static void test_idle_owner_killed(void **state)
{
    (void)state;
    owner_killed(0);
}

static void test_owner_killed_mid_call(void **state)
{
    (void)state;
    owner_killed(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_owner_killed),
        cmocka_unit_test(test_owner_killed_mid_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
