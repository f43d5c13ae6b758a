/* See interp_test_backend.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "docker_test_util.h"
#include "interp_test_backend.h"

#define INTERP_TEST_MARK "RUNBOX_INTERP_TEST_MARK"

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
    /* Every process of this test's sandboxes carries the mark, so that a
     * leftover can be found from the host (interp_test_assert_gone). */
    char mark[64];
    snprintf(mark, sizeof mark, "mark-%ld", (long)getpid());
    setenv(INTERP_TEST_MARK, getenv(INTERP_TEST_MARK) ? getenv(INTERP_TEST_MARK)
                                                      : mark, 0);
    assert_int_equal(runbox_config_set(cfg, "pass_env", INTERP_TEST_MARK), RUNBOX_OK);
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
    cJSON *list = dt_list_runbox(0);
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
        int left = dt_count_containers_of(pid);
        for (int i = 0; left && pid != (long)getpid() && i < 10; i++) {
            runbox_context *reaper = dt_context(NULL); /* reaps dead owners' */
            runbox_context_free(reaper);
            if ((left = dt_count_containers_of(pid)))
                usleep(500 * 1000); /* a removal the engine is still doing */
        }
        assert_int_equal(left, 0);
        return;
    }
    /* Any other backend runs on this machine: look for marked processes. */
    const char *mark = getenv(INTERP_TEST_MARK);
    assert_non_null(mark);
    char want[128];
    int wn = snprintf(want, sizeof want, "%s=%s", INTERP_TEST_MARK, mark);
    int left = 0;
    for (int i = 0; i < 100; i++) {
        left = 0;
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
                atol(de->d_name) == (long)getpid())
                continue;
            char path[300], buf[65536];
            snprintf(path, sizeof path, "/proc/%s/environ", de->d_name);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            ssize_t n = read(fd, buf, sizeof buf);
            close(fd);
            if (n > 0 && memmem(buf, (size_t)n, want, (size_t)wn + 1)) {
                left++;
                if (i == 99) {
                    snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
                    fd = open(path, O_RDONLY | O_CLOEXEC);
                    n = fd >= 0 ? read(fd, buf, 200) : 0;
                    if (fd >= 0)
                        close(fd);
                    for (ssize_t k = 0; k < n; k++)
                        buf[k] = buf[k] ? buf[k] : ' ';
                    print_message("left: pid %s: %.*s\n", de->d_name,
                                  (int)(n > 0 ? n : 0), buf);
                }
            }
        }
        if (d)
            closedir(d);
        if (!left)
            break;
        usleep(100 * 1000);
    }
    (void)pid;
    assert_int_equal(left, 0);
}
