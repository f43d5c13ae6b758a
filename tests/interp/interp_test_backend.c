/* See interp_test_backend.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "docker_test_util.h"
#include "interp_test_backend.h"

static int in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && (!strcmp(ci, "true") || !strcmp(ci, "1"));
}

runbox_context *interp_test_context(const char *backend)
{
    if (!strcmp(backend, "docker"))
        return dt_context(NULL);
    runbox_config *cfg = NULL;
    runbox_context *ctx = NULL;
    assert_int_equal(runbox_config_new(&cfg), RUNBOX_OK);
    assert_int_equal(runbox_config_set(cfg, "backend", backend), RUNBOX_OK);
    int rc = runbox_context_new(&ctx, cfg);
    runbox_config_free(cfg);
    if (rc != RUNBOX_OK)
        fail_msg("runbox_context_new(%s): %s", backend, runbox_error_last());
    return ctx;
}

int interp_test_needs_matplotlib(const char *backend)
{
    return in_ci() && !strcmp(backend, "subprocess");
}

/* The processes in the containers of runbox process pid, keepers included. */
static int docker_processes_of(long pid, int *containers)
{
    char *body = NULL;
    long status = dt_api("GET",
                         "/containers/json?filters=%7B%22label%22%3A%5B"
                         "%22runbox%3D1%22%5D%7D", NULL, &body);
    assert_int_equal(status, 200);
    cJSON *list = cJSON_Parse(body);
    free(body);
    char want[32];
    snprintf(want, sizeof(want), "%ld", pid);
    int n = 0;
    *containers = 0;
    cJSON *item;
    cJSON_ArrayForEach(item, list) {
        cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(item, "Labels"), "runbox.pid");
        if (!cJSON_IsString(p) || strcmp(p->valuestring, want))
            continue;
        (*containers)++;
        char path[256];
        snprintf(path, sizeof(path), "/containers/%s/top",
                 cJSON_GetObjectItem(item, "Id")->valuestring);
        if (dt_api("GET", path, NULL, &body) == 200) {
            cJSON *top = cJSON_Parse(body);
            n += cJSON_GetArraySize(cJSON_GetObjectItem(top, "Processes"));
            cJSON_Delete(top);
        }
        free(body);
        body = NULL;
    }
    cJSON_Delete(list);
    return n;
}

void interp_test_assert_gone(const char *backend, long pid)
{
    if (!strcmp(backend, "docker")) {
        /* A killed runbox cannot remove its session container, but the
         * interpreter and everything the code started must end with its
         * stream, leaving the idle keeper alone until it is reaped. */
        int containers = 0, procs = 0;
        for (int i = 0; i < 100; i++) {
            procs = docker_processes_of(pid, &containers);
            if (procs <= containers)
                break;
            usleep(100 * 1000);
        }
        assert_true(procs <= containers);
        if (containers && pid != (long)getpid()) {
            runbox_context *reaper = dt_context(NULL); /* reaps dead owners' */
            runbox_context_free(reaper);
        }
        assert_int_equal(dt_count_containers_of(pid), 0);
        return;
    }
    fail_msg("no leftover check for the %s backend", backend);
}
