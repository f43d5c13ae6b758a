/* The core's dispatch, against a fake backend that counts its calls:
 * capping, verdicts, cancellation, refusals, and that every sandbox made
 * is destroyed. */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int setup(void **state)
{
    (void)state;
    setenv("RUNBOX_BACKEND_PATH", getenv("RUNBOX_FIXTURES1"), 1);
    return 0;
}

static int calls(runbox_context *ctx, const char *slot)
{
    char *json = NULL;
    assert_int_equal(runbox_get_environment(ctx, &json), RUNBOX_OK);
    cJSON *o = cJSON_Parse(json);
    free(json);
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "calls"), slot);
    assert_true(cJSON_IsNumber(c));
    int n = c->valueint;
    cJSON_Delete(o);
    return n;
}

typedef struct streamed {
    size_t bytes;
} streamed;

static void on_output(void *ud, int stream, const char *data, size_t len)
{
    (void)stream;
    (void)data;
    ((streamed *)ud)->bytes += len;
}

static void test_output_cap(void **state)
{
    (void)state;
    runbox_context *ctx = tu_context("fake", "output_limit=64k", NULL);
    runbox_result r;
    runbox_result_init(&r);
    streamed s = {0};
    runbox_exec_options opt = {.code = "emit 10000000", .on_output = on_output,
                               .userdata = &s};
    assert_int_equal(runbox_execute(ctx, &opt, &r), RUNBOX_OK);
    assert_int_equal(r.out.len, 65536);
    assert_int_equal(r.out.total, 10000000);
    assert_true(r.out.truncated);
    assert_int_equal(s.bytes, 65536); /* the callback sees the cap too */
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TRUNCATED);
    assert_true(r.success);
    assert_true(r.limits_applied & RUNBOX_LIMIT_OUTPUT);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
}

static void test_verdicts(void **state)
{
    (void)state;
    runbox_context *ctx = tu_context("fake", NULL);
    runbox_result r;
    runbox_result_init(&r);
    assert_int_equal(tu_run(ctx, "raise", &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
    assert_string_equal(r.error_name, "ValueError");
    assert_string_equal(r.error_value, "bad value");
    assert_false(r.success);
    assert_int_equal(tu_run(ctx, "exit 3", &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_EXIT_NONZERO);
    assert_int_equal(r.exit_code, 3);
    assert_int_equal(tu_run(ctx, "hello", &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(r.out.data, "hello");
    assert_string_equal(r.backend, "fake");
    assert_string_equal(r.isolation, "fake");
    assert_true(r.wall_seconds >= 0);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
}

/* Limit verdicts need evidence: a SIGXCPU the code sent itself is no
 * timeout, and a MemoryError traceback (forged or real) is no oom. */
static void test_limit_verdicts_need_evidence(void **state)
{
    (void)state;
    runbox_result r;
    runbox_result_init(&r);
    runbox_context *ctx = tu_context("fake", NULL);
    assert_int_equal(tu_run(ctx, "sigxcpu", &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_SIGNALED);
    assert_int_equal(r.signal, 24);
    assert_true(tu_contains(r.message, "no CPU time limit"));
    runbox_context_free(ctx);

    ctx = tu_context("fake", "cpu_time=10", NULL);
    assert_int_equal(tu_run(ctx, "sigxcpu", &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_SIGNALED);
    assert_true(tu_contains(r.message, "before the 10s CPU time limit"));
    runbox_context_free(ctx);

    ctx = tu_context("fake", "memory=64m", NULL);
    assert_int_equal(tu_run(ctx, "memerror", &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
    assert_string_equal(r.error_name, "MemoryError");
    assert_true(tu_contains(r.message, "limit was probably reached"));
    runbox_context_free(ctx);

    /* A limit it declares no capability for is refused before any call. */
    runbox_config *cfg = tu_config("backend=fake", "processes=10", NULL);
    assert_int_equal(runbox_context_new(&ctx, cfg), RUNBOX_EUNSUPPORTED);
    assert_true(tu_contains(runbox_error_last(), "cannot enforce this limit"));
    runbox_config_free(cfg);

    ctx = tu_context("fake", "memory=0", NULL);
    assert_int_equal(tu_run(ctx, "memerror", &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
    assert_string_equal(r.message, "");
    runbox_result_clear(&r);
    runbox_context_free(ctx);
}

static void test_timeout_passes_deadline(void **state)
{
    (void)state;
    runbox_context *ctx = tu_context("fake", NULL);
    runbox_result r;
    runbox_result_init(&r);
    runbox_exec_options opt = {.code = "wait", .timeout = 0.2};
    assert_int_equal(runbox_execute(ctx, &opt, &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
    assert_true(r.limits.wall_seconds == 0.2);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
}

static volatile int cancel_flag;

static void *cancel_later(void *arg)
{
    (void)arg;
    usleep(100 * 1000);
    cancel_flag = 1;
    return NULL;
}

static void test_cancel_from_another_thread(void **state)
{
    (void)state;
    runbox_context *ctx = tu_context("fake", NULL);
    runbox_result r;
    runbox_result_init(&r);
    cancel_flag = 0;
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, NULL);
    runbox_exec_options opt = {.code = "wait", .cancel = &cancel_flag};
    assert_int_equal(runbox_execute(ctx, &opt, &r), RUNBOX_ECANCELED);
    pthread_join(t, NULL);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_CANCELED);
    assert_false(r.success);
    /* Every sandbox made was destroyed, also the cancelled one. */
    int created = calls(ctx, "create"), destroyed = calls(ctx, "destroy");
    /* Each count includes the probe's own sandbox: the first call sees its
     * own creation, the second the first one's destruction. */
    assert_int_equal(created, destroyed);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
}

static void test_backend_failure(void **state)
{
    (void)state;
    runbox_context *ctx = tu_context("fake", NULL);
    runbox_result r;
    runbox_result_init(&r);
    assert_int_equal(tu_run(ctx, "fail", &r), RUNBOX_EUNAVAILABLE);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_BACKEND_FAILURE);
    assert_true(tu_contains(r.message, "fake daemon is down"));
    assert_true(tu_contains(runbox_error_last(), "fake daemon is down"));
    int created = calls(ctx, "create");
    assert_int_equal(created, calls(ctx, "destroy"));
    runbox_result_clear(&r);
    runbox_context_free(ctx);
}

static void test_refusals(void **state)
{
    (void)state;
    runbox_context *ctx = tu_context("fake", NULL);
    runbox_session *s = NULL;
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_EUNSUPPORTED);
    assert_true(tu_contains(runbox_error_last(), "does not support sessions"));
    runbox_result r;
    runbox_result_init(&r);
    assert_int_equal(runbox_install_package(ctx, "numpy", &r), RUNBOX_EUNSUPPORTED);
    assert_int_equal(runbox_install_package(ctx, "--evil", &r), RUNBOX_EDENIED);
    runbox_exec_options opt = {.code = "x", .language = "ruby"};
    assert_int_equal(runbox_execute(ctx, &opt, &r), RUNBOX_EUNSUPPORTED);
    assert_true(tu_contains(runbox_error_last(), "cannot run ruby"));
    int execs = calls(ctx, "exec");
    assert_int_equal(execs, 0); /* nothing refused reached the backend */
    runbox_result_clear(&r);
    runbox_context_free(ctx);
}

static void test_backend_config_error(void **state)
{
    (void)state;
    runbox_config *cfg = tu_config("backend=fake", "fake.mode=wild", NULL);
    runbox_context *ctx = NULL;
    assert_int_equal(runbox_context_new(&ctx, cfg), RUNBOX_ECONFIG);
    assert_true(tu_contains(runbox_error_last(), "[fake] mode = 'wild'"));
    assert_true(tu_contains(runbox_error_last(), "command line"));
    runbox_config_free(cfg);
    cfg = tu_config("backend=fake", "fake.colour=blue", NULL);
    assert_int_equal(runbox_context_new(&ctx, cfg), RUNBOX_ECONFIG);
    assert_true(tu_contains(runbox_error_last(), "unknown setting 'colour' in [fake]"));
    runbox_config_free(cfg);
}

/* A run that finds the pool's only sandbox in the middle of a life check
 * waits for the check (one quick backend call) instead of starting a cold
 * sandbox. The fake backend's check takes 400 ms and marks a file while it
 * runs; the run is made while the mark is there. */
static void test_pool_waits_for_a_check(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), mark[4200];
    snprintf(mark, sizeof mark, "%s/checking", dir);
    setenv("RUNBOX_FAKE_CHECK_MARK", mark, 1);
    setenv("RUNBOX_FAKE_CHECK_MS", "400", 1);
    runbox_context *ctx = tu_context("fake", NULL);
    runbox_pool *pool = NULL;
    runbox_pool_options po = {.size = 1};
    assert_int_equal(runbox_pool_new(&pool, ctx, &po), RUNBOX_OK);
    assert_int_equal(runbox_pool_wait_ready(pool, 1, 10), RUNBOX_OK);
    for (int i = 0; i < 1000 && access(mark, F_OK) != 0; i++)
        usleep(5 * 1000);
    assert_int_equal(access(mark, F_OK), 0); /* a check is under way */
    runbox_result r;
    runbox_result_init(&r);
    runbox_exec_options opt = {.code = "hello"};
    assert_int_equal(runbox_pool_execute(pool, &opt, &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    runbox_pool_stats st;
    runbox_pool_stats_get(pool, &st);
    assert_int_equal(st.misses, 0);
    assert_int_equal(st.hits, 1);
    runbox_result_clear(&r);
    runbox_pool_free(pool);
    runbox_context_free(ctx);
    unsetenv("RUNBOX_FAKE_CHECK_MARK");
    unsetenv("RUNBOX_FAKE_CHECK_MS");
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_cap),
        cmocka_unit_test(test_pool_waits_for_a_check),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_limit_verdicts_need_evidence),
        cmocka_unit_test(test_timeout_passes_deadline),
        cmocka_unit_test(test_cancel_from_another_thread),
        cmocka_unit_test(test_backend_failure),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_backend_config_error),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
