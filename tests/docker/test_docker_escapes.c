/*
 * test_docker_escapes.c — hostile code against what the docker backend
 * promises about the host's disk, time and CPU: the engine keeps no log of
 * the output, nothing a session call starts outlives it, the session work
 * directory has a size, planted modules do not reach runbox's own Python,
 * a timeout holds under an output flood, a CPU quota is set, and a
 * container ends on its own when runbox is killed.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "docker_test_util.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static int run(runbox_context *c, const char *code, double timeout,
               runbox_result *r)
{
    runbox_exec_options o = {.code = code, .timeout = timeout};
    runbox_result_init(r);
    return runbox_execute(c, &o, r);
}

static void sexec(runbox_session *s, const char *code, double timeout,
                  runbox_result *r)
{
    runbox_exec_options o = {.code = code, .timeout = timeout};
    runbox_result_init(r);
    int rc = runbox_session_execute(s, &o, r);
    if (rc != RUNBOX_OK)
        fail_msg("session execute: %s", runbox_error_last());
}

/* Bytes the engine stores as the container's log (its LogPath file), or 0
 * when it keeps none. */
static long long log_bytes(const char *id)
{
    cJSON *doc = dt_inspect(id);
    assert_non_null(doc);
    cJSON *path = cJSON_GetObjectItem(doc, "LogPath");
    long long n = 0;
    struct stat st;
    if (cJSON_IsString(path) && *path->valuestring &&
        stat(path->valuestring, &st) == 0)
        n = (long long)st.st_size;
    cJSON_Delete(doc);
    return n;
}

/* The code floods stdout, and a child writes to pid 1's stdout (the
 * keeper's, which a log would store too): the engine's disk sees none of
 * it. */
static void test_log_bounded_session(void **state)
{
    (void)state;
    runbox_context *c = dt_context(NULL);
    runbox_session *s = NULL;
    assert_int_equal(runbox_session_open(&s, c), RUNBOX_OK);
    runbox_result r;
    sexec(s, "import sys\nb = 'x' * 65535 + '\\n'\n"
             "for i in range(480): sys.stdout.write(b)\n"
             "try:\n"
             "    f = open('/proc/1/fd/1', 'w')\n"
             "    for i in range(480): f.write(b)\n"
             "    print('wrote to pid 1')\n"
             "except OSError as e:\n"
             "    print('pid 1 refused', type(e).__name__)\n", 120, &r);
    assert_true(r.out.total >= 480u * 65536);
    char *id = dt_container_of((long)getpid());
    assert_non_null(id);
    long long n = log_bytes(id);
    print_message("engine log after 30 MiB of output: %lld bytes\n", n);
    assert_true(n < 1024 * 1024);
    free(id);
    runbox_result_clear(&r);
    runbox_session_close(s);
    runbox_context_free(c);
}

typedef struct flood_seen {
    size_t bytes;
    long long log_at_20m; /* -1 = not measured yet */
} flood_seen;

static void flood_output(void *arg, int stream, const char *data, size_t len)
{
    flood_seen *f = arg;
    (void)stream, (void)data;
    f->bytes += len;
    if (f->bytes >= (20u << 20) && f->log_at_20m < 0) {
        char *id = dt_container_of((long)getpid());
        f->log_at_20m = id ? log_bytes(id) : -2;
        free(id);
    }
}

static void test_log_bounded_oneshot(void **state)
{
    (void)state;
    static const char *const extra[] = {"output_limit", "64m", NULL};
    runbox_context *c = dt_context(extra);
    flood_seen f = {0, -1};
    runbox_exec_options o = {
        .code = "import sys\nb = 'y' * 65535 + '\\n'\n"
                "for i in range(480): sys.stdout.write(b)\n",
        .timeout = 120, .on_output = flood_output, .userdata = &f};
    runbox_result r;
    runbox_result_init(&r);
    assert_int_equal(runbox_execute(c, &o, &r), RUNBOX_OK);
    print_message("engine log after 20 MiB of output: %lld bytes\n", f.log_at_20m);
    assert_true(f.log_at_20m >= 0);
    assert_true(f.log_at_20m < 1024 * 1024);
    runbox_result_clear(&r);
    runbox_context_free(c);
}

/* Every file system the code can write is a tmpfs of a set size (or its
 * tmpfs_size when it is runbox's own): nothing the engine adds (Podman
 * mounts a /var/tmp for a read-only root) lets it fill the host's memory
 * or disk. POSIX message queues are bounded by RLIMIT_MSGQUEUE; mounted
 * device nodes (/dev/null, rootless Podman's masks) are not directories. */
static void test_writable_mounts_bounded(void **state)
{
    (void)state;
    runbox_context *c = dt_context(NULL);
    runbox_result r;
    assert_int_equal(run(c, "import os\n"
                            "for l in open('/proc/mounts'):\n"
                            "    dev, mnt, fs, opts = l.split()[:4]\n"
                            "    if fs == 'mqueue':\n" /* bounded by RLIMIT_MSGQUEUE */
                            "        continue\n"
                            "    if not os.path.isdir(mnt):\n" /* device nodes, masks */
                            "        continue\n"
                            "    if 'rw' in opts.split(',') and os.access(mnt, os.W_OK):\n"
                            "        size = [o for o in opts.split(',') if o.startswith('size=')]\n"
                            "        print(mnt, fs, size[0] if size else 'NO-SIZE')\n",
                         30, &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    print_message("writable mounts:\n%s", r.out.data);
    assert_non_null(strstr(r.out.data, "/sandbox tmpfs size="));
    assert_non_null(strstr(r.out.data, "/tmp tmpfs size="));
    assert_null(strstr(r.out.data, "NO-SIZE"));
    for (const char *l = r.out.data; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        assert_true(strncmp(strchr(l, ' ') + 1, "tmpfs ", 6) == 0);
    runbox_result_clear(&r);
    runbox_context_free(c);
}

/* A double-forked setsid daemon started by one call is gone before the
 * next call starts; one that keeps the output open ends at the timeout. */
static void test_session_daemon_gone(void **state)
{
    (void)state;
    runbox_context *c = dt_context(NULL);
    runbox_session *s = NULL;
    assert_int_equal(runbox_session_open(&s, c), RUNBOX_OK);
    runbox_result r;
    sexec(s, "import os, time\n"
             "if os.fork() == 0:\n"
             "    os.setsid()\n"
             "    if os.fork() == 0:\n"
             "        fd = os.open('/dev/null', os.O_RDWR)\n"
             "        for i in range(3): os.dup2(fd, i)\n"
             "        while True:\n"
             "            with open('/sandbox/beat', 'a') as f: f.write('x')\n"
             "            time.sleep(0.02)\n"
             "    os._exit(0)\n"
             "time.sleep(0.3)\n"
             "print('beats', os.path.getsize('/sandbox/beat') > 0)\n", 30, &r);
    if (r.verdict != RUNBOX_VERDICT_OK)
        print_message("%s|%s|%s\n", r.out.data, r.err.data, r.message);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(r.out.data, "beats True\n");
    runbox_result_clear(&r);
    static const char list_py[] =
        "import os, time\n"
        "def others():\n"
        "    out = []\n"
        "    for p in os.listdir('/proc'):\n"
        "        if p.isdigit() and int(p) not in (1, os.getpid()):\n"
        "            out.append(open(f'/proc/{p}/cmdline').read().replace('\\0', ' '))\n"
        "    return out\n"
        "a = os.path.getsize('/sandbox/beat') if os.path.exists('/sandbox/beat') else 0\n"
        "time.sleep(0.5)\n"
        "b = os.path.getsize('/sandbox/beat') if os.path.exists('/sandbox/beat') else 0\n"
        "print(others(), b - a)\n";
    sexec(s, list_py, 30, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(r.out.data, "[] 0\n");
    runbox_result_clear(&r);

    /* This one keeps the call's output open: the call still ends (when
     * its process exits, or at the timeout) and the daemon with it. */
    double t0 = mono();
    sexec(s, "import os, time\n"
             "if os.fork() == 0:\n"
             "    os.setsid()\n"
             "    if os.fork() == 0:\n"
             "        while True: time.sleep(1)\n"
             "    os._exit(0)\n"
             "print('left')\n", 3, &r);
    assert_true(r.verdict == RUNBOX_VERDICT_OK || r.verdict == RUNBOX_VERDICT_TIMEOUT);
    assert_true(mono() - t0 < 10);
    runbox_result_clear(&r);
    sexec(s, list_py, 30, &r);
    assert_string_equal(r.out.data, "[] 0\n");
    runbox_result_clear(&r);
    runbox_session_close(s);
    runbox_context_free(c);
}

/* The session work directory cannot grow past tmpfs_size. */
static void test_session_workdir_bounded(void **state)
{
    (void)state;
    static const char *const extra[] = {"docker.tmpfs_size", "16m", NULL};
    runbox_context *c = dt_context(extra);
    runbox_session *s = NULL;
    assert_int_equal(runbox_session_open(&s, c), RUNBOX_OK);
    runbox_result r;
    sexec(s, "import errno\n"
             "n = 0\n"
             "try:\n"
             "    with open('/sandbox/fill', 'wb') as f:\n"
             "        for i in range(64):\n"
             "            f.write(b'z' * (1 << 20))\n"
             "            f.flush()\n"
             "            n += 1\n"
             "except OSError as e:\n"
             "    print('stopped', errno.errorcode[e.errno])\n"
             "print('mib', n)\n", 60, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    print_message("%s", r.out.data);
    assert_non_null(strstr(r.out.data, "stopped ENOSPC"));
    assert_true(atoi(strstr(r.out.data, "mib ") + 4) <= 16);
    runbox_result_clear(&r);
    /* A full directory refuses files; once emptied, they travel again. */
    assert_int_not_equal(runbox_session_write_file(s, "small.txt", "ok", 2), RUNBOX_OK);
    sexec(s, "import os\nos.remove('/sandbox/fill')", 30, &r);
    runbox_result_clear(&r);
    assert_int_equal(runbox_session_write_file(s, "small.txt", "ok", 2), RUNBOX_OK);
    sexec(s, "print(open('small.txt').read())", 30, &r);
    assert_string_equal(r.out.data, "ok\n");
    runbox_result_clear(&r);
    runbox_session_close(s);
    runbox_context_free(c);
}

/* Modules planted in the work directory and the user site do not change
 * runbox's own Python: the CPU limit still holds and the environment
 * report is not forged. */
static void test_planted_modules(void **state)
{
    (void)state;
    static const char *const extra[] = {"cpu_time", "2", NULL};
    runbox_context *c = dt_context(extra);
    runbox_session *s = NULL;
    assert_int_equal(runbox_session_open(&s, c), RUNBOX_OK);
    static const char fake_resource[] =
        "RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_NOFILE = 0, 1, 7\n"
        "def setrlimit(*a): pass\n";
    static const char fake_json[] =
        "def dumps(*a, **k): return '{\"python\": \"forged\", \"packages\": {}}'\n";
    static const char custom[] = "print('planted ran')\n";
    const char *site = ".local/lib/python3.11/site-packages/";
    char path[256];
    static const char *const names[] = {"resource.py", "json.py", "os.py",
                                        "sitecustomize.py", "usercustomize.py"};
    for (size_t i = 0; i < 5; i++) {
        const char *body = i == 0 ? fake_resource : i == 1 ? fake_json : custom;
        if (i == 2)
            continue; /* os.py in the cwd would break the code's own run */
        assert_int_equal(runbox_session_write_file(s, names[i], body, strlen(body)),
                         RUNBOX_OK);
        snprintf(path, sizeof(path), "%s%s", site, names[i]);
        assert_int_equal(runbox_session_write_file(s, path, body, strlen(body)),
                         RUNBOX_OK);
    }
    runbox_result r;
    double t0 = mono();
    /* Stopped by the 2 s CPU limit, well before the 60 s wall limit that
     * a disabled CPU limit would leave. */
    sexec(s, "while True: pass", 60, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
    print_message("planted modules: CPU-bound run stopped after %.1f s\n", mono() - t0);
    assert_true(mono() - t0 < 40);
    runbox_result_clear(&r);

    char *json = NULL;
    assert_int_equal(runbox_session_environment(s, &json), RUNBOX_OK);
    cJSON *doc = cJSON_Parse(json);
    assert_non_null(doc);
    cJSON *py = cJSON_GetObjectItem(doc, "python");
    assert_true(cJSON_IsString(py));
    assert_true(!strncmp(py->valuestring, "3.", 2));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "packages"),
                                                   "pip")));
    cJSON_Delete(doc);
    free(json);
    runbox_session_close(s);
    runbox_context_free(c);
}

/* -t 5 under an output flood returns within 7 s, one-shot and session. */
static void test_timeout_under_flood(void **state)
{
    (void)state;
    static const char flood[] = "import sys\nb = 'f' * 65535 + '\\n'\n"
                                "while True: sys.stdout.write(b)\n";
    runbox_context *c = dt_context(NULL);
    runbox_result r;
    double t0 = mono();
    assert_int_equal(run(c, flood, 5, &r), RUNBOX_OK);
    double took = mono() - t0;
    print_message("one-shot flood with -t 5: %.2f s\n", took);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
    assert_true(took < 7);
    runbox_result_clear(&r);

    runbox_session *s = NULL;
    assert_int_equal(runbox_session_open(&s, c), RUNBOX_OK);
    t0 = mono();
    sexec(s, flood, 5, &r);
    took = mono() - t0;
    print_message("session flood with -t 5: %.2f s\n", took);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
    assert_true(took < 7);
    runbox_result_clear(&r);
    sexec(s, "print('after')", 30, &r);
    assert_string_equal(r.out.data, "after\n");
    runbox_result_clear(&r);
    runbox_session_close(s);
    runbox_context_free(c);
}

/* One CPU by default (NanoCpus), and the cpus setting is a real quota:
 * two spinning processes get about half a CPU between them. */
static void test_cpu_quota(void **state)
{
    (void)state;
    runbox_context *c = dt_context(NULL);
    runbox_session *s = NULL;
    assert_int_equal(runbox_session_open(&s, c), RUNBOX_OK);
    runbox_result r;
    sexec(s, "print('up')", 30, &r);
    if (dt_engine_no_cgroups()) {
        /* Rootless on cgroup v1: no CPU quota, and none claimed. */
        assert_null(strstr(r.isolation, "cpus"));
        runbox_result_clear(&r);
        runbox_session_close(s);
        runbox_context_free(c);
        print_message("skipped on a rootless engine on cgroup v1: no CPU "
                      "quota (none claimed: %s)\n", "isolation without cpus");
        skip();
    }
    assert_non_null(strstr(r.isolation, "1 cpus"));
    runbox_result_clear(&r);
    char *id = dt_container_of((long)getpid());
    assert_non_null(id);
    cJSON *doc = dt_inspect(id);
    cJSON *nano = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "HostConfig"), "NanoCpus");
    assert_true(cJSON_IsNumber(nano));
    assert_true(nano->valuedouble == 1e9);
    cJSON_Delete(doc);
    free(id);
    runbox_session_close(s);
    runbox_context_free(c);

    const char *rt = dt_runtime();
    if (rt && !strcmp(rt, "runsc")) {
        /* gVisor's getrusage counts its own virtual CPU time, not the
         * host's: the quota cannot be measured from inside. */
        print_message("runsc: NanoCpus checked; CPU use not measurable inside gVisor\n");
        return;
    }
    static const char *const half[] = {"docker.cpus", "0.5", NULL};
    c = dt_context(half);
    assert_int_equal(run(c,
                         "import os, resource, time\n"
                         "t0 = time.time()\n"
                         "kids = []\n"
                         "for i in range(2):\n"
                         "    pid = os.fork()\n"
                         "    if pid == 0:\n"
                         "        end = time.time() + 3\n"
                         "        while time.time() < end: pass\n"
                         "        os._exit(0)\n"
                         "    kids.append(pid)\n"
                         "for p in kids: os.waitpid(p, 0)\n"
                         "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
                         "print(ru.ru_utime + ru.ru_stime, time.time() - t0)\n",
                         60, &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    double cpu = 0, wall = 0;
    assert_int_equal(sscanf(r.out.data, "%lf %lf", &cpu, &wall), 2);
    print_message("cpus=0.5: %.2f s of CPU in %.2f s\n", cpu, wall);
    assert_true(cpu < 0.75 * wall);
    runbox_result_clear(&r);
    runbox_context_free(c);
}

/* The code tries to disable its container's deadline: signals to pid 1
 * (also the keep-alive one), ptrace, its memory. */
static const char attack_init_py[] =
    "import ctypes, os, signal, time\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "for sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM, signal.SIGHUP):\n"
    "    try: os.kill(1, sig)\n"
    "    except OSError: pass\n"
    "libc.ptrace(16, 1, 0, 0)\n"
    "try: open('/proc/1/mem', 'r+b')\n"
    "except OSError: pass\n"
    /* No output from here on: with runbox gone, a write could end the
     * code early and hide whether the deadline works. */
    "while True:\n"
    "    try: os.kill(1, signal.SIGUSR2)\n"
    "    except OSError: pass\n"
    "    time.sleep(0.05)\n";

/* In a child: a context (session when session != 0) that runs the attack
 * with timeout; the parent SIGKILLs the child mid-run. */
static pid_t runbox_to_kill(int session, double timeout, double idle)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0)
        return pid;
    char idle_s[32];
    snprintf(idle_s, sizeof(idle_s), "%g", idle);
    const char *extra[] = {"docker.idle_timeout", idle_s, NULL};
    runbox_context *c = dt_context(extra);
    runbox_result r;
    if (session) {
        runbox_session *s = NULL;
        if (runbox_session_open(&s, c) != RUNBOX_OK)
            _exit(2);
        runbox_exec_options o = {.code = attack_init_py, .timeout = timeout};
        runbox_result_init(&r);
        runbox_session_execute(s, &o, &r);
    } else {
        run(c, attack_init_py, timeout, &r);
    }
    _exit(3); /* not reached: killed before */
}

static void kill_mid_run(pid_t child)
{
    double until = mono() + 30;
    while (dt_count_running_of((long)child) == 0 && mono() < until)
        sleep_s(0.1);
    assert_true(dt_count_running_of((long)child) > 0);
    sleep_s(1.5); /* the attack has run */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}

static void test_deadline_without_runbox_oneshot(void **state)
{
    (void)state;
    /* pid 1 cannot be traced or written by the code. */
    runbox_context *pc = dt_context(NULL);
    runbox_result r;
    assert_int_equal(run(pc,
                         "import ctypes, os\n"
                         "libc = ctypes.CDLL(None, use_errno=True)\n"
                         "print('ptrace', libc.ptrace(16, 1, 0, 0), ctypes.get_errno())\n"
                         "try:\n"
                         "    open('/proc/1/mem', 'r+b')\n"
                         "    print('mem opened')\n"
                         "except OSError as e:\n"
                         "    print('mem', e.errno)\n", 30, &r), RUNBOX_OK);
    print_message("%s", r.out.data);
    assert_string_equal(r.out.data, "ptrace -1 1\nmem 13\n");
    runbox_result_clear(&r);
    runbox_context_free(pc);
    double timeout = 3;
    double t0 = mono();
    pid_t child = runbox_to_kill(0, timeout, 1800);
    kill_mid_run(child);
    /* The container started after t0; it must stop by timeout + grace
     * (5 s) after its start, whatever the code did. */
    while (dt_count_running_of((long)child) > 0 && mono() - t0 < 40)
        sleep_s(0.2);
    double stopped = mono() - t0;
    print_message("one-shot, runbox killed: stopped %.1f s after the run began "
                  "(timeout %.0f s + 5 s grace)\n", stopped, timeout);
    assert_int_equal(dt_count_running_of((long)child), 0);
    assert_true(stopped < timeout + 5 + 4); /* + container start and polling */
    /* What is left is a stopped container, which the next runbox removes
     * (or one opening at the same time: give that a moment). */
    runbox_context *c = dt_context(NULL);
    for (int i = 0; i < 100 && dt_count_containers_of((long)child) > 0; i++)
        sleep_s(0.1);
    assert_int_equal(dt_count_containers_of((long)child), 0);
    runbox_context_free(c);
}

static void test_deadline_without_runbox_session(void **state)
{
    (void)state;
    runbox_context_free(dt_context(NULL));
    double idle = 4;
    pid_t child = runbox_to_kill(1, 600, idle);
    kill_mid_run(child);
    double t0 = mono();
    while (dt_count_containers_of((long)child) > 0 && mono() - t0 < 40)
        sleep_s(0.2);
    double gone = mono() - t0;
    print_message("session, runbox killed mid-call: keeper gone %.1f s later "
                  "(idle_timeout %.0f s)\n", gone, idle);
    assert_int_equal(dt_count_containers_of((long)child), 0);
    assert_true(gone < idle + 4);
}

/* A runtime the engine does not have is refused with what to do. */
static void test_runtime_unregistered(void **state)
{
    (void)state;
    runbox_context_free(dt_context(NULL));
    int before = dt_count_containers_of((long)getpid());
    static const char *const extra[] = {"docker.runtime", "runbox-no-such-runtime", NULL};
    runbox_config *cfg = dt_config(extra);
    runbox_context *c = NULL;
    int rc = runbox_context_new(&c, cfg);
    runbox_config_free(cfg);
    if (rc == RUNBOX_OK) {
        runbox_result r;
        rc = run(c, "print(1)", 30, &r);
        runbox_result_clear(&r);
        runbox_context_free(c);
    }
    assert_int_not_equal(rc, RUNBOX_OK);
    print_message("%s\n", runbox_error_last());
    assert_non_null(strstr(runbox_error_last(), "runbox-no-such-runtime"));
    assert_non_null(strstr(runbox_error_last(), "not registered"));
    assert_int_equal(dt_count_containers_of((long)getpid()), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_bounded_session),
        cmocka_unit_test(test_log_bounded_oneshot),
        cmocka_unit_test(test_writable_mounts_bounded),
        cmocka_unit_test(test_session_daemon_gone),
        cmocka_unit_test(test_session_workdir_bounded),
        cmocka_unit_test(test_planted_modules),
        cmocka_unit_test(test_timeout_under_flood),
        cmocka_unit_test(test_cpu_quota),
        cmocka_unit_test(test_deadline_without_runbox_oneshot),
        cmocka_unit_test(test_deadline_without_runbox_session),
        cmocka_unit_test(test_runtime_unregistered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
