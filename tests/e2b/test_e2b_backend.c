/*
 * test_e2b_backend.c — the e2b backend end to end, through the public API,
 * against the E2B-compatible test server (tests/e2b/e2b_test_server.py),
 * which runs the code for real on this machine.
 *
 * The server is started once for the whole suite; every test checks that
 * it left no sandbox alive, and the last one checks the server's own count.
 * Faults (HTTP statuses, resets, malformed streams) are injected through
 * the server's /_test/fault endpoint.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "runbox/backend.h"
#include "runbox/runbox.h"

#define TEST_KEY "e2b_runbox_test_key_5f1c"

static pid_t server_pid;
static char api_url[64], sandbox_url[64];
static char tmpdir[] = "/tmp/runbox-e2b-test-XXXXXX";

/* ------------------------------------------------------------------ */
/* Talking to the test server                                          */
/* ------------------------------------------------------------------ */

static size_t collect(char *d, size_t s, size_t n, void *ud)
{
    char **buf = ud;
    size_t old = *buf ? strlen(*buf) : 0;
    char *p = realloc(*buf, old + s * n + 1);
    assert_non_null(p);
    memcpy(p + old, d, s * n);
    p[old + s * n] = '\0';
    *buf = p;
    return s * n;
}

/* A test-only request to the server; returns the parsed JSON answer. */
static cJSON *server_call(const char *method, const char *path,
                          const char *body)
{
    char url[256];
    char *out = NULL;
    snprintf(url, sizeof url, "%s%s", api_url, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    struct curl_slist *h = curl_slist_append(NULL, "X-API-KEY: " TEST_KEY);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    cJSON *j = cJSON_Parse(out ? out : "null");
    free(out);
    return j;
}

static void fault(const char *json)
{
    cJSON_Delete(server_call("POST", "/_test/fault", json));
}

static void reset_counters(void)
{
    cJSON_Delete(server_call("POST", "/_test/reset",
                             "{\"counters_only\": true}"));
}

/* Requests the server saw for a route ("POST /execute"), or every request
 * when route is NULL. */
static int requests(const char *route)
{
    cJSON *s = server_call("GET", "/_test/stats", NULL);
    cJSON *r = cJSON_GetObjectItem(s, "requests"), *e;
    int n = 0;
    cJSON_ArrayForEach(e, r)
    {
        if (!route || strcmp(e->string, route) == 0)
            n += e->valueint;
    }
    cJSON_Delete(s);
    return n;
}

static int live_sandboxes(void)
{
    cJSON *s = server_call("GET", "/_test/stats", NULL);
    int n = cJSON_GetObjectItem(s, "live_sandboxes")->valueint;
    cJSON_Delete(s);
    return n;
}

/* ------------------------------------------------------------------ */
/* runbox set-up                                                       */
/* ------------------------------------------------------------------ */

/* A context on the test server; extra is an optional "key=value" setting. */
static runbox_context *open_ctx_extra(const char *key, const char *url,
                                      const char *extra)
{
    runbox_config *cfg = NULL;
    runbox_context *ctx = NULL;
    assert_int_equal(runbox_config_new(&cfg), RUNBOX_OK);
    assert_int_equal(runbox_config_set(cfg, "backend", "e2b"), RUNBOX_OK);
    if (key)
        assert_int_equal(runbox_config_set(cfg, "e2b.api_key", key),
                         RUNBOX_OK);
    assert_int_equal(runbox_config_set(cfg, "e2b.api_url", url), RUNBOX_OK);
    assert_int_equal(runbox_config_set(cfg, "e2b.sandbox_url", sandbox_url),
                     RUNBOX_OK);
    assert_int_equal(runbox_config_set(cfg, "e2b.request_timeout", "10"),
                     RUNBOX_OK);
    if (extra) {
        char k[64];
        const char *eq = strchr(extra, '=');
        snprintf(k, sizeof k, "%.*s", (int)(eq - extra), extra);
        assert_int_equal(runbox_config_set(cfg, k, eq + 1), RUNBOX_OK);
    }
    int rc = runbox_context_new(&ctx, cfg);
    runbox_config_free(cfg);
    if (rc != RUNBOX_OK)
        return NULL;
    return ctx;
}

static runbox_context *open_ctx_with(const char *key, const char *url)
{
    return open_ctx_extra(key, url, NULL);
}

static runbox_context *open_ctx(void)
{
    runbox_context *ctx = open_ctx_with(TEST_KEY, api_url);
    if (!ctx)
        fail_msg("runbox_context_new: %s", runbox_error_last());
    return ctx;
}

static int run(runbox_context *ctx, const char *code, double timeout,
               runbox_result *r)
{
    runbox_exec_options o = {.code = code, .timeout = timeout};
    runbox_result_init(r);
    return runbox_execute(ctx, &o, r);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, hay ? hay : "(null)");
}

/* Every test ends by checking that it left nothing alive. */
static void finish(runbox_context *ctx)
{
    runbox_context_free(ctx);
    assert_int_equal(live_sandboxes(), 0);
}

/* ------------------------------------------------------------------ */
/* Suite set-up: start the server                                      */
/* ------------------------------------------------------------------ */

/* A tiny wheel for the offline install test, made with python's zipfile. */
static void make_wheel(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "python3 - '%s' <<'EOF'\n"
             "import sys, zipfile\n"
             "n = 'runbox_e2b_probe'; v = '1.0'; di = n + '-' + v + "
             "'.dist-info'\n"
             "files = {n + '.py': 'VALUE = 42\\n',\n"
             "  di + '/METADATA': 'Metadata-Version: 2.1\\nName: "
             "runbox-e2b-probe\\nVersion: 1.0\\n',\n"
             "  di + '/WHEEL': 'Wheel-Version: 1.0\\nGenerator: test\\n"
             "Root-Is-Purelib: true\\nTag: py3-none-any\\n'}\n"
             "files[di + '/RECORD'] = ''.join(f + ',,\\n' for f in files) + "
             "di + '/RECORD,,\\n'\n"
             "with zipfile.ZipFile(sys.argv[1] + '/' + n + '-' + v + "
             "'-py3-none-any.whl', 'w') as z:\n"
             "    [z.writestr(k, t) for k, t in files.items()]\n"
             "EOF",
             dir);
    assert_int_equal(system(cmd), 0);
}

static int suite_setup(void **state)
{
    (void)state;
    const char *src = getenv("RUNBOX_SOURCE_DIR");
    char server[1024], ports[256], wheels[256];
    if (!src || !mkdtemp(tmpdir))
        return -1;
    snprintf(server, sizeof server, "%s/tests/e2b/e2b_test_server.py", src);
    snprintf(ports, sizeof ports, "%s/ports.json", tmpdir);
    snprintf(wheels, sizeof wheels, "%s/wheels", tmpdir);
    mkdir(wheels, 0755);
    make_wheel(wheels);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    server_pid = fork();
    if (server_pid == 0) {
        /* The sandboxes' pip sees only the local wheel: no network. */
        setenv("PIP_NO_INDEX", "1", 1);
        setenv("PIP_FIND_LINKS", wheels, 1);
        setenv("E2B_TEST_SERVER_KEY", TEST_KEY, 1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execlp("python3", "python3", server, "--port-file", ports,
               (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(ports, "r");
        if (f) {
            int a = 0, s = 0;
            char buf[256] = "";
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = '\0';
            cJSON *j = cJSON_Parse(buf);
            a = cJSON_GetObjectItem(j, "api_port")->valueint;
            s = cJSON_GetObjectItem(j, "sandbox_port")->valueint;
            cJSON_Delete(j);
            snprintf(api_url, sizeof api_url, "http://127.0.0.1:%d", a);
            snprintf(sandbox_url, sizeof sandbox_url, "http://127.0.0.1:%d",
                     s);
            return 0;
        }
        if (waitpid(server_pid, NULL, WNOHANG) == server_pid)
            break;
        usleep(50000);
    }
    fprintf(stderr, "the E2B test server did not start\n");
    return -1;
}

static int suite_teardown(void **state)
{
    (void)state;
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        return -1;
    curl_global_cleanup();
    return 0;
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

static void test_missing_key_fails_before_any_request(void **state)
{
    (void)state;
    reset_counters();
    assert_null(open_ctx_with(NULL, api_url));
    assert_string_equal(runbox_error_last(),
                        "E2B_API_KEY not configured: set it in the "
                        "environment or in .env");
    assert_int_equal(requests(NULL), 0);
}

static void test_bad_config_values(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"e2b.request_timeout", "soon"},
        {"e2b.sandbox_timeout", "-5"},
        {"e2b.api_url", "ftp://example"},
        {"e2b.domain", "e2b.app/x"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        runbox_config *cfg = NULL;
        runbox_context *ctx = NULL;
        assert_int_equal(runbox_config_new(&cfg), RUNBOX_OK);
        runbox_config_set(cfg, "backend", "e2b");
        runbox_config_set(cfg, "e2b.api_key", TEST_KEY);
        int rc = runbox_config_set(cfg, bad[i][0], bad[i][1]);
        if (rc == RUNBOX_OK)
            rc = runbox_context_new(&ctx, cfg);
        assert_int_equal(rc, RUNBOX_ECONFIG);
        assert_contains(runbox_error_last(), bad[i][0] + 4);
        runbox_context_free(ctx);
        runbox_config_free(cfg);
    }
}

/* ------------------------------------------------------------------ */
/* Execution                                                           */
/* ------------------------------------------------------------------ */

typedef struct chunks {
    char out[256], err[256];
    int calls;
} chunks;

static void on_output(void *ud, int stream, const char *data, size_t len)
{
    chunks *c = ud;
    char *dst = stream == 1 ? c->out : c->err;
    strncat(dst, data, len < 100 ? len : 100);
    c->calls++;
}

static void test_execute_print(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_result r;
    reset_counters();
    assert_int_equal(run(ctx, "print(1)", 0, &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_true(r.success);
    assert_string_equal(r.out.data, "1\n");
    assert_int_equal(r.execution_count, 1);
    assert_string_equal(r.backend, "e2b");
    /* One-shot: create, execute, kill — as few requests as the SDK. */
    assert_int_equal(requests("POST /v2/sandboxes"), 1);
    assert_int_equal(requests("POST /execute"), 1);
    assert_int_equal(requests("DELETE /sandboxes/{id}"), 1);
    assert_int_equal(requests(NULL), 3);
    /* What creation asked for: the template, a lifetime a little past the
     * run's timeout, the network off by default, runbox's label. */
    cJSON *st = server_call("GET", "/_test/stats", NULL);
    cJSON *create = cJSON_GetObjectItem(st, "last_create");
    cJSON *meta = cJSON_DetachItemFromObject(create, "metadata");
    char *body = cJSON_PrintUnformatted(create);
    assert_string_equal(body, "{\"templateID\":\"code-interpreter-v1\","
                              "\"timeout\":120,"
                              "\"allow_internet_access\":false}");
    free(body);
    /* The owner, for reaping: this machine's boot, pid namespace, pid. */
    char boot[64] = "", owner[160];
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    assert_non_null(f);
    assert_non_null(fgets(boot, sizeof boot, f));
    fclose(f);
    boot[strcspn(boot, "\n")] = '\0';
    struct stat ns;
    assert_int_equal(stat("/proc/self/ns/pid", &ns), 0);
    snprintf(owner, sizeof owner, "%s/%llu/%ld/", boot,
             (unsigned long long)ns.st_ino, (long)getpid());
    assert_string_equal(cJSON_GetObjectItem(meta, "runbox")->valuestring, "1");
    assert_contains(cJSON_GetObjectItem(meta, "runbox_owner")->valuestring,
                    owner);
    cJSON_Delete(meta);
    cJSON_Delete(st);
    runbox_result_clear(&r);
    finish(ctx);
}

static void test_stdout_and_stderr_stream(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_result r;
    chunks c = {0};
    runbox_exec_options o = {
        .code = "import sys, time\nprint('out', flush=True)\n"
                "time.sleep(0.3)\nprint('err', file=sys.stderr)\n",
        .on_output = on_output,
        .userdata = &c,
    };
    runbox_result_init(&r);
    assert_int_equal(runbox_execute(ctx, &o, &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(r.out.data, "out\n");
    assert_string_equal(r.err.data, "err\n");
    assert_string_equal(c.out, "out\n");
    assert_string_equal(c.err, "err\n");
    assert_true(c.calls >= 2);
    runbox_result_clear(&r);
    finish(ctx);
}

static void test_exception(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_result r;
    assert_int_equal(run(ctx, "x = 1\n1/0", 0, &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
    assert_false(r.success);
    assert_string_equal(r.error_name, "ZeroDivisionError");
    assert_string_equal(r.error_value, "division by zero");
    assert_contains(r.traceback, "ZeroDivisionError: division by zero");
    runbox_result_clear(&r);
    finish(ctx);
}

/* The code interpreter reports sys.exit(n) as a SystemExit exception; the
 * result says what a plain interpreter would: exit status n. */
static void test_system_exit_is_an_exit_status(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        runbox_verdict verdict;
        int exit_code;
        const char *err;
    } cases[] = {
        {"import sys\nsys.exit(3)", RUNBOX_VERDICT_EXIT_NONZERO, 3, NULL},
        {"import sys\nsys.exit()", RUNBOX_VERDICT_OK, 0, NULL},
        {"import sys\nsys.exit(0)", RUNBOX_VERDICT_OK, 0, NULL},
        {"raise SystemExit(260)", RUNBOX_VERDICT_EXIT_NONZERO, 4, NULL},
        {"import sys\nsys.exit('bye')", RUNBOX_VERDICT_EXIT_NONZERO, 1,
         "bye\n"},
    };
    runbox_context *ctx = open_ctx();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        runbox_result r;
        assert_int_equal(run(ctx, cases[i].code, 0, &r), RUNBOX_OK);
        assert_int_equal(r.verdict, cases[i].verdict);
        assert_int_equal(r.exit_code, cases[i].exit_code);
        assert_null(r.error_name);
        if (cases[i].err)
            assert_string_equal(r.err.data, cases[i].err);
        runbox_result_clear(&r);
    }
    finish(ctx);
}

static const runbox_rich *find_rich(const runbox_result *r, const char *mime)
{
    for (size_t i = 0; i < r->rich_count; i++)
        if (strcmp(r->rich[i].mime, mime) == 0)
            return &r->rich[i];
    return NULL;
}

/* The real code interpreter is Python's json.dumps: a NUL arrives as
 * \u0000 and an undecodable byte as a lone surrogate (\udcff). Both must
 * reach the result exactly, not cut the line or fail the run. */
static void test_nul_and_surrogates_in_output(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_result r;
    assert_int_equal(run(ctx, "import sys\nprint('A\\x00B'); print('C')\n"
                              "sys.stdout.flush()\n"
                              "sys.stdout.buffer.write(b'ok\\xff\\n')",
                         0, &r),
                     RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_int_equal(r.out.len, 10);
    assert_memory_equal(r.out.data, "A\0B\nC\nok\xff\n", 10);
    char *json = NULL;
    assert_int_equal(runbox_result_to_json(&json, &r), RUNBOX_OK);
    assert_contains(json, "\"stdout\":\"A\xef\xbf\xbd" "B\\nC\\nok\xef\xbf\xbd\\n\"");
    assert_contains(json, "\"stdout_base64\":\"QQBCCkMKb2v/Cg==\"");
    free(json);
    runbox_result_clear(&r);

    /* In an exception's fields, and in a rich value. */
    assert_int_equal(run(ctx, "raise ValueError('x\\x00y\\udcffz')", 0, &r),
                     RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
    assert_string_equal(r.error_name, "ValueError");
    assert_string_equal(r.error_value, "x\xef\xbf\xbdy\xef\xbf\xbdz");
    runbox_result_clear(&r);
    assert_int_equal(run(ctx, "{'k': 'a\\x00b\\udcff'}", 0, &r), RUNBOX_OK);
    const runbox_rich *js = find_rich(&r, "application/json");
    assert_non_null(js);
    assert_string_equal(js->data, "{\"k\":\"a\\u0000b\\udcff\"}");
    runbox_result_clear(&r);
    finish(ctx);
}

static void test_error_record_without_name(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_result r;
    fault("{\"path_prefix\": \"/execute\", \"null_error_name\": true}");
    assert_int_equal(run(ctx, "1/0", 0, &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
    /* Named after the traceback's last line rather than null. */
    assert_string_equal(r.error_name, "ZeroDivisionError");
    runbox_result_clear(&r);
    finish(ctx);
}


static void test_rich_results(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_result r;
    assert_int_equal(run(ctx, "1+1", 0, &r), RUNBOX_OK);
    const runbox_rich *t = find_rich(&r, "text/plain");
    assert_non_null(t);
    assert_int_equal(t->len, 1);
    assert_memory_equal(t->data, "2", 1);
    assert_true(t->is_main);
    runbox_result_clear(&r);

    /* A PNG published by the code arrives as raw bytes, not base64. */
    assert_int_equal(run(ctx,
                         "display_png(bytes([0x89, 0x50, 0x4e, 0x47, 0, 255, "
                         "10, 13]))\n{'a': [1, 2]}",
                         0, &r),
                     RUNBOX_OK);
    const runbox_rich *png = find_rich(&r, "image/png");
    assert_non_null(png);
    assert_int_equal(png->len, 8);
    assert_memory_equal(png->data, "\x89PNG\0\xff\n\r", 8);
    assert_false(png->is_main);
    const runbox_rich *js = find_rich(&r, "application/json");
    assert_non_null(js);
    assert_string_equal(js->data, "{\"a\":[1,2]}");
    runbox_result_clear(&r);
    finish(ctx);
}

static void test_bash_language(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_result r;
    runbox_exec_options o = {.code = "echo $((6*7))", .language = "bash"};
    runbox_result_init(&r);
    assert_int_equal(runbox_execute(ctx, &o, &r), RUNBOX_OK);
    assert_string_equal(r.out.data, "42\n");
    runbox_result_clear(&r);
    finish(ctx);
}

static void test_timeout_stops_the_run(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_result r;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(run(ctx, "while True: pass", 1, &r), RUNBOX_OK);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double took = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
    assert_true(took >= 1.0 && took < 4.0);
    assert_contains(r.message, "timed out");
    runbox_result_clear(&r);
    finish(ctx);
}

static volatile int cancel_flag;

static void *cancel_later(void *arg)
{
    (void)arg;
    usleep(500000);
    cancel_flag = 1;
    return NULL;
}

static void test_cancel(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_result r;
    pthread_t t;
    cancel_flag = 0;
    runbox_exec_options o = {.code = "import time\ntime.sleep(30)",
                             .cancel = &cancel_flag};
    runbox_result_init(&r);
    pthread_create(&t, NULL, cancel_later, NULL);
    assert_int_equal(runbox_execute(ctx, &o, &r), RUNBOX_ECANCELED);
    pthread_join(t, NULL);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_CANCELED);
    assert_true(r.wall_seconds < 3);
    runbox_result_clear(&r);
    finish(ctx);
}

/* ------------------------------------------------------------------ */
/* The resident interpreter of a session                              */
/* ------------------------------------------------------------------ */

static void sexec(runbox_session *s, const char *code, double timeout,
                  runbox_result *r)
{
    runbox_exec_options o = {.code = code, .timeout = timeout};
    runbox_result_init(r);
    int rc = runbox_session_execute(s, &o, r);
    if (rc != RUNBOX_OK)
        fail_msg("session execute %s: %s", code, runbox_error_last());
}

/* How many processes of this machine carry E2B_SANDBOX_ID=id: what the
 * test server runs for that sandbox. */
static int processes_of_sandbox(const char *id)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "grep -lsz '^E2B_SANDBOX_ID=%s$' /proc/[0-9]*/environ "
             "2>/dev/null | wc -l",
             id);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    int n = -1;
    if (fscanf(f, "%d", &n) != 1)
        n = -1;
    pclose(f);
    return n;
}

/* Like E2B's code interpreter (one Jupyter kernel per context), a session
 * keeps its variables between calls; another session does not see them. */
static void test_session_interpreter(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    assert_true(runbox_context_capabilities(ctx) & RUNBOX_CAP_INTERPRETER);
    assert_true(runbox_context_capabilities(ctx) & RUNBOX_CAP_RICH_RESULTS);
    runbox_session *s = NULL, *other = NULL;
    runbox_result r;
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    sexec(s, "x = 41", 0, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_int_equal(r.execution_count, 1);
    uint64_t epoch = r.state_epoch;
    assert_true(epoch > 0);
    runbox_result_clear(&r);
    sexec(s, "print(x+1)", 0, &r);
    assert_string_equal(r.out.data, "42\n");
    assert_int_equal(r.execution_count, 2);
    assert_true(r.state_epoch == epoch);
    runbox_result_clear(&r);

    /* A final expression is the main result, as text/plain. */
    sexec(s, "6*7", 0, &r);
    const runbox_rich *t = find_rich(&r, "text/plain");
    assert_non_null(t);
    assert_true(t->is_main);
    assert_int_equal(t->len, 2);
    assert_memory_equal(t->data, "42", 2);
    runbox_result_clear(&r);

    /* Imports and functions persist too. */
    sexec(s, "import os\ndef twice(v):\n    return 2 * v\n", 0, &r);
    runbox_result_clear(&r);
    sexec(s, "print(twice(x), os.environ['E2B_SANDBOX_ID'])", 0, &r);
    assert_non_null(r.out.data);
    assert_memory_equal(r.out.data, "82 ", 3);
    char sid[64];
    snprintf(sid, sizeof sid, "%s", r.out.data + 3);
    sid[strcspn(sid, "\n")] = '\0';
    runbox_result_clear(&r);
    assert_true(processes_of_sandbox(sid) >= 1); /* the kernel */

    /* A process the code leaves behind does not outlive its call. */
    sexec(s, "import subprocess\np = subprocess.Popen(['sleep', '60'])", 0,
          &r);
    runbox_result_clear(&r);
    sexec(s, "p.wait(timeout=5)\nprint(p.returncode)", 0, &r);
    assert_string_equal(r.out.data, "-9\n");
    runbox_result_clear(&r);

    /* Another session is another interpreter. */
    assert_int_equal(runbox_session_open(&other, ctx), RUNBOX_OK);
    sexec(other, "print(x)", 0, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
    assert_string_equal(r.error_name, "NameError");
    assert_int_equal(r.execution_count, 1);
    runbox_result_clear(&r);
    runbox_session_close(other);

    /* A timeout interrupts the code; the session goes on, and its result
     * no longer promises the old state (a changed epoch). */
    sexec(s, "while True: pass", 1, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
    assert_true(r.state_epoch != epoch);
    epoch = r.state_epoch;
    runbox_result_clear(&r);
    sexec(s, "print('alive')", 0, &r);
    assert_string_equal(r.out.data, "alive\n");
    assert_true(r.state_epoch == epoch);
    runbox_result_clear(&r);

    /* An interpreter that dies takes its variables along, and says so. */
    sexec(s, "y = 1\nimport os\nos._exit(3)", 0, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
    assert_true(r.state_epoch != epoch);
    epoch = r.state_epoch;
    runbox_result_clear(&r);
    sexec(s, "print('y' in globals())", 0, &r);
    assert_string_equal(r.out.data, "False\n");
    assert_true(r.state_epoch == epoch);
    runbox_result_clear(&r);

    /* The interpreter ends with the sandbox. */
    runbox_session_close(s);
    int left = 0;
    for (int i = 0; i < 50 && (left = processes_of_sandbox(sid)); i++)
        usleep(100000);
    assert_int_equal(left, 0);
    finish(ctx);
}

/* ------------------------------------------------------------------ */
/* Sessions, files, install, environment                               */
/* ------------------------------------------------------------------ */

static void test_session_files(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_session *s = NULL;
    runbox_result r;
    void *data = NULL;
    size_t len = 0;
    runbox_exec_options o = {.code = "print(open('in.txt').read().upper())\n"
                                     "open('out.bin', 'wb').write(bytes("
                                     "range(256)))"};
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    assert_int_equal(runbox_session_write_file(s, "in.txt", "hello", 5),
                     RUNBOX_OK);
    runbox_result_init(&r);
    assert_int_equal(runbox_session_execute(s, &o, &r), RUNBOX_OK);
    assert_string_equal(r.out.data, "HELLO\n");
    assert_int_equal(r.execution_count, 1);
    o.code = "import os\nprint(sorted(f for f in os.listdir('.')))";
    assert_int_equal(runbox_session_execute(s, &o, &r), RUNBOX_OK);
    assert_string_equal(r.out.data, "['in.txt', 'out.bin']\n");
    assert_int_equal(r.execution_count, 2);
    runbox_result_clear(&r);

    assert_int_equal(runbox_session_read_file(s, "out.bin", &data, &len),
                     RUNBOX_OK);
    assert_int_equal(len, 256);
    assert_int_equal(((unsigned char *)data)[255], 255);
    free(data);
    /* Absolute paths are the sandbox's own (/home/user is the work dir). */
    assert_int_equal(runbox_session_read_file(s, "/home/user/in.txt", &data,
                                              &len),
                     RUNBOX_OK);
    assert_int_equal(len, 5);
    free(data);
    assert_int_equal(runbox_session_read_file(s, "nope.txt", &data, &len),
                     RUNBOX_ENOTFOUND);
    assert_contains(runbox_error_last(), "nope.txt");
    runbox_session_close(s);
    finish(ctx);
}

static void test_install(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx_extra(TEST_KEY, api_url, "network=on");
    runbox_session *s = NULL;
    runbox_result r;
    runbox_result_init(&r);
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);

    /* Refused by the core before the backend sees it. */
    reset_counters();
    assert_int_equal(runbox_session_install(s, "--evil", &r), RUNBOX_EDENIED);
    assert_int_equal(runbox_session_install(s, "http://x", &r),
                     RUNBOX_EDENIED);
    assert_int_equal(requests("POST /process.Process/Start"), 0);

    /* pip runs and fails: data in the result, not a failed call. */
    assert_int_equal(runbox_session_install(s, "no-such-package-runbox", &r),
                     RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_EXIT_NONZERO);
    assert_int_not_equal(r.exit_code, 0);
    assert_contains(r.err.data, "no-such-package-runbox");

    /* A wheel the sandbox's pip can find offline. */
    assert_int_equal(runbox_session_install(s, "runbox-e2b-probe==1.0", &r),
                     RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_contains(r.out.data, "Successfully installed runbox-e2b-probe");
    runbox_exec_options o = {.code = "import runbox_e2b_probe\n"
                                     "print(runbox_e2b_probe.VALUE)"};
    assert_int_equal(runbox_session_execute(s, &o, &r), RUNBOX_OK);
    assert_string_equal(r.out.data, "42\n");

    char *json = NULL;
    assert_int_equal(runbox_session_environment(s, &json), RUNBOX_OK);
    cJSON *env = cJSON_Parse(json);
    free(json);
    assert_non_null(env);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(env, "python")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(env, "platform")));
    cJSON *pk = cJSON_GetObjectItem(env, "packages");
    assert_string_equal(
        cJSON_GetObjectItem(pk, "runbox-e2b-probe")->valuestring, "1.0");
    assert_string_equal(cJSON_GetObjectItem(env, "backend")->valuestring,
                        "e2b");
    cJSON_Delete(env);
    runbox_result_clear(&r);
    runbox_session_close(s);
    finish(ctx);
}

static void test_environment_oneshot(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    char *json = NULL;
    assert_int_equal(runbox_get_environment(ctx, &json), RUNBOX_OK);
    cJSON *env = cJSON_Parse(json);
    free(json);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(env, "packages")));
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(env, "e2b")));
    cJSON_Delete(env);
    finish(ctx);
}

/* ------------------------------------------------------------------ */
/* Failures                                                            */
/* ------------------------------------------------------------------ */

/* Runs print(1) one-shot and expects status rc with msg in the message. */
static void expect_failure(runbox_context *ctx, int rc, const char *msg)
{
    runbox_result r;
    assert_int_equal(run(ctx, "print(1)", 0, &r), rc);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_BACKEND_FAILURE);
    assert_contains(runbox_error_last(), msg);
    assert_contains(r.message, msg);
    runbox_result_clear(&r);
}

static void expect_ok(runbox_context *ctx)
{
    runbox_result r;
    assert_int_equal(run(ctx, "print(1)", 0, &r), RUNBOX_OK);
    assert_string_equal(r.out.data, "1\n");
    runbox_result_clear(&r);
}

static void test_wrong_key(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx_with("e2b_wrong", api_url);
    assert_non_null(ctx);
    expect_failure(ctx, RUNBOX_EAUTH, "E2B rejected the API key (HTTP 401): ");
    finish(ctx);
}

static void test_rate_limit_then_success(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    reset_counters();
    fault("{\"path_prefix\": \"/v2/sandboxes\", \"status\": 429, "
          "\"retry_after\": 1, \"count\": 2}");
    time_t t0 = time(NULL);
    expect_ok(ctx);
    assert_true(time(NULL) - t0 >= 2);
    assert_int_equal(requests("POST /v2/sandboxes"), 3);

    /* Without Retry-After there is nothing to wait for: retryable error. */
    fault("{\"path_prefix\": \"/v2/sandboxes\", \"status\": 429}");
    expect_failure(ctx, RUNBOX_EUNAVAILABLE, "HTTP 429");
    finish(ctx);
}

static void test_busy_and_server_errors(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    reset_counters();
    /* 503 on create means "not processed": safe to send again. */
    fault("{\"path_prefix\": \"/v2/sandboxes\", \"status\": 503}");
    expect_ok(ctx);
    assert_int_equal(requests("POST /v2/sandboxes"), 2);

    /* 500 on create may have created one: not repeated. */
    reset_counters();
    fault("{\"path_prefix\": \"/v2/sandboxes\", \"status\": 500, "
          "\"body\": {\"code\": 500, \"message\": \"boom\"}}");
    expect_failure(ctx, RUNBOX_EBACKEND, "HTTP 500 while creating the "
                                         "sandbox: boom");
    assert_int_equal(requests("POST /v2/sandboxes"), 1);

    /* A kill answered 500 is repeated: nothing is left behind. */
    reset_counters();
    fault("{\"path_prefix\": \"/sandboxes/\", \"method\": \"DELETE\", "
          "\"status\": 500}");
    expect_ok(ctx);
    assert_int_equal(requests("DELETE /sandboxes/{id}"), 2);
    finish(ctx);
}

static void test_connection_resets(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    reset_counters();
    fault("{\"path_prefix\": \"/sandboxes/\", \"method\": \"DELETE\", "
          "\"reset\": true}");
    expect_ok(ctx);
    assert_int_equal(requests("DELETE /sandboxes/{id}"), 2);

    reset_counters();
    fault("{\"path_prefix\": \"/v2/sandboxes\", \"reset\": true}");
    expect_failure(ctx, RUNBOX_EUNAVAILABLE, "while creating the sandbox");
    assert_int_equal(requests("POST /v2/sandboxes"), 1);
    finish(ctx);
}

static void test_broken_streams(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx_extra(TEST_KEY, api_url, "network=on");
    fault("{\"path_prefix\": \"/execute\", \"malformed\": true}");
    expect_failure(ctx, RUNBOX_EPROTO, "a malformed line");
    fault("{\"path_prefix\": \"/execute\", \"truncate\": true}");
    expect_failure(ctx, RUNBOX_EPROTO, "stopped answering before the end");
    fault("{\"path_prefix\": \"/execute\", \"drop_mid_stream\": true}");
    expect_failure(ctx, RUNBOX_EPROTO, "dropped while running the code");
    fault("{\"path_prefix\": \"/execute\", \"reset\": true}");
    expect_failure(ctx, RUNBOX_EPROTO, "dropped while running the code");

    /* The same for envd's Connect stream. */
    runbox_result r;
    runbox_result_init(&r);
    fault("{\"path_prefix\": \"/process.Process/Start\", "
          "\"malformed\": true}");
    assert_int_equal(runbox_install_package(ctx, "six", &r), RUNBOX_EPROTO);
    assert_contains(runbox_error_last(), "not a JSON object");
    fault("{\"path_prefix\": \"/process.Process/Start\", \"truncate\": true}");
    assert_int_equal(runbox_install_package(ctx, "six", &r), RUNBOX_EPROTO);
    assert_contains(runbox_error_last(), "before the process exited");
    fault("{\"path_prefix\": \"/process.Process/Start\", "
          "\"drop_mid_stream\": true}");
    assert_int_equal(runbox_install_package(ctx, "six", &r), RUNBOX_EPROTO);
    assert_contains(runbox_error_last(), "dropped while running a process");
    runbox_result_clear(&r);
    expect_ok(ctx);
    finish(ctx);
}

static void test_sandbox_gone(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    fault("{\"path_prefix\": \"/execute\", \"status\": 502, "
          "\"body\": \"sandbox not found\"}");
    expect_failure(ctx, RUNBOX_EGONE, "is gone (it timed out or was killed)");

    /* Killed behind the session's back (timeout, operator). */
    runbox_session *s = NULL;
    runbox_result r;
    runbox_exec_options o = {.code = "print(1)"};
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    cJSON *list = server_call("GET", "/v2/sandboxes", NULL);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    char path[128];
    snprintf(path, sizeof path, "/sandboxes/%s",
             cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "sandboxID")
                 ->valuestring);
    cJSON_Delete(list);
    cJSON_Delete(server_call("DELETE", path, NULL));
    runbox_result_init(&r);
    assert_int_equal(runbox_session_execute(s, &o, &r), RUNBOX_EGONE);
    assert_contains(runbox_error_last(), "the E2B sandbox i");
    assert_int_equal(runbox_session_write_file(s, "x", "y", 1), RUNBOX_EGONE);
    runbox_result_clear(&r);
    runbox_session_close(s);
    finish(ctx);
}

static void test_sandbox_expires(void **state)
{
    (void)state;
    /* The lifetime is sent at creation; the server kills it when due. */
    runbox_context *ctx =
        open_ctx_extra(TEST_KEY, api_url, "e2b.sandbox_timeout=1");
    runbox_session *s = NULL;
    runbox_result r;
    runbox_exec_options o = {.code = "print(1)"};
    assert_non_null(ctx);
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    cJSON *st = server_call("GET", "/_test/stats", NULL);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(st,
                                                             "last_create"),
                                         "timeout")
                         ->valueint,
                     1);
    cJSON_Delete(st);
    usleep(1500000);
    runbox_result_init(&r);
    assert_int_equal(runbox_session_execute(s, &o, &r), RUNBOX_EGONE);
    assert_int_equal(live_sandboxes(), 0);
    runbox_result_clear(&r);
    runbox_session_close(s);
    finish(ctx);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The lifetime the last sandbox was created with, -1 for none. */
static int last_create_timeout(void)
{
    cJSON *st = server_call("GET", "/_test/stats", NULL);
    cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "last_create"),
                                   "timeout");
    int v = cJSON_IsNumber(t) ? t->valueint : -1;
    cJSON_Delete(st);
    return v;
}

/* The lifetimes POST /sandboxes/{id}/timeout set since the counters were
 * reset, as "a,b,..." in buf. */
static const char *timeouts_set(char *buf, size_t size)
{
    cJSON *st = server_call("GET", "/_test/stats", NULL), *t;
    size_t n = 0;
    buf[0] = '\0';
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(st, "timeouts"))
        n += (size_t)snprintf(buf + n, size - n, "%s%d", n ? "," : "",
                              t->valueint);
    cJSON_Delete(st);
    return buf;
}

/* Seconds until E2B ends the session's one sandbox, from its endAt. */
static double session_sandbox_ends_in(char *id, size_t id_size)
{
    cJSON *list = server_call("GET", "/v2/sandboxes", NULL);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    cJSON *sbx = cJSON_GetArrayItem(list, 0);
    snprintf(id, id_size, "%s",
             cJSON_GetObjectItem(sbx, "sandboxID")->valuestring);
    struct tm tm = {0};
    const char *end = cJSON_GetObjectItem(sbx, "endAt")->valuestring;
    assert_non_null(strptime(end, "%Y-%m-%dT%H:%M:%SZ", &tm));
    cJSON_Delete(list);
    return difftime(timegm(&tm), time(NULL));
}

/* Code that asks the API, as the sandbox it runs in, when that sandbox
 * ends, and prints how many seconds from now. */
static const char *ends_in_code(char *code, size_t size)
{
    snprintf(code, size,
             "import calendar, json, os, time, urllib.request\n"
             "q = urllib.request.Request('%s/sandboxes/' + "
             "os.environ['E2B_SANDBOX_ID'], headers={'X-API-KEY': '%s'})\n"
             "end = json.load(urllib.request.urlopen(q))['endAt']\n"
             "end = calendar.timegm(time.strptime(end, "
             "'%%Y-%%m-%%dT%%H:%%M:%%SZ'))\n"
             "print(round(end - time.time()))\n",
             api_url, TEST_KEY);
    return code;
}

/* r printed (ends_in_code) about `want` seconds. */
static void assert_run_lifetime(const runbox_result *r, int want)
{
    int during = atoi(r->out.data ? r->out.data : "-1");
    if (during < want - 3 || during > want + 1)
        fail_msg("the sandbox ended %d s after the run's start, not %d s: "
                 "%s%s",
                 during, want, r->out.data ? r->out.data : "",
                 r->err.data ? r->err.data : "");
}

/* A session's sandbox lives e2b.sandbox_timeout after its last use, and
 * while a run goes on, 30 s past that run's deadline: if runbox is killed
 * mid-run (SIGKILL), E2B ends the sandbox soon after the run's timeout. */
static void test_session_lifetime_follows_runs(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx(); /* E2B's default idle 300 s */
    runbox_session *s = NULL;
    runbox_result r;
    char buf[128], id[64], code[1024];
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    reset_counters();
    sexec(s, ends_in_code(code, sizeof code), 5, &r);
    assert_run_lifetime(&r, 35); /* 5 s timeout + 30 s */
    runbox_result_clear(&r);
    /* Before the run, bounded; after it, the idle lifetime again. */
    assert_string_equal(timeouts_set(buf, sizeof buf), "35,300");
    double after = session_sandbox_ends_in(id, sizeof id);
    assert_true(after >= 297 && after <= 301);
    /* Files are no run: they only extend a sandbox about to end. */
    reset_counters();
    assert_int_equal(runbox_session_write_file(s, "f", "x", 1), RUNBOX_OK);
    assert_string_equal(timeouts_set(buf, sizeof buf), "");
    /* Describing the environment runs python3 within request_timeout. */
    char *env = NULL;
    assert_int_equal(runbox_session_environment(s, &env), RUNBOX_OK);
    free(env);
    assert_string_equal(timeouts_set(buf, sizeof buf), "40,300");
    runbox_session_close(s);
    finish(ctx);

    /* Without a timeout a run gets an hour, the longest every plan
     * allows, as a one-shot does. */
    ctx = open_ctx_extra(TEST_KEY, api_url, "timeout=0");
    assert_non_null(ctx);
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    reset_counters();
    sexec(s, "print(2)", 0, &r);
    runbox_result_clear(&r);
    assert_string_equal(timeouts_set(buf, sizeof buf), "3600,300");
    runbox_session_close(s);
    finish(ctx);
}

/* A pooled sandbox waits up to max_age for its run, so it is made to live
 * max_age + timeout + 10 s; once its run starts, it lives that run's
 * timeout + 30 s, as a session's does, and is never restored. */
static void test_pooled_lifetime_follows_the_run(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx_extra(TEST_KEY, api_url, "timeout=5");
    runbox_pool *pool = NULL;
    runbox_pool_options po = {.size = 1, .max_age = 300};
    runbox_exec_options o = {.code = NULL};
    runbox_result r;
    char buf[128], code[1024];
    assert_non_null(ctx);
    assert_int_equal(runbox_pool_new(&pool, ctx, &po), RUNBOX_OK);
    assert_int_equal(runbox_pool_wait_ready(pool, 1, 30), RUNBOX_OK);
    assert_int_equal(last_create_timeout(), 315);
    reset_counters();
    o.code = ends_in_code(code, sizeof code);
    runbox_result_init(&r);
    assert_int_equal(runbox_pool_execute(pool, &o, &r), RUNBOX_OK);
    assert_run_lifetime(&r, 35);
    runbox_result_clear(&r);
    assert_string_equal(timeouts_set(buf, sizeof buf), "35");
    runbox_pool_free(pool);
    finish(ctx);
}

/* No request where none is needed: an idle lifetime that already ends
 * about 30 s after the run's deadline is kept for the run, and a run
 * lifetime that outlasts the idle one by less than a minute needs no
 * restoring. */
static void test_session_lifetime_requests_skipped(void **state)
{
    (void)state;
    runbox_context *ctx =
        open_ctx_extra(TEST_KEY, api_url, "e2b.sandbox_timeout=40");
    runbox_session *s = NULL;
    runbox_result r;
    char buf[128];
    assert_non_null(ctx);
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    reset_counters();
    sexec(s, "print(1)", 5, &r); /* 40 s left: within 35 s -10/+20 */
    runbox_result_clear(&r);
    assert_string_equal(timeouts_set(buf, sizeof buf), "40");
    runbox_session_close(s);
    finish(ctx);

    /* Idle 2 s: the run's 35 s outlasts it, and a session used past the 2
     * s it was created with survives. */
    ctx = open_ctx_extra(TEST_KEY, api_url, "e2b.sandbox_timeout=2");
    assert_non_null(ctx);
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    reset_counters();
    sexec(s, "print(1)", 5, &r);
    runbox_result_clear(&r);
    assert_string_equal(timeouts_set(buf, sizeof buf), "35");
    usleep(2500000);
    sexec(s, "print(2)", 5, &r);
    assert_string_equal(r.out.data, "2\n");
    runbox_result_clear(&r);
    assert_string_equal(timeouts_set(buf, sizeof buf), "35");
    runbox_session_close(s);
    finish(ctx);
}

/* E2B refuses to give the sandbox back its idle lifetime after a run: the
 * run's result stands; the sandbox then ends with the run's lifetime, and
 * the next call says so. */
static void test_session_lifetime_restore_fails(void **state)
{
    (void)state;
    runbox_context *ctx =
        open_ctx_extra(TEST_KEY, api_url, "e2b.sandbox_timeout=40");
    runbox_session *s = NULL;
    runbox_result r;
    runbox_exec_options o = {.code = "print(2)", .timeout = 5};
    char id[64], path[128];
    assert_non_null(ctx);
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    /* The restore is the run's only lifetime request (see above). */
    fault("{\"path_prefix\": \"/sandboxes/\", \"method\": \"POST\", "
          "\"status\": 400}");
    sexec(s, "print(1)", 5, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(r.out.data, "1\n");
    runbox_result_clear(&r);
    /* What E2B does when that lifetime ends. */
    assert_true(session_sandbox_ends_in(id, sizeof id) <= 40);
    snprintf(path, sizeof path, "/sandboxes/%s", id);
    cJSON_Delete(server_call("DELETE", path, NULL));
    runbox_result_init(&r);
    assert_int_equal(runbox_session_execute(s, &o, &r), RUNBOX_EGONE);
    assert_contains(runbox_error_last(),
                    "could not give it back its idle lifetime (E2B answered "
                    "HTTP 400)");
    assert_contains(runbox_error_last(), "open a new session");
    runbox_result_clear(&r);
    runbox_session_close(s);

    /* An API that does not answer holds the run's caller 5 s at most, as
     * a kill does. */
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    fault("{\"path_prefix\": \"/sandboxes/\", \"method\": \"POST\", "
          "\"delay\": 8}");
    double t0 = now_s();
    sexec(s, "print(3)", 5, &r);
    assert_true(now_s() - t0 < 7);
    assert_string_equal(r.out.data, "3\n");
    runbox_result_clear(&r);
    runbox_session_close(s);
    finish(ctx);
}

static void test_request_timeout(void **state)
{
    (void)state;
    runbox_context *ctx =
        open_ctx_extra(TEST_KEY, api_url, "e2b.request_timeout=0.5");
    runbox_session *s = NULL;
    void *data = NULL;
    size_t len = 0;
    assert_non_null(ctx);
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    fault("{\"path_prefix\": \"/files\", \"delay\": 1.5}");
    assert_int_equal(runbox_session_read_file(s, "x", &data, &len),
                     RUNBOX_ETIMEOUT);
    assert_contains(runbox_error_last(), "did not answer in time");
    runbox_session_close(s);
    finish(ctx);
}

static void test_api_unreachable(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx_with(TEST_KEY, "http://127.0.0.1:1");
    assert_non_null(ctx);
    expect_failure(ctx, RUNBOX_EUNAVAILABLE,
                   "cannot reach the E2B API at http://127.0.0.1:1: "
                   "Couldn't connect to server");
    finish(ctx);
}

/* ------------------------------------------------------------------ */
/* Lifetimes, deadlines, refusals before any sandbox                   */
/* ------------------------------------------------------------------ */

/* A one-shot lives its run's timeout plus a minute, whatever the session
 * setting e2b.sandbox_timeout says; a run without a limit gets an hour;
 * a long timeout is asked for in full, not capped below the run. */
static void test_oneshot_lifetime_follows_the_run(void **state)
{
    (void)state;
    runbox_context *ctx =
        open_ctx_extra(TEST_KEY, api_url, "e2b.sandbox_timeout=3");
    runbox_result r;
    assert_non_null(ctx);
    assert_int_equal(run(ctx, "print(1)", 60, &r), RUNBOX_OK);
    assert_int_equal(last_create_timeout(), 120);
    runbox_result_clear(&r);
    assert_int_equal(run(ctx, "print(1)", 5000, &r), RUNBOX_OK);
    assert_int_equal(last_create_timeout(), 5060);
    runbox_result_clear(&r);
    finish(ctx);
    ctx = open_ctx_extra(TEST_KEY, api_url, "timeout=0");
    assert_non_null(ctx);
    assert_int_equal(run(ctx, "print(1)", 0, &r), RUNBOX_OK);
    assert_int_equal(last_create_timeout(), 3600);
    runbox_result_clear(&r);
    finish(ctx);
}

/* With the session lifetime set to 2 s, a one-shot run of 3 s finishes:
 * its sandbox lives as long as the run may. */
static void test_oneshot_outlives_the_session_setting(void **state)
{
    (void)state;
    runbox_context *ctx =
        open_ctx_extra(TEST_KEY, api_url, "e2b.sandbox_timeout=2");
    runbox_result r;
    assert_non_null(ctx);
    assert_int_equal(run(ctx, "import time\ntime.sleep(3)\nprint('finished')",
                         20, &r),
                     RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(r.out.data, "finished\n");
    runbox_result_clear(&r);
    finish(ctx);
}

/* E2B ends a sandbox at its lifetime whatever runs in it, and its edge
 * drops the connection: the run must fail, never look complete. */
static void test_expiry_mid_run_is_never_success(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_result r;
    fault("{\"path_prefix\": \"/execute\", \"expire_in\": 1}");
    assert_int_equal(run(ctx, "import time\nprint('started', flush=True)\n"
                              "time.sleep(4)\nprint('finished')",
                         30, &r),
                     RUNBOX_EGONE);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_BACKEND_FAILURE);
    assert_false(r.success);
    assert_contains(r.message, "stopped while running the code");
    assert_contains(r.message, "did not finish");
    assert_true(!r.out.data || !strstr(r.out.data, "finished"));
    runbox_result_clear(&r);

    /* The same in a session, and for a process (install). */
    runbox_context *net = open_ctx_extra(TEST_KEY, api_url, "network=on");
    runbox_session *s = NULL;
    assert_int_equal(runbox_session_open(&s, net), RUNBOX_OK);
    fault("{\"path_prefix\": \"/process.Process/Start\", \"expire_at_start\": true}");
    runbox_result_init(&r);
    assert_int_equal(runbox_session_install(s, "runbox-e2b-probe==1.0", &r),
                     RUNBOX_EGONE);
    assert_contains(runbox_error_last(), "stopped while running a process");
    runbox_result_clear(&r);
    runbox_session_close(s);
    runbox_context_free(net);
    finish(ctx);
}

/* Creation counts against the run's deadline: a create that hangs ends
 * the run at its timeout, and the message says a sandbox may exist. */
static void test_create_bounded_by_the_deadline(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_result r;
    fault("{\"path_prefix\": \"/v2/sandboxes\", \"method\": \"POST\", "
          "\"delay\": 3}");
    double t0 = now_s();
    assert_int_equal(run(ctx, "print(1)", 1, &r), RUNBOX_OK);
    double took = now_s() - t0;
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
    assert_true(took >= 0.9 && took < 2.5);
    assert_contains(r.message, "while the E2B sandbox was being created");
    assert_contains(r.message, "expires 61 s after creation");
    runbox_result_clear(&r);
    runbox_context_free(ctx);
    /* The server creates it after its delay: with the lifetime the
     * message named, so E2B would end it there. */
    usleep(2500000);
    assert_int_equal(last_create_timeout(), 61);
    cJSON_Delete(server_call("POST", "/_test/reset", NULL));

    /* Without a run deadline, the request timeout bounds it; the message
     * says the same. */
    ctx = open_ctx_extra(TEST_KEY, api_url, "e2b.request_timeout=0.5");
    runbox_session *s = NULL;
    fault("{\"path_prefix\": \"/v2/sandboxes\", \"method\": \"POST\", "
          "\"delay\": 1.5}");
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_ETIMEOUT);
    assert_contains(runbox_error_last(), "did not answer in time while "
                                         "creating the sandbox");
    assert_contains(runbox_error_last(), "expires at its lifetime");
    runbox_context_free(ctx);
    usleep(1500000);
    cJSON_Delete(server_call("POST", "/_test/reset", NULL));
}

/* A kill that hangs does not hold the caller: it is given a few seconds,
 * then left to the sandbox's lifetime. */
static void test_slow_kill_is_bounded(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_result r;
    fault("{\"path_prefix\": \"/sandboxes/\", \"method\": \"DELETE\", "
          "\"delay\": 70}");
    double t0 = now_s();
    assert_int_equal(run(ctx, "print(1)", 2, &r), RUNBOX_OK);
    double took = now_s() - t0;
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(r.out.data, "1\n");
    assert_true(took < 8);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
    cJSON_Delete(server_call("POST", "/_test/reset", NULL));
}

/* Refused before any sandbox is created (nothing to leak, nothing paid). */
static void test_refusals_create_nothing(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    runbox_result r;
    runbox_exec_options o = {.code = "print(1)\0x", .code_len = 10};
    reset_counters();
    runbox_result_init(&r);
    assert_int_equal(runbox_execute(ctx, &o, &r), RUNBOX_EINVAL);
    assert_contains(runbox_error_last(), "NUL byte");
    /* pip needs the network; a sandbox without it cannot install. */
    assert_int_equal(runbox_install_package(ctx, "six", &r), RUNBOX_EDENIED);
    assert_contains(runbox_error_last(), "set network = on");
    assert_int_equal(requests(NULL), 0);
    runbox_result_clear(&r);
    finish(ctx);
}

/* envd streams must be application/connect+json, as the SDK requires. */
static void test_start_with_wrong_content_type(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx_extra(TEST_KEY, api_url, "network=on");
    runbox_result r;
    runbox_result_init(&r);
    fault("{\"path_prefix\": \"/process.Process/Start\", "
          "\"content_type\": \"application/json\"}");
    assert_int_equal(runbox_install_package(ctx, "six", &r), RUNBOX_EPROTO);
    assert_contains(runbox_error_last(), "Content-Type application/json");
    runbox_result_clear(&r);
    finish(ctx);
}

/* envd's deadline_exceeded long before ours is not our timeout. */
static void test_early_deadline_exceeded(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx_extra(TEST_KEY, api_url, "network=on");
    runbox_result r;
    runbox_result_init(&r);
    fault("{\"path_prefix\": \"/process.Process/Start\", \"end_error\": "
          "{\"code\": \"deadline_exceeded\", \"message\": \"too slow\"}}");
    assert_int_equal(runbox_install_package(ctx, "six", &r), RUNBOX_EBACKEND);
    assert_contains(runbox_error_last(), "deadline_exceeded after 0.");
    assert_contains(runbox_error_last(), "before the run's deadline");
    assert_null(strstr(runbox_error_last(), "timed out after"));
    runbox_result_clear(&r);
    finish(ctx);
}

/* A proxy's HTML error page is reduced to its text. */
static void test_html_error_body(void **state)
{
    (void)state;
    runbox_context *ctx = open_ctx();
    fault("{\"path_prefix\": \"/v2/sandboxes\", \"status\": 500, \"body\": "
          "\"<html>\\r\\n<head><title>500 Internal Server Error</title>"
          "</head>\\r\\n<body><center><h1>500 Internal Server Error</h1>"
          "</center><hr><center>nginx</center></body></html>\"}");
    expect_failure(ctx, RUNBOX_EBACKEND,
                   "HTTP 500 while creating the sandbox: 500 Internal Server "
                   "Error");
    fault("{\"path_prefix\": \"/v2/sandboxes\", \"status\": 500, \"body\": "
          "\"<html><body><p>upstream\\n  failed</p></body></html>\"}");
    expect_failure(ctx, RUNBOX_EBACKEND, "sandbox: upstream failed");
    finish(ctx);
}

/* What the SDK does, checked in its sources: processes start through a
 * login shell (/bin/bash -l -c), and an envd older than 0.4.0 (no default
 * user) gets the user named on every call. argv is never parsed by the
 * shell: a spec full of shell syntax reaches pip as one argument. */
static void test_processes_like_the_sdk(void **state)
{
    (void)state;
    static const char *const versions[] = {"0.5.7", "0.3.0"};
    for (size_t v = 0; v < 2; v++) {
        runbox_context *ctx =
            open_ctx_extra(TEST_KEY, api_url, "network=on");
        runbox_session *s = NULL;
        runbox_result r;
        void *data = NULL;
        size_t len = 0;
        char f[128];
        snprintf(f, sizeof f, "{\"path_prefix\": \"/v2/sandboxes\", "
                              "\"method\": \"POST\", \"envd_version\": \"%s\"}",
                 versions[v]);
        fault(f);
        assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
        assert_int_equal(runbox_session_write_file(s, "a.txt", "hi", 2),
                         RUNBOX_OK);
        assert_int_equal(runbox_session_read_file(s, "a.txt", &data, &len),
                         RUNBOX_OK);
        assert_int_equal(len, 2);
        free(data);
        runbox_result_init(&r);
        assert_int_equal(runbox_session_install(s, "runbox-e2b-probe==1.0",
                                                &r),
                         RUNBOX_OK);
        assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
        runbox_result_clear(&r);
        /* Shell syntax in the spec stays data (pip rejects the name). */
        assert_int_equal(runbox_session_install(s, "x;touch pwned", &r),
                         RUNBOX_EDENIED);
        cJSON *st = server_call("GET", "/_test/stats", NULL);
        cJSON *proc = cJSON_GetObjectItem(cJSON_GetObjectItem(st,
                                                              "last_start"),
                                          "process");
        assert_string_equal(cJSON_GetObjectItem(proc, "cmd")->valuestring,
                            "/bin/bash");
        cJSON *args = cJSON_GetObjectItem(proc, "args");
        assert_string_equal(cJSON_GetArrayItem(args, 0)->valuestring, "-l");
        assert_string_equal(cJSON_GetArrayItem(args, 1)->valuestring, "-c");
        assert_string_equal(cJSON_GetArrayItem(args, 2)->valuestring,
                            "exec \"$0\" \"$@\"");
        assert_string_equal(cJSON_GetArrayItem(args, 3)->valuestring,
                            "python3");
        int n = cJSON_GetArraySize(args);
        assert_string_equal(cJSON_GetArrayItem(args, n - 1)->valuestring,
                            "runbox-e2b-probe==1.0");
        cJSON_Delete(st);
        runbox_session_close(s);
        finish(ctx);
    }
}

/* ------------------------------------------------------------------ */
/* Secrets                                                             */
/* ------------------------------------------------------------------ */

static void test_key_not_in_sandbox_or_logs(void **state)
{
    (void)state;
    char logpath[256];
    snprintf(logpath, sizeof logpath, "%s/log.txt", tmpdir);
    /* runbox logs to stderr: capture it with everything turned on. */
    setenv("RUNBOX_LOG", "debug", 1);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);

    runbox_context *ctx = open_ctx();
    runbox_result r;
    int rc = run(ctx, "import os, json\n"
                      "print(json.dumps(dict(os.environ)))",
                 0, &r);
    runbox_context_free(ctx);
    ctx = open_ctx_with("e2b_wrong_" TEST_KEY, api_url);
    runbox_result r2;
    int rc2 = run(ctx, "print(1)", 0, &r2);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    unsetenv("RUNBOX_LOG");

    assert_int_equal(rc, RUNBOX_OK);
    assert_contains(r.out.data, "E2B_SANDBOX");
    assert_null(strstr(r.out.data, TEST_KEY));
    assert_true(!r.err.data || !strstr(r.err.data, TEST_KEY));
    assert_int_equal(rc2, RUNBOX_EAUTH);
    assert_null(strstr(runbox_error_last(), TEST_KEY));
    FILE *f = fopen(logpath, "r");
    char log[65536];
    size_t n = fread(log, 1, sizeof log - 1, f);
    fclose(f);
    log[n] = '\0';
    assert_contains(log, "e2b: created sandbox");
    assert_null(strstr(log, TEST_KEY));
    runbox_result_clear(&r);
    runbox_result_clear(&r2);
    finish(ctx);
}

/* ------------------------------------------------------------------ */

/* Before each test: a failed test leaves its sandboxes and faults behind
 * (cmocka leaves the test at the failed assertion); clear them so that the
 * failure does not spread. Leaks are caught by finish() in the test. */
static int fresh_server(void **state)
{
    (void)state;
    cJSON_Delete(server_call("POST", "/_test/reset", NULL));
    return 0;
}

static void test_no_sandbox_left(void **state)
{
    (void)state;
    cJSON *s = server_call("GET", "/_test/stats", NULL);
    assert_int_equal(cJSON_GetObjectItem(s, "live_sandboxes")->valueint, 0);
    cJSON_Delete(s);
}

#define FRESH(test) cmocka_unit_test_setup(test, fresh_server)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FRESH(test_missing_key_fails_before_any_request),
        FRESH(test_bad_config_values),
        FRESH(test_execute_print),
        FRESH(test_stdout_and_stderr_stream),
        FRESH(test_exception),
        FRESH(test_rich_results),
        FRESH(test_system_exit_is_an_exit_status),
        FRESH(test_nul_and_surrogates_in_output),
        FRESH(test_error_record_without_name),
        FRESH(test_bash_language),
        FRESH(test_timeout_stops_the_run),
        FRESH(test_cancel),
        FRESH(test_session_files),
        FRESH(test_session_interpreter),
        FRESH(test_install),
        FRESH(test_environment_oneshot),
        FRESH(test_wrong_key),
        FRESH(test_rate_limit_then_success),
        FRESH(test_busy_and_server_errors),
        FRESH(test_connection_resets),
        FRESH(test_broken_streams),
        FRESH(test_sandbox_gone),
        FRESH(test_sandbox_expires),
        FRESH(test_session_lifetime_follows_runs),
        FRESH(test_session_lifetime_requests_skipped),
        FRESH(test_session_lifetime_restore_fails),
        FRESH(test_pooled_lifetime_follows_the_run),
        FRESH(test_request_timeout),
        FRESH(test_api_unreachable),
        FRESH(test_oneshot_lifetime_follows_the_run),
        FRESH(test_oneshot_outlives_the_session_setting),
        FRESH(test_expiry_mid_run_is_never_success),
        FRESH(test_create_bounded_by_the_deadline),
        FRESH(test_slow_kill_is_bounded),
        FRESH(test_refusals_create_nothing),
        FRESH(test_start_with_wrong_content_type),
        FRESH(test_early_deadline_exceeded),
        FRESH(test_html_error_body),
        FRESH(test_processes_like_the_sdk),
        FRESH(test_key_not_in_sandbox_or_logs),
        cmocka_unit_test(test_no_sandbox_left),
    };
    return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
