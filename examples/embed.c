/* embed.c — the smallest application embedding runbox.
 *
 *   embed BACKEND CODE    runs CODE on BACKEND and prints the result JSON
 *
 * Configuration comes from the usual places (runbox.ini, .env, the
 * environment); the backend given here overrides them as a flag would. */
#include <stdio.h>
#include <stdlib.h>

#include <runbox/runbox.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: embed BACKEND CODE\n");
        return 2;
    }
    runbox_config *cfg = NULL;
    runbox_context *ctx = NULL;
    int rc = runbox_config_new(&cfg);
    if (!rc)
        rc = runbox_config_load(cfg, NULL);
    if (!rc)
        rc = runbox_config_set(cfg, "backend", argv[1]);
    if (!rc)
        rc = runbox_context_new(&ctx, cfg);
    runbox_config_free(cfg);
    if (rc) {
        fprintf(stderr, "embed: %s\n", runbox_error_last());
        return 1;
    }
    runbox_exec_options opt = {.code = argv[2]};
    runbox_result r;
    runbox_result_init(&r);
    rc = runbox_execute(ctx, &opt, &r);
    char *json = NULL;
    if (runbox_result_to_json(&json, &r) == RUNBOX_OK)
        printf("%s\n", json);
    free(json);
    int ok = rc == RUNBOX_OK && r.success;
    runbox_result_clear(&r);
    runbox_context_free(ctx);
    return ok ? 0 : 1;
}
