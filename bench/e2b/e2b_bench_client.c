/*
 * e2b_bench_client.c — the runbox side of bench/e2b/run: runs print(1)
 * through the e2b backend N times, one-shot (create, execute, kill) or in
 * one session, and prints one JSON line per execution with its wall time
 * and the test server's own handling time and request count for it.
 *
 * usage: e2b_bench_client oneshot|session N API_URL SANDBOX_URL API_KEY
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "runbox/runbox.h"

static size_t collect(char *d, size_t s, size_t n, void *ud)
{
    size_t len = s * n, *used = ud, room = 4095 - used[0];
    memcpy((char *)(used + 1) + used[0], d, len < room ? len : room);
    used[0] += len < room ? len : room;
    return len;
}

/* The server's totals: handling seconds, requests and the lifetime
 * requests among them (POST /sandboxes/{id}/timeout) so far. */
static void server_stats(CURL *c, const char *url, double *seconds,
                         int *requests, int *lifetime)
{
    size_t buf[1 + 4096 / sizeof(size_t)] = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, buf);
    if (curl_easy_perform(c) != CURLE_OK) {
        fprintf(stderr, "cannot read %s\n", url);
        exit(2);
    }
    cJSON *j = cJSON_ParseWithLength((char *)(buf + 1), buf[0]), *e;
    *seconds = cJSON_GetObjectItem(j, "server_seconds")->valuedouble;
    *requests = *lifetime = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "requests"))
    {
        *requests += e->valueint;
        if (strcmp(e->string, "POST /sandboxes/{id}/timeout") == 0)
            *lifetime += e->valueint;
    }
    cJSON_Delete(j);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s oneshot|session N API_URL SANDBOX_URL "
                        "API_KEY\n", argv[0]);
        return 2;
    }
    int session = strcmp(argv[1], "session") == 0, n = atoi(argv[2]);
    char stats_url[256];
    snprintf(stats_url, sizeof stats_url, "%s/_test/stats", argv[3]);
    runbox_config *cfg;
    runbox_context *ctx;
    runbox_session *s = NULL;
    runbox_config_new(&cfg);
    runbox_config_set(cfg, "backend", "e2b");
    runbox_config_set(cfg, "e2b.api_url", argv[3]);
    runbox_config_set(cfg, "e2b.sandbox_url", argv[4]);
    runbox_config_set(cfg, "e2b.api_key", argv[5]);
    if (runbox_context_new(&ctx, cfg) != RUNBOX_OK ||
        (session && runbox_session_open(&s, ctx) != RUNBOX_OK)) {
        fprintf(stderr, "runbox: %s\n", runbox_error_last());
        return 1;
    }
    runbox_config_free(cfg);
    CURL *c = curl_easy_init();
    runbox_exec_options o = {.code = "print(1)"};
    runbox_result r;
    runbox_result_init(&r);
    /* One unmeasured run warms caches and connections, as for the SDK. */
    for (int i = -1; i < n; i++) {
        double s0, s1, t0, t1;
        int q0, q1, l0, l1;
        server_stats(c, stats_url, &s0, &q0, &l0);
        t0 = now();
        int rc = session ? runbox_session_execute(s, &o, &r)
                         : runbox_execute(ctx, &o, &r);
        t1 = now();
        server_stats(c, stats_url, &s1, &q1, &l1);
        if (rc != RUNBOX_OK || !r.out.data || strcmp(r.out.data, "1\n")) {
            fprintf(stderr, "runbox: %s\n", runbox_error_last());
            return 1;
        }
        if (i >= 0)
            printf("{\"wall\": %.6f, \"server\": %.6f, \"requests\": %d, "
                   "\"lifetime\": %d}\n",
                   t1 - t0, s1 - s0, q1 - q0, l1 - l0);
    }
    runbox_result_clear(&r);
    curl_easy_cleanup(c);
    runbox_session_close(s);
    runbox_context_free(ctx);
    return 0;
}
