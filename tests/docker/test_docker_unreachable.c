/*
 * test_docker_unreachable.c — with no daemon at the configured address,
 * opening the docker backend fails with a message that says where runbox
 * looked and what to do, and `runbox backends` reports it as not usable.
 * Needs no daemon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "runbox/runbox.h"

static int open_at(const char *host)
{
    runbox_config *cfg = NULL;
    assert_int_equal(runbox_config_new(&cfg), RUNBOX_OK);
    assert_int_equal(runbox_config_set(cfg, "backend", "docker"), RUNBOX_OK);
    assert_int_equal(runbox_config_set(cfg, "docker.host", host), RUNBOX_OK);
    runbox_context *ctx = NULL;
    int rc = runbox_context_new(&ctx, cfg);
    runbox_context_free(ctx);
    runbox_config_free(cfg);
    return rc;
}

static void test_missing_socket(void **state)
{
    (void)state;
    assert_int_equal(open_at("unix:///nonexistent.sock"), RUNBOX_EUNAVAILABLE);
    assert_string_equal(runbox_error_last(),
                        "cannot reach Docker at unix:///nonexistent.sock: no "
                        "such socket — is dockerd running?");
}

static void test_refused_tcp(void **state)
{
    (void)state;
    assert_int_equal(open_at("tcp://127.0.0.1:1"), RUNBOX_EUNAVAILABLE);
    assert_string_equal(runbox_error_last(),
                        "cannot reach Docker at tcp://127.0.0.1:1: connection "
                        "refused — is dockerd running?");
}

static void test_bad_host_form(void **state)
{
    (void)state;
    assert_int_equal(open_at("ssh://somewhere"), RUNBOX_ECONFIG);
    assert_non_null(strstr(runbox_error_last(), "tcp://HOST:PORT"));
}

typedef struct found {
    int seen, usable;
    char why[512];
} found;

static void on_backend(void *arg, const runbox_backend_info *info)
{
    found *f = arg;
    /* The same folder may be on the search path twice; the duplicate is
     * listed with a load_error and is not the one probed. */
    if (strcmp(info->name, "docker") != 0 || info->load_error || f->seen)
        return;
    f->seen = 1;
    f->usable = info->usable;
    snprintf(f->why, sizeof(f->why), "%s", info->why ? info->why : "");
}

static void test_probe_says_why(void **state)
{
    (void)state;
    runbox_config *cfg = NULL;
    assert_int_equal(runbox_config_new(&cfg), RUNBOX_OK);
    assert_int_equal(runbox_config_set(cfg, "docker.host", "unix:///nonexistent.sock"),
                     RUNBOX_OK);
    found f = {0};
    assert_int_equal(runbox_backends_list(cfg, on_backend, &f), RUNBOX_OK);
    runbox_config_free(cfg);
    assert_true(f.seen);
    assert_false(f.usable);
    assert_non_null(strstr(f.why, "is dockerd running?"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_socket),
        cmocka_unit_test(test_refused_tcp),
        cmocka_unit_test(test_bad_host_form),
        cmocka_unit_test(test_probe_says_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
