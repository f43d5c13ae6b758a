/* The loader against tiny fixture backends: every way loading can fail
 * gives one clear message naming the file and the cause. */
#include "testutil.h"

#include "runbox/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fx1[4096], fx2[4096];

static int setup(void **state)
{
    (void)state;
    const char *a = getenv("RUNBOX_FIXTURES1"), *b = getenv("RUNBOX_FIXTURES2");
    assert_non_null(a);
    assert_non_null(b);
    snprintf(fx1, sizeof fx1, "%s", a);
    snprintf(fx2, sizeof fx2, "%s", b);
    setenv("RUNBOX_BACKEND_PATH", fx1, 1);
    return 0;
}

static int open_backend(const char *name)
{
    runbox_config *cfg = tu_config("backend=subprocess", NULL);
    assert_int_equal(runbox_config_set(cfg, "backend", name), RUNBOX_OK);
    runbox_context *ctx = NULL;
    int rc = runbox_context_new(&ctx, cfg);
    runbox_context_free(ctx);
    runbox_config_free(cfg);
    return rc;
}

static void expect_failure(const char *name, int status, const char *needle)
{
    int rc = open_backend(name);
    if (rc != status || !tu_contains(runbox_error_last(), needle))
        fail_msg("%s: got %d '%s', expected %d with '%s'", name, rc,
                 runbox_error_last(), status, needle);
}

static void test_old_abi(void **state)
{
    (void)state;
    expect_failure("oldabi", RUNBOX_EABI, "runbox-oldabi.so was built for backend ABI 0");
}

static void test_newer_abi(void **state)
{
    (void)state;
    expect_failure("newabi", RUNBOX_EABI, "ABI 2");
}

static void test_tiny_struct(void **state)
{
    (void)state;
    expect_failure("tiny", RUNBOX_EABI, "declares a vtable of 16 bytes");
}

static void test_no_entry_symbol(void **state)
{
    (void)state;
    expect_failure("noentry", RUNBOX_EBACKEND, "is not a runbox backend: no runbox_backend_init");
    assert_true(tu_contains(runbox_error_last(), "undefined symbol")); /* dlerror() */
}

static void test_init_refused(void **state)
{
    (void)state;
    expect_failure("initfail", RUNBOX_EUNAVAILABLE, "libfrobnicate.so.3 is missing");
    assert_true(tu_contains(runbox_error_last(), "runbox-initfail.so"));
}

static void test_future_struct_loads(void **state)
{
    (void)state;
    /* A plugin with a bigger vtable of the same ABI is accepted; the extra
     * slots are ignored. */
    assert_int_equal(open_backend("future"), RUNBOX_OK);
}

static void test_misnamed(void **state)
{
    (void)state;
    expect_failure("misnamed", RUNBOX_EBACKEND, "calls itself 'future'");
}

static void test_not_found_lists_existing(void **state)
{
    (void)state;
    expect_failure("nosuch", RUNBOX_ENOTFOUND, "no backend named 'nosuch'");
    assert_true(tu_contains(runbox_error_last(), "fake"));
    assert_true(tu_contains(runbox_error_last(), "initfail"));
}

static void test_duplicate_name(void **state)
{
    (void)state;
    assert_int_equal(open_backend("fake"), RUNBOX_OK);
    char path[4200];
    snprintf(path, sizeof path, "%s/runbox-fake.so", fx2);
    expect_failure(path, RUNBOX_EBACKEND, "duplicate backend name 'fake'");
}

typedef struct seen {
    int fake_ok, dup_reported, initfail_error, count;
} seen;

static void on_backend(void *ud, const runbox_backend_info *info)
{
    seen *s = ud;
    s->count++;
    if (!strcmp(info->name, "fake") && !info->load_error && info->usable)
        s->fake_ok++;
    if (!strcmp(info->name, "fake") && info->load_error &&
        tu_contains(info->load_error, "duplicate"))
        s->dup_reported++;
    if (!strcmp(info->name, "initfail") && info->load_error)
        s->initfail_error++;
}

static void test_list_reports_duplicates(void **state)
{
    (void)state;
    char path[8300];
    snprintf(path, sizeof path, "%s:%s", fx1, fx2);
    setenv("RUNBOX_BACKEND_PATH", path, 1);
    seen s = {0};
    assert_int_equal(runbox_backends_list(NULL, on_backend, &s), RUNBOX_OK);
    assert_int_equal(s.fake_ok, 1);
    assert_int_equal(s.dup_reported, 1);
    assert_int_equal(s.initfail_error, 1);
    setenv("RUNBOX_BACKEND_PATH", fx1, 1);
}

/* A search folder that holds no backend at all (found by fuzzing the
 * config loader: it sorted a NULL list) is listed without fault; run under
 * UBSan in the sanitizer build. */
static void test_empty_search_dir(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char path[8300];
    snprintf(path, sizeof path, "%s:%s", dir, fx1);
    setenv("RUNBOX_BACKEND_PATH", path, 1);
    seen s = {0};
    assert_int_equal(runbox_backends_list(NULL, on_backend, &s), RUNBOX_OK);
    assert_int_equal(s.fake_ok, 1);
    setenv("RUNBOX_BACKEND_PATH", fx1, 1);
    tu_rmtree(dir);
    free(dir);
}

/* The current directory is never searched, not even through a relative
 * entry in RUNBOX_BACKEND_PATH. */
static void test_never_the_cwd(void **state)
{
    (void)state;
    char old[4096];
    assert_non_null(getcwd(old, sizeof old));
    char *dir = tu_tmpdir();
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "cp %s/runbox-future.so %s/runbox-planted.so", fx1, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(chdir(dir), 0);
    setenv("RUNBOX_BACKEND_PATH", ".:planted:", 1);
    int rc = open_backend("planted");
    assert_int_equal(chdir(old), 0);
    setenv("RUNBOX_BACKEND_PATH", fx1, 1);
    tu_rmtree(dir);
    free(dir);
    assert_int_equal(rc, RUNBOX_ENOTFOUND);
}

/* The plugin side of the same promise: a backend refuses a host table of
 * another ABI or one shorter than the header it was built with. */
static void test_backend_checks_the_host(void **state)
{
    (void)state;
    char why[512] = "";
    runbox_host h;
    memset(&h, 0, sizeof h);
    h.abi_version = RUNBOX_BACKEND_ABI;
    h.struct_size = sizeof h;
    assert_int_equal(runbox_host_check(&h, "x", why, sizeof why), RUNBOX_OK);
    h.struct_size = sizeof h + 64; /* a newer host with more members: fine */
    assert_int_equal(runbox_host_check(&h, "x", why, sizeof why), RUNBOX_OK);
    /* An older host without the appended members: enough for a backend
     * that needs only the base... */
    h.struct_size = RUNBOX_HOST_BASE_SIZE;
    assert_int_equal(runbox_host_check(&h, "x", why, sizeof why), RUNBOX_OK);
    assert_false(RUNBOX_HOST_HAS(&h, config_size));
    /* ...not for one that needs a newer member... */
    assert_int_equal(runbox_host_require(&h, "x", RUNBOX_HOST_SIZE_TO(config_list),
                                         why, sizeof why), RUNBOX_EABI);
    assert_true(tu_contains(why, "rebuild the backend"));
    /* ...and shorter than the base is refused by everyone. */
    h.struct_size = RUNBOX_HOST_BASE_SIZE - 1;
    assert_int_equal(runbox_host_check(&h, "x", why, sizeof why), RUNBOX_EABI);
    h.struct_size = sizeof h;
    h.abi_version = RUNBOX_BACKEND_ABI + 1;
    assert_int_equal(runbox_host_check(&h, "x", why, sizeof why), RUNBOX_EABI);
    assert_true(tu_contains(why, "the x backend was built for backend ABI"));
    assert_int_equal(runbox_host_check(NULL, "x", why, sizeof why), RUNBOX_EABI);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_abi),
        cmocka_unit_test(test_newer_abi),
        cmocka_unit_test(test_tiny_struct),
        cmocka_unit_test(test_no_entry_symbol),
        cmocka_unit_test(test_init_refused),
        cmocka_unit_test(test_future_struct_loads),
        cmocka_unit_test(test_misnamed),
        cmocka_unit_test(test_not_found_lists_existing),
        cmocka_unit_test(test_duplicate_name),
        cmocka_unit_test(test_list_reports_duplicates),
        cmocka_unit_test(test_empty_search_dir),
        cmocka_unit_test(test_never_the_cwd),
        cmocka_unit_test(test_backend_checks_the_host),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
