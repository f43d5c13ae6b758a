/* pool_driver BACKEND SIZE MAX_AGE — a runbox pool driven line by line by
 * test_pool.py: each stdin line is a JSON command, each answer one JSON
 * line on stdout.
 *   {"op":"run","code":"..."}        -> the result's JSON plus "pool"
 *   {"op":"wait","n":N,"timeout":S}  -> {"rc":0|status,"error":"..."}
 *   {"op":"stats"}                   -> {"pool":{...}}
 * EOF frees the pool and the context and exits 0. SIGINT/SIGTERM call
 * runbox_interrupt() as the runbox command does; the driver then frees
 * everything and exits 130. Settings other than the pool's come from the
 * environment (RUNBOX_TIMEOUT, RUNBOX_DOCKER_IMAGE, E2B_*). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "runbox/runbox.h"

static void on_signal(int sig)
{
    (void)sig;
    runbox_interrupt();
}

static cJSON *stats_json(runbox_pool *pool)
{
    runbox_pool_stats s;
    runbox_pool_stats_get(pool, &s);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "size", s.size);
    cJSON_AddNumberToObject(o, "ready", s.ready);
    cJSON_AddNumberToObject(o, "starting", s.starting);
    cJSON_AddNumberToObject(o, "created", (double)s.created);
    cJSON_AddNumberToObject(o, "hits", (double)s.hits);
    cJSON_AddNumberToObject(o, "misses", (double)s.misses);
    cJSON_AddNumberToObject(o, "expired", (double)s.expired);
    cJSON_AddNumberToObject(o, "dead", (double)s.dead);
    cJSON_AddNumberToObject(o, "failures", (double)s.failures);
    return o;
}

static void answer(cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text ? text : "{}");
    fflush(stdout);
    free(text);
    cJSON_Delete(o);
}

static cJSON *do_command(runbox_pool *pool, const cJSON *cmd)
{
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(cmd, "op"));
    cJSON *o = NULL;
    if (op && !strcmp(op, "run")) {
        runbox_exec_options opt = {0};
        opt.code = cJSON_GetStringValue(cJSON_GetObjectItem(cmd, "code"));
        runbox_result r;
        runbox_result_init(&r);
        int rc = runbox_pool_execute(pool, &opt, &r);
        char *json = NULL;
        runbox_result_to_json(&json, &r);
        o = json ? cJSON_Parse(json) : cJSON_CreateObject();
        free(json);
        runbox_result_clear(&r);
        cJSON_AddNumberToObject(o, "rc", rc);
    } else if (op && !strcmp(op, "wait")) {
        double n = cJSON_GetNumberValue(cJSON_GetObjectItem(cmd, "n"));
        double t = cJSON_GetNumberValue(cJSON_GetObjectItem(cmd, "timeout"));
        int rc = runbox_pool_wait_ready(pool, (unsigned)n, t);
        o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "rc", rc);
        cJSON_AddStringToObject(o, "error", rc ? runbox_error_last() : "");
    } else {
        o = cJSON_CreateObject();
    }
    cJSON_AddItemToObject(o, "pool", stats_json(pool));
    return o;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: pool_driver BACKEND SIZE MAX_AGE\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    runbox_config *cfg = NULL;
    runbox_context *ctx = NULL;
    runbox_pool *pool = NULL;
    runbox_pool_options po = {(unsigned)atoi(argv[2]), atof(argv[3])};
    if (runbox_config_new(&cfg) || runbox_config_load(cfg, NULL) ||
        runbox_config_set(cfg, "backend", argv[1]) ||
        runbox_context_new(&ctx, cfg) || runbox_pool_new(&pool, ctx, &po)) {
        fprintf(stderr, "pool_driver: %s\n", runbox_error_last());
        runbox_context_free(ctx);
        runbox_config_free(cfg);
        return 1;
    }
    printf("{\"pid\":%ld}\n", (long)getpid());
    fflush(stdout);
    char *line = NULL;
    size_t cap = 0;
    while (!runbox_interrupted() && getline(&line, &cap, stdin) > 0) {
        cJSON *cmd = cJSON_Parse(line);
        answer(do_command(pool, cmd));
        cJSON_Delete(cmd);
    }
    free(line);
    runbox_pool_free(pool);
    runbox_context_free(ctx);
    runbox_config_free(cfg);
    return runbox_interrupted() ? 130 : 0;
}
