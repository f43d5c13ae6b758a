/* Configuration: precedence, sources, and every kind of config error. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir;
static char oldcwd[4096];

static int setup(void **state)
{
    (void)state;
    assert_non_null(getcwd(oldcwd, sizeof oldcwd));
    dir = tu_tmpdir();
    assert_int_equal(chdir(dir), 0);
    unsetenv("RUNBOX_TIMEOUT");
    unsetenv("RUNBOX_BACKEND");
    unsetenv("E2B_API_KEY");
    unsetenv("DOCKER_HOST");
    unsetenv("RUNBOX_SUBPROCESS_PYTHON");
    setenv("XDG_CONFIG_HOME", dir, 1); /* no user config leaks in */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(chdir(oldcwd), 0);
    tu_rmtree(dir);
    free(dir);
    return 0;
}

static runbox_config *load(int expect, const char *path)
{
    runbox_config *cfg = NULL;
    assert_int_equal(runbox_config_new(&cfg), RUNBOX_OK);
    int rc = runbox_config_load(cfg, path);
    if (rc != expect)
        fail_msg("load returned %d (%s), expected %d", rc, runbox_error_last(), expect);
    return cfg;
}

static void test_defaults(void **state)
{
    (void)state;
    runbox_config *cfg = load(RUNBOX_OK, NULL);
    assert_string_equal(runbox_config_get(cfg, "backend"), "e2b");
    assert_string_equal(runbox_config_get(cfg, "timeout"), "60");
    runbox_config_free(cfg);
}

/* Numeric settings read as numbers, by their type; strings are refused. */
static void test_get_number(void **state)
{
    (void)state;
    runbox_config *cfg = load(RUNBOX_OK, NULL);
    double v = 0;
    assert_int_equal(runbox_config_get_number(cfg, "max_timeout", &v), RUNBOX_OK);
    assert_true(v == 600);
    assert_int_equal(runbox_config_set(cfg, "session_idle", "2m"), RUNBOX_OK);
    assert_int_equal(runbox_config_get_number(cfg, "session_idle", &v), RUNBOX_OK);
    assert_true(v == 120);
    assert_int_equal(runbox_config_set(cfg, "memory", "2k"), RUNBOX_OK);
    assert_int_equal(runbox_config_get_number(cfg, "memory", &v), RUNBOX_OK);
    assert_true(v == 2048);
    assert_int_equal(runbox_config_get_number(cfg, "mcp_text_limit", &v), RUNBOX_OK);
    assert_true(v == 20000);
    assert_int_equal(runbox_config_set(cfg, "mcp_text_limit", "lots"), RUNBOX_ECONFIG);
    assert_int_equal(runbox_config_get_number(cfg, "backend", &v), RUNBOX_EINVAL);
    assert_int_equal(runbox_config_get_number(cfg, "no_such", &v), RUNBOX_EINVAL);
    runbox_config_free(cfg);
}

static void test_precedence(void **state)
{
    (void)state;
    tu_write(dir, "runbox.ini", "[runbox]\ntimeout = 10\nbackend = docker\n"
                                "memory = 2g\ncpu_time = 5\n");
    tu_write(dir, ".env", "RUNBOX_TIMEOUT=20\nRUNBOX_MEMORY=3g\nOTHER_TOOL=x\n");
    setenv("RUNBOX_TIMEOUT", "30", 1);
    runbox_config *cfg = load(RUNBOX_OK, NULL);
    assert_string_equal(runbox_config_get(cfg, "timeout"), "30");  /* env > .env > file */
    assert_string_equal(runbox_config_get(cfg, "memory"), "3g");   /* .env > file */
    assert_string_equal(runbox_config_get(cfg, "cpu_time"), "5");  /* file > default */
    assert_string_equal(runbox_config_get(cfg, "backend"), "docker");
    assert_int_equal(runbox_config_set(cfg, "timeout", "40"), RUNBOX_OK);
    assert_string_equal(runbox_config_get(cfg, "timeout"), "40");  /* flag > env */
    runbox_config_free(cfg);
    unsetenv("RUNBOX_TIMEOUT");
}

typedef struct origins {
    char timeout[128], key[128], key_value[128];
} origins;

static void collect(void *ud, const char *key, const char *value, const char *origin)
{
    origins *o = ud;
    if (!strcmp(key, "timeout"))
        snprintf(o->timeout, sizeof o->timeout, "%s", origin);
    if (!strcmp(key, "e2b.api_key")) {
        snprintf(o->key, sizeof o->key, "%s", origin);
        snprintf(o->key_value, sizeof o->key_value, "%s", value);
    }
}

static void test_origins_and_masking(void **state)
{
    (void)state;
    tu_write(dir, "runbox.ini", "# comment\n[runbox]\n\ntimeout = 10\n");
    tu_write(dir, ".env", "export E2B_API_KEY=\"e2b_supersecretvalue\"\n");
    runbox_config *cfg = load(RUNBOX_OK, NULL);
    assert_string_equal(runbox_config_get(cfg, "e2b.api_key"), "e2b_supersecretvalue");
    origins o = {0};
    runbox_config_foreach(cfg, collect, &o);
    assert_string_equal(o.timeout, "runbox.ini:4");
    assert_string_equal(o.key, ".env:1");
    assert_null(strstr(o.key_value, "supersecret"));
    assert_true(tu_contains(o.key_value, "****"));
    runbox_config_free(cfg);
}

static void test_env_aliases(void **state)
{
    (void)state;
    setenv("E2B_API_KEY", "k1", 1);
    setenv("DOCKER_HOST", "tcp://127.0.0.1:1", 1);
    setenv("RUNBOX_SUBPROCESS_PYTHON", "/usr/bin/python3", 1);
    runbox_config *cfg = load(RUNBOX_OK, NULL);
    assert_string_equal(runbox_config_get(cfg, "e2b.api_key"), "k1");
    assert_string_equal(runbox_config_get(cfg, "docker.host"), "tcp://127.0.0.1:1");
    assert_string_equal(runbox_config_get(cfg, "subprocess.python"), "/usr/bin/python3");
    runbox_config_free(cfg);
    unsetenv("E2B_API_KEY");
    unsetenv("DOCKER_HOST");
    unsetenv("RUNBOX_SUBPROCESS_PYTHON");
}

static void expect_error(const char *ini, const char *dotenv, const char *needle1,
                         const char *needle2)
{
    unlink("runbox.ini");
    unlink(".env");
    if (ini)
        tu_write(dir, "runbox.ini", ini);
    if (dotenv)
        tu_write(dir, ".env", dotenv);
    runbox_config *cfg = load(RUNBOX_ECONFIG, NULL);
    const char *msg = runbox_error_last();
    if (!tu_contains(msg, needle1) || !tu_contains(msg, needle2))
        fail_msg("message '%s' lacks '%s' or '%s'", msg, needle1, needle2);
    runbox_config_free(cfg);
}

static void test_file_errors(void **state)
{
    (void)state;
    expect_error("[runbox]\ntimeout = 10\ntimeuot = 5\n", NULL, "runbox.ini:3", "timeuot");
    expect_error("[runbox]\ntimeout = soon\n", NULL, "runbox.ini:2", "timeout");
    expect_error("[runbox]\nmemory = lots\n", NULL, "runbox.ini:2", "memory");
    expect_error("[runbox]\nnetwork = maybe\n", NULL, "runbox.ini:2", "network");
    expect_error("[runbox]\nthis line has no equals sign\n", NULL, "runbox.ini:2", "malformed");
    expect_error("[dokcer]\nimage = x\n", NULL, "runbox.ini:2", "unknown section [dokcer]");
    expect_error(NULL, "RUNBOX_TIMEOUT=abc\n", ".env:1", "timeout");
    expect_error(NULL, "just words\n", ".env:1", "malformed");
    setenv("RUNBOX_PROCESSES", "-3", 1);
    expect_error(NULL, NULL, "environment RUNBOX_PROCESSES", "processes");
    unsetenv("RUNBOX_PROCESSES");
}

static void test_missing_explicit_file(void **state)
{
    (void)state;
    runbox_config *cfg = load(RUNBOX_ECONFIG, "/nonexistent/runbox.ini");
    assert_true(tu_contains(runbox_error_last(), "/nonexistent/runbox.ini"));
    runbox_config_free(cfg);
}

static void test_flag_errors(void **state)
{
    (void)state;
    runbox_config *cfg = load(RUNBOX_OK, NULL);
    assert_int_equal(runbox_config_set(cfg, "timeout", "-1"), RUNBOX_ECONFIG);
    assert_true(tu_contains(runbox_error_last(), "timeout"));
    assert_int_equal(runbox_config_set(cfg, "nosuchkey", "1"), RUNBOX_ECONFIG);
    assert_true(tu_contains(runbox_error_last(), "nosuchkey"));
    runbox_config_free(cfg);
}

/* A backend's section is checked against the keys it declares when a
 * context opens it, and the error names the file, the line and the key. */
static void test_backend_section_keys(void **state)
{
    (void)state;
    tu_write(dir, "runbox.ini", "[runbox]\nbackend = subprocess\n"
                                "[subprocess]\nisolation = none\npyhton = /x\n");
    runbox_config *cfg = load(RUNBOX_OK, NULL);
    runbox_context *ctx = NULL;
    assert_int_equal(runbox_context_new(&ctx, cfg), RUNBOX_ECONFIG);
    const char *msg = runbox_error_last();
    assert_true(tu_contains(msg, "runbox.ini:5"));
    assert_true(tu_contains(msg, "pyhton"));
    assert_true(tu_contains(msg, "python")); /* lists what it accepts */
    assert_int_equal(runbox_config_validate_all(cfg), RUNBOX_ECONFIG);
    runbox_config_free(cfg);

    /* A bad value in a backend section names its origin too. */
    tu_write(dir, "runbox.ini", "[subprocess]\nisolation = maximal\n");
    cfg = load(RUNBOX_OK, NULL);
    assert_int_equal(runbox_config_set(cfg, "backend", "subprocess"), RUNBOX_OK);
    assert_int_equal(runbox_context_new(&ctx, cfg), RUNBOX_ECONFIG);
    assert_true(tu_contains(runbox_error_last(), "runbox.ini:2"));
    assert_true(tu_contains(runbox_error_last(), "isolation"));
    runbox_config_free(cfg);
}

/* Limits in a backend's section override [runbox] for that backend. */
static void test_limit_override(void **state)
{
    (void)state;
    tu_write(dir, "runbox.ini", "[runbox]\nbackend = subprocess\ntimeout = 7\n"
                                "[subprocess]\ntimeout = 3\nisolation = none\n");
    runbox_config *cfg = load(RUNBOX_OK, NULL);
    runbox_context *ctx = NULL;
    assert_int_equal(runbox_context_new(&ctx, cfg), RUNBOX_OK);
    assert_true(runbox_context_limits(ctx)->wall_seconds == 3.0);
    runbox_context_free(ctx);
    /* ...but a flag on the shared key still wins. */
    assert_int_equal(runbox_config_set(cfg, "timeout", "9"), RUNBOX_OK);
    assert_int_equal(runbox_context_new(&ctx, cfg), RUNBOX_OK);
    assert_true(runbox_context_limits(ctx)->wall_seconds == 9.0);
    runbox_context_free(ctx);
    runbox_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_origins_and_masking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_aliases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_explicit_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flag_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_section_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_override, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
