/*
 * docker_test_util.c — see docker_test_util.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "docker_test_util.h"

const char *dt_image(void)
{
    const char *v = getenv("RUNBOX_DOCKER_IMAGE");
    return v && *v ? v : "runbox-python:3.11-minimal";
}

const char *dt_docker_host(void)
{
    const char *v = getenv("DOCKER_HOST");
    return v && *v ? v : "unix:///var/run/docker.sock";
}

const char *dt_runtime(void)
{
    const char *v = getenv("RUNBOX_DOCKER_RUNTIME");
    return v && *v ? v : NULL;
}

runbox_config *dt_config(const char *const *extra)
{
    runbox_config *cfg = NULL;
    assert_int_equal(runbox_config_new(&cfg), RUNBOX_OK);
    assert_int_equal(runbox_config_set(cfg, "backend", "docker"), RUNBOX_OK);
    assert_int_equal(runbox_config_set(cfg, "docker.image", dt_image()), RUNBOX_OK);
    if (getenv("DOCKER_HOST") || !getenv("DOCKER_CONTEXT"))
        assert_int_equal(runbox_config_set(cfg, "docker.host", dt_docker_host()),
                         RUNBOX_OK);
    if (dt_runtime())
        assert_int_equal(runbox_config_set(cfg, "docker.runtime", dt_runtime()),
                         RUNBOX_OK);
    /* The engine the stage scripts point the suite at, as the docker CLI
     * would find it (a config made here reads no environment itself). */
    static const char *const env_keys[][2] = {
        {"DOCKER_TLS_VERIFY", "docker.tls_verify"},
        {"DOCKER_CERT_PATH", "docker.cert_path"},
        {"DOCKER_CONTEXT", "docker.context"}};
    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(env_keys[i][0]);
        if (v && *v)
            assert_int_equal(runbox_config_set(cfg, env_keys[i][1], v), RUNBOX_OK);
    }
    for (size_t i = 0; extra && extra[i]; i += 2) {
        int rc = runbox_config_set(cfg, extra[i], extra[i + 1]);
        if (rc != RUNBOX_OK)
            fail_msg("config %s=%s: %s", extra[i], extra[i + 1], runbox_error_last());
    }
    return cfg;
}

static int dt_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && (!strcmp(ci, "true") || !strcmp(ci, "1"));
}

runbox_context *dt_context(const char *const *extra)
{
    runbox_config *cfg = dt_config(extra);
    runbox_context *ctx = NULL;
    int rc = runbox_context_new(&ctx, cfg);
    runbox_config_free(cfg);
    if (rc == RUNBOX_EUNAVAILABLE) {
        if (dt_in_ci())
            fail_msg("no Docker daemon (CI needs one): %s", runbox_error_last());
        print_message("skipped: %s\n", runbox_error_last());
        skip();
    }
    if (rc != RUNBOX_OK)
        fail_msg("runbox_context_new: %s: %s", runbox_err_name(rc), runbox_error_last());
    char *body = NULL, path[512];
    snprintf(path, sizeof(path), "/images/%s/json", dt_image());
    long status = dt_api("GET", path, NULL, &body);
    free(body);
    if (status != 200) {
        runbox_context_free(ctx);
        if (dt_in_ci())
            fail_msg("image %s is missing: run backends/docker/image/"
                     "build-offline-image.sh --minimal", dt_image());
        print_message("skipped: image %s is missing (build-offline-image.sh "
                      "--minimal)\n", dt_image());
        skip();
    }
    return ctx;
}

static size_t dt_on_body(char *data, size_t size, size_t n, void *arg)
{
    char **body = arg;
    size_t have = *body ? strlen(*body) : 0, len = size * n;
    char *g = realloc(*body, have + len + 1);
    if (!g)
        return 0;
    memcpy(g + have, data, len);
    g[have + len] = '\0';
    *body = g;
    return len;
}

long dt_api(const char *method, const char *path, const char *json_body,
            char **body)
{
    const char *host = dt_docker_host();
    char url[1024];
    CURL *c = curl_easy_init();
    const char *tls = getenv("DOCKER_TLS_VERIFY");
    if (!strncmp(host, "unix://", 7)) {
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, host + 7);
        snprintf(url, sizeof(url), "http://docker%s", path);
    } else if (tls && *tls) {
        /* The TLS engine the stage script starts: files as the docker CLI
         * reads them from DOCKER_CERT_PATH. */
        const char *dir = getenv("DOCKER_CERT_PATH");
        char f[3][1024];
        snprintf(f[0], sizeof f[0], "%s/ca.pem", dir ? dir : ".");
        snprintf(f[1], sizeof f[1], "%s/cert.pem", dir ? dir : ".");
        snprintf(f[2], sizeof f[2], "%s/key.pem", dir ? dir : ".");
        curl_easy_setopt(c, CURLOPT_CAINFO, f[0]);
        curl_easy_setopt(c, CURLOPT_SSLCERT, f[1]);
        curl_easy_setopt(c, CURLOPT_SSLKEY, f[2]);
        snprintf(url, sizeof(url), "https://%s%s", host + 6, path);
    } else {
        snprintf(url, sizeof(url), "http://%s%s", host + 6, path);
    }
    *body = NULL;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (json_body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, dt_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* -1 = not asked yet. */
static int dt_podman = -1, dt_rootless = -1, dt_cgroup_v1 = -1;

static void dt_engine_ask(void)
{
    if (dt_podman >= 0)
        return;
    char *body = NULL;
    long status = dt_api("GET", "/version", NULL, &body);
    dt_podman = status == 200 && body && strstr(body, "\"Podman Engine\"") != NULL;
    free(body);
    body = NULL;
    status = dt_api("GET", "/info", NULL, &body);
    cJSON *info = status == 200 ? cJSON_Parse(body) : NULL;
    free(body);
    cJSON *v = cJSON_GetObjectItem(info, "CgroupVersion");
    dt_cgroup_v1 = cJSON_IsString(v) && !strcmp(v->valuestring, "1");
    cJSON *opt;
    dt_rootless = 0;
    cJSON_ArrayForEach(opt, cJSON_GetObjectItem(info, "SecurityOptions"))
        if (cJSON_IsString(opt) && strstr(opt->valuestring, "name=rootless"))
            dt_rootless = 1;
    cJSON_Delete(info);
    if (dt_podman) { /* Podman says it only in its own /libpod/info */
        body = NULL;
        status = dt_api("GET", "/v4.0.0/libpod/info", NULL, &body);
        info = status == 200 ? cJSON_Parse(body) : NULL;
        free(body);
        cJSON *sec = cJSON_GetObjectItem(cJSON_GetObjectItem(info, "host"), "security");
        dt_rootless = cJSON_IsTrue(cJSON_GetObjectItem(sec, "rootless"));
        cJSON_Delete(info);
    }
}

int dt_engine_no_cgroups(void)
{
    dt_engine_ask();
    return dt_rootless && dt_cgroup_v1;
}

void dt_refused_without_cgroups(const char *key, const char *value,
                                const char *why)
{
    if (!dt_engine_no_cgroups())
        return;
    const char *extra[] = {key, value, NULL};
    runbox_config *cfg = dt_config(extra);
    runbox_context *ctx = NULL;
    int rc = runbox_context_new(&ctx, cfg);
    runbox_config_free(cfg);
    runbox_context_free(ctx);
    assert_int_equal(rc, RUNBOX_EUNSUPPORTED);
    print_message("rootless engine on cgroup v1: %s = %s refused (%s); "
                  "skipped: %s\n", key, value, runbox_error_last(), why);
    skip();
}

int dt_engine_podman(void)
{
    dt_engine_ask();
    return dt_podman;
}

int dt_engine_rootless(void)
{
    dt_engine_ask();
    return dt_rootless;
}

cJSON *dt_list_runbox(int all)
{
    const char *path = all ? "/containers/json?all=1&filters=%7B%22label%22%3A%5B"
                             "%22runbox%3D1%22%5D%7D"
                           : "/containers/json?filters=%7B%22label%22%3A%5B"
                             "%22runbox%3D1%22%5D%7D";
    long status = 0;
    for (int i = 0; i < 50; i++) {
        char *body = NULL;
        status = dt_api("GET", path, NULL, &body);
        cJSON *list = status == 200 ? cJSON_Parse(body) : NULL;
        free(body);
        if (list)
            return list;
        usleep(100 * 1000);
    }
    fail_msg("the engine did not list its containers for 5 s (HTTP %ld)", status);
    return NULL;
}

static int dt_count(long pid, int running_only, char **first_id)
{
    cJSON *list = dt_list_runbox(1);
    int n = 0;
    cJSON *item;
    char want[32];
    snprintf(want, sizeof(want), "%ld", pid);
    cJSON_ArrayForEach(item, list) {
        cJSON *labels = cJSON_GetObjectItem(item, "Labels");
        cJSON *p = cJSON_GetObjectItem(labels, "runbox.pid");
        cJSON *st = cJSON_GetObjectItem(item, "State");
        if (running_only && !(cJSON_IsString(st) && !strcmp(st->valuestring, "running")))
            continue;
        if (cJSON_IsString(p) && !strcmp(p->valuestring, want)) {
            if (first_id && !*first_id)
                *first_id = strdup(cJSON_GetObjectItem(item, "Id")->valuestring);
            n++;
        }
    }
    cJSON_Delete(list);
    return n;
}

int dt_count_containers_of(long pid)
{
    return dt_count(pid, 0, NULL);
}

int dt_count_running_of(long pid)
{
    return dt_count(pid, 1, NULL);
}

char *dt_container_of(long pid)
{
    char *id = NULL;
    dt_count(pid, 1, &id);
    return id;
}

cJSON *dt_inspect(const char *id)
{
    char path[256], *body = NULL;
    snprintf(path, sizeof(path), "/containers/%s/json", id);
    long status = dt_api("GET", path, NULL, &body);
    cJSON *doc = status == 200 ? cJSON_Parse(body) : NULL;
    free(body);
    return doc;
}
