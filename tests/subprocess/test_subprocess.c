/* The subprocess backend, for real: processes, namespaces, limits, files.
 * Most tests run twice: with namespaces and with isolation = none. */
#include "testutil.h"
#include "runbox/backend.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *isolations[] = {"namespaces", "none"};
static char *shared; /* a world-writable folder the code can leave marks in */

static int group_setup(void **state)
{
    (void)state;
    shared = tu_tmpdir();
    chmod(shared, 01777);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tu_rmtree(shared);
    free(shared);
    return 0;
}

static runbox_context *ctx_for(const char *isolation, const char *extra1,
                               const char *extra2)
{
    char iso[64];
    snprintf(iso, sizeof iso, "subprocess.isolation=%s", isolation);
    return tu_context("subprocess", iso, extra1, extra2, NULL);
}

static void run_ok(runbox_context *ctx, const char *code, runbox_result *r)
{
    int rc = tu_run(ctx, code, r);
    if (rc)
        fail_msg("run failed: %s", runbox_error_last());
}

static void test_basics(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        runbox_context *ctx = ctx_for(isolations[i], NULL, NULL);
        runbox_result r;
        runbox_result_init(&r);
        run_ok(ctx, "print(6*7)", &r);
        assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
        assert_true(r.success);
        assert_string_equal(r.out.data, "42\n");
        assert_int_equal(r.exit_code, 0);
        assert_true(tu_contains(r.isolation, i == 0 ? "sandbox(" : "NONE"));

        run_ok(ctx, "import sys; sys.exit(3)", &r);
        assert_int_equal(r.verdict, RUNBOX_VERDICT_EXIT_NONZERO);
        assert_int_equal(r.exit_code, 3);
        assert_null(r.error_name);

        run_ok(ctx, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", &r);
        assert_int_equal(r.verdict, RUNBOX_VERDICT_SIGNALED);
        assert_int_equal(r.signal, 9);

        run_ok(ctx, "x = 1\nraise KeyError('missing')", &r);
        assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
        assert_string_equal(r.error_name, "KeyError");
        assert_string_equal(r.error_value, "'missing'");
        assert_true(tu_contains(r.traceback, "line 2"));

        runbox_exec_options opt = {.code = "echo $((6*7)) >&2; exit 4", .language = "bash"};
        assert_int_equal(runbox_execute(ctx, &opt, &r), RUNBOX_OK);
        assert_string_equal(r.err.data, "42\n");
        assert_int_equal(r.exit_code, 4);
        runbox_result_clear(&r);
        runbox_context_free(ctx);
    }
}

/* A grandchild that called setsid keeps appending to a file; after the
 * timeout it must be dead: the file stops growing. */
/* The mark's size, read on the host (none) or through the session's file
 * API (the sandbox's /tmp is its own). */
static long mark_size(runbox_session *ss, const char *mark)
{
    if (!ss) {
        struct stat st;
        return stat(mark, &st) ? -1 : (long)st.st_size;
    }
    void *data = NULL;
    size_t len = 0;
    if (runbox_session_read_file(ss, mark, &data, &len))
        return -1;
    free(data);
    return (long)len;
}

static void test_timeout_kills_setsid_grandchild(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        char mark[4300], code[9000];
        if (i == 0)
            snprintf(mark, sizeof mark, "/tmp/tick");
        else
            snprintf(mark, sizeof mark, "%s/tick-%s", shared, isolations[i]);
        snprintf(code, sizeof code,
                 "import subprocess, sys, time\n"
                 "subprocess.Popen(['setsid', sys.executable, '-c', "
                 "'import time\\nwhile True:\\n open(%s, \"a\").write(\"x\"); time.sleep(0.01)'],"
                 " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
                 "while True: pass\n", "\"" "%s" "\"");
        char final[9500];
        snprintf(final, sizeof final, code, mark);
        runbox_context *ctx = ctx_for(isolations[i], "timeout=1.5", NULL);
        runbox_session *ss = NULL;
        if (i == 0)
            assert_int_equal(runbox_session_open(&ss, ctx), RUNBOX_OK);
        runbox_result r;
        runbox_result_init(&r);
        runbox_exec_options opt = {.code = final};
        if (ss)
            assert_int_equal(runbox_session_execute(ss, &opt, &r), RUNBOX_OK);
        else
            run_ok(ctx, final, &r);
        assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
        assert_true(tu_contains(r.message, "wall-clock"));
        long a = mark_size(ss, mark);
        assert_true(a > 0); /* the grandchild did run */
        usleep(300 * 1000);
        if (a != mark_size(ss, mark))
            fail_msg("%s: the setsid grandchild survived the timeout", isolations[i]);
        runbox_result_clear(&r);
        runbox_session_close(ss);
        runbox_context_free(ctx);
    }
}

/* A background child holding stdout open must not keep the run waiting. */
static void test_child_holding_stdout(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        runbox_context *ctx = ctx_for(isolations[i], "timeout=20", NULL);
        runbox_result r;
        runbox_result_init(&r);
        run_ok(ctx, "import subprocess\nsubprocess.Popen(['sleep', '60'])\nprint('done')", &r);
        assert_int_equal(r.verdict, RUNBOX_VERDICT_OK); /* not TIMEOUT */
        assert_string_equal(r.out.data, "done\n");
        runbox_result_clear(&r);
        runbox_context_free(ctx);
    }
}

static void test_output_cap_bounded(void **state)
{
    (void)state;
    runbox_context *ctx = ctx_for("namespaces", "output_limit=64k", NULL);
    runbox_result r;
    runbox_result_init(&r);
    run_ok(ctx, "import sys\nfor _ in range(200): sys.stdout.write('y' * 50000)\n"
                "sys.stderr.write('tail')", &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TRUNCATED);
    assert_true(r.success);
    assert_int_equal(r.out.len, 65536);
    assert_int_equal(r.out.total, 200 * 50000);
    assert_true(r.out.truncated);
    assert_string_equal(r.err.data, "tail");
    runbox_result_clear(&r);
    runbox_context_free(ctx);
}

static void test_scrubbed_environment(void **state)
{
    (void)state;
    setenv("E2B_API_KEY", "e2b_must_not_leak", 1);
    setenv("RUNBOX_TEST_PASSED", "visible", 1);
    setenv("RUNBOX_TEST_HIDDEN", "hidden", 1);
    for (int i = 0; i < 2; i++) {
        runbox_context *ctx = ctx_for(isolations[i], "pass_env=RUNBOX_TEST_PASSED", NULL);
        runbox_result r;
        runbox_result_init(&r);
        run_ok(ctx, "import os, sys\nprint(sorted(os.environ.items()))\n"
                    "print(repr(sys.stdin.read()))\n"
                    "kinds = set()\n"
                    "for f in os.listdir('/proc/self/fd'):\n"
                    "    try:\n"
                    "        t = os.readlink('/proc/self/fd/' + f)\n"
                    "    except OSError:\n"
                    "        continue\n"
                    "    kinds.add(t.split(':')[0] if t.startswith(('pipe:', 'socket:', 'anon_inode:')) else t)\n"
                    "print(sorted(k for k in kinds if not k.startswith('/proc/')))", &r);
        assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
        assert_false(tu_contains(r.out.data, "e2b_must_not_leak"));
        assert_false(tu_contains(r.out.data, "E2B_API_KEY"));
        assert_false(tu_contains(r.out.data, "hidden"));
        assert_true(tu_contains(r.out.data, "'RUNBOX_TEST_PASSED', 'visible'"));
        assert_true(tu_contains(r.out.data, "\n''\n")); /* empty stdin */
        /* /dev/null and pipes (the code's stdout and stderr; in a sandbox
         * also the resident interpreter's channel), and without isolation
         * the code's own memfd: nothing of runbox's is inherited. */
        assert_true(tu_contains(r.out.data, "['/dev/null', 'pipe']") ||
                    tu_contains(r.out.data, "['/dev/null', '/memfd:runbox-code "
                                            "(deleted)', 'pipe']"));
        runbox_result_clear(&r);
        runbox_context_free(ctx);
    }
    unsetenv("E2B_API_KEY");
}

static void test_two_mib_code_and_metacharacters(void **state)
{
    (void)state;
    size_t n = 2u << 20;
    char *code = malloc(n + 200);
    assert_non_null(code);
    size_t off = (size_t)sprintf(code, "s = '$(id); `rm -rf /`; && |'\n");
    while (off + 40 < n)
        off += (size_t)sprintf(code + off, "x = 1  # padding padding padding\n");
    sprintf(code + off, "print(len(s), x)\n");
    runbox_context *ctx = ctx_for("namespaces", NULL, NULL);
    runbox_result r;
    runbox_result_init(&r);
    run_ok(ctx, code, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(r.out.data, "23 1\n");
    free(code);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
}

static void test_binary_output(void **state)
{
    (void)state;
    runbox_context *ctx = ctx_for("namespaces", NULL, NULL);
    runbox_result r;
    runbox_result_init(&r);
    run_ok(ctx, "import sys; sys.stdout.buffer.write(b'a\\x00b\\xff\\xfe')", &r);
    assert_int_equal(r.out.len, 5);
    assert_memory_equal(r.out.data, "a\0b\xff\xfe", 5);
    char *json = NULL;
    assert_int_equal(runbox_result_to_json(&json, &r), RUNBOX_OK);
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(o, "stdout_base64")));
    cJSON_Delete(o);
    free(json);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
}

/* The work directory goes away with everything the code left in it, and
 * nothing outside it is touched through a planted symlink. */
static void test_workdir_cleanup(void **state)
{
    (void)state;
    char victim[4300];
    snprintf(victim, sizeof victim, "%s/victim", shared);
    tu_write(NULL, victim, "keep me");
    char code[9000];
    snprintf(code, sizeof code,
             "import os\nprint(os.getcwd())\n"
             "os.mkfifo('fifo')\n"
             "os.symlink('%s', 'link')\n"
             "os.symlink('%s', 'dirlink')\n"
             "os.makedirs('locked/deeper')\nopen('locked/deeper/f', 'w').write('x')\n"
             "os.chmod('locked/deeper', 0)\nos.chmod('locked', 0)\n"
             "f = open('sparse', 'wb'); f.truncate(1 << 40); f.close()\n", victim, shared);
    runbox_context *ctx = ctx_for("none", "file_size=0", NULL);
    runbox_result r;
    runbox_result_init(&r);
    run_ok(ctx, code, &r);
    if (r.verdict != RUNBOX_VERDICT_OK)
        fail_msg("code failed: %s", r.err.data);
    char dir[4200];
    snprintf(dir, sizeof dir, "%.*s", (int)strcspn(r.out.data, "\n"), r.out.data);
    struct stat st;
    assert_int_not_equal(stat(dir, &st), 0); /* gone */
    assert_int_equal(stat(victim, &st), 0);  /* untouched */
    assert_int_equal(st.st_size, 7);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
}

static void test_limits(void **state)
{
    (void)state;
    runbox_result r;
    runbox_result_init(&r);
    runbox_context *ctx = ctx_for("namespaces", "memory=200m", NULL);
    run_ok(ctx, "x = bytearray(600 * 1024 * 1024)", &r);
    if (geteuid() == 0) {
        /* The sandbox's cgroup: the kernel's OOM kill is the evidence. */
        assert_int_equal(r.verdict, RUNBOX_VERDICT_OOM);
        assert_true(tu_contains(r.message, "OOM kill"));
        assert_true(r.limits_applied & RUNBOX_LIMIT_MEMORY);
        assert_true(tu_contains(r.isolation, "cgroup memory+pids"));
    } else {
        /* No cgroup for a normal user: the address-space limit shows only
         * as the code's MemoryError, verdict error with a note, and
         * memory is not claimed as applied. */
        assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
        assert_string_equal(r.error_name, "MemoryError");
        assert_true(tu_contains(r.message, "probably reached"));
        assert_false(r.limits_applied & RUNBOX_LIMIT_MEMORY);
        assert_true(tu_contains(r.isolation, "no cgroup"));
    }
    runbox_context_free(ctx);

    ctx = ctx_for("namespaces", "cpu_time=1", "timeout=30");
    run_ok(ctx, "while True: pass", &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
    assert_true(tu_contains(r.message, "CPU time"));
    assert_true(r.cpu_seconds >= 1.0);
    /* A process it starts is held too (RLIMIT_CPU, at twice the limit
     * plus a second), and the code's own SIGXCPU is no timeout. */
    run_ok(ctx, "import subprocess, sys\n"
                "p = subprocess.run([sys.executable, '-c', 'while True: pass'])\n"
                "print('child', p.returncode)", &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_true(tu_contains(r.out.data, "child -9") || tu_contains(r.out.data, "child -24"));
    run_ok(ctx, "import os, signal; os.kill(os.getpid(), signal.SIGXCPU)", &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_SIGNALED);
    runbox_context_free(ctx);

    /* A fork bomb is held by the process limit: the run ends by itself. */
    ctx = ctx_for("namespaces", "processes=32", "timeout=60");
    run_ok(ctx, "import os, time\nn = 0\n"
                "for _ in range(1000):\n"
                "    try:\n        pid = os.fork()\n"
                "    except OSError:\n        break\n"
                "    if pid == 0:\n        time.sleep(2); os._exit(0)\n"
                "    n += 1\nprint('forks', n)\n", &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    int forks = atoi(r.out.data + 6);
    assert_true(forks > 0 && forks < 32);
    runbox_context_free(ctx);

    ctx = ctx_for("namespaces", "file_size=1m", NULL);
    run_ok(ctx, "open('big', 'wb').write(b'x' * (4 << 20))", &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
    assert_true(tu_contains(r.error_value, "File too large"));
    runbox_context_free(ctx);
    runbox_result_clear(&r);
}

/* With namespaces the code has no network: not even the host's loopback. */
static void test_network_off(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 4), 0);
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    char code[512];
    snprintf(code, sizeof code, "import socket\ntry:\n"
             "    socket.create_connection(('127.0.0.1', %d), timeout=2); print('reached')\n"
             "except OSError as e:\n    print('blocked', e)\n", ntohs(a.sin_port));
    runbox_result r;
    runbox_result_init(&r);
    runbox_context *ctx = ctx_for("namespaces", NULL, NULL);
    run_ok(ctx, code, &r);
    assert_true(tu_contains(r.out.data, "blocked"));
    assert_true(r.limits_applied & RUNBOX_LIMIT_NETWORK);
    runbox_context_free(ctx);
    ctx = ctx_for("none", NULL, NULL); /* honest: none cannot switch it off */
    run_ok(ctx, code, &r);
    assert_true(tu_contains(r.out.data, "reached"));
    assert_false(r.limits_applied & RUNBOX_LIMIT_NETWORK);
    runbox_context_free(ctx);
    /* ...and refuses an explicit network = off it cannot honour, before
     * anything runs. */
    runbox_config *cfg = tu_config("backend=subprocess", "subprocess.isolation=none",
                                   "network=off", NULL);
    ctx = NULL;
    assert_int_equal(runbox_context_new(&ctx, cfg), RUNBOX_EUNSUPPORTED);
    assert_null(ctx);
    assert_true(tu_contains(runbox_error_last(), "network = off"));
    runbox_config_free(cfg);
    runbox_result_clear(&r);
    close(s);
}

/* isolation = none runs a process per call: the context claims neither a
 * resident interpreter nor rich results nor network control, and a
 * session indeed keeps no variable; namespaces claim and keep them. */
static void test_capabilities_follow_isolation(void **state)
{
    (void)state;
    const uint64_t narrowed = RUNBOX_CAP_INTERPRETER | RUNBOX_CAP_RICH_RESULTS |
                              RUNBOX_CAP_NETWORK_CONTROL;
    for (int i = 0; i < 2; i++) {
        int none = !strcmp(isolations[i], "none");
        runbox_context *ctx = ctx_for(isolations[i], NULL, NULL);
        uint64_t caps = runbox_context_capabilities(ctx);
        assert_int_equal(caps & narrowed, none ? 0 : narrowed);
        assert_true(caps & RUNBOX_CAP_SESSIONS);
        runbox_session *s = NULL;
        assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
        runbox_exec_options o = {.code = "x = 41"};
        runbox_result r;
        runbox_result_init(&r);
        assert_int_equal(runbox_session_execute(s, &o, &r), RUNBOX_OK);
        o.code = "print('x' in globals())";
        assert_int_equal(runbox_session_execute(s, &o, &r), RUNBOX_OK);
        assert_string_equal(r.out.data, none ? "False\n" : "True\n");
        runbox_result_clear(&r);
        runbox_session_close(s);
        runbox_context_free(ctx);
    }
}

static void test_session_files(void **state)
{
    (void)state;
    runbox_context *ctx = ctx_for("namespaces", NULL, NULL);
    runbox_session *s = NULL;
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    assert_int_equal(runbox_session_write_file(s, "data/in.txt", "hello", 5), RUNBOX_OK);
    runbox_result r;
    runbox_result_init(&r);
    /* Modules written into the sandbox are importable, as with python -c. */
    assert_int_equal(runbox_session_write_file(s, "helper.py", "X = 7\n", 6), RUNBOX_OK);
    runbox_exec_options opt = {.code = "import helper, sys\nassert helper.X == 7\n"
                                       "assert '/' not in sys.path\n"
                                       "t = open('data/in.txt').read()\n"
                                       "open('out.txt', 'w').write(t.upper())"};
    assert_int_equal(runbox_session_execute(s, &opt, &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    opt.code = "print(open('out.txt').read())"; /* persists across runs */
    assert_int_equal(runbox_session_execute(s, &opt, &r), RUNBOX_OK);
    assert_string_equal(r.out.data, "HELLO\n");
    void *data = NULL;
    size_t len = 0;
    assert_int_equal(runbox_session_read_file(s, "out.txt", &data, &len), RUNBOX_OK);
    assert_int_equal(len, 5);
    assert_string_equal(data, "HELLO");
    free(data);
    assert_int_equal(runbox_session_read_file(s, "nope.txt", &data, &len), RUNBOX_ENOTFOUND);
    /* Paths name the sandbox's own files: "..", absolute paths and links
     * the code planted stay inside its work directory. */
    opt.code = "import os; os.symlink('/etc/passwd', 'escape')\n"
               "open('/tmp/t.txt', 'w').write('tmp')";
    assert_int_equal(runbox_session_execute(s, &opt, &r), RUNBOX_OK);
    assert_int_equal(runbox_session_read_file(s, "../../etc/passwd", &data, &len),
                     RUNBOX_ENOTFOUND);
    assert_int_equal(runbox_session_read_file(s, "escape", &data, &len), RUNBOX_ENOTFOUND);
    assert_int_equal(runbox_session_read_file(s, "/etc/passwd", &data, &len), RUNBOX_EINVAL);
    assert_int_equal(runbox_session_write_file(s, "/usr/x", "x", 1), RUNBOX_EINVAL);
    assert_int_equal(runbox_session_read_file(s, "/tmp/t.txt", &data, &len), RUNBOX_OK);
    assert_memory_equal(data, "tmp", 3);
    free(data);
    char *env = NULL;
    assert_int_equal(runbox_session_environment(s, &env), RUNBOX_OK);
    cJSON *o = cJSON_Parse(env);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(o, "python")));
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(o, "packages")));
    assert_string_equal(cJSON_GetObjectItem(o, "backend")->valuestring, "subprocess");
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(o, "limits")));
    cJSON_Delete(o);
    free(env);
    runbox_result_clear(&r);
    runbox_session_close(s);
    runbox_context_free(ctx);
}

/* pip installs from an index with an argument list; here the index is a
 * local folder with a wheel we build, as there is no network. */
static void test_install(void **state)
{
    (void)state;
    char *idx = tu_tmpdir();
    char cmd[9000];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && python3 - <<'EOF'\n"
             "import zipfile, hashlib, base64, os\n"
             "os.makedirs('simple/rbdemo')\n"
             "name = 'rbdemo-1.0-py3-none-any.whl'\n"
             "files = {'rbdemo/__init__.py': b'VALUE = 42\\n',\n"
             " 'rbdemo-1.0.dist-info/METADATA': b'Metadata-Version: 2.1\\nName: rbdemo\\nVersion: 1.0\\n',\n"
             " 'rbdemo-1.0.dist-info/WHEEL': b'Wheel-Version: 1.0\\nGenerator: t\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n'}\n"
             "rec = ''\n"
             "with zipfile.ZipFile('simple/rbdemo/' + name, 'w') as z:\n"
             "    for p, d in files.items():\n"
             "        z.writestr(p, d)\n"
             "        h = base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()\n"
             "        rec += f'{p},sha256={h},{len(d)}\\n'\n"
             "    rec += 'rbdemo-1.0.dist-info/RECORD,,\\n'\n"
             "    z.writestr('rbdemo-1.0.dist-info/RECORD', rec)\n"
             "open('simple/rbdemo/index.html', 'w').write(f'<a href=\"{name}\">{name}</a>')\n"
             "EOF\nchmod -R a+rX '%s'", idx, idx);
    assert_int_equal(system(cmd), 0);
    char url[4300];
    snprintf(url, sizeof url, "subprocess.index_url=file://%s/simple", idx);
    runbox_context *ctx = ctx_for("namespaces", url, NULL);
    runbox_session *s = NULL;
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    runbox_result r;
    runbox_result_init(&r);
    assert_int_equal(runbox_session_install(s, "rbdemo==1.0", &r), RUNBOX_OK);
    if (r.verdict != RUNBOX_VERDICT_OK)
        fail_msg("pip failed: %s %s", r.out.data, r.err.data);
    runbox_exec_options opt = {.code = "import rbdemo; print(rbdemo.VALUE)"};
    assert_int_equal(runbox_session_execute(s, &opt, &r), RUNBOX_OK);
    assert_string_equal(r.out.data, "42\n");
    /* The install honours a cancel flag and a timeout like an execution. */
    volatile int stop = 1;
    runbox_exec_options iopt = {.cancel = &stop};
    assert_int_equal(runbox_session_install_opt(s, "rbdemo==1.0", &iopt, &r),
                     RUNBOX_ECANCELED);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_CANCELED);
    iopt.cancel = NULL;
    iopt.timeout = 0.05;
    assert_int_equal(runbox_session_install_opt(s, "rbdemo==1.0", &iopt, &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
    /* A version that does not exist: pip's failure is data, not a crash. */
    assert_int_equal(runbox_session_install(s, "rbdemo==9.9", &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_EXIT_NONZERO);
    /* Refused specs never reach pip. */
    assert_int_equal(runbox_session_install(s, "--index-url=http://evil", &r), RUNBOX_EDENIED);
    assert_int_equal(runbox_session_install(s, "http://evil/x.whl", &r), RUNBOX_EDENIED);
    assert_int_equal(runbox_session_install(s, "rbdemo; os.system('id')", &r), RUNBOX_EDENIED);
    runbox_result_clear(&r);
    runbox_session_close(s);
    runbox_context_free(ctx);
    tu_rmtree(idx);
    free(idx);
}

static void test_interpreter_resolution(void **state)
{
    (void)state;
    /* A shell-script shim named python3 first in PATH is skipped. */
    char *bin = tu_tmpdir();
    tu_write(bin, "python3", "#!/bin/sh\necho shim; exit 7\n");
    char path[4300];
    snprintf(path, sizeof path, "%s/python3", bin);
    chmod(path, 0755);
    const char *old = getenv("PATH");
    char *saved = strdup(old ? old : "");
    char newpath[9000];
    snprintf(newpath, sizeof newpath, "%s:%s", bin, saved);
    setenv("PATH", newpath, 1);
    runbox_context *ctx = ctx_for("none", NULL, NULL);
    runbox_result r;
    runbox_result_init(&r);
    run_ok(ctx, "import sys; print(sys.executable)", &r);
    assert_false(tu_contains(r.out.data, bin));
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    runbox_context_free(ctx);
    /* An explicit interpreter that is a script is refused with its key. */
    runbox_config *cfg = tu_config("backend=subprocess", NULL);
    assert_int_equal(runbox_config_set(cfg, "subprocess.python", path), RUNBOX_OK);
    assert_int_equal(runbox_context_new(&ctx, cfg), RUNBOX_ECONFIG);
    assert_true(tu_contains(runbox_error_last(), "python"));
    runbox_config_free(cfg);
    setenv("PATH", saved, 1);
    free(saved);
    runbox_result_clear(&r);
    tu_rmtree(bin);
    free(bin);
}

/* One context, several threads at once (as the MCP server runs it): each
 * run gets its own tree and its own output, in both isolation modes. The
 * namespaced init is cloned from this multithreaded process, which once
 * hung in glibc's credential broadcast to threads it does not have. */
typedef struct par_arg {
    runbox_context *ctx;
    int id, ok;
} par_arg;

static void *par_worker(void *arg)
{
    par_arg *a = arg;
    char code[128], want[64];
    for (int i = 0; i < 6; i++) {
        snprintf(code, sizeof code, "print(%d * 1000 + %d)", a->id, i);
        snprintf(want, sizeof want, "%d\n", a->id * 1000 + i);
        runbox_result r;
        runbox_result_init(&r);
        runbox_exec_options opt = {.code = code, .timeout = 20};
        if (runbox_execute(a->ctx, &opt, &r) == RUNBOX_OK &&
            r.verdict == RUNBOX_VERDICT_OK && r.out.data && !strcmp(r.out.data, want))
            a->ok++;
        runbox_result_clear(&r);
    }
    return NULL;
}

static void test_concurrent_threads(void **state)
{
    (void)state;
    for (int m = 0; m < 2; m++) {
        runbox_context *ctx = ctx_for(isolations[m], NULL, NULL);
        pthread_t t[4];
        par_arg a[4];
        for (int i = 0; i < 4; i++) {
            a[i] = (par_arg){ctx, i + 1, 0};
            pthread_create(&t[i], NULL, par_worker, &a[i]);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], NULL);
            assert_int_equal(a[i].ok, 6);
        }
        runbox_context_free(ctx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_capabilities_follow_isolation),
        cmocka_unit_test(test_timeout_kills_setsid_grandchild),
        cmocka_unit_test(test_child_holding_stdout),
        cmocka_unit_test(test_output_cap_bounded),
        cmocka_unit_test(test_scrubbed_environment),
        cmocka_unit_test(test_two_mib_code_and_metacharacters),
        cmocka_unit_test(test_binary_output),
        cmocka_unit_test(test_workdir_cleanup),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_network_off),
        cmocka_unit_test(test_session_files),
        cmocka_unit_test(test_install),
        cmocka_unit_test(test_interpreter_resolution),
        cmocka_unit_test(test_concurrent_threads),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
